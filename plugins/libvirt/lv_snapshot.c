/*
 * lv_snapshot.c - snapshots.  The snapshot id is its libvirt name.
 *
 * These are libvirt's internal snapshots: of a running VM they always
 * hold the memory state too (QEMU cannot take an internal disk-only one),
 * so include_memory = 0 still gives a full snapshot; quiesce needs an
 * external disk-only snapshot and is not offered (logged, not an error).
 * A create with a name that exists and the same description returns that
 * snapshot, so a retried create does not pile up copies.
 */
#include "lv_domain.h"
#include "lv_ops.h"
#include "lv_xml.h"

#include <ctype.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LV_SNAP_NAME_MAX 100

/* The hint made safe: [A-Za-z0-9._-], at most LV_SNAP_NAME_MAX bytes. */
static void snap_name(char *out, size_t size, const char *hint)
{
    size_t i, n = 0;

    for (i = 0; hint && hint[i] && n + 1 < size && n < LV_SNAP_NAME_MAX;
         i++) {
        unsigned char ch = (unsigned char)hint[i];
        out[n++] = isalnum(ch) || ch == '.' || ch == '_' || ch == '-'
                       ? (char)ch
                       : '-';
    }
    out[n] = '\0';
    if (!n || !isalnum((unsigned char)out[0]))
        snprintf(out, size, "snap-%llu",
                 (unsigned long long)(lv_host->clock_realtime_ms
                                          ? lv_host->clock_realtime_ms()
                                          : lv_now_ms()));
}

/* Opens the VM for a snapshot operation: looked up and ours. */
static int open_vm(virConnectPtr *virt, virDomainPtr *d, vrt_conn *c,
                   const vrt_call *call, const char *vm_id, const char *what,
                   vrt_error *err)
{
    lv_marker *m = NULL;
    int rc;

    *virt = NULL;
    *d = NULL;
    if ((rc = lv_call_check(call, what, err)) < 0 ||
        (rc = lv_conn_acquire(virt, c, err)) < 0 ||
        (rc = lv_domain_lookup(d, *virt, vm_id, err)) < 0 ||
        (rc = lv_domain_owned(&m, *d, what, err)) < 0)
        return rc;
    lv_marker_free(m);
    return VRT_OK;
}

/* Same name, same description: the snapshot a retried create made. */
static int same_snapshot(virDomainSnapshotPtr s, const char *description)
{
    char *xml = virDomainSnapshotGetXMLDesc(s, 0), *have = NULL;
    xmlDocPtr doc = NULL;
    vrt_error e = VRT_ERROR_INIT;
    int same = 0;

    if (xml && lv_xml_read(&doc, xml, "snapshot", &e) == VRT_OK) {
        have = lv_xml_text(
            lv_xml_child(xmlDocGetRootElement(doc), "description"));
        same = !strcmp(have ? have : "", description ? description : "");
    }
    free(have);
    xmlFreeDoc(doc);
    free(xml);
    return same;
}

int32_t lv_snapshot_create(char snapshot_id[VRT_ID_MAX], vrt_task_ref *task,
                           vrt_conn *c, const vrt_call *call,
                           const char *vm_id, const vrt_snapshot_spec *spec,
                           uint32_t flags, vrt_error *err)
{
    virConnectPtr virt = NULL;
    virDomainPtr d = NULL;
    virDomainSnapshotPtr s = NULL;
    char name[LV_SNAP_NAME_MAX + 1], *xml = NULL;
    int rc;

    snapshot_id[0] = '\0';
    if (task)
        task->id[0] = '\0';
    if ((rc = lv_flags_ok(flags, "snapshot_create", err)) < 0)
        return rc;
    if (!spec || spec->struct_size < sizeof(vrt_snapshot_spec))
        return lv_err(err, VRT_E_INVALID, "The snapshot spec is malformed.");
    if ((rc = open_vm(&virt, &d, c, call, vm_id, "snapshot", err)) < 0)
        goto cleanup;
    snap_name(name, sizeof(name), spec->name);
    if (spec->quiesce)
        lv_log(c, VRT_LOG_INFO,
               "Snapshot \"%s\" of VM \"%s\": quiesce is not available for "
               "internal snapshots; taking a crash-consistent one.",
               name, virDomainGetName(d));
    s = virDomainSnapshotLookupByName(d, name, 0);
    if (s) {
        if (same_snapshot(s, spec->description))
            goto done;
        rc = lv_err(err, VRT_E_EXISTS,
                    "VM \"%s\" already has a different snapshot named "
                    "\"%s\".",
                    virDomainGetName(d), name);
        goto cleanup;
    }
    virResetLastError();
    if ((rc = lv_snapshot_xml(&xml, name, spec->description, err)) < 0)
        goto cleanup;
    s = virDomainSnapshotCreateXML(d, xml, VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC);
    if (!s) {
        rc = lv_virt_err(err, "Could not snapshot VM \"%s\"",
                         virDomainGetName(d));
        goto cleanup;
    }
    lv_log(c, VRT_LOG_INFO, "Took snapshot \"%s\" of VM \"%s\".", name,
           virDomainGetName(d));

done:
    lv_strlcpy(snapshot_id, virDomainSnapshotGetName(s), VRT_ID_MAX);

cleanup:
    free(xml);
    if (s)
        virDomainSnapshotFree(s);
    if (d)
        virDomainFree(d);
    lv_conn_release(virt);
    return rc;
}

