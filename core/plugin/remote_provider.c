/*
 * What a Provider object says about reaching its provider host: the
 * annotation with the URL, and spec.runtime.service.tls for the client
 * certificate (the reference's layout: a Secret with tls.crt, tls.key and
 * ca.crt).  Plaintext only when tls.enabled is false, said explicitly.
 */
#include <vrt/remote.h>

#include <vrt/log.h>

#include <string.h>

VRT_LOG_SOURCE("core.remote");

static const cJSON *path(const cJSON *j, const char *const *keys)
{
    for (; j && *keys; keys++)
        j = cJSON_GetObjectItem(j, *keys);
    return j;
}

static const char *annotation(const cJSON *provider, const char *key)
{
    static const char *const ann[] = {"metadata", "annotations", NULL};
    const char *v = cJSON_GetStringValue(
        cJSON_GetObjectItem(path(provider, ann), key));
    return v && *v ? v : NULL;
}

const char *vrt_remote_url_of(const cJSON *provider)
{
    return annotation(provider, VRT_PROVIDER_HOST_ANNOTATION);
}

static const char *name_of(const cJSON *provider)
{
    static const char *const nm[] = {"metadata", "name", NULL};
    const char *n = cJSON_GetStringValue(path(provider, nm));
    return n ? n : "";
}

static const cJSON *tls_block(const cJSON *provider)
{
    static const char *const tls[] = {"spec", "runtime", "service", "tls",
                                      NULL};
    return path(provider, tls);
}

int vrt_remote_tls_ref(const cJSON **secret_ref, const cJSON *provider,
                       vrt_error *err)
{
    *secret_ref = NULL;
    const cJSON *tls = tls_block(provider);
    if (!cJSON_IsObject(tls))
        return vrt_error_set(err, VRT_E_INVALID,
                             "Provider \"%s\" is served by a provider host "
                             "(annotation %s) but has no "
                             "spec.runtime.service.tls: give tls.secretRef "
                             "(tls.crt, tls.key, ca.crt), or tls.enabled: "
                             "false for plaintext.",
                             name_of(provider), VRT_PROVIDER_HOST_ANNOTATION);
    if (cJSON_IsFalse(cJSON_GetObjectItem(tls, "enabled")))
        return VRT_OK;
    const cJSON *ref = cJSON_GetObjectItem(tls, "secretRef");
    const char *n = cJSON_GetStringValue(cJSON_GetObjectItem(ref, "name"));
    if (!n || !*n)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Provider \"%s\": spec.runtime.service.tls is "
                             "enabled but tls.secretRef names no Secret "
                             "(with tls.crt, tls.key and ca.crt).",
                             name_of(provider));
    *secret_ref = ref;
    return VRT_OK;
}

static const char *pair(char *const *pairs, const char *key)
{
    for (size_t i = 0; pairs && pairs[i] && pairs[i + 1]; i += 2)
        if (strcmp(pairs[i], key) == 0)
            return pairs[i + 1];
    return NULL;
}

int vrt_remote_opts_from(vrt_remote_opts *o, const cJSON *provider,
                         char *const *tls_pairs, vrt_error *err)
{
    memset(o, 0, sizeof(*o));
    const cJSON *tls = tls_block(provider);
    if (cJSON_IsFalse(cJSON_GetObjectItem(tls, "enabled"))) {
        o->insecure = 1;
        return VRT_OK;
    }
    o->cert_pem = pair(tls_pairs, "tls.crt");
    o->key_pem = pair(tls_pairs, "tls.key");
    o->ca_pem = pair(tls_pairs, "ca.crt");
    o->skip_verify = cJSON_IsTrue(cJSON_GetObjectItem(tls, "insecureSkipVerify"));
    o->server_name = annotation(provider,
                                VRT_PROVIDER_HOST_SERVER_NAME_ANNOTATION);
    const char *missing = !o->cert_pem ? "tls.crt"
                          : !o->key_pem ? "tls.key"
                          : !o->ca_pem && !o->skip_verify ? "ca.crt"
                                                          : NULL;
    if (missing)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Provider \"%s\": the TLS Secret of "
                             "spec.runtime.service.tls.secretRef has no key "
                             "\"%s\".",
                             name_of(provider), missing);
    if (o->skip_verify)
        vrt_log_warn("Provider \"%s\": tls.insecureSkipVerify is set; the "
                     "provider host's certificate is not checked.",
                     name_of(provider));
    return VRT_OK;
}
