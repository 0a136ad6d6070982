/*
 * fmt_qcow2_read.c - qcow2 v2/v3 reader: L1/L2 lookup with one cached L2
 * table, zero clusters, compressed (deflate) clusters, backing files.
 * Refcounts are not needed to read and are ignored.  Every offset taken
 * from the file is checked against the file before use.
 */
#include "pipe_internal.h"

#include <vrt/error.h>

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define QCOW2_OFLAG_COPIED (UINT64_C(1) << 63)
#define QCOW2_OFLAG_COMPRESSED (UINT64_C(1) << 62)
#define QCOW2_OFLAG_ZERO UINT64_C(1)
#define QCOW2_OFFSET_MASK UINT64_C(0x00fffffffffffe00)
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_EXT_BACKING_FORMAT 0xE2792ACAu

#define QCOW2_INCOMPAT_DIRTY 0x1u
#define QCOW2_INCOMPAT_CORRUPT 0x2u

typedef struct qcow2 {
    uint32_t cluster_bits;
    uint64_t cluster;
    uint64_t *l1;          /* host order */
    uint32_t l1_size;
    uint8_t *l2;           /* cached L2 table (big-endian entries) */
    uint64_t l2_offset;    /* of the cached table, 0 = none */
    uint8_t *cbuf;         /* compressed input, 2 clusters */
    uint8_t *ubuf;         /* one decompressed cluster */
    uint64_t ubuf_offset;  /* host offset of what ubuf holds, 0 = none */
    z_stream z;
    int z_ready;
    vrt_img_reader *backing;
} qcow2;

int vrt_pipe_qcow2_parse_header(vrt_qcow2_hdr *h, const uint8_t *b, size_t n,
                                const char *path, vrt_error *err)
{
    memset(h, 0, sizeof(*h));
    if (n < 72 || memcmp(b, "QFI\xfb", 4) != 0)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" has no qcow2 magic (bad magic or "
                             "truncated header).", path);
    h->version = vrt_be32(b + 4);
    h->backing_offset = vrt_be64(b + 8);
    h->backing_size = vrt_be32(b + 16);
    h->cluster_bits = vrt_be32(b + 20);
    h->size = vrt_be64(b + 24);
    h->crypt = vrt_be32(b + 32);
    h->l1_size = vrt_be32(b + 36);
    h->l1_offset = vrt_be64(b + 40);
    h->header_length = 72;
    if (h->version != 2 && h->version != 3)
        return vrt_error_set(err, VRT_E_NOTSUPP,
                             "Image \"%s\" is qcow2 version %u; versions 2 and "
                             "3 are supported.", path, h->version);
    if (h->version == 3) {
        if (n < 104)
            return vrt_error_set(err, VRT_E_INVALID,
                                 "Image \"%s\" is truncated inside its qcow2 "
                                 "v3 header.", path);
        h->incompat = vrt_be64(b + 72);
        h->header_length = vrt_be32(b + 100);
        if (h->header_length < 104 || h->header_length % 8 ||
            h->header_length > n)
            return vrt_error_set(err, VRT_E_INVALID,
                                 "Image \"%s\" has a bad qcow2 header length "
                                 "%u.", path, h->header_length);
        if (h->header_length > 104 && b[104] != 0)
            return vrt_error_set(err, VRT_E_NOTSUPP,
                                 "Image \"%s\" uses qcow2 compression type %u; "
                                 "only zlib is supported.", path, b[104]);
    }
    if (h->cluster_bits < 9 || h->cluster_bits > 21)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" has a bad qcow2 cluster size "
                             "(2^%u bytes).", path, h->cluster_bits);
    if (h->crypt != 0)
        return vrt_error_set(err, VRT_E_NOTSUPP,
                             "Image \"%s\" is encrypted (qcow2 crypt method "
                             "%u), which is not supported.", path, h->crypt);
    if (h->incompat & QCOW2_INCOMPAT_CORRUPT)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" is marked corrupt in its qcow2 "
                             "header; repair it with qemu-img check -r.", path);
    if (h->incompat & ~(uint64_t)QCOW2_INCOMPAT_DIRTY)
        return vrt_error_set(err, VRT_E_NOTSUPP,
                             "Image \"%s\" uses qcow2 incompatible features "
                             "0x%llx (external data file, extended L2 or "
                             "zstd), which are not supported.", path,
                             (unsigned long long)h->incompat);
    if (h->size > VRT_IMG_MAX_SIZE)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" claims a virtual size of %llu bytes, "
                             "more than the limit of %llu.", path,
                             (unsigned long long)h->size,
                             (unsigned long long)VRT_IMG_MAX_SIZE);
    uint64_t l2_span = (UINT64_C(1) << h->cluster_bits) *
                       ((UINT64_C(1) << h->cluster_bits) / 8);
    uint64_t need = (h->size + l2_span - 1) / l2_span;
    if (h->l1_size < need || (uint64_t)h->l1_size * 8 > QCOW2_MAX_L1_BYTES)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" has an L1 table of %u entries; its "
                             "virtual size needs %llu (at most %u).", path,
                             h->l1_size, (unsigned long long)need,
                             QCOW2_MAX_L1_BYTES / 8);
    return 0;
}

