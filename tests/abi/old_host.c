/*
 * old_host.c - an ABI 1.0 host, for tests/abi/minors.sh: built with
 * VRT_ABI_TARGET_MINOR 0 against provider.h alone (no core), it stands for
 * a manager released before 1.1.  It loads a plugin the way any host must
 * (dlopen RTLD_NOW | RTLD_LOCAL, the entry symbol, negotiation, major and
 * minimum size), then drives the mandatory methods reading only the 1.0
 * part of the vtable, printing one "key=value" line per step.
 *
 *   old_host PLUGIN.so [ENDPOINT]
 *
 * Exit status: 0 when the plugin was accepted and a connection opened
 * (whatever later calls returned), 1 when not, 2 on bad usage.
 */
#ifndef VRT_ABI_TARGET_MINOR
#error "build old_host with -DVRT_ABI_TARGET_MINOR=0"
#endif
#include <virtrigaud/provider.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert(sizeof(vrt_provider) == VRT_PROVIDER_SIZE_1_0,
               "old_host must see the 1.0 vtable");

static void host_log(vrt_host_ctx *ctx, int32_t level, const char *message)
{
    (void)ctx;
    fprintf(stderr, "plugin log %d: %s\n", (int)level, message);
}

static int32_t host_log_enabled(vrt_host_ctx *ctx, int32_t level)
{
    (void)ctx;
    return level <= VRT_LOG_INFO;
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
    (void)ctx;
    (void)buf;
    (void)buf_size;
    *len = 0;
    memset(err, 0, sizeof(*err));
    err->code = VRT_E_NOTFOUND;
    snprintf(err->message, sizeof(err->message),
             "The old host has no credentials (key \"%s\").", key);
    return VRT_E_NOTFOUND;
}

static uint64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t host_monotonic(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

static uint64_t host_realtime(void)
{
    return clock_ms(CLOCK_REALTIME);
}

static int32_t host_cancelled(const vrt_call_ctx *call)
{
    (void)call;
    return 0;
}

static void host_progress(const vrt_call_ctx *call, uint64_t done,
                          uint64_t total)
{
    (void)call;
    (void)done;
    (void)total;
}

static const vrt_host_api host_api = {
    .abi = VRT_ABI_VERSION, /* 1.0 */
    .struct_size = sizeof(vrt_host_api),
    .log = host_log,
    .log_enabled = host_log_enabled,
    .alloc = host_alloc,
    .free = host_free,
    .secret_get = host_secret_get,
    .clock_monotonic_ms = host_monotonic,
    .clock_realtime_ms = host_realtime,
    .cancelled = host_cancelled,
    .progress = host_progress,
};

static void report(const char *key, int32_t rc, vrt_error *err)
{
    err->message[sizeof(err->message) - 1] = '\0';
    for (char *p = err->message; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    printf("%s rc=%d msg=%s\n", key, (int)rc, rc == VRT_OK ? "" : err->message);
    memset(err, 0, sizeof(*err));
}

/* Mandatory calls only: the 1.0 vtable is all this host knows. */
static void drive(const vrt_provider *vt, vrt_conn *conn)
{
    char id[VRT_ID_MAX] = "";
    vrt_task_ref task;
    vrt_caps caps;
    vrt_vm_info info;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call call = {.struct_size = sizeof(call)};
    vrt_vm_spec spec = {.struct_size = sizeof(spec),
                        .name = "old-host-vm",
                        .spec_json = "{\"cpu\":1,\"memoryMiB\":128}"};
    int32_t rc;

    report("validate", vt->validate(conn, &call, 0, &err), &err);
    memset(&caps, 0, sizeof(caps));
    caps.struct_size = sizeof(caps);
    rc = vt->capabilities(&caps, conn, &call, 0, &err);
    report("capabilities", rc, &err);
    memset(&task, 0, sizeof(task));
    rc = vt->create(id, &task, conn, &call, &spec, 0, &err);
    id[VRT_ID_MAX - 1] = '\0';
    report("create", rc, &err);
    printf("create.id=%s create.task=%s\n", id, task.id[0] ? "yes" : "none");
    if (rc != VRT_OK || !id[0])
        return;
    rc = vt->power(&task, conn, &call, id, VRT_POWER_OP_ON, 0, 0, &err);
    report("power", rc, &err);
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    rc = vt->describe(&info, conn, &call, id, 0, &err);
    report("describe", rc, &err);
    if (rc == VRT_OK) {
        info.name[sizeof(info.name) - 1] = '\0';
        printf("describe.exists=%d describe.power=%d describe.name=%s\n",
               (int)info.exists, (int)info.power_state, info.name);
    }
    host_free(info.raw_json);
    memset(&task, 0, sizeof(task));
    report("destroy", vt->destroy(&task, conn, &call, id, 0, &err), &err);
}

int main(int argc, char **argv)
{
    union {
        void *obj;
        vrt_provider_entry_fn fn;
    } entry;
    const vrt_provider *vt = NULL;
    vrt_conn *conn = NULL;
    vrt_error err = VRT_ERROR_INIT;
    int status = 1;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "Usage: old_host PLUGIN.so [ENDPOINT]\n");
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        printf("load rc=dlopen msg=%s\n", dlerror());
        return 1;
    }
    entry.obj = dlsym(h, VRT_PROVIDER_ENTRY_SYMBOL);
    if (!entry.obj) {
        printf("load rc=nosymbol\n");
        goto cleanup;
    }
    int32_t rc = entry.fn(&host_api, VRT_ABI_VERSION, &vt, &err);
    report("entry", rc, &err);
    if (rc != VRT_OK || !vt)
        goto cleanup;
    printf("plugin.abi=%u.%u plugin.struct_size=%u host.struct_size=%zu\n",
           (unsigned)VRT_ABI_MAJOR_OF(vt->abi),
           (unsigned)VRT_ABI_MINOR_OF(vt->abi), (unsigned)vt->struct_size,
           sizeof(vrt_provider));
    if (VRT_ABI_MAJOR_OF(vt->abi) != VRT_ABI_MAJOR ||
        vt->struct_size < sizeof(vrt_provider) || !vt->open || !vt->close ||
        !vt->validate || !vt->capabilities || !vt->create || !vt->destroy ||
        !vt->power || !vt->describe || !vt->task_status) {
        printf("accept rc=refused\n");
        goto cleanup;
    }
    printf("accept rc=0\n");

    vrt_conn_params params = {.struct_size = sizeof(params),
                              .endpoint = argc == 3 ? argv[2] : "test://old",
                              .config_json = "{}"};
    rc = vt->open(&conn, &params, 0, &err);
    report("open", rc, &err);
    if (rc != VRT_OK || !conn)
        goto cleanup;
    drive(vt, conn);
    vt->close(conn);
    status = 0;

cleanup:
    /* Every call returned and close ran: no plugin code is running. */
    if (!getenv("VRT_NO_DLCLOSE"))
        dlclose(h);
    return status;
}
