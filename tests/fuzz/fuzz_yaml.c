/*
 * fuzz_yaml.c - libFuzzer driver for core/util/yaml.c.
 *
 * Any input must parse or fail cleanly, within the depth and alias
 * limits; whatever parses must emit as YAML that reads back to the same
 * tree (the emitter's quoting is checked against the parser's typing).
 *
 * Build and run (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Iabi \
 *     $(pkg-config --cflags libcjson yaml-0.1) tests/fuzz/fuzz_yaml.c \
 *     core/util/yaml.c core/util/yaml_emit.c \
 *     $(pkg-config --libs libcjson yaml-0.1) -lm \
 *     -o /tmp/fuzz_yaml
 *   /tmp/fuzz_yaml -max_total_time=120 -max_len=4096
 * tests/unit/test_yaml.c includes this file and runs it on fixed inputs.
 */
#include <vrt/yaml.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_yaml_fail(const char *what, const cJSON *doc,
                           const char *yaml)
{
    char *json = cJSON_PrintUnformatted(doc);
    fprintf(stderr, "fuzz_yaml: %s\ndocument: %s\nemitted:\n%s\n", what,
            json ? json : "?", yaml ? yaml : "");
    cJSON_free(json);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    cJSON *docs = vrt_yaml_parse_all((const char *)data, size, err,
                                     sizeof(err));
    if (!docs) {
        if (strncmp(err, "line ", 5) != 0) /* every error says where */
            fuzz_yaml_fail(err, NULL, NULL);
        return 0;
    }
    const cJSON *doc;
    cJSON_ArrayForEach(doc, docs) {
        char *yaml = vrt_yaml_emit(doc);
        if (!yaml)
            fuzz_yaml_fail("emit returned NULL", doc, NULL);
        cJSON *back = vrt_yaml_parse_all(yaml, strlen(yaml), err, sizeof(err));
        if (!back)
            fuzz_yaml_fail(err, doc, yaml);
        if (cJSON_GetArraySize(back) != 1 ||
            !cJSON_Compare(cJSON_GetArrayItem(back, 0), doc, 1))
            fuzz_yaml_fail("emitted YAML reads back differently", doc, yaml);
        cJSON_Delete(back);
        free(yaml);
    }
    cJSON_Delete(docs);
    return 0;
}
