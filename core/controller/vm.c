/*
 * The VirtualMachine reconciler: finalizer, dependencies, create (once,
 * idempotent by name), task polling, power, reconfigure on drift, status
 * that tells the truth, and delete behind the finalizer.
 */
#include "controller_internal.h"

#include <vrt/json.h>
#include <vrt/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

VRT_LOG_SOURCE("controller.vm");

#define REQUEUE_FAST_MS 100 /* after an action: look again soon */
#define REQUEUE_TASK_MS 2000
#define REQUEUE_IP_MS 5000
#define REQUEUE_DEPS_MS 30000
#define KIND "VirtualMachine"

typedef struct vm_ctx {
    vrt_controller *c;
    const char *ns, *name;
    char path[600];
    cJSON *vm;           /* cached object, owned */
    cJSON *status;       /* the status we are building, owned */
    cJSON *old_status;   /* as read, owned, for change detection */
    double gen;
    vrt_lease *lease;
    char pkey[400];      /* "ns/name" of the Provider, once resolved */
    vrt_call_ctx cc;
} vm_ctx;

static const char *status_str(const cJSON *status, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(status, key));
}


static void set_phase(vm_ctx *v, const char *phase, const char *message)
{
    vrt_json_set_str(v->status, "phase", phase);
    vrt_json_set_str(v->status, "message", message ? message : "");
}

/* Writes status if it changed; returns -1 on failure (then back off). */
static int flush_status(vm_ctx *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(v->status, "observedGeneration");
    cJSON_AddNumberToObject(v->status, "observedGeneration", v->gen);
    if (v->old_status && cJSON_Compare(v->old_status, v->status, 1))
        return 0;
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_status_patch(v->c, v->path, v->old_status, v->status, &err) != VRT_OK) {
        vrt_log_warn("Status write failed vm=\"%s/%s\": %s", v->ns, v->name,
                     err.message);
        return -1;
    }
    /* What the server holds now, for the next write in this reconcile. */
    cJSON_Delete(v->old_status);
    v->old_status = cJSON_Duplicate(v->status, 1);
    return 0;
}

/* Ready=False with a reason and a phase; returns the requeue. */
static long fail(vm_ctx *v, const char *phase, const char *reason,
                 const char *message, long requeue)
{
    vrt_cond_set(v->status, "Ready", "False", reason, message, v->gen);
    set_phase(v, phase, message);
    vrt_event(v->c->events, v->vm, KIND, "Warning", reason, "Reconcile", "%s",
              message);
    vrt_log_info("VM not ready vm=\"%s/%s\" reason=%s: %s", v->ns, v->name,
                 reason, message);
    return flush_status(v) ? -1 : requeue;
}

static int has_finalizer(const cJSON *vm)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(cJSON_GetObjectItem(vm, "metadata"),
                                               "finalizers")) {
        if (cJSON_IsString(it) && strcmp(it->valuestring, VM_FINALIZER) == 0)
            return 1;
    }
    return 0;
}

static int patch_finalizer(vm_ctx *v, int add)
{
    return vrt_finalizer_set(v->c, v->path, v->vm, VM_FINALIZER, add, v->status);
}

/* Looks up an object referenced by spec.<ref>.name in informer `which`. */
static cJSON *resolve_ref(vm_ctx *v, int which, const char *ref)
{
    const cJSON *r = cJSON_GetObjectItem(cJSON_GetObjectItem(v->vm, "spec"), ref);
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(r, "name"));
    const char *ns = cJSON_GetStringValue(cJSON_GetObjectItem(r, "namespace"));
    if (!name)
        return NULL;
    if (which == INF_PROVIDER)
        snprintf(v->pkey, sizeof(v->pkey), "%s/%s", ns && *ns ? ns : v->ns, name);
    return vrt_informer_get(v->c->inf[which], ns && *ns ? ns : v->ns, name);
}

static const char *ref_name(vm_ctx *v, const char *ref)
{
    const cJSON *r = cJSON_GetObjectItem(cJSON_GetObjectItem(v->vm, "spec"), ref);
    const char *n = cJSON_GetStringValue(cJSON_GetObjectItem(r, "name"));
    return n ? n : "";
}

