/*
 * lv_disk.c - disk information and disk export / import as byte streams
 * over libvirt storage volume streams (virStorageVolDownload / Upload),
 * which work the same for local and remote connections.  The bytes are
 * a volume file: the disk's own when it already is a standalone file of
 * the wanted format, else a temporary copy the storage driver converts
 * (and flattens, for an overlay) in the same pool, removed at close.
 * Both directions use sparse streams: a hole in the source file travels
 * as its length, not as zeros (the export hands zeros to the caller, who
 * asked for bytes), and runs of zero blocks written to an import become
 * holes in the new volume.  Checksums are the core pipeline's job.
 */
#include "lv_domain.h"
#include "lv_ops.h"
#include "lv_storage.h"

#include <libvirt/virterror.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vrt_stream {
    vrt_conn *c;
    virConnectPtr virt;
    virStreamPtr st;
    virStorageVolPtr vol;
    virStorageVolPtr tmp; /* export: a converted copy to remove at close */
    int import;
    int eof;    /* export: the end was read and the stream finished */
    uint64_t hole; /* export: zeros of a hole still to hand out; import:
                      zero bytes written but not yet sent as a hole */
    uint64_t sent; /* import: bytes written so far */
    int broken; /* a transfer error happened; only close/abort now */
    char name[VRT_NAME_MAX];
};

static uint32_t format_bit(const char *format)
{
    if (!format)
        return 0;
    if (!strcmp(format, "raw"))
        return VRT_DISK_RAW;
    if (!strcmp(format, "qcow2"))
        return VRT_DISK_QCOW2;
    if (!strcmp(format, "vmdk"))
        return VRT_DISK_VMDK;
    return 0;
}

/* The storage volume behind disk f, or VRT_E_NOTSUPP for a plain file. */
static int disk_volume(virStorageVolPtr *out, virConnectPtr virt,
                       const lv_disk_fact *f, vrt_error *err)
{
    *out = NULL;
    if (f->pool && f->volume)
        return lv_vol_lookup(out, virt, f->pool, f->volume, err);
    if (f->file && (*out = virStorageVolLookupByPath(virt, f->file)))
        return VRT_OK;
    virResetLastError();
    return lv_err(err, VRT_E_NOTSUPP,
                  "Disk %s (\"%s\") is not a volume of a storage pool.",
                  f->target ? f->target : "?", f->file ? f->file : "?");
}

/* The volume at `path` (an import's disk id), which must be a volume of
 * a storage pool. */
static int imported_volume(virStorageVolPtr *out, virConnectPtr virt,
                           const char *path, vrt_error *err)
{
    *out = NULL;
    if (!path || path[0] != '/')
        return lv_err(err, VRT_E_INVALID,
                      "An export without a VM needs the disk id of an import "
                      "(a volume path), not \"%.64s\".",
                      path ? path : "");
    if ((*out = virStorageVolLookupByPath(virt, path)))
        return VRT_OK;
    virResetLastError();
    return lv_err(err, VRT_E_NOTFOUND,
                  "No storage volume has the path \"%.200s\".", path);
}

/* Looks up VM vm_id and its disk disk_id (NULL = boot disk). */
static int find_disk(virDomainPtr *d, lv_domain_facts **f,
                     const lv_disk_fact **disk, virConnectPtr virt,
                     const char *vm_id, const char *disk_id, vrt_error *err)
{
    int rc;

    if ((rc = lv_domain_lookup(d, virt, vm_id, err)) < 0 ||
        (rc = lv_domain_read_facts(f, *d, 0, err)) < 0)
        return rc;
    *disk = lv_domain_facts_disk(*f, disk_id);
    if (!*disk)
        return lv_err(err, VRT_E_NOTFOUND, "VM \"%s\" has no disk \"%s\".",
                      virDomainGetName(*d), disk_id ? disk_id : "(boot)");
    return VRT_OK;
}

