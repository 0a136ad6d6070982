/*
 * vs_soap.c - SOAP over libcurl and the vim25 session (see vs.h).
 *
 * The session is a cookie.  Login happens lazily, on the first call; a call
 * answered with NotAuthenticated (the session expired after its idle time,
 * or someone terminated it) logs in again and is sent once more.  Logins
 * are serialised by the connection lock, and a generation counter keeps
 * two threads that both saw the old session from logging in twice.
 * TLS verification is on unless the Provider says insecureSkipVerify; a CA
 * bundle comes from the credentials secret's "ca.crt".
 */
#include "vs.h"

#include <curl/curl.h>
#include <libxml/parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VS_ENVELOPE_HEAD                                                       \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"                              \
    "<soapenv:Envelope "                                                       \
    "xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "            \
    "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "                         \
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"                \
    "<soapenv:Body>"
#define VS_ENVELOPE_TAIL "</soapenv:Body></soapenv:Envelope>"
#define VS_MAX_RESPONSE (256u << 20) /* refuse answers beyond 256 MiB */
#define VS_DEFAULT_TIMEOUT_MS 120000

void vs_log(vrt_conn *c, int32_t level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    vrt_host_ctx *ctx = c ? c->ctx : NULL;

    if (!vs_host || !vs_host->log ||
        (vs_host->log_enabled && !vs_host->log_enabled(ctx, level)))
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    vs_host->log(ctx, level, buf);
}

uint64_t vs_now_ms(void)
{
    struct timespec ts;

    if (vs_host && vs_host->clock_monotonic_ms)
        return vs_host->clock_monotonic_ms();
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void vs_sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

int vs_call_check(const vrt_call *call, const char *what, vrt_error *err)
{
    if (call && call->struct_size < sizeof(vrt_call))
        return vs_err(err, VRT_E_INVALID,
                      "The call record of %s is too small.", what);
    if (call && call->flags)
        return vs_err(err, VRT_E_INVALID,
                      "The call record of %s has flags 0x%x; they must be 0.",
                      what, (unsigned)call->flags);
    if (call && call->ctx && vs_host && vs_host->cancelled &&
        vs_host->cancelled(call->ctx))
        return vs_err(err, VRT_E_CANCELED, "The host cancelled %s.", what);
    if (call && call->deadline_ms && vs_now_ms() >= call->deadline_ms)
        return vs_err(err, VRT_E_TIMEOUT,
                      "The call's deadline passed during %s.", what);
    return VRT_OK;
}

void vs_conn_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    xmlInitParser();
}

/* ---- one HTTP exchange ------------------------------------------------- */

typedef struct post_ctx {
    vs_buf body;
    char cookie[512]; /* a vmware_soap_session cookie the server set */
    int too_big;
} post_ctx;

static size_t on_data(char *p, size_t size, size_t n, void *opaque)
{
    post_ctx *pc = opaque;
    size_t len = size * n;

    if (pc->body.len + len > VS_MAX_RESPONSE) {
        pc->too_big = 1;
        return 0;
    }
    vs_buf_add(&pc->body, "%.*s", (int)len, p);
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *opaque)
{
    static const char name[] = "set-cookie:";
    post_ctx *pc = opaque;
    size_t len = size * n, i, start;

    if (len <= sizeof(name) - 1 || strncasecmp(p, name, sizeof(name) - 1))
        return len;
    for (start = sizeof(name) - 1; start < len && p[start] == ' '; start++)
        ;
    if (len - start < 20 || strncmp(p + start, "vmware_soap_session=", 20))
        return len;
    for (i = start; i < len && p[i] != ';' && p[i] != '\r' && p[i] != '\n';
         i++)
        ;
    if (i - start < sizeof(pc->cookie)) {
        memcpy(pc->cookie, p + start, i - start);
        pc->cookie[i - start] = '\0';
    }
    return len;
}

static void *curl_take(vrt_conn *c)
{
    void *h = NULL;

    pthread_mutex_lock(&c->pool_lock);
    if (c->nidle)
        h = c->idle[--c->nidle];
    c->round_trips++;
    pthread_mutex_unlock(&c->pool_lock);
    if (!h && !(h = curl_easy_init()))
        vs_oom();
    return h;
}

