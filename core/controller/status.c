/*
 * Status writing: conditions in the metav1.Condition shape, and merge
 * patches of the status subresource.
 */
#include "controller_internal.h"

#include <vrt/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *vrt_meta_str(const cJSON *obj, const char *key)
{
    return cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"), key));
}

double vrt_meta_num(const cJSON *obj, const char *key)
{
    const cJSON *n =
        cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"), key);
    return cJSON_IsNumber(n) ? n->valuedouble : 0;
}

void vrt_object_path(char *buf, size_t size, const char *plural,
                     const char *ns, const char *name)
{
    snprintf(buf, size, GROUP_PATH "/namespaces/%s/%s/%s", ns, plural, name);
}


void vrt_cond_set(cJSON *status, const char *type, const char *cstatus,
                  const char *reason, const char *message, double generation)
{
    cJSON *conds = cJSON_GetObjectItem(status, "conditions");
    if (!cJSON_IsArray(conds)) {
        cJSON_DeleteItemFromObjectCaseSensitive(status, "conditions");
        conds = cJSON_AddArrayToObject(status, "conditions");
    }
    cJSON *cond = NULL, *it;
    cJSON_ArrayForEach(it, conds) {
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(it, "type"));
        if (t && strcmp(t, type) == 0)
            cond = it;
    }
    if (!cond) {
        cond = cJSON_CreateObject();
        cJSON_AddItemToArray(conds, cond);
        cJSON_AddStringToObject(cond, "type", type);
    }
    const char *old = cJSON_GetStringValue(cJSON_GetObjectItem(cond, "status"));
    if (!old || strcmp(old, cstatus) != 0 ||
        !cJSON_HasObjectItem(cond, "lastTransitionTime")) {
        char now[32];
        vrt_rfc3339_now(now);
        vrt_json_set_str(cond, "lastTransitionTime", now);
    }
    vrt_json_set_str(cond, "status", cstatus);
    vrt_json_set_str(cond, "reason", reason);
    vrt_json_set_str(cond, "message", message ? message : "");
    cJSON_DeleteItemFromObjectCaseSensitive(cond, "observedGeneration");
    cJSON_AddNumberToObject(cond, "observedGeneration", generation);
}

/* A merge patch that turns `old` into `new`: new's content, plus nulls for
 * keys that `new` no longer has, recursively in objects. */
static cJSON *merge_patch_between(const cJSON *old, const cJSON *new)
{
    cJSON *patch = cJSON_Duplicate(new, 1);
    const cJSON *o;
    cJSON_ArrayForEach(o, old) {
        cJSON *n = cJSON_GetObjectItemCaseSensitive(patch, o->string);
        if (!n) {
            cJSON_AddNullToObject(patch, o->string);
        } else if (cJSON_IsObject(o) && cJSON_IsObject(n)) {
            cJSON *sub = merge_patch_between(o, n);
            cJSON_ReplaceItemInObjectCaseSensitive(patch, o->string, sub);
        }
    }
    return patch;
}

int vrt_status_patch(vrt_controller *c, const char *path, const cJSON *old,
                     cJSON *status, vrt_error *err)
{
    char url[700];
    snprintf(url, sizeof(url), "%s/status", path);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "status",
                          old ? merge_patch_between(old, status)
                              : cJSON_Duplicate(status, 1));
    /* Remembered before sending: the watch may report the write before
     * the answer to the PATCH arrives. */
    vrt_own_begin(c, path, status);
    cJSON *resp = NULL;
    long code = 0;
    int rc = vrt_kube_request(&resp, &code, c->kube, "PATCH", url,
                              "application/merge-patch+json", body, err);
    cJSON_Delete(body);
    if (rc == VRT_OK && code >= 300)
        rc = err->code ? err->code : VRT_E_INTERNAL;
    vrt_own_end(c, path, resp, rc == VRT_OK);
    cJSON_Delete(resp);
    return rc;
}