static int fill_info(vrt_disk_info *info, virConnectPtr virt, virDomainPtr d,
                     const lv_domain_facts *f, const lv_disk_fact *disk,
                     vrt_error *err)
{
    virStorageVolPtr vol = NULL;
    virStorageVolInfo vi;
    virDomainBlockInfo bi;
    char *xml = NULL, *path = NULL, *format = NULL, *backing = NULL;
    vrt_error ignore = VRT_ERROR_INIT;
    int rc = VRT_OK;

    lv_strlcpy(info->id, disk->target ? disk->target : "", sizeof(info->id));
    info->bootable = disk == lv_domain_facts_boot_disk(f);
    if (disk_volume(&vol, virt, disk, &ignore) == VRT_OK) {
        if (virStorageVolGetInfo(vol, &vi) < 0 ||
            !(xml = virStorageVolGetXMLDesc(vol, 0)) ||
            !(path = virStorageVolGetPath(vol))) {
            rc = lv_virt_err(err, "Could not read the volume of disk %s",
                             disk->target);
            goto cleanup;
        }
        if ((rc = lv_volume_read(&format, &backing, xml, err)) < 0)
            goto cleanup;
        info->virtual_size = vi.capacity;
        info->actual_size = vi.allocation;
        lv_strlcpy(info->path, path, sizeof(info->path));
        lv_strlcpy(info->backing_path, backing ? backing : "",
                   sizeof(info->backing_path));
        info->format = format_bit(format ? format : disk->format);
    } else {
        /* a plain file: ask the hypervisor */
        virResetLastError();
        if (virDomainGetBlockInfo(d, disk->target, &bi, 0) < 0) {
            rc = lv_virt_err(err, "Could not read disk %s of VM \"%s\"",
                             disk->target, virDomainGetName(d));
            goto cleanup;
        }
        info->virtual_size = bi.capacity;
        info->actual_size = bi.allocation;
        lv_strlcpy(info->path, disk->file ? disk->file : "",
                   sizeof(info->path));
        info->format = format_bit(disk->format);
    }

cleanup:
    free(xml);
    free(path);
    free(format);
    free(backing);
    if (vol)
        virStorageVolFree(vol);
    return rc;
}

int32_t lv_disk_info(vrt_disk_info *out, vrt_conn *c, const vrt_call *call,
                     const char *vm_id, const char *disk_id, uint32_t flags,
                     vrt_error *err)
{
    virConnectPtr virt = NULL;
    virDomainPtr d = NULL;
    lv_domain_facts *f = NULL;
    const lv_disk_fact *disk = NULL;
    vrt_disk_info info;
    int rc;

    if ((rc = lv_flags_ok(flags, "disk_info", err)) < 0)
        return rc;
    if ((rc = lv_out_ok(out, "disk info", err)) < 0)
        return rc;
    memset(&info, 0, sizeof(info));
    if ((rc = lv_call_check(call, "disk_info", err)) < 0 ||
        (rc = lv_conn_acquire(&virt, c, err)) < 0 ||
        (rc = find_disk(&d, &f, &disk, virt, vm_id, disk_id, err)) < 0 ||
        (rc = fill_info(&info, virt, d, f, disk, err)) < 0)
        goto cleanup;
    lv_out_put(out, &info, sizeof(info));

cleanup:
    lv_domain_facts_free(f);
    if (d)
        virDomainFree(d);
    lv_conn_release(virt);
    return rc;
}

/* ---- streams ------------------------------------------------------------ */

static void stream_free(vrt_stream *s)
{
    if (!s)
        return;
    if (s->st)
        virStreamFree(s->st);
    if (s->tmp) {
        if (virStorageVolDelete(s->tmp, 0) < 0)
            lv_log(s->c, VRT_LOG_WARN,
                   "Could not remove the temporary export volume \"%s\".",
                   virStorageVolGetName(s->tmp));
        virResetLastError();
        virStorageVolFree(s->tmp);
    }
    if (s->vol)
        virStorageVolFree(s->vol);
    lv_conn_release(s->virt);
    free(s);
}

/* Makes s->tmp: a copy of s->vol in format `want`, without a backing
 * chain, in the same pool. */
