/*
 * vs.h - the vSphere provider: one connection (vrt_conn) holds a vim25 SOAP
 * session (cookie, service content, a container view of the VMs), a few
 * reusable curl handles and the tasks the host polls.  Everything crosses
 * the wire as SOAP over libcurl; responses are parsed with libxml2 and
 * matched by namespace URI, never by prefix (vcsim writes
 * "XMLSchema-instance:type" where vCenter writes "xsi:type").
 *
 * VM ids are the VMs' config.instanceUuid: chosen by us before a clone
 * starts, so create can return the id at once, and stable across renames
 * and re-registration, unlike a managed object reference.
 */
#ifndef VS_H
#define VS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <libxml/tree.h>
#include <virtrigaud/provider.h>

#define VS_FMT(a, b) __attribute__((format(printf, a, b)))
#define VS_WUR __attribute__((warn_unused_result))

#define VS_REF_MAX 160 /* a managed object reference value */
#define VS_IDLE_CURL 4 /* curl handles kept for reuse */

/* The host's services, set once by the entry point. */
extern const vrt_host_api *vs_host;

/* ---- vs_util.c: errors, memory, strings ------------------------------ */

int vs_err(vrt_error *err, int32_t code, const char *fmt, ...) VS_FMT(3, 4);
_Noreturn void vs_oom(void);
void *vs_xcalloc(size_t n, size_t size);
char *vs_xstrdup(const char *s); /* NULL in, NULL out */
size_t vs_strlcpy(char *dst, const char *src, size_t size);
int vs_is_uuid(const char *s);
/* A fresh random (version 4) UUID in lower case. */
void vs_uuid_new(char out[37]);
int vs_flags_ok(uint32_t flags, const char *method, vrt_error *err);
int vs_out_ok(const void *out, const char *what, vrt_error *err);
void vs_out_put(void *out, const void *full, size_t full_size);
void vs_wipe(void *p, size_t n);
/* "https://user:pw@host/sdk" -> "https://host/sdk" for messages. */
void vs_url_redact(char *dst, size_t size, const char *url);
/* Hex SHA-256 of a canonical rendering of a JSON document (keys sorted). */
VS_WUR int vs_spec_hash(char out[65], const char *json, vrt_error *err);

/* A growing string; out of memory aborts. */
typedef struct vs_buf {
    char *s;
    size_t len, cap;
} vs_buf;
void vs_buf_add(vs_buf *b, const char *fmt, ...) VS_FMT(2, 3);
/* Appends s with &, <, >, " and ' escaped (and control bytes dropped). */
void vs_buf_esc(vs_buf *b, const char *s);
/* Appends <tag>escaped text</tag>. */
void vs_buf_elem(vs_buf *b, const char *tag, const char *text);
void vs_buf_free(vs_buf *b);

/* ---- vs_xml.c: responses --------------------------------------------- */

#define VS_NS_SOAP "http://schemas.xmlsoap.org/soap/envelope/"
#define VS_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"

/* The first element child of n named `local` (any namespace), or NULL. */
xmlNode *vs_xml_child(const xmlNode *n, const char *local);
/* The next element sibling of n named `local`. */
xmlNode *vs_xml_next(const xmlNode *n, const char *local);
/* Copies the text of n (trimmed) into buf; "" for NULL.  Returns buf. */
const char *vs_xml_text(char *buf, size_t size, const xmlNode *n);
/* The text of child `local` of n. */
const char *vs_xml_ctext(char *buf, size_t size, const xmlNode *n,
                         const char *local);
/* The xsi:type of n by namespace URI, without an "xsd:" style prefix;
 * copied into buf; "" when absent. */
const char *vs_xml_type(char *buf, size_t size, const xmlNode *n);
/* Finds the SOAP body's first element; on a fault fills err (code from the
 * fault's type) and returns the code; `fault` receives the fault type
 * (e.g. "NotAuthenticated") when it is given. */
VS_WUR int vs_xml_body(xmlNode **out, char fault[64], xmlDoc *doc,
                       const char *what, vrt_error *err);
/* The VRT_E_* for a vim25 fault type. */
int32_t vs_fault_code(const char *fault);

/* ---- vs_vmdk.c: VMDK descriptors --------------------------------------- */

/* One extent of a flat disk, in the order of the disk's bytes. */
typedef struct vs_extent {
    char file[256];  /* relative to the descriptor's folder; "" = ZERO */
    uint64_t start;  /* byte offset of the extent in its file */
    uint64_t size;   /* bytes */
} vs_extent;
#define VS_EXTENTS_MAX 4096

