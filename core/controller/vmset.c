/*
 * The VMSet reconciler: keeps spec.replicas VirtualMachines named
 * <set>-<ordinal> made from spec.template, and rolls template changes out
 * the way a StatefulSet does (stable names: an outdated VM is deleted,
 * then made again from the new template).
 *
 * Each VM carries the labels virtrigaud.io/vmset (the set's name),
 * virtrigaud.io/vmset-ordinal and virtrigaud.io/vmset-revision (a hash of
 * the template) and an ownerReference to the set.  A VM is available when
 * it is Ready and not being deleted, and has been Ready for
 * minReadySeconds.  Update strategies:
 *   RollingUpdate  replace outdated VMs with ordinal >= partition while
 *                  fewer than maxUnavailable (default 25%, at least 1) of
 *                  the desired VMs are unavailable, unavailable ones and
 *                  the highest ordinals first;
 *   OnDelete       replace a VM only when someone deletes it;
 *   Recreate       replace every outdated VM at once.
 * podManagementPolicy OrderedReady (the CRD's default) creates one missing
 * VM at a time, in ordinal order, each after the previous is available;
 * Parallel creates all missing VMs at once.  maxSurge is not honoured:
 * names are stable, so a VM is replaced in place.  When the set is gone, the
 * VMs it owned are deleted (the standalone API server has no garbage
 * collector).
 */
#include "controller_internal.h"

#include <vrt/clock.h>
#include <vrt/json.h>
#include <vrt/log.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

VRT_LOG_SOURCE("controller.vmset");

#define L_SET "virtrigaud.io/vmset"
#define L_ORDINAL "virtrigaud.io/vmset-ordinal"
#define L_REVISION "virtrigaud.io/vmset-revision"
#define MAX_REPLICAS 1000

typedef struct member {
    cJSON *vm;      /* owned */
    long ordinal;
    int updated;    /* at the update revision */
    int ready, available, deleting;
    long ready_for; /* seconds Ready, or -1 */
} member;

typedef struct set_ctx {
    vrt_controller *c;
    const char *ns, *name, *uid;
    member *m;
    size_t n, cap;
} set_ctx;

static const char *label_of(const cJSON *obj, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"), "labels"), key));
}

static int owned_by(const cJSON *vm, const char *uid)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItem(cJSON_GetObjectItem(vm, "metadata"),
                                              "ownerReferences")) {
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItem(o, "kind"));
        const char *u = cJSON_GetStringValue(cJSON_GetObjectItem(o, "uid"));
        if (k && strcmp(k, "VMSet") == 0 && (!uid || (u && strcmp(u, uid) == 0)))
            return 1;
    }
    return 0;
}

/* Seconds since the Ready condition became True, or -1. */
static long ready_seconds(const cJSON *vm)
{
    const cJSON *cond;
    cJSON_ArrayForEach(cond, cJSON_GetObjectItem(cJSON_GetObjectItem(vm, "status"),
                                                 "conditions")) {
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(cond, "type"));
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(cond, "status"));
        if (!t || strcmp(t, "Ready") != 0)
            continue;
        if (!s || strcmp(s, "True") != 0)
            return -1;
        const char *when = cJSON_GetStringValue(cJSON_GetObjectItem(cond, "lastTransitionTime"));
        struct tm tm = {0};
        if (!when || !strptime(when, "%Y-%m-%dT%H:%M:%S", &tm))
            return 0;
        long d = (long)(time(NULL) - timegm(&tm));
        return d < 0 ? 0 : d;
    }
    return -1;
}

static void collect(void *opaque, const cJSON *vm)
{
    set_ctx *s = opaque;
    const char *ns = vrt_meta_str(vm, "namespace");
    const char *set = label_of(vm, L_SET);
    if (!ns || strcmp(ns, s->ns) != 0 || !set || strcmp(set, s->name) != 0 ||
        !owned_by(vm, s->uid))
        return;
    const char *ord = label_of(vm, L_ORDINAL);
    char *end;
    long o = ord ? strtol(ord, &end, 10) : -1;
    if (!ord || *end || o < 0)
        return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->m = realloc(s->m, s->cap * sizeof(*s->m));
        if (!s->m)
            abort();
    }
    member *m = &s->m[s->n++];
    memset(m, 0, sizeof(*m));
    m->vm = cJSON_Duplicate(vm, 1);
    m->ordinal = o;
    m->deleting = vrt_meta_str(vm, "deletionTimestamp") != NULL;
    m->ready_for = ready_seconds(vm);
    m->ready = m->ready_for >= 0 && !m->deleting;
}

