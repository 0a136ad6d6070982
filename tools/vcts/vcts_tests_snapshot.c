/*
 * Snapshots (create, revert, delete, memory) and clones (full, linked).
 */
#include "vcts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int snap_create(char snap[VRT_ID_MAX], vcts_t *t, const char *vm,
                       int include_memory)
{
    char what[VRT_ID_MAX + 64];
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;
    vrt_snapshot_spec spec = {.struct_size = sizeof(spec),
                              .include_memory = include_memory,
                              .name = "vcts-snap",
                              .description = "Taken by vcts."};

    snprintf(what, sizeof(what), "snapshot_create%s of \"%s\"",
             include_memory ? " with memory" : "", vm);
    vcts_cc(t, &cc);
    int rc = vrt_p_snapshot_create(snap, &task, t->run->conn, &cc, vm, &spec,
                                   &err);
    rc = vcts_done(t, rc, &err, &task, what);
    if (rc == VRT_OK)
        vcts_note(t, "snapshot \"%s\" of \"%s\"", snap, vm);
    return rc;
}

/* Deletes, or reverts to, a snapshot; `want` is the expected outcome. */
static int snap_op(vcts_t *t, int revert, const char *vm, const char *snap,
                   int want)
{
    char what[2 * VRT_ID_MAX + 48];
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    snprintf(what, sizeof(what), "snapshot_%s of \"%s\" on \"%s\"",
             revert ? "revert" : "delete", snap, vm);
    vcts_cc(t, &cc);
    int rc = revert ? vrt_p_snapshot_revert(&task, t->run->conn, &cc, vm,
                                            snap, &err)
                    : vrt_p_snapshot_delete(&task, t->run->conn, &cc, vm,
                                            snap, &err);
    if (want == VRT_OK)
        return vcts_done(t, rc, &err, &task, what);
    if (rc == VRT_OK && task.id[0]) {
        vrt_error terr;
        int trc = vcts_task_wait(&terr, t, &task, what);
        return vcts_fail(t, "%s returned a task (which ended with %s) instead "
                            "of failing with %s at once.",
                         what, vrt_error_code_name(trc),
                         vrt_error_code_name(want));
    }
    return vcts_expect_code(t, rc, &err, want, what);
}

static void t_snapshot_lifecycle(vcts_t *t)
{
    char vm[VRT_ID_MAX], snap[VRT_ID_MAX];
    vrt_vm_info info;

    if (vcts_vm_create(vm, t, "snapshot", NULL) != VRT_OK ||
        snap_create(snap, t, vm, 0) != VRT_OK ||
        snap_op(t, 0, vm, snap, VRT_OK) != VRT_OK ||
        snap_op(t, 0, vm, snap, VRT_E_NOTFOUND) != 0)
        return;
    /* The VM itself is untouched by its snapshots. */
    if (vcts_vm_describe(&info, t, vm) == VRT_OK && !info.exists)
        vcts_fail(t, "The VM \"%s\" is gone after deleting its snapshot.",
                  vm);
}

/* Reverting undoes a later change: with RECONFIGURE, CPUs go 1 -> 2 after
 * the snapshot and must read 1 again after the revert (when reported). */
static void t_snapshot_revert(vcts_t *t)
{
    char vm[VRT_ID_MAX], snap[VRT_ID_MAX], name[VRT_NAME_MAX];
    char *one = vcts_spec_with_cpu(t, 1), *two = vcts_spec_with_cpu(t, 2);
    int can_check = (t->run->caps.caps & VRT_CAP_RECONFIGURE) != 0;
    vrt_vm_info info;

    if (vcts_vm_create(vm, t, "snapshot-revert", one) != VRT_OK ||
        snap_create(snap, t, vm, 0) != VRT_OK)
        goto cleanup;
    if (can_check) {
        vrt_task_ref task;
        vrt_error err = VRT_ERROR_INIT;
        vrt_call_ctx cc;
        vcts_name(name, sizeof(name), t, "snapshot-revert");
        vrt_vm_spec spec = {.struct_size = sizeof(spec),
                            .name = name,
                            .spec_json = two};
        vcts_cc(t, &cc);
        int rc = vrt_p_reconfigure(&task, t->run->conn, &cc, vm, &spec, &err);
        if (vcts_done(t, rc, &err, &task, "reconfigure to 2 CPUs") != VRT_OK)
            goto cleanup;
    }
    if (snap_op(t, 1, vm, snap, VRT_OK) != VRT_OK ||
        vcts_vm_describe(&info, t, vm) != VRT_OK)
        goto cleanup;
    if (!info.exists)
        vcts_fail(t, "The VM \"%s\" is gone after a revert.", vm);
    else if (can_check && info.cpus && info.cpus != 1)
        vcts_fail(t, "After reverting to a snapshot taken with 1 CPU, "
                     "describe reports %u CPUs.",
                  info.cpus);
    else if (!can_check || !info.cpus)
        vcts_note(t, "CPUs not compared (RECONFIGURE not claimed or CPUs "
                     "not reported)");
    if (snap_op(t, 0, vm, snap, VRT_OK) == VRT_OK)
        snap_op(t, 1, vm, snap, VRT_E_NOTFOUND);

cleanup:
    free(one);
    free(two);
}

