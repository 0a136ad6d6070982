/*
 * vs_ops.c - power, reconfigure and snapshots.  Each checks that the VM
 * exists first (so a missing one fails at once with VRT_E_NOTFOUND, never
 * through a failed task) and hands the vim25 Task to the host.
 */
#include "vs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void method_body(vs_buf *b, const char *method, const char *type,
                        const char *ref)
{
    vs_buf_add(b, "<%s xmlns=\"urn:vim25\"><_this type=\"%s\">", method, type);
    vs_buf_esc(b, ref);
    vs_buf_add(b, "</_this>");
}

/* Starts `method` (no arguments) on a VM and hands its task out. */
static int vm_task(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                   const char *method, const char *ref, const char *what,
                   vrt_error *err)
{
    char vim[VS_REF_MAX];
    vs_buf b = {0};
    int rc;

    method_body(&b, method, "VirtualMachine", ref);
    vs_buf_add(&b, "</%s>", method);
    rc = vs_task_start(vim, c, call, b.s, what, err);
    vs_buf_free(&b);
    if (rc == VRT_OK)
        vs_task_ref_vim(task, vim);
    return rc;
}

/* A method without a task (ShutdownGuest, RebootGuest); the fault type
 * goes to `fault`. */
static int vm_call(char fault[64], vrt_conn *c, const vrt_call *call,
                   const char *method, const char *ref, const char *what,
                   vrt_error *err)
{
    xmlDoc *doc = NULL;
    xmlNode *resp;
    vs_buf b = {0};
    int rc;

    method_body(&b, method, "VirtualMachine", ref);
    vs_buf_add(&b, "</%s>", method);
    rc = vs_soap(&doc, &resp, fault, c, call, b.s, what, err);
    xmlFreeDoc(doc);
    vs_buf_free(&b);
    return rc;
}

/* Faults that mean "the guest cannot do it": no tools, or not offered. */
static int guest_refused(const char *fault)
{
    return !strcmp(fault, "ToolsUnavailable") ||
           !strcmp(fault, "NotSupported") ||
           !strcmp(fault, "MethodNotFound") ||
           !strcmp(fault, "NotImplemented") ||
           !strcmp(fault, "InvalidState");
}

static int shutdown_graceful(vrt_task_ref *task, vrt_conn *c,
                             const vrt_call *call, const vs_vm *vm,
                             uint32_t timeout_s, vrt_error *err)
{
    char fault[64];
    vs_task t;
    int rc;

    rc = vm_call(fault, c, call, "ShutdownGuest", vm->ref,
                 "Shutting the guest down", err);
    if (rc < 0 && guest_refused(fault)) {
        vs_log(c, VRT_LOG_INFO, "The guest of VM \"%s\" cannot shut down "
               "(%s); powering it off.", vm->name, fault);
        return vm_task(task, c, call, "PowerOffVM_Task", vm->ref,
                       "Powering the VM off", err);
    }
    if (rc < 0)
        return rc;
    memset(&t, 0, sizeof(t));
    t.kind = VS_TASK_SHUTDOWN;
    vs_strlcpy(t.vm, vm->uuid, sizeof(t.vm));
    t.deadline_ms = vs_now_ms() +
                    1000ull * (timeout_s ? timeout_s
                                         : c->cfg.graceful_timeout_s);
    vs_tasks_add(task, c, &t);
    return VRT_OK;
}

int32_t vs_power(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                 const char *id, int32_t op, uint32_t graceful_timeout_s,
                 uint32_t flags, vrt_error *err)
{
    char fault[64];
    vs_vm vm;
    int rc;

    if (task)
        task->id[0] = '\0';
    if ((rc = vs_flags_ok(flags, "power", err)) < 0 ||
        (rc = vs_call_check(call, "power", err)) < 0)
        return rc;
    if (!c || !id)
        return vs_err(err, VRT_E_INVALID, "power needs a connection and a "
                                          "VM id.");
    if (op != VRT_POWER_OP_ON && op != VRT_POWER_OP_OFF &&
        op != VRT_POWER_OP_REBOOT && op != VRT_POWER_OP_SHUTDOWN_GRACEFUL)
        return vs_err(err, VRT_E_INVALID, "Power operation %d is unknown.",
                      (int)op);
    if ((rc = vs_vm_need(&vm, NULL, c, call, id, err)) < 0)
        return rc;
    if (vm.is_template)
        return vs_err(err, VRT_E_CONFLICT,
                      "\"%s\" is a template and cannot be powered on or off.",
                      vm.name);
    switch (op) {
    case VRT_POWER_OP_ON:
        if (vm.power == VRT_POWER_ON)
            return VRT_OK;
        return vm_task(task, c, call, "PowerOnVM_Task", vm.ref,
                       "Powering the VM on", err);
    case VRT_POWER_OP_OFF:
        if (vm.power == VRT_POWER_OFF)
            return VRT_OK;
        return vm_task(task, c, call, "PowerOffVM_Task", vm.ref,
                       "Powering the VM off", err);
    case VRT_POWER_OP_SHUTDOWN_GRACEFUL:
        if (vm.power == VRT_POWER_OFF)
            return VRT_OK;
        return shutdown_graceful(task, c, call, &vm, graceful_timeout_s, err);
    default: /* reboot */
        if (vm.power != VRT_POWER_ON)
            return vs_err(err, VRT_E_CONFLICT,
                          "VM \"%s\" is not running, so it cannot reboot.",
                          vm.name);
        rc = vm_call(fault, c, call, "RebootGuest", vm.ref,
                     "Rebooting the guest", err);
        if (rc < 0 && guest_refused(fault))
            /* no tools: a hard reset is the only way */
            return vm_task(task, c, call, "ResetVM_Task", vm.ref,
                           "Resetting the VM", err);
        return rc;
    }
}

