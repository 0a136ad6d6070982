/*
 * Where the Kubernetes client connects and with which credentials: a
 * kubeconfig's current context, or the in-cluster service account.
 */
#include "kube_internal.h"

#include <vrt/yaml.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

void vrt_kube_conf_clear(vrt_kube_conf *c)
{
    if (c->token) {
        OPENSSL_cleanse(c->token, strlen(c->token));
        free(c->token);
    }
    if (c->key_pem) {
        OPENSSL_cleanse(c->key_pem, c->key_len);
        free(c->key_pem);
    }
    free(c->server);
    free(c->ca_pem);
    free(c->cert_pem);
    free(c->ns);
    memset(c, 0, sizeof(*c));
}

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

/* base64 "...-data" fields of a kubeconfig. */
static char *b64_decode(const char *in, size_t *len)
{
    size_t n = strlen(in);
    unsigned char *out = malloc(n / 4 * 3 + 4);
    if (!out)
        abort();
    int m = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (m < 0) {
        free(out);
        return NULL;
    }
    while (n > 0 && in[n - 1] == '=') { /* DecodeBlock keeps pad bytes */
        n--;
        m--;
    }
    out[m] = '\0';
    if (len)
        *len = (size_t)m;
    return (char *)out;
}

/* Finds the element named `name` in a kubeconfig list ("clusters"...),
 * returning its `field` object. */
static const cJSON *named(const cJSON *doc, const char *list,
                          const char *name, const char *field)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(doc, list)) {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItem(it, "name"));
        if (n && name && strcmp(n, name) == 0)
            return cJSON_GetObjectItem(it, field);
    }
    return NULL;
}

/* Inline "-data" or a file path, whichever the kubeconfig has. */
static char *data_or_file(const cJSON *obj, const char *data_key,
                          const char *file_key, size_t *len)
{
    const char *d = cJSON_GetStringValue(cJSON_GetObjectItem(obj, data_key));
    if (d)
        return b64_decode(d, len);
    const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(obj, file_key));
    if (!f)
        return NULL;
    size_t n = 0;
    char *text = vrt_kube_read_file(f, &n);
    if (len)
        *len = n;
    return text;
}

int vrt_kube_conf_from_file(vrt_kube_conf *c, const char *path,
                            vrt_error *err)
{
    char why[256];
    memset(c, 0, sizeof(*c));
    cJSON *docs = vrt_yaml_parse_file(path, why, sizeof(why));
    if (!docs)
        return vrt_error_set(err, VRT_E_INVALID,
                             "The kubeconfig \"%s\" cannot be read: %s.", path,
                             why);
    const cJSON *doc = cJSON_GetArrayItem(docs, 0);
    const char *ctxname =
        cJSON_GetStringValue(cJSON_GetObjectItem(doc, "current-context"));
    const cJSON *ctx = named(doc, "contexts", ctxname, "context");
    const char *cluster_name =
        cJSON_GetStringValue(cJSON_GetObjectItem(ctx, "cluster"));
    const char *user_name = cJSON_GetStringValue(cJSON_GetObjectItem(ctx, "user"));
    const cJSON *cluster = named(doc, "clusters", cluster_name, "cluster");
    const cJSON *user = named(doc, "users", user_name, "user");
    int rc = VRT_OK;
    if (!ctx || !cluster) {
        rc = vrt_error_set(err, VRT_E_INVALID,
                           "The kubeconfig \"%s\" has no usable current "
                           "context (current-context \"%s\").",
                           path, ctxname ? ctxname : "");
        goto cleanup;
    }
    c->server = dup_or_null(
        cJSON_GetStringValue(cJSON_GetObjectItem(cluster, "server")));
    if (!c->server) {
        rc = vrt_error_set(err, VRT_E_INVALID,
                           "The kubeconfig \"%s\": cluster \"%s\" has no "
                           "server.",
                           path, cluster_name ? cluster_name : "");
        goto cleanup;
    }
    c->ca_pem = data_or_file(cluster, "certificate-authority-data",
                             "certificate-authority", &c->ca_len);
    c->insecure = cJSON_IsTrue(
        cJSON_GetObjectItem(cluster, "insecure-skip-tls-verify"));
    c->token = dup_or_null(
        cJSON_GetStringValue(cJSON_GetObjectItem(user, "token")));
    if (!c->token) {
        const char *tf =
            cJSON_GetStringValue(cJSON_GetObjectItem(user, "tokenFile"));
        if (tf) {
            c->token = vrt_kube_read_file(tf, NULL);
            if (c->token)
                c->token[strcspn(c->token, "\r\n")] = '\0';
        }
    }
    c->cert_pem = data_or_file(user, "client-certificate-data",
                               "client-certificate", &c->cert_len);
    c->key_pem = data_or_file(user, "client-key-data", "client-key",
                              &c->key_len);
    c->ns = dup_or_null(
        cJSON_GetStringValue(cJSON_GetObjectItem(ctx, "namespace")));
cleanup:
    cJSON_Delete(docs);
    if (rc != VRT_OK)
        vrt_kube_conf_clear(c);
    return rc;
}

int vrt_kube_conf_in_cluster(vrt_kube_conf *c, vrt_error *err)
{
    memset(c, 0, sizeof(*c));
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !port)
        return vrt_error_set(err, VRT_E_NOTFOUND,
                             "Not running inside a cluster "
                             "(KUBERNETES_SERVICE_HOST is unset).");
    char url[512];
    /* An IPv6 service address needs brackets. */
    snprintf(url, sizeof(url), strchr(host, ':') ? "https://[%s]:%s"
                                                 : "https://%s:%s",
             host, port);
    c->server = dup_or_null(url);
    c->token = vrt_kube_read_file(SA_DIR "/token", NULL);
    c->ca_pem = vrt_kube_read_file(SA_DIR "/ca.crt", &c->ca_len);
    c->ns = vrt_kube_read_file(SA_DIR "/namespace", NULL);
    if (!c->token || !c->ca_pem) {
        vrt_kube_conf_clear(c);
        return vrt_error_set(err, VRT_E_UNAUTHORIZED,
                             "The service account token or CA in \"" SA_DIR
                             "\" cannot be read.");
    }
    c->token[strcspn(c->token, "\r\n")] = '\0';
    if (c->ns)
        c->ns[strcspn(c->ns, "\r\n")] = '\0';
    return VRT_OK;
}
