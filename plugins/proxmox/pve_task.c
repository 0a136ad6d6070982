/*
 * pve_task.c - PVE tasks: a UPID ("UPID:node:pid:pstart:start:type:id:user:")
 * names the node that runs it; GET /nodes/{node}/tasks/{upid}/status says
 * "running" or "stopped" with an exit status of "OK" or the error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve.h"

static int upid_node(char *node, size_t size, const char *upid)
{
    const char *p, *e;

    if (strncmp(upid, "UPID:", 5) != 0)
        return -1;
    p = upid + 5;
    e = strchr(p, ':');
    if (!e || e == p || (size_t)(e - p) >= size)
        return -1;
    memcpy(node, p, (size_t)(e - p));
    node[e - p] = 0;
    return 0;
}

/* Fills `st` from the task; an "OK" exit is success, anything else an
 * error record with PVE's message. */
static int32_t read_task(int *done, vrt_error *task_err, vrt_conn *conn,
                         const vrt_call *call, const char *upid,
                         vrt_error *err)
{
    char node[VRT_NAME_MAX], path[VRT_URL_MAX];
    cJSON *root = NULL, *data = NULL;
    const cJSON *status, *exitstatus;
    char *enc;
    int32_t rc;

    *done = 0;
    memset(task_err, 0, sizeof(*task_err));
    if (upid_node(node, sizeof(node), upid) != 0)
        return pve_err(err, VRT_E_NOTFOUND,
                       "Task \"%.80s\" is not a Proxmox VE task id (UPID).",
                       upid);
    enc = pve_urlencode(upid);
    snprintf(path, sizeof(path), "/nodes/%s/tasks/%s/status", node, enc);
    free(enc);
    rc = pve_request(&root, &data, conn, call, "GET", path, NULL, err);
    if (rc != VRT_OK) {
        if (strstr(err->message, "no such task") ||
            strstr(err->message, "unable to parse worker upid") ||
            strstr(err->message, "no such cluster node"))
            rc = pve_err(err, VRT_E_NOTFOUND,
                         "Proxmox VE does not know task \"%.120s\".", upid);
        return rc;
    }
    status = cJSON_GetObjectItemCaseSensitive(data, "status");
    exitstatus = cJSON_GetObjectItemCaseSensitive(data, "exitstatus");
    if (cJSON_IsString(status) && !strcmp(status->valuestring, "stopped")) {
        *done = 1;
        if (!cJSON_IsString(exitstatus) || strcmp(exitstatus->valuestring, "OK")) {
            const char *m = cJSON_IsString(exitstatus) ? exitstatus->valuestring
                                                       : "unknown";
            pve_err(task_err,
                    pve_is_lock_timeout(m)        ? VRT_E_RETRYABLE
                    : strstr(m, "does not exist") ? VRT_E_NOTFOUND
                    : strstr(m, "is locked")      ? VRT_E_CONFLICT
                                                  : VRT_E_INTERNAL,
                    "Proxmox VE task %.60s failed: %s", upid, m);
            if (task_err->code == VRT_E_RETRYABLE)
                task_err->klass = VRT_CLASS_TRANSIENT;
        }
    }
    cJSON_Delete(root);
    return VRT_OK;
}

int32_t pve_task_status(vrt_task_status *out, vrt_conn *conn,
                        const vrt_call *call, const char *task_id,
                        uint32_t flags, vrt_error *err)
{
    int done = 0;
    vrt_error terr = VRT_ERROR_INIT;
    int32_t rc = pve_check_call(call, flags, "task_status", err);

    if (rc != VRT_OK)
        return rc;
    if (!out || !task_id || !VRT_HAS_MEMBER(out, vrt_task_status, error))
        return pve_err(err, VRT_E_INVALID,
                       "task_status: out (with a full struct_size) and task_id are required.");
    rc = read_task(&done, &terr, conn, call, task_id, err);
    if (rc != VRT_OK)
        return rc;
    out->done = done;
    out->percent = done ? 100 : -1;
    out->bytes_done = out->bytes_total = 0;
    out->error = terr;
    return VRT_OK;
}

int32_t pve_task_wait(vrt_conn *conn, const vrt_call *call, const char *upid,
                      vrt_error *err)
{
    uint32_t delay = 50;
    int done = 0;
    vrt_error terr = VRT_ERROR_INIT;
    int32_t rc;

    for (;;) {
        rc = read_task(&done, &terr, conn, call, upid, err);
        if (rc != VRT_OK)
            return rc;
        if (done)
            break;
        if (pve_expired(call))
            return pve_err(err, VRT_E_TIMEOUT,
                           "Proxmox VE task %.60s did not finish before the "
                           "call's deadline.", upid);
        pve_sleep_ms(delay);
        if (delay < 1000)
            delay *= 2;
    }
    if (terr.code) {
        *err = terr;
        return terr.code;
    }
    return VRT_OK;
}
