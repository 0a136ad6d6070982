/*
 * Reads: get one object, list a collection (with label and field
 * selectors, as JSON or as a Table), and start a watch.
 */
#include "rest.h"

#include <vrt/selector.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct list_ctx {
    cJSON *items;      /* plain list, or */
    cJSON *table;      /* Table rows */
    const vrt_resource *res;
    vrt_selector *labels, *fields;
    int include_object;
} list_ctx;

static int list_visit(void *opaque, const cJSON *obj)
{
    list_ctx *lc = opaque;
    cJSON *view = lc->res->view ? lc->res->view(obj) : NULL;
    if (view)
        obj = view;
    if (vrt_selector_matches(lc->labels, obj) &&
        vrt_selector_matches(lc->fields, obj)) {
        if (lc->table)
            vrt_table_add_row(lc->table, lc->res, obj, lc->include_object);
        else
            cJSON_AddItemToArray(lc->items, cJSON_Duplicate(obj, 1));
    }
    cJSON_Delete(view);
    return 0;
}

/* Parses labelSelector and fieldSelector; on error fills r. */
static int parse_selectors(vrt_resp *r, vrt_selector **labels,
                           vrt_selector **fields, const vrt_req *req)
{
    char why[256];
    *fields = NULL;
    *labels = vrt_selector_parse(req->query(req->conn, "labelSelector"), 0,
                                 why, sizeof(why));
    if (!*labels) {
        vrt_resp_status(r, 400, "BadRequest",
                        "unable to parse requirement: %s", why);
        return -1;
    }
    *fields = vrt_selector_parse(req->query(req->conn, "fieldSelector"), 1,
                                 why, sizeof(why));
    if (!*fields) {
        vrt_selector_free(*labels);
        *labels = NULL;
        vrt_resp_status(r, 400, "BadRequest",
                        "invalid field selector: %s", why);
        return -1;
    }
    return 0;
}

static int include_object(const vrt_req *req)
{
    const char *inc = req->query(req->conn, "includeObject");
    return inc && strcmp(inc, "Object") == 0;
}

void vrt_rest_get(vrt_resp *r, vrt_apiserver_ctx *ctx, const vrt_req *req,
                  const vrt_route *rt)
{
    cJSON *obj = NULL;
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_rest_load(&obj, r, ctx, rt, &err) != 0)
        return;
    if (rt->sub && strcmp(rt->sub, "scale") == 0) {
        vrt_resp_json(r, 200, vrt_rest_scale_of(rt->res, obj));
        cJSON_Delete(obj);
        return;
    }
    if (vrt_accepts_table(req->accept)) {
        const cJSON *md = cJSON_GetObjectItem(obj, "metadata");
        cJSON *table = vrt_table_new(
            rt->res, cJSON_GetStringValue(cJSON_GetObjectItem(md, "resourceVersion")));
        vrt_table_add_row(table, rt->res, obj, include_object(req));
        cJSON_Delete(obj);
        vrt_resp_json(r, 200, table);
        return;
    }
    vrt_resp_json(r, 200, obj);
}

void vrt_rest_list(vrt_resp *r, vrt_apiserver_ctx *ctx, const vrt_req *req,
                   const vrt_route *rt)
{
    list_ctx lc = {.res = rt->res, .include_object = include_object(req)};
    if (parse_selectors(r, &lc.labels, &lc.fields, req))
        return;

    const char *watch = req->query(req->conn, "watch");
    if (watch && (strcmp(watch, "true") == 0 || strcmp(watch, "1") == 0)) {
        vrt_rest_watch(r, ctx, req, rt, lc.labels, lc.fields);
        return; /* the watch owns the selectors now */
    }

    int64_t rv = 0;
    vrt_error err = VRT_ERROR_INIT;
    cJSON *list = NULL;
    if (vrt_accepts_table(req->accept)) {
        lc.table = vrt_table_new(rt->res, NULL);
    } else {
        list = cJSON_CreateObject();
        char av[200];
        vrt_api_version_of(av, sizeof(av), rt->res);
        cJSON_AddStringToObject(list, "apiVersion", av);
        cJSON_AddStringToObject(list, "kind", rt->res->list_kind);
        cJSON_AddObjectToObject(list, "metadata");
        lc.items = cJSON_AddArrayToObject(list, "items");
    }
    int rc = vrt_store_list(&rv, ctx->store, rt->res->store_key, rt->ns,
                            list_visit, &lc, &err);
    vrt_selector_free(lc.labels);
    vrt_selector_free(lc.fields);
    cJSON *out = lc.table ? lc.table : list;
    if (rc != VRT_OK) {
        cJSON_Delete(out);
        vrt_resp_from_error(r, &err);
        return;
    }
    char rvs[32];
    snprintf(rvs, sizeof(rvs), "%lld", (long long)rv);
    cJSON *md = cJSON_GetObjectItem(out, "metadata");
    cJSON_DeleteItemFromObject(md, "resourceVersion");
    cJSON_AddStringToObject(md, "resourceVersion", rvs);
    vrt_resp_json(r, 200, out);
}

void vrt_rest_watch(vrt_resp *r, vrt_apiserver_ctx *ctx, const vrt_req *req,
                    const vrt_route *rt, vrt_selector *labels,
                    vrt_selector *fields)
{
    const char *rvq = req->query(req->conn, "resourceVersion");
    const char *bm = req->query(req->conn, "allowWatchBookmarks");
    const char *to = req->query(req->conn, "timeoutSeconds");
    char *rv_end = NULL;
    int64_t since = rvq && *rvq ? strtoll(rvq, &rv_end, 10) : 0;
    if (rvq && *rvq && (*rv_end || since < 0)) {
        vrt_resp_status(r, 400, "BadRequest",
                        "resourceVersion \"%s\" is not a valid resource version", rvq);
        return;
    }
    uint32_t timeout = to ? (uint32_t)strtoul(to, NULL, 10) : 0;
    if (timeout == 0 || timeout > 3600)
        timeout = 1800;
    /* No resourceVersion (or "0"): start with the current state as ADDED
     * events, as kube-apiserver does, then follow changes. */
    r->watch = vrt_watch_new(ctx, rt->res, rt->ns, since,
                             vrt_accepts_table(req->accept),
                             bm && strcmp(bm, "true") == 0, timeout, labels,
                             fields);
    r->status = 200;
    r->content_type = "application/json";
}
