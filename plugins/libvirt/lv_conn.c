/* lv_conn.c - provider connections (see lv_conn.h). */
#include "lv_conn.h"
#include "lv_xml.h"

#include <libxml/parser.h>

#include <libvirt/virterror.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LV_SECRET_MAX 4096

const vrt_host_api *lv_host;

/* ---- logging, clock, calls -------------------------------------------- */

void lv_log(vrt_conn *c, int32_t level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    vrt_host_ctx *ctx = c ? c->ctx : NULL;

    if (!lv_host || !lv_host->log ||
        (lv_host->log_enabled && !lv_host->log_enabled(ctx, level)))
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    lv_scrub(buf);
    lv_host->log(ctx, level, buf);
}

uint64_t lv_now_ms(void)
{
    struct timespec ts;

    if (lv_host && lv_host->clock_monotonic_ms)
        return lv_host->clock_monotonic_ms();
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int lv_call_check(const vrt_call *call, const char *what, vrt_error *err)
{
    if (call && call->struct_size < sizeof(vrt_call))
        return lv_err(err, VRT_E_INVALID,
                      "The call record of %s is too small.", what);
    if (call && call->flags)
        return lv_err(err, VRT_E_INVALID,
                      "The call record of %s has flags 0x%x; they must be 0.",
                      what, (unsigned)call->flags);
    if (call && call->ctx && lv_host && lv_host->cancelled &&
        lv_host->cancelled(call->ctx))
        return lv_err(err, VRT_E_CANCELED, "The host cancelled %s.", what);
    if (call && call->deadline_ms && lv_now_ms() >= call->deadline_ms)
        return lv_err(err, VRT_E_TIMEOUT,
                      "The call's deadline passed during %s.", what);
    return VRT_OK;
}

void lv_sleep_ms(const vrt_call *call, uint32_t ms)
{
    uint64_t now = lv_now_ms();
    struct timespec ts;

    if (call && call->deadline_ms && call->deadline_ms < now + ms)
        ms = call->deadline_ms > now ? (uint32_t)(call->deadline_ms - now)
                                     : 0;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* Keeps libvirt from printing errors on the host's stderr. */
static void quiet_errors(void *opaque, virErrorPtr e)
{
    (void)opaque;
    (void)e;
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc;

static void global_init(void)
{
    xmlInitParser();
    global_rc = virInitialize();
    virSetErrorFunc(NULL, quiet_errors);
}

/* At unload: libvirt stays loaded (NODELETE) and must not keep a pointer
 * to our quiet_errors. */
__attribute__((destructor)) static void global_fini(void)
{
    virSetErrorFunc(NULL, NULL);
}

int lv_conn_global_init(vrt_error *err)
{
    pthread_once(&global_once, global_init);
    if (global_rc < 0)
        return lv_virt_err(err, "Could not initialise libvirt");
    return VRT_OK;
}

/* ---- credentials -------------------------------------------------------- */

typedef struct lv_auth {
    vrt_conn *c;
    const char *missing; /* the secret key that was absent */
} lv_auth;

/* A malloc'ed copy of secret `key`, or NULL.  libvirt frees it. */
static char *secret_dup(lv_auth *a, const char *key, unsigned int *len)
{
    char small[256], *buf = small, *copy = NULL;
    size_t n = 0, size = sizeof(small);
    vrt_error e = VRT_ERROR_INIT;
    int32_t rc;

    if (!lv_host->secret_get)
        return NULL;
    rc = lv_host->secret_get(&n, a->c->ctx, key, buf, size, &e);
    if (rc == VRT_E_INVALID && n > size && n <= LV_SECRET_MAX) {
        size = n;
        buf = lv_xcalloc(1, size);
        rc = lv_host->secret_get(&n, a->c->ctx, key, buf, size, &e);
    }
    if (rc == VRT_OK) {
        copy = lv_xstrdup(buf);
        *len = (unsigned int)strlen(copy);
    } else {
        a->missing = key;
    }
    lv_wipe(buf, size);
    if (buf != small)
        free(buf);
    return copy;
}

static int auth_cb(virConnectCredentialPtr cred, unsigned int ncred,
                   void *opaque)
{
    lv_auth *a = opaque;
    unsigned int i;
    const char *key;

    for (i = 0; i < ncred; i++) {
        switch (cred[i].type) {
        case VIR_CRED_AUTHNAME:
        case VIR_CRED_USERNAME:
        case VIR_CRED_ECHOPROMPT:
            key = "username";
            break;
        case VIR_CRED_PASSPHRASE:
        case VIR_CRED_NOECHOPROMPT:
            key = "password";
            break;
        default:
            return -1;
        }
        cred[i].result = secret_dup(a, key, &cred[i].resultlen);
        if (!cred[i].result && cred[i].defresult &&
            !strcmp(key, "username")) {
            a->missing = NULL;
            cred[i].result = lv_xstrdup(cred[i].defresult);
            cred[i].resultlen = (unsigned int)strlen(cred[i].result);
        }
        if (!cred[i].result)
            return -1;
    }
    return 0;
}

/* ---- open / close --------------------------------------------------------- */

int32_t lv_open(vrt_conn **out, const vrt_conn_params *params, uint32_t flags,
                vrt_error *err)
{
    vrt_conn *c = NULL;
    char redacted[VRT_URL_MAX];
    int rc;

    *out = NULL;
    if ((rc = lv_flags_ok(flags, "open", err)) < 0)
        return rc;
    if (!params || params->struct_size < sizeof(vrt_conn_params) ||
        params->flags)
        return lv_err(err, VRT_E_INVALID,
                      "The connection parameters are malformed.");
    if (!params->endpoint || !params->endpoint[0])
        return lv_err(err, VRT_E_INVALID,
                      "The endpoint is empty; give a libvirt URI such as "
                      "qemu:///system.");
    if (strlen(params->endpoint) >= VRT_URL_MAX || !strstr(params->endpoint, ":/"))
        return lv_err(err, VRT_E_INVALID,
                      "The endpoint is not a libvirt URI such as "
                      "qemu:///system.");
    lv_uri_redact(redacted, sizeof(redacted), params->endpoint);
    if (strcmp(redacted, params->endpoint))
        return lv_err(err, VRT_E_INVALID,
                      "The endpoint \"%s\" carries a password; put it in the "
                      "credentials secret under \"password\" instead.",
                      redacted);

    c = lv_xcalloc(1, sizeof(*c));
    c->ctx = params->ctx;
    if ((rc = lv_config_parse(&c->cfg, params->config_json, err)) < 0) {
        lv_config_free(&c->cfg);
        free(c);
        return rc;
    }
    c->uri = lv_xstrdup(params->endpoint);
    lv_strlcpy(c->uri_safe, redacted, sizeof(c->uri_safe));
    c->is_test = !strncmp(c->uri, "test:", 5);
    pthread_mutex_init(&c->lock, NULL);
    lv_tasks_init(&c->tasks);
    *out = c;
    return VRT_OK;
}

void lv_close(vrt_conn *c)
{
    if (!c)
        return;
    if (c->virt)
        virConnectClose(c->virt);
    if (c->events)
        lv_event_release();
    lv_tasks_destroy(&c->tasks);
    pthread_mutex_destroy(&c->lock);
    lv_config_free(&c->cfg);
    free(c->auto_type);
    free(c->uri);
    free(c);
}

/* Opens c->virt; called with c->lock held. */
static int connect_locked(vrt_conn *c, vrt_error *err)
{
    static int creds[] = {VIR_CRED_AUTHNAME, VIR_CRED_USERNAME,
                          VIR_CRED_PASSPHRASE, VIR_CRED_ECHOPROMPT,
                          VIR_CRED_NOECHOPROMPT};
    lv_auth a = {c, NULL};
    virConnectAuth auth = {creds, sizeof(creds) / sizeof(creds[0]), auth_cb,
                           &a};
    const char *type;
    int rc;

    /* keepalive needs the event loop registered before the connection */
    if (!c->is_test && c->cfg.keepalive_interval_s > 0 && !c->events)
        c->events = lv_event_acquire() == 0;
    c->virt = virConnectOpenAuth(c->uri, &auth, 0);
    if (!c->virt) {
        if (a.missing)
            return lv_err(err, VRT_E_UNAUTHORIZED,
                          "Could not connect to \"%s\": libvirt asked for a "
                          "%s and the credentials secret has no \"%s\" key.",
                          c->uri_safe, a.missing, a.missing);
        rc = lv_virt_err(err, "Could not connect to \"%s\"", c->uri_safe);
        /* a refused or unreachable endpoint is worth retrying */
        if (rc == VRT_E_INTERNAL) {
            rc = VRT_E_UNAVAILABLE;
            if (err)
                err->code = rc;
        }
        return rc;
    }
    virConnSetErrorFunc(c->virt, NULL, quiet_errors);
    type = virConnectGetType(c->virt);
    lv_strlcpy(c->driver, type ? type : "unknown", sizeof(c->driver));
    if (c->events) {
        rc = virConnectSetKeepAlive(c->virt, c->cfg.keepalive_interval_s,
                                    c->cfg.keepalive_count);
        lv_log(c, VRT_LOG_DEBUG, "Keepalive on \"%s\" is %s.", c->uri_safe,
               rc == 0 ? "on" : "not supported by this driver");
        virResetLastError();
    }
    lv_log(c, VRT_LOG_INFO, "Connected to \"%s\" (driver %s).", c->uri_safe,
           c->driver);
    return VRT_OK;
}

int lv_conn_acquire(virConnectPtr *out, vrt_conn *c, vrt_error *err)
{
    int rc = VRT_OK;

    *out = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->virt && virConnectIsAlive(c->virt) != 1) {
        lv_log(c, VRT_LOG_WARN,
               "The connection to \"%s\" died; reconnecting.", c->uri_safe);
        virConnectClose(c->virt);
        c->virt = NULL;
    }
    if (!c->virt)
        rc = connect_locked(c, err);
    if (rc == VRT_OK && virConnectRef(c->virt) == 0)
        *out = c->virt;
    else if (rc == VRT_OK)
        rc = lv_virt_err(err, "Could not use the connection to \"%s\"",
                         c->uri_safe);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void lv_conn_release(virConnectPtr v)
{
    if (v)
        virConnectClose(v);
}

/* ---- what this connection can do ------------------------------------------ */

const char *lv_conn_pool(const vrt_conn *c)
{
    if (c->cfg.storage_pool)
        return c->cfg.storage_pool;
    return c->is_test ? "default-pool" : "default";
}

/* kvm when the host offers it for `arch`, else qemu. */
static char *probe_type(virConnectPtr virt, const char *arch)
{
    char *caps = virConnectGetCapabilities(virt), *type = NULL, *name;
    xmlDocPtr doc = NULL;
    xmlNodePtr g, a, d;
    vrt_error e = VRT_ERROR_INIT;

    if (!caps || lv_xml_read(&doc, caps, "capabilities", &e) < 0) {
        free(caps);
        return NULL;
    }
    for (g = lv_xml_child(xmlDocGetRootElement(doc), "guest"); g && !type;
         g = lv_xml_next(g))
        for (a = lv_xml_child(g, "arch"); a && !type; a = lv_xml_next(a)) {
            name = lv_xml_get(a, "name");
            if (name && !strcmp(name, arch))
                for (d = lv_xml_child(a, "domain"); d && !type;
                     d = lv_xml_next(d)) {
                    char *t = lv_xml_get(d, "type");
                    if (t && !strcmp(t, "kvm"))
                        type = t;
                    else
                        free(t);
                }
            free(name);
        }
    xmlFreeDoc(doc);
    free(caps);
    return type ? type : lv_xstrdup("qemu");
}

int lv_conn_domain_type(const char **out, vrt_conn *c, virConnectPtr virt,
                        vrt_error *err)
{
    *out = NULL;
    if (c->cfg.domain_type) {
        *out = c->cfg.domain_type;
        return VRT_OK;
    }
    if (c->is_test) {
        *out = "test";
        return VRT_OK;
    }
    pthread_mutex_lock(&c->lock);
    if (!c->auto_type)
        c->auto_type = probe_type(virt, "x86_64");
    *out = c->auto_type;
    pthread_mutex_unlock(&c->lock);
    if (!*out)
        return lv_virt_err(err, "Could not read the capabilities of \"%s\"",
                           c->uri_safe);
    return VRT_OK;
}

#define LV_CAPS_COMMON                                                         \
    (VRT_CAP_RECONFIGURE | VRT_CAP_RECONFIGURE_ONLINE | VRT_CAP_SNAPSHOTS |    \
     VRT_CAP_MEMORY_SNAPSHOTS | VRT_CAP_SNAPSHOT_REVERT | VRT_CAP_CLONE |      \
     VRT_CAP_LINKED_CLONES | VRT_CAP_LIST_VMS | VRT_CAP_GRACEFUL_SHUTDOWN |    \
     VRT_CAP_HOSTS)

uint64_t lv_conn_caps(vrt_conn *c)
{
    uint64_t caps;

    pthread_mutex_lock(&c->lock);
    if (!strcmp(c->driver, "TEST"))
        /* in-memory storage: no volume streams, no VNC ports, no resize */
        caps = LV_CAPS_COMMON;
    else if (!strcmp(c->driver, "QEMU"))
        caps = LV_CAPS_COMMON | VRT_CAP_DISK_EXPORT | VRT_CAP_DISK_IMPORT |
               VRT_CAP_CONSOLE | VRT_CAP_DISK_EXPAND_ONLINE;
    else
        caps = VRT_CAP_RECONFIGURE | VRT_CAP_LIST_VMS |
               VRT_CAP_GRACEFUL_SHUTDOWN | VRT_CAP_HOSTS;
    pthread_mutex_unlock(&c->lock);
    return caps;
}

int lv_conn_need(vrt_conn *c, uint64_t cap, const char *what, vrt_error *err)
{
    if (lv_conn_caps(c) & cap)
        return VRT_OK;
    return lv_err(err, VRT_E_NOTSUPP,
                  "The libvirt %s driver behind \"%s\" does not support %s.",
                  c->driver, c->uri_safe, what);
}

int32_t lv_validate(vrt_conn *c, const vrt_call *call, uint32_t flags,
                    vrt_error *err)
{
    virConnectPtr virt = NULL;
    unsigned long ver = 0;
    int rc;

    if ((rc = lv_flags_ok(flags, "validate", err)) < 0 ||
        (rc = lv_call_check(call, "validate", err)) < 0 ||
        (rc = lv_conn_acquire(&virt, c, err)) < 0)
        return rc;
    if (virConnectGetLibVersion(virt, &ver) < 0)
        rc = lv_virt_err(err, "The endpoint \"%s\" did not answer",
                         c->uri_safe);
    else
        lv_log(c, VRT_LOG_DEBUG, "\"%s\" runs libvirt %lu.%lu.%lu.",
               c->uri_safe, ver / 1000000, ver / 1000 % 1000, ver % 1000);
    lv_conn_release(virt);
    return rc;
}
