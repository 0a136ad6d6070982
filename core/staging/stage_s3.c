/*
 * The S3 staging backend (libcurl, SigV4 from sigv4.c).
 *
 * Writing is a multipart upload of VRT_S3_PART_SIZE parts, each signed
 * with its own payload hash.  Next to the object, KEY.upload records the
 * upload id and every part that the server acknowledged (number, size,
 * ETag), rewritten after each part.  A resumed write asks the server
 * which parts it holds (ListParts, following its pages); a server without
 * ListParts (s3rver) is answered from KEY.upload.  Either way the upload
 * goes on after the last part both agree on, so a part is sent again only
 * if the crash came between its upload and its record.  Reading is ranged
 * GETs; removing aborts the unfinished upload and deletes both objects.
 *
 * The endpoint's host is checked by vrt_hostpolicy_check and curl is
 * pinned to the checked address (CURLOPT_RESOLVE); redirects are not
 * followed.  Credentials go into the Authorization header only.
 */
#include "stage_internal.h"

#include <vrt/log.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

VRT_LOG_SOURCE("staging.s3");

#define READ_CHUNK (8u << 20)
#define XML_MAX (1u << 20)
#define MAX_PARTS 10000

typedef struct s3_stage {
    vrt_stage base;
    CURL *curl;
    struct curl_slist *resolve;
    char scheme[8];
    char host[300];     /* as in the endpoint (no brackets) */
    char req_host[600]; /* Host header: [bucket.]host[:port] */
    char addr[64];
    unsigned port;
    char bucket[256], prefix[512], region[64];
    char *access_key, *secret_key, *token;
    int path_style;
} s3_stage;

typedef struct part {
    char etag[80];
    uint64_t size;
} part;

typedef struct s3_writer {
    vrt_stage_writer base;
    char key[1024];
    char upload_id[256];
    uint8_t *buf;
    size_t fill;
    part *parts;
    uint32_t nparts;
} s3_writer;

typedef struct s3_reader {
    vrt_stage_reader base;
    char key[1024];
    uint64_t size, off;
    uint8_t *buf;
    size_t have, pos;
} s3_reader;

/* --- one request ------------------------------------------------------ */

typedef struct sink {
    uint8_t *p;
    size_t len, cap;
    int grow; /* else: a fixed caller buffer, overflow is an error */
} sink;

typedef struct resp {
    long code;
    sink body;
    char etag[80];
} resp;

static size_t on_body(char *d, size_t sz, size_t nm, void *opaque)
{
    sink *k = opaque;
    size_t n = sz * nm;
    if (k->len + n > k->cap) {
        if (!k->grow || k->len + n > XML_MAX)
            return 0;
        size_t cap = (k->len + n) * 2;
        uint8_t *p = realloc(k->p, cap + 1);
        if (!p)
            abort();
        k->p = p;
        k->cap = cap;
    }
    memcpy(k->p + k->len, d, n);
    k->len += n;
    if (k->grow)
        k->p[k->len] = '\0';
    return n;
}

static size_t on_header(char *d, size_t sz, size_t nm, void *opaque)
{
    resp *r = opaque;
    size_t n = sz * nm;
    if (n > 5 && strncasecmp(d, "etag:", 5) == 0) {
        size_t i = 5;
        while (i < n && d[i] == ' ')
            i++;
        size_t e = n;
        while (e > i && (d[e - 1] == '\r' || d[e - 1] == '\n' || d[e - 1] == ' '))
            e--;
        snprintf(r->etag, sizeof(r->etag), "%.*s", (int)(e - i), d + i);
    }
    return n;
}

/* The text of <tag>...</tag> after *from into out; advances *from. */
static int xml_take(char *out, size_t size, const char **from, const char *tag)
{
    char open[64], close[64];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *a = *from ? strstr(*from, open) : NULL;
    if (!a)
        return -1;
    a += strlen(open);
    const char *b = strstr(a, close);
    if (!b)
        return -1;
    snprintf(out, size, "%.*s", (int)(b - a), a);
    *from = b + strlen(close);
    return 0;
}

static void object_path(char *buf, size_t size, const s3_stage *s, const char *key)
{
    char enc[3200];
    vrt_uri_encode(enc, sizeof(enc), key ? key : "", 1);
    if (s->path_style)
        snprintf(buf, size, "/%s%s%s", s->bucket, key ? "/" : "", enc);
    else
        snprintf(buf, size, "/%s", enc);
}

/* Sends one signed request.  `query` is canonical (sorted, encoded).
 * Fills *r; the body goes to r->body (growing) unless `into` is given. */
