/*
 * lv_download.c - images that come from a URL (VMImage source.libvirt.url
 * or source.http.url): downloaded once into a volume of the storage pool,
 * named after the VMImage, with the SHA-256 checked when the image gives
 * one, then used like any other image volume.
 *
 * The download goes to a private temporary file first (the volume's size
 * must be known before libvirt creates it, and a failed or corrupt
 * download must leave nothing behind), then is uploaded through a libvirt
 * stream, so a remote libvirtd works too.
 */
#include "lv_conn.h"
#include "lv_spec.h"
#include "lv_storage.h"
#include "lv_util.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fetch {
    FILE *f;
    EVP_MD_CTX *md;
    uint64_t bytes;
} fetch;

static size_t on_data(char *p, size_t size, size_t n, void *opaque)
{
    fetch *ft = opaque;
    size_t len = size * n;
    if (fwrite(p, 1, len, ft->f) != len)
        return 0;
    EVP_DigestUpdate(ft->md, p, len);
    ft->bytes += len;
    return len;
}

/* The virtual size of a qcow2 file (bytes 24..31 of its header), else the
 * file's own size. */
static uint64_t capacity_of(FILE *f, uint64_t file_size)
{
    unsigned char h[32];
    if (fseek(f, 0, SEEK_SET) != 0 || fread(h, 1, sizeof(h), f) != sizeof(h) ||
        memcmp(h, "QFI\xfb", 4) != 0)
        return file_size;
    uint64_t v = 0;
    for (int i = 24; i < 32; i++)
        v = v << 8 | h[i];
    return v > file_size ? v : file_size;
}

static int upload(virConnectPtr virt, const char *pool, const char *name,
                  const char *format, FILE *f, uint64_t size, vrt_error *err)
{
    lv_vol v = {.pool = (char *)pool, .name = (char *)name,
                .format = (char *)format, .capacity = capacity_of(f, size),
                .create = 1};
    int rc = lv_vol_create(virt, &v, err);
    if (rc < 0)
        return rc;
    virStorageVolPtr vol = NULL;
    if ((rc = lv_vol_lookup(&vol, virt, pool, name, err)) < 0)
        return rc;
    virStreamPtr st = virStreamNew(virt, 0);
    char buf[1 << 16];
    rc = -1;
    if (st && virStorageVolUpload(vol, st, 0, 0, 0) == 0 &&
        fseek(f, 0, SEEK_SET) == 0) {
        size_t n;
        rc = 0;
        while (rc == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0)
            for (size_t off = 0; off < n;) {
                int w = virStreamSend(st, buf + off, n - off);
                if (w < 0) {
                    rc = -1;
                    break;
                }
                off += (size_t)w;
            }
        if (rc == 0 && virStreamFinish(st) < 0)
            rc = -1;
        else if (rc != 0)
            virStreamAbort(st);
    }
    if (rc < 0) {
        rc = lv_virt_err(err, "Uploading image \"%s\" into pool \"%s\" failed",
                         name, pool);
        virStorageVolDelete(vol, 0); /* nothing half-written stays */
    }
    if (st)
        virStreamFree(st);
    virStorageVolFree(vol);
    return rc;
}

/* One download at a time: VMs created together on a new image would
 * otherwise each fetch it. */
static pthread_mutex_t download_lock = PTHREAD_MUTEX_INITIALIZER;

static int download(virConnectPtr virt, vrt_conn *c, const char *pool,
                    const char *name, const char *format, const char *url,
                    const char *sha256, vrt_error *err);

int lv_image_download(virConnectPtr virt, vrt_conn *c, const char *pool,
                      const char *name, const char *format, const char *url,
                      const char *sha256, vrt_error *err)
{
    pthread_mutex_lock(&download_lock);
    int rc = download(virt, c, pool, name, format, url, sha256, err);
    pthread_mutex_unlock(&download_lock);
    return rc;
}

static int download(virConnectPtr virt, vrt_conn *c, const char *pool,
                    const char *name, const char *format, const char *url,
                    const char *sha256, vrt_error *err)
{
    virStorageVolPtr have = NULL;
    vrt_error ignore = VRT_ERROR_INIT;
    if (lv_vol_lookup(&have, virt, pool, name, &ignore) == 0) {
        virStorageVolFree(have); /* downloaded before */
        return 0;
    }
    char tmpl[] = "/var/tmp/virtrigaud-image-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return lv_err(err, VRT_E_INTERNAL, "Cannot make a temporary file for "
                      "image \"%s\": %s.", name, strerror(errno));
    unlink(tmpl); /* gone when closed, whatever happens */
    fetch ft = {fdopen(fd, "w+"), EVP_MD_CTX_new(), 0};
    int rc = 0;
    if (!ft.f || !ft.md || EVP_DigestInit_ex(ft.md, EVP_sha256(), NULL) != 1)
        abort();
    CURL *h = curl_easy_init();
    if (!h)
        abort();
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ft);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,ftp");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    lv_log(c, VRT_LOG_INFO, "Downloading image \"%s\" from %s.", name, url);
    CURLcode cc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ft.md, md, &mdlen);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (cc != CURLE_OK) {
        rc = lv_err(err, VRT_E_UNAVAILABLE, "Downloading image \"%s\" from %s "
                    "failed: %s.", name, url, cerr[0] ? cerr : curl_easy_strerror(cc));
    } else if (fflush(ft.f) != 0) {
        rc = lv_err(err, VRT_E_INTERNAL, "Writing image \"%s\" failed: %s.", name,
                    strerror(errno));
    } else if (sha256 && *sha256 && strcasecmp(sha256, hex) != 0) {
        rc = lv_err(err, VRT_E_INVALID, "Image \"%s\" from %s has SHA-256 %s, "
                    "not the %s its VMImage says; it was not kept.", name, url,
                    hex, sha256);
    } else if (ft.bytes == 0) {
        rc = lv_err(err, VRT_E_INVALID, "Image \"%s\" from %s is empty.", name, url);
    } else {
        rc = upload(virt, pool, name, format, ft.f, ft.bytes, err);
        if (rc == 0)
            lv_log(c, VRT_LOG_INFO, "Image \"%s\" (%llu bytes, SHA-256 %s) is in "
                   "pool \"%s\".", name, (unsigned long long)ft.bytes, hex, pool);
    }
    EVP_MD_CTX_free(ft.md);
    fclose(ft.f);
    return rc;
}
