/*
 * pipe_internal.h - the stage vtables shared by the pipeline's files.
 *
 * A job pulls blocks from a reader (read + decode) and pushes them down a
 * chain of stages (hash -> encode); encoders write through a vrt_pipe_out
 * (the write stage), which also digests the output bytes when they arrive
 * in order.
 */
#ifndef VRT_PIPE_INTERNAL_H
#define VRT_PIPE_INTERNAL_H

#include <vrt/pipeline.h>

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* --- readers ------------------------------------------------------------ */

typedef struct vrt_img_reader_ops {
    const char *name;
    /* Same contract as vrt_img_reader_read; off/len already checked. */
    int (*read)(vrt_img_reader *r, uint8_t *buf, int *zero, uint64_t off,
                size_t len, vrt_error *err);
    void (*close)(vrt_img_reader *r); /* frees state, not r */
} vrt_img_reader_ops;

struct vrt_img_reader {
    const vrt_img_reader_ops *ops;
    void *state;
    int fd;
    char *path;
    vrt_img_info info;
};

/* Per-format openers: take ownership of r->fd/path already set in r,
 * fill r->ops, r->state and r->info.  `depth` counts backing levels. */
int vrt_pipe_raw_open(vrt_img_reader *r, vrt_error *err);
int vrt_pipe_qcow2_open(vrt_img_reader *r, uint32_t depth, uint32_t flags,
                        vrt_error *err);
int vrt_pipe_vmdk_open(vrt_img_reader *r, vrt_error *err);
/* Opens with a depth (backing files recurse through here). */
int vrt_pipe_reader_open_depth(vrt_img_reader **out, const char *path,
                               int32_t format, uint32_t depth,
                               uint32_t flags, vrt_error *err);
/* Reads exactly len bytes at off; an early EOF is an error naming what. */
int vrt_pipe_pread_all(int fd, void *buf, size_t len, uint64_t off,
                       const char *path, const char *what, vrt_error *err);

/* Header parsers (checked, host order), exposed for the unit tests. */
typedef struct vrt_qcow2_hdr {
    uint32_t version, cluster_bits, backing_size, l1_size, header_length;
    uint64_t backing_offset, size, l1_offset, incompat;
    uint32_t crypt;
} vrt_qcow2_hdr;
int vrt_pipe_qcow2_parse_header(vrt_qcow2_hdr *h, const uint8_t *b, size_t n,
                                const char *path, vrt_error *err);

typedef struct vrt_vmdk_hdr {
    uint32_t version, flags, num_gtes;
    uint64_t capacity, grain, desc_offset, desc_size, rgd_offset, gd_offset,
        overhead;
    uint16_t compress;
} vrt_vmdk_hdr;
int vrt_pipe_vmdk_parse_header(vrt_vmdk_hdr *h, const uint8_t *b, size_t n,
                               const char *path, vrt_error *err);

/* --- digests: flat SHA-256, or the opt-in tree of 1 MiB leaves (md.c) ---- */

#define VRT_PIPE_LEAF ((size_t)1 << 20)

typedef struct vrt_pipe_md {
    int tree;
    EVP_MD_CTX *root; /* flat: the digest; tree: over the leaf digests */
    EVP_MD_CTX *leaf; /* tree: the leaf being filled */
    size_t leaf_fill;
    const uint8_t *zeros; /* a zero buffer, to feed zeros from */
    size_t zeros_len;
} vrt_pipe_md;

/* All return 0 or -1 (OpenSSL failed).  update: buf NULL means zeros. */
int vrt_pipe_md_init(vrt_pipe_md *m, int tree, const uint8_t *zeros,
                     size_t zeros_len);
int vrt_pipe_md_update(vrt_pipe_md *m, const uint8_t *buf, size_t len);
/* The tree's leaf digest of len (<= VRT_PIPE_LEAF) bytes of buf, zeros
 * when NULL; thread-safe, so leaves can be digested in parallel. */
int vrt_pipe_md_leaf(unsigned char out[32], const uint8_t *buf, size_t len,
                     const uint8_t *zeros, size_t zeros_len);
/* Tree only, at a leaf boundary: appends n leaf digests to the root. */
int vrt_pipe_md_add_leaves(vrt_pipe_md *m, const unsigned char *digests,
                           size_t n);
int vrt_pipe_md_final(vrt_pipe_md *m, char hex[65]);
void vrt_pipe_md_free(vrt_pipe_md *m); /* a zeroed one too */

/* --- the write stage: output file with an in-order digest ---------------- */

typedef struct vrt_pipe_out {
    int fd;
    const char *path;
    uint64_t pos;     /* end of the bytes digested so far */
    int in_order;     /* every write so far appended at pos */
    int digest;       /* 0: the job reuses the content digest (raw) */
    vrt_pipe_md md;
} vrt_pipe_out;

int vrt_pipe_out_write(vrt_pipe_out *o, const void *buf, size_t len,
                       uint64_t off, vrt_error *err);
