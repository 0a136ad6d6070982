/*
 * store_read.c - get, list and events_since, each on a reader connection
 * of its own.  A list or an event scan runs in one read transaction, so
 * WAL gives it one snapshot: the rows it visits and the rv it reports
 * belong to the same moment, whatever writes commit meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>

#include "store_internal.h"

/* Parses a stored JSON column; NULL with err filled when it is damaged. */
static cJSON *parse_col(sqlite3_stmt *st, int col, const char *what,
                        const char *path, vrt_error *err)
{
    const char *text = (const char *)sqlite3_column_text(st, col);
    cJSON *obj = text ? cJSON_ParseWithLength(
                            text, (size_t)sqlite3_column_bytes(st, col))
                      : NULL;
    if (!obj)
        vrt_error_set(err, VRT_E_INVALID,
                      "The store \"%s\" is corrupt: it holds %s that is "
                      "not valid JSON; restore it from a backup or move it "
                      "away.",
                      path, what);
    return obj;
}

int vrt_store_get(cJSON **out, vrt_store *s, const char *resource,
                  const char *ns, const char *name, vrt_error *err)
{
    VRT_STORE_ERR_LOCAL(err);
    char label[VRT_ERROR_MESSAGE_MAX];
    vrt_store_conn *c = NULL;
    *out = NULL;
    if (!resource || !ns || !name)
        return vrt_error_set(err, VRT_E_INVALID,
                             "A store read needs a resource, a namespace "
                             "(\"\" when cluster-scoped) and a name.");
    if (vrt_store_reader_get(&c, s, err) != VRT_OK)
        return err->code;
    sqlite3_stmt *st = vrt_store_stmt(c, VRT_ST_OBJ_GET, err);
    if (!st)
        goto cleanup;
    sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = parse_col(st, 1, "an object", s->path, err);
    else if (rc == SQLITE_DONE)
        vrt_error_set(err, VRT_E_NOTFOUND, "%s not found",
                      vrt_store_obj_label(label, sizeof(label), resource, ns,
                                          name));
    else
        vrt_store_sqlite_error(err, c->db, rc, s->path, "Reading an object");
    sqlite3_reset(st);

cleanup:
    vrt_store_reader_put(s, c);
    return *out ? VRT_OK : err->code;
}

int vrt_store_list(int64_t *list_rv, vrt_store *s, const char *resource,
                   const char *ns, vrt_store_visit_fn visit, void *opaque,
                   vrt_error *err)
{
    VRT_STORE_ERR_LOCAL(err);
    vrt_store_conn *c = NULL;
    int64_t rv = 0;
    int ok = 0;
    if (list_rv)
        *list_rv = 0;
    if (!resource || !visit)
        return vrt_error_set(err, VRT_E_INVALID,
                             "A store list needs a resource and a visitor.");
    if (vrt_store_reader_get(&c, s, err) != VRT_OK)
        return err->code;
    if (vrt_store_exec(c, VRT_ST_BEGIN, err) != VRT_OK)
        goto cleanup;
    sqlite3_stmt *st =
        vrt_store_stmt(c, ns ? VRT_ST_LIST_NS : VRT_ST_LIST_ALL, err);
    if (!st)
        goto cleanup;
    sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
    if (ns)
        sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *obj = parse_col(st, 0, "an object", s->path, err);
        if (!obj)
            break;
        int stop = visit(opaque, obj);
        cJSON_Delete(obj);
        if (stop) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    /* Still inside the transaction: the rv of the snapshot just read. */
    if (rc == SQLITE_DONE)
        ok = vrt_store_read_rv(&rv, NULL, c, s->path, err) == VRT_OK;
    else if (rc != SQLITE_ROW)
        vrt_store_sqlite_error(err, c->db, rc, s->path, "Listing objects");

cleanup:
    vrt_store_reader_put(s, c); /* ends the read transaction */
    if (!ok)
        return err->code;
    if (list_rv)
        *list_rv = rv;
    return VRT_OK;
}

int vrt_store_events_since(vrt_store *s, int64_t since, const char *resource,
                           const char *ns, uint32_t limit,
                           vrt_store_event_fn visit, void *opaque,
                           vrt_error *err)
{
    VRT_STORE_ERR_LOCAL(err);
    vrt_store_conn *c = NULL;
    int64_t rv = 0, floor = 0;
    int result = VRT_E_INTERNAL;
    if (!visit)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Reading store events needs a visitor.");
    /* Most wake-ups of a watch are writes of other kinds. */
    if (vrt_store_nothing_since(s, resource, since))
        return VRT_OK;
    if (vrt_store_reader_get(&c, s, err) != VRT_OK)
        return err->code;
    /* The floor is read in the same snapshot as the events, so a
     * compaction that commits meanwhile cannot hide a gap. */
    if (vrt_store_exec(c, VRT_ST_BEGIN, err) != VRT_OK ||
        vrt_store_read_rv(&rv, &floor, c, s->path, err) != VRT_OK) {
        result = err->code;
        goto cleanup;
    }
    if (since < floor) {
        /* Not an error: err stays untouched, the caller answers 410. */
        result = VRT_STORE_GONE;
        goto cleanup;
    }
    sqlite3_stmt *st = vrt_store_stmt(c, VRT_ST_EVENTS, err);
    if (!st) {
        result = err->code;
        goto cleanup;
    }
    sqlite3_bind_int64(st, 1, since);
    if (resource)
        sqlite3_bind_text(st, 2, resource, -1, SQLITE_STATIC);
    if (ns)
        sqlite3_bind_text(st, 3, ns, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, limit ? (sqlite3_int64)limit : -1);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *obj = parse_col(st, 2, "an event", s->path, err);
        if (!obj)
            break;
        int stop = visit(opaque, sqlite3_column_int(st, 1),
                         sqlite3_column_int64(st, 0), obj);
        cJSON_Delete(obj);
        if (stop) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        result = VRT_OK;
    else if (rc == SQLITE_ROW)
        result = err->code; /* damaged JSON, already described */
    else
        result = vrt_store_sqlite_error(err, c->db, rc, s->path,
                                        "Reading store events");

cleanup:
    vrt_store_reader_put(s, c);
    return result;
}

int vrt_store_event_before(cJSON **out, int *type, vrt_store *s,
                           const char *resource, const char *ns,
                           const char *name, int64_t rv, vrt_error *err)
{
    VRT_STORE_ERR_LOCAL(err);
    vrt_store_conn *c = NULL;
    *out = NULL;
    *type = 0;
    if (!resource || !ns || !name)
        return vrt_error_set(err, VRT_E_INVALID,
                             "An event lookup needs a resource, a namespace "
                             "(\"\" when cluster-scoped) and a name.");
    if (vrt_store_reader_get(&c, s, err) != VRT_OK)
        return err->code;
    sqlite3_stmt *st = vrt_store_stmt(c, VRT_ST_EV_BEFORE, err);
    if (!st)
        goto cleanup;
    sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, rv);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *type = sqlite3_column_int(st, 0);
        *out = parse_col(st, 1, "an event", s->path, err);
    } else if (rc == SQLITE_DONE) {
        vrt_error_set(err, VRT_E_NOTFOUND, "No earlier event is kept.");
    } else {
        vrt_store_sqlite_error(err, c->db, rc, s->path, "Reading an event");
    }
    sqlite3_reset(st);

cleanup:
    vrt_store_reader_put(s, c);
    return *out ? VRT_OK : err->code;
}
