/*
 * cJSON to block YAML, in kubectl's layout ("- " items under their key),
 * for `vrtg get -o yaml`.  Strings are written plain when they would read
 * back as the same string under yaml.c's typing (so "yes", "On", "123" and
 * "" are quoted), as literal blocks when they span lines, and double-quoted
 * otherwise; what is written always reads back to the same tree.
 */
#include <vrt/yaml.h>

#include "yaml_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("virtrigaud: out of memory\n", stderr);
        abort();
    }
    return q;
}

typedef struct ybuf {
    char *s;
    size_t len, cap;
} ybuf;

static void yb_add(ybuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->s = xrealloc(b->s, cap);
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void yb_puts(ybuf *b, const char *s)
{
    yb_add(b, s, strlen(s));
}

static void yb_indent(ybuf *b, int n)
{
    static const char spaces[] = "                                ";
    while (n > 0) {
        int k = n < 32 ? n : 32;
        yb_add(b, spaces, (size_t)k);
        n -= k;
    }
}

/* Decodes one UTF-8 character; 0 when the bytes are not valid UTF-8. */
static size_t utf8_char(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t n;
    uint32_t c, min;
    if ((s[0] & 0xe0) == 0xc0)
        n = 2, c = s[0] & 0x1f, min = 0x80;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, c = s[0] & 0x0f, min = 0x800;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, c = s[0] & 0x07, min = 0x10000;
    else
        return 0;
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

/* YAML's printable set, minus the characters libyaml reads as line breaks
 * (NEL, LS, PS) and the byte-order mark. */
static int yaml_plain_printable(uint32_t c)
{
    if (c == 0x85 || c == 0x2028 || c == 0x2029 || c == 0xfeff)
        return 0;
    return c == '\t' || (c >= 0x20 && c <= 0x7e) ||
           (c >= 0xa0 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
           (c >= 0x10000 && c <= 0x10ffff);
}

/* Can s be written as a literal block (|)?  It must have a line break,
 * nothing that needs escaping, and its first line must not start with a
 * space or a tab (the reader takes the indentation from that line). */
static int literal_ok(const char *s)
{
    if (!strchr(s, '\n'))
        return 0;
    const char *first = s;
    while (*first == '\n')
        first++;
    if (*first == '\0' || *first == ' ' || *first == '\t')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        uint32_t c;
        size_t n = utf8_char(p, &c);
        if (n == 0 || (c != '\n' && !yaml_plain_printable(c)))
            return 0;
        p += n;
    }
    return 1;
}

/* Would s, written plain, read back as this same string? */
static int plain_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || strchr("-?:,[]{}#&*!|>'\"%@` \t", s[0]) ||
        s[n - 1] == ' ' || s[n - 1] == ':' || strcmp(s, "<<") == 0 ||
        strstr(s, ": ") || strstr(s, " #") || strncmp(s, "---", 3) == 0 ||
        strncmp(s, "...", 3) == 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        uint32_t c;
        size_t k = utf8_char(p, &c);
        if (k == 0 || c == '\t' || !yaml_plain_printable(c))
            return 0;
        p += k;
    }
    return vrt_yaml_plain_is_text(s);
}

static void emit_double_quoted(ybuf *b, const char *s)
{
    yb_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        uint32_t c;
        size_t n = utf8_char(p, &c);
        char esc[16];
        if (n == 0) { /* not UTF-8: the closest YAML can say */
            snprintf(esc, sizeof(esc), "\\x%02x", *p);
            yb_puts(b, esc);
            p++;
            continue;
        }
        switch (c) {
        case '"': yb_puts(b, "\\\""); break;
        case '\\': yb_puts(b, "\\\\"); break;
        case '\n': yb_puts(b, "\\n"); break;
        case '\t': yb_puts(b, "\\t"); break;
        case '\r': yb_puts(b, "\\r"); break;
        case 0x85: yb_puts(b, "\\N"); break;
        case 0x2028: yb_puts(b, "\\L"); break;
        case 0x2029: yb_puts(b, "\\P"); break;
        default:
            if (yaml_plain_printable(c)) {
                yb_add(b, (const char *)p, n);
            } else {
                snprintf(esc, sizeof(esc), c < 0x100 ? "\\x%02x" : "\\u%04x",
                         (unsigned)c);
                yb_puts(b, esc);
            }
            break;
        }
        p += n;
    }
    yb_add(b, "\"", 1);
}

