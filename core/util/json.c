/*
 * Small cJSON helpers.
 */
#include <vrt/json.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vrt_json_set_str(cJSON *obj, const char *key, const char *val)
{
    /* Copy first: val may be the very string about to be freed. */
    cJSON *item = val ? cJSON_CreateString(val) : NULL;
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    if (item)
        cJSON_AddItemToObject(obj, key, item);
}

int vrt_json_text_check(const char *text, size_t len, char *why,
                        size_t why_size)
{
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '\0') {
            snprintf(why, why_size, "a NUL byte at byte %zu", i);
            return -1;
        }
        if (in_string) {
            if (c == '"') {
                in_string = 0;
            } else if (c == '\\' && i + 1 < len) {
                if (text[i + 1] == 'u' && i + 5 < len &&
                    memcmp(text + i + 2, "0000", 4) == 0) {
                    snprintf(why, why_size,
                             "a NUL character (\\u0000) in a string at byte %zu",
                             i);
                    return -1;
                }
                i++; /* the escaped character */
            }
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t n = 0;
            while (i + n < len && strchr("+-.0123456789eE", text[i + n]) &&
                   text[i + n])
                n++;
            /* strtod needs a terminated copy: the body may not be. */
            char small[64], *num = n < sizeof(small) ? small : malloc(n + 1);
            if (!num)
                abort();
            memcpy(num, text + i, n);
            num[n] = '\0';
            int finite = isfinite(strtod(num, NULL));
            if (num != small)
                free(num);
            if (finite) {
                i += n - 1;
                continue;
            }
            snprintf(why, why_size,
                     "the number at byte %zu is beyond the range of a "
                     "double-precision value",
                     i);
            return -1;
        }
    }
    return 0;
}
