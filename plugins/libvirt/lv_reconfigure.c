/*
 * lv_reconfigure.c - make a VM match a new spec: CPUs, memory and disk
 * growth, in the persistent config always and live when the VM runs.
 *
 * A change beyond what the running VM allows (more vCPUs than its maximum,
 * more memory than its balloon can reach) is saved in the config and
 * reported as VRT_E_CONFLICT: it takes effect at the next power cycle.
 */
#include "lv_domain.h"
#include "lv_hash.h"
#include "lv_ops.h"
#include "lv_storage.h"

#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

#define GIB (1024ull * 1024 * 1024)

typedef struct lv_reconf {
    vrt_conn *c;
    virConnectPtr virt;
    virDomainPtr d;
    const char *name;
    int active;
    int pending; /* saved in config, not applied live */
} lv_reconf;

static int set_cpus(lv_reconf *r, const lv_spec *s, vrt_error *err)
{
    const unsigned int cfg = VIR_DOMAIN_AFFECT_CONFIG;
    int max = virDomainGetVcpusFlags(r->d, cfg | VIR_DOMAIN_VCPU_MAXIMUM);
    int live_max, live;
    unsigned int want_max = s->max_cpu > s->cpu ? s->max_cpu : s->cpu;

    if (max < 0)
        return lv_virt_err(err, "Could not read the vCPUs of VM \"%s\"",
                           r->name);
    if (want_max > (unsigned int)max &&
        virDomainSetVcpusFlags(r->d, want_max,
                               cfg | VIR_DOMAIN_VCPU_MAXIMUM) < 0)
        return lv_virt_err(err, "Could not raise the vCPU maximum of VM "
                                "\"%s\" to %u",
                           r->name, want_max);
    if (virDomainSetVcpusFlags(r->d, s->cpu, cfg) < 0)
        return lv_virt_err(err, "Could not set %u vCPUs on VM \"%s\"",
                           s->cpu, r->name);
    if (!r->active)
        return VRT_OK;
    live = virDomainGetVcpusFlags(r->d, VIR_DOMAIN_AFFECT_LIVE);
    live_max = virDomainGetVcpusFlags(r->d, VIR_DOMAIN_AFFECT_LIVE |
                                                VIR_DOMAIN_VCPU_MAXIMUM);
    if (live < 0 || live_max < 0)
        return lv_virt_err(err, "Could not read the live vCPUs of VM \"%s\"",
                           r->name);
    if ((unsigned int)live == s->cpu)
        return VRT_OK;
    if (s->cpu > (unsigned int)live_max) {
        r->pending = 1;
        return VRT_OK;
    }
    if (virDomainSetVcpusFlags(r->d, s->cpu, VIR_DOMAIN_AFFECT_LIVE) < 0)
        return lv_virt_err(err, "Could not change VM \"%s\" to %u vCPUs "
                                "while it runs",
                           r->name, s->cpu);
    return VRT_OK;
}

static int set_memory(lv_reconf *r, const lv_spec *s, vrt_error *err)
{
    const unsigned int cfg = VIR_DOMAIN_AFFECT_CONFIG;
    unsigned long want = (unsigned long)(s->memory_mib * 1024);
    unsigned long want_max = (unsigned long)(s->max_memory_mib * 1024);
    lv_domain_facts *f = NULL;
    virDomainInfo di;
    int rc;

    if ((rc = lv_domain_read_facts(&f, r->d, VIR_DOMAIN_XML_INACTIVE, err)) < 0)
        return rc;
    if (want_max < want)
        want_max = want;
    if (want_max > f->max_memory_kib &&
        virDomainSetMemoryFlags(r->d, want_max,
                                cfg | VIR_DOMAIN_MEM_MAXIMUM) < 0)
        rc = lv_virt_err(err, "Could not raise the memory maximum of VM "
                              "\"%s\" to %llu MiB",
                         r->name, (unsigned long long)want_max / 1024);
    else if (virDomainSetMemoryFlags(r->d, want, cfg) < 0)
        rc = lv_virt_err(err, "Could not set %llu MiB of memory on VM \"%s\"",
                         (unsigned long long)s->memory_mib, r->name);
    lv_domain_facts_free(f);
    if (rc < 0 || !r->active)
        return rc;
    if (virDomainGetInfo(r->d, &di) < 0)
        return lv_virt_err(err, "Could not read the memory of VM \"%s\"",
                           r->name);
    if (di.memory == want)
        return VRT_OK;
    if (want > di.maxMem) {
        r->pending = 1;
        return VRT_OK;
    }
    /* LIVE on its own: some drivers refuse LIVE|CONFIG together */
    if (virDomainSetMemoryFlags(r->d, want, VIR_DOMAIN_AFFECT_LIVE) < 0)
        return lv_virt_err(err, "Could not change the memory of VM \"%s\" "
                                "while it runs",
                           r->name);
    return VRT_OK;
}

