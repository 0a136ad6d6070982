/*
 * protobuf.c - the Kubernetes protobuf encoding of the few core/v1 kinds
 * kubectl sends that way, turned into the JSON the rest of the server
 * speaks.
 *
 * kubectl's imperative commands (`create secret generic`, `create
 * configmap`, `create namespace`) send built-in kinds as
 * application/vnd.kubernetes.protobuf and do not retry as JSON on a 415,
 * so a server that reads only JSON breaks the commands users type first.
 * The envelope is the 4 bytes "k8s\0" and a runtime.Unknown message whose
 * raw field holds the object; field numbers are those of
 * k8s.io/api/core/v1/generated.proto.  Only the fields those kinds can
 * carry are modelled: any other field is refused by number rather than
 * dropped, so nothing a client sent is silently lost.
 */
#include "protobuf.h"

#include <openssl/evp.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pb {
    const uint8_t *p, *end;
} pb;

typedef enum {
    F_STRING,  /* string */
    F_INT64,   /* varint */
    F_BOOL,    /* varint 0/1 */
    F_MAP_STR, /* map<string, string> */
    F_MAP_B64, /* map<string, bytes>: values base64 as in JSON */
    F_STRINGS, /* repeated string */
    F_MESSAGE, /* nested message of `sub` */
    F_SERVER,  /* set by the server (selfLink, timestamps): read, dropped */
} field_kind;

typedef struct msg_def msg_def;
typedef struct field_def {
    uint32_t num;
    const char *json;
    field_kind kind;
    const msg_def *sub;
} field_def;

struct msg_def {
    const char *name;
    const field_def *fields;
    size_t n;
};

#define MSG(var, label, ...)                                                  \
    static const field_def var##_fields[] = {__VA_ARGS__};                     \
    static const msg_def var = {label, var##_fields,                           \
                                sizeof(var##_fields) / sizeof(var##_fields[0])}

MSG(object_meta, "ObjectMeta",
    {1, "name", F_STRING, NULL}, {2, "generateName", F_STRING, NULL},
    {3, "namespace", F_STRING, NULL}, {4, "selfLink", F_SERVER, NULL},
    {5, "uid", F_STRING, NULL},
    {6, "resourceVersion", F_STRING, NULL}, {7, "generation", F_INT64, NULL},
    {8, "creationTimestamp", F_SERVER, NULL},
    {9, "deletionTimestamp", F_SERVER, NULL},
    {11, "labels", F_MAP_STR, NULL}, {12, "annotations", F_MAP_STR, NULL},
    {14, "finalizers", F_STRINGS, NULL});
MSG(config_map, "ConfigMap",
    {1, "metadata", F_MESSAGE, &object_meta}, {2, "data", F_MAP_STR, NULL},
    {3, "binaryData", F_MAP_B64, NULL}, {4, "immutable", F_BOOL, NULL});
MSG(secret, "Secret",
    {1, "metadata", F_MESSAGE, &object_meta}, {2, "data", F_MAP_B64, NULL},
    {3, "type", F_STRING, NULL}, {4, "stringData", F_MAP_STR, NULL},
    {5, "immutable", F_BOOL, NULL});
MSG(namespace_spec, "NamespaceSpec", {1, "finalizers", F_STRINGS, NULL});
MSG(namespace_status, "NamespaceStatus", {1, "phase", F_STRING, NULL});
MSG(namespace, "Namespace",
    {1, "metadata", F_MESSAGE, &object_meta},
    {2, "spec", F_MESSAGE, &namespace_spec},
    {3, "status", F_MESSAGE, &namespace_status});

static const struct {
    const char *kind;
    const msg_def *def;
} kinds[] = {
    {"ConfigMap", &config_map},
    {"Secret", &secret},
    {"Namespace", &namespace},
};

enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };
#define MAX_DEPTH 4

__attribute__((format(printf, 3, 4)))
static int fail(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return -1;
}

static int read_varint(uint64_t *v, pb *b)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (b->p >= b->end)
            return -1;
        uint8_t c = *b->p++;
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return 0;
    }
    return -1; /* more than 10 bytes: not a varint */
}

static int read_len(pb *sub, pb *b)
{
    uint64_t n;
    if (read_varint(&n, b) || n > (uint64_t)(b->end - b->p))
        return -1;
    sub->p = b->p;
    sub->end = b->p + n;
    b->p += n;
    return 0;
}

static int skip(pb *b, uint32_t wire)
{
    uint64_t v;
    pb sub;
    size_t n = wire == WIRE_I64 ? 8 : 4;
    switch (wire) {
    case WIRE_VARINT:
        return read_varint(&v, b);
    case WIRE_LEN:
        return read_len(&sub, b);
    case WIRE_I64:
    case WIRE_I32:
        if ((size_t)(b->end - b->p) < n)
            return -1;
        b->p += n;
        return 0;
    default:
        return -1;
    }
}