static long provider_error(vm_ctx *v, const char *what, const vrt_error *err)
{
    vrt_pool_report(v->c->pool, v->pkey[0] ? v->pkey : NULL, err);
    char msg[400];
    snprintf(msg, sizeof(msg), "%s failed: %s", what, err->message);
    if (vrt_error_is_retryable(err))
        return fail(v, status_str(v->status, "phase") ? status_str(v->status, "phase")
                                                      : "Pending",
                    "ProviderError", msg, -1);
    return fail(v, "Failed", "ProviderError", msg, REQUEUE_DEPS_MS);
}

/* The finalizer's work: destroy on the hypervisor, then let go. */
static long reconcile_delete(vm_ctx *v)
{
    if (!has_finalizer(v->vm))
        return 0;
    const cJSON *ann = cJSON_GetObjectItem(cJSON_GetObjectItem(v->vm, "metadata"),
                                           "annotations");
    const char *force = cJSON_GetStringValue(
        cJSON_GetObjectItem(ann, FORCE_DELETE_ANNOTATION));
    int forced = force && strcmp(force, "true") == 0;
    const char *id = status_str(v->status, "id");
    set_phase(v, "Deleting", "Deleting the VM on the provider.");
    if (id && *id) {
        cJSON *prov = resolve_ref(v, INF_PROVIDER, "providerRef");
        vrt_error err = VRT_ERROR_INIT;
        int rc = prov ? vrt_pool_acquire(&v->lease, v->c->pool, v->c, prov, &err)
                      : vrt_error_set(&err, VRT_E_NOTFOUND,
                                      "Provider \"%s\" not found.",
                                      ref_name(v, "providerRef"));
        cJSON_Delete(prov);
        if (rc == VRT_E_RATELIMIT)
            return err.retry_after_ms; /* the Provider is busy: come back */
        if (rc == VRT_OK) {
            vrt_task_ref task;
            rc = vrt_p_destroy(&task, vrt_lease_conn(v->lease), &v->cc, id, &err);
            vrt_pool_report(v->c->pool, vrt_lease_key(v->lease),
                            rc == VRT_OK ? NULL : &err);
            if (rc == VRT_OK && task.id[0]) {
                vrt_json_set_str(v->status, "lastTaskRef", task.id);
                flush_status(v);
                return REQUEUE_TASK_MS; /* finish once the task is gone */
            }
        }
        if (rc != VRT_OK && rc != VRT_E_NOTFOUND && !forced) {
            vrt_cond_set(v->status, "Deleting", "False", "ProviderError",
                         err.message, v->gen);
            vrt_event(v->c->events, v->vm, KIND, "Warning", "DeleteFailed",
                      "Delete", "The provider did not delete the VM: %s",
                      err.message);
            flush_status(v);
            return -1; /* the finalizer stays until the provider agrees */
        }
        vrt_log_info("Deleted VM vm=\"%s/%s\" id=\"%s\"%s", v->ns, v->name, id,
                     rc == VRT_OK ? "" : " (forced or already gone)");
        vrt_event(v->c->events, v->vm, KIND, "Normal", "Deleted", "Delete",
                  "Deleted VM %s on the provider%s.", id,
                  rc == VRT_OK ? "" : " (forced, or it was already gone)");
    }
    return patch_finalizer(v, 0) ? -1 : 0;
}

static const char *power_name(int32_t p)
{
    return p == VRT_POWER_ON ? "On" : p == VRT_POWER_OFF ? "Off"
           : p == VRT_POWER_SUSPENDED ? "Suspended" : "Unknown";
}

