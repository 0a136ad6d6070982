/*
 * Validation of objects against a CRD's openAPIV3Schema, reporting each
 * violation the way kube-apiserver does (kube-openapi's checks, turned
 * into field errors by apiextensions-apiserver), so that a user who saw
 * a message from a real cluster sees the same one here:
 *
 *   spec.cpu: Invalid value: 0: spec.cpu in body should be greater than
 *     or equal to 1
 *   spec.powerState: Unsupported value: "Of": supported values: "On", "Off"
 *   spec.classRef: Required value
 *
 * Checks run in kube-openapi's order: type, anyOf/oneOf/allOf/not, string,
 * format, number, array, enum, object; then the Kubernetes extensions
 * (embedded resources, list types).  Defaulting and pruning live in
 * schema_default.c.
 */
#include <vrt/schema.h>

#include "schema_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISSUES_MAX (sizeof(((vrt_schema_result *)0)->issue) / \
                    sizeof(((vrt_schema_result *)0)->issue[0]))
#define PATH_LEN 512
#define DUP_CHECK_MAX 2048 /* duplicate checks are quadratic; bound them */

typedef struct vctx {
    vrt_schema_result *res;
    char path[PATH_LEN]; /* "spec.disks[0].size"; "" at the root */
    size_t len;
    int depth;
} vctx;

static const cJSON *kw(const cJSON *s, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(s, key);
}

/* The keywords of one schema node, found in one pass over its members
 * (looking each up by name cost most of the validation time). */
enum {
    K_TYPE, K_INT_OR_STRING, K_NULLABLE, K_ANY_OF, K_ONE_OF, K_ALL_OF, K_NOT,
    K_MAX_LENGTH, K_MIN_LENGTH, K_PATTERN, K_FORMAT, K_MAXIMUM, K_MINIMUM,
    K_EXCLUSIVE_MAXIMUM, K_EXCLUSIVE_MINIMUM, K_MULTIPLE_OF, K_ITEMS,
    K_MIN_ITEMS, K_MAX_ITEMS, K_UNIQUE_ITEMS, K_ENUM, K_MIN_PROPERTIES,
    K_MAX_PROPERTIES, K_PROPERTIES, K_ADDITIONAL_PROPERTIES, K_REQUIRED,
    K_LIST_TYPE, K_LIST_MAP_KEYS, K_EMBEDDED_RESOURCE, K_COUNT
};

static const char *const kw_names[K_COUNT] = {
    "type", "x-kubernetes-int-or-string", "nullable", "anyOf", "oneOf",
    "allOf", "not", "maxLength", "minLength", "pattern", "format", "maximum",
    "minimum", "exclusiveMaximum", "exclusiveMinimum", "multipleOf", "items",
    "minItems", "maxItems", "uniqueItems", "enum", "minProperties",
    "maxProperties", "properties", "additionalProperties", "required",
    "x-kubernetes-list-type", "x-kubernetes-list-map-keys",
    "x-kubernetes-embedded-resource"};

typedef struct kwset {
    const cJSON *v[K_COUNT];
} kwset;

static void kw_scan(kwset *k, const cJSON *s)
{
    memset(k, 0, sizeof(*k));
    const cJSON *c;
    cJSON_ArrayForEach(c, s) {
        if (!c->string)
            continue;
        for (int i = 0; i < K_COUNT; i++) {
            if (kw_names[i][0] == c->string[0] &&
                strcmp(kw_names[i], c->string) == 0) {
                k->v[i] = c;
                break;
            }
        }
    }
}

static void validate_node(vctx *c, const cJSON *s, const cJSON *v);

/* --- recording issues ------------------------------------------------------ */

