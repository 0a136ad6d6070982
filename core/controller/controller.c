/*
 * Wiring: informers feed the work queue with "kind/namespace/name" keys,
 * workers take keys and run the matching reconciler, and a spec change
 * of a Provider, VMClass, VMImage or VMNetworkAttachment wakes the VMs
 * that use it (status-only updates wake nobody).  VM arrivals and
 * departures refresh the used-by counts of what they reference, at most
 * once a second per object.
 */
#include "controller_internal.h"

#include <vrt/log.h>
#include <vrt/metrics.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

VRT_LOG_SOURCE("controller");

static const char *const inf_paths[INF_COUNT] = {
    [INF_VM] = GROUP_PATH "/virtualmachines",
    [INF_PROVIDER] = GROUP_PATH "/providers",
    [INF_CLASS] = GROUP_PATH "/vmclasses",
    [INF_IMAGE] = GROUP_PATH "/vmimages",
    [INF_NETWORK] = GROUP_PATH "/vmnetworkattachments",
    [INF_VMSET] = GROUP_PATH "/vmsets",
    [INF_SNAPSHOT] = GROUP_PATH "/vmsnapshots",
    [INF_POLICY] = GROUP_PATH "/vmplacementpolicies",
    [INF_CLONE] = GROUP_PATH "/vmclones",
    [INF_MIGRATION] = GROUP_PATH "/vmmigrations",
};

#define USED_BY_REFRESH_MS 1000

/* The queue kind of each informer's objects. */
static const char *const inf_kind[INF_COUNT] = {
    [INF_VM] = "vm",       [INF_PROVIDER] = "provider",
    [INF_CLASS] = "class", [INF_IMAGE] = "image",
    [INF_NETWORK] = "network", [INF_VMSET] = "vmset",
    [INF_SNAPSHOT] = "snapshot", [INF_POLICY] = "policy",
    [INF_CLONE] = "clone", [INF_MIGRATION] = "migration",
};

static void key_for(char *key, size_t size, const char *kind, const char *ns,
                    const char *name)
{
    snprintf(key, size, "%s/%s/%s", kind, ns ? ns : "", name ? name : "");
}

static void enqueue(vrt_controller *c, const char *kind, const cJSON *obj)
{
    char key[512];
    key_for(key, sizeof(key), kind, vrt_meta_str(obj, "namespace"),
            vrt_meta_str(obj, "name"));
    vrt_queue_add(c->queue, key);
}

typedef struct dependents {
    vrt_controller *c;
    int which;
    const char *ns, *name;
} dependents;

static void wake_if_uses(void *opaque, const cJSON *vm)
{
    const dependents *d = opaque;
    if (vrt_vm_uses(vm, d->which, d->ns, d->name))
        enqueue(d->c, "vm", vm);
}

/* Wakes the VMs that reference obj (of informer `which`). */
static void wake_users(vrt_controller *c, int which, const cJSON *obj)
{
    dependents d = {c, which,
                    vrt_meta_str(obj, "namespace") ? vrt_meta_str(obj, "namespace") : "",
                    vrt_meta_str(obj, "name") ? vrt_meta_str(obj, "name") : ""};
    char needle[300];
    snprintf(needle, sizeof(needle), "\"name\":\"%s\"", d.name);
    if (c->inf[INF_VM])
        vrt_informer_each(c->inf[INF_VM], needle, wake_if_uses, &d);
}

/* Whether a MODIFIED event changed what VMs depend on: the spec
 * (generation), or a Provider's health. */
static int spec_changed(const cJSON *obj, const cJSON *old)
{
    if (!old)
        return 1;
    if (vrt_meta_num(obj, "generation") != vrt_meta_num(old, "generation"))
        return 1;
    /* Annotations carry settings too (adopt-vms, adopt-filter). */
    const cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"), "annotations");
    const cJSON *b = cJSON_GetObjectItem(cJSON_GetObjectItem(old, "metadata"), "annotations");
    if (!a != !b || (a && !cJSON_Compare(a, b, 1)))
        return 1;
    const cJSON *h = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "status"), "healthy");
    const cJSON *oh = cJSON_GetObjectItem(cJSON_GetObjectItem(old, "status"), "healthy");
    return cJSON_IsTrue(h) != cJSON_IsTrue(oh);
}

static void on_dependency(vrt_controller *c, int which, const char *type,
                          const cJSON *obj, const cJSON *old)
{
    /* Our own status writes come back as MODIFIED: reconcile the object
     * itself only when its spec moved. */
    if (strcmp(type, "DELETED") != 0 && spec_changed(obj, old))
        enqueue(c, inf_kind[which], obj);
    if (strcmp(type, "MODIFIED") != 0 || spec_changed(obj, old))
        wake_users(c, which, obj);
}

