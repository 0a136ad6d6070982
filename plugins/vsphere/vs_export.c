/*
 * vs_export.c - disk export: a VM's disk, or the disk as a snapshot of it
 * froze it, as raw bytes read from the datastore over the server's file
 * access (GET /folder/<path>?dcPath=<datacenter>&dsName=<datastore> with
 * the session cookie): first the disk's descriptor, then its flat extents
 * end to end (vs_vmdk.c).  vim25's own export (ExportVm and an
 * HttpNfcLease) is not served by vcsim 0.24, the one vSphere the tests
 * can run, so this path is the one tested; it is also what a vCenter or
 * an ESXi host serves for a powered-off VM's files.
 *
 * A file shorter than its extent reads as zeros past its end (a thin
 * file on NFS, or a simulator's empty disk); an empty descriptor (vcsim
 * writes one) means "<name>-flat.vmdk" holds the whole disk.  The stream
 * is pulled with curl's multi interface: stream_read drives the transfer
 * until it has bytes, pausing it while our fixed buffer is full, so
 * memory stays bounded whatever the disk size.  Resuming from an offset
 * is an HTTP range request.
 */
#include "vs.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_CAP (1u << 20)
#define DESC_MAX (64u * 1024u) /* a descriptor is a few hundred bytes */
#define POLL_MS 1000           /* no data for this long: VRT_E_AGAIN */

struct vrt_stream {
    vrt_conn *c;
    char *base;  /* "https://host:port/folder/<escaped dir>/" */
    char *query; /* "?dcPath=...&dsName=..." */
    vs_extent *ext;
    size_t next, cur;
    uint64_t pos;  /* bytes of ext[cur] delivered */
    int file_end;  /* ext[cur]'s file ended early: zeros from here */
    CURLM *multi;
    CURL *easy;    /* the transfer of ext[cur], or NULL */
    int done, paused, checked;
    CURLcode result;
    uint64_t skip; /* bytes to drop: the server ignored our range */
    uint64_t left; /* bytes of the extent the transfer may still give */
    uint8_t *buf;
    size_t blen, boff;
    int eof, broken;
    char cookie[512];
    char disk[VRT_URL_MAX]; /* "[ds] path", for messages */
    char errbuf[CURL_ERROR_SIZE];
};

/* ---- reading the VM's disk -------------------------------------------------- */

typedef struct disk_pick {
    const char *want;      /* a device key, or NULL: the first disk */
    char file[VRT_URL_MAX];  /* "[ds] dir/name.vmdk" */
    char ds[VS_REF_MAX];   /* the datastore's reference */
    char vm[VS_REF_MAX];   /* a snapshot's VM */
    uint64_t capacity;
    int found;
} disk_pick;

static int pick_one(void *opaque, const char *type, const char *ref,
                    const xmlNode *objects)
{
    disk_pick *d = opaque;
    const xmlNode *ps;
    char name[64], t[64], key[32], size[32];

    (void)type;
    (void)ref;
    for (ps = vs_xml_child(objects, "propSet"); ps;
         ps = vs_xml_next(ps, "propSet")) {
        const xmlNode *val = vs_xml_child(ps, "val"), *dev;
        vs_xml_ctext(name, sizeof(name), ps, "name");
        if (!strcmp(name, "vm")) {
            vs_xml_text(d->vm, sizeof(d->vm), val);
            continue;
        }
        for (dev = val ? val->children : NULL; dev && !d->found;
             dev = dev->next) {
            const xmlNode *backing = vs_xml_child(dev, "backing");
            if (dev->type != XML_ELEMENT_NODE ||
                strcmp(vs_xml_type(t, sizeof(t), dev), "VirtualDisk"))
                continue;
            vs_xml_ctext(key, sizeof(key), dev, "key");
            if (d->want && strcmp(d->want, key))
                continue;
            vs_xml_ctext(d->file, sizeof(d->file), backing, "fileName");
            vs_xml_ctext(d->ds, sizeof(d->ds), backing, "datastore");
            vs_xml_ctext(size, sizeof(size), dev, "capacityInBytes");
            d->capacity = strtoull(size, NULL, 10);
            if (!d->capacity) {
                vs_xml_ctext(size, sizeof(size), dev, "capacityInKB");
                d->capacity = strtoull(size, NULL, 10) * 1024u;
            }
            d->found = 1;
        }
    }
    return 0;
}

