/*
 * fmt_vmdk_write.c - VMDK encoders.
 *
 * monolithicSparse: header, descriptor, redundant and primary grain
 * directories and all grain tables preallocated up front (their size
 * follows from the capacity), then grains appended in order; each grain
 * table is written back when its range is done.
 *
 * streamOptimized: strictly sequential, so it can go to a pipe: header
 * (grain directory "at end"), descriptor, deflated grains each behind a
 * 12-byte marker, a grain table behind a marker after each table's range,
 * then the grain directory, the footer and the end-of-stream marker.
 * Only the grain directory and one grain table are held in memory.
 */
#include "pipe_internal.h"

#include <vrt/error.h>

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define GRAIN_SECTORS 128u /* 64 KiB */
#define NUM_GTES 512u
#define GT_SECTORS (NUM_GTES * 4 / 512)
#define DESC_SECTORS 20u
#define GD_AT_END UINT64_C(0xffffffffffffffff)
#define MARKER_EOS 0u
#define MARKER_GT 1u
#define MARKER_GD 2u
#define MARKER_FOOTER 3u
/* streamOptimized: grains deflated together (on two threads), then
 * written in order. */
#define BATCH 16u

typedef struct venc {
    vrt_pipe_out *out;
    int stream, level;
    uint64_t capacity;   /* sectors */
    uint64_t gd_count;
    uint32_t *gd;        /* host order */
    uint32_t gt[NUM_GTES];
    uint64_t gt_index;   /* GD index of gt[] */
    int gt_used;
    uint64_t gd_sector, rgd_sector, overhead;
    uint64_t next;       /* next free sector */
    uint8_t *cbuf;       /* monolithicSparse: padding of a short grain */
    size_t cbuf_len;
    vrt_pipe_zpool *zpool; /* streamOptimized */
    const uint8_t *batch[BATCH];
    size_t batch_len[BATCH];
    uint64_t batch_gidx[BATCH];
    unsigned batch_n;
    uint8_t sector[512];
} venc;

