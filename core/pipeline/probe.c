/*
 * probe.c - format detection and the public reader entry points.
 */
#include "pipe_internal.h"

#include <vrt/error.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    int32_t format;
    const char *name;
} format_names[] = {
    {VRT_IMG_RAW, "raw"},
    {VRT_IMG_QCOW2, "qcow2"},
    {VRT_IMG_VMDK, "vmdk"},
    {VRT_IMG_VMDK, "monolithicSparse"},
    {VRT_IMG_VMDK_STREAM, "vmdk-stream"},
    {VRT_IMG_VMDK_STREAM, "streamOptimized"},
};

const char *vrt_img_format_name(int32_t format)
{
    for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
        if (format_names[i].format == format)
            return format_names[i].name;
    return "unknown";
}

int32_t vrt_img_format_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof(format_names) / sizeof(format_names[0]);
         i++)
        if (strcmp(format_names[i].name, name) == 0)
            return format_names[i].format;
    return -1;
}

int vrt_pipe_pread_all(int fd, void *buf, size_t len, uint64_t off,
                       const char *path, const char *what, vrt_error *err)
{
    uint8_t *p = buf;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, p + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vrt_error_set(err, VRT_E_UNAVAILABLE,
                                 "Reading the %s of \"%s\" failed: %s.", what,
                                 path, strerror(errno));
        if (n == 0)
            return vrt_error_set(err, VRT_E_INVALID,
                                 "Image \"%s\" is truncated: its %s at offset "
                                 "%llu ends past the end of the file.",
                                 path, what, (unsigned long long)off);
        done += (size_t)n;
    }
    return 0;
}

/* Detects the format from the first bytes. */
static int probe(int32_t *format, const char *path, const uint8_t *h,
                 size_t n, vrt_error *err)
{
    if (n >= 4 && memcmp(h, "QFI\xfb", 4) == 0)
        *format = VRT_IMG_QCOW2;
    else if (n >= 4 && memcmp(h, "KDMV", 4) == 0)
        *format = VRT_IMG_VMDK; /* the header says which variant */
    else if (n >= 21 && memcmp(h, "# Disk DescriptorFile", 21) == 0)
        return vrt_error_set(err, VRT_E_NOTSUPP,
                             "Image \"%s\" is a VMDK descriptor file (split or "
                             "flat extents); only monolithicSparse and "
                             "streamOptimized VMDK are read natively, convert "
                             "it with qemu-img first.",
                             path);
    else if (n >= 4 && memcmp(h, "COWD", 4) == 0)
        return vrt_error_set(err, VRT_E_NOTSUPP,
                             "Image \"%s\" is an ESX COWD VMDK, which is not "
                             "supported; convert it with qemu-img first.",
                             path);
    else
        *format = VRT_IMG_RAW;
    return 0;
}

int vrt_pipe_reader_open_depth(vrt_img_reader **out, const char *path,
                               int32_t format, uint32_t depth,
                               uint32_t flags, vrt_error *err)
{
    vrt_img_reader *r = NULL;
    int rc = 0;
    *out = NULL;
    if (flags & ~VRT_PIPE_FLAGS_ALL_)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Unknown pipeline flags 0x%x.", flags);
    if (depth > VRT_IMG_MAX_DEPTH)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Backing chain deeper than %d images at \"%s\" "
                             "(a loop?).", VRT_IMG_MAX_DEPTH, path);
    r = calloc(1, sizeof(*r));
    if (!r)
        abort();
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    r->path = strdup(path);
    if (!r->path)
        abort();
    if (r->fd < 0) {
        rc = vrt_error_set(err, errno == ENOENT ? VRT_E_NOTFOUND
                                                : VRT_E_UNAVAILABLE,
                           "Cannot open image \"%s\": %s.", path,
                           strerror(errno));
        goto cleanup;
    }
    /* Images are read front to back: a larger read-ahead (advice only). */
    (void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    struct stat st;
    if (fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = vrt_error_set(err, VRT_E_INVALID,
                           "Image \"%s\" is not a regular file.", path);
        goto cleanup;
    }
    r->info.file_size = (uint64_t)st.st_size;
    if (format == VRT_IMG_AUTO) {
        uint8_t h[64] = {0};
        ssize_t n = pread(r->fd, h, sizeof(h), 0);
        if ((rc = probe(&format, path, h, n > 0 ? (size_t)n : 0, err)) != 0)
            goto cleanup;
    }
    switch (format) {
    case VRT_IMG_RAW:
        rc = vrt_pipe_raw_open(r, err);
        break;
    case VRT_IMG_QCOW2:
        rc = vrt_pipe_qcow2_open(r, depth, flags, err);
        break;
    case VRT_IMG_VMDK:
    case VRT_IMG_VMDK_STREAM:
        rc = vrt_pipe_vmdk_open(r, err);
        break;
    default:
        rc = vrt_error_set(err, VRT_E_INVALID,
                           "Unknown input format %d for \"%s\".", (int)format,
                           path);
    }
    if (rc != 0)
        goto cleanup;
    if (r->info.virtual_size > VRT_IMG_MAX_SIZE) {
        rc = vrt_error_set(err, VRT_E_INVALID,
                           "Image \"%s\" claims a virtual size of %llu bytes, "
                           "more than the limit of %llu.",
                           path, (unsigned long long)r->info.virtual_size,
                           (unsigned long long)VRT_IMG_MAX_SIZE);
        goto cleanup;
    }
    *out = r;
    r = NULL;
cleanup:
    vrt_img_reader_close(r);
    return rc;
}

int vrt_img_reader_open(vrt_img_reader **out, const char *path,
                         int32_t format, uint32_t flags, vrt_error *err)
{
    return vrt_pipe_reader_open_depth(out, path, format, 0, flags, err);
}

int vrt_img_reader_read(uint8_t *buf, int *zero, vrt_img_reader *r,
                         uint64_t off, size_t len, vrt_error *err)
{
    *zero = 0;
    if (off > r->info.virtual_size || len > r->info.virtual_size - off)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Read of %zu bytes at %llu is past the end of "
                             "\"%s\" (%llu bytes).",
                             len, (unsigned long long)off, r->path,
                             (unsigned long long)r->info.virtual_size);
    if (len == 0) {
        *zero = 1;
        return 0;
    }
    return r->ops->read(r, buf, zero, off, len, err);
}

const vrt_img_info *vrt_img_reader_info(const vrt_img_reader *r)
{
    return &r->info;
}

void vrt_img_reader_close(vrt_img_reader *r)
{
    if (!r)
        return;
    if (r->ops && r->ops->close)
        r->ops->close(r);
    if (r->fd >= 0)
        close(r->fd);
    free(r->path);
    free(r);
}

int vrt_img_info_get(vrt_img_info *out, const char *path, int32_t format,
                      uint32_t flags, vrt_error *err)
{
    vrt_img_reader *r = NULL;
    int rc = vrt_img_reader_open(&r, path, format, flags, err);
    if (rc == 0)
        *out = r->info;
    vrt_img_reader_close(r);
    return rc;
}