/* The extents of the disk a VMDK text descriptor (`len` bytes, not
 * NUL-terminated) describes; *out is malloc'ed (free).  VRT_E_NOTSUPP
 * for what is not a flat disk (sparse or delta extents, a child of a
 * parent disk, a binary sparse header), VRT_E_INVALID for a malformed
 * descriptor; `what` names the disk in messages. */
VS_WUR int vs_vmdk_extents(vs_extent **out, size_t *n, const char *text,
                           size_t len, const char *what, vrt_error *err);

/* ---- vs_config.c: Provider settings and spec_json -------------------- */

typedef struct vs_config {
    int insecure;        /* insecureSkipVerify */
    char *datacenter;    /* vsphere.datacenter */
    char *datastore, *cluster, *folder, *resource_pool, *host; /* defaults */
    uint32_t graceful_timeout_s;
    uint32_t keepalive_s; /* probe the session after this much idle time */
} vs_config;
VS_WUR int vs_config_parse(vs_config *cfg, const char *json, vrt_error *err);
void vs_config_free(vs_config *cfg);

typedef struct vs_spec {
    int has_cpu, has_memory;
    uint32_t cpu;
    uint64_t memory_mib;
    char *template_name; /* image.templateName (or image.template) */
    char *datastore, *cluster, *folder, *resource_pool, *host; /* placement */
    int adopt;
    char hash[65]; /* fingerprint of the whole spec_json */
} vs_spec;
VS_WUR int vs_spec_parse(vs_spec **out, const char *json, vrt_error *err);
void vs_spec_free(vs_spec *s);

/* ---- vs_soap.c: transport and session -------------------------------- */

/* A task the plugin tracks itself (see vs_task.c). */
typedef struct vs_task {
    char id[VRT_ID_MAX];
    int kind;                 /* VS_TASK_* */
    int step;
    char vim[VS_REF_MAX];     /* the vim25 Task being waited for */
    char vm[64];              /* the VM's uuid */
    uint32_t cpu;             /* create: what the new VM must have */
    uint64_t memory_mib;
    char host[VS_REF_MAX];    /* create: the HostSystem placement chose */
    char hash[65];
    uint64_t deadline_ms;     /* graceful shutdown: power off after this */
    int done;
    vrt_error error;
} vs_task;
#define VS_TASK_CREATE 1
#define VS_TASK_SHUTDOWN 2

struct vrt_conn {
    vrt_host_ctx *ctx;
    char *url;                  /* https://host[:port]/sdk, no userinfo */
    char url_safe[VRT_URL_MAX];
    vs_config cfg;
    char *ca_pem;               /* from the secret's ca.crt, or NULL */

    pthread_mutex_t lock;       /* guards everything below */
    char cookie[512];           /* "vmware_soap_session=..." or "" */
    uint64_t gen;               /* bumped at each login */
    uint64_t last_ok_ms;        /* last successful call */
    char root[VS_REF_MAX], pc[VS_REF_MAX], views[VS_REF_MAX],
        search[VS_REF_MAX], sessmgr[VS_REF_MAX];
    char vm_view[VS_REF_MAX];   /* ContainerView of all VMs, per session */
    vs_task *tasks;
    size_t ntasks;
    uint64_t task_seq;

    /* a lock of its own: logins post while holding `lock` */
    pthread_mutex_t pool_lock;  /* guards the members below */
    void *idle[VS_IDLE_CURL];   /* CURL * kept for connection reuse */
    int nidle;
    uint64_t round_trips;       /* SOAP calls made, for logs and tests */
};

/* Logs through the host; formats only if the level is wanted. */
void vs_log(vrt_conn *c, int32_t level, const char *fmt, ...) VS_FMT(3, 4);
uint64_t vs_now_ms(void);
/* VRT_E_INVALID for a malformed call record, CANCELED / TIMEOUT when it
 * should stop, else VRT_OK. */
VS_WUR int vs_call_check(const vrt_call *call, const char *what,
                         vrt_error *err);
void vs_sleep_ms(uint32_t ms);

/*
 * Sends one SOAP request whose body element is `body` (method element with
 * xmlns="urn:vim25") and parses the answer.  Logs in first when there is no
 * session, and once more when the server says the session is gone
 * (NotAuthenticated: expired, terminated).  On success *doc is owned by the
 * caller (xmlFreeDoc) and *resp is the response element inside it.  `what`
 * names the operation in messages.  `fault` (may be NULL) receives the
 * vim25 fault type on failure.
 */
VS_WUR int vs_soap(xmlDoc **doc, xmlNode **resp, char fault[64], vrt_conn *c,
                   const vrt_call *call, const char *body, const char *what,
                   vrt_error *err);