static uint64_t div_up(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

static void make_header(uint8_t *h, const venc *e, uint64_t gd_sector)
{
    memset(h, 0, 512);
    memcpy(h, "KDMV", 4);
    vrt_put_le32(h + 4, e->stream ? 3 : 1);
    vrt_put_le32(h + 8, e->stream ? (1u | 1u << 16 | 1u << 17) : (1u | 2u));
    vrt_put_le64(h + 12, e->capacity);
    vrt_put_le64(h + 20, GRAIN_SECTORS);
    vrt_put_le64(h + 28, 1);
    vrt_put_le64(h + 36, DESC_SECTORS);
    vrt_put_le32(h + 44, NUM_GTES);
    vrt_put_le64(h + 48, e->stream ? 0 : e->rgd_sector);
    vrt_put_le64(h + 56, gd_sector);
    vrt_put_le64(h + 64, e->overhead);
    h[73] = '\n';
    h[74] = ' ';
    h[75] = '\r';
    h[76] = '\n';
    h[77] = e->stream ? 1 : 0;
}

static int put_descriptor(venc *e, vrt_error *err)
{
    char desc[DESC_SECTORS * 512];
    char *dup = strdup(e->out->path);
    if (!dup)
        abort();
    uint64_t cyl = e->capacity / (16 * 63);
    memset(desc, 0, sizeof(desc));
    snprintf(desc, sizeof(desc),
             "# Disk DescriptorFile\n"
             "version=1\n"
             "CID=%08x\n"
             "parentCID=ffffffff\n"
             "createType=\"%s\"\n"
             "\n"
             "# Extent description\n"
             "RW %llu SPARSE \"%s\"\n"
             "\n"
             "# The Disk Data Base\n"
             "#DDB\n"
             "\n"
             "ddb.virtualHWVersion = \"4\"\n"
             "ddb.geometry.cylinders = \"%llu\"\n"
             "ddb.geometry.heads = \"16\"\n"
             "ddb.geometry.sectors = \"63\"\n"
             "ddb.adapterType = \"ide\"\n",
             (unsigned)(e->capacity * 2654435761u) | 1u,
             e->stream ? "streamOptimized" : "monolithicSparse",
             (unsigned long long)e->capacity, basename(dup),
             (unsigned long long)(cyl > 16383 ? 16383 : cyl));
    free(dup);
    return vrt_pipe_out_write(e->out, desc, sizeof(desc), 512, err);
}

static int put_marker(venc *e, uint64_t val, uint32_t type, vrt_error *err)
{
    memset(e->sector, 0, 512);
    vrt_put_le64(e->sector, val);
    vrt_put_le32(e->sector + 12, type);
    int rc = vrt_pipe_out_write(e->out, e->sector, 512, e->next * 512, err);
    e->next++;
    return rc;
}

/* Writes the current grain table (where it belongs) and clears it. */
static int put_gt(venc *e, vrt_error *err)
{
    uint8_t buf[NUM_GTES * 4];
    int rc = 0;
    if (!e->gt_used)
        return 0;
    for (uint32_t i = 0; i < NUM_GTES; i++)
        vrt_put_le32(buf + 4 * i, e->gt[i]);
    if (e->stream) {
        if ((rc = put_marker(e, GT_SECTORS, MARKER_GT, err)) != 0)
            return rc;
        e->gd[e->gt_index] = (uint32_t)e->next;
        rc = vrt_pipe_out_write(e->out, buf, sizeof(buf), e->next * 512, err);
        e->next += GT_SECTORS;
    } else {
        rc = vrt_pipe_out_write(e->out, buf, sizeof(buf),
                                (uint64_t)e->gd[e->gt_index] * 512, err);
        if (rc == 0)
            rc = vrt_pipe_out_write(e->out, buf, sizeof(buf),
                                    (e->gd[e->gt_index] - e->gd_sector +
                                     e->rgd_sector) * 512,
                                    err);
    }
    memset(e->gt, 0, sizeof(e->gt));
    e->gt_used = 0;
    return rc;
}

/* Records a grain at the next sector of the file, under its table. */
static int grain_slot(venc *e, uint64_t gidx, vrt_error *err)
{
    int rc = 0;
    if (gidx / NUM_GTES != e->gt_index && (rc = put_gt(e, err)) != 0)
        return rc;
    e->gt_index = gidx / NUM_GTES;
    if (e->next > UINT32_MAX - 2 * GRAIN_SECTORS)
        return vrt_error_set(err, VRT_E_NOTSUPP,
                             "The VMDK output \"%s\" would pass 2 TiB, the "
                             "format's limit.", e->out->path);
    e->gt[gidx % NUM_GTES] = (uint32_t)e->next; /* where it goes now */
    e->gt_used = 1;
    return 0;
}

static int put_grain(venc *e, const uint8_t *p, size_t n, uint64_t gidx,
                     vrt_error *err)
{
    int rc = grain_slot(e, gidx, err); /* may append a table first */
    uint64_t sector = e->next;
    if (rc == 0)
        rc = vrt_pipe_out_write(e->out, p, n, sector * 512, err);
    if (rc == 0 && n < GRAIN_SECTORS * 512u) {
        size_t pad = GRAIN_SECTORS * 512u - n;
        memset(e->cbuf, 0, pad);
        rc = vrt_pipe_out_write(e->out, e->cbuf, pad, sector * 512 + n, err);
    }
    e->next += GRAIN_SECTORS;
    return rc;
}

/* streamOptimized: deflates the gathered grains, then writes each behind
 * its marker, in order. */
static int put_batch(venc *e, vrt_error *err)
{
    unsigned n = e->batch_n;
    int rc = 0;
    e->batch_n = 0;
    if (n == 0)
        return 0;
    int bad = vrt_pipe_zpool_run(e->zpool, e->batch, e->batch_len, n);
    if (bad)
        return vrt_error_set(err, VRT_E_INTERNAL,
                             "Deflating grain %llu failed.",
                             (unsigned long long)e->batch_gidx[bad - 1]);
    for (unsigned i = 0; i < n && rc == 0; i++) {
        size_t clen = 0;
        uint8_t *g = vrt_pipe_zpool_out(e->zpool, i, &clen);
        if ((rc = grain_slot(e, e->batch_gidx[i], err)) != 0)
            break;
        uint64_t sector = e->next; /* after a table grain_slot appended */
        vrt_put_le64(g, e->batch_gidx[i] * GRAIN_SECTORS);
        vrt_put_le32(g + 8, (uint32_t)clen);
        size_t total = (size_t)div_up(12 + clen, 512) * 512;
        memset(g + 12 + clen, 0, total - 12 - clen);
        rc = vrt_pipe_out_write(e->out, g, total, sector * 512, err);
        e->next += total / 512;
    }
    return rc;
}

/* Blocks arrive in order and the stage returns before the caller reuses
 * the block, so a batch never spans two write() calls. */
static int venc_write(vrt_pipe_stage *s, const vrt_pipe_block *b,
                      vrt_error *err)
{
    venc *e = s->state;
    const size_t gbytes = GRAIN_SECTORS * 512u;
    int rc = 0;
    if (b->zero)
        return 0;
    for (size_t done = 0; done < b->len && rc == 0; done += gbytes) {
        size_t n = b->len - done < gbytes ? b->len - done : gbytes;
        const uint8_t *p = b->data + done;
        if (vrt_pipe_is_zero(p, n))
            continue;
        uint64_t gidx = (b->off + done) / gbytes;
        if (!e->stream) {
            rc = put_grain(e, p, n, gidx, err);
            continue;
        }
        e->batch[e->batch_n] = p;
        e->batch_len[e->batch_n] = n;
        e->batch_gidx[e->batch_n] = gidx;
        if (++e->batch_n == BATCH)
            rc = put_batch(e, err);
    }
    if (rc == 0 && e->stream)
        rc = put_batch(e, err);
    return rc;
}

static int venc_flush(vrt_pipe_stage *s, vrt_error *err)
{
    venc *e = s->state;
    int rc = put_gt(e, err);
    uint64_t gd_bytes = e->gd_count * 4;
    uint64_t gd_sectors = div_up(gd_bytes, 512);
    uint8_t *buf = calloc(1, gd_sectors * 512 + 1);
    if (!buf)
        abort();
    if (rc != 0)
        goto cleanup;
    if (!e->stream) {
        s->end = e->next * 512;
        goto cleanup; /* the directories were written up front */
    }
    if ((rc = put_marker(e, gd_sectors, MARKER_GD, err)) != 0)
        goto cleanup;
    uint64_t gd_sector = e->next;
    for (uint64_t i = 0; i < e->gd_count; i++)
        vrt_put_le32(buf + 4 * i, e->gd[i]);
    rc = vrt_pipe_out_write(e->out, buf, gd_sectors * 512, e->next * 512, err);
    e->next += gd_sectors;
    if (rc == 0)
        rc = put_marker(e, 1, MARKER_FOOTER, err);
    if (rc == 0) {
        make_header(e->sector, e, gd_sector);
        rc = vrt_pipe_out_write(e->out, e->sector, 512, e->next * 512, err);
        e->next++;
    }
    if (rc == 0)
        rc = put_marker(e, 0, MARKER_EOS, err);
    s->end = e->next * 512;
cleanup:
    free(buf);
    return rc;
}

static void venc_close(vrt_pipe_stage *s)
{
    venc *e = s->state;
    if (!e)
        return;
    free(e->gd);
    free(e->cbuf);
    vrt_pipe_zpool_free(e->zpool);
    free(e);
}

static const vrt_pipe_stage_ops venc_ops = {"encode.vmdk", venc_write,
                                            venc_flush, venc_close};

/* monolithicSparse: fixed layout of the metadata, written now. */
static int sparse_layout(venc *e, vrt_error *err)
{
    uint64_t gd_sectors = div_up(e->gd_count * 4, 512);
    e->rgd_sector = 1 + DESC_SECTORS;
    uint64_t rgt = e->rgd_sector + gd_sectors;
    e->gd_sector = rgt + e->gd_count * GT_SECTORS;
    uint64_t gt = e->gd_sector + gd_sectors;
    e->overhead = div_up(gt + e->gd_count * GT_SECTORS, GRAIN_SECTORS) *
                  GRAIN_SECTORS;
    if (e->overhead + e->capacity > UINT32_MAX)
        return vrt_error_set(err, VRT_E_NOTSUPP,
                             "A monolithicSparse VMDK holds at most 2 TiB; "
                             "\"%s\" would need more.", e->out->path);
    uint8_t *buf = calloc(1, gd_sectors * 512 + 1);
    if (!buf)
        abort();
    int rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        uint64_t dir = pass ? e->gd_sector : e->rgd_sector;
        uint64_t tables = pass ? gt : rgt;
        for (uint64_t i = 0; i < e->gd_count; i++)
            vrt_put_le32(buf + 4 * i, (uint32_t)(tables + i * GT_SECTORS));
        rc = vrt_pipe_out_write(e->out, buf, gd_sectors * 512, dir * 512, err);
    }
    for (uint64_t i = 0; i < e->gd_count; i++)
        e->gd[i] = (uint32_t)(gt + i * GT_SECTORS);
    free(buf);
    e->next = e->overhead;
    return rc;
}

