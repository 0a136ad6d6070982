/*
 * The remote transport's vtable: each provider method as a message to the
 * provider host and its reply back into the caller's structures.  Flags,
 * struct sizes and NULL arguments cross as they are, so that the plugin
 * behind the host judges them exactly as if it were loaded here; outputs
 * are copied only as far as the caller's struct_size.
 */
#include "remote_internal.h"

#include <vrt/clock.h>

#include <stdlib.h>
#include <string.h>

struct vrt_stream {
    vrt_conn *c;
    tconn *t; /* pinned for the stream's life */
    double sid;
};

static cJSON *req_new(uint32_t flags)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "flags", flags);
    return r;
}

static void add_str(cJSON *j, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(j, key, v);
}

/* Copies `full` into the caller's `out` only as far as its struct_size. */
static void put_sized(void *out, const void *full, size_t full_size)
{
    uint32_t ss;
    memcpy(&ss, out, sizeof(ss));
    size_t n = ss < full_size ? ss : full_size;
    if (n > sizeof(ss))
        memcpy((char *)out + sizeof(ss), (const char *)full + sizeof(ss),
               n - sizeof(ss));
}

static void take_id(char *dst, const cJSON *reply, const char *key)
{
    if (dst)
        vrt_codec_copy(dst, VRT_ID_MAX, vrt_codec_str(reply, key));
}

static void take_task(vrt_task_ref *task, const cJSON *reply)
{
    if (task)
        vrt_codec_copy(task->id, sizeof(task->id), vrt_codec_str(reply, "task"));
}

/* A call whose reply carries only ids and a task. */
static int32_t simple(char *id_out, vrt_task_ref *task, vrt_conn *c,
                      const vrt_call *call, const char *op, cJSON *req,
                      const rblob *blobs, size_t nblobs, vrt_error *err)
{
    cJSON *reply = NULL;
    int rc = vrt_remote_call(&reply, c, NULL, call, op, req, blobs, nblobs,
                             NULL, err);
    if (reply) {
        take_id(id_out, reply, "id");
        take_task(task, reply);
    }
    cJSON_Delete(reply);
    return rc;
}

static int32_t r_validate(vrt_conn *c, const vrt_call *call, uint32_t flags,
                          vrt_error *err)
{
    return simple(NULL, NULL, c, call, "validate", req_new(flags), NULL, 0,
                  err);
}

static int32_t r_capabilities(vrt_caps *out, vrt_conn *c,
                              const vrt_call *call, uint32_t flags,
                              vrt_error *err)
{
    cJSON *req = req_new(flags), *reply = NULL;
    cJSON_AddNumberToObject(req, "ss", out->struct_size);
    int rc = vrt_remote_call(&reply, c, NULL, call, "capabilities", req, NULL,
                             0, NULL, err);
    if (rc == VRT_OK) {
        vrt_caps full = {.struct_size = sizeof(full)};
        full.disk_formats = (uint32_t)vrt_codec_u64(reply, "formats");
        full.caps = vrt_codec_u64(reply, "caps");
        put_sized(out, &full, sizeof(full));
    }
    cJSON_Delete(reply);
    return rc;
}

/* A VM spec: its JSON part and its three cloud-init documents as blobs. */
static cJSON *spec_json(rblob blobs[3], const vrt_vm_spec *spec)
{
    if (!spec)
        return NULL;
    cJSON *s = cJSON_CreateObject();
    cJSON_AddNumberToObject(s, "ss", spec->struct_size);
    cJSON_AddNumberToObject(s, "flags", spec->flags);
    add_str(s, "name", spec->name);
    add_str(s, "spec", spec->spec_json);
    cJSON *has = cJSON_AddArrayToObject(s, "has");
    const uint8_t *d[3] = {spec->user_data, spec->meta_data,
                           spec->network_data};
    size_t n[3] = {spec->user_data_len, spec->meta_data_len,
                   spec->network_data_len};
    for (int i = 0; i < 3; i++) {
        cJSON_AddItemToArray(has, cJSON_CreateBool(d[i] != NULL));
        blobs[i].data = d[i] ? d[i] : (const uint8_t *)"";
        blobs[i].len = d[i] ? n[i] : 0;
    }
    return s;
}

