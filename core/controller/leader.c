/*
 * Leader election on a coordination.k8s.io/v1 Lease (see vrt/leader.h).
 * One thread tries to acquire or renew every retry period; whether we
 * lead is judged at the moment of asking from the time of the last
 * successful renewal, so a hung request cannot stretch leadership past
 * the renew deadline.
 */
#include <vrt/leader.h>
#include <vrt/log.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

VRT_LOG_SOURCE("leader");

struct vrt_leader {
    vrt_kube *kube;
    char ns[254], name[254];
    uint32_t lease_ms, renew_ms, retry_ms;
    char identity[128];
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    /* under lock */
    int leading;
    uint64_t last_renew;     /* monotonic ms of our last successful write */
    /* thread only: the record as last seen, and since when */
    char observed_rv[64];
    uint64_t observed_at;
    char observed_holder[128];
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* MicroTime, as Lease wants it: 2006-01-02T15:04:05.000000Z */
static void micro_now(char buf[40])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, 40 - n, ".%06ldZ", ts.tv_nsec / 1000);
}

static void lease_path(char *buf, size_t size, const vrt_leader *l, int item)
{
    snprintf(buf, size, "/apis/coordination.k8s.io/v1/namespaces/%s/leases%s%s",
             l->ns, item ? "/" : "", item ? l->name : "");
}

static const char *spec_str(const cJSON *lease, const char *key)
{
    return cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(lease, "spec"), key));
}

/* Makes `spec` say we hold the Lease as of now. */
static void fill_spec(cJSON *spec, const vrt_leader *l, int new_holder)
{
    char now[40];
    micro_now(now);
    cJSON_DeleteItemFromObject(spec, "holderIdentity");
    cJSON_AddStringToObject(spec, "holderIdentity", l->identity);
    cJSON_DeleteItemFromObject(spec, "leaseDurationSeconds");
    cJSON_AddNumberToObject(spec, "leaseDurationSeconds",
                            (double)((l->lease_ms + 999) / 1000));
    cJSON_DeleteItemFromObject(spec, "renewTime");
    cJSON_AddStringToObject(spec, "renewTime", now);
    if (new_holder) {
        double n = cJSON_GetNumberValue(cJSON_GetObjectItem(spec, "leaseTransitions"));
        cJSON_DeleteItemFromObject(spec, "acquireTime");
        cJSON_AddStringToObject(spec, "acquireTime", now);
        cJSON_DeleteItemFromObject(spec, "leaseTransitions");
        cJSON_AddNumberToObject(spec, "leaseTransitions", n == n ? n + 1 : 1);
    }
}

static void set_leading(vrt_leader *l, int leading, uint64_t renewed)
{
    pthread_mutex_lock(&l->lock);
    int was = l->leading && mono_ms() - l->last_renew <= l->renew_ms;
    l->leading = leading;
    if (leading)
        l->last_renew = renewed;
    pthread_mutex_unlock(&l->lock);
    if (leading && !was)
        vrt_log_info("Became leader lease=\"%s/%s\" identity=\"%s\"", l->ns,
                     l->name, l->identity);
}

/* Records what the write or read returned as the last observed state. */
static void observe(vrt_leader *l, const cJSON *lease, uint64_t now)
{
    const char *rv = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(lease, "metadata"), "resourceVersion"));
    const char *holder = spec_str(lease, "holderIdentity");
    if (!rv || strcmp(rv, l->observed_rv) != 0) {
        snprintf(l->observed_rv, sizeof(l->observed_rv), "%s", rv ? rv : "");
        l->observed_at = now;
    }
    if (strcmp(holder ? holder : "", l->observed_holder) != 0) {
        snprintf(l->observed_holder, sizeof(l->observed_holder), "%s",
                 holder ? holder : "");
        if (holder && *holder && strcmp(holder, l->identity) != 0)
            vrt_log_info("Lease is held by another manager lease=\"%s/%s\" "
                         "holder=\"%s\"", l->ns, l->name, holder);
    }
}

