/*
 * virtrigaud/provider.h - the stable C ABI between the virtrigaud manager
 * (the "host") and hypervisor provider plugins (".so" files).
 *
 * This header is the whole contract: a plugin includes it and nothing else
 * from virtrigaud, links nothing from the host, and exports exactly one
 * symbol, VRT_PROVIDER_ENTRY_SYMBOL.  See docs/abi.md for the stability
 * promise; in short:
 *
 *   - Within a major version, structures only grow at their end.  Members
 *     are never reordered, retyped or removed.  Each minor's additions are
 *     marked "since 1.N".
 *   - A reader only touches a member that the writer's struct_size covers
 *     (VRT_HAS_MEMBER).  The host calls optional methods through one wrapper
 *     that reports VRT_E_NOTSUPP when a method is absent.
 *   - Every method takes a `flags` argument that must be 0 today; both sides
 *     reject unknown bits with VRT_E_INVALID.
 *
 * A plugin may target an older minor, so that it loads in older hosts too,
 * by defining VRT_ABI_TARGET_MINOR before including this header: members
 * added after that minor are then not declared at all.
 *
 * Conventions on every function below:
 *   - out-parameters first, then the object, then inputs, then flags, then
 *     the error record;
 *   - the return value is VRT_OK (0) or one of the negative VRT_E_* codes,
 *     and on failure the callee fills the caller-owned `vrt_error`;
 *   - strings are NUL-terminated UTF-8; "borrowed" pointers stay valid only
 *     for the duration of the call unless stated otherwise;
 *   - memory that crosses the boundary is allocated with host->alloc and
 *     released with host->free, never with libc's malloc/free.
 */
#ifndef VIRTRIGAUD_PROVIDER_H
#define VIRTRIGAUD_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Versions                                                                */
/* ---------------------------------------------------------------------- */

#define VRT_ABI_MAJOR 1
#define VRT_ABI_MINOR 1 /* the newest minor this header describes */

#ifndef VRT_ABI_TARGET_MINOR
#define VRT_ABI_TARGET_MINOR VRT_ABI_MINOR
#endif
#if VRT_ABI_TARGET_MINOR > VRT_ABI_MINOR
#error "VRT_ABI_TARGET_MINOR is newer than this header"
#endif

/* An ABI version is packed as (major << 16) | minor. */
#define VRT_ABI_MAKE(major, minor) (((uint32_t)(major) << 16) | (uint32_t)(minor))
#define VRT_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define VRT_ABI_MINOR_OF(v) ((uint32_t)(v)&0xffffu)
#define VRT_ABI_VERSION VRT_ABI_MAKE(VRT_ABI_MAJOR, VRT_ABI_TARGET_MINOR)

/* True when a structure that starts with `uint32_t struct_size` and was
 * filled by the other side is large enough to hold `member`. */
#define VRT_HAS_MEMBER(p, type, member)                                        \
    ((p)->struct_size >= offsetof(type, member) + sizeof(((type *)0)->member))

/* The one exported symbol.  Plugins declare it with VRT_PROVIDER_EXPORT. */
#define VRT_PROVIDER_ENTRY_SYMBOL "vrt_provider_entry"

#if defined(__GNUC__) || defined(__clang__)
#define VRT_PROVIDER_EXPORT __attribute__((visibility("default")))
#else
#define VRT_PROVIDER_EXPORT
#endif

/* ---------------------------------------------------------------------- */
/* Errors                                                                  */
/* ---------------------------------------------------------------------- */

/* Return codes.  The core branches on these: it retries RETRYABLE,
 * UNAVAILABLE, TIMEOUT and RATELIMIT with backoff, treats NOTFOUND on delete
 * as success, and surfaces the rest to the user as a failed condition. */
