/*
 * pve_http.c - one request to the PVE API with libcurl: authentication
 * (API token header, or ticket cookie plus CSRFPreventionToken on writes),
 * TLS verification with the Secret's CA, PVE's error answers turned into
 * VRT_E_* codes, and retries with backoff when PVE could not take a lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "pve.h"

typedef struct buf {
    char *p;
    size_t len;
} buf;

typedef struct answer {
    buf body;
    char reason[VRT_ERROR_MESSAGE_MAX];
} answer;

static size_t on_body(char *ptr, size_t size, size_t n, void *opaque)
{
    buf *b = opaque;
    size_t add = size * n;

    if (b->len + add > 64u * 1024 * 1024)
        return 0; /* an answer this large is not PVE's */
    b->p = realloc(b->p, b->len + add + 1);
    if (!b->p)
        abort();
    memcpy(b->p + b->len, ptr, add);
    b->len += add;
    b->p[b->len] = 0;
    return add;
}

/* Keeps the status line's reason phrase: PVE puts its message there. */
static size_t on_header(char *ptr, size_t size, size_t n, void *opaque)
{
    answer *a = opaque;
    size_t len = size * n;
    const char *sp;

    if (len > 9 && strncmp(ptr, "HTTP/", 5) == 0) {
        sp = memchr(ptr, ' ', len);
        if (sp && (size_t)(sp - ptr) + 5 < len) {
            size_t off = (size_t)(sp - ptr) + 5, k = len - off;
            if (k >= sizeof(a->reason))
                k = sizeof(a->reason) - 1;
            memcpy(a->reason, ptr + off, k);
            a->reason[k] = 0;
            a->reason[strcspn(a->reason, "\r\n")] = 0;
        }
    }
    return len;
}

int pve_is_lock_timeout(const char *m)
{
    return m && strstr(m, "can't lock file") && strstr(m, "got timeout");
}

/* Maps an error answer to a code; `msg` is PVE's message. */
static int32_t code_of(long status, const char *msg)
{
    if (status == 401 || status == 403)
        return VRT_E_UNAUTHORIZED;
    if (status == 400)
        return VRT_E_INVALID;
    if (status == 501)
        return VRT_E_NOTSUPP;
    if (status == 595 || status == 502 || status == 503)
        return VRT_E_UNAVAILABLE;
    if (strstr(msg, "does not exist"))
        return VRT_E_NOTFOUND;
    if (pve_is_lock_timeout(msg))
        return VRT_E_RETRYABLE;
    if (strstr(msg, "is locked"))
        return VRT_E_CONFLICT;
    if (strstr(msg, "already exists"))
        return VRT_E_EXISTS;
    return VRT_E_INTERNAL;
}

static void message_of(char *out, size_t size, const answer *a,
                       const cJSON *root)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(root, "errors");
    size_t n;

    snprintf(out, size, "%s",
             cJSON_IsString(m) && m->valuestring[0] ? m->valuestring
                                                    : a->reason);
    out[strcspn(out, "\n")] = 0;
    if (cJSON_IsObject(errs)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, errs)
        {
            n = strlen(out);
            if (cJSON_IsString(e) && n + 8 < size)
                snprintf(out + n, size - n, " %s: %s", e->string,
                         e->valuestring);
        }
        out[strcspn(out, "\n")] = 0;
    }
}

static int32_t login(vrt_conn *conn, const vrt_call *call, vrt_error *err);

static struct curl_slist *auth_headers(vrt_conn *conn, int write,
                                       char **cookie)
{
    struct curl_slist *h = NULL;
    char line[1024];

    h = curl_slist_append(h, "Accept: application/json");
    if (conn->token_header) {
        h = curl_slist_append(h, conn->token_header);
        return h;
    }
    pthread_mutex_lock(&conn->lock);
    if (conn->ticket) {
        *cookie = pve_strdup(conn->ticket);
        if (write && conn->csrf) {
            snprintf(line, sizeof(line), "CSRFPreventionToken: %s",
                     conn->csrf);
            h = curl_slist_append(h, line);
            memset(line, 0, sizeof(line));
        }
    }
    pthread_mutex_unlock(&conn->lock);
    return h;
}

