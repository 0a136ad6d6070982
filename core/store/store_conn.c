/*
 * store_conn.c - one SQLite connection of the store: opening it with the
 * right pragmas, its cache of prepared statements, and turning SQLite
 * failures into vrt_error records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vrt/log.h>

#include "store_internal.h"

VRT_LOG_SOURCE("core.store");

/* Indexed by VRT_ST_*.  Parameters are numbered so that a reader can see
 * what each bind is for. */
static const char *const stmt_sql[VRT_ST_COUNT_] = {
    [VRT_ST_BEGIN] = "BEGIN",
    [VRT_ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [VRT_ST_COMMIT] = "COMMIT",
    [VRT_ST_ROLLBACK] = "ROLLBACK",
    [VRT_ST_OBJ_GET] = "SELECT rv, data FROM objects"
                       " WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
    [VRT_ST_OBJ_INSERT] = "INSERT INTO objects(resource, namespace, name, rv,"
                          " data) VALUES (?1, ?2, ?3, ?4, ?5)",
    [VRT_ST_OBJ_UPDATE] = "UPDATE objects SET rv = ?4, data = ?5"
                          " WHERE resource = ?1 AND namespace = ?2"
                          " AND name = ?3",
    [VRT_ST_OBJ_DELETE] = "DELETE FROM objects"
                          " WHERE resource = ?1 AND namespace = ?2"
                          " AND name = ?3",
    [VRT_ST_EV_INSERT] = "INSERT INTO events(rv, resource, namespace, name,"
                         " type, data) VALUES (?4, ?1, ?2, ?3, ?6, ?5)",
    /* Compaction always keeps the newest event, so this never goes back
     * and an rv is never handed out twice. */
    [VRT_ST_CUR_RV] = "SELECT coalesce(max(rv), 0) FROM events",
    [VRT_ST_FLOOR] = "SELECT value FROM meta WHERE key = 'floor'",
    [VRT_ST_LIST_ALL] = "SELECT data FROM objects WHERE resource = ?1"
                        " ORDER BY namespace, name",
    [VRT_ST_LIST_NS] = "SELECT data FROM objects"
                       " WHERE resource = ?1 AND namespace = ?2"
                       " ORDER BY name",
    /* Events are read by rv range (the rowid); the filters apply to that
     * range, which the history bound keeps short. */
    [VRT_ST_EVENTS] = "SELECT rv, type, data FROM events WHERE rv > ?1"
                      " AND (?2 IS NULL OR resource = ?2)"
                      " AND (?3 IS NULL OR namespace = ?3)"
                      " ORDER BY rv LIMIT ?4",
    /* An object's previous event: a backwards walk of the rv range, which
     * the history bound keeps short; no index, so writes pay nothing. */
    [VRT_ST_EV_BEFORE] = "SELECT type, data FROM events"
                         " WHERE resource = ?1 AND namespace = ?2"
                         " AND name = ?3 AND rv < ?4"
                         " ORDER BY rv DESC LIMIT 1",
    [VRT_ST_COMPACT] = "DELETE FROM events WHERE rv <= ?1",
    [VRT_ST_FLOOR_SET] = "UPDATE meta SET value = ?1"
                         " WHERE key = 'floor' AND value < ?1",
};

void *vrt_store_must(void *p)
{
    if (!p) {
        vrt_log_error("Out of memory in the object store; virtrigaud stops.");
        abort(); /* out of memory: the documented core policy */
    }
    return p;
}

int vrt_store_sqlite_error(vrt_error *err, sqlite3 *db, int rc,
                           const char *path, const char *what)
{
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return vrt_error_set(err, VRT_E_QUOTA,
                             "%s failed: the disk holding the store \"%s\" "
                             "is full (%s); free space and retry.",
                             what, path, msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return vrt_error_set(err, VRT_E_RETRYABLE,
                             "%s failed: the store \"%s\" stayed locked by "
                             "another connection for %d ms (%s).",
                             what, path, VRT_STORE_BUSY_MS, msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return vrt_error_set(err, VRT_E_INVALID,
                             "%s failed: the file \"%s\" is not a SQLite "
                             "database or is corrupt (%s); restore it from "
                             "a backup or move it away.",
                             what, path, msg);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
        return vrt_error_set(err, VRT_E_UNAVAILABLE,
                             "%s failed: cannot read or write the store "
                             "\"%s\" (%s).",
                             what, path, msg);
    default:
        return vrt_error_set(err, VRT_E_INTERNAL,
                             "%s failed on the store \"%s\": %s (SQLite "
                             "code %d).",
                             what, path, msg, rc);
    }
}

sqlite3_stmt *vrt_store_stmt(vrt_store_conn *c, int id, vrt_error *err)
{
    sqlite3_stmt *st = c->st[id];
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
    }
    int rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1,
                                SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        vrt_store_sqlite_error(err, c->db, rc, sqlite3_db_filename(c->db,
                                                                   "main"),
                               "Preparing a statement");
        sqlite3_finalize(st);
        return NULL;
    }
    c->st[id] = st;
    return st;
}

