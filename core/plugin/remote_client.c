/*
 * The remote transport's client: the plugin record of a provider host,
 * sockets to it (connect, TLS handshake, hello, open), a small pool of them
 * per connection, and the exchange of one call with its callbacks.
 *
 * Reconnects: a socket that broke (the host restarted, a deadline passed
 * mid-reply, the host said it is closing) is dropped and the next call
 * makes a new one.  A call that fails on a socket reused from the pool
 * before any byte of its reply arrived is sent once more on a fresh socket:
 * the host closed an idle connection, so the call never ran.
 */
#include "remote_internal.h"

#include <vrt/clock.h>
#include <vrt/log.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

VRT_LOG_SOURCE("core.remote");

#define DEFAULT_CONNECT_MS 10000u
#define DEFAULT_CALL_MS 300000u
#define DEFAULT_MAX_CONNS 4u

static char *xstrdup(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        abort();
    return d;
}

rplugin *vrt_remote_of_ctx(vrt_host_ctx *ctx)
{
    /* Every host context the core hands out is the hctx of a vrt_pconn. */
    vrt_pconn *pc = (vrt_pconn *)((char *)ctx - offsetof(vrt_pconn, hctx));
    const vrt_plugin *p = pc->plugin;
    return p && !p->handle ? (rplugin *)p : NULL;
}

int vrt_plugin_is_remote(const vrt_plugin *p)
{
    return p && !p->handle;
}

const char *vrt_remote_plugin_url(const vrt_plugin *p)
{
    return vrt_plugin_is_remote(p) ? ((const rplugin *)p)->url : NULL;
}

/* ---------------------------------------------------------------------- */
/* Sockets                                                                 */
/* ---------------------------------------------------------------------- */

static int connect_fd(int *out, const rplugin *rp, uint64_t deadline,
                      vrt_error *err)
{
    *out = -1;
    if (rp->is_unix) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(rp->path) >= sizeof(sa.sun_path))
            return vrt_error_set(err, VRT_E_INVALID,
                                 "The socket path \"%s\" is too long.",
                                 rp->path);
        memcpy(sa.sun_path, rp->path, strlen(rp->path) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            return vrt_error_set(err, VRT_E_UNAVAILABLE,
                                 "Cannot reach the provider host \"%s\": %s.",
                                 rp->url, strerror(e));
        }
        *out = fd;
        return VRT_OK;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(rp->host, rp->port, &hints, &res);
    if (g != 0)
        return vrt_error_set(err, VRT_E_UNAVAILABLE,
                             "Cannot resolve the provider host \"%s\": %s.",
                             rp->url, gai_strerror(g));
    int e = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int fl = fcntl(fd, F_GETFL);
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r != 0 && errno == EINPROGRESS) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            uint64_t now = vrt_now_ms();
            uint64_t left = now < deadline ? deadline - now : 0;
            int ms = left > INT32_MAX ? INT32_MAX : (int)left;
            socklen_t sl = sizeof(e);
            int pr = poll(&pfd, 1, ms);
            if (pr == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == 0 && e == 0)
                r = 0;
            else if (pr == 0 || e == 0 || e == EINPROGRESS)
                e = ETIMEDOUT;
        } else if (r != 0) {
            e = errno;
        }
        if (r == 0) {
            int one = 1;
            (void)fcntl(fd, F_SETFL, fl);
            /* Small frames each way: no Nagle delay on them. */
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            *out = fd;
            break;
        }
        close(fd);
    }
    freeaddrinfo(res);
    if (*out < 0)
        return vrt_error_set(err, VRT_E_UNAVAILABLE,
                             "Cannot reach the provider host \"%s\": %s.",
                             rp->url, strerror(e));
    return VRT_OK;
}

static int tls_refused(vrt_error *err, const rplugin *rp, const char *why)
{
    return vrt_error_set(err, VRT_E_UNAUTHORIZED,
                         "The TLS handshake with the provider host \"%s\" "
                         "failed: %s.",
                         rp->url, why);
}

