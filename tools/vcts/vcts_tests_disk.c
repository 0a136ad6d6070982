/*
 * Disks: disk_info, export streams (read to the end, sizes, repeatable
 * content, resume from an offset) and import streams (write and finish,
 * abort).  The migration pipeline checksums what it moves, so a stream
 * must deliver the same bytes every time and from any offset.
 */
#include "vcts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (64u * 1024u)
#define KEEP_MAX (64u * 1024u * 1024u) /* export bytes kept in memory */
#define RESUME_AT_UNSIZED 4097u        /* odd: not block-aligned */
#define IMPORT_BYTES (1024u * 1024u)
#define AGAIN_SLEEP_MS 5u

/* One pass over an export stream. */
typedef struct xread {
    uint64_t base;      /* stream offset of the first byte read */
    uint64_t hash_from; /* hash bytes at offsets >= this; UINT64_MAX: pick
                           from the reported size */
    uint64_t total;     /* bytes read */
    uint64_t hash;      /* FNV-1a 64 */
    uint64_t size;      /* what open reported */
    int keep;           /* keep the first KEEP_MAX bytes */
    uint8_t *kept;
    size_t kept_len;
    const uint8_t *expect; /* compare with these (at offset 0), if set */
    size_t expect_len;
    int mismatch;
    uint64_t mismatch_at;
} xread;

#define FNV_OFFSET 14695981039346656037ull
#define FNV_PRIME 1099511628211ull

static void xread_feed(xread *x, const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t at = x->base + x->total + i;
        if (at >= x->hash_from)
            x->hash = (x->hash ^ buf[i]) * FNV_PRIME;
        if (!x->mismatch && x->expect && at < x->expect_len &&
            x->expect[at] != buf[i]) {
            x->mismatch = 1;
            x->mismatch_at = at;
        }
    }
    if (x->keep && x->kept_len < KEEP_MAX) {
        size_t room = KEEP_MAX - x->kept_len, k = n < room ? n : room;
        uint8_t *p = realloc(x->kept, x->kept_len + k);
        if (!p) {
            fprintf(stderr, "vcts: out of memory.\n");
            abort();
        }
        memcpy(p + x->kept_len, buf, k);
        x->kept = p;
        x->kept_len += k;
    }
    x->total += n;
}

/* Reads one export of the VM's boot disk to its end. */
static int read_export(xread *x, vcts_t *t, const char *vm, uint32_t format,
                       const char *what)
{
    vrt_pstream *s = NULL;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;
    uint8_t *buf = malloc(CHUNK);
    uint64_t idle_deadline = 0;
    int rc;

    if (!buf) {
        fprintf(stderr, "vcts: out of memory.\n");
        abort();
    }
    x->hash = FNV_OFFSET;
    vrt_export_spec spec = {.struct_size = sizeof(spec),
                            .format = format,
                            .offset = x->base,
                            .vm_id = vm};
    vcts_cc(t, &cc);
    rc = vrt_p_disk_export_open(&s, &x->size, t->run->conn, &cc, &spec, &err);
    if (vcts_expect_ok(t, rc, &err, what) != VRT_OK)
        goto cleanup;
    if (x->hash_from == UINT64_MAX)
        x->hash_from = x->size ? x->size / 2 + 1 : RESUME_AT_UNSIZED;
    for (;;) {
        size_t n = 0;
        err = (vrt_error)VRT_ERROR_INIT;
        rc = vrt_p_stream_read(&n, s, buf, CHUNK, &err);
        if (rc == VRT_E_AGAIN) {
            if (vcts_check_record(t, rc, &err, "stream_read"))
                break;
            if (!idle_deadline)
                idle_deadline = vrt_now_ms() + t->run->cfg->timeout_ms;
            if (vrt_now_ms() >= idle_deadline) {
                rc = vcts_fail(t, "stream_read of %s said AGAIN for %u ms.",
                               what, (unsigned)t->run->cfg->timeout_ms);
                break;
            }
            vcts_sleep_ms(AGAIN_SLEEP_MS);
            continue;
        }
        idle_deadline = 0;
        if (vcts_expect_ok(t, rc, &err, "stream_read") != VRT_OK || n == 0)
            break;
        xread_feed(x, buf, n);
    }
    vcts_note(t, "%s: %llu bytes, reported size %llu", what,
              (unsigned long long)x->total, (unsigned long long)x->size);

cleanup:
    vrt_p_stream_close(s);
    free(buf);
    return rc;
}

