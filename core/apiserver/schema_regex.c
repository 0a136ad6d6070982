/*
 * `pattern` for schemas: CRDs write Go (RE2) / ECMA regular expressions;
 * we translate the common subset to POSIX extended syntax and compile it
 * with regcomp, caching compiled patterns process-wide.
 *
 * Known differences, accepted: matching is by byte, not by rune (a
 * multi-byte character counts as several for `.` and `{n,m}`); `.` also
 * matches a newline.  Constructs ERE lacks (look-around, \b, back
 * references, \p{..}) make a pattern "cannot compile": values are then
 * accepted and the pattern is logged once, rather than rejecting every
 * object of the kind.
 */
#include "schema_internal.h"

#include <vrt/log.h>

#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

VRT_LOG_SOURCE("core.schema");

#define CACHE_BUCKETS 256
#define CACHE_MAX 4096 /* past this, compile per use: a bound, not a tuning */

typedef struct pat_entry {
    struct pat_entry *next;
    char *pattern;
    int ok; /* 0: cannot compile */
    regex_t re;
} pat_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pat_entry *cache[CACHE_BUCKETS];
static size_t cache_count;
static size_t compile_count; /* atomic */

typedef struct out_buf {
    char *s;
    size_t len, size;
    int overflow;
} out_buf;

static void out_c(out_buf *o, char c)
{
    if (o->len + 1 >= o->size) {
        o->overflow = 1;
        return;
    }
    o->s[o->len++] = c;
    o->s[o->len] = '\0';
}

static void out_s(out_buf *o, const char *s)
{
    while (*s)
        out_c(o, *s++);
}

/* A literal character outside brackets. */
static void out_lit(out_buf *o, char c)
{
    if (strchr(".[]{}()*+?^$|\\", c))
        out_c(o, '\\');
    out_c(o, c);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The character a simple escape stands for, or -1. */
static int simple_escape(const char **pp)
{
    const char *p = *pp; /* at the char after '\' */
    switch (*p) {
    case 'n': *pp = p + 1; return '\n';
    case 't': *pp = p + 1; return '\t';
    case 'r': *pp = p + 1; return '\r';
    case 'f': *pp = p + 1; return '\f';
    case 'v': *pp = p + 1; return '\v';
    case 'x':
        if (hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
            *pp = p + 3;
            int v = hexval(p[1]) * 16 + hexval(p[2]);
            return v == 0 ? -1 : v;
        }
        return -1;
    default:
        break;
    }
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
        (*p >= '0' && *p <= '9') || *p == '\0')
        return -1; /* a class or an assertion we do not know */
    *pp = p + 1;
    return (unsigned char)*p; /* escaped punctuation: itself */
}

/* A bracket expression, p at the char after '['.  Items are gathered and
 * re-emitted in the order POSIX needs: ']' first, '-' last. */
static int translate_class(out_buf *o, const char **pp)
{
    const char *p = *pp;
    int neg = 0, has_rbracket = 0, has_dash = 0, has_caret = 0;
    char body[512];
    size_t bl = 0;
#define BODY(c)                                                                \
    do {                                                                       \
        if (bl + 1 >= sizeof(body))                                            \
            return -1;                                                         \
        body[bl++] = (c);                                                      \
    } while (0)
    if (*p == '^') {
        neg = 1;
        p++;
    }
    int first = 1;
    while (*p && (*p != ']' || first)) {
        first = 0;
        int c;
        if (*p == '[' && p[1] == ':') { /* [:alpha:] passes through */
            const char *end = strstr(p + 2, ":]");
            if (!end)
                return -1;
            for (const char *q = p; q < end + 2; q++)
                BODY(*q);
            p = end + 2;
            continue;
        }
        if (*p == '\\') {
            p++;
            const char *cls = NULL;
            switch (*p) {
            case 'd': cls = "0-9"; break;
            case 'w': cls = "A-Za-z0-9_"; break;
            case 's': cls = "[:space:]"; break;
            default: break;
            }
            if (cls) {
                for (; *cls; cls++)
                    BODY(*cls);
                p++;
                continue;
            }
            c = simple_escape(&p);
            if (c < 0)
                return -1;
        } else {
            c = (unsigned char)*p++;
        }
        /* A range c-d? */
        if (*p == '-' && p[1] && p[1] != ']') {
            const char *q = p + 1;
            int d;
            if (*q == '\\') {
                q++;
                d = simple_escape(&q);
                if (d < 0)
                    return -1;
            } else {
                d = (unsigned char)*q++;
            }
            if (c == ']' || d == ']' || c == '[' || d > 255 || c > d)
                return -1;
            BODY((char)c);
            BODY('-');
            BODY((char)d);
            p = q;
            continue;
        }
        if (c == ']')
            has_rbracket = 1;
        else if (c == '-')
            has_dash = 1;
        else if (c == '^')
            has_caret = 1;
        else
            BODY((char)c);
    }
#undef BODY
    if (*p != ']')
        return -1;
    *pp = p + 1;
    body[bl] = '\0';
    if (!neg && !has_rbracket && !has_dash && bl == 0 && has_caret) {
        out_s(o, "\\^");
        return 0;
    }
    out_c(o, '[');
    if (neg)
        out_c(o, '^');
    if (has_rbracket)
        out_c(o, ']');
    out_s(o, body);
    if (has_caret)
        out_c(o, '^'); /* never first here: body or ']' precede, or neg */
    if (has_dash)
        out_c(o, '-');
    out_c(o, ']');
    return 0;
}

/* Is p (at '{') a repetition {n}, {n,}, {n,m}?  *bound gets its largest
 * count. */
