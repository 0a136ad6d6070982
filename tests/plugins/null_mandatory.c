/*
 * null_mandatory.c - a plugin without the mandatory method "create".
 */
#include "stub.h"

static const vrt_provider null_mandatory_vtable = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_provider),
    .name = "null_mandatory",
    .version = "1.0.0-test",
    .open = stub_open,
    .close = stub_close,
    .validate = stub_validate,
    .capabilities = stub_capabilities,
    .create = NULL,
    .destroy = stub_destroy,
    .power = stub_power,
    .describe = stub_describe,
    .task_status = stub_task_status,
};

STUB_ENTRY(null_mandatory_vtable)
