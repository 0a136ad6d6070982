/* vs_describe.c - capabilities, describe and list_vms. */
#include "vs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VS_CAPS                                                                \
    (VRT_CAP_RECONFIGURE | VRT_CAP_RECONFIGURE_ONLINE | VRT_CAP_SNAPSHOTS |    \
     VRT_CAP_SNAPSHOT_REVERT | VRT_CAP_CLONE | VRT_CAP_LIST_VMS |              \
     VRT_CAP_GRACEFUL_SHUTDOWN | VRT_CAP_HOSTS | VRT_CAP_DISK_EXPORT)
/* disk export gives the raw bytes of flat disks (vs_export.c) */
#define VS_DISK_FORMATS VRT_DISK_RAW

uint64_t vs_caps(void);
uint64_t vs_caps(void)
{
    return VS_CAPS;
}

int32_t vs_capabilities(vrt_caps *out, vrt_conn *c, const vrt_call *call,
                        uint32_t flags, vrt_error *err)
{
    vrt_caps caps = {sizeof(vrt_caps), VS_DISK_FORMATS, VS_CAPS};
    int rc;

    if ((rc = vs_flags_ok(flags, "capabilities", err)) < 0 ||
        (rc = vs_call_check(call, "capabilities", err)) < 0 ||
        (rc = vs_out_ok(out, "capabilities", err)) < 0)
        return rc;
    if (!c)
        return vs_err(err, VRT_E_INVALID, "capabilities needs a connection.");
    vs_out_put(out, &caps, sizeof(caps));
    return VRT_OK;
}

static void info_of(vrt_vm_info *info, const vs_vm *vm)
{
    uint32_t i;

    memset(info, 0, sizeof(*info));
    info->struct_size = sizeof(*info);
    info->exists = 1;
    info->power_state = vm->power;
    vs_strlcpy(info->id, vm->uuid, sizeof(info->id));
    vs_strlcpy(info->name, vm->name, sizeof(info->name));
    info->cpus = vm->cpus;
    info->memory_mib = vm->memory_mib;
    info->ip_count = vm->ip_count;
    for (i = 0; i < vm->ip_count && i < VRT_IPS_MAX; i++)
        vs_strlcpy(info->ips[i], vm->ips[i], VRT_IP_MAX);
}

/* {"moref":"vm-42","template":false,"managed":true} with host->alloc. */
static char *raw_json(const vs_vm *vm)
{
    char buf[VS_REF_MAX + 96], *out;
    vs_buf esc = {0};
    size_t n;

    vs_buf_esc(&esc, vm->ref); /* refs are plain; escaping keeps it safe */
    n = (size_t)snprintf(buf, sizeof(buf),
                         "{\"moref\":\"%s\",\"template\":%s,\"managed\":%s}",
                         strchr(esc.s, '"') || strchr(esc.s, '\\') ? ""
                                                                   : esc.s,
                         vm->is_template ? "true" : "false",
                         vm->spec_hash[0] ? "true" : "false");
    vs_buf_free(&esc);
    if (n >= sizeof(buf) || !(out = vs_host->alloc(n + 1)))
        return NULL;
    memcpy(out, buf, n + 1);
    return out;
}

int32_t vs_describe(vrt_vm_info *out, vrt_conn *c, const vrt_call *call,
                    const char *id, uint32_t flags, vrt_error *err)
{
    vrt_vm_info info;
    vs_vm vm;
    int rc, found = 0;

    if ((rc = vs_flags_ok(flags, "describe", err)) < 0 ||
        (rc = vs_call_check(call, "describe", err)) < 0 ||
        (rc = vs_out_ok(out, "VM info", err)) < 0)
        return rc;
    if (!c || !id)
        return vs_err(err, VRT_E_INVALID, "describe needs a connection and "
                                          "a VM id.");
    if ((rc = vs_vm_get(&vm, &found, NULL, c, call, id, err)) < 0)
        return rc;
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    if (found) {
        info_of(&info, &vm);
        if (VRT_HAS_MEMBER(out, vrt_vm_info, raw_json))
            info.raw_json = raw_json(&vm);
    }
    vs_out_put(out, &info, sizeof(info));
    return VRT_OK;
}

typedef struct list_ctx {
    vrt_visit_fn visit;
    void *opaque;
    int stopped;
} list_ctx;

static int list_one(void *opaque, const char *type, const char *ref,
                    const xmlNode *objects)
{
    list_ctx *l = opaque;
    vrt_vm_info info;
    vs_vm vm;

    (void)type;
    vs_vm_from_xml(&vm, ref, objects);
    /* templates are not VMs one runs; a VM still being made has no id */
    if (vm.is_template || !vm.uuid[0])
        return 0;
    info_of(&info, &vm);
    if (l->visit(l->opaque, &info)) {
        l->stopped = 1;
        return 1;
    }
    return 0;
}

int32_t vs_list_vms(vrt_conn *c, const vrt_call *call, vrt_visit_fn visit,
                    void *opaque, uint32_t flags, vrt_error *err)
{
    list_ctx l = {visit, opaque, 0};
    uint64_t before, t0 = vs_now_ms();
    int rc;

    if ((rc = vs_flags_ok(flags, "list_vms", err)) < 0 ||
        (rc = vs_call_check(call, "list_vms", err)) < 0)
        return rc;
    if (!c || !visit)
        return vs_err(err, VRT_E_INVALID, "list_vms needs a connection and a "
                                          "callback.");
    pthread_mutex_lock(&c->pool_lock);
    before = c->round_trips;
    pthread_mutex_unlock(&c->pool_lock);
    rc = vs_vm_each(c, call, 0, list_one, &l, err);
    pthread_mutex_lock(&c->pool_lock);
    before = c->round_trips - before;
    pthread_mutex_unlock(&c->pool_lock);
    vs_log(c, VRT_LOG_DEBUG, "Listed the VMs of \"%s\" in %llu SOAP calls "
           "and %llu ms.", c->url_safe,
           (unsigned long long)before,
           (unsigned long long)(vs_now_ms() - t0));
    return rc;
}
