/*
 * unknown_caps.c - a plugin built for this ABI whose caps has a bit (40)
 * that the ABI does not define.
 */
#include "stub.h"

static const vrt_provider unknown_caps_vtable = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_provider),
    .caps = 1ull << 40,
    .name = "unknown_caps",
    .version = "1.0.0-test",
    STUB_MANDATORY,
};

STUB_ENTRY(unknown_caps_vtable)
