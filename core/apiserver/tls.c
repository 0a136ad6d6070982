/*
 * The server's TLS identity: the files the user gave, or a self-signed
 * P-256 certificate for localhost / 127.0.0.1 generated on first start and
 * kept in the data directory (key readable by the owner only).  The
 * certificate is its own CA, so the kubeconfig can pin it.
 */
#include "apiserver.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int add_ext(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static char *bio_string(BIO *bio)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *s = malloc((size_t)n + 1);
    if (!s)
        abort();
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    return s;
}

static int write_private(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    int ok = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
    close(fd);
    return ok ? 0 : -1;
}

static int generate(char **cert_pem, char **key_pem, vrt_error *err)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
    int rc = -1;
    unsigned char serial[16];
    FILE *ur = fopen("/dev/urandom", "rb");

    if (!key || !cert || !cb || !kb || !ur ||
        fread(serial, 1, sizeof(serial), ur) != sizeof(serial))
        goto cleanup;
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
    BN_free(bn);
    X509_set_version(cert, 2);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               (const unsigned char *)"virtrigaud", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)"virtrigaud standalone",
                               -1, -1, 0);
    X509_set_issuer_name(cert, name);
    if (add_ext(cert, NID_basic_constraints, "critical,CA:TRUE") ||
        add_ext(cert, NID_key_usage,
                "critical,digitalSignature,keyCertSign") ||
        add_ext(cert, NID_ext_key_usage, "serverAuth") ||
        add_ext(cert, NID_subject_alt_name,
                "DNS:localhost,IP:127.0.0.1,IP:::1"))
        goto cleanup;
    if (!X509_sign(cert, key, EVP_sha256()) || !PEM_write_bio_X509(cb, cert) ||
        !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL))
        goto cleanup;
    *cert_pem = bio_string(cb);
    *key_pem = bio_string(kb);
    rc = 0;
cleanup:
    if (rc)
        vrt_error_set(err, VRT_E_INTERNAL,
                      "Generating the server's TLS certificate failed.");
    if (ur)
        fclose(ur);
    BIO_free(cb);
    BIO_free(kb);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

int vrt_tls_ensure(char **cert_pem, char **key_pem, const char *dir,
                   const char *cert_file, const char *key_file,
                   vrt_error *err)
{
    char cpath[4096], kpath[4096];
    *cert_pem = *key_pem = NULL;
    if (cert_file || key_file) {
        if (!cert_file || !key_file)
            return vrt_error_set(err, VRT_E_INVALID,
                                 "--tls-cert and --tls-key go together; "
                                 "give both or neither.");
        snprintf(cpath, sizeof(cpath), "%s", cert_file);
        snprintf(kpath, sizeof(kpath), "%s", key_file);
    } else {
        snprintf(cpath, sizeof(cpath), "%s/tls.crt", dir);
        snprintf(kpath, sizeof(kpath), "%s/tls.key", dir);
        if (access(cpath, R_OK) != 0 && access(kpath, R_OK) != 0) {
            if (generate(cert_pem, key_pem, err))
                return -1;
            if (write_private(kpath, *key_pem, 0600) ||
                write_private(cpath, *cert_pem, 0644)) {
                free(*cert_pem);
                free(*key_pem);
                *cert_pem = *key_pem = NULL;
                return vrt_error_set(err, VRT_E_INTERNAL,
                                     "Cannot write the TLS files in \"%s\".",
                                     dir);
            }
            return 0;
        }
    }
    *cert_pem = vrt_read_file(cpath, NULL);
    *key_pem = vrt_read_file(kpath, NULL);
    if (!*cert_pem || !*key_pem) {
        free(*cert_pem);
        free(*key_pem);
        *cert_pem = *key_pem = NULL;
        return vrt_error_set(err, VRT_E_INVALID,
                             "Cannot read the TLS certificate \"%s\" or key "
                             "\"%s\".",
                             cpath, kpath);
    }
    return 0;
}
