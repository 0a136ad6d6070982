/*
 * refuses_host.c - a plugin that needs a newer host: its entry refuses
 * every host older than 1.9 with VRT_E_NOTSUPP and says so.  The loader
 * must pass that message on to the user.
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
    *out = NULL;
    if (VRT_ABI_MAJOR_OF(host_abi) != 1 || VRT_ABI_MINOR_OF(host_abi) < 9)
        return stub_err(err, VRT_E_NOTSUPP,
                        "The refuses_host provider needs host ABI 1.9; this "
                        "host speaks %u.%u.",
                        (unsigned)VRT_ABI_MAJOR_OF(host_abi),
                        (unsigned)VRT_ABI_MINOR_OF(host_abi));
    return stub_err(err, VRT_E_INTERNAL, "Unreachable in this test.");
}