/* Grows volume v to `bytes`; live through the hypervisor when running. */
static int grow(lv_reconf *r, const lv_vol *v, uint64_t bytes,
                vrt_error *err)
{
    virStorageVolPtr vol = NULL;
    virStorageVolInfo info;
    int rc;

    if ((rc = lv_vol_lookup(&vol, r->virt, v->pool, v->name, err)) < 0)
        return rc;
    if (virStorageVolGetInfo(vol, &info) < 0) {
        rc = lv_virt_err(err, "Could not read volume \"%s\"", v->name);
        goto cleanup;
    }
    if (bytes < info.capacity) {
        rc = lv_err(err, VRT_E_INVALID,
                    "Disk \"%s\" of VM \"%s\" is %llu GiB and cannot shrink "
                    "to %llu GiB.",
                    v->disk ? v->disk : v->role, r->name,
                    (unsigned long long)(info.capacity / GIB),
                    (unsigned long long)(bytes / GIB));
        goto cleanup;
    }
    if (bytes == info.capacity)
        goto cleanup;
    if (r->active) {
        if ((rc = lv_conn_need(r->c, VRT_CAP_DISK_EXPAND_ONLINE,
                               "growing disks of a running VM", err)) < 0)
            goto cleanup;
        if (virDomainBlockResize(r->d, v->target, bytes,
                                 VIR_DOMAIN_BLOCK_RESIZE_BYTES) < 0)
            rc = lv_virt_err(err, "Could not grow disk %s of VM \"%s\"",
                             v->target, r->name);
    } else if (virStorageVolResize(vol, bytes, 0) < 0) {
        rc = lv_virt_err(err, "Could not grow volume \"%s\"", v->name);
    }

cleanup:
    virStorageVolFree(vol);
    return rc;
}

static int set_disks(lv_reconf *r, const lv_spec *s, const lv_marker *m,
                     vrt_error *err)
{
    const lv_vol *v;
    size_t i, j;
    int rc = VRT_OK;

    for (i = 0; i < m->nvols && rc == VRT_OK; i++) {
        v = &m->vols[i];
        if (!strcmp(v->role, LV_ROLE_BOOT) && s->image_size_gib)
            rc = grow(r, v, s->image_size_gib * GIB, err);
    }
    for (j = 0; j < s->ndisks && rc == VRT_OK; j++) {
        for (i = 0, v = NULL; i < m->nvols; i++)
            if (m->vols[i].disk && !strcmp(m->vols[i].disk, s->disks[j].name))
                v = &m->vols[i];
        if (!v)
            rc = lv_err(err, VRT_E_NOTSUPP,
                        "Reconfigure cannot add disk \"%s\" to VM \"%s\"; "
                        "only CPU, memory and disk growth change in place.",
                        s->disks[j].name, r->name);
        else
            rc = grow(r, v, s->disks[j].size_gib * GIB, err);
    }
    return rc;
}

int32_t lv_reconfigure(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                       const char *id, const vrt_vm_spec *spec,
                       uint32_t flags, vrt_error *err)
{
    lv_reconf r = {c, NULL, NULL, NULL, 0, 0};
    lv_marker *m = NULL;
    lv_spec *s = NULL;
    char hash[LV_HASH_MAX];
    int rc, state;
    size_t i;

    if (task)
        task->id[0] = '\0';
    if ((rc = lv_flags_ok(flags, "reconfigure", err)) < 0)
        return rc;
    if (!spec || spec->struct_size < sizeof(vrt_vm_spec) || spec->flags)
        return lv_err(err, VRT_E_INVALID, "The VM spec is malformed.");
    if ((rc = lv_spec_parse(&s, spec->spec_json, err)) < 0 ||
        (rc = lv_spec_fingerprint(hash, spec, err)) < 0 ||
        (rc = lv_call_check(call, "reconfigure", err)) < 0 ||
        (rc = lv_conn_acquire(&r.virt, c, err)) < 0 ||
        (rc = lv_domain_lookup(&r.d, r.virt, id, err)) < 0 ||
        (rc = lv_domain_owned(&m, r.d, "reconfigure", err)) < 0 ||
        (rc = lv_domain_state(&state, r.d, err)) < 0)
        goto cleanup;
    r.name = virDomainGetName(r.d);
    r.active = lv_power_of(state) != VRT_POWER_OFF;
    if ((s->has_cpu && (rc = set_cpus(&r, s, err)) < 0) ||
        (s->has_memory && (rc = set_memory(&r, s, err)) < 0) ||
        (rc = set_disks(&r, s, m, err)) < 0)
        goto cleanup;

    /* the VM now matches this spec: a create with it finds this VM */
    free(m->spec_hash);
    m->spec_hash = lv_xstrdup(hash);
    for (i = 0; i < m->ntags; i++)
        free(m->tags[i]);
    free(m->tags);
    m->tags = lv_xcalloc(s->ntags, sizeof(*m->tags));
    for (m->ntags = 0; m->ntags < s->ntags; m->ntags++)
        m->tags[m->ntags] = lv_xstrdup(s->tags[m->ntags]);
    if ((rc = lv_domain_set_marker(r.d, m, err)) < 0)
        goto cleanup;
    if (r.pending)
        rc = lv_err(err, VRT_E_CONFLICT,
                    "VM \"%s\" is saved with %u vCPUs and %llu MiB, beyond "
                    "what the running VM can take; the change applies at its "
                    "next power cycle.",
                    r.name, s->cpu, (unsigned long long)s->memory_mib);
    else
        lv_log(c, VRT_LOG_INFO, "Reconfigured VM \"%s\" id=%s.", r.name, id);

cleanup:
    lv_marker_free(m);
    lv_spec_free(s);
    if (r.d)
        virDomainFree(r.d);
    lv_conn_release(r.virt);
    return rc;
}
