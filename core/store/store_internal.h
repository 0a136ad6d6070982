/*
 * store_internal.h - what the store's .c files share: the store and
 * connection structs, the cached statements, the error mapping.
 *
 * Locking, outermost first (never taken in another order):
 *   write_mu  one writer connection; every write transaction runs under it.
 *   pool_mu   the free list of reader connections (held only to take or
 *             return one, never across a query).
 *   state_mu  the cached rv and floor, and the condition variable that
 *             vrt_store_wait sleeps on.
 * Readers run on their own connections, so a list or a watch never waits
 * for a write's fsync, and WAL gives each read transaction one snapshot.
 */
#ifndef VRT_STORE_INTERNAL_H
#define VRT_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <vrt/store.h>

/* Every SQL statement the store runs, prepared once per connection. */
enum {
    VRT_ST_BEGIN,        /* deferred: a reader's snapshot */
    VRT_ST_BEGIN_WRITE,  /* immediate: takes the write lock up front */
    VRT_ST_COMMIT,
    VRT_ST_ROLLBACK,
    VRT_ST_OBJ_GET,
    VRT_ST_OBJ_INSERT,
    VRT_ST_OBJ_UPDATE,
    VRT_ST_OBJ_DELETE,
    VRT_ST_EV_INSERT,
    VRT_ST_CUR_RV,
    VRT_ST_FLOOR,
    VRT_ST_LIST_ALL,
    VRT_ST_LIST_NS,
    VRT_ST_EVENTS,
    VRT_ST_EV_BEFORE,
    VRT_ST_COMPACT,
    VRT_ST_FLOOR_SET,
    VRT_ST_COUNT_
};

typedef struct vrt_store_conn {
    sqlite3 *db;
    sqlite3_stmt *st[VRT_ST_COUNT_];
    struct vrt_store_conn *next; /* in the reader free list */
} vrt_store_conn;

/* Reader connections are opened on demand up to this many; a reader
 * beyond it waits for one to come back. */
#define VRT_STORE_MAX_READERS 8
#define VRT_STORE_BUSY_MS 5000
#define VRT_STORE_DEFAULT_HISTORY 10000u
/* Compaction runs after this many writes (or after `history` writes when
 * that is smaller), so the event log holds at most history + this. */
#define VRT_STORE_COMPACT_EVERY 1000u

struct vrt_store {
    char *path;
    uint32_t history;
    int sync_full;

    pthread_mutex_t write_mu;
    vrt_store_conn *writer;
    uint32_t writes_since_compact; /* under write_mu */

    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    vrt_store_conn *free_readers;
    unsigned readers_open;

    pthread_mutex_t state_mu;
    pthread_cond_t state_cv; /* CLOCK_MONOTONIC */
    int64_t rv;              /* newest committed rv */
    int64_t floor;           /* events with rv <= floor are gone */
    int woken;               /* vrt_store_wake_all was called */
    /* Newest rv written per resource since open (int64_t *), and the rv
     * at open: a watch of one kind skips the event query when nothing of
     * its kind was written after its rv. */
    struct vrt_hmap *latest;
    int64_t opened_rv;
};

/* Records that `resource` was written at rv (before vrt_store_publish). */
void vrt_store_note_write(vrt_store *s, const char *resource, int64_t rv);
/* 1 when no event of `resource` can exist after `since`: no query needed. */
int vrt_store_nothing_since(vrt_store *s, const char *resource, int64_t since);

/* --- store_conn.c ------------------------------------------------------ */

/* Opens a connection with the store's pragmas.  The writer may create the
 * file; a reader (writer == 0) is opened query-only. */
int vrt_store_conn_open(vrt_store_conn **out, const char *path, int writer,
                        int sync_full, vrt_error *err);
void vrt_store_conn_close(vrt_store_conn *c); /* NULL-safe */
/* The cached statement `id`, reset and with its bindings cleared; NULL
 * with err filled when it cannot be prepared. */
sqlite3_stmt *vrt_store_stmt(vrt_store_conn *c, int id, vrt_error *err);
/* Runs a statement that returns no rows (BEGIN, COMMIT...). */
int vrt_store_exec(vrt_store_conn *c, int id, vrt_error *err);
/* Rolls back if a transaction is open; keeps the first error. */
void vrt_store_rollback(vrt_store_conn *c);
/* Maps a SQLite failure to a vrt_error: SQLITE_FULL -> QUOTA, BUSY ->
 * RETRYABLE, CORRUPT/NOTADB -> INVALID, anything else -> INTERNAL.
 * `what` says what was being done ("Reading ..."); returns the code. */
int vrt_store_sqlite_error(vrt_error *err, sqlite3 *db, int rc,
                           const char *path, const char *what);
/* Out of memory is fatal in the core: logs and aborts. */
void *vrt_store_must(void *p);

/* --- store_schema.c ---------------------------------------------------- */

/* Creates or migrates the schema on the writer connection. */
int vrt_store_schema_apply(vrt_store_conn *c, const char *path,
                           vrt_error *err);

/* --- store_write.c ----------------------------------------------------- */

/* Deletes events older than the newest `history`; records the floor.
 * Caller holds write_mu. */
int vrt_store_compact(vrt_store *s, vrt_error *err);
/* The newest rv and the floor, read on `c` (inside its transaction when
 * one is open). */
int vrt_store_read_rv(int64_t *rv, int64_t *floor, vrt_store_conn *c,
                      const char *path, vrt_error *err);

/* --- store.c ----------------------------------------------------------- */

/* Publishes a committed rv (and floor) and wakes vrt_store_wait. */
void vrt_store_publish(vrt_store *s, int64_t rv, int64_t floor);
/* Borrows a reader connection (opening one if none is free); give it back
 * with vrt_store_reader_put. */
int vrt_store_reader_get(vrt_store_conn **out, vrt_store *s, vrt_error *err);
void vrt_store_reader_put(vrt_store *s, vrt_store_conn *c);
/* "virtualmachines.infra.virtrigaud.io \"default/web\"" into buf. */
const char *vrt_store_obj_label(char *buf, size_t size, const char *resource,
                                const char *ns, const char *name);

/* Lets a public function take err == NULL: points it at a local record. */
#define VRT_STORE_ERR_LOCAL(err)                                               \
    vrt_error err##_local_ = VRT_ERROR_INIT;                                   \
    if (!(err))                                                                \
    (err) = &err##_local_

/* For tests: the writer's sqlite3 handle (e.g. to set max_page_count).
 * Not for production code. */
sqlite3 *vrt_store_writer_db(vrt_store *s);

#endif /* VRT_STORE_INTERNAL_H */
