/*
 * client_cert.c - users authenticated by a TLS client certificate, as
 * kube-apiserver does with --client-ca-file: the certificate must chain to
 * the configured CA, be within its validity period and (when a CRL is
 * given) not be revoked.  The subject's CN is the user name and its O
 * entries are the groups; the groups give the role:
 *   system:masters, virtrigaud:admins   everything (the admin token's rights)
 *   virtrigaud:viewers                  get, list and watch only
 * A valid certificate with neither is authenticated but may do nothing.
 *
 * The CA and CRL files are read again when they change (checked at most
 * once a second), so a CRL can be updated without a restart.
 */
#include "apiserver.h"

#include <vrt/log.h>
#include <vrt/remote.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

VRT_LOG_SOURCE("apiserver");

struct vrt_client_ca {
    pthread_mutex_t lock;
    char *ca_path, *crl_path;
    X509_STORE *store;
    struct timespec ca_mtime, crl_mtime;
    time_t checked;
};

static struct timespec mtime_of(const char *path)
{
    struct stat st;
    struct timespec zero = {0, 0};
    return path && stat(path, &st) == 0 ? st.st_mtim : zero;
}

static int same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* A CA file may hold CRLs too; it must hold a certificate. */
static int has_certificate(X509_STORE *st)
{
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(st);
    for (int i = 0; i < sk_X509_OBJECT_num(objs); i++)
        if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) == X509_LU_X509)
            return 1;
    return 0;
}

/* A new store from the files; NULL with err set. */
static X509_STORE *read_store(const char *ca_path, const char *crl_path,
                              vrt_error *err)
{
    X509_STORE *st = X509_STORE_new();
    if (!st)
        abort();
    if (X509_STORE_load_file(st, ca_path) != 1 || !has_certificate(st)) {
        vrt_error_set(err, VRT_E_INVALID,
                      "--client-ca \"%s\" holds no readable PEM certificate.",
                      ca_path);
        goto fail;
    }
    if (crl_path) {
        FILE *f = fopen(crl_path, "re");
        X509_CRL *crl = f ? PEM_read_X509_CRL(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        if (!crl) {
            vrt_error_set(err, VRT_E_INVALID,
                          "--client-crl \"%s\" holds no readable PEM CRL.",
                          crl_path);
            goto fail;
        }
        X509_STORE_add_crl(st, crl);
        X509_CRL_free(crl);
        X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
    }
    return st;
fail:
    ERR_clear_error();
    X509_STORE_free(st);
    return NULL;
}

int vrt_client_ca_load(vrt_client_ca **out, const char *ca_path,
                       const char *crl_path, vrt_error *err)
{
    *out = NULL;
    X509_STORE *st = read_store(ca_path, crl_path, err);
    if (!st)
        return err->code;
    vrt_client_ca *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    pthread_mutex_init(&c->lock, NULL);
    c->ca_path = vrt_strdup(ca_path);
    c->crl_path = vrt_strdup(crl_path);
    c->store = st;
    c->ca_mtime = mtime_of(ca_path);
    c->crl_mtime = mtime_of(crl_path);
    c->checked = time(NULL);
    *out = c;
    return VRT_OK;
}

void vrt_client_ca_free(vrt_client_ca *c)
{
    if (!c)
        return;
    X509_STORE_free(c->store);
    free(c->ca_path);
    free(c->crl_path);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Under c->lock: re-reads the files if they changed; a broken new file
 * keeps the old store (and says so) rather than locking everyone out. */
static void maybe_reload(vrt_client_ca *c)
{
    time_t now = time(NULL);
    if (now == c->checked)
        return;
    c->checked = now;
    struct timespec ca = mtime_of(c->ca_path), crl = mtime_of(c->crl_path);
    if (same_time(ca, c->ca_mtime) && same_time(crl, c->crl_mtime))
        return;
    vrt_error err = VRT_ERROR_INIT;
    X509_STORE *st = read_store(c->ca_path, c->crl_path, &err);
    if (!st) {
        vrt_log_warn("Keeping the previous client CA/CRL: %s", err.message);
        return;
    }
    X509_STORE_free(c->store);
    c->store = st;
    c->ca_mtime = ca;
    c->crl_mtime = crl;
    vrt_log_info("Reloaded the client CA \"%s\"%s%s%s", c->ca_path,
                 c->crl_path ? " and CRL \"" : "",
                 c->crl_path ? c->crl_path : "", c->crl_path ? "\"" : "");
}

/* The role of the subject's O entries; its CN into user. */
static int role_of(X509 *cert, char *user, size_t user_len)
{
    X509_NAME *name = X509_get_subject_name(cert);
    int role = VRT_ROLE_NONE;
    user[0] = '\0';
    /* The user is the one CN, whole: none, several, one too long for the
     * audit log or holding a NUL could pass for another user, so such a
     * certificate gets no role (403). */
    const ASN1_STRING *cs = vrt_tls_sole_cn(cert);
    if (!cs)
        return VRT_ROLE_NONE;
    int cl = ASN1_STRING_length(cs);
    const unsigned char *cd = ASN1_STRING_get0_data(cs);
    if (cl <= 0 || (size_t)cl >= user_len)
        return VRT_ROLE_NONE;
    for (int k = 0; k < cl; k++) /* nor forge audit lines: no controls, quotes */
        if (cd[k] < 0x20 || cd[k] == 0x7f || cd[k] == '"' || cd[k] == '\\')
            return VRT_ROLE_NONE;
    memcpy(user, cd, (size_t)cl);
    user[cl] = '\0';
    for (int i = -1;
         (i = X509_NAME_get_index_by_NID(name, NID_organizationName, i)) >= 0;) {
        const ASN1_STRING *s =
            X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        const char *o = (const char *)ASN1_STRING_get0_data(s);
        int n = ASN1_STRING_length(s);
        if ((n == 14 && memcmp(o, "system:masters", 14) == 0) ||
            (n == 17 && memcmp(o, "virtrigaud:admins", 17) == 0))
            role = VRT_ROLE_ADMIN;
        else if (n == 18 && memcmp(o, "virtrigaud:viewers", 18) == 0 &&
                 role == VRT_ROLE_NONE)
            role = VRT_ROLE_READ;
    }
    return role;
}

int vrt_client_ca_verify(vrt_client_ca *c, const unsigned char *const *der,
                         const size_t *len, size_t n, char *user,
                         size_t user_len, char *why, size_t why_len)
{
    int role = -1;
    X509 *leaf = NULL;
    STACK_OF(X509) *chain = sk_X509_new_null();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!chain || !ctx)
        abort();
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = der[i];
        X509 *x = d2i_X509(NULL, &p, (long)len[i]);
        if (!x) {
            snprintf(why, why_len, "certificate %zu of the chain is not DER", i);
            goto cleanup;
        }
        if (i == 0)
            leaf = x;
        else
            sk_X509_push(chain, x);
    }
    if (!leaf) {
        snprintf(why, why_len, "no client certificate");
        goto cleanup;
    }
    pthread_mutex_lock(&c->lock);
    maybe_reload(c);
    X509_STORE_CTX_init(ctx, c->store, leaf, chain);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    int ok = X509_verify_cert(ctx);
    pthread_mutex_unlock(&c->lock);
    if (ok != 1) {
        snprintf(why, why_len, "%s",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        goto cleanup;
    }
    role = role_of(leaf, user, user_len);
cleanup:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    return role;
}