/* One attempt to acquire or renew.  Returns 1 if we hold the Lease now. */
static int try_acquire(vrt_leader *l)
{
    char path[700];
    cJSON *lease = NULL, *written = NULL;
    long status = 0;
    int won = 0;
    vrt_error err = VRT_ERROR_INIT;
    uint64_t now = mono_ms();

    lease_path(path, sizeof(path), l, 1);
    if (vrt_kube_request(&lease, &status, l->kube, "GET", path, NULL, NULL,
                         &err) != VRT_OK) {
        vrt_log_debug("Cannot read the Lease: %s", err.message);
        goto cleanup;
    }
    if (status == 404) {
        cJSON_Delete(lease);
        lease = cJSON_CreateObject();
        cJSON_AddStringToObject(lease, "apiVersion", "coordination.k8s.io/v1");
        cJSON_AddStringToObject(lease, "kind", "Lease");
        cJSON *md = cJSON_AddObjectToObject(lease, "metadata");
        cJSON_AddStringToObject(md, "name", l->name);
        cJSON_AddStringToObject(md, "namespace", l->ns);
        fill_spec(cJSON_AddObjectToObject(lease, "spec"), l, 1);
        lease_path(path, sizeof(path), l, 0);
        err = (vrt_error)VRT_ERROR_INIT;
        if (vrt_kube_request(&written, &status, l->kube, "POST", path, NULL,
                             lease, &err) == VRT_OK && status == 201)
            won = 1;
        else
            vrt_log_warn("Cannot create the Lease lease=\"%s/%s\" status=%ld: %s",
                         l->ns, l->name, status, err.message);
        goto cleanup;
    }
    if (status != 200) {
        vrt_log_warn("Cannot read the Lease lease=\"%s/%s\" status=%ld: %s",
                     l->ns, l->name, status, err.message);
        goto cleanup;
    }
    observe(l, lease, now);
    const char *holder = spec_str(lease, "holderIdentity");
    int ours = holder && strcmp(holder, l->identity) == 0;
    double dur = cJSON_GetNumberValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(lease, "spec"), "leaseDurationSeconds"));
    uint64_t dur_ms = dur == dur && dur > 0 ? (uint64_t)(dur * 1000) : l->lease_ms;
    if (!ours && holder && *holder && now - l->observed_at < dur_ms)
        goto cleanup; /* someone else's, and alive as far as we can tell */

    cJSON *spec = cJSON_GetObjectItem(lease, "spec");
    if (!cJSON_IsObject(spec)) {
        cJSON_DeleteItemFromObject(lease, "spec");
        spec = cJSON_AddObjectToObject(lease, "spec");
    }
    fill_spec(spec, l, !ours);
    /* resourceVersion stays in metadata: a stale one gets 409. */
    err = (vrt_error)VRT_ERROR_INIT;
    if (vrt_kube_request(&written, &status, l->kube, "PUT", path, NULL, lease,
                         &err) != VRT_OK) {
        vrt_log_debug("Cannot renew the Lease: %s", err.message);
    } else if (status == 200) {
        won = 1;
    } else if (status == 409) {
        vrt_log_debug("Lease changed under us (409); will re-read it.");
    } else {
        vrt_log_warn("Cannot write the Lease lease=\"%s/%s\" status=%ld: %s",
                     l->ns, l->name, status, err.message);
    }

cleanup:
    if (won)
        observe(l, written, mono_ms());
    cJSON_Delete(lease);
    cJSON_Delete(written);
    return won;
}

