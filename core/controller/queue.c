/*
 * The work queue.  Items live in a hash map by key; a min-heap of
 * (due time, key) pairs says which runs next.  Heap entries are not
 * removed when an item is rescheduled: a popped entry whose time no
 * longer matches its item is stale and skipped.  Every operation is
 * O(log n), so 10,000 VMs cost no more per key than 10.
 */
#include "queue.h"

#include <vrt/clock.h>
#include <vrt/hmap.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_BASE_MS 500u
#define BACKOFF_MAX_MS 60000u

typedef struct item {
    uint64_t due_ms;    /* when it may run; 0 = not queued */
    int processing;     /* a worker has it */
    int dirty;          /* re-added while processing */
    uint32_t failures;
} item;

typedef struct due_entry {
    uint64_t due_ms;
    char *key;
} due_entry;

struct vrt_queue {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    vrt_hmap *items;    /* key -> item */
    due_entry *heap;
    size_t heap_len, heap_cap;
    size_t queued;      /* items with due_ms != 0 */
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
    q->items = vrt_hmap_new(free);
    return q;
}

void vrt_queue_free(vrt_queue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->heap_len; i++)
        free(q->heap[i].key);
    free(q->heap);
    vrt_hmap_free(q->items);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

/* --- the heap ----------------------------------------------------------- */

static void heap_swap(vrt_queue *q, size_t a, size_t b)
{
    due_entry t = q->heap[a];
    q->heap[a] = q->heap[b];
    q->heap[b] = t;
}

static void heap_push(vrt_queue *q, const char *key, uint64_t due)
{
    if (q->heap_len == q->heap_cap) {
        q->heap_cap = q->heap_cap ? q->heap_cap * 2 : 64;
        q->heap = realloc(q->heap, q->heap_cap * sizeof(*q->heap));
        if (!q->heap)
            abort();
    }
    char *k = strdup(key);
    if (!k)
        abort();
    size_t i = q->heap_len++;
    q->heap[i] = (due_entry){due, k};
    while (i > 0 && q->heap[(i - 1) / 2].due_ms > q->heap[i].due_ms) {
        heap_swap(q, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

/* Removes the earliest entry; the caller frees its key. */
static due_entry heap_pop(vrt_queue *q)
{
    due_entry top = q->heap[0];
    q->heap[0] = q->heap[--q->heap_len];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->heap_len && q->heap[l].due_ms < q->heap[m].due_ms)
            m = l;
        if (r < q->heap_len && q->heap[r].due_ms < q->heap[m].due_ms)
            m = r;
        if (m == i)
            break;
        heap_swap(q, i, m);
        i = m;
    }
    return top;
}

/* Whether the earliest heap entry still describes its item. */
static item *heap_top_item(vrt_queue *q)
{
    item *it = vrt_hmap_get(q->items, q->heap[0].key);
    if (it && it->due_ms == q->heap[0].due_ms && !it->processing)
        return it;
    return NULL;
}

/* --- items -------------------------------------------------------------- */

static item *find(vrt_queue *q, const char *key)
{
    item *it = vrt_hmap_get(q->items, key);
    if (!it) {
        it = calloc(1, sizeof(*it));
        if (!it)
            abort();
        vrt_hmap_put(q->items, key, it);
    }
    return it;
}

/* Drops an idle, unqueued, never-failed item so the map stays small. */
static void maybe_drop(vrt_queue *q, const char *key, item *it)
{
    if (it->due_ms || it->processing || it->dirty || it->failures)
        return;
    vrt_hmap_del(q->items, key);
}

static void set_due(vrt_queue *q, item *it, uint64_t due)
{
    if (!it->due_ms && due)
        q->queued++;
    else if (it->due_ms && !due)
        q->queued--;
    it->due_ms = due;
}

static void schedule(vrt_queue *q, const char *key, uint64_t due)
{
    pthread_mutex_lock(&q->lock);
    item *it = find(q, key);
    if (!it->due_ms || due < it->due_ms) {
        set_due(q, it, due);
        if (it->processing)
            it->dirty = 1; /* done() puts it on the heap */
        else
            heap_push(q, key, due);
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
    item *it = vrt_hmap_get(q->items, key);
    if (it) {
        it->failures = 0;
        maybe_drop(q, key, it);
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
        /* Throw away stale entries, then look at the earliest. */
        while (q->heap_len && !heap_top_item(q))
            free(heap_pop(q).key);
        uint64_t now = vrt_now_ms();
        if (q->heap_len && q->heap[0].due_ms <= now) {
            item *it = heap_top_item(q);
            due_entry e = heap_pop(q);
            set_due(q, it, 0);
            it->processing = 1;
            strncpy(key, e.key, size - 1);
            key[size - 1] = '\0';
            free(e.key);
            pthread_mutex_unlock(&q->lock);
            return 0;
        }
        if (q->heap_len) {
            uint64_t next = q->heap[0].due_ms;
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
    item *it = vrt_hmap_get(q->items, key);
    if (it) {
        it->processing = 0;
        if (it->due_ms) /* re-added while it ran */
            heap_push(q, key, it->due_ms);
        it->dirty = 0;
        maybe_drop(q, key, it);
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
    pthread_mutex_lock(&q->lock);
    size_t n = q->queued;
    pthread_mutex_unlock(&q->lock);
    return n;
}