static int read_tag(uint32_t *num, uint32_t *wire, pb *b)
{
    uint64_t t;
    if (read_varint(&t, b) || (t >> 3) == 0 || (t >> 3) > UINT32_MAX)
        return -1;
    *num = (uint32_t)(t >> 3);
    *wire = (uint32_t)(t & 7);
    return 0;
}

static char *dup_bytes(const pb *s)
{
    size_t n = (size_t)(s->end - s->p);
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, s->p, n);
        out[n] = '\0';
    }
    return out;
}

static char *base64_of(const pb *s)
{
    size_t n = (size_t)(s->end - s->p);
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, s->p, (int)n);
    return out;
}

/* A string value must be text: JSON cannot carry a NUL inside one. */
static cJSON *string_item(const pb *s)
{
    if (memchr(s->p, '\0', (size_t)(s->end - s->p)))
        return NULL;
    char *t = dup_bytes(s);
    cJSON *item = t ? cJSON_CreateString(t) : NULL;
    free(t);
    return item;
}

static int has_nul(const pb *s)
{
    return s->p && memchr(s->p, '\0', (size_t)(s->end - s->p)) != NULL;
}

/* One map entry {1: key, 2: value} into obj; why says what is wrong. */
static int map_entry(cJSON *obj, pb *entry, int b64, const char *field,
                     char *why, size_t n)
{
    pb key = {NULL, NULL}, val = {(const uint8_t *)"", (const uint8_t *)""};
    uint32_t num, wire;
    while (entry->p < entry->end) {
        if (read_tag(&num, &wire, entry))
            return fail(why, n, "an entry of \"%s\" is malformed", field);
        if (num == 1 && wire == WIRE_LEN) {
            if (read_len(&key, entry))
                return fail(why, n, "an entry of \"%s\" is malformed", field);
        } else if (num == 2 && wire == WIRE_LEN) {
            if (read_len(&val, entry))
                return fail(why, n, "an entry of \"%s\" is malformed", field);
        } else if (skip(entry, wire)) {
            return fail(why, n, "an entry of \"%s\" is malformed", field);
        }
    }
    if (!key.p)
        return fail(why, n, "an entry of \"%s\" has no key", field);
    if (has_nul(&key))
        return fail(why, n, "a key of \"%s\" holds a NUL byte, which a JSON "
                    "key cannot carry", field);
    if (!b64 && has_nul(&val))
        return fail(why, n, "the value of \"%s\" entry \"%.*s\" holds a NUL "
                    "byte, which a string cannot carry (binary data goes in "
                    "binaryData or data)", field,
                    (int)(key.end - key.p > 64 ? 64 : key.end - key.p),
                    (const char *)key.p);
    char *k = dup_bytes(&key);
    char *b = b64 ? base64_of(&val) : NULL;
    cJSON *v = b64 ? (b ? cJSON_CreateString(b) : NULL) : string_item(&val);
    free(b);
    if (!k || !v) {
        free(k);
        cJSON_Delete(v);
        return fail(why, n, "an entry of \"%s\" cannot be read", field);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(obj, k); /* last one wins */
    cJSON_AddItemToObject(obj, k, v);
    free(k);
    return 0;
}

static cJSON *child(cJSON *obj, const char *key, int array)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!c)
        c = array ? cJSON_AddArrayToObject(obj, key)
                  : cJSON_AddObjectToObject(obj, key);
    return c;
}

static int decode(cJSON *obj, pb *b, const msg_def *def, int depth,
                  char *why, size_t n);

static int decode_field(cJSON *obj, pb *b, const field_def *f, uint32_t wire,
                        int depth, char *why, size_t n)
{
    uint64_t v;
    pb s;
    int want_len = f->kind != F_INT64 && f->kind != F_BOOL;
    if (f->kind == F_SERVER)
        return skip(b, wire) ? fail(why, n, "field \"%s\" is cut short", f->json)
                             : 0;
    if ((want_len && wire != WIRE_LEN) || (!want_len && wire != WIRE_VARINT))
        return fail(why, n, "field \"%s\" has the wrong wire type %u", f->json,
                    wire);
    if (!want_len) {
        if (read_varint(&v, b))
            return fail(why, n, "field \"%s\" is cut short", f->json);
        cJSON_DeleteItemFromObjectCaseSensitive(obj, f->json);
        if (v == 0)
            return 0; /* Go's encoder writes zero values; JSON omits them */
        if (f->kind == F_INT64 && (int64_t)v != (int64_t)(double)(int64_t)v)
            return fail(why, n, "field \"%s\" holds an integer beyond 2^53 "
                        "that cannot be stored exactly", f->json);
        cJSON *item = f->kind == F_BOOL ? cJSON_CreateBool(v != 0)
                                        : cJSON_CreateNumber((double)(int64_t)v);
        return item && cJSON_AddItemToObject(obj, f->json, item) ? 0 : -1;
    }
    if (read_len(&s, b))
        return fail(why, n, "field \"%s\" is cut short", f->json);
    cJSON *item = NULL;
    switch (f->kind) {
    case F_STRING:
        cJSON_DeleteItemFromObjectCaseSensitive(obj, f->json);
        if (s.p == s.end)
            return 0; /* empty: omitted, as in JSON */
        if (has_nul(&s))
            return fail(why, n, "field \"%s\" holds a NUL byte, which a "
                        "string cannot carry", f->json);
        item = string_item(&s);
        if (!item)
            return fail(why, n, "field \"%s\" cannot be read", f->json);
        cJSON_AddItemToObject(obj, f->json, item);
        return 0;
    case F_STRINGS:
        if (has_nul(&s))
            return fail(why, n, "an item of \"%s\" holds a NUL byte, which a "
                        "string cannot carry", f->json);
        item = string_item(&s);
        if (!item)
            return fail(why, n, "an item of \"%s\" cannot be read", f->json);
        cJSON_AddItemToArray(child(obj, f->json, 1), item);
        return 0;
    case F_MAP_STR:
    case F_MAP_B64:
        return map_entry(child(obj, f->json, 0), &s, f->kind == F_MAP_B64,
                         f->json, why, n);
    case F_MESSAGE:
        if (depth >= MAX_DEPTH)
            return fail(why, n, "\"%s\" is nested too deeply", f->json);
        return decode(child(obj, f->json, 0), &s, f->sub, depth + 1, why, n);
    default:
        return -1;
    }
}

