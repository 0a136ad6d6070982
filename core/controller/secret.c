/*
 * Reading Secrets: the data of a Secret, base64-decoded, as a NULL-ended
 * list of key, value pairs that is wiped when freed.  Used for provider
 * credentials and for cloud-init documents kept in Secrets.
 */
#include "controller_internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vrt_secrets_free(char **s)
{
    for (size_t i = 0; s && s[i]; i++) {
        OPENSSL_cleanse(s[i], strlen(s[i]));
        free(s[i]);
    }
    free(s);
}

/* The Secret's data, base64-decoded, as pairs.  *rv gets its version. */
int vrt_secret_load(char ***out, char rv[32], vrt_controller *c,
                    const char *ns, const cJSON *ref, vrt_error *err)
{
    *out = NULL;
    rv[0] = '\0';
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(ref, "name"));
    const char *sns = cJSON_GetStringValue(cJSON_GetObjectItem(ref, "namespace"));
    if (!name) {
        *out = calloc(1, sizeof(char *));
        if (!*out)
            abort();
        return VRT_OK; /* no credentials: fine for mock and local libvirt */
    }
    /* A namespaced object reads Secrets of its own namespace only: a
     * reference into another one would let whoever may create a Provider
     * or VMMigration use credentials they cannot read themselves. */
    if (sns && *sns && strcmp(sns, ns) != 0)
        return vrt_error_set(err, VRT_E_INVALID,
                             "The credentials Secret must be in the object's "
                             "own namespace \"%s\", not \"%s\".",
                             ns, sns);
    char path[600];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/secrets/%s", ns, name);
    cJSON *sec = NULL;
    long status = 0;
    int rc = vrt_kube_request(&sec, &status, c->kube, "GET", path, NULL, NULL,
                              err);
    if (rc == VRT_OK && status != 200)
        rc = vrt_error_set(err, status == 404 ? VRT_E_NOTFOUND : err->code,
                           "The credentials Secret \"%s/%s\" cannot be read "
                           "(HTTP %ld).",
                           ns, name, status);
    if (rc != VRT_OK) {
        cJSON_Delete(sec);
        return rc;
    }
    const cJSON *data = cJSON_GetObjectItem(sec, "data");
    const cJSON *sdata = cJSON_GetObjectItem(sec, "stringData");
    size_t n = (size_t)cJSON_GetArraySize(data) + (size_t)cJSON_GetArraySize(sdata);
    char **pairs = calloc(2 * n + 1, sizeof(char *));
    if (!pairs)
        abort();
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, data) {
        const char *b64 = cJSON_GetStringValue(it);
        if (!b64)
            continue;
        size_t len = strlen(b64);
        unsigned char *v = calloc(1, len / 4 * 3 + 4);
        if (!v)
            abort();
        int m = EVP_DecodeBlock(v, (const unsigned char *)b64, (int)len);
        if (m < 0) {
            free(v);
            continue;
        }
        while (len > 0 && b64[len - 1] == '=') {
            len--;
            m--;
        }
        v[m] = '\0';
        pairs[i++] = strdup(it->string);
        pairs[i++] = (char *)v;
    }
    cJSON_ArrayForEach(it, sdata) {
        if (cJSON_IsString(it)) {
            pairs[i++] = strdup(it->string);
            pairs[i++] = strdup(it->valuestring);
        }
    }
    const char *srv = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(sec, "metadata"), "resourceVersion"));
    snprintf(rv, 32, "%s", srv ? srv : "");
    /* Wipe the decoded copy held by cJSON before freeing it. */
    cJSON_ArrayForEach(it, data) {
        if (cJSON_IsString(it))
            OPENSSL_cleanse(it->valuestring, strlen(it->valuestring));
    }
    cJSON_Delete(sec);
    *out = pairs;
    return VRT_OK;
}

const char *vrt_secret_value(char *const *pairs, const char *key)
{
    for (size_t i = 0; pairs && pairs[i]; i += 2)
        if (strcmp(pairs[i], key) == 0)
            return pairs[i + 1];
    return NULL;
}
