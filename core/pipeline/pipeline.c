/*
 * pipeline.c - a job: pull blocks from a reader and push them down the
 * stage chain (hash -> encode -> write), with progress and resume.
 */
#include "pipe_internal.h"

#include <vrt/error.h>
#include <vrt/log.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

VRT_LOG_SOURCE("core.pipeline");

#define DEFAULT_BLOCK (1u << 20)
#define MAX_BLOCK (64u << 20)
/* Encoders take whole blocks as whole clusters or grains (64 KiB). */
#define MIN_BLOCK (64u << 10)

typedef struct job {
    vrt_img_reader *in;
    vrt_pipe_stage *hash; /* head of the chain */
    vrt_pipe_stage *enc;  /* NULL for hash-only jobs */
    vrt_pipe_out out;
    /* Blocks in flight: the one being read and encoded, and those the
     * hash thread may still hold (see VRT_PIPE_HASH_QUEUE). */
    uint8_t *ring[VRT_PIPE_HASH_QUEUE + 1];
    void *ring_mem; /* one allocation holds the ring's blocks */
    uint8_t *zeros; /* one block of zeros */
    size_t block;
} job;

static void job_free(job *j)
{
    vrt_img_reader_close(j->in);
    vrt_pipe_stage_free(j->enc);
    vrt_pipe_stage_free(j->hash);
    if (j->out.fd >= 0)
        close(j->out.fd);
    vrt_pipe_md_free(&j->out.md);
    free(j->ring_mem);
    free(j->zeros);
}

/* The ring's memory, 2 MiB-aligned and marked for transparent huge
 * pages: every block is copied from or to the page cache, and with huge
 * pages those copies take fewer TLB misses (a third less system time for
 * qcow2 -> raw here, where the kernel gives huge pages only on request). */
static void *ring_alloc(size_t size)
{
    const size_t huge = (size_t)2 << 20;
    size_t rounded = (size + huge - 1) / huge * huge;
    void *p = NULL;
    if (posix_memalign(&p, huge, rounded) != 0)
        abort();
    (void)madvise(p, rounded, MADV_HUGEPAGE);
    return p;
}

static int opts_check(const vrt_pipe_opts *o, vrt_error *err)
{
    if (o->flags & ~VRT_PIPE_FLAGS_ALL_)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Unknown pipeline flags 0x%x.", o->flags);
    if (o->block_size && (o->block_size < MIN_BLOCK ||
                          o->block_size > MAX_BLOCK ||
                          (o->block_size & (o->block_size - 1))))
        return vrt_error_set(err, VRT_E_INVALID,
                             "Block size %u is not a power of two between "
                             "64 KiB and 64 MiB.",
                             o->block_size);
    if (o->cluster_size && (o->cluster_size < 512 ||
                            o->cluster_size > (2u << 20) ||
                            (o->cluster_size & (o->cluster_size - 1))))
        return vrt_error_set(err, VRT_E_INVALID,
                             "qcow2 cluster size %u is not a power of two "
                             "between 512 and 2 MiB.",
                             o->cluster_size);
    return 0;
}

static int job_open(job *j, const char *src, const vrt_pipe_opts *o,
                    vrt_error *err)
{
    int rc = opts_check(o, err);
    if (rc != 0)
        return rc;
    rc = vrt_img_reader_open(&j->in, src, o->in_format, o->flags, err);
    if (rc != 0)
        return rc;
    j->block = o->block_size ? o->block_size : DEFAULT_BLOCK;
    /* Encoders work in whole clusters: a block holds at least one. */
    if (o->cluster_size > j->block)
        j->block = o->cluster_size;
    size_t nring = sizeof(j->ring) / sizeof(j->ring[0]);
    j->ring_mem = ring_alloc(nring * j->block);
    for (size_t i = 0; i < nring; i++)
        j->ring[i] = (uint8_t *)j->ring_mem + i * j->block;
    j->zeros = calloc(1, j->block);
    if (!j->zeros)
        abort();
    return vrt_pipe_hash_new(&j->hash, j->zeros, j->block,
                             (o->flags & VRT_PIPE_TREE_DIGEST) != 0, err);
}

