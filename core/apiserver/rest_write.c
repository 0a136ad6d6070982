/*
 * Writes: create, update (PUT), patch (merge, JSON, apply) and delete,
 * with the metadata rules of kube-apiserver: uid and creationTimestamp set
 * once, generation bumped on spec changes only, status only through the
 * status subresource, deletion held by finalizers, and optimistic
 * concurrency on resourceVersion.
 */
#include "protobuf.h"
#include "rest.h"

#include <vrt/json.h>
#include <vrt/yaml.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PATCH_RETRIES 8

static cJSON *md_of(cJSON *obj)
{
    cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (!cJSON_IsObject(md)) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "metadata");
        md = cJSON_AddObjectToObject(obj, "metadata");
    }
    return md;
}


static void copy_item(cJSON *dst, const cJSON *src, const char *key)
{
    cJSON_DeleteItemFromObjectCaseSensitive(dst, key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, key);
    if (v)
        cJSON_AddItemToObject(dst, key, cJSON_Duplicate(v, 1));
}

static void new_uid(char out[37])
{
    unsigned char b[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b))
        abort(); /* no entropy: nothing sensible to do */
    close(fd);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
             b[11], b[12], b[13], b[14], b[15]);
}

/* A resourceVersion as text: digits only, value 0..INT64_MAX.  Returns 0
 * with the value, or -1. */
static int rv_text(int64_t *out, const char *s)
{
    int64_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (INT64_MAX - (*s - '0')) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

int vrt_rest_rv_parse(int64_t *rv, const cJSON *obj, char *bad,
                      size_t bad_size)
{
    *rv = 0;
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *v = cJSON_IsObject(md)
                         ? cJSON_GetObjectItemCaseSensitive(md, "resourceVersion")
                         : NULL;
    if (!v || cJSON_IsNull(v) ||
        (cJSON_IsString(v) && rv_text(rv, v->valuestring) == 0))
        return 0;
    /* The value as the client sent it, JSON-quoted, cut short if long. */
    char *text = cJSON_PrintUnformatted(v);
    snprintf(bad, bad_size, "%.64s%s", text ? text : "?",
             text && strlen(text) > 64 ? "..." : "");
    free(text);
    return -1;
}

void vrt_rest_rv_invalid(vrt_resp *r, const char *bad)
{
    /* kube-apiserver's own parse of it builds this field error, then
     * answers it as a 500; it is the client's precondition that is
     * malformed, not the object, so 400 (as its PRs 68208 and 139525). */
    vrt_resp_status(r, 400, "BadRequest",
                    "metadata.resourceVersion: Invalid value: %s: must be a "
                    "resourceVersion given out by this server (a positive "
                    "decimal integer)",
                    bad);
}

/* The resourceVersion of an object the store gave back: always valid. */
static int64_t rv_of(const cJSON *obj)
{
    int64_t rv;
    char bad[8];
    return vrt_rest_rv_parse(&rv, obj, bad, sizeof(bad)) == 0 ? rv : -1;
}

static const char *name_of(const cJSON *obj)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "name"));
}

/* Everything but metadata and status: what generation tracks. */
static int content_changed(const cJSON *a, const cJSON *b)
{
    cJSON *x = cJSON_Duplicate(a, 1), *y = cJSON_Duplicate(b, 1);
    const char *skip[] = {"metadata", "status"};
    for (int i = 0; i < 2; i++) {
        cJSON_DeleteItemFromObjectCaseSensitive(x, skip[i]);
        cJSON_DeleteItemFromObjectCaseSensitive(y, skip[i]);
    }
    int changed = !cJSON_Compare(x, y, 1);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return changed;
}

static int has_finalizers(const cJSON *obj)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    return cJSON_GetArraySize(
               cJSON_GetObjectItemCaseSensitive(md, "finalizers")) > 0;
}

