/*
 * vrt/json.h - small cJSON helpers the core repeats everywhere.
 */
#ifndef VRT_JSON_H
#define VRT_JSON_H

#include <cJSON.h>

/* Sets obj[key] to the string val, replacing what was there; NULL val
 * removes the key.  val may point into the item it replaces. */
void vrt_json_set_str(cJSON *obj, const char *key, const char *val);

#endif
