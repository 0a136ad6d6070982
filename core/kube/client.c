/*
 * The Kubernetes REST client: requests and watch streams over libcurl,
 * with connections, DNS and TLS sessions shared across threads.
 */
#include "kube_internal.h"

#include <vrt/log.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

VRT_LOG_SOURCE("core.kube");

#define REQUEST_TIMEOUT_S 60
#define MAX_RESPONSE (256u * 1024 * 1024)

struct vrt_kube {
    vrt_kube_conf conf;
    CURLSH *share;
    pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];
    char auth_header[600];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
/* One easy handle per thread for plain requests: its connection cache
 * keeps the TLS connection to the API server open between requests, so a
 * reconcile does not pay a handshake per call. */
static pthread_key_t request_handle_key;

static void request_handle_free(void *h)
{
    curl_easy_cleanup(h);
}

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&request_handle_key, request_handle_free);
}

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *p)
{
    (void)h;
    (void)a;
    pthread_mutex_lock(&((vrt_kube *)p)->share_lock[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *p)
{
    (void)h;
    pthread_mutex_unlock(&((vrt_kube *)p)->share_lock[d]);
}

char *vrt_kube_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        abort();
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int vrt_kube_open(vrt_kube **out, const char *kubeconfig, vrt_error *err)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init_once);
    vrt_kube *k = calloc(1, sizeof(*k));
    if (!k)
        abort();
    int rc;
    const char *env = getenv("KUBECONFIG");
    if (kubeconfig) {
        rc = vrt_kube_conf_from_file(&k->conf, kubeconfig, err);
    } else if (env && *env) {
        rc = vrt_kube_conf_from_file(&k->conf, env, err);
    } else if (vrt_kube_conf_in_cluster(&k->conf, err) == VRT_OK) {
        rc = VRT_OK;
    } else {
        char path[4096];
        const char *home = getenv("HOME");
        snprintf(path, sizeof(path), "%s/.kube/config", home ? home : "");
        rc = vrt_kube_conf_from_file(&k->conf, path, err);
    }
    if (rc != VRT_OK) {
        free(k);
        return rc;
    }
    /* Trailing slashes would double up with our paths. */
    size_t n = strlen(k->conf.server);
    while (n > 0 && k->conf.server[n - 1] == '/')
        k->conf.server[--n] = '\0';
    if (k->conf.token)
        snprintf(k->auth_header, sizeof(k->auth_header),
                 "Authorization: Bearer %s", k->conf.token);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&k->share_lock[i], NULL);
    k->share = curl_share_init();
    curl_share_setopt(k->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(k->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(k->share, CURLSHOPT_USERDATA, k);
    /* Connections are not shared: each thread's request handle keeps its
     * own, and a watch holds its own for its whole life. */
    curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    *out = k;
    return VRT_OK;
}

void vrt_kube_close(vrt_kube *k)
{
    if (!k)
        return;
    curl_share_cleanup(k->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&k->share_lock[i]);
    vrt_kube_conf_clear(&k->conf);
    memset(k->auth_header, 0, sizeof(k->auth_header));
    free(k);
}

const char *vrt_kube_namespace(const vrt_kube *k)
{
    return k->conf.ns && *k->conf.ns ? k->conf.ns : "default";
}

const char *vrt_kube_server(const vrt_kube *k)
{
    return k->conf.server;
}

/* Sets up `h` (new or reset) with the connection's TLS and auth settings. */
static CURL *easy_setup(CURL *h, vrt_kube *k, const char *path,
                        struct curl_slist **hdrs, const char *content_type)
{
    if (!h)
        abort();
    char url[8192];
    snprintf(url, sizeof(url), "%s%s", k->conf.server, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_SHARE, k->share);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (k->conf.ca_pem) {
        struct curl_blob blob = {k->conf.ca_pem, k->conf.ca_len,
                                 CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (k->conf.insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (k->conf.cert_pem && k->conf.key_pem) {
        struct curl_blob cert = {k->conf.cert_pem, k->conf.cert_len,
                                 CURL_BLOB_COPY};
        struct curl_blob key = {k->conf.key_pem, k->conf.key_len,
                                CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    *hdrs = curl_slist_append(NULL, "Accept: application/json");
    if (k->auth_header[0])
        *hdrs = curl_slist_append(*hdrs, k->auth_header);
    if (content_type) {
        char ct[200];
        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
        *hdrs = curl_slist_append(*hdrs, ct);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "virtrigaud/0.1");
    return h;
}

static CURL *easy_new(vrt_kube *k, const char *path, struct curl_slist **hdrs,
                      const char *content_type)
{
    return easy_setup(curl_easy_init(), k, path, hdrs, content_type);
}

/* This thread's request handle, reset (options cleared, connections
 * kept). */
static CURL *easy_reuse(vrt_kube *k, const char *path,
                        struct curl_slist **hdrs, const char *content_type)
{
    CURL *h = pthread_getspecific(request_handle_key);
    if (h) {
        curl_easy_reset(h);
    } else {
        h = curl_easy_init();
        pthread_setspecific(request_handle_key, h);
    }
    return easy_setup(h, k, path, hdrs, content_type);
}

typedef struct buf {
    char *data;
    size_t len, cap;
    int overflow;
} buf;

static size_t collect(char *ptr, size_t size, size_t nmemb, void *opaque)
{
    buf *b = opaque;
    size_t n = size * nmemb;
    if (b->len + n + 1 > MAX_RESPONSE) {
        b->overflow = 1;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = realloc(b->data, b->cap);
        if (!b->data)
            abort();
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static int32_t code_for_http(long status, const char *reason)
{
    switch (status) {
    case 404: return VRT_E_NOTFOUND;
    case 410: return VRT_E_NOTFOUND;
    case 409:
        return reason && strcmp(reason, "AlreadyExists") == 0 ? VRT_E_EXISTS
                                                              : VRT_E_CONFLICT;
    case 400: case 422: case 415: return VRT_E_INVALID;
    case 401: case 403: return VRT_E_UNAUTHORIZED;
    case 429: return VRT_E_RATELIMIT;
    case 504: return VRT_E_TIMEOUT;
    default: return status >= 500 ? VRT_E_UNAVAILABLE : VRT_E_INTERNAL;
    }
}

static int transport_error(vrt_error *err, CURLcode cc, const char *server,
                           const char *errbuf)
{
    return vrt_error_set(err,
                         cc == CURLE_OPERATION_TIMEDOUT ? VRT_E_TIMEOUT
                                                        : VRT_E_UNAVAILABLE,
                         "The API server %s cannot be reached: %s.", server,
                         errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

int vrt_kube_request(cJSON **out, long *status, vrt_kube *k,
                     const char *method, const char *path,
                     const char *content_type, const cJSON *body,
                     vrt_error *err)
{
    *out = NULL;
    *status = 0;
    struct curl_slist *hdrs = NULL;
    char *payload = body ? cJSON_PrintUnformatted(body) : NULL;
    CURL *h = easy_reuse(k, path, &hdrs,
                         payload ? (content_type ? content_type
                                                 : "application/json")
                                 : NULL);
    char errbuf[CURL_ERROR_SIZE] = "";
    buf b = {0};
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (payload) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)REQUEST_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cc = curl_easy_perform(h);
    int rc = VRT_OK;
    if (cc != CURLE_OK) {
        rc = b.overflow ? vrt_error_set(err, VRT_E_INTERNAL,
                                        "The API server's answer to %s %s is "
                                        "larger than %u bytes.",
                                        method, path, MAX_RESPONSE)
                        : transport_error(err, cc, k->conf.server, errbuf);
        goto cleanup;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    *out = b.data ? cJSON_ParseWithLength(b.data, b.len) : NULL;
    if (*status >= 300) {
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(*out, "message"));
        const char *reason = cJSON_GetStringValue(cJSON_GetObjectItem(*out, "reason"));
        vrt_error_set(err, code_for_http(*status, reason), "%s %s: HTTP %ld: %s",
                      method, path, *status, msg ? msg : "(no message)");
    }
cleanup:
    free(b.data);
    free(payload);
    /* Leave the share (it may be freed before this thread's handle) but
     * keep the handle and its open connection for the next request. */
    curl_easy_setopt(h, CURLOPT_SHARE, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    return rc;
}

/* Splits the watch stream into lines, one event each. */
typedef struct watch_ctx {
    buf line;
    vrt_kube_event_fn on_event;
    void *opaque;
    volatile int *stop;
    int stopped;
} watch_ctx;

static size_t watch_write(char *ptr, size_t size, size_t nmemb, void *opaque)
{
    watch_ctx *w = opaque;
    size_t n = size * nmemb;
    if (w->stop && *w->stop) {
        w->stopped = 1;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (ptr[i] != '\n') {
            if (collect(ptr + i, 1, 1, &w->line) != 1)
                return 0;
            continue;
        }
        cJSON *ev = w->line.len ? cJSON_ParseWithLength(w->line.data, w->line.len)
                                : NULL;
        w->line.len = 0;
        if (!ev)
            continue;
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "type"));
        int halt = type && w->on_event(w->opaque, type,
                                       cJSON_GetObjectItem(ev, "object"));
        cJSON_Delete(ev);
        if (halt) {
            w->stopped = 1;
            return 0;
        }
    }
    return n;
}

/* Lets a stop request end an idle watch within a second. */
static int watch_progress(void *opaque, curl_off_t a, curl_off_t b,
                          curl_off_t c, curl_off_t d)
{
    (void)a; (void)b; (void)c; (void)d;
    watch_ctx *w = opaque;
    if (w->stop && *w->stop) {
        w->stopped = 1;
        return 1;
    }
    return 0;
}

int vrt_kube_watch(vrt_kube *k, const char *path, vrt_kube_event_fn on_event,
                   void *opaque, volatile int *stop, vrt_error *err)
{
    struct curl_slist *hdrs = NULL;
    CURL *h = easy_new(k, path, &hdrs, NULL);
    char errbuf[CURL_ERROR_SIZE] = "";
    watch_ctx w = {.on_event = on_event, .opaque = opaque, .stop = stop};
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, watch_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, watch_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &w);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    /* A silent connection for this long is dead. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 120L);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    int rc = VRT_OK;
    if (w.stopped)
        rc = VRT_OK;
    else if (cc != CURLE_OK)
        rc = transport_error(err, cc, k->conf.server, errbuf);
    else if (status >= 300)
        rc = vrt_error_set(err, code_for_http(status, NULL),
                           "Watch %s: HTTP %ld.", path, status);
    free(w.line.data);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return rc;
}
