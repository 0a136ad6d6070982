/*
 * REST dispatch for resources, plus what several verbs share: loading the
 * addressed object, the namespace check and the scale subresource.
 */
#include "rest.h"

#include <vrt/json.h>
#include <vrt/jsonpath.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A stored object as res's kind; consumes stored. */
static cJSON *view_of(const vrt_resource *res, cJSON *stored)
{
    if (!res->view || !stored)
        return stored;
    cJSON *v = res->view(stored);
    cJSON_Delete(stored);
    return v;
}

/* Runs one store write with `obj` in the stored kind's shape, then copies
 * the new resourceVersion back into obj.  op: 'c'reate, 'u'pdate, 'd'elete. */
static int store_write(int64_t *rv, vrt_apiserver_ctx *ctx, int op,
                       const vrt_resource *res, const char *ns,
                       const char *name, int64_t expect, cJSON *obj,
                       vrt_error *err)
{
    cJSON *stored = res->unview && obj ? res->unview(obj) : obj;
    int rc = op == 'c' ? vrt_store_create(rv, ctx->store, res->store_key, ns,
                                          name, stored, err)
             : op == 'u' ? vrt_store_update(rv, ctx->store, res->store_key, ns,
                                            name, expect, stored, err)
                         : vrt_store_delete(rv, ctx->store, res->store_key, ns,
                                            name, expect, stored, err);
    if (stored != obj) {
        cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
        const cJSON *srv = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(stored, "metadata"),
            "resourceVersion");
        if (rc == VRT_OK && cJSON_IsObject(md) && cJSON_IsString(srv))
            vrt_json_set_str(md, "resourceVersion", srv->valuestring);
        cJSON_Delete(stored);
    }
    return rc;
}

int vrt_rest_store_create(int64_t *rv, vrt_apiserver_ctx *ctx,
                          const vrt_resource *res, const char *ns,
                          const char *name, cJSON *obj, vrt_error *err)
{
    return store_write(rv, ctx, 'c', res, ns, name, 0, obj, err);
}

int vrt_rest_store_update(int64_t *rv, vrt_apiserver_ctx *ctx,
                          const vrt_resource *res, const char *ns,
                          const char *name, int64_t expect, cJSON *obj,
                          vrt_error *err)
{
    return store_write(rv, ctx, 'u', res, ns, name, expect, obj, err);
}

int vrt_rest_store_delete(int64_t *rv, vrt_apiserver_ctx *ctx,
                          const vrt_resource *res, const char *ns,
                          const char *name, int64_t expect, cJSON *last,
                          vrt_error *err)
{
    return store_write(rv, ctx, 'd', res, ns, name, expect, last, err);
}

int vrt_rest_load(cJSON **out, vrt_resp *r, vrt_apiserver_ctx *ctx,
                  const vrt_route *rt, vrt_error *err)
{
    *out = NULL;
    if (vrt_store_get(out, ctx->store, rt->res->store_key,
                      rt->ns ? rt->ns : "", rt->name, err) == VRT_OK) {
        *out = view_of(rt->res, *out);
        return 0;
    }
    if (err->code == VRT_E_NOTFOUND)
        vrt_resp_status(r, 404, "NotFound", "%s%s%s \"%s\" not found",
                        rt->res->plural, rt->res->group[0] ? "." : "",
                        rt->res->group, rt->name);
    else
        vrt_resp_from_error(r, err);
    return -1;
}

int vrt_rest_namespace_exists(vrt_resp *r, vrt_apiserver_ctx *ctx,
                              const vrt_route *rt)
{
    cJSON *ns = NULL;
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_store_get(&ns, ctx->store, "namespaces", "", rt->ns, &err) ==
        VRT_OK) {
        const cJSON *md = cJSON_GetObjectItem(ns, "metadata");
        int terminating = cJSON_HasObjectItem(md, "deletionTimestamp");
        cJSON_Delete(ns);
        if (!terminating)
            return 0;
        vrt_resp_status(r, 403, "Forbidden",
                        "unable to create new content in namespace %s because "
                        "it is being terminated",
                        rt->ns);
        return -1;
    }
    if (err.code == VRT_E_NOTFOUND)
        vrt_resp_status(r, 404, "NotFound", "namespaces \"%s\" not found",
                        rt->ns);
    else
        vrt_resp_from_error(r, &err); /* a store failure is not a 404 */
    return -1;
}

