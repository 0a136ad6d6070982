/*
 * Responses: JSON bodies and Kubernetes "Status" errors.
 */
#include "apiserver.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

void vrt_resp_json(vrt_resp *r, int code, cJSON *obj)
{
    r->status = code;
    r->body = cJSON_PrintUnformatted(obj);
    if (!r->body)
        abort();
    r->content_type = "application/json";
    cJSON_Delete(obj);
}

void vrt_resp_status(vrt_resp *r, int code, const char *reason,
                     const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    cJSON *st = cJSON_CreateObject();
    cJSON_AddStringToObject(st, "kind", "Status");
    cJSON_AddStringToObject(st, "apiVersion", "v1");
    cJSON_AddObjectToObject(st, "metadata");
    cJSON_AddStringToObject(st, "status", code < 400 ? "Success" : "Failure");
    cJSON_AddStringToObject(st, "message", msg);
    cJSON_AddStringToObject(st, "reason", reason);
    cJSON_AddNumberToObject(st, "code", code);
    vrt_resp_json(r, code, st);
}

void vrt_resp_from_error(vrt_resp *r, const vrt_error *err)
{
    static const struct {
        int32_t code;
        int http;
        const char *reason;
    } map[] = {
        {VRT_E_NOTFOUND, 404, "NotFound"},
        {VRT_E_EXISTS, 409, "AlreadyExists"},
        {VRT_E_CONFLICT, 409, "Conflict"},
        {VRT_E_INVALID, 422, "Invalid"},
        {VRT_E_UNAUTHORIZED, 401, "Unauthorized"},
        {VRT_E_NOTSUPP, 405, "MethodNotAllowed"},
        {VRT_E_TIMEOUT, 504, "Timeout"},
        {VRT_E_QUOTA, 507, "InternalError"},
        {VRT_E_UNAVAILABLE, 503, "ServiceUnavailable"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (map[i].code == err->code) {
            vrt_resp_status(r, map[i].http, map[i].reason, "%s", err->message);
            return;
        }
    vrt_resp_status(r, 500, "InternalError", "%s", err->message);
}

char *vrt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 ||
        st.st_size > 64 * 1024 * 1024) {
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        abort();
    size_t n = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}