int32_t vs_reconfigure(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                       const char *id, const vrt_vm_spec *spec,
                       uint32_t flags, vrt_error *err)
{
    char vim[VS_REF_MAX];
    vs_spec *s = NULL;
    vs_buf b = {0};
    vs_vm vm;
    int rc, changes = 0;

    if (task)
        task->id[0] = '\0';
    if ((rc = vs_flags_ok(flags, "reconfigure", err)) < 0 ||
        (rc = vs_call_check(call, "reconfigure", err)) < 0)
        return rc;
    if (!c || !id || !spec || spec->struct_size < sizeof(vrt_vm_spec))
        return vs_err(err, VRT_E_INVALID,
                      "reconfigure needs a connection, a VM id and a spec.");
    if (spec->flags)
        return vs_err(err, VRT_E_INVALID,
                      "The VM spec has flags 0x%x; they must be 0.",
                      (unsigned)spec->flags);
    if ((rc = vs_spec_parse(&s, spec->spec_json, err)) < 0)
        return rc;
    if ((rc = vs_vm_need(&vm, NULL, c, call, id, err)) < 0)
        goto cleanup;
    method_body(&b, "ReconfigVM_Task", "VirtualMachine", vm.ref);
    vs_buf_add(&b, "<spec>");
    if (s->has_cpu && s->cpu != vm.cpus) {
        vs_buf_add(&b, "<numCPUs>%u</numCPUs>", (unsigned)s->cpu);
        changes++;
    }
    if (s->has_memory && s->memory_mib != vm.memory_mib) {
        vs_buf_add(&b, "<memoryMB>%llu</memoryMB>",
                   (unsigned long long)s->memory_mib);
        changes++;
    }
    if (!changes)
        goto cleanup; /* already as asked: no task */
    /* the marker follows the spec, so a retried create still matches */
    vs_buf_add(&b, "<extraConfig xsi:type=\"OptionValue\"><key>"
                   "virtrigaud.spec</key><value xsi:type=\"xsd:string\">%s"
                   "</value></extraConfig></spec></ReconfigVM_Task>",
               s->hash);
    rc = vs_task_start(vim, c, call, b.s, "Reconfiguring the VM", err);
    if (rc == VRT_OK) {
        vs_task_ref_vim(task, vim);
        vs_log(c, VRT_LOG_INFO, "Reconfiguring VM \"%s\" to %u CPUs and "
               "%llu MiB (task %s).", vm.name, (unsigned)s->cpu,
               (unsigned long long)s->memory_mib, vim);
    }

cleanup:
    vs_buf_free(&b);
    vs_spec_free(s);
    return rc;
}

/* ---- snapshots -------------------------------------------------------------- */

/* Non-zero when the VM's snapshot tree holds snapshot `ref`. */
static int has_snapshot(const xmlNode *n, const char *ref)
{
    const xmlNode *ch;
    char text[VS_REF_MAX];

    for (ch = n ? n->children : NULL; ch; ch = ch->next) {
        if (ch->type != XML_ELEMENT_NODE)
            continue;
        if (!strcmp((const char *)ch->name, "snapshot") &&
            !strcmp(vs_xml_text(text, sizeof(text), ch), ref))
            return 1;
        if (has_snapshot(ch, ref))
            return 1;
    }
    return 0;
}

static int snapshot_need(vs_vm *vm, vrt_conn *c, const vrt_call *call,
                         const char *vm_id, const char *snap,
                         vrt_error *err)
{
    xmlDoc *doc = NULL;
    int rc, found;

    if (!snap || !snap[0])
        return vs_err(err, VRT_E_INVALID, "No snapshot id was given.");
    if ((rc = vs_vm_need(vm, &doc, c, call, vm_id, err)) < 0)
        return rc;
    found = has_snapshot(vm->snapshot, snap);
    xmlFreeDoc(doc);
    vm->snapshot = NULL;
    if (!found)
        return vs_err(err, VRT_E_NOTFOUND,
                      "VM \"%s\" has no snapshot \"%.64s\".", vm->name, snap);
    return VRT_OK;
}

