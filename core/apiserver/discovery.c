/*
 * Discovery: /version, /api, /apis, the resource lists of each group
 * version, and the OpenAPI v3 documents kubectl reads for `explain` and to
 * learn that the server validates fields itself (fieldValidation).
 */
#include "apiserver.h"

#include <stdio.h>
#include <string.h>

static void add_strv(cJSON *obj, const char *key, char **v)
{
    if (!v || !v[0])
        return;
    cJSON *arr = cJSON_AddArrayToObject(obj, key);
    for (size_t i = 0; v[i]; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(v[i]));
}

static cJSON *verbs(const char *const *list)
{
    cJSON *arr = cJSON_CreateArray();
    for (; *list; list++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(*list));
    return arr;
}

static const char *const main_verbs[] = {"create", "delete", "deletecollection",
                                         "get",    "list",   "patch",
                                         "update", "watch",  NULL};
static const char *const sub_verbs[] = {"get", "patch", "update", NULL};

static cJSON *resource_list(const vrt_resources *rs, const char *group,
                            const char *version)
{
    cJSON *list = cJSON_CreateObject();
    cJSON_AddStringToObject(list, "kind", "APIResourceList");
    cJSON_AddStringToObject(list, "apiVersion", "v1");
    char gv[160];
    if (group[0])
        snprintf(gv, sizeof(gv), "%s/%s", group, version);
    else
        snprintf(gv, sizeof(gv), "%s", version);
    cJSON_AddStringToObject(list, "groupVersion", gv);
    cJSON *items = cJSON_AddArrayToObject(list, "resources");
    for (size_t i = 0; i < rs->count; i++) {
        const vrt_resource *r = rs->items[i];
        if (strcmp(r->group, group) || strcmp(r->version, version))
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", r->plural);
        cJSON_AddStringToObject(e, "singularName", r->singular);
        cJSON_AddBoolToObject(e, "namespaced", r->namespaced);
        cJSON_AddStringToObject(e, "kind", r->kind);
        cJSON_AddItemToObject(e, "verbs", verbs(main_verbs));
        add_strv(e, "shortNames", r->short_names);
        add_strv(e, "categories", r->categories);
        cJSON_AddItemToArray(items, e);
        const char *subs[] = {r->has_status ? "status" : NULL,
                              r->has_scale ? "scale" : NULL};
        for (int k = 0; k < 2; k++) {
            if (!subs[k])
                continue;
            char name[160];
            snprintf(name, sizeof(name), "%s/%s", r->plural, subs[k]);
            cJSON *s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "name", name);
            cJSON_AddStringToObject(s, "singularName", "");
            cJSON_AddBoolToObject(s, "namespaced", r->namespaced);
            if (k == 1) {
                cJSON_AddStringToObject(s, "group", "autoscaling");
                cJSON_AddStringToObject(s, "version", "v1");
            }
            cJSON_AddStringToObject(s, "kind", k == 1 ? "Scale" : r->kind);
            cJSON_AddItemToObject(s, "verbs", verbs(sub_verbs));
            cJSON_AddItemToArray(items, s);
        }
    }
    return list;
}

/* Distinct group/version pairs, in registration order. */
static cJSON *group_list(const vrt_resources *rs)
{
    cJSON *list = cJSON_CreateObject();
    cJSON_AddStringToObject(list, "kind", "APIGroupList");
    cJSON_AddStringToObject(list, "apiVersion", "v1");
    cJSON *groups = cJSON_AddArrayToObject(list, "groups");
    for (size_t i = 0; i < rs->count; i++) {
        const vrt_resource *r = rs->items[i];
        if (!r->group[0])
            continue;
        cJSON *g = NULL, *it;
        cJSON_ArrayForEach(it, groups) {
            if (strcmp(cJSON_GetObjectItem(it, "name")->valuestring,
                       r->group) == 0)
                g = it;
        }
        char gv[160];
        snprintf(gv, sizeof(gv), "%s/%s", r->group, r->version);
        if (!g) {
            g = cJSON_CreateObject();
            cJSON_AddStringToObject(g, "name", r->group);
            cJSON_AddArrayToObject(g, "versions");
            cJSON *pref = cJSON_AddObjectToObject(g, "preferredVersion");
            cJSON_AddStringToObject(pref, "groupVersion", gv);
            cJSON_AddStringToObject(pref, "version", r->version);
            cJSON_AddItemToArray(groups, g);
        }
        cJSON *versions = cJSON_GetObjectItem(g, "versions");
        int seen = 0;
        cJSON_ArrayForEach(it, versions) {
            seen |= strcmp(cJSON_GetObjectItem(it, "version")->valuestring,
                           r->version) == 0;
        }
        if (!seen) {
            cJSON *v = cJSON_CreateObject();
            cJSON_AddStringToObject(v, "groupVersion", gv);
            cJSON_AddStringToObject(v, "version", r->version);
            cJSON_AddItemToArray(versions, v);
        }
    }
    return list;
}

