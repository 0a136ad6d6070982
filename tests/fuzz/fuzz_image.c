/*
 * fuzz_image.c - libFuzzer driver for the disk image readers of
 * core/pipeline (probe.c, fmt_qcow2_read.c, fmt_vmdk_read.c, fmt_raw.c):
 * qcow2 v2/v3 (backing files, compressed clusters) and VMDK
 * (monolithicSparse, streamOptimized), headers from hostile images.
 *
 * The input is written as "overlay.qcow2" in a private directory that also
 * holds "base.raw" (16 KiB, byte i = i % 251), so relative backing names
 * resolve to that file or to the image itself (a loop).  Inputs holding a
 * '/' are opened without backing files: a fuzzed absolute name could be
 * any file of this host.  The image is opened probed and forced to each
 * format; an open or read fails with a message or succeeds.  Disks of at
 * most 16 MiB are read whole through the reader API and their SHA-256 is
 * compared with the content digest of vrt_pipe_hash (the pipeline's own
 * read -> hash chain), which must agree.
 */
#include <vrt/pipeline.h>

#include <openssl/evp.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_IMAGE_MAX_READ (16u << 20)

static char fuzz_image_dir[64], fuzz_image_path[96];

static void fuzz_image_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_image: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static int fuzz_image_write(const char *path, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, buf, len);
    close(fd);
    return w == (ssize_t)len ? 0 : -1;
}

/* libFuzzer ends with exit(): leave no files behind. */
static void fuzz_image_cleanup(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/base.raw", fuzz_image_dir);
    unlink(path);
    unlink(fuzz_image_path);
    rmdir(fuzz_image_dir);
}

static void fuzz_image_setup(void)
{
    static uint8_t base[16384];
    snprintf(fuzz_image_dir, sizeof(fuzz_image_dir),
             "/tmp/vrt-fuzz-images.%ld", (long)getpid());
    if (mkdir(fuzz_image_dir, 0700) != 0 && access(fuzz_image_dir, W_OK))
        fuzz_image_fail("cannot make the work directory", fuzz_image_dir);
    for (size_t i = 0; i < sizeof(base); i++)
        base[i] = (uint8_t)(i % 251);
    char path[128];
    snprintf(path, sizeof(path), "%s/base.raw", fuzz_image_dir);
    if (fuzz_image_write(path, base, sizeof(base)))
        fuzz_image_fail("cannot write", path);
    snprintf(fuzz_image_path, sizeof(fuzz_image_path), "%s/overlay.qcow2",
             fuzz_image_dir);
    atexit(fuzz_image_cleanup);
}

/* Reads the whole disk; returns 0 with its SHA-256 in md, or -1. */
static int fuzz_image_read_all(unsigned char md[32], vrt_img_reader *r)
{
    static uint8_t buf[65536 + 3], zeros[65536 + 3];
    uint64_t size = vrt_img_reader_info(r)->virtual_size;
    vrt_error err = VRT_ERROR_INIT;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = -1;
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
        abort();
    for (uint64_t off = 0; off < size;) {
        size_t n = sizeof(buf); /* not a cluster multiple, on purpose */
        int zero = 0;
        if (n > size - off)
            n = (size_t)(size - off);
        if (vrt_img_reader_read(buf, &zero, r, off, n, &err) != 0) {
            if (!err.message[0])
                fuzz_image_fail("a read failed without a message", NULL);
            goto cleanup;
        }
        EVP_DigestUpdate(ctx, zero ? zeros : buf, n);
        off += n;
    }
    EVP_DigestFinal_ex(ctx, md, NULL);
    rc = 0;
cleanup:
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* The pipeline's content digest must equal what the reader API read. */
static void fuzz_image_check_hash(const unsigned char md[32], uint32_t flags)
{
    vrt_pipe_opts o = VRT_PIPE_OPTS_INIT;
    vrt_pipe_result res;
    vrt_error err = VRT_ERROR_INIT;
    char hex[65];
    o.in_format = VRT_IMG_AUTO;
    o.block_size = 65536;
    o.flags = flags;
    if (vrt_pipe_hash(&res, fuzz_image_path, &o, &err) != 0) {
        if (!err.message[0])
            fuzz_image_fail("vrt_pipe_hash failed without a message", NULL);
        return;
    }
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (strcmp(hex, res.content_sha256) != 0)
        fuzz_image_fail("the pipeline's content digest differs from the "
                        "reader's", res.content_sha256);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int32_t formats[] = {VRT_IMG_AUTO, VRT_IMG_QCOW2,
                                      VRT_IMG_VMDK, VRT_IMG_VMDK_STREAM,
                                      VRT_IMG_RAW};
    if (!fuzz_image_dir[0])
        fuzz_image_setup();
    if (fuzz_image_write(fuzz_image_path, data, size))
        return 0;
    uint32_t flags = memchr(data, '/', size) ? VRT_PIPE_NO_BACKING : 0;
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        vrt_img_reader *r = NULL;
        vrt_error err = VRT_ERROR_INIT;
        if (vrt_img_reader_open(&r, fuzz_image_path, formats[i], flags,
                                &err) != 0) {
            if (!err.message[0])
                fuzz_image_fail("an open failed without a message", NULL);
            continue;
        }
        const vrt_img_info *info = vrt_img_reader_info(r);
        if (info->virtual_size > VRT_IMG_MAX_SIZE)
            fuzz_image_fail("a virtual size above the limit was accepted",
                            NULL);
        unsigned char md[32];
        if (info->virtual_size <= FUZZ_IMAGE_MAX_READ &&
            fuzz_image_read_all(md, r) == 0 && formats[i] == VRT_IMG_AUTO)
            fuzz_image_check_hash(md, flags);
        vrt_img_reader_close(r);
    }
    return 0;
}
