/*
 * vrt/plugin.h - loading provider plugins and calling them safely.
 *
 * The loader checks a plugin in a fixed order and fails closed; a plugin
 * that fails is recorded as faulty (with the reason) so that resources that
 * need it can say why.  Loaded plugins are never unloaded before
 * vrt_registry_free, which the caller runs only when no thread is inside a
 * plugin.
 *
 * Every provider method is reached through a vrt_p_* wrapper (provider
 * call), which:
 *   - turns an absent optional method (NULL, or beyond the plugin's
 *     struct_size) into VRT_E_NOTSUPP naming the method;
 *   - makes sure a failure always carries a valid code and a terminated,
 *     non-empty message, whatever the plugin wrote;
 *   - rejects a plugin that reports success without the required output.
 */
#ifndef VRT_PLUGIN_H
#define VRT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <virtrigaud/provider.h>
#include <vrt/clock.h>
#include <vrt/error.h>

#define VRT_WUR __attribute__((warn_unused_result))

typedef struct vrt_plugin vrt_plugin;
typedef struct vrt_registry vrt_registry;

/* Loader flags */
#define VRT_LOAD_SKIP_PERMS (1u << 0) /* do not check file ownership/mode */

/* A new, empty registry.  Free with vrt_registry_free.  Never NULL. */
vrt_registry *vrt_registry_new(void);

/* Unloads every plugin.  Only once no thread is inside any plugin.
 * NULL-safe. */
void vrt_registry_free(vrt_registry *reg);

/*
 * Loads one plugin file.  Checks, in order: the path (regular file, not
 * world- or group-writable, owned by root or by us), dlopen (dlerror()
 * verbatim), the entry symbol, the plugin's acceptance of our ABI, the
 * vtable's ABI major and minimum size, its name, a duplicate name, the
 * mandatory methods, and flags/caps sanity.  On success *out (may be NULL)
 * is borrowed from the registry.  On failure the plugin is recorded as
 * faulty under its path and err says why.
 */
VRT_WUR int vrt_registry_load(const vrt_plugin **out, vrt_registry *reg,
                              const char *path, uint32_t flags,
                              vrt_error *err);

/* Loads every "*.so" in `dir` (sorted by name).  Failures are recorded and
 * logged, not fatal.  Returns the number of plugins loaded, or a negative
 * VRT_E_* if the directory itself cannot be read. */
VRT_WUR int vrt_registry_load_dir(vrt_registry *reg, const char *dir,
                                  uint32_t flags, vrt_error *err);

/* The plugin registered under provider type `name`, or NULL. */
const vrt_plugin *vrt_registry_find(const vrt_registry *reg,
                                    const char *name);

/* Number of loaded plugins and faults; index accessors for listing. */
size_t vrt_registry_count(const vrt_registry *reg);
const vrt_plugin *vrt_registry_at(const vrt_registry *reg, size_t i);
size_t vrt_registry_fault_count(const vrt_registry *reg);
/* Path and reason of fault i, borrowed from the registry. */
void vrt_registry_fault_at(const char **path, const char **reason,
                           const vrt_registry *reg, size_t i);

/* Accessors, borrowed from the registry. */
const char *vrt_plugin_name(const vrt_plugin *p);
const char *vrt_plugin_version(const vrt_plugin *p);
const char *vrt_plugin_path(const vrt_plugin *p);
uint32_t vrt_plugin_abi(const vrt_plugin *p); /* the plugin's VRT_ABI_MAKE */
uint64_t vrt_plugin_caps(const vrt_plugin *p);
uint32_t vrt_plugin_flags(const vrt_plugin *p);
const vrt_provider *vrt_plugin_vtable(const vrt_plugin *p);

/* Non-zero if the plugin implements method `name` (e.g. "snapshot_create"),
 * counting its struct_size.  Unknown names are 0. */
int vrt_plugin_has_method(const vrt_plugin *p, const char *name);

