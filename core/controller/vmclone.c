/*
 * The VMClone reconciler: makes the target VirtualMachine from a source
 * VM, a VMSnapshot of one, or a VMImage, binding it to the clone without
 * ever creating the VM twice.
 *
 * From a VM or a snapshot, the provider clones first and its id is
 * written to status.targetVMID before anything else; then the target
 * VirtualMachine object is created with the label virtrigaud.io/adopted
 * (so its own reconciler waits for an id instead of creating a VM) and
 * virtrigaud.io/clone naming this clone, and its status.id is set.  A
 * crash at any point resumes from what status says: the provider's clone
 * is idempotent by target name, and an existing target object that is
 * ours is reused.  From a VMImage, the target is simply a VirtualMachine
 * on that image.  A target name taken by someone else's VM is an error,
 * not an adoption.
 */
#include "controller_internal.h"

#include <vrt/clock.h>
#include <vrt/json.h>
#include <vrt/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

VRT_LOG_SOURCE("controller.clone");

#define L_CLONE "virtrigaud.io/clone"
#define L_ADOPTED "virtrigaud.io/adopted"
#define KIND "VMClone"

typedef struct clone_ctx {
    vrt_controller *c;
    const char *ns, *name;
    char path[600];
    cJSON *cl, *status, *old;
    double gen;
    vrt_lease *lease;
    vrt_call_ctx cc;
} clone_ctx;

static const char *sget(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

static long flush(clone_ctx *k, long requeue)
{
    cJSON_DeleteItemFromObjectCaseSensitive(k->status, "observedGeneration");
    cJSON_AddNumberToObject(k->status, "observedGeneration", k->gen);
    if (k->old && cJSON_Compare(k->old, k->status, 1))
        return requeue;
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_status_patch(k->c, k->path, k->old, k->status, &err) != VRT_OK) {
        vrt_log_warn("Status write failed vmclone=\"%s/%s\": %s", k->ns, k->name,
                     err.message);
        return -1;
    }
    cJSON_Delete(k->old);
    k->old = cJSON_Duplicate(k->status, 1);
    return requeue;
}

static long phase(clone_ctx *k, const char *ph, const char *reason,
                  const char *msg, long requeue)
{
    vrt_json_set_str(k->status, "phase", ph);
    vrt_json_set_str(k->status, "message", msg);
    int ok = strcmp(ph, "Ready") == 0;
    vrt_cond_set(k->status, "Ready", ok ? "True" : "False", reason, msg, k->gen);
    if (strcmp(ph, "Failed") == 0)
        vrt_event(k->c->events, k->cl, KIND, "Warning", reason, "Clone", "%s", msg);
    return flush(k, requeue);
}

