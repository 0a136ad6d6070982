/*
 * Watches: a stream of {"type": ..., "object": ...} lines following the
 * store's event log from a resourceVersion, with the initial state as
 * ADDED events when no version is given, BOOKMARKs when asked, and a 410
 * Expired ERROR event when the version is older than the kept history.
 *
 * With a label or field selector, a change that moves an object into the
 * selection is sent as ADDED and one that moves it out as DELETED, as
 * kube-apiserver does, so that a client's cache never keeps an object it
 * can no longer see change.  That needs the object's previous state: the
 * watch remembers which objects are selected (absent: not selected).  A
 * watch from a resourceVersion learns that from a listing of the objects
 * that have not changed since; the others are UNKNOWN until the store's
 * history gives their previous event.  When the history no longer has
 * it, the object counts as selected: a change that leaves it out sends
 * DELETED, which a client that never held it ignores, rather than leave a
 * client holding it forever.  The store is asked outside its visitors,
 * never while this watch holds one of its readers.
 */
#include "apiserver.h"

#include <vrt/hmap.h>
#include <vrt/selector.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_PER_FETCH 256
#define WAIT_SLICE_MS 500
#define BOOKMARK_EVERY_MS 10000

/* An event kept from a store scan, to be handled once the scan (and its
 * reader) is over. */
struct held_event {
    int type;
    int64_t rv;
    cJSON *obj;
};

typedef struct vrt_watch {
    vrt_apiserver_ctx *ctx;
    const vrt_resource *res;
    char *ns;
    int64_t rv;          /* last event sent */
    int initial;         /* still to send the current state as ADDED */
    int seeded;          /* w->selected holds the state at the start */
    int seed_failed;     /* the listing failed: absent means UNKNOWN too */
    int table, bookmarks, columns_sent, ended;
    uint32_t seen;       /* events visited by the last scan */
    uint64_t deadline_ms, last_bookmark_ms;
    vrt_selector *labels, *fields;
    vrt_hmap *selected;  /* "ns/name" -> IN or UNKNOWN; with a selector only */
    struct held_event *batch; /* a scan's events, handled after it */
    uint32_t nbatch;
    char *pending;       /* serialised events not yet handed out */
    size_t pending_len, pending_off, pending_cap;
} vrt_watch;

struct vrt_watch *vrt_watch_new(vrt_apiserver_ctx *ctx,
                                const vrt_resource *res, const char *ns,
                                int64_t since, int table, int bookmarks,
                                uint32_t timeout_s, void *label_sel,
                                void *field_sel)
{
    vrt_watch *w = calloc(1, sizeof(*w));
    if (!w)
        abort();
    w->ctx = ctx;
    w->res = res;
    w->ns = ns ? vrt_strdup(ns) : NULL;
    w->rv = since;
    w->initial = since == 0;
    w->table = table;
    w->bookmarks = bookmarks;
    w->deadline_ms = vrt_now_ms() + (uint64_t)timeout_s * 1000u;
    w->last_bookmark_ms = vrt_now_ms();
    w->labels = label_sel;
    w->fields = field_sel;
    if (label_sel || field_sel) {
        w->selected = vrt_hmap_new(NULL);
        w->batch = calloc(EVENTS_PER_FETCH, sizeof(*w->batch));
        if (!w->batch)
            abort();
    }
    return w;
}

void vrt_watch_free(void *p)
{
    vrt_watch *w = p;
    if (!w)
        return;
    free(w->ns);
    free(w->pending);
    vrt_selector_free(w->labels);
    vrt_selector_free(w->fields);
    vrt_hmap_free(w->selected);
    for (uint32_t i = 0; i < w->nbatch; i++)
        cJSON_Delete(w->batch[i].obj);
    free(w->batch);
    free(w);
}

static void append(vrt_watch *w, const char *s)
{
    size_t n = strlen(s);
    if (w->pending_len + n + 1 > w->pending_cap) {
        w->pending_cap = (w->pending_len + n + 1) * 2;
        w->pending = realloc(w->pending, w->pending_cap);
        if (!w->pending)
            abort();
    }
    memcpy(w->pending + w->pending_len, s, n);
    w->pending_len += n;
    w->pending[w->pending_len++] = '\n';
}

static const char *type_name(int type)
{
    return type == VRT_EV_ADDED      ? "ADDED"
           : type == VRT_EV_MODIFIED ? "MODIFIED"
                                     : "DELETED";
}

static void emit(vrt_watch *w, const char *type, cJSON *object)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", type);
    cJSON_AddItemToObject(ev, "object", object);
    char *s = cJSON_PrintUnformatted(ev);
    if (!s)
        abort();
    append(w, s);
    free(s);
    cJSON_Delete(ev);
}

