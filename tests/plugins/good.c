/*
 * good.c - a minimal, correct plugin: every mandatory method, no optional
 * one.  The positive control for the loader tests: it must load, also
 * right after a broken plugin was refused.
 */
#include "stub.h"

static const vrt_provider good_vtable = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_provider),
    .name = "good",
    .version = "1.0.0-test",
    STUB_MANDATORY,
};

STUB_ENTRY(good_vtable)