/* The target VirtualMachine object, made once. */
static int create_target(clone_ctx *k, const char *tns, const char *tname,
                         const cJSON *src_vm, const cJSON *image_ref,
                         int adopted)
{
    const cJSON *spec = cJSON_GetObjectItem(k->cl, "spec");
    const cJSON *tgt = cJSON_GetObjectItem(spec, "target");
    const cJSON *sspec = cJSON_GetObjectItem(src_vm, "spec");
    cJSON *vm = cJSON_CreateObject();
    cJSON_AddStringToObject(vm, "apiVersion", "infra.virtrigaud.io/v1beta1");
    cJSON_AddStringToObject(vm, "kind", "VirtualMachine");
    cJSON *md = cJSON_AddObjectToObject(vm, "metadata");
    cJSON_AddStringToObject(md, "name", tname);
    cJSON_AddStringToObject(md, "namespace", tns);
    cJSON *labels = cJSON_Duplicate(cJSON_GetObjectItem(tgt, "labels"), 1);
    if (!cJSON_IsObject(labels)) {
        cJSON_Delete(labels);
        labels = cJSON_CreateObject();
    }
    vrt_json_set_str(labels, L_CLONE, k->name);
    if (adopted)
        vrt_json_set_str(labels, L_ADOPTED, "true");
    cJSON_AddItemToObject(md, "labels", labels);
    if (cJSON_IsObject(cJSON_GetObjectItem(tgt, "annotations")))
        cJSON_AddItemToObject(md, "annotations",
                              cJSON_Duplicate(cJSON_GetObjectItem(tgt, "annotations"), 1));
    cJSON *vs = cJSON_AddObjectToObject(vm, "spec");
    static const char *const from_target_or_source[] = {"providerRef", "classRef"};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItem(tgt, from_target_or_source[i]);
        if (!v)
            v = cJSON_GetObjectItem(sspec, from_target_or_source[i]);
        if (v)
            cJSON_AddItemToObject(vs, from_target_or_source[i], cJSON_Duplicate(v, 1));
    }
    if (image_ref)
        cJSON_AddItemToObject(vs, "imageRef", cJSON_Duplicate(image_ref, 1));
    static const char *const from_target[] = {"placementRef", "networks", "disks"};
    for (int i = 0; i < 3; i++)
        if (cJSON_GetObjectItem(tgt, from_target[i]))
            cJSON_AddItemToObject(vs, from_target[i],
                                  cJSON_Duplicate(cJSON_GetObjectItem(tgt, from_target[i]), 1));
    int on = cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(spec, "options"), "powerOn"));
    cJSON_AddStringToObject(vs, "powerState", on ? "On" : "Off");
    char path[400];
    snprintf(path, sizeof(path), GROUP_PATH "/namespaces/%s/virtualmachines", tns);
    cJSON *resp = NULL;
    long code = 0;
    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_kube_request(&resp, &code, k->c->kube, "POST", path, NULL, vm, &err);
    cJSON_Delete(vm);
    cJSON_Delete(resp);
    if (rc != VRT_OK || (code >= 300 && code != 409)) {
        vrt_log_warn("Creating the clone's VM \"%s/%s\" failed (HTTP %ld): %s",
                     tns, tname, code, err.message);
        return -1;
    }
    return 0;
}

/* Sets the target VM's status.id (once). */
static int bind_id(clone_ctx *k, const char *tns, const char *tname,
                   const char *id)
{
    char path[600];
    vrt_object_path(path, sizeof(path), "virtualmachines", tns, tname);
    cJSON *st = cJSON_CreateObject();
    cJSON_AddStringToObject(st, "id", id);
    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_status_patch(k->c, path, NULL, st, &err);
    cJSON_Delete(st);
    return rc == VRT_OK ? 0 : -1;
}

