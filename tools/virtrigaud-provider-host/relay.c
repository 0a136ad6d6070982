/*
 * One client connection in the supervisor: the TLS handshake (certificate
 * verified against the CA and CRL by OpenSSL, then the SAN allow-list),
 * then frames relayed both ways between the client and the worker.  The
 * relay remembers which call is in flight, so that when the worker dies it
 * can answer that call with what happened instead of a bare hang-up.
 */
#include "host.h"

#include <vrt/clock.h>
#include <vrt/log.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

VRT_LOG_SOURCE("host.relay");

#define HANDSHAKE_MS 10000
#define FRAME_MS 60000

static void peer_name(char *buf, size_t size, int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char h[INET6_ADDRSTRLEN] = "";
    snprintf(buf, size, "local socket");
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, h, sizeof(h));
        snprintf(buf, size, "%s:%u", h, ntohs(in->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in->sin6_addr, h, sizeof(h));
        snprintf(buf, size, "[%s]:%u", h, ntohs(in->sin6_port));
    }
}

static int allowed(X509 *cert)
{
    const host_opts *o = supervisor_opts();
    if (!o->nallowed)
        return 1;
    for (size_t i = 0; i < o->nallowed; i++)
        if (vrt_tls_cert_has_name(cert, o->allowed_sans[i]))
            return 1;
    return 0;
}

/* TLS for the client; non-zero (and logged) when refused. */
/* SSL_accept within HANDSHAKE_MS in all (a socket timeout would bound
 * each read only, and a client sending a byte at a time could hold the
 * thread for hours).  Returns SSL_accept's last result. */
static int handshake(SSL *ssl, int fd)
{
    int fl = fcntl(fd, F_GETFL);
    (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    uint64_t deadline = vrt_now_ms() + HANDSHAKE_MS;
    int r;
    for (;;) {
        r = SSL_accept(ssl);
        if (r == 1)
            break;
        int e = SSL_get_error(ssl, r);
        uint64_t now = vrt_now_ms();
        if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
            now >= deadline)
            break;
        struct pollfd p = {fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 0};
        if (poll(&p, 1, (int)(deadline - now)) < 0 && errno != EINTR)
            break;
    }
    (void)fcntl(fd, F_SETFL, fl);
    return r;
}

static int accept_tls(vrt_chan *cl, const char *peer)
{
    SSL_CTX *ctx = supervisor_tls();
    if (!ctx)
        return 0; /* --insecure */
    cl->ssl = SSL_new(ctx);
    SSL_CTX_free(ctx); /* the SSL holds its own reference */
    if (!cl->ssl)
        return -1;
    SSL_set_fd(cl->ssl, cl->fd);
    char why[256] = "", serial[80] = "";
    if (handshake(cl->ssl, cl->fd) != 1) {
        long v = SSL_get_verify_result(cl->ssl);
        vrt_tls_last_error(why, sizeof(why));
        if (v != X509_V_OK)
            snprintf(why, sizeof(why), "client certificate rejected: %s",
                     X509_verify_cert_error_string(v));
        vrt_log_warn("Refused connection from %s: TLS handshake failed: %s",
                     peer, why[0] ? why : "the client went away");
        return -1;
    }
    X509 *cert = SSL_get1_peer_certificate(cl->ssl);
    int ok = cert && allowed(cert);
    X509_free(cert);
    vrt_tls_serial(serial, sizeof(serial), cl->ssl, 1);
    if (!ok) {
        vrt_log_warn("Refused connection from %s: client certificate "
                     "serial=%s has none of the --allowed-san names.",
                     peer, serial);
        return -1;
    }
    vrt_log_info("Accepted connection from %s client_serial=%s", peer,
                 serial);
    return 0;
}

/* The op of a client request, or of a worker reply ("re"); "" otherwise. */
static void frame_op(char *op, size_t size, const vrt_frame *f,
                     const char *key)
{
    op[0] = '\0';
    if (f->kind != VRT_WIRE_JSON)
        return;
    cJSON *j = cJSON_ParseWithLength(f->data, f->len);
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(j, key));
    if (v && !cJSON_GetObjectItem(j, "cb"))
        snprintf(op, size, "%s", v);
    cJSON_Delete(j);
}

