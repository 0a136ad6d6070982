/*
 * Label and field selectors with Kubernetes' grammar, validation and
 * error wording (k8s.io/apimachinery labels and fields packages), since
 * kubectl users read these messages back from the API server.
 *
 * Label selector terms (comma = AND): key, !key, key=value, key==value,
 * key!=value, key in (a,b), key notin (a,b), key>N, key<N.  Keys are
 * qualified names (optional DNS-subdomain prefix and '/', name of at most
 * 63 characters); values are label values (at most 63 characters).
 * Field selector terms: path=value, path==value, path!=value, where value
 * escapes '\', ',' and '=' with a backslash; a missing field reads as "".
 */
#include <vrt/selector.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    OP_EXISTS,
    OP_NOT_EXISTS,
    OP_EQ,
    OP_NEQ,
    OP_IN,
    OP_NOTIN,
    OP_GT,
    OP_LT
} sel_op;

typedef struct sel_req {
    char *key;
    sel_op op;
    char **values;
    size_t nvalues;
} sel_req;

struct vrt_selector {
    int is_field;
    sel_req *reqs;
    size_t count;
};

static void *xalloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("virtrigaud: out of memory\n", stderr);
        abort();
    }
    return q;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = xalloc(NULL, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void seterr(char *errbuf, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *errbuf, size_t errsize, const char *fmt, ...)
{
    if (!errbuf || errsize == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errsize, fmt, ap);
    va_end(ap);
}

static void req_add_value(sel_req *r, const char *v, size_t n)
{
    for (size_t i = 0; i < r->nvalues; i++) /* a set: duplicates collapse */
        if (strlen(r->values[i]) == n && strncmp(r->values[i], v, n) == 0)
            return;
    r->values = xalloc(r->values, (r->nvalues + 1) * sizeof(char *));
    r->values[r->nvalues++] = xstrndup(v, n);
}

static sel_req *sel_add(vrt_selector *sel)
{
    sel->reqs = xalloc(sel->reqs, (sel->count + 1) * sizeof(sel_req));
    sel_req *r = &sel->reqs[sel->count++];
    memset(r, 0, sizeof(*r));
    return r;
}

void vrt_selector_free(vrt_selector *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->count; i++) {
        free(sel->reqs[i].key);
        for (size_t j = 0; j < sel->reqs[i].nvalues; j++)
            free(sel->reqs[i].values[j]);
        free(sel->reqs[i].values);
    }
    free(sel->reqs);
    free(sel);
}

/* --- validation (k8s.io/apimachinery/pkg/util/validation wording) ------- */

#define QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QNAME_MSG                                                             \
    "must consist of alphanumeric characters, '-', '_' or '.', and must "     \
    "start and end with an alphanumeric character (e.g. 'MyName',  or "      \
    "'my.name',  or '123-abc', regex used for validation is '" QNAME_FMT "')"
#define DNS1123_FMT                                                           \
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
#define DNS1123_MSG                                                           \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric " \
    "characters, '-' or '.', and must start and end with an alphanumeric "    \
    "character (e.g. 'example.com', regex used for validation is '"          \
    DNS1123_FMT "')"
