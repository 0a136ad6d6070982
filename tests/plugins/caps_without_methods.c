/*
 * caps_without_methods.c - a plugin that claims VRT_CAP_SNAPSHOTS but
 * implements neither snapshot_create nor snapshot_delete.  docs/abi.md
 * (loader check 9) has the loader refuse it, so that the controller never
 * promises users a feature that can only fail.
 */
#include "stub.h"

static const vrt_provider caps_without_methods_vtable = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_provider),
    .caps = VRT_CAP_SNAPSHOTS,
    .name = "caps_without_methods",
    .version = "1.0.0-test",
    STUB_MANDATORY,
};

STUB_ENTRY(caps_without_methods_vtable)
