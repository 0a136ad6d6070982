/*
 * The kinds the API server serves: built-in core kinds, and the kinds
 * declared by CustomResourceDefinition documents.
 */
#include "apiserver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *vrt_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (!d)
        abort(); /* out of memory: the documented core policy */
    return memcpy(d, s, n);
}

static char **strv_new(const char *const *src)
{
    size_t n = 0;
    while (src && src[n])
        n++;
    char **v = calloc(n + 1, sizeof(*v));
    if (!v)
        abort();
    for (size_t i = 0; i < n; i++)
        v[i] = vrt_strdup(src[i]);
    return v;
}

static char **strv_from_json(const cJSON *arr)
{
    size_t n = (size_t)cJSON_GetArraySize(arr);
    char **v = calloc(n + 1, sizeof(*v));
    if (!v)
        abort();
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (cJSON_IsString(it))
            v[i++] = vrt_strdup(it->valuestring);
    }
    return v;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void push(vrt_resources *rs, vrt_resource *r)
{
    vrt_resource **items = realloc(rs->items, (rs->count + 1) * sizeof(*items));
    if (!items)
        abort();
    rs->items = items;
    rs->items[rs->count++] = r;
}

static void set_store_key(vrt_resource *r)
{
    size_t n = strlen(r->plural) + strlen(r->group) + 2;
    r->store_key = malloc(n);
    if (!r->store_key)
        abort();
    if (r->group[0])
        snprintf(r->store_key, n, "%s.%s", r->plural, r->group);
    else
        snprintf(r->store_key, n, "%s", r->plural);
}

typedef struct builtin {
    const char *group, *version, *kind, *plural, *singular;
    const char *short_names[3];
    int namespaced;
    /* kube-apiserver's strategy.AllowUnconditionalUpdate() for the kind:
     * true for Namespace, Secret, ConfigMap and Event; false for Lease,
     * so that a blind PUT cannot take over a leader-election lease. */
    int unconditional_update;
} builtin;

/* Core kinds the manager and kubectl need.  No schema: stored as given. */
static const builtin builtins[] = {
    {"", "v1", "Namespace", "namespaces", "namespace", {"ns", NULL}, 0, 1},
    {"", "v1", "Secret", "secrets", "secret", {NULL}, 1, 1},
    {"", "v1", "ConfigMap", "configmaps", "configmap", {"cm", NULL}, 1, 1},
    {"", "v1", "Event", "events", "event", {"ev", NULL}, 1, 1},
    {"coordination.k8s.io", "v1", "Lease", "leases", "lease", {NULL}, 1, 0},
    {"events.k8s.io", "v1", "Event", "events", "event", {"ev", NULL}, 1, 1},
};

/* core/v1 Events are kept with events.k8s.io/v1 Events, as in
 * kube-apiserver, with the columns of `kubectl get events`. */
static void view_core_events(vrt_resource *r)
{
    free(r->store_key);
    r->store_key = vrt_strdup("events.events.k8s.io");
    r->view = vrt_event_core_view;
    r->unview = vrt_event_core_unview;
    r->columns = cJSON_Parse(
        "[{\"name\":\"Last Seen\",\"type\":\"date\",\"jsonPath\":\".lastTimestamp\"},"
        "{\"name\":\"Type\",\"type\":\"string\",\"jsonPath\":\".type\"},"
        "{\"name\":\"Reason\",\"type\":\"string\",\"jsonPath\":\".reason\"},"
        "{\"name\":\"Object\",\"type\":\"string\",\"jsonPath\":\".involvedObject.name\"},"
        "{\"name\":\"Message\",\"type\":\"string\",\"jsonPath\":\".message\"}]");
    if (!r->columns)
        abort();
}

void vrt_resources_init_builtin(vrt_resources *rs)
{
    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
        const builtin *b = &builtins[i];
        vrt_resource *r = calloc(1, sizeof(*r));
        if (!r)
            abort();
        r->group = vrt_strdup(b->group);
        r->version = vrt_strdup(b->version);
        r->kind = vrt_strdup(b->kind);
        size_t n = strlen(b->kind) + 5;
        r->list_kind = malloc(n);
        if (!r->list_kind)
            abort();
        snprintf(r->list_kind, n, "%sList", b->kind);
        r->plural = vrt_strdup(b->plural);
        r->singular = vrt_strdup(b->singular);
        r->short_names = strv_new(b->short_names);
        r->categories = strv_new(NULL);
        r->namespaced = b->namespaced;
        r->builtin = 1;
        r->unconditional_update = b->unconditional_update;
        set_store_key(r);
        if (strcmp(b->kind, "Event") == 0 && !b->group[0])
            view_core_events(r);
        push(rs, r);
    }
}

static const char *str_at(const cJSON *obj, const char *a, const char *b)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(obj, a);
    if (b)
        n = cJSON_GetObjectItemCaseSensitive(n, b);
    return cJSON_IsString(n) ? n->valuestring : NULL;
}

