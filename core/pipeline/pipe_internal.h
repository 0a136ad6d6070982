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

/* --- the write stage: output file with an in-order digest ---------------- */

typedef struct vrt_pipe_out {
    int fd;
    const char *path;
    uint64_t pos;     /* end of the bytes digested so far */
    int in_order;     /* every write so far appended at pos */
    int digest;       /* 0: the job reuses the content digest (raw) */
    EVP_MD_CTX *md;
    const uint8_t *zeros; /* job's zero buffer */
    size_t zeros_len;
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
/* The content digest stage; forwards every block to s->next. */
int vrt_pipe_hash_new(vrt_pipe_stage **out, const uint8_t *zeros,
                      size_t zeros_len, vrt_error *err);
int vrt_pipe_hash_update(vrt_pipe_stage *s, const void *buf, size_t len,
                         vrt_error *err);
void vrt_pipe_hash_hex(vrt_pipe_stage *s, char hex[65]);
void vrt_pipe_stage_free(vrt_pipe_stage *s); /* NULL-safe */
void vrt_pipe_hex(char hex[65], const unsigned char md[32]);

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
