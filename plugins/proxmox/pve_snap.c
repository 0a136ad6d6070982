/*
 * pve_snap.c - snapshots: create (with RAM when vmstate is asked of a
 * running VM), delete and rollback, each a PVE task.  The snapshot id is the
 * PVE snapshot name, made from the requested name.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve.h"

/* PVE snapshot names: a letter, then letters, digits, '_' or '-'; 2-40. */
static void snap_name(char *out, size_t size, const char *hint)
{
    size_t k = 0, i;

    out[k++] = 's';
    for (i = 0; hint && hint[i] && k + 1 < size && k < 40; i++) {
        char c = hint[i];
        out[k++] = (isalnum((unsigned char)c) || c == '_' || c == '-') ? c : '_';
    }
    out[k] = 0;
    if (k < 2)
        snprintf(out, size, "snap");
}

static int32_t snap_exists(int *exists, vrt_conn *conn, const vrt_call *call,
                           const pve_vm *vm, const char *name, vrt_error *err)
{
    char path[VRT_URL_MAX];
    cJSON *root = NULL, *data = NULL;
    const cJSON *s;
    int32_t rc;

    *exists = 0;
    pve_vm_path(path, sizeof(path), vm, "/snapshot");
    if ((rc = pve_request(&root, &data, conn, call, "GET", path, NULL, err)) != VRT_OK)
        return rc;
    cJSON_ArrayForEach(s, data)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(s, "name");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name) && strcmp(name, "current"))
            *exists = 1;
    }
    cJSON_Delete(root);
    return VRT_OK;
}

int32_t pve_snapshot_create(char snapshot_id[VRT_ID_MAX], vrt_task_ref *task,
                            vrt_conn *conn, const vrt_call *call,
                            const char *vm_id, const vrt_snapshot_spec *spec,
                            uint32_t flags, vrt_error *err)
{
    pve_vm vm;
    pve_form f = {0};
    char path[VRT_URL_MAX], name[48];
    int running = 0;
    int32_t rc = pve_check_call(call, flags, "snapshot_create", err);

    if (rc != VRT_OK)
        return rc;
    if (!snapshot_id || !task || !spec || !VRT_HAS_MEMBER(spec, vrt_snapshot_spec, description))
        return pve_err(err, VRT_E_INVALID, "snapshot_create: snapshot_id, task and spec are required.");
    snapshot_id[0] = 0;
    task->id[0] = 0;
    if ((rc = pve_locate(&vm, NULL, conn, call, vm_id, err)) != VRT_OK)
        return rc;
    snap_name(name, sizeof(name), spec->name);
    pve_form_add(&f, "snapname", name);
    if (spec->description)
        pve_form_add(&f, "description", spec->description);
    if (spec->include_memory) {
        if ((rc = pve_current_status(&running, conn, call, &vm, err)) != VRT_OK)
            goto cleanup;
        if (running)
            pve_form_add(&f, "vmstate", "1");
    }
    pve_vm_path(path, sizeof(path), &vm, "/snapshot");
    rc = pve_run_task(conn, call, "POST", path, &f, err);
    if (rc == VRT_OK)
        snprintf(snapshot_id, VRT_ID_MAX, "%s", name);

cleanup:
    pve_form_free(&f);
    return rc;
}

static int32_t snap_op(vrt_task_ref *task, vrt_conn *conn,
                       const vrt_call *call, const char *vm_id,
                       const char *snapshot_id, uint32_t flags, int rollback,
                       vrt_error *err)
{
    pve_vm vm;
    char path[VRT_URL_MAX], suffix[128];
    int exists = 0;
    int32_t rc = pve_check_call(call, flags, rollback ? "snapshot_revert" : "snapshot_delete", err);

    if (rc != VRT_OK)
        return rc;
    if (!task || !snapshot_id)
        return pve_err(err, VRT_E_INVALID, "A task and a snapshot id are required.");
    task->id[0] = 0;
    if ((rc = pve_locate(&vm, NULL, conn, call, vm_id, err)) != VRT_OK)
        return rc;
    if ((rc = snap_exists(&exists, conn, call, &vm, snapshot_id, err)) != VRT_OK)
        return rc;
    if (!exists)
        return pve_err(err, VRT_E_NOTFOUND, "VM \"%s\" has no snapshot \"%.64s\".", vm_id, snapshot_id);
    snprintf(suffix, sizeof(suffix), "/snapshot/%s%s", snapshot_id, rollback ? "/rollback" : "");
    pve_vm_path(path, sizeof(path), &vm, suffix);
    return pve_request_upid(task->id, conn, call, rollback ? "POST" : "DELETE", path, NULL, err);
}

int32_t pve_snapshot_delete(vrt_task_ref *task, vrt_conn *conn,
                            const vrt_call *call, const char *vm_id,
                            const char *snapshot_id, uint32_t flags,
                            vrt_error *err)
{
    return snap_op(task, conn, call, vm_id, snapshot_id, flags, 0, err);
}

int32_t pve_snapshot_revert(vrt_task_ref *task, vrt_conn *conn,
                            const vrt_call *call, const char *vm_id,
                            const char *snapshot_id, uint32_t flags,
                            vrt_error *err)
{
    return snap_op(task, conn, call, vm_id, snapshot_id, flags, 1, err);
}
