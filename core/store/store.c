/*
 * store.c - opening and closing the object store, the pool of reader
 * connections, and waiting for the next write (vrt_store_wait).
 *
 * Thread contract (vrt/store.h says "thread-safe"): writes serialise on
 * one writer connection; reads take a connection of their own from a
 * small pool, so they run beside each other and beside a write.  A
 * callback given to vrt_store_list or vrt_store_events_since runs while
 * that read holds its connection; it may call the store again (it then
 * takes another connection), but should not block for long.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vrt/log.h>

#include "store_internal.h"

#include <vrt/hmap.h>

VRT_LOG_SOURCE("core.store");

/* opts->member when the caller's struct_size covers it, else `dflt`. */
#define OPT(opts, member, dflt)                                                \
    ((opts) && (opts)->struct_size >=                                          \
                   offsetof(vrt_store_opts, member) + sizeof((opts)->member)   \
         ? (opts)->member                                                      \
         : (dflt))

/* Per resource: the newest rv written since open, and a condition its
 * watches wait on, so a write wakes only the watches of its kind. */
typedef struct kind_state {
    int64_t rv;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
} kind_state;

static void kind_free(void *p)
{
    kind_state *k = p;
    pthread_cond_destroy(&k->cv);
    free(k);
}

static void init_sync(vrt_store *s)
{
    pthread_condattr_t ca;
    pthread_mutex_init(&s->write_mu, NULL);
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->pool_cv, NULL);
    pthread_mutex_init(&s->state_mu, NULL);
    /* Monotonic, so a clock step cannot stretch or cut a wait. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->state_cv, &ca);
    pthread_condattr_destroy(&ca);
    s->latest = vrt_hmap_new(kind_free);
}

int vrt_store_open(vrt_store **out, const char *path,
                   const vrt_store_opts *opts, vrt_error *err)
{
    VRT_STORE_ERR_LOCAL(err);
    *out = NULL;
    if (!path || !*path)
        return vrt_error_set(err, VRT_E_INVALID,
                             "The store needs a file path; none was given.");
    if (opts && opts->struct_size < offsetof(vrt_store_opts, history))
        return vrt_error_set(err, VRT_E_INVALID,
                             "vrt_store_opts.struct_size %u is too small; "
                             "set it to sizeof(vrt_store_opts).",
                             (unsigned)opts->struct_size);
    vrt_store *s = vrt_store_must(calloc(1, sizeof(*s)));
    init_sync(s);
    s->path = vrt_store_must(strdup(path));
    s->history = OPT(opts, history, 0u);
    if (s->history == 0)
        s->history = VRT_STORE_DEFAULT_HISTORY;
    s->sync_full = OPT(opts, sync_full, 1) != 0;

    int64_t rv = 0, floor = 0;
    if (vrt_store_conn_open(&s->writer, path, 1, s->sync_full, err) ||
        vrt_store_schema_apply(s->writer, path, err) ||
        vrt_store_read_rv(&rv, &floor, s->writer, path, err))
        goto fail;
    vrt_store_publish(s, rv, floor);
    s->opened_rv = rv;
    /* A smaller history than last time, or a crash before the periodic
     * compaction: bring the event log within bounds now. */
    if (vrt_store_compact(s, err) != VRT_OK)
        goto fail;
    vrt_log_debug("Opened the store \"%s\" at resourceVersion %lld "
                  "(history %u, synchronous=%s).",
                  path, (long long)s->rv, s->history,
                  s->sync_full ? "FULL" : "NORMAL");
    *out = s;
    return VRT_OK;

fail:
    vrt_store_close(s);
    return err->code;
}

void vrt_store_close(vrt_store *s)
{
    if (!s)
        return;
    /* Readers first: the last connection to close checkpoints the WAL. */
    while (s->free_readers) {
        vrt_store_conn *c = s->free_readers;
        s->free_readers = c->next;
        vrt_store_conn_close(c);
        s->readers_open--;
    }
    if (s->readers_open)
        vrt_log_error("The store \"%s\" was closed while %u reads were still "
                      "running.",
                      s->path, s->readers_open);
    vrt_store_conn_close(s->writer);
    pthread_mutex_destroy(&s->write_mu);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->pool_cv);
    pthread_mutex_destroy(&s->state_mu);
    pthread_cond_destroy(&s->state_cv);
    vrt_hmap_free(s->latest);
    free(s->path);
    free(s);
}

sqlite3 *vrt_store_writer_db(vrt_store *s)
{
    return s->writer->db;
}

/* --- reader pool --------------------------------------------------------- */

int vrt_store_reader_get(vrt_store_conn **out, vrt_store *s, vrt_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&s->pool_mu);
    while (!s->free_readers && s->readers_open >= VRT_STORE_MAX_READERS)
        pthread_cond_wait(&s->pool_cv, &s->pool_mu);
    vrt_store_conn *c = s->free_readers;
    if (c) {
        s->free_readers = c->next;
        c->next = NULL;
        pthread_mutex_unlock(&s->pool_mu);
        *out = c;
        return VRT_OK;
    }
    s->readers_open++; /* reserve the slot, open outside the lock */
    pthread_mutex_unlock(&s->pool_mu);

    if (vrt_store_conn_open(&c, s->path, 0, s->sync_full, err) != VRT_OK) {
        pthread_mutex_lock(&s->pool_mu);
        s->readers_open--;
        pthread_cond_signal(&s->pool_cv);
        pthread_mutex_unlock(&s->pool_mu);
        return err->code;
    }
    *out = c;
    return VRT_OK;
}

