/*
 * The worker process: loads the plugin, receives client connections from
 * the supervisor (already past TLS, as Unix socket ends passed with
 * SCM_RIGHTS) and serves each in its own thread: hello, open, then one
 * call at a time.  It exits when the supervisor goes away.
 */
#include "host.h"

#include <vrt/clock.h>
#include <vrt/log.h>

#include <errno.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

VRT_LOG_SOURCE("host.worker");

static const vrt_plugin *the_plugin;

/* The methods the plugin has, by name, for the hello. */
static const char *const method_names[] = {
    "validate", "capabilities", "create", "destroy", "power", "describe",
    "task_status", "reconfigure", "hardware_upgrade", "snapshot_create",
    "snapshot_delete", "snapshot_revert", "clone", "image_prepare",
    "list_vms", "disk_info", "disk_export_open", "stream_read",
    "stream_close", "disk_import_open", "stream_write", "stream_finish",
    "stream_abort", "console", "list_hosts", NULL,
};

static void hello(session *s, const cJSON *req, cJSON *reply, int *close_it)
{
    long proto = (long)vrt_codec_i64(req, "proto");
    cJSON_AddNumberToObject(reply, "proto", VRT_REMOTE_PROTO);
    cJSON_AddStringToObject(reply, "host",
                            "virtrigaud-provider-host " HOST_VERSION);
    if (proto != VRT_REMOTE_PROTO) {
        vrt_error e;
        vrt_error_set(&e, VRT_E_NOTSUPP,
                      "This provider host speaks protocol version %d; the "
                      "client asked for version %ld.",
                      VRT_REMOTE_PROTO, proto);
        cJSON_AddNumberToObject(reply, "rc", e.code);
        cJSON_AddItemToObject(reply, "error", vrt_wire_error_json(&e));
        vrt_log_warn("Refused a client: %s", e.message);
        *close_it = 1;
        return;
    }
    cJSON *pl = cJSON_AddObjectToObject(reply, "plugin");
    cJSON_AddStringToObject(pl, "name", vrt_plugin_name(s->plugin));
    cJSON_AddStringToObject(pl, "version", vrt_plugin_version(s->plugin));
    cJSON_AddNumberToObject(pl, "abi", vrt_plugin_abi(s->plugin));
    vrt_codec_add_mask(pl, "caps", vrt_plugin_caps(s->plugin));
    cJSON_AddNumberToObject(pl, "flags", vrt_plugin_flags(s->plugin));
    cJSON *m = cJSON_AddArrayToObject(pl, "methods");
    for (size_t i = 0; method_names[i]; i++)
        if (vrt_plugin_has_method(s->plugin, method_names[i]))
            cJSON_AddItemToArray(m, cJSON_CreateString(method_names[i]));
    cJSON_AddNumberToObject(reply, "rc", VRT_OK);
}

static int send_json(session *s, const cJSON *msg, vrt_error *err)
{
    pthread_mutex_lock(&s->wlock);
    int rc = vrt_wire_send_json(&s->ch, msg, vrt_now_ms() + 30000, err);
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

static const char *creds_dir; /* --credentials-dir */

/* secret_get from --credentials-dir: the file DIR/KEY, as a mounted
 * Secret lays it out.  Keys are plain names, never paths. */
static int32_t read_secret_file(size_t *len, const char *key, char *buf,
                                size_t buf_size, vrt_error *err)
{
    size_t n = strlen(key);
    if (!n || key[0] == '.' || strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "abcdefghijklmnopqrstuvwxyz"
                                          "0123456789._-") != n)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Credential key \"%.64s\" is not a plain name.",
                             key);
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", creds_dir, key);
    FILE *f = fopen(path, "rbe");
    if (!f)
        return vrt_error_set(err, VRT_E_NOTFOUND,
                             "The host's credentials (--credentials-dir) "
                             "have no key \"%s\".",
                             key);
    char *v = calloc(1, (1u << 20) + 1);
    if (!v)
        abort();
    size_t got = fread(v, 1, 1u << 20, f);
    fclose(f);
    int32_t rc = VRT_OK;
    *len = got + 1;
    if (!buf || buf_size < got + 1) {
        rc = vrt_error_set(err, VRT_E_INVALID,
                           "The buffer for secret key \"%s\" is too small: "
                           "%zu bytes needed.",
                           key, got + 1);
    } else {
        memcpy(buf, v, got + 1);
        *len = got;
    }
    OPENSSL_cleanse(v, got);
    free(v);
    return rc;
}

/*
 * secret_get of the plugin: from --credentials-dir when given, else asks
 * the client, which answers from the
 * Provider's credentials.  Only possible from the thread serving the
 * call, while a call is in flight (the client is listening then).
 */
