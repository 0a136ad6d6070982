/*
 * YAML to cJSON (libyaml's event parser) and cJSON to block YAML.
 *
 * Scalar typing follows kubectl, not the YAML 1.2 core schema: kubectl
 * turns manifests into JSON with sigs.k8s.io/yaml, which resolves plain
 * scalars with go-yaml v2's YAML 1.1 rules.  So, unquoted:
 *   true/True/TRUE, yes/Yes/YES, y/Y, on/On/ON      -> true
 *   false/False/FALSE, no/No/NO, n/N, off/Off/OFF   -> false
 *   null/Null/NULL, ~, empty                        -> null
 *   12, -3, +4, 0x1F, 0o17, 017, 0b101, 1_000       -> integers
 *   1.5, .5, 1e3, 1.5E-3                            -> numbers
 * and everything else (including timestamps) stays a string.  A manifest
 * with `powerState: On` therefore sends `true`, exactly as kubectl would;
 * quote it.  .inf and .nan have no JSON form and are errors; so is an
 * integer that no double holds exactly (JSON numbers are doubles here).
 * Explicit tags (!!str, !!int, !!float, !!bool, !!null) override the
 * rules; other tags leave the text a string.
 *
 * Anchors, aliases and merge keys (<<) are resolved.  Untrusted input is
 * bounded: nesting is limited to 256 levels, alias expansion to a budget
 * of copied nodes ("billion laughs"), and duplicate keys are an error.
 * Output (vrt_yaml_emit) is in yaml_emit.c.
 */
#include <vrt/yaml.h>

#include "yaml_internal.h"

#include <yaml.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define YAML_MAX_DEPTH 256
#define ALIAS_BUDGET_MIN 10000u
#define ALIAS_BUDGET_PER_BYTE 32u
#define ALIAS_BUDGET_MAX 1000000u
#define YAML_FILE_MAX (64u << 20)

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("virtrigaud: out of memory\n", stderr);
        abort();
    }
    return q;
}

/* --- scalar resolution ----------------------------------------------------- */

typedef enum { R_STR, R_NULL, R_BOOL, R_INT, R_FLOAT, R_ERR } rkind;

typedef struct rval {
    rkind kind;
    int boolean;
    double num;
    const char *why; /* R_ERR */
} rval;

static const char *const true_words[] = {"y", "Y", "yes", "Yes", "YES",
                                         "true", "True", "TRUE", "on", "On",
                                         "ON"};
static const char *const false_words[] = {"n", "N", "no", "No", "NO",
                                          "false", "False", "FALSE", "off",
                                          "Off", "OFF"};
static const char *const null_words[] = {"~", "null", "Null", "NULL"};
static const char *const special_floats[] = {
    ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf",
    "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"};

static int in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}
#define IN(s, list) in_list((s), (list), sizeof(list) / sizeof((list)[0]))

static int digit_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* Go's strconv.ParseInt(s, 0, 64) syntax: sign, 0x/0o/0b/0 prefix, digits.
 * Returns 0 with the magnitude, -1 when not an integer, -2 when it does not
 * fit 64 bits (*decimal tells whether it was base 10). */
static int parse_go_int(const char *s, uint64_t *mag, int *neg, int *decimal)
{
    *neg = 0;
    *decimal = 0;
    if (*s == '+' || *s == '-')
        *neg = *s++ == '-';
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
        base = 8, s += 2;
    else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
        base = 2, s += 2;
    else if (s[0] == '0' && s[1])
        base = 8, s += 1;
    if (!*s)
        return -1;
    *decimal = base == 10;
    uint64_t v = 0;
    int overflow = 0;
    for (; *s; s++) {
        int d = digit_val(*s);
        if (d >= base)
            return -1;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            overflow = 1;
        else
            v = v * (uint64_t)base + (uint64_t)d;
    }
    *mag = v;
    return overflow ? -2 : 0;
}