/* Polls an outstanding task; returns > 0 to requeue, 0 when clear. */
static long poll_task(vm_ctx *v)
{
    const char *task = status_str(v->status, "lastTaskRef");
    if (!task || !*task)
        return 0;
    vrt_task_status ts;
    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_p_task_status(&ts, vrt_lease_conn(v->lease), &v->cc, task, &err);
    if (rc == VRT_OK && !ts.done) {
        vrt_cond_set(v->status, "Ready", "False", "TaskInProgress",
                     "Waiting for the provider's task.", v->gen);
        return flush_status(v) ? -1 : REQUEUE_TASK_MS;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(v->status, "lastTaskRef");
    if (rc == VRT_OK && ts.error.code != VRT_OK)
        return provider_error(v, "The provider's task", &ts.error);
    return 0; /* done, or forgotten by the provider: describe tells */
}

/* The VMNetworkAttachments of spec.networks, in order (null for an entry
 * without networkRef), or NULL with `msg` naming the missing one. */
static cJSON *resolve_networks(vm_ctx *v, char *msg, size_t size)
{
    cJSON *atts = cJSON_CreateArray();
    const cJSON *nic;
    int i = 0;
    cJSON_ArrayForEach(nic, cJSON_GetObjectItem(cJSON_GetObjectItem(v->vm, "spec"),
                                                "networks")) {
        const cJSON *ref = cJSON_GetObjectItem(nic, "networkRef");
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(ref, "name"));
        const char *ns = cJSON_GetStringValue(cJSON_GetObjectItem(ref, "namespace"));
        cJSON *att = name ? vrt_informer_get(v->c->inf[INF_NETWORK],
                                             ns && *ns ? ns : v->ns, name)
                          : cJSON_CreateNull();
        if (!att) {
            snprintf(msg, size,
                     "VMNetworkAttachment \"%s\" not found "
                     "(spec.networks[%d].networkRef).",
                     name, i);
            cJSON_Delete(atts);
            return NULL;
        }
        cJSON_AddItemToArray(atts, att);
        i++;
    }
    return atts;
}

/* The spec_json for the provider, networks resolved. */
static cJSON *build_spec(vm_ctx *v, const cJSON *cls, const cJSON *image,
                         const cJSON *prov, const cJSON *atts, char *why,
                         size_t size)
{
    cJSON *spec = vrt_vm_spec_json(v->vm, cls, image, prov, why, size);
    if (spec)
        vrt_spec_resolve_networks(spec, atts, cJSON_GetStringValue(
            cJSON_GetObjectItem(cJSON_GetObjectItem(prov, "spec"), "type")));
    return spec;
}

/* Creates the VM on the provider; the id is stored before anything else. */
static long create_vm(vm_ctx *v, const cJSON *cls, const cJSON *image,
                      const cJSON *prov, const cJSON *atts)
{
    char why[300];
    cJSON *spec = build_spec(v, cls, image, prov, atts, why, sizeof(why));
    if (!spec)
        return fail(v, "Failed", "ValidationError", why, 0);
    char host[VRT_NAME_MAX];
    if (vrt_place_vm(host, sizeof(host), v->c, vrt_lease_conn(v->lease), &v->cc,
                     v->vm, why, sizeof(why))) {
        cJSON_Delete(spec);
        return fail(v, "Pending", "PlacementFailed", why, REQUEUE_DEPS_MS);
    }
    if (host[0]) { /* the policy's choice wins over spec.placement.host */
        cJSON *pl = cJSON_GetObjectItem(spec, "placement");
        if (!cJSON_IsObject(pl)) {
            cJSON_DeleteItemFromObjectCaseSensitive(spec, "placement");
            pl = cJSON_AddObjectToObject(spec, "placement");
        }
        vrt_json_set_str(pl, "host", host);
    }
    vrt_cloudinit ci;
    if (vrt_cloudinit_build(&ci, v->c, v->vm, atts, why, sizeof(why))) {
        cJSON_Delete(spec);
        return fail(v, "Pending", "WaitingForDependencies", why, REQUEUE_DEPS_MS);
    }
    char *spec_text = cJSON_PrintUnformatted(spec);
    cJSON_Delete(spec);
    vrt_vm_spec vs = {
        .struct_size = sizeof(vs),
        .name = v->name,
        .spec_json = spec_text,
        .user_data = (const uint8_t *)ci.user_data,
        .user_data_len = ci.user_data ? strlen(ci.user_data) : 0,
        .meta_data = (const uint8_t *)ci.meta_data,
        .meta_data_len = ci.meta_data ? strlen(ci.meta_data) : 0,
        .network_data = (const uint8_t *)ci.network_config,
        .network_data_len = ci.network_config ? strlen(ci.network_config) : 0,
    };
    set_phase(v, "Provisioning", "Creating the VM on the provider.");
    vrt_cond_set(v->status, "Provisioning", "True", "Creating",
                 "Creating the VM on the provider.", v->gen);
    char id[VRT_ID_MAX];
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_p_create(id, &task, vrt_lease_conn(v->lease), &v->cc, &vs, &err);
    free(spec_text);
    vrt_cloudinit_clear(&ci);
    if (rc != VRT_OK)
        return provider_error(v, "Create", &err);
    vrt_json_set_str(v->status, "id", id);
    if (host[0]) {
        cJSON *pst = cJSON_GetObjectItem(v->status, "provider");
        if (!cJSON_IsObject(pst)) {
            cJSON_DeleteItemFromObjectCaseSensitive(v->status, "provider");
            pst = cJSON_AddObjectToObject(v->status, "provider");
        }
        vrt_json_set_str(pst, "host", host);
    }
    if (task.id[0])
        vrt_json_set_str(v->status, "lastTaskRef", task.id);
    vrt_log_info("Created VM vm=\"%s/%s\" id=\"%s\"", v->ns, v->name, id);
    vrt_event(v->c->events, v->vm, KIND, "Normal", "Created", "Create",
              "Created VM %s on Provider %s.", id, vrt_meta_str(prov, "name"));
    return flush_status(v) ? -1 : REQUEUE_FAST_MS;
}

