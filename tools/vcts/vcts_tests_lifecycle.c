/*
 * The VM lifecycle the manager drives: create, describe, power, destroy;
 * create is idempotent by name, destroy of a gone VM is NOTFOUND, and
 * list_vms sees what exists.
 */
#include "vcts.h"

#include <stdio.h>
#include <string.h>

/* describe must report the VM we created, as we asked for it. */
static void check_created(vcts_t *t, const char *id, const char *suffix)
{
    char name[VRT_NAME_MAX];
    unsigned cpus;
    uint64_t mem;
    vrt_vm_info info;

    if (vcts_vm_describe(&info, t, id) != VRT_OK)
        return;
    vcts_name(name, sizeof(name), t, suffix);
    if (!info.exists) {
        vcts_fail(t, "describe of the new VM \"%s\" says it does not exist.",
                  id);
        return;
    }
    if (strcmp(info.id, id) != 0)
        vcts_fail(t, "describe of \"%s\" reports the id \"%s\".", id,
                  info.id);
    if (info.name[0] && strcmp(info.name, name) != 0)
        vcts_fail(t, "describe of \"%s\" reports the name \"%s\", not "
                     "\"%s\".",
                  id, info.name, name);
    if (info.power_state == VRT_POWER_ON)
        vcts_fail(t, "The new VM \"%s\" is powered on; create must not "
                     "power it on.",
                  id);
    vcts_spec_sizes(&cpus, &mem, t->run);
    if (cpus && info.cpus && info.cpus != cpus)
        vcts_fail(t, "describe of \"%s\" reports %u CPUs; the spec asked "
                     "for %u.",
                  id, info.cpus, cpus);
    if (mem && info.memory_mib && info.memory_mib != mem)
        vcts_fail(t, "describe of \"%s\" reports %llu MiB; the spec asked "
                     "for %llu.",
                  id, (unsigned long long)info.memory_mib,
                  (unsigned long long)mem);
}

static int expect_gone(vcts_t *t, const char *id)
{
    vrt_vm_info info;
    if (vcts_vm_describe(&info, t, id) != VRT_OK)
        return -1;
    if (info.exists)
        return vcts_fail(t, "describe of the destroyed VM \"%s\" says it "
                            "still exists.",
                         id);
    return 0;
}

static void t_lifecycle(vcts_t *t)
{
    char id[VRT_ID_MAX];

    if (vcts_vm_create(id, t, "lifecycle", NULL) != VRT_OK)
        return;
    check_created(t, id, "lifecycle");
    if (vcts_failed(t) ||
        vcts_vm_power(t, id, VRT_POWER_OP_OFF, 0) != VRT_OK ||
        vcts_vm_wait_power(t, id, VRT_POWER_OFF) != VRT_OK ||
        vcts_vm_power(t, id, VRT_POWER_OP_ON, 0) != VRT_OK ||
        vcts_vm_wait_power(t, id, VRT_POWER_ON) != VRT_OK ||
        vcts_vm_power(t, id, VRT_POWER_OP_OFF, 0) != VRT_OK ||
        vcts_vm_wait_power(t, id, VRT_POWER_OFF) != VRT_OK ||
        vcts_vm_destroy(t, id) != VRT_OK)
        return;
    expect_gone(t, id);
}

/* Counts the VMs of one name in list_vms. */
typedef struct name_count {
    const char *name;
    unsigned n;
} name_count;

static int count_name(void *opaque, const void *item)
{
    name_count *c = opaque;
    const vrt_vm_info *vm = item;
    if (strcmp(vm->name, c->name) == 0)
        c->n++;
    return 0;
}

static void t_create_idempotent(vcts_t *t)
{
    char id1[VRT_ID_MAX], id2[VRT_ID_MAX], name[VRT_NAME_MAX];
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    if (vcts_vm_create(id1, t, "idempotent", NULL) != VRT_OK)
        return;
    vcts_name(name, sizeof(name), t, "idempotent");
    vrt_vm_spec spec = {.struct_size = sizeof(spec),
                        .name = name,
                        .spec_json = t->run->cfg->vm_spec_json};
    vcts_cc(t, &cc);
    int rc = vrt_p_create(id2, &task, t->run->conn, &cc, &spec, &err);
    if (rc == VRT_OK && strcmp(id1, id2) != 0)
        vcts_vm_track(t, id2);
    if (vcts_done(t, rc, &err, &task,
                  "a second create with the same name and spec") != VRT_OK)
        return;
    if (strcmp(id1, id2) != 0) {
        vcts_fail(t, "A second create of \"%s\" with the same spec returned "
                     "the id \"%s\", not the first VM's \"%s\".",
                  name, id2, id1);
        return;
    }
    if (t->run->caps.caps & VRT_CAP_LIST_VMS) {
        name_count c = {name, 0};
        if (vcts_list_vms(t, count_name, &c) == VRT_OK && c.n != 1)
            vcts_fail(t, "list_vms shows %u VMs named \"%s\" after two "
                         "creates; there must be one.",
                      c.n, name);
    } else {
        vcts_note(t, "LIST_VMS not claimed; VM count not checked");
    }
}

