/*
 * vs_task.c - tasks.  Most operations are one vim25 Task, handed to the
 * host as "vim:<task-ref>" and polled through Task.info.  Two need steps of
 * our own, kept in memory per connection: a create (the clone, then a
 * reconfigure when the clone did not take the CPUs and memory asked for)
 * and a graceful shutdown (wait for the guest, power off at the timeout).
 * A restarted host gets VRT_E_NOTFOUND for those and asks again.
 */
#include "vs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VS_TASK_PREFIX "vim:"

int vs_task_start(char task[VS_REF_MAX], vrt_conn *c, const vrt_call *call,
                  const char *body, const char *what, vrt_error *err)
{
    xmlDoc *doc = NULL;
    xmlNode *resp;
    int rc;

    task[0] = '\0';
    rc = vs_soap(&doc, &resp, NULL, c, call, body, what, err);
    if (rc == VRT_OK) {
        vs_xml_ctext(task, VS_REF_MAX, resp, "returnval");
        if (!task[0])
            rc = vs_err(err, VRT_E_INTERNAL,
                        "%s: vSphere returned no task.", what);
    }
    xmlFreeDoc(doc);
    return rc;
}

/* The fault of a failed task: its type and localizedMessage. */
static void task_error(vrt_error *task_err, const xmlNode *info,
                       const char *what)
{
    const xmlNode *e = vs_xml_child(info, "error");
    const xmlNode *f = vs_xml_child(e, "fault");
    char type[64], msg[160];

    vs_xml_type(type, sizeof(type), f);
    vs_xml_ctext(msg, sizeof(msg), e, "localizedMessage");
    vs_err(task_err, vs_fault_code(type), "%s failed: vSphere said %s%s%s%s.",
           what, type[0] ? type : "a fault",
           msg[0] && strcmp(msg, type) ? " (" : "",
           msg[0] && strcmp(msg, type) ? msg : "",
           msg[0] && strcmp(msg, type) ? ")" : "");
}

typedef struct info_ctx {
    int state;
    int percent;
    char *result;
    vrt_error *task_err;
    const char *what;
} info_ctx;

static int on_info(void *opaque, const char *type, const char *ref,
                   const xmlNode *objects)
{
    info_ctx *ic = opaque;
    const xmlNode *info = vs_xml_child(vs_xml_child(objects, "propSet"),
                                       "val");
    char state[32], pct[16];

    (void)type;
    (void)ref;
    vs_xml_ctext(state, sizeof(state), info, "state");
    vs_xml_ctext(pct, sizeof(pct), info, "progress");
    ic->percent = pct[0] ? atoi(pct) : -1;
    if (!strcmp(state, "success")) {
        ic->state = 1;
        if (ic->result)
            vs_xml_ctext(ic->result, VS_REF_MAX, info, "result");
    } else if (!strcmp(state, "error")) {
        ic->state = -1;
        task_error(ic->task_err, info, ic->what);
    } else {
        ic->state = 0;
    }
    return 1;
}

static int poll_info(int *state, int *percent, char result[VS_REF_MAX],
                     vrt_conn *c, const vrt_call *call, const char *task,
                     const char *what, vrt_error *task_err, vrt_error *err)
{
    info_ctx ic = {0, -1, result, task_err, what};
    vs_buf b = {0};
    int rc;

    if (result)
        result[0] = '\0';
    vs_buf_add(&b, "<propSet><type>Task</type><pathSet>info</pathSet>"
                   "</propSet><objectSet><obj type=\"Task\">");
    vs_buf_esc(&b, task);
    vs_buf_add(&b, "</obj></objectSet>");
    rc = vs_pc_retrieve(c, call, b.s, on_info, &ic, "Reading a task", err);
    vs_buf_free(&b);
    if (rc == VRT_E_NOTFOUND)
        rc = vs_err(err, VRT_E_NOTFOUND,
                    "Task \"%s\" is unknown to vSphere.", task);
    *state = ic.state;
    if (percent)
        *percent = ic.percent;
    return rc;
}

int vs_vimtask_poll(int *state, char result[VS_REF_MAX], vrt_conn *c,
                    const vrt_call *call, const char *task, const char *what,
                    vrt_error *task_err, vrt_error *err)
{
    return poll_info(state, NULL, result, c, call, task, what, task_err, err);
}