int vrt_rest_dry_run(const vrt_req *req)
{
    const char *d = req->query(req->conn, "dryRun");
    return d && strcmp(d, "All") == 0;
}

/* Parses a JSON (or YAML) request body; on failure fills r. */
static cJSON *parse_body(vrt_resp *r, const vrt_req *req)
{
    if (!req->body || !req->body_len) {
        vrt_resp_status(r, 400, "BadRequest", "the request has no body");
        return NULL;
    }
    const char *ct = req->content_type ? req->content_type : "";
    if (strstr(ct, "protobuf")) {
        char why[256];
        cJSON *obj = vrt_k8s_protobuf_to_json(req->body, req->body_len, why,
                                              sizeof(why));
        if (!obj)
            vrt_resp_status(r, 415, "UnsupportedMediaType",
                            "the protobuf request body cannot be read: %s", why);
        return obj;
    }
    if (strstr(ct, "yaml")) {
        char why[256];
        cJSON *docs = vrt_yaml_parse_all(req->body, req->body_len, why,
                                         sizeof(why));
        if (!docs || cJSON_GetArraySize(docs) != 1) {
            cJSON_Delete(docs);
            vrt_resp_status(r, 400, "BadRequest",
                            "the YAML body is invalid: %s",
                            docs ? "expected exactly one document" : why);
            return NULL;
        }
        cJSON *obj = cJSON_DetachItemFromArray(docs, 0);
        cJSON_Delete(docs);
        return obj;
    }
    return vrt_rest_parse_json(r, req->body, req->body_len);
}

cJSON *vrt_rest_parse_json(vrt_resp *r, const char *text, size_t len)
{
    char why[160];
    if (vrt_json_text_check(text, len, why, sizeof(why))) {
        vrt_resp_status(r, 400, "BadRequest",
                        "the request body cannot be stored as sent: %s", why);
        return NULL;
    }
    const char *end = NULL;
    cJSON *obj = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!obj) {
        size_t at = end ? (size_t)(end - text) : 0;
        vrt_resp_status(r, 400, "BadRequest",
                        "the request body is not valid JSON (at byte %zu)", at);
        return NULL;
    }
    return obj;
}

/* Stores `obj` as the new state of an existing object, or removes it when
 * it is being deleted and no finalizer is left.  On failure the response
 * says why and obj is freed; on success the caller keeps obj. */
static int store_write(vrt_resp *r, vrt_apiserver_ctx *ctx,
                       const vrt_route *rt, int64_t expect_rv, cJSON *obj,
                       int dry)
{
    vrt_error err = VRT_ERROR_INIT;
    int64_t rv = 0;
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    int deleting =
        cJSON_HasObjectItem(md, "deletionTimestamp") && !has_finalizers(obj);
    int rc = VRT_OK;
    if (!dry)
        rc = deleting ? vrt_rest_store_delete(&rv, ctx, rt->res,
                                         rt->ns ? rt->ns : "", rt->name,
                                         expect_rv, obj, &err)
                      : vrt_rest_store_update(&rv, ctx, rt->res,
                                         rt->ns ? rt->ns : "", rt->name,
                                         expect_rv, obj, &err);
    if (rc != VRT_OK) {
        cJSON_Delete(obj);
        if (rc == VRT_E_CONFLICT)
            vrt_resp_status(r, 409, "Conflict",
                            "Operation cannot be fulfilled on %s%s%s \"%s\": "
                            "the object has been modified; please apply your "
                            "changes to the latest version and try again",
                            rt->res->plural, VRT_DOT(rt->res), rt->res->group,
                            rt->name);
        else
            vrt_resp_from_error(r, &err);
        return -1;
    }
    return 0;
}

/* store_write, answering with the stored object.  Consumes obj. */
static int store_update(vrt_resp *r, vrt_apiserver_ctx *ctx,
                        const vrt_route *rt, int64_t expect_rv, cJSON *obj,
                        int dry)
{
    if (store_write(r, ctx, rt, expect_rv, obj, dry))
        return -1;
    vrt_resp_json(r, 200, obj);
    return 0;
}

