/*
 * mock_disk.c - disk_info and the disk export / import streams.
 *
 * Every VM has one raw boot disk "disk-0" whose content is a pure function
 * of the VM's disk seed and the byte offset: reproducible, resumable from
 * any offset, and shared by clones with their source.  Every fourth 64 KiB
 * chunk is zeros, so zero-aware consumers have something to skip.
 *
 * Imported disks keep the bytes written (up to config importMaxBytes) and
 * can be exported again by disk id (vm_id NULL).  The mock never converts
 * between formats: a disk exports only in the format it is stored in, and
 * VM boot disks are raw.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"

#define CHUNK_SHIFT 16u
#define BOOT_DISK_ID "disk-0"

struct vrt_stream {
    int import;
    vrt_conn *conn; /* holds a reference */
    uint64_t pos, size;
    /* export */
    uint64_t seed;
    const mock_disk *disk; /* an imported disk; immutable, lives with state */
    /* import */
    char name[VRT_NAME_MAX];
    uint32_t format;
    uint64_t expect, virtual_size;
    uint8_t *buf;
    size_t len, cap;
};

/* splitmix64: a well-spread 64-bit value for each 8-byte word. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* FNV-1a. */
uint64_t mock_seed_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

void mock_disk_fill(uint8_t *buf, size_t len, uint64_t seed, uint64_t offset)
{
    uint64_t word = 0;

    for (size_t i = 0; i < len; i++) {
        uint64_t p = offset + i;

        if (((p >> CHUNK_SHIFT) & 3u) == 3u) {
            buf[i] = 0;
            continue;
        }
        if (i == 0 || (p & 7u) == 0)
            word = mix64(seed ^ (p >> 3));
        buf[i] = (uint8_t)(word >> ((p & 7u) * 8u));
    }
}

/* Bytes of a boot disk that are not in zero chunks. */
static uint64_t nonzero_bytes(uint64_t size)
{
    uint64_t chunk = 1ull << CHUNK_SHIFT, n = 0;

    for (uint64_t off = 0; off < size; off += chunk)
        if (((off >> CHUNK_SHIFT) & 3u) != 3u)
            n += size - off < chunk ? size - off : chunk;
    return n;
}

static void fill_boot_info(vrt_disk_info *d, const mock_vm *vm)
{
    d->format = VRT_DISK_RAW;
    d->virtual_size = vm->disk_size;
    d->actual_size = vm->linked ? 0 : nonzero_bytes(vm->disk_size);
    d->bootable = 1;
    mock_copy(d->id, sizeof(d->id), BOOT_DISK_ID);
    snprintf(d->path, sizeof(d->path), "mock://vms/%s/disk-0.raw", vm->id);
    if (vm->linked)
        snprintf(d->backing_path, sizeof(d->backing_path),
                 "mock://vms/%s/disk-0.raw", vm->source_id);
}

static void fill_import_info(vrt_disk_info *d, const mock_disk *disk)
{
    d->format = disk->format;
    d->virtual_size = disk->virtual_size;
    d->actual_size = disk->len;
    mock_copy(d->id, sizeof(d->id), disk->id);
    snprintf(d->path, sizeof(d->path), "mock://imports/%s.%s", disk->name,
             mock_format_name(disk->format));
}

/*
 * Resolves (vm_id, disk_id) under the state lock: a VM's boot disk, or an
 * imported disk by id when vm_id is NULL.  Exactly one of *vm / *disk is
 * set on success.
 */
static int32_t resolve_disk(mock_vm **vm, mock_disk **disk, mock_state *st,
                            const char *vm_id, const char *disk_id,
                            mock_method m, vrt_error *err)
{
    *vm = NULL;
    *disk = NULL;
    if (!vm_id) {
        *disk = mock_disk_find(st, disk_id);
        return *disk ? VRT_OK
                     : mock_err(err, VRT_E_NOTFOUND,
                                "%s: no imported disk \"%.64s\".",
                                mock_method_name(m), disk_id);
    }
    *vm = mock_vm_find(st, vm_id);
    if (!*vm)
        return mock_err(err, VRT_E_NOTFOUND, "%s: no VM \"%.64s\".",
                        mock_method_name(m), vm_id);
    if (disk_id && strcmp(disk_id, BOOT_DISK_ID) != 0)
        return mock_err(err, VRT_E_NOTFOUND,
                        "%s: VM %s has no disk \"%.64s\"; its only disk is "
                        "\"" BOOT_DISK_ID "\".",
                        mock_method_name(m), (*vm)->id, disk_id);
    return VRT_OK;
}