#define VRT_OK 0
#define VRT_E_NOTFOUND (-1)     /* the VM, snapshot, task... does not exist */
#define VRT_E_INVALID (-2)      /* bad spec or argument; do not retry as is */
#define VRT_E_UNAUTHORIZED (-3) /* credentials refused or missing rights */
#define VRT_E_NOTSUPP (-4)      /* method or option not supported */
#define VRT_E_CONFLICT (-5)     /* state does not allow it (locked, busy) */
#define VRT_E_EXISTS (-6)       /* a different object already has that name */
#define VRT_E_TIMEOUT (-7)      /* the call's deadline passed */
#define VRT_E_RATELIMIT (-8)    /* throttled; see retry_after_ms */
#define VRT_E_UNAVAILABLE (-9)  /* endpoint unreachable or down */
#define VRT_E_RETRYABLE (-10)   /* transient failure of another kind */
#define VRT_E_QUOTA (-11)       /* out of capacity (disk, licences...) */
#define VRT_E_CANCELED (-12)    /* the host cancelled the call */
#define VRT_E_INTERNAL (-13)    /* a bug or an unexpected answer */
#define VRT_E_AGAIN (-14)       /* stream: no data yet, call again */
#define VRT_E_LAST_ (-14)       /* not a code: the lowest defined value */

/* Error classes: how the failure should be handled, when the plugin knows
 * better than the code alone (e.g. an INTERNAL that is worth a retry). */
#define VRT_CLASS_DEFAULT 0   /* derive from the code */
#define VRT_CLASS_TRANSIENT 1 /* retry with backoff */
#define VRT_CLASS_PERMANENT 2 /* do not retry until the spec changes */
#define VRT_CLASS_USER 3      /* the user's input is wrong; say so */

#define VRT_ERROR_MESSAGE_MAX 256

/* A fixed-size, caller-owned error record.  The caller zeroes it (or uses
 * VRT_ERROR_INIT); the callee fills it on failure.  `message` is a whole
 * sentence for a user and never contains a secret. */
typedef struct vrt_error {
    int32_t code;            /* VRT_E_* */
    int32_t klass;           /* VRT_CLASS_* */
    uint32_t retry_after_ms; /* a hint with RATELIMIT / UNAVAILABLE, or 0 */
    uint32_t flags;          /* 0 */
    char message[VRT_ERROR_MESSAGE_MAX];
} vrt_error;

#define VRT_ERROR_INIT {0, 0, 0, 0, {0}}

/* ---------------------------------------------------------------------- */
/* Host services                                                           */
/* ---------------------------------------------------------------------- */

/* Opaque handles owned by the host. */
typedef struct vrt_host_ctx vrt_host_ctx; /* one per connection (Provider) */
typedef struct vrt_call_ctx vrt_call_ctx; /* one per call */

#define VRT_LOG_ERROR 0
#define VRT_LOG_WARN 1
#define VRT_LOG_INFO 2
#define VRT_LOG_DEBUG 3

/* Callback that receives one item of a list.  `item` is borrowed for the
 * duration of the callback.  Return 0 to go on, non-zero to stop early. */
typedef int (*vrt_visit_fn)(void *opaque, const void *item);

/*
 * Services the host hands to a plugin, so that a plugin links nothing from
 * the host.  The table and every pointer in it stay valid until the plugin
 * is unloaded, which the host does only once no thread is inside it.
 * All functions are thread-safe.
 */
