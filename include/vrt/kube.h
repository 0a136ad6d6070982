/*
 * vrt/kube.h - a small Kubernetes REST client over libcurl, used by the
 * controller in both modes: against a real API server (kubeconfig or the
 * in-cluster service account) and against standalone mode's own server.
 *
 * Thread-safe: requests may run from many threads; connections are shared
 * and reused.
 */
#ifndef VRT_KUBE_H
#define VRT_KUBE_H

#include <cJSON.h>
#include <vrt/error.h>

typedef struct vrt_kube vrt_kube;

/* Opens a client from a kubeconfig file (its current context), or, when
 * `kubeconfig` is NULL, from $KUBECONFIG, then the in-cluster service
 * account, then ~/.kube/config. */
int vrt_kube_open(vrt_kube **out, const char *kubeconfig, vrt_error *err);
void vrt_kube_close(vrt_kube *k); /* NULL-safe */

/* The context's default namespace ("default" if none). */
const char *vrt_kube_namespace(const vrt_kube *k);
/* The server URL, for messages. */
const char *vrt_kube_server(const vrt_kube *k);

/* One request.  `path` starts with "/" and may carry a query.  `body` may
 * be NULL; `content_type` defaults to application/json.  On any HTTP
 * answer returns VRT_OK with *status set and *out the parsed JSON body
 * (NULL if not JSON; caller frees).  Transport failures return
 * VRT_E_UNAVAILABLE / VRT_E_TIMEOUT with the reason.  A non-2xx answer
 * also fills err from the Kubernetes Status message (err->code mapped:
 * 404 NOTFOUND, 409 CONFLICT/EXISTS, 422/400 INVALID, 401/403
 * UNAUTHORIZED, 410 -> NOTFOUND with "Expired", 429 RATELIMIT,
 * 5xx UNAVAILABLE) so callers may simply test *status. */
int vrt_kube_request(cJSON **out, long *status, vrt_kube *k,
                     const char *method, const char *path,
                     const char *content_type, const cJSON *body,
                     vrt_error *err);

/* Streams a watch: GET `path` (which must include watch=1), calling
 * on_event for each event until the server ends the stream, `*stop`
 * becomes non-zero, or on_event returns non-zero.  `obj` is borrowed. */
typedef int (*vrt_kube_event_fn)(void *opaque, const char *type,
                                 const cJSON *obj);
int vrt_kube_watch(vrt_kube *k, const char *path, vrt_kube_event_fn on_event,
                   void *opaque, volatile int *stop, vrt_error *err);

#endif
