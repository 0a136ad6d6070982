/*
 * mock_vm.c - VM lifecycle: create, destroy, power, reconfigure and
 * hardware upgrade.
 *
 * Each method checks its arguments, passes the gate (counters, latency,
 * faults), then changes the shared state under its lock.  When the gate
 * routes a fault into a task (task_err.code != 0) the checks still run but
 * the effect is skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"

/*
 * Parses a spec_json document and reads the fields the mock honours:
 * "cpu", "memoryMiB" and "diskSizeBytes".  Absent fields leave 0 in the
 * outputs.  On success *parsed (if not NULL) receives the document, which
 * the caller deletes.  `field` names the document in messages.
 */
int32_t mock_spec_read(uint32_t *cpus, uint64_t *memory_mib,
                       uint64_t *disk_size, cJSON **parsed,
                       const char *spec_json, const char *field,
                       vrt_error *err)
{
    cJSON *root = mock_json_parse(spec_json);
    uint64_t cpu = 0;
    int32_t rc = VRT_OK;

    *memory_mib = 0;
    *disk_size = 0;
    if (parsed)
        *parsed = NULL;
    if (!cJSON_IsObject(root)) {
        rc = mock_err(err, VRT_E_INVALID, "%s is not a JSON object.", field);
        goto cleanup;
    }
    rc = mock_json_uint(&cpu, root, "cpu", 1, 1024, field, err);
    if (rc == VRT_OK)
        rc = mock_json_uint(memory_mib, root, "memoryMiB", 1, 1ull << 32,
                            field, err);
    if (rc == VRT_OK)
        rc = mock_json_uint(disk_size, root, "diskSizeBytes", 512, 1ull << 50,
                            field, err);
    if (rc == VRT_OK && *disk_size % 512)
        rc = mock_err(err, VRT_E_INVALID,
                      "%s.diskSizeBytes must be a multiple of 512.", field);
    if (rc == VRT_OK && parsed) {
        *parsed = root;
        root = NULL;
    }

cleanup:
    *cpus = (uint32_t)cpu;
    cJSON_Delete(root);
    return rc;
}

static int32_t check_spec(const vrt_vm_spec *spec, mock_method m,
                          vrt_error *err)
{
    const char *name = mock_method_name(m);

    if (!VRT_HAS_MEMBER(spec, vrt_vm_spec, spec_json))
        return mock_err(err, VRT_E_INVALID,
                        "%s: spec->struct_size %u is too small.", name,
                        spec->struct_size);
    if (spec->flags)
        return mock_err(err, VRT_E_INVALID,
                        "%s: spec->flags must be 0, got 0x%x.", name,
                        spec->flags);
    if (!spec->spec_json)
        return mock_err(err, VRT_E_INVALID,
                        "%s: spec->spec_json is required but NULL.", name);
    return VRT_OK;
}

/* A NUL-terminated copy of a cloud-init document (NULL stays NULL). */
static int copy_doc(char **out, const uint8_t *bytes, size_t len)
{
    if (!bytes || !len)
        return 0;
    *out = malloc(len + 1);
    if (!*out)
        return -1;
    memcpy(*out, bytes, len);
    (*out)[len] = '\0';
    return 0;
}

/*
 * The host a new VM lands on: spec_json.placement.host when it names one
 * of the mock's hosts (placement is a hint, so anything else is ignored),
 * else round robin by creation order.
 */
void mock_pick_host(char out[VRT_NAME_MAX], const cJSON *spec, uint64_t seq,
                    uint32_t hosts)
{
    const cJSON *placement =
        cJSON_GetObjectItemCaseSensitive(spec, "placement");
    const char *want = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(placement, "host"));

    for (uint32_t i = 1; want && i <= hosts; i++) {
        mock_host_name(out, i, hosts);
        if (strcmp(out, want) == 0)
            return;
    }
    mock_host_name(out, seq, hosts);
}

/* Same name and an equivalent spec: a retried create. */
int mock_vm_same_spec(const mock_vm *vm, const cJSON *spec)
{
    cJSON *old = mock_json_parse(vm->spec_json);
    int same = old && cJSON_Compare(old, spec, 1);

    cJSON_Delete(old);
    return same;
}

