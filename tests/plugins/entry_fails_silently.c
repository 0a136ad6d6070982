/*
 * entry_fails_silently.c - a plugin whose entry fails without filling the
 * error record (and without a vtable).  The loader must still give the
 * user a message that says what happened.
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
    (void)out;
    (void)err;
    return VRT_E_INTERNAL;
}