static int handshake(vrt_chan *ch, const rplugin *rp, uint64_t deadline,
                     vrt_error *err)
{
    ch->ssl = SSL_new(rp->tls);
    if (!ch->ssl)
        return tls_refused(err, rp, "out of TLS resources");
    SSL_set_fd(ch->ssl, ch->fd);
    if (rp->server_name) {
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(rp->server_name);
        X509_VERIFY_PARAM *vp = SSL_get0_param(ch->ssl);
        if (ip)
            X509_VERIFY_PARAM_set1_ip_asc(vp, rp->server_name);
        else {
            SSL_set_tlsext_host_name(ch->ssl, rp->server_name);
            SSL_set1_host(ch->ssl, rp->server_name);
        }
        ASN1_OCTET_STRING_free(ip);
    }
    uint64_t now = vrt_now_ms();
    struct timeval tv = {0, 0};
    uint64_t left = deadline > now ? deadline - now : 1;
    tv.tv_sec = (time_t)(left / 1000);
    tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
    setsockopt(ch->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(ch->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (vrt_tls_connect(ch->ssl) == 1)
        return VRT_OK;
    char why[200];
    long v = SSL_get_verify_result(ch->ssl);
    vrt_tls_last_error(why, sizeof(why));
    if (v != X509_V_OK)
        snprintf(why, sizeof(why), "the host's certificate is not trusted (%s)",
                 X509_verify_cert_error_string(v));
    return tls_refused(err, rp, why[0] ? why : "the connection was closed");
}

/* Connects, shakes hands and says hello; *hello gets the host's answer. */
static int dial(vrt_chan *out, cJSON **hello, const rplugin *rp,
                vrt_error *err)
{
    uint64_t deadline = vrt_now_ms() + rp->connect_timeout_ms;
    out->fd = -1;
    out->ssl = NULL;
    *hello = NULL;
    int rc = connect_fd(&out->fd, rp, deadline, err);
    if (rc == VRT_OK && rp->tls)
        rc = handshake(out, rp, deadline, err);
    int hello_stage = rc == VRT_OK;
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "op", "hello");
    cJSON_AddNumberToObject(req, "proto", VRT_REMOTE_PROTO);
    cJSON_AddStringToObject(req, "client", "virtrigaud");
    if (rc == VRT_OK)
        rc = vrt_wire_send_json(out, req, deadline, err);
    cJSON_Delete(req);
    if (rc == VRT_OK)
        rc = vrt_wire_recv_json(hello, out, deadline, err);
    /* In TLS 1.3 the host judges our certificate after our side of the
     * handshake completed: its refusal arrives at the hello, as an alert
     * or a reset. */
    if (rc != VRT_OK && hello_stage && err->code == VRT_E_UNAVAILABLE) {
        char was[VRT_ERROR_MESSAGE_MAX];
        snprintf(was, sizeof(was), "%s", err->message);
        if (rp->tls)
            rc = vrt_error_set(err, VRT_E_UNAUTHORIZED,
                               "The provider host \"%s\" refused the "
                               "connection after the TLS handshake: it did "
                               "not accept our client certificate (%.120s)",
                               rp->url, was);
        else
            rc = vrt_error_set(err, VRT_E_UNAVAILABLE,
                               "The provider host \"%s\" dropped our "
                               "plaintext hello; does it serve TLS (then use "
                               "tls:// and certificates)? (%.120s)",
                               rp->url, was);
    }
    if (rc == VRT_OK && vrt_codec_i64(*hello, "rc") != VRT_OK) {
        vrt_wire_error_read(err, cJSON_GetObjectItem(*hello, "error"));
        rc = err->code < 0 ? err->code : VRT_E_INTERNAL;
        if (err->code >= 0)
            err->code = rc;
    }
    if (rc != VRT_OK) {
        cJSON_Delete(*hello);
        *hello = NULL;
        vrt_chan_close(out);
    }
    return rc;
}

/* ---------------------------------------------------------------------- */
/* The plugin record                                                       */
/* ---------------------------------------------------------------------- */

static int parse_url(rplugin *rp, const char *url, int insecure,
                     vrt_error *err)
{
    if (strncmp(url, "unix://", 7) == 0 && url[7] == '/') {
        rp->is_unix = 1;
        rp->path = xstrdup(url + 7);
        return VRT_OK;
    }
    int tls = strncmp(url, "tls://", 6) == 0;
    int tcp = strncmp(url, "tcp://", 6) == 0;
    if (!tls && !tcp)
        return vrt_error_set(err, VRT_E_INVALID,
                             "The provider host address \"%s\" must be "
                             "tls://HOST:PORT or unix:///PATH (tcp://HOST:PORT "
                             "for plaintext).",
                             url);
    if (tcp && !insecure)
        return vrt_error_set(err, VRT_E_INVALID,
                             "The provider host address \"%s\" is plaintext "
                             "TCP; that needs the explicit insecure setting "
                             "(else use tls://).",
                             url);
    if (tls && insecure)
        return vrt_error_set(err, VRT_E_INVALID,
                             "The provider host address \"%s\" asks for TLS "
                             "but the insecure setting asks for plaintext.",
                             url);
    const char *hp = url + 6;
    const char *colon = strrchr(hp, ':');
    if (!colon || colon == hp || !colon[1])
        return vrt_error_set(err, VRT_E_INVALID,
                             "The provider host address \"%s\" lacks "
                             "HOST:PORT.",
                             url);
    size_t hl = (size_t)(colon - hp);
    if (hp[0] == '[' && hl >= 2 && hp[hl - 1] == ']') { /* [::1]:port */
        hp++;
        hl -= 2;
    }
    rp->host = strndup(hp, hl);
    rp->port = xstrdup(colon + 1);
    if (!rp->host)
        abort();
    return VRT_OK;
}

static int make_tls(rplugin *rp, const vrt_remote_opts *o, vrt_error *err)
{
    char *cert = NULL, *key = NULL, *ca = NULL, why[400];
    int rc = VRT_OK;
    const struct {
        const char *pem, *file;
        char **dst;
        const char *what;
    } src[] = {{o->cert_pem, o->cert_file, &cert, "client certificate"},
               {o->key_pem, o->key_file, &key, "client key"},
               {o->ca_pem, o->ca_file, &ca, "CA certificate"}};
    for (size_t i = 0; i < 3 && rc == VRT_OK; i++) {
        if (src[i].pem) {
            *src[i].dst = xstrdup(src[i].pem);
            continue;
        }
        if (!src[i].file)
            continue;
        FILE *f = fopen(src[i].file, "re");
        if (!f) {
            rc = vrt_error_set(err, VRT_E_INVALID,
                               "The %s file \"%s\" cannot be read: %s.",
                               src[i].what, src[i].file, strerror(errno));
            break;
        }
        char *buf = calloc(1, 1 << 20);
        if (!buf)
            abort();
        size_t n = fread(buf, 1, (1 << 20) - 1, f);
        buf[n] = '\0';
        fclose(f);
        *src[i].dst = buf;
    }
    if (rc == VRT_OK && (rc = vrt_tls_client_ctx(&rp->tls, cert, key, ca,
                                                 o->skip_verify, why,
                                                 sizeof(why))) != VRT_OK)
        vrt_error_set(err, rc, "Provider host \"%s\": %s", rp->url, why);
    if (key)
        memset(key, 0, strlen(key)); /* a private key: wipe our copy */
    free(cert);
    free(key);
    free(ca);
    return rc;
}

void vrt_remote_plugin_free(vrt_plugin *p)
{
    rplugin *rp = (rplugin *)p;
    if (!rp)
        return;
    SSL_CTX_free(rp->tls);
    free(rp->url);
    free(rp->host);
    free(rp->port);
    free(rp->path);
    free(rp->server_name);
    free(rp->base.path);
    free(rp->base.name);
    free(rp->base.version);
    free(rp);
}

static int read_hello(rplugin *rp, const cJSON *hello, vrt_error *err)
{
    const cJSON *pl = cJSON_GetObjectItem(hello, "plugin");
    const char *name = vrt_codec_str(pl, "name");
    long proto = (long)vrt_codec_i64(hello, "proto");
    if (proto != VRT_REMOTE_PROTO)
        return vrt_error_set(err, VRT_E_NOTSUPP,
                             "The provider host \"%s\" speaks protocol "
                             "version %ld; this manager speaks %d.",
                             rp->url, proto, VRT_REMOTE_PROTO);
    if (!name || !*name)
        return vrt_error_set(err, VRT_E_INTERNAL,
                             "The provider host \"%s\" did not name its "
                             "plugin.",
                             rp->url);
    rp->base.name = xstrdup(name);
    rp->base.version = xstrdup(vrt_codec_str(pl, "version")
                                   ? vrt_codec_str(pl, "version")
                                   : "");
    rp->vt.abi = (uint32_t)vrt_codec_u64(pl, "abi");
    /* The remote vtable is always a full 1.x one of ours; the methods the
     * host's plugin lacks are NULL in it. */
    rp->vt.struct_size = VRT_ABI_MINOR_OF(rp->vt.abi) >= 1
                             ? (uint32_t)sizeof(vrt_provider)
                             : (uint32_t)VRT_PROVIDER_SIZE_1_0;
    rp->vt.caps = vrt_codec_u64(pl, "caps");
    rp->vt.flags = (uint32_t)vrt_codec_u64(pl, "flags") &
                   VRT_PROVIDER_SERIALIZE;
    rp->vt.name = rp->base.name;
    rp->vt.version = rp->base.version;
    rp->base.abi = rp->vt.abi;
    vrt_remote_vtable_fill(rp, cJSON_GetObjectItem(pl, "methods"));
    return VRT_OK;
}

int vrt_remote_plugin_open(vrt_plugin **out, const char *url,
                           const vrt_remote_opts *opts, vrt_error *err)
{
    vrt_remote_opts none;
    memset(&none, 0, sizeof(none));
    const vrt_remote_opts *o = opts ? opts : &none;
    *out = NULL;
    rplugin *rp = calloc(1, sizeof(*rp));
    if (!rp)
        abort();
    rp->url = xstrdup(url ? url : "");
    rp->base.path = xstrdup(rp->url);
    rp->base.vt = &rp->vt;
    rp->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms
                                                   : DEFAULT_CONNECT_MS;
    rp->call_timeout_ms = o->call_timeout_ms ? o->call_timeout_ms
                                             : DEFAULT_CALL_MS;
    rp->max_conns = o->max_connections ? o->max_connections
                                       : DEFAULT_MAX_CONNS;
    cJSON *hello = NULL;
    vrt_chan ch = {-1, NULL};
    int rc = parse_url(rp, rp->url, o->insecure, err);
    if (rc == VRT_OK && !o->insecure) {
        if (o->server_name)
            rp->server_name = xstrdup(o->server_name);
        else if (!rp->is_unix && !o->skip_verify)
            rp->server_name = xstrdup(rp->host);
        rc = make_tls(rp, o, err);
    }
    if (rc == VRT_OK && o->insecure)
        vrt_log_warn("Provider host \"%s\" is reached WITHOUT TLS (insecure): "
                     "anyone who can reach it can drive the plugin, and "
                     "credentials cross in clear.",
                     rp->url);
    if (rc == VRT_OK)
        rc = dial(&ch, &hello, rp, err);
    if (rc == VRT_OK)
        rc = read_hello(rp, hello, err);
    cJSON_Delete(hello);
    vrt_chan_close(&ch);
    if (rc != VRT_OK) {
        vrt_remote_plugin_free(&rp->base);
        return rc;
    }
    vrt_log_info("Provider host \"%s\" serves plugin \"%s\" version \"%s\" "
                 "ABI %u.%u%s",
                 rp->url, rp->base.name, rp->base.version,
                 VRT_ABI_MAJOR_OF(rp->vt.abi), VRT_ABI_MINOR_OF(rp->vt.abi),
                 rp->tls ? " over mutual TLS" : "");
    *out = &rp->base;
    return VRT_OK;
}

/* ---------------------------------------------------------------------- */
/* Connections and their sockets                                           */
/* ---------------------------------------------------------------------- */

static void tconn_free(tconn *t)
{
    if (!t)
        return;
    vrt_chan_close(&t->ch);
    free(t);
}

/* A new socket with the plugin connection opened on it. */
static int tconn_new(tconn **out, vrt_conn *c, uint64_t deadline,
                     vrt_error *err)
{
    *out = NULL;
    tconn *t = calloc(1, sizeof(*t));
    if (!t)
        abort();
    cJSON *hello = NULL, *reply = NULL;
    int rc = dial(&t->ch, &hello, c->rp, err);
    if (rc == VRT_OK &&
        strcmp(vrt_codec_str(cJSON_GetObjectItem(hello, "plugin"), "name")
                   ? vrt_codec_str(cJSON_GetObjectItem(hello, "plugin"), "name")
                   : "",
               c->rp->base.name) != 0)
        rc = vrt_error_set(err, VRT_E_UNAVAILABLE,
                           "The provider host \"%s\" now serves another "
                           "plugin than \"%s\".",
                           c->rp->url, c->rp->base.name);
    cJSON_Delete(hello);
    if (rc != VRT_OK) {
        tconn_free(t); /* closes the socket when dial() opened it */
        return rc;
    }
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "endpoint", c->endpoint);
    cJSON_AddStringToObject(req, "config", c->config_json);
    vrt_call call = {.struct_size = sizeof(call), .deadline_ms = deadline};
    rc = vrt_remote_call(&reply, c, t, &call, "open", req, NULL, 0, NULL, err);
    cJSON_Delete(reply);
    if (rc != VRT_OK) {
        tconn_free(t);
        return rc;
    }
    *out = t;
    return VRT_OK;
}