/* go-yaml's yamlStyleFloat: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int yaml_style_float(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    } else {
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
        if (*s == '.') {
            s++;
            while (*s >= '0' && *s <= '9')
                s++;
        }
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

/* An integer becomes a JSON number only when a double holds it exactly. */
static void resolve_int(rval *r, const char *plain)
{
    uint64_t mag = 0;
    int neg = 0, decimal = 0;
    int rc = parse_go_int(plain, &mag, &neg, &decimal);
    if (rc == -2) {
        /* Past 64 bits: a decimal may still be an exact double (1e22). */
        const char *d = plain + (*plain == '+' || *plain == '-');
        while (*d == '0' && d[1])
            d++;
        double v = decimal ? strtod(d, NULL) : INFINITY;
        char back[400];
        if (decimal && isfinite(v) && strlen(d) < 350) {
            snprintf(back, sizeof(back), "%.0f", v);
            if (strcmp(back, d) == 0) {
                r->kind = R_INT;
                r->num = neg ? -v : v;
                return;
            }
        }
        r->kind = R_ERR;
        r->why = "is an integer that a JSON number cannot hold exactly";
        return;
    }
    double v = (double)mag;
    int exact = v < 18446744073709551616.0 && (uint64_t)v == mag;
    if (neg && mag > (uint64_t)INT64_MAX + 1) {
        r->kind = R_ERR;
        r->why = "is an integer below the 64-bit range";
        return;
    }
    if (!exact) {
        r->kind = R_ERR;
        r->why = "is an integer that a JSON number cannot hold exactly";
        return;
    }
    r->kind = R_INT;
    r->num = neg ? -v : v;
}

