/*
 * no_entry.c - a plugin whose entry function is not exported: it is
 * defined, but without VRT_PROVIDER_EXPORT, so -fvisibility=hidden keeps it
 * out of the dynamic symbol table.  The commonest way to get this wrong.
 */
#include "stub.h"

static const vrt_provider no_entry_vtable = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_provider),
    .name = "no_entry",
    .version = "1.0.0-test",
    STUB_MANDATORY,
};

int32_t vrt_provider_entry(const vrt_host_api *host, uint32_t host_abi,
                           const vrt_provider **out, vrt_error *err);

int32_t vrt_provider_entry(const vrt_host_api *host, uint32_t host_abi,
                           const vrt_provider **out, vrt_error *err)
{
    (void)host;
    (void)host_abi;
    (void)err;
    *out = &no_entry_vtable;
    return VRT_OK;
}
