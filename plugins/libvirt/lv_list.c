/* lv_list.c - listing VMs (for adoption and inventory) and hosts. */
#include "lv_domain.h"
#include "lv_ops.h"

#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

int32_t lv_list_vms(vrt_conn *c, const vrt_call *call, vrt_visit_fn visit,
                    void *opaque, uint32_t flags, vrt_error *err)
{
    virConnectPtr virt = NULL;
    virDomainPtr *doms = NULL;
    vrt_vm_info info;
    char *raw = NULL;
    int n = 0, i, rc;

    if ((rc = lv_flags_ok(flags, "list_vms", err)) < 0)
        return rc;
    if (!visit)
        return lv_err(err, VRT_E_INVALID, "list_vms needs a visit callback.");
    if ((rc = lv_call_check(call, "list_vms", err)) < 0 ||
        (rc = lv_conn_acquire(&virt, c, err)) < 0)
        return rc;
    n = virConnectListAllDomains(virt, &doms, 0);
    if (n < 0) {
        rc = lv_virt_err(err, "Could not list the domains of \"%s\"",
                         c->uri_safe);
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        vrt_error e = VRT_ERROR_INIT;
        if ((rc = lv_call_check(call, "list_vms", err)) < 0)
            break;
        memset(&info, 0, sizeof(info));
        info.struct_size = sizeof(info);
        /* one XML read per domain and no IP probes: listing stays cheap */
        if (lv_vm_info_fill(&info, &raw, c, virt, doms[i], 0, &e) < 0) {
            /* it may have vanished since the listing; skip it */
            lv_log(c, VRT_LOG_DEBUG, "Skipping a domain while listing: %s",
                   e.message);
            virResetLastError();
            continue;
        }
        info.raw_json = raw; /* borrowed by the callback */
        rc = visit(opaque, &info);
        free(raw);
        raw = NULL;
        if (rc != 0) {
            rc = VRT_OK;
            break;
        }
    }

cleanup:
    for (i = 0; i < n; i++)
        virDomainFree(doms[i]);
    free(doms);
    lv_conn_release(virt);
    return rc;
}

int32_t lv_list_hosts(vrt_conn *c, const vrt_call *call, vrt_visit_fn visit,
                      void *opaque, uint32_t flags, vrt_error *err)
{
    virConnectPtr virt = NULL;
    virNodeInfo ni;
    vrt_host_info h;
    unsigned long long free_bytes;
    char *name = NULL;
    int rc, active, inactive;

    if ((rc = lv_flags_ok(flags, "list_hosts", err)) < 0)
        return rc;
    if (!visit)
        return lv_err(err, VRT_E_INVALID,
                      "list_hosts needs a visit callback.");
    if ((rc = lv_call_check(call, "list_hosts", err)) < 0 ||
        (rc = lv_conn_acquire(&virt, c, err)) < 0)
        return rc;
    if (virNodeGetInfo(virt, &ni) < 0 ||
        (active = virConnectNumOfDomains(virt)) < 0 ||
        (inactive = virConnectNumOfDefinedDomains(virt)) < 0 ||
        !(name = virConnectGetHostname(virt))) {
        rc = lv_virt_err(err, "Could not read the host behind \"%s\"",
                         c->uri_safe);
        goto cleanup;
    }
    memset(&h, 0, sizeof(h));
    h.struct_size = sizeof(h);
    h.available = virConnectIsAlive(virt) == 1;
    h.cpus = ni.cpus;
    h.vm_count = (uint32_t)(active + inactive);
    h.memory_mib = ni.memory / 1024;
    free_bytes = virNodeGetFreeMemory(virt);
    h.memory_free_mib = free_bytes / (1024 * 1024);
    virResetLastError();
    lv_strlcpy(h.name, name, sizeof(h.name));
    visit(opaque, &h);

cleanup:
    free(name);
    lv_conn_release(virt);
    return rc;
}
