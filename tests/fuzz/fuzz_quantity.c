/*
 * fuzz_quantity.c - libFuzzer driver for the Kubernetes quantity and
 * duration parsers of core/controller/spec.c (VMClass memory "4Gi",
 * timeouts "90s"), which read what users write in manifests.
 *
 * The input is tried as a quantity string, as a JSON value (numbers are
 * quantities too) and as a duration.  Results are -1 (refused) or not
 * negative; a quantity with a trailing "Mi" is the plain number in MiB.
 */
#include "../../core/controller/controller_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* spec.c's other functions use this helper of core/controller/status.c;
 * defining it here keeps the rest of the controller out of the target. */
const char *vrt_meta_str(const cJSON *obj, const char *key)
{
    return cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"), key));
}

static void fuzz_quantity_fail(const char *what, const char *text,
                               long long v)
{
    fprintf(stderr, "fuzz_quantity: %s: \"%s\" gave %lld\n", what, text, v);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256)
        return 0;
    char *text = malloc(size + 3);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';

    cJSON *str = cJSON_CreateString(text);
    long long q = vrt_quantity_mib(str);
    if (q < -1)
        fuzz_quantity_fail("a quantity below -1", text, q);
    cJSON *val = cJSON_ParseWithLength(text, size);
    if (val) {
        long long v = vrt_quantity_mib(val);
        if (v < -1)
            fuzz_quantity_fail("a JSON quantity below -1", text, v);
        cJSON_Delete(val);
    }
    long d = vrt_duration_s(text);
    if (d < -1)
        fuzz_quantity_fail("a duration below -1", text, d);

    /* "N" bytes and "NMi" agree: NMi is N MiB whenever N parses. */
    if (q >= 0 && strspn(text, "0123456789") == size && size > 0 &&
        size < 12) {
        memcpy(text + size, "Mi", 3);
        cJSON_Delete(str);
        str = cJSON_CreateString(text);
        long long mi = vrt_quantity_mib(str);
        if (mi != atoll(text))
            fuzz_quantity_fail("N Mi is not N MiB", text, mi);
    }
    cJSON_Delete(str);
    free(text);
    return 0;
}
