/*
 * fmt_raw.c - raw images: a reader that reports file holes as zero without
 * reading them (SEEK_DATA/SEEK_HOLE), and an encoder that leaves zero blocks
 * as holes.
 */
#include "pipe_internal.h"

#include <vrt/error.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct raw_state {
    uint64_t hole_start, hole_end; /* last hole found, [start, end) */
    uint64_t data_end;             /* known data up to here from hole_end */
    int no_seek;                   /* filesystem without SEEK_DATA */
} raw_state;

/* Non-zero when [off, off+len) lies inside a hole of the file. */
static int raw_in_hole(vrt_img_reader *r, raw_state *s, uint64_t off,
                       uint64_t len)
{
    if (s->no_seek)
        return 0;
    if (off >= s->hole_start && off + len <= s->hole_end)
        return 1;
    if (off >= s->hole_end && off + len <= s->data_end)
        return 0;
    off_t d = lseek(r->fd, (off_t)off, SEEK_DATA);
    if (d < 0 && errno == ENXIO) { /* only a hole up to the end */
        s->hole_start = off;
        s->hole_end = s->data_end = r->info.virtual_size;
        return 1;
    }
    if (d < 0) {
        s->no_seek = 1;
        return 0;
    }
    off_t h = lseek(r->fd, d, SEEK_HOLE);
    if (h < 0) {
        s->no_seek = 1;
        return 0;
    }
    s->hole_start = off;
    s->hole_end = (uint64_t)d;
    s->data_end = (uint64_t)h;
    return off + len <= (uint64_t)d;
}

static int raw_read(vrt_img_reader *r, uint8_t *buf, int *zero, uint64_t off,
                    size_t len, vrt_error *err)
{
    if (raw_in_hole(r, r->state, off, len)) {
        *zero = 1;
        return 0;
    }
    *zero = 0;
    return vrt_pipe_pread_all(r->fd, buf, len, off, r->path, "data", err);
}

static void raw_close(vrt_img_reader *r)
{
    free(r->state);
    r->state = NULL;
}

static const vrt_img_reader_ops raw_reader_ops = {"raw", raw_read, raw_close};

int vrt_pipe_raw_open(vrt_img_reader *r, vrt_error *err)
{
    raw_state *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    r->ops = &raw_reader_ops;
    r->state = s;
    r->info.format = VRT_IMG_RAW;
    r->info.virtual_size = r->info.file_size;
    return 0;
}

/* --- encoder ------------------------------------------------------------- */

typedef struct raw_enc {
    vrt_pipe_out *out;
    uint64_t size;
} raw_enc;

static int raw_enc_write(vrt_pipe_stage *st, const vrt_pipe_block *b,
                         vrt_error *err)
{
    raw_enc *e = st->state;
    if (b->zero)
        return 0; /* a hole; vrt_pipe_out_finish extends the file */
    return vrt_pipe_out_write(e->out, b->data, b->len, b->off, err);
}

static int raw_enc_flush(vrt_pipe_stage *st, vrt_error *err)
{
    raw_enc *e = st->state;
    st->end = e->size;
    return 0;
}

static void raw_enc_close(vrt_pipe_stage *st)
{
    free(st->state);
}

static const vrt_pipe_stage_ops raw_enc_ops = {"encode.raw", raw_enc_write,
                                               raw_enc_flush, raw_enc_close};

int vrt_pipe_enc_raw_new(vrt_pipe_stage **out, vrt_pipe_out *o, uint64_t size,
                         vrt_error *err)
{
    vrt_pipe_stage *st = calloc(1, sizeof(*st));
    raw_enc *e = calloc(1, sizeof(*e));
    if (!st || !e)
        abort();
    e->out = o;
    e->size = size;
    st->ops = &raw_enc_ops;
    st->state = e;
    *out = st;
    return 0;
}
