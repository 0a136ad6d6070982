/*
 * mock_snap.c - snapshots, clones and image preparation.
 *
 * A snapshot records the VM's CPU, memory, disk size and (with memory) its
 * power state; revert restores them, and a revert to a snapshot without
 * memory leaves the VM powered off, as real hypervisors do.  A clone
 * copies its source (or the snapshot it is taken from) and shares the
 * source's disk content, so exporting either gives the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"

static int32_t vm_missing(const char *id, mock_method m, vrt_error *err)
{
    return mock_err(err, VRT_E_NOTFOUND, "%s: no VM \"%.64s\".",
                    mock_method_name(m), id);
}

static int32_t snap_missing(const char *vm_id, const char *id, mock_method m,
                            vrt_error *err)
{
    return mock_err(err, VRT_E_NOTFOUND, "%s: VM %.64s has no snapshot "
                    "\"%.64s\".", mock_method_name(m), vm_id, id);
}

static int32_t name_ok(const char *name, const char *field, mock_method m,
                       vrt_error *err)
{
    if (name && name[0] && strlen(name) < VRT_NAME_MAX)
        return VRT_OK;
    return mock_err(err, VRT_E_INVALID, "%s: %s must be 1 to %d bytes.",
                    mock_method_name(m), field, VRT_NAME_MAX - 1);
}

static int32_t snap_add_locked(char snapshot_id[VRT_ID_MAX], mock_state *st,
                               mock_vm *vm, const vrt_snapshot_spec *spec,
                               int apply, vrt_error *err)
{
    mock_snapshot *s;

    snprintf(snapshot_id, VRT_ID_MAX, "snap-%llu",
             (unsigned long long)++st->next_snap);
    if (!apply)
        return VRT_OK;
    if (mock_grow((void **)&vm->snaps, &vm->capsnaps, vm->nsnaps + 1,
                  sizeof(*vm->snaps)) != 0)
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    s = &vm->snaps[vm->nsnaps];
    memset(s, 0, sizeof(*s));
    if (spec->description && !(s->description = mock_strdup(spec->description)))
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    vm->nsnaps++;
    memcpy(s->id, snapshot_id, VRT_ID_MAX);
    mock_copy(s->name, sizeof(s->name), spec->name ? spec->name : s->id);
    s->include_memory = spec->include_memory != 0;
    s->power = s->include_memory ? vm->power : VRT_POWER_OFF;
    s->cpus = vm->cpus;
    s->memory_mib = vm->memory_mib;
    s->disk_size = vm->disk_size;
    return VRT_OK;
}

int32_t mock_snapshot_create(char snapshot_id[VRT_ID_MAX], vrt_task_ref *task,
                             vrt_conn *conn, const vrt_call *call,
                             const char *vm_id, const vrt_snapshot_spec *spec,
                             uint32_t flags, vrt_error *err)
{
    const mock_method m = MOCK_M_SNAPSHOT_CREATE;
    vrt_error terr;
    mock_vm *vm;
    int32_t rc;

    if (snapshot_id)
        snapshot_id[0] = '\0';
    if (task)
        task->id[0] = '\0';
    rc = mock_check_call(conn, call, flags, m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(snapshot_id, "snapshot_id", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(task, "task", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(vm_id, "vm_id", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(spec, "spec", m, err);
    if (rc == VRT_OK && !VRT_HAS_MEMBER(spec, vrt_snapshot_spec, description))
        rc = mock_err(err, VRT_E_INVALID,
                      "snapshot_create: spec->struct_size %u is too small.",
                      spec->struct_size);
    if (rc == VRT_OK && spec->name)
        rc = name_ok(spec->name, "spec->name", m, err);
    if (rc == VRT_OK)
        rc = mock_require_cap(conn, VRT_CAP_SNAPSHOTS, m, err);
    if (rc == VRT_OK && spec->include_memory)
        rc = mock_require_cap(conn, VRT_CAP_MEMORY_SNAPSHOTS, m, err);
    if (rc == VRT_OK)
        rc = mock_gate(&terr, conn, call, m, err);
    if (rc != VRT_OK)
        return rc;

    pthread_mutex_lock(&conn->state->lock);
    vm = mock_vm_find(conn->state, vm_id);
    rc = vm ? snap_add_locked(snapshot_id, conn->state, vm, spec, !terr.code,
                              err)
            : vm_missing(vm_id, m, err);
    if (rc == VRT_OK)
        rc = mock_state_save(conn->state, conn->ctx, err);
    pthread_mutex_unlock(&conn->state->lock);
    if (rc == VRT_OK)
        rc = mock_task_issue(task, conn, m, &terr, err);
    if (rc != VRT_OK)
        snapshot_id[0] = '\0';
    return rc;
}

/* Shared by delete and revert: checks, gate, then `op` under the lock. */
typedef void (*snap_op_fn)(mock_vm *vm, mock_snapshot *s);