int vrt_remote_checkout(tconn **out, vrt_conn *c, uint64_t deadline,
                        vrt_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&c->lock);
    while (!c->idle && c->total >= c->rp->max_conns) {
        uint64_t now = vrt_now_ms();
        if (now >= deadline) {
            pthread_mutex_unlock(&c->lock);
            return vrt_error_set(err, VRT_E_TIMEOUT,
                                 "All %u connections to the provider host "
                                 "\"%s\" stayed busy until the deadline.",
                                 c->rp->max_conns, c->rp->url);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t wait = deadline - now > 1000 ? 1000 : deadline - now;
        ts.tv_nsec += (long)(wait % 1000) * 1000000L;
        ts.tv_sec += (time_t)(wait / 1000) + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&c->freed, &c->lock, &ts);
    }
    if (c->idle) {
        *out = c->idle;
        c->idle = c->idle->next;
        (*out)->next = NULL;
        pthread_mutex_unlock(&c->lock);
        return VRT_OK;
    }
    c->total++;
    pthread_mutex_unlock(&c->lock);
    int rc = tconn_new(out, c, deadline, err);
    if (rc != VRT_OK) {
        pthread_mutex_lock(&c->lock);
        c->total--;
        pthread_cond_signal(&c->freed);
        pthread_mutex_unlock(&c->lock);
    }
    return rc;
}

