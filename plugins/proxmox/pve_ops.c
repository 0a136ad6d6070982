/*
 * pve_ops.c - destroy (stop first, then purge), power, describe (status,
 * guest-agent IPs, console URL), reconfigure, list, console and hosts.
 * Every call that changes a VM first checks that its VMID still names our
 * VM (pve_locate).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve.h"

int32_t pve_destroy(vrt_task_ref *task, vrt_conn *conn, const vrt_call *call,
                    const char *id, uint32_t flags, vrt_error *err)
{
    pve_vm vm;
    pve_form q = {0};
    char path[VRT_URL_MAX];
    int running = 0;
    int32_t rc = pve_check_call(call, flags, "destroy", err);

    if (rc != VRT_OK)
        return rc;
    if (!task || !id)
        return pve_err(err, VRT_E_INVALID, "destroy: task and id are required.");
    task->id[0] = 0;
    if ((rc = pve_locate(&vm, NULL, conn, call, id, err)) != VRT_OK)
        return rc;
    if ((rc = pve_current_status(&running, conn, call, &vm, err)) != VRT_OK)
        return rc;
    if (running && (rc = pve_stop_wait(conn, call, &vm, err)) != VRT_OK)
        return rc;
    pve_form_add(&q, "purge", "1");
    pve_form_add(&q, "destroy-unreferenced-disks", "1");
    pve_vm_path(path, sizeof(path), &vm, NULL);
    rc = pve_run_task(conn, call, "DELETE", path, &q, err);
    pve_form_free(&q);
    if (rc == VRT_OK)
        pve_log(conn, VRT_LOG_INFO, "Destroyed VMID %ld on node \"%s\".", vm.vmid, vm.node);
    return rc;
}

int32_t pve_power(vrt_task_ref *task, vrt_conn *conn, const vrt_call *call,
                  const char *id, int32_t op, uint32_t graceful_timeout_s,
                  uint32_t flags, vrt_error *err)
{
    pve_vm vm;
    pve_form f = {0};
    char path[VRT_URL_MAX];
    const char *verb;
    int running = 0;
    int32_t rc = pve_check_call(call, flags, "power", err);

    if (rc != VRT_OK)
        return rc;
    if (!task || !id)
        return pve_err(err, VRT_E_INVALID, "power: task and id are required.");
    task->id[0] = 0;
    switch (op) {
    case VRT_POWER_OP_ON: verb = "/status/start"; break;
    case VRT_POWER_OP_OFF: verb = "/status/stop"; break;
    case VRT_POWER_OP_REBOOT: verb = "/status/reboot"; break;
    case VRT_POWER_OP_SHUTDOWN_GRACEFUL: verb = "/status/shutdown"; break;
    default:
        return pve_err(err, VRT_E_INVALID, "power: operation %d is not a VRT_POWER_OP_*.", (int)op);
    }
    if ((rc = pve_locate(&vm, NULL, conn, call, id, err)) != VRT_OK)
        return rc;
    if ((rc = pve_current_status(&running, conn, call, &vm, err)) != VRT_OK)
        return rc;
    if ((op == VRT_POWER_OP_ON && running) ||
        ((op == VRT_POWER_OP_OFF || op == VRT_POWER_OP_SHUTDOWN_GRACEFUL) && !running))
        return VRT_OK;
    if (op == VRT_POWER_OP_REBOOT && !running)
        verb = "/status/start";
    if (op == VRT_POWER_OP_SHUTDOWN_GRACEFUL) {
        pve_form_addf(&f, "timeout", "%u", graceful_timeout_s ? graceful_timeout_s : 60);
        pve_form_add(&f, "forceStop", "1");
    }
    pve_vm_path(path, sizeof(path), &vm, verb);
    rc = pve_request_upid(task->id, conn, call, "POST", path, &f, err);
    pve_form_free(&f);
    return rc;
}

static void agent_ips(vrt_vm_info *out, vrt_conn *conn, const vrt_call *call,
                      const pve_vm *vm)
{
    char path[VRT_URL_MAX];
    cJSON *root = NULL, *data = NULL;
    const cJSON *ifc;
    vrt_error ignored = VRT_ERROR_INIT;

    pve_vm_path(path, sizeof(path), vm, "/agent/network-get-interfaces");
    if (pve_request(&root, &data, conn, call, "GET", path, NULL, &ignored) != VRT_OK)
        return; /* no agent yet: no IPs, not an error */
    cJSON_ArrayForEach(ifc, cJSON_GetObjectItemCaseSensitive(data, "result"))
    {
        const cJSON *ip;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(ifc, "name");
        if (cJSON_IsString(name) && !strcmp(name->valuestring, "lo"))
            continue;
        cJSON_ArrayForEach(ip, cJSON_GetObjectItemCaseSensitive(ifc, "ip-addresses"))
        {
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(ip, "ip-address");
            if (!cJSON_IsString(a) || out->ip_count >= VRT_IPS_MAX ||
                !strncmp(a->valuestring, "fe80:", 5) || !strncmp(a->valuestring, "127.", 4))
                continue;
            snprintf(out->ips[out->ip_count++], VRT_IP_MAX, "%s", a->valuestring);
        }
    }
    cJSON_Delete(root);
}