static int s3_call(resp *r, s3_stage *s, const char *method, const char *key,
                   const char *query, const void *body, size_t blen,
                   const char *range, sink *into, vrt_error *err)
{
    memset(r, 0, sizeof(*r));
    r->body.grow = 1;
    char path[4096], url[5200], hash[65], amz_date[20], auth[1024];
    object_path(path, sizeof(path), s, key);
    snprintf(url, sizeof(url), "%s://%s%s%s%s", s->scheme, s->req_host, path,
             query && *query ? "?" : "", query ? query : "");
    vrt_sha256_hex(hash, body ? body : "", blen);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
    const char *hdrs[12];
    size_t h = 0;
    hdrs[h++] = "host";
    hdrs[h++] = s->req_host;
    hdrs[h++] = "x-amz-content-sha256";
    hdrs[h++] = hash;
    hdrs[h++] = "x-amz-date";
    hdrs[h++] = amz_date;
    if (s->token) {
        hdrs[h++] = "x-amz-security-token";
        hdrs[h++] = s->token;
    }
    hdrs[h] = NULL;
    vrt_sigv4_req sr = {.method = method, .uri = path, .query = query ? query : "",
                        .headers = hdrs, .payload_sha256 = hash, .amz_date = amz_date,
                        .region = s->region, .service = "s3",
                        .access_key = s->access_key, .secret_key = s->secret_key};
    if (vrt_sigv4_authorization(auth, sizeof(auth), &sr) != 0)
        return vrt_error_set(err, VRT_E_INVALID, "The S3 request for \"%s\" is too "
                             "long to sign.", key ? key : s->bucket);
    struct curl_slist *hl = NULL;
    char line[1200];
    snprintf(line, sizeof(line), "Authorization: %s", auth);
    hl = curl_slist_append(hl, line);
    OPENSSL_cleanse(line, sizeof(line));
    OPENSSL_cleanse(auth, sizeof(auth));
    snprintf(line, sizeof(line), "x-amz-content-sha256: %s", hash);
    hl = curl_slist_append(hl, line);
    snprintf(line, sizeof(line), "x-amz-date: %s", amz_date);
    hl = curl_slist_append(hl, line);
    if (s->token) {
        /* Session tokens have no documented bound: sized to fit. */
        char *tl = NULL;
        if (asprintf(&tl, "x-amz-security-token: %s", s->token) < 0)
            abort();
        hl = curl_slist_append(hl, tl);
        OPENSSL_cleanse(tl, strlen(tl));
        free(tl);
    }
    if (range) {
        snprintf(line, sizeof(line), "Range: %s", range);
        hl = curl_slist_append(hl, line);
    }
    hl = curl_slist_append(hl, "Expect:");
    hl = curl_slist_append(hl, "Content-Type:");

    CURL *c = s->curl;
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_RESOLVE, s->resolve);
    /* No proxy from the environment: a proxy resolves the name itself,
     * which would step around the address checked and pinned above. */
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, into ? into : &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (body || strcmp(method, "DELETE") != 0) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        }
    }
    CURLcode cr = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL); /* ebuf goes out of scope */
    curl_slist_free_all(hl);
    if (cr != CURLE_OK) {
        free(r->body.p);
        r->body.p = NULL;
        return vrt_error_set(err, VRT_E_UNAVAILABLE, "The S3 endpoint %s://%s cannot be "
                             "reached: %s.", s->scheme, s->req_host,
                             ebuf[0] ? ebuf : curl_easy_strerror(cr));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
    return VRT_OK;
}

static void resp_free(resp *r)
{
    free(r->body.p);
    r->body.p = NULL;
}

/* Turns an error answer into err; the S3 error code names the cause. */
static int s3_fail(vrt_error *err, resp *r, const char *what, const char *key)
{
    char code[128] = "", msg[200] = "";
    const char *p = (const char *)r->body.p;
    if (p)
        (void)xml_take(code, sizeof(code), &p, "Code");
    p = (const char *)r->body.p;
    if (p)
        (void)xml_take(msg, sizeof(msg), &p, "Message");
    int rc;
    if (r->code == 401 || r->code == 403)
        rc = vrt_error_set(err, VRT_E_UNAUTHORIZED, "The S3 endpoint refused the "
                           "credentials in spec.storage.s3.credentialsSecretRef while "
                           "%s \"%s\" (HTTP %ld%s%s).", what, key, r->code,
                           code[0] ? ", " : "", code);
    else if (r->code == 404)
        rc = vrt_error_set(err, VRT_E_NOTFOUND, "S3: %s \"%s\" failed: %s (HTTP 404).",
                           what, key, code[0] ? code : "not found");
    else
        rc = vrt_error_set(err, r->code >= 500 ? VRT_E_UNAVAILABLE : VRT_E_INVALID,
                           "S3: %s \"%s\" failed with HTTP %ld%s%s%s%s.", what, key,
                           r->code, code[0] ? ": " : "", code, msg[0] ? " - " : "", msg);
    resp_free(r);
    return rc;
}

static void full_key(char *buf, size_t size, const s3_stage *s, const char *name)
{
    snprintf(buf, size, "%s%s%s", s->prefix, s->prefix[0] ? "/" : "", name);
}

/* --- objects ---------------------------------------------------------- */