/* The disk of VM `vm` (or of its snapshot `snap`) that the spec names. */
static int pick_disk(disk_pick *d, vrt_conn *c, const vrt_call *call,
                     const vs_vm *vm, const vrt_export_spec *spec,
                     vrt_error *err)
{
    const char *snap = spec->snapshot_id && spec->snapshot_id[0]
                           ? spec->snapshot_id
                           : NULL;
    const char *type = snap ? "VirtualMachineSnapshot" : "VirtualMachine";
    vs_buf b = {0};
    int rc;

    memset(d, 0, sizeof(*d));
    d->want = spec->disk_id && spec->disk_id[0] ? spec->disk_id : NULL;
    vs_buf_add(&b, "<propSet><type>%s</type><pathSet>config.hardware.device"
                   "</pathSet>%s</propSet><objectSet><obj type=\"%s\">",
               type, snap ? "<pathSet>vm</pathSet>" : "", type);
    vs_buf_esc(&b, snap ? snap : vm->ref);
    vs_buf_add(&b, "</obj></objectSet>");
    rc = vs_pc_retrieve(c, call, b.s, pick_one, d, "Reading the VM's disks",
                        err);
    vs_buf_free(&b);
    if (rc < 0) {
        if (snap && rc == VRT_E_NOTFOUND)
            return vs_err(err, VRT_E_NOTFOUND, "VM \"%s\" has no snapshot "
                          "\"%.64s\".", vm->name, snap);
        return rc;
    }
    if (snap && strcmp(d->vm, vm->ref))
        return vs_err(err, VRT_E_NOTFOUND,
                      "VM \"%s\" has no snapshot \"%.64s\".", vm->name, snap);
    if (!d->found)
        return vs_err(err, VRT_E_NOTFOUND, "VM \"%s\" has no disk%s%.32s%s.",
                      vm->name, d->want ? " \"" : "", d->want ? d->want : "",
                      d->want ? "\"" : "");
    if (d->file[0] != '[' || !strchr(d->file, ']'))
        return vs_err(err, VRT_E_NOTSUPP,
                      "Disk \"%s\" of VM \"%s\" is not a file on a "
                      "datastore.",
                      d->file, vm->name);
    return VRT_OK;
}

typedef struct dc_find {
    const char *ds;
    char name[VRT_NAME_MAX];
} dc_find;

static int dc_one(void *opaque, const char *type, const char *ref,
                  const xmlNode *objects)
{
    dc_find *f = opaque;
    const xmlNode *ps, *m;
    char name[VRT_NAME_MAX] = "", pn[32], v[VS_REF_MAX];
    int has = 0;

    (void)type;
    (void)ref;
    for (ps = vs_xml_child(objects, "propSet"); ps;
         ps = vs_xml_next(ps, "propSet")) {
        const xmlNode *val = vs_xml_child(ps, "val");
        vs_xml_ctext(pn, sizeof(pn), ps, "name");
        if (!strcmp(pn, "name"))
            vs_xml_text(name, sizeof(name), val);
        else
            for (m = val ? val->children : NULL; m; m = m->next)
                if (m->type == XML_ELEMENT_NODE &&
                    !strcmp(vs_xml_text(v, sizeof(v), m), f->ds))
                    has = 1;
    }
    if (has && !f->name[0])
        vs_strlcpy(f->name, name, sizeof(f->name));
    return 0;
}

/* The name of the datacenter holding datastore `ds` (the Provider's
 * datacenter when it names one). */
static int datacenter_of(char name[VRT_NAME_MAX], vrt_conn *c,
                         const vrt_call *call, const char *ds, vrt_error *err)
{
    static const char *const paths[] = {"name", "datastore"};
    dc_find f = {ds, ""};
    int rc;

    if (c->cfg.datacenter && c->cfg.datacenter[0]) {
        vs_strlcpy(name, c->cfg.datacenter, VRT_NAME_MAX);
        return VRT_OK;
    }
    if ((rc = vs_each_of_type(c, call, "Datacenter", paths, 2, dc_one, &f,
                              "Finding the disk's datacenter", err)) < 0)
        return rc;
    if (!f.name[0])
        return vs_err(err, VRT_E_NOTFOUND, "No datacenter holds datastore "
                      "\"%s\"; set vsphere.datacenter on the Provider.", ds);
    vs_strlcpy(name, f.name, VRT_NAME_MAX);
    return VRT_OK;
}

/* ---- HTTP ---------------------------------------------------------------------- */