/* The write of one round of a read-modify-write (PUT, PATCH).  A conflict
 * from our own read is retried (returns 1, r untouched); one from the
 * client's precondition, any other outcome, or the last round's is the
 * answer (returns 0, r set).  Consumes next. */
static int store_or_retry(vrt_resp *r, vrt_apiserver_ctx *ctx,
                          const vrt_req *req, const vrt_route *rt,
                          int64_t expect, cJSON *next, int precondition,
                          int last)
{
    vrt_resp attempt = {0};
    attempt.warning = r->warning;
    r->warning = NULL;
    int rc = store_update(&attempt, ctx, rt, expect, next,
                          vrt_rest_dry_run(req));
    if (rc == 0 || attempt.status != 409 || precondition || last) {
        *r = attempt;
        return 0;
    }
    r->warning = attempt.warning; /* prepare_update sets it again */
    free(attempt.body);
    return 1;
}

void vrt_rest_create(vrt_resp *r, vrt_apiserver_ctx *ctx, const vrt_req *req,
                     const vrt_route *rt)
{
    const vrt_resource *res = rt->res;
    cJSON *obj = parse_body(r, req);
    if (!obj)
        return;
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        vrt_resp_status(r, 400, "BadRequest", "the request body is not an object");
        return;
    }
    cJSON *md = md_of(obj);
    if (res->namespaced) {
        const char *ns = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(md, "namespace"));
        if (ns && *ns && strcmp(ns, rt->ns) != 0) {
            vrt_resp_status(r, 400, "BadRequest",
                            "the namespace of the provided object (\"%s\") "
                            "does not match the namespace sent on the request "
                            "(\"%s\")",
                            ns, rt->ns);
            cJSON_Delete(obj);
            return;
        }
        vrt_json_set_str(md, "namespace", rt->ns);
        if (vrt_rest_namespace_exists(r, ctx, rt)) {
            cJSON_Delete(obj);
            return;
        }
    } else {
        cJSON_DeleteItemFromObjectCaseSensitive(md, "namespace");
    }
    const char *gen = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(md, "generateName"));
    if (!cJSON_HasObjectItem(md, "name") && gen) {
        char uid[37], name[300];
        new_uid(uid);
        snprintf(name, sizeof(name), "%s%.5s", gen, uid);
        cJSON_AddStringToObject(md, "name", name);
    }
    if (res->has_status)
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");

    char *warning = NULL;
    if (vrt_admit(r, res, obj, req->query(req->conn, "fieldValidation"),
                  &warning)) {
        cJSON_Delete(obj);
        return;
    }
    r->warning = warning;
    char uid[37], now[32];
    new_uid(uid);
    vrt_rfc3339_now(now);
    vrt_json_set_str(md, "uid", uid);
    vrt_json_set_str(md, "creationTimestamp", now);
    cJSON_DeleteItemFromObjectCaseSensitive(md, "generation");
    cJSON_AddNumberToObject(md, "generation", 1);
    const char *drop[] = {"deletionTimestamp", "deletionGracePeriodSeconds",
                          "managedFields", "resourceVersion"};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        cJSON_DeleteItemFromObjectCaseSensitive(md, drop[i]);

    vrt_error err = VRT_ERROR_INIT;
    int64_t rv;
    if (!vrt_rest_dry_run(req) &&
        vrt_rest_store_create(&rv, ctx, res,
                         res->namespaced ? rt->ns : "", name_of(obj), obj,
                         &err) != VRT_OK) {
        if (err.code == VRT_E_EXISTS)
            vrt_resp_status(r, 409, "AlreadyExists",
                            "%s%s%s \"%s\" already exists", res->plural,
                            VRT_DOT(res), res->group,
                            name_of(obj) ? name_of(obj) : "");
        else
            vrt_resp_from_error(r, &err);
        cJSON_Delete(obj); /* after the message: it names the object */
        return;
    }
    vrt_resp_json(r, 201, obj);
}

