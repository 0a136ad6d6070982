/*
 * Adding and removing our finalizers.  The whole list is written with the
 * object's resourceVersion as a precondition, so a finalizer someone else
 * added meanwhile is never lost; on a conflict (our cached copy was
 * older than the server's) the object is read again and the patch
 * retried.
 */
#include "controller_internal.h"

#include <vrt/log.h>

#include <string.h>

VRT_LOG_SOURCE("controller.finalizer");

#define ATTEMPTS 4

int vrt_finalizer_set(vrt_controller *c, const char *path, const cJSON *obj,
                      const char *finalizer, int add, const cJSON *status)
{
    cJSON *fresh = NULL;
    int rc = -1;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        const cJSON *md = cJSON_GetObjectItem(fresh ? fresh : obj, "metadata");
        cJSON *list = cJSON_CreateArray();
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(md, "finalizers"))
            if (cJSON_IsString(it) && strcmp(it->valuestring, finalizer) != 0)
                cJSON_AddItemToArray(list, cJSON_Duplicate(it, 0));
        if (add)
            cJSON_AddItemToArray(list, cJSON_CreateString(finalizer));
        cJSON *body = cJSON_CreateObject();
        cJSON *bmd = cJSON_AddObjectToObject(body, "metadata");
        cJSON_AddItemToObject(bmd, "finalizers", list);
        const char *rv = cJSON_GetStringValue(cJSON_GetObjectItem(md, "resourceVersion"));
        if (rv)
            cJSON_AddStringToObject(bmd, "resourceVersion", rv);
        cJSON *resp = NULL;
        long code = 0;
        vrt_error err = VRT_ERROR_INIT;
        if (status) /* its watch event need not wake the object again */
            vrt_own_begin(c, path, status);
        int r = vrt_kube_request(&resp, &code, c->kube, "PATCH", path,
                                 "application/merge-patch+json", body, &err);
        if (status)
            vrt_own_end(c, path, resp, r == VRT_OK && code < 300);
        cJSON_Delete(body);
        cJSON_Delete(resp);
        if (r == VRT_OK && (code < 300 || (code == 404 && !add))) {
            rc = 0;
            break;
        }
        if (r != VRT_OK || code != 409) {
            vrt_log_debug("Finalizer patch of \"%s\" answered %ld: %s", path,
                          code, err.message);
            break;
        }
        /* Conflict: read the object again and retry with its version. */
        cJSON_Delete(fresh);
        fresh = NULL;
        code = 0;
        if (vrt_kube_request(&fresh, &code, c->kube, "GET", path, NULL, NULL,
                             &err) != VRT_OK || code != 200)
            break;
    }
    cJSON_Delete(fresh);
    return rc;
}
