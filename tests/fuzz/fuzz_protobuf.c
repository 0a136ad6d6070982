/*
 * fuzz_protobuf.c - libFuzzer driver for core/apiserver/protobuf.c, which
 * reads the application/vnd.kubernetes.protobuf request bodies kubectl
 * sends for Secrets, ConfigMaps and Namespaces (straight from API
 * clients).
 *
 * Any body is turned into an object or refused with a reason; an object
 * is a JSON object with apiVersion "v1" and a kind, and prints as JSON
 * that reads back equal.
 */
#include "../../core/apiserver/protobuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_protobuf_fail(const char *what, const cJSON *obj)
{
    char *json = obj ? cJSON_PrintUnformatted(obj) : NULL;
    fprintf(stderr, "fuzz_protobuf: %s\n%s\n", what, json ? json : "");
    cJSON_free(json);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char why[256] = "";
    cJSON *obj = vrt_k8s_protobuf_to_json((const char *)data, size, why,
                                          sizeof(why));
    if (!obj) {
        if (!why[0])
            fuzz_protobuf_fail("a refused body has no reason", NULL);
        return 0;
    }
    const char *api = cJSON_GetStringValue(cJSON_GetObjectItem(obj,
                                                               "apiVersion"));
    if (!cJSON_IsObject(obj) || !api || strcmp(api, "v1") != 0 ||
        !cJSON_GetStringValue(cJSON_GetObjectItem(obj, "kind")))
        fuzz_protobuf_fail("the object lacks apiVersion v1 or a kind", obj);
    char *text = cJSON_PrintUnformatted(obj);
    cJSON *back = text ? cJSON_Parse(text) : NULL;
    if (!back || !cJSON_Compare(back, obj, 1))
        fuzz_protobuf_fail("the object does not read back as JSON", obj);
    cJSON_Delete(back);
    cJSON_free(text);
    cJSON_Delete(obj);
    return 0;
}