/* Escapes each '/'-separated part of a datastore path. */
static char *escape_path(CURL *h, const char *p)
{
    vs_buf b = {0};

    while (*p) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char *part = curl_easy_escape(h, p, (int)n);
        if (!part)
            vs_oom();
        vs_buf_add(&b, "%s%s", part, e ? "/" : "");
        curl_free(part);
        p += n + (e ? 1 : 0);
    }
    if (!b.s)
        vs_buf_add(&b, "%s", "");
    return b.s;
}

static int http_fail(const vrt_stream *s, CURLcode cc, long status,
                     const char *file, vrt_error *err)
{
    if (cc == CURLE_HTTP_RETURNED_ERROR && status == 404)
        return vs_err(err, VRT_E_NOTFOUND, "File \"%s\" of disk \"%s\" is not "
                      "on the datastore (HTTP 404).", file, s->disk);
    if (cc == CURLE_HTTP_RETURNED_ERROR && (status == 401 || status == 403))
        return vs_err(err, VRT_E_UNAUTHORIZED, "The server refused to send "
                      "file \"%s\" of disk \"%s\" (HTTP %ld).",
                      file, s->disk, status);
    if (cc == CURLE_HTTP_RETURNED_ERROR)
        return vs_err(err, VRT_E_UNAVAILABLE, "Reading file \"%s\" of disk "
                      "\"%s\" failed with HTTP %ld.", file, s->disk, status);
    return vs_err(err, cc == CURLE_OPERATION_TIMEDOUT ? VRT_E_TIMEOUT
                                                      : VRT_E_UNAVAILABLE,
                  "Reading file \"%s\" of disk \"%s\" failed: %s.", file,
                  s->disk, s->errbuf[0] ? s->errbuf : curl_easy_strerror(cc));
}

/* A handle for GET of `file` (in the disk's folder) from byte `from`
 * to byte `to` (inclusive; UINT64_MAX: to the end). */
static CURL *http_get(vrt_stream *s, const char *file, uint64_t from,
                      uint64_t to)
{
    CURL *h = curl_easy_init();
    char *name, *url, range[64];
    vs_buf u = {0};

    if (!h)
        vs_oom();
    name = escape_path(h, file);
    vs_buf_add(&u, "%s%s%s", s->base, name, s->query);
    url = u.s;
    free(name);
    s->errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    free(url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "virtrigaud-vsphere/0.1");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
    /* a stalled server: under 1 byte/s for a minute */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    if (s->cookie[0])
        curl_easy_setopt(h, CURLOPT_COOKIE, s->cookie);
    vs_curl_tls(s->c, h);
    if (from || to != UINT64_MAX) {
        if (to == UINT64_MAX)
            snprintf(range, sizeof(range), "%llu-", (unsigned long long)from);
        else
            snprintf(range, sizeof(range), "%llu-%llu",
                     (unsigned long long)from, (unsigned long long)to);
        curl_easy_setopt(h, CURLOPT_RANGE, range);
    }
    return h;
}

typedef struct mem {
    char *p;
    size_t len;
} mem;

static size_t mem_put(char *p, size_t size, size_t n, void *opaque)
{
    mem *m = opaque;
    size_t k = size * n, room = DESC_MAX - m->len;

    if (k > room)
        k = room; /* the rest is not a descriptor's */
    memcpy(m->p + m->len, p, k);
    m->len += k;
    return size * n;
}

/* The first DESC_MAX bytes of the descriptor, within the call's deadline. */
static int read_descriptor(mem *m, vrt_stream *s, const vrt_call *call,
                           const char *file, vrt_error *err)
{
    CURL *h = http_get(s, file, 0, DESC_MAX - 1);
    long status = 0, timeout = 120000;
    uint64_t now = vs_now_ms();
    CURLcode cc;
    int rc = VRT_OK;

    if (call && call->deadline_ms && call->deadline_ms > now &&
        call->deadline_ms - now < (uint64_t)timeout)
        timeout = (long)(call->deadline_ms - now);
    m->p = vs_xcalloc(1, DESC_MAX);
    m->len = 0;
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, mem_put);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, m);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    /* an empty file cannot satisfy a range: it is an empty descriptor */
    if (cc == CURLE_HTTP_RETURNED_ERROR && status == 416)
        cc = CURLE_OK;
    if (cc != CURLE_OK)
        rc = http_fail(s, cc, status, file, err);
    curl_easy_cleanup(h);
    return rc;
}