void vrt_store_reader_put(vrt_store *s, vrt_store_conn *c)
{
    if (!c)
        return;
    /* Never hand on a connection stuck inside a transaction. */
    vrt_store_rollback(c);
    pthread_mutex_lock(&s->pool_mu);
    c->next = s->free_readers;
    s->free_readers = c;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
}

/* --- rv, floor and waiting ------------------------------------------------ */

/* Under state_mu. */
static kind_state *kind_of(vrt_store *s, const char *resource)
{
    kind_state *k = vrt_hmap_get(s->latest, resource);
    if (!k) {
        pthread_condattr_t ca;
        k = vrt_store_must(calloc(1, sizeof(*k)));
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&k->cv, &ca);
        pthread_condattr_destroy(&ca);
        vrt_hmap_put(s->latest, resource, k);
    }
    return k;
}

void vrt_store_note_write(vrt_store *s, const char *resource, int64_t rv)
{
    pthread_mutex_lock(&s->state_mu);
    kind_state *k = kind_of(s, resource);
    k->rv = rv;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&s->state_mu);
}

int vrt_store_nothing_since(vrt_store *s, const char *resource, int64_t since)
{
    pthread_mutex_lock(&s->state_mu);
    const kind_state *k = resource ? vrt_hmap_get(s->latest, resource) : NULL;
    /* Before open the map knows nothing; at or after it, absence means
     * no write of that kind since. */
    int none = resource && since >= s->opened_rv && since >= s->floor &&
               (!k || k->rv <= since);
    pthread_mutex_unlock(&s->state_mu);
    return none;
}

static void deadline_in(struct timespec *t, uint32_t timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, t);
    t->tv_sec += timeout_ms / 1000;
    t->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

int64_t vrt_store_wait_kind(vrt_store *s, const char *resource, int64_t rv,
                            uint32_t timeout_ms)
{
    if (!resource)
        return vrt_store_wait(s, rv, timeout_ms);
    struct timespec deadline;
    deadline_in(&deadline, timeout_ms);
    pthread_mutex_lock(&s->state_mu);
    kind_state *k = kind_of(s, resource);
    while (k->rv <= rv && !s->woken) {
        if (pthread_cond_timedwait(&k->cv, &s->state_mu, &deadline) == ETIMEDOUT)
            break;
    }
    int64_t now = s->rv;
    pthread_mutex_unlock(&s->state_mu);
    return now;
}

static void wake_kind(void *opaque, const char *key, void *val)
{
    (void)opaque;
    (void)key;
    pthread_cond_broadcast(&((kind_state *)val)->cv);
}

void vrt_store_publish(vrt_store *s, int64_t rv, int64_t floor)
{
    pthread_mutex_lock(&s->state_mu);
    if (rv > s->rv)
        s->rv = rv;
    if (floor > s->floor)
        s->floor = floor;
    pthread_cond_broadcast(&s->state_cv);
    pthread_mutex_unlock(&s->state_mu);
}

int64_t vrt_store_current_rv(vrt_store *s)
{
    pthread_mutex_lock(&s->state_mu);
    int64_t rv = s->rv;
    pthread_mutex_unlock(&s->state_mu);
    return rv;
}

int64_t vrt_store_oldest_rv(vrt_store *s)
{
    pthread_mutex_lock(&s->state_mu);
    int64_t floor = s->floor;
    pthread_mutex_unlock(&s->state_mu);
    return floor;
}

int64_t vrt_store_wait(vrt_store *s, int64_t rv, uint32_t timeout_ms)
{
    struct timespec deadline;
    deadline_in(&deadline, timeout_ms);
    pthread_mutex_lock(&s->state_mu);
    while (s->rv <= rv && !s->woken) {
        if (pthread_cond_timedwait(&s->state_cv, &s->state_mu, &deadline) ==
            ETIMEDOUT)
            break;
    }
    int64_t now = s->rv;
    pthread_mutex_unlock(&s->state_mu);
    return now;
}

/* Sticky: a wait that starts after shutdown began returns at once rather
 * than sleeping out its timeout. */
void vrt_store_wake_all(vrt_store *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->state_mu);
    s->woken = 1;
    pthread_cond_broadcast(&s->state_cv);
    vrt_hmap_each(s->latest, wake_kind, NULL);
    pthread_mutex_unlock(&s->state_mu);
}

const char *vrt_store_obj_label(char *buf, size_t size, const char *resource,
                                const char *ns, const char *name)
{
    if (ns && *ns)
        snprintf(buf, size, "%s \"%s/%s\"", resource, ns, name);
    else
        snprintf(buf, size, "%s \"%s\"", resource, name);
    return buf;
}