static void console_url(char *buf, size_t size, const vrt_conn *conn,
                        const pve_vm *vm, const char *name)
{
    char *enc = pve_urlencode(name ? name : "");

    snprintf(buf, size, "%s/?console=kvm&novnc=1&vmid=%ld&vmname=%s&node=%s&resize=off&cmd=",
             conn->base, vm->vmid, enc, vm->node);
    free(enc);
}

int32_t pve_describe(vrt_vm_info *out, vrt_conn *conn, const vrt_call *call,
                     const char *id, uint32_t flags, vrt_error *err)
{
    vrt_vm_info tmp;
    pve_vm vm;
    cJSON *conf = NULL;
    const cJSON *name;
    int running = 0;
    uint32_t size;
    int32_t rc = pve_check_call(call, flags, "describe", err);

    if (rc != VRT_OK)
        return rc;
    if (!out || !id || out->struct_size < offsetof(vrt_vm_info, id))
        return pve_err(err, VRT_E_INVALID, "describe: out (struct_size set) and id are required.");
    size = out->struct_size < sizeof(tmp) ? out->struct_size : (uint32_t)sizeof(tmp);
    memset(&tmp, 0, sizeof(tmp));
    tmp.struct_size = size;
    rc = pve_locate(&vm, &conf, conn, call, id, err);
    if (rc == VRT_E_NOTFOUND) {
        memset(err, 0, sizeof(*err));
        memcpy(out, &tmp, size);
        return VRT_OK;
    }
    if (rc != VRT_OK)
        return rc;
    if ((rc = pve_current_status(&running, conn, call, &vm, err)) != VRT_OK)
        goto cleanup;
    tmp.exists = 1;
    tmp.power_state = running ? VRT_POWER_ON : VRT_POWER_OFF;
    snprintf(tmp.id, sizeof(tmp.id), "%s", id);
    name = cJSON_GetObjectItemCaseSensitive(conf, "name");
    if (cJSON_IsString(name))
        snprintf(tmp.name, sizeof(tmp.name), "%s", name->valuestring);
    tmp.cpus = (uint32_t)((int64_t)pve_spec_int(conf, "cores", 1) * pve_spec_int(conf, "sockets", 1));
    {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(conf, "memory");
        const char *ms = cJSON_IsString(m) ? m->valuestring : NULL;
        if (ms && !strncmp(ms, "current=", 8))
            ms += 8;
        tmp.memory_mib = cJSON_IsNumber(m) ? pve_json_u64(m, 1)
                         : ms ? strtoull(ms, NULL, 10) : 0;
    }
    if (running)
        agent_ips(&tmp, conn, call, &vm);
    console_url(tmp.console_url, sizeof(tmp.console_url), conn, &vm,
                cJSON_IsString(name) ? name->valuestring : NULL);
    memcpy(out, &tmp, size);
    if (VRT_HAS_MEMBER(out, vrt_vm_info, raw_json)) {
        /* cJSON escapes the node name, which comes from PVE's answer */
        cJSON *rj = cJSON_CreateObject();
        char *raw;
        cJSON_AddNumberToObject(rj, "vmid", (double)vm.vmid);
        cJSON_AddStringToObject(rj, "node", vm.node);
        raw = cJSON_PrintUnformatted(rj);
        cJSON_Delete(rj);
        if (raw) {
            size_t n = strlen(raw) + 1;
            out->raw_json = pve_host->alloc(n);
            if (out->raw_json)
                memcpy(out->raw_json, raw, n);
            cJSON_free(raw);
        }
    }

cleanup:
    cJSON_Delete(conf);
    return rc;
}

