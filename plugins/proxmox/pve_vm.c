/*
 * pve_vm.c - finding our VMs: ids of the form "VMID-MARKER", the node a
 * VMID lives on (/cluster/resources), and the identity check against the
 * marker in the VM's description that keeps a reused VMID safe.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve.h"

int32_t pve_parse_id(pve_vm *vm, const char *id, vrt_error *err)
{
    char *end = NULL;
    size_t i;

    memset(vm, 0, sizeof(*vm));
    if (!id || !id[0])
        return pve_err(err, VRT_E_INVALID, "The VM id is empty.");
    vm->vmid = strtol(id, &end, 10);
    if (vm->vmid < 100 || vm->vmid > 999999999 || *end != '-' ||
        strlen(end + 1) != PVE_MARKER_LEN)
        return pve_err(err, VRT_E_NOTFOUND,
                       "VM id \"%.64s\" is not a Proxmox VE id of this plugin "
                       "(VMID-MARKER), so it names no VM.", id);
    for (i = 0; i < PVE_MARKER_LEN; i++)
        if (!isxdigit((unsigned char)end[1 + i]))
            return pve_err(err, VRT_E_NOTFOUND,
                           "VM id \"%.64s\" has a malformed marker, so it "
                           "names no VM.", id);
    memcpy(vm->marker, end + 1, PVE_MARKER_LEN);
    return VRT_OK;
}

int32_t pve_vm_path(char *buf, size_t size, const pve_vm *vm,
                    const char *suffix)
{
    snprintf(buf, size, "/nodes/%s/qemu/%ld%s", vm->node, vm->vmid,
             suffix ? suffix : "");
    return VRT_OK;
}

static int32_t find_node(pve_vm *vm, vrt_conn *conn, const vrt_call *call,
                         vrt_error *err)
{
    pve_form q = {0};
    cJSON *root = NULL, *data = NULL;
    const cJSON *r;
    int32_t rc;

    pve_form_add(&q, "type", "vm");
    rc = pve_request(&root, &data, conn, call, "GET", "/cluster/resources", &q,
                     err);
    pve_form_free(&q);
    if (rc != VRT_OK)
        return rc;
    rc = pve_err(err, VRT_E_NOTFOUND, "Proxmox VE has no VM with VMID %ld.",
                 vm->vmid);
    cJSON_ArrayForEach(r, data)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "vmid");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(r, "type");
        const cJSON *node = cJSON_GetObjectItemCaseSensitive(r, "node");
        if (cJSON_IsNumber(id) && (long)id->valueint == vm->vmid &&
            cJSON_IsString(type) && !strcmp(type->valuestring, "qemu") &&
            cJSON_IsString(node)) {
            snprintf(vm->node, sizeof(vm->node), "%s", node->valuestring);
            memset(err, 0, sizeof(*err));
            rc = VRT_OK;
            break;
        }
    }
    cJSON_Delete(root);
    return rc;
}

int32_t pve_locate(pve_vm *vm, cJSON **config, vrt_conn *conn,
                   const vrt_call *call, const char *id, vrt_error *err)
{
    char path[VRT_URL_MAX], want[64];
    cJSON *root = NULL, *data = NULL;
    const cJSON *desc;
    int32_t rc;

    if (config)
        *config = NULL;
    if ((rc = pve_parse_id(vm, id, err)) != VRT_OK)
        return rc;
    if ((rc = find_node(vm, conn, call, err)) != VRT_OK)
        return rc;
    pve_vm_path(path, sizeof(path), vm, "/config");
    rc = pve_request(&root, &data, conn, call, "GET", path, NULL, err);
    if (rc != VRT_OK)
        return rc;
    snprintf(want, sizeof(want), PVE_MARKER_KEY "%s", vm->marker);
    desc = cJSON_GetObjectItemCaseSensitive(data, "description");
    if (!cJSON_IsString(desc) || !strstr(desc->valuestring, want)) {
        pve_log(conn, VRT_LOG_WARN,
                "VMID %ld on node \"%s\" now names a VM that virtrigaud did "
                "not create (marker %s missing); it is left alone.",
                vm->vmid, vm->node, vm->marker);
        cJSON_Delete(root);
        return pve_err(err, VRT_E_NOTFOUND,
                       "VM \"%s\" no longer exists: VMID %ld now names "
                       "another VM, which is left alone.", id, vm->vmid);
    }
    if (config) {
        *config = cJSON_DetachItemViaPointer(root, data);
    }
    cJSON_Delete(root);
    return VRT_OK;
}

int32_t pve_current_status(int *running, vrt_conn *conn, const vrt_call *call,
                           const pve_vm *vm, vrt_error *err)
{
    char path[VRT_URL_MAX];
    cJSON *root = NULL, *data = NULL;
    const cJSON *s;
    int32_t rc;

    pve_vm_path(path, sizeof(path), vm, "/status/current");
    rc = pve_request(&root, &data, conn, call, "GET", path, NULL, err);
    if (rc != VRT_OK)
        return rc;
    s = cJSON_GetObjectItemCaseSensitive(data, "status");
    *running = cJSON_IsString(s) && !strcmp(s->valuestring, "running");
    cJSON_Delete(root);
    return VRT_OK;
}

/* Runs a task-returning call and waits for it, starting it again while
 * PVE's task failed only because a lock was busy. */
int32_t pve_run_task(vrt_conn *conn, const vrt_call *call,
                        const char *method, const char *path,
                        const pve_form *form, vrt_error *err)
{
    char upid[VRT_ID_MAX];
    uint32_t backoff = 200;
    int32_t rc;

    for (;;) {
        rc = pve_request_upid(upid, conn, call, method, path, form, err);
        if (rc == VRT_OK)
            rc = pve_task_wait(conn, call, upid, err);
        if (rc != VRT_E_RETRYABLE || pve_expired(call) || backoff > 6400)
            return rc;
        pve_log(conn, VRT_LOG_INFO, "%s; retrying in %u ms.", err->message,
                backoff);
        pve_sleep_ms(backoff);
        backoff *= 2;
    }
}

int32_t pve_config_apply(vrt_conn *conn, const vrt_call *call,
                         const pve_vm *vm, const pve_form *form,
                         vrt_error *err)
{
    char path[VRT_URL_MAX];

    if (!form->len)
        return VRT_OK;
    pve_vm_path(path, sizeof(path), vm, "/config");
    return pve_run_task(conn, call, "POST", path, form, err);
}

int32_t pve_stop_wait(vrt_conn *conn, const vrt_call *call, const pve_vm *vm,
                      vrt_error *err)
{
    char path[VRT_URL_MAX];

    pve_vm_path(path, sizeof(path), vm, "/status/stop");
    return pve_run_task(conn, call, "POST", path, NULL, err);
}
