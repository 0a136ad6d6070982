/*
 * The JSONPath subset of printer columns (additionalPrinterColumns) and
 * kubectl: ".a.b", ".a[0]", ".a[-1]", ".a[*].b", ".a.*", ".a['k.with.dots']",
 * ".a.k\.with\.dots", "{.a.b}", "$.a", and simple filters
 * ".a[?(@.type=="Ready")].status" (== and != against a quoted string or a
 * number).  Several results are joined with ",".
 */
#include <vrt/jsonpath.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEGS 32
#define NAME_MAX_LEN 512 /* label keys reach 317 characters */

typedef enum { SEG_KEY, SEG_INDEX, SEG_ALL, SEG_FILTER } seg_kind;

typedef struct seg {
    seg_kind kind;
    char key[NAME_MAX_LEN]; /* SEG_KEY; for SEG_FILTER the @-relative path */
    long index;
    int neq;                /* SEG_FILTER: != rather than == */
    char value[NAME_MAX_LEN];
    int value_is_num;
    double num;
} seg;

typedef struct jpath {
    seg segs[MAX_SEGS];
    size_t n;
} jpath;

/* Reads a name up to '.', '[' or the end; "\." escapes.  Returns the
 * character after it, or NULL when empty or too long. */
static const char *read_name(const char *p, char *out, const char *stops)
{
    size_t n = 0;
    while (*p && !strchr(stops, *p)) {
        if (*p == '\\' && p[1])
            p++;
        if (n + 1 >= NAME_MAX_LEN)
            return NULL;
        out[n++] = *p++;
    }
    out[n] = '\0';
    return n ? p : NULL;
}

/* A quoted string at p ('x' or "x"), backslash escapes the next char. */
static const char *read_quoted(const char *p, char *out)
{
    char q = *p++;
    size_t n = 0;
    while (*p && *p != q) {
        if (*p == '\\' && p[1])
            p++;
        if (n + 1 >= NAME_MAX_LEN)
            return NULL;
        out[n++] = *p++;
    }
    if (*p != q)
        return NULL;
    out[n] = '\0';
    return p + 1;
}

/* [?(@.a.b=="x")] with p after "[?(". */
static const char *read_filter(const char *p, seg *s)
{
    if (*p++ != '@' || *p != '.')
        return NULL;
    p++;
    p = read_name(p, s->key, "=! )");
    if (!p)
        return NULL;
    while (*p == ' ')
        p++;
    if (strncmp(p, "==", 2) == 0)
        s->neq = 0;
    else if (strncmp(p, "!=", 2) == 0)
        s->neq = 1;
    else
        return NULL;
    p += 2;
    while (*p == ' ')
        p++;
    if (*p == '"' || *p == '\'') {
        p = read_quoted(p, s->value);
        if (!p)
            return NULL;
    } else {
        char *end = NULL;
        s->num = strtod(p, &end);
        if (end == p)
            return NULL;
        s->value_is_num = 1;
        p = end;
    }
    while (*p == ' ')
        p++;
    if (p[0] != ')' || p[1] != ']')
        return NULL;
    s->kind = SEG_FILTER;
    return p + 2;
}

static int parse_path(jpath *jp, const char *path)
{
    char buf[1024];
    size_t len = strlen(path);
    while (len && isspace((unsigned char)path[len - 1]))
        len--;
    while (len && isspace((unsigned char)*path))
        path++, len--;
    if (len && path[0] == '{') {
        if (path[len - 1] != '}')
            return -1;
        path++;
        len -= 2;
    }
    if (len >= sizeof(buf))
        return -1;
    memcpy(buf, path, len);
    buf[len] = '\0';
    const char *p = buf;
    if (*p == '$')
        p++;
    jp->n = 0;
    if (strcmp(p, ".") == 0 || *p == '\0')
        return 0;
    int first = 1;
    while (*p) {
        if (jp->n == MAX_SEGS)
            return -1;
        seg *s = &jp->segs[jp->n];
        memset(s, 0, sizeof(*s));
        if (*p == '.') {
            p++;
            if (*p == '.')
                return -1; /* recursive descent: not in the subset */
            if (*p == '[')
                continue;
            if (*p == '*') {
                s->kind = SEG_ALL;
                p++;
            } else {
                s->kind = SEG_KEY;
                p = read_name(p, s->key, ".[");
                if (!p)
                    return -1;
            }
        } else if (*p == '[') {
            p++;
            if (*p == '*' && p[1] == ']') {
                s->kind = SEG_ALL;
                p += 2;
            } else if (*p == '\'' || *p == '"') {
                s->kind = SEG_KEY;
                p = read_quoted(p, s->key);
                if (!p || *p != ']')
                    return -1;
                p++;
            } else if (p[0] == '?' && p[1] == '(') {
                p = read_filter(p + 2, s);
                if (!p)
                    return -1;
            } else {
                char *end = NULL;
                s->index = strtol(p, &end, 10);
                if (end == p || *end != ']')
                    return -1;
                s->kind = SEG_INDEX;
                p = end + 1;
            }
        } else if (first) { /* "metadata.name" without the leading dot */
            s->kind = SEG_KEY;
            p = read_name(p, s->key, ".[");
            if (!p)
                return -1;
        } else {
            return -1;
        }
        first = 0;
        jp->n++;
    }
    return 0;
}

