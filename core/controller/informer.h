/*
 * informer.h - keeps a local copy of one resource type in sync with the
 * API server (list, then watch from the list's resourceVersion; relist on
 * 410 Gone; back off on errors) and tells a handler about every change.
 */
#ifndef VRT_CORE_CONTROLLER_INFORMER_H
#define VRT_CORE_CONTROLLER_INFORMER_H

#include <vrt/kube.h>

#include <stddef.h>

#include <cJSON.h>

typedef struct vrt_informer vrt_informer;

/* Called from the informer's thread for each added, modified or deleted
 * object (`obj` borrowed).  `old` is the object as cached before a
 * MODIFIED event when the informer was started with want_old, else NULL.
 * Must not block for long. */
typedef void (*vrt_informer_fn)(void *opaque, const char *type,
                                const cJSON *obj, const cJSON *old);

/* Starts an informer on `path`, the collection URL across namespaces
 * (e.g. "/apis/infra.virtrigaud.io/v1beta1/virtualmachines"). */
vrt_informer *vrt_informer_start(vrt_kube *kube, const char *path,
                                 vrt_informer_fn fn, void *opaque,
                                 int want_old);
/* Tells the informer thread to stop, without waiting.  NULL-safe. */
void vrt_informer_request_stop(vrt_informer *inf);

/* Stops and joins the informer thread, frees the cache. */
void vrt_informer_stop(vrt_informer *inf);

/* Non-zero once the first list has completed. */
int vrt_informer_synced(vrt_informer *inf);

/* A copy of the cached object (caller frees), or NULL. */
cJSON *vrt_informer_get(vrt_informer *inf, const char *ns, const char *name);

/* Calls fn for each cached object whose JSON text contains `needle` (all
 * when NULL: the needle is a cheap filter before parsing), under the
 * cache lock; `obj` borrowed. */
void vrt_informer_each(vrt_informer *inf, const char *needle,
                       void (*fn)(void *opaque, const cJSON *obj),
                       void *opaque);

/* Number of cached objects. */
size_t vrt_informer_len(vrt_informer *inf);

#endif