/* Reverts to spec.snapshot.revertToRef once per (VMSnapshot, snapshot id):
 * status.provider.lastRevert remembers the last one done.  > 0 if it
 * acted or must wait. */
static long converge_revert(vm_ctx *v)
{
    const cJSON *ref = cJSON_GetObjectItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(v->vm, "spec"), "snapshot"), "revertToRef");
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(ref, "name"));
    if (!name)
        return 0;
    const char *rns = cJSON_GetStringValue(cJSON_GetObjectItem(ref, "namespace"));
    cJSON *snap = vrt_informer_get(v->c->inf[INF_SNAPSHOT], rns && *rns ? rns : v->ns,
                                   name);
    const cJSON *sst = cJSON_GetObjectItem(snap, "status");
    const char *sid = status_str(sst, "snapshotID");
    const char *ph = status_str(sst, "phase");
    char want[VRT_ID_MAX + 300], msg[400];
    long rc = 0;
    if (!sid || !ph || strcmp(ph, "Ready") != 0) {
        snprintf(msg, sizeof(msg), "VMSnapshot \"%s\" (spec.snapshot.revertToRef) "
                 "is not Ready.", name);
        rc = fail(v, status_str(v->status, "phase") ? status_str(v->status, "phase")
                                                    : "Pending",
                  "WaitingForDependencies", msg, 5000);
        goto done;
    }
    snprintf(want, sizeof(want), "%s/%s", name, sid);
    cJSON *prov = cJSON_GetObjectItem(v->status, "provider");
    if (!cJSON_IsObject(prov)) {
        cJSON_DeleteItemFromObjectCaseSensitive(v->status, "provider");
        prov = cJSON_AddObjectToObject(v->status, "provider");
    }
    const char *done = status_str(prov, "lastRevert");
    if (done && strcmp(done, want) == 0)
        goto done;
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_p_snapshot_revert(&task, vrt_lease_conn(v->lease), &v->cc,
                              status_str(v->status, "id"), sid, &err) != VRT_OK) {
        rc = provider_error(v, "Revert", &err);
        goto done;
    }
    vrt_json_set_str(prov, "lastRevert", want);
    if (task.id[0])
        vrt_json_set_str(v->status, "lastTaskRef", task.id);
    vrt_log_info("Reverted vm=\"%s/%s\" to vmsnapshot=\"%s\" id=\"%s\"", v->ns,
                 v->name, name, sid);
    vrt_event(v->c->events, v->vm, KIND, "Normal", "Reverted", "Revert",
              "Reverted to VMSnapshot %s (snapshot %s).", name, sid);
    rc = flush_status(v) ? -1 : REQUEUE_FAST_MS;
