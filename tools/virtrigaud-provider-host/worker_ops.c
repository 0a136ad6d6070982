/*
 * The worker's side of each provider method: rebuild the arguments from
 * the request, call the plugin's vtable directly (so that the plugin, not
 * a wrapper here, judges flags and struct sizes), and put the outputs in
 * the reply.  The client's core wrappers settle the answer as they do for
 * a local plugin.
 */
#include "host.h"

#include <vrt/clock.h>

#include <stdlib.h>
#include <string.h>

void worker_call_init(vrt_call *call, vrt_call_ctx *cc, session *s,
                      const cJSON *req);

#define VT(s) vrt_plugin_vtable((s)->plugin)
#define CONN(s) vrt_pconn_conn((s)->pc)
#define FLAGS(req) ((uint32_t)vrt_codec_u64((req), "flags"))
#define STR(req, k) vrt_codec_str((req), (k))

/* The method, or NOTSUPP naming it. */
#define NEED(s, m)                                                             \
    __typeof__(((vrt_provider *)0)->m) fn =                                    \
        VRT_HAS_MEMBER(VT(s), vrt_provider, m) ? VT(s)->m : NULL;              \
    if (!fn)                                                                   \
        return vrt_error_set(err, VRT_E_NOTSUPP,                               \
                             "Provider \"%s\" does not support \"%s\".",       \
                             vrt_plugin_name((s)->plugin), #m)

#define CALL_SETUP(s, req)                                                     \
    vrt_call call;                                                             \
    vrt_call_ctx cc;                                                           \
    worker_call_init(&call, &cc, (s), (req))

typedef struct op_args {
    session *s;
    const cJSON *req;
    cJSON *reply;
    const uint8_t **blob;
    size_t *blob_len;
} op_args;

static uint32_t out_size(const cJSON *req, size_t full)
{
    uint64_t ss = vrt_codec_u64(req, "ss");
    return ss && ss < full ? (uint32_t)ss : (uint32_t)full;
}

static void put_task(cJSON *reply, const vrt_task_ref *t)
{
    char id[VRT_ID_MAX];
    memcpy(id, t->id, sizeof(id));
    id[sizeof(id) - 1] = '\0';
    cJSON_AddStringToObject(reply, "task", id);
}

static void put_id(cJSON *reply, const char *key, char id[VRT_ID_MAX])
{
    id[VRT_ID_MAX - 1] = '\0';
    cJSON_AddStringToObject(reply, key, id);
}

static int op_validate(op_args *a, vrt_error *err)
{
    CALL_SETUP(a->s, a->req);
    return VT(a->s)->validate(CONN(a->s), &call, FLAGS(a->req), err);
}

static int op_capabilities(op_args *a, vrt_error *err)
{
    CALL_SETUP(a->s, a->req);
    vrt_caps caps;
    memset(&caps, 0, sizeof(caps));
    caps.struct_size = out_size(a->req, sizeof(caps));
    int rc = VT(a->s)->capabilities(&caps, CONN(a->s), &call, FLAGS(a->req),
                                    err);
    if (rc == VRT_OK) {
        cJSON_AddNumberToObject(a->reply, "formats", caps.disk_formats);
        vrt_codec_add_mask(a->reply, "caps", caps.caps);
    }
    return rc;
}

/* A vrt_vm_spec from the request; the cloud-init documents are the blobs. */
static const vrt_vm_spec *spec_of(vrt_vm_spec *spec, session *s,
                                  const cJSON *req)
{
    const cJSON *j = cJSON_GetObjectItem(req, "spec");
    if (!j)
        return NULL;
    memset(spec, 0, sizeof(*spec));
    uint64_t ss = vrt_codec_u64(j, "ss");
    spec->struct_size = ss && ss <= sizeof(*spec) ? (uint32_t)ss
                                                  : sizeof(*spec);
    spec->flags = (uint32_t)vrt_codec_u64(j, "flags");
    spec->name = STR(j, "name");
    spec->spec_json = STR(j, "spec");
    const uint8_t **d[3] = {&spec->user_data, &spec->meta_data,
                            &spec->network_data};
    size_t *n[3] = {&spec->user_data_len, &spec->meta_data_len,
                    &spec->network_data_len};
    const cJSON *has = cJSON_GetObjectItem(j, "has");
    for (int i = 0; i < 3 && (size_t)i < s->nblobs; i++) {
        if (!cJSON_IsTrue(cJSON_GetArrayItem(has, i)))
            continue;
        *d[i] = (const uint8_t *)s->blobs[i].data;
        *n[i] = s->blobs[i].len;
    }
    return spec;
}

static int op_create(op_args *a, vrt_error *err)
{
    CALL_SETUP(a->s, a->req);
    vrt_vm_spec spec;
    char id[VRT_ID_MAX] = "";
    vrt_task_ref task = {{0}};
    int rc = VT(a->s)->create(id, &task, CONN(a->s), &call,
                              spec_of(&spec, a->s, a->req), FLAGS(a->req),
                              err);
    put_id(a->reply, "id", id);
    put_task(a->reply, &task);
    return rc;
}

static int op_destroy(op_args *a, vrt_error *err)
{
    CALL_SETUP(a->s, a->req);
    vrt_task_ref task = {{0}};
    int rc = VT(a->s)->destroy(&task, CONN(a->s), &call, STR(a->req, "vm"),
                               FLAGS(a->req), err);
    put_task(a->reply, &task);
    return rc;
}

static int op_power(op_args *a, vrt_error *err)
{
    CALL_SETUP(a->s, a->req);
    vrt_task_ref task = {{0}};
    int rc = VT(a->s)->power(&task, CONN(a->s), &call, STR(a->req, "vm"),
                             (int32_t)vrt_codec_i64(a->req, "power_op"),
                             (uint32_t)vrt_codec_u64(a->req, "graceful"),
                             FLAGS(a->req), err);
    put_task(a->reply, &task);
    return rc;
}

static int op_describe(op_args *a, vrt_error *err)
{
    CALL_SETUP(a->s, a->req);
    vrt_vm_info info;
    memset(&info, 0, sizeof(info));
    info.struct_size = out_size(a->req, sizeof(info));
    int rc = VT(a->s)->describe(&info, CONN(a->s), &call, STR(a->req, "vm"),
                                FLAGS(a->req), err);
    if (rc == VRT_OK)
        cJSON_AddItemToObject(a->reply, "info", vrt_codec_vm_info(&info));
    vrt_host_api_get()->free(info.raw_json);
    return rc;
}

static int op_task_status(op_args *a, vrt_error *err)
{
    CALL_SETUP(a->s, a->req);
    vrt_task_status st;
    memset(&st, 0, sizeof(st));
    st.struct_size = out_size(a->req, sizeof(st));
    int rc = VT(a->s)->task_status(&st, CONN(a->s), &call,
                                   STR(a->req, "task"), FLAGS(a->req), err);
    if (rc == VRT_OK)
        cJSON_AddItemToObject(a->reply, "status", vrt_codec_task_status(&st));
    return rc;
}

static int op_reconfigure(op_args *a, vrt_error *err)
{
    NEED(a->s, reconfigure);
    CALL_SETUP(a->s, a->req);
    vrt_vm_spec spec;
    vrt_task_ref task = {{0}};
    int rc = fn(&task, CONN(a->s), &call, STR(a->req, "vm"),
                spec_of(&spec, a->s, a->req), FLAGS(a->req), err);
    put_task(a->reply, &task);
    return rc;
}

static int op_hardware_upgrade(op_args *a, vrt_error *err)
{
    NEED(a->s, hardware_upgrade);
    CALL_SETUP(a->s, a->req);
    vrt_task_ref task = {{0}};
    int rc = fn(&task, CONN(a->s), &call, STR(a->req, "vm"),
                (uint32_t)vrt_codec_u64(a->req, "version"), FLAGS(a->req),
                err);
    put_task(a->reply, &task);
    return rc;
}

static int op_snapshot_create(op_args *a, vrt_error *err)
{
    NEED(a->s, snapshot_create);
    CALL_SETUP(a->s, a->req);
    const cJSON *j = cJSON_GetObjectItem(a->req, "snap");
    vrt_snapshot_spec spec = {.struct_size = sizeof(spec)};
    if (j) {
        uint64_t ss = vrt_codec_u64(j, "ss");
        spec.struct_size = ss && ss <= sizeof(spec) ? (uint32_t)ss
                                                    : sizeof(spec);
        spec.include_memory = (int32_t)vrt_codec_i64(j, "memory");
        spec.quiesce = (int32_t)vrt_codec_i64(j, "quiesce");
        spec.name = STR(j, "name");
        spec.description = STR(j, "description");
    }
    char id[VRT_ID_MAX] = "";
    vrt_task_ref task = {{0}};
    int rc = fn(id, &task, CONN(a->s), &call, STR(a->req, "vm"),
                j ? &spec : NULL, FLAGS(a->req), err);
    put_id(a->reply, "id", id);
    put_task(a->reply, &task);
    return rc;
}

/* delete and revert share a signature: (vm, snapshot) -> task. */
typedef __typeof__(((vrt_provider *)0)->snapshot_delete) snapshot_fn;

static int snapshot_task(op_args *a, snapshot_fn fn, vrt_error *err)
{
    CALL_SETUP(a->s, a->req);
    vrt_task_ref task = {{0}};
    int rc = fn(&task, CONN(a->s), &call, STR(a->req, "vm"),
                STR(a->req, "snapshot"), FLAGS(a->req), err);
    put_task(a->reply, &task);
    return rc;
}

static int op_snapshot_delete(op_args *a, vrt_error *err)
{
    NEED(a->s, snapshot_delete);
    return snapshot_task(a, fn, err);
}

static int op_snapshot_revert(op_args *a, vrt_error *err)
{
    NEED(a->s, snapshot_revert);
    return snapshot_task(a, fn, err);
}

static int op_clone(op_args *a, vrt_error *err)
{
    NEED(a->s, clone);
    CALL_SETUP(a->s, a->req);
    const cJSON *j = cJSON_GetObjectItem(a->req, "clone");
    vrt_clone_spec spec = {.struct_size = sizeof(spec)};
    if (j) {
        uint64_t ss = vrt_codec_u64(j, "ss");
        spec.struct_size = ss && ss <= sizeof(spec) ? (uint32_t)ss
                                                    : sizeof(spec);
        spec.linked = (int32_t)vrt_codec_i64(j, "linked");
        spec.source_vm_id = STR(j, "source");
        spec.snapshot_id = STR(j, "snapshot");
        spec.target_name = STR(j, "target");
        spec.spec_json = STR(j, "spec");
    }
    char id[VRT_ID_MAX] = "";
    vrt_task_ref task = {{0}};
    int rc = fn(id, &task, CONN(a->s), &call, j ? &spec : NULL,
                FLAGS(a->req), err);
    put_id(a->reply, "id", id);
    put_task(a->reply, &task);
    return rc;
}

static int op_image_prepare(op_args *a, vrt_error *err)
{
    NEED(a->s, image_prepare);
    CALL_SETUP(a->s, a->req);
    char id[VRT_ID_MAX] = "";
    vrt_task_ref task = {{0}};
    int rc = fn(id, &task, CONN(a->s), &call, STR(a->req, "image"),
                STR(a->req, "target"), FLAGS(a->req), err);
    put_id(a->reply, "id", id);
    put_task(a->reply, &task);
    return rc;
}

static int add_vm(void *opaque, const void *item)
{
    const vrt_vm_info *in = item;
    vrt_vm_info copy;
    memset(&copy, 0, sizeof(copy));
    memcpy(&copy, in, in->struct_size < sizeof(copy) ? in->struct_size
                                                      : sizeof(copy));
    cJSON_AddItemToArray(opaque, vrt_codec_vm_info(&copy));
    return 0;
}

static int add_host(void *opaque, const void *item)
{
    const vrt_host_info *in = item;
    vrt_host_info copy;
    memset(&copy, 0, sizeof(copy));
    memcpy(&copy, in, in->struct_size < sizeof(copy) ? in->struct_size
                                                      : sizeof(copy));
    cJSON_AddItemToArray(opaque, vrt_codec_host_info(&copy));
    return 0;
}

static int op_list_vms(op_args *a, vrt_error *err)
{
    NEED(a->s, list_vms);
    CALL_SETUP(a->s, a->req);
    cJSON *items = cJSON_AddArrayToObject(a->reply, "items");
    return fn(CONN(a->s), &call, add_vm, items, FLAGS(a->req), err);
}

static int op_list_hosts(op_args *a, vrt_error *err)
{
    NEED(a->s, list_hosts);
    CALL_SETUP(a->s, a->req);
    cJSON *items = cJSON_AddArrayToObject(a->reply, "items");
    return fn(CONN(a->s), &call, add_host, items, FLAGS(a->req), err);
}

static int op_disk_info(op_args *a, vrt_error *err)
{
    NEED(a->s, disk_info);
    CALL_SETUP(a->s, a->req);
    vrt_disk_info info;
    memset(&info, 0, sizeof(info));
    info.struct_size = out_size(a->req, sizeof(info));
    int rc = fn(&info, CONN(a->s), &call, STR(a->req, "vm"),
                STR(a->req, "disk"), FLAGS(a->req), err);
    if (rc == VRT_OK)
        cJSON_AddItemToObject(a->reply, "info", vrt_codec_disk_info(&info));
    return rc;
}

static int op_console(op_args *a, vrt_error *err)
{
    NEED(a->s, console);
    CALL_SETUP(a->s, a->req);
    vrt_console_info info;
    memset(&info, 0, sizeof(info));
    info.struct_size = out_size(a->req, sizeof(info));
    int rc = fn(&info, CONN(a->s), &call, STR(a->req, "vm"), FLAGS(a->req),
                err);
    if (rc == VRT_OK)
        cJSON_AddItemToObject(a->reply, "info", vrt_codec_console(&info));
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Streams                                                                 */
/* ---------------------------------------------------------------------- */

static void stream_add(op_args *a, vrt_stream *st, int importing)
{
    session *s = a->s;
    wstream *n = realloc(s->streams, (s->nstreams + 1) * sizeof(*n));
    if (!n)
        abort();
    s->streams = n;
    s->streams[s->nstreams++] = (wstream){s->next_stream, st, importing};
    cJSON_AddNumberToObject(a->reply, "stream", s->next_stream++);
}

static wstream *stream_find(session *s, const cJSON *req, vrt_error *err)
{
    double id = (double)vrt_codec_u64(req, "stream");
    for (size_t i = 0; i < s->nstreams; i++)
        if (s->streams[i].id == id)
            return &s->streams[i];
    vrt_error_set(err, VRT_E_NOTFOUND,
                  "No open stream %.0f on this connection.", id);
    return NULL;
}

static void stream_drop(session *s, wstream *w)
{
    size_t i = (size_t)(w - s->streams);
    memmove(w, w + 1, (s->nstreams - i - 1) * sizeof(*w));
    s->nstreams--;
}

/* A stream can be opened only when the plugin can also end it: the
 * loader asks for these only of plugins that claim the capability. */
static int stream_enders(const session *s, int importing, vrt_error *err)
{
    const vrt_provider *vt = VT(s);
    int ok = VRT_HAS_MEMBER(vt, vrt_provider, stream_abort) && vt->stream_abort &&
             (importing || vt->stream_close);
    if (ok)
        return VRT_OK;
    return vrt_error_set(err, VRT_E_NOTSUPP,
                         "Provider \"%s\" cannot end a disk stream "
                         "(stream_close / stream_abort missing).",
                         vrt_plugin_name(s->plugin));
}

static int op_disk_export_open(op_args *a, vrt_error *err)
{
    NEED(a->s, disk_export_open);
    if (stream_enders(a->s, 0, err) != VRT_OK)
        return err->code;
    CALL_SETUP(a->s, a->req);
    const cJSON *j = cJSON_GetObjectItem(a->req, "export");
    vrt_export_spec spec = {.struct_size = sizeof(spec)};
    if (j) {
        uint64_t ss = vrt_codec_u64(j, "ss");
        spec.struct_size = ss && ss <= sizeof(spec) ? (uint32_t)ss
                                                    : sizeof(spec);
        spec.format = (uint32_t)vrt_codec_u64(j, "format");
        spec.offset = vrt_codec_u64(j, "offset");
        spec.vm_id = STR(j, "vm");
        spec.disk_id = STR(j, "disk");
        spec.snapshot_id = STR(j, "snapshot");
    }
    vrt_stream *st = NULL;
    uint64_t size = 0;
    int rc = fn(&st, &size, CONN(a->s), &call, j ? &spec : NULL,
                FLAGS(a->req), err);
    if (rc == VRT_OK && st) {
        stream_add(a, st, 0);
        cJSON_AddNumberToObject(a->reply, "size", (double)size);
    }
    return rc;
}

static int op_stream_read(op_args *a, vrt_error *err)
{
    NEED(a->s, stream_read);
    wstream *w = stream_find(a->s, a->req, err);
    if (!w)
        return VRT_E_NOTFOUND;
    size_t len = (size_t)vrt_codec_u64(a->req, "len");
    if (len > VRT_WIRE_MAX_FRAME)
        len = VRT_WIRE_MAX_FRAME;
    if (a->s->bufsize < len) {
        free(a->s->buf);
        a->s->buf = malloc(len);
        if (!a->s->buf)
            abort();
        a->s->bufsize = len;
    }
    size_t n = 0;
    int rc = fn(&n, w->s, a->s->buf, len, FLAGS(a->req), err);
    if (rc == VRT_OK) {
        if (n > len)
            n = len; /* the client's core reports the lie; do not overrun */
        *a->blob = a->s->buf;
        *a->blob_len = n;
    }
    return rc;
}

static int op_stream_close(op_args *a, vrt_error *err)
{
    wstream *w = stream_find(a->s, a->req, err);
    if (!w)
        return VRT_E_NOTFOUND;
    if (w->importing)
        VT(a->s)->stream_abort(w->s);
    else
        VT(a->s)->stream_close(w->s);
    stream_drop(a->s, w);
    return VRT_OK;
}

static int op_disk_import_open(op_args *a, vrt_error *err)
{
    NEED(a->s, disk_import_open);
    if (stream_enders(a->s, 1, err) != VRT_OK)
        return err->code;
    CALL_SETUP(a->s, a->req);
    const cJSON *j = cJSON_GetObjectItem(a->req, "import");
    vrt_import_spec spec = {.struct_size = sizeof(spec)};
    if (j) {
        uint64_t ss = vrt_codec_u64(j, "ss");
        spec.struct_size = ss && ss <= sizeof(spec) ? (uint32_t)ss
                                                    : sizeof(spec);
        spec.format = (uint32_t)vrt_codec_u64(j, "format");
        spec.size_bytes = vrt_codec_u64(j, "size");
        spec.virtual_size = vrt_codec_u64(j, "vsize");
        spec.target_name = STR(j, "target");
        spec.storage_hint = STR(j, "storage");
    }
    vrt_stream *st = NULL;
    int rc = fn(&st, CONN(a->s), &call, j ? &spec : NULL, FLAGS(a->req), err);
    if (rc == VRT_OK && st)
        stream_add(a, st, 1);
    return rc;
}

static int op_stream_write(op_args *a, vrt_error *err)
{
    NEED(a->s, stream_write);
    wstream *w = stream_find(a->s, a->req, err);
    if (!w)
        return VRT_E_NOTFOUND;
    if (a->s->nblobs != 1)
        return vrt_error_set(err, VRT_E_INTERNAL,
                             "stream_write came without its data frame.");
    return fn(w->s, (const uint8_t *)a->s->blobs[0].data, a->s->blobs[0].len,
              FLAGS(a->req), err);
}

static int op_stream_finish(op_args *a, vrt_error *err)
{
    NEED(a->s, stream_finish);
    wstream *w = stream_find(a->s, a->req, err);
    if (!w)
        return VRT_E_NOTFOUND;
    char id[VRT_ID_MAX] = "";
    vrt_stream *st = w->s;
    stream_drop(a->s, w); /* finish releases it whatever happens */
    int rc = fn(id, st, FLAGS(a->req), err);
    put_id(a->reply, "id", id);
    return rc;
}

static const struct {
    const char *name;
    int (*fn)(op_args *a, vrt_error *err);
} ops[] = {
    {"validate", op_validate},
    {"capabilities", op_capabilities},
    {"create", op_create},
    {"destroy", op_destroy},
    {"power", op_power},
    {"describe", op_describe},
    {"task_status", op_task_status},
    {"reconfigure", op_reconfigure},
    {"hardware_upgrade", op_hardware_upgrade},
    {"snapshot_create", op_snapshot_create},
    {"snapshot_delete", op_snapshot_delete},
    {"snapshot_revert", op_snapshot_revert},
    {"clone", op_clone},
    {"image_prepare", op_image_prepare},
    {"list_vms", op_list_vms},
    {"list_hosts", op_list_hosts},
    {"disk_info", op_disk_info},
    {"console", op_console},
    {"disk_export_open", op_disk_export_open},
    {"stream_read", op_stream_read},
    {"stream_close", op_stream_close},
    {"stream_abort", op_stream_close},
    {"disk_import_open", op_disk_import_open},
    {"stream_write", op_stream_write},
    {"stream_finish", op_stream_finish},
};

int worker_dispatch(session *s, const char *op, const cJSON *req,
                    cJSON *reply, const uint8_t **blob, size_t *blob_len,
                    vrt_error *err)
{
    op_args a = {s, req, reply, blob, blob_len};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(ops[i].name, op) == 0)
            return ops[i].fn(&a, err);
    return vrt_error_set(err, VRT_E_NOTSUPP,
                         "This provider host does not know the operation "
                         "\"%s\".",
                         op);
}

void worker_session_end(session *s)
{
    const vrt_provider *vt = s->plugin ? vrt_plugin_vtable(s->plugin) : NULL;
    for (size_t i = 0; vt && i < s->nstreams; i++) {
        if (s->streams[i].importing)
            vt->stream_abort(s->streams[i].s);
        else
            vt->stream_close(s->streams[i].s);
    }
    free(s->streams);
    s->streams = NULL;
    s->nstreams = 0;
    vrt_pconn_close(s->pc);
    s->pc = NULL;
}
