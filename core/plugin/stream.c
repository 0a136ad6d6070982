/*
 * Disk streams through a plugin: export (pull) and import (push).  A
 * vrt_pstream pairs the plugin's stream with its connection so that the
 * stream methods find their vtable and honour SERIALIZE.
 */
#include "call_internal.h"

#include <stdlib.h>
#include <string.h>

struct vrt_pstream {
    vrt_pconn *c;
    vrt_stream *s;
    int importing; /* finish/abort, not close, release it */
};

static vrt_pstream *pstream_new(vrt_pconn *c, vrt_stream *s, int importing)
{
    vrt_pstream *ps = calloc(1, sizeof(*ps));
    if (!ps)
        abort(); /* out of memory: the documented core policy */
    ps->c = c;
    ps->s = s;
    ps->importing = importing;
    return ps;
}

/* A stream-capable plugin needs the whole set of stream methods. */
static int need_stream_methods(const vrt_pconn *c, int importing,
                               vrt_error *err)
{
    const vrt_plugin *p = c->plugin;
    if (importing ? (METHOD(p, stream_write) && METHOD(p, stream_finish) &&
                     METHOD(p, stream_abort))
                  : (METHOD(p, stream_read) && METHOD(p, stream_close)))
        return VRT_OK;
    return vrt_call_notsupp(c, importing ? "stream_write/finish/abort"
                                         : "stream_read/close",
                            err);
}

int vrt_p_disk_export_open(vrt_pstream **out, uint64_t *size, vrt_pconn *c,
                           vrt_call_ctx *cc, const vrt_export_spec *spec,
                           vrt_error *err)
{
    *out = NULL;
    if (size)
        *size = 0;
    GET_METHOD(c, disk_export_open);
    if (need_stream_methods(c, 0, err) != VRT_OK)
        return err->code;
    vrt_call call;
    vrt_call_make(&call, cc);
    vrt_stream *s = NULL;
    uint64_t n = 0;
    vrt_call_lock(c);
    int rc = fn(&s, &n, c->conn, &call, spec, 0, err);
    vrt_call_unlock(c);
    rc = vrt_call_settle(c, "disk_export_open", rc, err);
    if (rc == VRT_OK && !s)
        rc = vrt_call_lied(c, "disk_export_open",
                           "it returned success without a stream", err);
    if (rc != VRT_OK)
        return rc;
    if (size)
        *size = n;
    *out = pstream_new(c, s, 0);
    return VRT_OK;
}

int vrt_p_stream_read(size_t *nread, vrt_pstream *ps, uint8_t *buf,
                      size_t len, vrt_error *err)
{
    *nread = 0;
    if (ps->importing)
        return vrt_error_set(err, VRT_E_INVALID,
                             "stream_read on an import stream.");
    size_t n = 0;
    vrt_call_lock(ps->c);
    int rc = ps->c->plugin->vt->stream_read(&n, ps->s, buf, len, 0, err);
    vrt_call_unlock(ps->c);
    rc = vrt_call_settle(ps->c, "stream_read", rc, err);
    if (rc == VRT_OK && n > len)
        return vrt_call_lied(ps->c, "stream_read",
                             "it reported more bytes than the buffer holds",
                             err);
    if (rc == VRT_OK)
        *nread = n;
    return rc;
}

void vrt_p_stream_close(vrt_pstream *ps)
{
    if (!ps)
        return;
    vrt_call_lock(ps->c);
    if (ps->importing)
        ps->c->plugin->vt->stream_abort(ps->s);
    else
        ps->c->plugin->vt->stream_close(ps->s);
    vrt_call_unlock(ps->c);
    free(ps);
}

int vrt_p_disk_import_open(vrt_pstream **out, vrt_pconn *c, vrt_call_ctx *cc,
                           const vrt_import_spec *spec, vrt_error *err)
{
    *out = NULL;
    GET_METHOD(c, disk_import_open);
    if (need_stream_methods(c, 1, err) != VRT_OK)
        return err->code;
    vrt_call call;
    vrt_call_make(&call, cc);
    vrt_stream *s = NULL;
    vrt_call_lock(c);
    int rc = fn(&s, c->conn, &call, spec, 0, err);
    vrt_call_unlock(c);
    rc = vrt_call_settle(c, "disk_import_open", rc, err);
    if (rc == VRT_OK && !s)
        rc = vrt_call_lied(c, "disk_import_open",
                           "it returned success without a stream", err);
    if (rc != VRT_OK)
        return rc;
    *out = pstream_new(c, s, 1);
    return VRT_OK;
}

int vrt_p_stream_write(vrt_pstream *ps, const uint8_t *buf, size_t len,
                       vrt_error *err)
{
    if (!ps->importing)
        return vrt_error_set(err, VRT_E_INVALID,
                             "stream_write on an export stream.");
    vrt_call_lock(ps->c);
    int rc = ps->c->plugin->vt->stream_write(ps->s, buf, len, 0, err);
    vrt_call_unlock(ps->c);
    return vrt_call_settle(ps->c, "stream_write", rc, err);
}

int vrt_p_stream_finish(char disk_id[VRT_ID_MAX], vrt_pstream *ps,
                        vrt_error *err)
{
    memset(disk_id, 0, VRT_ID_MAX);
    if (!ps->importing) {
        vrt_p_stream_close(ps);
        return vrt_error_set(err, VRT_E_INVALID,
                             "stream_finish on an export stream.");
    }
    vrt_pconn *c = ps->c;
    vrt_call_lock(c);
    int rc = c->plugin->vt->stream_finish(disk_id, ps->s, 0, err);
    vrt_call_unlock(c);
    free(ps); /* finish releases the plugin's stream in every case */
    disk_id[VRT_ID_MAX - 1] = '\0';
    rc = vrt_call_settle(c, "stream_finish", rc, err);
    if (rc == VRT_OK && !disk_id[0])
        rc = vrt_call_lied(c, "stream_finish",
                           "it returned success without a disk id", err);
    return rc;
}

void vrt_p_stream_abort(vrt_pstream *ps)
{
    vrt_p_stream_close(ps);
}
