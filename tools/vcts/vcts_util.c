/*
 * Helpers the tests share: call contexts, waiting on tasks, and VMs that
 * are created under a per-run name and destroyed after the test whatever
 * happened.
 */
#include "vcts.h"

#include <cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_FIRST_MS 2u
#define POLL_MAX_MS 200u

void vcts_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

void vcts_cc(vcts_t *t, vrt_call_ctx *cc)
{
    vrt_callctx_init(cc, t->run->cfg->timeout_ms);
}

void vcts_name(char *out, size_t size, vcts_t *t, const char *suffix)
{
    snprintf(out, size, "vcts-%ld-%s", t->run->pid, suffix);
}

const char *vcts_power_name(int32_t state)
{
    switch (state) {
    case VRT_POWER_ON:
        return "ON";
    case VRT_POWER_OFF:
        return "OFF";
    case VRT_POWER_SUSPENDED:
        return "SUSPENDED";
    default:
        return "UNKNOWN";
    }
}

uint32_t vcts_pick_format(const vcts_run *run)
{
    uint32_t f = run->caps.disk_formats;
    if (f & VRT_DISK_RAW)
        return VRT_DISK_RAW;
    return f & (~f + 1u); /* the lowest set bit */
}

/* ---------------------------------------------------------------------- */
/* Tasks                                                                   */
/* ---------------------------------------------------------------------- */

int vcts_task_wait(vrt_error *terr, vcts_t *t, const vrt_task_ref *task,
                   const char *what)
{
    uint64_t deadline = vrt_now_ms() + t->run->cfg->timeout_ms;
    unsigned delay = POLL_FIRST_MS, polls = 0;
    char where[320];

    memset(terr, 0, sizeof(*terr));
    if (!task->id[0])
        return VRT_OK;
    snprintf(where, sizeof(where), "task_status of the task \"%s\" of %s",
             task->id, what);
    for (;;) {
        vrt_task_status st;
        vrt_error err = VRT_ERROR_INIT;
        vrt_call_ctx cc;
        vcts_cc(t, &cc);
        int rc = vrt_p_task_status(&st, t->run->conn, &cc, task->id, &err);
        if (rc != VRT_OK)
            return vcts_expect_ok(t, rc, &err, where);
        polls++;
        if (st.done) {
            vcts_note(t, "task \"%s\" of %s done after %u polls", task->id,
                      what, polls);
            if (st.error.code == VRT_OK)
                return VRT_OK;
            *terr = st.error;
            vcts_check_record(t, st.error.code, &st.error, where);
            return st.error.code;
        }
        if (vrt_now_ms() >= deadline) {
            vcts_fail(t, "The task \"%s\" of %s was not done after %u ms.",
                      task->id, what, (unsigned)t->run->cfg->timeout_ms);
            return VRT_E_TIMEOUT;
        }
        vcts_sleep_ms(delay);
        delay = delay * 2 > POLL_MAX_MS ? POLL_MAX_MS : delay * 2;
    }
}

