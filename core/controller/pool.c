/*
 * Provider connections, one per Provider object.  A connection is reused
 * while the Provider's spec and credentials stay the same, and replaced
 * when they change; leases keep a replaced connection alive until the last
 * user releases it.  Credentials are read from the Secret on open, kept
 * only in memory for the plugin's secret_get, and wiped on close.
 *
 * So that one slow or dead hypervisor cannot take every worker:
 * - a concurrency limit per Provider (spec.connectionPooling.maxConnections,
 *   by default three quarters of the workers): a reconcile that would
 *   exceed it is put back on the queue instead of waiting;
 * - a circuit breaker per Provider: after failureThreshold
 *   (spec.healthCheck.failureThreshold, default 3) consecutive calls that
 *   failed with UNAVAILABLE or TIMEOUT, no call is made for a cool-down
 *   (5 s, doubling to 60 s while the trial call after it fails too); a
 *   success, or a change of the Provider's spec, closes it.
 */
#include "controller_internal.h"

#include <vrt/clock.h>
#include <vrt/log.h>
#include <vrt/metrics.h>
#include <vrt/remote.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

VRT_LOG_SOURCE("core.pool");

struct vrt_lease {
    char key[400];      /* "ns/name" */
    char *fingerprint;  /* spec JSON + secret rv: what the conn was made of */
    vrt_pconn *conn;
    vrt_plugin *remote; /* the provider host's plugin, when annotated */
    char **secrets;     /* "key", "value", ..., NULL */
    int refs;           /* reconciles holding it: calls in flight */
    int limit;          /* most refs at once */
    int stale;          /* replaced; close when refs reach 0 */
    struct vrt_lease *next;
};

#define BREAKER_COOLDOWN_MS 5000u
#define BREAKER_COOLDOWN_MAX_MS 60000u

typedef struct breaker {
    char *fingerprint;         /* the connection the counts apply to */
    int failures;              /* consecutive */
    int threshold;
    uint64_t open_until_ms;    /* 0 = closed */
    uint32_t cooldown_ms;
    char last_error[VRT_ERROR_MESSAGE_MAX]; /* of the last counted failure */
} breaker;

struct vrt_pool {
    pthread_mutex_t lock;
    vrt_lease *head;
    vrt_hmap *breakers;        /* "ns/name" -> breaker */
    uint32_t workers;
};

static void breaker_free(void *v)
{
    breaker *b = v;
    if (b)
        free(b->fingerprint);
    free(b);
}

vrt_pool *vrt_pool_new(uint32_t workers)
{
    vrt_pool *p = calloc(1, sizeof(*p));
    if (!p)
        abort();
    pthread_mutex_init(&p->lock, NULL);
    p->breakers = vrt_hmap_new(breaker_free);
    p->workers = workers ? workers : 1;
    return p;
}

static void lease_free(vrt_lease *l)
{
    vrt_pconn_close(l->conn);
    vrt_remote_plugin_free(l->remote);
    vrt_secrets_free(l->secrets);
    free(l->fingerprint);
    free(l);
}

void vrt_pool_free(vrt_pool *p)
{
    if (!p)
        return;
    vrt_lease *l = p->head;
    while (l) {
        vrt_lease *n = l->next;
        lease_free(l);
        l = n;
    }
    vrt_hmap_free(p->breakers);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static int32_t secret_cb(size_t *len, void *opaque, const char *key,
                         char *buf, size_t size, vrt_error *err)
{
    return vrt_secret_from_pairs(len, opaque, key, buf, size, err);
}

static int spec_int(const cJSON *spec, const char *obj, const char *key,
                    int dflt, int min, int max)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(spec, obj), key);
    if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > max)
        return dflt;
    return (int)v->valuedouble;
}

static int provider_limit(const vrt_pool *p, const cJSON *spec)
{
    int dflt = (int)(p->workers * 3 / 4);
    return spec_int(spec, "connectionPooling", "maxConnections",
                    dflt > 0 ? dflt : 1, 1, 1000);
}

static int throttled(vrt_error *err, const char *key, int limit)
{
    vrt_metric_add(vrt_metric_counter("virtrigaud_provider_throttled_total",
                                      "Reconciles put back because their "
                                      "Provider had its limit of calls in "
                                      "flight.",
                                      "provider"),
                   (const char *[]){key}, 1);
    int rc = vrt_error_set(err, VRT_E_RATELIMIT,
                           "Provider \"%s\" already has %d calls in flight "
                           "(spec.connectionPooling.maxConnections).",
                           key, limit);
    err->retry_after_ms = 100;
    return rc;
}

static void breaker_gauge(const char *key, int open)
{
    vrt_metric_set(vrt_metric_gauge("virtrigaud_provider_circuit_open",
                                    "1 while the Provider's circuit breaker "
                                    "stops calls to it.",
                                    "provider"),
                   (const char *[]){key}, open);
}

/* The breaker of `key` for connection fingerprint `fp` (a new fingerprint
 * starts closed).  Called with the lock held. */
