/*
 * Admission of a written object: type and name checks, unknown-field
 * handling (fieldValidation), defaults, and validation against the CRD's
 * openAPIV3Schema, answering in Kubernetes' own wording.
 */
#include "admit.h"

#include <vrt/schema.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int dns1123_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(islower(c) || isdigit(c) || c == '-' || c == '.'))
            return 0;
    }
    return isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[n - 1]);
}

static void group_kind(char *buf, size_t size, const vrt_resource *res)
{
    if (res->group[0])
        snprintf(buf, size, "%s.%s", res->kind, res->group);
    else
        snprintf(buf, size, "%s", res->kind);
}

void vrt_api_version_of(char *buf, size_t size, const vrt_resource *res)
{
    if (res->group[0])
        snprintf(buf, size, "%s/%s", res->group, res->version);
    else
        snprintf(buf, size, "%s", res->version);
}

static int check_type(vrt_resp *r, const vrt_resource *res, cJSON *obj)
{
    char want[200];
    vrt_api_version_of(want, sizeof(want), res);
    cJSON *av = cJSON_GetObjectItemCaseSensitive(obj, "apiVersion");
    cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
    if (!av && !kind) { /* kubectl always sends both; be lenient to curl */
        cJSON_AddStringToObject(obj, "apiVersion", want);
        cJSON_AddStringToObject(obj, "kind", res->kind);
        return 0;
    }
    if (!cJSON_IsString(av) || strcmp(av->valuestring, want) != 0 ||
        !cJSON_IsString(kind) || strcmp(kind->valuestring, res->kind) != 0) {
        vrt_resp_status(r, 400, "BadRequest",
                        "the object's apiVersion/kind \"%s\"/\"%s\" does not "
                        "match the URL's \"%s\"/\"%s\"",
                        cJSON_IsString(av) ? av->valuestring : "",
                        cJSON_IsString(kind) ? kind->valuestring : "", want,
                        res->kind);
        return -1;
    }
    return 0;
}

int vrt_admit(vrt_resp *r, const vrt_resource *res, cJSON *obj,
              const char *field_validation, char **warning)
{
    char gk[200];
    group_kind(gk, sizeof(gk), res);
    *warning = NULL;

    if (!cJSON_IsObject(obj)) {
        vrt_resp_status(r, 400, "BadRequest",
                        "the request body is not a JSON object");
        return -1;
    }
    if (check_type(r, res, obj))
        return -1;
    cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (!cJSON_IsObject(md)) {
        vrt_resp_status(r, 422, "Invalid",
                        "%s is invalid: metadata: Required value", gk);
        return -1;
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
    if (!cJSON_IsString(name) || !dns1123_subdomain(name->valuestring)) {
        vrt_resp_status(
            r, 422, "Invalid",
            "%s \"%s\" is invalid: metadata.name: Invalid value: \"%s\": a "
            "lowercase RFC 1123 subdomain must consist of lower case "
            "alphanumeric characters, '-' or '.', and must start and end "
            "with an alphanumeric character",
            gk, cJSON_IsString(name) ? name->valuestring : "",
            cJSON_IsString(name) ? name->valuestring : "");
        return -1;
    }
    if (!res->schema)
        return 0;

    char first[256] = "";
    size_t unknown = vrt_schema_prune(first, res->schema, obj);
    if (unknown) {
        const char *mode = field_validation ? field_validation : "Warn";
        if (strcmp(mode, "Strict") == 0) {
            vrt_resp_status(r, 400, "BadRequest",
                            "%s in version \"%s\" cannot be handled as a %s: "
                            "strict decoding error: unknown field \"%s\"",
                            res->kind, res->version, res->kind, first);
            return -1;
        }
        if (strcmp(mode, "Ignore") != 0) {
            size_t n = strlen(first) + 32;
            *warning = malloc(n);
            if (!*warning)
                abort();
            snprintf(*warning, n, "unknown field \"%s\"", first);
        }
    }
    vrt_schema_apply_defaults(res->schema, obj);
    vrt_schema_result vr;
    if (vrt_schema_validate(&vr, res->schema, obj)) {
        char msg[1024];
        vrt_schema_format(msg, sizeof(msg), gk, name->valuestring, &vr);
        vrt_resp_status(r, 422, "Invalid", "%s", msg);
        return -1;
    }
    return 0;
}
