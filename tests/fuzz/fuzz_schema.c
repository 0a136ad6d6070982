/*
 * fuzz_schema.c - libFuzzer driver for core/apiserver/schema*.c.
 *
 * The input is YAML: the first document is a schema, the second (or the
 * first again) the object.  Admission runs as the API server runs it
 * (prune, default, validate, format) and checks invariants: validation
 * does not change the object, pruning twice drops nothing the second
 * time, defaulting twice changes nothing the second time.  The schema
 * is trusted input in the product (our CRDs), so inputs whose schema size
 * times object size is large are skipped.
 *
 * Build and run (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Iabi -Icore \
 *     $(pkg-config --cflags libcjson yaml-0.1) tests/fuzz/fuzz_schema.c \
 *     core/apiserver/schema*.c core/util/yaml.c core/util/log.c \
 *     $(pkg-config --libs libcjson yaml-0.1) -lm -lpthread \
 *     -o /tmp/fuzz_schema
 *   /tmp/fuzz_schema -max_total_time=120 -max_len=4096
 * tests/unit/test_schema.c includes this file and runs it on fixed inputs.
 */
#include <vrt/schema.h>
#include <vrt/yaml.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fuzz_schema_nodes(const cJSON *n)
{
    size_t count = 1;
    const cJSON *c;
    cJSON_ArrayForEach(c, n) count += fuzz_schema_nodes(c);
    return count;
}

static void fuzz_schema_fail(const char *what)
{
    fprintf(stderr, "fuzz_schema: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *docs = vrt_yaml_parse_all((const char *)data, size, NULL, 0);
    if (!docs)
        return 0;
    const cJSON *schema = cJSON_GetArrayItem(docs, 0);
    const cJSON *input = cJSON_GetArrayItem(docs, 1);
    if (!input)
        input = schema;
    /* Schemas come from our CRDs, not from users: a hostile schema can
     * make defaulting copy a large default into every item of a large
     * array, which is a cost of the schema, not a bug.  Keep to inputs
     * where schema size times object size stays modest. */
    if (!schema ||
        fuzz_schema_nodes(schema) * fuzz_schema_nodes(input) > 2000000) {
        cJSON_Delete(docs);
        return 0;
    }
    cJSON *obj = cJSON_Duplicate(input, 1);
    char first[256];
    vrt_schema_prune(first, schema, obj);
    if (vrt_schema_prune(first, schema, obj) != 0)
        fuzz_schema_fail("a second prune dropped more fields");

    vrt_schema_apply_defaults(schema, obj);
    cJSON *once = cJSON_Duplicate(obj, 1);
    vrt_schema_apply_defaults(schema, obj);
    if (!cJSON_Compare(once, obj, 1))
        fuzz_schema_fail("a second defaulting changed the object");

    vrt_schema_result res;
    size_t n = vrt_schema_validate(&res, schema, obj);
    if (n != res.count)
        fuzz_schema_fail("the returned count differs from the result's");
    if (!cJSON_Compare(once, obj, 1))
        fuzz_schema_fail("validation changed the object");
    char msg[2048];
    vrt_schema_format(msg, sizeof(msg), "Thing.example.com", "x", &res);
    if (n && !strstr(msg, " is invalid: "))
        fuzz_schema_fail("the message does not say what is invalid");

    cJSON_Delete(once);
    cJSON_Delete(obj);
    cJSON_Delete(docs);
    return 0;
}
