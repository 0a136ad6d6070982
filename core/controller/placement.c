/*
 * Placement: the host a new VM goes to, under its VMPlacementPolicy
 * (spec.placementRef).  The candidates come from the provider's
 * list_hosts; the rules honoured are
 *   hard.hosts                 only these hosts (when set)
 *   hard.excludedHosts         never these
 *   soft.excludedHosts         only when nothing else is left
 *   antiAffinity.hostAntiAffinity  at most maxVMsPerHost VMs of this
 *                              policy per host (strict), or spread them
 *                              (preferred)
 *   antiAffinity.vmAntiAffinity    requiredDuringScheduling: never on a
 *                              host with a VM matching a term (topologyKey
 *                              host); preferredDuringScheduling: avoid, by
 *                              weight
 *   affinity.hostAffinity      preferredHosts first
 * then the host with the fewest VMs.  Where each VM is comes from
 * status.provider.host, which records the host chosen here, and from the
 * choices made but not yet written (so VMs placed at the same moment do
 * not pile onto one host).  Placement happens once, at create time.
 */
#include "controller_internal.h"

#include <vrt/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

VRT_LOG_SOURCE("controller.placement");

#define MAX_HOSTS 256

typedef struct cand {
    char name[VRT_NAME_MAX];
    int available;
    uint32_t vm_count;
    int ours;        /* VMs of this policy there */
    int excluded;    /* hard rule */
    long score;
} cand;

typedef struct hosts {
    cand h[MAX_HOSTS];
    int n;
} hosts;

static int visit_host(void *opaque, const void *item)
{
    hosts *hs = opaque;
    const vrt_host_info *hi = item;
    if (hs->n >= MAX_HOSTS)
        return 1;
    cand *c = &hs->h[hs->n++];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", hi->name);
    c->available = hi->available;
    c->vm_count = hi->vm_count;
    return 0;
}

static int in_list(const cJSON *list, const char *s)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, list)
        if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
            return 1;
    return 0;
}

static cand *find(hosts *hs, const char *name)
{
    for (int i = 0; i < hs->n; i++)
        if (strcmp(hs->h[i].name, name) == 0)
            return &hs->h[i];
    return NULL;
}

/* Whether `labels` satisfy a term's selector (matchLabels and
 * matchExpressions, of the selector and of the term). */
static int term_matches(const cJSON *term, const cJSON *labels)
{
    const cJSON *sel = cJSON_GetObjectItem(term, "labelSelector");
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(sel, "matchLabels")) {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(labels, it->string));
        if (!v || !cJSON_IsString(it) || strcmp(v, it->valuestring) != 0)
            return 0;
    }
    const cJSON *lists[2] = {cJSON_GetObjectItem(sel, "matchExpressions"),
                             cJSON_GetObjectItem(term, "matchExpressions")};
    for (int l = 0; l < 2; l++)
        cJSON_ArrayForEach(it, lists[l]) {
            const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(it, "key"));
            const char *op = cJSON_GetStringValue(cJSON_GetObjectItem(it, "operator"));
            const char *v = key ? cJSON_GetStringValue(cJSON_GetObjectItem(labels, key)) : NULL;
            const cJSON *vals = cJSON_GetObjectItem(it, "values");
            if (!op)
                return 0;
            if ((strcmp(op, "In") == 0 && (!v || !in_list(vals, v))) ||
                (strcmp(op, "NotIn") == 0 && v && in_list(vals, v)) ||
                (strcmp(op, "Exists") == 0 && !v) ||
                (strcmp(op, "DoesNotExist") == 0 && v))
                return 0;
        }
    return 1;
}

typedef struct scan {
    vrt_controller *c;
    const char *ns, *self, *policy;
    const cJSON *policy_obj;
    hosts *hs;
} scan;

/* The host a VM is on, as far as placement knows. */
static const char *host_of(vrt_controller *c, const cJSON *vm)
{
    const char *h = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(vm, "status"), "provider"), "host"));
    if (h)
        return h;
    const char *uid = vrt_meta_str(vm, "uid");
    return uid ? vrt_hmap_get(c->placed, uid) : NULL;
}

static void scan_vm(void *opaque, const cJSON *vm)
{
    scan *s = opaque;
    const char *name = vrt_meta_str(vm, "name");
    const char *ns = vrt_meta_str(vm, "namespace");
    if (!name || !ns || (strcmp(ns, s->ns) == 0 && strcmp(name, s->self) == 0) ||
        vrt_meta_str(vm, "deletionTimestamp"))
        return;
    const char *h = host_of(s->c, vm);
    cand *c = h ? find(s->hs, h) : NULL;
    if (!c)
        return;
    const cJSON *spec = cJSON_GetObjectItem(vm, "spec");
    const char *pol = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(spec, "placementRef"), "name"));
    if (pol && strcmp(pol, s->policy) == 0 && strcmp(ns, s->ns) == 0)
        c->ours++;
    const cJSON *labels = cJSON_GetObjectItem(cJSON_GetObjectItem(vm, "metadata"), "labels");
    const cJSON *va = cJSON_GetObjectItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(s->policy_obj, "spec"), "antiAffinity"), "vmAntiAffinity");
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(va, "requiredDuringScheduling")) {
        const cJSON *nss = cJSON_GetObjectItem(t, "namespaces");
        if ((cJSON_GetArraySize(nss) ? in_list(nss, ns) : strcmp(ns, s->ns) == 0) &&
            term_matches(t, labels))
            c->excluded = 1;
    }
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(va, "preferredDuringScheduling")) {
        const cJSON *term = cJSON_GetObjectItem(t, "vmAffinityTerm");
        const cJSON *w = cJSON_GetObjectItem(t, "weight");
        if (strcmp(ns, s->ns) == 0 && term_matches(term, labels))
            c->score -= cJSON_IsNumber(w) ? w->valueint * 10 : 10;
    }
}

