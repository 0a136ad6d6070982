/*
 * fmt_qcow2_write.c - qcow2 v3 encoder.  Clusters are allocated strictly
 * in order: header, then data clusters with each L2 table appended once its
 * range is done, then the L1 table, the refcount blocks and the refcount
 * table.  Every cluster below the end is used exactly once, so refcounts
 * are "1 up to the end" and need no memory; only the L1 table and one L2
 * table are held.  Zero clusters are left unallocated (they read as zero
 * without a backing file).
 */
#include "pipe_internal.h"

#include <vrt/error.h>

#include <stdlib.h>
#include <string.h>

#define OFLAG_COPIED (UINT64_C(1) << 63)
#define REFCOUNT_ORDER 4 /* 16-bit refcounts, what qemu uses */

typedef struct qenc {
    vrt_pipe_out *out;
    uint64_t size, cluster;
    uint32_t cluster_bits;
    uint64_t next;       /* next free cluster index */
    uint64_t *l1;        /* host order, with OFLAG_COPIED */
    uint64_t l1_size;
    uint8_t *l2;         /* current L2 table, big-endian entries */
    uint64_t l2_index;   /* L1 index of the current table */
    int l2_used;
    uint8_t *pad;        /* one cluster, for the partial last one */
} qenc;

static uint64_t div_up(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

static int put_l2(qenc *e, vrt_error *err)
{
    if (!e->l2_used)
        return 0;
    uint64_t host = e->next++ * e->cluster;
    int rc = vrt_pipe_out_write(e->out, e->l2, e->cluster, host, err);
    e->l1[e->l2_index] = host | OFLAG_COPIED;
    memset(e->l2, 0, e->cluster);
    e->l2_used = 0;
    return rc;
}

/* Writes the run of consecutive data clusters gathered so far: they are
 * contiguous in the block and in the file, so one write serves them all. */
static int flush_run(qenc *e, const uint8_t **run, size_t *run_len,
                     uint64_t run_host, vrt_error *err)
{
    int rc = 0;
    if (*run_len)
        rc = vrt_pipe_out_write(e->out, *run, *run_len, run_host, err);
    *run = NULL;
    *run_len = 0;
    return rc;
}

static int qenc_write(vrt_pipe_stage *s, const vrt_pipe_block *b,
                      vrt_error *err)
{
    qenc *e = s->state;
    uint64_t per_l2 = e->cluster / 8;
    const uint8_t *run = NULL;
    size_t run_len = 0;
    uint64_t run_host = 0;
    int rc = 0;
    if (b->zero)
        return 0;
    for (size_t done = 0; done < b->len && rc == 0; done += e->cluster) {
        uint64_t voff = b->off + done;
        size_t n = b->len - done < e->cluster ? b->len - done
                                              : (size_t)e->cluster;
        const uint8_t *p = b->data + done;
        /* Zero clusters inside a data block stay unallocated too. */
        if (vrt_pipe_is_zero(p, n)) {
            rc = flush_run(e, &run, &run_len, run_host, err);
            continue;
        }
        uint64_t cidx = voff >> e->cluster_bits;
        if (cidx / per_l2 != e->l2_index) {
            if ((rc = flush_run(e, &run, &run_len, run_host, err)) != 0 ||
                (rc = put_l2(e, err)) != 0)
                break;
        }
        e->l2_index = cidx / per_l2;
        uint64_t host = e->next++ * e->cluster;
        vrt_put_be64(e->l2 + (cidx % per_l2) * 8, host | OFLAG_COPIED);
        e->l2_used = 1;
        if (n < e->cluster) { /* the disk's last, partial cluster */
            if ((rc = flush_run(e, &run, &run_len, run_host, err)) != 0)
                break;
            memset(e->pad, 0, e->cluster);
            memcpy(e->pad, p, n);
            rc = vrt_pipe_out_write(e->out, e->pad, e->cluster, host, err);
            continue;
        }
        if (!run_len) {
            run = p;
            run_host = host;
        }
        run_len += n;
    }
    if (rc == 0)
        rc = flush_run(e, &run, &run_len, run_host, err);
    return rc;
}

/* Writes refcount blocks and table after the `used` clusters so far. */
static int put_refcounts(qenc *e, uint64_t *rt_off, uint32_t *rt_clusters,
                         vrt_error *err)
{
    uint64_t per_block = e->cluster * 8 / (1u << REFCOUNT_ORDER);
    uint64_t used = e->next, blocks = 0, table = 0, total = used;
    for (int i = 0; i < 64; i++) { /* converges in two or three rounds */
        uint64_t nb = div_up(total, per_block);
        uint64_t nt = div_up(nb * 8, e->cluster);
        if (nb == blocks && nt == table)
            break;
        blocks = nb;
        table = nt;
        total = used + blocks + table;
    }
    uint64_t first_block = used;
    int rc = 0;
    for (uint64_t bi = 0; bi < blocks && rc == 0; bi++) {
        memset(e->pad, 0, e->cluster);
        for (uint64_t k = 0; k < per_block; k++) {
            if (bi * per_block + k >= total)
                break;
            e->pad[2 * k + 1] = 1; /* big-endian 16-bit 1 */
        }
        rc = vrt_pipe_out_write(e->out, e->pad, e->cluster,
                                (first_block + bi) * e->cluster, err);
    }
    for (uint64_t ti = 0; ti < table && rc == 0; ti++) {
        memset(e->pad, 0, e->cluster);
        for (uint64_t k = 0; k < e->cluster / 8; k++) {
            uint64_t bi = ti * (e->cluster / 8) + k;
            if (bi >= blocks)
                break;
            vrt_put_be64(e->pad + 8 * k, (first_block + bi) * e->cluster);
        }
        rc = vrt_pipe_out_write(e->out, e->pad, e->cluster,
                                (used + blocks + ti) * e->cluster, err);
    }
    *rt_off = (used + blocks) * e->cluster;
    *rt_clusters = (uint32_t)table;
    e->next = total;
    return rc;
}

static int qenc_flush(vrt_pipe_stage *s, vrt_error *err)
{
    qenc *e = s->state;
    int rc = put_l2(e, err);
    if (rc != 0)
        return rc;
    /* L1 table, in whole clusters. */
    uint64_t l1_off = e->next * e->cluster;
    uint64_t l1_clusters = div_up(e->l1_size * 8, e->cluster);
    for (uint64_t c = 0; c < l1_clusters && rc == 0; c++) {
        memset(e->pad, 0, e->cluster);
        for (uint64_t k = 0; k < e->cluster / 8; k++) {
            uint64_t i = c * (e->cluster / 8) + k;
            if (i >= e->l1_size)
                break;
            vrt_put_be64(e->pad + 8 * k, e->l1[i]);
        }
        rc = vrt_pipe_out_write(e->out, e->pad, e->cluster,
                                (e->next + c) * e->cluster, err);
    }
    e->next += l1_clusters;
    uint64_t rt_off = 0;
    uint32_t rt_clusters = 0;
    if (rc == 0)
        rc = put_refcounts(e, &rt_off, &rt_clusters, err);
    if (rc != 0)
        return rc;
    /* The header goes last, over cluster 0. */
    uint8_t h[112] = {0};
    memcpy(h, "QFI\xfb", 4);
    vrt_put_be32(h + 4, 3);
    vrt_put_be32(h + 20, e->cluster_bits);
    vrt_put_be64(h + 24, e->size);
    vrt_put_be32(h + 36, (uint32_t)e->l1_size);
    vrt_put_be64(h + 40, l1_off);
    vrt_put_be64(h + 48, rt_off);
    vrt_put_be32(h + 56, rt_clusters);
    vrt_put_be32(h + 96, REFCOUNT_ORDER);
    vrt_put_be32(h + 100, 104);
    /* h[104..112): the end-of-extensions marker, all zero. */
    rc = vrt_pipe_out_write(e->out, h, sizeof(h), 0, err);
    s->end = e->next * e->cluster;
    return rc;
}

static void qenc_close(vrt_pipe_stage *s)
{
    qenc *e = s->state;
    if (!e)
        return;
    free(e->l1);
    free(e->l2);
    free(e->pad);
    free(e);
}

static const vrt_pipe_stage_ops qenc_ops = {"encode.qcow2", qenc_write,
                                            qenc_flush, qenc_close};

int vrt_pipe_enc_qcow2_new(vrt_pipe_stage **out, vrt_pipe_out *o,
                           uint64_t size, uint32_t cluster_size,
                           vrt_error *err)
{
    *out = NULL;
    if (cluster_size < 512 || (cluster_size & (cluster_size - 1)))
        return vrt_error_set(err, VRT_E_INVALID,
                             "qcow2 cluster size %u is not a power of two of "
                             "at least 512.", cluster_size);
    vrt_pipe_stage *s = calloc(1, sizeof(*s));
    qenc *e = calloc(1, sizeof(*e));
    if (!s || !e)
        abort();
    e->out = o;
    e->size = size;
    e->cluster = cluster_size;
    while ((UINT64_C(1) << e->cluster_bits) < cluster_size)
        e->cluster_bits++;
    e->l1_size = div_up(size, e->cluster * (e->cluster / 8));
    /* qemu (and our reader) refuse an L1 table over 32 MiB: say so now,
     * not after the whole conversion. */
    if (e->l1_size * 8 > (UINT64_C(32) << 20)) {
        free(e);
        free(s);
        return vrt_error_set(err, VRT_E_INVALID,
                             "A qcow2 cluster size of %u bytes is too small "
                             "for a disk of %llu bytes (its L1 table would "
                             "pass 32 MiB); use a larger --cluster-size.",
                             cluster_size, (unsigned long long)size);
    }
    e->l1 = calloc(e->l1_size ? e->l1_size : 1, 8);
    e->l2 = calloc(1, e->cluster);
    e->pad = calloc(1, e->cluster);
    if (!e->l1 || !e->l2 || !e->pad)
        abort();
    e->next = 1; /* cluster 0 is the header */
    /* The header is written last, so the output cannot be digested as it
     * is written: vrt_pipe_out_finish reads it back, once. */
    o->in_order = 0;
    s->ops = &qenc_ops;
    s->state = e;
    *out = s;
    return 0;
}