static int32_t create_locked(char id[VRT_ID_MAX], int *created,
                             vrt_conn *conn, const vrt_vm_spec *spec,
                             const cJSON *parsed,
                             uint32_t cpus, uint64_t mem, uint64_t disk,
                             const vrt_error *terr, vrt_error *err)
{
    mock_state *st = conn->state;
    mock_vm *vm = mock_vm_find_name(st, spec->name);
    char host[VRT_NAME_MAX];
    int32_t rc;

    *created = 0;
    if (vm) {
        if (!mock_vm_same_spec(vm, parsed))
            return mock_err(err, VRT_E_EXISTS,
                            "create: VM name \"%.64s\" is taken by %s with a "
                            "different spec_json.",
                            spec->name, vm->id);
        memcpy(id, vm->id, VRT_ID_MAX);
        return VRT_OK;
    }
    mock_pick_host(host, parsed, st->next_vm + 1, conn->cfg.hosts);
    if (terr->code) {
        /* The task will fail: hand out an id that names nothing. */
        snprintf(id, VRT_ID_MAX, "mock-%06llu",
                 (unsigned long long)++st->next_vm);
        return VRT_OK;
    }
    rc = mock_vm_add(&vm, st, spec->name, err);
    if (rc != VRT_OK)
        return rc;
    vm->spec_json = mock_strdup(spec->spec_json);
    if (!vm->spec_json || copy_doc(&vm->user_data, spec->user_data,
                                   spec->user_data_len) ||
        copy_doc(&vm->meta_data, spec->meta_data, spec->meta_data_len) ||
        (VRT_HAS_MEMBER(spec, vrt_vm_spec, network_data_len) &&
         copy_doc(&vm->network_data, spec->network_data,
                  spec->network_data_len))) {
        mock_vm_remove(st, vm);
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    }
    mock_copy(vm->host, sizeof(vm->host), host);
    if (cpus)
        vm->cpus = cpus;
    if (mem)
        vm->memory_mib = mem;
    vm->disk_size = disk ? disk : conn->cfg.disk_size;
    memcpy(id, vm->id, VRT_ID_MAX);
    *created = 1;
    return VRT_OK;
}

