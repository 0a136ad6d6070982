/*
 * fmt_vmdk_read.c - VMDK hosted sparse extents: monolithicSparse and
 * streamOptimized (compressed grains, grain directory at the end found
 * through the footer).  One grain table is cached at a time.
 */
#include "pipe_internal.h"

#include <vrt/error.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define VMDK_FLAG_COMPRESSED (1u << 16)
#define VMDK_FLAG_MARKERS (1u << 17)
#define VMDK_GD_AT_END UINT64_C(0xffffffffffffffff)
#define VMDK_MARKER_FOOTER 3u
#define VMDK_MAX_GRAIN_SECTORS 2048u /* 1 MiB */
#define VMDK_MAX_GTES 65536u

typedef struct vmdk {
    uint64_t grain_bytes;
    uint32_t num_gtes;
    uint32_t *gd;      /* host order, sectors */
    uint64_t gd_count;
    uint32_t *gt;      /* cached table, host order */
    uint64_t gt_index; /* GD index of the cached table, or UINT64_MAX */
    int compressed;
    uint8_t *cbuf;     /* compressed grain with its 12-byte header */
    size_t cbuf_len;
    uint8_t *ubuf;     /* one decompressed grain */
    uint64_t ubuf_sector;
} vmdk;

int vrt_pipe_vmdk_parse_header(vrt_vmdk_hdr *h, const uint8_t *b, size_t n,
                               const char *path, vrt_error *err)
{
    memset(h, 0, sizeof(*h));
    if (n < 512 || memcmp(b, "KDMV", 4) != 0)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" has no VMDK sparse magic (bad magic "
                             "or truncated header).", path);
    h->version = vrt_le32(b + 4);
    h->flags = vrt_le32(b + 8);
    h->capacity = vrt_le64(b + 12);
    h->grain = vrt_le64(b + 20);
    h->desc_offset = vrt_le64(b + 28);
    h->desc_size = vrt_le64(b + 36);
    h->num_gtes = vrt_le32(b + 44);
    h->rgd_offset = vrt_le64(b + 48);
    h->gd_offset = vrt_le64(b + 56);
    h->overhead = vrt_le64(b + 64);
    h->compress = (uint16_t)(b[77] | b[78] << 8);
    if (h->version < 1 || h->version > 3)
        return vrt_error_set(err, VRT_E_NOTSUPP,
                             "Image \"%s\" is VMDK sparse version %u; versions "
                             "1 to 3 are supported.", path, h->version);
    if (h->grain < 1 || h->grain > VMDK_MAX_GRAIN_SECTORS ||
        (h->grain & (h->grain - 1)))
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" has a bad VMDK grain size of %llu "
                             "sectors.", path, (unsigned long long)h->grain);
    if (h->num_gtes < 1 || h->num_gtes > VMDK_MAX_GTES)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" has a bad VMDK grain table size of "
                             "%u entries.", path, h->num_gtes);
    if (h->capacity > VRT_IMG_MAX_SIZE / 512)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" claims a virtual size of %llu "
                             "sectors, more than the limit of %llu bytes.",
                             path, (unsigned long long)h->capacity,
                             (unsigned long long)VRT_IMG_MAX_SIZE);
    if ((h->flags & VMDK_FLAG_COMPRESSED) && h->compress != 1)
        return vrt_error_set(err, VRT_E_NOTSUPP,
                             "Image \"%s\" uses VMDK compression algorithm %u; "
                             "only deflate (1) is supported.", path,
                             h->compress);
    return 0;
}