/*
 * Carries over what a client cannot change through this path, admits the
 * result and computes the generation.  `next` is consumed on failure.
 */
static int prepare_update(vrt_resp *r, const vrt_req *req,
                          const vrt_route *rt, const cJSON *old, cJSON *next)
{
    const vrt_resource *res = rt->res;
    int status_only = rt->sub && strcmp(rt->sub, "status") == 0;
    cJSON *md = md_of(next);
    const cJSON *omd = cJSON_GetObjectItemCaseSensitive(old, "metadata");

    if (status_only) {
        /* Only .status changes through /status. */
        cJSON *st = cJSON_DetachItemFromObjectCaseSensitive(next, "status");
        cJSON *rebuilt = cJSON_Duplicate(old, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(rebuilt, "status");
        if (st)
            cJSON_AddItemToObject(rebuilt, "status", st);
        /* Swap contents so the caller's pointer stays valid. */
        cJSON tmp = *next;
        *next = *rebuilt;
        *rebuilt = tmp;
        cJSON_Delete(rebuilt);
        md = md_of(next);
    } else if (res->has_status) {
        copy_item(next, old, "status");
    }
    const char *keep[] = {"uid", "creationTimestamp", "deletionTimestamp",
                          "deletionGracePeriodSeconds", "namespace", "name"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        copy_item(md, omd, keep[i]);
    cJSON_DeleteItemFromObjectCaseSensitive(md, "managedFields");

    char *warning = NULL;
    if (vrt_admit(r, res, next, req->query(req->conn, "fieldValidation"),
                  &warning)) {
        cJSON_Delete(next);
        return -1;
    }
    free(r->warning);
    r->warning = warning;
    double gen = cJSON_GetNumberValue(
        cJSON_GetObjectItemCaseSensitive(omd, "generation"));
    if (gen != gen || gen < 1) /* NaN or absent */
        gen = 1;
    if (!status_only && content_changed(old, next))
        gen += 1;
    cJSON_DeleteItemFromObjectCaseSensitive(md, "generation");
    cJSON_AddNumberToObject(md, "generation", gen);
    return 0;
}

void vrt_rest_update(vrt_resp *r, vrt_apiserver_ctx *ctx, const vrt_req *req,
                     const vrt_route *rt)
{
    cJSON *body = parse_body(r, req);
    if (!body)
        return;
    const char *bname = name_of(body);
    if (!bname || strcmp(bname, rt->name) != 0) {
        vrt_resp_status(r, 400, "BadRequest",
                        "the name of the object (\"%s\") does not match the "
                        "name on the URL (\"%s\")",
                        bname ? bname : "", rt->name);
        cJSON_Delete(body);
        return;
    }
    int64_t precondition;
    char bad[80];
    if (vrt_rest_rv_parse(&precondition, body, bad, sizeof(bad))) {
        vrt_rest_rv_invalid(r, bad);
        cJSON_Delete(body);
        return;
    }
    if (!precondition && !rt->res->unconditional_update) {
        vrt_resp_status(r, 422, "Invalid",
                        "%s%s%s \"%s\" is invalid: metadata.resourceVersion: "
                        "Invalid value: 0x0: must be specified for an update",
                        rt->res->kind, VRT_DOT(rt->res), rt->res->group,
                        rt->name);
        cJSON_Delete(body);
        return;
    }
    /* Without a precondition the update is over whatever is stored now:
     * a write racing ours is not the client's conflict, so it is retried
     * on the new state, as kube-apiserver does. */
    for (int attempt = 0; attempt < PATCH_RETRIES; attempt++) {
        cJSON *old = NULL;
        vrt_error err = VRT_ERROR_INIT;
        if (vrt_rest_load(&old, r, ctx, rt, &err))
            break;
        cJSON *next = cJSON_Duplicate(body, 1);
        int64_t expect = precondition ? precondition : rv_of(old);
        if (!precondition)
            copy_item(md_of(next),
                      cJSON_GetObjectItemCaseSensitive(old, "metadata"),
                      "resourceVersion");
        if (prepare_update(r, req, rt, old, next) != 0) {
            cJSON_Delete(old);
            break;
        }
        int unchanged = expect == rv_of(old) && cJSON_Compare(old, next, 1);
        cJSON_Delete(old);
        if (unchanged) {
            vrt_resp_json(r, 200, next); /* no change: no write, no event */
            break;
        }
        if (!store_or_retry(r, ctx, req, rt, expect, next, precondition != 0,
                            attempt + 1 == PATCH_RETRIES))
            break;
    }
    cJSON_Delete(body);
}

/*
 * The update path for writes that reach the main object through a
 * subresource (/scale): `next` is a changed copy of `old` and goes
 * through the admission and generation rules of a PUT.  Returns 0 with
 * the object as stored in *stored (the caller answers), or -1 with the
 * response set.  Consumes next.
 */
int vrt_rest_update_from(vrt_resp *r, vrt_apiserver_ctx *ctx,
                         const vrt_req *req, const vrt_route *rt,
                         const cJSON *old, cJSON *next, cJSON **stored)
{
    *stored = NULL;
    if (prepare_update(r, req, rt, old, next))
        return -1;
    if (!cJSON_Compare(old, next, 1) &&
        store_write(r, ctx, rt, rv_of(old), next, vrt_rest_dry_run(req)))
        return -1;
    *stored = next;
    return 0;
}

/* Applies a patch of the request's content type to a copy of `old`. */
static cJSON *apply_patch(vrt_resp *r, const vrt_req *req,
                          const vrt_route *rt, const cJSON *old,
                          const cJSON *patch)
{
    const char *ct = req->content_type ? req->content_type : "";
    cJSON *next = cJSON_Duplicate(old, 1);
    if (strstr(ct, "json-patch+json")) {
        char why[256];
        if (vrt_json_patch(next, patch, why, sizeof(why))) {
            vrt_resp_status(r, 422, "Invalid",
                            "the JSON patch cannot be applied: %s", why);
            cJSON_Delete(next);
            return NULL;
        }
    } else if (strstr(ct, "strategic-merge-patch") && !rt->res->builtin) {
        /* kube-apiserver's answer: custom resources have no patch
         * strategy (kubectl patch then needs --type=merge). */
        vrt_resp_status(r, 415, "UnsupportedMediaType",
                        "the body of the request was in an unknown format - "
                        "accepted media types include: "
                        "application/json-patch+json, "
                        "application/merge-patch+json, "
                        "application/apply-patch+yaml");
        cJSON_Delete(next);
        return NULL;
    } else if (strstr(ct, "merge-patch+json") || strstr(ct, "apply-patch")) {
        /* A strategic merge patch of a built-in kind is applied as a
         * merge patch: ConfigMap, Secret, Namespace and Event have no
         * lists that merge by key. */
        if (!cJSON_IsObject(patch)) {
            vrt_resp_status(r, 400, "BadRequest",
                            "a merge patch must be a JSON object");
            cJSON_Delete(next);
            return NULL;
        }
        vrt_merge_patch(next, patch);
    } else {
        vrt_resp_status(r, 415, "UnsupportedMediaType",
                        "the patch content type \"%s\" is not supported", ct);
        cJSON_Delete(next);
        return NULL;
    }
    return next;
}

void vrt_rest_patch(vrt_resp *r, vrt_apiserver_ctx *ctx, const vrt_req *req,
                    const vrt_route *rt)
{
    cJSON *patch = parse_body(r, req);
    if (!patch)
        return;
    int apply = req->content_type && strstr(req->content_type, "apply-patch");
    /* A resourceVersion inside the patch is a precondition. */
    int64_t precondition = 0;
    char bad[80];
    if (cJSON_IsObject(patch) &&
        vrt_rest_rv_parse(&precondition, patch, bad, sizeof(bad))) {
        vrt_rest_rv_invalid(r, bad);
        cJSON_Delete(patch);
        return;
    }

    for (int attempt = 0; attempt < PATCH_RETRIES; attempt++) {
        cJSON *old = NULL;
        vrt_error err = VRT_ERROR_INIT;
        vrt_resp probe = {0};
        if (vrt_rest_load(&old, &probe, ctx, rt, &err)) {
            if (apply && err.code == VRT_E_NOTFOUND && !rt->sub) {
                free(probe.body);
                /* Server-side apply of an absent object creates it. */
                /* The object made is the one the URL names. */
                cJSON *pmd = cJSON_GetObjectItemCaseSensitive(patch, "metadata");
                const char *pname = cJSON_GetStringValue(
                    cJSON_GetObjectItemCaseSensitive(pmd, "name"));
                if (pname && strcmp(pname, rt->name) != 0) {
                    vrt_resp_status(r, 400, "BadRequest",
                                    "the name of the object (%s) does not match "
                                    "the name on the URL (%s)", pname, rt->name);
                    cJSON_Delete(patch);
                    return;
                }
                if (!pname && cJSON_IsObject(patch)) {
                    if (!cJSON_IsObject(pmd))
                        pmd = cJSON_AddObjectToObject(patch, "metadata");
                    cJSON_AddStringToObject(pmd, "name", rt->name);
                }
                vrt_route create_rt = *rt;
                vrt_req create_req = *req;
                create_rt.name = NULL;
                create_req.content_type = "application/json";
                char *body = cJSON_PrintUnformatted(patch);
                create_req.body = body;
                create_req.body_len = strlen(body);
                vrt_rest_create(r, ctx, &create_req, &create_rt);
                free(body);
            } else {
                *r = probe;
            }
            cJSON_Delete(patch);
            return;
        }
        cJSON *next = apply_patch(r, req, rt, old, patch);
        if (!next) {
            cJSON_Delete(old);
            break;
        }
        /* A JSON patch may set the resourceVersion too: that is a
         * precondition as well (kube-apiserver updates with the patched
         * object's), and must be one that can match. */
        int64_t patched_rv;
        if (vrt_rest_rv_parse(&patched_rv, next, bad, sizeof(bad))) {
            vrt_rest_rv_invalid(r, bad);
            cJSON_Delete(next);
            cJSON_Delete(old);
            break;
        }
        if (!precondition && patched_rv && patched_rv != rv_of(old))
            precondition = patched_rv;
        int64_t expect = precondition ? precondition : rv_of(old);
        if (prepare_update(r, req, rt, old, next) != 0) {
            cJSON_Delete(old);
            break;
        }
        int unchanged = cJSON_Compare(old, next, 1) &&
                        (!precondition || precondition == rv_of(old));
        cJSON_Delete(old);
        if (unchanged) { /* Kubernetes' "patched (no change)": no write */
            vrt_resp_json(r, 200, next);
            break;
        }
        if (!store_or_retry(r, ctx, req, rt, expect, next, precondition != 0,
                            attempt + 1 == PATCH_RETRIES))
            break;
    }
    cJSON_Delete(patch);
}

/* DeleteOptions, from the body (kubectl sends them there) and the query. */
typedef struct del_opts {
    int64_t rv;    /* preconditions.resourceVersion, 0 = none, -1 = unparsable */
    char uid[80];  /* preconditions.uid, "" = none */
    int dry;       /* dryRun: [All] in the body, or ?dryRun=All */
} del_opts;

static void del_opts_read(del_opts *o, const vrt_req *req)
{
    memset(o, 0, sizeof(*o));
    o->dry = vrt_rest_dry_run(req);
    if (!req->body || !req->body_len)
        return;
    cJSON *opts = cJSON_ParseWithLength(req->body, req->body_len);
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(opts, "preconditions");
    const cJSON *rvj = cJSON_GetObjectItemCaseSensitive(pre, "resourceVersion");
    if (rvj && !cJSON_IsNull(rvj)) {
        /* kube-apiserver compares the text with the object's: only the
         * form this server writes can match ("5", not "+5", " 5", "05"). */
        const char *rv = cJSON_GetStringValue(rvj);
        int64_t v = 0;
        o->rv = rv && rv[0] != '0' && rv_text(&v, rv) == 0 ? v : -1;
    }
    const char *uid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pre, "uid"));
    if (uid)
        snprintf(o->uid, sizeof(o->uid), "%s", uid[0] ? uid : "-");
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(opts, "dryRun"))
        if (cJSON_IsString(d) && strcmp(d->valuestring, "All") == 0)
            o->dry = 1;
    cJSON_Delete(opts);
}