static void result_add(vrt_schema_result *res, const char *path,
                       const char *reason)
{
    size_t stored = res->count < ISSUES_MAX ? res->count : ISSUES_MAX;
    for (size_t i = 0; i < stored; i++) /* the API server shows each once */
        if (strcmp(res->issue[i].path, path) == 0 &&
            strcmp(res->issue[i].reason, reason) == 0)
            return;
    if (res->count < ISSUES_MAX) {
        snprintf(res->issue[res->count].path, sizeof(res->issue[0].path),
                 "%s", path);
        snprintf(res->issue[res->count].reason,
                 sizeof(res->issue[0].reason), "%s", reason);
    }
    res->count++;
}

static void result_merge(vrt_schema_result *dst, const vrt_schema_result *src)
{
    size_t stored = src->count < ISSUES_MAX ? src->count : ISSUES_MAX;
    for (size_t i = 0; i < stored; i++)
        result_add(dst, src->issue[i].path, src->issue[i].reason);
    dst->count += src->count - stored;
}

/* A field path as Kubernetes prints it; the root has none ("<nil>"). */
static const char *field_path(const char *path)
{
    return path[0] ? path : "<nil>";
}

/* "<Type>: <value>: <detail>" at the current path. */
static void issue_value(vctx *c, const char *type, const cJSON *v,
                        const char *detail)
{
    vrt_sbuf b = {0};
    vrt_sbuf_printf(&b, "%s: ", type);
    vrt_schema_value(&b, v);
    if (detail && *detail)
        vrt_sbuf_printf(&b, ": %s", detail);
    result_add(c->res, field_path(c->path), b.s);
    free(b.s);
}

/* "Invalid value: <value>: <name> in body <what>". */
static void issue_invalid(vctx *c, const cJSON *v, const char *what)
{
    char detail[400];
    snprintf(detail, sizeof(detail), "%s in body %s", c->path, what);
    issue_value(c, "Invalid value", v, detail);
}

static void issue_invalid_str(vctx *c, const char *value, const char *what)
{
    cJSON tmp = {0};
    tmp.type = cJSON_String;
    tmp.valuestring = (char *)value;
    issue_invalid(c, &tmp, what);
}

static void issue_invalid_num(vctx *c, double value, const char *what)
{
    cJSON tmp = {0};
    tmp.type = cJSON_Number;
    tmp.valuedouble = value;
    issue_invalid(c, &tmp, what);
}

/* anyOf/oneOf/allOf/not failures: apiextensions reports these at no
 * field ("<nil>: Invalid value: \"\": ..."), naming the field inside. */
static void issue_composite(vctx *c, const char *what)
{
    vrt_sbuf b = {0};
    vrt_sbuf_puts(&b, "Invalid value: \"\": ");
    vrt_schema_quote(&b, c->path);
    vrt_sbuf_printf(&b, " %s", what);
    result_add(c->res, "<nil>", b.s);
    free(b.s);
}

/* Appends to the path, truncating at the buffer's end (paths are for
 * messages; a truncated one still points the right way). */
static void path_add(vctx *c, const char *s, size_t n)
{
    if (c->len + n >= sizeof(c->path))
        n = sizeof(c->path) - 1 - c->len;
    memcpy(c->path + c->len, s, n);
    c->len += n;
    c->path[c->len] = '\0';
}

static size_t push_key(vctx *c, const char *key)
{
    size_t old = c->len;
    if (c->len)
        path_add(c, ".", 1);
    path_add(c, key, strlen(key));
    return old;
}

static size_t push_index(vctx *c, int i)
{
    size_t old = c->len;
    char num[16];
    int n = snprintf(num, sizeof(num), "[%d]", i);
    path_add(c, num, (size_t)n);
    return old;
}

static void pop(vctx *c, size_t old)
{
    c->len = old;
    c->path[old] = '\0';
}

/* --- type ------------------------------------------------------------------ */

static const char *json_type(const cJSON *v)
{
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsBool(v))
        return "boolean";
    if (cJSON_IsNumber(v))
        return vrt_schema_is_integral(v->valuedouble) ? "integer" : "number";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsArray(v))
        return "array";
    return "object";
}

