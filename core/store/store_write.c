/*
 * store_write.c - create, update and delete, each one SQLite transaction
 * on the writer connection: check the key and the expected rv, take the
 * next rv, write the object and its event, commit.  And the periodic
 * compaction of the event log.
 *
 * A failed write rolls back and leaves the caller's object as it was
 * given, so the store and the caller both stay usable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vrt/log.h>

#include "store_internal.h"

VRT_LOG_SOURCE("core.store");

typedef struct write_req {
    int type; /* VRT_EV_* */
    const char *resource, *ns, *name;
    int64_t expect_rv;
    cJSON *obj; /* the caller's; for a delete it may be NULL */
} write_req;

/* metadata.resourceVersion set in an object, undoable until kept. */
typedef struct rv_mark {
    cJSON *md;
    int md_added;
    cJSON *old; /* a copy of the previous value, or NULL */
} rv_mark;

static int rv_mark_set(rv_mark *m, cJSON *obj, int64_t rv, const char *label,
                       vrt_error *err)
{
    char buf[24];
    memset(m, 0, sizeof(*m));
    m->md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (m->md && !cJSON_IsObject(m->md))
        return vrt_error_set(err, VRT_E_INVALID,
                             "Cannot store %s: its metadata is not a JSON "
                             "object.",
                             label);
    if (!m->md) {
        m->md = vrt_store_must(cJSON_AddObjectToObject(obj, "metadata"));
        m->md_added = 1;
    }
    cJSON *cur = cJSON_GetObjectItemCaseSensitive(m->md, "resourceVersion");
    if (cur)
        m->old = vrt_store_must(cJSON_Duplicate(cur, 1));
    snprintf(buf, sizeof(buf), "%lld", (long long)rv);
    cJSON *item = vrt_store_must(cJSON_CreateString(buf));
    if (cur)
        cJSON_ReplaceItemInObjectCaseSensitive(m->md, "resourceVersion", item);
    else
        cJSON_AddItemToObject(m->md, "resourceVersion", item);
    return VRT_OK;
}

static void rv_mark_undo(rv_mark *m, cJSON *obj)
{
    if (m->md_added)
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "metadata");
    else if (m->old)
        cJSON_ReplaceItemInObjectCaseSensitive(m->md, "resourceVersion",
                                               m->old);
    else if (m->md)
        cJSON_DeleteItemFromObjectCaseSensitive(m->md, "resourceVersion");
    m->old = NULL;
}

int vrt_store_read_rv(int64_t *rv, int64_t *floor, vrt_store_conn *c,
                      const char *path, vrt_error *err)
{
    sqlite3_stmt *st = vrt_store_stmt(c, VRT_ST_CUR_RV, err);
    if (!st)
        return err->code;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return vrt_store_sqlite_error(err, c->db, rc, path,
                                      "Reading the current resourceVersion");
    *rv = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (!floor)
        return VRT_OK;
    if (!(st = vrt_store_stmt(c, VRT_ST_FLOOR, err)))
        return err->code;
    rc = sqlite3_step(st);
    *floor = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return vrt_store_sqlite_error(err, c->db, rc, path,
                                      "Reading the event history floor");
    return VRT_OK;
}

static void bind_key(sqlite3_stmt *st, const write_req *w)
{
    sqlite3_bind_text(st, 1, w->resource, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, w->ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, w->name, -1, SQLITE_STATIC);
}

/* The stored rv of the key (0 when absent), and for a delete without
 * `last` the stored object, parsed, in *stored. */
