/*
 * AWS Signature Version 4 over OpenSSL's HMAC and SHA-256: the canonical
 * request, the string to sign, the derived signing key, the header.
 * tests/unit/test_staging.c checks it against AWS's documented example.
 */
#include "stage_internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void to_hex(char *hex, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[b[i] >> 4];
        hex[2 * i + 1] = digits[b[i] & 15];
    }
    hex[2 * n] = '\0';
}

void vrt_sha256_hex(char hex[65], const void *data, size_t len)
{
    uint8_t md[32];
    unsigned int n = 0;
    if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL))
        abort();
    to_hex(hex, md, 32);
}

void vrt_uri_encode(char *buf, size_t size, const char *s, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < size; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            buf[o++] = (char)c;
        } else {
            buf[o++] = '%';
            buf[o++] = digits[c >> 4];
            buf[o++] = digits[c & 15];
        }
    }
    if (size)
        buf[o < size ? o : size - 1] = '\0';
}

static void hmac(uint8_t out[32], const void *key, size_t klen, const char *msg)
{
    unsigned int n = 32;
    if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg),
              out, &n))
        abort();
}

/* Appends with snprintf semantics; returns -1 once the buffer is full. */
static int add(char *buf, size_t size, size_t *o, const char *a, const char *sep,
               const char *b, const char *end)
{
    int n = snprintf(buf + *o, size - *o, "%s%s%s%s", a, sep, b, end);
    if (n < 0 || (size_t)n >= size - *o)
        return -1;
    *o += (size_t)n;
    return 0;
}

int vrt_sigv4_authorization(char *buf, size_t size, const vrt_sigv4_req *r)
{
    char signed_hdrs[512] = "";
    size_t sh = 0;
    size_t creq_size = 16384, o = 0;
    char *creq = malloc(creq_size);
    if (!creq)
        abort();
    int bad = add(creq, creq_size, &o, r->method, "\n", r->uri, "\n");
    bad |= add(creq, creq_size, &o, r->query ? r->query : "", "", "", "\n");
    for (size_t i = 0; r->headers[i]; i += 2) {
        bad |= add(creq, creq_size, &o, r->headers[i], ":", r->headers[i + 1], "\n");
        bad |= add(signed_hdrs, sizeof(signed_hdrs), &sh, sh ? ";" : "", "",
                   r->headers[i], "");
    }
    bad |= add(creq, creq_size, &o, "\n", signed_hdrs, "\n", r->payload_sha256);
    char date[9];
    snprintf(date, sizeof(date), "%.8s", r->amz_date);
    char scope[256];
    snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date, r->region, r->service);
    char creq_hash[65];
    vrt_sha256_hex(creq_hash, creq, o);
    free(creq);
    char sts[512];
    snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s\n%s", r->amz_date, scope,
             creq_hash);

    size_t slen = strlen(r->secret_key);
    char *k0 = malloc(slen + 5);
    if (!k0)
        abort();
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, r->secret_key, slen + 1);
    uint8_t k[32], sig[32];
    hmac(k, k0, slen + 4, date);
    OPENSSL_cleanse(k0, slen + 4);
    free(k0);
    hmac(k, k, 32, r->region);
    hmac(k, k, 32, r->service);
    hmac(k, k, 32, "aws4_request");
    hmac(sig, k, 32, sts);
    OPENSSL_cleanse(k, sizeof(k));
    char sighex[65];
    to_hex(sighex, sig, 32);
    int n = snprintf(buf, size, "AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,"
                     "Signature=%s", r->access_key, scope, signed_hdrs, sighex);
    if (bad || n < 0 || (size_t)n >= size)
        return -1;
    return 0;
}