/* The host services table handed to plugins. */
const vrt_host_api *vrt_host_api_get(void);

/* ---------------------------------------------------------------------- */
/* Connections and calls                                                   */
/* ---------------------------------------------------------------------- */

/* Looks up `key` of a connection's credentials.  Same contract as
 * vrt_host_api.secret_get. */
typedef int32_t (*vrt_secret_fn)(size_t *len, void *opaque, const char *key,
                                 char *buf, size_t buf_size, vrt_error *err);

/* A secret source backed by a NULL-terminated array of "key", "value"
 * pairs, borrowed; handy for tests and vcts. */
int32_t vrt_secret_from_pairs(size_t *len, void *pairs, const char *key,
                              char *buf, size_t buf_size, vrt_error *err);

typedef struct vrt_pconn vrt_pconn; /* a plugin connection */

/* Opens a connection to `endpoint` through plugin `p`.  `label` names it in
 * logs (e.g. "default/my-provider").  `secret`/`secret_opaque` may be NULL.
 * Free with vrt_pconn_close. */
VRT_WUR int vrt_pconn_open(vrt_pconn **out, const vrt_plugin *p,
                           const char *label, const char *endpoint,
                           const char *config_json, vrt_secret_fn secret,
                           void *secret_opaque, vrt_error *err);
void vrt_pconn_close(vrt_pconn *c); /* NULL-safe */
const vrt_plugin *vrt_pconn_plugin(const vrt_pconn *c);
/* The plugin's own handles behind a connection, for conformance tests that
 * must call a vtable method directly (bypassing the wrappers' checks). */
vrt_conn *vrt_pconn_conn(vrt_pconn *c);
vrt_host_ctx *vrt_pconn_host_ctx(vrt_pconn *c);

/* A call's context: deadline, cancellation and progress.  Initialise with
 * vrt_callctx_init; the struct may live on the stack. */
typedef void (*vrt_progress_fn)(void *opaque, uint64_t done, uint64_t total);
struct vrt_call_ctx {
    volatile int cancelled; /* set from another thread to cancel */
    uint64_t deadline_ms;   /* monotonic, 0 = none */
    vrt_progress_fn progress;
    void *progress_opaque;
    uint64_t progress_done, progress_total; /* last reported */
};
void vrt_callctx_init(vrt_call_ctx *ctx, uint32_t timeout_ms);


/* The wrappers.  Same arguments as the vtable methods, with the connection
 * and the call context in place of vrt_conn and vrt_call. */
VRT_WUR int vrt_p_validate(vrt_pconn *c, vrt_call_ctx *cc, vrt_error *err);
VRT_WUR int vrt_p_capabilities(vrt_caps *out, vrt_pconn *c, vrt_call_ctx *cc,
                               vrt_error *err);
VRT_WUR int vrt_p_create(char id[VRT_ID_MAX], vrt_task_ref *task,
                         vrt_pconn *c, vrt_call_ctx *cc,
                         const vrt_vm_spec *spec, vrt_error *err);
VRT_WUR int vrt_p_destroy(vrt_task_ref *task, vrt_pconn *c, vrt_call_ctx *cc,
                          const char *id, vrt_error *err);
VRT_WUR int vrt_p_power(vrt_task_ref *task, vrt_pconn *c, vrt_call_ctx *cc,
                        const char *id, int32_t op,
                        uint32_t graceful_timeout_s, vrt_error *err);
/* out->raw_json, if set, is owned by the caller: vrt_vm_info_clear frees
 * it. */
VRT_WUR int vrt_p_describe(vrt_vm_info *out, vrt_pconn *c, vrt_call_ctx *cc,
                           const char *id, vrt_error *err);
void vrt_vm_info_clear(vrt_vm_info *info);
VRT_WUR int vrt_p_task_status(vrt_task_status *out, vrt_pconn *c,
                              vrt_call_ctx *cc, const char *task_id,
                              vrt_error *err);