/* ---- the transfer of one extent ---------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *opaque)
{
    vrt_stream *s = opaque;
    size_t k = size * n, drop, take;
    long status = 0;

    if (!s->checked) {
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
        /* 200 to a range request: the whole file comes; skip to ours */
        if (status == 200)
            s->skip = s->ext[s->cur].start + s->pos;
        s->checked = 1;
    }
    drop = s->skip < k ? (size_t)s->skip : k;
    take = k - drop;
    if (take > s->left)
        take = (size_t)s->left; /* past the extent: not ours */
    if (take > BUF_CAP - s->blen) {
        if (s->boff) {
            memmove(s->buf, s->buf + s->boff, s->blen - s->boff);
            s->blen -= s->boff;
            s->boff = 0;
        }
        if (take > BUF_CAP - s->blen) {
            s->paused = 1;
            return CURL_WRITEFUNC_PAUSE; /* delivered again on resume */
        }
    }
    s->skip -= drop;
    memcpy(s->buf + s->blen, p + drop, take);
    s->blen += take;
    s->left -= take;
    return k;
}

static void xfer_stop(vrt_stream *s)
{
    if (s->easy) {
        curl_multi_remove_handle(s->multi, s->easy);
        curl_easy_cleanup(s->easy);
    }
    s->easy = NULL;
    s->done = s->paused = s->checked = 0;
    s->skip = s->left = 0;
    s->blen = s->boff = 0;
}

static void xfer_start(vrt_stream *s)
{
    const vs_extent *e = &s->ext[s->cur];

    s->left = e->size - s->pos;
    s->easy = http_get(s, e->file, e->start + s->pos, e->start + e->size - 1);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_multi_add_handle(s->multi, s->easy);
}

/* Runs the transfer once, waiting up to POLL_MS for something to happen. */
static void xfer_step(vrt_stream *s)
{
    CURLMsg *msg;
    int running = 0, left;

    curl_multi_perform(s->multi, &running);
    while ((msg = curl_multi_info_read(s->multi, &left)))
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == s->easy) {
            s->done = 1;
            s->result = msg->data.result;
        }
    if (!s->done && s->blen == s->boff)
        curl_multi_poll(s->multi, NULL, 0, POLL_MS, NULL);
}

/* ---- the methods ---------------------------------------------------------------- */

static void stream_free(vrt_stream *s)
{
    if (!s)
        return;
    xfer_stop(s);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    vs_wipe(s->cookie, sizeof(s->cookie));
    free(s->base);
    free(s->query);
    free(s->ext);
    free(s->buf);
    free(s);
}

/* s->base and s->query for the disk "[ds] dir/name.vmdk"; *name gets the
 * file name (a pointer into `file`). */
static int locate(vrt_stream *s, const char **name, const char *file,
                  const char *dc)
{
    const char *close = strchr(file, ']'), *path = close + 1, *slash;
    CURL *h = curl_easy_init();
    char *dcq, *dsq, *dir;
    vs_buf b = {0}, q = {0};
    size_t urllen = strlen(s->c->url);

    if (!h)
        vs_oom();
    while (*path == ' ')
        path++;
    slash = strrchr(path, '/');
    *name = slash ? slash + 1 : path;
    dir = vs_xcalloc(1, (size_t)(*name - path) + 1);
    memcpy(dir, path, (size_t)(*name - path));
    dcq = curl_easy_escape(h, dc, 0);
    dsq = curl_easy_escape(h, file + 1, (int)(close - file - 1));
    if (!dcq || !dsq)
        vs_oom();
    /* the web server's root: the SDK URL without its "/sdk" */
    if (urllen >= 4 && !strcmp(s->c->url + urllen - 4, "/sdk"))
        urllen -= 4;
    char *edir = escape_path(h, dir);
    vs_buf_add(&b, "%.*s/folder/%s", (int)urllen, s->c->url, edir);
    vs_buf_add(&q, "?dcPath=%s&dsName=%s", dcq, dsq);
    free(edir);
    free(dir);
    curl_free(dcq);
    curl_free(dsq);
    curl_easy_cleanup(h);
    s->base = b.s;
    s->query = q.s;
    return VRT_OK;
}