static int type_listed(const char *list, const char *t)
{
    size_t n = strlen(t);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, t, n) == 0)
            return 1;
        p += len + (comma ? 1 : 0);
    }
    return 0;
}

static void check_type(vctx *c, const kwset *k, const cJSON *v)
{
    char want[128] = "";
    const cJSON *t = k->v[K_TYPE];
    if (cJSON_IsTrue(k->v[K_INT_OR_STRING])) {
        snprintf(want, sizeof(want), "integer,string");
    } else if (cJSON_IsString(t)) {
        snprintf(want, sizeof(want), "%s", t->valuestring);
    } else if (cJSON_IsArray(t)) { /* plain JSON Schema allows a list */
        const cJSON *e;
        cJSON_ArrayForEach(e, t) {
            if (cJSON_IsString(e) && strlen(want) + strlen(e->valuestring) +
                                             2 < sizeof(want)) {
                if (want[0])
                    strcat(want, ",");
                strcat(want, e->valuestring);
            }
        }
    }
    if (!want[0])
        return;
    const char *got = json_type(v);
    if (cJSON_IsNull(v)) {
        if (cJSON_IsTrue(k->v[K_NULLABLE]) || type_listed(want, "null"))
            return;
    } else if (type_listed(want, got) ||
               (strcmp(got, "integer") == 0 && type_listed(want, "number"))) {
        return;
    }
    vrt_sbuf b = {0};
    vrt_sbuf_printf(&b, "%s in body must be of type %s: ", c->path, want);
    vrt_schema_quote(&b, got);
    char detail[400];
    snprintf(detail, sizeof(detail), "%s", b.s);
    free(b.s);
    cJSON tmp = {0};
    tmp.type = cJSON_String;
    tmp.valuestring = (char *)got;
    issue_value(c, "Invalid value", &tmp, detail);
}

/* --- anyOf / oneOf / allOf / not ----------------------------------------------- */

/* Validates v against sub-schema s into a fresh result (heap: results are
 * 8 KiB and combinators nest). */
static vrt_schema_result *sub_validate(const vctx *c, const cJSON *s,
                                       const cJSON *v)
{
    vrt_schema_result *r = calloc(1, sizeof(*r));
    if (!r)
        abort();
    vctx *sc = malloc(sizeof(*sc));
    if (!sc)
        abort();
    *sc = *c;
    sc->res = r;
    validate_node(sc, s, v);
    free(sc);
    return r;
}

/* Runs every schema of `list`; returns how many passed and keeps, in
 * *best, the failure with the fewest violations (kube-openapi keeps the
 * closest match the same way). */
static int run_alternatives(const vctx *c, const cJSON *list, const cJSON *v,
                            vrt_schema_result **best, int stop_at_first)
{
    int passed = 0;
    const cJSON *sub;
    cJSON_ArrayForEach(sub, list) {
        vrt_schema_result *r = sub_validate(c, sub, v);
        if (r->count == 0) {
            passed++;
            free(r);
            if (stop_at_first)
                break;
            continue;
        }
        if (!*best || r->count < (*best)->count) {
            free(*best);
            *best = r;
        } else {
            free(r);
        }
    }
    return passed;
}