void vrt_remote_checkin(vrt_conn *c, tconn *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&c->lock);
    if (t->broken) {
        c->total--;
    } else {
        t->next = c->idle;
        c->idle = t;
    }
    pthread_cond_signal(&c->freed);
    pthread_mutex_unlock(&c->lock);
    if (t->broken)
        tconn_free(t);
}

int32_t vrt_remote_conn_open(vrt_conn **out, const vrt_conn_params *params,
                             uint32_t flags, vrt_error *err)
{
    *out = NULL;
    if (flags || !params || params->flags)
        return vrt_error_set(err, VRT_E_INVALID,
                             "open: unknown flags 0x%x (or vrt_conn_params "
                             "flags 0x%x); none are defined.",
                             flags, params ? params->flags : 0);
    rplugin *rp = params->ctx ? vrt_remote_of_ctx(params->ctx) : NULL;
    if (!rp)
        return vrt_error_set(err, VRT_E_INVALID,
                             "open of a remote plugin needs the connection "
                             "context the core provides.");
    vrt_conn *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    c->rp = rp;
    c->ctx = params->ctx;
    c->endpoint = xstrdup(params->endpoint ? params->endpoint : "");
    c->config_json = xstrdup(params->config_json ? params->config_json : "{}");
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->freed, NULL);
    /* One socket now, so that a bad endpoint or config fails the open. */
    tconn *t = NULL;
    int rc = vrt_remote_checkout(&t, c, vrt_now_ms() + rp->call_timeout_ms,
                                 err);
    if (rc != VRT_OK) {
        c->total = 0;
        vrt_remote_conn_close(c);
        return rc;
    }
    vrt_remote_checkin(c, t);
    *out = c;
    return VRT_OK;
}

