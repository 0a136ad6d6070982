/*
 * Our own status writes, remembered per object so that the watch events
 * they cause do not wake the object again.  A status-only event is an
 * echo of ours when a write of ours to that object is in flight, when it
 * is not newer than our last write (a stale event overtaken by it), or
 * when it carries exactly the status we last wrote.  Anything else (a
 * status someone else wrote) wakes the object.
 */
#include "controller_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct own_write {
    char *text;         /* the status we last sent, compact JSON */
    long long rv;       /* resourceVersion our last write produced, or 0 */
    int inflight;       /* writes sent and not answered */
} own_write;

static void own_free(void *p)
{
    own_write *w = p;
    if (w)
        free(w->text);
    free(w);
}

void vrt_own_init(vrt_controller *c)
{
    pthread_mutex_init(&c->own_lock, NULL);
    c->own_writes = vrt_hmap_new(own_free);
}

void vrt_own_fini(vrt_controller *c)
{
    vrt_hmap_free(c->own_writes);
    pthread_mutex_destroy(&c->own_lock);
}

/* resourceVersions are opaque to clients, but both our API server and
 * etcd make them increasing integers; anything else compares as 0. */
static long long rv_num(const cJSON *obj)
{
    const char *rv = vrt_meta_str(obj, "resourceVersion");
    char *end;
    long long n = rv ? strtoll(rv, &end, 10) : 0;
    return rv && *end == '\0' ? n : 0;
}

void vrt_own_begin(vrt_controller *c, const char *path, const cJSON *status)
{
    char *text = cJSON_PrintUnformatted(status);
    if (!text)
        abort();
    pthread_mutex_lock(&c->own_lock);
    own_write *w = vrt_hmap_get(c->own_writes, path);
    if (!w) {
        w = calloc(1, sizeof(*w));
        if (!w)
            abort();
        vrt_hmap_put(c->own_writes, path, w);
    }
    free(w->text);
    w->text = text;
    w->inflight++;
    pthread_mutex_unlock(&c->own_lock);
}

void vrt_own_end(vrt_controller *c, const char *path, const cJSON *resp,
                 int ok)
{
    pthread_mutex_lock(&c->own_lock);
    own_write *w = vrt_hmap_get(c->own_writes, path);
    if (w) {
        w->inflight--;
        long long rv = ok ? rv_num(resp) : 0;
        if (rv > w->rv)
            w->rv = rv;
    }
    pthread_mutex_unlock(&c->own_lock);
}

int vrt_own_is_echo(vrt_controller *c, const char *path, const cJSON *obj)
{
    int echo = 0;
    pthread_mutex_lock(&c->own_lock);
    const own_write *w = vrt_hmap_get(c->own_writes, path);
    if (w) {
        long long rv = rv_num(obj);
        echo = w->inflight > 0 || (rv && rv <= w->rv);
        if (!echo && w->text) {
            cJSON *wrote = cJSON_Parse(w->text);
            echo = wrote && cJSON_Compare(wrote, cJSON_GetObjectItem(obj, "status"), 1);
            cJSON_Delete(wrote);
        }
    }
    pthread_mutex_unlock(&c->own_lock);
    return echo;
}

void vrt_own_forget(vrt_controller *c, const char *path)
{
    pthread_mutex_lock(&c->own_lock);
    vrt_hmap_del(c->own_writes, path);
    pthread_mutex_unlock(&c->own_lock);
}

int vrt_own_is_stale(vrt_controller *c, const char *path, const cJSON *obj)
{
    pthread_mutex_lock(&c->own_lock);
    const own_write *w = vrt_hmap_get(c->own_writes, path);
    long long rv = rv_num(obj);
    int stale = w && (w->inflight > 0 || (rv && rv < w->rv));
    pthread_mutex_unlock(&c->own_lock);
    return stale;
}