/* The snapshot `id` of d; VRT_E_NOTFOUND names both. */
static int find_snapshot(virDomainSnapshotPtr *out, virDomainPtr d,
                         const char *id, vrt_error *err)
{
    *out = id && id[0] ? virDomainSnapshotLookupByName(d, id, 0) : NULL;
    if (*out)
        return VRT_OK;
    if (!id || !id[0])
        return lv_err(err, VRT_E_INVALID, "The snapshot id is empty.");
    return lv_virt_err(err, "VM \"%s\" has no snapshot \"%s\"",
                       virDomainGetName(d), id);
}

int32_t lv_snapshot_delete(vrt_task_ref *task, vrt_conn *c,
                           const vrt_call *call, const char *vm_id,
                           const char *snapshot_id, uint32_t flags,
                           vrt_error *err)
{
    virConnectPtr virt = NULL;
    virDomainPtr d = NULL;
    virDomainSnapshotPtr s = NULL;
    int rc;

    if (task)
        task->id[0] = '\0';
    if ((rc = lv_flags_ok(flags, "snapshot_delete", err)) < 0 ||
        (rc = open_vm(&virt, &d, c, call, vm_id, "delete a snapshot of",
                      err)) < 0 ||
        (rc = find_snapshot(&s, d, snapshot_id, err)) < 0)
        goto cleanup;
    /* children are kept and re-parented */
    if (virDomainSnapshotDelete(s, 0) < 0)
        rc = lv_virt_err(err, "Could not delete snapshot \"%s\" of VM \"%s\"",
                         snapshot_id, virDomainGetName(d));
    else
        lv_log(c, VRT_LOG_INFO, "Deleted snapshot \"%s\" of VM \"%s\".",
               snapshot_id, virDomainGetName(d));

cleanup:
    if (s)
        virDomainSnapshotFree(s);
    if (d)
        virDomainFree(d);
    lv_conn_release(virt);
    return rc;
}

int32_t lv_snapshot_revert(vrt_task_ref *task, vrt_conn *c,
                           const vrt_call *call, const char *vm_id,
                           const char *snapshot_id, uint32_t flags,
                           vrt_error *err)
{
    virConnectPtr virt = NULL;
    virDomainPtr d = NULL;
    virDomainSnapshotPtr s = NULL;
    int rc;

    if (task)
        task->id[0] = '\0';
    if ((rc = lv_flags_ok(flags, "snapshot_revert", err)) < 0 ||
        (rc = open_vm(&virt, &d, c, call, vm_id, "revert", err)) < 0 ||
        (rc = find_snapshot(&s, d, snapshot_id, err)) < 0)
        goto cleanup;
    if (virDomainRevertToSnapshot(s, 0) < 0)
        rc = lv_virt_err(err, "Could not revert VM \"%s\" to snapshot \"%s\"",
                         virDomainGetName(d), snapshot_id);
    else
        lv_log(c, VRT_LOG_INFO, "Reverted VM \"%s\" to snapshot \"%s\".",
               virDomainGetName(d), snapshot_id);

cleanup:
    if (s)
        virDomainSnapshotFree(s);
    if (d)
        virDomainFree(d);
    lv_conn_release(virt);
    return rc;
}
