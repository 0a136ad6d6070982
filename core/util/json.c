/*
 * Small cJSON helpers.
 */
#include <vrt/json.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An integer token (optional '-', digits and nothing else) that a double,
 * which is what cJSON keeps, cannot hold exactly: 0 when it can, 1 when
 * it is beyond 2^53 and not exact, 2 when it is beyond the 64-bit range.
 * Not an integer token (a fraction, an exponent): 0. */
static int integer_inexact(const char *num, size_t n)
{
    size_t i = num[0] == '-';
    int neg = i == 1;
    if (i == n)
        return 0;
    uint64_t mag = 0;
    int overflow = 0;
    for (; i < n; i++) {
        if (num[i] < '0' || num[i] > '9')
            return 0; /* a fraction or an exponent: not an integer token */
        unsigned d = (unsigned)(num[i] - '0');
        if (mag > (UINT64_MAX - d) / 10)
            overflow = 1; /* keep scanning: it may still be no integer */
        else
            mag = mag * 10 + d;
    }
    if (overflow || mag > (uint64_t)INT64_MAX + (neg ? 1 : 0))
        return 2;
    if (mag > (UINT64_C(1) << 53) && (uint64_t)(double)mag != mag)
        return 1;
    return 0;
}

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
            int inexact = finite ? integer_inexact(num, n) : 0;
            if (num != small)
                free(num);
            if (finite && !inexact) {
                i += n - 1;
                continue;
            }
            if (inexact == 2)
                snprintf(why, why_size,
                         "the integer at byte %zu is beyond the 64-bit range "
                         "and cannot be stored exactly",
                         i);
            else if (inexact)
                snprintf(why, why_size,
                         "the integer at byte %zu cannot be stored exactly "
                         "(beyond 2^53 a double-precision number, which "
                         "holds it, skips integers)",
                         i);
            else
                snprintf(why, why_size,
                         "the number at byte %zu is beyond the range of a "
                         "double-precision value",
                         i);
            return -1;
        }
    }
    return 0;
}