/* Resolves an untagged plain scalar as go-yaml v2 does. */
static rval resolve_plain(const char *s)
{
    rval r = {R_STR, 0, 0, NULL};
    if (!*s || IN(s, null_words)) {
        r.kind = R_NULL;
        return r;
    }
    if (IN(s, true_words) || IN(s, false_words)) {
        r.kind = R_BOOL;
        r.boolean = IN(s, true_words);
        return r;
    }
    if (IN(s, special_floats)) {
        r.kind = R_ERR;
        r.why = "has no JSON representation (infinity or NaN)";
        return r;
    }
    char c = s[0];
    if (c == '.') {
        /* ParseFloat on the text as is: ".5", ".5e3". */
        if (yaml_style_float(s)) {
            double v = strtod(s, NULL);
            if (isfinite(v)) {
                r.kind = R_FLOAT;
                r.num = v;
            }
        }
        return r;
    }
    if (!((c >= '0' && c <= '9') || c == '+' || c == '-'))
        return r;
    size_t n = strlen(s);
    char small[128];
    char *plain = n < sizeof(small) ? small : xrealloc(NULL, n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_')
            plain[j++] = s[i];
    plain[j] = '\0';
    uint64_t mag;
    int neg, decimal;
    if (parse_go_int(plain, &mag, &neg, &decimal) != -1) {
        resolve_int(&r, plain); /* an integer, possibly past 64 bits */
    } else if (yaml_style_float(plain)) {
        double v = strtod(plain, NULL);
        if (isfinite(v)) { /* Go's ParseFloat fails on overflow: a string */
            r.kind = R_FLOAT;
            r.num = v;
        }
    }
    if (plain != small)
        free(plain);
    return r;
}

/* --- parser state ------------------------------------------------------------ */

typedef struct anchor {
    char *name;
    cJSON *node;   /* in the document tree, or owned (a key's scalar) */
    int owned;
    int done;      /* finished: an alias to it may be copied */
    size_t nodes;  /* nodes a copy creates */
    int height;    /* levels below the node */
} anchor;

typedef struct yp {
    yaml_parser_t parser;
    anchor *anchors;
    size_t nanchors, capanchors;
    size_t alias_nodes, alias_budget;
    cJSON *keep; /* nodes outside the tree that anchors may point into */
    const char *text; /* the input, for reader errors' line numbers */
    size_t len;
    char *err;
    size_t errsize;
    int failed;
} yp;

static void yerr(yp *p, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void yerr(yp *p, const yaml_mark_t *m, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = 1;
    if (!p->err || p->errsize == 0)
        return;
    int n = snprintf(p->err, p->errsize, "line %zu column %zu: ",
                     m ? m->line + 1 : 1, m ? m->column + 1 : 1);
    if (n < 0 || (size_t)n >= p->errsize)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errsize - (size_t)n, fmt, ap);
    va_end(ap);
}

static int next_event(yp *p, yaml_event_t *ev)
{
    if (yaml_parser_parse(&p->parser, ev))
        return 0;
    const char *problem = p->parser.problem ? p->parser.problem
                                            : "the text is not valid YAML";
    yaml_mark_t m = p->parser.problem_mark;
    if (p->parser.error == YAML_READER_ERROR) {
        /* Reader errors carry a byte offset, not a mark: count lines. */
        size_t off = p->parser.problem_offset;
        m.line = 0;
        m.column = 0;
        for (size_t i = 0; i < off && i < p->len; i++) {
            if (p->text[i] == '\n')
                m.line++, m.column = 0;
            else if (((unsigned char)p->text[i] & 0xc0) != 0x80)
                m.column++;
        }
        yerr(p, &m, "%s (byte offset %zu)", problem, off);
    } else if (p->parser.context) {
        yerr(p, &m, "%s %s", p->parser.context, problem);
    } else {
        yerr(p, &m, "%s", problem);
    }
    return -1;
}

static void anchors_clear(yp *p)
{
    for (size_t i = 0; i < p->nanchors; i++) {
        free(p->anchors[i].name);
        if (p->anchors[i].owned)
            cJSON_Delete(p->anchors[i].node);
    }
    p->nanchors = 0;
}

static anchor *anchor_add(yp *p, const char *name, cJSON *node, int owned)
{
    if (p->nanchors == p->capanchors) {
        p->capanchors = p->capanchors ? p->capanchors * 2 : 16;
        p->anchors = xrealloc(p->anchors, p->capanchors * sizeof(anchor));
    }
    anchor *a = &p->anchors[p->nanchors++];
    a->name = strdup(name);
    if (!a->name)
        abort();
    a->node = node;
    a->owned = owned;
    a->done = 0;
    a->nodes = 1;
    a->height = 0;
    return a;
}

static anchor *anchor_find(yp *p, const char *name)
{
    for (size_t i = p->nanchors; i > 0; i--) /* the latest definition wins */
        if (strcmp(p->anchors[i - 1].name, name) == 0)
            return &p->anchors[i - 1];
    return NULL;
}

/* --- key sets (duplicate detection without quadratic scans) ------------------ */

typedef struct keyset {
    const char **slot;
    size_t cap, count;
} keyset;

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Adds key (a pointer the caller keeps valid); returns its slot, or NULL
 * if the key was already there. */
static const char **keyset_add(keyset *k, const char *key)
{
    if ((k->count + 1) * 2 > k->cap) {
        keyset bigger = {NULL, k->cap ? k->cap * 2 : 16, 0};
        bigger.slot = calloc(bigger.cap, sizeof(char *));
        if (!bigger.slot)
            abort();
        for (size_t i = 0; i < k->cap; i++)
            if (k->slot[i])
                keyset_add(&bigger, k->slot[i]);
        free(k->slot);
        *k = bigger;
    }
    size_t i = hash_key(key) & (k->cap - 1);
    while (k->slot[i]) {
        if (strcmp(k->slot[i], key) == 0)
            return NULL;
        i = (i + 1) & (k->cap - 1);
    }
    k->slot[i] = key;
    k->count++;
    return &k->slot[i];
}

/* --- nodes ------------------------------------------------------------------- */

static cJSON *parse_node(yp *p, yaml_event_t *ev, int depth, size_t *nodes,
                         int *height);

static int tag_is(const char *tag, const char *name)
{
    static const char prefix[] = "tag:yaml.org,2002:";
    return tag && strncmp(tag, prefix, sizeof(prefix) - 1) == 0 &&
           strcmp(tag + sizeof(prefix) - 1, name) == 0;
}

/* The value of a scalar event, as a cJSON node (NULL on error). */
static cJSON *scalar_value(yp *p, const yaml_event_t *ev)
{
    const char *text = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    /* A double-quoted "\0" (or "\x00", "\u0000") puts a NUL inside the
     * value: the C string, and any JSON made of it, would end there. */
    if (strlen(text) != ev->data.scalar.length) {
        yerr(p, &ev->start_mark,
             "a NUL character (an escaped \\0) inside \"%.64s\": a string "
             "or key cannot hold one",
             text);
        return NULL;
    }
    rval r = {R_STR, 0, 0, NULL};
    if (!tag) {
        if (plain)
            r = resolve_plain(text);
    } else if (tag_is(tag, "null") || tag_is(tag, "bool") ||
               tag_is(tag, "int") || tag_is(tag, "float")) {
        r = resolve_plain(text);
        const char *want = tag + strlen("tag:yaml.org,2002:");
        int ok = (r.kind == R_NULL && strcmp(want, "null") == 0) ||
                 (r.kind == R_BOOL && strcmp(want, "bool") == 0) ||
                 (r.kind == R_INT && strcmp(want, "int") == 0) ||
                 ((r.kind == R_INT || r.kind == R_FLOAT) &&
                  strcmp(want, "float") == 0);
        if (!ok && r.kind != R_ERR) {
            yerr(p, &ev->start_mark, "cannot read \"%.64s\" as !!%s", text,
                 want);
            return NULL;
        }
    } /* !!str, !!binary, !!timestamp and custom tags: the text itself */
    switch (r.kind) {
    case R_NULL:
        return cJSON_CreateNull();
    case R_BOOL:
        return cJSON_CreateBool(r.boolean);
    case R_INT:
    case R_FLOAT:
        return cJSON_CreateNumber(r.num);
    case R_ERR:
        yerr(p, &ev->start_mark, "\"%.64s\" %s; quote it to keep it as text",
             text, r.why);
        return NULL;
    case R_STR:
    default:
        return cJSON_CreateString(text);
    }
}

static cJSON *parse_alias(yp *p, const yaml_event_t *ev, int depth,
                          size_t *nodes, int *height)
{
    const char *name = (const char *)ev->data.alias.anchor;
    anchor *a = anchor_find(p, name);
    if (!a) {
        yerr(p, &ev->start_mark, "alias \"*%s\" refers to no anchor", name);
        return NULL;
    }
    if (!a->done) {
        yerr(p, &ev->start_mark, "anchor \"&%s\" contains an alias to itself",
             name);
        return NULL;
    }
    if (depth + a->height > YAML_MAX_DEPTH) {
        yerr(p, &ev->start_mark, "alias \"*%s\" nests the document deeper "
                                 "than %d levels", name, YAML_MAX_DEPTH);
        return NULL;
    }
    p->alias_nodes += a->nodes;
    if (p->alias_nodes > p->alias_budget) {
        yerr(p, &ev->start_mark, "the document expands aliases into more than "
                                 "%zu nodes; refusing it", p->alias_budget);
        return NULL;
    }
    cJSON *copy = cJSON_Duplicate(a->node, 1);
    if (!copy)
        abort();
    if (!(copy->type & cJSON_StringIsConst)) /* the anchor's key, if any */
        cJSON_free(copy->string);
    copy->string = NULL;
    copy->type &= ~cJSON_StringIsConst;
    *nodes = a->nodes;
    *height = a->height;
    return copy;
}

static cJSON *parse_seq(yp *p, yaml_event_t *start, int depth, size_t *nodes,
                        int *height)
{
    cJSON *arr = cJSON_CreateArray();
    size_t ai = SIZE_MAX;
    if (start->data.sequence_start.anchor)
        ai = (size_t)(anchor_add(p, (const char *)
                                        start->data.sequence_start.anchor,
                                 arr, 0) -
                      p->anchors);
    *nodes = 1;
    *height = 0;
    for (;;) {
        yaml_event_t ev;
        if (next_event(p, &ev) != 0)
            goto fail;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        size_t n = 0;
        int h = 0;
        cJSON *item = parse_node(p, &ev, depth + 1, &n, &h);
        if (!item)
            goto fail;
        cJSON_AddItemToArray(arr, item);
        *nodes += n;
        if (h + 1 > *height)
            *height = h + 1;
    }
    if (ai != SIZE_MAX) {
        anchor *a = &p->anchors[ai]; /* the table may have moved */
        a->done = 1;
        a->nodes = *nodes;
        a->height = *height;
    }
    return arr;
fail:
    cJSON_Delete(arr);
    return NULL;
}

/* A mapping key as text: sigs.k8s.io/yaml turns non-string keys into their
 * JSON spelling ("true", "12"). */
static char *key_text(yp *p, const cJSON *k, const yaml_mark_t *m)
{
    char buf[64];
    if (cJSON_IsString(k))
        return strdup(k->valuestring);
    if (cJSON_IsBool(k))
        return strdup(cJSON_IsTrue(k) ? "true" : "false");
    if (cJSON_IsNumber(k)) {
        double d = k->valuedouble;
        if (d == floor(d) && fabs(d) < 1e19) {
            snprintf(buf, sizeof(buf), "%.0f", d);
        } else {
            for (int prec = 1; prec <= 17; prec++) {
                snprintf(buf, sizeof(buf), "%.*g", prec, d);
                if (strtod(buf, NULL) == d)
                    break;
            }
        }
        return strdup(buf);
    }
    yerr(p, m, "a mapping key must be a string, number or boolean");
    return NULL;
}

/* Reads one key: a scalar or an alias to one.  Sets *merge for a plain
 * "<<".  Returns the key text (malloc'd) or NULL on error. */
static char *parse_key(yp *p, yaml_event_t *ev, int *merge)
{
    *merge = 0;
    cJSON *k = NULL;
    char *text = NULL;
    if (ev->type == YAML_SCALAR_EVENT) {
        if (!ev->data.scalar.tag &&
            ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
            strcmp((const char *)ev->data.scalar.value, "<<") == 0) {
            *merge = 1;
            return strdup("<<");
        }
        k = scalar_value(p, ev);
        if (k && ev->data.scalar.anchor) {
            anchor *a = anchor_add(p, (const char *)ev->data.scalar.anchor,
                                   cJSON_Duplicate(k, 1), 1);
            a->done = 1;
        }
    } else if (ev->type == YAML_ALIAS_EVENT) {
        size_t n;
        int h;
        k = parse_alias(p, ev, 0, &n, &h);
    } else {
        yerr(p, &ev->start_mark, "a mapping key must be a string, number or "
                                 "boolean, not a list or a map");
    }
    if (k)
        text = key_text(p, k, &ev->start_mark);
    cJSON_Delete(k);
    return text;
}

/* Applies one merge source: keys the mapping does not set itself come
 * from it (sources are applied in order, so the earlier wins). */
static int apply_merge(yp *p, cJSON *obj, keyset *keys, const cJSON *src,
                       const yaml_mark_t *m)
{
    const cJSON *list = cJSON_IsArray(src) ? src : NULL;
    const cJSON *one = list ? src->child : src;
    for (; one; one = list ? one->next : NULL) {
        if (!cJSON_IsObject(one)) {
            yerr(p, m, "a merge key (<<) needs a map or a list of maps");
            return -1;
        }
        const cJSON *e;
        cJSON_ArrayForEach(e, one) {
            const char **slot = keyset_add(keys, e->string);
            if (!slot)
                continue;
            cJSON *copy = cJSON_Duplicate(e, 1);
            if (!copy)
                abort();
            cJSON_AddItemToObject(obj, e->string, copy);
            *slot = copy->string; /* the object's own copy of the key */
        }
        if (!list)
            break;
    }
    return 0;
}

static cJSON *parse_map(yp *p, yaml_event_t *start, int depth, size_t *nodes,
                        int *height)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *merges = NULL; /* merge values, kept until the document ends */
    yaml_mark_t merge_mark = start->start_mark;
    keyset keys = {0};
    size_t ai = SIZE_MAX;
    if (start->data.mapping_start.anchor)
        ai = (size_t)(anchor_add(p, (const char *)
                                        start->data.mapping_start.anchor,
                                 obj, 0) -
                      p->anchors);
    *nodes = 1;
    *height = 0;
    for (;;) {
        yaml_event_t ev;
        if (next_event(p, &ev) != 0)
            goto fail;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        int merge = 0;
        yaml_mark_t km = ev.start_mark;
        char *key = parse_key(p, &ev, &merge);
        yaml_event_delete(&ev);
        if (!key)
            goto fail;
        yaml_event_t vev;
        if (next_event(p, &vev) != 0) {
            free(key);
            goto fail;
        }
        size_t n = 0;
        int h = 0;
        cJSON *val = parse_node(p, &vev, depth + 1, &n, &h);
        if (!val) {
            free(key);
            goto fail;
        }
        if (merge) {
            free(key);
            if (!merges)
                merges = cJSON_CreateArray();
            cJSON_AddItemToArray(merges, val);
            merge_mark = km;
            /* Merged members are copies: they count against the alias
             * budget, and bound this node's size and height from above. */
            p->alias_nodes += n;
            if (p->alias_nodes > p->alias_budget) {
                yerr(p, &km, "the document expands aliases into more than "
                             "%zu nodes; refusing it", p->alias_budget);
                goto fail;
            }
        } else {
            cJSON_AddItemToObject(obj, key, val);
            free(key);
            if (!keyset_add(&keys, val->string)) {
                yerr(p, &km, "mapping key \"%.64s\" is defined twice",
                     val->string);
                goto fail;
            }
        }
        *nodes += n;
        if (h + 1 > *height)
            *height = h + 1;
    }
    if (merges) {
        const cJSON *src;
        cJSON_ArrayForEach(src, merges) {
            if (apply_merge(p, obj, &keys, src, &merge_mark) != 0)
                goto fail;
        }
        /* An anchor inside a merge value may still be aliased later. */
        cJSON_AddItemToArray(p->keep, merges);
        merges = NULL;
    }
    if (ai != SIZE_MAX) {
        anchor *a = &p->anchors[ai]; /* the table may have moved */
        a->done = 1;
        a->nodes = *nodes;
        a->height = *height;
    }
    free(keys.slot);
    return obj;
fail:
    free(keys.slot);
    cJSON_Delete(merges);
    cJSON_Delete(obj);
    return NULL;
}