static int32_t r_create(char id[VRT_ID_MAX], vrt_task_ref *task, vrt_conn *c,
                        const vrt_call *call, const vrt_vm_spec *spec,
                        uint32_t flags, vrt_error *err)
{
    rblob blobs[3];
    cJSON *req = req_new(flags);
    cJSON *s = spec_json(blobs, spec);
    if (s)
        cJSON_AddItemToObject(req, "spec", s);
    return simple(id, task, c, call, "create", req, blobs, s ? 3 : 0, err);
}

static int32_t r_destroy(vrt_task_ref *task, vrt_conn *c,
                         const vrt_call *call, const char *id, uint32_t flags,
                         vrt_error *err)
{
    cJSON *req = req_new(flags);
    add_str(req, "vm", id);
    return simple(NULL, task, c, call, "destroy", req, NULL, 0, err);
}

static int32_t r_power(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                       const char *id, int32_t op, uint32_t graceful_timeout_s,
                       uint32_t flags, vrt_error *err)
{
    cJSON *req = req_new(flags);
    add_str(req, "vm", id);
    cJSON_AddNumberToObject(req, "power_op", op);
    cJSON_AddNumberToObject(req, "graceful", graceful_timeout_s);
    return simple(NULL, task, c, call, "power", req, NULL, 0, err);
}

static int32_t r_describe(vrt_vm_info *out, vrt_conn *c, const vrt_call *call,
                          const char *id, uint32_t flags, vrt_error *err)
{
    cJSON *req = req_new(flags), *reply = NULL;
    add_str(req, "vm", id);
    cJSON_AddNumberToObject(req, "ss", out->struct_size);
    int rc = vrt_remote_call(&reply, c, NULL, call, "describe", req, NULL, 0,
                             NULL, err);
    if (rc == VRT_OK) {
        vrt_vm_info full = {.struct_size = sizeof(full)};
        int with_raw = out->struct_size >= offsetof(vrt_vm_info, raw_json) +
                                               sizeof(char *);
        vrt_codec_vm_info_read(&full, cJSON_GetObjectItem(reply, "info"),
                               with_raw);
        put_sized(out, &full, sizeof(full));
    }
    cJSON_Delete(reply);
    return rc;
}

static int32_t r_task_status(vrt_task_status *out, vrt_conn *c,
                             const vrt_call *call, const char *task_id,
                             uint32_t flags, vrt_error *err)
{
    cJSON *req = req_new(flags), *reply = NULL;
    add_str(req, "task", task_id);
    cJSON_AddNumberToObject(req, "ss", out->struct_size);
    int rc = vrt_remote_call(&reply, c, NULL, call, "task_status", req, NULL,
                             0, NULL, err);
    if (rc == VRT_OK) {
        vrt_task_status full = {.struct_size = sizeof(full)};
        vrt_codec_task_status_read(&full, cJSON_GetObjectItem(reply, "status"));
        put_sized(out, &full, sizeof(full));
    }
    cJSON_Delete(reply);
    return rc;
}

static int32_t r_reconfigure(vrt_task_ref *task, vrt_conn *c,
                             const vrt_call *call, const char *id,
                             const vrt_vm_spec *spec, uint32_t flags,
                             vrt_error *err)
{
    rblob blobs[3];
    cJSON *req = req_new(flags);
    add_str(req, "vm", id);
    cJSON *s = spec_json(blobs, spec);
    if (s)
        cJSON_AddItemToObject(req, "spec", s);
    return simple(NULL, task, c, call, "reconfigure", req, blobs, s ? 3 : 0,
                  err);
}

static int32_t r_hardware_upgrade(vrt_task_ref *task, vrt_conn *c,
                                  const vrt_call *call, const char *id,
                                  uint32_t target_version, uint32_t flags,
                                  vrt_error *err)
{
    cJSON *req = req_new(flags);
    add_str(req, "vm", id);
    cJSON_AddNumberToObject(req, "version", target_version);
    return simple(NULL, task, c, call, "hardware_upgrade", req, NULL, 0, err);
}

static int32_t r_snapshot_create(char snapshot_id[VRT_ID_MAX],
                                 vrt_task_ref *task, vrt_conn *c,
                                 const vrt_call *call, const char *vm_id,
                                 const vrt_snapshot_spec *spec,
                                 uint32_t flags, vrt_error *err)
{
    cJSON *req = req_new(flags);
    add_str(req, "vm", vm_id);
    if (spec) {
        cJSON *s = cJSON_AddObjectToObject(req, "snap");
        cJSON_AddNumberToObject(s, "ss", spec->struct_size);
        cJSON_AddNumberToObject(s, "memory", spec->include_memory);
        cJSON_AddNumberToObject(s, "quiesce", spec->quiesce);
        add_str(s, "name", spec->name);
        add_str(s, "description", spec->description);
    }
    return simple(snapshot_id, task, c, call, "snapshot_create", req, NULL, 0,
                  err);
}

