/*
 * vrt/store.h - the standalone mode's object store: Kubernetes-style
 * objects in one SQLite file (WAL), with a global resourceVersion and an
 * event log for watches.
 *
 * Objects are keyed by (resource, namespace, name); `resource` is the
 * plural plus group, e.g. "virtualmachines.infra.virtrigaud.io", or the
 * plural alone for core kinds ("secrets").  Cluster-scoped objects use the
 * namespace "".  Every successful write bumps the global resourceVersion
 * by one, stores it in the object's metadata.resourceVersion (as a decimal
 * string), appends an event, and returns only after the transaction is
 * durable (an acknowledged write survives kill -9).
 *
 * Thread-safe: one store may be used from many threads.
 */
#ifndef VRT_STORE_H
#define VRT_STORE_H

#include <cJSON.h>
#include <stdint.h>
#include <vrt/error.h>

typedef struct vrt_store vrt_store;

/* Event types, as in the Kubernetes watch protocol. */
#define VRT_EV_ADDED 1
#define VRT_EV_MODIFIED 2
#define VRT_EV_DELETED 3

/* Returned by vrt_store_events_since when `since` is older than the
 * oldest retained event (the server answers 410 Gone). */
#define VRT_STORE_GONE 1

typedef struct vrt_store_opts {
    uint32_t struct_size;
    uint32_t history;   /* events kept for watches (default 10000) */
    int32_t sync_full;  /* PRAGMA synchronous=FULL (1) or NORMAL (0) */
} vrt_store_opts;

/* Opens (creating if needed) the store at `path`.  `opts` may be NULL. */
int vrt_store_open(vrt_store **out, const char *path,
                   const vrt_store_opts *opts, vrt_error *err);
void vrt_store_close(vrt_store *s); /* NULL-safe */

/* The newest resourceVersion (0 for an empty store). */
int64_t vrt_store_current_rv(vrt_store *s);
/* The oldest rv a watch can still start after. */
int64_t vrt_store_oldest_rv(vrt_store *s);

/* Creates an object.  Sets metadata.resourceVersion in `obj`.
 * VRT_E_EXISTS if the key is taken. */
int vrt_store_create(int64_t *rv, vrt_store *s, const char *resource,
                     const char *ns, const char *name, cJSON *obj,
                     vrt_error *err);

/* Replaces an object.  If expect_rv > 0 and the stored rv differs:
 * VRT_E_CONFLICT.  VRT_E_NOTFOUND if absent.  Sets
 * metadata.resourceVersion in `obj`. */
int vrt_store_update(int64_t *rv, vrt_store *s, const char *resource,
                     const char *ns, const char *name, int64_t expect_rv,
                     cJSON *obj, vrt_error *err);

/* Deletes an object; `last` (may be NULL) is the object as it was at
 * deletion, recorded in the DELETED event with the new rv set in it.
 * expect_rv as for update. */
int vrt_store_delete(int64_t *rv, vrt_store *s, const char *resource,
                     const char *ns, const char *name, int64_t expect_rv,
                     cJSON *last, vrt_error *err);

/* Reads one object.  *out is a new cJSON tree owned by the caller
 * (cJSON_Delete).  VRT_E_NOTFOUND if absent. */
int vrt_store_get(cJSON **out, vrt_store *s, const char *resource,
                  const char *ns, const char *name, vrt_error *err);

/* Visits every object of `resource` (in namespace `ns`, or all when NULL),
 * ordered by namespace then name, as of one consistent snapshot whose rv
 * goes to *list_rv.  `obj` is borrowed for the callback; return non-zero
 * from it to stop. */
typedef int (*vrt_store_visit_fn)(void *opaque, const cJSON *obj);
int vrt_store_list(int64_t *list_rv, vrt_store *s, const char *resource,
                   const char *ns, vrt_store_visit_fn visit, void *opaque,
                   vrt_error *err);

/* Visits events with rv > since for `resource` (and `ns` unless NULL), in
 * order, up to `limit` (0 = all).  Returns VRT_OK, VRT_STORE_GONE when
 * `since` is older than the retained history, or an error. */
typedef int (*vrt_store_event_fn)(void *opaque, int type, int64_t rv,
                                  const cJSON *obj);
int vrt_store_events_since(vrt_store *s, int64_t since, const char *resource,
                           const char *ns, uint32_t limit,
                           vrt_store_event_fn visit, void *opaque,
                           vrt_error *err);

/* The newest event of one object with an rv below `rv`, as *out (owned by
 * the caller) and its type; VRT_E_NOTFOUND when the retained history
 * holds none.  A watch with a selector uses it to learn whether a change
 * moved an object into or out of its selection.  It walks the history
 * backwards from `rv` (up to the history bound: milliseconds). */
int vrt_store_event_before(cJSON **out, int *type, vrt_store *s,
                           const char *resource, const char *ns,
                           const char *name, int64_t rv, vrt_error *err);

/* Blocks until the store's rv exceeds `rv` or `timeout_ms` passes.
 * Returns the current rv. */
int64_t vrt_store_wait(vrt_store *s, int64_t rv, uint32_t timeout_ms);

/* The same, waking only for a write of `resource` with an rv above `rv`
 * (NULL: any write), so that watches of other kinds sleep on. */
int64_t vrt_store_wait_kind(vrt_store *s, const char *resource, int64_t rv,
                            uint32_t timeout_ms);

/* Wakes every vrt_store_wait (used at shutdown). */
void vrt_store_wake_all(vrt_store *s);

#endif /* VRT_STORE_H */
