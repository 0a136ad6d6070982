/*
 * pve.h - shared declarations of the Proxmox VE provider plugin.
 *
 * The plugin speaks the PVE REST API (/api2/json) with libcurl.  A VM id is
 * "VMID-MARKER": the numeric VMID and a random marker that the plugin also
 * writes into the VM's description ("virtrigaud-id: MARKER"), so that a
 * VMID which PVE reused for somebody else's VM is never mistaken for ours
 * (no stop, no destroy, no reconfigure of it).
 */
#ifndef VRT_PLUGIN_PVE_H
#define VRT_PLUGIN_PVE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include <virtrigaud/provider.h>

#define PVE_NAME "proxmox"
#define PVE_VERSION "0.1.0"
#define PVE_MARKER_KEY "virtrigaud-id: "
#define PVE_MARKER_LEN 16 /* hex characters */

extern const vrt_host_api *pve_host;

VRT_PROVIDER_EXPORT int32_t vrt_provider_entry(const vrt_host_api *host,
                                               uint32_t host_abi,
                                               const vrt_provider **out,
                                               vrt_error *err);

struct vrt_conn {
    vrt_host_ctx *ctx;
    char base[VRT_URL_MAX];     /* https://host:port, no trailing slash */
    char *token_header;         /* "Authorization: PVEAPIToken=..." or NULL */
    char *username;             /* ticket login, or NULL */
    char *password;
    char *ca_pem;               /* the Secret's ca.crt, or NULL */
    int insecure;               /* TLS verification off (tests only) */
    int max_clones;             /* parallel clones per connection */
    pthread_mutex_t lock;       /* ticket, csrf, clone slots */
    pthread_cond_t clone_cv;
    int clones_running;
    char *ticket;               /* PVEAuthCookie value */
    char *csrf;
    cJSON *defaults;            /* Provider.spec.defaults, may be NULL */
};

/* One form or query string under construction. */
typedef struct pve_form {
    char *s;
    size_t len, cap;
} pve_form;