static int export_copy(vrt_stream *s, uint32_t want, vrt_error *err)
{
    static atomic_uint seq;
    virStoragePoolPtr pool = virStoragePoolLookupByVolume(s->vol);
    virStorageVolInfo vi;
    lv_vol v;
    char *path = virStorageVolGetPath(s->vol);
    int rc;

    memset(&v, 0, sizeof(v));
    if (!pool || !path || virStorageVolGetInfo(s->vol, &vi) < 0) {
        rc = lv_virt_err(err, "Could not read volume \"%s\"", s->name);
        goto cleanup;
    }
    v.pool = (char *)virStoragePoolGetName(pool);
    v.format = want == VRT_DISK_RAW ? "raw" : "qcow2";
    v.name = lv_xasprintf("%s.vrt-export-%llu-%u.%s", s->name,
                          (unsigned long long)lv_now_ms(),
                          atomic_fetch_add(&seq, 1), v.format);
    v.capacity = vi.capacity;
    v.copy_from = path;
    if ((rc = lv_vol_create(s->virt, &v, err)) == VRT_OK &&
        (rc = lv_vol_lookup(&s->tmp, s->virt, v.pool, v.name, err)) == VRT_OK)
        lv_log(s->c, VRT_LOG_DEBUG, "Export of \"%s\" goes through \"%s\".",
               s->name, v.name);
    free(v.name);

cleanup:
    free(path);
    if (pool)
        virStoragePoolFree(pool);
    return rc;
}

/*
 * Picks what to stream for an export of s->vol as `want` (s->vol itself,
 * or a converted copy in s->tmp) and its size in bytes (0 = unknown).
 */
static int export_source(virStorageVolPtr *use, uint64_t *size, vrt_stream *s,
                         uint32_t want, vrt_error *err)
{
    virStorageVolInfo vi;
    char *xml = virStorageVolGetXMLDesc(s->vol, 0), *format = NULL,
         *backing = NULL;
    int rc;

    *use = s->vol;
    *size = 0;
    if (!xml)
        return lv_virt_err(err, "Could not read volume \"%s\"", s->name);
    if ((rc = lv_volume_read(&format, &backing, xml, err)) < 0)
        goto cleanup;
    if (want != VRT_DISK_RAW && want != VRT_DISK_QCOW2) {
        rc = lv_err(err, VRT_E_NOTSUPP,
                    "Disk export gives raw or qcow2; convert to other "
                    "formats in the pipeline.");
        goto cleanup;
    }
    if (format_bit(format) != want || backing) {
        if ((rc = export_copy(s, want, err)) < 0)
            goto cleanup;
        *use = s->tmp;
    }
    /* the file's own size (in .allocation with this flag) is what a
     * download sends */
    if (virStorageVolGetInfoFlags(*use, &vi, VIR_STORAGE_VOL_GET_PHYSICAL) ==
        0)
        *size = vi.allocation;
    virResetLastError();

cleanup:
    free(format);
    free(backing);
    free(xml);
    return rc;
}

int32_t lv_disk_export_open(vrt_stream **out, uint64_t *size, vrt_conn *c,
                            const vrt_call *call, const vrt_export_spec *spec,
                            uint32_t flags, vrt_error *err)
{
    vrt_stream *s = NULL;
    virDomainPtr d = NULL;
    virStorageVolPtr use = NULL;
    lv_domain_facts *f = NULL;
    const lv_disk_fact *disk;
    uint64_t total = 0;
    int rc, state;

    *out = NULL;
    if (size)
        *size = 0;
    if ((rc = lv_flags_ok(flags, "disk_export_open", err)) < 0)
        return rc;
    if (!spec || spec->struct_size < sizeof(vrt_export_spec))
        return lv_err(err, VRT_E_INVALID, "The export spec is malformed.");
    if (spec->snapshot_id && spec->snapshot_id[0])
        return lv_err(err, VRT_E_NOTSUPP,
                      "Exporting as of snapshot \"%.64s\" is not supported: "
                      "internal snapshots live inside the volume.",
                      spec->snapshot_id);
    s = lv_xcalloc(1, sizeof(*s));
    s->c = c;
    if ((rc = lv_call_check(call, "disk export", err)) < 0 ||
        (rc = lv_conn_acquire(&s->virt, c, err)) < 0 ||
        (rc = lv_conn_need(c, VRT_CAP_DISK_EXPORT, "disk export", err)) < 0)
        goto cleanup;
    if (!spec->vm_id || !spec->vm_id[0]) {
        /* no VM: an imported disk, named by what stream_finish returned */
        if ((rc = imported_volume(&s->vol, s->virt, spec->disk_id, err)) < 0)
            goto cleanup;
    } else {
        if ((rc = find_disk(&d, &f, &disk, s->virt, spec->vm_id,
                            spec->disk_id, err)) < 0 ||
            (rc = lv_domain_state(&state, d, err)) < 0)
            goto cleanup;
        if (lv_power_of(state) != VRT_POWER_OFF) {
            rc = lv_err(err, VRT_E_CONFLICT,
                        "VM \"%s\" is running; power it off before exporting "
                        "its disk.",
                        virDomainGetName(d));
            goto cleanup;
        }
        if ((rc = disk_volume(&s->vol, s->virt, disk, err)) < 0)
            goto cleanup;
    }
    lv_strlcpy(s->name, virStorageVolGetName(s->vol), sizeof(s->name));
    if ((rc = export_source(&use, &total, s, spec->format, err)) < 0)
        goto cleanup;
    if (total && spec->offset > total) {
        rc = lv_err(err, VRT_E_INVALID,
                    "The export offset %llu is past the end of the disk "
                    "(%llu bytes).",
                    (unsigned long long)spec->offset,
                    (unsigned long long)total);
        goto cleanup;
    }
    if (!(s->st = virStreamNew(s->virt, 0)) ||
        virStorageVolDownload(use, s->st, spec->offset, 0,
                              VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM) < 0) {
        rc = lv_virt_err(err, "Could not start the download of volume \"%s\"",
                         s->name);
        goto cleanup;
    }
    if (size)
        *size = total ? total - spec->offset : 0;
    lv_log(c, VRT_LOG_INFO, "Exporting volume \"%s\"%s%s%s from byte %llu.",
           s->name, d ? " of VM \"" : "", d ? virDomainGetName(d) : "",
           d ? "\"" : "", (unsigned long long)spec->offset);
    *out = s;
    s = NULL;

cleanup:
    lv_domain_facts_free(f);
    if (d)
        virDomainFree(d);
    if (s && s->st)
        virStreamAbort(s->st);
    stream_free(s);
    return rc;
}