static void curl_give(vrt_conn *c, void *h)
{
    pthread_mutex_lock(&c->pool_lock);
    if (c->nidle < VS_IDLE_CURL) {
        c->idle[c->nidle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->pool_lock);
    if (h)
        curl_easy_cleanup(h);
}

static int curl_fail(vrt_conn *c, CURLcode cc, const char *detail,
                     const char *what, vrt_error *err)
{
    const char *msg = detail[0] ? detail : curl_easy_strerror(cc);

    switch (cc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        return vs_err(err, VRT_E_UNAVAILABLE,
                      "%s: the TLS certificate of \"%s\" could not be "
                      "verified (%s); put its CA in the credentials secret "
                      "as \"ca.crt\", or set insecureSkipVerify for a test "
                      "endpoint.",
                      what, c->url_safe, msg);
    case CURLE_OPERATION_TIMEDOUT:
        return vs_err(err, VRT_E_TIMEOUT, "%s: \"%s\" did not answer in "
                      "time (%s).", what, c->url_safe, msg);
    default:
        return vs_err(err, VRT_E_UNAVAILABLE, "%s: could not reach \"%s\" "
                      "(%s).", what, c->url_safe, msg);
    }
}

void vs_curl_tls(vrt_conn *c, void *h)
{
    if (c->cfg.insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (c->ca_pem) {
        struct curl_blob blob = {c->ca_pem, strlen(c->ca_pem),
                                 CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    }
}

/* POSTs one envelope; *doc gets the parsed answer (HTTP 200 or a 500 that
 * carries a SOAP fault). */
static int post(xmlDoc **doc, char set_cookie[512], vrt_conn *c,
                const vrt_call *call, const char *body, const char *cookie,
                const char *what, vrt_error *err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    post_ctx pc = {{0}, "", 0};
    vs_buf req = {0};
    long status = 0, timeout = VS_DEFAULT_TIMEOUT_MS;
    uint64_t now = vs_now_ms();
    void *h = curl_take(c);
    CURLcode cc;
    int rc = VRT_OK;

    *doc = NULL;
    if (call && call->deadline_ms) {
        if (call->deadline_ms <= now) {
            curl_give(c, h);
            return vs_err(err, VRT_E_TIMEOUT,
                          "The call's deadline passed before %s.", what);
        }
        if (call->deadline_ms - now < (uint64_t)timeout)
            timeout = (long)(call->deadline_ms - now);
    }
    vs_buf_add(&req, "%s%s%s", VS_ENVELOPE_HEAD, body, VS_ENVELOPE_TAIL);
    hdrs = curl_slist_append(hdrs, "Content-Type: text/xml; charset=utf-8");
    hdrs = curl_slist_append(hdrs, "SOAPAction: \"urn:vim25/6.5\"");
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.s);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)req.len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &pc);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &pc);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout < 15000 ? timeout : 15000L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "virtrigaud-vsphere/0.1");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
    if (cookie && cookie[0])
        curl_easy_setopt(h, CURLOPT_COOKIE, cookie);
    vs_curl_tls(c, h);
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (pc.too_big)
        rc = vs_err(err, VRT_E_INTERNAL,
                    "%s: the answer of \"%s\" is larger than %u MiB.", what,
                    c->url_safe, VS_MAX_RESPONSE >> 20);
    else if (cc != CURLE_OK)
        rc = curl_fail(c, cc, errbuf, what, err);
    else if (status != 200 && status != 500)
        rc = vs_err(err, status == 503 || status == 502 ? VRT_E_UNAVAILABLE
                                                        : VRT_E_INTERNAL,
                    "%s: \"%s\" answered HTTP %ld; is it a vSphere SDK "
                    "endpoint?",
                    what, c->url_safe, status);
    else if (!(*doc = xmlReadMemory(pc.body.s ? pc.body.s : "",
                                    (int)pc.body.len, "soap.xml", NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOBLANKS |
                                        XML_PARSE_HUGE)))
        rc = vs_err(err, VRT_E_INTERNAL,
                    "%s: the answer of \"%s\" is not XML (HTTP %ld).", what,
                    c->url_safe, status);
    if (set_cookie)
        vs_strlcpy(set_cookie, pc.cookie, 512);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_give(c, h);
    curl_slist_free_all(hdrs);
    vs_wipe(req.s, req.len); /* a Login carries the password */
    vs_buf_free(&req);
    vs_buf_free(&pc.body);
    return rc;
}

/* ---- the session ---------------------------------------------------------- */

/* Copies one secret key into a fresh buffer (wiped and freed by the
 * caller). */
