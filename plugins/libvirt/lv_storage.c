/* lv_storage.c - see lv_storage.h. */
#include "lv_storage.h"

#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

int lv_pool_lookup(virStoragePoolPtr *out, virConnectPtr virt,
                   const char *name, vrt_error *err)
{
    *out = virStoragePoolLookupByName(virt, name);
    if (!*out)
        return lv_virt_err(err, "Storage pool \"%s\" is not available",
                           name);
    if (virStoragePoolIsActive(*out) != 1) {
        virStoragePoolFree(*out);
        *out = NULL;
        return lv_err(err, VRT_E_UNAVAILABLE,
                      "Storage pool \"%s\" is not active; start it first.",
                      name);
    }
    return VRT_OK;
}

int lv_vol_lookup(virStorageVolPtr *out, virConnectPtr virt, const char *pool,
                  const char *name, vrt_error *err)
{
    virStoragePoolPtr p = NULL;
    int rc;

    *out = NULL;
    if ((rc = lv_pool_lookup(&p, virt, pool, err)) < 0)
        return rc;
    *out = virStorageVolLookupByName(p, name);
    if (!*out)
        rc = lv_virt_err(err, "Volume \"%s\" is not in storage pool \"%s\"",
                         name, pool);
    virStoragePoolFree(p);
    return rc;
}

void lv_image_clear(lv_image *img)
{
    free(img->path);
    free(img->pool);
    free(img->volume);
    free(img->format);
    memset(img, 0, sizeof(*img));
}

/* Fills img from a volume handle. */
static int image_from_vol(lv_image *img, virStorageVolPtr vol,
                          const lv_spec *s, vrt_error *err)
{
    virStoragePoolPtr p = virStoragePoolLookupByVolume(vol);
    virStorageVolInfo info;
    char *xml = NULL, *path = NULL;
    int rc = VRT_OK;

    if (!p || virStorageVolGetInfo(vol, &info) < 0 ||
        !(xml = virStorageVolGetXMLDesc(vol, 0)) ||
        !(path = virStorageVolGetPath(vol))) {
        rc = lv_virt_err(err, "Could not read image volume \"%s\"",
                         virStorageVolGetName(vol));
        goto cleanup;
    }
    img->path = path;
    path = NULL;
    img->pool = lv_xstrdup(virStoragePoolGetName(p));
    img->volume = lv_xstrdup(virStorageVolGetName(vol));
    img->capacity = info.capacity;
    if ((rc = lv_volume_read(&img->format, NULL, xml, err)) < 0)
        goto cleanup;
    if (s->image_format && img->format &&
        strcmp(s->image_format, img->format)) {
        rc = lv_err(err, VRT_E_INVALID,
                    "Spec field \"image.format\" says \"%s\" but volume "
                    "\"%s\" holds \"%s\".",
                    s->image_format, img->path, img->format);
        goto cleanup;
    }
    if (!img->format)
        img->format = lv_xstrdup(s->image_format ? s->image_format : "raw");

cleanup:
    free(path);
    free(xml);
    if (p)
        virStoragePoolFree(p);
    return rc;
}

int lv_image_resolve(lv_image *out, virConnectPtr virt, const lv_spec *s,
                     const char *pool, vrt_error *err)
{
    virStorageVolPtr vol = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (s->image_path[0] == '/') {
        vol = virStorageVolLookupByPath(virt, s->image_path);
        if (!vol)
            return lv_virt_err(err,
                               "Image \"%s\" is not a volume of any active "
                               "storage pool (define a pool over its "
                               "directory)",
                               s->image_path);
    } else if ((rc = lv_vol_lookup(&vol, virt,
                                   s->image_pool ? s->image_pool : pool,
                                   s->image_path, err)) < 0) {
        return rc;
    }
    rc = image_from_vol(out, vol, s, err);
    virStorageVolFree(vol);
    if (rc < 0)
        lv_image_clear(out);
    return rc;
}

int lv_vol_create(virConnectPtr virt, const lv_vol *v, vrt_error *err)
{
    virStoragePoolPtr p = NULL;
    virStorageVolPtr src = NULL, vol = NULL;
    char *xml = NULL;
    int rc;

    if ((rc = lv_pool_lookup(&p, virt, v->pool, err)) < 0)
        return rc;
    if ((rc = lv_volume_xml(&xml, v, err)) < 0)
        goto cleanup;
    if (v->copy_from) {
        src = virStorageVolLookupByPath(virt, v->copy_from);
        if (!src) {
            rc = lv_virt_err(err, "Could not find volume \"%s\" to copy",
                             v->copy_from);
            goto cleanup;
        }
        vol = virStorageVolCreateXMLFrom(p, xml, src, 0);
    } else {
        vol = virStorageVolCreateXML(p, xml, 0);
    }
    if (!vol)
        rc = lv_virt_err(err, "Could not create volume \"%s\" in pool \"%s\"",
                         v->name, v->pool);

cleanup:
    if (vol)
        virStorageVolFree(vol);
    if (src)
        virStorageVolFree(src);
    virStoragePoolFree(p);
    free(xml);
    return rc;
}

int lv_vol_exists(int *exists, virConnectPtr virt, const lv_vol *v,
                  vrt_error *err)
{
    virStoragePoolPtr p = NULL;
    virStorageVolPtr vol;
    int rc;

    *exists = 0;
    if ((rc = lv_pool_lookup(&p, virt, v->pool, err)) < 0)
        return rc;
    vol = virStorageVolLookupByName(p, v->name);
    if (vol) {
        *exists = 1;
        virStorageVolFree(vol);
    } else if (lv_virt_last() != VIR_ERR_NO_STORAGE_VOL) {
        rc = lv_virt_err(err, "Could not look for volume \"%s\" in pool "
                              "\"%s\"",
                         v->name, v->pool);
    }
    virStoragePoolFree(p);
    return rc;
}

