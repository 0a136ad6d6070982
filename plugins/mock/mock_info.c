/*
 * mock_info.c - what the mock reports about VMs: describe, list_vms and
 * the reserved id "_stats" (this connection's call counters).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"

/* Fills a zeroed, full-size info from a VM; raw_json is left alone. */
void mock_vm_fill_info(vrt_vm_info *info, const mock_vm *vm)
{
    info->struct_size = sizeof(*info);
    info->exists = 1;
    info->power_state = vm->power;
    mock_copy(info->id, sizeof(info->id), vm->id);
    mock_copy(info->name, sizeof(info->name), vm->name);
    if (vm->power == VRT_POWER_ON) {
        info->ip_count = 1;
        snprintf(info->ips[0], sizeof(info->ips[0]), "10.0.%u.%u",
                 (unsigned)(vm->seq / 254 % 256),
                 (unsigned)(vm->seq % 254 + 1));
    }
    snprintf(info->console_url, sizeof(info->console_url),
             "vnc://mock.invalid:%u", 5900u + (unsigned)(vm->seq % 100));
    info->cpus = vm->cpus;
    info->memory_mib = vm->memory_mib;
}

static cJSON *snap_raw(const mock_snapshot *s)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "id", s->id);
    cJSON_AddStringToObject(o, "name", s->name);
    if (s->description)
        cJSON_AddStringToObject(o, "description", s->description);
    cJSON_AddBoolToObject(o, "includeMemory", s->include_memory);
    return o;
}

/* The provider-specific details of a VM as a JSON tree (NULL on OOM). */
cJSON *mock_vm_raw(const mock_vm *vm)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *snaps = cJSON_AddArrayToObject(o, "snapshots");
    cJSON *spec = mock_json_parse(vm->spec_json ? vm->spec_json : "{}");

    cJSON_AddStringToObject(o, "id", vm->id);
    cJSON_AddStringToObject(o, "name", vm->name);
    cJSON_AddStringToObject(o, "host", vm->host);
    cJSON_AddNumberToObject(o, "hardwareVersion", vm->hw_version);
    cJSON_AddNumberToObject(o, "diskSizeBytes", (double)vm->disk_size);
    if (vm->source_id[0]) {
        cJSON_AddStringToObject(o, "cloneOf", vm->source_id);
        cJSON_AddBoolToObject(o, "linked", vm->linked);
    }
    for (size_t i = 0; snaps && i < vm->nsnaps; i++)
        cJSON_AddItemToArray(snaps, snap_raw(&vm->snaps[i]));
    if (spec)
        cJSON_AddItemToObject(o, "spec", spec);
    return o;
}

static int32_t describe_stats(vrt_vm_info *full, vrt_conn *conn,
                              int want_raw, vrt_error *err)
{
    mock_state *st = conn->state;
    cJSON *root = cJSON_CreateObject();
    cJSON *calls = cJSON_AddObjectToObject(root, "calls");
    int32_t rc = VRT_OK;

    full->exists = 1;
    full->power_state = VRT_POWER_UNKNOWN;
    mock_copy(full->id, sizeof(full->id), MOCK_STATS_ID);
    mock_copy(full->name, sizeof(full->name), MOCK_STATS_ID);
    if (!want_raw)
        goto cleanup;
    pthread_mutex_lock(&conn->lock);
    for (int m = 0; calls && m < MOCK_M_COUNT; m++)
        cJSON_AddNumberToObject(calls, mock_method_name((mock_method)m),
                                (double)conn->calls[m]);
    pthread_mutex_unlock(&conn->lock);
    pthread_mutex_lock(&st->lock);
    cJSON_AddStringToObject(root, "endpoint", st->endpoint);
    cJSON_AddNumberToObject(root, "vms", (double)st->nvms);
    cJSON_AddNumberToObject(root, "tasks", (double)st->ntasks);
    cJSON_AddNumberToObject(root, "images", (double)st->nimages);
    cJSON_AddNumberToObject(root, "disks", (double)st->ndisks);
    pthread_mutex_unlock(&st->lock);
    full->raw_json = mock_json_dup_host(root);
    if (!full->raw_json)
        rc = mock_err(err, VRT_E_INTERNAL, "Out of memory.");

cleanup:
    cJSON_Delete(root);
    return rc;
}