void vrt_remote_conn_close(vrt_conn *c)
{
    if (!c)
        return;
    tconn *t = c->idle;
    while (t) {
        tconn *n = t->next;
        tconn_free(t);
        t = n;
    }
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->freed);
    free(c->endpoint);
    free(c->config_json);
    free(c);
}

/* ---------------------------------------------------------------------- */
/* One call                                                                */
/* ---------------------------------------------------------------------- */

/* Answers the host's secret_get with the core's credentials. */
static void answer_secret(tconn *t, vrt_conn *c, const cJSON *cb,
                          uint64_t deadline)
{
    const char *key = vrt_codec_str(cb, "key");
    vrt_error e = VRT_ERROR_INIT;
    size_t len = 0, size = 4096;
    char *buf = NULL;
    int rc = VRT_E_NOTFOUND;
    for (int tries = 0; tries < 2; tries++) {
        buf = calloc(1, size);
        if (!buf)
            abort();
        if (!key)
            rc = vrt_error_set(&e, VRT_E_INVALID, "secret_get without a key.");
        else if (!c->ctx->secret)
            rc = vrt_error_set(&e, VRT_E_NOTFOUND,
                               "No credentials are configured for provider "
                               "\"%s\" (key \"%s\" asked).",
                               c->ctx->label, key);
        else
            rc = c->ctx->secret(&len, c->ctx->secret_opaque, key, buf, size,
                                &e);
        if (rc != VRT_E_INVALID || len <= size || len > (1u << 20))
            break;
        OPENSSL_cleanse(buf, size);
        free(buf);
        buf = NULL;
        size = len;
    }
    cJSON *ans = cJSON_CreateObject();
    cJSON_AddStringToObject(ans, "re", "secret");
    cJSON_AddNumberToObject(ans, "rc", rc);
    if (rc == VRT_OK)
        cJSON_AddStringToObject(ans, "value", buf);
    else
        cJSON_AddItemToObject(ans, "error", vrt_wire_error_json(&e));
    char *text = cJSON_PrintUnformatted(ans);
    vrt_error se = VRT_ERROR_INIT;
    if (vrt_wire_send(&t->ch, VRT_WIRE_JSON, text, strlen(text), deadline,
                      &se) != VRT_OK)
        t->broken = 1;
    OPENSSL_cleanse(text, strlen(text));
    cJSON_free(text);
    /* cJSON does not wipe: the value was in it. */
    char *v = cJSON_GetStringValue(cJSON_GetObjectItem(ans, "value"));
    if (v)
        OPENSSL_cleanse(v, strlen(v));
    cJSON_Delete(ans);
    if (buf)
        OPENSSL_cleanse(buf, size);
    free(buf);
}