static int32_t check_disk_ids(const char *vm_id, const char *disk_id,
                              mock_method m, vrt_error *err)
{
    if (vm_id || disk_id)
        return VRT_OK;
    return mock_err(err, VRT_E_INVALID,
                    "%s: name a VM (vm_id) or an imported disk (disk_id).",
                    mock_method_name(m));
}

int32_t mock_disk_info(vrt_disk_info *out, vrt_conn *conn,
                       const vrt_call *call, const char *vm_id,
                       const char *disk_id, uint32_t flags, vrt_error *err)
{
    const mock_method m = MOCK_M_DISK_INFO;
    vrt_disk_info full;
    mock_vm *vm;
    mock_disk *disk;
    int32_t rc = mock_check_call(conn, call, flags, m, err);

    if (rc == VRT_OK)
        rc = mock_check_arg(out, "out", m, err);
    if (rc == VRT_OK && !VRT_HAS_MEMBER(out, vrt_disk_info, format))
        rc = mock_err(err, VRT_E_INVALID,
                      "disk_info: out->struct_size %u is too small.",
                      out->struct_size);
    if (rc == VRT_OK)
        rc = check_disk_ids(vm_id, disk_id, m, err);
    if (rc == VRT_OK)
        rc = mock_gate(NULL, conn, call, m, err);
    if (rc != VRT_OK)
        return rc;

    memset(&full, 0, sizeof(full));
    pthread_mutex_lock(&conn->state->lock);
    rc = resolve_disk(&vm, &disk, conn->state, vm_id, disk_id, m, err);
    if (rc == VRT_OK && vm)
        fill_boot_info(&full, vm);
    else if (rc == VRT_OK && disk)
        fill_import_info(&full, disk);
    pthread_mutex_unlock(&conn->state->lock);
    if (rc == VRT_OK)
        mock_put_sized(out, &full, sizeof(full));
    return rc;
}

static int32_t check_format(uint32_t format, const vrt_conn *conn,
                            mock_method m, vrt_error *err)
{
    if (!mock_is_power_of_two(format) || format > VRT_DISK_VMDK)
        return mock_err(err, VRT_E_INVALID,
                        "%s: format 0x%x is not one VRT_DISK_* value.",
                        mock_method_name(m), format);
    if (!(conn->cfg.disk_formats & format))
        return mock_err(err, VRT_E_NOTSUPP,
                        "%s: this mock connection does not handle %s disks.",
                        mock_method_name(m), mock_format_name(format));
    return VRT_OK;
}

static vrt_stream *stream_new(vrt_conn *conn, int import)
{
    vrt_stream *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->import = import;
    s->conn = conn;
    mock_conn_ref(conn);
    return s;
}

static void stream_free(vrt_stream *s)
{
    if (!s)
        return;
    free(s->buf);
    mock_conn_unref(s->conn);
    free(s);
}

/* Export of an imported disk: its stored bytes, in its own format. */
static int32_t export_disk(vrt_stream *s, const mock_disk *disk,
                           const vrt_export_spec *spec, vrt_error *err)
{
    if (spec->snapshot_id)
        return mock_err(err, VRT_E_NOTFOUND,
                        "disk_export_open: imported disk %s has no snapshot "
                        "\"%.64s\".",
                        disk->id, spec->snapshot_id);
    if (spec->format != disk->format)
        return mock_err(err, VRT_E_NOTSUPP,
                        "disk_export_open: disk %s is %s and the mock does "
                        "not convert it to %s.",
                        disk->id, mock_format_name(disk->format),
                        mock_format_name(spec->format));
    s->disk = disk;
    s->size = disk->len;
    return VRT_OK;
}