typedef struct vrt_host_api {
    uint32_t abi;         /* VRT_ABI_MAKE() of the host */
    uint32_t struct_size; /* sizeof(vrt_host_api) as the host built it */

    /* Logs one message.  `ctx` may be NULL (no connection yet).  The host
     * prefixes the plugin's name and drops levels it does not want; it
     * never sees a secret because plugins never pass one. */
    void (*log)(vrt_host_ctx *ctx, int32_t level, const char *message);
    /* Returns non-zero if a message at `level` would be kept; lets the
     * plugin skip formatting. */
    int32_t (*log_enabled)(vrt_host_ctx *ctx, int32_t level);

    /* Memory that crosses the boundary.  alloc returns zeroed memory or
     * NULL; free accepts NULL. */
    void *(*alloc)(size_t size);
    void (*free)(void *ptr);

    /* Copies the value of `key` from the connection's credentials (the
     * Provider's credentialSecretRef) into `buf`, NUL-terminated, and
     * stores its length in *len.  Returns VRT_E_NOTFOUND when the key is
     * absent and VRT_E_INVALID when `buf` is too small (then *len is the
     * size needed, including the NUL).  The plugin must wipe `buf` when done
     * and must never log it. */
    int32_t (*secret_get)(size_t *len, vrt_host_ctx *ctx, const char *key,
                          char *buf, size_t buf_size, vrt_error *err);

    /* Monotonic milliseconds, the clock deadlines are expressed in. */
    uint64_t (*clock_monotonic_ms)(void);
    /* Wall-clock milliseconds since the Unix epoch. */
    uint64_t (*clock_realtime_ms)(void);

    /* Returns non-zero once the host wants the call abandoned (shutdown,
     * deadline passed, resource deleted).  Long loops check it and return
     * VRT_E_CANCELED. */
    int32_t (*cancelled)(const vrt_call_ctx *call);

    /* Reports progress of a long call (bytes or abstract units). `total`
     * may be 0 when unknown. */
    void (*progress)(const vrt_call_ctx *call, uint64_t done, uint64_t total);
} vrt_host_api;

/* Every method receives this: the call's deadline and its host context.
 * Borrowed for the call. */
typedef struct vrt_call {
    uint32_t struct_size;
    uint32_t flags;              /* 0 */
    uint64_t deadline_ms;        /* monotonic; 0 = none */
    const vrt_call_ctx *ctx;     /* for host->cancelled / host->progress */
} vrt_call;

/* ---------------------------------------------------------------------- */
/* Value types                                                             */
/* ---------------------------------------------------------------------- */

#define VRT_ID_MAX 128  /* VM, task, snapshot and disk ids, with the NUL */
#define VRT_URL_MAX 1024
#define VRT_NAME_MAX 256
#define VRT_IP_MAX 64   /* textual IPv4 or IPv6, with the NUL */
#define VRT_IPS_MAX 16

/* Power states reported by describe. */
#define VRT_POWER_UNKNOWN 0
#define VRT_POWER_ON 1
#define VRT_POWER_OFF 2
#define VRT_POWER_SUSPENDED 3

/* Power operations. */
#define VRT_POWER_OP_ON 1
#define VRT_POWER_OP_OFF 2            /* hard power off */
#define VRT_POWER_OP_REBOOT 3
#define VRT_POWER_OP_SHUTDOWN_GRACEFUL 4 /* ACPI / tools, then off at timeout */

/* Disk formats, as bits so that a mask lists what a provider handles. */
#define VRT_DISK_RAW (1u << 0)
#define VRT_DISK_QCOW2 (1u << 1)
#define VRT_DISK_VMDK (1u << 2)

/* A task: a long operation the host polls.  An empty id means the
 * operation already completed. */
typedef struct vrt_task_ref {
    char id[VRT_ID_MAX];
} vrt_task_ref;

typedef struct vrt_task_status {
    uint32_t struct_size; /* set by the caller */
    int32_t done;         /* non-zero once terminal */
    int32_t percent;      /* 0-100, or -1 when unknown */
    uint32_t reserved;
    uint64_t bytes_done;  /* for disk work, else 0 */
    uint64_t bytes_total;
    vrt_error error;      /* code != 0 when done and failed */
} vrt_task_status;

/* What the VM should look like.  Everything beyond the name travels as one
 * JSON document (`spec_json`, schema in docs/abi.md: class, image,
 * networks, disks, placement, tags) so the spec can grow without changing
 * this structure.  Cloud-init documents travel as bytes.  All borrowed. */