static int s3_stat_key(uint64_t *size, s3_stage *s, const char *key, vrt_error *err)
{
    resp r;
    int rc = s3_call(&r, s, "HEAD", key, NULL, NULL, 0, NULL, NULL, err);
    if (rc != VRT_OK)
        return rc;
    if (r.code != 200)
        return s3_fail(err, &r, "reading", key);
    curl_off_t len = -1;
    curl_easy_getinfo(s->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
    resp_free(&r);
    if (len < 0) /* 0 would pass for an empty object and end a resume */
        return vrt_error_set(err, VRT_E_UNAVAILABLE, "The S3 endpoint did not say "
                             "the size of \"%s\" (no Content-Length).", key);
    *size = (uint64_t)len;
    return VRT_OK;
}

static int s3_stat(uint64_t *size, vrt_stage *st, const char *name, vrt_error *err)
{
    char key[1024];
    full_key(key, sizeof(key), (s3_stage *)st, name);
    return s3_stat_key(size, (s3_stage *)st, key, err);
}

static int s3_delete(s3_stage *s, const char *key, const char *query, vrt_error *err)
{
    resp r;
    int rc = s3_call(&r, s, "DELETE", key, query, NULL, 0, NULL, NULL, err);
    if (rc != VRT_OK)
        return rc;
    if (r.code >= 300 && r.code != 404)
        return s3_fail(err, &r, "deleting", key);
    resp_free(&r);
    return VRT_OK;
}

static int s3_put_small(s3_stage *s, const char *key, const char *text, vrt_error *err)
{
    resp r;
    int rc = s3_call(&r, s, "PUT", key, NULL, text, strlen(text), NULL, NULL, err);
    if (rc != VRT_OK)
        return rc;
    if (r.code >= 300)
        return s3_fail(err, &r, "writing", key);
    resp_free(&r);
    return VRT_OK;
}

/* --- writer ----------------------------------------------------------- */

static void manifest_key(char *buf, size_t size, const char *key)
{
    snprintf(buf, size, "%s.upload", key);
}

static int save_manifest(s3_writer *w, vrt_error *err)
{
    size_t cap = 300 + (size_t)w->nparts * 120, o = 0;
    char *t = malloc(cap);
    if (!t)
        abort();
    o += (size_t)snprintf(t + o, cap - o, "upload %s\n", w->upload_id);
    for (uint32_t i = 0; i < w->nparts; i++)
        o += (size_t)snprintf(t + o, cap - o, "part %u %llu %s\n", i + 1,
                              (unsigned long long)w->parts[i].size, w->parts[i].etag);
    char mk[1100];
    manifest_key(mk, sizeof(mk), w->key);
    int rc = s3_put_small((s3_stage *)w->base.s, mk, t, err);
    free(t);
    return rc;
}

static void add_part(s3_writer *w, uint32_t number, uint64_t size, const char *etag)
{
    if (number != w->nparts + 1 || w->nparts >= MAX_PARTS)
        return; /* only a gapless run from part 1 can be resumed */
    part *p = realloc(w->parts, (w->nparts + 1) * sizeof(part));
    if (!p)
        abort();
    w->parts = p;
    snprintf(p[w->nparts].etag, sizeof(p[w->nparts].etag), "%s", etag);
    p[w->nparts].size = size;
    w->nparts++;
}

/* Reads KEY.upload: 0 with upload_id and parts, NOTFOUND without one. */
static int load_manifest(s3_writer *w, vrt_error *err)
{
    s3_stage *s = (s3_stage *)w->base.s;
    char mk[1100];
    manifest_key(mk, sizeof(mk), w->key);
    resp r;
    int rc = s3_call(&r, s, "GET", mk, NULL, NULL, 0, NULL, NULL, err);
    if (rc != VRT_OK)
        return rc;
    if (r.code == 404) {
        resp_free(&r);
        return VRT_E_NOTFOUND;
    }
    if (r.code != 200)
        return s3_fail(err, &r, "reading", mk);
    char *save = NULL;
    for (char *ln = strtok_r((char *)r.body.p, "\n", &save); ln;
         ln = strtok_r(NULL, "\n", &save)) {
        unsigned num = 0;
        unsigned long long size = 0;
        char etag[80];
        if (strncmp(ln, "upload ", 7) == 0)
            snprintf(w->upload_id, sizeof(w->upload_id), "%s", ln + 7);
        else if (sscanf(ln, "part %u %llu %79s", &num, &size, etag) == 3)
            add_part(w, num, size, etag);
    }
    resp_free(&r);
    return w->upload_id[0] ? VRT_OK : VRT_E_NOTFOUND;
}

/* An ETag as sent in XML, unescaped: quoted, as &quot; or as &#34;. */
static void etag_unescape(char *out, size_t size, const char *in)
{
    size_t o = 0;
    for (const char *e = in; *e && o + 1 < size; e++) {
        if (strncmp(e, "&quot;", 6) == 0) {
            out[o++] = '"';
            e += 5;
        } else if (strncmp(e, "&#34;", 5) == 0) {
            out[o++] = '"';
            e += 4;
        } else {
            out[o++] = *e;
        }
    }
    out[o] = '\0';
}

/* The <Part> entries of one ListParts page into w (add_part keeps only
 * the gapless run from part 1); returns how many there were and the
 * highest part number in *last. */
static uint32_t take_parts(s3_writer *w, const char *p, unsigned long *last)
{
    uint32_t n = 0;
    char partxml[1024];
    while (p && xml_take(partxml, sizeof(partxml), &p, "Part") == 0) {
        n++;
        const char *q2 = partxml, *q3 = partxml, *q4 = partxml;
        char num[16] = "", size[32] = "", etag[80] = "", clean[80];
        if (xml_take(num, sizeof(num), &q2, "PartNumber") == 0 &&
            xml_take(size, sizeof(size), &q3, "Size") == 0 &&
            xml_take(etag, sizeof(etag), &q4, "ETag") == 0) {
            unsigned long number = strtoul(num, NULL, 10);
            if (number > *last)
                *last = number;
            etag_unescape(clean, sizeof(clean), etag);
            add_part(w, (uint32_t)number, strtoull(size, NULL, 10), clean);
        }
    }
    return n;
}

/* Keeps the run of parts that both the manifest and the server hold with
 * the same size and ETag: a part either side lacks or disagrees on is
 * sent again. */
static void keep_agreed(s3_writer *w, const part *manifest, uint32_t nmanifest)
{
    uint32_t k = 0;
    while (k < w->nparts && k < nmanifest &&
           w->parts[k].size == manifest[k].size &&
           strcmp(w->parts[k].etag, manifest[k].etag) == 0)
        k++;
    if (k < w->nparts && k < nmanifest)
        vrt_log_warn("S3 lists part %u of \"%s\" with another size or ETag "
                     "than the upload record; it is sent again",
                     k + 1, w->key);
    w->nparts = k;
}

/* ListParts: the upload goes on after the parts both the server and the
 * manifest (KEY.upload) hold.  S3 answers at most 1000 parts a page;
 * while <IsTruncated> is true the next page starts after
 * <NextPartNumberMarker>.  Pages that would not end (no marker, a marker
 * that does not advance, an empty page, more than MAX_PARTS parts) stop
 * the listing with a warning: the parts read so far are still the
 * server's, and whatever was not listed is sent again.  Returns
 * VRT_E_NOTSUPP when the server does not implement ListParts. */
static int list_parts(s3_writer *w, vrt_error *err)
{
    s3_stage *s = (s3_stage *)w->base.s;
    char id[300];
    vrt_uri_encode(id, sizeof(id), w->upload_id, 0);
    part *manifest = w->parts;
    uint32_t nmanifest = w->nparts;
    unsigned long marker = 0, last = 0;
    uint32_t listed = 0;
    const char *stop = NULL;
    char stopbuf[160];
    for (;;) {
        char q[400], from[48] = "";
        if (marker)
            snprintf(from, sizeof(from), "part-number-marker=%lu&", marker);
        /* in sorted order: s3_call signs the query as given */
        snprintf(q, sizeof(q), "max-parts=1000&%suploadId=%s", from, id);
        resp r;
        int rc = s3_call(&r, s, "GET", w->key, q, NULL, 0, NULL, NULL, err);
        if (rc == VRT_OK && !marker && (r.code == 405 || r.code == 501)) {
            resp_free(&r);
            rc = VRT_E_NOTSUPP;
        } else if (rc == VRT_OK && r.code != 200) {
            rc = s3_fail(err, &r, "listing the uploaded parts of", w->key);
        }
        if (rc != VRT_OK) {
            if (marker) /* w->parts holds the server's list: drop it */
                free(w->parts);
            w->parts = manifest;
            w->nparts = nmanifest;
            return rc;
        }
        if (!marker) { /* the server's list, in place of the manifest's */
            w->parts = NULL;
            w->nparts = 0;
        }
        char trunc[8] = "", next[24] = "", *end = NULL;
        const char *a = (const char *)r.body.p, *b = a;
        uint32_t got = take_parts(w, a, &last);
        listed += got;
        int more = xml_take(trunc, sizeof(trunc), &a, "IsTruncated") == 0 &&
                   strcmp(trunc, "true") == 0;
        int have_next = xml_take(next, sizeof(next), &b, "NextPartNumberMarker") == 0;
        unsigned long n = have_next ? strtoul(next, &end, 10) : 0;
        resp_free(&r);
        int usable = have_next && next[0] >= '0' && next[0] <= '9' && !*end;
        if (!more || (usable && n >= MAX_PARTS)) /* nothing can follow */
            break;
        if (!usable) {
            snprintf(stopbuf, sizeof(stopbuf), "a truncated page has %s "
                     "NextPartNumberMarker \"%.20s\"",
                     have_next ? "the unusable" : "no", next);
            stop = stopbuf;
        } else if (got == 0 || n <= marker || n < last) {
            snprintf(stopbuf, sizeof(stopbuf), "a truncated page of %u part(s) "
                     "after part %lu gives NextPartNumberMarker %lu", got,
                     marker, n);
            stop = stopbuf;
        } else if (listed > MAX_PARTS) {
            snprintf(stopbuf, sizeof(stopbuf), "it lists more than %u parts",
                     MAX_PARTS);
            stop = stopbuf;
        }
        if (stop)
            break;
        marker = n;
    }
    if (stop)
        vrt_log_warn("S3 ListParts of \"%s\" does not end (%s); the parts "
                     "not listed are sent again",
                     w->key, stop);
    keep_agreed(w, manifest, nmanifest);
    free(manifest);
    return VRT_OK;
}

static int start_upload(s3_writer *w, vrt_error *err)
{
    s3_stage *s = (s3_stage *)w->base.s;
    resp r;
    int rc = s3_call(&r, s, "POST", w->key, "uploads=", "", 0, NULL, NULL, err);
    if (rc != VRT_OK)
        return rc;
    if (r.code != 200)
        return s3_fail(err, &r, "starting the multipart upload of", w->key);
    const char *p = (const char *)r.body.p;
    if (!p || xml_take(w->upload_id, sizeof(w->upload_id), &p, "UploadId") != 0) {
        resp_free(&r);
        return vrt_error_set(err, VRT_E_INTERNAL, "S3 gave no UploadId for \"%s\".",
                             w->key);
    }
    resp_free(&r);
    w->nparts = 0;
    return save_manifest(w, err);
}

static void writer_free(s3_writer *w)
{
    free(w->buf);
    free(w->parts);
    free(w);
}

static int s3_remove(vrt_stage *st, const char *name, vrt_error *err);

static int s3_writer_open(vrt_stage_writer **out, uint64_t *offset, vrt_stage *st,
                          const char *name, uint32_t flags, vrt_error *err)
{
    s3_stage *s = (s3_stage *)st;
    s3_writer *w = calloc(1, sizeof(*w));
    if (!w)
        abort();
    w->base.s = st;
    full_key(w->key, sizeof(w->key), s, name);
    int rc = VRT_E_NOTFOUND;
    if (!(flags & VRT_STAGE_RESUME)) {
        /* Starting over: abort an upload left under this name, so that its
         * parts are not kept (and paid for) forever.  Best effort. */
        vrt_error ignored = VRT_ERROR_INIT;
        if (s3_remove(st, name, &ignored) != VRT_OK)
            vrt_log_debug("Nothing removed before a new upload key=\"%s\": %s",
                          w->key, ignored.message);
    }
    if (flags & VRT_STAGE_RESUME) {
        rc = load_manifest(w, err);
        if (rc == VRT_OK) {
            int lp = list_parts(w, err);
            if (lp == VRT_E_NOTFOUND) { /* the upload is gone: start anew */
                rc = VRT_E_NOTFOUND;
            } else if (lp != VRT_OK && lp != VRT_E_NOTSUPP) {
                writer_free(w);
                return lp;
            }
        }
        for (uint32_t i = 0; rc == VRT_OK && i < w->nparts; i++)
            if (w->parts[i].size != VRT_S3_PART_SIZE)
                w->nparts = i; /* a short part can only be the last */
        if (rc != VRT_OK && rc != VRT_E_NOTFOUND) {
            writer_free(w);
            return rc;
        }
    }
    if (rc == VRT_E_NOTFOUND) {
        w->nparts = 0;
        if ((rc = start_upload(w, err)) != VRT_OK) {
            writer_free(w);
            return rc;
        }
    } else {
        vrt_log_info("Resuming the S3 upload key=\"%s\" after part %u (%llu bytes)",
                     w->key, w->nparts,
                     (unsigned long long)w->nparts * VRT_S3_PART_SIZE);
    }
    w->buf = malloc(VRT_S3_PART_SIZE);
    if (!w->buf)
        abort();
    *offset = (uint64_t)w->nparts * VRT_S3_PART_SIZE;
    *out = &w->base;
    return VRT_OK;
}

static int upload_part(s3_writer *w, vrt_error *err)
{
    s3_stage *s = (s3_stage *)w->base.s;
    uint32_t num = w->nparts + 1;
    if (num > MAX_PARTS)
        return vrt_error_set(err, VRT_E_QUOTA, "S3: \"%s\" needs more than %u parts of "
                             "%u bytes.", w->key, MAX_PARTS, VRT_S3_PART_SIZE);
    char q[400], id[300];
    vrt_uri_encode(id, sizeof(id), w->upload_id, 0);
    snprintf(q, sizeof(q), "partNumber=%u&uploadId=%s", num, id);
    resp r;
    int rc = s3_call(&r, s, "PUT", w->key, q, w->buf, w->fill, NULL, NULL, err);
    if (rc != VRT_OK)
        return rc;
    if (r.code != 200)
        return s3_fail(err, &r, "uploading a part of", w->key);
    char etag[80];
    snprintf(etag, sizeof(etag), "%s", r.etag);
    resp_free(&r);
    add_part(w, num, w->fill, etag[0] ? etag : "\"\"");
    w->fill = 0;
    return save_manifest(w, err);
}

static int s3_write(vrt_stage_writer *ww, const void *buf, size_t len, vrt_error *err)
{
    s3_writer *w = (s3_writer *)ww;
    const uint8_t *p = buf;
    while (len > 0) {
        size_t n = VRT_S3_PART_SIZE - w->fill;
        n = n < len ? n : len;
        memcpy(w->buf + w->fill, p, n);
        w->fill += n;
        p += n;
        len -= n;
        if (w->fill == VRT_S3_PART_SIZE) {
            int rc = upload_part(w, err);
            if (rc != VRT_OK)
                return rc;
        }
    }
    return VRT_OK;
}

static int s3_finish(vrt_stage_writer *ww, vrt_error *err)
{
    s3_writer *w = (s3_writer *)ww;
    s3_stage *s = (s3_stage *)w->base.s;
    int rc = VRT_OK;
    if (w->fill > 0 || w->nparts == 0)
        rc = upload_part(w, err);
    char *xml = NULL;
    if (rc == VRT_OK) {
        size_t cap = 100 + (size_t)w->nparts * 140, o = 0;
        xml = malloc(cap);
        if (!xml)
            abort();
        o += (size_t)snprintf(xml + o, cap - o, "<CompleteMultipartUpload>");
        for (uint32_t i = 0; i < w->nparts; i++)
            o += (size_t)snprintf(xml + o, cap - o, "<Part><PartNumber>%u</PartNumber>"
                                  "<ETag>%s</ETag></Part>", i + 1, w->parts[i].etag);
        snprintf(xml + o, cap - o, "</CompleteMultipartUpload>");
        char q[400], id[300];
        vrt_uri_encode(id, sizeof(id), w->upload_id, 0);
        snprintf(q, sizeof(q), "uploadId=%s", id);
        resp r;
        rc = s3_call(&r, s, "POST", w->key, q, xml, strlen(xml), NULL, NULL, err);
        /* S3 may answer 200 with an <Error> body */
        if (rc == VRT_OK && (r.code != 200 ||
                             (r.body.p && strstr((char *)r.body.p, "<Error>")))) {
            if (r.code == 200)
                r.code = 500;
            rc = s3_fail(err, &r, "completing the upload of", w->key);
        } else if (rc == VRT_OK) {
            resp_free(&r);
        }
    }
    free(xml);
    if (rc == VRT_OK) {
        char mk[1100];
        manifest_key(mk, sizeof(mk), w->key);
        rc = s3_delete(s, mk, NULL, err);
    }
    writer_free(w);
    return rc;
}

static void s3_abandon(vrt_stage_writer *ww)
{
    writer_free((s3_writer *)ww); /* the upload and its record stay for a resume */
}

/* --- reader ----------------------------------------------------------- */

static int s3_reader_open(vrt_stage_reader **out, uint64_t *size, vrt_stage *st,
                          const char *name, uint64_t offset, vrt_error *err)
{
    s3_reader *r = calloc(1, sizeof(*r));
    if (!r)
        abort();
    r->base.s = st;
    full_key(r->key, sizeof(r->key), (s3_stage *)st, name);
    int rc = s3_stat_key(&r->size, (s3_stage *)st, r->key, err);
    if (rc != VRT_OK) {
        free(r);
        return rc;
    }
    r->buf = malloc(READ_CHUNK);
    if (!r->buf)
        abort();
    r->off = offset;
    *size = r->size;
    *out = &r->base;
    return VRT_OK;
}

static int s3_read(size_t *n, vrt_stage_reader *rr, void *buf, size_t len,
                   vrt_error *err)
{
    s3_reader *r = (s3_reader *)rr;
    if (r->pos == r->have) {
        if (r->off >= r->size)
            return VRT_OK;
        uint64_t want = r->size - r->off;
        want = want < READ_CHUNK ? want : READ_CHUNK;
        char range[80];
        snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)r->off,
                 (unsigned long long)(r->off + want - 1));
        sink into = {.p = r->buf, .cap = READ_CHUNK};
        resp rs;
        int rc = s3_call(&rs, (s3_stage *)r->base.s, "GET", r->key, NULL, NULL, 0, range,
                         &into, err);
        if (rc != VRT_OK)
            return rc;
        if (rs.code != 206 && !(rs.code == 200 && r->off == 0 && want == r->size))
            return s3_fail(err, &rs, "reading", r->key);
        resp_free(&rs);
        if (into.len != want)
            return vrt_error_set(err, VRT_E_UNAVAILABLE, "S3: reading \"%s\" at byte %llu "
                                 "gave %zu bytes instead of %llu.", r->key,
                                 (unsigned long long)r->off, into.len,
                                 (unsigned long long)want);
        r->have = into.len;
        r->pos = 0;
        r->off += into.len;
    }
    size_t k = r->have - r->pos;
    k = k < len ? k : len;
    memcpy(buf, r->buf + r->pos, k);
    r->pos += k;
    *n = k;
    return VRT_OK;
}