static void t_disk_export(vcts_t *t)
{
    char vm[VRT_ID_MAX], what[VRT_ID_MAX + 64];
    uint32_t format = vcts_pick_format(t->run);
    xread a, b;
    vrt_pstream *s = NULL;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;
    uint64_t size;

    if (!format) {
        vcts_fail(t, "The connection claims DISK_EXPORT but no disk format.");
        return;
    }
    if (vcts_vm_create(vm, t, "export", NULL) != VRT_OK)
        return;
    snprintf(what, sizeof(what), "disk_export_open of \"%s\" (format 0x%x)",
             vm, format);
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    if (read_export(&a, t, vm, format, what) != VRT_OK ||
        read_export(&b, t, vm, format, what) != VRT_OK)
        return;
    if (a.total == 0)
        vcts_fail(t, "The export of \"%s\" is empty.", vm);
    if (a.size && a.total != a.size)
        vcts_fail(t, "The export of \"%s\" reported %llu bytes and delivered "
                     "%llu.",
                  vm, (unsigned long long)a.size,
                  (unsigned long long)a.total);
    if (a.total != b.total || a.hash != b.hash)
        vcts_fail(t, "Two exports of the stopped VM \"%s\" differ (%llu and "
                     "%llu bytes).",
                  vm, (unsigned long long)a.total,
                  (unsigned long long)b.total);

    snprintf(what, sizeof(what), "disk_export_open of the missing VM \"%s\"",
             t->run->cfg->missing_id);
    vrt_export_spec spec = {.struct_size = sizeof(spec),
                            .format = format,
                            .vm_id = t->run->cfg->missing_id};
    vcts_cc(t, &cc);
    int rc = vrt_p_disk_export_open(&s, &size, t->run->conn, &cc, &spec,
                                    &err);
    vrt_p_stream_close(s);
    vcts_expect_code(t, rc, &err, VRT_E_NOTFOUND, what);
}

static void t_disk_export_resume(vcts_t *t)
{
    char vm[VRT_ID_MAX], what[VRT_ID_MAX + 64];
    uint32_t format = vcts_pick_format(t->run);
    xread full, rest;

    memset(&full, 0, sizeof(full));
    memset(&rest, 0, sizeof(rest));
    if (!format) {
        vcts_fail(t, "The connection claims DISK_EXPORT but no disk format.");
        return;
    }
    if (vcts_vm_create(vm, t, "export-resume", NULL) != VRT_OK)
        goto cleanup;
    snprintf(what, sizeof(what), "disk_export_open of \"%s\"", vm);
    full.hash_from = UINT64_MAX;
    full.keep = 1;
    if (read_export(&full, t, vm, format, what) != VRT_OK)
        goto cleanup;
    if (full.total <= full.hash_from) {
        /* Shorter than guessed: it is all in memory, so pick again. */
        if (full.total < 2) {
            vcts_fail(t, "The export of \"%s\" has %llu bytes, too few to "
                         "resume.",
                      vm, (unsigned long long)full.total);
            goto cleanup;
        }
        full.hash_from = full.total / 2;
        full.hash = FNV_OFFSET;
        for (size_t i = (size_t)full.hash_from; i < full.kept_len; i++)
            full.hash = (full.hash ^ full.kept[i]) * FNV_PRIME;
    }
    rest.base = rest.hash_from = full.hash_from;
    rest.expect = full.kept;
    rest.expect_len = full.kept_len;
    snprintf(what, sizeof(what), "disk_export_open of \"%s\" at offset %llu",
             vm, (unsigned long long)rest.base);
    if (read_export(&rest, t, vm, format, what) != VRT_OK)
        goto cleanup;
    if (rest.mismatch)
        vcts_fail(t, "Resuming at byte %llu gives other bytes than a full "
                     "export, first at byte %llu.",
                  (unsigned long long)rest.base,
                  (unsigned long long)rest.mismatch_at);
    else if (rest.total != full.total - rest.base)
        vcts_fail(t, "Resuming at byte %llu of %llu delivered %llu bytes; "
                     "%llu expected.",
                  (unsigned long long)rest.base,
                  (unsigned long long)full.total,
                  (unsigned long long)rest.total,
                  (unsigned long long)(full.total - rest.base));
    else if (rest.hash != full.hash)
        vcts_fail(t, "Resuming at byte %llu gives other bytes than a full "
                     "export.",
                  (unsigned long long)rest.base);
    else if (rest.size && rest.size != rest.total)
        vcts_fail(t, "disk_export_open at offset %llu reported a size of "
                     "%llu but the stream delivered %llu bytes; the size is "
                     "what the stream delivers from the offset on.",
                  (unsigned long long)rest.base,
                  (unsigned long long)rest.size,
                  (unsigned long long)rest.total);

cleanup:
    free(full.kept);
}

