/*
 * vs_entry.c - the vSphere provider's vtable and its one exported symbol.
 * Built against ABI 1.1 (list_hosts); a 1.0 host reads only the 1.0 part
 * of the vtable.
 */
#include "vs.h"

#define VS_VERSION "0.1.0"

const vrt_host_api *vs_host;
uint64_t vs_caps(void);

static vrt_provider vs_provider = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_provider),
    .caps = 0, /* set from vs_caps() at entry */
    .flags = 0, /* calls on one connection may overlap */
    .reserved = 0,
    .name = "vsphere",
    .version = VS_VERSION,
    .open = vs_open,
    .close = vs_close,
    .validate = vs_validate,
    .capabilities = vs_capabilities,
    .create = vs_create,
    .destroy = vs_destroy,
    .power = vs_power,
    .describe = vs_describe,
    .task_status = vs_task_status,
    .reconfigure = vs_reconfigure,
    .snapshot_create = vs_snapshot_create,
    .snapshot_delete = vs_snapshot_delete,
    .snapshot_revert = vs_snapshot_revert,
    .clone = vs_clone,
    .list_vms = vs_list_vms,
    .disk_info = vs_disk_info,
    .disk_export_open = vs_disk_export_open,
    .stream_read = vs_stream_read,
    .stream_close = vs_stream_close,
    .list_hosts = vs_list_hosts,
};

VRT_PROVIDER_EXPORT int32_t vrt_provider_entry(const vrt_host_api *host,
                                               uint32_t host_abi,
                                               const vrt_provider **out,
                                               vrt_error *err);

VRT_PROVIDER_EXPORT int32_t vrt_provider_entry(const vrt_host_api *host,
                                               uint32_t host_abi,
                                               const vrt_provider **out,
                                               vrt_error *err)
{
    if (!out)
        return vs_err(err, VRT_E_INVALID, "The entry point needs an out "
                                          "pointer.");
    *out = NULL;
    if (VRT_ABI_MAJOR_OF(host_abi) != VRT_ABI_MAJOR)
        return vs_err(err, VRT_E_NOTSUPP,
                      "The vSphere provider speaks ABI %u.x; the host speaks "
                      "%u.%u.",
                      (unsigned)VRT_ABI_MAJOR,
                      (unsigned)VRT_ABI_MAJOR_OF(host_abi),
                      (unsigned)VRT_ABI_MINOR_OF(host_abi));
    if (!host || host->struct_size < VRT_HOST_API_SIZE_1_0 || !host->log ||
        !host->alloc || !host->free || !host->clock_monotonic_ms)
        return vs_err(err, VRT_E_NOTSUPP,
                      "The host services table is incomplete; the vSphere "
                      "provider needs log, alloc, free and a clock.");
    vs_host = host;
    vs_conn_global_init();
    vs_provider.caps = vs_caps();
    *out = &vs_provider;
    return VRT_OK;
}