int32_t pve_reconfigure(vrt_task_ref *task, vrt_conn *conn,
                        const vrt_call *call, const char *id,
                        const vrt_vm_spec *spec, uint32_t flags,
                        vrt_error *err)
{
    pve_vm vm;
    cJSON *js = NULL, *conf = NULL;
    pve_form f = {0};
    int32_t rc = pve_check_call(call, flags, "reconfigure", err);

    if (rc != VRT_OK)
        return rc;
    if (!task || !id || !spec || spec->flags)
        return pve_err(err, VRT_E_INVALID, "reconfigure: task, id and a spec with flags 0 are required.");
    task->id[0] = 0;
    if ((rc = pve_spec_parse(&js, spec->spec_json, err)) != VRT_OK)
        return rc;
    if ((rc = pve_locate(&vm, &conf, conn, call, id, err)) != VRT_OK)
        goto cleanup;
    if (cJSON_GetObjectItemCaseSensitive(js, "cpu"))
        pve_form_addf(&f, "cores", "%d", pve_spec_int(js, "cpu", 1));
    if (cJSON_GetObjectItemCaseSensitive(js, "memoryMiB"))
        pve_form_addf(&f, "memory", "%d", pve_spec_int(js, "memoryMiB", 512));
    if ((rc = pve_cloudinit_form(&f, spec, err)) != VRT_OK)
        goto cleanup;
    rc = pve_config_apply(conn, call, &vm, &f, err);

cleanup:
    pve_form_free(&f);
    cJSON_Delete(conf);
    cJSON_Delete(js);
    return rc;
}

/* Lists our VMs: those whose description carries a marker. */
int32_t pve_list_vms(vrt_conn *conn, const vrt_call *call, vrt_visit_fn visit,
                     void *opaque, uint32_t flags, vrt_error *err)
{
    pve_form q = {0};
    cJSON *root = NULL, *data = NULL;
    const cJSON *r;
    int32_t rc = pve_check_call(call, flags, "list_vms", err);

    if (rc != VRT_OK)
        return rc;
    if (!visit)
        return pve_err(err, VRT_E_INVALID, "list_vms: visit is required.");
    pve_form_add(&q, "type", "vm");
    rc = pve_request(&root, &data, conn, call, "GET", "/cluster/resources", &q, err);
    pve_form_free(&q);
    if (rc != VRT_OK)
        return rc;
    cJSON_ArrayForEach(r, data)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "vmid");
        const cJSON *node = cJSON_GetObjectItemCaseSensitive(r, "node");
        const cJSON *tags = cJSON_GetObjectItemCaseSensitive(r, "tags");
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(r, "status");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "name");
        char path[VRT_URL_MAX];
        cJSON *croot = NULL, *conf = NULL;
        const cJSON *desc;
        const char *m;
        vrt_vm_info info;
        int stop = 0;

        if (!cJSON_IsNumber(v) || !cJSON_IsString(node) ||
            !cJSON_IsString(tags) || !strstr(tags->valuestring, "virtrigaud"))
            continue;
        snprintf(path, sizeof(path), "/nodes/%s/qemu/%ld/config", node->valuestring, (long)v->valueint);
        if (pve_request(&croot, &conf, conn, call, "GET", path, NULL, err) != VRT_OK) {
            memset(err, 0, sizeof(*err));
            continue; /* gone meanwhile */
        }
        desc = cJSON_GetObjectItemCaseSensitive(conf, "description");
        m = cJSON_IsString(desc) ? strstr(desc->valuestring, PVE_MARKER_KEY) : NULL;
        if (m && strlen(m) >= strlen(PVE_MARKER_KEY) + PVE_MARKER_LEN) {
            memset(&info, 0, sizeof(info));
            info.struct_size = sizeof(info);
            info.exists = 1;
            info.power_state = cJSON_IsString(status) && !strcmp(status->valuestring, "running") ? VRT_POWER_ON : VRT_POWER_OFF;
            snprintf(info.id, sizeof(info.id), "%ld-%.*s", (long)v->valueint, PVE_MARKER_LEN, m + strlen(PVE_MARKER_KEY));
            if (cJSON_IsString(name))
                snprintf(info.name, sizeof(info.name), "%s", name->valuestring);
            info.cpus = (uint32_t)((int64_t)pve_spec_int(conf, "cores", 1) * pve_spec_int(conf, "sockets", 1));
            stop = visit(opaque, &info);
        }
        cJSON_Delete(croot);
        if (stop)
            break;
    }
    cJSON_Delete(root);
    return VRT_OK;
}

