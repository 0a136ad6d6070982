/*
 * Safe calls into a plugin.  Every provider method is reached through one
 * of these wrappers, so that the rest of the core never checks for NULL
 * methods, never trusts a plugin's error record, and never reads a string a
 * plugin forgot to terminate.
 */
#include "call_internal.h"

#include <vrt/log.h>
#include <vrt/metrics.h>

#include <stdlib.h>
#include <string.h>

VRT_LOG_SOURCE("core.call");

int vrt_call_notsupp(const vrt_pconn *c, const char *method, vrt_error *err)
{
    return vrt_error_set(err, VRT_E_NOTSUPP,
                         "Provider \"%s\" does not support \"%s\".",
                         c->plugin->name, method);
}

void vrt_call_lock(vrt_pconn *c)
{
    if (c->serialize)
        pthread_mutex_lock(&c->lock);
}

void vrt_call_unlock(vrt_pconn *c)
{
    if (c->serialize)
        pthread_mutex_unlock(&c->lock);
}

void vrt_call_make(vrt_call *call, const vrt_call_ctx *cc)
{
    memset(call, 0, sizeof(*call));
    call->struct_size = sizeof(*call);
    call->deadline_ms = cc ? cc->deadline_ms : 0;
    call->ctx = cc;
}

/*
 * Normalises what a plugin returned: a known negative code, the same code
 * in the record, a valid class, and a terminated, non-empty message.
 */
int vrt_call_settle(const vrt_pconn *c, const char *method, int rc,
                  vrt_error *err)
{
    /* Each call that reached the plugin passes here once: count it for
     * /metrics.  An out-of-range code counts as what it becomes below. */
    vrt_metrics_provider_call(c->plugin->name, method,
                              rc > 0 || rc < VRT_E_LAST_ ? VRT_E_INTERNAL : rc);
    if (rc == VRT_OK)
        return VRT_OK;
    TERMINATE(err->message);
    if (rc > 0 || rc < VRT_E_LAST_) {
        char orig[VRT_ERROR_MESSAGE_MAX];
        memcpy(orig, err->message, sizeof(orig));
        vrt_error_set(err, VRT_E_INTERNAL,
                      "Provider \"%s\" returned unknown code %d from \"%s\": "
                      "%.120s",
                      c->plugin->name, rc, method,
                      orig[0] ? orig : "(no message)");
        return VRT_E_INTERNAL;
    }
    err->code = rc;
    if (err->klass < VRT_CLASS_DEFAULT || err->klass > VRT_CLASS_USER)
        err->klass = VRT_CLASS_DEFAULT;
    if (!err->message[0])
        snprintf(err->message, sizeof(err->message),
                 "Provider \"%s\" failed \"%s\" with %s and gave no message.",
                 c->plugin->name, method, vrt_error_code_name(rc));
    return rc;
}

/* A plugin that said OK but broke the contract. */
int vrt_call_lied(const vrt_pconn *c, const char *method, const char *what,
                vrt_error *err)
{
    vrt_log_error("Provider \"%s\" broke the contract in \"%s\": %s.",
                  c->plugin->name, method, what);
    return vrt_error_set(err, VRT_E_INTERNAL,
                         "Provider \"%s\" broke the contract in \"%s\": %s.",
                         c->plugin->name, method, what);
}

static void task_clear(vrt_task_ref *task)
{
    if (task)
        memset(task, 0, sizeof(*task));
}

static void task_settle(vrt_task_ref *task)
{
    if (task)
        TERMINATE(task->id);
}