#define LABEL_VALUE_MSG                                                       \
    "a valid label must be an empty string or consist of alphanumeric "       \
    "characters, '-', '_' or '.', and must start and end with an "            \
    "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "  \
    "regex used for validation is '(" QNAME_FMT ")?')"

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over s[0..n). */
static int qname_part_ok(const char *s, size_t n)
{
    if (n == 0 || !isalnum((unsigned char)s[0]) ||
        !isalnum((unsigned char)s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

static int dns1123_subdomain_ok(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.')
            continue;
        size_t len = i - start; /* one label: [a-z0-9]([-a-z0-9]*[a-z0-9])? */
        if (len == 0 || s[start] == '-' || s[i - 1] == '-')
            return 0;
        for (size_t j = start; j < i; j++)
            if (!(islower((unsigned char)s[j]) ||
                  isdigit((unsigned char)s[j]) || s[j] == '-'))
                return 0;
        start = i + 1;
    }
    return 1;
}

typedef struct msgs {
    char text[2048];
    int n;
} msgs;

static void msg_add(msgs *m, const char *s)
{
    size_t len = strlen(m->text);
    snprintf(m->text + len, sizeof(m->text) - len, "%s%s", m->n++ ? "; " : "",
             s);
}

/* IsQualifiedName: the reasons a label key is bad, "; "-joined, or "". */
static void check_qualified_name(msgs *m, const char *key)
{
    const char *slash = strchr(key, '/');
    const char *name = key;
    if (slash && strchr(slash + 1, '/')) {
        msg_add(m, "a qualified name " QNAME_MSG " with an optional DNS "
                   "subdomain prefix and '/' (e.g. 'example.com/MyName')");
        return;
    }
    if (slash) {
        size_t plen = (size_t)(slash - key);
        name = slash + 1;
        if (plen == 0) {
            msg_add(m, "prefix part must be non-empty");
        } else {
            if (plen > 253)
                msg_add(m, "prefix part must be no more than 253 characters");
            if (!dns1123_subdomain_ok(key, plen))
                msg_add(m, "prefix part " DNS1123_MSG);
        }
    }
    size_t n = strlen(name);
    if (n == 0)
        msg_add(m, "name part must be non-empty");
    else if (n > 63)
        msg_add(m, "name part must be no more than 63 characters");
    if (!qname_part_ok(name, n))
        msg_add(m, "name part " QNAME_MSG);
}

static void check_label_value(msgs *m, const char *v)
{
    size_t n = strlen(v);
    if (n > 63)
        msg_add(m, "must be no more than 63 characters");
    if (n > 0 && !qname_part_ok(v, n))
        msg_add(m, LABEL_VALUE_MSG);
}

/* Appends a Go-%q-quoted copy of s (printable ASCII kept, the rest
 * escaped). */
static void quote_into(char *buf, size_t size, const char *s)
{
    size_t len = strlen(buf);
    int n = snprintf(buf + len, size - len, "\"");
    for (const unsigned char *p = (const unsigned char *)s;
         *p && n >= 0 && len + (size_t)n < size; p++) {
        len = strlen(buf);
        if (*p == '"' || *p == '\\')
            n = snprintf(buf + len, size - len, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            n = snprintf(buf + len, size - len, "\\x%02x", *p);
        else
            n = snprintf(buf + len, size - len, "%c", *p);
    }
    len = strlen(buf);
    snprintf(buf + len, size - len, "\"");
}

/* --- label selector lexer and parser -------------------------------------- */

typedef enum {
    T_END,
    T_IDENT,
    T_NOT,  /* ! */
    T_NEQ,  /* != */
    T_EQ,   /* = */
    T_DEQ,  /* == */
    T_GT,   /* > */
    T_LT,   /* < */
    T_LPAR,
    T_RPAR,
    T_COMMA
} tok_kind;

typedef struct tok {
    tok_kind kind;
    const char *s;
    size_t n;
} tok;

typedef struct lexer {
    const char *p;
} lexer;

static int special(char c)
{
    return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' ||
           c == '>' || c == '<';
}

static int space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static tok lex_next(lexer *lx)
{
    while (space(*lx->p))
        lx->p++;
    tok t = {T_END, lx->p, 0};
    const char *p = lx->p;
    if (!*p)
        return t;
    t.n = 1;
    switch (*p) {
    case '!':
        t.kind = p[1] == '=' ? T_NEQ : T_NOT;
        break;
    case '=':
        t.kind = p[1] == '=' ? T_DEQ : T_EQ;
        break;
    case '>': t.kind = T_GT; break;
    case '<': t.kind = T_LT; break;
    case '(': t.kind = T_LPAR; break;
    case ')': t.kind = T_RPAR; break;
    case ',': t.kind = T_COMMA; break;
    default:
        t.kind = T_IDENT;
        t.n = 0;
        while (p[t.n] && !space(p[t.n]) && !special(p[t.n]))
            t.n++;
        break;
    }
    if (t.kind == T_NEQ || t.kind == T_DEQ)
        t.n = 2;
    lx->p = p + t.n;
    return t;
}

static tok lex_peek(const lexer *lx)
{
    lexer copy = *lx;
    return lex_next(&copy);
}

static int tok_is(const tok *t, const char *word)
{
    return t->kind == T_IDENT && t->n == strlen(word) &&
           strncmp(t->s, word, t->n) == 0;
}

typedef struct perr {
    char *buf;
    size_t size;
} perr;

static int fail_found(perr *e, const tok *t, const char *expected)
{
    seterr(e->buf, e->size, "found '%.*s', expected: %s", (int)t->n, t->s,
           expected);
    return -1;
}

/* Values of "in (a, b)"; the lexer is after "in". */
static int parse_value_list(lexer *lx, sel_req *r, perr *e)
{
    tok t = lex_next(lx);
    if (t.kind != T_LPAR) {
        seterr(e->buf, e->size, "found '%.*s' expected: '('", (int)t.n, t.s);
        return -1;
    }
    t = lex_peek(lx);
    if (t.kind == T_RPAR) { /* "()" is the set {""} */
        lex_next(lx);
        req_add_value(r, "", 0);
        return 0;
    }
    if (t.kind != T_IDENT && t.kind != T_COMMA)
        return fail_found(e, &t, "',', ')' or identifier");
    for (;;) {
        t = lex_next(lx);
        if (t.kind == T_IDENT) {
            req_add_value(r, t.s, t.n);
            tok next = lex_peek(lx);
            if (next.kind == T_COMMA) {
                lex_next(lx);
                tok after = lex_peek(lx);
                if (after.kind == T_RPAR) { /* "a,)" adds "" */
                    req_add_value(r, "", 0);
                    lex_next(lx);
                    return 0;
                }
                continue;
            }
            if (next.kind == T_RPAR) {
                lex_next(lx);
                return 0;
            }
            return fail_found(e, &next, "',' or ')'");
        }
        if (t.kind == T_COMMA) { /* "(,a" and "a,,b" add "" */
            req_add_value(r, "", 0);
            tok next = lex_peek(lx);
            if (next.kind == T_RPAR) {
                lex_next(lx);
                return 0;
            }
            continue;
        }
        return fail_found(e, &t, "',', or identifier");
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Checks a parsed requirement as NewRequirement does (which sees the
 * values sorted, so that is how they are numbered). */
static int validate_req(sel_req *r, perr *e)
{
    if (r->nvalues > 1)
        qsort(r->values, r->nvalues, sizeof(char *), cmp_str);
    char out[4096] = "";
    int nerr = 0;
    char one[3072];
    for (size_t i = 0; i < r->nvalues; i++) {
        if (r->op == OP_GT || r->op == OP_LT) {
            char *end = NULL;
            errno = 0;
            (void)strtoll(r->values[i], &end, 10);
            if (!r->values[i][0] || *end || errno == ERANGE) {
                snprintf(one, sizeof(one), "values[%zu]: Invalid value: ", i);
                quote_into(one, sizeof(one), r->values[i]);
                size_t l = strlen(one);
                snprintf(one + l, sizeof(one) - l, ": for 'Gt', 'Lt' "
                                                   "operators, the value "
                                                   "must be an integer");
                size_t ol = strlen(out);
                snprintf(out + ol, sizeof(out) - ol, "%s%s",
                         nerr++ ? ", " : "", one);
            }
        }
        msgs m = {"", 0};
        check_label_value(&m, r->values[i]);
        if (m.n) {
            snprintf(one, sizeof(one), "values[%zu][%s]: Invalid value: ", i,
                     r->key);
            quote_into(one, sizeof(one), r->values[i]);
            size_t l = strlen(one);
            snprintf(one + l, sizeof(one) - l, ": %s", m.text);
            size_t ol = strlen(out);
            snprintf(out + ol, sizeof(out) - ol, "%s%s", nerr++ ? ", " : "",
                     one);
        }
    }
    if (!nerr)
        return 0;
    seterr(e->buf, e->size, "unable to parse requirement: %s%s%s",
           nerr > 1 ? "[" : "", out, nerr > 1 ? "]" : "");
    return -1;
}

static int parse_requirement(lexer *lx, vrt_selector *sel, perr *e)
{
    sel_req *r = sel_add(sel);
    tok t = lex_next(lx);
    int negated = t.kind == T_NOT;
    if (negated)
        t = lex_next(lx);
    if (t.kind != T_IDENT) {
        fail_found(e, &t, "identifier");
        goto bad;
    }
    r->key = xstrndup(t.s, t.n);
    msgs m = {"", 0};
    check_qualified_name(&m, r->key);
    if (m.n) {
        char q[512] = "";
        quote_into(q, sizeof(q), r->key);
        seterr(e->buf, e->size, "<nil>: Invalid value: %s: %s", q, m.text);
        goto bad;
    }
    tok next = lex_peek(lx);
    if (negated || next.kind == T_END || next.kind == T_COMMA) {
        /* "!a=b" ends the term at "!a"; the caller complains about "=". */
        r->op = negated ? OP_NOT_EXISTS : OP_EXISTS;
        return 0;
    }
    t = lex_next(lx);
    if (tok_is(&t, "in") || tok_is(&t, "notin")) {
        r->op = tok_is(&t, "in") ? OP_IN : OP_NOTIN;
        if (parse_value_list(lx, r, e) != 0)
            goto bad;
    } else if (t.kind == T_EQ || t.kind == T_DEQ || t.kind == T_NEQ ||
               t.kind == T_GT || t.kind == T_LT) {
        r->op = t.kind == T_NEQ ? OP_NEQ
              : t.kind == T_GT  ? OP_GT
              : t.kind == T_LT  ? OP_LT
                                : OP_EQ;
        tok v = lex_peek(lx);
        if (v.kind == T_END || v.kind == T_COMMA) {
            req_add_value(r, "", 0); /* "a=" means the empty value */
        } else {
            v = lex_next(lx);
            if (v.kind != T_IDENT) {
                fail_found(e, &v, "identifier");
                goto bad;
            }
            req_add_value(r, v.s, v.n);
        }
    } else {
        fail_found(e, &t, "in, notin, =, ==, !=, gt, lt");
        goto bad;
    }
    if (validate_req(r, e) != 0)
        return -1;
    return 0;
bad: {
    /* Prefix as labels.Parse does, keeping the reason. */
    char why[1024];
    snprintf(why, sizeof(why), "%s", e->buf ? e->buf : "");
    if (strncmp(why, "unable to parse requirement: ", 29) != 0)
        seterr(e->buf, e->size, "unable to parse requirement: %s", why);
    return -1;
}
}

static int parse_labels(vrt_selector *sel, const char *text, perr *e)
{
    lexer lx = {text};
    for (;;) {
        tok t = lex_peek(&lx);
        if (t.kind == T_END)
            return 0;
        if (t.kind != T_IDENT && t.kind != T_NOT)
            return fail_found(e, &t, "!, identifier, or 'end of string'");
        if (parse_requirement(&lx, sel, e) != 0)
            return -1;
        t = lex_next(&lx);
        if (t.kind == T_END)
            return 0;
        if (t.kind != T_COMMA)
            return fail_found(e, &t, "',' or 'end of string'");
        tok after = lex_peek(&lx);
        if (after.kind != T_IDENT && after.kind != T_NOT)
            return fail_found(e, &after, "identifier after ','");
    }
}

/* --- field selectors --------------------------------------------------------- */

/* Unescapes a field selector value: \\ \, \= only; bare , and = are
 * errors. */
static char *unescape_value(const char *s, size_t n, perr *e)
{
    char *out = xalloc(NULL, n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            if (i + 1 >= n || (s[i + 1] != '\\' && s[i + 1] != ',' &&
                               s[i + 1] != '=')) {
                seterr(e->buf, e->size, "invalid field selector: invalid "
                                        "escape sequence: \\%.*s",
                       i + 1 < n ? 1 : 0, i + 1 < n ? s + i + 1 : "");
                free(out);
                return NULL;
            }
            out[j++] = s[++i];
        } else if (c == ',' || c == '=') {
            seterr(e->buf, e->size, "invalid field selector: unescaped "
                                    "character in value: '%c'", c);
            free(out);
            return NULL;
        } else {
            out[j++] = c;
        }
    }
    out[j] = '\0';
    return out;
}

static int parse_field_term(vrt_selector *sel, const char *all,
                            const char *term, size_t n, perr *e)
{
    size_t i = 0;
    sel_op op = OP_EQ;
    size_t oplen = 0;
    for (; i < n; i++) { /* the first operator wins: !=, ==, = */
        if (term[i] == '!' && i + 1 < n && term[i + 1] == '=') {
            op = OP_NEQ, oplen = 2;
            break;
        }
        if (term[i] == '=') {
            oplen = i + 1 < n && term[i + 1] == '=' ? 2 : 1;
            break;
        }
    }
    if (oplen == 0 || i == 0) {
        seterr(e->buf, e->size, "invalid selector: '%s'; can't understand "
                                "'%.*s'", all, (int)n, term);
        return -1;
    }
    char *value = unescape_value(term + i + oplen, n - i - oplen, e);
    if (!value)
        return -1;
    sel_req *r = sel_add(sel);
    r->key = xstrndup(term, i);
    r->op = op;
    r->values = xalloc(NULL, sizeof(char *));
    r->values[0] = value;
    r->nvalues = 1;
    return 0;
}

static int parse_fields(vrt_selector *sel, const char *text, perr *e)
{
    const char *p = text;
    while (*p) {
        size_t n = 0;
        while (p[n] && p[n] != ',') { /* split on unescaped commas */
            if (p[n] == '\\' && p[n + 1])
                n++;
            n++;
        }
        if (n > 0 && parse_field_term(sel, text, p, n, e) != 0)
            return -1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

vrt_selector *vrt_selector_parse(const char *text, int is_field, char *errbuf,
                                 size_t errsize)
{
    if (errbuf && errsize)
        errbuf[0] = '\0';
    vrt_selector *sel = xalloc(NULL, sizeof(*sel));
    memset(sel, 0, sizeof(*sel));
    sel->is_field = is_field;
    if (!text || !*text)
        return sel;
    perr e = {errbuf, errsize};
    int rc = is_field ? parse_fields(sel, text, &e) : parse_labels(sel, text, &e);
    if (rc != 0) {
        vrt_selector_free(sel);
        return NULL;
    }
    return sel;
}

/* --- matching ---------------------------------------------------------------- */

static int has_value(const sel_req *r, const char *v)
{
    for (size_t i = 0; i < r->nvalues; i++)
        if (strcmp(r->values[i], v) == 0)
            return 1;
    return 0;
}

static int label_match(const sel_req *r, const cJSON *labels)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(labels, r->key);
    const char *v = cJSON_IsString(l) ? l->valuestring : NULL;
    switch (r->op) {
    case OP_EXISTS:
        return v != NULL;
    case OP_NOT_EXISTS:
        return v == NULL;
    case OP_EQ:
    case OP_IN:
        return v && has_value(r, v);
    case OP_NEQ:
    case OP_NOTIN:
        return !v || !has_value(r, v);
    case OP_GT:
    case OP_LT: {
        if (!v || r->nvalues != 1)
            return 0;
        char *end = NULL;
        errno = 0;
        long long have = strtoll(v, &end, 10);
        if (!*v || *end || errno == ERANGE)
            return 0;
        long long want = strtoll(r->values[0], NULL, 10);
        return r->op == OP_GT ? have > want : have < want;
    }
    }
    return 0;
}

/* A field's text at a dotted path; "" when absent. */
static void field_text(char *buf, size_t size, const cJSON *obj,
                       const char *path)
{
    buf[0] = '\0';
    char part[256];
    const char *p = path;
    const cJSON *cur = obj;
    while (cur && *p) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof(part))
            return;
        memcpy(part, p, n);
        part[n] = '\0';
        cur = cJSON_IsObject(cur) ? cJSON_GetObjectItemCaseSensitive(cur, part)
                                  : NULL;
        p += n + (p[n] == '.');
    }
    if (!cur || cJSON_IsNull(cur))
        return;
    if (cJSON_IsString(cur)) {
        snprintf(buf, size, "%s", cur->valuestring);
    } else if (cJSON_IsBool(cur)) {
        snprintf(buf, size, "%s", cJSON_IsTrue(cur) ? "true" : "false");
    } else if (cJSON_IsNumber(cur)) {
        double d = cur->valuedouble;
        if (d == floor(d) && fabs(d) < 9.2e18)
            snprintf(buf, size, "%lld", (long long)d);
        else
            snprintf(buf, size, "%.17g", d);
    } else {
        char *json = cJSON_PrintUnformatted(cur);
        snprintf(buf, size, "%s", json ? json : "");
        cJSON_free(json);
    }
}

int vrt_selector_matches(const vrt_selector *sel, const cJSON *obj)
{
    if (!sel)
        return 1;
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "labels");
    for (size_t i = 0; i < sel->count; i++) {
        const sel_req *r = &sel->reqs[i];
        if (sel->is_field) {
            char text[1024];
            field_text(text, sizeof(text), obj, r->key);
            int eq = strcmp(text, r->values[0]) == 0;
            if (r->op == OP_NEQ ? eq : !eq)
                return 0;
        } else if (!label_match(r, labels)) {
            return 0;
        }
    }
    return 1;
}
