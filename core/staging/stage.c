/*
 * Staging backends: the public calls, each one dispatch through the
 * backend's vtable (stage_internal.h).
 */
#include "stage_internal.h"

#include <stdio.h>
#include <string.h>

void vrt_stage_close(vrt_stage *s)
{
    if (s)
        s->ops->close(s);
}

const char *vrt_stage_kind(const vrt_stage *s)
{
    return s->ops->kind;
}

void vrt_stage_url(char *buf, size_t size, const vrt_stage *s, const char *name)
{
    s->ops->url(buf, size, s, name);
}

int vrt_stage_local_path(char *buf, size_t size, const vrt_stage *s,
                         const char *name)
{
    if (strcmp(s->ops->kind, "dir") != 0)
        return -1;
    s->ops->url(buf, size, s, name);
    return 0;
}

int vrt_stage_writer_open(vrt_stage_writer **out, uint64_t *offset, vrt_stage *s,
                          const char *name, uint32_t flags, vrt_error *err)
{
    *out = NULL;
    *offset = 0;
    if (flags & ~VRT_STAGE_RESUME)
        return vrt_error_set(err, VRT_E_INVALID, "Unknown staging flags 0x%x.",
                             (unsigned)flags);
    return s->ops->writer_open(out, offset, s, name, flags, err);
}

int vrt_stage_writer_write(vrt_stage_writer *w, const void *buf, size_t len,
                           vrt_error *err)
{
    return len ? w->s->ops->write(w, buf, len, err) : VRT_OK;
}

int vrt_stage_writer_finish(vrt_stage_writer *w, vrt_error *err)
{
    return w->s->ops->finish(w, err);
}

void vrt_stage_writer_abandon(vrt_stage_writer *w)
{
    if (w)
        w->s->ops->abandon(w);
}

int vrt_stage_stat(uint64_t *size, vrt_stage *s, const char *name, vrt_error *err)
{
    *size = 0;
    return s->ops->stat(size, s, name, err);
}

int vrt_stage_reader_open(vrt_stage_reader **out, uint64_t *size, vrt_stage *s,
                          const char *name, uint64_t offset, vrt_error *err)
{
    *out = NULL;
    *size = 0;
    return s->ops->reader_open(out, size, s, name, offset, err);
}

int vrt_stage_reader_read(size_t *n, vrt_stage_reader *r, void *buf, size_t len,
                          vrt_error *err)
{
    *n = 0;
    return r->s->ops->read(n, r, buf, len, err);
}

void vrt_stage_reader_close(vrt_stage_reader *r)
{
    if (r)
        r->s->ops->reader_close(r);
}

int vrt_stage_remove(vrt_stage *s, const char *name, vrt_error *err)
{
    return s->ops->remove(s, name, err);
}
