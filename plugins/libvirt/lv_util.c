/* lv_util.c - see lv_util.h. */
#include "lv_util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lv_err(vrt_error *err, int32_t code, const char *fmt, ...)
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

_Noreturn void lv_oom(void)
{
    fputs("virtrigaud libvirt provider: out of memory, aborting\n", stderr);
    abort();
}

void *lv_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p)
        lv_oom();
    return p;
}

void *lv_xrealloc(void *p, size_t n, size_t size)
{
    void *q;

    if (size && n > SIZE_MAX / size)
        lv_oom();
    q = realloc(p, (n && size) ? n * size : 1);
    if (!q)
        lv_oom();
    return q;
}

char *lv_xstrdup(const char *s)
{
    char *d;

    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        lv_oom();
    return d;
}

char *lv_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        lv_oom();
    return s;
}

size_t lv_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);

    if (size) {
        size_t c = n < size - 1 ? n : size - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

int lv_is_uuid(const char *s)
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

int lv_name_ok(const char *s, size_t max)
{
    size_t n;

    if (!s || !isalnum((unsigned char)s[0]))
        return 0;
    for (n = 0; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return 0;
    }
    return n <= max;
}

void lv_uri_redact(char *dst, size_t size, const char *uri)
{
    const char *auth, *at, *colon, *end;

    if (!uri) {
        lv_strlcpy(dst, "", size);
        return;
    }
    auth = strstr(uri, "://");
    if (!auth) {
        lv_strlcpy(dst, uri, size);
        return;
    }
    auth += 3;
    end = auth + strcspn(auth, "/?#");
    at = memchr(auth, '@', (size_t)(end - auth));
    colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon) {
        lv_strlcpy(dst, uri, size);
        return;
    }
    /* keep "scheme://user", drop ":password", keep "@host..." */
    snprintf(dst, size, "%.*s%s", (int)(colon - uri), uri, at);
}

void lv_scrub(char *msg)
{
    char *p = msg, *auth, *end, *at, *colon;

    while (p && (auth = strstr(p, "://"))) {
        auth += 3;
        end = auth + strcspn(auth, "/?# \t\n'\"");
        at = memchr(auth, '@', (size_t)(end - auth));
        colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon)
            memmove(colon, at, strlen(at) + 1);
        p = auth;
    }
}

int lv_flags_ok(uint32_t flags, const char *method, vrt_error *err)
{
    if (flags == 0)
        return VRT_OK;
    return lv_err(err, VRT_E_INVALID,
                  "The flags argument of %s must be 0; got 0x%x.", method,
                  (unsigned)flags);
}

int lv_out_ok(const void *out, const char *what, vrt_error *err)
{
    uint32_t size = 0;

    if (out)
        memcpy(&size, out, sizeof(size));
    if (size >= sizeof(uint32_t))
        return VRT_OK;
    return lv_err(err, VRT_E_INVALID,
                  "The %s record is missing or has no struct_size.", what);
}

void lv_out_put(void *out, const void *full, size_t full_size)
{
    uint32_t size;

    memcpy(&size, out, sizeof(size));
    memcpy(out, full, size < full_size ? size : full_size);
    memcpy(out, &size, sizeof(size));
}

void lv_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;

    while (p && n--)
        *v++ = 0;
}
