/*
 * vrt/pipeline.h - the streaming disk pipeline: read a disk image (raw,
 * qcow2, VMDK), optionally convert it to another format, and compute two
 * SHA-256 digests on the way.
 *
 *   content digest  SHA-256 of the logical disk (virtual_size bytes as a
 *                   guest sees them); identical for raw, qcow2 and VMDK
 *                   images of one disk, and equal to `sha256sum` of the
 *                   raw image.
 *   output digest   SHA-256 of the bytes of the output file (what a
 *                   transfer moves).
 * (Both flat SHA-256 unless the job opts in to VRT_PIPE_TREE_DIGEST.)
 *
 * A job is a chain of stages: read (format reader: file I/O and decode) ->
 * hash -> encode (format writer) -> write (output file).  Each stage is a
 * small vtable (core/pipeline/pipe_internal.h).  Buffers are allocated once
 * per job, so memory stays bounded whatever the disk size (a few MiB plus
 * the format's index tables: qcow2 L1, VMDK grain directory).  Zero and
 * unallocated extents are never read from the source and never written to
 * sparse outputs; they are hashed from a preallocated zero buffer.
 *
 * Thread contract: a job runs on the calling thread, which starts and
 * joins its own helpers (one for the content digest, one more for deflate
 * when writing streamOptimized); distinct jobs may run concurrently.  A
 * vrt_img_reader is used by one thread at a time.
 * Errors: every function returns 0 or a negative VRT_E_* code and fills
 * `err` with a sentence naming the image and the problem.
 */
#ifndef VRT_PIPELINE_H
#define VRT_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include <virtrigaud/provider.h>

/* Image formats.  RAW, QCOW2 and VMDK equal the ABI's VRT_DISK_* bits
 * (provider.h), so a plugin's disk format maps over unchanged. */
#define VRT_IMG_AUTO 0        /* probe (input only) */
#define VRT_IMG_RAW 1
#define VRT_IMG_QCOW2 2
#define VRT_IMG_VMDK 4        /* monolithicSparse */
#define VRT_IMG_VMDK_STREAM 8 /* streamOptimized */

/* Flags for vrt_pipe_opts.flags and vrt_img_reader_open. */
#define VRT_PIPE_NO_BACKING 0x1u /* refuse images with a backing file */
#define VRT_PIPE_NO_SYNC 0x2u    /* skip the final fsync of the output
                                    (what `qemu-img convert` does) */
/* Opt-in: both digests are "sha256-tree" (SHA-256 over the SHA-256s of
 * consecutive 1 MiB leaves) instead of a flat SHA-256.  Faster on sparse
 * disks (a zero leaf costs nothing), but not what sha256sum prints, so
 * status fields and imports keep the flat default.  core/pipeline/md.c
 * shows how to recompute it with coreutils. */
#define VRT_PIPE_TREE_DIGEST 0x4u
/* Convert without the output digest (output_sha256 stays ""), for callers
 * that digest the bytes where they move them.  The content digest is
 * always computed.  For raw output the two are one and this changes
 * nothing. */
#define VRT_PIPE_NO_OUTPUT_DIGEST 0x8u
#define VRT_PIPE_FLAGS_ALL_ 0xfu

/* Largest virtual size accepted from an image header (64 TiB). */
#define VRT_IMG_MAX_SIZE (UINT64_C(64) << 40)
/* Longest backing chain followed before the image is called a loop. */
#define VRT_IMG_MAX_DEPTH 16

typedef struct vrt_img_info {
    int32_t format;          /* VRT_IMG_* */
    uint32_t version;        /* qcow2 2/3, VMDK header version */
    uint64_t virtual_size;   /* bytes */
    uint64_t file_size;      /* bytes of the image file itself */
    uint32_t cluster_size;   /* qcow2 cluster or VMDK grain, bytes; 0 raw */
    uint32_t depth;          /* backing files below this image */
    char backing[1024];      /* backing file as resolved, or "" */
} vrt_img_info;

/* Returns "raw", "qcow2", "vmdk" or "vmdk-stream"; "unknown" otherwise. */
const char *vrt_img_format_name(int32_t format);
/* Parses those names (also "streamOptimized", "monolithicSparse").
 * Returns VRT_IMG_* or -1. */
int32_t vrt_img_format_parse(const char *name);

/* A reader opened on an image: random access to its logical content. */
typedef struct vrt_img_reader vrt_img_reader;

/* Opens `path` (format VRT_IMG_AUTO probes the header).  *out is owned by
 * the caller: vrt_img_reader_close. */
int vrt_img_reader_open(vrt_img_reader **out, const char *path,
                         int32_t format, uint32_t flags, vrt_error *err)
    __attribute__((warn_unused_result));
/* Reads `len` logical bytes at `off` (within virtual_size).  When the whole
 * range is unallocated or zero, sets *zero = 1 and leaves buf untouched;
 * otherwise fills buf and sets *zero = 0. */
int vrt_img_reader_read(uint8_t *buf, int *zero, vrt_img_reader *r,
                         uint64_t off, size_t len, vrt_error *err)
    __attribute__((warn_unused_result));
const vrt_img_info *vrt_img_reader_info(const vrt_img_reader *r);
void vrt_img_reader_close(vrt_img_reader *r); /* NULL-safe */

/* Header-only inspection (opens and closes a reader). */
int vrt_img_info_get(vrt_img_info *out, const char *path, int32_t format,
                      uint32_t flags, vrt_error *err)
    __attribute__((warn_unused_result));

/* Progress: called after every block.  Returning non-zero cancels the job
 * (VRT_E_CANCELED). */
typedef int (*vrt_pipe_progress_fn)(void *opaque, uint64_t done,
                                    uint64_t total);

typedef struct vrt_pipe_opts {
    int32_t in_format;        /* VRT_IMG_*, VRT_IMG_AUTO to probe */
    int32_t out_format;       /* VRT_IMG_* (ignored without an output) */
    uint32_t cluster_size;    /* qcow2 output cluster; 0 = 64 KiB */
    int32_t compress_level;   /* streamOptimized zlib level; -1 = 1 */
    uint64_t resume_from;     /* raw output only: keep [0, this) */
    uint32_t block_size;      /* power of two, 64 KiB-64 MiB; 0 = 1 MiB */
    uint32_t flags;           /* VRT_PIPE_* */
    vrt_pipe_progress_fn progress;
    void *progress_opaque;
} vrt_pipe_opts;

#define VRT_PIPE_OPTS_INIT {0, VRT_IMG_RAW, 0, -1, 0, 0, 0, NULL, NULL}

typedef struct vrt_pipe_result {
    uint64_t virtual_size;
    uint64_t data_bytes;   /* logical bytes that held data */
    uint64_t zero_bytes;   /* logical bytes skipped as zero */
    uint64_t output_size;  /* bytes of the output file */
    char content_sha256[65];
    char output_sha256[65]; /* "" without an output or its digest */
    char digest[16];        /* "sha256", or "sha256-tree" (opt-in) */
} vrt_pipe_result;

/* Converts `src` into `dst` (created or truncated; with resume_from, kept
 * up to that offset).  Fills *out on success. */
int vrt_pipe_convert(vrt_pipe_result *out, const char *src, const char *dst,
                     const vrt_pipe_opts *opts, vrt_error *err)
    __attribute__((warn_unused_result));
/* Reads `src` and computes its content digest only. */
int vrt_pipe_hash(vrt_pipe_result *out, const char *src,
                  const vrt_pipe_opts *opts, vrt_error *err)
    __attribute__((warn_unused_result));

#endif /* VRT_PIPELINE_H */
