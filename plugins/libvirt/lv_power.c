/*
 * lv_power.c - power operations and the graceful-shutdown task.
 *
 * A graceful shutdown asks the guest (virDomainShutdown: ACPI, or the
 * agent) and polls until the domain is off; at the timeout it powers the
 * domain off (virDomainDestroy).  If the call's deadline comes first the
 * watch continues as a task that task_status advances.
 */
#include "lv_domain.h"
#include "lv_ops.h"

#include <libvirt/virterror.h>
#include <string.h>

#define LV_POLL_MS 250
/* Hand over to a task when less than this is left of the call. */
#define LV_HANDOVER_MS 1000

static int is_off(int state)
{
    return lv_power_of(state) == VRT_POWER_OFF;
}

static int power_off(virDomainPtr d, vrt_error *err)
{
    if (virDomainDestroy(d) == 0 ||
        lv_virt_last() == VIR_ERR_OPERATION_INVALID) {
        /* OPERATION_INVALID: it went off by itself meanwhile */
        virResetLastError();
        return VRT_OK;
    }
    return lv_virt_err(err, "Could not power off VM \"%s\"",
                       virDomainGetName(d));
}

static int power_on(virDomainPtr d, int state, vrt_error *err)
{
    int r = 0;

    if (state == VIR_DOMAIN_PAUSED)
        r = virDomainResume(d);
    else if (state == VIR_DOMAIN_PMSUSPENDED)
        r = virDomainPMWakeup(d, 0);
    else if (lv_power_of(state) != VRT_POWER_ON)
        r = virDomainCreate(d);
    if (r < 0)
        return lv_virt_err(err, "Could not power on VM \"%s\"",
                           virDomainGetName(d));
    return VRT_OK;
}

static int graceful(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                    virDomainPtr d, uint32_t timeout_s, vrt_error *err)
{
    uint64_t deadline = lv_now_ms() + (uint64_t)timeout_s * 1000, now;
    char uuid[VRT_ID_MAX];
    int state, rc;

    if ((rc = lv_domain_state(&state, d, err)) < 0 || is_off(state))
        return rc;
    if (lv_power_of(state) == VRT_POWER_SUSPENDED) {
        lv_log(c, VRT_LOG_INFO,
               "VM \"%s\" is suspended and cannot shut down by itself; "
               "powering it off.",
               virDomainGetName(d));
        return power_off(d, err);
    }
    now = lv_now_ms();
    if (virDomainShutdown(d) < 0) {
        char why[VRT_ERROR_MESSAGE_MAX];
        lv_strlcpy(why, virGetLastErrorMessage(), sizeof(why));
        lv_log(c, VRT_LOG_WARN,
               "VM \"%s\" refused the shutdown request (%s); powering it off.",
               virDomainGetName(d), why);
        return power_off(d, err);
    }
    lv_log(c, VRT_LOG_DEBUG, "Asked VM \"%s\" to shut down (%llu ms).",
           virDomainGetName(d), (unsigned long long)(lv_now_ms() - now));
    for (;;) {
        if ((rc = lv_domain_state(&state, d, err)) < 0 || is_off(state))
            return rc;
        now = lv_now_ms();
        if (now >= deadline) {
            lv_log(c, VRT_LOG_INFO,
                   "VM \"%s\" did not shut down within %u s; powering it "
                   "off.",
                   virDomainGetName(d), (unsigned)timeout_s);
            return power_off(d, err);
        }
        /* deadline first: a passed deadline also reads as "cancelled",
         * and the right answer then is a task, not a failure */
        if (call && call->deadline_ms &&
            now + LV_HANDOVER_MS >= call->deadline_ms) {
            lv_domain_id(uuid, d);
            lv_tasks_add_shutdown(task, &c->tasks, uuid, deadline);
            return VRT_OK;
        }
        if (call && call->ctx && lv_host->cancelled &&
            lv_host->cancelled(call->ctx))
            return lv_err(err, VRT_E_CANCELED,
                          "The host cancelled the shutdown of VM \"%s\"; it "
                          "may still shut down by itself.",
                          virDomainGetName(d));
        lv_sleep_ms(call, LV_POLL_MS);
    }
}