static void wipe_free(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
    free(s);
}

/* One HTTP exchange; no retries. */
static int32_t exchange(cJSON **root, long *status, answer *a,
                        vrt_conn *conn, const vrt_call *call,
                        const char *method, const char *path,
                        const pve_form *form, int auth, vrt_error *err)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char url[VRT_URL_MAX * 4];
    char cerr[CURL_ERROR_SIZE] = "";
    char *cookie = NULL;
    int write = strcmp(method, "GET") != 0;
    int query = !strcmp(method, "GET") || !strcmp(method, "DELETE");
    const char *body = form && form->s ? form->s : "";
    CURLcode rc;
    int32_t ret = VRT_OK;

    *root = NULL;
    if (!c)
        return pve_err(err, VRT_E_INTERNAL, "libcurl could not start a request.");
    snprintf(url, sizeof(url), "%s/api2/json%s%s%s", conn->base, path,
             query && body[0] ? "?" : "", query ? body : "");
    if (auth)
        hdrs = auth_headers(conn, write, &cookie);
    else
        hdrs = curl_slist_append(hdrs, "Accept: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
    if (call && call->deadline_ms) {
        uint64_t now = pve_host->clock_monotonic_ms();
        long left = call->deadline_ms > now ? (long)(call->deadline_ms - now) : 1;
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, left);
    } else {
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
    }
    if (cookie) {
        char *enc = pve_urlencode(cookie);
        size_t n = strlen(enc) + 16;
        char *ck = malloc(n);
        if (!ck)
            abort();
        snprintf(ck, n, "PVEAuthCookie=%s", enc);
        curl_easy_setopt(c, CURLOPT_COOKIE, ck);
        wipe_free(enc);
        wipe_free(cookie);
        cookie = ck;
    }
    if (!query) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (conn->insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (conn->ca_pem) {
        struct curl_blob blob = {conn->ca_pem, strlen(conn->ca_pem),
                                 CURL_BLOB_NOCOPY};
        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
    }
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        ret = pve_err(err,
                      rc == CURLE_OPERATION_TIMEDOUT ? VRT_E_TIMEOUT
                      : rc == CURLE_PEER_FAILED_VERIFICATION ||
                              rc == CURLE_SSL_CACERT_BADFILE
                          ? VRT_E_UNAUTHORIZED
                          : VRT_E_UNAVAILABLE,
                      "The Proxmox VE API at \"%s\" could not be reached: %s.",
                      conn->base, cerr[0] ? cerr : curl_easy_strerror(rc));
        goto cleanup;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    *root = a->body.p ? cJSON_Parse(a->body.p) : NULL;

cleanup:
    curl_slist_free_all(hdrs);
    wipe_free(cookie);
    curl_easy_cleanup(c);
    return ret;
}

static int32_t request_once(cJSON **root, vrt_conn *conn, const vrt_call *call,
                            const char *method, const char *path,
                            const pve_form *form, int auth, vrt_error *err)
{
    answer a;
    long status = 0;
    int32_t rc;
    char msg[VRT_ERROR_MESSAGE_MAX];

    memset(&a, 0, sizeof(a));
    rc = exchange(root, &status, &a, conn, call, method, path, form, auth,
                  err);
    if (rc == VRT_OK && status == 200 && !*root)
        rc = pve_err(err, VRT_E_INTERNAL,
                     "Proxmox VE answered %s %s with a body that is not JSON.",
                     method, path);
    else if (rc == VRT_OK && status != 200) {
        message_of(msg, sizeof(msg), &a, *root);
        rc = pve_err(err, code_of(status, msg),
                     "Proxmox VE refused %s %s (HTTP %ld): %s", method, path,
                     status, msg);
        if (rc == VRT_E_RETRYABLE || rc == VRT_E_UNAVAILABLE)
            err->klass = VRT_CLASS_TRANSIENT;
        if (rc == VRT_E_INVALID)
            err->klass = VRT_CLASS_USER;
    }
    free(a.body.p);
    if (rc != VRT_OK) {
        cJSON_Delete(*root);
        *root = NULL;
    }
    return rc;
}