static int32_t snap_op(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                       const char *op, const char *vm_id,
                       const char *snapshot_id, uint32_t flags,
                       vrt_error *err)
{
    cJSON *req = req_new(flags);
    add_str(req, "vm", vm_id);
    add_str(req, "snapshot", snapshot_id);
    return simple(NULL, task, c, call, op, req, NULL, 0, err);
}

static int32_t r_snapshot_delete(vrt_task_ref *task, vrt_conn *c,
                                 const vrt_call *call, const char *vm_id,
                                 const char *snapshot_id, uint32_t flags,
                                 vrt_error *err)
{
    return snap_op(task, c, call, "snapshot_delete", vm_id, snapshot_id,
                   flags, err);
}

static int32_t r_snapshot_revert(vrt_task_ref *task, vrt_conn *c,
                                 const vrt_call *call, const char *vm_id,
                                 const char *snapshot_id, uint32_t flags,
                                 vrt_error *err)
{
    return snap_op(task, c, call, "snapshot_revert", vm_id, snapshot_id,
                   flags, err);
}

static int32_t r_clone(char target_id[VRT_ID_MAX], vrt_task_ref *task,
                       vrt_conn *c, const vrt_call *call,
                       const vrt_clone_spec *spec, uint32_t flags,
                       vrt_error *err)
{
    cJSON *req = req_new(flags);
    if (spec) {
        cJSON *s = cJSON_AddObjectToObject(req, "clone");
        cJSON_AddNumberToObject(s, "ss", spec->struct_size);
        cJSON_AddNumberToObject(s, "linked", spec->linked);
        add_str(s, "source", spec->source_vm_id);
        add_str(s, "snapshot", spec->snapshot_id);
        add_str(s, "target", spec->target_name);
        add_str(s, "spec", spec->spec_json);
    }
    return simple(target_id, task, c, call, "clone", req, NULL, 0, err);
}

static int32_t r_image_prepare(char image_id[VRT_ID_MAX], vrt_task_ref *task,
                               vrt_conn *c, const vrt_call *call,
                               const char *image_json, const char *target_name,
                               uint32_t flags, vrt_error *err)
{
    cJSON *req = req_new(flags);
    add_str(req, "image", image_json);
    add_str(req, "target", target_name);
    return simple(image_id, task, c, call, "image_prepare", req, NULL, 0, err);
}

typedef void (*item_read_fn)(void *out, const cJSON *j);

static void vm_item(void *out, const cJSON *j)
{
    vrt_vm_info *info = out;
    info->struct_size = sizeof(*info);
    vrt_codec_vm_info_read(info, j, 0);
    info->raw_json = (char *)vrt_codec_str(j, "raw"); /* borrowed */
}

static void host_item(void *out, const cJSON *j)
{
    vrt_codec_host_info_read(out, j);
}

static int32_t list(vrt_conn *c, const vrt_call *call, const char *op,
                    item_read_fn rd, size_t item_size, vrt_visit_fn visit,
                    void *opaque, uint32_t flags, vrt_error *err)
{
    cJSON *reply = NULL;
    int rc = vrt_remote_call(&reply, c, NULL, call, op, req_new(flags), NULL,
                             0, NULL, err);
    const cJSON *it;
    const cJSON *items = rc == VRT_OK ? cJSON_GetObjectItem(reply, "items")
                                      : NULL;
    void *item = calloc(1, item_size);
    if (!item)
        abort();
    cJSON_ArrayForEach(it, items) {
        rd(item, it);
        if (visit && visit(opaque, item))
            break;
    }
    free(item);
    cJSON_Delete(reply);
    return rc;
}

static int32_t r_list_vms(vrt_conn *c, const vrt_call *call,
                          vrt_visit_fn visit, void *opaque, uint32_t flags,
                          vrt_error *err)
{
    return list(c, call, "list_vms", vm_item, sizeof(vrt_vm_info), visit,
                opaque, flags, err);
}

static int32_t r_list_hosts(vrt_conn *c, const vrt_call *call,
                            vrt_visit_fn visit, void *opaque, uint32_t flags,
                            vrt_error *err)
{
    return list(c, call, "list_hosts", host_item, sizeof(vrt_host_info),
                visit, opaque, flags, err);
}

