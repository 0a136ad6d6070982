/* lv_seed.c - see lv_seed.h. */
#include "lv_seed.h"
#include "lv_util.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

typedef struct lv_buf {
    uint8_t *data;
    size_t len, cap;
} lv_buf;

static la_ssize_t buf_write(struct archive *a, void *opaque, const void *p,
                            size_t n)
{
    lv_buf *b = opaque;

    (void)a;
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->data = lv_xrealloc(b->data, b->cap, 1);
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return (la_ssize_t)n;
}

int lv_seed_wanted(const vrt_vm_spec *spec)
{
    return (spec->user_data && spec->user_data_len) ||
           (spec->meta_data && spec->meta_data_len) ||
           (spec->network_data && spec->network_data_len);
}

static int add_file(struct archive *a, const char *name, const void *data,
                    size_t len, vrt_error *err)
{
    struct archive_entry *e = archive_entry_new();
    int rc = VRT_OK;

    if (!e)
        lv_oom();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    if (archive_write_header(a, e) != ARCHIVE_OK ||
        (len && archive_write_data(a, data, len) != (la_ssize_t)len))
        rc = lv_err(err, VRT_E_INTERNAL,
                    "Could not write \"%s\" into the cloud-init seed: %s.",
                    name, archive_error_string(a));
    archive_entry_free(e);
    return rc;
}

int lv_seed_iso(uint8_t **out, size_t *len, const vrt_vm_spec *spec,
                const char *instance_id, const char *hostname,
                vrt_error *err)
{
    struct archive *a = archive_write_new();
    lv_buf b = {NULL, 0, 0};
    char *meta = NULL;
    int rc = VRT_OK;

    *out = NULL;
    *len = 0;
    if (!a)
        lv_oom();
    /* NoCloud finds its seed by this volume label */
    if (archive_write_set_format_iso9660(a) != ARCHIVE_OK ||
        archive_write_set_format_option(a, "iso9660", "volume-id",
                                        "cidata") != ARCHIVE_OK ||
        archive_write_set_format_option(a, "iso9660", "rockridge", "1") !=
            ARCHIVE_OK ||
        archive_write_set_format_option(a, "iso9660", "joliet", "1") !=
            ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open(a, &b, NULL, buf_write, NULL) != ARCHIVE_OK) {
        rc = lv_err(err, VRT_E_INTERNAL,
                    "Could not start the cloud-init seed image: %s.",
                    archive_error_string(a));
        goto cleanup;
    }
    if (spec->meta_data && spec->meta_data_len)
        rc = add_file(a, "meta-data", spec->meta_data, spec->meta_data_len,
                      err);
    else {
        meta = lv_xasprintf("instance-id: %s\nlocal-hostname: %s\n",
                            instance_id, hostname);
        rc = add_file(a, "meta-data", meta, strlen(meta), err);
    }
    if (rc == VRT_OK)
        rc = add_file(a, "user-data", spec->user_data,
                      spec->user_data ? spec->user_data_len : 0, err);
    if (rc == VRT_OK && spec->network_data && spec->network_data_len)
        rc = add_file(a, "network-config", spec->network_data,
                      spec->network_data_len, err);
    if (rc == VRT_OK && archive_write_close(a) != ARCHIVE_OK)
        rc = lv_err(err, VRT_E_INTERNAL,
                    "Could not finish the cloud-init seed image: %s.",
                    archive_error_string(a));

cleanup:
    archive_write_free(a);
    free(meta);
    if (rc == VRT_OK) {
        *out = b.data;
        *len = b.len;
    } else {
        free(b.data);
    }
    return rc;
}