static void s3_reader_close(vrt_stage_reader *rr)
{
    s3_reader *r = (s3_reader *)rr;
    free(r->buf);
    free(r);
}

/* --- removal, URL, close ---------------------------------------------- */

static int s3_remove(vrt_stage *st, const char *name, vrt_error *err)
{
    s3_stage *s = (s3_stage *)st;
    s3_writer w = {.base.s = st};
    full_key(w.key, sizeof(w.key), s, name);
    int rc = load_manifest(&w, err);
    free(w.parts);
    if (rc == VRT_OK) {
        char q[400], id[300];
        vrt_uri_encode(id, sizeof(id), w.upload_id, 0);
        snprintf(q, sizeof(q), "uploadId=%s", id);
        resp r;
        /* AbortMultipartUpload; a server without it keeps the parts.  Not
         * reached: keep the manifest, the only record of the upload id. */
        if ((rc = s3_call(&r, s, "DELETE", w.key, q, NULL, 0, NULL, NULL, err)) != VRT_OK)
            return rc;
        if (r.code >= 300 && r.code != 404)
            vrt_log_debug("The S3 server did not abort the upload key=\"%s\" "
                          "(HTTP %ld)", w.key, r.code);
        resp_free(&r);
        char mk[1100];
        manifest_key(mk, sizeof(mk), w.key);
        if ((rc = s3_delete(s, mk, NULL, err)) != VRT_OK)
            return rc;
    } else if (rc != VRT_E_NOTFOUND) {
        return rc;
    }
    return s3_delete(s, w.key, NULL, err);
}