static const char IN[] = "in", UNKNOWN[] = "unknown";

/* The object as this watch shows it (a view, for events.k8s.io), or NULL
 * when it is shown as stored. */
static cJSON *view_of(const vrt_watch *w, const cJSON *stored)
{
    return w->res->view ? w->res->view(stored) : NULL;
}

static int matches(const vrt_watch *w, const cJSON *obj)
{
    return vrt_selector_matches(w->labels, obj) &&
           vrt_selector_matches(w->fields, obj);
}

/* matches() of a stored object, through the view the watch shows. */
static int stored_matches(const vrt_watch *w, const cJSON *stored)
{
    cJSON *view = view_of(w, stored);
    int m = matches(w, view ? view : stored);
    cJSON_Delete(view);
    return m;
}

static void key_of(char *key, size_t size, const cJSON *stored, const char **ns,
                   const char **name)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(stored, "metadata");
    const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "namespace"));
    *ns = n ? n : "";
    n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "name"));
    *name = n ? n : "";
    snprintf(key, size, "%s/%s", *ns, *name);
}

/* Was the object selected before the MODIFIED event at `rv`?  Asks the
 * store: never call it from a store visitor. */
static int was_selected(vrt_watch *w, const char *key, const char *ns,
                        const char *name, int64_t rv)
{
    const char *known = vrt_hmap_get(w->selected, key);
    if (known == IN)
        return 1;
    if (!known && !w->seed_failed)
        return 0;
    cJSON *prev = NULL;
    int type = 0, was = 1; /* history gone: as if selected (see top) */
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_store_event_before(&prev, &type, w->ctx->store, w->res->store_key,
                               ns, name, rv, &err) == VRT_OK) {
        was = type != VRT_EV_DELETED && stored_matches(w, prev);
    }
    cJSON_Delete(prev);
    return was;
}

static void emit_object(vrt_watch *w, int type, int64_t rv,
                        const cJSON *stored)
{
    cJSON *view = view_of(w, stored);
    const cJSON *obj = view ? view : stored;
    int now = matches(w, obj), selected_now = now;
    if (w->selected) {
        char key[600];
        const char *ns, *name;
        key_of(key, sizeof(key), stored, &ns, &name);
        if (type == VRT_EV_DELETED) {
            /* Its last state is the deleted object's own. */
            now = now || vrt_hmap_get(w->selected, key) == IN;
        } else if (type == VRT_EV_MODIFIED) {
            int was = was_selected(w, key, ns, name, rv);
            if (now && !was)
                type = VRT_EV_ADDED;
            else if (!now && was) { /* left the selection */
                type = VRT_EV_DELETED;
                now = 1;
            }
        }
        if (type != VRT_EV_DELETED && selected_now)
            vrt_hmap_put(w->selected, key, (void *)IN);
        else
            vrt_hmap_del(w->selected, key);
    }
    if (!now) {
        cJSON_Delete(view);
        return;
    }
    cJSON *out;
    if (w->table) {
        out = vrt_table_new(w->res, NULL);
        if (w->columns_sent)
            cJSON_ReplaceItemInObject(out, "columnDefinitions",
                                      cJSON_CreateArray());
        w->columns_sent = 1;
        vrt_table_add_row(out, w->res, obj, 0);
    } else {
        out = view ? view : cJSON_Duplicate(obj, 1);
        view = NULL;
    }
    cJSON_Delete(view);
    emit(w, type_name(type), out);
}

static int on_event(void *opaque, int type, int64_t rv, const cJSON *obj)
{
    vrt_watch *w = opaque;
    w->rv = rv;
    w->seen++;
    if (!w->selected) {
        emit_object(w, type, rv, obj);
    } else { /* emit_object may ask the store: after the scan */
        struct held_event *h = &w->batch[w->nbatch++];
        h->type = type;
        h->rv = rv;
        h->obj = cJSON_Duplicate(obj, 1);
    }
    return w->nbatch >= EVENTS_PER_FETCH;
}

static void emit_held(vrt_watch *w)
{
    for (uint32_t i = 0; i < w->nbatch; i++) {
        emit_object(w, w->batch[i].type, w->batch[i].rv, w->batch[i].obj);
        cJSON_Delete(w->batch[i].obj);
    }
    w->nbatch = 0;
}

static int on_initial(void *opaque, const cJSON *obj)
{
    /* An ADDED never asks the store; it also records what is selected. */
    emit_object(opaque, VRT_EV_ADDED, 0, obj);
    return 0;
}