int32_t lv_stream_read(size_t *nread, vrt_stream *s, uint8_t *buf, size_t len,
                       uint32_t flags, vrt_error *err)
{
    int n;

    *nread = 0;
    if (lv_flags_ok(flags, "stream_read", err) < 0)
        return VRT_E_INVALID;
    if (!s || s->import)
        return lv_err(err, VRT_E_INVALID, "stream_read needs an export "
                                          "stream.");
    if (s->broken)
        return lv_err(err, VRT_E_CONFLICT, "The export stream already "
                                           "failed; close it.");
    if (s->eof || !len)
        return VRT_OK;
    if (len > INT32_MAX)
        len = INT32_MAX;
    n = 0;
    if (!s->hole) {
        n = virStreamRecvFlags(s->st, (char *)buf, len,
                               VIR_STREAM_RECV_STOP_AT_HOLE);
        if (n == -3) { /* a hole comes next: its length, then zeros */
            long long hole = 0;
            if (virStreamRecvHole(s->st, &hole, 0) < 0 || hole < 0) {
                s->broken = 1;
                return lv_virt_err(err, "Reading volume \"%s\" failed",
                                   s->name);
            }
            s->hole = (uint64_t)hole;
            if (!s->hole)
                return lv_err(err, VRT_E_AGAIN, "No data yet; read again.");
        }
    }
    if (s->hole) {
        size_t z = s->hole < len ? (size_t)s->hole : len;
        memset(buf, 0, z);
        s->hole -= z;
        *nread = z;
        return VRT_OK;
    }
    if (n == -2)
        return lv_err(err, VRT_E_AGAIN, "No data yet; read again.");
    if (n < 0) {
        s->broken = 1;
        return lv_virt_err(err, "Reading volume \"%s\" failed", s->name);
    }
    if (n == 0) {
        s->eof = 1;
        if (virStreamFinish(s->st) < 0) {
            s->broken = 1;
            return lv_virt_err(err, "The download of volume \"%s\" did not "
                                    "complete",
                               s->name);
        }
    }
    *nread = (size_t)n;
    return VRT_OK;
}

void lv_stream_close(vrt_stream *s)
{
    if (!s)
        return;
    if (s->st && !s->eof)
        virStreamAbort(s->st);
    virResetLastError();
    stream_free(s);
}

