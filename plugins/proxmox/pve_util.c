/*
 * pve_util.c - small helpers of the Proxmox VE plugin: error records, log
 * lines through the host, form bodies, URL encoding, call checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve.h"

int32_t pve_err(vrt_error *err, int32_t code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    memset(err, 0, sizeof(*err));
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}

void pve_log(vrt_conn *conn, int32_t level, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    vrt_host_ctx *ctx = conn ? conn->ctx : NULL;

    if (!pve_host || !pve_host->log)
        return;
    if (pve_host->log_enabled && !pve_host->log_enabled(ctx, level))
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    pve_host->log(ctx, level, buf);
}

char *pve_strdup(const char *s)
{
    char *d;
    size_t n;

    if (!s)
        return NULL;
    n = strlen(s) + 1;
    d = malloc(n);
    if (!d)
        abort();
    memcpy(d, s, n);
    return d;
}

/* Percent-encodes everything but RFC 3986 unreserved characters, so that
 * a space is %20 and a plus is %2B (never "+"). */
char *pve_urlencode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1);
    char *p = out;

    if (!out)
        abort();
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~') {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = 0;
    return out;
}

static void form_append(pve_form *f, const char *s)
{
    size_t n = strlen(s);

    if (f->len + n + 1 > f->cap) {
        size_t cap = f->cap ? f->cap : 256;
        while (cap < f->len + n + 1)
            cap *= 2;
        f->s = realloc(f->s, cap);
        if (!f->s)
            abort();
        f->cap = cap;
    }
    memcpy(f->s + f->len, s, n + 1);
    f->len += n;
}

void pve_form_add(pve_form *f, const char *key, const char *value)
{
    char *k = pve_urlencode(key);
    char *v = pve_urlencode(value);

    if (f->len)
        form_append(f, "&");
    form_append(f, k);
    form_append(f, "=");
    form_append(f, v);
    free(k);
    free(v);
}

void pve_form_join(pve_form *f, const pve_form *more)
{
    if (!more->len)
        return;
    if (f->len)
        form_append(f, "&");
    form_append(f, more->s);
}

void pve_form_addf(pve_form *f, const char *key, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    pve_form_add(f, key, buf);
}

void pve_form_free(pve_form *f)
{
    if (!f)
        return;
    if (f->s)
        memset(f->s, 0, f->cap); /* may hold a cipassword */
    free(f->s);
    f->s = NULL;
    f->len = f->cap = 0;
}

int32_t pve_check_call(const vrt_call *call, uint32_t flags, const char *what,
                       vrt_error *err)
{
    if (flags)
        return pve_err(err, VRT_E_INVALID, "%s: flags must be 0.", what);
    if (call && call->flags)
        return pve_err(err, VRT_E_INVALID, "%s: call->flags must be 0.",
                       what);
    return VRT_OK;
}

int pve_expired(const vrt_call *call)
{
    if (!call)
        return 0;
    if (call->ctx && pve_host->cancelled && pve_host->cancelled(call->ctx))
        return 1;
    return call->deadline_ms &&
           pve_host->clock_monotonic_ms() >= call->deadline_ms;
}

void pve_sleep_ms(uint32_t ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int pve_random_hex(char *out, size_t nhex)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[32];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t i;

    if (fd < 0 || nhex / 2 > sizeof(b) ||
        read(fd, b, nhex / 2) != (ssize_t)(nhex / 2)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    for (i = 0; i < nhex / 2; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[nhex] = 0;
    return 0;
}

uint64_t pve_json_u64(const cJSON *v, double unit)
{
    double d = cJSON_IsNumber(v) ? v->valuedouble / unit : 0;

    return d >= 0 && d < 0x1p64 ? (uint64_t)d : 0;
}