static int is_repetition(const char *p, long *bound)
{
    p++;
    if (*p < '0' || *p > '9')
        return 0;
    *bound = strtol(p, (char **)&p, 10);
    if (*p == ',') {
        p++;
        if (*p >= '0' && *p <= '9') {
            long hi = strtol(p, (char **)&p, 10);
            if (hi > *bound)
                *bound = hi;
        }
    }
    return *p == '}';
}

int vrt_schema_pattern_translate(char *out, size_t size, const char *in,
                                 int *icase)
{
    out_buf o = {out, 0, size, 0};
    const char *p = in;
    long bound = 0, repeats = 0;
    *icase = 0;
    if (size)
        out[0] = '\0';
    if (strncmp(p, "(?i)", 4) == 0) {
        *icase = 1;
        p += 4;
    }
    int prev_quantifier = 0;
    while (*p) {
        /* Go rejects a quantifier on a quantifier ("a++", "a*{2}"), and
         * glibc's compile time grows exponentially with a run of them. */
        int quantifier = *p == '*' || *p == '+' || *p == '?' ||
                         (*p == '{' && is_repetition(p, &bound));
        if (quantifier && prev_quantifier)
            return -1;
        prev_quantifier = quantifier;
        if (*p == '\\') {
            p++;
            const char *cls = NULL;
            switch (*p) {
            case 'd': cls = "[0-9]"; break;
            case 'D': cls = "[^0-9]"; break;
            case 'w': cls = "[A-Za-z0-9_]"; break;
            case 'W': cls = "[^A-Za-z0-9_]"; break;
            case 's': cls = "[[:space:]]"; break;
            case 'S': cls = "[^[:space:]]"; break;
            case 'A': cls = "^"; break;
            case 'z': cls = "$"; break;
            default: break;
            }
            if (cls) {
                out_s(&o, cls);
                p++;
                continue;
            }
            int c = simple_escape(&p);
            if (c < 0)
                return -1;
            out_lit(&o, (char)c);
        } else if (*p == '[') {
            p++;
            if (translate_class(&o, &p) != 0)
                return -1;
        } else if (*p == '(' && p[1] == '?') {
            if (p[2] != ':')
                return -1; /* look-around, named group, flags */
            out_c(&o, '(');
            p += 3;
        } else if (*p == '{' && !is_repetition(p, &bound)) {
            out_s(&o, "\\{");
            p++;
        } else if (*p == '}') {
            /* A '}' closing a repetition was copied with it below. */
            out_s(&o, "\\}");
            p++;
        } else if (*p == '{') {
            /* Go's regexp allows counts up to 1000; glibc builds a copy of
             * the repeated part per count, so large or nested counts cost
             * memory without bound.  Past 1000 in all, give up. */
            repeats += bound;
            if (bound > 1000 || repeats > 1000)
                return -1;
            while (*p != '}')
                out_c(&o, *p++);
            out_c(&o, *p++);
            if (*p == '?') /* lazy: the same strings match */
                p++;
        } else if ((*p == '*' || *p == '+' || *p == '?') && p[1] == '?') {
            out_c(&o, *p); /* lazy: the same strings match */
            p += 2;
        } else {
            out_c(&o, *p++);
        }
    }
    return o.overflow ? -1 : 0;
}

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void compile_entry(pat_entry *e)
{
    __atomic_add_fetch(&compile_count, 1, __ATOMIC_RELAXED);
    size_t cap = strlen(e->pattern) * 14 + 16;
    char *ere = malloc(cap);
    if (!ere)
        abort();
    int icase = 0;
    char why[128] = "";
    if (vrt_schema_pattern_translate(ere, cap, e->pattern, &icase) != 0) {
        snprintf(why, sizeof(why), "it uses syntax POSIX regular "
                                   "expressions lack");
    } else {
        int rc = regcomp(&e->re, ere, REG_EXTENDED | REG_NOSUB |
                                          (icase ? REG_ICASE : 0));
        if (rc == 0)
            e->ok = 1;
        else
            regerror(rc, NULL, why, sizeof(why));
    }
    if (!e->ok)
        vrt_log_warn("Schema pattern \"%s\" cannot be compiled (%s); values "
                     "are accepted without checking it.",
                     e->pattern, why);
    free(ere);
}

int vrt_schema_pattern_match(const char *pattern, const char *s)
{
    uint32_t h = hash_str(pattern) % CACHE_BUCKETS;
    pthread_mutex_lock(&cache_lock);
    pat_entry *e = cache[h];
    while (e && strcmp(e->pattern, pattern) != 0)
        e = e->next;
    pat_entry local = {0};
    int cached = 1;
    if (!e) {
        if (cache_count < CACHE_MAX) {
            e = calloc(1, sizeof(*e));
            if (!e)
                abort();
            e->pattern = strdup(pattern);
            if (!e->pattern)
                abort();
            compile_entry(e);
            e->next = cache[h];
            cache[h] = e;
            cache_count++;
        } else {
            cached = 0;
        }
    }
    pthread_mutex_unlock(&cache_lock);

    if (!cached) {
        local.pattern = (char *)pattern;
        compile_entry(&local);
        e = &local;
    }
    /* glibc's regexec locks the compiled pattern itself, so entries are
     * shared between threads.  Entries live until the process ends (they
     * stay reachable from the cache, so leak checkers do not flag them). */
    int rc = e->ok ? (regexec(&e->re, s, 0, NULL, 0) == 0) : -1;
    if (!cached && local.ok)
        regfree(&local.re);
    return rc;
}

size_t vrt_schema_pattern_compiles(void)
{
    return __atomic_load_n(&compile_count, __ATOMIC_RELAXED);
}