/* Bytes to import: synthetic for RAW, else a sample exported in the
 * wanted format (we cannot make up a valid qcow2 or VMDK). */
static uint8_t *import_bytes(size_t *len, vcts_t *t, uint32_t format)
{
    if (format == VRT_DISK_RAW) {
        uint8_t *b = malloc(IMPORT_BYTES);
        uint32_t x = 0x9e3779b9u;
        if (!b) {
            fprintf(stderr, "vcts: out of memory.\n");
            abort();
        }
        for (size_t i = 0; i < IMPORT_BYTES; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            b[i] = (uint8_t)x;
        }
        *len = IMPORT_BYTES;
        return b;
    }
    char vm[VRT_ID_MAX];
    xread x;
    memset(&x, 0, sizeof(x));
    x.keep = 1;
    *len = 0;
    if (vcts_vm_create(vm, t, "import-sample", NULL) != VRT_OK ||
        read_export(&x, t, vm, format, "disk_export_open of a sample") !=
            VRT_OK) {
        free(x.kept);
        return NULL;
    }
    if (x.total > KEEP_MAX) {
        vcts_fail(t, "The sample export is larger than %u bytes; vcts "
                     "imports only samples it can hold.",
                  KEEP_MAX);
        free(x.kept);
        return NULL;
    }
    *len = x.kept_len;
    return x.kept;
}

/* Writes `len` bytes in uneven pieces, as a pipeline might. */
static int write_all(vcts_t *t, vrt_pstream *s, const uint8_t *b, size_t len)
{
    static const size_t pieces[] = {1, 511, 4096, CHUNK, 1000};
    size_t off = 0;
    for (size_t i = 0; off < len; i++) {
        size_t n = pieces[i % 5];
        vrt_error err = VRT_ERROR_INIT;
        if (n > len - off)
            n = len - off;
        int rc = vrt_p_stream_write(s, b + off, n, &err);
        if (vcts_expect_ok(t, rc, &err, "stream_write") != VRT_OK)
            return rc;
        off += n;
    }
    return VRT_OK;
}

static int import_open(vrt_pstream **s, vcts_t *t, const char *suffix,
                       uint32_t format, size_t len)
{
    char name[VRT_NAME_MAX], what[VRT_NAME_MAX + 48];
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    vcts_name(name, sizeof(name), t, suffix);
    vrt_import_spec spec = {.struct_size = sizeof(spec),
                            .format = format,
                            .size_bytes = len,
                            .virtual_size = format == VRT_DISK_RAW ? len : 0,
                            .target_name = name};
    snprintf(what, sizeof(what), "disk_import_open of \"%s\"", name);
    vcts_cc(t, &cc);
    int rc = vrt_p_disk_import_open(s, t->run->conn, &cc, &spec, &err);
    return vcts_expect_ok(t, rc, &err, what);
}

/* The import format, or 0 after skipping the test. */
static uint32_t import_format(vcts_t *t)
{
    uint32_t format = vcts_pick_format(t->run);
    if (!format)
        vcts_fail(t, "The connection claims DISK_IMPORT but no disk format.");
    else if (format != VRT_DISK_RAW &&
             !(t->run->caps.caps & VRT_CAP_DISK_EXPORT)) {
        vcts_skip(t, "imports only non-raw formats and cannot export a "
                     "sample to import (capability DISK_EXPORT not "
                     "claimed)");
        format = 0;
    }
    return format;
}

static void t_disk_import(vcts_t *t)
{
    uint32_t format = import_format(t);
    size_t len = 0;
    uint8_t *bytes = format ? import_bytes(&len, t, format) : NULL;
    vrt_pstream *s = NULL;
    char id[VRT_ID_MAX];
    vrt_error err = VRT_ERROR_INIT;

    if (!bytes || import_open(&s, t, "import", format, len) != VRT_OK)
        goto cleanup;
    if (write_all(t, s, bytes, len) != VRT_OK) {
        vrt_p_stream_abort(s);
        goto cleanup;
    }
    int rc = vrt_p_stream_finish(id, s, &err);
    if (vcts_expect_ok(t, rc, &err, "stream_finish") == VRT_OK)
        vcts_note(t, "imported %zu bytes as disk \"%s\"", len, id);

cleanup:
    free(bytes);
}