static int load_gt(vrt_img_reader *r, vmdk *v, uint64_t gdi, vrt_error *err)
{
    if (v->gt_index == gdi)
        return 0;
    uint64_t off = (uint64_t)v->gd[gdi] * 512;
    uint64_t bytes = (uint64_t)v->num_gtes * 4;
    v->gt_index = UINT64_MAX;
    if (off > r->info.file_size || bytes > r->info.file_size - off)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" is corrupt: grain table %llu at "
                             "offset %llu lies outside the file (%llu bytes).",
                             r->path, (unsigned long long)gdi,
                             (unsigned long long)off,
                             (unsigned long long)r->info.file_size);
    int rc = vrt_pipe_pread_all(r->fd, v->gt, bytes, off, r->path,
                                "grain table", err);
    if (rc != 0)
        return rc;
    for (uint32_t i = 0; i < v->num_gtes; i++)
        v->gt[i] = vrt_le32((const uint8_t *)&v->gt[i]);
    v->gt_index = gdi;
    return 0;
}

static int read_grain_compressed(vrt_img_reader *r, vmdk *v, uint64_t sector,
                                 vrt_error *err)
{
    if (v->ubuf_sector == sector)
        return 0;
    uint64_t off = sector * 512;
    uint8_t m[12];
    v->ubuf_sector = 0;
    int rc = vrt_pipe_pread_all(r->fd, m, sizeof(m), off, r->path,
                                "grain marker", err);
    if (rc != 0)
        return rc;
    uint32_t csize = vrt_le32(m + 8);
    if (csize == 0 || csize > v->cbuf_len)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" is corrupt: the compressed grain at "
                             "%llu claims %u bytes.", r->path,
                             (unsigned long long)off, csize);
    rc = vrt_pipe_pread_all(r->fd, v->cbuf, csize, off + 12, r->path,
                            "compressed grain", err);
    if (rc != 0)
        return rc;
    uLongf ulen = (uLongf)v->grain_bytes;
    int zr = uncompress(v->ubuf, &ulen, v->cbuf, csize);
    if (zr != Z_OK || ulen > v->grain_bytes)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" is corrupt: the compressed grain at "
                             "%llu does not inflate (zlib error %d).", r->path,
                             (unsigned long long)off, zr);
    if (ulen < v->grain_bytes) /* the last grain may be short */
        memset(v->ubuf + ulen, 0, v->grain_bytes - ulen);
    v->ubuf_sector = sector;
    return 0;
}

static int read_piece(vrt_img_reader *r, vmdk *v, uint8_t *buf, int *zero,
                      uint64_t off, size_t len, vrt_error *err)
{
    uint64_t gidx = off / v->grain_bytes, in = off % v->grain_bytes;
    uint64_t gdi = gidx / v->num_gtes;
    int rc = 0;
    *zero = 0;
    if (gdi >= v->gd_count || v->gd[gdi] == 0) {
        *zero = 1;
        return 0;
    }
    if ((rc = load_gt(r, v, gdi, err)) != 0)
        return rc;
    uint32_t sector = v->gt[gidx % v->num_gtes];
    if (sector <= 1) { /* 0 unallocated, 1 an explicit zero grain */
        *zero = 1;
        return 0;
    }
    uint64_t host = (uint64_t)sector * 512;
    if (host >= r->info.file_size)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" is corrupt: a grain table points "
                             "to offset %llu, past the end of the file (%llu "
                             "bytes).", r->path, (unsigned long long)host,
                             (unsigned long long)r->info.file_size);
    if (v->compressed) {
        if ((rc = read_grain_compressed(r, v, sector, err)) != 0)
            return rc;
        memcpy(buf, v->ubuf + in, len);
        return 0;
    }
    return vrt_pipe_pread_all(r->fd, buf, len, host + in, r->path, "grain",
                              err);
}

static int vmdk_read(vrt_img_reader *r, uint8_t *buf, int *zero, uint64_t off,
                     size_t len, vrt_error *err)
{
    vmdk *v = r->state;
    int all_zero = 1;
    for (size_t done = 0; done < len;) {
        uint64_t pos = off + done;
        size_t n = (size_t)(v->grain_bytes - pos % v->grain_bytes);
        if (n > len - done)
            n = len - done;
        int z = 0;
        int rc = read_piece(r, v, buf + done, &z, pos, n, err);
        if (rc != 0)
            return rc;
        if (z && !all_zero)
            memset(buf + done, 0, n);
        if (!z && all_zero && done > 0)
            memset(buf, 0, done);
        if (!z)
            all_zero = 0;
        done += n;
    }
    *zero = all_zero;
    return 0;
}