static int32_t ask_secret(size_t *len, void *opaque, const char *key,
                          char *buf, size_t buf_size, vrt_error *err)
{
    session *s = opaque;
    *len = 0;
    if (creds_dir)
        return read_secret_file(len, key, buf, buf_size, err);
    if (!s->in_call || !pthread_equal(s->thread, pthread_self()))
        return vrt_error_set(err, VRT_E_UNAVAILABLE,
                             "Credentials can be asked for only while a call "
                             "is in flight, from its thread (key \"%s\").",
                             key);
    cJSON *q = cJSON_CreateObject(), *a = NULL;
    cJSON_AddStringToObject(q, "cb", "secret");
    cJSON_AddStringToObject(q, "key", key);
    int rc = send_json(s, q, err);
    cJSON_Delete(q);
    if (rc == VRT_OK)
        rc = vrt_wire_recv_json(&a, &s->ch, vrt_now_ms() + 30000, err);
    if (rc != VRT_OK)
        return rc;
    rc = (int)vrt_codec_i64(a, "rc");
    const char *v = vrt_codec_str(a, "value");
    if (rc != VRT_OK) {
        vrt_wire_error_read(err, cJSON_GetObjectItem(a, "error"));
        err->code = rc;
    } else if (!v) {
        rc = vrt_error_set(err, VRT_E_INTERNAL,
                           "The client answered secret \"%s\" without a "
                           "value.",
                           key);
    } else {
        size_t n = strlen(v);
        *len = n + 1;
        if (!buf || buf_size < n + 1) {
            rc = vrt_error_set(err, VRT_E_INVALID,
                               "The buffer for secret key \"%s\" is too "
                               "small: %zu bytes needed.",
                               key, n + 1);
        } else {
            memcpy(buf, v, n + 1);
            *len = n;
        }
        OPENSSL_cleanse((void *)v, n);
    }
    cJSON_Delete(a);
    return rc;
}

static void report_progress(void *opaque, uint64_t done, uint64_t total)
{
    session *s = opaque;
    cJSON *m = cJSON_CreateObject();
    vrt_error e = VRT_ERROR_INIT;
    cJSON_AddStringToObject(m, "cb", "progress");
    cJSON_AddNumberToObject(m, "done", (double)done);
    cJSON_AddNumberToObject(m, "total", (double)total);
    (void)send_json(s, m, &e);
    cJSON_Delete(m);
}

static int do_open(session *s, const cJSON *req, vrt_error *err)
{
    if (s->pc)
        return vrt_error_set(err, VRT_E_CONFLICT,
                             "This connection is open already.");
    return vrt_pconn_open(&s->pc, s->plugin, "remote",
                          vrt_codec_str(req, "endpoint"),
                          vrt_codec_str(req, "config"), ask_secret, s, err);
}

/* Reads the blobs a request announced. */
static int read_blobs(session *s, const cJSON *req, vrt_error *err)
{
    uint64_t n = vrt_codec_u64(req, "blobs");
    if (n > 3)
        return vrt_error_set(err, VRT_E_INTERNAL,
                             "A request announced %llu data frames; at most "
                             "3 are allowed.",
                             (unsigned long long)n);
    for (s->nblobs = 0; s->nblobs < n; s->nblobs++) {
        int rc = vrt_wire_recv(&s->blobs[s->nblobs], &s->ch,
                               vrt_now_ms() + 60000, err);
        if (rc != VRT_OK)
            return rc;
    }
    return VRT_OK;
}

static void blobs_clear(session *s)
{
    for (size_t i = 0; i < s->nblobs; i++)
        vrt_frame_clear(&s->blobs[i]);
    s->nblobs = 0;
}