int32_t lv_power(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                 const char *id, int32_t op, uint32_t graceful_timeout_s,
                 uint32_t flags, vrt_error *err)
{
    virConnectPtr virt = NULL;
    virDomainPtr d = NULL;
    lv_marker *m = NULL;
    vrt_task_ref dummy;
    int rc, state;

    task = task ? task : &dummy;
    task->id[0] = '\0';
    if ((rc = lv_flags_ok(flags, "power", err)) < 0)
        return rc;
    if (op < VRT_POWER_OP_ON || op > VRT_POWER_OP_SHUTDOWN_GRACEFUL)
        return lv_err(err, VRT_E_INVALID, "Unknown power operation %d.",
                      (int)op);
    if ((rc = lv_call_check(call, "power", err)) < 0 ||
        (rc = lv_conn_acquire(&virt, c, err)) < 0 ||
        (rc = lv_domain_lookup(&d, virt, id, err)) < 0 ||
        (rc = lv_domain_owned(&m, d, "change the power of", err)) < 0 ||
        (rc = lv_domain_state(&state, d, err)) < 0)
        goto cleanup;

    switch (op) {
    case VRT_POWER_OP_ON:
        rc = power_on(d, state, err);
        break;
    case VRT_POWER_OP_OFF:
        rc = is_off(state) ? VRT_OK : power_off(d, err);
        break;
    case VRT_POWER_OP_REBOOT:
        if (lv_power_of(state) != VRT_POWER_ON)
            rc = lv_err(err, VRT_E_CONFLICT,
                        "VM \"%s\" is not running, so it cannot reboot; "
                        "power it on instead.",
                        virDomainGetName(d));
        else if (virDomainReboot(d, 0) < 0)
            rc = lv_virt_err(err, "Could not reboot VM \"%s\"",
                             virDomainGetName(d));
        break;
    default:
        rc = graceful(task, c, call, d,
                      graceful_timeout_s ? graceful_timeout_s
                                         : c->cfg.graceful_timeout_s,
                      err);
        break;
    }
    if (rc == VRT_OK)
        lv_log(c, VRT_LOG_INFO, "Power operation %d on VM \"%s\" %s.",
               (int)op, virDomainGetName(d),
               task->id[0] ? "continues as a task" : "done");

cleanup:
    lv_marker_free(m);
    if (d)
        virDomainFree(d);
    lv_conn_release(virt);
    return rc;
}

/* One step of a graceful-shutdown task. */
static void advance(lv_task *t, vrt_conn *c)
{
    virConnectPtr virt = NULL;
    virDomainPtr d = NULL;
    int state;

    if (lv_conn_acquire(&virt, c, &t->error) < 0)
        goto cleanup; /* try again at the next poll */
    d = virDomainLookupByUUIDString(virt, t->uuid);
    if (!d) {
        /* the VM is gone: nothing left to shut down */
        virResetLastError();
        t->done_ms = lv_now_ms();
        goto cleanup;
    }
    if (lv_domain_state(&state, d, &t->error) < 0)
        goto cleanup;
    if (is_off(state)) {
        t->done_ms = lv_now_ms();
    } else if (lv_now_ms() >= t->deadline_ms) {
        lv_log(c, VRT_LOG_INFO,
               "VM \"%s\" did not shut down in time; powering it off.",
               virDomainGetName(d));
        power_off(d, &t->error);
        t->done_ms = lv_now_ms();
    }

cleanup:
    if (!t->done_ms)
        memset(&t->error, 0, sizeof(t->error)); /* transient; keep going */
    if (d)
        virDomainFree(d);
    lv_conn_release(virt);
}

int32_t lv_task_status(vrt_task_status *out, vrt_conn *c,
                       const vrt_call *call, const char *task_id,
                       uint32_t flags, vrt_error *err)
{
    vrt_task_status st;
    lv_task t;
    int rc;

    if ((rc = lv_flags_ok(flags, "task_status", err)) < 0)
        return rc;
    if ((rc = lv_out_ok(out, "task status", err)) < 0 ||
        (rc = lv_call_check(call, "task_status", err)) < 0)
        return rc;
    if (lv_tasks_get(&t, &c->tasks, task_id) < 0)
        return lv_err(err, VRT_E_NOTFOUND,
                      "No task has the id \"%.64s\"; libvirt operations "
                      "finish within their call.",
                      task_id ? task_id : "");
    if (!t.done_ms) {
        advance(&t, c);
        lv_tasks_put(&c->tasks, &t);
    }
    memset(&st, 0, sizeof(st));
    st.done = t.done_ms != 0;
    st.percent = st.done ? 100 : -1;
    if (st.done)
        st.error = t.error;
    lv_out_put(out, &st, sizeof(st));
    return VRT_OK;
}