static int job_open_output(job *j, const char *dst, const vrt_pipe_opts *o,
                           vrt_error *err)
{
    uint64_t size = j->in->info.virtual_size;
    int rc = 0;
    int resume = o->resume_from > 0;
    if (resume && o->out_format != VRT_IMG_RAW)
        return vrt_error_set(err, VRT_E_NOTSUPP,
                             "Resuming is supported for raw output only, not "
                             "\"%s\".", vrt_img_format_name(o->out_format));
    if (resume && o->resume_from > size)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Resume offset %llu is past the end of the disk "
                             "(%llu bytes).",
                             (unsigned long long)o->resume_from,
                             (unsigned long long)size);
    /* Truncated only after the check that it is not the input. */
    j->out.fd = open(dst, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (j->out.fd < 0)
        return vrt_error_set(err, VRT_E_UNAVAILABLE,
                             "Cannot open output \"%s\": %s.", dst,
                             strerror(errno));
    j->out.path = dst;
    struct stat in_st, out_st;
    if (fstat(j->out.fd, &out_st) != 0)
        return vrt_error_set(err, VRT_E_UNAVAILABLE,
                             "Cannot stat output \"%s\": %s.", dst,
                             strerror(errno));
    if (fstat(j->in->fd, &in_st) == 0 && in_st.st_dev == out_st.st_dev &&
        in_st.st_ino == out_st.st_ino)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Output \"%s\" is the input image itself.", dst);
    /* Not when already empty (a new file): on ext4, truncating to 0 marks
     * the file for a flush of all its data at close (auto_da_alloc),
     * which costs a conversion a synchronous write-out at the end. */
    if (!resume && out_st.st_size != 0 && ftruncate(j->out.fd, 0) != 0)
        return vrt_error_set(err, VRT_E_UNAVAILABLE,
                             "Cannot truncate output \"%s\": %s.", dst,
                             strerror(errno));
    j->out.in_order = 1;
    /* A raw file's bytes are the content: one digest serves both. */
    j->out.digest = o->out_format != VRT_IMG_RAW &&
                    !(o->flags & VRT_PIPE_NO_OUTPUT_DIGEST);
    if (vrt_pipe_md_init(&j->out.md, (o->flags & VRT_PIPE_TREE_DIGEST) != 0,
                         j->zeros, j->block) != 0)
        return vrt_error_set(err, VRT_E_INTERNAL,
                             "SHA-256 is not available from OpenSSL.");
    switch (o->out_format) {
    case VRT_IMG_RAW:
        rc = vrt_pipe_enc_raw_new(&j->enc, &j->out, size, err);
        break;
    case VRT_IMG_QCOW2:
        rc = vrt_pipe_enc_qcow2_new(&j->enc, &j->out, size,
                                    o->cluster_size ? o->cluster_size
                                                    : 65536u,
                                    err);
        break;
    case VRT_IMG_VMDK:
    case VRT_IMG_VMDK_STREAM:
        rc = vrt_pipe_enc_vmdk_new(&j->enc, &j->out, size,
                                   o->out_format == VRT_IMG_VMDK_STREAM,
                                   o->compress_level < 0 ? 1
                                                         : o->compress_level,
                                   err);
        break;
    default:
        rc = vrt_error_set(err, VRT_E_INVALID, "Unknown output format %d.",
                           (int)o->out_format);
    }
    if (rc == 0)
        j->hash->next = j->enc;
    return rc;
}

/* Resume: the kept prefix of the raw output is the content up to there.
 * A file shorter than the offset (zero blocks at its end were holes not yet
 * made, or writes were lost) resumes from its own end instead. */
static int job_resume(job *j, uint64_t *upto_io, vrt_error *err)
{
    int rc = 0;
    struct stat st;
    if (fstat(j->out.fd, &st) != 0)
        return vrt_error_set(err, VRT_E_UNAVAILABLE,
                             "Cannot stat \"%s\": %s.", j->out.path,
                             strerror(errno));
    if ((uint64_t)st.st_size < *upto_io)
        *upto_io = (uint64_t)st.st_size - (uint64_t)st.st_size % j->block;
    uint64_t upto = *upto_io;
    if (ftruncate(j->out.fd, (off_t)upto) != 0)
        return vrt_error_set(err, VRT_E_UNAVAILABLE,
                             "Cannot cut \"%s\" at the resume offset: %s.",
                             j->out.path, strerror(errno));
    for (uint64_t off = 0; off < upto && rc == 0;) {
        size_t n = upto - off < j->block ? (size_t)(upto - off) : j->block;
        rc = vrt_pipe_pread_all(j->out.fd, j->ring[0], n, off, j->out.path,
                                "kept prefix", err);
        if (rc == 0)
            rc = vrt_pipe_hash_update(j->hash, j->ring[0], n, err);
        off += n;
    }
    j->out.pos = upto;
    return rc;
}

/* Pulls every block from `start` on through the chain.  The content digest
 * is still running on its thread on return: vrt_pipe_hash_hex waits. */
