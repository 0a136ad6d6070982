/*
 * fuzz_proxmox_json.c - libFuzzer driver for the Proxmox VE provider's
 * reading of PVE API answers (plugins/proxmox: pve_vm.c locating a VM and
 * its marker, pve_ops.c describe / list / hosts, pve_task.c task status,
 * pve_snap.c snapshot lists).  Whatever answers on the PVE URL is
 * untrusted.
 *
 * The input is a sequence of HTTP answers separated by "\n--\n", each an
 * optional "NNN " status then a JSON body.  This driver replaces
 * pve_http.c (not linked): its pve_request hands out the answers in order,
 * as the real one would return them from the wire, and refuses once they
 * run out.  The plugin's methods then run against them; every failure must
 * carry a message, every id and name stays terminated, and raw_json is
 * valid JSON.
 */
#include "../../plugins/proxmox/pve.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fuzz_pve_next; /* the answers not handed out yet */
static const char *fuzz_pve_end;

static void fuzz_pve_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_proxmox_json: %s: %s\n", what, detail);
    abort();
}

int pve_is_lock_timeout(const char *m)
{
    return m && strstr(m, "can't lock file") && strstr(m, "got timeout");
}

int32_t pve_request(cJSON **root, cJSON **data, vrt_conn *conn,
                    const vrt_call *call, const char *method,
                    const char *path, const pve_form *form, vrt_error *err)
{
    (void)conn;
    (void)call;
    (void)form;
    *root = NULL;
    if (data)
        *data = NULL;
    if (!fuzz_pve_next)
        return pve_err(err, VRT_E_UNAVAILABLE, "No answer to %s %s.", method,
                       path);
    const char *start = fuzz_pve_next;
    const char *sep = memmem(start, (size_t)(fuzz_pve_end - start), "\n--\n",
                             4);
    const char *stop = sep ? sep : fuzz_pve_end;
    fuzz_pve_next = sep ? sep + 4 : NULL;
    long status = 200;
    if (stop - start >= 4 && start[3] == ' ' &&
        strspn(start, "0123456789") == 3) {
        status = strtol(start, NULL, 10);
        start += 4;
    }
    *root = cJSON_ParseWithLength(start, (size_t)(stop - start));
    if (status != 200) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(*root, "message");
        int32_t rc = pve_err(err, status == 404 ? VRT_E_NOTFOUND
                                                : VRT_E_INTERNAL,
                             "Proxmox VE refused %s %s (HTTP %ld): %s",
                             method, path, status,
                             cJSON_IsString(m) ? m->valuestring : "");
        cJSON_Delete(*root);
        *root = NULL;
        return rc;
    }
    if (!*root)
        return pve_err(err, VRT_E_INTERNAL,
                       "Proxmox VE answered %s %s with a body that is not "
                       "JSON.",
                       method, path);
    if (data)
        *data = cJSON_GetObjectItemCaseSensitive(*root, "data");
    return VRT_OK;
}

int32_t pve_request_upid(char upid[VRT_ID_MAX], vrt_conn *conn,
                         const vrt_call *call, const char *method,
                         const char *path, const pve_form *form,
                         vrt_error *err)
{
    cJSON *root = NULL, *data = NULL;
    int32_t rc = pve_request(&root, &data, conn, call, method, path, form,
                             err);
    upid[0] = 0;
    if (rc != VRT_OK)
        return rc;
    if (!cJSON_IsString(data) || strncmp(data->valuestring, "UPID:", 5) != 0 ||
        strlen(data->valuestring) >= VRT_ID_MAX) {
        cJSON_Delete(root);
        return pve_err(err, VRT_E_INTERNAL,
                       "Proxmox VE answered %s %s without a task id.", method,
                       path);
    }
    snprintf(upid, VRT_ID_MAX, "%s", data->valuestring);
    cJSON_Delete(root);
    return VRT_OK;
}

static void *fuzz_pve_alloc(size_t n)
{
    return calloc(1, n);
}

static uint64_t fuzz_pve_clock(void)
{
    return 1000; /* every deadline below has passed: no waiting loops */
}

static const vrt_host_api fuzz_pve_host = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_host_api),
    .alloc = fuzz_pve_alloc,
    .free = free,
    .clock_monotonic_ms = fuzz_pve_clock,
    .clock_realtime_ms = fuzz_pve_clock,
};

static int fuzz_pve_visit(void *opaque, const void *item)
{
    (void)item;
    ++*(int *)opaque;
    return 0;
}

static void fuzz_pve_check(int32_t rc, const vrt_error *err, const char *what)
{
    if (rc != VRT_OK && !err->message[0])
        fuzz_pve_fail("an error without a message", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char id[] = "100-0123456789abcdef";
    if (size > 65536)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    fuzz_pve_next = text;
    fuzz_pve_end = text + size;
    pve_host = &fuzz_pve_host;

    vrt_conn conn;
    memset(&conn, 0, sizeof(conn));
    snprintf(conn.base, sizeof(conn.base), "https://pve.test:8006");
    conn.max_clones = 1;
    pthread_mutex_init(&conn.lock, NULL);
    pthread_cond_init(&conn.clone_cv, NULL);
    vrt_call call = {sizeof(vrt_call), 0, 0, NULL};
    vrt_error err = VRT_ERROR_INIT;
    int visits = 0;

    vrt_vm_info info;
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    int32_t rc = pve_describe(&info, &conn, &call, id, 0, &err);
    fuzz_pve_check(rc, &err, "describe");
    if (rc == VRT_OK) {
        if (!memchr(info.name, '\0', sizeof(info.name)))
            fuzz_pve_fail("the name is not terminated", "describe");
        if (info.raw_json) {
            cJSON *j = cJSON_Parse(info.raw_json);
            if (!j)
                fuzz_pve_fail("raw_json is not JSON", info.raw_json);
            cJSON_Delete(j);
            free(info.raw_json);
        }
    }

    err = (vrt_error)VRT_ERROR_INIT;
    fuzz_pve_check(pve_list_vms(&conn, &call, fuzz_pve_visit, &visits, 0,
                                &err),
                   &err, "list_vms");
    err = (vrt_error)VRT_ERROR_INIT;
    fuzz_pve_check(pve_list_hosts(&conn, &call, fuzz_pve_visit, &visits, 0,
                                  &err),
                   &err, "list_hosts");

    vrt_task_status st;
    memset(&st, 0, sizeof(st));
    st.struct_size = sizeof(st);
    err = (vrt_error)VRT_ERROR_INIT;
    fuzz_pve_check(pve_task_status(&st, &conn, &call,
                                   "UPID:pve1:00001234:00ABCDEF:65000000:"
                                   "qmstart:100:root@pam:",
                                   0, &err),
                   &err, "task_status");

    vrt_task_ref task;
    memset(&task, 0, sizeof(task));
    err = (vrt_error)VRT_ERROR_INIT;
    fuzz_pve_check(pve_snapshot_delete(&task, &conn, &call, id, "nightly", 0,
                                       &err),
                   &err, "snapshot_delete");

    pthread_cond_destroy(&conn.clone_cv);
    pthread_mutex_destroy(&conn.lock);
    free(text);
    return 0;
}
