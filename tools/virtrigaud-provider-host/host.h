/*
 * host.h - virtrigaud-provider-host internals.
 *
 * Two processes: the supervisor (main.c, supervisor.c, relay.c) listens,
 * terminates TLS and relays frames; the worker (worker.c, worker_ops.c),
 * started by the supervisor as this same binary with --worker-fd, loads
 * the plugin and serves it.  The plugin never shares an address space with
 * the TLS keys, and when it crashes only the worker dies: the supervisor
 * answers the call that was in flight and starts a new worker.
 */
#ifndef VRT_PROVIDER_HOST_H
#define VRT_PROVIDER_HOST_H

#include <vrt/remote.h>

#include <pthread.h>
#include <stdint.h>

#define HOST_VERSION "0.1.0"

typedef struct host_opts {
    const char *plugin;
    const char *listen;
    const char *cert, *key, *ca, *crl;
    const char **allowed_sans;
    size_t nallowed;
    const char *credentials_dir; /* the host's own credentials, or NULL */
    const char *metrics_addr;    /* probes and /metrics over HTTP, or NULL */
    int insecure;
    int skip_perms;
    int worker_fd; /* >= 0: this process is the worker */
} host_opts;

/* ---- worker (worker.c, worker_ops.c) ---------------------------------- */

/* One client connection as the worker sees it. */
typedef struct wstream {
    double id;
    vrt_stream *s;
    int importing;
} wstream;

typedef struct session {
    vrt_chan ch;
    const vrt_plugin *plugin;
    vrt_pconn *pc;
    pthread_mutex_t wlock; /* frames out */
    pthread_t thread;
    int in_call;
    wstream *streams;
    size_t nstreams;
    double next_stream;
    uint8_t *buf; /* stream_read's, grown on demand */
    size_t bufsize;
    vrt_frame blobs[3];
    size_t nblobs;
} session;

int worker_main(const host_opts *o);
/* Runs `op` of request `req`; fills `reply` (and may send a blob after it
 * through *blob / *blob_len, borrowed from the session). */
int worker_dispatch(session *s, const char *op, const cJSON *req,
                    cJSON *reply, const uint8_t **blob, size_t *blob_len,
                    vrt_error *err);
void worker_session_end(session *s);

/* ---- supervisor (supervisor.c, relay.c) ------------------------------- */

int supervisor_main(const host_opts *o, char **argv);
/* Hands a new connection's worker end to the current worker; returns the
 * supervisor's end, or -1 (then *gen is unchanged). */
int supervisor_attach(unsigned *gen);
/* Waits (bounded) until worker generation `gen` has been reaped, then
 * describes how it ended ("signal 11", "exit status 1"). */
void supervisor_worker_end(char *buf, size_t size, unsigned gen);
/* The current TLS context with a reference (SSL_CTX_free it), or NULL in
 * insecure mode. */
SSL_CTX *supervisor_tls(void);
const host_opts *supervisor_opts(void);

/* A relay thread ends (the count of open connections). */
void supervisor_relay_done(void);
/* Serves one accepted client socket until it closes (a thread). */
void *relay_thread(void *fdp);

#endif