static void refresh_used_by(vrt_controller *c, const cJSON *vm)
{
    const cJSON *spec = cJSON_GetObjectItem(vm, "spec");
    static const struct {
        int which;
        const char *field;
    } refs[] = {{INF_CLASS, "classRef"}, {INF_IMAGE, "imageRef"},
                {INF_PROVIDER, "providerRef"}, {INF_POLICY, "placementRef"}};
    const char *vns = vrt_meta_str(vm, "namespace");
    char key[512];
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
        const cJSON *ref = cJSON_GetObjectItem(spec, refs[i].field);
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(ref, "name"));
        const char *ns = cJSON_GetStringValue(cJSON_GetObjectItem(ref, "namespace"));
        if (!name)
            continue;
        key_for(key, sizeof(key), inf_kind[refs[i].which], ns && *ns ? ns : vns, name);
        vrt_queue_add_after(c->queue, key, USED_BY_REFRESH_MS);
    }
    const cJSON *net;
    cJSON_ArrayForEach(net, cJSON_GetObjectItem(spec, "networks")) {
        const cJSON *ref = cJSON_GetObjectItem(net, "networkRef");
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(ref, "name"));
        const char *ns = cJSON_GetStringValue(cJSON_GetObjectItem(ref, "namespace"));
        if (!name)
            continue;
        key_for(key, sizeof(key), "network", ns && *ns ? ns : vns, name);
        vrt_queue_add_after(c->queue, key, USED_BY_REFRESH_MS);
    }
}

/* Whether a VM event needs a reconcile: anything but our own status
 * writes (a status-only change would otherwise wake the VM again, and a
 * status message that changes on every failure would spin). */
static int vm_changed(const cJSON *obj, const cJSON *old)
{
    if (!old)
        return 1;
    const cJSON *md = cJSON_GetObjectItem(obj, "metadata");
    const cJSON *omd = cJSON_GetObjectItem(old, "metadata");
    static const char *const keys[] = {"generation", "deletionTimestamp",
                                       "annotations", "labels"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const cJSON *a = cJSON_GetObjectItem(md, keys[i]);
        const cJSON *b = cJSON_GetObjectItem(omd, keys[i]);
        if (!a != !b || (a && !cJSON_Compare(a, b, 1)))
            return 1;
    }
    /* Finalizers: ours (*.infra.virtrigaud.io/finalizer) are added and
     * removed by the reconcilers themselves; any other change counts. */
    cJSON *fl[2] = {cJSON_Duplicate(cJSON_GetObjectItem(md, "finalizers"), 1),
                    cJSON_Duplicate(cJSON_GetObjectItem(omd, "finalizers"), 1)};
    for (int k = 0; k < 2; k++)
        for (int i = cJSON_GetArraySize(fl[k]) - 1; i >= 0; i--) {
            const char *f = cJSON_GetStringValue(cJSON_GetArrayItem(fl[k], i));
            if (f && strstr(f, ".infra.virtrigaud.io/finalizer"))
                cJSON_DeleteItemFromArray(fl[k], i);
        }
    int same = cJSON_GetArraySize(fl[0]) == cJSON_GetArraySize(fl[1]) &&
               (cJSON_GetArraySize(fl[0]) == 0 || cJSON_Compare(fl[0], fl[1], 1));
    cJSON_Delete(fl[0]);
    cJSON_Delete(fl[1]);
    return !same;
}

/* Whether obj, as the watch reports it, only echoes our own status
 * writes (and forgets them when the object is gone). */
static int own_write(vrt_controller *c, const char *plural, const char *type,
                     const cJSON *obj)
{
    char path[600];
    const char *ns = vrt_meta_str(obj, "namespace");
    const char *name = vrt_meta_str(obj, "name");
    vrt_object_path(path, sizeof(path), plural, ns ? ns : "", name ? name : "");
    if (strcmp(type, "DELETED") == 0) {
        vrt_own_forget(c, path);
        return 0;
    }
    return vrt_own_is_echo(c, path, obj);
}

typedef struct vm_ref {
    vrt_controller *c;
    const char *ns, *name;
} vm_ref;

static void wake_snapshot_of(void *opaque, const cJSON *snap)
{
    const vm_ref *r = opaque;
    const char *vm = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(snap, "spec"), "vmRef"), "name"));
    const char *ns = vrt_meta_str(snap, "namespace");
    if (vm && strcmp(vm, r->name) == 0 && ns && strcmp(ns, r->ns) == 0)
        enqueue(r->c, "snapshot", snap);
}

