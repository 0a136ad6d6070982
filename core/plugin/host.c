/*
 * The host services table handed to every plugin, and the per-call and
 * per-connection contexts behind its opaque handles.
 */
#include "host.h"

#include <vrt/log.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>


static uint64_t host_realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int to_core_level(int32_t level)
{
    if (level < VRT_LOG_ERROR)
        return VRT_LVL_ERROR;
    if (level > VRT_LOG_DEBUG)
        return VRT_LVL_DEBUG;
    return (int)level; /* the two scales are the same by construction */
}

/* Plugin lines carry the source "provider.<type>" so filters work. */
static void host_log(vrt_host_ctx *ctx, int32_t level, const char *message)
{
    const char *source = ctx ? ctx->log_source : "provider";
    int lvl = to_core_level(level);
    if (!message || !vrt_log_enabled(source, lvl))
        return;
    if (ctx && ctx->label[0])
        vrt_log_write(source, lvl, "%s provider=\"%s\"", message, ctx->label);
    else
        vrt_log_write(source, lvl, "%s", message);
}

static int32_t host_log_enabled(vrt_host_ctx *ctx, int32_t level)
{
    return vrt_log_enabled(ctx ? ctx->log_source : "provider",
                           to_core_level(level));
}

static void *host_alloc(size_t size)
{
    return calloc(1, size ? size : 1);
}

static void host_free(void *ptr)
{
    free(ptr);
}

static int32_t host_secret_get(size_t *len, vrt_host_ctx *ctx,
                               const char *key, char *buf, size_t buf_size,
                               vrt_error *err)
{
    if (len)
        *len = 0;
    if (!ctx || !key || !len)
        return vrt_error_set(err, VRT_E_INVALID,
                             "secret_get needs a connection context, a key "
                             "and a length pointer.");
    if (!ctx->secret)
        return vrt_error_set(err, VRT_E_NOTFOUND,
                             "No credentials are configured for provider "
                             "\"%s\" (key \"%s\" asked).",
                             ctx->label, key);
    return ctx->secret(len, ctx->secret_opaque, key, buf, buf_size, err);
}

static int32_t host_cancelled(const vrt_call_ctx *call)
{
    if (!call)
        return 0;
    if (call->cancelled)
        return 1;
    return call->deadline_ms && vrt_now_ms() >= call->deadline_ms;
}

static void host_progress(const vrt_call_ctx *call, uint64_t done,
                          uint64_t total)
{
    /* The table promises a const context to plugins; the host owns it and
     * records the last report so that status writers can read it. */
    vrt_call_ctx *cc = (vrt_call_ctx *)call;
    if (!cc)
        return;
    cc->progress_done = done;
    cc->progress_total = total;
    if (cc->progress)
        cc->progress(cc->progress_opaque, done, total);
}

static const vrt_host_api host_api = {
    .abi = VRT_ABI_MAKE(VRT_ABI_MAJOR, VRT_ABI_MINOR),
    .struct_size = sizeof(vrt_host_api),
    .log = host_log,
    .log_enabled = host_log_enabled,
    .alloc = host_alloc,
    .free = host_free,
    .secret_get = host_secret_get,
    .clock_monotonic_ms = vrt_now_ms,
    .clock_realtime_ms = host_realtime_ms,
    .cancelled = host_cancelled,
    .progress = host_progress,
};

const vrt_host_api *vrt_host_api_get(void)
{
    return &host_api;
}

void vrt_callctx_init(vrt_call_ctx *ctx, uint32_t timeout_ms)
{
    memset(ctx, 0, sizeof(*ctx));
    if (timeout_ms)
        ctx->deadline_ms = vrt_now_ms() + timeout_ms;
}

int32_t vrt_secret_from_pairs(size_t *len, void *pairs, const char *key,
                              char *buf, size_t buf_size, vrt_error *err)
{
    const char *const *kv = pairs;
    for (; kv && kv[0]; kv += 2) {
        if (strcmp(kv[0], key) != 0)
            continue;
        size_t n = strlen(kv[1] ? kv[1] : "");
        *len = n + 1;
        if (!buf || buf_size < n + 1)
            return vrt_error_set(err, VRT_E_INVALID,
                                 "The buffer for secret key \"%s\" is too "
                                 "small: %zu bytes needed.",
                                 key, n + 1);
        memcpy(buf, kv[1] ? kv[1] : "", n + 1);
        *len = n;
        return VRT_OK;
    }
    return vrt_error_set(err, VRT_E_NOTFOUND,
                         "The credentials have no key \"%s\".", key);
}