int32_t mock_create(char id[VRT_ID_MAX], vrt_task_ref *task, vrt_conn *conn,
                    const vrt_call *call, const vrt_vm_spec *spec,
                    uint32_t flags, vrt_error *err)
{
    const mock_method m = MOCK_M_CREATE;
    vrt_error terr = VRT_ERROR_INIT;
    cJSON *parsed = NULL;
    uint32_t cpus = 0;
    uint64_t mem = 0, disk = 0;
    int created = 0;
    int32_t rc;

    if (id)
        id[0] = '\0';
    if (task)
        task->id[0] = '\0';
    rc = mock_check_call(conn, call, flags, m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(id, "id", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(task, "task", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(spec, "spec", m, err);
    if (rc == VRT_OK)
        rc = check_spec(spec, m, err);
    if (rc == VRT_OK && (!spec->name || !spec->name[0] ||
                         strlen(spec->name) >= VRT_NAME_MAX))
        rc = mock_err(err, VRT_E_INVALID,
                      "create: spec->name must be 1 to %d bytes.",
                      VRT_NAME_MAX - 1);
    if (rc == VRT_OK)
        rc = mock_spec_read(&cpus, &mem, &disk, &parsed, spec->spec_json,
                            "spec_json", err);
    if (rc == VRT_OK)
        rc = mock_gate(&terr, conn, call, m, err);
    if (rc != VRT_OK)
        goto cleanup;

    pthread_mutex_lock(&conn->state->lock);
    rc = create_locked(id, &created, conn, spec, parsed, cpus, mem, disk,
                       &terr, err);
    if (rc == VRT_OK && (created || terr.code))
        rc = mock_state_save(conn->state, conn->ctx, err);
    pthread_mutex_unlock(&conn->state->lock);
    if (rc == VRT_OK)
        rc = mock_task_issue(task, conn, m, &terr, err);
    if (rc == VRT_OK && created)
        mock_log(conn->ctx, VRT_LOG_INFO, "Created VM vm_id=%s name=\"%.64s\".",
                 id, spec->name);

cleanup:
    cJSON_Delete(parsed);
    if (rc != VRT_OK && id)
        id[0] = '\0';
    return rc;
}

/* Arguments common to the methods that act on one VM by id. */
static int32_t vm_args(const vrt_task_ref *task, const char *id,
                       mock_method m, vrt_error *err)
{
    int32_t rc = mock_check_arg(task, "task", m, err);

    return rc == VRT_OK ? mock_check_arg(id, "id", m, err) : rc;
}

static int32_t vm_missing(const char *id, mock_method m, vrt_error *err)
{
    return mock_err(err, VRT_E_NOTFOUND, "%s: no VM \"%.64s\".",
                    mock_method_name(m), id);
}

int32_t mock_destroy(vrt_task_ref *task, vrt_conn *conn, const vrt_call *call,
                     const char *id, uint32_t flags, vrt_error *err)
{
    const mock_method m = MOCK_M_DESTROY;
    vrt_error terr;
    mock_vm *vm;
    int32_t rc;

    if (task)
        task->id[0] = '\0';
    rc = mock_check_call(conn, call, flags, m, err);
    if (rc == VRT_OK)
        rc = vm_args(task, id, m, err);
    if (rc == VRT_OK)
        rc = mock_gate(&terr, conn, call, m, err);
    if (rc != VRT_OK)
        return rc;
    pthread_mutex_lock(&conn->state->lock);
    vm = mock_vm_find(conn->state, id);
    if (vm && !terr.code) {
        mock_vm_remove(conn->state, vm);
        rc = mock_state_save(conn->state, conn->ctx, err);
    }
    pthread_mutex_unlock(&conn->state->lock);
    if (!vm)
        return vm_missing(id, m, err);
    if (rc != VRT_OK)
        return rc;
    if (!terr.code)
        mock_log(conn->ctx, VRT_LOG_INFO, "Destroyed VM vm_id=%s.", id);
    return mock_task_issue(task, conn, m, &terr, err);
}

static int32_t power_locked(mock_vm *vm, int32_t op, int apply,
                            vrt_error *err)
{
    int32_t next;

    switch (op) {
    case VRT_POWER_OP_ON:
        next = VRT_POWER_ON;
        break;
    case VRT_POWER_OP_OFF:
        next = VRT_POWER_OFF;
        break;
    case VRT_POWER_OP_REBOOT:
        if (vm->power != VRT_POWER_ON)
            return mock_err(err, VRT_E_CONFLICT,
                            "power: VM %s is not running, so it cannot "
                            "reboot.",
                            vm->id);
        next = VRT_POWER_ON;
        break;
    default: /* VRT_POWER_OP_SHUTDOWN_GRACEFUL: the guest always obliges */
        next = VRT_POWER_OFF;
        break;
    }
    if (apply)
        vm->power = next;
    return VRT_OK;
}

int32_t mock_power(vrt_task_ref *task, vrt_conn *conn, const vrt_call *call,
                   const char *id, int32_t op, uint32_t graceful_timeout_s,
                   uint32_t flags, vrt_error *err)
{
    const mock_method m = MOCK_M_POWER;
    vrt_error terr;
    mock_vm *vm;
    int32_t rc;

    (void)graceful_timeout_s; /* the mock guest shuts down at once */
    if (task)
        task->id[0] = '\0';
    rc = mock_check_call(conn, call, flags, m, err);
    if (rc == VRT_OK)
        rc = vm_args(task, id, m, err);
    if (rc == VRT_OK &&
        (op < VRT_POWER_OP_ON || op > VRT_POWER_OP_SHUTDOWN_GRACEFUL))
        rc = mock_err(err, VRT_E_INVALID,
                      "power: op %d is not a power operation.", op);
    if (rc == VRT_OK && op == VRT_POWER_OP_SHUTDOWN_GRACEFUL)
        rc = mock_require_cap(conn, VRT_CAP_GRACEFUL_SHUTDOWN, m, err);
    if (rc == VRT_OK)
        rc = mock_gate(&terr, conn, call, m, err);
    if (rc != VRT_OK)
        return rc;
    pthread_mutex_lock(&conn->state->lock);
    vm = mock_vm_find(conn->state, id);
    rc = vm ? power_locked(vm, op, !terr.code, err)
            : vm_missing(id, m, err);
    if (rc == VRT_OK && !terr.code)
        rc = mock_state_save(conn->state, conn->ctx, err);
    pthread_mutex_unlock(&conn->state->lock);
    if (rc == VRT_OK)
        rc = mock_task_issue(task, conn, m, &terr, err);
    return rc;
}

static int32_t reconfigure_locked(mock_vm *vm, const vrt_conn *conn,
                                  uint32_t cpus, uint64_t mem, uint64_t disk,
                                  int apply, vrt_error *err)
{
    int on = vm->power == VRT_POWER_ON;

    if (on && (cpus || mem) &&
        !(mock_caps(conn) & VRT_CAP_RECONFIGURE_ONLINE))
        return mock_err(err, VRT_E_CONFLICT,
                        "reconfigure: VM %s is running and this connection "
                        "cannot change CPU or memory online.",
                        vm->id);
    if (disk && disk < vm->disk_size)
        return mock_err(err, VRT_E_INVALID,
                        "reconfigure: spec_json.diskSizeBytes %llu would "
                        "shrink the disk of %llu bytes.",
                        (unsigned long long)disk,
                        (unsigned long long)vm->disk_size);
    if (on && disk > vm->disk_size &&
        !(mock_caps(conn) & VRT_CAP_DISK_EXPAND_ONLINE))
        return mock_err(err, VRT_E_CONFLICT,
                        "reconfigure: VM %s is running and this connection "
                        "cannot grow disks online.",
                        vm->id);
    if (!apply)
        return VRT_OK;
    if (cpus)
        vm->cpus = cpus;
    if (mem)
        vm->memory_mib = mem;
    if (disk)
        vm->disk_size = disk;
    return VRT_OK;
}

int32_t mock_reconfigure(vrt_task_ref *task, vrt_conn *conn,
                         const vrt_call *call, const char *id,
                         const vrt_vm_spec *spec, uint32_t flags,
                         vrt_error *err)
{
    const mock_method m = MOCK_M_RECONFIGURE;
    vrt_error terr;
    mock_vm *vm;
    uint32_t cpus = 0;
    uint64_t mem = 0, disk = 0;
    int32_t rc;

    if (task)
        task->id[0] = '\0';
    rc = mock_check_call(conn, call, flags, m, err);
    if (rc == VRT_OK)
        rc = vm_args(task, id, m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(spec, "spec", m, err);
    if (rc == VRT_OK)
        rc = check_spec(spec, m, err);
    if (rc == VRT_OK)
        rc = mock_spec_read(&cpus, &mem, &disk, NULL, spec->spec_json,
                            "spec_json", err);
    if (rc == VRT_OK)
        rc = mock_require_cap(conn, VRT_CAP_RECONFIGURE, m, err);
    if (rc == VRT_OK)
        rc = mock_gate(&terr, conn, call, m, err);
    if (rc != VRT_OK)
        return rc;
    pthread_mutex_lock(&conn->state->lock);
    vm = mock_vm_find(conn->state, id);
    rc = vm ? reconfigure_locked(vm, conn, cpus, mem, disk, !terr.code, err)
            : vm_missing(id, m, err);
    if (rc == VRT_OK && !terr.code)
        rc = mock_state_save(conn->state, conn->ctx, err);
    pthread_mutex_unlock(&conn->state->lock);
    if (rc == VRT_OK)
        rc = mock_task_issue(task, conn, m, &terr, err);
    return rc;
}

static int32_t upgrade_locked(mock_vm *vm, uint32_t target, int apply,
                              vrt_error *err)
{
    if (vm->power != VRT_POWER_OFF)
        return mock_err(err, VRT_E_CONFLICT,
                        "hardware_upgrade: VM %s must be powered off.",
                        vm->id);
    if (target < vm->hw_version)
        return mock_err(err, VRT_E_INVALID,
                        "hardware_upgrade: target_version %u is older than "
                        "the VM's version %u.",
                        target, vm->hw_version);
    if (apply)
        vm->hw_version = target;
    return VRT_OK;
}

int32_t mock_hardware_upgrade(vrt_task_ref *task, vrt_conn *conn,
                              const vrt_call *call, const char *id,
                              uint32_t target_version, uint32_t flags,
                              vrt_error *err)
{
    const mock_method m = MOCK_M_HARDWARE_UPGRADE;
    vrt_error terr;
    mock_vm *vm;
    int32_t rc;

    if (task)
        task->id[0] = '\0';
    rc = mock_check_call(conn, call, flags, m, err);
    if (rc == VRT_OK)
        rc = vm_args(task, id, m, err);
    if (rc == VRT_OK && target_version == 0)
        rc = mock_err(err, VRT_E_INVALID,
                      "hardware_upgrade: target_version must not be 0.");
    if (rc == VRT_OK)
        rc = mock_require_cap(conn, VRT_CAP_HARDWARE_UPGRADE, m, err);
    if (rc == VRT_OK)
        rc = mock_gate(&terr, conn, call, m, err);
    if (rc != VRT_OK)
        return rc;
    pthread_mutex_lock(&conn->state->lock);
    vm = mock_vm_find(conn->state, id);
    rc = vm ? upgrade_locked(vm, target_version, !terr.code, err)
            : vm_missing(id, m, err);
    if (rc == VRT_OK && !terr.code)
        rc = mock_state_save(conn->state, conn->ctx, err);
    pthread_mutex_unlock(&conn->state->lock);
    if (rc == VRT_OK)
        rc = mock_task_issue(task, conn, m, &terr, err);
    return rc;
}