static void on_vm(void *opaque, const char *type, const cJSON *obj,
                  const cJSON *old)
{
    vrt_controller *c = opaque;
    int ours = own_write(c, "virtualmachines", type, obj);
    /* A VMSet follows its VMs' every change, readiness included. */
    const char *set = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"), "labels"),
        "virtrigaud.io/vmset"));
    if (set) {
        char key[512];
        key_for(key, sizeof(key), "vmset", vrt_meta_str(obj, "namespace"), set);
        vrt_queue_add(c->queue, key);
    }
    if (strcmp(type, "DELETED") == 0)
        vrt_place_forget(c, obj);
    if (strcmp(type, "DELETED") == 0 && c->inf[INF_SNAPSHOT]) {
        /* Its snapshots may go with it (deleteOnVMDelete). */
        vm_ref r = {c, vrt_meta_str(obj, "namespace"), vrt_meta_str(obj, "name")};
        char needle[300];
        snprintf(needle, sizeof(needle), "\"name\":\"%s\"", r.name ? r.name : "");
        if (r.ns && r.name)
            vrt_informer_each(c->inf[INF_SNAPSHOT], needle, wake_snapshot_of, &r);
    }
    if (strcmp(type, "MODIFIED") != 0) {
        enqueue(c, "vm", obj);
        refresh_used_by(c, obj);
    } else if (vm_changed(obj, old) || !ours) {
        enqueue(c, "vm", obj);
    }
}

static void on_provider(void *opaque, const char *type, const cJSON *obj,
                        const cJSON *old)
{
    on_dependency(opaque, INF_PROVIDER, type, obj, old);
}

static void on_class(void *opaque, const char *type, const cJSON *obj,
                     const cJSON *old)
{
    on_dependency(opaque, INF_CLASS, type, obj, old);
}

static void on_image(void *opaque, const char *type, const cJSON *obj,
                     const cJSON *old)
{
    on_dependency(opaque, INF_IMAGE, type, obj, old);
}

static void on_vmset(void *opaque, const char *type, const cJSON *obj,
                     const cJSON *old)
{
    (void)old;
    (void)type; /* a deletion too: the set's VMs go with it */
    enqueue(opaque, "vmset", obj);
}

/* Snapshots: anything but the echoes of our own writes (a status-only
 * change we made); the reconciler's requeues drive the rest. */
static void on_snapshot(void *opaque, const char *type, const cJSON *obj,
                        const cJSON *old)
{
    vrt_controller *c = opaque;
    int ours = own_write(c, "vmsnapshots", type, obj);
    if (strcmp(type, "DELETED") == 0)
        return;
    if (strcmp(type, "MODIFIED") != 0 || vm_changed(obj, old) || !ours)
        enqueue(c, "snapshot", obj);
}

static void on_clone(void *opaque, const char *type, const cJSON *obj,
                     const cJSON *old)
{
    vrt_controller *c = opaque;
    int ours = own_write(c, "vmclones", type, obj);
    if (strcmp(type, "DELETED") != 0 &&
        (strcmp(type, "MODIFIED") != 0 || vm_changed(obj, old) || !ours))
        enqueue(c, "clone", obj);
}

static void on_migration(void *opaque, const char *type, const cJSON *obj,
                         const cJSON *old)
{
    vrt_controller *c = opaque;
    int ours = own_write(c, "vmmigrations", type, obj);
    if (strcmp(type, "DELETED") != 0 &&
        (strcmp(type, "MODIFIED") != 0 || vm_changed(obj, old) || !ours))
        enqueue(c, "migration", obj);
}

static void on_policy(void *opaque, const char *type, const cJSON *obj,
                      const cJSON *old)
{
    on_dependency(opaque, INF_POLICY, type, obj, old);
}

