/*
 * meta.k8s.io/v1 Table responses, which kubectl asks for so that `get`
 * shows a CRD's additionalPrinterColumns.
 */
#include "apiserver.h"

#include <vrt/jsonpath.h>

#include <string.h>

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

static cJSON *cell(const cJSON *obj, const char *path, const char *type)
{
    const cJSON *n = vrt_jsonpath_node(obj, path);
    if (n && (cJSON_IsNumber(n) || cJSON_IsBool(n)) &&
        strcmp(type, "string") != 0)
        return cJSON_Duplicate(n, 0);
    char buf[1024];
    if (vrt_jsonpath_text(buf, sizeof(buf), obj, path) != 0 || !buf[0])
        return cJSON_CreateNull();
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
