/*
 * fuzz_patch.c - libFuzzer driver for request bodies of the standalone API
 * server: the body parsers of core/apiserver/rest_write.c (JSON, or YAML
 * for a yaml content type) and the patches of core/apiserver/patch.c
 * (RFC 6902 JSON patch; RFC 7386 merge patch, which also serves strategic
 * merge and apply patches).
 *
 * The input is "OBJECT\n--\nPATCH"; without the separator the object is a
 * fixed VirtualMachine and the whole input is the patch.  Each part is read
 * as JSON, then as YAML.  Checks: a JSON patch applies or says why, and
 * what it leaves prints as JSON that reads back equal; a merge patch is
 * idempotent (applying it twice equals applying it once) on documents
 * without duplicate keys.
 */
#include "../../core/apiserver/apiserver.h"

#include <vrt/json.h>
#include <vrt/yaml.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_patch_vm[] =
    "{\"apiVersion\":\"infra.virtrigaud.io/v1beta1\",\"kind\":"
    "\"VirtualMachine\",\"metadata\":{\"name\":\"web\",\"namespace\":"
    "\"default\",\"labels\":{\"app\":\"web\"},\"finalizers\":[\"a\"]},"
    "\"spec\":{\"providerRef\":{\"name\":\"lv\"},\"classRef\":{\"name\":"
    "\"small\"},\"powerState\":\"On\",\"disks\":[{\"name\":\"d\","
    "\"sizeGiB\":10}],\"tags\":[\"x\",\"y\"]}}";

static void fuzz_patch_fail(const char *what, const cJSON *doc)
{
    char *json = doc ? cJSON_PrintUnformatted(doc) : NULL;
    fprintf(stderr, "fuzz_patch: %s\n%s\n", what, json ? json : "");
    cJSON_free(json);
    abort();
}

/* JSON first (as for application/json), then YAML (application/yaml). */
static cJSON *fuzz_patch_body(const char *text, size_t len)
{
    char why[256];
    /* As parse_body: JSON that cJSON would alter is refused first. */
    cJSON *obj = vrt_json_text_check(text, len, why, sizeof(why)) == 0
                     ? cJSON_ParseWithLengthOpts(text, len, NULL, 0)
                     : NULL;
    if (obj)
        return obj;
    cJSON *docs = vrt_yaml_parse_all(text, len, why, sizeof(why));
    if (docs && cJSON_GetArraySize(docs) == 1)
        obj = cJSON_DetachItemFromArray(docs, 0);
    cJSON_Delete(docs);
    return obj;
}

/* Non-zero if an object anywhere holds a key twice (cJSON keeps both;
 * a merge patch then removes one occurrence per application). */
static int fuzz_patch_dup_keys(const cJSON *n)
{
    const cJSON *a, *b;
    cJSON_ArrayForEach(a, n) {
        if (cJSON_IsObject(n))
            for (b = a->next; b; b = b->next)
                if (a->string && b->string && !strcmp(a->string, b->string))
                    return 1;
        if (fuzz_patch_dup_keys(a))
            return 1;
    }
    return 0;
}

static void fuzz_patch_roundtrip(const cJSON *doc)
{
    char *text = cJSON_PrintUnformatted(doc);
    cJSON *back = text ? cJSON_Parse(text) : NULL;
    if (!back || !cJSON_Compare(back, doc, 1))
        fuzz_patch_fail("the patched object does not read back", doc);
    cJSON_Delete(back);
    cJSON_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    const char *text = (const char *)data;
    const char *sep = size >= 4 ? memmem(text, size, "\n--\n", 4) : NULL;
    cJSON *target = NULL, *patch = NULL;
    if (sep) {
        target = fuzz_patch_body(text, (size_t)(sep - text));
        patch = fuzz_patch_body(sep + 4, size - (size_t)(sep + 4 - text));
    } else {
        patch = fuzz_patch_body(text, size);
    }
    if (!target)
        target = cJSON_Parse(fuzz_patch_vm);
    if (!patch)
        goto cleanup;

    cJSON *next = cJSON_Duplicate(target, 1);
    char why[256] = "";
    if (vrt_json_patch(next, patch, why, sizeof(why)) == 0)
        fuzz_patch_roundtrip(next);
    else if (!why[0])
        fuzz_patch_fail("a refused JSON patch has no reason", patch);
    cJSON_Delete(next);

    /* The server's target is always a stored object. */
    if (cJSON_IsObject(patch) && cJSON_IsObject(target) &&
        !fuzz_patch_dup_keys(target) &&
        !fuzz_patch_dup_keys(patch)) {
        cJSON *once = cJSON_Duplicate(target, 1);
        vrt_merge_patch(once, patch);
        fuzz_patch_roundtrip(once);
        cJSON *twice = cJSON_Duplicate(once, 1);
        vrt_merge_patch(twice, patch);
        if (!cJSON_Compare(once, twice, 1))
            fuzz_patch_fail("a merge patch is not idempotent", patch);
        cJSON_Delete(twice);
        cJSON_Delete(once);
    }
cleanup:
    cJSON_Delete(patch);
    cJSON_Delete(target);
    return 0;
}
