/*
 * short_struct.c - a plugin that claims ABI 1.0 but whose struct_size is
 * one method short of the 1.0 vtable.  The host must not read past the
 * size it was given, so it must refuse the plugin.
 */
#include "stub.h"

static const vrt_provider short_struct_vtable = {
    .abi = VRT_ABI_MAKE(1, 0),
    .struct_size = (uint32_t)(VRT_PROVIDER_SIZE_1_0 - sizeof(void (*)(void))),
    .name = "short_struct",
    .version = "1.0.0-test",
    STUB_MANDATORY,
};

STUB_ENTRY(short_struct_vtable)