/* Sets the file size to `size` and finishes the digest (reading the file
 * back when writes were not in order). */
int vrt_pipe_out_finish(vrt_pipe_out *o, char hex[65], uint64_t size,
                        vrt_error *err);

/* --- stages (hash, encoders) -------------------------------------------- */

typedef struct vrt_pipe_block {
    uint64_t off;
    size_t len;
    const uint8_t *data; /* NULL when zero */
    int zero;
} vrt_pipe_block;

typedef struct vrt_pipe_stage vrt_pipe_stage;
typedef struct vrt_pipe_stage_ops {
    const char *name;
    int (*write)(vrt_pipe_stage *s, const vrt_pipe_block *b, vrt_error *err);
    int (*flush)(vrt_pipe_stage *s, vrt_error *err); /* end of the disk */
    void (*close)(vrt_pipe_stage *s);                /* frees state */
} vrt_pipe_stage_ops;

struct vrt_pipe_stage {
    const vrt_pipe_stage_ops *ops;
    vrt_pipe_stage *next; /* NULL for the last stage */
    void *state;
    uint64_t end;         /* encoders: final output size after flush */
};

/* Encoders write whole blocks at increasing offsets; size is the disk's. */
int vrt_pipe_enc_raw_new(vrt_pipe_stage **out, vrt_pipe_out *o,
                         uint64_t size, vrt_error *err);
int vrt_pipe_enc_qcow2_new(vrt_pipe_stage **out, vrt_pipe_out *o,
                           uint64_t size, uint32_t cluster_size,
                           vrt_error *err);
int vrt_pipe_enc_vmdk_new(vrt_pipe_stage **out, vrt_pipe_out *o,
                          uint64_t size, int stream, int level,
                          vrt_error *err);
/* The content digest stage; forwards every block to s->next.  It keeps a
 * pointer to each block's data, not a copy: the data must stay unchanged
 * until VRT_PIPE_HASH_QUEUE more blocks have been written to the stage, or
 * until vrt_pipe_hash_hex (which waits for the digest thread). */
#define VRT_PIPE_HASH_QUEUE 4u
int vrt_pipe_hash_new(vrt_pipe_stage **out, const uint8_t *zeros,
                      size_t zeros_len, int tree, vrt_error *err);
int vrt_pipe_hash_update(vrt_pipe_stage *s, const void *buf, size_t len,
                         vrt_error *err);
void vrt_pipe_hash_hex(vrt_pipe_stage *s, char hex[65]);
void vrt_pipe_stage_free(vrt_pipe_stage *s); /* NULL-safe */
void vrt_pipe_hex(char hex[65], const unsigned char md[32]);

/* Parallel deflate (zlib format) of up to `slots` buffers of at most
 * max_in bytes each; outputs keep `prefix` free bytes in front and room
 * for padding to 512 after.  zpool.c. */
typedef struct vrt_pipe_zpool vrt_pipe_zpool;
int vrt_pipe_zpool_new(vrt_pipe_zpool **out, int level, size_t max_in,
                       size_t prefix, unsigned slots);
/* Returns 0, or 1 + the index of a buffer that failed to deflate. */
int vrt_pipe_zpool_run(vrt_pipe_zpool *z, const uint8_t *const *in,
                       const size_t *in_len, unsigned n);
/* Output i (prefix included), *len = its compressed bytes. */
uint8_t *vrt_pipe_zpool_out(vrt_pipe_zpool *z, unsigned i, size_t *len);
void vrt_pipe_zpool_free(vrt_pipe_zpool *z); /* NULL-safe */

/* Non-zero when all n bytes are zero.  Data usually shows itself in its
 * first bytes, so those are tested alone before the whole run. */
static inline int vrt_pipe_is_zero(const uint8_t *p, size_t n)
{
    size_t head = n < 16 ? n : 16;
    for (size_t i = 0; i < head; i++)
        if (p[i])
            return 0;
    return n <= 16 || memcmp(p, p + 16, n - 16) == 0;
}

/* --- byte order ---------------------------------------------------------- */

static inline uint32_t vrt_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}
static inline uint64_t vrt_be64(const uint8_t *p)
{
    return (uint64_t)vrt_be32(p) << 32 | vrt_be32(p + 4);
}
static inline uint32_t vrt_le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 |
           p[0];
}
static inline uint64_t vrt_le64(const uint8_t *p)
{
    return (uint64_t)vrt_le32(p + 4) << 32 | vrt_le32(p);
}
static inline void vrt_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void vrt_put_be64(uint8_t *p, uint64_t v)
{
    vrt_put_be32(p, (uint32_t)(v >> 32));
    vrt_put_be32(p + 4, (uint32_t)v);
}
static inline void vrt_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void vrt_put_le64(uint8_t *p, uint64_t v)
{
    vrt_put_le32(p, (uint32_t)v);
    vrt_put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif /* VRT_PIPE_INTERNAL_H */