/* Takes ownership of *ev. */
static cJSON *parse_node(yp *p, yaml_event_t *ev, int depth, size_t *nodes,
                         int *height)
{
    cJSON *out = NULL;
    *nodes = 1;
    *height = 0;
    if (depth > YAML_MAX_DEPTH) {
        yerr(p, &ev->start_mark, "the document nests deeper than %d levels",
             YAML_MAX_DEPTH);
        yaml_event_delete(ev);
        return NULL;
    }
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        out = parse_alias(p, ev, depth, nodes, height);
        break;
    case YAML_SCALAR_EVENT:
        out = scalar_value(p, ev);
        if (out && ev->data.scalar.anchor)
            anchor_add(p, (const char *)ev->data.scalar.anchor, out, 0)->done = 1;
        break;
    case YAML_SEQUENCE_START_EVENT:
        out = parse_seq(p, ev, depth, nodes, height);
        break;
    case YAML_MAPPING_START_EVENT:
        out = parse_map(p, ev, depth, nodes, height);
        break;
    default:
        yerr(p, &ev->start_mark, "unexpected YAML event");
        break;
    }
    yaml_event_delete(ev);
    return out;
}

/* --- documents --------------------------------------------------------------- */

static void set_err(char *errbuf, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *errbuf, size_t errsize, const char *fmt, ...)
{
    if (!errbuf || errsize == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errsize, fmt, ap);
    va_end(ap);
}