/* A watch from resourceVersion X: an object whose own resourceVersion is
 * not above X was as it is now when the client's view was taken; one
 * that changed since is UNKNOWN until its history is read. */
static int on_seed(void *opaque, const cJSON *obj)
{
    vrt_watch *w = opaque;
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *rv = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(md, "resourceVersion"));
    char key[600];
    const char *ns, *name;
    key_of(key, sizeof(key), obj, &ns, &name);
    if (!rv || strtoll(rv, NULL, 10) > w->rv) {
        vrt_hmap_put(w->selected, key, (void *)UNKNOWN);
        return 0;
    }
    if (stored_matches(w, obj))
        vrt_hmap_put(w->selected, key, (void *)IN);
    return 0;
}

static void emit_bookmark(vrt_watch *w)
{
    char av[200], rv[32];
    if (w->res->group[0])
        snprintf(av, sizeof(av), "%s/%s", w->res->group, w->res->version);
    else
        snprintf(av, sizeof(av), "%s", w->res->version);
    snprintf(rv, sizeof(rv), "%lld", (long long)w->rv);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", w->res->kind);
    cJSON_AddStringToObject(o, "apiVersion", av);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "metadata"),
                            "resourceVersion", rv);
    emit(w, "BOOKMARK", o);
    w->last_bookmark_ms = vrt_now_ms();
}

static void emit_gone(vrt_watch *w)
{
    cJSON *st = cJSON_CreateObject();
    cJSON_AddStringToObject(st, "kind", "Status");
    cJSON_AddStringToObject(st, "apiVersion", "v1");
    cJSON_AddObjectToObject(st, "metadata");
    cJSON_AddStringToObject(st, "status", "Failure");
    char msg[160];
    snprintf(msg, sizeof(msg), "too old resource version: %lld (%lld)",
             (long long)w->rv, (long long)vrt_store_oldest_rv(w->ctx->store));
    cJSON_AddStringToObject(st, "message", msg);
    cJSON_AddStringToObject(st, "reason", "Expired");
    cJSON_AddNumberToObject(st, "code", 410);
    emit(w, "ERROR", st);
    w->ended = 1;
}

/* Fills w->pending with whatever is due now; may block briefly. */
static void refill(vrt_watch *w)
{
    vrt_error err = VRT_ERROR_INIT;
    if (w->selected && !w->seeded && !w->initial) {
        w->seeded = 1;
        w->seed_failed = vrt_store_list(NULL, w->ctx->store,
                                        w->res->store_key, w->ns, on_seed, w,
                                        &err) != VRT_OK;
    }
    if (w->initial) {
        w->initial = 0;
        w->seeded = 1;
        w->seed_failed = vrt_store_list(&w->rv, w->ctx->store,
                                        w->res->store_key, w->ns, on_initial,
                                        w, &err) != VRT_OK;
        if (w->pending_len)
            return;
    }
    /* Events of other kinds advance the store but not this watch: remember
     * where the store was before the scan, and if the scan was not cut
     * short by the limit, everything up to there has been seen. */
    int64_t store_rv = vrt_store_current_rv(w->ctx->store);
    w->seen = 0;
    int rc = vrt_store_events_since(w->ctx->store, w->rv, w->res->store_key,
                                    w->ns, EVENTS_PER_FETCH, on_event, w,
                                    &err);
    emit_held(w); /* the scan's reader is back in the pool */
    if (rc == VRT_STORE_GONE) {
        emit_gone(w);
        return;
    }
    if (rc != VRT_OK) {
        w->ended = 1;
        return;
    }
    if (w->seen < EVENTS_PER_FETCH && store_rv > w->rv)
        w->rv = store_rv;
    if (w->pending_len)
        return;
    if (w->seen == 0)
        vrt_store_wait_kind(w->ctx->store, w->res->store_key, w->rv,
                            WAIT_SLICE_MS);
    if (w->bookmarks && vrt_now_ms() - w->last_bookmark_ms >= BOOKMARK_EVERY_MS)
        emit_bookmark(w);
}

long vrt_watch_produce(struct vrt_watch *w, char *buf, size_t max)
{
    if (w->pending_off == w->pending_len) {
        w->pending_off = w->pending_len = 0;
        if (w->ended || w->ctx->stopping || vrt_now_ms() >= w->deadline_ms)
            return -1;
        refill(w);
        if (w->pending_len == 0)
            return 0;
    }
    size_t n = w->pending_len - w->pending_off;
    if (n > max)
        n = max;
    memcpy(buf, w->pending + w->pending_off, n);
    w->pending_off += n;
    return (long)n;
}
