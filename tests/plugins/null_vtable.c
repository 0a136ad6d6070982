/*
 * null_vtable.c - a plugin whose entry reports success but hands back no
 * vtable.
 */
#include "stub.h"

VRT_PROVIDER_EXPORT int32_t vrt_provider_entry(const vrt_host_api *host,
                                               uint32_t host_abi,
                                               const vrt_provider **out,
                                               vrt_error *err);

VRT_PROVIDER_EXPORT int32_t vrt_provider_entry(const vrt_host_api *host,
                                               uint32_t host_abi,
                                               const vrt_provider **out,
                                               vrt_error *err)
{
    (void)host;
    (void)host_abi;
    (void)err;
    *out = NULL;
    return VRT_OK;
}