static breaker *breaker_of(vrt_pool *p, const char *key, const char *fp,
                           const cJSON *spec)
{
    breaker *b = vrt_hmap_get(p->breakers, key);
    if (!b || strcmp(b->fingerprint, fp) != 0) {
        if (b && b->open_until_ms)
            breaker_gauge(key, 0);
        b = calloc(1, sizeof(*b));
        if (!b || !(b->fingerprint = strdup(fp)))
            abort();
        b->threshold = spec_int(spec, "healthCheck", "failureThreshold", 3, 1, 100);
        b->cooldown_ms = BREAKER_COOLDOWN_MS;
        vrt_hmap_put(p->breakers, key, b);
    }
    return b;
}

static int breaker_check(vrt_pool *p, const char *key, const char *fp,
                         const cJSON *spec, vrt_error *err)
{
    breaker *b = breaker_of(p, key, fp, spec);
    uint64_t now = vrt_now_ms();
    if (!b->open_until_ms || now >= b->open_until_ms)
        return VRT_OK; /* closed, or half open: let calls try */
    int rc = vrt_error_set(err, VRT_E_UNAVAILABLE,
                           "Provider \"%s\" is not called for %llu s more: its "
                           "last %d calls failed (circuit breaker open); the "
                           "last error: %s",
                           key,
                           (unsigned long long)(b->open_until_ms - now + 999) / 1000,
                           b->failures, b->last_error);
    err->retry_after_ms = (uint32_t)(b->open_until_ms - now);
    err->flags |= VRT_ERR_CIRCUIT_OPEN;
    return rc;
}

void vrt_pool_report(vrt_pool *p, const char *key, const vrt_error *err)
{
    int32_t code = err ? err->code : VRT_OK;
    int counts = code == VRT_E_UNAVAILABLE || code == VRT_E_TIMEOUT;
    if (!key || (!counts && code != VRT_OK) || (err && (err->flags & VRT_ERR_CIRCUIT_OPEN)))
        return; /* the endpoint answered: says nothing about its health */
    pthread_mutex_lock(&p->lock);
    breaker *b = vrt_hmap_get(p->breakers, key);
    if (b) {
        if (code == VRT_OK) {
            if (b->open_until_ms) {
                vrt_log_info("Circuit closed provider=\"%s\"", key);
                breaker_gauge(key, 0);
            }
            b->failures = 0;
            b->open_until_ms = 0;
            b->cooldown_ms = BREAKER_COOLDOWN_MS;
        } else if (snprintf(b->last_error, sizeof(b->last_error), "%s",
                            err->message) >= 0 &&
                   ++b->failures >= b->threshold) {
            uint64_t now = vrt_now_ms();
            if (b->open_until_ms && now >= b->open_until_ms) /* trial failed */
                b->cooldown_ms = b->cooldown_ms * 2 > BREAKER_COOLDOWN_MAX_MS
                                     ? BREAKER_COOLDOWN_MAX_MS
                                     : b->cooldown_ms * 2;
            if (!b->open_until_ms || now >= b->open_until_ms) {
                b->open_until_ms = now + b->cooldown_ms;
                vrt_log_warn("Circuit opened provider=\"%s\" failures=%d "
                             "cooldown_ms=%u",
                             key, b->failures, b->cooldown_ms);
                breaker_gauge(key, 1);
            }
        }
    }
    pthread_mutex_unlock(&p->lock);
}