static void snap_delete_op(mock_vm *vm, mock_snapshot *s)
{
    size_t i = (size_t)(s - vm->snaps);

    free(s->description);
    memmove(s, s + 1, (vm->nsnaps - i - 1) * sizeof(*s));
    vm->nsnaps--;
}

static void snap_revert_op(mock_vm *vm, mock_snapshot *s)
{
    vm->power = s->power;
    vm->cpus = s->cpus;
    vm->memory_mib = s->memory_mib;
    vm->disk_size = s->disk_size;
}

static int32_t snap_apply(vrt_task_ref *task, vrt_conn *conn,
                          const vrt_call *call, const char *vm_id,
                          const char *snapshot_id, uint32_t flags,
                          mock_method m, uint64_t cap, snap_op_fn op,
                          vrt_error *err)
{
    vrt_error terr;
    mock_vm *vm;
    mock_snapshot *s = NULL;
    int32_t rc;

    if (task)
        task->id[0] = '\0';
    rc = mock_check_call(conn, call, flags, m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(task, "task", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(vm_id, "vm_id", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(snapshot_id, "snapshot_id", m, err);
    if (rc == VRT_OK)
        rc = mock_require_cap(conn, cap, m, err);
    if (rc == VRT_OK)
        rc = mock_gate(&terr, conn, call, m, err);
    if (rc != VRT_OK)
        return rc;

    pthread_mutex_lock(&conn->state->lock);
    vm = mock_vm_find(conn->state, vm_id);
    if (vm)
        s = mock_snap_find(vm, snapshot_id);
    if (s && !terr.code) {
        op(vm, s);
        rc = mock_state_save(conn->state, conn->ctx, err);
    }
    pthread_mutex_unlock(&conn->state->lock);
    if (!vm)
        return vm_missing(vm_id, m, err);
    if (!s)
        return snap_missing(vm_id, snapshot_id, m, err);
    if (rc != VRT_OK)
        return rc;
    return mock_task_issue(task, conn, m, &terr, err);
}

int32_t mock_snapshot_delete(vrt_task_ref *task, vrt_conn *conn,
                             const vrt_call *call, const char *vm_id,
                             const char *snapshot_id, uint32_t flags,
                             vrt_error *err)
{
    return snap_apply(task, conn, call, vm_id, snapshot_id, flags,
                      MOCK_M_SNAPSHOT_DELETE, VRT_CAP_SNAPSHOTS,
                      snap_delete_op, err);
}

int32_t mock_snapshot_revert(vrt_task_ref *task, vrt_conn *conn,
                             const vrt_call *call, const char *vm_id,
                             const char *snapshot_id, uint32_t flags,
                             vrt_error *err)
{
    return snap_apply(task, conn, call, vm_id, snapshot_id, flags,
                      MOCK_M_SNAPSHOT_REVERT, VRT_CAP_SNAPSHOT_REVERT,
                      snap_revert_op, err);
}

/* What a clone starts from: its source, or one of the source's snapshots. */
typedef struct clone_args {
    const vrt_clone_spec *spec;
    const cJSON *parsed;
    uint32_t cpus;
    uint64_t mem, disk;
} clone_args;

static int32_t clone_fill(mock_vm *vm, const mock_vm *src,
                          const mock_snapshot *snap, const clone_args *a,
                          vrt_error *err)
{
    uint64_t src_disk = snap ? snap->disk_size : src->disk_size;

    if (a->disk && a->disk < src_disk)
        return mock_err(err, VRT_E_INVALID,
                        "clone: spec_json.diskSizeBytes %llu would shrink "
                        "the source disk of %llu bytes.",
                        (unsigned long long)a->disk,
                        (unsigned long long)src_disk);
    vm->spec_json = mock_strdup(a->spec->spec_json);
    if (!vm->spec_json)
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    vm->cpus = a->cpus ? a->cpus : snap ? snap->cpus : src->cpus;
    vm->memory_mib = a->mem ? a->mem : snap ? snap->memory_mib
                                            : src->memory_mib;
    vm->disk_size = a->disk ? a->disk : src_disk;
    vm->hw_version = src->hw_version;
    vm->linked = a->spec->linked != 0;
    mock_copy(vm->source_id, sizeof(vm->source_id), src->id);
    mock_copy(vm->disk_seed, sizeof(vm->disk_seed), src->disk_seed);
    return VRT_OK;
}

static int32_t clone_locked(char target_id[VRT_ID_MAX], vrt_conn *conn,
                            const clone_args *a, int apply, vrt_error *err)
{
    const vrt_clone_spec *spec = a->spec;
    mock_state *st = conn->state;
    mock_vm *src = mock_vm_find(st, spec->source_vm_id);
    mock_vm *vm;
    mock_snapshot *snap = NULL;
    char host[VRT_NAME_MAX];
    int32_t rc;

    if (!src)
        return vm_missing(spec->source_vm_id, MOCK_M_CLONE, err);
    if (spec->snapshot_id && !(snap = mock_snap_find(src, spec->snapshot_id)))
        return snap_missing(src->id, spec->snapshot_id, MOCK_M_CLONE, err);
    vm = mock_vm_find_name(st, spec->target_name);
    if (vm) {
        if (strcmp(vm->source_id, src->id) != 0 ||
            !mock_vm_same_spec(vm, a->parsed))
            return mock_err(err, VRT_E_EXISTS,
                            "clone: VM name \"%.64s\" is taken by %s.",
                            spec->target_name, vm->id);
        memcpy(target_id, vm->id, VRT_ID_MAX);
        return VRT_OK;
    }
    mock_pick_host(host, a->parsed, st->next_vm + 1, conn->cfg.hosts);
    if (!apply) {
        snprintf(target_id, VRT_ID_MAX, "mock-%06llu",
                 (unsigned long long)++st->next_vm);
        return VRT_OK;
    }
    rc = mock_vm_add(&vm, st, spec->target_name, err);
    if (rc != VRT_OK)
        return rc;
    mock_copy(vm->host, sizeof(vm->host), host);
    rc = clone_fill(vm, src, snap, a, err);
    if (rc != VRT_OK) {
        mock_vm_remove(st, vm);
        return rc;
    }
    memcpy(target_id, vm->id, VRT_ID_MAX);
    return VRT_OK;
}

static int32_t clone_check(const vrt_clone_spec *spec, vrt_error *err)
{
    const mock_method m = MOCK_M_CLONE;

    if (!VRT_HAS_MEMBER(spec, vrt_clone_spec, spec_json))
        return mock_err(err, VRT_E_INVALID,
                        "clone: spec->struct_size %u is too small.",
                        spec->struct_size);
    if (!spec->source_vm_id)
        return mock_err(err, VRT_E_INVALID,
                        "clone: spec->source_vm_id is required but NULL.");
    if (!spec->spec_json)
        return mock_err(err, VRT_E_INVALID,
                        "clone: spec->spec_json is required but NULL.");
    return name_ok(spec->target_name, "spec->target_name", m, err);
}

int32_t mock_clone(char target_id[VRT_ID_MAX], vrt_task_ref *task,
                   vrt_conn *conn, const vrt_call *call,
                   const vrt_clone_spec *spec, uint32_t flags, vrt_error *err)
{
    const mock_method m = MOCK_M_CLONE;
    clone_args a = {spec, NULL, 0, 0, 0};
    cJSON *parsed = NULL;
    vrt_error terr;
    int32_t rc;

    if (target_id)
        target_id[0] = '\0';
    if (task)
        task->id[0] = '\0';
    rc = mock_check_call(conn, call, flags, m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(target_id, "target_id", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(task, "task", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(spec, "spec", m, err);
    if (rc == VRT_OK)
        rc = clone_check(spec, err);
    if (rc == VRT_OK)
        rc = mock_require_cap(conn, VRT_CAP_CLONE, m, err);
    if (rc == VRT_OK && spec->linked)
        rc = mock_require_cap(conn, VRT_CAP_LINKED_CLONES, m, err);
    if (rc == VRT_OK)
        rc = mock_spec_read(&a.cpus, &a.mem, &a.disk, &parsed,
                            spec->spec_json, "spec_json", err);
    if (rc == VRT_OK)
        rc = mock_gate(&terr, conn, call, m, err);
    if (rc != VRT_OK)
        goto cleanup;

    a.parsed = parsed;
    pthread_mutex_lock(&conn->state->lock);
    rc = clone_locked(target_id, conn, &a, !terr.code, err);
    if (rc == VRT_OK)
        rc = mock_state_save(conn->state, conn->ctx, err);
    pthread_mutex_unlock(&conn->state->lock);
    if (rc == VRT_OK)
        rc = mock_task_issue(task, conn, m, &terr, err);
    if (rc == VRT_OK)
        mock_log(conn->ctx, VRT_LOG_INFO,
                 "Cloned VM vm_id=%s from source_vm_id=%.64s.", target_id,
                 spec->source_vm_id);

cleanup:
    cJSON_Delete(parsed);
    if (rc != VRT_OK && target_id)
        target_id[0] = '\0';
    return rc;
}

static int32_t image_locked(char image_id[VRT_ID_MAX], mock_state *st,
                            const cJSON *parsed, const char *image_json,
                            const char *target_name, int apply,
                            vrt_error *err)
{
    mock_image *img;

    for (size_t i = 0; i < st->nimages; i++) {
        cJSON *old;
        int same;

        if (strcmp(st->images[i].name, target_name) != 0)
            continue;
        old = mock_json_parse(st->images[i].image_json);
        same = old && cJSON_Compare(old, parsed, 1);
        cJSON_Delete(old);
        if (!same)
            return mock_err(err, VRT_E_EXISTS,
                            "image_prepare: image \"%.64s\" exists with a "
                            "different image_json.",
                            target_name);
        memcpy(image_id, st->images[i].id, VRT_ID_MAX);
        return VRT_OK;
    }
    snprintf(image_id, VRT_ID_MAX, "image-%llu",
             (unsigned long long)++st->next_image);
    if (!apply)
        return VRT_OK;
    if (mock_grow((void **)&st->images, &st->capimages, st->nimages + 1,
                  sizeof(*st->images)) != 0)
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    img = &st->images[st->nimages];
    memset(img, 0, sizeof(*img));
    if (!(img->image_json = mock_strdup(image_json)))
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    memcpy(img->id, image_id, VRT_ID_MAX);
    mock_copy(img->name, sizeof(img->name), target_name);
    st->nimages++;
    return VRT_OK;
}

int32_t mock_image_prepare(char image_id[VRT_ID_MAX], vrt_task_ref *task,
                           vrt_conn *conn, const vrt_call *call,
                           const char *image_json, const char *target_name,
                           uint32_t flags, vrt_error *err)
{
    const mock_method m = MOCK_M_IMAGE_PREPARE;
    cJSON *parsed = NULL;
    vrt_error terr;
    int32_t rc;

    if (image_id)
        image_id[0] = '\0';
    if (task)
        task->id[0] = '\0';
    rc = mock_check_call(conn, call, flags, m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(image_id, "image_id", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(task, "task", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(image_json, "image_json", m, err);
    if (rc == VRT_OK)
        rc = name_ok(target_name, "target_name", m, err);
    if (rc == VRT_OK && !cJSON_IsObject(parsed = mock_json_parse(image_json)))
        rc = mock_err(err, VRT_E_INVALID,
                      "image_prepare: image_json is not a JSON object.");
    if (rc == VRT_OK)
        rc = mock_require_cap(conn, VRT_CAP_IMAGE_IMPORT, m, err);
    if (rc == VRT_OK)
        rc = mock_gate(&terr, conn, call, m, err);
    if (rc != VRT_OK)
        goto cleanup;

    pthread_mutex_lock(&conn->state->lock);
    rc = image_locked(image_id, conn->state, parsed, image_json, target_name,
                      !terr.code, err);
    pthread_mutex_unlock(&conn->state->lock);
    if (rc == VRT_OK)
        rc = mock_task_issue(task, conn, m, &terr, err);

cleanup:
    cJSON_Delete(parsed);
    if (rc != VRT_OK && image_id)
        image_id[0] = '\0';
    return rc;
}
