/*
 * fuzz_jsonpath.c - libFuzzer driver for core/util/jsonpath.c (kubectl's
 * -o jsonpath and printer columns; CRD printer columns name paths).
 *
 * The input is "PATH\nJSON": the path is evaluated on the document (or on
 * a fixed VirtualMachine when the JSON does not parse) into a small and a
 * large buffer.  Either call fails or writes a terminated string; the
 * small buffer holds a prefix of the large one's text.
 */
#include <vrt/jsonpath.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_jsonpath_vm[] =
    "{\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\","
    "\"a.b\":\"dots\"}},\"status\":{\"ips\":[\"10.0.0.1\",\"fe80::1\"],"
    "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
    "\"disks\":[[1,2],{\"x\":null}]}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *in = malloc(size + 1);
    if (!in)
        abort();
    memcpy(in, data, size);
    in[size] = '\0';
    char *nl = memchr(in, '\n', size);
    cJSON *doc = NULL;
    if (nl) {
        *nl = '\0';
        doc = cJSON_ParseWithLength(nl + 1, size - (size_t)(nl + 1 - in));
    }
    if (!doc)
        doc = cJSON_Parse(fuzz_jsonpath_vm);

    char small[8], big[4096];
    int rb = vrt_jsonpath_text(big, sizeof(big), doc, in);
    int rs = vrt_jsonpath_text(small, sizeof(small), doc, in);
    if (rb != rs || (rb == 0 && (memchr(big, '\0', sizeof(big)) == NULL ||
                                 strncmp(small, big, strlen(small)) != 0))) {
        fprintf(stderr, "fuzz_jsonpath: path \"%s\" gives %d/%d, "
                        "\"%.64s\" vs \"%s\"\n", in, rb, rs, big, small);
        abort();
    }
    (void)vrt_jsonpath_node(doc, in);
    cJSON_Delete(doc);
    free(in);
    return 0;
}