static int read_current(int64_t *cur_rv, cJSON **stored, vrt_store *s,
                        const write_req *w, const char *label, vrt_error *err)
{
    *cur_rv = 0;
    sqlite3_stmt *st = vrt_store_stmt(s->writer, VRT_ST_OBJ_GET, err);
    if (!st)
        return err->code;
    bind_key(st, w);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return VRT_OK;
    if (rc != SQLITE_ROW)
        return vrt_store_sqlite_error(err, s->writer->db, rc, s->path,
                                      "Reading an object before writing it");
    *cur_rv = sqlite3_column_int64(st, 0);
    if (stored) {
        *stored = cJSON_ParseWithLength(
            (const char *)sqlite3_column_text(st, 1),
            (size_t)sqlite3_column_bytes(st, 1));
        if (!*stored)
            rc = vrt_error_set(err, VRT_E_INVALID,
                               "The store \"%s\" is corrupt: it holds %s "
                               "that is not valid JSON; restore it from a "
                               "backup or move it away.",
                               s->path, label);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? VRT_OK : err->code;
}

static int check_current(const write_req *w, int64_t cur_rv,
                         const char *label, vrt_error *err)
{
    if (w->type == VRT_EV_ADDED) {
        if (cur_rv)
            return vrt_error_set(err, VRT_E_EXISTS, "%s already exists",
                                 label);
        return VRT_OK;
    }
    if (!cur_rv)
        return vrt_error_set(err, VRT_E_NOTFOUND, "%s not found", label);
    if (w->expect_rv > 0 && w->expect_rv != cur_rv)
        return vrt_error_set(err, VRT_E_CONFLICT,
                             "Operation cannot be fulfilled on %s: the "
                             "object has been modified (resourceVersion "
                             "%lld, expected %lld); read it again and retry.",
                             label, (long long)cur_rv,
                             (long long)w->expect_rv);
    return VRT_OK;
}

static int step_done(vrt_store *s, sqlite3_stmt *st, vrt_error *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return vrt_store_sqlite_error(err, s->writer->db, rc, s->path,
                                      "Writing an object");
    return VRT_OK;
}

/* Writes the object row and the event for `rv`, with `json` as data. */
static int write_rows(vrt_store *s, const write_req *w, int64_t rv,
                      const char *json, vrt_error *err)
{
    int id = w->type == VRT_EV_ADDED      ? VRT_ST_OBJ_INSERT
             : w->type == VRT_EV_MODIFIED ? VRT_ST_OBJ_UPDATE
                                          : VRT_ST_OBJ_DELETE;
    sqlite3_stmt *st = vrt_store_stmt(s->writer, id, err);
    if (!st)
        return err->code;
    bind_key(st, w);
    if (w->type != VRT_EV_DELETED) {
        sqlite3_bind_int64(st, 4, rv);
        sqlite3_bind_text(st, 5, json, -1, SQLITE_STATIC);
    }
    if (step_done(s, st, err) != VRT_OK)
        return err->code;

    if (!(st = vrt_store_stmt(s->writer, VRT_ST_EV_INSERT, err)))
        return err->code;
    bind_key(st, w);
    sqlite3_bind_int64(st, 4, rv);
    sqlite3_bind_text(st, 5, json, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, w->type);
    return step_done(s, st, err);
}

/* The transaction body; the caller holds write_mu and has begun. */
static int write_txn(int64_t *rv_out, vrt_store *s, write_req *w,
                     const char *label, vrt_error *err)
{
    int64_t cur_rv = 0, rv = 0;
    cJSON *stored = NULL;
    char *json = NULL;
    rv_mark mark = {0};
    int marked = 0, ok = 0;
    int need_stored = w->type == VRT_EV_DELETED && !w->obj;
    cJSON *doc = w->obj;

    if (read_current(&cur_rv, need_stored ? &stored : NULL, s, w, label,
                     err) ||
        check_current(w, cur_rv, label, err) ||
        vrt_store_read_rv(&rv, NULL, s->writer, s->path, err))
        goto cleanup;
    rv++;
    if (need_stored)
        doc = stored;
    if (rv_mark_set(&mark, doc, rv, label, err) != VRT_OK)
        goto cleanup;
    marked = 1;
    json = vrt_store_must(cJSON_PrintUnformatted(doc));
    if (write_rows(s, w, rv, json, err) ||
        vrt_store_exec(s->writer, VRT_ST_COMMIT, err))
        goto cleanup;
    *rv_out = rv;
    ok = 1;

cleanup:
    /* The caller's object keeps the new rv only if the write happened. */
    if (marked && !ok && doc == w->obj)
        rv_mark_undo(&mark, doc);
    else if (marked)
        cJSON_Delete(mark.old);
    cJSON_free(json);
    cJSON_Delete(stored);
    return ok ? VRT_OK : err->code;
}

static int check_req(const write_req *w, vrt_error *err)
{
    if (!w->resource || !*w->resource || !w->ns || !w->name || !*w->name)
        return vrt_error_set(err, VRT_E_INVALID,
                             "A store write needs a resource, a namespace "
                             "(\"\" when cluster-scoped) and a name.");
    if (w->type != VRT_EV_DELETED && !cJSON_IsObject(w->obj))
        return vrt_error_set(err, VRT_E_INVALID,
                             "Cannot store %s \"%s\": the object is not a "
                             "JSON object.",
                             w->resource, w->name);
    if (w->type == VRT_EV_DELETED && w->obj && !cJSON_IsObject(w->obj))
        return vrt_error_set(err, VRT_E_INVALID,
                             "Cannot delete %s \"%s\": the last state "
                             "given is not a JSON object.",
                             w->resource, w->name);
    return VRT_OK;
}

static uint32_t compact_every(const vrt_store *s)
{
    return s->history < VRT_STORE_COMPACT_EVERY ? s->history
                                                : VRT_STORE_COMPACT_EVERY;
}

static int store_write(int64_t *rv_out, vrt_store *s, write_req *w,
                       vrt_error *err)
{
    VRT_STORE_ERR_LOCAL(err);
    char label[VRT_ERROR_MESSAGE_MAX];
    int64_t rv = 0;
    if (rv_out)
        *rv_out = 0;
    if (check_req(w, err) != VRT_OK)
        return err->code;
    vrt_store_obj_label(label, sizeof(label), w->resource, w->ns, w->name);

    pthread_mutex_lock(&s->write_mu);
    if (vrt_store_exec(s->writer, VRT_ST_BEGIN_WRITE, err) == VRT_OK &&
        write_txn(&rv, s, w, label, err) == VRT_OK) {
        vrt_store_note_write(s, w->resource, rv);
        vrt_store_publish(s, rv, 0);
        if (++s->writes_since_compact >= compact_every(s)) {
            vrt_error cerr = VRT_ERROR_INIT;
            /* The write is committed; a failed compaction only delays
             * trimming the history until the next attempt. */
            if (vrt_store_compact(s, &cerr) != VRT_OK)
                vrt_log_warn("Compacting the store's event history failed: "
                             "%s",
                             cerr.message);
        }
    } else {
        vrt_store_rollback(s->writer);
    }
    pthread_mutex_unlock(&s->write_mu);
    if (!rv)
        return err->code;
    if (rv_out)
        *rv_out = rv;
    return VRT_OK;
}

int vrt_store_compact(vrt_store *s, vrt_error *err)
{
    int64_t rv = 0, floor = 0;
    s->writes_since_compact = 0;
    if (vrt_store_exec(s->writer, VRT_ST_BEGIN_WRITE, err) ||
        vrt_store_read_rv(&rv, &floor, s->writer, s->path, err))
        goto fail;
    int64_t keep_after = rv - (int64_t)s->history;
    if (keep_after <= floor) {
        if (vrt_store_exec(s->writer, VRT_ST_COMMIT, err))
            goto fail;
        return VRT_OK;
    }
    sqlite3_stmt *st = vrt_store_stmt(s->writer, VRT_ST_COMPACT, err);
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, keep_after);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        if (!(st = vrt_store_stmt(s->writer, VRT_ST_FLOOR_SET, err)))
            goto fail;
        sqlite3_bind_int64(st, 1, keep_after);
        rc = sqlite3_step(st);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        vrt_store_sqlite_error(err, s->writer->db, rc, s->path,
                               "Compacting the event history");
        goto fail;
    }
    if (vrt_store_exec(s->writer, VRT_ST_COMMIT, err))
        goto fail;
    vrt_store_publish(s, rv, keep_after);
    vrt_log_debug("Compacted the store's events up to resourceVersion %lld.",
                  (long long)keep_after);
    return VRT_OK;

fail:
    vrt_store_rollback(s->writer);
    return err->code;
}

int vrt_store_create(int64_t *rv, vrt_store *s, const char *resource,
                     const char *ns, const char *name, cJSON *obj,
                     vrt_error *err)
{
    write_req w = {VRT_EV_ADDED, resource, ns, name, 0, obj};
    return store_write(rv, s, &w, err);
}

int vrt_store_update(int64_t *rv, vrt_store *s, const char *resource,
                     const char *ns, const char *name, int64_t expect_rv,
                     cJSON *obj, vrt_error *err)
{
    write_req w = {VRT_EV_MODIFIED, resource, ns, name, expect_rv, obj};
    return store_write(rv, s, &w, err);
}

int vrt_store_delete(int64_t *rv, vrt_store *s, const char *resource,
                     const char *ns, const char *name, int64_t expect_rv,
                     cJSON *last, vrt_error *err)
{
    write_req w = {VRT_EV_DELETED, resource, ns, name, expect_rv, last};
    return store_write(rv, s, &w, err);
}
