/*
 * lv_entry.c - the libvirt provider's vtable and its one exported symbol.
 *
 * The plugin is built against ABI 1.1 (console, list_hosts) and loads in
 * any 1.x host: a 1.0 host reads only the 1.0 part of the vtable.
 */
#include "lv_conn.h"
#include "lv_ops.h"

#define LV_VERSION "0.1.0"

#define LV_CAPS_ALL                                                            \
    (VRT_CAP_RECONFIGURE | VRT_CAP_RECONFIGURE_ONLINE |                        \
     VRT_CAP_DISK_EXPAND_ONLINE | VRT_CAP_SNAPSHOTS |                          \
     VRT_CAP_MEMORY_SNAPSHOTS | VRT_CAP_SNAPSHOT_REVERT | VRT_CAP_CLONE |      \
     VRT_CAP_LINKED_CLONES | VRT_CAP_DISK_EXPORT | VRT_CAP_DISK_IMPORT |       \
     VRT_CAP_LIST_VMS | VRT_CAP_CONSOLE | VRT_CAP_GRACEFUL_SHUTDOWN |          \
     VRT_CAP_HOSTS)

static const vrt_provider lv_provider = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_provider),
    .caps = LV_CAPS_ALL,
    .flags = 0, /* libvirt connections are thread-safe */
    .reserved = 0,
    .name = "libvirt",
    .version = LV_VERSION,
    .open = lv_open,
    .close = lv_close,
    .validate = lv_validate,
    .capabilities = lv_capabilities,
    .create = lv_create,
    .destroy = lv_destroy,
    .power = lv_power,
    .describe = lv_describe,
    .task_status = lv_task_status,
    .reconfigure = lv_reconfigure,
    .hardware_upgrade = NULL,
    .snapshot_create = lv_snapshot_create,
    .snapshot_delete = lv_snapshot_delete,
    .snapshot_revert = lv_snapshot_revert,
    .clone = lv_clone,
    .image_prepare = NULL,
    .list_vms = lv_list_vms,
    .disk_info = lv_disk_info,
    .disk_export_open = lv_disk_export_open,
    .stream_read = lv_stream_read,
    .stream_close = lv_stream_close,
    .disk_import_open = lv_disk_import_open,
    .stream_write = lv_stream_write,
    .stream_finish = lv_stream_finish,
    .stream_abort = lv_stream_abort,
    .console = lv_console,
    .list_hosts = lv_list_hosts,
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
    int rc;

    if (!out)
        return lv_err(err, VRT_E_INVALID, "The entry point needs an out "
                                          "pointer.");
    *out = NULL;
    if (VRT_ABI_MAJOR_OF(host_abi) != VRT_ABI_MAJOR)
        return lv_err(err, VRT_E_NOTSUPP,
                      "The libvirt provider speaks ABI %u.x; the host speaks "
                      "%u.%u.",
                      (unsigned)VRT_ABI_MAJOR,
                      (unsigned)VRT_ABI_MAJOR_OF(host_abi),
                      (unsigned)VRT_ABI_MINOR_OF(host_abi));
    if (!host || host->struct_size < VRT_HOST_API_SIZE_1_0 || !host->log ||
        !host->alloc || !host->free || !host->clock_monotonic_ms)
        return lv_err(err, VRT_E_NOTSUPP,
                      "The host services table is incomplete; the libvirt "
                      "provider needs log, alloc, free and a clock.");
    lv_host = host;
    if ((rc = lv_conn_global_init(err)) < 0)
        return rc;
    *out = &lv_provider;
    return VRT_OK;
}