/* The session's managed objects, copied under the lock (after a login). */
void vs_refs(vrt_conn *c, char root[VS_REF_MAX], char pc[VS_REF_MAX],
             char views[VS_REF_MAX], char search[VS_REF_MAX]);
/* Logs in now if there is no session, probing an idle one first. */
VS_WUR int vs_session_ensure(vrt_conn *c, const vrt_call *call,
                             vrt_error *err);
void vs_session_logout(vrt_conn *c);
/* Reads the optional CA bundle ("ca.crt") from the credentials secret. */
VS_WUR int vs_secret_ca(vrt_conn *c, vrt_error *err);
void vs_conn_global_init(void);
/* The connection's TLS settings (insecureSkipVerify, the secret's CA) on
 * curl handle h (a CURL *), for every request to the server. */
void vs_curl_tls(vrt_conn *c, void *h);
/* Releases the curl handles kept for reuse. */
void vs_curl_free_idle(vrt_conn *c);

/* ---- vs_pc.c: PropertyCollector reads -------------------------------- */

/* What the plugin reads about a VM. */
typedef struct vs_vm {
    char ref[VS_REF_MAX];
    char name[VRT_NAME_MAX];
    char uuid[64];
    int power; /* VRT_POWER_* */
    int is_template;
    uint32_t cpus;
    uint64_t memory_mib;
    uint32_t ip_count;
    char ips[VRT_IPS_MAX][VRT_IP_MAX];
    char spec_hash[65];   /* our marker in extraConfig, "" when none */
    char pool[VS_REF_MAX];   /* resourcePool */
    char parent[VS_REF_MAX]; /* folder */
    char host[VS_REF_MAX];   /* runtime.host */
    const xmlNode *snapshot; /* borrowed from the document read */
} vs_vm;

/* Properties read for a VM; `full` adds extraConfig and snapshot. */
void vs_vm_pathset(vs_buf *b, int full);
void vs_vm_from_xml(vs_vm *vm, const char *ref, const xmlNode *objects);

typedef int (*vs_obj_fn)(void *opaque, const char *type, const char *ref,
                         const xmlNode *objects);
/* RetrievePropertiesEx (and its continuations) with `specset` (the inner
 * XML of <specSet>), calling fn once per object.  fn returns 0 to go on. */
VS_WUR int vs_pc_retrieve(vrt_conn *c, const vrt_call *call,
                          const char *specset, vs_obj_fn fn, void *opaque,
                          const char *what, vrt_error *err);
/* All VMs (templates too) through the session's container view, one
 * object per callback; `full` as for vs_vm_pathset. */
VS_WUR int vs_vm_each(vrt_conn *c, const vrt_call *call, int full,
                      vs_obj_fn fn, void *opaque, vrt_error *err);
/* The VM whose instanceUuid is `id`: *found = 0 when there is none.  The
 * document holding vm->snapshot is returned in *doc (may be NULL when
 * doc is NULL; then vm->snapshot is NULL). */
VS_WUR int vs_vm_get(vs_vm *vm, int *found, xmlDoc **doc, vrt_conn *c,
                     const vrt_call *call, const char *id, vrt_error *err);
/* Like vs_vm_get, but VRT_E_NOTFOUND (or INVALID for a malformed id) when
 * the VM does not exist. */
VS_WUR int vs_vm_need(vs_vm *vm, xmlDoc **doc, vrt_conn *c,
                      const vrt_call *call, const char *id, vrt_error *err);
/* Every object of `type` in the inventory (a temporary ContainerView),
 * with the properties `paths`, one per callback. */
VS_WUR int vs_each_of_type(vrt_conn *c, const vrt_call *call,
                           const char *type, const char *const *paths,
                           size_t npaths, vs_obj_fn fn, void *opaque,
                           const char *what, vrt_error *err);
/* The managed object of `type` named `name` (first match); VRT_E_NOTFOUND
 * naming `what` when none. */
VS_WUR int vs_find_named(char ref[VS_REF_MAX], vrt_conn *c,
                         const vrt_call *call, const char *type,
                         const char *name, const char *what, vrt_error *err);
/* One property of one object as text (a reference's value); out_type (may
 * be NULL) receives the reference's type attribute. */
VS_WUR int vs_get_ref_prop(char out[VS_REF_MAX], char out_type[64],
                           vrt_conn *c, const vrt_call *call,
                           const char *type, const char *ref,
                           const char *path, vrt_error *err);

/* ---- vs_task.c ------------------------------------------------------- */

