/*
 * lv_clone.c - clones: a new domain from a powered-off source, each of
 * its disks either copied (full) or as a qcow2 overlay on the source's
 * volume (linked).  Like create, the clone is defined first with our
 * marker and its volumes made after, so a retry finishes a cut-short
 * clone; the source's cloud-init seed is not carried over.
 *
 * A full clone from a snapshot saves the source's current state as a
 * temporary snapshot, reverts to the wanted one, copies, and reverts back:
 * internal snapshots cannot be read any other way through libvirt.  A
 * linked clone cannot grow from an internal snapshot (its overlay would
 * follow the source's current state), so that is VRT_E_NOTSUPP.
 */
#include "lv_domain.h"
#include "lv_hash.h"
#include "lv_ops.h"
#include "lv_storage.h"
#include "lv_xml.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Non-zero unless snapshot s was taken of a shut-off domain. */
static int snap_was_running(virDomainSnapshotPtr s)
{
    char *xml = virDomainSnapshotGetXMLDesc(s, 0), *state = NULL;
    xmlDocPtr doc = NULL;
    vrt_error e = VRT_ERROR_INIT;
    int running = 1;

    if (xml && lv_xml_read(&doc, xml, "snapshot", &e) == VRT_OK) {
        state = lv_xml_text(lv_xml_child(xmlDocGetRootElement(doc), "state"));
        running = !state || strcmp(state, "shutoff");
    }
    free(state);
    xmlFreeDoc(doc);
    free(xml);
    return running;
}

/* Saves src's current state as snapshot *tmp and puts src, powered off,
 * into the disk state of snapshot `snap_id`. */
static int snap_enter(virDomainSnapshotPtr *tmp, vrt_conn *c,
                      virDomainPtr src, const char *snap_id, vrt_error *err)
{
    virDomainSnapshotPtr s = virDomainSnapshotLookupByName(src, snap_id, 0);
    char name[64], *xml = NULL;
    int rc = VRT_OK;

    *tmp = NULL;
    if (!s)
        return lv_virt_err(err, "VM \"%s\" has no snapshot \"%s\"",
                           virDomainGetName(src), snap_id);
    snprintf(name, sizeof(name), "vrt-clone-tmp-%llu",
             (unsigned long long)lv_now_ms());
    if ((rc = lv_snapshot_xml(&xml, name,
                              "virtrigaud: the state before a clone from a "
                              "snapshot; removed after it",
                              err)) < 0)
        goto cleanup;
    *tmp = virDomainSnapshotCreateXML(src, xml,
                                      VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC);
    if (!*tmp) {
        rc = lv_virt_err(err, "Could not save the state of VM \"%s\"",
                         virDomainGetName(src));
        goto cleanup;
    }
    /* paused, so that a running snapshot's guest writes nothing */
    if (virDomainRevertToSnapshot(s, snap_was_running(s)
                                         ? VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED
                                         : 0) < 0 ||
        (virDomainIsActive(src) == 1 && virDomainDestroy(src) < 0)) {
        rc = lv_virt_err(err, "Could not bring VM \"%s\" to snapshot \"%s\"",
                         virDomainGetName(src), snap_id);
        goto cleanup;
    }
    lv_log(c, VRT_LOG_DEBUG, "VM \"%s\" is at snapshot \"%s\" for a clone.",
           virDomainGetName(src), snap_id);

cleanup:
    free(xml);
    virDomainSnapshotFree(s);
    return rc;
}

