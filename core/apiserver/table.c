/*
 * meta.k8s.io/v1 Table responses, which kubectl asks for so that `get`
 * shows a CRD's additionalPrinterColumns.
 */
#include "apiserver.h"

#include <vrt/jsonpath.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

int vrt_accepts_table(const char *accept)
{
    return accept && strstr(accept, "as=Table") != NULL;
}

static void add_column(cJSON *defs, const char *name, const char *type,
                       const char *format, const char *desc, int priority)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", name);
    cJSON_AddStringToObject(c, "type", type);
    cJSON_AddStringToObject(c, "format", format ? format : "");
    cJSON_AddStringToObject(c, "description", desc ? desc : "");
    cJSON_AddNumberToObject(c, "priority", priority);
    cJSON_AddItemToArray(defs, c);
}

cJSON *vrt_table_new(const vrt_resource *res, const char *list_rv)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "kind", "Table");
    cJSON_AddStringToObject(t, "apiVersion", "meta.k8s.io/v1");
    cJSON *md = cJSON_AddObjectToObject(t, "metadata");
    if (list_rv)
        cJSON_AddStringToObject(md, "resourceVersion", list_rv);
    cJSON *defs = cJSON_AddArrayToObject(t, "columnDefinitions");
    add_column(defs, "Name", "string", "name",
               "Name must be unique within a namespace.", 0);
    const cJSON *col;
    if (res->columns && cJSON_GetArraySize(res->columns) > 0) {
        cJSON_ArrayForEach(col, res->columns) {
            const cJSON *prio = cJSON_GetObjectItem(col, "priority");
            add_column(defs,
                       cJSON_GetStringValue(cJSON_GetObjectItem(col, "name")),
                       cJSON_GetStringValue(cJSON_GetObjectItem(col, "type")),
                       cJSON_GetStringValue(cJSON_GetObjectItem(col, "format")),
                       cJSON_GetStringValue(
                           cJSON_GetObjectItem(col, "description")),
                       cJSON_IsNumber(prio) ? prio->valueint : 0);
        }
    } else {
        add_column(defs, "Age", "date", "",
                   "Time since the object was created.", 0);
    }
    cJSON_AddArrayToObject(t, "rows");
    return t;
}

/* Ages as kube-apiserver prints them ("45s", "5m30s", "3h", "2d4h"). */
static void human_age(char *buf, size_t size, const char *rfc3339)
{
    struct tm tm = {0};
    if (!strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm)) {
        snprintf(buf, size, "<invalid>");
        return;
    }
    long long s = (long long)difftime(time(NULL), timegm(&tm));
    long long m = s / 60, h = s / 3600, d = h / 24;
    if (s < -1)
        snprintf(buf, size, "<invalid>");
    else if (s < 0)
        snprintf(buf, size, "0s");
    else if (s < 120)
        snprintf(buf, size, "%llds", s);
    else if (m < 10)
        snprintf(buf, size, s % 60 ? "%lldm%llds" : "%lldm", m, s % 60);
    else if (m < 180)
        snprintf(buf, size, "%lldm", m);
    else if (h < 8)
        snprintf(buf, size, m % 60 ? "%lldh%lldm" : "%lldh", h, m % 60);
    else if (h < 48)
        snprintf(buf, size, "%lldh", h);
    else if (h < 24 * 8)
        snprintf(buf, size, h % 24 ? "%lldd%lldh" : "%lldd", d, h % 24);
    else if (d < 365 * 2)
        snprintf(buf, size, "%lldd", d);
    else if (d < 365 * 8)
        snprintf(buf, size, d % 365 ? "%lldy%lldd" : "%lldy", d / 365, d % 365);
    else
        snprintf(buf, size, "%lldy", d / 365);
}

static cJSON *cell(const cJSON *obj, const char *path, const char *type)
{
    const cJSON *n = vrt_jsonpath_node(obj, path);
    if (n && (cJSON_IsNumber(n) || cJSON_IsBool(n)) &&
        strcmp(type, "string") != 0)
        return cJSON_Duplicate(n, 0);
    char buf[1024];
    if (vrt_jsonpath_text(buf, sizeof(buf), obj, path) != 0 || !buf[0])
        return cJSON_CreateNull();
    if (strcmp(type, "date") == 0) {
        char age[32];
        human_age(age, sizeof(age), buf);
        return cJSON_CreateString(age);
    }
    return cJSON_CreateString(buf);
}

void vrt_table_add_row(cJSON *table, const vrt_resource *res,
                       const cJSON *obj, int include_object)
{
    cJSON *row = cJSON_CreateObject();
    cJSON *cells = cJSON_AddArrayToObject(row, "cells");
    const cJSON *md = cJSON_GetObjectItem(obj, "metadata");
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(md, "name"));
    cJSON_AddItemToArray(cells, cJSON_CreateString(name ? name : ""));
    const cJSON *col;
    if (res->columns && cJSON_GetArraySize(res->columns) > 0) {
        cJSON_ArrayForEach(col, res->columns) {
            const char *path =
                cJSON_GetStringValue(cJSON_GetObjectItem(col, "jsonPath"));
            const char *type =
                cJSON_GetStringValue(cJSON_GetObjectItem(col, "type"));
            cJSON_AddItemToArray(cells, cell(obj, path ? path : "",
                                             type ? type : "string"));
        }
    } else {
        cJSON_AddItemToArray(cells,
                             cell(obj, ".metadata.creationTimestamp", "date"));
    }
    if (include_object) {
        cJSON_AddItemToObject(row, "object", cJSON_Duplicate(obj, 1));
    } else {
        cJSON *pom = cJSON_AddObjectToObject(row, "object");
        cJSON_AddStringToObject(pom, "kind", "PartialObjectMetadata");
        cJSON_AddStringToObject(pom, "apiVersion", "meta.k8s.io/v1");
        cJSON_AddItemToObject(pom, "metadata",
                              md ? cJSON_Duplicate(md, 1) : cJSON_CreateObject());
    }
    cJSON_AddItemToArray(cJSON_GetObjectItem(table, "rows"), row);
}