/* pve_util.c */
int32_t pve_err(vrt_error *err, int32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pve_log(vrt_conn *conn, int32_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
char *pve_strdup(const char *s);
void pve_form_add(pve_form *f, const char *key, const char *value);
void pve_form_addf(pve_form *f, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends the fields of `more` to `f`. */
void pve_form_join(pve_form *f, const pve_form *more);
void pve_form_free(pve_form *f);
char *pve_urlencode(const char *s);
int32_t pve_check_call(const vrt_call *call, uint32_t flags, const char *what,
                       vrt_error *err);
int pve_expired(const vrt_call *call);
void pve_sleep_ms(uint32_t ms);
/* A JSON number from PVE divided by `unit`, as an unsigned count; 0 when
 * it is not a number or out of range (answers are untrusted). */
uint64_t pve_json_u64(const cJSON *v, double unit);
int pve_random_hex(char *out, size_t nhex);

/* pve_http.c */
/* Sends METHOD path (relative to /api2/json) with `form` as the body
 * (POST/PUT) or query string (GET/DELETE).  On VRT_OK *data is the answer's
 * "data" member (caller frees *root with cJSON_Delete).  Lock timeouts
 * ("can't lock file ... got timeout") are retried with backoff until the
 * call's deadline. */
int32_t pve_request(cJSON **root, cJSON **data, vrt_conn *conn,
                    const vrt_call *call, const char *method,
                    const char *path, const pve_form *form, vrt_error *err);
/* The same, for a call that returns a UPID: copies it into upid. */
int32_t pve_request_upid(char upid[VRT_ID_MAX], vrt_conn *conn,
                         const vrt_call *call, const char *method,
                         const char *path, const pve_form *form,
                         vrt_error *err);
int pve_is_lock_timeout(const char *message);

/* pve_task.c */
int32_t pve_task_status(vrt_task_status *out, vrt_conn *conn,
                        const vrt_call *call, const char *task_id,
                        uint32_t flags, vrt_error *err);
/* Polls the task until it stops; VRT_OK when its exit status is OK. */
int32_t pve_task_wait(vrt_conn *conn, const vrt_call *call, const char *upid,
                      vrt_error *err);

/* pve_vm.c: locating and identifying our VMs */
typedef struct pve_vm {
    long vmid;
    char node[VRT_NAME_MAX];
    char marker[PVE_MARKER_LEN + 1];
} pve_vm;

int32_t pve_parse_id(pve_vm *vm, const char *id, vrt_error *err);
/* Finds the node of vm->vmid and checks the marker in its description:
 * VRT_E_NOTFOUND when the VMID is gone or names a VM that is not ours. */
int32_t pve_locate(pve_vm *vm, cJSON **config, vrt_conn *conn,
                   const vrt_call *call, const char *id, vrt_error *err);
int32_t pve_vm_path(char *buf, size_t size, const pve_vm *vm,
                    const char *suffix);
int32_t pve_current_status(int *running, vrt_conn *conn, const vrt_call *call,
                           const pve_vm *vm, vrt_error *err);
/* Runs a config change (POST .../config) and waits for it. */
int32_t pve_config_apply(vrt_conn *conn, const vrt_call *call,
                         const pve_vm *vm, const pve_form *form,
                         vrt_error *err);
/* Starts a task (METHOD path returning a UPID) and waits for it, again
 * while it fails only on a busy lock. */
int32_t pve_run_task(vrt_conn *conn, const vrt_call *call, const char *method,
                     const char *path, const pve_form *form, vrt_error *err);
int32_t pve_stop_wait(vrt_conn *conn, const vrt_call *call, const pve_vm *vm,
                      vrt_error *err);

/* pve_spec.c: spec_json and cloud-init to PVE config keys */
int32_t pve_spec_parse(cJSON **out, const char *spec_json, vrt_error *err);
void pve_spec_form(pve_form *f, const cJSON *spec, const vrt_vm_spec *vs,
                   const char *storage, int with_disks);
const char *pve_spec_node(const cJSON *spec);
const char *pve_spec_storage(const cJSON *spec, const vrt_conn *conn);
long pve_spec_template(const cJSON *spec, const char **name);
int pve_spec_int(const cJSON *obj, const char *key, int dflt);
int32_t pve_cloudinit_form(pve_form *f, const vrt_vm_spec *vs,
                           vrt_error *err);
char *pve_sshkeys_encode(const char *keys);

/* pve_create.c */
int32_t pve_create(char id[VRT_ID_MAX], vrt_task_ref *task, vrt_conn *conn,
                   const vrt_call *call, const vrt_vm_spec *spec,
                   uint32_t flags, vrt_error *err);
int32_t pve_clone(char target_id[VRT_ID_MAX], vrt_task_ref *task,
                  vrt_conn *conn, const vrt_call *call,
                  const vrt_clone_spec *spec, uint32_t flags, vrt_error *err);

/* pve_ops.c */
int32_t pve_destroy(vrt_task_ref *task, vrt_conn *conn, const vrt_call *call,
                    const char *id, uint32_t flags, vrt_error *err);
int32_t pve_power(vrt_task_ref *task, vrt_conn *conn, const vrt_call *call,
                  const char *id, int32_t op, uint32_t graceful_timeout_s,
                  uint32_t flags, vrt_error *err);
int32_t pve_describe(vrt_vm_info *out, vrt_conn *conn, const vrt_call *call,
                     const char *id, uint32_t flags, vrt_error *err);
int32_t pve_reconfigure(vrt_task_ref *task, vrt_conn *conn,
                        const vrt_call *call, const char *id,
                        const vrt_vm_spec *spec, uint32_t flags,
                        vrt_error *err);
int32_t pve_list_vms(vrt_conn *conn, const vrt_call *call, vrt_visit_fn visit,
                     void *opaque, uint32_t flags, vrt_error *err);
int32_t pve_console(vrt_console_info *out, vrt_conn *conn,
                    const vrt_call *call, const char *id, uint32_t flags,
                    vrt_error *err);
int32_t pve_list_hosts(vrt_conn *conn, const vrt_call *call,
                       vrt_visit_fn visit, void *opaque, uint32_t flags,
                       vrt_error *err);

/* pve_snap.c */
int32_t pve_snapshot_create(char snapshot_id[VRT_ID_MAX], vrt_task_ref *task,
                            vrt_conn *conn, const vrt_call *call,
                            const char *vm_id, const vrt_snapshot_spec *spec,
                            uint32_t flags, vrt_error *err);
int32_t pve_snapshot_delete(vrt_task_ref *task, vrt_conn *conn,
                            const vrt_call *call, const char *vm_id,
                            const char *snapshot_id, uint32_t flags,
                            vrt_error *err);
int32_t pve_snapshot_revert(vrt_task_ref *task, vrt_conn *conn,
                            const vrt_call *call, const char *vm_id,
                            const char *snapshot_id, uint32_t flags,
                            vrt_error *err);

#endif /* VRT_PLUGIN_PVE_H */