/* Parses every document of the stream, appending non-empty roots to out. */
static int parse_documents(yp *p, cJSON *out)
{
    yaml_event_t ev;
    if (next_event(p, &ev) != 0)
        return -1;
    if (ev.type != YAML_STREAM_START_EVENT) {
        yerr(p, &ev.start_mark, "the text does not start a YAML stream");
        yaml_event_delete(&ev);
        return -1;
    }
    yaml_event_delete(&ev);
    for (;;) {
        if (next_event(p, &ev) != 0)
            return -1;
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        if (ev.type != YAML_DOCUMENT_START_EVENT) {
            yerr(p, &ev.start_mark, "expected the start of a document");
            yaml_event_delete(&ev);
            return -1;
        }
        yaml_event_delete(&ev);
        yaml_event_t root_ev;
        if (next_event(p, &root_ev) != 0)
            return -1;
        size_t nodes;
        int height;
        cJSON *root = parse_node(p, &root_ev, 1, &nodes, &height);
        anchors_clear(p); /* anchors do not cross documents */
        cJSON_Delete(p->keep);
        p->keep = cJSON_CreateArray();
        if (!root)
            return -1;
        if (next_event(p, &ev) != 0) {
            cJSON_Delete(root);
            return -1;
        }
        int ended = ev.type == YAML_DOCUMENT_END_EVENT;
        yaml_event_delete(&ev);
        if (!ended) {
            cJSON_Delete(root);
            yerr(p, NULL, "expected the end of a document");
            return -1;
        }
        /* kubectl skips empty documents ("---" alone, or null). */
        if (cJSON_IsNull(root))
            cJSON_Delete(root);
        else
            cJSON_AddItemToArray(out, root);
    }
}

