/*
 * bad_name.c - a plugin whose provider name has spaces and capitals, so it
 * could never be a Provider's spec.type.
 */
#include "stub.h"

static const vrt_provider bad_name_vtable = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_provider),
    .name = "Bad Name",
    .version = "1.0.0-test",
    STUB_MANDATORY,
};

STUB_ENTRY(bad_name_vtable)
