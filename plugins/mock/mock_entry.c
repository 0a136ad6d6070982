/*
 * mock_entry.c - the plugin's entry point, its vtables, and the
 * connection-level methods: open, close, validate, capabilities.
 *
 * Two vtables: the full 1.1 one, and a 1.0 one (selected with the
 * environment variable VRT_MOCK_ABI_MINOR=0) that advertises ABI 1.0 and
 * the 1.0 struct size, so that a host's compatibility paths can be tested
 * against a real plugin.
 */
#include <stdlib.h>
#include <string.h>

#include "mock.h"

#define SECRET_BUF 256

const vrt_host_api *mock_host;
uint32_t mock_abi_minor = VRT_ABI_MINOR;

static int32_t mock_open(vrt_conn **out, const vrt_conn_params *params,
                         uint32_t flags, vrt_error *err);
static void mock_close(vrt_conn *conn);
static int32_t mock_validate(vrt_conn *conn, const vrt_call *call,
                             uint32_t flags, vrt_error *err);
static int32_t mock_capabilities(vrt_caps *out, vrt_conn *conn,
                                 const vrt_call *call, uint32_t flags,
                                 vrt_error *err);

#define MOCK_METHODS_1_0                                                       \
    .open = mock_open, .close = mock_close, .validate = mock_validate,         \
    .capabilities = mock_capabilities, .create = mock_create,                  \
    .destroy = mock_destroy, .power = mock_power, .describe = mock_describe,   \
    .task_status = mock_task_status, .reconfigure = mock_reconfigure,          \
    .hardware_upgrade = mock_hardware_upgrade,                                 \
    .snapshot_create = mock_snapshot_create,                                   \
    .snapshot_delete = mock_snapshot_delete,                                   \
    .snapshot_revert = mock_snapshot_revert, .clone = mock_clone,              \
    .image_prepare = mock_image_prepare, .list_vms = mock_list_vms,            \
    .disk_info = mock_disk_info, .disk_export_open = mock_disk_export_open,    \
    .stream_read = mock_stream_read, .stream_close = mock_stream_close,        \
    .disk_import_open = mock_disk_import_open,                                 \
    .stream_write = mock_stream_write, .stream_finish = mock_stream_finish,    \
    .stream_abort = mock_stream_abort

static const vrt_provider vtable_1_1 = {
    .abi = VRT_ABI_MAKE(1, 1),
    .struct_size = sizeof(vrt_provider),
    .caps = MOCK_CAPS_ALL,
    .flags = 0, /* thread-safe: no VRT_PROVIDER_SERIALIZE */
    .name = MOCK_NAME,
    .version = MOCK_VERSION,
    MOCK_METHODS_1_0,
    .console = mock_console,
    .list_hosts = mock_list_hosts,
};

/* The same plugin as a 1.0 host would have known it. */
static const vrt_provider vtable_1_0 = {
    .abi = VRT_ABI_MAKE(1, 0),
    .struct_size = VRT_PROVIDER_SIZE_1_0,
    .caps = MOCK_CAPS_ALL & VRT_CAP_ALL_1_0_,
    .flags = 0,
    .name = MOCK_NAME,
    .version = MOCK_VERSION,
    MOCK_METHODS_1_0,
};

static const vrt_provider *vtable(void)
{
    return mock_abi_minor == 0 ? &vtable_1_0 : &vtable_1_1;
}

uint64_t mock_caps(const vrt_conn *conn)
{
    return conn->cfg.caps & vtable()->caps;
}

void mock_conn_ref(vrt_conn *conn)
{
    pthread_mutex_lock(&conn->lock);
    conn->refs++;
    pthread_mutex_unlock(&conn->lock);
}

void mock_conn_unref(vrt_conn *conn)
{
    int last;

    if (!conn)
        return;
    pthread_mutex_lock(&conn->lock);
    last = --conn->refs == 0;
    pthread_mutex_unlock(&conn->lock);
    if (!last)
        return;
    mock_state_release(conn->state);
    mock_config_clear(&conn->cfg);
    pthread_mutex_destroy(&conn->lock);
    free(conn);
}

static int32_t check_params(const vrt_conn_params *params, uint32_t flags,
                            vrt_error *err)
{
    if (!params)
        return mock_err(err, VRT_E_INVALID, "open: params is NULL.");
    if (!VRT_HAS_MEMBER(params, vrt_conn_params, ctx))
        return mock_err(err, VRT_E_INVALID,
                        "open: params->struct_size %u is too small.",
                        params->struct_size);
    if (flags || params->flags)
        return mock_err(err, VRT_E_INVALID,
                        "open: flags and params->flags must be 0.");
    if (!params->endpoint ||
        strncmp(params->endpoint, MOCK_ENDPOINT_PREFIX,
                sizeof(MOCK_ENDPOINT_PREFIX) - 1) != 0)
        return mock_err(err, VRT_E_INVALID,
                        "open: endpoint must start with \"" MOCK_ENDPOINT_PREFIX
                        "\", e.g. \"mock://lab1\".");
    if (!params->config_json)
        return mock_err(err, VRT_E_INVALID,
                        "open: params->config_json is NULL; pass \"{}\" at "
                        "least.");
    return VRT_OK;
}