/* After an abort the partial disk is gone, so its name is free again. */
static void t_disk_import_abort(vcts_t *t)
{
    uint32_t format = import_format(t);
    size_t len = 0;
    uint8_t *bytes = format ? import_bytes(&len, t, format) : NULL;

    for (int round = 0; bytes && round < 2 && !vcts_failed(t); round++) {
        vrt_pstream *s = NULL;
        if (import_open(&s, t, "import-abort", format, len) != VRT_OK)
            break;
        if (write_all(t, s, bytes, len / 2) == VRT_OK)
            vcts_note(t, "round %d: wrote %zu bytes, aborting", round,
                      len / 2);
        vrt_p_stream_abort(s);
    }
    free(bytes);
}

static void t_disk_info(vcts_t *t)
{
    char vm[VRT_ID_MAX], what[VRT_ID_MAX + 48];
    vrt_disk_info info;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;
    uint32_t f;

    if (vcts_vm_create(vm, t, "disk-info", NULL) != VRT_OK)
        return;
    snprintf(what, sizeof(what), "disk_info of the boot disk of \"%s\"", vm);
    vcts_cc(t, &cc);
    int rc = vrt_p_disk_info(&info, t->run->conn, &cc, vm, NULL, &err);
    if (rc == VRT_E_NOTSUPP &&
        !vrt_plugin_has_method(t->run->plugin, "disk_info")) {
        vcts_skip(t, "the plugin does not implement the optional method "
                     "\"disk_info\" (no capability names it)");
        return;
    }
    if (vcts_expect_ok(t, rc, &err, what) != VRT_OK)
        return;
    f = info.format;
    vcts_note(t, "disk \"%s\" format 0x%x virtual %llu actual %llu", info.id,
              f, (unsigned long long)info.virtual_size,
              (unsigned long long)info.actual_size);
    if (!f || (f & (f - 1)) ||
        (f & ~(uint32_t)(VRT_DISK_RAW | VRT_DISK_QCOW2 | VRT_DISK_VMDK)))
        vcts_fail(t, "%s reports format 0x%x; it must be one VRT_DISK_* "
                     "bit.",
                  what, f);
    if (info.virtual_size == 0)
        vcts_fail(t, "%s reports a virtual size of 0.", what);

    /* A raw export is the disk's logical bytes: its size is the virtual
     * size. */
    if ((t->run->caps.caps & VRT_CAP_DISK_EXPORT) &&
        (t->run->caps.disk_formats & VRT_DISK_RAW)) {
        vrt_pstream *s = NULL;
        uint64_t size = 0;
        vrt_export_spec spec = {.struct_size = sizeof(spec),
                                .format = VRT_DISK_RAW,
                                .vm_id = vm};
        err = (vrt_error)VRT_ERROR_INIT;
        vcts_cc(t, &cc);
        rc = vrt_p_disk_export_open(&s, &size, t->run->conn, &cc, &spec, &err);
        vrt_p_stream_close(s);
        if (vcts_expect_ok(t, rc, &err, "a raw disk_export_open") == VRT_OK &&
            size && size != info.virtual_size)
            vcts_fail(t, "A raw export of \"%s\" is %llu bytes but disk_info "
                         "says the virtual size is %llu.",
                      vm, (unsigned long long)size,
                      (unsigned long long)info.virtual_size);
    }

    snprintf(what, sizeof(what), "disk_info of the missing VM \"%s\"",
             t->run->cfg->missing_id);
    err = (vrt_error)VRT_ERROR_INIT;
    vcts_cc(t, &cc);
    rc = vrt_p_disk_info(&info, t->run->conn, &cc, t->run->cfg->missing_id,
                         NULL, &err);
    vcts_expect_code(t, rc, &err, VRT_E_NOTFOUND, what);
}

const vcts_test vcts_tests_disk[] = {
    {"disk-info", "disk_info of the boot disk agrees with a raw export",
     VCTS_NEED_CONN | VCTS_NEED_CAPS, 0, t_disk_info},
    {"disk-export", "an export reads to its end, matches its size, repeats",
     VCTS_NEED_CONN, VRT_CAP_DISK_EXPORT, t_disk_export},
    {"disk-export-resume", "an export from offset K gives bytes K.. of a "
                           "full one",
     VCTS_NEED_CONN, VRT_CAP_DISK_EXPORT, t_disk_export_resume},
    {"disk-import", "an import written in uneven pieces finishes with an id",
     VCTS_NEED_CONN, VRT_CAP_DISK_IMPORT, t_disk_import},
    {"disk-import-abort", "an aborted import frees its name for another",
     VCTS_NEED_CONN, VRT_CAP_DISK_IMPORT, t_disk_import_abort},
    {NULL, NULL, 0, 0, NULL},
};