/* Export of a VM's boot disk, raw, as of now or of a snapshot. */
static int32_t export_vm(vrt_stream *s, mock_vm *vm,
                         const vrt_export_spec *spec, vrt_error *err)
{
    const mock_snapshot *snap = NULL;

    if (spec->snapshot_id && !(snap = mock_snap_find(vm, spec->snapshot_id)))
        return mock_err(err, VRT_E_NOTFOUND,
                        "disk_export_open: VM %s has no snapshot \"%.64s\".",
                        vm->id, spec->snapshot_id);
    if (spec->format != VRT_DISK_RAW)
        return mock_err(err, VRT_E_NOTSUPP,
                        "disk_export_open: VM disks are raw and the mock does "
                        "not convert them to %s.",
                        mock_format_name(spec->format));
    s->seed = mock_seed_hash(vm->disk_seed);
    s->size = snap ? snap->disk_size : vm->disk_size;
    return VRT_OK;
}

/* Fills the export stream's source and size, under the state lock. */
static int32_t export_source(vrt_stream *s, mock_state *st,
                             const vrt_export_spec *spec, vrt_error *err)
{
    mock_vm *vm;
    mock_disk *disk;
    int32_t rc = resolve_disk(&vm, &disk, st, spec->vm_id, spec->disk_id,
                              MOCK_M_DISK_EXPORT_OPEN, err);

    if (rc != VRT_OK)
        return rc;
    return vm ? export_vm(s, vm, spec, err) : export_disk(s, disk, spec, err);
}

