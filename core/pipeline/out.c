/*
 * out.c - the write stage: the output file, and the SHA-256 of its bytes.
 * Encoders that append in order (raw, streamOptimized) are digested as they
 * write; one that goes back to patch a header (qcow2, monolithicSparse) is
 * digested by reading the finished file back.
 */
#include "pipe_internal.h"

#include <vrt/error.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int out_digest(vrt_pipe_out *o, const void *buf, size_t len,
                      vrt_error *err)
{
    if (vrt_pipe_md_update(&o->md, buf, len) != 0)
        return vrt_error_set(err, VRT_E_INTERNAL, "SHA-256 update failed.");
    return 0;
}

/* Digests the zeros of a gap the file will hold as a hole. */
static int out_digest_zeros(vrt_pipe_out *o, uint64_t len, vrt_error *err)
{
    while (len > 0) {
        size_t n = len < VRT_PIPE_LEAF ? (size_t)len : VRT_PIPE_LEAF;
        int rc = out_digest(o, NULL, n, err);
        if (rc != 0)
            return rc;
        len -= n;
    }
    return 0;
}

int vrt_pipe_out_write(vrt_pipe_out *o, const void *buf, size_t len,
                       uint64_t off, vrt_error *err)
{
    int rc = 0;
    if (o->digest && o->in_order) {
        if (off < o->pos)
            o->in_order = 0;
        else if (off > o->pos)
            rc = out_digest_zeros(o, off - o->pos, err);
        if (rc == 0 && o->in_order)
            rc = out_digest(o, buf, len, err);
        if (rc != 0)
            return rc;
    }
    if (off + len > o->pos)
        o->pos = off + len;
    const uint8_t *p = buf;
    for (size_t done = 0; done < len;) {
        ssize_t n = pwrite(o->fd, p + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return vrt_error_set(err, errno == ENOSPC ? VRT_E_QUOTA
                                                      : VRT_E_UNAVAILABLE,
                                 "Writing \"%s\" at offset %llu failed: %s.",
                                 o->path,
                                 (unsigned long long)(off + done),
                                 strerror(errno));
        done += (size_t)n;
    }
    return 0;
}

/* Digests the finished file from disk, through a content digest stage
 * so that reading overlaps digesting (and the tree's leaves are digested
 * on every core). */
static int out_reread(vrt_pipe_out *o, uint64_t size, char hex[65],
                      vrt_error *err)
{
    const size_t bufsz = VRT_PIPE_LEAF;
    uint8_t *ring[VRT_PIPE_HASH_QUEUE + 1] = {0};
    uint8_t *zeros = calloc(1, bufsz);
    vrt_pipe_stage *h = NULL;
    int rc = 0;
    if (!zeros)
        abort();
    for (size_t i = 0; i < VRT_PIPE_HASH_QUEUE + 1; i++)
        if (!(ring[i] = malloc(bufsz)))
            abort();
    rc = vrt_pipe_hash_new(&h, zeros, bufsz, o->md.tree, err);
    for (uint64_t off = 0, i = 0; rc == 0 && off < size; off += bufsz, i++) {
        size_t n = size - off < bufsz ? (size_t)(size - off) : bufsz;
        uint8_t *buf = ring[i % (VRT_PIPE_HASH_QUEUE + 1)];
        rc = vrt_pipe_pread_all(o->fd, buf, n, off, o->path, "written data",
                                err);
        int zero = rc == 0 && vrt_pipe_is_zero(buf, n);
        vrt_pipe_block b = {off, n, zero ? NULL : buf, zero};
        if (rc == 0)
            rc = h->ops->write(h, &b, err);
    }
    if (rc == 0) {
        vrt_pipe_hash_hex(h, hex);
        if (!hex[0])
            rc = vrt_error_set(err, VRT_E_INTERNAL, "SHA-256 final failed.");
    }
    vrt_pipe_stage_free(h);
    for (size_t i = 0; i < VRT_PIPE_HASH_QUEUE + 1; i++)
        free(ring[i]);
    free(zeros);
    return rc;
}

int vrt_pipe_out_finish(vrt_pipe_out *o, char hex[65], uint64_t size,
                        vrt_error *err)
{
    int rc = 0;
    hex[0] = '\0';
    if (ftruncate(o->fd, (off_t)size) != 0)
        return vrt_error_set(err, VRT_E_UNAVAILABLE,
                             "Setting the size of \"%s\" to %llu failed: %s.",
                             o->path, (unsigned long long)size,
                             strerror(errno));
    if (!o->digest)
        return 0;
    if (!o->in_order || o->pos > size)
        return out_reread(o, size, hex, err);
    rc = out_digest_zeros(o, size - o->pos, err);
    if (rc != 0)
        return rc;
    if (vrt_pipe_md_final(&o->md, hex) != 0)
        return vrt_error_set(err, VRT_E_INTERNAL, "SHA-256 final failed.");
    return 0;
}
