/*
 * TLS contexts for the provider host and its clients: TLS 1.3 only, both
 * sides present certificates, both verify them against a CA, and the host
 * also checks a CRL when it has one.  OpenSSL checks validity dates, so an
 * expired certificate fails the handshake like one from another CA.
 */
#include <vrt/remote.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

void vrt_tls_last_error(char *buf, size_t size)
{
    unsigned long e, last = 0;
    while ((e = ERR_get_error()) != 0)
        last = e; /* the last one is the closest to the cause */
    buf[0] = '\0';
    if (last)
        ERR_error_string_n(last, buf, size);
}

static SSL_CTX *ctx_new(int server, char *why, size_t why_size)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method()
                                      : TLS_client_method());
    if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION)) {
        char e[200];
        vrt_tls_last_error(e, sizeof(e));
        snprintf(why, why_size, "OpenSSL cannot make a TLS 1.3 context: %s.",
                 e);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
    return ctx;
}

static int fail_file(char *why, size_t why_size, const char *what,
                     const char *file)
{
    char e[200];
    vrt_tls_last_error(e, sizeof(e));
    snprintf(why, why_size, "The %s \"%s\" cannot be used: %s.", what, file,
             e[0] ? e : "unreadable");
    return VRT_E_INVALID;
}

static int add_crl(SSL_CTX *ctx, const char *crl_file, char *why,
                   size_t why_size)
{
    BIO *b = BIO_new_file(crl_file, "r");
    X509_CRL *crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!crl)
        return fail_file(why, why_size, "CRL file (--crl)", crl_file);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int ok = X509_STORE_add_crl(store, crl);
    X509_CRL_free(crl);
    if (!ok)
        return fail_file(why, why_size, "CRL file (--crl)", crl_file);
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    return VRT_OK;
}

int vrt_tls_server_ctx(SSL_CTX **out, const char *cert_file,
                       const char *key_file, const char *ca_file,
                       const char *crl_file, char *why, size_t why_size)
{
    *out = NULL;
    SSL_CTX *ctx = ctx_new(1, why, why_size);
    int rc = VRT_E_INVALID;
    if (!ctx)
        return VRT_E_INTERNAL;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        rc = fail_file(why, why_size, "certificate file (--cert)", cert_file);
        goto cleanup;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        rc = fail_file(why, why_size, "key file (--key)", key_file);
        goto cleanup;
    }
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        rc = fail_file(why, why_size, "CA file (--ca)", ca_file);
        goto cleanup;
    }
    if (crl_file && (rc = add_crl(ctx, crl_file, why, why_size)) != VRT_OK)
        goto cleanup;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       NULL);
    /* No session resumption: every connection proves its certificate
     * against the current CA, CRL and allow-list. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    *out = ctx;
    return VRT_OK;

cleanup:
    SSL_CTX_free(ctx);
    return rc;
}

static int use_pem_cert(SSL_CTX *ctx, const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    int ok = x && SSL_CTX_use_certificate(ctx, x) == 1;
    X509_free(x);
    /* Intermediates after the leaf go into the chain. */
    while (ok && b) {
        X509 *extra = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!extra)
            break;
        if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
            X509_free(extra);
            ok = 0;
        }
    }
    ERR_clear_error(); /* the end of the chain reads as an error */
    BIO_free(b);
    return ok;
}

static int use_pem_key(SSL_CTX *ctx, const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    int ok = k && SSL_CTX_use_PrivateKey(ctx, k) == 1 &&
             SSL_CTX_check_private_key(ctx) == 1;
    EVP_PKEY_free(k);
    BIO_free(b);
    return ok;
}

static int use_pem_ca(SSL_CTX *ctx, const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int n = 0;
    X509 *x;
    while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        n += X509_STORE_add_cert(store, x) == 1;
        X509_free(x);
    }
    ERR_clear_error();
    BIO_free(b);
    return n > 0;
}

int vrt_tls_client_ctx(SSL_CTX **out, const char *cert_pem,
                       const char *key_pem, const char *ca_pem,
                       int skip_verify, char *why, size_t why_size)
{
    *out = NULL;
    SSL_CTX *ctx = ctx_new(0, why, why_size);
    if (!ctx)
        return VRT_E_INTERNAL;
    const char *bad = NULL;
    if (!cert_pem || !use_pem_cert(ctx, cert_pem))
        bad = "client certificate (tls.crt)";
    else if (!key_pem || !use_pem_key(ctx, key_pem))
        bad = "client key (tls.key), or it does not match tls.crt";
    else if (!skip_verify && (!ca_pem || !use_pem_ca(ctx, ca_pem)))
        bad = "CA certificate (ca.crt)";
    if (bad) {
        char e[200];
        vrt_tls_last_error(e, sizeof(e));
        snprintf(why, why_size, "The %s is missing or not PEM%s%s.", bad,
                 e[0] ? ": " : "", e);
        SSL_CTX_free(ctx);
        return VRT_E_INVALID;
    }
    SSL_CTX_set_verify(ctx, skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                       NULL);
    *out = ctx;
    return VRT_OK;
}

void vrt_tls_serial(char *buf, size_t size, SSL *ssl, int peer)
{
    buf[0] = '\0';
    X509 *x = peer ? SSL_get1_peer_certificate(ssl) : SSL_get_certificate(ssl);
    if (!x)
        return;
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    snprintf(buf, size, "%s", hex ? hex : "");
    OPENSSL_free(hex);
    BN_free(bn);
    if (peer)
        X509_free(x);
}

static int ip_equal(const ASN1_OCTET_STRING *ip, const char *name)
{
    unsigned char want[16];
    ASN1_OCTET_STRING *w = a2i_IPADDRESS(name);
    int eq = w && ASN1_STRING_length(w) == ASN1_STRING_length(ip) &&
             ASN1_STRING_length(w) <= (int)sizeof(want) &&
             memcmp(ASN1_STRING_get0_data(w), ASN1_STRING_get0_data(ip),
                    (size_t)ASN1_STRING_length(w)) == 0;
    ASN1_OCTET_STRING_free(w);
    return eq;
}

static int str_equal(const ASN1_STRING *s, const char *name)
{
    size_t n = strlen(name);
    return (size_t)ASN1_STRING_length(s) == n &&
           memcmp(ASN1_STRING_get0_data(s), name, n) == 0;
}

int vrt_tls_cert_has_name(X509 *cert, const char *name)
{
    GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL,
                                           NULL);
    int found = 0;
    if (sans) {
        for (int i = 0; i < sk_GENERAL_NAME_num(sans) && !found; i++) {
            const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
            if (g->type == GEN_DNS || g->type == GEN_URI)
                found = str_equal(g->d.ia5, name);
            else if (g->type == GEN_IPADD)
                found = ip_equal(g->d.ip, name);
        }
        GENERAL_NAMES_free(sans);
        return found;
    }
    /* No SANs: the common name, compared byte for byte (an embedded NUL
     * does not match), and only when there is exactly one. */
    const ASN1_STRING *cn = vrt_tls_sole_cn(cert);
    return cn && str_equal(cn, name);
}

const ASN1_STRING *vrt_tls_sole_cn(X509 *cert)
{
    X509_NAME *subj = X509_get_subject_name(cert);
    int i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
    if (i < 0 || X509_NAME_get_index_by_NID(subj, NID_commonName, i) >= 0)
        return NULL;
    return X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
}