static void t_snapshot_memory(vcts_t *t)
{
    char vm[VRT_ID_MAX], snap[VRT_ID_MAX];

    if (vcts_vm_create(vm, t, "snapshot-memory", NULL) != VRT_OK ||
        vcts_vm_power(t, vm, VRT_POWER_OP_ON, 0) != VRT_OK ||
        vcts_vm_wait_power(t, vm, VRT_POWER_ON) != VRT_OK ||
        snap_create(snap, t, vm, 1) != VRT_OK)
        return;
    if (t->run->caps.caps & VRT_CAP_SNAPSHOT_REVERT) {
        /* A memory snapshot brings the VM back running. */
        if (vcts_vm_power(t, vm, VRT_POWER_OP_OFF, 0) != VRT_OK ||
            vcts_vm_wait_power(t, vm, VRT_POWER_OFF) != VRT_OK ||
            snap_op(t, 1, vm, snap, VRT_OK) != VRT_OK ||
            vcts_vm_wait_power(t, vm, VRT_POWER_ON) != VRT_OK)
            return;
    }
    snap_op(t, 0, vm, snap, VRT_OK);
}

/* Clones `src`; writes the clone's id and tracks it.  Returns the rc of
 * the call (its task's failures fail the test). */
static int clone_call(char dst[VRT_ID_MAX], vcts_t *t, const char *src,
                      const char *snap, const char *name, int linked)
{
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;
    char what[VRT_ID_MAX * 2 + 64];

    vrt_clone_spec spec = {.struct_size = sizeof(spec),
                           .linked = linked,
                           .source_vm_id = src,
                           .snapshot_id = snap,
                           .target_name = name,
                           .spec_json = t->run->cfg->vm_spec_json};
    snprintf(what, sizeof(what), "a %sclone of \"%s\"%s%s%s",
             linked ? "linked " : "", src, snap ? " from snapshot \"" : "",
             snap ? snap : "", snap ? "\"" : "");
    vcts_cc(t, &cc);
    int rc = vrt_p_clone(dst, &task, t->run->conn, &cc, &spec, &err);
    if (rc == VRT_OK)
        vcts_vm_track(t, dst);
    /* A linked clone of the current state may need a snapshot instead. */
    if (rc == VRT_E_NOTSUPP && linked && !snap &&
        (t->run->caps.caps & VRT_CAP_SNAPSHOTS)) {
        vcts_note(t, "%s: %s; trying from a snapshot", what, err.message);
        return vcts_check_record(t, rc, &err, what) ? VRT_E_INTERNAL : rc;
    }
    return vcts_done(t, rc, &err, &task, what);
}

static void clone_test(vcts_t *t, int linked)
{
    char src[VRT_ID_MAX], dst[VRT_ID_MAX], snap[VRT_ID_MAX];
    char name[VRT_NAME_MAX];
    vrt_vm_info info;

    if (vcts_vm_create(src, t, linked ? "clone-linked" : "clone", NULL) !=
        VRT_OK)
        return;
    vcts_name(name, sizeof(name), t, linked ? "clone-linked-target"
                                            : "clone-target");
    int rc = clone_call(dst, t, src, NULL, name, linked);
    /* Linked clones may grow from the current state or from a snapshot;
     * a provider may support only one. */
    if (rc == VRT_E_NOTSUPP && linked && !vcts_failed(t)) {
        if (snap_create(snap, t, src, 0) != VRT_OK)
            return;
        rc = clone_call(dst, t, src, snap, name, linked);
    }
    if (rc != VRT_OK)
        return;
    if (strcmp(dst, src) == 0) {
        vcts_fail(t, "clone returned the source's own id \"%s\".", src);
        vcts_vm_untrack(t, dst); /* destroying it would remove the source */
        return;
    }
    if (vcts_vm_describe(&info, t, dst) != VRT_OK)
        return;
    if (!info.exists)
        vcts_fail(t, "describe of the clone \"%s\" says it does not exist.",
                  dst);
    else if (info.name[0] && strcmp(info.name, name) != 0)
        vcts_fail(t, "The clone \"%s\" is named \"%s\", not \"%s\".", dst,
                  info.name, name);
    if (vcts_vm_describe(&info, t, src) == VRT_OK && !info.exists)
        vcts_fail(t, "The source VM \"%s\" is gone after the clone.", src);
    /* Clone first: a linked clone may need its source until it is gone. */
    if (!vcts_failed(t) && vcts_vm_destroy(t, dst) == VRT_OK &&
        vcts_vm_describe(&info, t, src) == VRT_OK && !info.exists)
        vcts_fail(t, "Destroying the clone \"%s\" removed its source \"%s\".",
                  dst, src);
}

static void t_clone(vcts_t *t)
{
    clone_test(t, 0);
}

static void t_clone_linked(vcts_t *t)
{
    clone_test(t, 1);
}

const vcts_test vcts_tests_snapshot[] = {
    {"snapshot-lifecycle", "snapshot create, delete; a second delete is "
                           "NOTFOUND",
     VCTS_NEED_CONN, VRT_CAP_SNAPSHOTS, t_snapshot_lifecycle},
    {"snapshot-revert", "revert undoes a later change; revert to a deleted "
                        "snapshot is NOTFOUND",
     VCTS_NEED_CONN, VRT_CAP_SNAPSHOTS | VRT_CAP_SNAPSHOT_REVERT,
     t_snapshot_revert},
    {"snapshot-memory", "a memory snapshot of a running VM",
     VCTS_NEED_CONN, VRT_CAP_SNAPSHOTS | VRT_CAP_MEMORY_SNAPSHOTS,
     t_snapshot_memory},
    {"clone", "a full clone exists apart from its source", VCTS_NEED_CONN,
     VRT_CAP_CLONE, t_clone},
    {"clone-linked", "a linked clone (of the current state, else of a "
                     "snapshot) exists apart from its source",
     VCTS_NEED_CONN, VRT_CAP_CLONE | VRT_CAP_LINKED_CLONES, t_clone_linked},
    {NULL, NULL, 0, 0, NULL},
};