static int import_check(const vrt_import_spec *spec, vrt_error *err)
{
    if (!spec || spec->struct_size < sizeof(vrt_import_spec))
        return lv_err(err, VRT_E_INVALID, "The import spec is malformed.");
    if (spec->format != VRT_DISK_RAW && spec->format != VRT_DISK_QCOW2)
        return lv_err(err, VRT_E_NOTSUPP,
                      "Disk import takes raw or qcow2 bytes; convert others "
                      "in the pipeline.");
    if (!lv_name_ok(spec->target_name, 255))
        return lv_err(err, VRT_E_INVALID,
                      "The import name \"%.64s\" is not a valid volume name.",
                      spec->target_name ? spec->target_name : "");
    if (spec->storage_hint && spec->storage_hint[0] &&
        !lv_name_ok(spec->storage_hint, 255))
        return lv_err(err, VRT_E_INVALID,
                      "The storage hint \"%.64s\" is not a pool name.",
                      spec->storage_hint);
    if (!spec->virtual_size)
        return lv_err(err, VRT_E_INVALID,
                      "Disk import needs the disk's virtual size.");
    return VRT_OK;
}

int32_t lv_disk_import_open(vrt_stream **out, vrt_conn *c,
                            const vrt_call *call, const vrt_import_spec *spec,
                            uint32_t flags, vrt_error *err)
{
    vrt_stream *s = NULL;
    lv_vol v;
    int rc, exists = 0;

    *out = NULL;
    memset(&v, 0, sizeof(v));
    if ((rc = lv_flags_ok(flags, "disk_import_open", err)) < 0 ||
        (rc = import_check(spec, err)) < 0)
        return rc;
    s = lv_xcalloc(1, sizeof(*s));
    s->c = c;
    s->import = 1;
    v.pool = (char *)(spec->storage_hint && spec->storage_hint[0]
                          ? spec->storage_hint
                          : lv_conn_pool(c));
    v.name = (char *)spec->target_name;
    v.format = spec->format == VRT_DISK_RAW ? "raw" : "qcow2";
    v.capacity = spec->virtual_size;
    if ((rc = lv_call_check(call, "disk import", err)) < 0 ||
        (rc = lv_conn_acquire(&s->virt, c, err)) < 0 ||
        (rc = lv_conn_need(c, VRT_CAP_DISK_IMPORT, "disk import", err)) < 0 ||
        (rc = lv_vol_exists(&exists, s->virt, &v, err)) < 0)
        goto cleanup;
    if (exists) {
        rc = lv_err(err, VRT_E_EXISTS,
                    "Pool \"%s\" already has a volume named \"%s\".", v.pool,
                    v.name);
        goto cleanup;
    }
    if ((rc = lv_vol_create(s->virt, &v, err)) < 0 ||
        (rc = lv_vol_lookup(&s->vol, s->virt, v.pool, v.name, err)) < 0)
        goto cleanup;
    lv_strlcpy(s->name, v.name, sizeof(s->name));
    if (!(s->st = virStreamNew(s->virt, 0)) ||
        virStorageVolUpload(s->vol, s->st, 0, spec->size_bytes,
                            VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) < 0) {
        rc = lv_virt_err(err, "Could not start the upload to volume \"%s\"",
                         s->name);
        goto cleanup;
    }
    lv_log(c, VRT_LOG_INFO, "Importing a %s disk into volume \"%s\" of pool "
                            "\"%s\".",
           v.format, v.name, v.pool);
    *out = s;
    s = NULL;

cleanup:
    if (s) {
        if (s->st)
            virStreamAbort(s->st);
        if (s->vol)
            virStorageVolDelete(s->vol, 0);
        virResetLastError();
    }
    stream_free(s);
    return rc;
}

#define ZERO_BLOCK 4096u /* a block of zeros this size becomes a hole */

static bool all_zero(const uint8_t *p, size_t n)
{
    return n && p[0] == 0 && !memcmp(p, p + 1, n - 1);
}

/* Sends the zeros written so far as one hole. */
static int send_hole(vrt_stream *s, vrt_error *err)
{
    while (s->hole) {
        long long n = s->hole > (uint64_t)LLONG_MAX ? LLONG_MAX
                                                     : (long long)s->hole;
        if (virStreamSendHole(s->st, n, 0) < 0) {
            s->broken = 1;
            return lv_virt_err(err, "Writing volume \"%s\" failed", s->name);
        }
        s->hole -= (uint64_t)n;
    }
    return VRT_OK;
}

