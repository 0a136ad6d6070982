/* lv_hash.c - spec fingerprints with OpenSSL's SHA-256 (see lv_hash.h). */
#include "lv_hash.h"
#include "lv_spec.h"
#include "lv_util.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each part is length-prefixed so that ("ab","c") != ("a","bc"). */
static void feed(EVP_MD_CTX *md, const void *data, size_t len)
{
    unsigned char n[8];
    size_t i;

    for (i = 0; i < 8; i++)
        n[i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    EVP_DigestUpdate(md, n, sizeof(n));
    if (len)
        EVP_DigestUpdate(md, data, len);
}

static void feed_str(EVP_MD_CTX *md, const char *s)
{
    feed(md, s ? s : "", s ? strlen(s) : 0);
}

static int finish(char out[LV_HASH_MAX], EVP_MD_CTX *md, vrt_error *err)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;

    if (!EVP_DigestFinal_ex(md, d, &n))
        return lv_err(err, VRT_E_INTERNAL,
                      "Could not compute the spec fingerprint.");
    strcpy(out, "sha256:");
    for (i = 0; i < n && i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", d[i]);
    return VRT_OK;
}

int lv_spec_fingerprint(char out[LV_HASH_MAX], const vrt_vm_spec *spec,
                        vrt_error *err)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *canon = NULL;
    int rc;

    out[0] = '\0';
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        rc = lv_err(err, VRT_E_INTERNAL, "Could not start a SHA-256 digest.");
        goto cleanup;
    }
    if ((rc = lv_json_canonical(&canon, spec->spec_json, err)) < 0)
        goto cleanup;
    feed_str(md, "virtrigaud-libvirt-vm-1");
    feed_str(md, spec->name);
    feed_str(md, canon);
    feed(md, spec->user_data, spec->user_data ? spec->user_data_len : 0);
    feed(md, spec->meta_data, spec->meta_data ? spec->meta_data_len : 0);
    feed(md, spec->network_data,
         spec->network_data ? spec->network_data_len : 0);
    rc = finish(out, md, err);

cleanup:
    free(canon);
    EVP_MD_CTX_free(md);
    return rc;
}

int lv_clone_fingerprint(char out[LV_HASH_MAX], const vrt_clone_spec *spec,
                         vrt_error *err)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *canon = NULL;
    int rc;

    out[0] = '\0';
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        rc = lv_err(err, VRT_E_INTERNAL, "Could not start a SHA-256 digest.");
        goto cleanup;
    }
    if ((rc = lv_json_canonical(&canon, spec->spec_json, err)) < 0)
        goto cleanup;
    feed_str(md, "virtrigaud-libvirt-clone-1");
    feed_str(md, spec->source_vm_id);
    feed_str(md, spec->snapshot_id);
    feed_str(md, spec->linked ? "linked" : "full");
    feed_str(md, spec->target_name);
    feed_str(md, canon);
    rc = finish(out, md, err);

cleanup:
    free(canon);
    EVP_MD_CTX_free(md);
    return rc;
}
