/*
 * The work queue.  Small and linear on purpose: a controller keeps at most
 * a few thousand keys, and one mutex with linear scans beats a hash table
 * here in both code size and cache behaviour until far beyond that.
 */
#include "queue.h"

#include <vrt/clock.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_BASE_MS 500u
#define BACKOFF_MAX_MS 60000u

typedef struct item {
    char *key;
    uint64_t due_ms;    /* when it may run; 0 = not queued */
    int processing;     /* a worker has it */
    int dirty;          /* re-added while processing */
    uint32_t failures;
} item;

struct vrt_queue {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    item *items;
    size_t count, cap;
    int shutdown;
};

vrt_queue *vrt_queue_new(void)
{
    vrt_queue *q = calloc(1, sizeof(*q));
    if (!q)
        abort();
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cond, &ca);
    pthread_condattr_destroy(&ca);
    return q;
}

void vrt_queue_free(vrt_queue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->count; i++)
        free(q->items[i].key);
    free(q->items);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

static item *find(vrt_queue *q, const char *key)
{
    for (size_t i = 0; i < q->count; i++)
        if (strcmp(q->items[i].key, key) == 0)
            return &q->items[i];
    if (q->count == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 64;
        q->items = realloc(q->items, q->cap * sizeof(*q->items));
        if (!q->items)
            abort();
    }
    item *it = &q->items[q->count++];
    memset(it, 0, sizeof(*it));
    it->key = strdup(key);
    if (!it->key)
        abort();
    return it;
}

/* Drops an idle, unqueued, never-failed item so the array stays small. */
static void maybe_drop(vrt_queue *q, item *it)
{
    if (it->due_ms || it->processing || it->dirty || it->failures)
        return;
    free(it->key);
    *it = q->items[--q->count];
}

static void schedule(vrt_queue *q, const char *key, uint64_t due)
{
    pthread_mutex_lock(&q->lock);
    item *it = find(q, key);
    if (it->processing) {
        it->dirty = 1;
        if (!it->due_ms || due < it->due_ms)
            it->due_ms = due;
    } else if (!it->due_ms || due < it->due_ms) {
        it->due_ms = due;
    }
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

void vrt_queue_add(vrt_queue *q, const char *key)
{
    schedule(q, key, vrt_now_ms());
}

void vrt_queue_add_after(vrt_queue *q, const char *key, uint64_t delay_ms)
{
    schedule(q, key, vrt_now_ms() + delay_ms);
}

void vrt_queue_add_backoff(vrt_queue *q, const char *key)
{
    pthread_mutex_lock(&q->lock);
    item *it = find(q, key);
    uint32_t f = it->failures < 16 ? it->failures : 16;
    uint64_t delay = (uint64_t)BACKOFF_BASE_MS << f;
    if (delay > BACKOFF_MAX_MS)
        delay = BACKOFF_MAX_MS;
    it->failures++;
    pthread_mutex_unlock(&q->lock);
    vrt_queue_add_after(q, key, delay);
}

void vrt_queue_forget(vrt_queue *q, const char *key)
{
    pthread_mutex_lock(&q->lock);
    for (size_t i = 0; i < q->count; i++)
        if (strcmp(q->items[i].key, key) == 0) {
            q->items[i].failures = 0;
            maybe_drop(q, &q->items[i]);
            break;
        }
    pthread_mutex_unlock(&q->lock);
}

int vrt_queue_get(vrt_queue *q, char *key, size_t size)
{
    pthread_mutex_lock(&q->lock);
    for (;;) {
        if (q->shutdown) {
            pthread_mutex_unlock(&q->lock);
            return -1;
        }
        uint64_t now = vrt_now_ms(), next = 0;
        item *best = NULL;
        for (size_t i = 0; i < q->count; i++) {
            item *it = &q->items[i];
            if (!it->due_ms || it->processing)
                continue;
            if (it->due_ms <= now && (!best || it->due_ms < best->due_ms))
                best = it;
            else if (it->due_ms > now && (!next || it->due_ms < next))
                next = it->due_ms;
        }
        if (best) {
            best->due_ms = 0;
            best->processing = 1;
            strncpy(key, best->key, size - 1);
            key[size - 1] = '\0';
            pthread_mutex_unlock(&q->lock);
            return 0;
        }
        if (next) {
            struct timespec ts = {(time_t)(next / 1000),
                                  (long)(next % 1000) * 1000000L};
            pthread_cond_timedwait(&q->cond, &q->lock, &ts);
        } else {
            pthread_cond_wait(&q->cond, &q->lock);
        }
    }
}

void vrt_queue_done(vrt_queue *q, const char *key)
{
    pthread_mutex_lock(&q->lock);
    for (size_t i = 0; i < q->count; i++) {
        item *it = &q->items[i];
        if (strcmp(it->key, key) != 0)
            continue;
        it->processing = 0;
        it->dirty = 0; /* due_ms already holds the re-add time */
        maybe_drop(q, it);
        break;
    }
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

void vrt_queue_shutdown(vrt_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->shutdown = 1;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

size_t vrt_queue_len(vrt_queue *q)
{
    size_t n = 0;
    pthread_mutex_lock(&q->lock);
    for (size_t i = 0; i < q->count; i++)
        n += q->items[i].due_ms != 0;
    pthread_mutex_unlock(&q->lock);
    return n;
}