static void check_combinators(vctx *c, const kwset *k, const cJSON *v)
{
    const cJSON *any = k->v[K_ANY_OF], *one = k->v[K_ONE_OF];
    const cJSON *all = k->v[K_ALL_OF], *not = k->v[K_NOT];
    if (cJSON_IsArray(any) && cJSON_GetArraySize(any) > 0) {
        vrt_schema_result *best = NULL;
        if (run_alternatives(c, any, v, &best, 1) == 0) {
            issue_composite(c, "must validate at least one schema (anyOf)");
            if (best)
                result_merge(c->res, best);
        }
        free(best);
    }
    if (cJSON_IsArray(one) && cJSON_GetArraySize(one) > 0) {
        vrt_schema_result *best = NULL;
        int passed = run_alternatives(c, one, v, &best, 0);
        if (passed == 0) {
            issue_composite(c, "must validate one and only one schema "
                               "(oneOf). Found none valid");
            if (best)
                result_merge(c->res, best);
        } else if (passed > 1) {
            char what[128];
            snprintf(what, sizeof(what),
                     "must validate one and only one schema (oneOf). Found "
                     "%d valid alternatives",
                     passed);
            issue_composite(c, what);
        }
        free(best);
    }
    if (cJSON_IsArray(all) && cJSON_GetArraySize(all) > 0) {
        int n = 0, passed = 0;
        const cJSON *sub;
        cJSON_ArrayForEach(sub, all) {
            vrt_schema_result *r = sub_validate(c, sub, v);
            n++;
            if (r->count == 0)
                passed++;
            result_merge(c->res, r);
            free(r);
        }
        if (passed != n)
            issue_composite(c, passed == 0 ? "must validate all the schemas "
                                             "(allOf). None validated"
                                           : "must validate all the schemas "
                                             "(allOf)");
    }
    if (cJSON_IsObject(not)) {
        vrt_schema_result *r = sub_validate(c, not, v);
        if (r->count == 0)
            issue_composite(c, "must not validate the schema (not)");
        free(r);
    }
}

/* --- strings, formats, numbers ------------------------------------------------- */

/* Characters as Go counts them: runes, an invalid byte counting as one. */
static long long rune_count(const char *s)
{
    long long n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80)
            n++;
    return n;
}

static int kw_int(const kwset *k, int key, long long *out)
{
    const cJSON *n = k->v[key];
    if (!cJSON_IsNumber(n))
        return 0;
    *out = (long long)n->valuedouble;
    return 1;
}

static void check_string(vctx *c, const kwset *k, const cJSON *v)
{
    long long lim;
    long long runes = rune_count(v->valuestring);
    char what[600];
    if (kw_int(k, K_MAX_LENGTH, &lim) && runes > lim) {
        char reason[64];
        snprintf(reason, sizeof(reason), "Too long: must have at most %lld "
                                         "bytes", lim);
        result_add(c->res, field_path(c->path), reason);
    }
    if (kw_int(k, K_MIN_LENGTH, &lim) && runes < lim) {
        snprintf(what, sizeof(what), "should be at least %lld chars long",
                 lim);
        issue_invalid(c, v, what);
    }
    const cJSON *pat = k->v[K_PATTERN];
    if (cJSON_IsString(pat) &&
        vrt_schema_pattern_match(pat->valuestring, v->valuestring) == 0) {
        snprintf(what, sizeof(what), "should match '%s'", pat->valuestring);
        issue_invalid(c, v, what);
    }
    const cJSON *fmt = k->v[K_FORMAT];
    if (cJSON_IsString(fmt) &&
        !vrt_schema_format_ok(fmt->valuestring, v->valuestring)) {
        vrt_sbuf b = {0};
        vrt_sbuf_printf(&b, "must be of type %s: ", fmt->valuestring);
        vrt_schema_quote(&b, v->valuestring);
        snprintf(what, sizeof(what), "%s", b.s);
        free(b.s);
        issue_invalid(c, v, what);
    }
}

/* A bound as the message prints it: an integer beside integer data. */
static void bound_text(char *buf, size_t size, double bound, const cJSON *v)
{
    if (vrt_schema_is_integral(v->valuedouble) &&
        vrt_schema_is_integral(bound))
        snprintf(buf, size, "%lld", (long long)bound);
    else
        vrt_schema_gofloat(buf, size, bound);
}

/* exclusiveMinimum/-Maximum: a boolean in OpenAPI 3.0 (CRDs), a number in
 * later JSON Schema drafts; both are honoured. */
