/* mock_util.c - errors, logging and small JSON helpers for the mock plugin. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"

int32_t mock_err(vrt_error *err, int32_t code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    memset(err, 0, sizeof(*err));
    err->code = code;
    err->klass = VRT_CLASS_DEFAULT;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}

void mock_log(vrt_host_ctx *ctx, int32_t level, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (!mock_host || !mock_host->log)
        return;
    if (mock_host->log_enabled && !mock_host->log_enabled(ctx, level))
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    mock_host->log(ctx, level, line);
}

/* Copies with truncation; dst is always terminated. */
void mock_copy(char *dst, size_t size, const char *src)
{
    size_t n = 0;

    if (!size)
        return;
    if (src) {
        n = strlen(src);
        if (n >= size)
            n = size - 1;
        memcpy(dst, src, n);
    }
    dst[n] = '\0';
}

char *mock_strdup(const char *s)
{
    size_t n;
    char *p;

    if (!s)
        return NULL;
    n = strlen(s) + 1;
    p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Makes room for `need` elements of size `elem`.  Returns 0 or -1. */
int mock_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    size_t ncap = *cap ? *cap : 8;
    void *p;

    if (need <= *cap)
        return 0;
    while (ncap < need)
        ncap *= 2;
    p = realloc(*arr, ncap * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static const struct {
    int32_t code;
    const char *name;
} code_names[] = {
    {VRT_E_NOTFOUND, "NOTFOUND"},       {VRT_E_INVALID, "INVALID"},
    {VRT_E_UNAUTHORIZED, "UNAUTHORIZED"}, {VRT_E_NOTSUPP, "NOTSUPP"},
    {VRT_E_CONFLICT, "CONFLICT"},       {VRT_E_EXISTS, "EXISTS"},
    {VRT_E_TIMEOUT, "TIMEOUT"},         {VRT_E_RATELIMIT, "RATELIMIT"},
    {VRT_E_UNAVAILABLE, "UNAVAILABLE"}, {VRT_E_RETRYABLE, "RETRYABLE"},
    {VRT_E_QUOTA, "QUOTA"},             {VRT_E_CANCELED, "CANCELED"},
    {VRT_E_INTERNAL, "INTERNAL"},       {VRT_E_AGAIN, "AGAIN"},
};

const char *mock_code_name(int32_t code)
{
    for (size_t i = 0; i < sizeof(code_names) / sizeof(code_names[0]); i++)
        if (code_names[i].code == code)
            return code_names[i].name;
    return "UNKNOWN";
}

int32_t mock_code_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(code_names) / sizeof(code_names[0]); i++)
        if (strcmp(code_names[i].name, name) == 0)
            return code_names[i].code;
    return 1;
}

/*
 * Reads optional integer obj[key] into *out, which keeps its value when the
 * key is absent.  `where` prefixes the field in messages ("spec_json").
 */
int32_t mock_json_uint(uint64_t *out, const cJSON *obj, const char *key,
                       uint64_t min, uint64_t max, const char *where,
                       vrt_error *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    double v;

    if (!item)
        return VRT_OK;
    if (!cJSON_IsNumber(item))
        return mock_err(err, VRT_E_INVALID, "%s.%s must be a number.", where,
                        key);
    v = item->valuedouble;
    /* Range first: the cast is only defined for values that fit. */
    if (!(v >= (double)min && v <= (double)max) || v != (double)(uint64_t)v)
        return mock_err(err, VRT_E_INVALID,
                        "%s.%s must be a whole number from %llu to %llu.",
                        where, key, (unsigned long long)min,
                        (unsigned long long)max);
    *out = (uint64_t)v;
    return VRT_OK;
}

/*
 * cJSON_Parse resets a process-wide error record on every call, a data race
 * when threads parse at once; the mock's own parses take turns.
 */
cJSON *mock_json_parse(const char *text)
{
    static pthread_mutex_t parse_lock = PTHREAD_MUTEX_INITIALIZER;
    cJSON *json;

    pthread_mutex_lock(&parse_lock);
    json = cJSON_Parse(text);
    pthread_mutex_unlock(&parse_lock);
    return json;
}

/* Prints `json` into memory from host->alloc, for raw_json. */
char *mock_json_dup_host(const cJSON *json)
{
    char *text = cJSON_PrintUnformatted(json);
    char *out = NULL;
    size_t n;

    if (!text)
        return NULL;
    n = strlen(text) + 1;
    out = mock_host->alloc(n);
    if (out)
        memcpy(out, text, n);
    cJSON_free(text);
    return out;
}

int mock_is_power_of_two(uint32_t v)
{
    return v && !(v & (v - 1));
}

const char *mock_format_name(uint32_t format)
{
    switch (format) {
    case VRT_DISK_RAW:
        return "raw";
    case VRT_DISK_QCOW2:
        return "qcow2";
    case VRT_DISK_VMDK:
        return "vmdk";
    default:
        return "unknown";
    }
}

/*
 * Copies a fully built output structure `full` into the caller's `out`,
 * only as far as the caller's struct_size (its first member) covers, and
 * keeps that struct_size.  How outputs stay compatible across minors.
 * Methods accept any struct_size that holds at least one member after
 * struct_size itself.
 */
void mock_put_sized(void *out, const void *full, size_t full_size)
{
    uint32_t size;

    memcpy(&size, out, sizeof(size));
    if (size <= sizeof(size)) /* callers reject this; stay safe anyway */
        return;
    memcpy((char *)out + sizeof(size), (const char *)full + sizeof(size),
           (size < full_size ? size : full_size) - sizeof(size));
}
