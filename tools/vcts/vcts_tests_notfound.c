/*
 * Not-found semantics, which the manager relies on: describe of a missing
 * VM is VRT_OK with exists = 0 (that is how it learns a VM is gone), and
 * every other call naming something missing fails with VRT_E_NOTFOUND at
 * once, not INVALID or INTERNAL, and not in a task.
 */
#include "vcts.h"

#include <stdio.h>
#include <string.h>

static const char *missing(vcts_t *t)
{
    return t->run->cfg->missing_id;
}

/* The call must fail with NOTFOUND synchronously. */
static void expect_notfound(vcts_t *t, int rc, const vrt_error *err,
                            const vrt_task_ref *task, const char *what)
{
    if (rc == VRT_OK && task && task->id[0]) {
        vrt_error terr;
        int trc = vcts_task_wait(&terr, t, task, what);
        vcts_fail(t, "%s returned a task (which ended with %s) instead of "
                     "failing with NOTFOUND at once.",
                  what, vrt_error_code_name(trc));
        return;
    }
    vcts_expect_code(t, rc, err, VRT_E_NOTFOUND, what);
}

static void t_notfound_describe(vcts_t *t)
{
    vrt_vm_info info;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;
    char what[VRT_ID_MAX + 32];

    snprintf(what, sizeof(what), "describe of the missing id \"%s\"",
             missing(t));
    vcts_cc(t, &cc);
    int rc = vrt_p_describe(&info, t->run->conn, &cc, missing(t), &err);
    if (vcts_expect_ok(t, rc, &err, what) != VRT_OK)
        return;
    vrt_vm_info_clear(&info);
    if (info.exists)
        vcts_fail(t, "%s says exists = %d; it must be 0.", what,
                  (int)info.exists);
}

static void t_notfound_power(vcts_t *t)
{
    static const int32_t ops[] = {VRT_POWER_OP_ON, VRT_POWER_OP_OFF};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        vrt_task_ref task;
        vrt_error err = VRT_ERROR_INIT;
        vrt_call_ctx cc;
        char what[VRT_ID_MAX + 48];

        snprintf(what, sizeof(what), "power %s of the missing id \"%s\"",
                 ops[i] == VRT_POWER_OP_ON ? "ON" : "OFF", missing(t));
        vcts_cc(t, &cc);
        int rc = vrt_p_power(&task, t->run->conn, &cc, missing(t), ops[i], 0,
                             &err);
        expect_notfound(t, rc, &err, &task, what);
    }
}

static void t_notfound_destroy(vcts_t *t)
{
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;
    char what[VRT_ID_MAX + 48];

    snprintf(what, sizeof(what), "destroy of the missing id \"%s\"",
             missing(t));
    vcts_cc(t, &cc);
    int rc = vrt_p_destroy(&task, t->run->conn, &cc, missing(t), &err);
    expect_notfound(t, rc, &err, &task, what);
    if (rc == VRT_E_NOTFOUND && vrt_error_is_retryable(&err))
        vcts_fail(t, "%s is marked retryable (class %d); the manager must "
                     "treat NOTFOUND on delete as done.",
                  what, (int)err.klass);
}

static void t_notfound_snapshot(vcts_t *t)
{
    char snap[VRT_ID_MAX], vm[VRT_ID_MAX], what[VRT_ID_MAX * 2 + 64];
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;
    vrt_snapshot_spec spec = {.struct_size = sizeof(spec),
                              .name = "vcts-notfound"};

    snprintf(what, sizeof(what), "snapshot_create on the missing VM \"%s\"",
             missing(t));
    vcts_cc(t, &cc);
    int rc = vrt_p_snapshot_create(snap, &task, t->run->conn, &cc,
                                   missing(t), &spec, &err);
    expect_notfound(t, rc, &err, &task, what);

    snprintf(what, sizeof(what), "snapshot_delete on the missing VM \"%s\"",
             missing(t));
    err = (vrt_error)VRT_ERROR_INIT;
    vcts_cc(t, &cc);
    rc = vrt_p_snapshot_delete(&task, t->run->conn, &cc, missing(t),
                               missing(t), &err);
    expect_notfound(t, rc, &err, &task, what);

    /* A real VM, a snapshot id it does not have. */
    if (vcts_vm_create(vm, t, "notfound-snapshot", NULL) != VRT_OK)
        return;
    snprintf(what, sizeof(what), "snapshot_delete of the missing snapshot "
                                 "\"%s\" of VM \"%s\"",
             missing(t), vm);
    err = (vrt_error)VRT_ERROR_INIT;
    vcts_cc(t, &cc);
    rc = vrt_p_snapshot_delete(&task, t->run->conn, &cc, vm, missing(t),
                               &err);
    expect_notfound(t, rc, &err, &task, what);
}