static void check_bound(vctx *c, const kwset *k, const cJSON *v, int upper)
{
    const cJSON *b = k->v[upper ? K_MAXIMUM : K_MINIMUM];
    const cJSON *ex = k->v[upper ? K_EXCLUSIVE_MAXIMUM : K_EXCLUSIVE_MINIMUM];
    double x = v->valuedouble;
    int exclusive = cJSON_IsTrue(ex);
    double bound;
    if (cJSON_IsNumber(b)) {
        bound = b->valuedouble;
    } else if (cJSON_IsNumber(ex)) {
        bound = ex->valuedouble;
        exclusive = 1;
    } else {
        return;
    }
    int bad = upper ? (exclusive ? x >= bound : x > bound)
                    : (exclusive ? x <= bound : x < bound);
    if (!bad)
        return;
    char num[64], what[128];
    bound_text(num, sizeof(num), bound, v);
    snprintf(what, sizeof(what), "should be %s %s%s", upper ? "less" : "greater",
             exclusive ? "than " : "than or equal to ", num);
    issue_invalid(c, v, what);
}

static void check_number(vctx *c, const kwset *k, const cJSON *v)
{
    const cJSON *m = k->v[K_MULTIPLE_OF];
    if (cJSON_IsNumber(m) && m->valuedouble > 0) {
        double q = v->valuedouble / m->valuedouble;
        if (!isfinite(q) || fabs(q - nearbyint(q)) > 1e-9 * fmax(1, fabs(q))) {
            char num[64], what[128];
            bound_text(num, sizeof(num), m->valuedouble, v);
            snprintf(what, sizeof(what), "should be a multiple of %s", num);
            issue_invalid(c, v, what);
        }
    }
    check_bound(c, k, v, 1);
    check_bound(c, k, v, 0);
}

/* --- arrays, enum, objects -------------------------------------------------------- */

static void check_array(vctx *c, const kwset *k, const cJSON *v)
{
    const cJSON *items = k->v[K_ITEMS];
    int size = cJSON_GetArraySize(v);
    if (cJSON_IsObject(items)) {
        int i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, v) {
            size_t old = push_index(c, i++);
            validate_node(c, items, e);
            pop(c, old);
        }
    }
    long long lim;
    char what[128];
    if (kw_int(k, K_MIN_ITEMS, &lim) && size < lim) {
        snprintf(what, sizeof(what), "should have at least %lld items", lim);
        issue_invalid_num(c, size, what);
    }
    if (kw_int(k, K_MAX_ITEMS, &lim) && size > lim) {
        char reason[96];
        snprintf(reason, sizeof(reason), "Too many: %d: must have at most "
                                         "%lld items", size, lim);
        result_add(c->res, field_path(c->path), reason);
    }
    if (cJSON_IsTrue(k->v[K_UNIQUE_ITEMS]) && size <= DUP_CHECK_MAX) {
        for (const cJSON *a = v->child; a; a = a->next)
            for (const cJSON *b = a->next; b; b = b->next)
                if (cJSON_Compare(a, b, 1)) {
                    issue_invalid_str(c, "", "shouldn't contain duplicates");
                    return;
                }
    }
}

static void check_enum(vctx *c, const kwset *k, const cJSON *v)
{
    const cJSON *en = k->v[K_ENUM];
    if (!cJSON_IsArray(en) || cJSON_GetArraySize(en) == 0)
        return;
    const cJSON *e;
    cJSON_ArrayForEach(e, en) {
        if (cJSON_Compare(e, v, 1))
            return;
    }
    vrt_sbuf b = {0};
    vrt_sbuf_puts(&b, "supported values: ");
    int first = 1;
    cJSON_ArrayForEach(e, en) {
        if (!first)
            vrt_sbuf_puts(&b, ", ");
        first = 0;
        if (cJSON_IsString(e)) {
            vrt_schema_quote(&b, e->valuestring);
        } else {
            char *json = cJSON_PrintUnformatted(e);
            vrt_schema_quote(&b, json ? json : "");
            cJSON_free(json);
        }
    }
    issue_value(c, "Unsupported value", v, b.s);
    free(b.s);
}

