/* vs_util.c - errors, memory, strings, ids and fingerprints (see vs.h).
 * Nothing here talks to the network, so unit tests can include it. */
#include "vs.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vs_err(vrt_error *err, int32_t code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    err->klass = VRT_CLASS_DEFAULT;
    err->retry_after_ms = 0;
    err->flags = 0;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}

_Noreturn void vs_oom(void)
{
    fputs("virtrigaud vsphere provider: out of memory, aborting\n", stderr);
    abort();
}

void *vs_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p)
        vs_oom();
    return p;
}

char *vs_xstrdup(const char *s)
{
    char *d;

    if (!s)
        return NULL;
    if (!(d = strdup(s)))
        vs_oom();
    return d;
}

size_t vs_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);

    if (size) {
        size_t c = n < size - 1 ? n : size - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

int vs_is_uuid(const char *s)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    size_t g, i;

    if (!s)
        return 0;
    for (g = 0; g < 5; g++) {
        for (i = 0; i < (size_t)groups[g]; i++, s++)
            if (!isxdigit((unsigned char)*s))
                return 0;
        if (g < 4 && *s++ != '-')
            return 0;
    }
    return *s == '\0';
}

void vs_uuid_new(char out[37])
{
    unsigned char b[16];

    if (RAND_bytes(b, sizeof(b)) != 1) {
        fputs("virtrigaud vsphere provider: no random bytes, aborting\n",
              stderr);
        abort();
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x"
             "%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
             b[10], b[11], b[12], b[13], b[14], b[15]);
}

int vs_flags_ok(uint32_t flags, const char *method, vrt_error *err)
{
    if (flags == 0)
        return VRT_OK;
    return vs_err(err, VRT_E_INVALID,
                  "The flags argument of %s must be 0; got 0x%x.", method,
                  (unsigned)flags);
}

int vs_out_ok(const void *out, const char *what, vrt_error *err)
{
    uint32_t size = 0;

    if (out)
        memcpy(&size, out, sizeof(size));
    if (size >= sizeof(uint32_t))
        return VRT_OK;
    return vs_err(err, VRT_E_INVALID,
                  "The %s record is missing or has no struct_size.", what);
}

void vs_out_put(void *out, const void *full, size_t full_size)
{
    uint32_t size;

    memcpy(&size, out, sizeof(size));
    memcpy(out, full, size < full_size ? size : full_size);
    memcpy(out, &size, sizeof(size));
}

void vs_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;

    while (p && n--)
        *v++ = 0;
}

void vs_url_redact(char *dst, size_t size, const char *url)
{
    const char *auth, *at, *end;

    if (!url) {
        vs_strlcpy(dst, "", size);
        return;
    }
    auth = strstr(url, "://");
    if (!auth) {
        vs_strlcpy(dst, url, size);
        return;
    }
    auth += 3;
    end = auth + strcspn(auth, "/?#");
    at = memchr(auth, '@', (size_t)(end - auth));
    if (!at) {
        vs_strlcpy(dst, url, size);
        return;
    }
    snprintf(dst, size, "%.*s%s", (int)(auth - url), url, at + 1);
}

/* ---- growing strings --------------------------------------------------- */

static void buf_grow(vs_buf *b, size_t more)
{
    size_t want = b->len + more + 1;

    if (want <= b->cap)
        return;
    b->cap = b->cap ? b->cap : 256;
    while (b->cap < want)
        b->cap *= 2;
    b->s = realloc(b->s, b->cap);
    if (!b->s)
        vs_oom();
}

void vs_buf_add(vs_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        vs_oom();
    buf_grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void vs_buf_esc(vs_buf *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        switch (ch) {
        case '&': vs_buf_add(b, "&amp;"); break;
        case '<': vs_buf_add(b, "&lt;"); break;
        case '>': vs_buf_add(b, "&gt;"); break;
        case '"': vs_buf_add(b, "&quot;"); break;
        case '\'': vs_buf_add(b, "&apos;"); break;
        default:
            /* XML 1.0 has no way to carry these */
            if (ch >= 0x20 || ch == '\t' || ch == '\n' || ch == '\r') {
                buf_grow(b, 1);
                b->s[b->len++] = (char)ch;
                b->s[b->len] = '\0';
            }
        }
    }
    if (!b->s)
        vs_buf_add(b, "%s", "");
}

void vs_buf_elem(vs_buf *b, const char *tag, const char *text)
{
    vs_buf_add(b, "<%s>", tag);
    vs_buf_esc(b, text);
    vs_buf_add(b, "</%s>", tag);
}

void vs_buf_free(vs_buf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

/* ---- spec fingerprint ---------------------------------------------------- */

static int cmp_items(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

    return strcmp(x->string, y->string);
}

/* Reorders every object's members by key, recursively. */
static void sort_keys(cJSON *node)
{
    cJSON *c, **items;
    size_t n = 0, i;

    for (c = node->child; c; c = c->next)
        if (cJSON_IsObject(c) || cJSON_IsArray(c))
            sort_keys(c);
    if (!cJSON_IsObject(node) || !node->child)
        return;
    for (c = node->child; c; c = c->next)
        n++;
    items = vs_xcalloc(n, sizeof(*items));
    for (c = node->child, i = 0; c; c = c->next)
        items[i++] = c;
    qsort(items, n, sizeof(*items), cmp_items);
    for (i = 0; i < n; i++) {
        items[i]->prev = i ? items[i - 1] : items[n - 1];
        items[i]->next = i + 1 < n ? items[i + 1] : NULL;
    }
    node->child = items[0];
    free(items);
}

int vs_spec_hash(char out[65], const char *json, vrt_error *err)
{
    cJSON *root = cJSON_Parse(json ? json : "{}");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;
    char *text;
    int ok;

    out[0] = '\0';
    if (!root)
        return vs_err(err, VRT_E_INVALID, "The spec_json is not valid JSON.");
    sort_keys(root);
    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return vs_err(err, VRT_E_INTERNAL,
                      "Could not render the spec_json in canonical form.");
    ok = EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
    cJSON_free(text);
    if (!ok)
        return vs_err(err, VRT_E_INTERNAL,
                      "Could not compute the spec fingerprint.");
    for (i = 0; i < mdlen && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return VRT_OK;
}