/* Puts src back into the state saved by snap_enter and drops tmp. */
static int snap_leave(vrt_conn *c, virDomainPtr src,
                      virDomainSnapshotPtr tmp, vrt_error *err)
{
    int rc = VRT_OK;

    if (!tmp)
        return VRT_OK;
    if (virDomainRevertToSnapshot(tmp, 0) < 0) {
        rc = lv_virt_err(err, "VM \"%s\" could not return to its state "
                              "before the clone, kept as snapshot \"%s\"",
                         virDomainGetName(src), virDomainSnapshotGetName(tmp));
        lv_log(c, VRT_LOG_ERROR, "%s", err->message);
    } else if (virDomainSnapshotDelete(tmp, 0) < 0) {
        lv_log(c, VRT_LOG_WARN, "Could not remove temporary snapshot \"%s\" "
                                "of VM \"%s\".",
               virDomainSnapshotGetName(tmp), virDomainGetName(src));
        virResetLastError();
    }
    virDomainSnapshotFree(tmp);
    return rc;
}

/* The target's volume for source disk f (marker role from the source's
 * marker `sm`, which may be NULL for an unmanaged source). */
static int plan_disk(lv_marker *m, virConnectPtr virt, const char *target,
                     const lv_disk_fact *f, const lv_marker *sm, int linked,
                     vrt_error *err)
{
    const lv_vol *src = lv_marker_vol_by_target(sm, f->target);
    virStorageVolPtr vol = NULL;
    virStoragePoolPtr pool = NULL;
    virStorageVolInfo info;
    char *xml = NULL, *path = NULL, *format = NULL;
    lv_vol *v;
    int rc = VRT_OK;

    if (f->pool && f->volume)
        rc = lv_vol_lookup(&vol, virt, f->pool, f->volume, err);
    else if (f->file && !(vol = virStorageVolLookupByPath(virt, f->file)))
        rc = lv_virt_err(err, "Disk %s (\"%s\") is not a storage volume, so "
                              "it cannot be cloned",
                         f->target, f->file);
    if (rc == VRT_OK && !vol)
        rc = lv_err(err, VRT_E_NOTSUPP,
                    "Disk %s has no file or volume source to clone.",
                    f->target);
    if (rc < 0)
        return rc;
    if (!(pool = virStoragePoolLookupByVolume(vol)) ||
        virStorageVolGetInfo(vol, &info) < 0 ||
        !(path = virStorageVolGetPath(vol)) ||
        !(xml = virStorageVolGetXMLDesc(vol, 0))) {
        rc = lv_virt_err(err, "Could not read the volume of disk %s",
                         f->target);
        goto cleanup;
    }
    if ((rc = lv_volume_read(&format, NULL, xml, err)) < 0)
        goto cleanup;
    v = lv_marker_add_vol(m);
    v->create = 1;
    v->pool = lv_xstrdup(virStoragePoolGetName(pool));
    v->target = lv_xstrdup(f->target);
    v->role = lv_xstrdup(src && src->role ? src->role : LV_ROLE_DATA);
    v->disk = lv_xstrdup(src ? src->disk : NULL);
    v->format = lv_xstrdup("qcow2");
    v->capacity = info.capacity;
    if (!strcmp(v->role, LV_ROLE_BOOT))
        v->name = lv_xasprintf("%s-boot.qcow2", target);
    else if (v->disk)
        v->name = lv_xasprintf("%s-data-%s.qcow2", target, v->disk);
    else
        v->name = lv_xasprintf("%s-%s.qcow2", target, f->target);
    if (linked) {
        v->backing = path;
        v->backing_format = lv_xstrdup(format ? format : "raw");
        path = NULL;
    } else {
        v->copy_from = path;
        path = NULL;
    }

cleanup:
    free(format);
    free(xml);
    free(path);
    if (pool)
        virStoragePoolFree(pool);
    virStorageVolFree(vol);
    return rc;
}

