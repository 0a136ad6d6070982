/*
 * An informer: list + watch with resourceVersion, relist on expiry, and a
 * cache of the objects seen, keyed by namespace and name.
 */
#include "informer.h"

#include <vrt/log.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

VRT_LOG_SOURCE("core.informer");

#define BACKOFF_MIN_MS 800u
#define BACKOFF_MAX_MS 30000u

struct vrt_informer {
    vrt_kube *kube;
    char path[512];
    vrt_informer_fn fn;
    void *opaque;
    pthread_t thread;
    volatile int stop;
    volatile int synced;
    pthread_mutex_t lock;
    cJSON *cache; /* object: "ns/name" -> object */
    char rv[32];
    int expired;  /* the watch reported 410: relist */
};

static void key_of(char *buf, size_t size, const cJSON *obj)
{
    const cJSON *md = cJSON_GetObjectItem(obj, "metadata");
    const char *ns = cJSON_GetStringValue(cJSON_GetObjectItem(md, "namespace"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(md, "name"));
    snprintf(buf, size, "%s/%s", ns ? ns : "", name ? name : "");
}

static void cache_put(vrt_informer *inf, const cJSON *obj, int remove)
{
    char key[400];
    key_of(key, sizeof(key), obj);
    pthread_mutex_lock(&inf->lock);
    cJSON_DeleteItemFromObjectCaseSensitive(inf->cache, key);
    if (!remove)
        cJSON_AddItemToObject(inf->cache, key, cJSON_Duplicate(obj, 1));
    pthread_mutex_unlock(&inf->lock);
}

static void sleep_ms(vrt_informer *inf, uint32_t ms)
{
    for (uint32_t t = 0; t < ms && !inf->stop; t += 100)
        usleep(100 * 1000);
}

/* Lists everything, replaces the cache, reports deletions of objects that
 * vanished while we were not watching. */
static int relist(vrt_informer *inf)
{
    cJSON *list = NULL;
    long status = 0;
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_kube_request(&list, &status, inf->kube, "GET", inf->path, NULL,
                         NULL, &err) != VRT_OK ||
        status != 200) {
        vrt_log_warn("Listing \"%s\" failed: %s", inf->path, err.message);
        cJSON_Delete(list);
        return -1;
    }
    cJSON *items = cJSON_GetObjectItem(list, "items");
    cJSON *fresh = cJSON_CreateObject();
    const cJSON *it;
    cJSON_ArrayForEach(it, items) {
        char key[400];
        key_of(key, sizeof(key), it);
        cJSON_AddItemToObject(fresh, key, cJSON_Duplicate(it, 1));
    }
    pthread_mutex_lock(&inf->lock);
    cJSON *old = inf->cache;
    inf->cache = fresh;
    pthread_mutex_unlock(&inf->lock);
    cJSON_ArrayForEach(it, old) {
        if (!cJSON_HasObjectItem(fresh, it->string))
            inf->fn(inf->opaque, "DELETED", it);
    }
    cJSON_Delete(old);
    cJSON_ArrayForEach(it, items)
        inf->fn(inf->opaque, "ADDED", it);
    const char *rv = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(list, "metadata"), "resourceVersion"));
    snprintf(inf->rv, sizeof(inf->rv), "%s", rv ? rv : "");
    cJSON_Delete(list);
    inf->synced = 1;
    return 0;
}

static int on_event(void *opaque, const char *type, const cJSON *obj)
{
    vrt_informer *inf = opaque;
    const char *rv = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(obj, "metadata"), "resourceVersion"));
    if (strcmp(type, "ERROR") == 0) {
        const cJSON *code = cJSON_GetObjectItem(obj, "code");
        if (cJSON_IsNumber(code) && code->valueint == 410)
            inf->expired = 1;
        return 1; /* end this watch; the loop relists or retries */
    }
    if (rv)
        snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
    if (strcmp(type, "BOOKMARK") == 0)
        return 0;
    cache_put(inf, obj, strcmp(type, "DELETED") == 0);
    inf->fn(inf->opaque, type, obj);
    return 0;
}

static void *run(void *arg)
{
    vrt_informer *inf = arg;
    uint32_t backoff = BACKOFF_MIN_MS;
    int need_list = 1;
    while (!inf->stop) {
        if (need_list) {
            if (relist(inf) != 0) {
                sleep_ms(inf, backoff);
                backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                        : backoff * 2;
                continue;
            }
            need_list = 0;
        }
        char path[700];
        snprintf(path, sizeof(path),
                 "%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=300"
                 "&resourceVersion=%s",
                 inf->path, inf->rv);
        vrt_error err = VRT_ERROR_INIT;
        inf->expired = 0;
        int rc = vrt_kube_watch(inf->kube, path, on_event, inf, &inf->stop,
                                &err);
        if (inf->stop)
            break;
        if (inf->expired) {
            vrt_log_info("Watch of \"%s\" expired; listing again.", inf->path);
            need_list = 1;
            continue;
        }
        if (rc != VRT_OK) {
            vrt_log_warn("Watch of \"%s\" failed: %s", inf->path, err.message);
            sleep_ms(inf, backoff);
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            need_list = 1;
            continue;
        }
        backoff = BACKOFF_MIN_MS; /* a clean end of stream: watch again */
    }
    return NULL;
}

vrt_informer *vrt_informer_start(vrt_kube *kube, const char *path,
                                 vrt_informer_fn fn, void *opaque)
{
    vrt_informer *inf = calloc(1, sizeof(*inf));
    if (!inf)
        abort();
    inf->kube = kube;
    snprintf(inf->path, sizeof(inf->path), "%s", path);
    inf->fn = fn;
    inf->opaque = opaque;
    inf->cache = cJSON_CreateObject();
    pthread_mutex_init(&inf->lock, NULL);
    if (pthread_create(&inf->thread, NULL, run, inf) != 0)
        abort();
    return inf;
}

void vrt_informer_request_stop(vrt_informer *inf)
{
    if (inf)
        inf->stop = 1;
}

void vrt_informer_stop(vrt_informer *inf)
{
    if (!inf)
        return;
    inf->stop = 1;
    pthread_join(inf->thread, NULL);
    cJSON_Delete(inf->cache);
    pthread_mutex_destroy(&inf->lock);
    free(inf);
}

int vrt_informer_synced(vrt_informer *inf)
{
    return inf->synced;
}

cJSON *vrt_informer_get(vrt_informer *inf, const char *ns, const char *name)
{
    char key[400];
    snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name);
    pthread_mutex_lock(&inf->lock);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(inf->cache, key);
    cJSON *copy = o ? cJSON_Duplicate(o, 1) : NULL;
    pthread_mutex_unlock(&inf->lock);
    return copy;
}

void vrt_informer_each(vrt_informer *inf,
                       void (*fn)(void *opaque, const cJSON *obj),
                       void *opaque)
{
    pthread_mutex_lock(&inf->lock);
    const cJSON *it;
    cJSON_ArrayForEach(it, inf->cache)
        fn(opaque, it);
    pthread_mutex_unlock(&inf->lock);
}