typedef struct vrt_vm_spec {
    uint32_t struct_size;
    uint32_t flags;           /* 0 */
    const char *name;         /* VM name on the hypervisor */
    const char *spec_json;    /* never NULL; "{}" at least */
    const uint8_t *user_data; /* rendered cloud-init user-data, may be NULL */
    size_t user_data_len;
    const uint8_t *meta_data; /* cloud-init meta-data, may be NULL */
    size_t meta_data_len;
    const uint8_t *network_data; /* cloud-init network-config, may be NULL */
    size_t network_data_len;
} vrt_vm_spec;

/* What describe and list report about one VM.  The caller sets
 * struct_size; the plugin writes only what that size covers. */
typedef struct vrt_vm_info {
    uint32_t struct_size;
    int32_t exists;      /* 0 when the id names nothing */
    int32_t power_state; /* VRT_POWER_* */
    uint32_t ip_count;
    char id[VRT_ID_MAX];
    char name[VRT_NAME_MAX];
    char ips[VRT_IPS_MAX][VRT_IP_MAX];
    char console_url[VRT_URL_MAX];
    uint32_t cpus;       /* as running now, 0 if unknown */
    uint32_t reserved;
    uint64_t memory_mib; /* as running now, 0 if unknown */
    /* Provider-specific details as a JSON object, allocated with
     * host->alloc by the plugin, owned and freed (host->free) by the
     * caller; may be NULL.  In list callbacks it is borrowed instead. */
    char *raw_json;
} vrt_vm_info;

/* Provider capabilities (bits of vrt_caps.caps and of the vtable's caps,
 * which states what the plugin could ever do; a connection may report
 * fewer). */
#define VRT_CAP_RECONFIGURE (1ull << 0)
#define VRT_CAP_RECONFIGURE_ONLINE (1ull << 1)
#define VRT_CAP_DISK_EXPAND_ONLINE (1ull << 2)
#define VRT_CAP_SNAPSHOTS (1ull << 3)
#define VRT_CAP_MEMORY_SNAPSHOTS (1ull << 4)
#define VRT_CAP_SNAPSHOT_REVERT (1ull << 5)
#define VRT_CAP_CLONE (1ull << 6)
#define VRT_CAP_LINKED_CLONES (1ull << 7)
#define VRT_CAP_IMAGE_IMPORT (1ull << 8)
#define VRT_CAP_DISK_EXPORT (1ull << 9)
#define VRT_CAP_DISK_IMPORT (1ull << 10)
#define VRT_CAP_EXPORT_COMPRESSION (1ull << 11)
#define VRT_CAP_HARDWARE_UPGRADE (1ull << 12)
#define VRT_CAP_LIST_VMS (1ull << 13)
#define VRT_CAP_CONSOLE (1ull << 14)
#define VRT_CAP_GRACEFUL_SHUTDOWN (1ull << 15)
#define VRT_CAP_ALL_1_0_ ((1ull << 16) - 1) /* not a cap: the bits of 1.0 */
#define VRT_CAP_HOSTS (1ull << 16) /* since 1.1: list_hosts */

typedef struct vrt_caps {
    uint32_t struct_size;  /* set by the caller */
    uint32_t disk_formats; /* VRT_DISK_* the plugin can export/import */
    uint64_t caps;         /* VRT_CAP_* this connection supports */
} vrt_caps;

/* A snapshot request.  Borrowed. */
typedef struct vrt_snapshot_spec {
    uint32_t struct_size;
    int32_t include_memory;
    int32_t quiesce;
    uint32_t reserved;
    const char *name;        /* a hint; the plugin returns the real id */
    const char *description; /* may be NULL */
} vrt_snapshot_spec;

/* A clone request.  Borrowed. */
typedef struct vrt_clone_spec {
    uint32_t struct_size;
    int32_t linked;            /* linked clone (copy-on-write) */
    const char *source_vm_id;
    const char *snapshot_id;   /* clone from this snapshot, may be NULL */
    const char *target_name;
    const char *spec_json;     /* class / placement / customization; "{}" */
} vrt_clone_spec;