/* Plans the target's volumes and writes its XML. */
static int plan_clone(lv_marker *m, char **xml, virConnectPtr virt,
                      virDomainPtr src, const vrt_clone_spec *spec,
                      const lv_spec *s, vrt_error *err)
{
    lv_domain_facts *f = NULL;
    const char **drop = NULL; /* targets of disks left out; point into f */
    size_t ndrop = 0;
    char *src_xml = virDomainGetXMLDesc(src, VIR_DOMAIN_XML_INACTIVE);
    const lv_vol *sv;
    size_t i;
    int rc = VRT_OK;

    if (!src_xml)
        return lv_virt_err(err, "Could not read the XML of VM \"%s\"",
                           virDomainGetName(src));
    if ((rc = lv_domain_facts_parse(&f, src_xml, err)) < 0)
        goto cleanup;
    drop = lv_xcalloc(f->ndisks, sizeof(*drop));
    for (i = 0; i < f->ndisks && rc == VRT_OK; i++) {
        const lv_disk_fact *d = &f->disks[i];
        sv = lv_marker_vol_by_target(f->marker, d->target);
        if (sv && sv->role && !strcmp(sv->role, LV_ROLE_SEED))
            drop[ndrop++] = d->target;
        else if (d->device && !strcmp(d->device, "disk") && !d->readonly)
            rc = plan_disk(m, virt, spec->target_name, d, f->marker,
                           spec->linked, err);
    }
    if (rc == VRT_OK)
        rc = lv_domain_xml_clone(xml, src_xml, spec->target_name, m, drop,
                                 ndrop, s->has_cpu ? s->cpu : 0,
                                 s->has_memory ? s->memory_mib : 0, err);

cleanup:
    free(drop);
    lv_domain_facts_free(f);
    free(src_xml);
    return rc;
}

static int clone_spec_ok(const vrt_clone_spec *spec, vrt_error *err)
{
    if (!spec || spec->struct_size < sizeof(vrt_clone_spec))
        return lv_err(err, VRT_E_INVALID, "The clone spec is malformed.");
    if (!lv_name_ok(spec->target_name, LV_VM_NAME_MAX))
        return lv_err(err, VRT_E_INVALID,
                      "The clone name \"%.64s\" is not valid: use 1 to %d "
                      "letters, digits, '.', '_' or '-', starting with a "
                      "letter or digit.",
                      spec->target_name ? spec->target_name : "",
                      LV_VM_NAME_MAX);
    if (spec->linked && spec->snapshot_id && spec->snapshot_id[0])
        return lv_err(err, VRT_E_NOTSUPP,
                      "A linked clone cannot grow from snapshot \"%.64s\": "
                      "libvirt's snapshots live inside the source's disks; "
                      "make a full clone from it, or a linked clone of the "
                      "current state.",
                      spec->snapshot_id);
    return VRT_OK;
}

/* The target already exists: ours with the same request, or a clash. */
static int existing_target(virDomainPtr d, const char *hash,
                           const char *name, vrt_error *err)
{
    lv_marker *m = NULL;
    int rc = lv_domain_marker(&m, d, err);

    if (rc == VRT_OK && (!m || !m->spec_hash || strcmp(m->spec_hash, hash)))
        rc = lv_err(err, VRT_E_EXISTS,
                    "A VM named \"%s\" already exists and is not this "
                    "clone.",
                    name);
    lv_marker_free(m);
    return rc;
}

