/*
 * Text helpers for schema messages: a growing string, Go-compatible
 * quoting and number printing (kube-apiserver's messages come from Go's
 * fmt, and kubectl users search for them verbatim), and the string
 * formats the API server checks.
 */
#include "schema_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vrt_sbuf_add(vrt_sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            fputs("virtrigaud: out of memory\n", stderr);
            abort();
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void vrt_sbuf_puts(vrt_sbuf *b, const char *s)
{
    vrt_sbuf_add(b, s, strlen(s));
}

void vrt_sbuf_printf(vrt_sbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        vrt_sbuf_add(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big)
        abort();
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    vrt_sbuf_add(b, big, (size_t)n);
    free(big);
}

/* Length of the valid UTF-8 sequence at s (1-4) and its code point, or 0
 * when the bytes are not valid UTF-8. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t n;
    uint32_t c, min;
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2, c = s[0] & 0x1f, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3, c = s[0] & 0x0f, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4, c = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

void vrt_schema_quote(vrt_sbuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    vrt_sbuf_add(b, "\"", 1);
    while (*p) {
        uint32_t cp = 0;
        size_t n = utf8_decode(p, &cp);
        const char *esc = NULL;
        switch (*p) {
        case '\a': esc = "\\a"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\v': esc = "\\v"; break;
        case '\\': esc = "\\\\"; break;
        case '"': esc = "\\\""; break;
        default: break;
        }
        if (esc) {
            vrt_sbuf_puts(b, esc);
            p++;
        } else if (n == 0 || cp < 0x20 || cp == 0x7f) {
            vrt_sbuf_printf(b, "\\x%02x", *p);
            p++;
        } else if (cp >= 0x80 && cp < 0xa0) {
            vrt_sbuf_printf(b, "\\u%04x", (unsigned)cp);
            p += n;
        } else {
            vrt_sbuf_add(b, (const char *)p, n);
            p += n;
        }
    }
    vrt_sbuf_add(b, "\"", 1);
}

void vrt_schema_gofloat(char *buf, size_t size, double d)
{
    if (isnan(d)) {
        snprintf(buf, size, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, size, "%s", d > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* Shortest digits that read back as the same double. */
    char tmp[64];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    /* tmp is "[-]D[.DDD]e[+-]XX": split sign, digits, exponent. */
    const char *p = tmp;
    int neg = *p == '-';
    if (neg)
        p++;
    char digits[32];
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (isdigit((unsigned char)*p) && nd < sizeof(digits) - 1)
            digits[nd++] = *p;
    int exp = *p == 'e' ? atoi(p + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';

    vrt_sbuf b = {0};
    if (neg)
        vrt_sbuf_add(&b, "-", 1);
    if (exp < -4 || exp >= 6) {
        vrt_sbuf_add(&b, digits, 1);
        if (nd > 1) {
            vrt_sbuf_add(&b, ".", 1);
            vrt_sbuf_add(&b, digits + 1, nd - 1);
        }
        vrt_sbuf_printf(&b, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
    } else if (exp >= 0) {
        size_t ip = (size_t)exp + 1;
        for (size_t i = 0; i < ip; i++)
            vrt_sbuf_add(&b, i < nd ? &digits[i] : "0", 1);
        if (nd > ip) {
            vrt_sbuf_add(&b, ".", 1);
            vrt_sbuf_add(&b, digits + ip, nd - ip);
        }
    } else {
        vrt_sbuf_add(&b, "0.", 2);
        for (int i = 0; i < -exp - 1; i++)
            vrt_sbuf_add(&b, "0", 1);
        vrt_sbuf_add(&b, digits, nd);
    }
    snprintf(buf, size, "%s", b.s);
    free(b.s);
}

int vrt_schema_is_integral(double d)
{
    return isfinite(d) && d == floor(d) && fabs(d) <= 9223372036854775807.0;
}

void vrt_schema_value(vrt_sbuf *b, const cJSON *v)
{
    if (!v || cJSON_IsNull(v)) {
        vrt_sbuf_puts(b, "\"null\"");
    } else if (cJSON_IsString(v)) {
        vrt_schema_quote(b, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        vrt_sbuf_puts(b, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsNumber(v)) {
        /* The API server decodes JSON integers as int64. */
        if (vrt_schema_is_integral(v->valuedouble) &&
            fabs(v->valuedouble) < 9223372036854775807.0) {
            vrt_sbuf_printf(b, "%lld", (long long)v->valuedouble);
        } else {
            char num[64];
            vrt_schema_gofloat(num, sizeof(num), v->valuedouble);
            vrt_sbuf_puts(b, num);
        }
    } else {
        /* Go prints a map with %#v here; compact JSON says the same thing
         * in a form our users can read. */
        char *json = cJSON_PrintUnformatted(v);
        vrt_sbuf_puts(b, json ? json : "");
        cJSON_free(json);
    }
}

/* --- formats -------------------------------------------------------------- */

static int ndigits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

static int num2(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* Go's time.Parse("2006-01-02", s): exactly YYYY-MM-DD, a real day. */
static int is_date(const char *s, size_t n)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (n != 10 || !ndigits(s, 4) || s[4] != '-' || !ndigits(s + 5, 2) ||
        s[7] != '-' || !ndigits(s + 8, 2))
        return 0;
    int year = atoi(s), month = num2(s + 5), day = num2(s + 8);
    if (month < 1 || month > 12 || day < 1)
        return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int max = mdays[month - 1] + (month == 2 && leap);
    return day <= max;
}

/* strfmt's date-time: a date, 't', then HH:MM:SS[.frac](z|+HH:MM),
 * case-insensitive. */
static int is_date_time(const char *s)
{
    size_t n = strlen(s);
    if (n < 4)
        return 0;
    const char *t = s;
    while (*t && *t != 'T' && *t != 't')
        t++;
    if (!*t || !is_date(s, (size_t)(t - s)))
        return 0;
    const char *p = t + 1;
    const char *end = p;
    while (*end && *end != 'T' && *end != 't')
        end++;
    size_t len = (size_t)(end - p);
    if (len < 9 || !ndigits(p, 2) || p[2] != ':' || !ndigits(p + 3, 2) ||
        p[5] != ':' || !ndigits(p + 6, 2))
        return 0;
    if (num2(p) > 23 || num2(p + 3) > 59 || num2(p + 6) > 59)
        return 0;
    const char *q = p + 8;
    if (q < end && *q != 'z' && *q != 'Z' && *q != '+' && *q != '-') {
        q++; /* any one character, then digits: the regex says "." */
        if (q >= end || !isdigit((unsigned char)*q))
            return 0;
        while (q < end && isdigit((unsigned char)*q))
            q++;
    }
    if (q < end && (*q == 'z' || *q == 'Z'))
        return q + 1 == end;
    if (q < end && (*q == '+' || *q == '-'))
        return end - q == 6 && ndigits(q + 1, 2) && q[3] == ':' &&
               ndigits(q + 4, 2);
    return 0;
}

/* Go's base64.StdEncoding.DecodeString (which skips CR and LF). */
static int is_base64(const char *s)
{
    size_t n = 0, pad = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '\r' || *p == '\n')
            continue;
        if (*p == '=') {
            pad++;
        } else if (pad || !(isalnum((unsigned char)*p) || *p == '+' ||
                             *p == '/')) {
            return 0;
        }
        n++;
    }
    return n % 4 == 0 && pad <= 2;
}

static int is_uuid(const char *s)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    const char *p = s;
    for (int g = 0; g < 5; g++) {
        for (int i = 0; i < groups[g]; i++, p++)
            if (!isxdigit((unsigned char)*p))
                return 0;
        if (g < 4 && *p == '-')
            p++;
    }
    return *p == '\0';
}