VRT_WUR int vrt_p_reconfigure(vrt_task_ref *task, vrt_pconn *c,
                              vrt_call_ctx *cc, const char *id,
                              const vrt_vm_spec *spec, vrt_error *err);
VRT_WUR int vrt_p_hardware_upgrade(vrt_task_ref *task, vrt_pconn *c,
                                   vrt_call_ctx *cc, const char *id,
                                   uint32_t target_version, vrt_error *err);
VRT_WUR int vrt_p_snapshot_create(char snapshot_id[VRT_ID_MAX],
                                  vrt_task_ref *task, vrt_pconn *c,
                                  vrt_call_ctx *cc, const char *vm_id,
                                  const vrt_snapshot_spec *spec,
                                  vrt_error *err);
VRT_WUR int vrt_p_snapshot_delete(vrt_task_ref *task, vrt_pconn *c,
                                  vrt_call_ctx *cc, const char *vm_id,
                                  const char *snapshot_id, vrt_error *err);
VRT_WUR int vrt_p_snapshot_revert(vrt_task_ref *task, vrt_pconn *c,
                                  vrt_call_ctx *cc, const char *vm_id,
                                  const char *snapshot_id, vrt_error *err);
VRT_WUR int vrt_p_clone(char target_id[VRT_ID_MAX], vrt_task_ref *task,
                        vrt_pconn *c, vrt_call_ctx *cc,
                        const vrt_clone_spec *spec, vrt_error *err);
VRT_WUR int vrt_p_image_prepare(char image_id[VRT_ID_MAX], vrt_task_ref *task,
                                vrt_pconn *c, vrt_call_ctx *cc,
                                const char *image_json,
                                const char *target_name, vrt_error *err);
VRT_WUR int vrt_p_list_vms(vrt_pconn *c, vrt_call_ctx *cc, vrt_visit_fn visit,
                           void *opaque, vrt_error *err);
VRT_WUR int vrt_p_disk_info(vrt_disk_info *out, vrt_pconn *c,
                            vrt_call_ctx *cc, const char *vm_id,
                            const char *disk_id, vrt_error *err);
VRT_WUR int vrt_p_console(vrt_console_info *out, vrt_pconn *c,
                          vrt_call_ctx *cc, const char *id, vrt_error *err);
VRT_WUR int vrt_p_list_hosts(vrt_pconn *c, vrt_call_ctx *cc,
                             vrt_visit_fn visit, void *opaque,
                             vrt_error *err);

/* Disk streams.  A vrt_pstream wraps the plugin's stream with its
 * connection: close, finish or abort every stream before closing the
 * connection it came from. */
typedef struct vrt_pstream vrt_pstream;
VRT_WUR int vrt_p_disk_export_open(vrt_pstream **out, uint64_t *size,
                                   vrt_pconn *c, vrt_call_ctx *cc,
                                   const vrt_export_spec *spec,
                                   vrt_error *err);
VRT_WUR int vrt_p_stream_read(size_t *nread, vrt_pstream *s, uint8_t *buf,
                              size_t len, vrt_error *err);
void vrt_p_stream_close(vrt_pstream *s); /* NULL-safe */
VRT_WUR int vrt_p_disk_import_open(vrt_pstream **out, vrt_pconn *c,
                                   vrt_call_ctx *cc,
                                   const vrt_import_spec *spec,
                                   vrt_error *err);
VRT_WUR int vrt_p_stream_write(vrt_pstream *s, const uint8_t *buf, size_t len,
                               vrt_error *err);
/* Finish or abort releases the stream in every case. */
VRT_WUR int vrt_p_stream_finish(char disk_id[VRT_ID_MAX], vrt_pstream *s,
                                vrt_error *err);
void vrt_p_stream_abort(vrt_pstream *s); /* NULL-safe */

#endif /* VRT_PLUGIN_H */