int vrt_resources_add_crd(vrt_resources *rs, const cJSON *crd, char *errbuf,
                          size_t errsize)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(crd, "spec");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(spec, "names");
    const char *group = str_at(spec, "group", NULL);
    const char *kind = str_at(names, "kind", NULL);
    const char *plural = str_at(names, "plural", NULL);
    const char *scope = str_at(spec, "scope", NULL);
    const cJSON *versions = cJSON_GetObjectItemCaseSensitive(spec, "versions");

    if (!group || !kind || !plural || !cJSON_IsArray(versions)) {
        snprintf(errbuf, errsize,
                 "CRD %s lacks spec.group, spec.names.kind, spec.names.plural "
                 "or spec.versions.",
                 str_at(crd, "metadata", "name") ? str_at(crd, "metadata", "name")
                                                 : "(unnamed)");
        return -1;
    }
    const cJSON *v;
    int added = 0;
    cJSON_ArrayForEach(v, versions) {
        const cJSON *served = cJSON_GetObjectItemCaseSensitive(v, "served");
        const char *version = str_at(v, "name", NULL);
        if (!version || cJSON_IsFalse(served))
            continue;
        vrt_resource *r = calloc(1, sizeof(*r));
        if (!r)
            abort();
        r->group = vrt_strdup(group);
        r->version = vrt_strdup(version);
        r->kind = vrt_strdup(kind);
        const char *lk = str_at(names, "listKind", NULL);
        if (lk) {
            r->list_kind = vrt_strdup(lk);
        } else {
            size_t n = strlen(kind) + 5;
            r->list_kind = malloc(n);
            if (!r->list_kind)
                abort();
            snprintf(r->list_kind, n, "%sList", kind);
        }
        r->plural = vrt_strdup(plural);
        const char *singular = str_at(names, "singular", NULL);
        r->singular = vrt_strdup(singular ? singular : "");
        r->short_names = strv_from_json(
            cJSON_GetObjectItemCaseSensitive(names, "shortNames"));
        r->categories = strv_from_json(
            cJSON_GetObjectItemCaseSensitive(names, "categories"));
        r->namespaced = !scope || strcmp(scope, "Namespaced") == 0;
        const cJSON *sub = cJSON_GetObjectItemCaseSensitive(v, "subresources");
        r->has_status = cJSON_HasObjectItem(sub, "status");
        const cJSON *scale = cJSON_GetObjectItemCaseSensitive(sub, "scale");
        if (scale) {
            r->has_scale = 1;
            r->scale_spec = vrt_strdup(str_at(scale, "specReplicasPath", NULL));
            r->scale_status =
                vrt_strdup(str_at(scale, "statusReplicasPath", NULL));
            r->scale_selector =
                vrt_strdup(str_at(scale, "labelSelectorPath", NULL));
        }
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(v, "schema"), "openAPIV3Schema");
        if (schema)
            r->schema = cJSON_Duplicate(schema, 1);
        const cJSON *cols =
            cJSON_GetObjectItemCaseSensitive(v, "additionalPrinterColumns");
        if (cols)
            r->columns = cJSON_Duplicate(cols, 1);
        set_store_key(r);
        push(rs, r);
        added++;
    }
    if (!added) {
        snprintf(errbuf, errsize, "CRD for %s serves no version.", kind);
        return -1;
    }
    return 0;
}

void vrt_resources_free(vrt_resources *rs)
{
    for (size_t i = 0; i < rs->count; i++) {
        vrt_resource *r = rs->items[i];
        free(r->group);
        free(r->version);
        free(r->kind);
        free(r->list_kind);
        free(r->plural);
        free(r->singular);
        strv_free(r->short_names);
        strv_free(r->categories);
        free(r->scale_spec);
        free(r->scale_status);
        free(r->scale_selector);
        cJSON_Delete(r->schema);
        cJSON_Delete(r->columns);
        free(r->store_key);
        free(r);
    }
    free(rs->items);
    rs->items = NULL;
    rs->count = 0;
}

const vrt_resource *vrt_resources_find(const vrt_resources *rs,
                                       const char *group, const char *version,
                                       const char *plural)
{
    for (size_t i = 0; i < rs->count; i++) {
        const vrt_resource *r = rs->items[i];
        if (strcmp(r->group, group) == 0 && strcmp(r->version, version) == 0 &&
            strcmp(r->plural, plural) == 0)
            return r;
    }
    return NULL;
}

const vrt_resource *vrt_resources_find_kind(const vrt_resources *rs,
                                            const char *api_version,
                                            const char *kind)
{
    for (size_t i = 0; i < rs->count; i++) {
        const vrt_resource *r = rs->items[i];
        char gv[160];
        if (r->group[0])
            snprintf(gv, sizeof(gv), "%s/%s", r->group, r->version);
        else
            snprintf(gv, sizeof(gv), "%s", r->version);
        if (strcmp(gv, api_version) == 0 && strcmp(r->kind, kind) == 0)
            return r;
    }
    return NULL;
}