/* A string value; literal blocks put their lines at `indent`. */
static void emit_string(ybuf *b, const char *s, int indent, int as_key)
{
    if (plain_ok(s)) {
        yb_puts(b, s);
    } else if (!as_key && literal_ok(s)) {
        size_t n = strlen(s), trailing = 0;
        while (trailing < n && s[n - 1 - trailing] == '\n')
            trailing++;
        yb_puts(b, trailing == 0 ? "|-" : trailing == 1 ? "|" : "|+");
        const char *line = s;
        const char *end = s + n - trailing;
        while (line < end) {
            const char *nl = memchr(line, '\n', (size_t)(end - line));
            size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
            yb_add(b, "\n", 1);
            if (len) {
                yb_indent(b, indent);
                yb_add(b, line, len);
            }
            line += len + 1;
        }
        for (size_t i = 1; i < trailing; i++)
            yb_add(b, "\n", 1);
    } else {
        emit_double_quoted(b, s);
    }
}

static void emit_number(ybuf *b, double d)
{
    char num[64];
    if (isnan(d)) {
        snprintf(num, sizeof(num), ".nan");
    } else if (isinf(d)) {
        snprintf(num, sizeof(num), "%s", d > 0 ? ".inf" : "-.inf");
    } else if (d == floor(d) && fabs(d) < 9.2e18) {
        snprintf(num, sizeof(num), "%lld", (long long)d);
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(num, sizeof(num), "%.*g", prec, d);
            if (strtod(num, NULL) == d)
                break;
        }
    }
    yb_puts(b, num);
}

/* A scalar or an empty collection, on the current line; ends the line. */
static void emit_inline(ybuf *b, const cJSON *v, int indent)
{
    if (cJSON_IsString(v))
        emit_string(b, v->valuestring, indent, 0);
    else if (cJSON_IsNumber(v))
        emit_number(b, v->valuedouble);
    else if (cJSON_IsBool(v))
        yb_puts(b, cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsArray(v))
        yb_puts(b, "[]");
    else if (cJSON_IsObject(v))
        yb_puts(b, "{}");
    else
        yb_puts(b, "null");
    yb_add(b, "\n", 1);
}

static int is_block(const cJSON *v)
{
    return (cJSON_IsObject(v) || cJSON_IsArray(v)) && v->child;
}

static void emit_seq(ybuf *b, const cJSON *arr, int indent, int inline_first);

/* A non-empty map at `indent`; the first key continues the current line
 * when inline_first (after "- "). */
static void emit_map(ybuf *b, const cJSON *obj, int indent, int inline_first)
{
    int first = 1;
    const cJSON *e;
    cJSON_ArrayForEach(e, obj) {
        if (!(first && inline_first))
            yb_indent(b, indent);
        first = 0;
        ybuf key = {0};
        emit_string(&key, e->string ? e->string : "", indent, 1);
        /* YAML allows implicit keys up to 1024 characters; past that the
         * key goes on its own line after "? ". */
        int explicit_key = key.len > 1000;
        if (explicit_key) {
            yb_add(b, "? ", 2);
            yb_add(b, key.s, key.len);
            yb_add(b, "\n", 1);
            yb_indent(b, indent);
        } else {
            yb_add(b, key.s, key.len);
        }
        free(key.s);
        yb_add(b, ":", 1);
        if (cJSON_IsObject(e) && e->child) {
            yb_add(b, "\n", 1);
            emit_map(b, e, indent + 2, 0);
        } else if (cJSON_IsArray(e) && e->child) {
            yb_add(b, "\n", 1); /* kubectl's style: "- " under the key */
            emit_seq(b, e, indent + (explicit_key ? 2 : 0), 0);
        } else {
            yb_add(b, " ", 1);
            emit_inline(b, e, indent + 2);
        }
    }
}

static void emit_seq(ybuf *b, const cJSON *arr, int indent, int inline_first)
{
    int first = 1;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        if (!(first && inline_first))
            yb_indent(b, indent);
        first = 0;
        yb_add(b, "- ", 2);
        if (cJSON_IsObject(e) && e->child)
            emit_map(b, e, indent + 2, 1);
        else if (cJSON_IsArray(e) && e->child)
            emit_seq(b, e, indent + 2, 1);
        else
            emit_inline(b, e, indent + 2);
    }
}

char *vrt_yaml_emit(const cJSON *obj)
{
    ybuf b = {0};
    if (cJSON_IsObject(obj) && is_block(obj))
        emit_map(&b, obj, 0, 0);
    else if (cJSON_IsArray(obj) && is_block(obj))
        emit_seq(&b, obj, 0, 0);
    else
        emit_inline(&b, obj, 2);
    return b.s;
}