int vrt_pipe_enc_vmdk_new(vrt_pipe_stage **out, vrt_pipe_out *o,
                          uint64_t size, int stream, int level, vrt_error *err)
{
    *out = NULL;
    vrt_pipe_stage *s = calloc(1, sizeof(*s));
    venc *e = calloc(1, sizeof(*e));
    if (!s || !e)
        abort();
    s->ops = &venc_ops;
    s->state = e;
    e->out = o;
    e->stream = stream;
    e->level = level > 9 ? 9 : level;
    e->capacity = div_up(size, 512);
    e->gd_count = div_up(e->capacity, (uint64_t)GRAIN_SECTORS * NUM_GTES);
    e->gd = calloc(e->gd_count ? e->gd_count : 1, 4);
    e->cbuf_len = GRAIN_SECTORS * 512u;
    e->cbuf = calloc(1, e->cbuf_len);
    if (!e->gd || !e->cbuf)
        abort();
    if (stream && vrt_pipe_zpool_new(&e->zpool, e->level,
                                     GRAIN_SECTORS * 512u, 12, BATCH) != 0) {
        vrt_pipe_stage_free(s);
        return vrt_error_set(err, VRT_E_INTERNAL,
                             "zlib could not set up deflate level %d.",
                             e->level);
    }
    e->gt_index = UINT64_MAX;
    int rc = 0;
    if (stream) {
        e->overhead = GRAIN_SECTORS;
        e->next = e->overhead;
    } else {
        /* Grain tables are written back: the output is digested by
         * reading it back once, at the end. */
        o->in_order = 0;
        rc = sparse_layout(e, err);
    }
    uint8_t h[512];
    make_header(h, e, stream ? GD_AT_END : e->gd_sector);
    if (rc == 0)
        rc = vrt_pipe_out_write(o, h, sizeof(h), 0, err);
    if (rc == 0)
        rc = put_descriptor(e, err);
    if (rc != 0) {
        vrt_pipe_stage_free(s);
        return rc;
    }
    *out = s;
    return 0;
}