static int secret(char **out, vrt_conn *c, const char *key, vrt_error *err)
{
    size_t len = 0, size = 256;
    char *buf = NULL;
    int rc;

    *out = NULL;
    if (!vs_host->secret_get)
        return vs_err(err, VRT_E_UNAUTHORIZED,
                      "The host offers no credentials; the vSphere provider "
                      "needs \"username\" and \"password\".");
    for (;;) {
        vrt_error e = VRT_ERROR_INIT;
        buf = vs_xcalloc(1, size);
        rc = vs_host->secret_get(&len, c->ctx, key, buf, size, &e);
        if (rc == VRT_E_INVALID && len > size && len < (1u << 20)) {
            free(buf);
            size = len;
            continue;
        }
        break;
    }
    if (rc == VRT_OK) {
        *out = buf;
        return VRT_OK;
    }
    free(buf);
    if (rc == VRT_E_NOTFOUND)
        return VRT_E_NOTFOUND;
    return vs_err(err, VRT_E_UNAUTHORIZED,
                  "The credentials secret could not be read (key \"%s\").",
                  key);
}

static void secret_free(char *s)
{
    if (s) {
        vs_wipe(s, strlen(s));
        free(s);
    }
}

int vs_secret_ca(vrt_conn *c, vrt_error *err)
{
    char *ca = NULL;
    int rc = secret(&ca, c, "ca.crt", err);

    if (rc == VRT_E_NOTFOUND)
        return VRT_OK;
    if (rc < 0)
        return rc;
    c->ca_pem = ca;
    return VRT_OK;
}

static void ref_of(char out[VS_REF_MAX], const xmlNode *sc, const char *name)
{
    vs_xml_ctext(out, VS_REF_MAX, sc, name);
}

/* RetrieveServiceContent + Login; called with c->lock held. */
static int login_locked(vrt_conn *c, const vrt_call *call, vrt_error *err)
{
    char *user = NULL, *pass = NULL, cookie[512] = "";
    xmlDoc *doc = NULL;
    xmlNode *resp, *sc;
    vs_buf b = {0};
    int rc;

    if ((rc = post(&doc, NULL, c, call,
                   "<RetrieveServiceContent xmlns=\"urn:vim25\"><_this "
                   "type=\"ServiceInstance\">ServiceInstance</_this>"
                   "</RetrieveServiceContent>",
                   NULL, "Reading the vSphere service content", err)) < 0 ||
        (rc = vs_xml_body(&resp, NULL, doc, "Reading the vSphere service "
                          "content", err)) < 0)
        goto cleanup;
    sc = vs_xml_child(resp, "returnval");
    ref_of(c->root, sc, "rootFolder");
    ref_of(c->pc, sc, "propertyCollector");
    ref_of(c->views, sc, "viewManager");
    ref_of(c->search, sc, "searchIndex");
    ref_of(c->sessmgr, sc, "sessionManager");
    if (!c->root[0] || !c->pc[0] || !c->views[0] || !c->sessmgr[0] ||
        !c->search[0]) {
        rc = vs_err(err, VRT_E_NOTSUPP,
                    "\"%s\" is not a vCenter or ESXi SDK endpoint: its "
                    "service content lacks the property collector, view "
                    "manager, search index or session manager.",
                    c->url_safe);
        goto cleanup;
    }
    xmlFreeDoc(doc);
    doc = NULL;
    rc = secret(&user, c, "username", err);
    if (rc == VRT_E_NOTFOUND)
        rc = vs_err(err, VRT_E_UNAUTHORIZED,
                    "The credentials secret has no \"username\" key.");
    if (rc < 0)
        goto cleanup;
    rc = secret(&pass, c, "password", err);
    if (rc == VRT_E_NOTFOUND)
        rc = vs_err(err, VRT_E_UNAUTHORIZED,
                    "The credentials secret has no \"password\" key.");
    if (rc < 0)
        goto cleanup;
    vs_buf_add(&b, "<Login xmlns=\"urn:vim25\"><_this type=\"SessionManager\">");
    vs_buf_esc(&b, c->sessmgr);
    vs_buf_add(&b, "</_this>");
    vs_buf_elem(&b, "userName", user);
    vs_buf_elem(&b, "password", pass);
    vs_buf_add(&b, "</Login>");
    rc = post(&doc, cookie, c, call, b.s, NULL, "Logging in to vSphere", err);
    vs_wipe(b.s, b.len);
    if (rc < 0 ||
        (rc = vs_xml_body(&resp, NULL, doc, "Logging in to vSphere", err)) <
            0)
        goto cleanup;
    if (!cookie[0]) {
        rc = vs_err(err, VRT_E_INTERNAL,
                    "Logging in to \"%s\" succeeded but the server set no "
                    "vmware_soap_session cookie.",
                    c->url_safe);
        goto cleanup;
    }
    vs_strlcpy(c->cookie, cookie, sizeof(c->cookie));
    vs_wipe(cookie, sizeof(cookie));
    c->gen++;
    c->vm_view[0] = '\0'; /* views belong to the old session */
    c->last_ok_ms = vs_now_ms();
    vs_log(c, VRT_LOG_INFO, "Logged in to \"%s\" (session %llu).",
           c->url_safe, (unsigned long long)c->gen);

cleanup:
    if (rc == VRT_E_UNAUTHORIZED && err && !strstr(err->message, "secret"))
        vs_err(err, VRT_E_UNAUTHORIZED,
               "vSphere at \"%s\" refused the user name and password of the "
               "credentials secret (InvalidLogin).",
               c->url_safe);
    secret_free(user);
    secret_free(pass);
    vs_buf_free(&b);
    xmlFreeDoc(doc);
    return rc;
}