int lv_vol_upload(virConnectPtr virt, const lv_vol *v, const uint8_t *data,
                  size_t len, const vrt_call *call, vrt_error *err)
{
    virStorageVolPtr vol = NULL;
    virStreamPtr st = NULL;
    size_t done = 0;
    int rc, n;

    if ((rc = lv_vol_lookup(&vol, virt, v->pool, v->name, err)) < 0)
        return rc;
    if (!(st = virStreamNew(virt, 0)) ||
        virStorageVolUpload(vol, st, 0, len, 0) < 0) {
        rc = lv_virt_err(err, "Could not upload to volume \"%s\"", v->name);
        goto cleanup;
    }
    while (done < len) {
        if ((rc = lv_call_check(call, "the volume upload", err)) < 0) {
            virStreamAbort(st);
            goto cleanup;
        }
        n = virStreamSend(st, (const char *)data + done,
                          len - done > 65536 ? 65536 : len - done);
        if (n < 0) {
            rc = lv_virt_err(err, "Upload to volume \"%s\" failed", v->name);
            virStreamAbort(st);
            goto cleanup;
        }
        done += (size_t)n;
    }
    if (virStreamFinish(st) < 0)
        rc = lv_virt_err(err, "Upload to volume \"%s\" did not complete",
                         v->name);

cleanup:
    if (st)
        virStreamFree(st);
    virStorageVolFree(vol);
    return rc;
}

int lv_vols_delete(vrt_conn *c, virConnectPtr virt, const lv_marker *m,
                   const int *only, vrt_error *err)
{
    virStorageVolPtr vol;
    size_t i;
    int rc = VRT_OK;

    for (i = 0; m && i < m->nvols && rc == VRT_OK; i++) {
        if ((only && !only[i]) || !m->vols[i].pool || !m->vols[i].name)
            continue;
        vol = NULL;
        rc = lv_vol_lookup(&vol, virt, m->vols[i].pool, m->vols[i].name,
                           err);
        if (rc == VRT_E_NOTFOUND) {
            /* already gone: that is what we wanted */
            virResetLastError();
            rc = VRT_OK;
            continue;
        }
        if (rc < 0)
            break;
        if (virStorageVolDelete(vol, 0) < 0)
            rc = lv_virt_err(err, "Could not delete volume \"%s\" of pool "
                                  "\"%s\"",
                             m->vols[i].name, m->vols[i].pool);
        else
            lv_log(c, VRT_LOG_INFO, "Deleted volume \"%s\" of pool \"%s\".",
                   m->vols[i].name, m->vols[i].pool);
        virStorageVolFree(vol);
    }
    return rc;
}

/* Non-zero if m lists the volume at `path`. */
static int owns_path(virConnectPtr virt, const lv_marker *m, const char *path)
{
    virStorageVolPtr vol = virStorageVolLookupByPath(virt, path);
    const char *name, *pool_name;
    virStoragePoolPtr pool;
    size_t i;
    int found = 0;

    if (!vol) {
        virResetLastError();
        return 0;
    }
    name = virStorageVolGetName(vol);
    pool = virStoragePoolLookupByVolume(vol);
    pool_name = pool ? virStoragePoolGetName(pool) : NULL;
    for (i = 0; i < m->nvols && !found && pool_name; i++)
        found = m->vols[i].pool && !strcmp(m->vols[i].pool, pool_name) &&
                m->vols[i].name && !strcmp(m->vols[i].name, name);
    if (pool)
        virStoragePoolFree(pool);
    virStorageVolFree(vol);
    virResetLastError();
    return found;
}

/* Scans one pool for a volume backed by one of m's volumes. */
static int scan_pool(char **user, virConnectPtr virt, const char *pool_name,
                     const lv_marker *m, vrt_error *err)
{
    virStoragePoolPtr p = NULL;
    virStorageVolPtr *vols = NULL;
    char *xml, *backing;
    int n, i, rc;

    if ((rc = lv_pool_lookup(&p, virt, pool_name, err)) < 0)
        return rc == VRT_E_NOTFOUND ? VRT_OK : rc;
    n = virStoragePoolListAllVolumes(p, &vols, 0);
    if (n < 0)
        rc = lv_virt_err(err, "Could not list the volumes of pool \"%s\"",
                         pool_name);
    for (i = 0; i < n; i++) {
        if (!*user && rc == VRT_OK &&
            (xml = virStorageVolGetXMLDesc(vols[i], 0))) {
            vrt_error ignore = VRT_ERROR_INIT;
            backing = NULL;
            if (lv_volume_read(NULL, &backing, xml, &ignore) == VRT_OK &&
                backing && owns_path(virt, m, backing))
                *user = virStorageVolGetPath(vols[i]);
            free(backing);
            free(xml);
        }
        virStorageVolFree(vols[i]);
    }
    free(vols);
    virStoragePoolFree(p);
    virResetLastError();
    return rc;
}

int lv_vols_backing_users(char **user, virConnectPtr virt, const lv_marker *m,
                          vrt_error *err)
{
    size_t i, j;
    int rc = VRT_OK, seen;

    *user = NULL;
    for (i = 0; m && i < m->nvols && !*user && rc == VRT_OK; i++) {
        if (!m->vols[i].pool)
            continue;
        for (j = 0, seen = 0; j < i && !seen; j++)
            seen = m->vols[j].pool && !strcmp(m->vols[j].pool, m->vols[i].pool);
        if (!seen)
            rc = scan_pool(user, virt, m->vols[i].pool, m, err);
    }
    return rc;
}