done:
    cJSON_Delete(snap);
    return rc;
}

/* Brings power in line with spec.powerState; > 0 if it acted. */
static long converge_power(vm_ctx *v, const vrt_vm_info *info)
{
    const cJSON *spec = cJSON_GetObjectItem(v->vm, "spec");
    const char *want = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "powerState"));
    if (!want)
        want = "On";
    int32_t op = 0;
    if (strcmp(want, "On") == 0 && info->power_state != VRT_POWER_ON)
        op = VRT_POWER_OP_ON;
    else if (strcmp(want, "Off") == 0 && info->power_state == VRT_POWER_ON)
        op = VRT_POWER_OP_OFF;
    else if (strcmp(want, "OffGraceful") == 0 &&
             info->power_state == VRT_POWER_ON)
        op = VRT_POWER_OP_SHUTDOWN_GRACEFUL;
    if (!op)
        return 0;
    long timeout = vrt_duration_s(cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(spec, "lifecycle"), "gracefulShutdownTimeout")));
    if (timeout < 0)
        timeout = 60;
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_p_power(&task, vrt_lease_conn(v->lease), &v->cc,
                    status_str(v->status, "id"), op, (uint32_t)timeout,
                    &err) != VRT_OK)
        return provider_error(v, "Power", &err);
    vrt_log_info("Power %s vm=\"%s/%s\"", want, v->ns, v->name);
    vrt_event(v->c->events, v->vm, KIND, "Normal",
              op == VRT_POWER_OP_ON ? "PoweredOn"
              : op == VRT_POWER_OP_OFF ? "PoweredOff" : "ShuttingDown",
              "Power", "spec.powerState is %s; the VM was %s.", want,
              power_name(info->power_state));
    if (task.id[0])
        vrt_json_set_str(v->status, "lastTaskRef", task.id);
    return flush_status(v) ? -1 : REQUEUE_FAST_MS;
}

/* Reconfigures when CPU or memory drifted from the class; > 0 if it acted. */
static long converge_resources(vm_ctx *v, const vrt_vm_info *info,
                               const cJSON *cls, const cJSON *image,
                               const cJSON *prov, const cJSON *atts)
{
    char why[300];
    cJSON *spec = build_spec(v, cls, image, prov, atts, why, sizeof(why));
    if (!spec)
        return fail(v, "Failed", "ValidationError", why, 0);
    double cpu = cJSON_GetNumberValue(cJSON_GetObjectItem(spec, "cpu"));
    double mem = cJSON_GetNumberValue(cJSON_GetObjectItem(spec, "memoryMiB"));
    int drift = (info->cpus && info->cpus != (uint32_t)cpu) ||
                (info->memory_mib && info->memory_mib != (uint64_t)mem);
    long rc = 0;
    if (drift) {
        char *text = cJSON_PrintUnformatted(spec);
        vrt_vm_spec vs = {.struct_size = sizeof(vs), .name = v->name,
                          .spec_json = text};
        vrt_task_ref task;
        vrt_error err = VRT_ERROR_INIT;
        set_phase(v, "Reconfiguring", "Applying CPU and memory changes.");
        if (vrt_p_reconfigure(&task, vrt_lease_conn(v->lease), &v->cc,
                              status_str(v->status, "id"), &vs, &err) != VRT_OK) {
            rc = err.code == VRT_E_NOTSUPP ? 0 : provider_error(v, "Reconfigure", &err);
        } else {
            vrt_log_info("Reconfigured vm=\"%s/%s\" cpu=%g memoryMiB=%g", v->ns,
                         v->name, cpu, mem);
            vrt_event(v->c->events, v->vm, KIND, "Normal", "Reconfigured",
                      "Reconfigure", "CPU %u -> %g, memory %llu -> %g MiB.",
                      info->cpus, cpu, (unsigned long long)info->memory_mib, mem);
            if (task.id[0])
                vrt_json_set_str(v->status, "lastTaskRef", task.id);
            rc = flush_status(v) ? -1 : REQUEUE_FAST_MS;
        }
        free(text);
    }
    cJSON_Delete(spec);
    return rc;
}

