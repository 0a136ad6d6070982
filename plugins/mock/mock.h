/*
 * mock.h - internals of the in-memory "mock" provider plugin.
 *
 * Layout: mock_entry.c (vtables, entry, open/close, validate, caps),
 * mock_config.c (config_json), mock_state.c (per-endpoint shared state),
 * mock_faults.c (call gate: counters, latency, fault injection),
 * mock_task.c (tasks), mock_vm.c (VM lifecycle), mock_info.c (describe,
 * list, _stats), mock_snap.c (snapshots, clone, images), mock_disk.c
 * (disk info and streams), mock_hosts.c (list_hosts, console),
 * mock_util.c (errors, logging, JSON helpers), mock_persist.c (the
 * optional state file).
 *
 * Locking: a connection's counters are under conn->lock, everything shared
 * by connections of one endpoint under state->lock.  The two are never held
 * together, and no lock is held while calling back into the host's visit
 * functions.
 */
#ifndef VRT_MOCK_H
#define VRT_MOCK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>
#include <virtrigaud/provider.h>

#define MOCK_NAME "mock"
#define MOCK_VERSION "0.1.0"
#define MOCK_ENDPOINT_PREFIX "mock://"
#define MOCK_STATS_ID "_stats"

#define MOCK_CAPS_ALL (VRT_CAP_ALL_1_0_ | VRT_CAP_HOSTS)
#define MOCK_FORMATS_ALL (VRT_DISK_RAW | VRT_DISK_QCOW2 | VRT_DISK_VMDK)

#define MOCK_DEFAULT_TASK_POLLS 2u
#define MOCK_DEFAULT_DISK_SIZE (1024ull * 1024ull)
#define MOCK_DEFAULT_HOSTS 2u
#define MOCK_DEFAULT_IMPORT_MAX (64ull * 1024ull * 1024ull)
#define MOCK_DEFAULT_CPUS 1u
#define MOCK_DEFAULT_MEMORY_MIB 512u
#define MOCK_DEFAULT_HW_VERSION 10u
#define MOCK_TASKS_KEPT 4096u /* older finished tasks are forgotten */

/* Methods, in vtable order; the names are the vtable member names. */
typedef enum mock_method {
    MOCK_M_VALIDATE,
    MOCK_M_CAPABILITIES,
    MOCK_M_CREATE,
    MOCK_M_DESTROY,
    MOCK_M_POWER,
    MOCK_M_DESCRIBE,
    MOCK_M_TASK_STATUS,
    MOCK_M_RECONFIGURE,
    MOCK_M_HARDWARE_UPGRADE,
    MOCK_M_SNAPSHOT_CREATE,
    MOCK_M_SNAPSHOT_DELETE,
    MOCK_M_SNAPSHOT_REVERT,
    MOCK_M_CLONE,
    MOCK_M_IMAGE_PREPARE,
    MOCK_M_LIST_VMS,
    MOCK_M_DISK_INFO,
    MOCK_M_DISK_EXPORT_OPEN,
    MOCK_M_STREAM_READ,
    MOCK_M_STREAM_CLOSE,
    MOCK_M_DISK_IMPORT_OPEN,
    MOCK_M_STREAM_WRITE,
    MOCK_M_STREAM_FINISH,
    MOCK_M_STREAM_ABORT,
    MOCK_M_CONSOLE,
    MOCK_M_LIST_HOSTS,
    MOCK_M_COUNT
} mock_method;

/* One injected fault (config "faults.<method>"). */
typedef struct mock_fault {
    int set;
    int persistent;
    int in_task; /* with "async": fail the task instead of the call */
    int32_t code;
    uint32_t retry_after_ms;
    uint64_t after; /* successful calls before the first failure */
    char message[VRT_ERROR_MESSAGE_MAX];
} mock_fault;