static int send_data(vrt_stream *s, const uint8_t *buf, size_t len,
                     vrt_error *err)
{
    size_t done = 0;
    int n;

    while (done < len) {
        size_t chunk = len - done > (1u << 20) ? (1u << 20) : len - done;
        n = virStreamSend(s->st, (const char *)buf + done, chunk);
        if (n == -2)
            continue; /* blocking streams do not do this; be safe */
        if (n < 0) {
            s->broken = 1;
            return lv_virt_err(err, "Writing volume \"%s\" failed", s->name);
        }
        done += (size_t)n;
    }
    return VRT_OK;
}

int32_t lv_stream_write(vrt_stream *s, const uint8_t *buf, size_t len,
                        uint32_t flags, vrt_error *err)
{
    size_t at = 0;
    int rc;

    if (lv_flags_ok(flags, "stream_write", err) < 0)
        return VRT_E_INVALID;
    if (!s || !s->import)
        return lv_err(err, VRT_E_INVALID, "stream_write needs an import "
                                          "stream.");
    if (s->broken)
        return lv_err(err, VRT_E_CONFLICT, "The import stream already "
                                           "failed; abort it.");
    /* Blocks of zeros (aligned to the stream, whatever the caller's
     * buffer sizes) pile up as a hole; data runs go as they are. */
    while (at < len) {
        uint64_t pos = s->sent + at;
        size_t blk = ZERO_BLOCK - (size_t)(pos % ZERO_BLOCK), run = 0;
        if (blk > len - at)
            blk = len - at;
        if (all_zero(buf + at, blk)) {
            s->hole += blk;
            at += blk;
            continue;
        }
        /* a data run: up to the next zero block */
        while (at + run < len) {
            size_t b = ZERO_BLOCK - (size_t)((pos + run) % ZERO_BLOCK);
            if (b > len - at - run)
                b = len - at - run;
            if (run && all_zero(buf + at + run, b))
                break;
            run += b;
        }
        if ((rc = send_hole(s, err)) < 0 ||
            (rc = send_data(s, buf + at, run, err)) < 0)
            return rc;
        at += run;
    }
    s->sent += len;
    return VRT_OK;
}

int32_t lv_stream_finish(char disk_id[VRT_ID_MAX], vrt_stream *s,
                         uint32_t flags, vrt_error *err)
{
    char *path = NULL;
    int rc = VRT_OK;

    disk_id[0] = '\0';
    if (!s || !s->import) {
        lv_stream_abort(s);
        return lv_err(err, VRT_E_INVALID, "stream_finish needs an import "
                                          "stream.");
    }
    if ((rc = lv_flags_ok(flags, "stream_finish", err)) < 0 || s->broken) {
        if (s->broken)
            rc = lv_err(err, VRT_E_CONFLICT,
                        "The import into volume \"%s\" failed earlier.",
                        s->name);
        lv_stream_abort(s);
        return rc;
    }
    if (send_hole(s, err) < 0 || virStreamFinish(s->st) < 0) {
        rc = lv_virt_err(err, "The upload to volume \"%s\" did not complete",
                         s->name);
        lv_stream_abort(s);
        return rc;
    }
    /* the id is the volume's path: create takes it as image.path */
    path = virStorageVolGetPath(s->vol);
    if (!path)
        rc = lv_virt_err(err, "Could not read the path of volume \"%s\"",
                         s->name);
    else if (lv_strlcpy(disk_id, path, VRT_ID_MAX) >= VRT_ID_MAX)
        rc = lv_err(err, VRT_E_INTERNAL,
                    "The path of volume \"%s\" is longer than an id may be.",
                    s->name);
    if (rc == VRT_OK) {
        lv_log(s->c, VRT_LOG_INFO, "Imported volume \"%s\".", path);
    } else {
        /* a volume nobody can name would only leak */
        disk_id[0] = '\0';
        virStorageVolDelete(s->vol, 0);
        virResetLastError();
    }
    free(path);
    stream_free(s);
    return rc;
}

void lv_stream_abort(vrt_stream *s)
{
    if (!s)
        return;
    if (s->st)
        virStreamAbort(s->st);
    if (s->import && s->vol && virStorageVolDelete(s->vol, 0) < 0)
        lv_log(s->c, VRT_LOG_WARN,
               "Could not remove the partial volume \"%s\" after an aborted "
               "import.",
               s->name);
    virResetLastError();
    stream_free(s);
}