static void report(vm_ctx *v, const vrt_vm_info *info)
{
    vrt_json_set_str(v->status, "powerState", power_name(info->power_state));
    cJSON_DeleteItemFromObjectCaseSensitive(v->status, "ips");
    cJSON *ips = cJSON_AddArrayToObject(v->status, "ips");
    for (uint32_t i = 0; i < info->ip_count; i++)
        cJSON_AddItemToArray(ips, cJSON_CreateString(info->ips[i]));
    vrt_json_set_str(v->status, "consoleURL", info->console_url[0] ? info->console_url : NULL);
    cJSON_DeleteItemFromObjectCaseSensitive(v->status, "currentResources");
    if (info->cpus || info->memory_mib) {
        cJSON *cur = cJSON_AddObjectToObject(v->status, "currentResources");
        cJSON_AddNumberToObject(cur, "cpu", info->cpus);
        cJSON_AddNumberToObject(cur, "memoryMiB", (double)info->memory_mib);
    }
    int on = info->power_state == VRT_POWER_ON;
    set_phase(v, on ? "Running" : "Stopped", on ? "The VM is running." : "The VM is stopped.");
    vrt_cond_set(v->status, "Provisioning", "False", "ReconcileSuccess",
                 "The VM exists on the provider.", v->gen);
    vrt_cond_set(v->status, "Ready", "True", "ReconcileSuccess",
                 on ? "The VM is running as specified." : "The VM is stopped as specified.",
                 v->gen);
}