/* Information about one disk.  Caller sets struct_size. */
typedef struct vrt_disk_info {
    uint32_t struct_size;
    uint32_t format; /* one VRT_DISK_* bit */
    uint64_t virtual_size;
    uint64_t actual_size;
    int32_t bootable;
    uint32_t reserved;
    char id[VRT_ID_MAX];
    char path[VRT_URL_MAX];
    char backing_path[VRT_URL_MAX]; /* empty when none */
} vrt_disk_info;

/* Which disk to export.  Borrowed. */
typedef struct vrt_export_spec {
    uint32_t struct_size;
    uint32_t format;         /* the VRT_DISK_* format wanted */
    uint64_t offset;         /* resume from this byte of the stream */
    const char *vm_id;
    const char *disk_id;     /* NULL = the boot disk */
    const char *snapshot_id; /* export as of this snapshot, may be NULL */
} vrt_export_spec;

/* Where an imported disk goes.  Borrowed. */
typedef struct vrt_import_spec {
    uint32_t struct_size;
    uint32_t format;           /* VRT_DISK_* of the bytes written */
    uint64_t size_bytes;       /* stream length if known, else 0 */
    uint64_t virtual_size;     /* logical disk size */
    const char *target_name;   /* name for the new disk */
    const char *storage_hint;  /* pool / datastore / storage, may be NULL */
} vrt_import_spec;

/* A byte stream for disk export or import, opaque, owned by the plugin
 * until closed with the matching close/finish/abort method. */
typedef struct vrt_stream vrt_stream;

/* Console access. */
typedef struct vrt_console_info {
    uint32_t struct_size; /* set by the caller */
    uint32_t reserved;
    uint64_t expires_ms;  /* wall clock; 0 = does not expire */
    char url[VRT_URL_MAX];
    char kind[32];        /* "vnc", "spice", "webmks", "serial"... */
} vrt_console_info;

/* One placement target (host / node) reported by list_hosts.  Borrowed. */
typedef struct vrt_host_info {
    uint32_t struct_size;
    int32_t available;
    uint32_t cpus;
    uint32_t vm_count;
    uint64_t memory_mib;
    uint64_t memory_free_mib;
    char name[VRT_NAME_MAX];
} vrt_host_info;

/* ---------------------------------------------------------------------- */
/* The provider vtable                                                     */
/* ---------------------------------------------------------------------- */

/* Opaque connection state owned by the plugin. */
typedef struct vrt_conn vrt_conn;

/* Parameters to open a connection.  Borrowed for the open call; the plugin
 * copies what it keeps.  `ctx` stays valid until close. */
typedef struct vrt_conn_params {
    uint32_t struct_size;
    uint32_t flags;          /* 0 */
    const char *endpoint;    /* Provider.spec.endpoint */
    const char *config_json; /* Provider.spec as JSON; "{}" at least */
    vrt_host_ctx *ctx;       /* for log / secret_get */
} vrt_conn_params;

/* vtable flags */
#define VRT_PROVIDER_SERIALIZE (1u << 0) /* host never calls one conn from
                                            two threads at once */

/*
 * Thread contract.  Unless the vtable sets VRT_PROVIDER_SERIALIZE, the host
 * may call any method of one connection from several threads at once,
 * except `open` and `close`, which never overlap another call on that
 * connection.  A stream is used by one thread at a time.  Different
 * connections are independent.
 *
 * Ids.  A VM id returned by create or clone is stable for the VM's life, at
 * most VRT_ID_MAX-1 bytes, and is what every later call names the VM by.
 *
 * Idempotency.  create with the name of a VM that this plugin already
 * created with the same spec returns VRT_OK and that VM's id (the host may
 * retry after a crash); delete of an id that no longer exists returns
 * VRT_E_NOTFOUND, which the host treats as done.
 */