/* Reads the blob that follows a reply into the sink (or drops it). */
static int read_blob(tconn *t, rsink *sink, uint64_t deadline, vrt_error *err)
{
    uint8_t kind;
    uint32_t len;
    int rc = vrt_wire_recv_head(&kind, &len, &t->ch, deadline, err);
    if (rc != VRT_OK)
        return rc;
    if (kind != VRT_WIRE_BLOB || !sink || len > sink->cap)
        return vrt_error_set(err, VRT_E_INTERNAL,
                             "The provider host sent %u bytes of data where "
                             "at most %zu fit.",
                             len, sink ? sink->cap : 0);
    sink->got = len;
    return vrt_chan_read(&t->ch, sink->buf, len, deadline, err);
}

/* Waits for the next message in slices, so that a call the core cancels
 * (shutdown, a deleted resource) stops waiting at once.  The host's side
 * runs on to its deadline; the socket is dropped. */
static int wait_readable(tconn *t, const vrt_call *call, uint64_t deadline,
                         vrt_error *err)
{
    for (;;) {
        if (call && call->ctx && call->ctx->cancelled)
            return vrt_error_set(err, VRT_E_CANCELED,
                                 "The call was cancelled while the provider "
                                 "host ran it.");
        if (t->ch.ssl && SSL_pending(t->ch.ssl) > 0)
            return VRT_OK;
        uint64_t now = vrt_now_ms();
        if (now >= deadline)
            return VRT_OK; /* the read reports the timeout */
        struct pollfd p = {.fd = t->ch.fd, .events = POLLIN};
        int ms = deadline - now > 200 ? 200 : (int)(deadline - now);
        int r = poll(&p, 1, ms);
        if (r != 0 && !(r < 0 && errno == EINTR))
            return VRT_OK;
    }
}

/* Sends the request and reads until its reply.  *answered: a reply byte
 * arrived (so the call ran). */
