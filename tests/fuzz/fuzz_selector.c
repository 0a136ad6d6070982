/*
 * fuzz_selector.c - libFuzzer driver for core/apiserver/selector.c: the
 * labelSelector and fieldSelector query parameters of list and watch
 * requests, which come straight from API clients.
 *
 * The first byte picks label (even) or field (odd) selector; the rest is
 * the selector text.  Parsing must succeed or name the problem, and a
 * selector that parses is matched against a few objects, including ones
 * with odd label values, without crashing.
 */
#include <vrt/selector.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_selector_objects[] = {
    "{\"metadata\":{\"name\":\"web-1\",\"namespace\":\"default\","
    "\"labels\":{\"app\":\"web\",\"tier\":\"front\",\"a.b/c\":\"\"}},"
    "\"spec\":{\"powerState\":\"On\",\"cpu\":2},"
    "\"status\":{\"phase\":\"Ready\"}}",
    "{\"metadata\":{\"name\":\"x\",\"labels\":{}}}",
    "{\"metadata\":{\"labels\":null},\"spec\":[1,2,3]}",
    "{}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    int is_field = data[0] & 1;
    char *text = malloc(size);
    if (!text)
        abort();
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char err[256] = "";
    vrt_selector *sel = vrt_selector_parse(text, is_field, err, sizeof(err));
    if (!sel) {
        if (!err[0]) {
            fprintf(stderr, "fuzz_selector: \"%s\" refused without a "
                            "reason\n", text);
            abort();
        }
        free(text);
        return 0;
    }
    for (size_t i = 0; i < sizeof(fuzz_selector_objects) /
                                sizeof(fuzz_selector_objects[0]);
         i++) {
        cJSON *obj = cJSON_Parse(fuzz_selector_objects[i]);
        (void)vrt_selector_matches(sel, obj);
        cJSON_Delete(obj);
    }
    vrt_selector_free(sel);
    free(text);
    return 0;
}