/* Reads an integer at a ".a.b" path; 0 when absent. */
static double number_at(const cJSON *obj, const char *path)
{
    const cJSON *n = path ? vrt_jsonpath_node(obj, path) : NULL;
    return cJSON_IsNumber(n) ? n->valuedouble : 0;
}

cJSON *vrt_rest_scale_of(const vrt_resource *res, const cJSON *obj)
{
    const cJSON *md = cJSON_GetObjectItem(obj, "metadata");
    cJSON *sc = cJSON_CreateObject();
    cJSON_AddStringToObject(sc, "kind", "Scale");
    cJSON_AddStringToObject(sc, "apiVersion", "autoscaling/v1");
    cJSON *smd = cJSON_AddObjectToObject(sc, "metadata");
    const char *keys[] = {"name", "namespace", "uid", "resourceVersion",
                          "creationTimestamp"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const cJSON *v = cJSON_GetObjectItem(md, keys[i]);
        if (v)
            cJSON_AddItemToObject(smd, keys[i], cJSON_Duplicate(v, 1));
    }
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(sc, "spec"), "replicas",
                            number_at(obj, res->scale_spec));
    cJSON *st = cJSON_AddObjectToObject(sc, "status");
    cJSON_AddNumberToObject(st, "replicas", number_at(obj, res->scale_status));
    const cJSON *sel =
        res->scale_selector ? vrt_jsonpath_node(obj, res->scale_selector) : NULL;
    if (cJSON_IsString(sel))
        cJSON_AddStringToObject(st, "selector", sel->valuestring);
    return sc;
}

/* Sets a number at a ".spec.replicas"-style path, creating objects. */
static void set_number_at(cJSON *obj, const char *path, double value)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path[0] == '.' ? path + 1 : path);
    char *save = NULL, *tok = strtok_r(buf, ".", &save);
    cJSON *cur = obj;
    while (tok) {
        char *next = strtok_r(NULL, ".", &save);
        if (!next) {
            cJSON_DeleteItemFromObjectCaseSensitive(cur, tok);
            cJSON_AddNumberToObject(cur, tok, value);
            return;
        }
        cJSON *child = cJSON_GetObjectItemCaseSensitive(cur, tok);
        if (!cJSON_IsObject(child)) {
            cJSON_DeleteItemFromObjectCaseSensitive(cur, tok);
            child = cJSON_AddObjectToObject(cur, tok);
        }
        cur = child;
        tok = next;
    }
}

/* PUT or PATCH of /scale: the new replicas go to the main object. */
static void scale_write(vrt_resp *r, vrt_apiserver_ctx *ctx,
                        const vrt_req *req, const vrt_route *rt)
{
    cJSON *obj = NULL;
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_rest_load(&obj, r, ctx, rt, &err))
        return;
    cJSON *scale = vrt_rest_scale_of(rt->res, obj);
    cJSON *body = vrt_rest_parse_json(r, req->body ? req->body : "",
                                      req->body_len);
    if (!body)
        goto cleanup;
    int json_patch = strcmp(req->method, "PATCH") == 0 && req->content_type &&
                     strstr(req->content_type, "json-patch+json");
    if (json_patch ? !cJSON_IsArray(body) : !cJSON_IsObject(body)) {
        vrt_resp_status(r, 400, "BadRequest",
                        json_patch ? "a JSON patch must be an array"
                                   : "the Scale body is not a JSON object");
        goto cleanup;
    }
    if (strcmp(req->method, "PATCH") == 0) {
        char why[256];
        if (json_patch) {
            if (vrt_json_patch(scale, body, why, sizeof(why))) {
                vrt_resp_status(r, 422, "Invalid", "the JSON patch cannot be applied: %s", why);
                goto cleanup;
            }
        } else {
            vrt_merge_patch(scale, body);
        }
    } else {
        cJSON_Delete(scale);
        scale = body;
        body = NULL;
    }
    const cJSON *rep = vrt_jsonpath_node(scale, ".spec.replicas");
    if (!cJSON_IsNumber(rep) || rep->valuedouble < 0 ||
        rep->valuedouble != (double)(int64_t)rep->valuedouble ||
        rep->valuedouble > 2147483647.0) {
        /* kube-apiserver names the rejected value: "Invalid value: -1:
         * must be greater than or equal to 0". */
        char *given = rep ? cJSON_PrintUnformatted(rep) : NULL;
        const char *rule =
            !cJSON_IsNumber(rep) ? "must be an integer"
            : rep->valuedouble < 0 ? "must be greater than or equal to 0"
            : rep->valuedouble > 2147483647.0
                ? "must be less than or equal to 2147483647"
                : "must be an integer";
        vrt_resp_status(r, 422, "Invalid",
                        "Scale.autoscaling \"%s\" is invalid: spec.replicas: "
                        "Invalid value: %.64s: %s",
                        rt->name, given ? given : "null", rule);
        free(given);
        goto cleanup;
    }
    /* The Scale's resourceVersion, when it has one, is the client's
     * precondition (a stale read must not win). */
    int64_t want = 0;
    char bad[80];
    if (vrt_rest_rv_parse(&want, scale, bad, sizeof(bad))) {
        vrt_rest_rv_invalid(r, bad);
        goto cleanup;
    }
    int64_t have = 0;
    if (want && (vrt_rest_rv_parse(&have, obj, bad, sizeof(bad)) ||
                 have != want)) {
        vrt_resp_status(r, 409, "Conflict",
                        "Operation cannot be fulfilled on %s%s%s \"%s\": the "
                        "object has been modified; please apply your changes "
                        "to the latest version and try again",
                        rt->res->plural, VRT_DOT(rt->res), rt->res->group,
                        rt->name);
        goto cleanup;
    }
    /* The main object with its new replicas takes the path of every other
     * update: admission (the schema's bounds), generation, dryRun. */
    cJSON *next = cJSON_Duplicate(obj, 1), *stored;
    set_number_at(next, rt->res->scale_spec, rep->valuedouble);
    if (vrt_rest_update_from(r, ctx, req, rt, obj, next, &stored) == 0) {
        vrt_resp_json(r, 200, vrt_rest_scale_of(rt->res, stored));
        cJSON_Delete(stored);
    }
