/*
 * remote_internal.h - what the remote transport's files share: the plugin
 * record of a provider host, the client-side connection (the vrt_conn the
 * core holds) with its pool of sockets, and one call's exchange.  Internal
 * to core/plugin.
 */
#ifndef VRT_CORE_PLUGIN_REMOTE_INTERNAL_H
#define VRT_CORE_PLUGIN_REMOTE_INTERNAL_H

#include <vrt/remote.h>

#include "call_internal.h"

#include <pthread.h>

/* A provider host as a plugin.  `base` comes first so that a vrt_plugin
 * pointer of a remote plugin is one of these; base.handle is NULL, which
 * no loaded .so has. */
typedef struct rplugin {
    vrt_plugin base;
    vrt_provider vt;
    char *url;
    int is_unix;
    char *host, *port, *path;
    char *server_name;  /* checked in the host's certificate, or NULL */
    SSL_CTX *tls;       /* NULL: plaintext */
    uint32_t connect_timeout_ms, call_timeout_ms, max_conns;
} rplugin;

/* One socket to the host, with the plugin connection opened on it. */
typedef struct tconn {
    vrt_chan ch;
    int broken;
    struct tconn *next;
} tconn;

struct vrt_conn {
    rplugin *rp;
    vrt_host_ctx *ctx; /* the core's, for secret_get */
    char *endpoint, *config_json;
    pthread_mutex_t lock;
    pthread_cond_t freed;
    tconn *idle;
    uint32_t total; /* sockets open, idle or in use */
};

/* Where a reply's blob goes: a caller's buffer (stream_read). */
typedef struct rsink {
    uint8_t *buf;
    size_t cap;
    size_t got;
} rsink;

/* One outgoing blob. */
typedef struct rblob {
    const void *data;
    size_t len;
} rblob;

/* The plugin record behind a connection's host context. */
rplugin *vrt_remote_of_ctx(vrt_host_ctx *ctx);

/*
 * Sends `req` (consumed) with `nblobs` blobs and waits for its reply,
 * answering the host's callbacks (secret_get, progress) meanwhile.  On a
 * socket `pinned` when not NULL (streams), else on one taken from the
 * connection's pool.  *reply (owned by the caller) is the reply's JSON when
 * the host answered, whatever the plugin's code; the return value is that
 * code (err filled) or a transport error.
 */
int vrt_remote_call(cJSON **reply, vrt_conn *c, tconn *pinned,
                    const vrt_call *call, const char *op, cJSON *req,
                    const rblob *blobs, size_t nblobs, rsink *sink,
                    vrt_error *err);
/* Takes a socket out of the pool for a stream (connecting when none is
 * idle) / gives one back (closing it when broken). */
int vrt_remote_checkout(tconn **out, vrt_conn *c, uint64_t deadline_ms,
                        vrt_error *err);
void vrt_remote_checkin(vrt_conn *c, tconn *t);
/* Opens / closes the client side of a connection. */
int32_t vrt_remote_conn_open(vrt_conn **out, const vrt_conn_params *params,
                             uint32_t flags, vrt_error *err);
void vrt_remote_conn_close(vrt_conn *c);
/* Fills rp->vt's methods for those the host's plugin has (remote_vtable.c). */
void vrt_remote_vtable_fill(rplugin *rp, const cJSON *methods);

#endif