/* s->ext from the descriptor of the disk, whose device says `capacity`. */
static int plan(vrt_stream *s, const vrt_call *call, const char *name,
                uint64_t capacity, vrt_error *err)
{
    mem m = {NULL, 0};
    int rc;

    if ((rc = read_descriptor(&m, s, call, name, err)) < 0)
        goto cleanup;
    if (m.len == 0) {
        /* vcsim's disks: an empty descriptor beside "<name>-flat.vmdk" */
        size_t n = strlen(name);
        if (!capacity || n < 5 || strcmp(name + n - 5, ".vmdk")) {
            rc = vs_err(err, VRT_E_INVALID, "The descriptor of disk \"%s\" "
                        "is empty.", s->disk);
            goto cleanup;
        }
        s->ext = vs_xcalloc(1, sizeof(*s->ext));
        if ((size_t)snprintf(s->ext[0].file, sizeof(s->ext[0].file),
                             "%.*s-flat.vmdk", (int)(n - 5), name) >=
            sizeof(s->ext[0].file)) {
            rc = vs_err(err, VRT_E_INVALID, "The file name of disk \"%s\" is "
                        "too long to export.", s->disk);
            goto cleanup;
        }
        s->ext[0].size = capacity;
        s->next = 1;
        vs_log(s->c, VRT_LOG_DEBUG, "The descriptor of disk \"%s\" is empty; "
               "reading \"%s\" as the whole disk (%llu bytes).",
               s->disk, s->ext[0].file, (unsigned long long)capacity);
        goto cleanup;
    }
    /* A descriptor that fills the buffer may have lost extent lines: the
     * disk would come out short without a word. */
    if (m.len == DESC_MAX && memcmp(m.p, "KDMV", 4) != 0 &&
        memcmp(m.p, "COWD", 4) != 0) { /* sparse files are refused below */
        rc = vs_err(err, VRT_E_NOTSUPP, "The descriptor of disk \"%s\" is "
                    "longer than %u bytes (a disk of very many extents); "
                    "it cannot be exported.", s->disk, (unsigned)DESC_MAX);
        goto cleanup;
    }
    /* (The extents are not checked against the device's capacity: vcsim
     * keeps the capacity a disk was made with when its file is replaced.) */
    rc = vs_vmdk_extents(&s->ext, &s->next, m.p, m.len, s->disk, err);

cleanup:
    free(m.p);
    return rc;
}

/* Moves the read position to byte `offset` of the disk. */
static int seek_to(vrt_stream *s, uint64_t offset, uint64_t total,
                   vrt_error *err)
{
    if (offset > total)
        return vs_err(err, VRT_E_INVALID,
                      "The export offset %llu is past the end of disk \"%s\" "
                      "(%llu bytes).",
                      (unsigned long long)offset, s->disk,
                      (unsigned long long)total);
    for (s->cur = 0; s->cur < s->next && offset >= s->ext[s->cur].size;
         s->cur++)
        offset -= s->ext[s->cur].size;
    s->pos = offset;
    return VRT_OK;
}