static void t_notfound_reconfigure(vcts_t *t)
{
    char name[VRT_NAME_MAX], what[VRT_ID_MAX + 48];
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    vcts_name(name, sizeof(name), t, "notfound");
    vrt_vm_spec spec = {.struct_size = sizeof(spec),
                        .name = name,
                        .spec_json = t->run->cfg->vm_spec_json};
    snprintf(what, sizeof(what), "reconfigure of the missing id \"%s\"",
             missing(t));
    vcts_cc(t, &cc);
    int rc = vrt_p_reconfigure(&task, t->run->conn, &cc, missing(t), &spec,
                               &err);
    expect_notfound(t, rc, &err, &task, what);
}

static void t_notfound_clone(vcts_t *t)
{
    char name[VRT_NAME_MAX], id[VRT_ID_MAX], what[VRT_ID_MAX + 48];
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    vcts_name(name, sizeof(name), t, "notfound-clone");
    vrt_clone_spec spec = {.struct_size = sizeof(spec),
                           .source_vm_id = missing(t),
                           .target_name = name,
                           .spec_json = t->run->cfg->vm_spec_json};
    snprintf(what, sizeof(what), "clone of the missing id \"%s\"",
             missing(t));
    vcts_cc(t, &cc);
    int rc = vrt_p_clone(id, &task, t->run->conn, &cc, &spec, &err);
    if (rc == VRT_OK)
        vcts_vm_track(t, id);
    expect_notfound(t, rc, &err, &task, what);
}

static void t_notfound_task(vcts_t *t)
{
    char task_id[VRT_ID_MAX], what[VRT_ID_MAX + 48];
    vrt_task_status st;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    snprintf(task_id, sizeof(task_id), "%s-task", missing(t));
    snprintf(what, sizeof(what), "task_status of the missing task \"%s\"",
             task_id);
    vcts_cc(t, &cc);
    int rc = vrt_p_task_status(&st, t->run->conn, &cc, task_id, &err);
    vcts_expect_code(t, rc, &err, VRT_E_NOTFOUND, what);
}

const vcts_test vcts_tests_notfound[] = {
    {"notfound-describe", "describe of a missing VM is OK with exists = 0",
     VCTS_NEED_CONN, 0, t_notfound_describe},
    {"notfound-power", "power on/off of a missing VM is NOTFOUND",
     VCTS_NEED_CONN, 0, t_notfound_power},
    {"notfound-destroy", "destroy of a missing VM is NOTFOUND, not retryable",
     VCTS_NEED_CONN, 0, t_notfound_destroy},
    {"notfound-snapshot", "snapshots of a missing VM or id are NOTFOUND",
     VCTS_NEED_CONN, VRT_CAP_SNAPSHOTS, t_notfound_snapshot},
    {"notfound-reconfigure", "reconfigure of a missing VM is NOTFOUND",
     VCTS_NEED_CONN, VRT_CAP_RECONFIGURE, t_notfound_reconfigure},
    {"notfound-clone", "clone of a missing source VM is NOTFOUND",
     VCTS_NEED_CONN, VRT_CAP_CLONE, t_notfound_clone},
    {"notfound-task", "task_status of an unknown task is NOTFOUND",
     VCTS_NEED_CONN, 0, t_notfound_task},
    {NULL, NULL, 0, 0, NULL},
};