int32_t vs_snapshot_create(char snapshot_id[VRT_ID_MAX], vrt_task_ref *task,
                           vrt_conn *c, const vrt_call *call,
                           const char *vm_id, const vrt_snapshot_spec *spec,
                           uint32_t flags, vrt_error *err)
{
    char vim[VS_REF_MAX], result[VS_REF_MAX];
    vs_buf b = {0};
    vs_vm vm;
    int rc;

    if (snapshot_id)
        snapshot_id[0] = '\0';
    if (task)
        task->id[0] = '\0';
    if ((rc = vs_flags_ok(flags, "snapshot_create", err)) < 0 ||
        (rc = vs_call_check(call, "snapshot_create", err)) < 0)
        return rc;
    if (!c || !vm_id || !snapshot_id || !spec ||
        spec->struct_size < sizeof(vrt_snapshot_spec))
        return vs_err(err, VRT_E_INVALID,
                      "snapshot_create needs a connection, a VM id, an id "
                      "buffer and a spec.");
    if ((rc = vs_vm_need(&vm, NULL, c, call, vm_id, err)) < 0)
        return rc;
    method_body(&b, "CreateSnapshot_Task", "VirtualMachine", vm.ref);
    vs_buf_elem(&b, "name", spec->name && spec->name[0] ? spec->name
                                                         : "virtrigaud");
    if (spec->description)
        vs_buf_elem(&b, "description", spec->description);
    vs_buf_add(&b, "<memory>%s</memory><quiesce>%s</quiesce>"
                   "</CreateSnapshot_Task>",
               spec->include_memory ? "true" : "false",
               spec->quiesce ? "true" : "false");
    /* the id is the snapshot's reference, known only when the task ends */
    if ((rc = vs_task_start(vim, c, call, b.s, "Creating a snapshot", err)) ==
            VRT_OK &&
        (rc = vs_vimtask_wait(result, c, call, vim, "Creating a snapshot",
                              err)) == VRT_OK) {
        if (!result[0])
            rc = vs_err(err, VRT_E_INTERNAL,
                        "The snapshot task of VM \"%s\" returned no "
                        "snapshot.",
                        vm.name);
        else
            vs_strlcpy(snapshot_id, result, VRT_ID_MAX);
    }
    vs_buf_free(&b);
    return rc;
}

static int snapshot_op(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                       const char *vm_id, const char *snap, uint32_t flags,
                       int remove, vrt_error *err)
{
    const char *what = remove ? "snapshot_delete" : "snapshot_revert";
    char vim[VS_REF_MAX];
    vs_buf b = {0};
    vs_vm vm;
    int rc;

    if (task)
        task->id[0] = '\0';
    if ((rc = vs_flags_ok(flags, what, err)) < 0 ||
        (rc = vs_call_check(call, what, err)) < 0)
        return rc;
    if (!c || !vm_id)
        return vs_err(err, VRT_E_INVALID, "%s needs a connection and a VM "
                      "id.", what);
    if ((rc = snapshot_need(&vm, c, call, vm_id, snap, err)) < 0)
        return rc;
    if (remove) {
        method_body(&b, "RemoveSnapshot_Task", "VirtualMachineSnapshot",
                    snap);
        vs_buf_add(&b, "<removeChildren>false</removeChildren>"
                       "</RemoveSnapshot_Task>");
    } else {
        method_body(&b, "RevertToSnapshot_Task", "VirtualMachineSnapshot",
                    snap);
        vs_buf_add(&b, "</RevertToSnapshot_Task>");
    }
    rc = vs_task_start(vim, c, call, b.s,
                       remove ? "Deleting a snapshot" : "Reverting to a "
                                                        "snapshot",
                       err);
    vs_buf_free(&b);
    if (rc == VRT_OK)
        vs_task_ref_vim(task, vim);
    return rc;
}

int32_t vs_snapshot_delete(vrt_task_ref *task, vrt_conn *c,
                           const vrt_call *call, const char *vm_id,
                           const char *snapshot_id, uint32_t flags,
                           vrt_error *err)
{
    return snapshot_op(task, c, call, vm_id, snapshot_id, flags, 1, err);
}

int32_t vs_snapshot_revert(vrt_task_ref *task, vrt_conn *c,
                           const vrt_call *call, const char *vm_id,
                           const char *snapshot_id, uint32_t flags,
                           vrt_error *err)
{
    return snapshot_op(task, c, call, vm_id, snapshot_id, flags, 0, err);
}