int vrt_place_vm(char *host, size_t hsize, vrt_controller *c, vrt_pconn *conn,
                 vrt_call_ctx *cc, const cJSON *vm, char *msg, size_t msize)
{
    host[0] = '\0';
    const cJSON *ref = cJSON_GetObjectItem(cJSON_GetObjectItem(vm, "spec"), "placementRef");
    const char *pname = cJSON_GetStringValue(cJSON_GetObjectItem(ref, "name"));
    if (!pname)
        return 0;
    const char *ns = vrt_meta_str(vm, "namespace");
    cJSON *pol = vrt_informer_get(c->inf[INF_POLICY], ns, pname);
    if (!pol) {
        snprintf(msg, msize, "VMPlacementPolicy \"%s\" not found (spec.placementRef).",
                 pname);
        return -1;
    }
    hosts *hs = calloc(1, sizeof(*hs));
    if (!hs)
        abort();
    int rc = -1;
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_p_list_hosts(conn, cc, visit_host, hs, &err) != VRT_OK) {
        snprintf(msg, msize, "VMPlacementPolicy \"%s\" cannot be enforced: the "
                 "provider cannot list its hosts (%s).", pname, err.message);
        goto done;
    }
    const cJSON *spec = cJSON_GetObjectItem(pol, "spec");
    const cJSON *hard = cJSON_GetObjectItem(spec, "hard");
    const cJSON *soft = cJSON_GetObjectItem(spec, "soft");
    const cJSON *hanti = cJSON_GetObjectItem(cJSON_GetObjectItem(spec, "antiAffinity"),
                                             "hostAntiAffinity");
    const cJSON *haff = cJSON_GetObjectItem(cJSON_GetObjectItem(spec, "affinity"),
                                            "hostAffinity");
    int anti_on = cJSON_IsTrue(cJSON_GetObjectItem(hanti, "enabled"));
    const char *anti_scope = cJSON_GetStringValue(cJSON_GetObjectItem(hanti, "scope"));
    int anti_strict = !anti_scope || strcmp(anti_scope, "preferred") != 0;
    const cJSON *maxv = cJSON_GetObjectItem(hanti, "maxVMsPerHost");
    int max_per = cJSON_IsNumber(maxv) ? maxv->valueint : 1;

    pthread_mutex_lock(&c->place_lock); /* choices see each other */
    scan sc = {c, ns, vrt_meta_str(vm, "name"), pname, pol, hs};
    vrt_informer_each(c->inf[INF_VM], NULL, scan_vm, &sc);
    cand *best = NULL;
    int soft_only = 0;
    for (int pass = 0; pass < 2 && !best; pass++) {
        for (int i = 0; i < hs->n; i++) {
            cand *h = &hs->h[i];
            if (!h->available || h->excluded ||
                in_list(cJSON_GetObjectItem(hard, "excludedHosts"), h->name) ||
                (cJSON_GetArraySize(cJSON_GetObjectItem(hard, "hosts")) &&
                 !in_list(cJSON_GetObjectItem(hard, "hosts"), h->name)))
                continue;
            if (pass == 0 && in_list(cJSON_GetObjectItem(soft, "excludedHosts"), h->name))
                continue;
            if (anti_on && anti_strict && h->ours >= max_per)
                continue;
            long score = h->score - (long)h->vm_count - (anti_on ? 100L * h->ours : 0);
            if (cJSON_IsTrue(cJSON_GetObjectItem(haff, "enabled")) &&
                in_list(cJSON_GetObjectItem(haff, "preferredHosts"), h->name))
                score += 100000;
            if (!best || score > best->score ||
                (score == best->score && strcmp(h->name, best->name) < 0)) {
                h->score = score;
                best = h;
            }
        }
        soft_only = pass == 1;
    }
    if (best) {
        snprintf(host, hsize, "%s", best->name);
        const char *uid = vrt_meta_str(vm, "uid");
        if (uid) {
            char *copy = strdup(best->name);
            if (!copy)
                abort();
            vrt_hmap_put(c->placed, uid, copy);
        }
        vrt_log_info("Placed vm=\"%s/%s\" host=\"%s\" policy=\"%s\"%s", ns,
                     vrt_meta_str(vm, "name"), host, pname,
                     soft_only ? " (only soft-excluded hosts were left)" : "");
        rc = 0;
    } else {
        snprintf(msg, msize, "No host satisfies VMPlacementPolicy \"%s\" "
                 "(%d host(s) considered).", pname, hs->n);
    }
    pthread_mutex_unlock(&c->place_lock);
done:
    free(hs);
    cJSON_Delete(pol);
    return rc;
}

void vrt_place_forget(vrt_controller *c, const cJSON *vm)
{
    const char *uid = vrt_meta_str(vm, "uid");
    if (!uid)
        return;
    pthread_mutex_lock(&c->place_lock);
    vrt_hmap_del(c->placed, uid);
    pthread_mutex_unlock(&c->place_lock);
}