static void s3_url(char *buf, size_t size, const vrt_stage *st, const char *name)
{
    const s3_stage *s = (const s3_stage *)st;
    char key[1024];
    full_key(key, sizeof(key), s, name);
    snprintf(buf, size, "s3://%s/%s", s->bucket, key);
}

static void s3_close(vrt_stage *st)
{
    s3_stage *s = (s3_stage *)st;
    curl_easy_cleanup(s->curl);
    curl_slist_free_all(s->resolve);
    if (s->secret_key)
        OPENSSL_cleanse(s->secret_key, strlen(s->secret_key));
    if (s->token)
        OPENSSL_cleanse(s->token, strlen(s->token));
    free(s->access_key);
    free(s->secret_key);
    free(s->token);
    free(s);
}

static const vrt_stage_ops s3_ops = {
    .kind = "s3",
    .writer_open = s3_writer_open,
    .write = s3_write,
    .finish = s3_finish,
    .abandon = s3_abandon,
    .stat = s3_stat,
    .reader_open = s3_reader_open,
    .read = s3_read,
    .reader_close = s3_reader_close,
    .remove = s3_remove,
    .url = s3_url,
    .close = s3_close,
};

/* scheme://host[:port][/] with host a name, IPv4 or [IPv6]. */
static int parse_endpoint(s3_stage *s, const char *ep, vrt_error *err)
{
    const char *rest = NULL;
    if (strncmp(ep, "https://", 8) == 0) {
        snprintf(s->scheme, sizeof(s->scheme), "https");
        rest = ep + 8;
        s->port = 443;
    } else if (strncmp(ep, "http://", 7) == 0) {
        snprintf(s->scheme, sizeof(s->scheme), "http");
        rest = ep + 7;
        s->port = 80;
    } else {
        return vrt_error_set(err, VRT_E_INVALID, "spec.storage.s3.endpoint must start "
                             "with http:// or https://.");
    }
    size_t hl = strcspn(rest, "/?#@");
    if (rest[hl] == '@')
        return vrt_error_set(err, VRT_E_INVALID, "spec.storage.s3.endpoint must not "
                             "carry credentials; use credentialsSecretRef.");
    if (rest[hl] && strcmp(rest + hl, "/") != 0)
        return vrt_error_set(err, VRT_E_INVALID, "spec.storage.s3.endpoint must be "
                             "scheme://host[:port] without a path.");
    char hp[300];
    if (hl == 0 || hl >= sizeof(hp))
        return vrt_error_set(err, VRT_E_INVALID, "spec.storage.s3.endpoint names no "
                             "host.");
    memcpy(hp, rest, hl);
    hp[hl] = '\0';
    char *portp = NULL;
    if (hp[0] == '[') {
        char *close = strchr(hp, ']');
        if (!close)
            return vrt_error_set(err, VRT_E_INVALID, "spec.storage.s3.endpoint has an "
                                 "unclosed '['.");
        *close = '\0';
        snprintf(s->host, sizeof(s->host), "%s", hp + 1);
        portp = close[1] == ':' ? close + 2 : NULL;
    } else {
        portp = strchr(hp, ':');
        if (portp)
            *portp++ = '\0';
        snprintf(s->host, sizeof(s->host), "%s", hp);
    }
    if (portp) {
        char *end = NULL;
        unsigned long p = strtoul(portp, &end, 10);
        if (!*portp || *end || p == 0 || p > 65535)
            return vrt_error_set(err, VRT_E_INVALID, "spec.storage.s3.endpoint has a "
                                 "bad port \"%s\".", portp);
        s->port = (unsigned)p;
    }
    return VRT_OK;
}

