/*
 * Small cJSON helpers.
 */
#include <vrt/json.h>

void vrt_json_set_str(cJSON *obj, const char *key, const char *val)
{
    /* Copy first: val may be the very string about to be freed. */
    cJSON *item = val ? cJSON_CreateString(val) : NULL;
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    if (item)
        cJSON_AddItemToObject(obj, key, item);
}