/* One delete attempt against the object as it is now, under the client's
 * preconditions. */
static void delete_once(vrt_resp *r, vrt_apiserver_ctx *ctx,
                        const vrt_route *rt, const del_opts *o)
{
    cJSON *old = NULL;
    vrt_error err = VRT_ERROR_INIT;
    int64_t expect = o->rv;
    if (vrt_rest_load(&old, r, ctx, rt, &err))
        return;
    if (expect && rv_of(old) != expect) {
        cJSON_Delete(old);
        vrt_resp_status(r, 409, "Conflict",
                        "Precondition failed: the resourceVersion of %s \"%s\" "
                        "is not %s",
                        rt->res->plural, rt->name,
                        expect > 0 ? "the one given" : "a number");
        return;
    }
    const char *uid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md_of(old), "uid"));
    if (o->uid[0] && (!uid || strcmp(uid, o->uid) != 0)) {
        cJSON_Delete(old);
        vrt_resp_status(r, 409, "Conflict",
                        "Precondition failed: the UID of %s \"%s\" is not %s",
                        rt->res->plural, rt->name, o->uid);
        return;
    }
    if (!expect)
        expect = rv_of(old);
    cJSON *md = md_of(old);
    if (has_finalizers(old)) {
        /* Finalizers hold the object: mark it and let them finish. */
        if (!cJSON_HasObjectItem(md, "deletionTimestamp")) {
            char now[32];
            vrt_rfc3339_now(now);
            cJSON_AddStringToObject(md, "deletionTimestamp", now);
            cJSON_AddNumberToObject(md, "deletionGracePeriodSeconds", 0);
            store_update(r, ctx, rt, expect, old, o->dry);
            if (r->status == 200)
                r->status = 202;
            return;
        }
        vrt_resp_json(r, 202, old);
        return;
    }
    int64_t rv;
    if (!o->dry &&
        vrt_rest_store_delete(&rv, ctx, rt->res,
                         rt->ns ? rt->ns : "", rt->name, expect, old,
                         &err) != VRT_OK) {
        cJSON_Delete(old);
        vrt_resp_from_error(r, &err);
        return;
    }
    vrt_resp_json(r, 200, old);
}

void vrt_rest_delete(vrt_resp *r, vrt_apiserver_ctx *ctx, const vrt_req *req,
                     const vrt_route *rt)
{
    del_opts o;
    del_opts_read(&o, req);
    /* Without a precondition a write racing ours (the controller's status
     * update, say) is not the client's conflict: retry on the new state,
     * as kube-apiserver does. */
    for (int attempt = 1;; attempt++) {
        delete_once(r, ctx, rt, &o);
        if (r->status != 409 || o.rv || o.uid[0] || attempt == PATCH_RETRIES)
            return;
        free(r->body);
        free(r->warning);
        *r = (vrt_resp){0};
    }
}