static void *run(void *arg)
{
    vrt_leader *l = arg;
    pthread_mutex_lock(&l->lock);
    while (!l->stopping) {
        pthread_mutex_unlock(&l->lock);
        uint64_t start = mono_ms();
        int won = try_acquire(l);
        if (won) {
            set_leading(l, 1, start);
        } else {
            pthread_mutex_lock(&l->lock);
            int was = l->leading;
            /* Someone else holds it now, or we are past the deadline. */
            int lost = was && (strcmp(l->observed_holder, l->identity) != 0 ||
                               mono_ms() - l->last_renew > l->renew_ms);
            pthread_mutex_unlock(&l->lock);
            if (lost) {
                vrt_log_warn("Lost leadership lease=\"%s/%s\": could not renew "
                             "it within %u ms.", l->ns, l->name, l->renew_ms);
                set_leading(l, 0, 0);
            }
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += l->retry_ms / 1000;
        until.tv_nsec += (long)(l->retry_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&l->lock);
        while (!l->stopping &&
               pthread_cond_timedwait(&l->wake, &l->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

int vrt_leader_start(vrt_leader **out, vrt_kube *kube,
                     const vrt_leader_opts *opts, vrt_error *err)
{
    vrt_leader_opts o = {0};
    if (opts)
        o = *opts;
    vrt_leader *l = calloc(1, sizeof(*l));
    if (!l)
        abort();
    l->kube = kube;
    snprintf(l->ns, sizeof(l->ns), "%s", o.ns ? o.ns : "virtrigaud-system");
    snprintf(l->name, sizeof(l->name), "%s", o.name ? o.name : "virtrigaud-manager");
    l->lease_ms = o.lease_ms ? o.lease_ms : 15000;
    l->renew_ms = o.renew_ms ? o.renew_ms : l->lease_ms * 2 / 3;
    l->retry_ms = o.retry_ms ? o.retry_ms : l->lease_ms * 2 / 15;
    if (l->renew_ms >= l->lease_ms || l->retry_ms >= l->renew_ms ||
        !l->retry_ms) {
        free(l);
        return vrt_error_set(err, VRT_E_INVALID,
                             "Leader election needs retry < renew deadline < "
                             "lease duration (lease %u ms, renew %u ms, retry "
                             "%u ms).",
                             o.lease_ms, o.renew_ms, o.retry_ms);
    }
    char host[64] = "";
    unsigned rnd = 0;
    gethostname(host, sizeof(host) - 1);
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(&rnd, sizeof(rnd), 1, f) != 1)
        rnd = (unsigned)mono_ms() ^ (unsigned)getpid();
    if (f)
        fclose(f);
    snprintf(l->identity, sizeof(l->identity), "%s_%ld-%08x",
             host[0] ? host : "unknown", (long)getpid(), rnd);
    pthread_mutex_init(&l->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&l->thread, NULL, run, l) != 0)
        abort();
    vrt_log_info("Leader election started lease=\"%s/%s\" identity=\"%s\" "
                 "lease_ms=%u renew_ms=%u retry_ms=%u",
                 l->ns, l->name, l->identity, l->lease_ms, l->renew_ms,
                 l->retry_ms);
    *out = l;
    return VRT_OK;
}

int vrt_leader_is_leader(vrt_leader *l)
{
    pthread_mutex_lock(&l->lock);
    int r = l->leading && mono_ms() - l->last_renew <= l->renew_ms;
    pthread_mutex_unlock(&l->lock);
    return r;
}

const char *vrt_leader_identity(const vrt_leader *l)
{
    return l->identity;
}

/* Clears holderIdentity if the Lease is still ours. */
static void release(vrt_leader *l)
{
    char path[700];
    cJSON *lease = NULL, *written = NULL;
    long status = 0;
    vrt_error err = VRT_ERROR_INIT;
    lease_path(path, sizeof(path), l, 1);
    if (vrt_kube_request(&lease, &status, l->kube, "GET", path, NULL, NULL,
                         &err) != VRT_OK || status != 200)
        goto cleanup;
    const char *holder = spec_str(lease, "holderIdentity");
    if (!holder || strcmp(holder, l->identity) != 0)
        goto cleanup;
    cJSON *spec = cJSON_GetObjectItem(lease, "spec");
    cJSON_DeleteItemFromObject(spec, "holderIdentity");
    cJSON_DeleteItemFromObject(spec, "leaseDurationSeconds");
    cJSON_AddNumberToObject(spec, "leaseDurationSeconds", 1);
    err = (vrt_error)VRT_ERROR_INIT;
    if (vrt_kube_request(&written, &status, l->kube, "PUT", path, NULL, lease,
                         &err) == VRT_OK && status == 200)
        vrt_log_info("Released the Lease lease=\"%s/%s\"", l->ns, l->name);
    else
        vrt_log_warn("Cannot release the Lease lease=\"%s/%s\" status=%ld: %s",
                     l->ns, l->name, status, err.message);
cleanup:
    cJSON_Delete(lease);
    cJSON_Delete(written);
}

void vrt_leader_stop(vrt_leader *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    l->stopping = 1;
    pthread_cond_broadcast(&l->wake);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->thread, NULL);
    if (l->leading)
        release(l);
    set_leading(l, 0, 0);
    pthread_cond_destroy(&l->wake);
    pthread_mutex_destroy(&l->lock);
    free(l);
}