static long reconcile_live(vm_ctx *v)
{
    cJSON *prov = resolve_ref(v, INF_PROVIDER, "providerRef");
    cJSON *cls = resolve_ref(v, INF_CLASS, "classRef");
    cJSON *image = resolve_ref(v, INF_IMAGE, "imageRef");
    const cJSON *spec = cJSON_GetObjectItem(v->vm, "spec");
    char msg[300] = "";
    long rc;
    cJSON *atts = NULL;
    if (!prov)
        snprintf(msg, sizeof(msg), "Provider \"%s\" not found.", ref_name(v, "providerRef"));
    else if (!cls)
        snprintf(msg, sizeof(msg), "VMClass \"%s\" not found.", ref_name(v, "classRef"));
    else if (!image && cJSON_HasObjectItem(spec, "imageRef"))
        snprintf(msg, sizeof(msg), "VMImage \"%s\" not found.", ref_name(v, "imageRef"));
    else if (cJSON_HasObjectItem(spec, "imageRef") &&
             cJSON_HasObjectItem(spec, "importedDisk"))
        snprintf(msg, sizeof(msg),
                 "spec.imageRef and spec.importedDisk are exclusive; set one.");
    else
        atts = resolve_networks(v, msg, sizeof(msg));
    if (msg[0]) {
        rc = fail(v, "Pending", "WaitingForDependencies", msg, REQUEUE_DEPS_MS);
        goto cleanup;
    }
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_pool_acquire(&v->lease, v->c->pool, v->c, prov, &err) != VRT_OK) {
        if (err.code == VRT_E_RATELIMIT) /* busy: no status change */
            rc = err.retry_after_ms;
        else if (err.flags & VRT_ERR_CIRCUIT_OPEN)
            rc = fail(v, status_str(v->status, "phase") ? status_str(v->status, "phase")
                                                        : "Pending",
                      "ProviderUnavailable", err.message, err.retry_after_ms);
        else
            rc = provider_error(v, "Connecting to the provider", &err);
        goto cleanup;
    }
    const char *id = status_str(v->status, "id");
    const char *adopted = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(v->vm, "metadata"), "labels"), "virtrigaud.io/adopted"));
    if ((!id || !*id) && adopted && strcmp(adopted, "true") == 0) {
        /* A clone or an adopted VM: its id comes from whoever made it;
         * creating one here would make a second VM. */
        rc = fail(v, "Pending", "WaitingForDependencies",
                  "This VM was cloned or adopted (label virtrigaud.io/adopted); "
                  "it waits for its provider id.", 2000);
        goto cleanup;
    }
    if (!id || !*id) {
        rc = create_vm(v, cls, image, prov, atts);
        /* The id is written.  A create without a task goes on to power
         * and status in this pass instead of a round trip through the
         * queue. */
        if (rc != REQUEUE_FAST_MS || status_str(v->status, "lastTaskRef"))
            goto cleanup;
        id = status_str(v->status, "id");
    }
    if ((rc = poll_task(v)) != 0)
        goto cleanup;
    vrt_vm_info info;
    /* Describe, act, and describe again after an action that finished at
     * once (no task), so one pass ends with a true status. */
    for (int pass = 0;; pass++) {
        if (vrt_p_describe(&info, vrt_lease_conn(v->lease), &v->cc, id, &err) != VRT_OK) {
            rc = provider_error(v, "Describe", &err);
            goto cleanup;
        }
        vrt_pool_report(v->c->pool, v->pkey, NULL);
        vrt_vm_info_clear(&info); /* raw details are not kept in status */
        if (!info.exists) {
            /* Declarative: a VM deleted behind our back is created again. */
            vrt_log_warn("VM vanished from the provider vm=\"%s/%s\" id=\"%s\"; "
                         "creating it again.",
                         v->ns, v->name, id);
            cJSON_DeleteItemFromObjectCaseSensitive(v->status, "id");
            rc = fail(v, "Pending", "ProviderError",
                      "The VM disappeared from the provider; recreating it.",
                      REQUEUE_FAST_MS);
            goto cleanup;
        }
        int again = pass < 3;
        if ((rc = converge_revert(v)) != 0) {
            if (rc == REQUEUE_FAST_MS && again && !status_str(v->status, "lastTaskRef"))
                continue;
            goto cleanup;
        }
        if ((rc = converge_power(v, &info)) != 0) {
            if (rc == REQUEUE_FAST_MS && again && !status_str(v->status, "lastTaskRef"))
                continue;
            goto cleanup;
        }
        if ((rc = converge_resources(v, &info, cls, image, prov, atts)) != 0) {
            if (rc == REQUEUE_FAST_MS && again &&
                !status_str(v->status, "lastTaskRef"))
                continue;
            goto cleanup;
        }
        break;
    }
    report(v, &info);
    rc = flush_status(v) ? -1
         : info.power_state == VRT_POWER_ON && info.ip_count == 0 ? REQUEUE_IP_MS
                                                                  : (long)v->c->opts.resync_ms;
cleanup:
    cJSON_Delete(atts);
    cJSON_Delete(prov);
    cJSON_Delete(cls);
    cJSON_Delete(image);
    return rc;
}

long vrt_reconcile_vm(vrt_controller *c, const char *ns, const char *name)
{
    vm_ctx v = {.c = c, .ns = ns, .name = name};
    v.vm = vrt_informer_get(c->inf[INF_VM], ns, name);
    if (!v.vm)
        return 0; /* gone: nothing to do */
    vrt_object_path(v.path, sizeof(v.path), "virtualmachines", ns, name);
    vrt_callctx_init(&v.cc, c->opts.call_timeout_ms);
    v.gen = vrt_meta_num(v.vm, "generation");
    const cJSON *st = cJSON_GetObjectItem(v.vm, "status");
    v.old_status = st ? cJSON_Duplicate(st, 1) : NULL;
    v.status = st ? cJSON_Duplicate(st, 1) : cJSON_CreateObject();

    long rc;
    if (vrt_meta_str(v.vm, "deletionTimestamp"))
        rc = reconcile_delete(&v);
    else if (!has_finalizer(v.vm) && patch_finalizer(&v, 1))
        rc = -1;
    else
        rc = reconcile_live(&v); /* the finalizer is on: go on at once */

    vrt_pool_release(c->pool, v.lease);
    cJSON_Delete(v.vm);
    cJSON_Delete(v.status);
    cJSON_Delete(v.old_status);
    return rc;
}