int32_t mock_disk_export_open(vrt_stream **out, uint64_t *size,
                              vrt_conn *conn, const vrt_call *call,
                              const vrt_export_spec *spec, uint32_t flags,
                              vrt_error *err)
{
    const mock_method m = MOCK_M_DISK_EXPORT_OPEN;
    vrt_stream *s = NULL;
    int32_t rc;

    if (out)
        *out = NULL;
    if (size)
        *size = 0;
    rc = mock_check_call(conn, call, flags, m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(out, "out", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(size, "size", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(spec, "spec", m, err);
    if (rc == VRT_OK && !VRT_HAS_MEMBER(spec, vrt_export_spec, snapshot_id))
        rc = mock_err(err, VRT_E_INVALID,
                      "disk_export_open: spec->struct_size %u is too small.",
                      spec->struct_size);
    if (rc == VRT_OK)
        rc = check_disk_ids(spec->vm_id, spec->disk_id, m, err);
    if (rc == VRT_OK)
        rc = mock_require_cap(conn, VRT_CAP_DISK_EXPORT, m, err);
    if (rc == VRT_OK)
        rc = check_format(spec->format, conn, m, err);
    if (rc == VRT_OK)
        rc = mock_gate(NULL, conn, call, m, err);
    if (rc != VRT_OK)
        return rc;
    if (!(s = stream_new(conn, 0)))
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");

    pthread_mutex_lock(&conn->state->lock);
    rc = export_source(s, conn->state, spec, err);
    pthread_mutex_unlock(&conn->state->lock);
    if (rc == VRT_OK && spec->offset > s->size)
        rc = mock_err(err, VRT_E_INVALID,
                      "disk_export_open: offset %llu is past the end of the "
                      "%llu-byte stream.",
                      (unsigned long long)spec->offset,
                      (unsigned long long)s->size);
    if (rc != VRT_OK) {
        stream_free(s);
        return rc;
    }
    s->pos = spec->offset;
    *size = s->size - spec->offset; /* what the stream will deliver */
    *out = s;
    return VRT_OK;
}

int32_t mock_stream_read(size_t *nread, vrt_stream *s, uint8_t *buf,
                         size_t len, uint32_t flags, vrt_error *err)
{
    const mock_method m = MOCK_M_STREAM_READ;
    uint64_t left;
    size_t n;
    int32_t rc;

    if (nread)
        *nread = 0;
    rc = mock_check_arg(nread, "nread", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(s, "s", m, err);
    if (rc == VRT_OK && len)
        rc = mock_check_arg(buf, "buf", m, err);
    if (rc == VRT_OK && flags)
        rc = mock_err(err, VRT_E_INVALID,
                      "stream_read: flags must be 0, got 0x%x.", flags);
    if (rc == VRT_OK && s->import)
        rc = mock_err(err, VRT_E_INVALID,
                      "stream_read: this is an import stream.");
    if (rc == VRT_OK)
        rc = mock_gate(NULL, s->conn, NULL, m, err);
    if (rc != VRT_OK)
        return rc;

    left = s->size - s->pos;
    n = left < len ? (size_t)left : len;
    if (s->disk && n)
        memcpy(buf, s->disk->data + s->pos, n);
    else if (n)
        mock_disk_fill(buf, n, s->seed, s->pos);
    s->pos += n;
    *nread = n;
    return VRT_OK;
}

void mock_stream_close(vrt_stream *s)
{
    if (!s)
        return;
    (void)mock_gate(NULL, s->conn, NULL, MOCK_M_STREAM_CLOSE, NULL);
    stream_free(s);
}

int32_t mock_disk_import_open(vrt_stream **out, vrt_conn *conn,
                              const vrt_call *call,
                              const vrt_import_spec *spec, uint32_t flags,
                              vrt_error *err)
{
    const mock_method m = MOCK_M_DISK_IMPORT_OPEN;
    vrt_stream *s;
    int32_t rc;

    if (out)
        *out = NULL;
    rc = mock_check_call(conn, call, flags, m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(out, "out", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(spec, "spec", m, err);
    if (rc == VRT_OK && !VRT_HAS_MEMBER(spec, vrt_import_spec, storage_hint))
        rc = mock_err(err, VRT_E_INVALID,
                      "disk_import_open: spec->struct_size %u is too small.",
                      spec->struct_size);
    if (rc == VRT_OK && (!spec->target_name || !spec->target_name[0] ||
                         strlen(spec->target_name) >= VRT_NAME_MAX))
        rc = mock_err(err, VRT_E_INVALID,
                      "disk_import_open: spec->target_name must be 1 to %d "
                      "bytes.",
                      VRT_NAME_MAX - 1);
    if (rc == VRT_OK)
        rc = mock_require_cap(conn, VRT_CAP_DISK_IMPORT, m, err);
    if (rc == VRT_OK)
        rc = check_format(spec->format, conn, m, err);
    if (rc == VRT_OK && spec->size_bytes > conn->cfg.import_max)
        rc = mock_err(err, VRT_E_QUOTA,
                      "disk_import_open: %llu bytes exceed the mock's "
                      "importMaxBytes of %llu.",
                      (unsigned long long)spec->size_bytes,
                      (unsigned long long)conn->cfg.import_max);
    if (rc == VRT_OK)
        rc = mock_gate(NULL, conn, call, m, err);
    if (rc != VRT_OK)
        return rc;
    if (!(s = stream_new(conn, 1)))
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    mock_copy(s->name, sizeof(s->name), spec->target_name);
    s->format = spec->format;
    s->expect = spec->size_bytes;
    s->virtual_size = spec->virtual_size;
    *out = s;
    return VRT_OK;
}

int32_t mock_stream_write(vrt_stream *s, const uint8_t *buf, size_t len,
                          uint32_t flags, vrt_error *err)
{
    const mock_method m = MOCK_M_STREAM_WRITE;
    int32_t rc = mock_check_arg(s, "s", m, err);

    if (rc == VRT_OK && len)
        rc = mock_check_arg(buf, "buf", m, err);
    if (rc == VRT_OK && flags)
        rc = mock_err(err, VRT_E_INVALID,
                      "stream_write: flags must be 0, got 0x%x.", flags);
    if (rc == VRT_OK && !s->import)
        rc = mock_err(err, VRT_E_INVALID,
                      "stream_write: this is an export stream.");
    if (rc == VRT_OK)
        rc = mock_gate(NULL, s->conn, NULL, m, err);
    if (rc != VRT_OK)
        return rc;
    if (s->expect && len > s->expect - s->len)
        return mock_err(err, VRT_E_INVALID,
                        "stream_write: more bytes than the announced "
                        "size_bytes of %llu.",
                        (unsigned long long)s->expect);
    if (len > s->conn->cfg.import_max - s->len)
        return mock_err(err, VRT_E_QUOTA,
                        "stream_write: the disk would exceed the mock's "
                        "importMaxBytes of %llu.",
                        (unsigned long long)s->conn->cfg.import_max);
    if (mock_grow((void **)&s->buf, &s->cap, s->len + len, 1) != 0)
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    memcpy(s->buf + s->len, buf, len);
    s->len += len;
    return VRT_OK;
}

static int32_t finish_locked(char disk_id[VRT_ID_MAX], mock_state *st,
                             vrt_stream *s, vrt_error *err)
{
    mock_disk *d;

    for (size_t i = 0; i < st->ndisks; i++)
        if (strcmp(st->disks[i]->name, s->name) == 0)
            return mock_err(err, VRT_E_EXISTS,
                            "stream_finish: a disk named \"%.64s\" exists "
                            "(%s).",
                            s->name, st->disks[i]->id);
    if (mock_grow((void **)&st->disks, &st->capdisks, st->ndisks + 1,
                  sizeof(*st->disks)) != 0 ||
        !(d = calloc(1, sizeof(*d))))
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    snprintf(d->id, sizeof(d->id), "import-%llu",
             (unsigned long long)++st->next_disk);
    mock_copy(d->name, sizeof(d->name), s->name);
    d->format = s->format;
    d->len = s->len;
    d->virtual_size = s->virtual_size ? s->virtual_size : s->len;
    d->data = s->buf; /* the disk takes the bytes */
    s->buf = NULL;
    st->disks[st->ndisks++] = d;
    memcpy(disk_id, d->id, VRT_ID_MAX);
    return VRT_OK;
}

/* Releases the stream in every case, as the ABI requires. */
int32_t mock_stream_finish(char disk_id[VRT_ID_MAX], vrt_stream *s,
                           uint32_t flags, vrt_error *err)
{
    const mock_method m = MOCK_M_STREAM_FINISH;
    int32_t rc;

    if (disk_id)
        disk_id[0] = '\0';
    rc = mock_check_arg(s, "s", m, err);
    if (rc != VRT_OK)
        return rc;
    rc = mock_check_arg(disk_id, "disk_id", m, err);
    if (rc == VRT_OK && flags)
        rc = mock_err(err, VRT_E_INVALID,
                      "stream_finish: flags must be 0, got 0x%x.", flags);
    if (rc == VRT_OK && !s->import)
        rc = mock_err(err, VRT_E_INVALID,
                      "stream_finish: this is an export stream.");
    if (rc == VRT_OK)
        rc = mock_gate(NULL, s->conn, NULL, m, err);
    if (rc == VRT_OK && s->expect && s->len != s->expect)
        rc = mock_err(err, VRT_E_INVALID,
                      "stream_finish: %zu bytes written, %llu announced.",
                      s->len, (unsigned long long)s->expect);
    if (rc == VRT_OK) {
        pthread_mutex_lock(&s->conn->state->lock);
        rc = finish_locked(disk_id, s->conn->state, s, err);
        pthread_mutex_unlock(&s->conn->state->lock);
    }
    if (rc == VRT_OK)
        mock_log(s->conn->ctx, VRT_LOG_INFO,
                 "Imported disk_id=%s name=\"%.64s\" (%zu bytes).", disk_id,
                 s->name, s->len);
    stream_free(s);
    return rc;
}

void mock_stream_abort(vrt_stream *s)
{
    if (!s)
        return;
    (void)mock_gate(NULL, s->conn, NULL, MOCK_M_STREAM_ABORT, NULL);
    stream_free(s);
}
