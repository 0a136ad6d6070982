/*
 * The vrt_error record: filling it, naming codes, and deciding retries.
 */
#include <vrt/error.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const code_names[] = {
    "OK",       "NOTFOUND",    "INVALID",   "UNAUTHORIZED", "NOTSUPP",
    "CONFLICT", "EXISTS",      "TIMEOUT",   "RATELIMIT",    "UNAVAILABLE",
    "RETRYABLE", "QUOTA",      "CANCELED",  "INTERNAL",     "AGAIN",
};

const char *vrt_error_code_name(int32_t code)
{
    if (code > 0 || code < VRT_E_LAST_)
        return "UNKNOWN";
    return code_names[-code];
}

static int32_t default_class(int32_t code)
{
    switch (code) {
    case VRT_E_TIMEOUT:
    case VRT_E_RATELIMIT:
    case VRT_E_UNAVAILABLE:
    case VRT_E_RETRYABLE:
    case VRT_E_AGAIN:
        return VRT_CLASS_TRANSIENT;
    case VRT_E_INVALID:
    case VRT_E_EXISTS:
        return VRT_CLASS_USER;
    default:
        return VRT_CLASS_PERMANENT;
    }
}

int vrt_error_set(vrt_error *err, int32_t code, const char *fmt, ...)
{
    if (!err)
        return code;
    memset(err, 0, sizeof(*err));
    err->code = code;
    err->klass = default_class(code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}

int vrt_error_is_retryable(const vrt_error *err)
{
    if (!err || err->code == VRT_OK)
        return 0;
    int32_t klass = err->klass ? err->klass : default_class(err->code);
    return klass == VRT_CLASS_TRANSIENT;
}