static long reconcile(clone_ctx *k)
{
    const cJSON *spec = cJSON_GetObjectItem(k->cl, "spec");
    const cJSON *src = cJSON_GetObjectItem(spec, "source");
    const cJSON *tgt = cJSON_GetObjectItem(spec, "target");
    const char *ph = sget(k->status, "phase");
    if (ph && (strcmp(ph, "Ready") == 0 || strcmp(ph, "Failed") == 0))
        return 0; /* done; a clone is made once */
    const char *tname = sget(tgt, "name");
    const char *tns = sget(tgt, "namespace");
    tns = tns && *tns ? tns : k->ns;
    if (!tname)
        return phase(k, "Failed", "InvalidSpec", "spec.target.name is required.", 0);

    /* A target name already used by a VM that is not this clone's. */
    cJSON *existing = vrt_informer_get(k->c->inf[INF_VM], tns, tname);
    const char *owner = existing ? cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(existing, "metadata"), "labels"), L_CLONE))
                                 : NULL;
    int ours = existing && owner && strcmp(owner, k->name) == 0;
    if (existing && !ours) {
        cJSON_Delete(existing);
        char msg[400];
        snprintf(msg, sizeof(msg), "spec.target.name: VirtualMachine \"%s/%s\" "
                 "already exists and was not made by this clone.", tns, tname);
        return phase(k, "Failed", "TargetExists", msg, 0);
    }

    long rc = 0;
    cJSON *src_vm = NULL, *snap = NULL;
    const char *snap_id = NULL;
    const cJSON *image_ref = cJSON_GetObjectItem(src, "imageRef");
    const char *vm_name = sget(cJSON_GetObjectItem(src, "vmRef"), "name");
    const char *snap_name = sget(cJSON_GetObjectItem(src, "snapshotRef"), "name");
    if (cJSON_GetObjectItem(src, "templateRef") && !image_ref) {
        rc = phase(k, "Failed", "Unsupported",
                   "spec.source.templateRef is not supported yet; use imageRef, "
                   "vmRef or snapshotRef.", 0);
        goto done;
    }
    if (image_ref && !vm_name && !snap_name) {
        /* From an image: an ordinary VirtualMachine on it. */
        if (!ours && create_target(k, tns, tname, NULL, image_ref, 0)) {
            rc = -1;
            goto done;
        }
        if (!cJSON_GetObjectItem(tgt, "providerRef") || !cJSON_GetObjectItem(tgt, "classRef")) {
            rc = phase(k, "Failed", "InvalidSpec", "A clone from spec.source.imageRef "
                       "needs spec.target.providerRef and spec.target.classRef.", 0);
            goto done;
        }
        goto bound;
    }
    if (snap_name) {
        snap = vrt_informer_get(k->c->inf[INF_SNAPSHOT], k->ns, snap_name);
        const cJSON *sst = cJSON_GetObjectItem(snap, "status");
        snap_id = sget(sst, "snapshotID");
        if (!snap || !snap_id || !sget(sst, "phase") || strcmp(sget(sst, "phase"), "Ready")) {
            char msg[300];
            snprintf(msg, sizeof(msg), "VMSnapshot \"%s\" (spec.source.snapshotRef) is "
                     "not Ready.", snap_name);
            rc = phase(k, "Pending", "WaitingForDependencies", msg, 5000);
            goto done;
        }
        vm_name = sget(cJSON_GetObjectItem(cJSON_GetObjectItem(snap, "spec"), "vmRef"), "name");
    }
    src_vm = vm_name ? vrt_informer_get(k->c->inf[INF_VM], k->ns, vm_name) : NULL;
    const char *src_id = sget(cJSON_GetObjectItem(src_vm, "status"), "id");
    if (!src_vm || !src_id || !*src_id) {
        char msg[300];
        snprintf(msg, sizeof(msg), "The source VirtualMachine \"%s\" does not exist "
                 "or has no provider id yet.", vm_name ? vm_name : "");
        rc = phase(k, "Pending", "WaitingForDependencies", msg, 5000);
        goto done;
    }
    const char *tvid = sget(k->status, "targetVMID");
    if (!tvid || !*tvid) {
        const cJSON *pref = cJSON_GetObjectItem(cJSON_GetObjectItem(src_vm, "spec"), "providerRef");
        const char *pns = sget(pref, "namespace");
        cJSON *prov = vrt_informer_get(k->c->inf[INF_PROVIDER], pns && *pns ? pns : k->ns,
                                       sget(pref, "name") ? sget(pref, "name") : "");
        vrt_error err = VRT_ERROR_INIT;
        int arc = prov ? vrt_pool_acquire(&k->lease, k->c->pool, k->c, prov, &err)
                       : vrt_error_set(&err, VRT_E_NOTFOUND, "The source VM's Provider does not exist.");
        cJSON_Delete(prov);
        if (arc == VRT_E_RATELIMIT) {
            rc = err.retry_after_ms;
            goto done;
        }
        if (arc != VRT_OK) {
            rc = phase(k, "Pending", "ProviderUnavailable", err.message, 5000);
            goto done;
        }
        const char *type = sget(cJSON_GetObjectItem(spec, "options"), "type");
        int linked = type && strcmp(type, "LinkedClone") == 0;
        vrt_caps caps;
        if (vrt_p_capabilities(&caps, vrt_lease_conn(k->lease), &k->cc, &err) != VRT_OK) {
            rc = phase(k, "Pending", "ProviderError", err.message, -1);
            goto done;
        }
        if (!(caps.caps & VRT_CAP_CLONE) || (linked && !(caps.caps & VRT_CAP_LINKED_CLONES))) {
            rc = phase(k, "Failed", "Unsupported",
                       linked ? "The source VM's provider cannot make linked clones "
                                "(spec.options.type LinkedClone)."
                              : "The source VM's provider cannot clone VMs.", 0);
            goto done;
        }
        vrt_clone_spec cs = {
            .struct_size = sizeof(cs),
            .linked = linked,
            .source_vm_id = src_id,
            .snapshot_id = snap_id,
            .target_name = tname,
            .spec_json = "{}",
        };
        char id[VRT_ID_MAX];
        vrt_task_ref task;
        char now[32];
        vrt_rfc3339_now(now);
        vrt_json_set_str(k->status, "startTime", now);
        if (vrt_p_clone(id, &task, vrt_lease_conn(k->lease), &k->cc, &cs, &err) != VRT_OK) {
            int retry = vrt_error_is_retryable(&err);
            char msg[400];
            snprintf(msg, sizeof(msg), "Clone failed: %s", err.message);
            rc = phase(k, retry ? "Pending" : "Failed", "ProviderError", msg,
                       retry ? -1 : 0);
            goto done;
        }
        /* The id first: a crash after this resumes instead of cloning again. */
        vrt_json_set_str(k->status, "targetVMID", id);
        vrt_json_set_str(k->status, "actualCloneType", linked ? "LinkedClone" : "FullClone");
        vrt_json_set_str(k->status, "taskRef", task.id[0] ? task.id : NULL);
        vrt_log_info("Cloned vmclone=\"%s/%s\" source=\"%s\" target_id=\"%s\"", k->ns,
                     k->name, vm_name, id);
        if ((rc = phase(k, "Cloning", "Cloning", "The provider is cloning the VM.",
                        task.id[0] ? 1000 : 0)) != 0)
            goto done;
        tvid = sget(k->status, "targetVMID");
    }
    if (!ours && create_target(k, tns, tname, src_vm, NULL, 1)) {
        rc = -1;
        goto done;
    }
    if (bind_id(k, tns, tname, tvid)) {
        rc = -1;
        goto done;
    }