static void check_object(vctx *c, const kwset *k, const cJSON *v)
{
    int n = cJSON_GetArraySize(v);
    long long lim;
    char what[600];
    if (kw_int(k, K_MIN_PROPERTIES, &lim) && n < lim) {
        snprintf(what, sizeof(what), "should have at least %lld properties",
                 lim);
        issue_invalid_num(c, n, what);
        return;
    }
    if (kw_int(k, K_MAX_PROPERTIES, &lim) && n > lim) {
        char reason[96];
        snprintf(reason, sizeof(reason), "Too many: %d: must have at most "
                                         "%lld items", n, lim);
        result_add(c->res, field_path(c->path), reason);
        return;
    }
    const cJSON *props = k->v[K_PROPERTIES];
    const cJSON *addl = k->v[K_ADDITIONAL_PROPERTIES];
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        const cJSON *p = kw(props, e->string);
        if (!p && cJSON_IsObject(addl))
            p = addl;
        if (p) {
            size_t old = push_key(c, e->string);
            validate_node(c, p, e);
            pop(c, old);
        } else if (cJSON_IsFalse(addl)) {
            snprintf(what, sizeof(what), "%s%s%s in body is a forbidden "
                                         "property",
                     c->path, c->len ? "." : "", e->string);
            cJSON key = {0};
            key.type = cJSON_String;
            key.valuestring = e->string;
            issue_value(c, "Invalid value", &key, what);
        }
    }
    const cJSON *req = k->v[K_REQUIRED];
    cJSON_ArrayForEach(e, req) {
        if (cJSON_IsString(e) &&
            !cJSON_GetObjectItemCaseSensitive(v, e->valuestring)) {
            size_t old = push_key(c, e->valuestring);
            result_add(c->res, c->path, "Required value");
            pop(c, old);
        }
    }
}

/* --- Kubernetes extensions ------------------------------------------------------ */

static void check_embedded(vctx *c, const cJSON *v)
{
    static const char *const keys[] = {"apiVersion", "kind"};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(v, keys[i]);
        size_t old = push_key(c, keys[i]);
        if (!f)
            result_add(c->res, c->path, "Required value: must not be empty");
        else if (!cJSON_IsString(f))
            issue_value(c, "Invalid value", f, "must be a string");
        else if (!f->valuestring[0])
            issue_value(c, "Invalid value", f, "must not be empty");
        pop(c, old);
    }
}

/* Go's %#v of a list-map key: map[string]interface {}{"name":"a"}. */
static void map_key_text(vrt_sbuf *b, const cJSON *item, const cJSON *keys)
{
    vrt_sbuf_puts(b, "map[string]interface {}{");
    int first = 1;
    const cJSON *k;
    cJSON_ArrayForEach(k, keys) {
        if (!cJSON_IsString(k))
            continue;
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(item, k->valuestring);
        if (!f)
            continue;
        if (!first)
            vrt_sbuf_puts(b, ", ");
        first = 0;
        vrt_schema_quote(b, k->valuestring);
        vrt_sbuf_puts(b, ":");
        if (cJSON_IsString(f)) {
            vrt_schema_quote(b, f->valuestring);
        } else {
            char *json = cJSON_PrintUnformatted(f);
            vrt_sbuf_puts(b, json ? json : "");
            cJSON_free(json);
        }
    }
    vrt_sbuf_puts(b, "}");
}

static int same_map_key(const cJSON *a, const cJSON *b, const cJSON *keys)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, keys) {
        if (!cJSON_IsString(k))
            continue;
        const cJSON *fa = cJSON_GetObjectItemCaseSensitive(a, k->valuestring);
        const cJSON *fb = cJSON_GetObjectItemCaseSensitive(b, k->valuestring);
        if (!fa != !fb || (fa && !cJSON_Compare(fa, fb, 1)))
            return 0;
    }
    return 1;
}

