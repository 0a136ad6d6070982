/*
 * The dir staging backend: objects are files in one local directory (the
 * manager's --staging-dir, where a PVC or an NFS share is mounted in a
 * cluster).  A resumed write appends to what the file holds.
 */
#include "stage_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct dir_stage {
    vrt_stage base;
    char dir[2048];
} dir_stage;

typedef struct dir_file {
    vrt_stage_writer base; /* also the reader's header: same layout */
    int fd;
    char path[2300];
} dir_file;

static void dir_url(char *buf, size_t size, const vrt_stage *s, const char *name)
{
    snprintf(buf, size, "%s/%s", ((const dir_stage *)s)->dir, name);
}

static dir_file *file_new(vrt_stage *s, const char *name)
{
    dir_file *f = calloc(1, sizeof(*f));
    if (!f)
        abort();
    f->base.s = s;
    f->fd = -1;
    dir_url(f->path, sizeof(f->path), s, name);
    return f;
}

static int dir_writer_open(vrt_stage_writer **out, uint64_t *offset, vrt_stage *s,
                           const char *name, uint32_t flags, vrt_error *err)
{
    dir_file *f = file_new(s, name);
    int resume = (flags & VRT_STAGE_RESUME) != 0;
    f->fd = open(f->path, O_WRONLY | O_CREAT | O_CLOEXEC | (resume ? O_APPEND : O_TRUNC),
                 0600);
    struct stat st;
    if (f->fd < 0 || fstat(f->fd, &st) != 0) {
        int rc = vrt_error_set(err, VRT_E_UNAVAILABLE, "The staging file \"%s\" cannot "
                               "be written: %s.", f->path, strerror(errno));
        if (f->fd >= 0)
            close(f->fd);
        free(f);
        return rc;
    }
    *offset = (uint64_t)st.st_size;
    *out = &f->base;
    return VRT_OK;
}

static int dir_write(vrt_stage_writer *w, const void *buf, size_t len, vrt_error *err)
{
    dir_file *f = (dir_file *)w;
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vrt_error_set(err, VRT_E_UNAVAILABLE, "Writing the staging file "
                                 "\"%s\" failed: %s.", f->path, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return VRT_OK;
}

static int dir_finish(vrt_stage_writer *w, vrt_error *err)
{
    dir_file *f = (dir_file *)w;
    int rc = VRT_OK;
    if (fsync(f->fd) != 0)
        rc = vrt_error_set(err, VRT_E_UNAVAILABLE, "Syncing the staging file \"%s\" "
                           "failed: %s.", f->path, strerror(errno));
    close(f->fd);
    free(f);
    return rc;
}

static void dir_abandon(vrt_stage_writer *w)
{
    dir_file *f = (dir_file *)w;
    (void)fsync(f->fd); /* what reached the file is what a resume keeps */
    close(f->fd);
    free(f);
}

static int dir_stat(uint64_t *size, vrt_stage *s, const char *name, vrt_error *err)
{
    char p[2300];
    struct stat st;
    dir_url(p, sizeof(p), s, name);
    if (stat(p, &st) != 0)
        return vrt_error_set(err, errno == ENOENT ? VRT_E_NOTFOUND : VRT_E_UNAVAILABLE,
                             "The staging file \"%s\" cannot be read: %s.", p,
                             strerror(errno));
    *size = (uint64_t)st.st_size;
    return VRT_OK;
}

static int dir_reader_open(vrt_stage_reader **out, uint64_t *size, vrt_stage *s,
                           const char *name, uint64_t offset, vrt_error *err)
{
    dir_file *f = file_new(s, name);
    struct stat st;
    f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0 || fstat(f->fd, &st) != 0 ||
        lseek(f->fd, (off_t)offset, SEEK_SET) < 0) {
        int rc = vrt_error_set(err, errno == ENOENT ? VRT_E_NOTFOUND : VRT_E_UNAVAILABLE,
                               "The staging file \"%s\" cannot be read: %s.", f->path,
                               strerror(errno));
        if (f->fd >= 0)
            close(f->fd);
        free(f);
        return rc;
    }
    *size = (uint64_t)st.st_size;
    *out = (vrt_stage_reader *)f;
    return VRT_OK;
}

static int dir_read(size_t *n, vrt_stage_reader *r, void *buf, size_t len,
                    vrt_error *err)
{
    dir_file *f = (dir_file *)r;
    for (;;) {
        ssize_t got = read(f->fd, buf, len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return vrt_error_set(err, VRT_E_UNAVAILABLE, "Reading the staging file "
                                 "\"%s\" failed: %s.", f->path, strerror(errno));
        *n = (size_t)got;
        return VRT_OK;
    }
}

static void dir_reader_close(vrt_stage_reader *r)
{
    dir_file *f = (dir_file *)r;
    close(f->fd);
    free(f);
}

static int dir_remove(vrt_stage *s, const char *name, vrt_error *err)
{
    char p[2300];
    dir_url(p, sizeof(p), s, name);
    if (unlink(p) != 0 && errno != ENOENT)
        return vrt_error_set(err, VRT_E_UNAVAILABLE, "The staging file \"%s\" cannot "
                             "be removed: %s.", p, strerror(errno));
    return VRT_OK;
}

static void dir_close(vrt_stage *s)
{
    free(s);
}

static const vrt_stage_ops dir_ops = {
    .kind = "dir",
    .writer_open = dir_writer_open,
    .write = dir_write,
    .finish = dir_finish,
    .abandon = dir_abandon,
    .stat = dir_stat,
    .reader_open = dir_reader_open,
    .read = dir_read,
    .reader_close = dir_reader_close,
    .remove = dir_remove,
    .url = dir_url,
    .close = dir_close,
};

int vrt_stage_open_dir(vrt_stage **out, const char *dir, vrt_error *err)
{
    *out = NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return vrt_error_set(err, VRT_E_UNAVAILABLE, "The staging directory \"%s\" "
                             "cannot be created: %s.", dir, strerror(errno));
    dir_stage *d = calloc(1, sizeof(*d));
    if (!d)
        abort();
    d->base.ops = &dir_ops;
    snprintf(d->dir, sizeof(d->dir), "%s", dir);
    *out = &d->base;
    return VRT_OK;
}
