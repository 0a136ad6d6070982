/*
 * unknown_flags.c - a plugin whose vtable sets a flag bit (0x200) that no
 * ABI minor defines yet.  A host must refuse it rather than guess what a
 * later minor will mean by it.
 */
#include "stub.h"

static const vrt_provider unknown_flags_vtable = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_provider),
    .flags = VRT_PROVIDER_SERIALIZE | (1u << 9),
    .name = "unknown_flags",
    .version = "1.0.0-test",
    STUB_MANDATORY,
};

STUB_ENTRY(unknown_flags_vtable)