static char *dup_or_null(const char *v)
{
    if (!v || !*v)
        return NULL;
    char *d = strdup(v);
    if (!d)
        abort();
    return d;
}

int vrt_stage_open_s3(vrt_stage **out, const vrt_s3_config *cfg, vrt_error *err)
{
    *out = NULL;
    if (!cfg->bucket || !*cfg->bucket || strchr(cfg->bucket, '/'))
        return vrt_error_set(err, VRT_E_INVALID, "spec.storage.s3.bucket must name a "
                             "bucket.");
    /* Cut, a prefix would lose its tail (the migration's own part of the
     * key) and two migrations could share objects. */
    if (strlen(cfg->bucket) >= 256 || (cfg->prefix && strlen(cfg->prefix) >= 512))
        return vrt_error_set(err, VRT_E_INVALID, "spec.storage.s3.%s is too long "
                             "(bucket: 255 bytes, prefix with the migration's "
                             "path: 511).",
                             strlen(cfg->bucket) >= 256 ? "bucket" : "prefix");
    if (!cfg->access_key || !*cfg->access_key || !cfg->secret_key || !*cfg->secret_key)
        return vrt_error_set(err, VRT_E_INVALID, "The Secret in spec.storage.s3."
                             "credentialsSecretRef needs the keys accessKeyID and "
                             "secretAccessKey.");
    s3_stage *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->base.ops = &s3_ops;
    snprintf(s->region, sizeof(s->region), "%s",
             cfg->region && *cfg->region ? cfg->region : "us-east-1");
    snprintf(s->bucket, sizeof(s->bucket), "%s", cfg->bucket);
    const char *pf = cfg->prefix ? cfg->prefix : "";
    while (*pf == '/')
        pf++;
    snprintf(s->prefix, sizeof(s->prefix), "%s", pf);
    size_t pl = strlen(s->prefix);
    while (pl > 0 && s->prefix[pl - 1] == '/')
        s->prefix[--pl] = '\0';
    s->path_style = cfg->path_style;
    s->access_key = dup_or_null(cfg->access_key);
    s->secret_key = dup_or_null(cfg->secret_key);
    s->token = dup_or_null(cfg->session_token);
    char ep[400];
    if (cfg->endpoint && *cfg->endpoint)
        snprintf(ep, sizeof(ep), "%s", cfg->endpoint);
    else
        snprintf(ep, sizeof(ep), "https://s3.%s.amazonaws.com", s->region);
    int rc = parse_endpoint(s, ep, err);
    char conn_host[600];
    if (rc == VRT_OK) {
        int v6 = strchr(s->host, ':') != NULL;
        struct in_addr v4;
        if (v6 || inet_pton(AF_INET, s->host, &v4) == 1)
            s->path_style = 1; /* no virtual host on an address */
        snprintf(conn_host, sizeof(conn_host), "%s%s%s", s->path_style ? "" : s->bucket,
                 s->path_style ? "" : ".", s->host);
        int dflt = (s->port == 443 && s->scheme[4] == 's') ||
                   (s->port == 80 && s->scheme[4] == '\0');
        char port[16] = "";
        if (!dflt)
            snprintf(port, sizeof(port), ":%u", s->port);
        snprintf(s->req_host, sizeof(s->req_host), "%s%s%s%s", v6 ? "[" : "", conn_host,
                 v6 ? "]" : "", port);
        vrt_hostpolicy pol = cfg->policy;
        if (!pol.field)
            pol.field = "spec.storage.s3.endpoint";
        rc = vrt_hostpolicy_check(s->addr, &pol, conn_host, (uint16_t)s->port, err);
    }
    if (rc == VRT_OK) {
        char pin[800];
        int a6 = strchr(s->addr, ':') != NULL;
        snprintf(pin, sizeof(pin), "%s:%u:%s%s%s", conn_host, s->port, a6 ? "[" : "",
                 s->addr, a6 ? "]" : "");
        s->resolve = curl_slist_append(NULL, pin);
        s->curl = curl_easy_init();
        if (!s->curl || !s->resolve)
            abort();
        /* A first request proves the bucket and the credentials. */
        resp r;
        rc = s3_call(&r, s, "HEAD", NULL, NULL, NULL, 0, NULL, NULL, err);
        if (rc == VRT_OK && r.code >= 300)
            rc = s3_fail(err, &r, "opening the bucket", s->bucket);
        else if (rc == VRT_OK)
            resp_free(&r);
    }
    if (rc != VRT_OK) {
        s3_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return VRT_OK;
}
