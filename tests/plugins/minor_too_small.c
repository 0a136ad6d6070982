/*
 * minor_too_small.c - a plugin that claims ABI 1.1 but whose struct_size
 * is only the 1.0 size: the host would read 1.1 members it does not have.
 */
#include "stub.h"

static const vrt_provider minor_too_small_vtable = {
    .abi = VRT_ABI_MAKE(1, 1),
    .struct_size = (uint32_t)VRT_PROVIDER_SIZE_1_0,
    .name = "minor_too_small",
    .version = "1.1.0-test",
    STUB_MANDATORY,
};

STUB_ENTRY(minor_too_small_vtable)