int vrt_pool_acquire(vrt_lease **out, vrt_pool *p, vrt_controller *c,
                     const cJSON *provider, vrt_error *err)
{
    *out = NULL;
    const char *ns = vrt_meta_str(provider, "namespace");
    const char *name = vrt_meta_str(provider, "name");
    const cJSON *spec = cJSON_GetObjectItem(provider, "spec");
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "type"));
    const char *endpoint =
        cJSON_GetStringValue(cJSON_GetObjectItem(spec, "endpoint"));
    char key[400];
    snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name ? name : "");
    if (!type)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Provider \"%s\" has no spec.type.", key);
    /* Annotated to a provider host: the plugin runs there (remote.h). */
    const char *host_url = vrt_remote_url_of(provider);
    const vrt_plugin *plugin = host_url ? NULL : vrt_registry_find(c->reg, type);
    if (!plugin && !host_url)
        return vrt_error_set(err, VRT_E_NOTSUPP,
                             "No provider plugin of type \"%s\" is loaded "
                             "(needed by Provider \"%s\").",
                             type, key);

    char **secrets = NULL, **tls = NULL, srv[32], trv[32] = "";
    const cJSON *tls_ref = NULL;
    int rc = vrt_secret_load(&secrets, srv, c, ns ? ns : "default",
                         cJSON_GetObjectItem(spec, "credentialSecretRef"), err);
    if (rc == VRT_OK && host_url &&
        (rc = vrt_remote_tls_ref(&tls_ref, provider, err)) == VRT_OK && tls_ref)
        rc = vrt_secret_load(&tls, trv, c, ns ? ns : "default", tls_ref, err);
    if (rc != VRT_OK) {
        vrt_secrets_free(secrets);
        return rc;
    }
    char *spec_json = cJSON_PrintUnformatted(spec);
    const char *sni = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(provider, "metadata"), "annotations"),
        VRT_PROVIDER_HOST_SERVER_NAME_ANNOTATION));
    size_t flen = strlen(spec_json) + strlen(srv) + strlen(trv) + 8 +
                  (host_url ? strlen(host_url) : 0) + (sni ? strlen(sni) : 0);
    char *fp = malloc(flen);
    if (!fp)
        abort();
    snprintf(fp, flen, "%s|%s|%s|%s|%s", spec_json, srv, host_url ? host_url : "",
             trv, sni ? sni : "");

    int limit = provider_limit(p, spec);
    pthread_mutex_lock(&p->lock);
    rc = breaker_check(p, key, fp, spec, err);
    for (vrt_lease *l = p->head; rc == VRT_OK && l; l = l->next) {
        if (!l->stale && strcmp(l->key, key) == 0) {
            if (strcmp(l->fingerprint, fp) == 0) {
                if (l->refs >= l->limit) {
                    rc = throttled(err, key, l->limit);
                    break;
                }
                l->refs++;
                *out = l;
                break;
            }
            l->stale = 1; /* changed: the next user gets a new one */
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (rc != VRT_OK || *out) {
        free(fp);
        free(spec_json);
        vrt_secrets_free(secrets);
        vrt_secrets_free(tls);
        return rc;
    }

    vrt_lease *l = calloc(1, sizeof(*l));
    if (!l)
        abort();
    snprintf(l->key, sizeof(l->key), "%s", key);
    l->fingerprint = fp;
    l->secrets = secrets;
    l->refs = 1;
    l->limit = limit;
    if (host_url) {
        vrt_remote_opts ro;
        rc = vrt_remote_opts_from(&ro, provider, tls, err);
        /* A socket per call in flight, and room for the streams a
         * migration keeps open while it calls on. */
        ro.max_connections = (uint32_t)limit + 2;
        ro.call_timeout_ms = c->opts.call_timeout_ms;
        if (rc == VRT_OK)
            rc = vrt_remote_plugin_open(&l->remote, host_url, &ro, err);
        if (rc == VRT_OK && strcmp(vrt_plugin_name(l->remote), type) != 0)
            rc = vrt_error_set(err, VRT_E_INVALID,
                               "Provider \"%s\" has spec.type \"%s\" but its "
                               "provider host \"%s\" serves plugin \"%s\".",
                               key, type, host_url, vrt_plugin_name(l->remote));
        plugin = l->remote;
    }
    vrt_secrets_free(tls);
    if (rc == VRT_OK)
        rc = vrt_pconn_open(&l->conn, plugin, key, endpoint ? endpoint : "",
                            spec_json, secret_cb, l->secrets, err);
    free(spec_json);
    if (rc != VRT_OK) {
        lease_free(l);
        return rc;
    }
    vrt_log_info("Connected provider=\"%s\" type=\"%s\" endpoint=\"%s\"%s%s%s",
                 key, type, endpoint ? endpoint : "", host_url ? " via=\"" : "",
                 host_url ? host_url : "", host_url ? "\"" : "");
    pthread_mutex_lock(&p->lock);
    l->next = p->head;
    p->head = l;
    pthread_mutex_unlock(&p->lock);
    *out = l;
    return VRT_OK;
}

vrt_pconn *vrt_lease_conn(vrt_lease *l)
{
    return l->conn;
}

const char *vrt_lease_key(const vrt_lease *l)
{
    return l->key;
}

/* Closes stale leases nobody holds.  Called with the lock held; returns
 * them in a list to close outside the lock. */
static vrt_lease *unlink_dead(vrt_pool *p)
{
    vrt_lease *dead = NULL, **pp = &p->head;
    while (*pp) {
        vrt_lease *l = *pp;
        if (l->stale && l->refs == 0) {
            *pp = l->next;
            l->next = dead;
            dead = l;
        } else {
            pp = &l->next;
        }
    }
    return dead;
}

void vrt_pool_release(vrt_pool *p, vrt_lease *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&p->lock);
    l->refs--;
    vrt_lease *dead = unlink_dead(p);
    pthread_mutex_unlock(&p->lock);
    while (dead) {
        vrt_lease *n = dead->next;
        lease_free(dead);
        dead = n;
    }
}

void vrt_pool_forget(vrt_pool *p, const char *ns, const char *name)
{
    char key[400];
    snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name ? name : "");
    pthread_mutex_lock(&p->lock);
    for (vrt_lease *l = p->head; l; l = l->next)
        if (strcmp(l->key, key) == 0)
            l->stale = 1;
    vrt_lease *dead = unlink_dead(p);
    pthread_mutex_unlock(&p->lock);
    while (dead) {
        vrt_lease *n = dead->next;
        lease_free(dead);
        dead = n;
    }
}