cJSON *vrt_yaml_parse_all(const char *text, size_t len, char *errbuf,
                          size_t errsize)
{
    if (errbuf && errsize)
        errbuf[0] = '\0';
    if (!text && len) {
        set_err(errbuf, errsize, "line 1 column 1: no text to parse");
        return NULL;
    }
    yp p;
    memset(&p, 0, sizeof(p));
    p.err = errbuf;
    p.errsize = errsize;
    p.text = text ? text : "";
    p.len = text ? len : 0;
    size_t budget = ALIAS_BUDGET_MIN;
    if (len < ALIAS_BUDGET_MAX / ALIAS_BUDGET_PER_BYTE &&
        len * ALIAS_BUDGET_PER_BYTE > budget)
        budget = len * ALIAS_BUDGET_PER_BYTE;
    else if (len >= ALIAS_BUDGET_MAX / ALIAS_BUDGET_PER_BYTE)
        budget = ALIAS_BUDGET_MAX;
    p.alias_budget = budget;
    p.keep = cJSON_CreateArray();
    if (!yaml_parser_initialize(&p.parser))
        abort();
    yaml_parser_set_input_string(&p.parser, (const unsigned char *)(text ? text : ""),
                                 len);
    cJSON *out = cJSON_CreateArray();
    int rc = parse_documents(&p, out);
    anchors_clear(&p);
    free(p.anchors);
    cJSON_Delete(p.keep);
    yaml_parser_delete(&p.parser);
    if (rc != 0) {
        if (!p.failed)
            set_err(errbuf, errsize, "line 1 column 1: the text is not valid "
                                     "YAML");
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

cJSON *vrt_yaml_parse_file(const char *path, char *errbuf, size_t errsize)
{
    if (errbuf && errsize)
        errbuf[0] = '\0';
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        set_err(errbuf, errsize, "cannot open \"%s\": %s", path ? path : "",
                strerror(path ? errno : EINVAL));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    cJSON *out = NULL;
    for (;;) {
        if (len == cap) {
            if (cap >= YAML_FILE_MAX) {
                set_err(errbuf, errsize, "\"%s\" is larger than %u MiB; not "
                                         "reading it", path,
                        YAML_FILE_MAX >> 20);
                goto cleanup;
            }
            cap = cap ? cap * 2 : 65536;
            buf = xrealloc(buf, cap);
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        set_err(errbuf, errsize, "cannot read \"%s\": %s", path,
                strerror(errno));
        goto cleanup;
    }
    out = vrt_yaml_parse_all(buf, len, errbuf, errsize);
    if (!out && errbuf && errsize) {
        /* Say which file: "config.yaml: line 3 column 1: ..." */
        char *why = strdup(errbuf);
        if (why) {
            set_err(errbuf, errsize, "%s: %s", path, why);
            free(why);
        }
    }
cleanup:
    free(buf);
    fclose(f);
    return out;
}

int vrt_yaml_plain_is_text(const char *s)
{
    return resolve_plain(s).kind == R_STR;
}