int vs_session_ensure(vrt_conn *c, const vrt_call *call, vrt_error *err)
{
    int rc = VRT_OK;

    pthread_mutex_lock(&c->lock);
    if (!c->cookie[0])
        rc = login_locked(c, call, err);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void vs_refs(vrt_conn *c, char root[VS_REF_MAX], char pc[VS_REF_MAX],
             char views[VS_REF_MAX], char search[VS_REF_MAX])
{
    pthread_mutex_lock(&c->lock);
    if (root)
        vs_strlcpy(root, c->root, VS_REF_MAX);
    if (pc)
        vs_strlcpy(pc, c->pc, VS_REF_MAX);
    if (views)
        vs_strlcpy(views, c->views, VS_REF_MAX);
    if (search)
        vs_strlcpy(search, c->search, VS_REF_MAX);
    pthread_mutex_unlock(&c->lock);
}

int vs_soap(xmlDoc **doc, xmlNode **resp, char fault[64], vrt_conn *c,
            const vrt_call *call, const char *body, const char *what,
            vrt_error *err)
{
    char cookie[512], f[64];
    uint64_t gen;
    int rc = VRT_OK, attempt;

    *doc = NULL;
    *resp = NULL;
    for (attempt = 0; attempt < 2; attempt++) {
        if ((rc = vs_call_check(call, what, err)) < 0 ||
            (rc = vs_session_ensure(c, call, err)) < 0)
            return rc;
        pthread_mutex_lock(&c->lock);
        vs_strlcpy(cookie, c->cookie, sizeof(cookie));
        gen = c->gen;
        pthread_mutex_unlock(&c->lock);
        rc = post(doc, NULL, c, call, body, cookie, what, err);
        vs_wipe(cookie, sizeof(cookie));
        if (rc < 0)
            return rc;
        rc = vs_xml_body(resp, f, *doc, what, err);
        if (fault)
            vs_strlcpy(fault, f, 64);
        if (rc == VRT_OK) {
            pthread_mutex_lock(&c->lock);
            c->last_ok_ms = vs_now_ms();
            pthread_mutex_unlock(&c->lock);
            return VRT_OK;
        }
        xmlFreeDoc(*doc);
        *doc = NULL;
        if (strcmp(f, "NotAuthenticated"))
            return rc;
        /* the session expired or was terminated: forget it, log in again */
        pthread_mutex_lock(&c->lock);
        if (c->gen == gen) {
            vs_wipe(c->cookie, sizeof(c->cookie));
            vs_log(c, VRT_LOG_WARN,
                   "The vSphere session on \"%s\" is no longer valid; "
                   "logging in again.",
                   c->url_safe);
        }
        pthread_mutex_unlock(&c->lock);
    }
    return rc;
}

void vs_session_logout(vrt_conn *c)
{
    xmlDoc *doc = NULL;
    vs_buf b = {0};
    vrt_error e = VRT_ERROR_INIT;
    vrt_call call = {sizeof(vrt_call), 0, vs_now_ms() + 5000, NULL};

    if (!c->cookie[0])
        return;
    vs_buf_add(&b, "<Logout xmlns=\"urn:vim25\"><_this "
                   "type=\"SessionManager\">");
    vs_buf_esc(&b, c->sessmgr);
    vs_buf_add(&b, "</_this></Logout>");
    if (post(&doc, NULL, c, &call, b.s, c->cookie, "Logging out", &e) == 0)
        vs_log(c, VRT_LOG_DEBUG, "Logged out of \"%s\".", c->url_safe);
    xmlFreeDoc(doc);
    vs_buf_free(&b);
    vs_wipe(c->cookie, sizeof(c->cookie));
}

void vs_curl_free_idle(vrt_conn *c)
{
    while (c->nidle > 0)
        curl_easy_cleanup(c->idle[--c->nidle]);
}
