/*
 * The provider-host wire: exact reads and writes on a plain or TLS socket
 * with a deadline, and length-prefixed frames on top.  Deadlines are
 * enforced with SO_RCVTIMEO / SO_SNDTIMEO set to what is left before each
 * system call, so that a TLS record split across packets cannot block
 * past the deadline either.
 */
#include <vrt/remote.h>

#include <vrt/clock.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Sets the socket's timeout for the next operation; non-zero when the
 * deadline has passed already. */
static int arm(int fd, int optname, uint64_t deadline_ms)
{
    struct timeval tv = {0, 0};
    if (deadline_ms) {
        uint64_t now = vrt_now_ms();
        if (now >= deadline_ms)
            return -1;
        uint64_t left = deadline_ms - now;
        tv.tv_sec = (time_t)(left / 1000);
        tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
    }
    (void)setsockopt(fd, SOL_SOCKET, optname, &tv, sizeof(tv));
    return 0;
}

static int timed_out(vrt_error *err, const char *what)
{
    return vrt_error_set(err, VRT_E_TIMEOUT,
                         "The provider host connection timed out while %s.",
                         what);
}

/*
 * OpenSSL writes with write(2), so a peer's reset would raise SIGPIPE in a
 * process that does not ignore it (vcts, embedders).  Around each OpenSSL
 * call that may write, SIGPIPE is blocked, and one raised meanwhile is
 * swallowed before it is unblocked.  errno is kept.
 */
static void pipe_guard_on(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

static void pipe_guard_off(const sigset_t *old)
{
    int e = errno;
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) &&
        !sigismember(old, SIGPIPE)) {
        struct timespec zero = {0, 0};
        (void)sigtimedwait(&set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, old, NULL);
    errno = e;
}

int vrt_tls_connect(SSL *ssl)
{
    sigset_t old;
    pipe_guard_on(&old);
    int r = SSL_connect(ssl);
    pipe_guard_off(&old);
    return r;
}

/* One read or write; returns bytes moved, 0 on EOF, -1 on timeout, -2 on
 * another error (text in `why`). */
static ssize_t io_once(vrt_chan *ch, void *buf, size_t len, int writing,
                       char *why, size_t why_size)
{
    int n = len > (1u << 30) ? (1 << 30) : (int)len;
    if (!ch->ssl) {
        ssize_t r = writing ? send(ch->fd, buf, (size_t)n, MSG_NOSIGNAL)
                            : recv(ch->fd, buf, (size_t)n, 0);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            return io_once(ch, buf, len, writing, why, why_size);
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return -1;
        snprintf(why, why_size, "%s", strerror(errno));
        return -2;
    }
    ERR_clear_error();
    errno = 0;
    int r;
    if (writing) {
        sigset_t old;
        pipe_guard_on(&old);
        r = SSL_write(ch->ssl, buf, n);
        pipe_guard_off(&old);
    } else {
        r = SSL_read(ch->ssl, buf, n);
    }
    if (r > 0)
        return r;
    int e = SSL_get_error(ch->ssl, r);
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
        (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)))
        return -1;
    if (e == SSL_ERROR_SYSCALL && errno == 0)
        return 0; /* the peer closed without close_notify */
    vrt_tls_last_error(why, why_size);
    if (!why[0])
        snprintf(why, why_size, "%s", errno ? strerror(errno) : "TLS error");
    return -2;
}

static int chan_io(vrt_chan *ch, void *buf, size_t len, int writing,
                   uint64_t deadline_ms, vrt_error *err)
{
    uint8_t *p = buf;
    const char *what = writing ? "sending" : "receiving";
    while (len > 0) {
        char why[200] = "";
        if (arm(ch->fd, writing ? SO_SNDTIMEO : SO_RCVTIMEO, deadline_ms))
            return timed_out(err, what);
        ssize_t r = io_once(ch, p, len, writing, why, sizeof(why));
        if (r == -1) {
            if (deadline_ms && vrt_now_ms() >= deadline_ms)
                return timed_out(err, what);
            continue; /* a TLS record that needs more I/O */
        }
        if (r == 0)
            return vrt_error_set(err, VRT_E_UNAVAILABLE,
                                 "The provider host closed the connection.");
        if (r < 0)
            return vrt_error_set(err, VRT_E_UNAVAILABLE,
                                 "The provider host connection failed while "
                                 "%s: %s.",
                                 what, why);
        p += r;
        len -= (size_t)r;
    }
    return VRT_OK;
}

int vrt_chan_read(vrt_chan *ch, void *buf, size_t len, uint64_t deadline_ms,
                  vrt_error *err)
{
    return chan_io(ch, buf, len, 0, deadline_ms, err);
}

int vrt_chan_write(vrt_chan *ch, const void *buf, size_t len,
                   uint64_t deadline_ms, vrt_error *err)
{
    return chan_io(ch, (void *)buf, len, 1, deadline_ms, err);
}

void vrt_chan_close(vrt_chan *ch)
{
    if (!ch)
        return;
    if (ch->ssl) {
        if (ch->fd >= 0) {
            sigset_t old;
            arm(ch->fd, SO_SNDTIMEO, vrt_now_ms() + 200);
            pipe_guard_on(&old);
            (void)SSL_shutdown(ch->ssl);
            pipe_guard_off(&old);
        }
        SSL_free(ch->ssl);
        ch->ssl = NULL;
    }
    if (ch->fd >= 0)
        close(ch->fd);
    ch->fd = -1;
    ERR_clear_error();
}