static int is_ip(const char *s, int family)
{
    unsigned char addr[16];
    int ok4 = inet_pton(AF_INET, s, addr) == 1;
    int ok6 = inet_pton(AF_INET6, s, addr) == 1;
    if (family == 4)
        return (ok4 || ok6) && strchr(s, '.') != NULL;
    if (family == 6)
        return (ok4 || ok6) && strchr(s, ':') != NULL;
    return ok4 || ok6;
}

static int is_cidr(const char *s)
{
    const char *slash = strchr(s, '/');
    if (!slash || slash - s >= 64 || !slash[1] || strlen(slash + 1) > 3 ||
        !ndigits(slash + 1, (int)strlen(slash + 1)))
        return 0;
    char ip[64];
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = '\0';
    unsigned char addr[16];
    int bits = atoi(slash + 1);
    if (inet_pton(AF_INET, ip, addr) == 1)
        return bits <= 32;
    if (inet_pton(AF_INET6, ip, addr) == 1)
        return bits <= 128;
    return 0;
}

/* Go's net.ParseMAC: 6, 8 or 20 octets as xx:xx.., xx-xx.. or xxxx.xxxx.. */
static int is_mac(const char *s)
{
    size_t n = strlen(s);
    if (n >= 14 && s[4] == '.') {
        if ((n + 1) % 5 != 0)
            return 0;
        size_t groups = (n + 1) / 5;
        if (groups != 3 && groups != 4 && groups != 10)
            return 0;
        for (size_t i = 0; i < n; i++) {
            int sep = i % 5 == 4;
            if (sep ? s[i] != '.' : !isxdigit((unsigned char)s[i]))
                return 0;
        }
        return 1;
    }
    if (n < 17 || (s[2] != ':' && s[2] != '-') || (n + 1) % 3 != 0)
        return 0;
    size_t octets = (n + 1) / 3;
    if (octets != 6 && octets != 8 && octets != 20)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int sep = i % 3 == 2;
        if (sep ? s[i] != s[2] : !isxdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

int vrt_schema_format_ok(const char *format, const char *s)
{
    if (!format || !s)
        return 1;
    if (strcmp(format, "date-time") == 0 || strcmp(format, "datetime") == 0)
        return is_date_time(s);
    if (strcmp(format, "date") == 0)
        return is_date(s, strlen(s));
    if (strcmp(format, "byte") == 0)
        return is_base64(s);
    if (strcmp(format, "uuid") == 0)
        return is_uuid(s);
    if (strcmp(format, "ipv4") == 0)
        return is_ip(s, 4);
    if (strcmp(format, "ipv6") == 0)
        return is_ip(s, 6);
    if (strcmp(format, "cidr") == 0)
        return is_cidr(s);
    if (strcmp(format, "mac") == 0)
        return is_mac(s);
    return 1; /* int32, int64, hostname, ...: not checked, as the header says */
}