static int32_t r_disk_info(vrt_disk_info *out, vrt_conn *c,
                           const vrt_call *call, const char *vm_id,
                           const char *disk_id, uint32_t flags, vrt_error *err)
{
    cJSON *req = req_new(flags), *reply = NULL;
    add_str(req, "vm", vm_id);
    add_str(req, "disk", disk_id);
    cJSON_AddNumberToObject(req, "ss", out->struct_size);
    int rc = vrt_remote_call(&reply, c, NULL, call, "disk_info", req, NULL, 0,
                             NULL, err);
    if (rc == VRT_OK) {
        vrt_disk_info full = {.struct_size = sizeof(full)};
        vrt_codec_disk_info_read(&full, cJSON_GetObjectItem(reply, "info"));
        put_sized(out, &full, sizeof(full));
    }
    cJSON_Delete(reply);
    return rc;
}

static int32_t r_console(vrt_console_info *out, vrt_conn *c,
                         const vrt_call *call, const char *id, uint32_t flags,
                         vrt_error *err)
{
    cJSON *req = req_new(flags), *reply = NULL;
    add_str(req, "vm", id);
    cJSON_AddNumberToObject(req, "ss", out->struct_size);
    int rc = vrt_remote_call(&reply, c, NULL, call, "console", req, NULL, 0,
                             NULL, err);
    if (rc == VRT_OK) {
        vrt_console_info full = {.struct_size = sizeof(full)};
        vrt_codec_console_read(&full, cJSON_GetObjectItem(reply, "info"));
        put_sized(out, &full, sizeof(full));
    }
    cJSON_Delete(reply);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Streams: each keeps one socket to itself until it is released           */
/* ---------------------------------------------------------------------- */

static int32_t stream_open(vrt_stream **out, uint64_t *size, vrt_conn *c,
                           const vrt_call *call, const char *op, cJSON *req,
                           vrt_error *err)
{
    uint64_t deadline = call && call->deadline_ms
                            ? call->deadline_ms
                            : vrt_now_ms() + c->rp->call_timeout_ms;
    tconn *t = NULL;
    cJSON *reply = NULL;
    *out = NULL;
    int rc = vrt_remote_checkout(&t, c, deadline, err);
    if (rc != VRT_OK) {
        cJSON_Delete(req);
        return rc;
    }
    rc = vrt_remote_call(&reply, c, t, call, op, req, NULL, 0, NULL, err);
    if (rc == VRT_OK) {
        vrt_stream *s = calloc(1, sizeof(*s));
        if (!s)
            abort();
        s->c = c;
        s->t = t;
        s->sid = (double)vrt_codec_u64(reply, "stream");
        if (size)
            *size = vrt_codec_u64(reply, "size");
        *out = s;
    } else {
        vrt_remote_checkin(c, t);
    }
    cJSON_Delete(reply);
    return rc;
}

static cJSON *stream_req(const vrt_stream *s, uint32_t flags)
{
    cJSON *req = req_new(flags);
    cJSON_AddNumberToObject(req, "stream", s->sid);
    return req;
}

static int32_t r_disk_export_open(vrt_stream **out, uint64_t *size,
                                  vrt_conn *c, const vrt_call *call,
                                  const vrt_export_spec *spec, uint32_t flags,
                                  vrt_error *err)
{
    cJSON *req = req_new(flags);
    if (spec) {
        cJSON *s = cJSON_AddObjectToObject(req, "export");
        cJSON_AddNumberToObject(s, "ss", spec->struct_size);
        cJSON_AddNumberToObject(s, "format", spec->format);
        cJSON_AddNumberToObject(s, "offset", (double)spec->offset);
        add_str(s, "vm", spec->vm_id);
        add_str(s, "disk", spec->disk_id);
        add_str(s, "snapshot", spec->snapshot_id);
    }
    return stream_open(out, size, c, call, "disk_export_open", req, err);
}

static int32_t r_stream_read(size_t *nread, vrt_stream *s, uint8_t *buf,
                             size_t len, uint32_t flags, vrt_error *err)
{
    cJSON *req = stream_req(s, flags), *reply = NULL;
    if (len > VRT_WIRE_MAX_FRAME)
        len = VRT_WIRE_MAX_FRAME;
    cJSON_AddNumberToObject(req, "len", (double)len);
    rsink sink = {buf, len, 0};
    *nread = 0;
    int rc = vrt_remote_call(&reply, s->c, s->t, NULL, "stream_read", req,
                             NULL, 0, &sink, err);
    if (rc == VRT_OK)
        *nread = sink.got;
    cJSON_Delete(reply);
    return rc;
}

/* Ends a stream on the host (close, finish or abort) and lets go of its
 * socket. */
static int32_t stream_end(cJSON **reply, vrt_stream *s, const char *op,
                          uint32_t flags, vrt_error *err)
{
    int rc = vrt_remote_call(reply, s->c, s->t, NULL, op, stream_req(s, flags),
                             NULL, 0, NULL, err);
    vrt_remote_checkin(s->c, s->t);
    free(s);
    return rc;
}

static void r_stream_close(vrt_stream *s)
{
    cJSON *reply = NULL;
    vrt_error err = VRT_ERROR_INIT;
    if (s)
        (void)stream_end(&reply, s, "stream_close", 0, &err);
    cJSON_Delete(reply);
}

static int32_t r_disk_import_open(vrt_stream **out, vrt_conn *c,
                                  const vrt_call *call,
                                  const vrt_import_spec *spec, uint32_t flags,
                                  vrt_error *err)
{
    cJSON *req = req_new(flags);
    if (spec) {
        cJSON *s = cJSON_AddObjectToObject(req, "import");
        cJSON_AddNumberToObject(s, "ss", spec->struct_size);
        cJSON_AddNumberToObject(s, "format", spec->format);
        cJSON_AddNumberToObject(s, "size", (double)spec->size_bytes);
        cJSON_AddNumberToObject(s, "vsize", (double)spec->virtual_size);
        add_str(s, "target", spec->target_name);
        add_str(s, "storage", spec->storage_hint);
    }
    return stream_open(out, NULL, c, call, "disk_import_open", req, err);
}

static int32_t r_stream_write(vrt_stream *s, const uint8_t *buf, size_t len,
                              uint32_t flags, vrt_error *err)
{
    cJSON *reply = NULL;
    int rc = VRT_OK;
    /* One frame at most per message: larger writes go in pieces. */
    do {
        size_t n = len > VRT_WIRE_MAX_FRAME ? VRT_WIRE_MAX_FRAME : len;
        rblob b = {buf, n};
        rc = vrt_remote_call(&reply, s->c, s->t, NULL, "stream_write",
                             stream_req(s, flags), &b, 1, NULL, err);
        cJSON_Delete(reply);
        reply = NULL;
        buf += n;
        len -= n;
    } while (rc == VRT_OK && len > 0);
    return rc;
}

static int32_t r_stream_finish(char disk_id[VRT_ID_MAX], vrt_stream *s,
                               uint32_t flags, vrt_error *err)
{
    cJSON *reply = NULL;
    int rc = stream_end(&reply, s, "stream_finish", flags, err);
    if (reply)
        take_id(disk_id, reply, "id");
    cJSON_Delete(reply);
    return rc;
}

static void r_stream_abort(vrt_stream *s)
{
    cJSON *reply = NULL;
    vrt_error err = VRT_ERROR_INIT;
    if (s)
        (void)stream_end(&reply, s, "stream_abort", 0, &err);
    cJSON_Delete(reply);
}

/* ---------------------------------------------------------------------- */

static int has(const cJSON *methods, const char *name)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, methods) {
        if (cJSON_IsString(m) && strcmp(m->valuestring, name) == 0)
            return 1;
    }
    return 0;
}

void vrt_remote_vtable_fill(rplugin *rp, const cJSON *methods)
{
    vrt_provider *vt = &rp->vt;
    vt->open = vrt_remote_conn_open;
    vt->close = vrt_remote_conn_close;
#define FILL(m) vt->m = has(methods, #m) ? r_##m : NULL;
    FILL(validate) FILL(capabilities) FILL(create) FILL(destroy) FILL(power)
    FILL(describe) FILL(task_status) FILL(reconfigure) FILL(hardware_upgrade)
    FILL(snapshot_create) FILL(snapshot_delete) FILL(snapshot_revert)
    FILL(clone) FILL(image_prepare) FILL(list_vms) FILL(disk_info)
    FILL(disk_export_open) FILL(stream_read) FILL(stream_close)
    FILL(disk_import_open) FILL(stream_write) FILL(stream_finish)
    FILL(stream_abort) FILL(console) FILL(list_hosts)
#undef FILL
}