int vcts_done(vcts_t *t, int rc, const vrt_error *err,
              const vrt_task_ref *task, const char *what)
{
    vrt_error terr;
    if (vcts_expect_ok(t, rc, err, what) != VRT_OK)
        return rc;
    rc = vcts_task_wait(&terr, t, task, what);
    if (rc != VRT_OK && terr.code != VRT_OK)
        vcts_fail(t, "The task of %s failed with %s: %s", what,
                  vrt_error_code_name(terr.code), terr.message);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* VMs                                                                     */
/* ---------------------------------------------------------------------- */

void vcts_vm_track(vcts_t *t, const char *id)
{
    pthread_mutex_lock(&t->lock);
    if (t->nvms == t->capvms) {
        size_t cap = t->capvms ? t->capvms * 2 : 8;
        void *p = realloc(t->vms, cap * sizeof(*t->vms));
        if (!p) {
            fprintf(stderr, "vcts: out of memory.\n");
            abort();
        }
        t->vms = p;
        t->capvms = cap;
    }
    snprintf(t->vms[t->nvms++], VRT_ID_MAX, "%s", id);
    pthread_mutex_unlock(&t->lock);
}

void vcts_vm_untrack(vcts_t *t, const char *id)
{
    pthread_mutex_lock(&t->lock);
    for (size_t i = t->nvms; i-- > 0;) {
        if (strcmp(t->vms[i], id) == 0) {
            memmove(t->vms[i], t->vms[i + 1],
                    (t->nvms - i - 1) * sizeof(*t->vms));
            t->nvms--;
            break;
        }
    }
    pthread_mutex_unlock(&t->lock);
}

int vcts_vm_create(char id[VRT_ID_MAX], vcts_t *t, const char *suffix,
                   const char *spec_json)
{
    char name[VRT_NAME_MAX], what[VRT_NAME_MAX + 32];
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    vcts_name(name, sizeof(name), t, suffix);
    snprintf(what, sizeof(what), "create of \"%s\"", name);
    vrt_vm_spec spec = {
        .struct_size = sizeof(spec),
        .name = name,
        .spec_json = spec_json ? spec_json : t->run->cfg->vm_spec_json,
    };
    vcts_cc(t, &cc);
    int rc = vrt_p_create(id, &task, t->run->conn, &cc, &spec, &err);
    /* The VM may exist even if its task fails: clean it up either way. */
    if (rc == VRT_OK)
        vcts_vm_track(t, id);
    rc = vcts_done(t, rc, &err, &task, what);
    if (rc == VRT_OK)
        vcts_note(t, "created \"%s\" id=\"%s\"", name, id);
    return rc;
}

int vcts_vm_destroy(vcts_t *t, const char *id)
{
    char what[VRT_ID_MAX + 32];
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    snprintf(what, sizeof(what), "destroy of \"%s\"", id);
    vcts_cc(t, &cc);
    int rc = vrt_p_destroy(&task, t->run->conn, &cc, id, &err);
    rc = vcts_done(t, rc, &err, &task, what);
    if (rc == VRT_OK)
        vcts_vm_untrack(t, id);
    return rc;
}

int vcts_vm_power(vcts_t *t, const char *id, int32_t op,
                  uint32_t graceful_timeout_s)
{
    static const char *const ops[] = {"?", "ON", "OFF", "REBOOT",
                                      "SHUTDOWN_GRACEFUL"};
    char what[VRT_ID_MAX + 48];
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    snprintf(what, sizeof(what), "power %s of \"%s\"",
             op >= 1 && op <= 4 ? ops[op] : ops[0], id);
    vcts_cc(t, &cc);
    int rc = vrt_p_power(&task, t->run->conn, &cc, id, op, graceful_timeout_s,
                         &err);
    return vcts_done(t, rc, &err, &task, what);
}

int vcts_vm_describe(vrt_vm_info *out, vcts_t *t, const char *id)
{
    char what[VRT_ID_MAX + 32];
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    snprintf(what, sizeof(what), "describe of \"%s\"", id);
    vcts_cc(t, &cc);
    int rc = vrt_p_describe(out, t->run->conn, &cc, id, &err);
    if (vcts_expect_ok(t, rc, &err, what) != VRT_OK)
        return rc;
    if (out->raw_json) {
        cJSON *raw = cJSON_Parse(out->raw_json);
        if (!cJSON_IsObject(raw))
            vcts_fail(t, "%s returned raw_json that is not a JSON object.",
                      what);
        cJSON_Delete(raw);
    }
    vrt_vm_info_clear(out);
    return VRT_OK;
}

int vcts_vm_wait_power(vcts_t *t, const char *id, int32_t want)
{
    uint64_t deadline = vrt_now_ms() + t->run->cfg->timeout_ms;
    unsigned delay = POLL_FIRST_MS;
    vrt_vm_info info;

    for (;;) {
        if (vcts_vm_describe(&info, t, id) != VRT_OK)
            return VRT_E_INTERNAL;
        if (!info.exists)
            return vcts_fail(t, "describe of \"%s\" says the VM does not "
                                "exist while waiting for power %s.",
                             id, vcts_power_name(want));
        if (info.power_state == want)
            return VRT_OK;
        if (vrt_now_ms() >= deadline)
            return vcts_fail(t, "VM \"%s\" is powered %s, not %s, %u ms "
                                "after the operation.",
                             id, vcts_power_name(info.power_state),
                             vcts_power_name(want),
                             (unsigned)t->run->cfg->timeout_ms);
        vcts_sleep_ms(delay);
        delay = delay * 2 > POLL_MAX_MS ? POLL_MAX_MS : delay * 2;
    }
}

/* Destroys one leftover VM, powering it off first (not every hypervisor
 * deletes a running VM).  NOTFOUND means the test already removed it. */
static void cleanup_one(vcts_t *t, const char *id)
{
    vrt_vm_info info;
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT, terr;
    vrt_call_ctx cc;

    vcts_cc(t, &cc);
    int rc = vrt_p_describe(&info, t->run->conn, &cc, id, &err);
    if (vcts_expect_ok(t, rc, &err, "describe during cleanup") == VRT_OK) {
        vrt_vm_info_clear(&info);
        if (!info.exists)
            return;
        if (info.power_state == VRT_POWER_ON) {
            vcts_cc(t, &cc);
            if (vrt_p_power(&task, t->run->conn, &cc, id, VRT_POWER_OP_OFF, 0,
                            &err) == VRT_OK)
                (void)vcts_task_wait(&terr, t, &task, "cleanup power off");
        }
    }
    vcts_cc(t, &cc);
    rc = vrt_p_destroy(&task, t->run->conn, &cc, id, &err);
    if (rc == VRT_OK)
        rc = vcts_task_wait(&terr, t, &task, "cleanup destroy");
    else
        terr = err;
    if (rc != VRT_OK && rc != VRT_E_NOTFOUND)
        vcts_fail(t, "Cleanup could not destroy VM \"%s\": %s: %s", id,
                  vrt_error_code_name(rc), terr.message);
    else
        vcts_note(t, "cleanup destroyed \"%s\"", id);
}

void vcts_vm_cleanup(vcts_t *t)
{
    /* Newest first: clones go before their sources. */
    while (t->nvms > 0) {
        char id[VRT_ID_MAX];
        memcpy(id, t->vms[t->nvms - 1], sizeof(id));
        t->nvms--;
        if (t->run->conn)
            cleanup_one(t, id);
    }
}

int vcts_list_vms(vcts_t *t, vrt_visit_fn visit, void *opaque)
{
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;
    vcts_cc(t, &cc);
    int rc = vrt_p_list_vms(t->run->conn, &cc, visit, opaque, &err);
    return vcts_expect_ok(t, rc, &err, "list_vms");
}

void vcts_spec_sizes(unsigned *cpus, uint64_t *memory_mib, const vcts_run *run)
{
    cJSON *spec = cJSON_Parse(run->cfg->vm_spec_json);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(spec, "cpu");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(spec, "memoryMiB");
    *cpus = cJSON_IsNumber(c) && c->valuedouble >= 1 ? (unsigned)c->valuedouble
                                                     : 0;
    *memory_mib = cJSON_IsNumber(m) && m->valuedouble >= 1
                      ? (uint64_t)m->valuedouble
                      : 0;
    cJSON_Delete(spec);
}

char *vcts_spec_with_cpu(vcts_t *t, unsigned cpus)
{
    cJSON *spec = cJSON_Parse(t->run->cfg->vm_spec_json);
    char *text, *out;

    if (!spec) {
        fprintf(stderr, "vcts: out of memory.\n");
        abort();
    }
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "cpu");
    cJSON_AddNumberToObject(spec, "cpu", cpus);
    text = cJSON_PrintUnformatted(spec);
    out = text ? strdup(text) : NULL;
    cJSON_free(text);
    cJSON_Delete(spec);
    if (!out) {
        fprintf(stderr, "vcts: out of memory.\n");
        abort();
    }
    return out;
}