static void vmdk_close(vrt_img_reader *r)
{
    vmdk *v = r->state;
    if (!v)
        return;
    free(v->gd);
    free(v->gt);
    free(v->cbuf);
    free(v->ubuf);
    free(v);
    r->state = NULL;
}

static const vrt_img_reader_ops vmdk_ops = {"vmdk", vmdk_read, vmdk_close};

/* streamOptimized images may keep the grain directory at the end: the
 * footer (a copy of the header) sits 1024 bytes before the end of file. */
static int read_footer(vrt_img_reader *r, vrt_vmdk_hdr *h, vrt_error *err)
{
    uint8_t b[1024];
    if (r->info.file_size < 1536 + 512)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" is truncated: its VMDK grain "
                             "directory is at the end but there is no "
                             "footer.", r->path);
    int rc = vrt_pipe_pread_all(r->fd, b, sizeof(b), r->info.file_size - 1536,
                                r->path, "footer", err);
    if (rc != 0)
        return rc;
    if (vrt_le32(b + 12) != VMDK_MARKER_FOOTER)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" is truncated or corrupt: no VMDK "
                             "footer marker before the end-of-stream marker.",
                             r->path);
    vrt_vmdk_hdr f;
    if ((rc = vrt_pipe_vmdk_parse_header(&f, b + 512, 512, r->path, err)) != 0)
        return rc;
    if (f.gd_offset == VMDK_GD_AT_END)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" is corrupt: its VMDK footer has no "
                             "grain directory offset.", r->path);
    h->gd_offset = f.gd_offset;
    return 0;
}

/* The value of `key=` in descriptor text (quotes dropped), or "". */
static void desc_value(char *out, size_t size, const char *text, const char *key)
{
    out[0] = '\0';
    size_t kl = strlen(key);
    for (const char *p = text; (p = strstr(p, key)) != NULL; p += kl) {
        if (p != text && p[-1] != '\n')
            continue;
        const char *v = p + kl;
        while (*v == ' ' || *v == '=' || *v == '"')
            v++;
        size_t n = strcspn(v, "\"\r\n");
        snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), v);
        return;
    }
}

/* A hosted sparse file can be a snapshot delta (its parent holds the
 * grains it lacks) or one extent of a split disk: read alone, either would
 * convert "successfully" into the wrong disk.  The embedded descriptor
 * says which; both are refused. */
static int check_descriptor(vrt_img_reader *r, const vrt_vmdk_hdr *h,
                            vrt_error *err)
{
    if (!h->desc_offset || !h->desc_size)
        return 0;
    uint64_t off = h->desc_offset * 512, len = h->desc_size * 512;
    if (h->desc_offset > r->info.file_size / 512 || off >= r->info.file_size)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" is corrupt: its VMDK descriptor "
                             "lies outside the file.", r->path);
    if (len > 65536)
        len = 65536;
    if (len > r->info.file_size - off)
        len = r->info.file_size - off;
    char *text = calloc(1, (size_t)len + 1);
    if (!text)
        abort();
    int rc = vrt_pipe_pread_all(r->fd, text, (size_t)len, off, r->path,
                                "descriptor", err);
    char parent[32], type[64];
    desc_value(parent, sizeof(parent), text, "parentCID");
    desc_value(type, sizeof(type), text, "createType");
    free(text);
    if (rc != 0)
        return rc;
    if (parent[0] && strcasecmp(parent, "ffffffff") != 0)
        return vrt_error_set(err, VRT_E_NOTSUPP,
                             "Image \"%s\" is a VMDK delta (parentCID=%s): "
                             "its parent disk holds part of its content; "
                             "convert the whole chain (or a flattened copy).",
                             r->path, parent);
    if (type[0] && strcmp(type, "monolithicSparse") != 0 &&
        strcmp(type, "streamOptimized") != 0)
        return vrt_error_set(err, VRT_E_NOTSUPP,
                             "Image \"%s\" is one extent of a \"%s\" VMDK, "
                             "not a whole disk; convert its descriptor's disk "
                             "with qemu-img.", r->path, type);
    return 0;
}