/* Reads Task.info: *state 0 running/queued, 1 success, -1 error (err
 * filled from info.error), result moref text into `result` if given. */
VS_WUR int vs_vimtask_poll(int *state, char result[VS_REF_MAX], vrt_conn *c,
                           const vrt_call *call, const char *task,
                           const char *what, vrt_error *task_err,
                           vrt_error *err);
/* Waits for a vim25 task until it ends or the call's deadline (default
 * 10 minutes); VRT_OK only on success. */
VS_WUR int vs_vimtask_wait(char result[VS_REF_MAX], vrt_conn *c,
                           const vrt_call *call, const char *task,
                           const char *what, vrt_error *err);
/* Starts a method that returns a Task; writes the task's reference. */
VS_WUR int vs_task_start(char task[VS_REF_MAX], vrt_conn *c,
                         const vrt_call *call, const char *body,
                         const char *what, vrt_error *err);
/* Records a plugin task and writes its id. */
void vs_tasks_add(vrt_task_ref *out, vrt_conn *c, vs_task *t);
/* Hands a vim25 task to the host as "vim:<ref>". */
void vs_task_ref_vim(vrt_task_ref *out, const char *vim);

/* ---- the provider methods (vs_vm.c, vs_ops.c, vs_describe.c) -------- */

int32_t vs_open(vrt_conn **out, const vrt_conn_params *params, uint32_t flags,
                vrt_error *err);
void vs_close(vrt_conn *c);
int32_t vs_validate(vrt_conn *c, const vrt_call *call, uint32_t flags,
                    vrt_error *err);
int32_t vs_capabilities(vrt_caps *out, vrt_conn *c, const vrt_call *call,
                        uint32_t flags, vrt_error *err);
int32_t vs_create(char id[VRT_ID_MAX], vrt_task_ref *task, vrt_conn *c,
                  const vrt_call *call, const vrt_vm_spec *spec,
                  uint32_t flags, vrt_error *err);
int32_t vs_clone(char target_id[VRT_ID_MAX], vrt_task_ref *task, vrt_conn *c,
                 const vrt_call *call, const vrt_clone_spec *spec,
                 uint32_t flags, vrt_error *err);
int32_t vs_destroy(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                   const char *id, uint32_t flags, vrt_error *err);
int32_t vs_power(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                 const char *id, int32_t op, uint32_t graceful_timeout_s,
                 uint32_t flags, vrt_error *err);
int32_t vs_describe(vrt_vm_info *out, vrt_conn *c, const vrt_call *call,
                    const char *id, uint32_t flags, vrt_error *err);
int32_t vs_task_status(vrt_task_status *out, vrt_conn *c,
                       const vrt_call *call, const char *task_id,
                       uint32_t flags, vrt_error *err);
int32_t vs_reconfigure(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                       const char *id, const vrt_vm_spec *spec,
                       uint32_t flags, vrt_error *err);
int32_t vs_snapshot_create(char snapshot_id[VRT_ID_MAX], vrt_task_ref *task,
                           vrt_conn *c, const vrt_call *call,
                           const char *vm_id, const vrt_snapshot_spec *spec,
                           uint32_t flags, vrt_error *err);
int32_t vs_snapshot_delete(vrt_task_ref *task, vrt_conn *c,
                           const vrt_call *call, const char *vm_id,
                           const char *snapshot_id, uint32_t flags,
                           vrt_error *err);
int32_t vs_snapshot_revert(vrt_task_ref *task, vrt_conn *c,
                           const vrt_call *call, const char *vm_id,
                           const char *snapshot_id, uint32_t flags,
                           vrt_error *err);
int32_t vs_list_vms(vrt_conn *c, const vrt_call *call, vrt_visit_fn visit,
                    void *opaque, uint32_t flags, vrt_error *err);
int32_t vs_list_hosts(vrt_conn *c, const vrt_call *call, vrt_visit_fn visit,
                      void *opaque, uint32_t flags, vrt_error *err);
int32_t vs_disk_export_open(vrt_stream **out, uint64_t *size, vrt_conn *c,
                            const vrt_call *call, const vrt_export_spec *spec,
                            uint32_t flags, vrt_error *err);
int32_t vs_stream_read(size_t *nread, vrt_stream *s, uint8_t *buf, size_t len,
                       uint32_t flags, vrt_error *err);
void vs_stream_close(vrt_stream *s);
int32_t vs_disk_info(vrt_disk_info *out, vrt_conn *c, const vrt_call *call,
                     const char *vm_id, const char *disk_id, uint32_t flags,
                     vrt_error *err);

#endif /* VS_H */