int32_t pve_console(vrt_console_info *out, vrt_conn *conn,
                    const vrt_call *call, const char *id, uint32_t flags,
                    vrt_error *err)
{
    pve_vm vm;
    cJSON *conf = NULL;
    const cJSON *name;
    int32_t rc = pve_check_call(call, flags, "console", err);

    if (rc != VRT_OK)
        return rc;
    if (!out || !id || !VRT_HAS_MEMBER(out, vrt_console_info, kind))
        return pve_err(err, VRT_E_INVALID, "console: out (full struct_size) and id are required.");
    if ((rc = pve_locate(&vm, &conf, conn, call, id, err)) != VRT_OK)
        return rc;
    name = cJSON_GetObjectItemCaseSensitive(conf, "name");
    console_url(out->url, sizeof(out->url), conn, &vm, cJSON_IsString(name) ? name->valuestring : NULL);
    snprintf(out->kind, sizeof(out->kind), "vnc");
    out->expires_ms = 0;
    cJSON_Delete(conf);
    return VRT_OK;
}

int32_t pve_list_hosts(vrt_conn *conn, const vrt_call *call,
                       vrt_visit_fn visit, void *opaque, uint32_t flags,
                       vrt_error *err)
{
    cJSON *root = NULL, *data = NULL;
    const cJSON *n;
    int32_t rc = pve_check_call(call, flags, "list_hosts", err);

    if (rc != VRT_OK)
        return rc;
    if (!visit)
        return pve_err(err, VRT_E_INVALID, "list_hosts: visit is required.");
    if ((rc = pve_request(&root, &data, conn, call, "GET", "/nodes", NULL, err)) != VRT_OK)
        return rc;
    cJSON_ArrayForEach(n, data)
    {
        vrt_host_info h;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(n, "node");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(n, "status");
        const cJSON *mem = cJSON_GetObjectItemCaseSensitive(n, "mem");
        const cJSON *maxmem = cJSON_GetObjectItemCaseSensitive(n, "maxmem");
        if (!cJSON_IsString(name))
            continue;
        memset(&h, 0, sizeof(h));
        h.struct_size = sizeof(h);
        snprintf(h.name, sizeof(h.name), "%s", name->valuestring);
        h.available = cJSON_IsString(st) && !strcmp(st->valuestring, "online");
        h.cpus = (uint32_t)pve_spec_int(n, "maxcpu", 0);
        h.memory_mib = pve_json_u64(maxmem, 1048576);
        h.memory_free_mib = h.memory_mib - pve_json_u64(mem, 1048576);
        if (h.memory_free_mib > h.memory_mib)
            h.memory_free_mib = 0;
        if (visit(opaque, &h))
            break;
    }
    cJSON_Delete(root);
    return VRT_OK;
}