int vs_vimtask_wait(char result[VS_REF_MAX], vrt_conn *c,
                    const vrt_call *call, const char *task, const char *what,
                    vrt_error *err)
{
    uint64_t end = call && call->deadline_ms ? call->deadline_ms
                                             : vs_now_ms() + 600000;
    uint32_t pause = 50;
    int state = 0, rc;

    for (;;) {
        vrt_error terr = VRT_ERROR_INIT;
        if ((rc = vs_vimtask_poll(&state, result, c, call, task, what, &terr,
                                  err)) < 0)
            return rc;
        if (state > 0)
            return VRT_OK;
        if (state < 0) {
            if (err)
                *err = terr;
            return terr.code;
        }
        if (vs_now_ms() + pause >= end)
            return vs_err(err, VRT_E_TIMEOUT,
                          "%s: the vSphere task \"%s\" did not finish before "
                          "the call's deadline.",
                          what, task);
        vs_sleep_ms(pause);
        if (pause < 1000)
            pause *= 2;
    }
}

void vs_task_ref_vim(vrt_task_ref *out, const char *vim)
{
    if (out)
        snprintf(out->id, sizeof(out->id), "%s%s", VS_TASK_PREFIX, vim);
}

#define VS_TASKS_KEEP 256 /* finished tasks are forgotten beyond this */

void vs_tasks_add(vrt_task_ref *out, vrt_conn *c, vs_task *t)
{
    size_t i, j;

    pthread_mutex_lock(&c->lock);
    if (c->ntasks >= VS_TASKS_KEEP) {
        for (i = j = 0; i < c->ntasks; i++)
            if (!c->tasks[i].done)
                c->tasks[j++] = c->tasks[i];
        c->ntasks = j;
    }
    snprintf(t->id, sizeof(t->id), "vrt:%llu",
             (unsigned long long)++c->task_seq);
    c->tasks = realloc(c->tasks, (c->ntasks + 1) * sizeof(*c->tasks));
    if (!c->tasks)
        vs_oom();
    c->tasks[c->ntasks++] = *t;
    pthread_mutex_unlock(&c->lock);
    if (out)
        vs_strlcpy(out->id, t->id, sizeof(out->id));
}

static int task_get(vs_task *out, vrt_conn *c, const char *id)
{
    size_t i;
    int found = 0;

    pthread_mutex_lock(&c->lock);
    for (i = 0; i < c->ntasks; i++)
        if (!strcmp(c->tasks[i].id, id)) {
            *out = c->tasks[i];
            found = 1;
            break;
        }
    pthread_mutex_unlock(&c->lock);
    return found;
}

static void task_put(vrt_conn *c, const vs_task *t)
{
    size_t i;

    pthread_mutex_lock(&c->lock);
    for (i = 0; i < c->ntasks; i++)
        if (!strcmp(c->tasks[i].id, t->id))
            c->tasks[i] = *t;
    pthread_mutex_unlock(&c->lock);
}

/* Starts a migration of the new VM to the host placement chose, when it
 * is elsewhere (a server that ignored the clone's relocate host: vcsim
 * does; vCenter honours it, and then this does nothing).  1 if started. */
static int ensure_host(vs_task *t, vrt_conn *c, const vrt_call *call,
                       const vs_vm *vm, vrt_error *err)
{
    if (!t->host[0] || !strcmp(vm->host, t->host))
        return 0;
    vs_buf b = {0};
    vs_buf_add(&b, "<RelocateVM_Task xmlns=\"urn:vim25\"><_this "
                   "type=\"VirtualMachine\">");
    vs_buf_esc(&b, vm->ref);
    vs_buf_add(&b, "</_this><spec><host type=\"HostSystem\">");
    vs_buf_esc(&b, t->host);
    vs_buf_add(&b, "</host></spec></RelocateVM_Task>");
    int rc = vs_task_start(t->vim, c, call, b.s, "Moving the new VM to its host", err);
    vs_buf_free(&b);
    return rc < 0 ? rc : 1;
}

/* Advances a create: after the clone, make CPUs and memory match, then
 * put the VM on the host placement chose. */
static int step_create(vs_task *t, vrt_conn *c, const vrt_call *call,
                       vrt_error *err)
{
    vrt_error terr = VRT_ERROR_INIT;
    vs_vm vm;
    vs_buf b = {0};
    int state = 0, rc;

    if ((rc = vs_vimtask_poll(&state, NULL, c, call, t->vim,
                              t->step == 2 ? "Moving the new VM to its host"
                              : t->step ? "Setting the new VM's CPUs and memory"
                                        : "Cloning the VM",
                              &terr, err)) < 0)
        return rc;
    if (state == 0)
        return VRT_OK;
    if (state < 0) {
        t->done = 1;
        t->error = terr;
        return VRT_OK;
    }
    if (t->step == 2) {
        t->done = 1;
        return VRT_OK;
    }
    if ((rc = vs_vm_need(&vm, NULL, c, call, t->vm, err)) < 0)
        return rc;
    if (t->step == 1 ||
        (vm.cpus == t->cpu && vm.memory_mib == t->memory_mib)) {
        if ((rc = ensure_host(t, c, call, &vm, err)) < 0)
            return rc;
        if (rc == 1)
            t->step = 2;
        else
            t->done = 1;
        return VRT_OK;
    }
    /* some servers (vcsim) clone the source's hardware as it is */
    vs_buf_add(&b, "<ReconfigVM_Task xmlns=\"urn:vim25\"><_this "
                   "type=\"VirtualMachine\">");
    vs_buf_esc(&b, vm.ref);
    vs_buf_add(&b, "</_this><spec><numCPUs>%u</numCPUs><memoryMB>%llu"
                   "</memoryMB></spec></ReconfigVM_Task>",
               (unsigned)t->cpu, (unsigned long long)t->memory_mib);
    rc = vs_task_start(t->vim, c, call, b.s, "Setting the new VM's CPUs and "
                       "memory", err);
    vs_buf_free(&b);
    if (rc == VRT_OK)
        t->step = 1;
    return rc;
}