void vrt_frame_clear(vrt_frame *f)
{
    if (!f)
        return;
    free(f->data);
    memset(f, 0, sizeof(*f));
}

int vrt_wire_recv_head(uint8_t *kind, uint32_t *len, vrt_chan *ch,
                       uint64_t deadline_ms, vrt_error *err)
{
    uint8_t h[5];
    int rc = vrt_chan_read(ch, h, sizeof(h), deadline_ms, err);
    if (rc != VRT_OK)
        return rc;
    uint32_t n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
                 (uint32_t)h[2] << 8 | h[3];
    if ((h[4] != VRT_WIRE_JSON && h[4] != VRT_WIRE_BLOB) ||
        n > VRT_WIRE_MAX_FRAME)
        return vrt_error_set(err, VRT_E_INTERNAL,
                             "The peer does not speak the virtrigaud provider "
                             "protocol (frame kind 0x%02x, length %u); is one "
                             "side using TLS and the other plaintext?",
                             h[4], n);
    *kind = h[4];
    *len = n;
    return VRT_OK;
}

int vrt_wire_recv(vrt_frame *out, vrt_chan *ch, uint64_t deadline_ms,
                  vrt_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc = vrt_wire_recv_head(&out->kind, &out->len, ch, deadline_ms, err);
    if (rc != VRT_OK)
        return rc;
    out->data = malloc((size_t)out->len + 1);
    if (!out->data)
        abort(); /* out of memory: the documented core policy */
    rc = vrt_chan_read(ch, out->data, out->len, deadline_ms, err);
    if (rc != VRT_OK) {
        vrt_frame_clear(out);
        return rc;
    }
    out->data[out->len] = '\0';
    return VRT_OK;
}

int vrt_wire_recv_json(cJSON **out, vrt_chan *ch, uint64_t deadline_ms,
                       vrt_error *err)
{
    vrt_frame f;
    *out = NULL;
    int rc = vrt_wire_recv(&f, ch, deadline_ms, err);
    if (rc != VRT_OK)
        return rc;
    if (f.kind == VRT_WIRE_JSON)
        *out = cJSON_ParseWithLength(f.data, f.len);
    /* Messages are small and may carry a credential (secret_get). */
    OPENSSL_cleanse(f.data, f.len);
    vrt_frame_clear(&f);
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return vrt_error_set(err, VRT_E_INTERNAL,
                             "The provider host sent a malformed message "
                             "(expected a JSON object).");
    }
    return VRT_OK;
}

int vrt_wire_send(vrt_chan *ch, uint8_t kind, const void *data, size_t len,
                  uint64_t deadline_ms, vrt_error *err)
{
    if (len > VRT_WIRE_MAX_FRAME)
        return vrt_error_set(err, VRT_E_INVALID,
                             "A message of %zu bytes is over the provider "
                             "protocol's frame limit of %u bytes.",
                             len, VRT_WIRE_MAX_FRAME);
    uint8_t h[5] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16),
                    (uint8_t)(len >> 8), (uint8_t)len, kind};
    if (len <= 16384) { /* one write, so one TLS record, one packet */
        uint8_t buf[5 + 16384];
        memcpy(buf, h, sizeof(h));
        if (len)
            memcpy(buf + sizeof(h), data, len);
        int rc = vrt_chan_write(ch, buf, sizeof(h) + len, deadline_ms, err);
        OPENSSL_cleanse(buf, sizeof(h) + len); /* it may hold a credential */
        return rc;
    }
    int rc = vrt_chan_write(ch, h, sizeof(h), deadline_ms, err);
    if (rc == VRT_OK && len)
        rc = vrt_chan_write(ch, data, len, deadline_ms, err);
    return rc;
}

int vrt_wire_send_json(vrt_chan *ch, const cJSON *msg, uint64_t deadline_ms,
                       vrt_error *err)
{
    char *text = cJSON_PrintUnformatted(msg);
    if (!text)
        abort();
    int rc = vrt_wire_send(ch, VRT_WIRE_JSON, text, strlen(text),
                           deadline_ms, err);
    cJSON_free(text);
    return rc;
}

cJSON *vrt_wire_error_json(const vrt_error *err)
{
    cJSON *j = cJSON_CreateObject();
    char msg[VRT_ERROR_MESSAGE_MAX];
    memcpy(msg, err->message, sizeof(msg));
    msg[sizeof(msg) - 1] = '\0';
    cJSON_AddNumberToObject(j, "code", err->code);
    cJSON_AddNumberToObject(j, "klass", err->klass);
    cJSON_AddNumberToObject(j, "retry", err->retry_after_ms);
    cJSON_AddNumberToObject(j, "flags", err->flags);
    cJSON_AddStringToObject(j, "message", msg);
    return j;
}

static double num(const cJSON *j, const char *key, double lo, double hi)
{
    const cJSON *v = cJSON_GetObjectItem(j, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi)
        return 0;
    return v->valuedouble;
}

void vrt_wire_error_read(vrt_error *err, const cJSON *j)
{
    memset(err, 0, sizeof(*err));
    err->code = (int32_t)num(j, "code", -1e9, 1e9);
    err->klass = (int32_t)num(j, "klass", -1e9, 1e9);
    err->retry_after_ms = (uint32_t)num(j, "retry", 0, 4294967295.0);
    err->flags = (uint32_t)num(j, "flags", 0, 4294967295.0);
    const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(j, "message"));
    snprintf(err->message, sizeof(err->message), "%s", m ? m : "");
}
