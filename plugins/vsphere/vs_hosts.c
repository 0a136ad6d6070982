/* vs_hosts.c - list_hosts (placement targets: every HostSystem, in one
 * read) and disk_info (the VM's virtual disks from config.hardware). */
#include "vs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hosts_ctx {
    vrt_visit_fn visit;
    void *opaque;
} hosts_ctx;

static int host_one(void *opaque, const char *type, const char *ref,
                    const xmlNode *objects)
{
    hosts_ctx *h = opaque;
    vrt_host_info info;
    const xmlNode *ps, *val, *r;
    char name[64], text[VRT_NAME_MAX];
    uint64_t used_mib = 0;
    int connected = 0, maintenance = 0;

    (void)type;
    (void)ref;
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    for (ps = vs_xml_child(objects, "propSet"); ps;
         ps = vs_xml_next(ps, "propSet")) {
        vs_xml_ctext(name, sizeof(name), ps, "name");
        val = vs_xml_child(ps, "val");
        if (!strcmp(name, "vm")) {
            for (r = vs_xml_child(val, "ManagedObjectReference"); r;
                 r = vs_xml_next(r, "ManagedObjectReference"))
                info.vm_count++;
            continue;
        }
        vs_xml_text(text, sizeof(text), val);
        if (!strcmp(name, "name"))
            vs_strlcpy(info.name, text, sizeof(info.name));
        else if (!strcmp(name, "summary.hardware.numCpuThreads"))
            info.cpus = (uint32_t)strtoul(text, NULL, 10);
        else if (!strcmp(name, "summary.hardware.memorySize"))
            info.memory_mib = strtoull(text, NULL, 10) >> 20;
        else if (!strcmp(name, "summary.quickStats.overallMemoryUsage"))
            used_mib = strtoull(text, NULL, 10);
        else if (!strcmp(name, "runtime.connectionState"))
            connected = !strcmp(text, "connected");
        else if (!strcmp(name, "runtime.inMaintenanceMode"))
            maintenance = !strcmp(text, "true");
    }
    info.memory_free_mib =
        used_mib < info.memory_mib ? info.memory_mib - used_mib : 0;
    info.available = connected && !maintenance;
    return h->visit(h->opaque, &info) ? 1 : 0;
}

int32_t vs_list_hosts(vrt_conn *c, const vrt_call *call, vrt_visit_fn visit,
                      void *opaque, uint32_t flags, vrt_error *err)
{
    static const char *const paths[] = {
        "name", "summary.hardware.numCpuThreads",
        "summary.hardware.memorySize",
        "summary.quickStats.overallMemoryUsage", "runtime.connectionState",
        "runtime.inMaintenanceMode", "vm"};
    hosts_ctx h = {visit, opaque};
    int rc;

    if ((rc = vs_flags_ok(flags, "list_hosts", err)) < 0 ||
        (rc = vs_call_check(call, "list_hosts", err)) < 0)
        return rc;
    if (!c || !visit)
        return vs_err(err, VRT_E_INVALID, "list_hosts needs a connection "
                                          "and a callback.");
    return vs_each_of_type(c, call, "HostSystem", paths,
                           sizeof(paths) / sizeof(paths[0]), host_one, &h,
                           "Listing hosts", err);
}

/* ---- disk_info ----------------------------------------------------------- */

typedef struct disk_ctx {
    const char *want; /* a device key, or NULL for the first disk */
    vrt_disk_info *info;
    int found;
} disk_ctx;

static int disk_one(void *opaque, const char *type, const char *ref,
                    const xmlNode *objects)
{
    disk_ctx *d = opaque;
    const xmlNode *val = vs_xml_child(vs_xml_child(objects, "propSet"),
                                      "val");
    const xmlNode *dev;
    char t[64], key[32], size[32];
    int first = 1;

    (void)type;
    (void)ref;
    for (dev = val ? val->children : NULL; dev; dev = dev->next) {
        if (dev->type != XML_ELEMENT_NODE ||
            strcmp(vs_xml_type(t, sizeof(t), dev), "VirtualDisk"))
            continue;
        vs_xml_ctext(key, sizeof(key), dev, "key");
        if (d->want ? strcmp(d->want, key) : !first)
            continue;
        vs_strlcpy(d->info->id, key, sizeof(d->info->id));
        vs_xml_ctext(d->info->path, sizeof(d->info->path),
                     vs_xml_child(dev, "backing"), "fileName");
        vs_xml_ctext(size, sizeof(size), dev, "capacityInBytes");
        d->info->virtual_size = strtoull(size, NULL, 10);
        if (!d->info->virtual_size) {
            vs_xml_ctext(size, sizeof(size), dev, "capacityInKB");
            d->info->virtual_size = strtoull(size, NULL, 10) * 1024u;
        }
        d->info->format = VRT_DISK_VMDK;
        d->info->bootable = first;
        d->found = 1;
        return 1;
    }
    return 1;
}

int32_t vs_disk_info(vrt_disk_info *out, vrt_conn *c, const vrt_call *call,
                     const char *vm_id, const char *disk_id, uint32_t flags,
                     vrt_error *err)
{
    vrt_disk_info info;
    disk_ctx d;
    vs_buf b = {0};
    vs_vm vm;
    int rc;

    if ((rc = vs_flags_ok(flags, "disk_info", err)) < 0 ||
        (rc = vs_call_check(call, "disk_info", err)) < 0 ||
        (rc = vs_out_ok(out, "disk info", err)) < 0)
        return rc;
    if (!c || !vm_id)
        return vs_err(err, VRT_E_INVALID, "disk_info needs a connection and "
                                          "a VM id.");
    if ((rc = vs_vm_need(&vm, NULL, c, call, vm_id, err)) < 0)
        return rc;
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    d.want = disk_id;
    d.info = &info;
    d.found = 0;
    vs_buf_add(&b, "<propSet><type>VirtualMachine</type><pathSet>"
                   "config.hardware.device</pathSet></propSet><objectSet>"
                   "<obj type=\"VirtualMachine\">");
    vs_buf_esc(&b, vm.ref);
    vs_buf_add(&b, "</obj></objectSet>");
    rc = vs_pc_retrieve(c, call, b.s, disk_one, &d, "Reading the VM's disks",
                        err);
    vs_buf_free(&b);
    if (rc < 0)
        return rc;
    if (!d.found)
        return vs_err(err, VRT_E_NOTFOUND, "VM \"%s\" has no disk%s%.32s%s.",
                      vm.name, disk_id ? " \"" : "", disk_id ? disk_id : "",
                      disk_id ? "\"" : "");
    vs_out_put(out, &info, sizeof(info));
    return VRT_OK;
}