/* Follows a dotted @-relative path for a filter. */
static const cJSON *dotted(const cJSON *obj, const char *path)
{
    char part[NAME_MAX_LEN];
    const char *p = path;
    while (obj && *p) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof(part))
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        obj = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, part)
                                  : NULL;
        p += n;
        if (*p == '.')
            p++;
    }
    return obj;
}

static int filter_match(const seg *s, const cJSON *item)
{
    const cJSON *v = dotted(item, s->key);
    int eq;
    if (s->value_is_num)
        eq = cJSON_IsNumber(v) && v->valuedouble == s->num;
    else
        eq = cJSON_IsString(v) && strcmp(v->valuestring, s->value) == 0;
    return s->neq ? (v && !eq) : eq;
}

typedef void (*visit_fn)(const cJSON *node, void *ud);

static void eval(const jpath *jp, size_t i, const cJSON *node, visit_fn fn,
                 void *ud)
{
    if (!node)
        return;
    if (i == jp->n) {
        fn(node, ud);
        return;
    }
    const seg *s = &jp->segs[i];
    const cJSON *c;
    switch (s->kind) {
    case SEG_KEY:
        if (cJSON_IsObject(node))
            eval(jp, i + 1, cJSON_GetObjectItemCaseSensitive(node, s->key), fn,
                 ud);
        break;
    case SEG_INDEX:
        if (cJSON_IsArray(node)) {
            long n = cJSON_GetArraySize(node);
            long idx = s->index < 0 ? n + s->index : s->index;
            if (idx >= 0 && idx < n)
                eval(jp, i + 1, cJSON_GetArrayItem(node, (int)idx), fn, ud);
        }
        break;
    case SEG_ALL:
        if (cJSON_IsArray(node) || cJSON_IsObject(node))
            cJSON_ArrayForEach(c, node) eval(jp, i + 1, c, fn, ud);
        break;
    case SEG_FILTER:
        if (cJSON_IsArray(node))
            cJSON_ArrayForEach(c, node) {
                if (filter_match(s, c))
                    eval(jp, i + 1, c, fn, ud);
            }
        break;
    }
}

/* --- text ------------------------------------------------------------------- */

typedef struct text_out {
    char *buf;
    size_t size, len;
    int count;
} text_out;

static void put(text_out *t, const char *s)
{
    size_t n = strlen(s);
    if (t->size == 0)
        return;
    size_t room = t->size - 1 - t->len;
    if (n > room)
        n = room;
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void number_text(char *buf, size_t size, double d)
{
    if (d == floor(d) && fabs(d) < 9.2e18) {
        snprintf(buf, size, "%lld", (long long)d);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

static void add_text(const cJSON *node, void *ud)
{
    text_out *t = ud;
    if (cJSON_IsNull(node))
        return;
    if (t->count++)
        put(t, ",");
    if (cJSON_IsString(node)) {
        put(t, node->valuestring);
    } else if (cJSON_IsNumber(node)) {
        char num[64];
        number_text(num, sizeof(num), node->valuedouble);
        put(t, num);
    } else if (cJSON_IsBool(node)) {
        put(t, cJSON_IsTrue(node) ? "true" : "false");
    } else {
        char *json = cJSON_PrintUnformatted(node);
        put(t, json ? json : "");
        cJSON_free(json);
    }
}

int vrt_jsonpath_text(char *buf, size_t size, const cJSON *obj,
                      const char *path)
{
    if (buf && size)
        buf[0] = '\0';
    jpath *jp = malloc(sizeof(*jp));
    if (!jp)
        abort();
    int rc = path ? parse_path(jp, path) : -1;
    if (rc == 0) {
        text_out t = {buf, buf ? size : 0, 0, 0};
        eval(jp, 0, obj, add_text, &t);
    }
    free(jp);
    return rc;
}

typedef struct single {
    const cJSON *node;
    int count;
} single;

static void take_single(const cJSON *node, void *ud)
{
    single *s = ud;
    if (s->count++ == 0)
        s->node = node;
}

const cJSON *vrt_jsonpath_node(const cJSON *obj, const char *path)
{
    jpath *jp = malloc(sizeof(*jp));
    if (!jp)
        abort();
    single s = {NULL, 0};
    if (path && parse_path(jp, path) == 0) {
        int many = 0;
        for (size_t i = 0; i < jp->n; i++)
            if (jp->segs[i].kind == SEG_ALL || jp->segs[i].kind == SEG_FILTER)
                many = 1;
        if (!many)
            eval(jp, 0, obj, take_single, &s);
    }
    free(jp);
    return s.node;
}