static int exchange(cJSON **reply, int *answered, tconn *t, vrt_conn *c,
                    const vrt_call *call, const char *req_text,
                    const rblob *blobs, size_t nblobs, rsink *sink,
                    uint64_t deadline, vrt_error *err)
{
    *reply = NULL;
    *answered = 0;
    int rc = vrt_wire_send(&t->ch, VRT_WIRE_JSON, req_text, strlen(req_text),
                           deadline, err);
    for (size_t i = 0; rc == VRT_OK && i < nblobs; i++)
        rc = vrt_wire_send(&t->ch, VRT_WIRE_BLOB, blobs[i].data,
                           blobs[i].len, deadline, err);
    while (rc == VRT_OK) {
        cJSON *m = NULL;
        rc = wait_readable(t, call, deadline, err);
        if (rc != VRT_OK)
            break;
        rc = vrt_wire_recv_json(&m, &t->ch, deadline, err);
        if (rc != VRT_OK)
            break;
        *answered = 1;
        const char *cb = vrt_codec_str(m, "cb");
        if (cb && strcmp(cb, "secret") == 0) {
            answer_secret(t, c, m, deadline);
        } else if (cb && strcmp(cb, "progress") == 0) {
            if (call && call->ctx)
                vrt_host_api_get()->progress(call->ctx,
                                             vrt_codec_u64(m, "done"),
                                             vrt_codec_u64(m, "total"));
        } else if (!cb) {
            if (vrt_codec_i64(m, "blob"))
                rc = read_blob(t, sink, deadline, err);
            if (cJSON_IsTrue(cJSON_GetObjectItem(m, "closing")))
                t->broken = 1;
            *reply = m;
            break;
        }
        if (!*reply)
            cJSON_Delete(m);
    }
    if (rc != VRT_OK) {
        cJSON_Delete(*reply);
        *reply = NULL;
        t->broken = 1;
    }
    return rc;
}

int vrt_remote_call(cJSON **reply, vrt_conn *c, tconn *pinned,
                    const vrt_call *call, const char *op, cJSON *req,
                    const rblob *blobs, size_t nblobs, rsink *sink,
                    vrt_error *err)
{
    *reply = NULL;
    uint64_t now = vrt_now_ms();
    uint64_t deadline = call && call->deadline_ms
                            ? call->deadline_ms
                            : now + c->rp->call_timeout_ms;
    if (deadline <= now) {
        cJSON_Delete(req);
        return vrt_error_set(err, VRT_E_TIMEOUT,
                             "The deadline of \"%s\" passed before it was "
                             "sent to the provider host \"%s\".",
                             op, c->rp->url);
    }
    cJSON_AddStringToObject(req, "op", op);
    cJSON_AddNumberToObject(req, "timeout_ms", (double)(deadline - now));
    if (nblobs)
        cJSON_AddNumberToObject(req, "blobs", (double)nblobs);
    if (call) {
        cJSON_AddNumberToObject(req, "call_flags", call->flags);
        cJSON_AddNumberToObject(req, "call_size", call->struct_size);
    }
    char *text = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    if (!text)
        abort();
    int rc = VRT_OK, answered = 0;
    /* A stream's socket that lost its place in the framing (a reply cut
     * by a timeout or a cancel) would read the old reply's data as
     * frames: the stream is over. */
    if (pinned && pinned->broken)
        return vrt_error_set(err, VRT_E_UNAVAILABLE,
                             "The connection of this stream to the provider "
                             "host \"%s\" broke; open the stream again.",
                             c->rp->url);
    for (int attempt = 0; attempt < 2; attempt++) {
        tconn *t = pinned;
        int reused = 0;
        if (!t) {
            pthread_mutex_lock(&c->lock);
            reused = c->idle != NULL;
            pthread_mutex_unlock(&c->lock);
            rc = vrt_remote_checkout(&t, c, deadline, err);
            if (rc != VRT_OK)
                break;
        }
        rc = exchange(reply, &answered, t, c, call, text, blobs, nblobs, sink,
                      deadline, err);
        if (!pinned)
            vrt_remote_checkin(c, t);
        if (rc == VRT_OK || answered || !reused || pinned ||
            rc != VRT_E_UNAVAILABLE)
            break;
        vrt_log_info("Provider host \"%s\" closed an idle connection; "
                     "sending \"%s\" again on a new one.",
                     c->rp->url, op);
    }
    /* A request is never sensitive, except open's config and a secret
     * answer, which are not logged anyway; wipe it all the same. */
    OPENSSL_cleanse(text, strlen(text));
    cJSON_free(text);
    if (rc == VRT_E_TIMEOUT)
        vrt_error_set(err, VRT_E_TIMEOUT,
                      "The provider host \"%s\" did not answer \"%s\" "
                      "before its deadline.",
                      c->rp->url, op);
    if (rc != VRT_OK)
        return rc;
    rc = (int)vrt_codec_i64(*reply, "rc");
    if (rc != VRT_OK)
        vrt_wire_error_read(err, cJSON_GetObjectItem(*reply, "error"));
    if (rc != VRT_OK && err->code != rc)
        err->code = rc; /* the wrappers settle the rest */
    return rc;
}