static int32_t login(vrt_conn *conn, const vrt_call *call, vrt_error *err)
{
    pve_form f = {0};
    cJSON *root = NULL;
    const cJSON *data, *t, *c;
    int32_t rc;

    pve_form_add(&f, "username", conn->username);
    pve_form_add(&f, "password", conn->password);
    rc = request_once(&root, conn, call, "POST", "/access/ticket", &f, 0, err);
    pve_form_free(&f);
    if (rc != VRT_OK)
        goto cleanup;
    data = cJSON_GetObjectItemCaseSensitive(root, "data");
    t = cJSON_GetObjectItemCaseSensitive(data, "ticket");
    c = cJSON_GetObjectItemCaseSensitive(data, "CSRFPreventionToken");
    if (!cJSON_IsString(t) || !cJSON_IsString(c)) {
        rc = pve_err(err, VRT_E_UNAUTHORIZED,
                     "Proxmox VE answered the ticket login without a ticket "
                     "and CSRFPreventionToken.");
        goto cleanup;
    }
    pthread_mutex_lock(&conn->lock);
    wipe_free(conn->ticket);
    wipe_free(conn->csrf);
    conn->ticket = pve_strdup(t->valuestring);
    conn->csrf = pve_strdup(c->valuestring);
    pthread_mutex_unlock(&conn->lock);

cleanup:
    if (root) {
        /* the ticket is a credential: do not leave it in freed memory */
        t = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(root, "data"), "ticket");
        if (cJSON_IsString(t))
            memset(t->valuestring, 0, strlen(t->valuestring));
    }
    cJSON_Delete(root);
    return rc;
}

int32_t pve_request(cJSON **root, cJSON **data, vrt_conn *conn,
                    const vrt_call *call, const char *method,
                    const char *path, const pve_form *form, vrt_error *err)
{
    uint32_t backoff = 100;
    int relogin = 1;
    int32_t rc;

    *root = NULL;
    if (data)
        *data = NULL;
    for (;;) {
        if (conn->username) {
            int need;
            pthread_mutex_lock(&conn->lock);
            need = conn->ticket == NULL;
            pthread_mutex_unlock(&conn->lock);
            if (need && (rc = login(conn, call, err)) != VRT_OK)
                return rc;
        }
        rc = request_once(root, conn, call, method, path, form, 1, err);
        if (rc == VRT_E_UNAUTHORIZED && conn->username && relogin &&
            strstr(err->message, "HTTP 401")) {
            relogin = 0; /* the ticket expired (2 h): log in once more */
            pthread_mutex_lock(&conn->lock);
            wipe_free(conn->ticket);
            conn->ticket = NULL;
            pthread_mutex_unlock(&conn->lock);
            continue;
        }
        if (rc != VRT_E_RETRYABLE || !pve_is_lock_timeout(err->message) ||
            pve_expired(call) || backoff > 6400)
            break;
        pve_log(conn, VRT_LOG_INFO,
                "Proxmox VE could not take a lock for %s %s; retrying in %u ms.",
                method, path, backoff);
        pve_sleep_ms(backoff);
        backoff *= 2;
    }
    if (rc == VRT_OK && data)
        *data = cJSON_GetObjectItemCaseSensitive(*root, "data");
    return rc;
}

int32_t pve_request_upid(char upid[VRT_ID_MAX], vrt_conn *conn,
                         const vrt_call *call, const char *method,
                         const char *path, const pve_form *form,
                         vrt_error *err)
{
    cJSON *root = NULL, *data = NULL;
    int32_t rc = pve_request(&root, &data, conn, call, method, path, form, err);

    upid[0] = 0;
    if (rc != VRT_OK)
        return rc;
    if (!cJSON_IsString(data) || strncmp(data->valuestring, "UPID:", 5) != 0 ||
        strlen(data->valuestring) >= VRT_ID_MAX) {
        cJSON_Delete(root);
        return pve_err(err, VRT_E_INTERNAL,
                       "Proxmox VE answered %s %s without a task id (UPID).",
                       method, path);
    }
    snprintf(upid, VRT_ID_MAX, "%s", data->valuestring);
    cJSON_Delete(root);
    return VRT_OK;
}
