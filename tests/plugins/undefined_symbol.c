/*
 * undefined_symbol.c - a plugin that calls a function no library defines,
 * as if built against a library version the host does not have.  Linked
 * without -z defs, it builds; dlopen with RTLD_NOW must then fail, and the
 * loader must show dlerror()'s text.
 */
#include "stub.h"

/* Defined nowhere, on purpose. */
extern int32_t vrt_test_symbol_that_does_not_exist(void);

static int32_t undefined_validate(vrt_conn *conn, const vrt_call *call,
                                  uint32_t flags, vrt_error *err)
{
    (void)conn;
    (void)call;
    STUB_CHECK_FLAGS(flags, err);
    return vrt_test_symbol_that_does_not_exist();
}

static const vrt_provider undefined_symbol_vtable = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_provider),
    .name = "undefined_symbol",
    .version = "1.0.0-test",
    .open = stub_open,
    .close = stub_close,
    .validate = undefined_validate,
    .capabilities = stub_capabilities,
    .create = stub_create,
    .destroy = stub_destroy,
    .power = stub_power,
    .describe = stub_describe,
    .task_status = stub_task_status,
};

STUB_ENTRY(undefined_symbol_vtable)