cleanup:
    cJSON_Delete(obj);
    cJSON_Delete(scale);
    cJSON_Delete(body);
}

static int method_is(const vrt_req *req, const char *m)
{
    return strcmp(req->method, m) == 0;
}

int vrt_rest_handle(vrt_resp *r, vrt_apiserver_ctx *ctx, const vrt_req *req,
                    const char *path)
{
    vrt_route rt;
    if (vrt_route_parse(&rt, &ctx->resources, path) != 0)
        return 0;
    if (!rt.res) {
        vrt_resp_status(r, 404, "NotFound",
                        "the server could not find the requested resource "
                        "\"%s\" in \"%s%s%s\"",
                        rt.plural, rt.group, rt.group[0] ? "/" : "",
                        rt.version);
        return 1;
    }
    if (rt.res->namespaced && rt.name && !rt.ns) {
        vrt_resp_status(r, 404, "NotFound",
                        "%s is namespaced: the URL needs /namespaces/NAME/",
                        rt.res->plural);
        return 1;
    }
    if (rt.sub && !((strcmp(rt.sub, "status") == 0 && rt.res->has_status) ||
                    (strcmp(rt.sub, "scale") == 0 && rt.res->has_scale))) {
        vrt_resp_status(r, 404, "NotFound",
                        "%s has no subresource \"%s\"", rt.res->plural, rt.sub);
        return 1;
    }
    if (!rt.name) {
        if (method_is(req, "GET"))
            vrt_rest_list(r, ctx, req, &rt);
        else if (method_is(req, "POST") && (rt.ns || !rt.res->namespaced))
            vrt_rest_create(r, ctx, req, &rt);
        else
            vrt_resp_status(r, 405, "MethodNotAllowed",
                            "%s is not allowed on the collection %s",
                            req->method, rt.res->plural);
        return 1;
    }
    int scale = rt.sub && strcmp(rt.sub, "scale") == 0;
    if (method_is(req, "GET"))
        vrt_rest_get(r, ctx, req, &rt);
    else if (scale && (method_is(req, "PUT") || method_is(req, "PATCH")))
        scale_write(r, ctx, req, &rt);
    else if (method_is(req, "PUT"))
        vrt_rest_update(r, ctx, req, &rt);
    else if (method_is(req, "PATCH"))
        vrt_rest_patch(r, ctx, req, &rt);
    else if (method_is(req, "DELETE") && !rt.sub)
        vrt_rest_delete(r, ctx, req, &rt);
    else
        vrt_resp_status(r, 405, "MethodNotAllowed", "%s is not allowed here",
                        req->method);
    return 1;
}
