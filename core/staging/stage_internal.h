/*
 * The staging backends' vtable.  A backend's vrt_stage, writer and reader
 * structs start with the generic ones below, so the dispatchers in
 * stage.c cast nothing but the first member.
 */
#ifndef VRT_STAGE_INTERNAL_H
#define VRT_STAGE_INTERNAL_H

#include <vrt/error.h>
#include <vrt/staging.h>

typedef struct vrt_stage_ops {
    const char *kind;
    int (*writer_open)(vrt_stage_writer **out, uint64_t *offset, vrt_stage *s,
                       const char *name, uint32_t flags, vrt_error *err);
    int (*write)(vrt_stage_writer *w, const void *buf, size_t len, vrt_error *err);
    int (*finish)(vrt_stage_writer *w, vrt_error *err); /* frees w */
    void (*abandon)(vrt_stage_writer *w);               /* frees w */
    int (*stat)(uint64_t *size, vrt_stage *s, const char *name, vrt_error *err);
    int (*reader_open)(vrt_stage_reader **out, uint64_t *size, vrt_stage *s,
                       const char *name, uint64_t offset, vrt_error *err);
    int (*read)(size_t *n, vrt_stage_reader *r, void *buf, size_t len,
                vrt_error *err);
    void (*reader_close)(vrt_stage_reader *r);
    int (*remove)(vrt_stage *s, const char *name, vrt_error *err);
    void (*url)(char *buf, size_t size, const vrt_stage *s, const char *name);
    void (*close)(vrt_stage *s);
} vrt_stage_ops;

struct vrt_stage {
    const vrt_stage_ops *ops;
};

struct vrt_stage_writer {
    vrt_stage *s;
};

struct vrt_stage_reader {
    vrt_stage *s;
};

#endif
