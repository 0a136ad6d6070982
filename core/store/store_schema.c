/*
 * store_schema.c - the store's tables and their migrations.
 *
 * The schema version lives in meta('schema_version'); migration N takes a
 * store from version N-1 to N, and they run in order in one transaction,
 * so a store is never left half-migrated.  A store written by a newer
 * build is refused rather than guessed at.  The file is marked with a
 * SQLite application_id so that some other program's database is refused
 * with a clear message instead of being written into.
 */
#include <stdio.h>

#include <vrt/log.h>

#include "store_internal.h"

VRT_LOG_SOURCE("core.store");

/* 'VRTG': the SQLite application_id of a virtrigaud store. */
#define VRT_STORE_APP_ID 0x56525447

/* Append only: migrations[i] takes the store to version i + 1. */
static const char *const migrations[] = {
    /* 1: objects keyed by (resource, namespace, name); an event per write,
     * its rv the rowid; meta holds the schema version and the compaction
     * floor (events with rv <= floor are gone). */
    "CREATE TABLE meta("
    "  key TEXT PRIMARY KEY NOT NULL,"
    "  value INTEGER NOT NULL);"
    "CREATE TABLE objects("
    "  resource TEXT NOT NULL,"
    "  namespace TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  rv INTEGER NOT NULL,"
    "  data TEXT NOT NULL,"
    "  PRIMARY KEY (resource, namespace, name)) WITHOUT ROWID;"
    "CREATE TABLE events("
    "  rv INTEGER PRIMARY KEY,"
    "  resource TEXT NOT NULL,"
    "  namespace TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  type INTEGER NOT NULL,"
    "  data TEXT NOT NULL);"
    "INSERT INTO meta(key, value) VALUES ('floor', 0);",
};
#define LATEST ((int64_t)(sizeof(migrations) / sizeof(migrations[0])))

/* Runs a query that yields one integer (0 when it yields no row). */
static int query_int(int64_t *out, sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    *out = 0;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *out = sqlite3_column_int64(st, 0);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* The version the file is at: 0 for a new, empty database. */
static int read_version(int64_t *version, sqlite3 *db, const char *path,
                        vrt_error *err)
{
    int64_t app_id = 0, tables = 0;
    int rc = query_int(&app_id, db, "PRAGMA application_id");
    if (rc == SQLITE_OK)
        rc = query_int(&tables, db,
                       "SELECT count(*) FROM sqlite_master"
                       " WHERE type = 'table'");
    if (rc != SQLITE_OK)
        return vrt_store_sqlite_error(err, db, rc, path,
                                      "Reading the store's schema");
    if (app_id != VRT_STORE_APP_ID) {
        *version = 0;
        if (app_id == 0 && tables == 0)
            return VRT_OK;
        return vrt_error_set(err, VRT_E_INVALID,
                             "The file \"%s\" is a SQLite database but not "
                             "a virtrigaud store (application_id %lld, %lld "
                             "tables); point the data directory elsewhere.",
                             path, (long long)app_id, (long long)tables);
    }
    rc = query_int(version, db,
                   "SELECT value FROM meta WHERE key = 'schema_version'");
    if (rc != SQLITE_OK)
        return vrt_store_sqlite_error(err, db, rc, path,
                                      "Reading the store's schema version");
    if (*version < 1)
        return vrt_error_set(err, VRT_E_INVALID,
                             "The store \"%s\" has no schema version; it is "
                             "damaged.",
                             path);
    return VRT_OK;
}

static int migrate(sqlite3 *db, const char *path, int64_t from,
                   vrt_error *err)
{
    char sql[128];
    for (int64_t v = from + 1; v <= LATEST; v++) {
        int rc = sqlite3_exec(db, migrations[v - 1], NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            char what[80];
            snprintf(what, sizeof(what), "Migrating the store to schema "
                                         "version %lld",
                     (long long)v);
            return vrt_store_sqlite_error(err, db, rc, path, what);
        }
    }
    snprintf(sql, sizeof(sql),
             "INSERT OR REPLACE INTO meta(key, value)"
             " VALUES ('schema_version', %lld);"
             "PRAGMA application_id = %d;",
             (long long)LATEST, VRT_STORE_APP_ID);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return vrt_store_sqlite_error(err, db, rc, path,
                                      "Recording the store's schema version");
    if (from > 0)
        vrt_log_info("Migrated the store \"%s\" from schema version %lld to "
                     "%lld.",
                     path, (long long)from, (long long)LATEST);
    return VRT_OK;
}

int vrt_store_schema_apply(vrt_store_conn *c, const char *path,
                           vrt_error *err)
{
    int64_t version = 0;
    if (vrt_store_exec(c, VRT_ST_BEGIN_WRITE, err) != VRT_OK)
        return err->code;
    if (read_version(&version, c->db, path, err) != VRT_OK)
        goto fail;
    if (version > LATEST) {
        vrt_error_set(err, VRT_E_INVALID,
                      "The store \"%s\" has schema version %lld, written by "
                      "a newer virtrigaud; this build knows versions up to "
                      "%lld.",
                      path, (long long)version, (long long)LATEST);
        goto fail;
    }
    if (version < LATEST && migrate(c->db, path, version, err) != VRT_OK)
        goto fail;
    if (vrt_store_exec(c, VRT_ST_COMMIT, err) != VRT_OK)
        goto fail;
    return VRT_OK;

fail:
    vrt_store_rollback(c);
    return err->code;
}
