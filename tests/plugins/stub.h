/*
 * stub.h - the shared body of the test plugins in tests/plugins/: a small,
 * correct set of mandatory methods that each deliberately broken plugin
 * then breaks in exactly one way.  A header, not a .c, because the
 * Makefile builds one .so per .c file here.
 *
 * Everything is static and marked unused, so a plugin takes only what it
 * needs.  The stub keeps no VMs: create hands back a fixed id, describe
 * reports "does not exist".  Plugins that need real behaviour (oot_plugin.c
 * in tests/abi/) do not use this file.
 */
#ifndef VRT_TEST_PLUGIN_STUB_H
#define VRT_TEST_PLUGIN_STUB_H

#include <virtrigaud/provider.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STUB_FN __attribute__((unused)) static
#define STUB_VM_ID "stub-vm-1"

struct vrt_conn {
    int opened;
};

STUB_FN int32_t stub_err(vrt_error *err, int32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

STUB_FN int32_t stub_err(vrt_error *err, int32_t code, const char *fmt, ...)
{
    va_list ap;
    if (!err)
        return code;
    memset(err, 0, sizeof(*err));
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}

#define STUB_CHECK_FLAGS(flags, err)                                           \
    do {                                                                       \
        if (flags)                                                             \
            return stub_err((err), VRT_E_INVALID,                              \
                            "Unknown flags 0x%x.", (unsigned)(flags));         \
    } while (0)

STUB_FN int32_t stub_open(vrt_conn **out, const vrt_conn_params *params,
                          uint32_t flags, vrt_error *err)
{
    (void)params;
    *out = NULL;
    STUB_CHECK_FLAGS(flags, err);
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return stub_err(err, VRT_E_INTERNAL, "Out of memory.");
    (*out)->opened = 1;
    return VRT_OK;
}

STUB_FN void stub_close(vrt_conn *conn)
{
    free(conn);
}

STUB_FN int32_t stub_validate(vrt_conn *conn, const vrt_call *call,
                              uint32_t flags, vrt_error *err)
{
    (void)conn;
    (void)call;
    STUB_CHECK_FLAGS(flags, err);
    return VRT_OK;
}

STUB_FN int32_t stub_capabilities(vrt_caps *out, vrt_conn *conn,
                                  const vrt_call *call, uint32_t flags,
                                  vrt_error *err)
{
    (void)conn;
    (void)call;
    STUB_CHECK_FLAGS(flags, err);
    if (VRT_HAS_MEMBER(out, vrt_caps, caps)) {
        out->disk_formats = 0;
        out->caps = 0;
    }
    return VRT_OK;
}

STUB_FN int32_t stub_create(char id[VRT_ID_MAX], vrt_task_ref *task,
                            vrt_conn *conn, const vrt_call *call,
                            const vrt_vm_spec *spec, uint32_t flags,
                            vrt_error *err)
{
    (void)conn;
    (void)call;
    (void)spec;
    STUB_CHECK_FLAGS(flags, err);
    snprintf(id, VRT_ID_MAX, "%s", STUB_VM_ID);
    task->id[0] = '\0';
    return VRT_OK;
}

STUB_FN int32_t stub_destroy(vrt_task_ref *task, vrt_conn *conn,
                             const vrt_call *call, const char *id,
                             uint32_t flags, vrt_error *err)
{
    (void)task;
    (void)conn;
    (void)call;
    STUB_CHECK_FLAGS(flags, err);
    return stub_err(err, VRT_E_NOTFOUND, "VM \"%s\" does not exist.", id);
}

STUB_FN int32_t stub_power(vrt_task_ref *task, vrt_conn *conn,
                           const vrt_call *call, const char *id, int32_t op,
                           uint32_t graceful_timeout_s, uint32_t flags,
                           vrt_error *err)
{
    (void)conn;
    (void)call;
    (void)op;
    (void)graceful_timeout_s;
    STUB_CHECK_FLAGS(flags, err);
    task->id[0] = '\0';
    if (strcmp(id, STUB_VM_ID) != 0)
        return stub_err(err, VRT_E_NOTFOUND, "VM \"%s\" does not exist.", id);
    return VRT_OK;
}

STUB_FN int32_t stub_describe(vrt_vm_info *out, vrt_conn *conn,
                              const vrt_call *call, const char *id,
                              uint32_t flags, vrt_error *err)
{
    (void)conn;
    (void)call;
    (void)id;
    STUB_CHECK_FLAGS(flags, err);
    if (VRT_HAS_MEMBER(out, vrt_vm_info, exists))
        out->exists = 0;
    return VRT_OK;
}

STUB_FN int32_t stub_task_status(vrt_task_status *out, vrt_conn *conn,
                                 const vrt_call *call, const char *task_id,
                                 uint32_t flags, vrt_error *err)
{
    (void)out;
    (void)conn;
    (void)call;
    STUB_CHECK_FLAGS(flags, err);
    return stub_err(err, VRT_E_NOTFOUND, "Task \"%s\" does not exist.",
                    task_id);
}

/* Designated initialisers for every mandatory method. */
#define STUB_MANDATORY                                                         \
    .open = stub_open, .close = stub_close, .validate = stub_validate,        \
    .capabilities = stub_capabilities, .create = stub_create,                 \
    .destroy = stub_destroy, .power = stub_power, .describe = stub_describe,  \
    .task_status = stub_task_status

/* The one exported function: accepts any host of our major and hands back
 * `vtable`. */
#define STUB_ENTRY(vtable)                                                     \
    VRT_PROVIDER_EXPORT int32_t vrt_provider_entry(                            \
        const vrt_host_api *host, uint32_t host_abi, const vrt_provider **out, \
        vrt_error *err);                                                       \
    VRT_PROVIDER_EXPORT int32_t vrt_provider_entry(                            \
        const vrt_host_api *host, uint32_t host_abi, const vrt_provider **out, \
        vrt_error *err)                                                        \
    {                                                                          \
        (void)host;                                                            \
        *out = NULL;                                                           \
        if (VRT_ABI_MAJOR_OF(host_abi) != VRT_ABI_MAJOR)                       \
            return stub_err(err, VRT_E_NOTSUPP,                                \
                            "This plugin speaks ABI major %u only.",           \
                            (unsigned)VRT_ABI_MAJOR);                          \
        *out = &(vtable);                                                      \
        return VRT_OK;                                                         \
    }

#endif