/* Serves one request; returns non-zero when the connection must end. */
static int serve_one(session *s, const cJSON *req)
{
    const char *op = vrt_codec_str(req, "op");
    cJSON *reply = cJSON_CreateObject();
    vrt_error err = VRT_ERROR_INIT;
    const uint8_t *blob = NULL;
    size_t blob_len = 0;
    int close_it = 0, rc;

    cJSON_AddStringToObject(reply, "re", op ? op : "");
    if (op && strcmp(op, "hello") == 0) {
        hello(s, req, reply, &close_it);
        goto send;
    }
    rc = read_blobs(s, req, &err);
    if (rc != VRT_OK) {
        close_it = 1;
    } else if (!op) {
        rc = vrt_error_set(&err, VRT_E_INVALID, "A request without \"op\".");
    } else if (strcmp(op, "open") == 0) {
        s->in_call = 1;
        rc = do_open(s, req, &err);
        s->in_call = 0;
    } else if (!s->pc) {
        rc = vrt_error_set(&err, VRT_E_INVALID,
                           "\"%s\" before \"open\" on this connection.", op);
    } else {
        s->in_call = 1;
        rc = worker_dispatch(s, op, req, reply, &blob, &blob_len, &err);
        s->in_call = 0;
    }
    blobs_clear(s);
    cJSON_AddNumberToObject(reply, "rc", rc);
    if (rc != VRT_OK) {
        err.code = rc;
        cJSON_AddItemToObject(reply, "error", vrt_wire_error_json(&err));
    }
    if (blob)
        cJSON_AddNumberToObject(reply, "blob", 1);
send:;
    vrt_error se = VRT_ERROR_INIT;
    /* The reply and its data under one lock: a progress frame from
     * another plugin thread must not come between them. */
    pthread_mutex_lock(&s->wlock);
    int src = vrt_wire_send_json(&s->ch, reply, vrt_now_ms() + 30000, &se);
    if (src == VRT_OK && blob)
        src = vrt_wire_send(&s->ch, VRT_WIRE_BLOB, blob, blob_len,
                            vrt_now_ms() + 60000, &se);
    pthread_mutex_unlock(&s->wlock);
    cJSON_Delete(reply);
    return close_it || src != VRT_OK;
}

static void *session_thread(void *arg)
{
    session *s = arg;
    s->thread = pthread_self(); /* for ask_secret, before any request */
    for (;;) {
        cJSON *req = NULL;
        vrt_error err = VRT_ERROR_INIT;
        if (vrt_wire_recv_json(&req, &s->ch, 0, &err) != VRT_OK)
            break;
        int end = serve_one(s, req);
        cJSON_Delete(req);
        if (end)
            break;
    }
    worker_session_end(s);
    vrt_chan_close(&s->ch);
    pthread_mutex_destroy(&s->wlock);
    free(s->buf);
    free(s);
    return NULL;
}

/* Receives one file descriptor from the supervisor; -1 at its end. */
static int recv_fd(int ctl)
{
    char byte;
    struct iovec iov = {&byte, 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = u.buf,
                         .msg_controllen = sizeof(u.buf)};
    ssize_t n;
    do
        n = recvmsg(ctl, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS)
        return -2;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof(fd));
    return fd;
}

int worker_main(const host_opts *o)
{
    vrt_error err = VRT_ERROR_INIT;
    vrt_registry *reg = vrt_registry_new();
    /* The supervisor's end of the world is ours too. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    creds_dir = o->credentials_dir;
    signal(SIGPIPE, SIG_IGN);
    if (vrt_registry_load(&the_plugin, reg, o->plugin,
                          o->skip_perms ? VRT_LOAD_SKIP_PERMS : 0,
                          &err) != VRT_OK) {
        fprintf(stderr,
                "virtrigaud-provider-host: cannot load plugin \"%s\": %s\n",
                o->plugin, err.message);
        _exit(3);
    }
    for (;;) {
        int fd = recv_fd(o->worker_fd);
        if (fd == -1)
            break;
        if (fd < 0)
            continue;
        session *s = calloc(1, sizeof(*s));
        if (!s)
            abort();
        s->ch.fd = fd;
        s->plugin = the_plugin;
        s->next_stream = 1;
        pthread_mutex_init(&s->wlock, NULL);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_t t;
        if (pthread_create(&t, &attr, session_thread, s) != 0) {
            close(fd);
            pthread_mutex_destroy(&s->wlock);
            free(s);
        }
        pthread_attr_destroy(&attr);
    }
    /* Sessions may still run: the process ends them all at once. */
    _exit(0);
}

/* For worker_ops.c: the call context a request describes. */
void worker_call_init(vrt_call *call, vrt_call_ctx *cc, session *s,
                      const cJSON *req);
void worker_call_init(vrt_call *call, vrt_call_ctx *cc, session *s,
                      const cJSON *req)
{
    uint64_t t = vrt_codec_u64(req, "timeout_ms");
    vrt_callctx_init(cc, t > 0 && t < 86400000ull ? (uint32_t)t : 300000u);
    cc->progress = report_progress;
    cc->progress_opaque = s;
    memset(call, 0, sizeof(*call));
    uint64_t size = vrt_codec_u64(req, "call_size");
    call->struct_size = size && size <= sizeof(*call) ? (uint32_t)size
                                                      : sizeof(*call);
    call->flags = (uint32_t)vrt_codec_u64(req, "call_flags");
    call->deadline_ms = cc->deadline_ms;
    call->ctx = cc;
}
