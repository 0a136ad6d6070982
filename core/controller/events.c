/*
 * The event recorder: events.k8s.io/v1 Events about the objects we
 * reconcile.  Reconcilers hand events to a bounded in-memory queue and go
 * on; one thread posts them, so a slow API server delays events, never
 * reconciles.  When the queue is full new events are dropped and counted
 * (virtrigaud_events_dropped_total).  An event that repeats the previous
 * one about the same object (same reason and note) within ten minutes is
 * not posted again, as client-go's aggregation would fold it.
 */
#include "controller_internal.h"

#include <vrt/clock.h>
#include <vrt/hmap.h>
#include <vrt/log.h>
#include <vrt/metrics.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

VRT_LOG_SOURCE("controller.events");

#define EVENT_QUEUE_MAX 1024
#define REPEAT_WINDOW_MS (10 * 60 * 1000)
#define REPEAT_MEMORY_MAX 20000

typedef struct last_event {
    uint64_t at_ms;
    char what[600]; /* reason|note */
} last_event;

struct vrt_recorder {
    vrt_kube *kube;
    char instance[128];
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    cJSON *pending[EVENT_QUEUE_MAX];
    size_t head, len;
    int stop;
    vrt_hmap *recent; /* uid -> last_event */
    vrt_metric *dropped, *posted;
    unsigned seq;
};

/* MicroTime, as events.k8s.io wants for eventTime. */
static void micro_time(char buf[40])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, 40 - n, ".%06ldZ", ts.tv_nsec / 1000);
}

static void post(vrt_recorder *r, cJSON *ev)
{
    const char *ns = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(ev, "metadata"), "namespace"));
    char path[400];
    snprintf(path, sizeof(path), "/apis/events.k8s.io/v1/namespaces/%s/events",
             ns ? ns : "default");
    cJSON *resp = NULL;
    long code = 0;
    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_kube_request(&resp, &code, r->kube, "POST", path, NULL, ev, &err);
    if (rc != VRT_OK || code >= 300)
        vrt_log_debug("Posting an event answered %ld: %s", code, err.message);
    else
        vrt_metric_add(r->posted, NULL, 1);
    cJSON_Delete(resp);
}

static void *run(void *arg)
{
    vrt_recorder *r = arg;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (!r->len && !r->stop)
            pthread_cond_wait(&r->cond, &r->lock);
        if (!r->len) /* stopping, and everything was posted */
            break;
        cJSON *ev = r->pending[r->head];
        r->head = (r->head + 1) % EVENT_QUEUE_MAX;
        r->len--;
        pthread_mutex_unlock(&r->lock);
        post(r, ev);
        cJSON_Delete(ev);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

vrt_recorder *vrt_recorder_start(vrt_kube *kube)
{
    vrt_recorder *r = calloc(1, sizeof(*r));
    if (!r)
        abort();
    r->kube = kube;
    char host[64] = "";
    gethostname(host, sizeof(host) - 1);
    snprintf(r->instance, sizeof(r->instance), "%s-%ld", host[0] ? host : "manager",
             (long)getpid());
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->recent = vrt_hmap_new(free);
    r->dropped = vrt_metric_counter("virtrigaud_events_dropped_total",
                                    "Events not posted because the event "
                                    "queue was full.", NULL);
    r->posted = vrt_metric_counter("virtrigaud_events_posted_total",
                                   "Events accepted by the API server.", NULL);
    if (pthread_create(&r->thread, NULL, run, r) != 0)
        abort();
    return r;
}

void vrt_recorder_stop(vrt_recorder *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = 1;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL); /* posts what is queued first */
    for (size_t i = 0; i < r->len; i++)
        cJSON_Delete(r->pending[(r->head + i) % EVENT_QUEUE_MAX]);
    vrt_hmap_free(r->recent);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Whether this event repeats the last one about `uid` within the
 * window; records it if not.  Called with the lock held. */
static int repeated(vrt_recorder *r, const char *uid, const char *reason,
                    const char *note)
{
    char what[600];
    snprintf(what, sizeof(what), "%s|%s", reason, note);
    uint64_t now = vrt_now_ms();
    last_event *last = vrt_hmap_get(r->recent, uid);
    if (last && now - last->at_ms < REPEAT_WINDOW_MS &&
        strcmp(last->what, what) == 0)
        return 1;
    if (!last) {
        if (vrt_hmap_len(r->recent) >= REPEAT_MEMORY_MAX) {
            vrt_hmap_free(r->recent); /* forget all rather than grow */
            r->recent = vrt_hmap_new(free);
        }
        last = malloc(sizeof(*last));
        if (!last)
            abort();
        vrt_hmap_put(r->recent, uid, last);
    }
    last->at_ms = now;
    snprintf(last->what, sizeof(last->what), "%s", what);
    return 0;
}

void vrt_event(vrt_recorder *r, const cJSON *obj, const char *kind,
               const char *type, const char *reason, const char *action,
               const char *fmt, ...)
{
    if (!r || !obj)
        return;
    char note[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note, sizeof(note), fmt, ap);
    va_end(ap);
    const char *ns = vrt_meta_str(obj, "namespace");
    const char *name = vrt_meta_str(obj, "name");
    const char *uid = vrt_meta_str(obj, "uid");
    if (!name)
        return;

    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "apiVersion", "events.k8s.io/v1");
    cJSON_AddStringToObject(ev, "kind", "Event");
    cJSON *md = cJSON_AddObjectToObject(ev, "metadata");
    cJSON_AddStringToObject(md, "namespace", ns ? ns : "default");
    char when[40];
    micro_time(when);
    cJSON_AddStringToObject(ev, "eventTime", when);
    cJSON_AddStringToObject(ev, "reportingController", "virtrigaud.io/manager");
    cJSON_AddStringToObject(ev, "reportingInstance", r->instance);
    cJSON_AddStringToObject(ev, "action", action);
    cJSON_AddStringToObject(ev, "reason", reason);
    cJSON_AddStringToObject(ev, "type", type);
    cJSON_AddStringToObject(ev, "note", note);
    cJSON *reg = cJSON_AddObjectToObject(ev, "regarding");
    cJSON_AddStringToObject(reg, "apiVersion", "infra.virtrigaud.io/v1beta1");
    cJSON_AddStringToObject(reg, "kind", kind);
    cJSON_AddStringToObject(reg, "name", name);
    if (ns)
        cJSON_AddStringToObject(reg, "namespace", ns);
    if (uid)
        cJSON_AddStringToObject(reg, "uid", uid);

    pthread_mutex_lock(&r->lock);
    /* <object>.<wall-clock µs><sequence>, fixed width: names sort in the
     * order the events happened, even several in one microsecond. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char evname[320];
    snprintf(evname, sizeof(evname), "%s.%013llx%04x", name,
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000,
             (unsigned)(r->seq++ & 0xffff));
    cJSON_AddStringToObject(md, "name", evname);
    if (repeated(r, uid ? uid : name, reason, note)) {
        cJSON_Delete(ev);
    } else if (r->len == EVENT_QUEUE_MAX || r->stop) {
        cJSON_Delete(ev);
        vrt_metric_add(r->dropped, NULL, 1);
    } else {
        r->pending[(r->head + r->len) % EVENT_QUEUE_MAX] = ev;
        r->len++;
        pthread_cond_signal(&r->cond);
    }
    pthread_mutex_unlock(&r->lock);
}