static int job_run(job *j, vrt_pipe_result *res, uint64_t start,
                   const vrt_pipe_opts *o, vrt_error *err)
{
    uint64_t size = j->in->info.virtual_size;
    size_t nring = sizeof(j->ring) / sizeof(j->ring[0]);
    int rc = 0;
    for (uint64_t off = start, i = 0; off < size; off += j->block, i++) {
        size_t n = size - off < j->block ? (size_t)(size - off) : j->block;
        uint8_t *buf = j->ring[i % nring];
        vrt_pipe_block b = {off, n, NULL, 0};
        rc = vrt_img_reader_read(buf, &b.zero, j->in, off, n, err);
        if (rc != 0)
            return rc;
        if (!b.zero && vrt_pipe_is_zero(buf, n))
            b.zero = 1;
        b.data = b.zero ? NULL : buf;
        if (b.zero)
            res->zero_bytes += n;
        else
            res->data_bytes += n;
        rc = j->hash->ops->write(j->hash, &b, err);
        if (rc != 0)
            return rc;
        if (o->progress && o->progress(o->progress_opaque, off + n, size))
            return vrt_error_set(err, VRT_E_CANCELED,
                                 "The conversion of \"%s\" was cancelled at "
                                 "offset %llu.",
                                 j->in->path, (unsigned long long)(off + n));
    }
    return 0;
}

/* Waits for the content digest. */
static int job_content_digest(job *j, vrt_pipe_result *res, vrt_error *err)
{
    vrt_pipe_hash_hex(j->hash, res->content_sha256);
    if (res->content_sha256[0] == '\0')
        return vrt_error_set(err, VRT_E_INTERNAL,
                             "SHA-256 of the content of \"%s\" failed.",
                             j->in->path);
    return 0;
}

int vrt_pipe_convert(vrt_pipe_result *out, const char *src, const char *dst,
                     const vrt_pipe_opts *opts, vrt_error *err)
{
    vrt_pipe_opts defaults = VRT_PIPE_OPTS_INIT;
    const vrt_pipe_opts *o = opts ? opts : &defaults;
    job j = {0};
    vrt_pipe_result res = {0};
    int rc = 0;
    j.out.fd = -1;
    memset(out, 0, sizeof(*out));
    if ((rc = job_open(&j, src, o, err)) != 0)
        goto cleanup;
    if ((rc = job_open_output(&j, dst, o, err)) != 0)
        goto cleanup;
    /* Restart at a block boundary at or before the offset asked for. */
    uint64_t start = o->resume_from - o->resume_from % j.block;
    /* Even a resume that rounds down to 0 cuts the file there: bytes of
     * the earlier file must not stay where zero blocks leave holes. */
    if (o->resume_from && (rc = job_resume(&j, &start, err)) != 0)
        goto cleanup;
    res.virtual_size = j.in->info.virtual_size;
    snprintf(res.digest, sizeof(res.digest), "%s",
             (o->flags & VRT_PIPE_TREE_DIGEST) ? "sha256-tree" : "sha256");
    vrt_log_info("converting \"%s\" (%s) to \"%s\" (%s) from=%llu", src,
                 vrt_img_format_name(j.in->info.format), dst,
                 vrt_img_format_name(o->out_format),
                 (unsigned long long)start);
    if ((rc = job_run(&j, &res, start, o, err)) != 0)
        goto cleanup;
    /* The encoder's tail and the output digest (which may read the file
     * back) overlap the content digest still running on its thread. */
    if ((rc = j.enc->ops->flush(j.enc, err)) != 0 ||
        (rc = vrt_pipe_out_finish(&j.out, res.output_sha256, j.enc->end,
                                  err)) != 0 ||
        (rc = job_content_digest(&j, &res, err)) != 0)
        goto cleanup;
    if (o->out_format == VRT_IMG_RAW)
        memcpy(res.output_sha256, res.content_sha256, sizeof(res.output_sha256));
    if (!(o->flags & VRT_PIPE_NO_SYNC) && fsync(j.out.fd) != 0) {
        rc = vrt_error_set(err, VRT_E_UNAVAILABLE, "Flushing \"%s\" failed: %s.",
                           dst, strerror(errno));
        goto cleanup;
    }
    res.output_size = j.enc->end;
    *out = res;
cleanup:
    job_free(&j);
    return rc;
}

int vrt_pipe_hash(vrt_pipe_result *out, const char *src,
                  const vrt_pipe_opts *opts, vrt_error *err)
{
    vrt_pipe_opts defaults = VRT_PIPE_OPTS_INIT;
    const vrt_pipe_opts *o = opts ? opts : &defaults;
    job j = {0};
    vrt_pipe_result res = {0};
    int rc = 0;
    j.out.fd = -1;
    memset(out, 0, sizeof(*out));
    if ((rc = job_open(&j, src, o, err)) != 0)
        goto cleanup;
    res.virtual_size = j.in->info.virtual_size;
    snprintf(res.digest, sizeof(res.digest), "%s",
             (o->flags & VRT_PIPE_TREE_DIGEST) ? "sha256-tree" : "sha256");
    if ((rc = job_run(&j, &res, 0, o, err)) != 0 ||
        (rc = job_content_digest(&j, &res, err)) != 0)
        goto cleanup;
    *out = res;
cleanup:
    job_free(&j);
    return rc;
}