int vrt_plugin_has_method(const vrt_plugin *p, const char *name)
{
#define HAS(m)                                                                 \
    if (strcmp(name, #m) == 0)                                                 \
        return METHOD(p, m) != NULL;
    HAS(open) HAS(close) HAS(validate) HAS(capabilities) HAS(create)
    HAS(destroy) HAS(power) HAS(describe) HAS(task_status) HAS(reconfigure)
    HAS(hardware_upgrade) HAS(snapshot_create) HAS(snapshot_delete)
    HAS(snapshot_revert) HAS(clone) HAS(image_prepare) HAS(list_vms)
    HAS(disk_info) HAS(disk_export_open) HAS(stream_read) HAS(stream_close)
    HAS(disk_import_open) HAS(stream_write) HAS(stream_finish)
    HAS(stream_abort) HAS(console) HAS(list_hosts)
#undef HAS
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Connections                                                             */
/* ---------------------------------------------------------------------- */

int vrt_pconn_open(vrt_pconn **out, const vrt_plugin *p, const char *label,
                   const char *endpoint, const char *config_json,
                   vrt_secret_fn secret, void *secret_opaque, vrt_error *err)
{
    *out = NULL;
    vrt_pconn *c = calloc(1, sizeof(*c));
    if (!c) {
        vrt_log_error("Out of memory opening a provider connection.");
        abort();
    }
    c->plugin = p;
    c->serialize = (p->vt->flags & VRT_PROVIDER_SERIALIZE) != 0;
    pthread_mutex_init(&c->lock, NULL);
    snprintf(c->hctx.log_source, sizeof(c->hctx.log_source), "provider.%s",
             p->name);
    snprintf(c->hctx.label, sizeof(c->hctx.label), "%s", label ? label : "");
    c->hctx.secret = secret;
    c->hctx.secret_opaque = secret_opaque;

    vrt_conn_params params = {
        .struct_size = sizeof(params),
        .endpoint = endpoint ? endpoint : "",
        .config_json = config_json ? config_json : "{}",
        .ctx = &c->hctx,
    };
    int rc = vrt_call_settle(c, "open", p->vt->open(&c->conn, &params, 0, err), err);
    if (rc == VRT_OK && !c->conn)
        rc = vrt_call_lied(c, "open", "it returned success without a connection",
                  err);
    if (rc != VRT_OK) {
        pthread_mutex_destroy(&c->lock);
        free(c);
        return rc;
    }
    *out = c;
    return VRT_OK;
}

void vrt_pconn_close(vrt_pconn *c)
{
    if (!c)
        return;
    c->plugin->vt->close(c->conn);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

const vrt_plugin *vrt_pconn_plugin(const vrt_pconn *c)
{
    return c->plugin;
}

vrt_conn *vrt_pconn_conn(vrt_pconn *c)
{
    return c->conn;
}

vrt_host_ctx *vrt_pconn_host_ctx(vrt_pconn *c)
{
    return &c->hctx;
}

/* ---------------------------------------------------------------------- */
/* Mandatory methods                                                       */
/* ---------------------------------------------------------------------- */

int vrt_p_validate(vrt_pconn *c, vrt_call_ctx *cc, vrt_error *err)
{
    vrt_call call;
    vrt_call_make(&call, cc);
    vrt_call_lock(c);
    int rc = c->plugin->vt->validate(c->conn, &call, 0, err);
    vrt_call_unlock(c);
    return vrt_call_settle(c, "validate", rc, err);
}

int vrt_p_capabilities(vrt_caps *out, vrt_pconn *c, vrt_call_ctx *cc,
                       vrt_error *err)
{
    vrt_call call;
    vrt_call_make(&call, cc);
    memset(out, 0, sizeof(*out));
    out->struct_size = sizeof(*out);
    vrt_call_lock(c);
    int rc = c->plugin->vt->capabilities(out, c->conn, &call, 0, err);
    vrt_call_unlock(c);
    out->struct_size = sizeof(*out);
    return vrt_call_settle(c, "capabilities", rc, err);
}

int vrt_p_create(char id[VRT_ID_MAX], vrt_task_ref *task, vrt_pconn *c,
                 vrt_call_ctx *cc, const vrt_vm_spec *spec, vrt_error *err)
{
    vrt_call call;
    vrt_call_make(&call, cc);
    memset(id, 0, VRT_ID_MAX);
    task_clear(task);
    vrt_call_lock(c);
    int rc = c->plugin->vt->create(id, task, c->conn, &call, spec, 0, err);
    vrt_call_unlock(c);
    id[VRT_ID_MAX - 1] = '\0';
    task_settle(task);
    rc = vrt_call_settle(c, "create", rc, err);
    if (rc == VRT_OK && !id[0])
        rc = vrt_call_lied(c, "create", "it returned success without a VM id", err);
    return rc;
}

int vrt_p_destroy(vrt_task_ref *task, vrt_pconn *c, vrt_call_ctx *cc,
                  const char *id, vrt_error *err)
{
    vrt_call call;
    vrt_call_make(&call, cc);
    task_clear(task);
    vrt_call_lock(c);
    int rc = c->plugin->vt->destroy(task, c->conn, &call, id, 0, err);
    vrt_call_unlock(c);
    task_settle(task);
    return vrt_call_settle(c, "destroy", rc, err);
}

int vrt_p_power(vrt_task_ref *task, vrt_pconn *c, vrt_call_ctx *cc,
                const char *id, int32_t op, uint32_t graceful_timeout_s,
                vrt_error *err)
{
    vrt_call call;
    vrt_call_make(&call, cc);
    task_clear(task);
    vrt_call_lock(c);
    int rc = c->plugin->vt->power(task, c->conn, &call, id, op,
                                  graceful_timeout_s, 0, err);
    vrt_call_unlock(c);
    task_settle(task);
    return vrt_call_settle(c, "power", rc, err);
}

static void vm_info_settle(vrt_vm_info *info)
{
    TERMINATE(info->id);
    TERMINATE(info->name);
    TERMINATE(info->console_url);
    if (info->ip_count > VRT_IPS_MAX)
        info->ip_count = VRT_IPS_MAX;
    for (uint32_t i = 0; i < VRT_IPS_MAX; i++)
        TERMINATE(info->ips[i]);
    if (info->power_state < VRT_POWER_UNKNOWN ||
        info->power_state > VRT_POWER_SUSPENDED)
        info->power_state = VRT_POWER_UNKNOWN;
}

int vrt_p_describe(vrt_vm_info *out, vrt_pconn *c, vrt_call_ctx *cc,
                   const char *id, vrt_error *err)
{
    vrt_call call;
    vrt_call_make(&call, cc);
    memset(out, 0, sizeof(*out));
    out->struct_size = sizeof(*out);
    vrt_call_lock(c);
    int rc = c->plugin->vt->describe(out, c->conn, &call, id, 0, err);
    vrt_call_unlock(c);
    out->struct_size = sizeof(*out);
    vm_info_settle(out);
    rc = vrt_call_settle(c, "describe", rc, err);
    if (rc != VRT_OK)
        vrt_vm_info_clear(out);
    return rc;
}

void vrt_vm_info_clear(vrt_vm_info *info)
{
    if (!info)
        return;
    vrt_host_api_get()->free(info->raw_json);
    info->raw_json = NULL;
}

int vrt_p_task_status(vrt_task_status *out, vrt_pconn *c, vrt_call_ctx *cc,
                      const char *task_id, vrt_error *err)
{
    vrt_call call;
    vrt_call_make(&call, cc);
    memset(out, 0, sizeof(*out));
    out->struct_size = sizeof(*out);
    vrt_call_lock(c);
    int rc = c->plugin->vt->task_status(out, c->conn, &call, task_id, 0, err);
    vrt_call_unlock(c);
    out->struct_size = sizeof(*out);
    if (out->percent < -1 || out->percent > 100)
        out->percent = -1;
    rc = vrt_call_settle(c, "task_status", rc, err);
    /* A task that failed must say how, like any failed call. */
    if (rc == VRT_OK && out->done && out->error.code != VRT_OK)
        vrt_call_settle(c, "task", out->error.code, &out->error);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Optional methods                                                        */
/* ---------------------------------------------------------------------- */

int vrt_p_reconfigure(vrt_task_ref *task, vrt_pconn *c, vrt_call_ctx *cc,
                      const char *id, const vrt_vm_spec *spec, vrt_error *err)
{
    task_clear(task);
    GET_METHOD(c, reconfigure);
    vrt_call call;
    vrt_call_make(&call, cc);
    vrt_call_lock(c);
    int rc = fn(task, c->conn, &call, id, spec, 0, err);
    vrt_call_unlock(c);
    task_settle(task);
    return vrt_call_settle(c, "reconfigure", rc, err);
}

int vrt_p_hardware_upgrade(vrt_task_ref *task, vrt_pconn *c, vrt_call_ctx *cc,
                           const char *id, uint32_t target_version,
                           vrt_error *err)
{
    task_clear(task);
    GET_METHOD(c, hardware_upgrade);
    vrt_call call;
    vrt_call_make(&call, cc);
    vrt_call_lock(c);
    int rc = fn(task, c->conn, &call, id, target_version, 0, err);
    vrt_call_unlock(c);
    task_settle(task);
    return vrt_call_settle(c, "hardware_upgrade", rc, err);
}

int vrt_p_snapshot_create(char snapshot_id[VRT_ID_MAX], vrt_task_ref *task,
                          vrt_pconn *c, vrt_call_ctx *cc, const char *vm_id,
                          const vrt_snapshot_spec *spec, vrt_error *err)
{
    memset(snapshot_id, 0, VRT_ID_MAX);
    task_clear(task);
    GET_METHOD(c, snapshot_create);
    vrt_call call;
    vrt_call_make(&call, cc);
    vrt_call_lock(c);
    int rc = fn(snapshot_id, task, c->conn, &call, vm_id, spec, 0, err);
    vrt_call_unlock(c);
    snapshot_id[VRT_ID_MAX - 1] = '\0';
    task_settle(task);
    rc = vrt_call_settle(c, "snapshot_create", rc, err);
    if (rc == VRT_OK && !snapshot_id[0])
        rc = vrt_call_lied(c, "snapshot_create",
                  "it returned success without a snapshot id", err);
    return rc;
}

int vrt_p_snapshot_delete(vrt_task_ref *task, vrt_pconn *c, vrt_call_ctx *cc,
                          const char *vm_id, const char *snapshot_id,
                          vrt_error *err)
{
    task_clear(task);
    GET_METHOD(c, snapshot_delete);
    vrt_call call;
    vrt_call_make(&call, cc);
    vrt_call_lock(c);
    int rc = fn(task, c->conn, &call, vm_id, snapshot_id, 0, err);
    vrt_call_unlock(c);
    task_settle(task);
    return vrt_call_settle(c, "snapshot_delete", rc, err);
}

int vrt_p_snapshot_revert(vrt_task_ref *task, vrt_pconn *c, vrt_call_ctx *cc,
                          const char *vm_id, const char *snapshot_id,
                          vrt_error *err)
{
    task_clear(task);
    GET_METHOD(c, snapshot_revert);
    vrt_call call;
    vrt_call_make(&call, cc);
    vrt_call_lock(c);
    int rc = fn(task, c->conn, &call, vm_id, snapshot_id, 0, err);
    vrt_call_unlock(c);
    task_settle(task);
    return vrt_call_settle(c, "snapshot_revert", rc, err);
}

int vrt_p_clone(char target_id[VRT_ID_MAX], vrt_task_ref *task, vrt_pconn *c,
                vrt_call_ctx *cc, const vrt_clone_spec *spec, vrt_error *err)
{
    memset(target_id, 0, VRT_ID_MAX);
    task_clear(task);
    GET_METHOD(c, clone);
    vrt_call call;
    vrt_call_make(&call, cc);
    vrt_call_lock(c);
    int rc = fn(target_id, task, c->conn, &call, spec, 0, err);
    vrt_call_unlock(c);
    target_id[VRT_ID_MAX - 1] = '\0';
    task_settle(task);
    rc = vrt_call_settle(c, "clone", rc, err);
    if (rc == VRT_OK && !target_id[0])
        rc = vrt_call_lied(c, "clone", "it returned success without a target id",
                  err);
    return rc;
}

int vrt_p_image_prepare(char image_id[VRT_ID_MAX], vrt_task_ref *task,
                        vrt_pconn *c, vrt_call_ctx *cc, const char *image_json,
                        const char *target_name, vrt_error *err)
{
    memset(image_id, 0, VRT_ID_MAX);
    task_clear(task);
    GET_METHOD(c, image_prepare);
    vrt_call call;
    vrt_call_make(&call, cc);
    vrt_call_lock(c);
    int rc = fn(image_id, task, c->conn, &call, image_json, target_name, 0,
                err);
    vrt_call_unlock(c);
    image_id[VRT_ID_MAX - 1] = '\0';
    task_settle(task);
    return vrt_call_settle(c, "image_prepare", rc, err);
}

/* Lists hand each item to the caller only after terminating its strings. */
typedef struct visit_guard {
    vrt_visit_fn visit;
    void *opaque;
} visit_guard;

static int guard_vm(void *opaque, const void *item)
{
    const visit_guard *g = opaque;
    vrt_vm_info copy;
    memset(&copy, 0, sizeof(copy));
    const vrt_vm_info *in = item;
    size_t n = in->struct_size < sizeof(copy) ? in->struct_size : sizeof(copy);
    memcpy(&copy, in, n);
    copy.struct_size = sizeof(copy);
    vm_info_settle(&copy);
    return g->visit(g->opaque, &copy);
}

static int guard_host(void *opaque, const void *item)
{
    const visit_guard *g = opaque;
    vrt_host_info copy;
    memset(&copy, 0, sizeof(copy));
    const vrt_host_info *in = item;
    size_t n = in->struct_size < sizeof(copy) ? in->struct_size : sizeof(copy);
    memcpy(&copy, in, n);
    copy.struct_size = sizeof(copy);
    TERMINATE(copy.name);
    return g->visit(g->opaque, &copy);
}

int vrt_p_list_vms(vrt_pconn *c, vrt_call_ctx *cc, vrt_visit_fn visit,
                   void *opaque, vrt_error *err)
{
    GET_METHOD(c, list_vms);
    vrt_call call;
    vrt_call_make(&call, cc);
    visit_guard g = {visit, opaque};
    vrt_call_lock(c);
    int rc = fn(c->conn, &call, guard_vm, &g, 0, err);
    vrt_call_unlock(c);
    return vrt_call_settle(c, "list_vms", rc, err);
}

int vrt_p_disk_info(vrt_disk_info *out, vrt_pconn *c, vrt_call_ctx *cc,
                    const char *vm_id, const char *disk_id, vrt_error *err)
{
    memset(out, 0, sizeof(*out));
    out->struct_size = sizeof(*out);
    GET_METHOD(c, disk_info);
    vrt_call call;
    vrt_call_make(&call, cc);
    vrt_call_lock(c);
    int rc = fn(out, c->conn, &call, vm_id, disk_id, 0, err);
    vrt_call_unlock(c);
    out->struct_size = sizeof(*out);
    TERMINATE(out->id);
    TERMINATE(out->path);
    TERMINATE(out->backing_path);
    return vrt_call_settle(c, "disk_info", rc, err);
}

int vrt_p_console(vrt_console_info *out, vrt_pconn *c, vrt_call_ctx *cc,
                  const char *id, vrt_error *err)
{
    memset(out, 0, sizeof(*out));
    out->struct_size = sizeof(*out);
    GET_METHOD(c, console);
    vrt_call call;
    vrt_call_make(&call, cc);
    vrt_call_lock(c);
    int rc = fn(out, c->conn, &call, id, 0, err);
    vrt_call_unlock(c);
    out->struct_size = sizeof(*out);
    TERMINATE(out->url);
    TERMINATE(out->kind);
    return vrt_call_settle(c, "console", rc, err);
}

int vrt_p_list_hosts(vrt_pconn *c, vrt_call_ctx *cc, vrt_visit_fn visit,
                     void *opaque, vrt_error *err)
{
    GET_METHOD(c, list_hosts);
    vrt_call call;
    vrt_call_make(&call, cc);
    visit_guard g = {visit, opaque};
    vrt_call_lock(c);
    int rc = fn(c->conn, &call, guard_host, &g, 0, err);
    vrt_call_unlock(c);
    return vrt_call_settle(c, "list_hosts", rc, err);
}