typedef struct vrt_provider {
    uint32_t abi;         /* VRT_ABI_VERSION the plugin was built for */
    uint32_t struct_size; /* sizeof(vrt_provider) as the plugin built it */
    uint64_t caps;        /* VRT_CAP_* the plugin can ever offer */
    uint32_t flags;       /* VRT_PROVIDER_* */
    uint32_t reserved;
    const char *name;     /* unique provider type, [a-z0-9_-]{1,31} */
    const char *version;  /* the plugin's own version string */

    /* --- mandatory since 1.0 ------------------------------------------ */

    /* Opens a connection.  On success *out is owned by the caller and
     * released with close.  Should not contact the endpoint for long:
     * validate does the health check. */
    int32_t (*open)(vrt_conn **out, const vrt_conn_params *params,
                    uint32_t flags, vrt_error *err);
    /* Releases everything the connection holds.  NULL-safe.  Never fails. */
    void (*close)(vrt_conn *conn);

    /* Checks that the endpoint is reachable and the credentials work. */
    int32_t (*validate)(vrt_conn *conn, const vrt_call *call, uint32_t flags,
                        vrt_error *err);

    /* Reports what this connection supports. */
    int32_t (*capabilities)(vrt_caps *out, vrt_conn *conn,
                            const vrt_call *call, uint32_t flags,
                            vrt_error *err);

    /* Creates (but does not power on) a VM.  Writes its id to `id` (always,
     * even when a task is returned) and a task to `task` (empty id = done). */
    int32_t (*create)(char id[VRT_ID_MAX], vrt_task_ref *task, vrt_conn *conn,
                      const vrt_call *call, const vrt_vm_spec *spec,
                      uint32_t flags, vrt_error *err);

    /* Deletes a VM and the disks it owns.  VRT_E_NOTFOUND when absent. */
    int32_t (*destroy)(vrt_task_ref *task, vrt_conn *conn,
                       const vrt_call *call, const char *id, uint32_t flags,
                       vrt_error *err);

    /* Power operation; `graceful_timeout_s` applies to
     * VRT_POWER_OP_SHUTDOWN_GRACEFUL: after it the VM is powered off. */
    int32_t (*power)(vrt_task_ref *task, vrt_conn *conn, const vrt_call *call,
                     const char *id, int32_t op, uint32_t graceful_timeout_s,
                     uint32_t flags, vrt_error *err);

    /* Reports the VM.  A missing VM is VRT_OK with out->exists = 0. */
    int32_t (*describe)(vrt_vm_info *out, vrt_conn *conn,
                        const vrt_call *call, const char *id, uint32_t flags,
                        vrt_error *err);

    /* Polls a task returned by another method.  VRT_E_NOTFOUND for an
     * unknown task id (e.g. the hypervisor forgot it). */
    int32_t (*task_status)(vrt_task_status *out, vrt_conn *conn,
                           const vrt_call *call, const char *task_id,
                           uint32_t flags, vrt_error *err);

    /* --- optional since 1.0 (NULL = not supported) -------------------- */

    /* Makes the VM match `spec` (CPU, memory, disk growth).  Online when
     * the VM is running and VRT_CAP_RECONFIGURE_ONLINE is set. */
    int32_t (*reconfigure)(vrt_task_ref *task, vrt_conn *conn,
                           const vrt_call *call, const char *id,
                           const vrt_vm_spec *spec, uint32_t flags,
                           vrt_error *err);

    /* Upgrades the virtual hardware version (vSphere "vmx-NN"). */
    int32_t (*hardware_upgrade)(vrt_task_ref *task, vrt_conn *conn,
                                const vrt_call *call, const char *id,
                                uint32_t target_version, uint32_t flags,
                                vrt_error *err);

    int32_t (*snapshot_create)(char snapshot_id[VRT_ID_MAX],
                               vrt_task_ref *task, vrt_conn *conn,
                               const vrt_call *call, const char *vm_id,
                               const vrt_snapshot_spec *spec, uint32_t flags,
                               vrt_error *err);
    int32_t (*snapshot_delete)(vrt_task_ref *task, vrt_conn *conn,
                               const vrt_call *call, const char *vm_id,
                               const char *snapshot_id, uint32_t flags,
                               vrt_error *err);
    int32_t (*snapshot_revert)(vrt_task_ref *task, vrt_conn *conn,
                               const vrt_call *call, const char *vm_id,
                               const char *snapshot_id, uint32_t flags,
                               vrt_error *err);

    /* Clones a VM; writes the new VM's id. */
    int32_t (*clone)(char target_id[VRT_ID_MAX], vrt_task_ref *task,
                     vrt_conn *conn, const vrt_call *call,
                     const vrt_clone_spec *spec, uint32_t flags,
                     vrt_error *err);

    /* Makes an image (VMImage.spec as JSON) usable on the hypervisor under
     * `target_name`; writes the prepared image's id or path. */
    int32_t (*image_prepare)(char image_id[VRT_ID_MAX], vrt_task_ref *task,
                             vrt_conn *conn, const vrt_call *call,
                             const char *image_json, const char *target_name,
                             uint32_t flags, vrt_error *err);

    /* Lists VMs: calls visit(opaque, const vrt_vm_info *) once per VM. */
    int32_t (*list_vms)(vrt_conn *conn, const vrt_call *call,
                        vrt_visit_fn visit, void *opaque, uint32_t flags,
                        vrt_error *err);

    int32_t (*disk_info)(vrt_disk_info *out, vrt_conn *conn,
                         const vrt_call *call, const char *vm_id,
                         const char *disk_id, uint32_t flags, vrt_error *err);

    /* Disk export as a pull stream.  *out is owned by the caller until
     * stream_close.  *size receives the stream length when known (the
     * bytes it will deliver, from spec->offset on), else 0. */
    int32_t (*disk_export_open)(vrt_stream **out, uint64_t *size,
                                vrt_conn *conn, const vrt_call *call,
                                const vrt_export_spec *spec, uint32_t flags,
                                vrt_error *err);
    /* Reads up to `len` bytes; *nread = 0 with VRT_OK means end of stream.
     * May return VRT_E_AGAIN. */
    int32_t (*stream_read)(size_t *nread, vrt_stream *s, uint8_t *buf,
                           size_t len, uint32_t flags, vrt_error *err);
    /* Closes an export stream.  NULL-safe. */
    void (*stream_close)(vrt_stream *s);

    /* Disk import as a push stream: write all bytes, then finish (which
     * returns the new disk's id) or abort (which removes the partial
     * disk).  Exactly one of finish / abort releases the stream. */
    int32_t (*disk_import_open)(vrt_stream **out, vrt_conn *conn,
                                const vrt_call *call,
                                const vrt_import_spec *spec, uint32_t flags,
                                vrt_error *err);
    int32_t (*stream_write)(vrt_stream *s, const uint8_t *buf, size_t len,
                            uint32_t flags, vrt_error *err);
    int32_t (*stream_finish)(char disk_id[VRT_ID_MAX], vrt_stream *s,
                             uint32_t flags, vrt_error *err);
    void (*stream_abort)(vrt_stream *s);

#if VRT_ABI_TARGET_MINOR >= 1
    /* --- optional since 1.1 ------------------------------------------- */

    /* A console URL, possibly with a short-lived ticket. */
    int32_t (*console)(vrt_console_info *out, vrt_conn *conn,
                       const vrt_call *call, const char *id, uint32_t flags,
                       vrt_error *err);

    /* Lists placement targets: visit(opaque, const vrt_host_info *). */
    int32_t (*list_hosts)(vrt_conn *conn, const vrt_call *call,
                          vrt_visit_fn visit, void *opaque, uint32_t flags,
                          vrt_error *err);
#endif
} vrt_provider;