/* Plans, defines (unless *d exists: a retry) and fills the clone. */
static int make_clone(virDomainPtr *d, vrt_conn *c, virConnectPtr virt,
                      virDomainPtr src, const vrt_clone_spec *spec,
                      const lv_spec *s, const char *hash, vrt_error *err)
{
    lv_marker *m = lv_xcalloc(1, sizeof(*m));
    int *made = NULL, rc, exists, retry = *d != NULL;
    char *xml = NULL;
    size_t i;

    m->name = lv_xstrdup(spec->target_name);
    m->spec_hash = lv_xstrdup(hash);
    m->tags = lv_xcalloc(s->ntags, sizeof(*m->tags));
    for (; m->ntags < s->ntags; m->ntags++)
        m->tags[m->ntags] = lv_xstrdup(s->tags[m->ntags]);
    if ((rc = plan_clone(m, &xml, virt, src, spec, s, err)) < 0)
        goto cleanup;
    if (!*d && !(*d = virDomainDefineXMLFlags(virt, xml,
                                              VIR_DOMAIN_DEFINE_VALIDATE))) {
        rc = lv_virt_err(err, "Could not define clone \"%s\"",
                         spec->target_name);
        goto cleanup;
    }
    made = lv_xcalloc(m->nvols, sizeof(*made));
    for (i = 0; i < m->nvols && rc == VRT_OK; i++) {
        if ((rc = lv_vol_exists(&exists, virt, &m->vols[i], err)) < 0 ||
            exists)
            continue;
        rc = lv_vol_create(virt, &m->vols[i], err);
        made[i] = rc == VRT_OK;
    }
    if (rc < 0 && !retry) {
        vrt_error e = VRT_ERROR_INIT;
        if (lv_vols_delete(c, virt, m, made, &e) < 0)
            lv_log(c, VRT_LOG_WARN, "Cleanup after a failed clone: %s",
                   e.message);
        virDomainUndefineFlags(*d, VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
        virResetLastError();
    }

cleanup:
    free(made);
    free(xml);
    lv_marker_free(m);
    return rc;
}

int32_t lv_clone(char target_id[VRT_ID_MAX], vrt_task_ref *task, vrt_conn *c,
                 const vrt_call *call, const vrt_clone_spec *spec,
                 uint32_t flags, vrt_error *err)
{
    virConnectPtr virt = NULL;
    virDomainPtr src = NULL, d = NULL;
    virDomainSnapshotPtr tmp = NULL;
    vrt_error back = VRT_ERROR_INIT;
    lv_spec *s = NULL;
    char hash[LV_HASH_MAX];
    int rc, state;

    target_id[0] = '\0';
    if (task)
        task->id[0] = '\0';
    if ((rc = lv_flags_ok(flags, "clone", err)) < 0 ||
        (rc = clone_spec_ok(spec, err)) < 0 ||
        (rc = lv_spec_parse(&s, spec->spec_json, err)) < 0 ||
        (rc = lv_clone_fingerprint(hash, spec, err)) < 0 ||
        (rc = lv_call_check(call, "clone", err)) < 0 ||
        (rc = lv_conn_acquire(&virt, c, err)) < 0 ||
        (rc = lv_domain_lookup(&src, virt, spec->source_vm_id, err)) < 0 ||
        (rc = lv_domain_state(&state, src, err)) < 0)
        goto cleanup;
    if ((d = virDomainLookupByName(virt, spec->target_name)) &&
        (rc = existing_target(d, hash, spec->target_name, err)) < 0)
        goto cleanup;
    virResetLastError();
    if (lv_power_of(state) != VRT_POWER_OFF) {
        rc = lv_err(err, VRT_E_CONFLICT,
                    "VM \"%s\" is running; power it off before cloning so "
                    "its disks are consistent.",
                    virDomainGetName(src));
        goto cleanup;
    }
    if (spec->snapshot_id && spec->snapshot_id[0] &&
        (rc = snap_enter(&tmp, c, src, spec->snapshot_id, err)) < 0)
        goto leave;
    rc = make_clone(&d, c, virt, src, spec, s, hash, err);

leave:
    /* whatever happened, the source goes back to where it was */
    if (snap_leave(c, src, tmp, &back) < 0 && rc == VRT_OK) {
        if (err)
            *err = back;
        rc = back.code;
    }
    if (rc == VRT_OK) {
        lv_domain_id(target_id, d);
        lv_log(c, VRT_LOG_INFO, "Cloned VM \"%s\" into \"%s\" id=%s (%s).",
               virDomainGetName(src), spec->target_name, target_id,
               spec->linked ? "linked" : "full");
    }

cleanup:
    lv_spec_free(s);
    if (d)
        virDomainFree(d);
    if (src)
        virDomainFree(src);
    lv_conn_release(virt);
    return rc;
}
