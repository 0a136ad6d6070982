/*
 * Power operations beyond plain on/off, and reconfiguration.
 */
#include "vcts.h"

#include <stdio.h>
#include <stdlib.h>

static void t_power_reboot(vcts_t *t)
{
    char id[VRT_ID_MAX];
    if (vcts_vm_create(id, t, "reboot", NULL) != VRT_OK ||
        vcts_vm_power(t, id, VRT_POWER_OP_ON, 0) != VRT_OK ||
        vcts_vm_wait_power(t, id, VRT_POWER_ON) != VRT_OK ||
        vcts_vm_power(t, id, VRT_POWER_OP_REBOOT, 0) != VRT_OK)
        return;
    /* A reboot ends with the VM running again. */
    vcts_vm_wait_power(t, id, VRT_POWER_ON);
}

static void t_power_invalid_op(vcts_t *t)
{
    static const int32_t bad_ops[] = {0, 99, -1};
    char id[VRT_ID_MAX];

    if (vcts_vm_create(id, t, "invalid-op", NULL) != VRT_OK)
        return;
    for (size_t i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
        char what[VRT_ID_MAX + 48];
        vrt_task_ref task;
        vrt_error err = VRT_ERROR_INIT;
        vrt_call_ctx cc;

        snprintf(what, sizeof(what), "power with the unknown op %d",
                 (int)bad_ops[i]);
        vcts_cc(t, &cc);
        int rc = vrt_p_power(&task, t->run->conn, &cc, id, bad_ops[i], 0,
                             &err);
        if (rc == VRT_OK) {
            vrt_error terr;
            (void)vcts_task_wait(&terr, t, &task, what);
        }
        vcts_expect_code(t, rc, &err, VRT_E_INVALID, what);
    }
}

static void t_graceful_shutdown(vcts_t *t)
{
    char id[VRT_ID_MAX];
    uint32_t grace = t->run->cfg->timeout_ms / 2000;

    /* Leave time after the grace period for the forced power off. */
    grace = grace < 1 ? 1 : grace > 60 ? 60 : grace;
    if (vcts_vm_create(id, t, "graceful", NULL) != VRT_OK ||
        vcts_vm_power(t, id, VRT_POWER_OP_ON, 0) != VRT_OK ||
        vcts_vm_wait_power(t, id, VRT_POWER_ON) != VRT_OK ||
        vcts_vm_power(t, id, VRT_POWER_OP_SHUTDOWN_GRACEFUL, grace) != VRT_OK)
        return;
    vcts_vm_wait_power(t, id, VRT_POWER_OFF);
}

/* Reconfigures `id` to 2 CPUs and checks what describe reports. */
static void reconfigure_cpus(vcts_t *t, const char *id, const char *suffix,
                             int32_t want_power)
{
    char name[VRT_NAME_MAX], what[VRT_ID_MAX + 48];
    char *json = vcts_spec_with_cpu(t, 2);
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;
    vrt_vm_info info;

    vcts_name(name, sizeof(name), t, suffix);
    vrt_vm_spec spec = {.struct_size = sizeof(spec),
                        .name = name,
                        .spec_json = json};
    snprintf(what, sizeof(what), "reconfigure of \"%s\" to 2 CPUs", id);
    vcts_cc(t, &cc);
    int rc = vrt_p_reconfigure(&task, t->run->conn, &cc, id, &spec, &err);
    free(json);
    if (vcts_done(t, rc, &err, &task, what) != VRT_OK ||
        vcts_vm_describe(&info, t, id) != VRT_OK)
        return;
    if (!info.exists) {
        vcts_fail(t, "The VM \"%s\" is gone after %s.", id, what);
        return;
    }
    if (info.cpus == 0)
        vcts_note(t, "describe does not report CPUs; only the call was "
                     "checked");
    else if (info.cpus != 2)
        vcts_fail(t, "After %s describe reports %u CPUs.", what, info.cpus);
    if (info.power_state != want_power)
        vcts_fail(t, "After %s the VM is powered %s; it was %s.", what,
                  vcts_power_name(info.power_state),
                  vcts_power_name(want_power));
}

static void t_reconfigure(vcts_t *t)
{
    char id[VRT_ID_MAX];
    if (vcts_vm_create(id, t, "reconfigure", NULL) != VRT_OK ||
        vcts_vm_power(t, id, VRT_POWER_OP_OFF, 0) != VRT_OK)
        return;
    reconfigure_cpus(t, id, "reconfigure", VRT_POWER_OFF);
}

static void t_reconfigure_online(vcts_t *t)
{
    char id[VRT_ID_MAX];
    if (vcts_vm_create(id, t, "reconfigure-online", NULL) != VRT_OK ||
        vcts_vm_power(t, id, VRT_POWER_OP_ON, 0) != VRT_OK ||
        vcts_vm_wait_power(t, id, VRT_POWER_ON) != VRT_OK)
        return;
    reconfigure_cpus(t, id, "reconfigure-online", VRT_POWER_ON);
}

const vcts_test vcts_tests_power[] = {
    {"power-reboot", "reboot leaves a running VM running", VCTS_NEED_CONN, 0,
     t_power_reboot},
    {"power-invalid-op", "an unknown power op is INVALID", VCTS_NEED_CONN, 0,
     t_power_invalid_op},
    {"graceful-shutdown", "a graceful shutdown ends powered off in time",
     VCTS_NEED_CONN, VRT_CAP_GRACEFUL_SHUTDOWN, t_graceful_shutdown},
    {"reconfigure", "reconfigure of a stopped VM to 2 CPUs", VCTS_NEED_CONN,
     VRT_CAP_RECONFIGURE, t_reconfigure},
    {"reconfigure-online", "reconfigure of a running VM to 2 CPUs",
     VCTS_NEED_CONN, VRT_CAP_RECONFIGURE | VRT_CAP_RECONFIGURE_ONLINE,
     t_reconfigure_online},
    {NULL, NULL, 0, 0, NULL},
};