static void on_network(void *opaque, const char *type, const cJSON *obj,
                       const cJSON *old)
{
    on_dependency(opaque, INF_NETWORK, type, obj, old);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits until every informer has listed once (client-go's
 * WaitForCacheSync): a reconcile that ran on a half-filled cache would
 * take a VM that exists for one that does not. */
static void wait_synced(vrt_controller *c)
{
    for (;;) {
        int all = 1;
        for (int i = 0; i < INF_COUNT; i++)
            all &= c->inf[i] && vrt_informer_synced(c->inf[i]);
        if (all || c->stopping)
            return;
        usleep(20 * 1000);
    }
}

static void *worker(void *arg)
{
    vrt_controller *c = arg;
    char key[512];
    wait_synced(c);
    while (vrt_queue_get(c->queue, key, sizeof(key)) == 0) {
        char kind[32], ns[256], name[256];
        long rc = 0;
        vrt_metrics_queue_depth(vrt_queue_len(c->queue));
        if (sscanf(key, "%31[^/]/%255[^/]/%255s", kind, ns, name) == 3) {
            double start = mono_s();
            if (strcmp(kind, "vm") == 0)
                rc = vrt_reconcile_vm(c, ns, name);
            else if (strcmp(kind, "provider") == 0)
                rc = vrt_reconcile_provider(c, ns, name);
            else if (strcmp(kind, "class") == 0)
                rc = vrt_reconcile_class(c, ns, name);
            else if (strcmp(kind, "image") == 0)
                rc = vrt_reconcile_image(c, ns, name);
            else if (strcmp(kind, "network") == 0)
                rc = vrt_reconcile_network(c, ns, name);
            else if (strcmp(kind, "vmset") == 0)
                rc = vrt_reconcile_vmset(c, ns, name);
            else if (strcmp(kind, "snapshot") == 0)
                rc = vrt_reconcile_snapshot(c, ns, name);
            else if (strcmp(kind, "policy") == 0)
                rc = vrt_reconcile_policy(c, ns, name);
            else if (strcmp(kind, "clone") == 0)
                rc = vrt_reconcile_clone(c, ns, name);
            else if (strcmp(kind, "migration") == 0)
                rc = vrt_reconcile_migration(c, ns, name);
            /* kind is bounded: keys are only made from inf_kind[] */
            vrt_metrics_reconcile(kind, rc < 0 ? "error" : "success",
                                  mono_s() - start);
        }
        if (rc < 0) {
            vrt_queue_add_backoff(c->queue, key);
        } else {
            vrt_queue_forget(c->queue, key);
            if (rc > 0)
                vrt_queue_add_after(c->queue, key, (uint64_t)rc);
        }
        vrt_queue_done(c->queue, key);
        vrt_metrics_queue_depth(vrt_queue_len(c->queue));
    }
    return NULL;
}

int vrt_controller_start(vrt_controller **out, vrt_kube *kube,
                         vrt_registry *reg, const vrt_controller_opts *opts,
                         vrt_error *err)
{
    (void)err;
    vrt_controller *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    c->kube = kube;
    c->reg = reg;
    if (opts)
        c->opts = *opts;
    if (!c->opts.workers)
        c->opts.workers = 4;
    if (!c->opts.resync_ms)
        c->opts.resync_ms = 30000;
    if (!c->opts.call_timeout_ms)
        c->opts.call_timeout_ms = 120000;
    c->queue = vrt_queue_new();
    c->pool = vrt_pool_new(c->opts.workers);
    c->events = vrt_recorder_start(kube);
    vrt_own_init(c);
    pthread_mutex_init(&c->place_lock, NULL);
    c->placed = vrt_hmap_new(free);
    static const vrt_informer_fn fns[INF_COUNT] = {
        [INF_VM] = on_vm,         [INF_PROVIDER] = on_provider,
        [INF_CLASS] = on_class,   [INF_IMAGE] = on_image,
        [INF_NETWORK] = on_network, [INF_VMSET] = on_vmset,
        [INF_SNAPSHOT] = on_snapshot, [INF_POLICY] = on_policy,
        [INF_CLONE] = on_clone, [INF_MIGRATION] = on_migration,
    };
    /* Dependencies first, so a VM's first reconcile finds them cached. */
    for (int i = INF_COUNT - 1; i >= 0; i--)
        c->inf[i] = vrt_informer_start(kube, inf_paths[i], fns[i], c, 1);
    c->n_workers = c->opts.workers;
    c->workers = calloc(c->n_workers, sizeof(pthread_t));
    if (!c->workers)
        abort();
    for (uint32_t i = 0; i < c->n_workers; i++)
        if (pthread_create(&c->workers[i], NULL, worker, c) != 0)
            abort();
    vrt_log_info("Controller started workers=%u server=\"%s\"", c->n_workers,
                 vrt_kube_server(kube));
    *out = c;
    return VRT_OK;
}

void vrt_controller_stop(vrt_controller *c)
{
    if (!c)
        return;
    c->stopping = 1;
    vrt_queue_shutdown(c->queue);
    for (uint32_t i = 0; i < c->n_workers; i++)
        pthread_join(c->workers[i], NULL);
    vrt_recorder_stop(c->events);
    /* Ask all informers to stop at once (each takes up to a second to
     * notice), then join them with the VM informer last: the others'
     * callbacks walk its cache. */
    for (int i = 0; i < INF_COUNT; i++)
        vrt_informer_request_stop(c->inf[i]);
    for (int i = INF_COUNT - 1; i >= 0; i--)
        vrt_informer_stop(c->inf[i]);
    vrt_pool_free(c->pool);
    vrt_queue_free(c->queue);
    vrt_own_fini(c);
    vrt_hmap_free(c->placed);
    pthread_mutex_destroy(&c->place_lock);
    free(c->workers);
    free(c);
}