/* "infra.virtrigaud.io" -> "io.virtrigaud.infra", as Kubernetes names
 * OpenAPI definitions. */
static void reverse_group(char *out, size_t size, const char *group)
{
    out[0] = '\0';
    const char *end = group + strlen(group);
    while (end > group) {
        const char *dot = end;
        while (dot > group && dot[-1] != '.')
            dot--;
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%.*s", len ? "." : "",
                 (int)(end - dot), dot);
        end = dot > group ? dot - 1 : group;
    }
}

static cJSON *param(const char *name, const char *in)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", name);
    cJSON_AddStringToObject(p, "in", in);
    cJSON_AddItemToObject(p, "schema", cJSON_Parse("{\"type\":\"string\"}"));
    return p;
}

static cJSON *operation(const char *gvk_group, const char *version,
                        const char *kind, const char *action, int patch)
{
    cJSON *op = cJSON_CreateObject();
    cJSON_AddStringToObject(op, "x-kubernetes-action", action);
    cJSON *gvk = cJSON_AddObjectToObject(op, "x-kubernetes-group-version-kind");
    cJSON_AddStringToObject(gvk, "group", gvk_group);
    cJSON_AddStringToObject(gvk, "version", version);
    cJSON_AddStringToObject(gvk, "kind", kind);
    cJSON *params = cJSON_AddArrayToObject(op, "parameters");
    cJSON_AddItemToArray(params, param("dryRun", "query"));
    cJSON_AddItemToArray(params, param("fieldManager", "query"));
    cJSON_AddItemToArray(params, param("fieldValidation", "query"));
    if (patch)
        cJSON_AddItemToArray(params, param("force", "query"));
    return op;
}

/* The OpenAPI v3 document of one group version. */
static cJSON *openapi_gv(const vrt_resources *rs, const char *group,
                         const char *version)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "openapi", "3.0.0");
    cJSON *info = cJSON_AddObjectToObject(doc, "info");
    cJSON_AddStringToObject(info, "title", "virtrigaud");
    cJSON_AddStringToObject(info, "version", "v1beta1");
    cJSON *paths = cJSON_AddObjectToObject(doc, "paths");
    cJSON *schemas =
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(doc, "components"),
                                "schemas");
    char rg[160];
    reverse_group(rg, sizeof(rg), group[0] ? group : "core.api.k8s.io");
    for (size_t i = 0; i < rs->count; i++) {
        const vrt_resource *r = rs->items[i];
        if (strcmp(r->group, group) || strcmp(r->version, version))
            continue;
        char prefix[256], path[400], defname[256];
        if (group[0])
            snprintf(prefix, sizeof(prefix), "/apis/%s/%s", group, version);
        else
            snprintf(prefix, sizeof(prefix), "/api/%s", version);
        snprintf(path, sizeof(path), "%s%s/%s/{name}", prefix,
                 r->namespaced ? "/namespaces/{namespace}" : "", r->plural);
        cJSON *item = cJSON_AddObjectToObject(paths, path);
        cJSON_AddItemToObject(item, "get",
                              operation(group, version, r->kind, "get", 0));
        cJSON_AddItemToObject(item, "put",
                              operation(group, version, r->kind, "put", 0));
        cJSON_AddItemToObject(item, "patch",
                              operation(group, version, r->kind, "patch", 1));
        cJSON_AddItemToObject(item, "delete",
                              operation(group, version, r->kind, "delete", 0));
        snprintf(path, sizeof(path), "%s%s/%s", prefix,
                 r->namespaced ? "/namespaces/{namespace}" : "", r->plural);
        cJSON *coll = cJSON_AddObjectToObject(paths, path);
        cJSON_AddItemToObject(coll, "post",
                              operation(group, version, r->kind, "post", 0));
        cJSON_AddItemToObject(coll, "get",
                              operation(group, version, r->kind, "list", 0));

        snprintf(defname, sizeof(defname), "%s.%s.%s", rg, version, r->kind);
        cJSON *def = r->schema ? cJSON_Duplicate(r->schema, 1)
                               : cJSON_Parse("{\"type\":\"object\","
                                             "\"x-kubernetes-preserve-unknown-"
                                             "fields\":true}");
        cJSON *gvks = cJSON_AddArrayToObject(def, "x-kubernetes-group-version-kind");
        cJSON *gvk = cJSON_CreateObject();
        cJSON_AddStringToObject(gvk, "group", group);
        cJSON_AddStringToObject(gvk, "kind", r->kind);
        cJSON_AddStringToObject(gvk, "version", version);
        cJSON_AddItemToArray(gvks, gvk);
        cJSON_AddItemToObject(schemas, defname, def);
    }
    return doc;
}