/* Advances a graceful shutdown: off, or past the timeout and forced. */
static int step_shutdown(vs_task *t, vrt_conn *c, const vrt_call *call,
                         vrt_error *err)
{
    vrt_error terr = VRT_ERROR_INIT;
    vs_vm vm;
    vs_buf b = {0};
    int found = 0, state = 0, rc;

    if (t->step == 1) { /* the forced power-off is running */
        if ((rc = vs_vimtask_poll(&state, NULL, c, call, t->vim,
                                  "Powering the VM off", &terr, err)) < 0)
            return rc;
        if (state != 0) {
            t->done = 1;
            if (state < 0 && terr.code != VRT_E_CONFLICT)
                t->error = terr; /* InvalidPowerState: it is off anyway */
        }
        return VRT_OK;
    }
    if ((rc = vs_vm_get(&vm, &found, NULL, c, call, t->vm, err)) < 0)
        return rc;
    if (!found) {
        t->done = 1;
        vs_err(&t->error, VRT_E_NOTFOUND,
               "VM \"%s\" disappeared during its shutdown.", t->vm);
        return VRT_OK;
    }
    if (vm.power == VRT_POWER_OFF) {
        t->done = 1;
        return VRT_OK;
    }
    if (vs_now_ms() < t->deadline_ms)
        return VRT_OK;
    vs_log(c, VRT_LOG_INFO, "VM \"%s\" did not shut down in time; powering "
           "it off.", vm.name);
    vs_buf_add(&b, "<PowerOffVM_Task xmlns=\"urn:vim25\"><_this "
                   "type=\"VirtualMachine\">");
    vs_buf_esc(&b, vm.ref);
    vs_buf_add(&b, "</_this></PowerOffVM_Task>");
    rc = vs_task_start(t->vim, c, call, b.s, "Powering the VM off", err);
    vs_buf_free(&b);
    if (rc == VRT_OK)
        t->step = 1;
    return rc;
}

int32_t vs_task_status(vrt_task_status *out, vrt_conn *c,
                       const vrt_call *call, const char *task_id,
                       uint32_t flags, vrt_error *err)
{
    vrt_task_status st;
    vrt_error terr = VRT_ERROR_INIT;
    vs_task t;
    int rc, state = 0, percent = -1;

    if ((rc = vs_flags_ok(flags, "task_status", err)) < 0 ||
        (rc = vs_call_check(call, "task_status", err)) < 0 ||
        (rc = vs_out_ok(out, "task status", err)) < 0)
        return rc;
    if (!c || !task_id)
        return vs_err(err, VRT_E_INVALID, "task_status needs a connection "
                                          "and a task id.");
    memset(&st, 0, sizeof(st));
    st.struct_size = sizeof(st);
    st.percent = -1;
    if (!strncmp(task_id, VS_TASK_PREFIX, strlen(VS_TASK_PREFIX))) {
        if ((rc = poll_info(&state, &percent, NULL, c, call,
                            task_id + strlen(VS_TASK_PREFIX), "The task",
                            &terr, err)) < 0)
            return rc;
        st.done = state != 0;
        st.percent = state > 0 ? 100 : percent;
        if (state < 0)
            st.error = terr;
    } else if (task_get(&t, c, task_id)) {
        if (!t.done) {
            rc = t.kind == VS_TASK_CREATE ? step_create(&t, c, call, err)
                                          : step_shutdown(&t, c, call, err);
            if (rc < 0)
                return rc;
            task_put(c, &t);
        }
        st.done = t.done;
        st.percent = t.done ? 100 : (t.step ? 50 : -1);
        if (t.done)
            st.error = t.error;
    } else {
        return vs_err(err, VRT_E_NOTFOUND, "Task \"%.64s\" is unknown.",
                      task_id);
    }
    vs_out_put(out, &st, sizeof(st));
    return VRT_OK;
}