static void t_destroy_twice(vcts_t *t)
{
    char id[VRT_ID_MAX], what[VRT_ID_MAX + 48];
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    if (vcts_vm_create(id, t, "destroy-twice", NULL) != VRT_OK ||
        vcts_vm_destroy(t, id) != VRT_OK)
        return;
    snprintf(what, sizeof(what), "a second destroy of \"%s\"", id);
    vcts_cc(t, &cc);
    int rc = vrt_p_destroy(&task, t->run->conn, &cc, id, &err);
    if (rc == VRT_OK && task.id[0]) {
        vrt_error terr;
        int trc = vcts_task_wait(&terr, t, &task, what);
        vcts_fail(t, "%s returned a task (which ended with %s) instead of "
                     "failing with NOTFOUND at once.",
                  what, vrt_error_code_name(trc));
        return;
    }
    if (vcts_expect_code(t, rc, &err, VRT_E_NOTFOUND, what) != 0)
        return;
    if (vrt_error_is_retryable(&err))
        vcts_fail(t, "%s failed with NOTFOUND marked retryable (class %d); "
                     "the manager must treat it as done.",
                  what, (int)err.klass);
    expect_gone(t, id);
}

/* Which of two VMs list_vms shows, and under what names. */
typedef struct pair_seen {
    const char *ids[2];
    const char *names[2];
    unsigned seen[2];
    int wrong_name[2];
} pair_seen;

static int see_pair(void *opaque, const void *item)
{
    pair_seen *p = opaque;
    const vrt_vm_info *vm = item;
    for (int i = 0; i < 2; i++) {
        if (strcmp(vm->id, p->ids[i]) != 0)
            continue;
        p->seen[i]++;
        if (vm->name[0] && strcmp(vm->name, p->names[i]) != 0)
            p->wrong_name[i] = 1;
    }
    return 0;
}

static void t_list_vms(vcts_t *t)
{
    char a[VRT_ID_MAX], b[VRT_ID_MAX], na[VRT_NAME_MAX], nb[VRT_NAME_MAX];
    pair_seen p;

    if (vcts_vm_create(a, t, "list-a", NULL) != VRT_OK ||
        vcts_vm_create(b, t, "list-b", NULL) != VRT_OK)
        return;
    vcts_name(na, sizeof(na), t, "list-a");
    vcts_name(nb, sizeof(nb), t, "list-b");
    memset(&p, 0, sizeof(p));
    p.ids[0] = a, p.ids[1] = b, p.names[0] = na, p.names[1] = nb;
    if (vcts_list_vms(t, see_pair, &p) != VRT_OK)
        return;
    for (int i = 0; i < 2; i++) {
        if (p.seen[i] != 1)
            vcts_fail(t, "list_vms shows the VM \"%s\" %u times; it must "
                         "show it once.",
                      p.ids[i], p.seen[i]);
        if (p.wrong_name[i])
            vcts_fail(t, "list_vms shows the VM \"%s\" under another name "
                         "than \"%s\".",
                      p.ids[i], p.names[i]);
    }
    if (vcts_failed(t) || vcts_vm_destroy(t, a) != VRT_OK)
        return;
    memset(p.seen, 0, sizeof(p.seen));
    if (vcts_list_vms(t, see_pair, &p) != VRT_OK)
        return;
    if (p.seen[0])
        vcts_fail(t, "list_vms still shows the destroyed VM \"%s\".", a);
    if (p.seen[1] != 1)
        vcts_fail(t, "list_vms lost the VM \"%s\" after another VM was "
                     "destroyed.",
                  b);
}

const vcts_test vcts_tests_lifecycle[] = {
    {"lifecycle", "create, describe, power off/on/off, destroy",
     VCTS_NEED_CONN, 0, t_lifecycle},
    {"create-idempotent", "a second create of the same name and spec "
                          "returns the same VM",
     VCTS_NEED_CONN | VCTS_NEED_CAPS, 0, t_create_idempotent},
    {"destroy-twice", "a second destroy is NOTFOUND, not retryable",
     VCTS_NEED_CONN, 0, t_destroy_twice},
    {"list-vms", "list_vms shows created VMs once and forgets destroyed ones",
     VCTS_NEED_CONN, VRT_CAP_LIST_VMS, t_list_vms},
    {NULL, NULL, 0, 0, NULL},
};