static int32_t mock_open(vrt_conn **out, const vrt_conn_params *params,
                         uint32_t flags, vrt_error *err)
{
    vrt_conn *conn = NULL;
    int32_t rc;

    if (!out)
        return mock_err(err, VRT_E_INVALID, "open: out is NULL.");
    *out = NULL;
    if (!mock_host)
        return mock_err(err, VRT_E_INTERNAL,
                        "open: the plugin entry point was not called.");
    rc = check_params(params, flags, err);
    if (rc != VRT_OK)
        return rc;
    conn = calloc(1, sizeof(*conn));
    if (!conn)
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    pthread_mutex_init(&conn->lock, NULL);
    conn->refs = 1;
    conn->ctx = params->ctx;
    rc = mock_config_parse(&conn->cfg, params->ctx, params->config_json, err);
    if (rc == VRT_OK)
        rc = mock_state_acquire(&conn->state, params->endpoint, err);
    if (rc == VRT_OK && conn->cfg.state_file)
        rc = mock_state_attach(conn->state, conn->cfg.state_file, err);
    if (rc != VRT_OK) {
        mock_conn_unref(conn);
        return rc;
    }
    mock_log(conn->ctx, VRT_LOG_DEBUG,
             "Opened a mock connection (async=%d latencyMs=%u).",
             conn->cfg.async, conn->cfg.latency_ms);
    *out = conn;
    return VRT_OK;
}

static void mock_close(vrt_conn *conn)
{
    mock_conn_unref(conn);
}

/* Looks the required credential up; its value is wiped and never logged. */
static int32_t check_secret(vrt_conn *conn, vrt_error *err)
{
    const char *key = conn->cfg.require_secret;
    char small[SECRET_BUF];
    char *buf = small;
    size_t size = sizeof(small), len = 0;
    vrt_error serr = VRT_ERROR_INIT;
    int32_t rc;

    rc = mock_host->secret_get(&len, conn->ctx, key, buf, size, &serr);
    if (rc == VRT_E_INVALID && len > size && len <= 1u << 20) {
        size = len;
        buf = malloc(size);
        if (!buf)
            return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
        rc = mock_host->secret_get(&len, conn->ctx, key, buf, size, &serr);
    }
    if (rc == VRT_OK && len == 0)
        rc = VRT_E_NOTFOUND;
    explicit_bzero(buf, size);
    if (buf != small)
        free(buf);
    if (rc == VRT_E_NOTFOUND)
        return mock_err(err, VRT_E_UNAUTHORIZED,
                        "validate: the credentials have no value for key "
                        "\"%.64s\", which this mock provider requires.",
                        key);
    if (rc != VRT_OK)
        return mock_err(err, VRT_E_UNAUTHORIZED,
                        "validate: reading credential key \"%.64s\" failed "
                        "(%s).",
                        key, mock_code_name(rc));
    return VRT_OK;
}

static int32_t mock_validate(vrt_conn *conn, const vrt_call *call,
                             uint32_t flags, vrt_error *err)
{
    int32_t rc = mock_check_call(conn, call, flags, MOCK_M_VALIDATE, err);

    if (rc == VRT_OK)
        rc = mock_gate(NULL, conn, call, MOCK_M_VALIDATE, err);
    if (rc == VRT_OK && conn->cfg.require_secret)
        rc = check_secret(conn, err);
    return rc;
}

static int32_t mock_capabilities(vrt_caps *out, vrt_conn *conn,
                                 const vrt_call *call, uint32_t flags,
                                 vrt_error *err)
{
    const mock_method m = MOCK_M_CAPABILITIES;
    vrt_caps full;
    int32_t rc = mock_check_call(conn, call, flags, m, err);

    if (rc == VRT_OK)
        rc = mock_check_arg(out, "out", m, err);
    if (rc == VRT_OK && !VRT_HAS_MEMBER(out, vrt_caps, disk_formats))
        rc = mock_err(err, VRT_E_INVALID,
                      "capabilities: out->struct_size %u is too small.",
                      out->struct_size);
    if (rc == VRT_OK)
        rc = mock_gate(NULL, conn, call, m, err);
    if (rc != VRT_OK)
        return rc;
    memset(&full, 0, sizeof(full));
    full.disk_formats = conn->cfg.disk_formats;
    full.caps = mock_caps(conn);
    mock_put_sized(out, &full, sizeof(full));
    return VRT_OK;
}

static int32_t pick_minor(uint32_t *minor, vrt_error *err)
{
    const char *env = getenv("VRT_MOCK_ABI_MINOR");

    *minor = VRT_ABI_MINOR;
    if (!env || !env[0] || strcmp(env, "1") == 0)
        return VRT_OK;
    if (strcmp(env, "0") == 0) {
        *minor = 0;
        return VRT_OK;
    }
    return mock_err(err, VRT_E_INVALID,
                    "VRT_MOCK_ABI_MINOR must be 0 or 1, not \"%.16s\".", env);
}

VRT_PROVIDER_EXPORT int32_t vrt_provider_entry(const vrt_host_api *host,
                                               uint32_t host_abi,
                                               const vrt_provider **out,
                                               vrt_error *err)
{
    uint32_t minor;
    int32_t rc;

    if (!out)
        return mock_err(err, VRT_E_INVALID, "mock: out is NULL.");
    *out = NULL;
    if (VRT_ABI_MAJOR_OF(host_abi) != VRT_ABI_MAJOR)
        return mock_err(err, VRT_E_NOTSUPP,
                        "mock speaks provider ABI major %u; the host speaks "
                        "%u.%u.",
                        VRT_ABI_MAJOR, VRT_ABI_MAJOR_OF(host_abi),
                        VRT_ABI_MINOR_OF(host_abi));
    if (!host || host->struct_size < VRT_HOST_API_SIZE_1_0 || !host->log ||
        !host->alloc || !host->free || !host->secret_get ||
        !host->clock_monotonic_ms || !host->cancelled)
        return mock_err(err, VRT_E_NOTSUPP,
                        "mock needs a complete host services table "
                        "(log, alloc, free, secret_get, clock, cancelled).");
    rc = pick_minor(&minor, err);
    if (rc != VRT_OK)
        return rc;
    mock_host = host;
    mock_abi_minor = minor;
    *out = vtable();
    return VRT_OK;
}
