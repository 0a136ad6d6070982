/*
 * empty_name.c - a plugin whose provider name is the empty string.
 */
#include "stub.h"

static const vrt_provider empty_name_vtable = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_provider),
    .name = "",
    .version = "1.0.0-test",
    STUB_MANDATORY,
};

STUB_ENTRY(empty_name_vtable)