int32_t vs_disk_export_open(vrt_stream **out, uint64_t *size, vrt_conn *c,
                            const vrt_call *call, const vrt_export_spec *spec,
                            uint32_t flags, vrt_error *err)
{
    vrt_stream *s = NULL;
    disk_pick d;
    vs_vm vm;
    char dc[VRT_NAME_MAX];
    const char *name = NULL;
    uint64_t total = 0;
    int rc;

    if (out)
        *out = NULL;
    if (size)
        *size = 0;
    if ((rc = vs_flags_ok(flags, "disk_export_open", err)) < 0 ||
        (rc = vs_call_check(call, "disk export", err)) < 0)
        return rc;
    if (!out || !c || !spec || spec->struct_size < sizeof(vrt_export_spec))
        return vs_err(err, VRT_E_INVALID, "disk_export_open needs an out "
                      "pointer, a connection and a well-formed export spec.");
    if (!spec->vm_id || !spec->vm_id[0])
        return vs_err(err, VRT_E_INVALID, "Disk export needs a VM id (the "
                      "vSphere provider imports no disks to export back).");
    if (spec->format != VRT_DISK_RAW)
        return vs_err(err, VRT_E_NOTSUPP, "The vSphere provider exports raw "
                      "disks; convert to other formats in the pipeline.");
    if ((rc = vs_vm_need(&vm, NULL, c, call, spec->vm_id, err)) < 0)
        return rc;
    /* a snapshot froze its disk; without one the VM must not write */
    if (!(spec->snapshot_id && spec->snapshot_id[0]) &&
        vm.power != VRT_POWER_OFF)
        return vs_err(err, VRT_E_CONFLICT,
                      "VM \"%s\" is powered on; power it off (or export "
                      "from a snapshot) before exporting its disk.",
                      vm.name);
    if ((rc = pick_disk(&d, c, call, &vm, spec, err)) < 0 ||
        (rc = datacenter_of(dc, c, call, d.ds, err)) < 0)
        return rc;
    s = vs_xcalloc(1, sizeof(*s));
    s->c = c;
    vs_strlcpy(s->disk, d.file, sizeof(s->disk));
    pthread_mutex_lock(&c->lock);
    vs_strlcpy(s->cookie, c->cookie, sizeof(s->cookie));
    pthread_mutex_unlock(&c->lock);
    if ((rc = locate(s, &name, d.file, dc)) < 0 ||
        (rc = plan(s, call, name, d.capacity, err)) < 0)
        goto cleanup;
    for (size_t i = 0; i < s->next; i++)
        total += s->ext[i].size;
    if ((rc = seek_to(s, spec->offset, total, err)) < 0)
        goto cleanup;
    if (!(s->multi = curl_multi_init()))
        vs_oom();
    s->buf = vs_xcalloc(1, BUF_CAP);
    vs_log(c, VRT_LOG_INFO, "Exporting disk \"%s\" of VM \"%s\"%s%.64s (%llu "
           "bytes in %zu extent%s) from byte %llu.",
           s->disk, vm.name, spec->snapshot_id && spec->snapshot_id[0]
                                 ? " as of snapshot "
                                 : "",
           spec->snapshot_id ? spec->snapshot_id : "",
           (unsigned long long)total, s->next, s->next == 1 ? "" : "s",
           (unsigned long long)spec->offset);
    if (size)
        *size = total - spec->offset;
    *out = s;
    s = NULL;

cleanup:
    stream_free(s);
    return rc;
}

int32_t vs_stream_read(size_t *nread, vrt_stream *s, uint8_t *buf, size_t len,
                       uint32_t flags, vrt_error *err)
{
    uint64_t t0 = vs_now_ms();
    int rc;

    if (nread)
        *nread = 0;
    if ((rc = vs_flags_ok(flags, "stream_read", err)) < 0)
        return rc;
    if (!s || !nread || (!buf && len))
        return vs_err(err, VRT_E_INVALID, "stream_read needs an export "
                      "stream and a buffer.");
    if (s->broken)
        return vs_err(err, VRT_E_CONFLICT, "The export stream already "
                      "failed; close it.");
    while (len && !s->eof) {
        const vs_extent *e;
        uint64_t room;

        if (s->cur >= s->next) {
            xfer_stop(s);
            s->eof = 1;
            break;
        }
        e = &s->ext[s->cur];
        if (s->pos >= e->size) {
            xfer_stop(s);
            s->cur++;
            s->pos = 0;
            s->file_end = 0;
            continue;
        }
        room = e->size - s->pos;
        if (room > len)
            room = len;
        if (!e->file[0] || s->file_end) { /* ZERO extent, or past the file */
            memset(buf, 0, (size_t)room);
            s->pos += room;
            *nread = (size_t)room;
            return VRT_OK;
        }
        if (!s->easy)
            xfer_start(s);
        if (s->blen > s->boff) {
            size_t n = s->blen - s->boff;
            if (n > room)
                n = (size_t)room;
            memcpy(buf, s->buf + s->boff, n);
            s->boff += n;
            s->pos += n;
            if (s->boff == s->blen)
                s->boff = s->blen = 0;
            if (s->paused) {
                s->paused = 0;
                curl_easy_pause(s->easy, CURLPAUSE_CONT);
            }
            *nread = n;
            return VRT_OK;
        }
        if (s->done) {
            long status = 0;
            curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
            /* the file is shorter than its extent: zeros from here */
            if (s->result == CURLE_OK ||
                (s->result == CURLE_HTTP_RETURNED_ERROR && status == 416)) {
                xfer_stop(s);
                s->file_end = 1;
                continue;
            }
            s->broken = 1;
            rc = http_fail(s, s->result, status, e->file, err);
            xfer_stop(s);
            return rc;
        }
        if (vs_now_ms() - t0 >= POLL_MS)
            return vs_err(err, VRT_E_AGAIN, "No data yet; read again.");
        xfer_step(s);
    }
    return VRT_OK;
}

void vs_stream_close(vrt_stream *s)
{
    stream_free(s);
}