static void check_list_type(vctx *c, const kwset *k, const cJSON *v)
{
    const cJSON *lt = k->v[K_LIST_TYPE];
    if (!cJSON_IsString(lt) || cJSON_GetArraySize(v) > DUP_CHECK_MAX)
        return;
    int set = strcmp(lt->valuestring, "set") == 0;
    const cJSON *keys = k->v[K_LIST_MAP_KEYS];
    if (!set && !(strcmp(lt->valuestring, "map") == 0 && cJSON_IsArray(keys)))
        return;
    int i = 0;
    for (const cJSON *b = v->child; b; b = b->next, i++) {
        for (const cJSON *a = v->child; a != b; a = a->next) {
            int dup = set ? cJSON_Compare(a, b, 1)
                          : cJSON_IsObject(a) && cJSON_IsObject(b) &&
                                same_map_key(a, b, keys);
            if (!dup)
                continue;
            size_t old = push_index(c, i);
            vrt_sbuf t = {0};
            vrt_sbuf_puts(&t, "Duplicate value: ");
            if (set)
                vrt_schema_value(&t, b);
            else
                map_key_text(&t, b, keys);
            result_add(c->res, c->path, t.s);
            free(t.s);
            pop(c, old);
            break;
        }
    }
}

/* --- driver ---------------------------------------------------------------------- */

static void validate_node(vctx *c, const cJSON *s, const cJSON *v)
{
    if (!cJSON_IsObject(s) || !v || c->depth >= VRT_SCHEMA_MAX_DEPTH)
        return;
    kwset k;
    kw_scan(&k, s);
    c->depth++;
    check_type(c, &k, v);
    if (cJSON_IsNull(v)) { /* kube-openapi checks only type and enum */
        check_enum(c, &k, v);
        c->depth--;
        return;
    }
    check_combinators(c, &k, v);
    if (cJSON_IsString(v))
        check_string(c, &k, v);
    else if (cJSON_IsNumber(v))
        check_number(c, &k, v);
    else if (cJSON_IsArray(v))
        check_array(c, &k, v);
    check_enum(c, &k, v);
    if (cJSON_IsObject(v)) {
        check_object(c, &k, v);
        if (cJSON_IsTrue(k.v[K_EMBEDDED_RESOURCE]))
            check_embedded(c, v);
    }
    if (cJSON_IsArray(v))
        check_list_type(c, &k, v);
    c->depth--;
}

size_t vrt_schema_validate(vrt_schema_result *res, const cJSON *schema,
                           const cJSON *obj)
{
    res->count = 0;
    if (!schema || !obj)
        return 0;
    vctx *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    c->res = res;
    validate_node(c, schema, obj);
    free(c);
    return res->count;
}

void vrt_schema_format(char *buf, size_t size, const char *kind_group,
                       const char *name, const vrt_schema_result *res)
{
    if (!buf || size == 0)
        return;
    vrt_sbuf b = {0};
    vrt_sbuf_printf(&b, "%s ", kind_group ? kind_group : "");
    vrt_schema_quote(&b, name ? name : "");
    vrt_sbuf_puts(&b, " is invalid");
    size_t stored = res->count < ISSUES_MAX ? res->count : ISSUES_MAX;
    if (stored > 0)
        vrt_sbuf_puts(&b, ": ");
    if (res->count > 1)
        vrt_sbuf_puts(&b, "[");
    for (size_t i = 0; i < stored; i++)
        vrt_sbuf_printf(&b, "%s%s: %s", i ? ", " : "", res->issue[i].path,
                        res->issue[i].reason);
    if (res->count > stored)
        vrt_sbuf_printf(&b, ", and %zu more", res->count - stored);
    if (res->count > 1)
        vrt_sbuf_puts(&b, "]");
    snprintf(buf, size, "%s", b.s);
    free(b.s);
}