int vrt_pipe_vmdk_open(vrt_img_reader *r, vrt_error *err)
{
    uint8_t b[512] = {0};
    vrt_vmdk_hdr h;
    int rc = vrt_pipe_pread_all(r->fd, b, r->info.file_size < 512
                                              ? (size_t)r->info.file_size
                                              : 512,
                                0, r->path, "header", err);
    if (rc == 0 && r->info.file_size < 512)
        rc = vrt_error_set(err, VRT_E_INVALID,
                           "Image \"%s\" is truncated inside its VMDK header.",
                           r->path);
    if (rc == 0)
        rc = vrt_pipe_vmdk_parse_header(&h, b, sizeof(b), r->path, err);
    if (rc == 0 && h.gd_offset == VMDK_GD_AT_END)
        rc = read_footer(r, &h, err);
    if (rc == 0)
        rc = check_descriptor(r, &h, err);
    if (rc != 0)
        return rc;
    vmdk *v = calloc(1, sizeof(*v));
    if (!v)
        abort();
    r->ops = &vmdk_ops;
    r->state = v;
    v->grain_bytes = h.grain * 512;
    v->num_gtes = h.num_gtes;
    v->compressed = (h.flags & VMDK_FLAG_COMPRESSED) != 0;
    v->gt_index = UINT64_MAX;
    r->info.format = v->compressed ? VRT_IMG_VMDK_STREAM : VRT_IMG_VMDK;
    r->info.version = h.version;
    r->info.virtual_size = h.capacity * 512;
    r->info.cluster_size = (uint32_t)v->grain_bytes;
    uint64_t span = v->grain_bytes * v->num_gtes;
    v->gd_count = (r->info.virtual_size + span - 1) / span;
    uint64_t gd_bytes = v->gd_count * 4;
    uint64_t gd_off = h.gd_offset * 512;
    /* 32 MiB holds the directory of a 64 TiB disk in 64 KiB grains with
     * 512 entries per table; more is a hostile header, not a disk. */
    if (gd_bytes > (UINT64_C(32) << 20))
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" is corrupt: its grain directory "
                             "would have %llu entries (grains of %llu bytes, "
                             "%u per table).", r->path,
                             (unsigned long long)v->gd_count,
                             (unsigned long long)v->grain_bytes, v->num_gtes);
    if (h.gd_offset > r->info.file_size || gd_off > r->info.file_size ||
        gd_bytes > r->info.file_size - gd_off)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" is corrupt or truncated: its grain "
                             "directory (%llu bytes at %llu) lies outside the "
                             "file (%llu bytes).", r->path,
                             (unsigned long long)gd_bytes,
                             (unsigned long long)gd_off,
                             (unsigned long long)r->info.file_size);
    v->gd = malloc(gd_bytes ? gd_bytes : 1);
    v->gt = malloc((size_t)v->num_gtes * 4);
    v->cbuf_len = (size_t)v->grain_bytes * 2 + 1024;
    v->cbuf = malloc(v->cbuf_len);
    v->ubuf = malloc(v->grain_bytes);
    if (!v->gd || !v->gt || !v->cbuf || !v->ubuf)
        abort();
    rc = vrt_pipe_pread_all(r->fd, v->gd, gd_bytes, gd_off, r->path,
                            "grain directory", err);
    if (rc != 0)
        return rc;
    for (uint64_t i = 0; i < v->gd_count; i++)
        v->gd[i] = vrt_le32((const uint8_t *)&v->gd[i]);
    return 0;
}