/*
 * The entry point every plugin exports under VRT_PROVIDER_ENTRY_SYMBOL.
 *
 * The host passes its services and its ABI version.  The plugin refuses
 * (returns VRT_E_NOTSUPP with a message) if the major differs or if it needs
 * a host newer than `host_abi`; otherwise it stores a pointer to its const,
 * static vtable in *out.  The vtable stays owned by the plugin and valid
 * until unload.  Called once per load, before any other call.
 */
typedef int32_t (*vrt_provider_entry_fn)(const vrt_host_api *host,
                                         uint32_t host_abi,
                                         const vrt_provider **out,
                                         vrt_error *err);

/* Size of a published structure as of a given minor, for hosts that check
 * minimum sizes and plugins that advertise an older minor. */
#define VRT_PROVIDER_SIZE_1_0 (offsetof(vrt_provider, stream_abort) + sizeof(void (*)(void)))
#define VRT_HOST_API_SIZE_1_0 sizeof(vrt_host_api)

/* ---------------------------------------------------------------------- */
/* Layout guards: an accidental change breaks the build, not users.        */
/* ---------------------------------------------------------------------- */

#if defined(__x86_64__) || defined(__aarch64__)
#ifdef __cplusplus
#define VRT_STATIC_ASSERT_ static_assert
#else
#define VRT_STATIC_ASSERT_ _Static_assert
#endif
VRT_STATIC_ASSERT_(sizeof(vrt_error) == 272, "vrt_error layout");
VRT_STATIC_ASSERT_(offsetof(vrt_error, message) == 16, "vrt_error layout");
VRT_STATIC_ASSERT_(sizeof(vrt_call) == 24, "vrt_call layout");
VRT_STATIC_ASSERT_(sizeof(vrt_host_api) == 80, "vrt_host_api layout");
VRT_STATIC_ASSERT_(sizeof(vrt_task_status) == 304, "vrt_task_status layout");
VRT_STATIC_ASSERT_(sizeof(vrt_vm_spec) == 72, "vrt_vm_spec layout");
VRT_STATIC_ASSERT_(sizeof(vrt_vm_info) == 2472, "vrt_vm_info layout");
VRT_STATIC_ASSERT_(offsetof(vrt_vm_info, raw_json) == 2464, "vrt_vm_info layout");
VRT_STATIC_ASSERT_(sizeof(vrt_caps) == 16, "vrt_caps layout");
VRT_STATIC_ASSERT_(sizeof(vrt_snapshot_spec) == 32, "vrt_snapshot_spec layout");
VRT_STATIC_ASSERT_(sizeof(vrt_clone_spec) == 40, "vrt_clone_spec layout");
VRT_STATIC_ASSERT_(sizeof(vrt_disk_info) == 2208, "vrt_disk_info layout");
VRT_STATIC_ASSERT_(sizeof(vrt_export_spec) == 40, "vrt_export_spec layout");
VRT_STATIC_ASSERT_(sizeof(vrt_import_spec) == 40, "vrt_import_spec layout");
VRT_STATIC_ASSERT_(sizeof(vrt_console_info) == 1072, "vrt_console_info layout");
VRT_STATIC_ASSERT_(sizeof(vrt_host_info) == 288, "vrt_host_info layout");
VRT_STATIC_ASSERT_(sizeof(vrt_conn_params) == 32, "vrt_conn_params layout");
VRT_STATIC_ASSERT_(offsetof(vrt_provider, open) == 40, "vrt_provider layout");
VRT_STATIC_ASSERT_(offsetof(vrt_provider, stream_abort) == 40 + 8 * 24,
                   "vrt_provider 1.0 layout");
#if VRT_ABI_TARGET_MINOR >= 1
VRT_STATIC_ASSERT_(offsetof(vrt_provider, console) == 40 + 8 * 25,
                   "vrt_provider 1.1 layout");
VRT_STATIC_ASSERT_(sizeof(vrt_provider) == 40 + 8 * 27,
                   "vrt_provider 1.1 layout");
#endif
#undef VRT_STATIC_ASSERT_
#endif

#ifdef __cplusplus
}
#endif

#endif /* VIRTRIGAUD_PROVIDER_H */