/* A connection's options, parsed from config_json at open. */
typedef struct mock_config {
    int async;
    uint32_t task_polls;
    uint32_t latency_ms;
    uint32_t hosts;
    uint32_t disk_formats;
    uint64_t caps;
    uint64_t disk_size;
    uint64_t import_max;
    char *require_secret; /* the secret's key name, never its value */
    char *state_file;     /* absolute path, or NULL: memory only */
    mock_fault faults[MOCK_M_COUNT];
} mock_config;

typedef struct mock_snapshot {
    char id[VRT_ID_MAX];
    char name[VRT_NAME_MAX];
    char *description;
    int32_t include_memory;
    int32_t power; /* VM power state when taken */
    uint32_t cpus;
    uint64_t memory_mib;
    uint64_t disk_size;
} mock_snapshot;

typedef struct mock_vm {
    uint64_t seq; /* the N of mock-00000N; drives ips and console port */
    char id[VRT_ID_MAX];
    char name[VRT_NAME_MAX];
    char host[VRT_NAME_MAX];
    char source_id[VRT_ID_MAX]; /* clone source, or empty */
    char disk_seed[VRT_ID_MAX]; /* disk content is derived from this */
    char *spec_json;            /* as created, for idempotent create */
    /* The cloud-init documents create was given (NUL-terminated copies),
     * kept so tests can see what the core sent; NULL when absent. */
    char *user_data, *meta_data, *network_data;
    int32_t power;
    int32_t linked;
    uint32_t cpus;
    uint32_t hw_version;
    uint64_t memory_mib;
    uint64_t disk_size;
    mock_snapshot *snaps;
    size_t nsnaps, capsnaps;
} mock_vm;

typedef struct mock_task {
    char id[VRT_ID_MAX];
    char method[32];
    uint32_t polls;  /* status calls so far */
    uint32_t needed; /* polls that report "running" before "done" */
    vrt_error error; /* code != 0: the task fails */
} mock_task;

typedef struct mock_image {
    char id[VRT_ID_MAX];
    char name[VRT_NAME_MAX];
    char *image_json;
} mock_image;

/* A disk written by disk import.  Immutable once finished. */
typedef struct mock_disk {
    char id[VRT_ID_MAX];
    char name[VRT_NAME_MAX];
    uint32_t format;
    uint64_t virtual_size;
    uint64_t len;
    uint8_t *data;
} mock_disk;

/* Everything connections to one endpoint share. */
typedef struct mock_state {
    struct mock_state *next;
    char *endpoint;
    char *state_file; /* set under both locks, by the first connection
                         that names it */
    int refs; /* under the registry lock */
    pthread_mutex_t lock;
    uint64_t next_vm, next_snap, next_task, next_image, next_disk;
    mock_vm **vms; /* creation order */
    size_t nvms, capvms;
    mock_task *tasks; /* issue order */
    size_t ntasks, captasks;
    mock_image *images;
    size_t nimages, capimages;
    mock_disk **disks;
    size_t ndisks, capdisks;
} mock_state;

struct vrt_conn {
    pthread_mutex_t lock;
    int refs; /* the caller's, plus one per open stream */
    vrt_host_ctx *ctx;
    mock_state *state;
    mock_config cfg;
    uint64_t calls[MOCK_M_COUNT];
};

/* mock_entry.c */
VRT_PROVIDER_EXPORT int32_t vrt_provider_entry(const vrt_host_api *host,
                                               uint32_t host_abi,
                                               const vrt_provider **out,
                                               vrt_error *err);
extern const vrt_host_api *mock_host;
extern uint32_t mock_abi_minor; /* the minor this load advertises */
uint64_t mock_caps(const vrt_conn *conn);
void mock_conn_unref(vrt_conn *conn);
void mock_conn_ref(vrt_conn *conn);