/* Reads header extensions for the backing file's format. */
static int32_t backing_format(const uint8_t *b, size_t n, uint32_t start)
{
    for (size_t p = start; p + 8 <= n;) {
        uint32_t type = vrt_be32(b + p), len = vrt_be32(b + p + 4);
        if (type == 0 || len > n - p - 8)
            break;
        if (type == QCOW2_EXT_BACKING_FORMAT) {
            char name[32] = {0};
            memcpy(name, b + p + 8, len < sizeof(name) - 1 ? len
                                                           : sizeof(name) - 1);
            int32_t f = vrt_img_format_parse(name);
            return f > 0 ? f : -1;
        }
        p += 8 + (((size_t)len + 7) & ~(size_t)7);
    }
    return VRT_IMG_AUTO;
}

static int open_backing(vrt_img_reader *r, qcow2 *q, const vrt_qcow2_hdr *h,
                        const uint8_t *b, size_t n, uint32_t depth,
                        uint32_t flags, vrt_error *err)
{
    char name[1024];
    if (h->backing_size == 0 || h->backing_size >= sizeof(name) ||
        h->backing_offset > n || h->backing_size > n - h->backing_offset)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" has a bad backing file name (offset "
                             "%llu, %u bytes).", r->path,
                             (unsigned long long)h->backing_offset,
                             h->backing_size);
    if (flags & VRT_PIPE_NO_BACKING)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" has a backing file, which this job "
                             "does not allow.", r->path);
    memcpy(name, b + h->backing_offset, h->backing_size);
    name[h->backing_size] = '\0';
    if (name[0] == '/' || strstr(name, "://")) {
        snprintf(r->info.backing, sizeof(r->info.backing), "%s", name);
    } else {
        char *dup = strdup(r->path);
        if (!dup)
            abort();
        snprintf(r->info.backing, sizeof(r->info.backing), "%s/%s",
                 dirname(dup), name);
        free(dup);
    }
    int32_t fmt = backing_format(b, n, h->header_length);
    if (fmt < 0)
        return vrt_error_set(err, VRT_E_NOTSUPP,
                             "Image \"%s\" names a backing format that is not "
                             "supported.", r->path);
    int rc = vrt_pipe_reader_open_depth(&q->backing, r->info.backing, fmt,
                                        depth + 1, flags, err);
    if (rc != 0)
        return rc;
    r->info.depth = q->backing->info.depth + 1;
    return 0;
}

static int load_l2(vrt_img_reader *r, qcow2 *q, uint64_t off, vrt_error *err)
{
    if (q->l2_offset == off)
        return 0;
    if (off % q->cluster || off >= r->info.file_size ||
        q->cluster > r->info.file_size - off)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" is corrupt: an L2 table offset %llu "
                             "is unaligned or past the end of the file (%llu "
                             "bytes).", r->path, (unsigned long long)off,
                             (unsigned long long)r->info.file_size);
    q->l2_offset = 0;
    int rc = vrt_pipe_pread_all(r->fd, q->l2, q->cluster, off, r->path,
                                "L2 table", err);
    if (rc == 0)
        q->l2_offset = off;
    return rc;
}

