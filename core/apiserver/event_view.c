/*
 * event_view.c - core/v1 Events as a view of events.k8s.io/v1 Events.
 *
 * kube-apiserver keeps one store for both API versions of Event, so that
 * `kubectl get events` and `kubectl describe` (which read core/v1) show
 * what recorders write through events.k8s.io/v1.  The standalone server
 * does the same: core/v1 Events live in the events.k8s.io store and are
 * renamed field by field on the way out and back in, as the upstream
 * conversion does (regarding = involvedObject, note = message,
 * deprecatedCount = count, ...).
 *
 * One addition on the way out: an Event written with only eventTime and
 * series (as events.k8s.io recorders write them) gets firstTimestamp,
 * lastTimestamp and count derived from those, because kubectl's
 * `get events` columns read the old fields.
 */
#include "apiserver.h"

#include <stdlib.h>
#include <string.h>

typedef struct rename {
    const char *events; /* events.k8s.io/v1 name */
    const char *core;   /* core/v1 name */
} rename;

static const rename renames[] = {
    {"regarding", "involvedObject"},
    {"note", "message"},
    {"reportingController", "reportingComponent"},
    {"deprecatedSource", "source"},
    {"deprecatedCount", "count"},
    {"deprecatedFirstTimestamp", "firstTimestamp"},
    {"deprecatedLastTimestamp", "lastTimestamp"},
};

/* A copy of `in` with its apiVersion and renamed top-level fields. */
static cJSON *convert(const cJSON *in, const char *api_version, int to_core)
{
    cJSON *out = cJSON_Duplicate(in, 1);
    if (!out)
        abort(); /* out of memory: the documented core policy */
    cJSON_DeleteItemFromObjectCaseSensitive(out, "apiVersion");
    cJSON_AddStringToObject(out, "apiVersion", api_version);
    for (size_t i = 0; i < sizeof(renames) / sizeof(renames[0]); i++) {
        const char *from = to_core ? renames[i].events : renames[i].core;
        const char *to = to_core ? renames[i].core : renames[i].events;
        cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(out, from);
        if (v) {
            cJSON_DeleteItemFromObjectCaseSensitive(out, to);
            cJSON_AddItemToObject(out, to, v);
        }
    }
    return out;
}

static void derive(cJSON *ev, const char *key, const char *from)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, from);
    if (!cJSON_HasObjectItem(ev, key) && cJSON_IsString(v))
        cJSON_AddStringToObject(ev, key, v->valuestring);
}

cJSON *vrt_event_core_view(const cJSON *stored)
{
    cJSON *ev = convert(stored, "v1", 1);
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(ev, "series");
    const cJSON *last = cJSON_GetObjectItemCaseSensitive(series, "lastObservedTime");
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(series, "count");
    derive(ev, "firstTimestamp", "eventTime");
    if (cJSON_IsString(last) && !cJSON_HasObjectItem(ev, "lastTimestamp"))
        cJSON_AddStringToObject(ev, "lastTimestamp", last->valuestring);
    derive(ev, "lastTimestamp", "eventTime");
    if (!cJSON_HasObjectItem(ev, "count"))
        cJSON_AddNumberToObject(ev, "count",
                                cJSON_IsNumber(count) ? count->valuedouble : 1);
    return ev;
}

cJSON *vrt_event_core_unview(const cJSON *given)
{
    return convert(given, "events.k8s.io/v1", 0);
}