bound:
    {
        cJSON *ref = cJSON_CreateObject();
        cJSON_AddStringToObject(ref, "name", tname);
        cJSON_DeleteItemFromObjectCaseSensitive(k->status, "targetRef");
        cJSON_AddItemToObject(k->status, "targetRef", ref);
        char now[32];
        vrt_rfc3339_now(now);
        vrt_json_set_str(k->status, "completionTime", now);
        vrt_event(k->c->events, k->cl, KIND, "Normal", "Cloned", "Clone",
                  "VirtualMachine %s/%s is the clone.", tns, tname);
        rc = phase(k, "Ready", "Cloned", "The target VirtualMachine exists.", 0);
    }
done:
    cJSON_Delete(existing);
    cJSON_Delete(src_vm);
    cJSON_Delete(snap);
    return rc;
}

long vrt_reconcile_clone(vrt_controller *c, const char *ns, const char *name)
{
    clone_ctx k = {.c = c, .ns = ns, .name = name};
    k.cl = vrt_informer_get(c->inf[INF_CLONE], ns, name);
    if (!k.cl)
        return 0;
    vrt_object_path(k.path, sizeof(k.path), "vmclones", ns, name);
    if (vrt_own_is_stale(c, k.path, k.cl)) { /* never clone twice */
        cJSON_Delete(k.cl);
        return 100;
    }
    vrt_callctx_init(&k.cc, c->opts.call_timeout_ms);
    k.gen = vrt_meta_num(k.cl, "generation");
    const cJSON *st = cJSON_GetObjectItem(k.cl, "status");
    k.old = st ? cJSON_Duplicate(st, 1) : NULL;
    k.status = st ? cJSON_Duplicate(st, 1) : cJSON_CreateObject();
    long rc = vrt_meta_str(k.cl, "deletionTimestamp") ? 0 : reconcile(&k);
    vrt_pool_release(c->pool, k.lease);
    cJSON_Delete(k.cl);
    cJSON_Delete(k.status);
    cJSON_Delete(k.old);
    return rc;
}