static int read_compressed(vrt_img_reader *r, qcow2 *q, uint64_t entry,
                           vrt_error *err)
{
    uint32_t x = 62 - (q->cluster_bits - 8);
    uint64_t host = entry & ((UINT64_C(1) << x) - 1);
    uint64_t sectors = ((entry >> x) & ((UINT64_C(1) << (q->cluster_bits - 8)) - 1)) + 1;
    if (q->ubuf_offset == host && host != 0)
        return 0;
    uint64_t csize = sectors * 512 - (host & 511);
    if (host >= r->info.file_size)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" is corrupt: a compressed cluster at "
                             "%llu is past the end of the file.", r->path,
                             (unsigned long long)host);
    if (csize > r->info.file_size - host)
        csize = r->info.file_size - host; /* the last one may be short */
    if (csize > 2 * q->cluster)
        csize = 2 * q->cluster;
    int rc = vrt_pipe_pread_all(r->fd, q->cbuf, csize, host, r->path,
                                "compressed cluster", err);
    if (rc != 0)
        return rc;
    if (!q->z_ready) {
        if (inflateInit2(&q->z, -12) != Z_OK)
            return vrt_error_set(err, VRT_E_INTERNAL, "zlib init failed.");
        q->z_ready = 1;
    } else if (inflateReset(&q->z) != Z_OK) {
        return vrt_error_set(err, VRT_E_INTERNAL, "zlib reset failed.");
    }
    q->z.next_in = q->cbuf;
    q->z.avail_in = (uInt)csize;
    q->z.next_out = q->ubuf;
    q->z.avail_out = (uInt)q->cluster;
    int zr = inflate(&q->z, Z_FINISH);
    if ((zr != Z_STREAM_END && zr != Z_BUF_ERROR) ||
        q->z.avail_out != 0) {
        q->ubuf_offset = 0;
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" is corrupt: the compressed cluster "
                             "at %llu does not inflate to %llu bytes.", r->path,
                             (unsigned long long)host,
                             (unsigned long long)q->cluster);
    }
    q->ubuf_offset = host;
    return 0;
}

/* Reads the part [off, off+len) of one cluster.  For a plain data cluster
 * it reads nothing but sets *host to where the bytes are in the file, so
 * that the caller reads runs of contiguous clusters at once; else *host
 * is 0. */
static int read_piece(vrt_img_reader *r, qcow2 *q, uint8_t *buf, int *zero,
                      uint64_t *host_out, uint64_t off, size_t len,
                      vrt_error *err)
{
    uint64_t l2_entries = q->cluster / 8;
    uint64_t cidx = off >> q->cluster_bits;
    uint64_t l1i = cidx / l2_entries, l2i = cidx % l2_entries;
    uint64_t in = off & (q->cluster - 1);
    uint64_t l1e = l1i < q->l1_size ? q->l1[l1i] : 0;
    uint64_t entry = 0;
    int rc = 0;
    *zero = 0;
    *host_out = 0;
    if (l1e & QCOW2_OFFSET_MASK) {
        if ((rc = load_l2(r, q, l1e & QCOW2_OFFSET_MASK, err)) != 0)
            return rc;
        entry = vrt_be64(q->l2 + l2i * 8);
    }
    if (entry & QCOW2_OFLAG_COMPRESSED) {
        if ((rc = read_compressed(r, q, entry, err)) != 0)
            return rc;
        memcpy(buf, q->ubuf + in, len);
        return 0;
    }
    if ((entry & QCOW2_OFLAG_ZERO) && r->info.version >= 3) {
        *zero = 1;
        return 0;
    }
    uint64_t host = entry & QCOW2_OFFSET_MASK;
    if (host == 0) {
        if (!q->backing || off >= q->backing->info.virtual_size) {
            *zero = 1;
            return 0;
        }
        /* The backing file may be shorter than this image. */
        uint64_t bsize = q->backing->info.virtual_size;
        size_t bl = off + len > bsize ? (size_t)(bsize - off) : len;
        rc = vrt_img_reader_read(buf, zero, q->backing, off, bl, err);
        if (rc == 0 && bl < len) {
            if (*zero)
                memset(buf, 0, bl);
            memset(buf + bl, 0, len - bl);
            *zero = 0;
        }
        return rc;
    }
    if (host % q->cluster || host >= r->info.file_size)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" is corrupt: a data cluster offset "
                             "%llu is unaligned or past the end of the file "
                             "(%llu bytes).", r->path, (unsigned long long)host,
                             (unsigned long long)r->info.file_size);
    *host_out = host + in;
    return 0;
}