static int decode(cJSON *obj, pb *b, const msg_def *def, int depth,
                  char *why, size_t n)
{
    uint32_t num, wire;
    while (b->p < b->end) {
        if (read_tag(&num, &wire, b))
            return fail(why, n, "a field tag of %s is malformed", def->name);
        const field_def *f = NULL;
        for (size_t i = 0; i < def->n && !f; i++)
            if (def->fields[i].num == num)
                f = &def->fields[i];
        if (!f)
            return fail(why, n, "%s field %u is not supported in protobuf; "
                        "send the object as JSON or YAML", def->name, num);
        if (decode_field(obj, b, f, wire, depth, why, n))
            return -1;
    }
    return 0;
}

/* runtime.Unknown: {1: TypeMeta{1: apiVersion, 2: kind}, 2: raw, ...}. */
static int read_unknown(char **api_version, char **kind, pb *raw, pb *b)
{
    uint32_t num, wire;
    pb s, t;
    while (b->p < b->end) {
        if (read_tag(&num, &wire, b))
            return -1;
        if (num == 1 && wire == WIRE_LEN) {
            if (read_len(&s, b))
                return -1;
            while (s.p < s.end) {
                if (read_tag(&num, &wire, &s))
                    return -1;
                if ((num == 1 || num == 2) && wire == WIRE_LEN) {
                    if (read_len(&t, &s))
                        return -1;
                    char **dst = num == 1 ? api_version : kind;
                    /* A NUL inside would let "Secret\0junk" pass as Secret. */
                    if (has_nul(&t))
                        return -1;
                    free(*dst);
                    *dst = dup_bytes(&t);
                } else if (skip(&s, wire)) {
                    return -1;
                }
            }
        } else if (num == 2 && wire == WIRE_LEN) {
            if (read_len(raw, b))
                return -1;
        } else if (num == 3 && wire == WIRE_LEN) {
            /* contentEncoding: set means raw is compressed, which this
             * decoder would misread; empty is fine. */
            pb e;
            if (read_len(&e, b) || e.p != e.end)
                return -1;
        } else if (skip(b, wire)) {
            return -1;
        }
    }
    return 0;
}

cJSON *vrt_k8s_protobuf_to_json(const char *body, size_t len, char *why,
                                size_t why_len)
{
    pb b = {(const uint8_t *)body, (const uint8_t *)body + len};
    pb raw = {NULL, NULL};
    char *api_version = NULL, *kind = NULL;
    cJSON *obj = NULL;
    const msg_def *def = NULL;

    if (len < 4 || memcmp(body, "k8s\0", 4) != 0) {
        fail(why, why_len, "it does not start with the Kubernetes protobuf "
             "magic \"k8s\\0\"");
        goto cleanup;
    }
    b.p += 4;
    if (read_unknown(&api_version, &kind, &raw, &b) || !raw.p) {
        fail(why, why_len, "its envelope (runtime.Unknown) is malformed");
        goto cleanup;
    }
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kind && strcmp(kind, kinds[i].kind) == 0)
            def = kinds[i].def;
    if (!def || !api_version || strcmp(api_version, "v1") != 0) {
        fail(why, why_len, "kind \"%s\" (apiVersion \"%s\") is read as JSON "
             "or YAML only", kind ? kind : "", api_version ? api_version : "");
        goto cleanup;
    }
    obj = cJSON_CreateObject();
    if (!obj || !cJSON_AddStringToObject(obj, "apiVersion", api_version) ||
        !cJSON_AddStringToObject(obj, "kind", kind) ||
        decode(obj, &raw, def, 0, why, why_len)) {
        cJSON_Delete(obj);
        obj = NULL;
    }
cleanup:
    free(api_version);
    free(kind);
    return obj;
}