static void free_members(set_ctx *s)
{
    for (size_t i = 0; i < s->n; i++)
        cJSON_Delete(s->m[i].vm);
    free(s->m);
}

static member *find_ordinal(set_ctx *s, long o)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->m[i].ordinal == o)
            return &s->m[i];
    return NULL;
}

/* The revision of a template: 10 hex digits of its SHA-256. */
static void revision_of(char out[11], const cJSON *tmpl)
{
    char *text = cJSON_PrintUnformatted(tmpl);
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(text ? text : "", text ? strlen(text) : 0, md, &len, EVP_sha256(), NULL);
    free(text);
    for (int i = 0; i < 5; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* maxUnavailable as a number: an integer, or a percentage of replicas
 * rounded down; at least 1. */
static long max_unavailable(const cJSON *v, long replicas)
{
    long n = 0;
    if (cJSON_IsNumber(v)) {
        n = (long)v->valuedouble;
    } else {
        const char *s = cJSON_IsString(v) ? v->valuestring : "25%";
        char *end;
        long pct = strtol(s, &end, 10);
        n = *end == '%' ? replicas * pct / 100 : pct;
    }
    return n < 1 ? 1 : n;
}

static int delete_vm(set_ctx *s, member *m)
{
    char path[600];
    vrt_object_path(path, sizeof(path), "virtualmachines", s->ns,
                     vrt_meta_str(m->vm, "name"));
    cJSON *resp = NULL;
    long code = 0;
    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_kube_request(&resp, &code, s->c->kube, "DELETE", path, NULL,
                              NULL, &err);
    cJSON_Delete(resp);
    if (rc != VRT_OK || (code >= 300 && code != 404)) {
        vrt_log_warn("Deleting VM \"%s/%s\" of VMSet failed (HTTP %ld): %s",
                     s->ns, vrt_meta_str(m->vm, "name"), code, err.message);
        return -1;
    }
    m->deleting = 1;
    m->ready = m->available = 0;
    return 0;
}

static int create_vm(set_ctx *s, const cJSON *set, long ordinal,
                     const char *rev)
{
    const cJSON *tmpl = cJSON_GetObjectItem(cJSON_GetObjectItem(set, "spec"), "template");
    const cJSON *tmd = cJSON_GetObjectItem(tmpl, "metadata");
    char name[300], ord[24];
    snprintf(name, sizeof(name), "%s-%ld", s->name, ordinal);
    snprintf(ord, sizeof(ord), "%ld", ordinal);
    cJSON *vm = cJSON_CreateObject();
    cJSON_AddStringToObject(vm, "apiVersion", "infra.virtrigaud.io/v1beta1");
    cJSON_AddStringToObject(vm, "kind", "VirtualMachine");
    cJSON *md = cJSON_AddObjectToObject(vm, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", s->ns);
    cJSON *labels = cJSON_Duplicate(cJSON_GetObjectItem(tmd, "labels"), 1);
    if (!cJSON_IsObject(labels)) {
        cJSON_Delete(labels);
        labels = cJSON_CreateObject();
    }
    vrt_json_set_str(labels, L_SET, s->name);
    vrt_json_set_str(labels, L_ORDINAL, ord);
    vrt_json_set_str(labels, L_REVISION, rev);
    cJSON_AddItemToObject(md, "labels", labels);
    const cJSON *ann = cJSON_GetObjectItem(tmd, "annotations");
    if (cJSON_IsObject(ann))
        cJSON_AddItemToObject(md, "annotations", cJSON_Duplicate(ann, 1));
    cJSON *owner = cJSON_CreateObject();
    cJSON_AddStringToObject(owner, "apiVersion", "infra.virtrigaud.io/v1beta1");
    cJSON_AddStringToObject(owner, "kind", "VMSet");
    cJSON_AddStringToObject(owner, "name", s->name);
    cJSON_AddStringToObject(owner, "uid", s->uid);
    cJSON_AddBoolToObject(owner, "controller", 1);
    cJSON_AddBoolToObject(owner, "blockOwnerDeletion", 1);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(md, "ownerReferences"), owner);
    cJSON_AddItemToObject(vm, "spec",
                          cJSON_Duplicate(cJSON_GetObjectItem(tmpl, "spec"), 1));
    char path[400];
    snprintf(path, sizeof(path), GROUP_PATH "/namespaces/%s/virtualmachines", s->ns);
    cJSON *resp = NULL;
    long code = 0;
    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_kube_request(&resp, &code, s->c->kube, "POST", path, NULL, vm, &err);
    cJSON_Delete(vm);
    cJSON_Delete(resp);
    if (rc != VRT_OK || (code >= 300 && code != 409)) {
        vrt_log_warn("Creating VM \"%s/%s\" of VMSet failed (HTTP %ld): %s",
                     s->ns, name, code, err.message);
        return -1;
    }
    vrt_log_info("Created VM vm=\"%s/%s\" vmset=\"%s\" revision=%s", s->ns,
                 name, s->name, rev);
    return 0;
}

/* The VMSet is gone: delete what it owned. */
static long orphans(vrt_controller *c, const char *ns, const char *name)
{
    set_ctx s = {c, ns, name, NULL, NULL, 0, 0};
    char needle[300];
    snprintf(needle, sizeof(needle), "\"" L_SET "\":\"%s\"", name);
    vrt_informer_each(c->inf[INF_VM], needle, collect, &s);
    long rc = 0;
    for (size_t i = 0; i < s.n; i++)
        if (!s.m[i].deleting && delete_vm(&s, &s.m[i]))
            rc = -1;
    free_members(&s);
    return rc;
}

static void selector_string(char *buf, size_t size, const cJSON *sel)
{
    buf[0] = '\0';
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItem(sel, "matchLabels")) {
        if (cJSON_IsString(l))
            snprintf(buf + strlen(buf), size - strlen(buf), "%s%s=%s",
                     buf[0] ? "," : "", l->string, l->valuestring);
    }
}

long vrt_reconcile_vmset(vrt_controller *c, const char *ns, const char *name)
{
    cJSON *set = vrt_informer_get(c->inf[INF_VMSET], ns, name);
    if (!set || vrt_meta_str(set, "deletionTimestamp")) {
        cJSON_Delete(set);
        return orphans(c, ns, name);
    }
    const cJSON *spec = cJSON_GetObjectItem(set, "spec");
    set_ctx s = {c, ns, name, vrt_meta_str(set, "uid"), NULL, 0, 0};
    char needle[300];
    snprintf(needle, sizeof(needle), "\"" L_SET "\":\"%s\"", name);
    vrt_informer_each(c->inf[INF_VM], needle, collect, &s);

    const cJSON *rj = cJSON_GetObjectItem(spec, "replicas");
    long replicas = cJSON_IsNumber(rj) ? (long)rj->valuedouble : 1;
    if (replicas < 0 || replicas > MAX_REPLICAS)
        replicas = replicas < 0 ? 0 : MAX_REPLICAS;
    const cJSON *oj = cJSON_GetObjectItem(cJSON_GetObjectItem(spec, "ordinals"), "start");
    long start = cJSON_IsNumber(oj) ? (long)oj->valuedouble : 0;
    const cJSON *mr = cJSON_GetObjectItem(spec, "minReadySeconds");
    long min_ready = cJSON_IsNumber(mr) ? (long)mr->valuedouble : 0;
    const cJSON *strat = cJSON_GetObjectItem(spec, "updateStrategy");
    const char *stype = cJSON_GetStringValue(cJSON_GetObjectItem(strat, "type"));
    stype = stype ? stype : "RollingUpdate";
    const cJSON *ru = cJSON_GetObjectItem(strat, "rollingUpdate");
    const cJSON *pj = cJSON_GetObjectItem(ru, "partition");
    long partition = cJSON_IsNumber(pj) ? (long)pj->valuedouble : 0;
    const char *policy = cJSON_GetStringValue(cJSON_GetObjectItem(ru, "podManagementPolicy"));
    int ordered = policy && strcmp(policy, "OrderedReady") == 0;
    long max_unavail = max_unavailable(cJSON_GetObjectItem(ru, "maxUnavailable"), replicas);
    char rev[11];
    revision_of(rev, cJSON_GetObjectItem(spec, "template"));
    /* The selector must select what the template makes. */
    const cJSON *want;
    const cJSON *tlabels = cJSON_GetObjectItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(spec, "template"), "metadata"), "labels");
    char bad[300] = "";
    cJSON_ArrayForEach(want, cJSON_GetObjectItem(cJSON_GetObjectItem(spec, "selector"),
                                                 "matchLabels")) {
        const char *have = cJSON_GetStringValue(cJSON_GetObjectItem(tlabels, want->string));
        if (!bad[0] && (!have || !cJSON_IsString(want) || strcmp(have, want->valuestring)))
            snprintf(bad, sizeof(bad),
                     "spec.selector.matchLabels.%s does not match "
                     "spec.template.metadata.labels; no VM is made.",
                     want->string);
    }
    if (bad[0]) {
        const cJSON *old = cJSON_GetObjectItem(set, "status");
        cJSON *st = old ? cJSON_Duplicate(old, 1) : cJSON_CreateObject();
        vrt_cond_set(st, "Ready", "False", "InvalidSelector", bad,
                     vrt_meta_num(set, "generation"));
        char path[600];
        vrt_error e = VRT_ERROR_INIT;
        vrt_object_path(path, sizeof(path), "vmsets", ns, name);
        long rc = (!old || !cJSON_Compare(old, st, 1)) &&
                  vrt_status_patch(c, path, old, st, &e) != VRT_OK ? -1 : 0;
        cJSON_Delete(st);
        free_members(&s);
        cJSON_Delete(set);
        return rc;
    }

    long requeue = 0, err = 0;
    for (size_t i = 0; i < s.n; i++) {
        member *m = &s.m[i];
        const char *r = label_of(m->vm, L_REVISION);
        m->updated = r && strcmp(r, rev) == 0;
        m->available = m->ready && m->ready_for >= min_ready;
        if (m->ready && !m->available) {
            long left = (min_ready - m->ready_for) * 1000 + 200;
            if (!requeue || left < requeue)
                requeue = left;
        }
    }

    /* Scale down: ordinals past the end go, highest first (all at once). */
    for (size_t i = 0; i < s.n; i++) {
        member *m = &s.m[i];
        if ((m->ordinal < start || m->ordinal >= start + replicas) && !m->deleting)
            err |= delete_vm(&s, m);
    }
    /* Missing ordinals are created (OrderedReady: one, after the previous
     * is available). */
    for (long o = start; o < start + replicas; o++) {
        member *m = find_ordinal(&s, o);
        if (m) {
            if (ordered && !m->available)
                break;
            continue;
        }
        err |= create_vm(&s, set, o, rev);
        if (ordered)
            break;
    }
    /* Updates. */
    long unavailable = 0;
    for (long o = start; o < start + replicas; o++) {
        member *m = find_ordinal(&s, o);
        if (!m || !m->available)
            unavailable++;
    }
    if (strcmp(stype, "OnDelete") != 0) {
        int recreate = strcmp(stype, "Recreate") == 0;
        /* Unavailable outdated VMs first, then from the highest ordinal. */
        for (int pass = 0; pass < 2; pass++)
            for (long o = start + replicas - 1; o >= start; o--) {
                member *m = find_ordinal(&s, o);
                if (!m || m->updated || m->deleting || o < partition)
                    continue;
                if (pass == 0 && m->available)
                    continue;
                if (m->available) {
                    if (!recreate && unavailable >= max_unavail)
                        continue;
                    unavailable++;
                }
                err |= delete_vm(&s, m);
            }
    }

    /* Status. */
    long ready = 0, available = 0, updated = 0, current = 0, exist = 0;
    for (size_t i = 0; i < s.n; i++) {
        member *m = &s.m[i];
        if (m->deleting)
            continue;
        exist++;
        ready += m->ready;
        available += m->available;
        updated += m->updated;
        current += !m->updated;
    }
    const cJSON *old = cJSON_GetObjectItem(set, "status");
    cJSON *st = old ? cJSON_Duplicate(old, 1) : cJSON_CreateObject();
    double gen = vrt_meta_num(set, "generation");
    static const char *const nums[] = {"replicas", "readyReplicas",
                                       "availableReplicas", "updatedReplicas",
                                       "currentReplicas", "observedGeneration"};
    double vals[] = {(double)exist, (double)ready, (double)available,
                     (double)updated, (double)current, gen};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        cJSON_DeleteItemFromObjectCaseSensitive(st, nums[i]);
        cJSON_AddNumberToObject(st, nums[i], vals[i]);
    }
    char sel[512];
    selector_string(sel, sizeof(sel), cJSON_GetObjectItem(spec, "selector"));
    vrt_json_set_str(st, "selector", sel);
    vrt_json_set_str(st, "updateRevision", rev);
    if (updated == replicas && available == replicas)
        vrt_json_set_str(st, "currentRevision", rev);
    int settled = available == replicas && updated == replicas && exist == replicas;
    char msg[200];
    snprintf(msg, sizeof(msg), "%ld of %ld VMs available, %ld updated.",
             available, replicas, updated);
    vrt_cond_set(st, "Ready", settled ? "True" : "False",
                 settled ? "AllReplicasReady" : "Progressing", msg, gen);
    long rc = requeue;
    if (!old || !cJSON_Compare(old, st, 1)) {
        char path[600];
        vrt_error e = VRT_ERROR_INIT;
        vrt_object_path(path, sizeof(path), "vmsets", ns, name);
        if (vrt_status_patch(c, path, old, st, &e) != VRT_OK)
            rc = -1;
    }
    cJSON_Delete(st);
    free_members(&s);
    cJSON_Delete(set);
    return err ? -1 : rc;
}