/* mock_util.c */
int32_t mock_err(vrt_error *err, int32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mock_log(vrt_host_ctx *ctx, int32_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mock_copy(char *dst, size_t size, const char *src);
char *mock_strdup(const char *s);
int mock_grow(void **arr, size_t *cap, size_t need, size_t elem);
const char *mock_code_name(int32_t code);
int32_t mock_code_from_name(const char *name); /* 1 when unknown */
int32_t mock_json_uint(uint64_t *out, const cJSON *obj, const char *key,
                       uint64_t min, uint64_t max, const char *where,
                       vrt_error *err);
char *mock_json_dup_host(const cJSON *json); /* host->alloc'ed text */
cJSON *mock_json_parse(const char *text);
int mock_is_power_of_two(uint32_t v);
const char *mock_format_name(uint32_t format);
void mock_put_sized(void *out, const void *full, size_t full_size);

/* mock_config.c */
int32_t mock_config_parse(mock_config *out, vrt_host_ctx *ctx,
                          const char *json, vrt_error *err);
void mock_config_clear(mock_config *cfg);
const char *mock_cap_name(uint64_t cap);

/* mock_state.c */
int32_t mock_state_acquire(mock_state **out, const char *endpoint,
                           vrt_error *err);
void mock_state_release(mock_state *st);
mock_vm *mock_vm_find(mock_state *st, const char *id);
mock_vm *mock_vm_find_name(mock_state *st, const char *name);
mock_snapshot *mock_snap_find(mock_vm *vm, const char *id);
mock_disk *mock_disk_find(mock_state *st, const char *id);
int32_t mock_vm_add(mock_vm **out, mock_state *st, const char *name,
                    vrt_error *err);
void mock_vm_remove(mock_state *st, mock_vm *vm);
void mock_state_clear_vms(mock_state *st);
int32_t mock_state_claim_file(int *had, mock_state *st, const char *path,
                              vrt_error *err);
void mock_state_unclaim_file(mock_state *st);

/* mock_persist.c; save runs with st->lock held and does nothing without a
 * state file. */
int32_t mock_state_attach(mock_state *st, const char *path, vrt_error *err);
int32_t mock_state_save(mock_state *st, vrt_host_ctx *ctx, vrt_error *err);

/* mock_faults.c */
int32_t mock_check_call(const vrt_conn *conn, const vrt_call *call,
                        uint32_t flags, mock_method m, vrt_error *err);
int32_t mock_check_arg(const void *arg, const char *name, mock_method m,
                       vrt_error *err);
int32_t mock_require_cap(const vrt_conn *conn, uint64_t cap, mock_method m,
                         vrt_error *err);
int32_t mock_gate(vrt_error *task_err, vrt_conn *conn,
                  const vrt_call *call, mock_method m, vrt_error *err);
const char *mock_method_name(mock_method m);
int mock_method_from_name(const char *name);
int mock_method_can_fail(mock_method m);

/* mock_task.c */
int32_t mock_task_issue(vrt_task_ref *task, vrt_conn *conn, mock_method m,
                        const vrt_error *task_err, vrt_error *err);
int32_t mock_task_status(vrt_task_status *out, vrt_conn *conn,
                         const vrt_call *call, const char *task_id,
                         uint32_t flags, vrt_error *err);

/* mock_vm.c */
int32_t mock_spec_read(uint32_t *cpus, uint64_t *memory_mib,
                       uint64_t *disk_size, cJSON **parsed,
                       const char *spec_json, const char *field,
                       vrt_error *err);
void mock_pick_host(char out[VRT_NAME_MAX], const cJSON *spec, uint64_t seq,
                    uint32_t hosts);
int mock_vm_same_spec(const mock_vm *vm, const cJSON *spec);
int32_t mock_create(char id[VRT_ID_MAX], vrt_task_ref *task, vrt_conn *conn,
                    const vrt_call *call, const vrt_vm_spec *spec,
                    uint32_t flags, vrt_error *err);
int32_t mock_destroy(vrt_task_ref *task, vrt_conn *conn, const vrt_call *call,
                     const char *id, uint32_t flags, vrt_error *err);
int32_t mock_power(vrt_task_ref *task, vrt_conn *conn, const vrt_call *call,
                   const char *id, int32_t op, uint32_t graceful_timeout_s,
                   uint32_t flags, vrt_error *err);
int32_t mock_reconfigure(vrt_task_ref *task, vrt_conn *conn,
                         const vrt_call *call, const char *id,
                         const vrt_vm_spec *spec, uint32_t flags,
                         vrt_error *err);
int32_t mock_hardware_upgrade(vrt_task_ref *task, vrt_conn *conn,
                              const vrt_call *call, const char *id,
                              uint32_t target_version, uint32_t flags,
                              vrt_error *err);

/* mock_info.c */
void mock_vm_fill_info(vrt_vm_info *info, const mock_vm *vm);
cJSON *mock_vm_raw(const mock_vm *vm);
int32_t mock_describe(vrt_vm_info *out, vrt_conn *conn, const vrt_call *call,
                      const char *id, uint32_t flags, vrt_error *err);
int32_t mock_list_vms(vrt_conn *conn, const vrt_call *call, vrt_visit_fn visit,
                      void *opaque, uint32_t flags, vrt_error *err);

/* mock_snap.c */
int32_t mock_snapshot_create(char snapshot_id[VRT_ID_MAX], vrt_task_ref *task,
                             vrt_conn *conn, const vrt_call *call,
                             const char *vm_id, const vrt_snapshot_spec *spec,
                             uint32_t flags, vrt_error *err);
int32_t mock_snapshot_delete(vrt_task_ref *task, vrt_conn *conn,
                             const vrt_call *call, const char *vm_id,
                             const char *snapshot_id, uint32_t flags,
                             vrt_error *err);
int32_t mock_snapshot_revert(vrt_task_ref *task, vrt_conn *conn,
                             const vrt_call *call, const char *vm_id,
                             const char *snapshot_id, uint32_t flags,
                             vrt_error *err);
int32_t mock_clone(char target_id[VRT_ID_MAX], vrt_task_ref *task,
                   vrt_conn *conn, const vrt_call *call,
                   const vrt_clone_spec *spec, uint32_t flags, vrt_error *err);
int32_t mock_image_prepare(char image_id[VRT_ID_MAX], vrt_task_ref *task,
                           vrt_conn *conn, const vrt_call *call,
                           const char *image_json, const char *target_name,
                           uint32_t flags, vrt_error *err);

/* mock_disk.c */
void mock_disk_fill(uint8_t *buf, size_t len, uint64_t seed, uint64_t offset);
uint64_t mock_seed_hash(const char *s);
int32_t mock_disk_info(vrt_disk_info *out, vrt_conn *conn,
                       const vrt_call *call, const char *vm_id,
                       const char *disk_id, uint32_t flags, vrt_error *err);
int32_t mock_disk_export_open(vrt_stream **out, uint64_t *size,
                              vrt_conn *conn, const vrt_call *call,
                              const vrt_export_spec *spec, uint32_t flags,
                              vrt_error *err);
int32_t mock_stream_read(size_t *nread, vrt_stream *s, uint8_t *buf,
                         size_t len, uint32_t flags, vrt_error *err);
void mock_stream_close(vrt_stream *s);
int32_t mock_disk_import_open(vrt_stream **out, vrt_conn *conn,
                              const vrt_call *call,
                              const vrt_import_spec *spec, uint32_t flags,
                              vrt_error *err);
int32_t mock_stream_write(vrt_stream *s, const uint8_t *buf, size_t len,
                          uint32_t flags, vrt_error *err);
int32_t mock_stream_finish(char disk_id[VRT_ID_MAX], vrt_stream *s,
                           uint32_t flags, vrt_error *err);
void mock_stream_abort(vrt_stream *s);

/* mock_hosts.c */
int32_t mock_console(vrt_console_info *out, vrt_conn *conn,
                     const vrt_call *call, const char *id, uint32_t flags,
                     vrt_error *err);
int32_t mock_list_hosts(vrt_conn *conn, const vrt_call *call,
                        vrt_visit_fn visit, void *opaque, uint32_t flags,
                        vrt_error *err);
void mock_host_name(char out[VRT_NAME_MAX], uint64_t seq, uint32_t hosts);

#endif /* VRT_MOCK_H */
