/*
 * test_protobuf.c - core/apiserver/protobuf.c: the Kubernetes protobuf
 * bodies kubectl sends for Secret, ConfigMap and Namespace, and refusals
 * of everything malformed or not modelled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apiserver/protobuf.h"

/* A tiny protobuf writer, enough to build test messages. */
typedef struct buf {
    unsigned char b[4096];
    size_t n;
} buf;

static void put_varint(buf *o, uint64_t v)
{
    do {
        unsigned char c = v & 0x7f;
        v >>= 7;
        o->b[o->n++] = (unsigned char)(c | (v ? 0x80 : 0));
    } while (v);
}

static void put_len(buf *o, unsigned num, const void *p, size_t n)
{
    put_varint(o, (uint64_t)num << 3 | 2);
    put_varint(o, n);
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put_str(buf *o, unsigned num, const char *s)
{
    put_len(o, num, s, strlen(s));
}

static void put_entry(buf *o, unsigned num, const char *k, const void *v,
                      size_t vn)
{
    buf e = {.n = 0};
    put_str(&e, 1, k);
    put_len(&e, 2, v, vn);
    put_len(o, num, e.b, e.n);
}

/* "k8s\0" + Unknown{TypeMeta{v1, kind}, raw}. */
static buf envelope(const char *kind, const buf *raw)
{
    buf tm = {.n = 0}, o = {.n = 0};
    memcpy(o.b, "k8s", 4);
    o.n = 4;
    put_str(&tm, 1, "v1");
    put_str(&tm, 2, kind);
    put_len(&o, 1, tm.b, tm.n);
    put_len(&o, 2, raw->b, raw->n);
    put_str(&o, 4, "application/vnd.kubernetes.protobuf");
    return o;
}

/* ObjectMeta as Go writes it: every string, empty ones included. */
static buf meta(const char *name)
{
    buf m = {.n = 0}, ts = {.n = 0};
    put_str(&m, 1, name);
    put_str(&m, 2, "");
    put_str(&m, 3, "prod");
    put_str(&m, 4, "");
    put_str(&m, 5, "");
    put_str(&m, 6, "");
    put_varint(&m, 7 << 3);
    put_varint(&m, 0);
    put_len(&m, 8, ts.b, ts.n);
    put_entry(&m, 11, "app", "web", 3);
    return m;
}

static cJSON *decode(const buf *b, char *why, size_t n)
{
    return vrt_k8s_protobuf_to_json((const char *)b->b, b->n, why, n);
}

static void secret_as_kubectl_sends_it(void **state)
{
    (void)state;
    buf raw = {.n = 0}, m = meta("db");
    put_len(&raw, 1, m.b, m.n);
    put_entry(&raw, 2, "password", "p\0ss", 4); /* bytes may hold NUL */
    put_str(&raw, 3, "Opaque");
    buf b = envelope("Secret", &raw);
    char why[256] = "";
    cJSON *o = decode(&b, why, sizeof(why));
    assert_non_null(o);
    char *text = cJSON_PrintUnformatted(o);
    assert_string_equal(text,
        "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"db\","
        "\"namespace\":\"prod\",\"labels\":{\"app\":\"web\"}},"
        "\"data\":{\"password\":\"cABzcw==\"},\"type\":\"Opaque\"}");
    free(text);
    cJSON_Delete(o);
}

static void config_map_and_namespace(void **state)
{
    (void)state;
    buf raw = {.n = 0}, m = meta("cfg");
    put_len(&raw, 1, m.b, m.n);
    put_entry(&raw, 2, "k", "v", 1);
    put_entry(&raw, 2, "k", "w", 1); /* the last value of a key wins */
    buf b = envelope("ConfigMap", &raw);
    char why[256] = "";
    cJSON *o = decode(&b, why, sizeof(why));
    assert_non_null(o);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(data, "k")->valuestring, "w");
    assert_int_equal(cJSON_GetArraySize(data), 1);
    cJSON_Delete(o);

    buf ns = {.n = 0}, nm = meta("team");
    put_len(&ns, 1, nm.b, nm.n);
    b = envelope("Namespace", &ns);
    o = decode(&b, why, sizeof(why));
    assert_non_null(o);
    cJSON_Delete(o);
}

static void refusals_name_the_problem(void **state)
{
    (void)state;
    char why[256];
    buf raw = {.n = 0}, m = meta("x");
    put_len(&raw, 1, m.b, m.n);
    buf good = envelope("Secret", &raw);

    /* Every truncation of a valid body is refused, none crashes. */
    for (size_t n = 0; n < good.n; n++) {
        buf cut = good;
        cut.n = n;
        cJSON *o = decode(&cut, why, sizeof(why));
        if (o) { /* a cut at a field boundary of the raw object is legal */
            cJSON_Delete(o);
            continue;
        }
        assert_true(why[0] != '\0');
    }

    buf bad = {.n = 0};
    put_str(&bad, 1, "x");
    buf plain = bad;
    assert_null(decode(&plain, why, sizeof(why)));
    assert_non_null(strstr(why, "magic"));

    /* An ownerReference (ObjectMeta field 13) would be lost: refused. */
    buf ref = {.n = 0}, m2 = meta("x");
    put_str(&m2, 13, "\x0a\x03Pod");
    put_len(&ref, 1, m2.b, m2.n);
    buf b = envelope("ConfigMap", &ref);
    assert_null(decode(&b, why, sizeof(why)));
    assert_non_null(strstr(why, "ObjectMeta field 13"));

    /* A kind with a NUL inside is not that kind. */
    {
        buf tm = {.n = 0}, o = {.n = 0};
        memcpy(o.b, "k8s", 4);
        o.n = 4;
        put_str(&tm, 1, "v1");
        put_len(&tm, 2, "Secret\0junk", 11);
        put_len(&o, 1, tm.b, tm.n);
        put_len(&o, 2, raw.b, raw.n);
        assert_null(decode(&o, why, sizeof(why)));
        assert_non_null(strstr(why, "envelope"));
    }
    /* A compressed raw (contentEncoding set) is refused, not misread. */
    {
        buf enc = envelope("Secret", &raw);
        put_str(&enc, 3, "gzip");
        assert_null(decode(&enc, why, sizeof(why)));
        assert_non_null(strstr(why, "envelope"));
    }
    /* Kinds not modelled say so. */
    b = envelope("Pod", &raw);
    assert_null(decode(&b, why, sizeof(why)));
    assert_non_null(strstr(why, "\"Pod\""));

    /* A NUL inside a string value cannot become JSON text. */
    buf nul = {.n = 0};
    put_len(&nul, 3, "Op\0aque", 7);
    b = envelope("Secret", &nul);
    assert_null(decode(&b, why, sizeof(why)));
    assert_non_null(strstr(why, "\"type\""));

    /* A length running past the end of the body. */
    buf over = {.n = 0};
    put_varint(&over, 2 << 3 | 2);
    put_varint(&over, 1u << 30);
    b = envelope("Secret", &over);
    assert_null(decode(&b, why, sizeof(why)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(secret_as_kubectl_sends_it),
        cmocka_unit_test(config_map_and_namespace),
        cmocka_unit_test(refusals_name_the_problem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
