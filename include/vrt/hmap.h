/*
 * vrt/hmap.h - a string-keyed hash map (chained, FNV-1a, grows at load
 * factor 1).  Not thread-safe: callers hold their own lock.  Keys are
 * copied; values are owned by the map when it was given a free function.
 */
#ifndef VRT_HMAP_H
#define VRT_HMAP_H

#include <stddef.h>

typedef struct vrt_hmap vrt_hmap;

/* `free_val` releases values on replace, delete and free; NULL for none. */
vrt_hmap *vrt_hmap_new(void (*free_val)(void *val));
void vrt_hmap_free(vrt_hmap *m);

/* The value stored under `key`, or NULL. */
void *vrt_hmap_get(const vrt_hmap *m, const char *key);
/* Stores `val` under `key`, releasing any previous value. */
void vrt_hmap_put(vrt_hmap *m, const char *key, void *val);
/* Removes `key` and returns its value without releasing it (NULL if
 * absent). */
void *vrt_hmap_take(vrt_hmap *m, const char *key);
/* Removes `key` and releases its value.  Returns 1 if it was there. */
int vrt_hmap_del(vrt_hmap *m, const char *key);
size_t vrt_hmap_len(const vrt_hmap *m);

/* Calls fn for every entry, in no particular order.  fn must not change
 * the map. */
void vrt_hmap_each(const vrt_hmap *m,
                   void (*fn)(void *opaque, const char *key, void *val),
                   void *opaque);

#endif