static void answer_crash(vrt_chan *cl, const char *inflight, unsigned gen,
                         const char *peer)
{
    char how[64];
    supervisor_worker_end(how, sizeof(how), gen);
    if (!inflight[0])
        return;
    vrt_error e;
    vrt_error_set(&e, VRT_E_INTERNAL,
                  "Provider plugin crashed (%s) during %s; restarted.", how,
                  inflight);
    e.klass = VRT_CLASS_TRANSIENT; /* the next call meets a fresh worker */
    vrt_log_error("Answered the call in flight from %s: %s", peer,
                  e.message);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "re", inflight);
    cJSON_AddNumberToObject(r, "rc", e.code);
    cJSON_AddBoolToObject(r, "closing", 1);
    cJSON_AddItemToObject(r, "error", vrt_wire_error_json(&e));
    vrt_error se = VRT_ERROR_INIT;
    if (vrt_wire_send_json(cl, r, vrt_now_ms() + 5000, &se) != VRT_OK)
        vrt_log_warn("The crash answer did not reach %s: %s", peer,
                     se.message);
    cJSON_Delete(r);
}

/* Answers the client's hello with UNAVAILABLE when no worker can serve
 * it, so that it learns why instead of seeing a hang-up. */
static void refuse_hello(vrt_chan *cl)
{
    vrt_frame f;
    vrt_error e = VRT_ERROR_INIT;
    if (vrt_wire_recv(&f, cl, vrt_now_ms() + 5000, &e) != VRT_OK)
        return;
    vrt_frame_clear(&f);
    vrt_error_set(&e, VRT_E_UNAVAILABLE,
                  "The provider host's plugin worker is not running (it "
                  "keeps crashing or is starting); try again later.");
    e.retry_after_ms = 1000;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "re", "hello");
    cJSON_AddNumberToObject(r, "proto", VRT_REMOTE_PROTO);
    cJSON_AddNumberToObject(r, "rc", e.code);
    cJSON_AddItemToObject(r, "error", vrt_wire_error_json(&e));
    if (vrt_wire_send_json(cl, r, vrt_now_ms() + 5000, &e) != VRT_OK)
        vrt_log_warn("Could not tell a client that no worker runs: %s",
                     e.message);
    cJSON_Delete(r);
}

void *relay_thread(void *fdp)
{
    vrt_chan cl = {(int)(intptr_t)fdp, NULL}, wk = {-1, NULL};
    char peer[96], inflight[40] = "";
    unsigned gen = 0;
    peer_name(peer, sizeof(peer), cl.fd);
    if (accept_tls(&cl, peer) != 0)
        goto cleanup;
    wk.fd = supervisor_attach(&gen);
    if (wk.fd < 0) {
        vrt_log_error("No worker to serve %s: the plugin is not running.",
                      peer);
        refuse_hello(&cl);
        goto cleanup;
    }
    for (;;) {
        struct pollfd p[2] = {{cl.fd, POLLIN, 0}, {wk.fd, POLLIN, 0}};
        int client_ready = cl.ssl && SSL_pending(cl.ssl) > 0;
        if (!client_ready) {
            if (poll(p, 2, -1) < 0) {
                if (errno == EINTR)
                    continue;
                break;
            }
            client_ready = (p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
        }
        vrt_frame f;
        vrt_error err = VRT_ERROR_INIT;
        if (client_ready) {
            /* Readable: the whole frame must follow within FRAME_MS, so
             * a client stalled mid-frame does not hold the relay. */
            if (vrt_wire_recv(&f, &cl, vrt_now_ms() + FRAME_MS, &err) != VRT_OK)
                break; /* the client went away */
            char op[40];
            frame_op(op, sizeof(op), &f, "op");
            if (op[0])
                snprintf(inflight, sizeof(inflight), "%s", op);
            int rc = vrt_wire_send(&wk, f.kind, f.data, f.len,
                                   vrt_now_ms() + FRAME_MS, &err);
            vrt_frame_clear(&f);
            if (rc != VRT_OK) {
                answer_crash(&cl, inflight, gen, peer);
                break;
            }
            continue;
        }
        if (!(p[1].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (vrt_wire_recv(&f, &wk, vrt_now_ms() + FRAME_MS, &err) != VRT_OK) {
            answer_crash(&cl, inflight, gen, peer);
            break;
        }
        char re[40];
        frame_op(re, sizeof(re), &f, "re");
        if (re[0])
            inflight[0] = '\0';
        int rc = vrt_wire_send(&cl, f.kind, f.data, f.len,
                               vrt_now_ms() + FRAME_MS, &err);
        vrt_frame_clear(&f);
        if (rc != VRT_OK)
            break;
    }
cleanup:
    vrt_chan_close(&wk);
    vrt_chan_close(&cl);
    supervisor_relay_done();
    return NULL;
}