static int qcow2_read(vrt_img_reader *r, uint8_t *buf, int *zero, uint64_t off,
                      size_t len, vrt_error *err)
{
    qcow2 *q = r->state;
    int all_zero = 1, rc = 0;
    size_t done = 0;
    /* A run of data clusters contiguous in the file, not read yet. */
    uint64_t run_host = 0;
    size_t run_at = 0, run_len = 0;
    while (done < len) {
        uint64_t pos = off + done;
        size_t n = (size_t)(q->cluster - (pos & (q->cluster - 1)));
        if (n > len - done)
            n = len - done;
        int z = 0;
        uint64_t host = 0;
        rc = read_piece(r, q, buf + done, &z, &host, pos, n, err);
        if (rc != 0)
            return rc;
        /* Contiguous both in the file and in buf (no zero piece between). */
        if (host && run_len && run_host + run_len == host &&
            run_at + run_len == done) {
            run_len += n;
        } else if (host) {
            if (run_len && (rc = vrt_pipe_pread_all(r->fd, buf + run_at,
                                                    run_len, run_host, r->path,
                                                    "data cluster", err)) != 0)
                return rc;
            run_host = host;
            run_at = done;
            run_len = n;
        }
        if (z && !all_zero)
            memset(buf + done, 0, n);
        if (!z && all_zero && done > 0)
            memset(buf, 0, done); /* earlier pieces were zero */
        if (!z)
            all_zero = 0;
        done += n;
    }
    if (run_len)
        rc = vrt_pipe_pread_all(r->fd, buf + run_at, run_len, run_host,
                                r->path, "data cluster", err);
    *zero = all_zero;
    return rc;
}

static void qcow2_close(vrt_img_reader *r)
{
    qcow2 *q = r->state;
    if (!q)
        return;
    if (q->z_ready)
        inflateEnd(&q->z);
    vrt_img_reader_close(q->backing);
    free(q->l1);
    free(q->l2);
    free(q->cbuf);
    free(q->ubuf);
    free(q);
    r->state = NULL;
}

static const vrt_img_reader_ops qcow2_ops = {"qcow2", qcow2_read, qcow2_close};

int vrt_pipe_qcow2_open(vrt_img_reader *r, uint32_t depth, uint32_t flags,
                        vrt_error *err)
{
    uint8_t head[4096] = {0};
    size_t n = r->info.file_size < sizeof(head) ? (size_t)r->info.file_size
                                                : sizeof(head);
    vrt_qcow2_hdr h;
    int rc = vrt_pipe_pread_all(r->fd, head, n, 0, r->path, "header", err);
    if (rc == 0)
        rc = vrt_pipe_qcow2_parse_header(&h, head, n, r->path, err);
    if (rc != 0)
        return rc;
    qcow2 *q = calloc(1, sizeof(*q));
    if (!q)
        abort();
    r->ops = &qcow2_ops;
    r->state = q;
    r->info.format = VRT_IMG_QCOW2;
    r->info.version = h.version;
    r->info.virtual_size = h.size;
    q->cluster_bits = h.cluster_bits;
    q->cluster = UINT64_C(1) << h.cluster_bits;
    r->info.cluster_size = (uint32_t)q->cluster;
    q->l1_size = h.l1_size;
    uint64_t l1_bytes = (uint64_t)h.l1_size * 8;
    if (h.l1_offset % 512 || h.l1_offset > r->info.file_size ||
        l1_bytes > r->info.file_size - h.l1_offset)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Image \"%s\" is corrupt: its L1 table (%llu "
                             "bytes at %llu) lies outside the file (%llu "
                             "bytes).", r->path, (unsigned long long)l1_bytes,
                             (unsigned long long)h.l1_offset,
                             (unsigned long long)r->info.file_size);
    q->l1 = malloc(l1_bytes ? l1_bytes : 1);
    q->l2 = malloc(q->cluster);
    q->cbuf = malloc(2 * q->cluster);
    q->ubuf = malloc(q->cluster);
    if (!q->l1 || !q->l2 || !q->cbuf || !q->ubuf)
        abort();
    rc = vrt_pipe_pread_all(r->fd, q->l1, l1_bytes, h.l1_offset, r->path,
                            "L1 table", err);
    if (rc != 0)
        return rc;
    for (uint32_t i = 0; i < h.l1_size; i++)
        q->l1[i] = vrt_be64((const uint8_t *)&q->l1[i]);
    if (h.backing_offset != 0)
        rc = open_backing(r, q, &h, head, n, depth, flags, err);
    return rc;
}