/* /openapi/v3: where each group version's document is. */
static cJSON *openapi_root(const vrt_resources *rs)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *paths = cJSON_AddObjectToObject(root, "paths");
    for (size_t i = 0; i < rs->count; i++) {
        const vrt_resource *r = rs->items[i];
        char key[200], url[300];
        if (r->group[0])
            snprintf(key, sizeof(key), "apis/%s/%s", r->group, r->version);
        else
            snprintf(key, sizeof(key), "api/%s", r->version);
        if (cJSON_HasObjectItem(paths, key))
            continue;
        snprintf(url, sizeof(url), "/openapi/v3/%s?hash=v1", key);
        cJSON *e = cJSON_AddObjectToObject(paths, key);
        cJSON_AddStringToObject(e, "serverRelativeURL", url);
    }
    return root;
}

int vrt_discovery_handle(vrt_resp *r, vrt_apiserver_ctx *ctx,
                         const vrt_req *req, const char *path)
{
    const vrt_resources *rs = &ctx->resources;
    char group[128], version[64];

    if (strcmp(req->method, "GET") != 0)
        return 0;
    if (strcmp(path, "/version") == 0) {
        cJSON *v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "major", "1");
        cJSON_AddStringToObject(v, "minor", "32");
        cJSON_AddStringToObject(v, "gitVersion", "v1.32.0-virtrigaud");
        cJSON_AddStringToObject(v, "platform", "linux/amd64");
        vrt_resp_json(r, 200, v);
        return 1;
    }
    if (strcmp(path, "/api") == 0) {
        vrt_resp_json(r, 200,
                      cJSON_Parse("{\"kind\":\"APIVersions\",\"versions\":"
                                  "[\"v1\"],\"serverAddressByClientCIDRs\":"
                                  "[{\"clientCIDR\":\"0.0.0.0/0\","
                                  "\"serverAddress\":\"127.0.0.1\"}]}"));
        return 1;
    }
    if (strcmp(path, "/api/v1") == 0) {
        vrt_resp_json(r, 200, resource_list(rs, "", "v1"));
        return 1;
    }
    if (strcmp(path, "/apis") == 0) {
        vrt_resp_json(r, 200, group_list(rs));
        return 1;
    }
    if (strcmp(path, "/openapi/v3") == 0) {
        vrt_resp_json(r, 200, openapi_root(rs));
        return 1;
    }
    if (strcmp(path, "/openapi/v3/api/v1") == 0) {
        vrt_resp_json(r, 200, openapi_gv(rs, "", "v1"));
        return 1;
    }
    if (sscanf(path, "/openapi/v3/apis/%127[^/]/%63[^/]", group, version) == 2) {
        vrt_resp_json(r, 200, openapi_gv(rs, group, version));
        return 1;
    }
    int n = 0;
    if (sscanf(path, "/apis/%127[^/]/%63[^/]%n", group, version, &n) == 2 &&
        path[n] == '\0') {
        for (size_t i = 0; i < rs->count; i++)
            if (!strcmp(rs->items[i]->group, group) &&
                !strcmp(rs->items[i]->version, version)) {
                vrt_resp_json(r, 200, resource_list(rs, group, version));
                return 1;
            }
        vrt_resp_status(r, 404, "NotFound",
                        "The server has no group version \"%s/%s\".", group,
                        version);
        return 1;
    }
    return 0;
}
