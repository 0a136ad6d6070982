/*
 * wrong_major.c - a plugin whose vtable says ABI 2.0 while its entry (too
 * trusting) accepts our 1.x host.  The loader must read the vtable's major
 * and refuse it.
 */
#include "stub.h"

static const vrt_provider wrong_major_vtable = {
    .abi = VRT_ABI_MAKE(2, 0),
    .struct_size = sizeof(vrt_provider),
    .name = "wrong_major",
    .version = "2.0.0-test",
    STUB_MANDATORY,
};

STUB_ENTRY(wrong_major_vtable)
