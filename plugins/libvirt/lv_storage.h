/*
 * lv_storage.h - storage pools and volumes: where images are, creating
 * the volumes a VM owns (overlay, copy, blank), uploading bytes into a
 * volume, and deleting exactly the volumes a marker lists.
 */
#ifndef LV_STORAGE_H
#define LV_STORAGE_H

#include <libvirt/libvirt.h>

#include "lv_conn.h"
#include "lv_domain_xml.h"

/* The active pool `name`; VRT_E_NOTFOUND names it when absent. */
LV_WUR int lv_pool_lookup(virStoragePoolPtr *out, virConnectPtr virt,
                          const char *name, vrt_error *err);
/* lv_download.c: downloads `url` into volume `name` of `pool` unless it
 * is there already, checking `sha256` (hex) when given. */
LV_WUR int lv_image_download(virConnectPtr virt, vrt_conn *c, const char *pool,
                             const char *name, const char *format,
                             const char *url, const char *sha256, vrt_error *err);
/* The volume `name` in pool `pool`. */
LV_WUR int lv_vol_lookup(virStorageVolPtr *out, virConnectPtr virt,
                         const char *pool, const char *name, vrt_error *err);

/* The spec's image, as the storage driver knows it. */
typedef struct lv_image {
    char *path, *pool, *volume, *format;
    uint64_t capacity;
} lv_image;
void lv_image_clear(lv_image *img);
/* Finds the image: an absolute path must be a volume of an active pool; a
 * bare name is a volume in image.storagePool (else `pool`). */
LV_WUR int lv_image_resolve(lv_image *out, virConnectPtr virt,
                            const lv_spec *s, const char *pool,
                            vrt_error *err);

/* Creates volume v as planned (overlay, copy, or blank). */
LV_WUR int lv_vol_create(virConnectPtr virt, const lv_vol *v, vrt_error *err);
/* *exists = 1 if v's pool holds a volume of that name. */
LV_WUR int lv_vol_exists(int *exists, virConnectPtr virt, const lv_vol *v,
                         vrt_error *err);
/* Writes len bytes into the volume from offset 0. */
LV_WUR int lv_vol_upload(virConnectPtr virt, const lv_vol *v,
                         const uint8_t *data, size_t len,
                         const vrt_call *call, vrt_error *err);
/* Looks for a volume, in the pools of m's volumes, whose backing file is
 * one of m's volumes (a linked clone).  *user receives its path
 * (malloc'ed) or NULL when there is none. */
LV_WUR int lv_vols_backing_users(char **user, virConnectPtr virt,
                                 const lv_marker *m, vrt_error *err);

/* Deletes each volume of m whose `only` flag is set (only == NULL: all);
 * a volume already gone counts as deleted.  Stops at the first failure. */
LV_WUR int lv_vols_delete(vrt_conn *c, virConnectPtr virt,
                          const lv_marker *m, const int *only,
                          vrt_error *err);

#endif /* LV_STORAGE_H */