static int32_t describe_vm(vrt_vm_info *full, vrt_conn *conn, const char *id,
                           int want_raw, vrt_error *err)
{
    cJSON *raw = NULL;
    mock_vm *vm;

    pthread_mutex_lock(&conn->state->lock);
    vm = mock_vm_find(conn->state, id);
    if (vm) {
        mock_vm_fill_info(full, vm);
        if (want_raw)
            raw = mock_vm_raw(vm);
    }
    pthread_mutex_unlock(&conn->state->lock);
    if (raw) {
        full->raw_json = mock_json_dup_host(raw);
        cJSON_Delete(raw);
    }
    if (want_raw && vm && !full->raw_json)
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    return VRT_OK;
}

int32_t mock_describe(vrt_vm_info *out, vrt_conn *conn, const vrt_call *call,
                      const char *id, uint32_t flags, vrt_error *err)
{
    const mock_method m = MOCK_M_DESCRIBE;
    vrt_vm_info full;
    int want_raw;
    int32_t rc = mock_check_call(conn, call, flags, m, err);

    if (rc == VRT_OK)
        rc = mock_check_arg(out, "out", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(id, "id", m, err);
    if (rc == VRT_OK && !VRT_HAS_MEMBER(out, vrt_vm_info, exists))
        rc = mock_err(err, VRT_E_INVALID,
                      "describe: out->struct_size %u is too small.",
                      out->struct_size);
    if (rc != VRT_OK)
        return rc;
    memset(&full, 0, sizeof(full));
    want_raw = VRT_HAS_MEMBER(out, vrt_vm_info, raw_json);
    /* Reading the counters must not move them. */
    if (strcmp(id, MOCK_STATS_ID) == 0) {
        rc = describe_stats(&full, conn, want_raw, err);
    } else {
        rc = mock_gate(NULL, conn, call, m, err);
        if (rc == VRT_OK)
            rc = describe_vm(&full, conn, id, want_raw, err);
    }
    if (rc != VRT_OK) {
        mock_host->free(full.raw_json);
        return rc;
    }
    mock_put_sized(out, &full, sizeof(full));
    return VRT_OK;
}

int32_t mock_list_vms(vrt_conn *conn, const vrt_call *call, vrt_visit_fn visit,
                      void *opaque, uint32_t flags, vrt_error *err)
{
    const mock_method m = MOCK_M_LIST_VMS;
    vrt_vm_info *infos = NULL;
    cJSON **raws = NULL;
    size_t n = 0;
    int32_t rc = mock_check_call(conn, call, flags, m, err);

    if (rc == VRT_OK && !visit)
        rc = mock_err(err, VRT_E_INVALID,
                      "list_vms: visit is required but NULL.");
    if (rc == VRT_OK)
        rc = mock_require_cap(conn, VRT_CAP_LIST_VMS, m, err);
    if (rc == VRT_OK)
        rc = mock_gate(NULL, conn, call, m, err);
    if (rc != VRT_OK)
        return rc;

    /* Copy out under the lock so that visit may call back into us. */
    pthread_mutex_lock(&conn->state->lock);
    n = conn->state->nvms;
    infos = calloc(n ? n : 1, sizeof(*infos));
    raws = calloc(n ? n : 1, sizeof(*raws));
    for (size_t i = 0; infos && raws && i < n; i++) {
        mock_vm_fill_info(&infos[i], conn->state->vms[i]);
        raws[i] = mock_vm_raw(conn->state->vms[i]);
    }
    pthread_mutex_unlock(&conn->state->lock);
    if (!infos || !raws) {
        rc = mock_err(err, VRT_E_INTERNAL, "Out of memory.");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        char *text = raws[i] ? cJSON_PrintUnformatted(raws[i]) : NULL;
        int stop;

        infos[i].raw_json = text; /* borrowed by the callback */
        stop = visit(opaque, &infos[i]);
        cJSON_free(text);
        if (stop)
            break;
    }

cleanup:
    for (size_t i = 0; raws && i < n; i++)
        cJSON_Delete(raws[i]);
    free(raws);
    free(infos);
    return rc;
}