int vrt_store_exec(vrt_store_conn *c, int id, vrt_error *err)
{
    sqlite3_stmt *st = vrt_store_stmt(c, id, err);
    if (!st)
        return err->code;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return vrt_store_sqlite_error(err, c->db, rc,
                                      sqlite3_db_filename(c->db, "main"),
                                      stmt_sql[id]);
    return VRT_OK;
}

void vrt_store_rollback(vrt_store_conn *c)
{
    if (sqlite3_get_autocommit(c->db))
        return;
    vrt_error ignored = VRT_ERROR_INIT;
    if (vrt_store_exec(c, VRT_ST_ROLLBACK, &ignored) != VRT_OK)
        vrt_log_warn("Rolling back a store transaction failed: %s",
                     ignored.message);
}

/* Runs a pragma; when `want` is given, its first result must equal it
 * (journal_mode answers with the mode it actually chose). */
static int pragma(sqlite3 *db, const char *path, const char *sql,
                  const char *want, vrt_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && want) {
            const char *got = (const char *)sqlite3_column_text(st, 0);
            if (!got || strcmp(got, want) != 0) {
                vrt_error_set(err, VRT_E_UNAVAILABLE,
                              "The store \"%s\" cannot use %s: SQLite "
                              "answered \"%s\" to \"%s\".",
                              path, want, got ? got : "", sql);
                sqlite3_finalize(st);
                return err->code;
            }
        }
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK) {
        char what[96];
        snprintf(what, sizeof(what), "Setting \"%s\"", sql);
        vrt_store_sqlite_error(err, db, rc, path, what);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? VRT_OK : err->code;
}

int vrt_store_conn_open(vrt_store_conn **out, const char *path, int writer,
                        int sync_full, vrt_error *err)
{
    *out = NULL;
    vrt_store_conn *c = vrt_store_must(calloc(1, sizeof(*c)));
    /* NOMUTEX: our own locks guarantee one thread per connection. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                (writer ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        vrt_store_sqlite_error(err, c->db, rc, path, "Opening the store");
        goto fail;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, VRT_STORE_BUSY_MS);
    /* WAL: readers keep their snapshot while a writer commits, and a
     * commit appends to one file.  Durability of a commit:
     *   synchronous=FULL    the WAL is fsynced at every commit, so an
     *                       acknowledged write survives kill -9 and power
     *                       loss (the default; each write costs an fsync).
     *   synchronous=NORMAL  the WAL is fsynced only at checkpoints: a
     *                       commit survives the process dying (kill -9,
     *                       the data is in the OS page cache) but the last
     *                       commits can be lost when the machine loses
     *                       power.  bench/store.sh measures the gap. */
    if (pragma(c->db, path, "PRAGMA journal_mode=WAL", "wal", err) ||
        pragma(c->db, path,
               sync_full ? "PRAGMA synchronous=FULL"
                         : "PRAGMA synchronous=NORMAL",
               NULL, err) ||
        /* The WAL is reused after each checkpoint; this trims it back
         * after a burst instead of keeping the high-water mark forever. */
        pragma(c->db, path, "PRAGMA journal_size_limit=67108864", NULL,
               err) ||
        (!writer && pragma(c->db, path, "PRAGMA query_only=1", NULL, err)))
        goto fail;
    *out = c;
    return VRT_OK;

fail:
    vrt_store_conn_close(c);
    return err->code;
}

void vrt_store_conn_close(vrt_store_conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < VRT_ST_COUNT_; i++)
        sqlite3_finalize(c->st[i]);
    if (c->db && sqlite3_close(c->db) != SQLITE_OK)
        vrt_log_warn("Closing a store connection failed: %s",
                     sqlite3_errmsg(c->db));
    free(c);
}
