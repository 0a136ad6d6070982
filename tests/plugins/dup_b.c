/*
 * dup_b.c - one of two plugins (dup_a.c, dup_b.c) that both call
 * themselves "dup".  Whichever loads second must be refused.
 */
#include "stub.h"

static const vrt_provider dup_vtable = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_provider),
    .name = "dup",
    .version = "1.0.0-b",
    STUB_MANDATORY,
};

STUB_ENTRY(dup_vtable)
