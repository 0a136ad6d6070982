/*
 * ABI rules that the safe wrappers would hide, so these tests call the
 * vtable directly: unknown flag bits are refused with VRT_E_INVALID, and a
 * plugin writes a caller's structure only as far as its struct_size.
 * Also: a spec_json that is not a JSON object is refused.
 */
#include "vcts.h"

#include <stdio.h>
#include <string.h>

#define BAD_FLAGS 0x80000000u
/* A case that could not make its call and has failed the test already. */
#define CASE_REPORTED 1
#define GUARD_BYTE 0xA5

/* What the direct calls share. */
typedef struct flag_env {
    vcts_t *t;
    const vrt_provider *vt;
    vrt_conn *conn;
    char vm[VRT_ID_MAX];   /* an existing VM */
    char task[VRT_ID_MAX]; /* a known task, or a missing id */
    char snap[VRT_ID_MAX]; /* an existing snapshot, or "" */
    uint32_t format;
} flag_env;

typedef int (*flag_fn)(flag_env *e, const vrt_call *call, vrt_error *err);

static int visit_nothing(void *opaque, const void *item)
{
    (void)opaque;
    (void)item;
    return 0;
}

/* A call that wrongly succeeded may have left a task running: let it end
 * before the next call so that cleanup sees a settled VM. */
static void settle(flag_env *e, const vrt_task_ref *task)
{
    vrt_error terr;
    if (task->id[0])
        (void)vcts_task_wait(&terr, e->t, task, "a call with unknown flags");
}

static int f_open(flag_env *e, const vrt_call *call, vrt_error *err)
{
    const vcts_config *cfg = e->t->run->cfg;
    vrt_conn *c = NULL;
    vrt_conn_params params = {
        .struct_size = sizeof(params),
        .endpoint = cfg->endpoint,
        .config_json = cfg->config_json,
        .ctx = vcts_raw_host_ctx(e->t->run->conn),
    };
    (void)call;
    int rc = e->vt->open(&c, &params, BAD_FLAGS, err);
    if (rc == VRT_OK)
        e->vt->close(c);
    return rc;
}

static int f_validate(flag_env *e, const vrt_call *call, vrt_error *err)
{
    return e->vt->validate(e->conn, call, BAD_FLAGS, err);
}

static int f_capabilities(flag_env *e, const vrt_call *call, vrt_error *err)
{
    vrt_caps caps = {.struct_size = sizeof(caps)};
    return e->vt->capabilities(&caps, e->conn, call, BAD_FLAGS, err);
}

static int f_create(flag_env *e, const vrt_call *call, vrt_error *err)
{
    char name[VRT_NAME_MAX], id[VRT_ID_MAX] = "";
    vrt_task_ref task = {{0}};
    vcts_name(name, sizeof(name), e->t, "flags-create");
    vrt_vm_spec spec = {.struct_size = sizeof(spec),
                        .name = name,
                        .spec_json = e->t->run->cfg->vm_spec_json};
    int rc = e->vt->create(id, &task, e->conn, call, &spec, BAD_FLAGS, err);
    if (rc == VRT_OK && id[0]) {
        id[VRT_ID_MAX - 1] = '\0';
        task.id[VRT_ID_MAX - 1] = '\0';
        vcts_vm_track(e->t, id);
        settle(e, &task);
    }
    return rc;
}

static int f_describe(flag_env *e, const vrt_call *call, vrt_error *err)
{
    vrt_vm_info info;
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    int rc = e->vt->describe(&info, e->conn, call, e->vm, BAD_FLAGS, err);
    if (rc == VRT_OK)
        vrt_vm_info_clear(&info);
    return rc;
}

static int f_power(flag_env *e, const vrt_call *call, vrt_error *err)
{
    vrt_task_ref task = {{0}};
    int rc = e->vt->power(&task, e->conn, call, e->vm, VRT_POWER_OP_OFF, 0,
                          BAD_FLAGS, err);
    if (rc == VRT_OK)
        settle(e, &task);
    return rc;
}

static int f_task_status(flag_env *e, const vrt_call *call, vrt_error *err)
{
    vrt_task_status st;
    memset(&st, 0, sizeof(st));
    st.struct_size = sizeof(st);
    return e->vt->task_status(&st, e->conn, call, e->task, BAD_FLAGS, err);
}

static int f_destroy(flag_env *e, const vrt_call *call, vrt_error *err)
{
    vrt_task_ref task = {{0}};
    int rc = e->vt->destroy(&task, e->conn, call, e->vm, BAD_FLAGS, err);
    if (rc == VRT_OK)
        settle(e, &task);
    return rc;
}

static int f_reconfigure(flag_env *e, const vrt_call *call, vrt_error *err)
{
    char name[VRT_NAME_MAX];
    vrt_task_ref task = {{0}};
    vcts_name(name, sizeof(name), e->t, "flags");
    vrt_vm_spec spec = {.struct_size = sizeof(spec),
                        .name = name,
                        .spec_json = e->t->run->cfg->vm_spec_json};
    int rc = e->vt->reconfigure(&task, e->conn, call, e->vm, &spec,
                                BAD_FLAGS, err);
    if (rc == VRT_OK)
        settle(e, &task);
    return rc;
}

static int f_hardware_upgrade(flag_env *e, const vrt_call *call,
                              vrt_error *err)
{
    vrt_task_ref task = {{0}};
    int rc = e->vt->hardware_upgrade(&task, e->conn, call, e->vm, 0,
                                     BAD_FLAGS, err);
    if (rc == VRT_OK)
        settle(e, &task);
    return rc;
}

static int f_snapshot_create(flag_env *e, const vrt_call *call,
                             vrt_error *err)
{
    char id[VRT_ID_MAX] = "";
    vrt_task_ref task = {{0}};
    vrt_snapshot_spec spec = {.struct_size = sizeof(spec),
                              .name = "vcts-flags"};
    int rc = e->vt->snapshot_create(id, &task, e->conn, call, e->vm, &spec,
                                    BAD_FLAGS, err);
    if (rc == VRT_OK)
        settle(e, &task); /* the VM's destroy removes the snapshot */
    return rc;
}

static int f_snapshot_revert(flag_env *e, const vrt_call *call,
                             vrt_error *err)
{
    vrt_task_ref task = {{0}};
    int rc = e->vt->snapshot_revert(&task, e->conn, call, e->vm, e->snap,
                                    BAD_FLAGS, err);
    if (rc == VRT_OK)
        settle(e, &task);
    return rc;
}

static int f_snapshot_delete(flag_env *e, const vrt_call *call,
                             vrt_error *err)
{
    vrt_task_ref task = {{0}};
    int rc = e->vt->snapshot_delete(&task, e->conn, call, e->vm, e->snap,
                                    BAD_FLAGS, err);
    if (rc == VRT_OK)
        settle(e, &task);
    return rc;
}

static int f_clone(flag_env *e, const vrt_call *call, vrt_error *err)
{
    char name[VRT_NAME_MAX], id[VRT_ID_MAX] = "";
    vrt_task_ref task = {{0}};
    vcts_name(name, sizeof(name), e->t, "flags-clone");
    vrt_clone_spec spec = {.struct_size = sizeof(spec),
                           .source_vm_id = e->vm,
                           .target_name = name,
                           .spec_json = e->t->run->cfg->vm_spec_json};
    int rc = e->vt->clone(id, &task, e->conn, call, &spec, BAD_FLAGS, err);
    if (rc == VRT_OK && id[0]) {
        id[VRT_ID_MAX - 1] = '\0';
        task.id[VRT_ID_MAX - 1] = '\0';
        vcts_vm_track(e->t, id);
        settle(e, &task);
    }
    return rc;
}

static int f_image_prepare(flag_env *e, const vrt_call *call, vrt_error *err)
{
    char name[VRT_NAME_MAX], id[VRT_ID_MAX] = "";
    vrt_task_ref task = {{0}};
    vcts_name(name, sizeof(name), e->t, "flags-image");
    int rc = e->vt->image_prepare(id, &task, e->conn, call, "{}", name,
                                  BAD_FLAGS, err);
    if (rc == VRT_OK)
        settle(e, &task);
    return rc;
}

static int f_list_vms(flag_env *e, const vrt_call *call, vrt_error *err)
{
    return e->vt->list_vms(e->conn, call, visit_nothing, NULL, BAD_FLAGS,
                           err);
}

static int f_disk_info(flag_env *e, const vrt_call *call, vrt_error *err)
{
    vrt_disk_info info;
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    return e->vt->disk_info(&info, e->conn, call, e->vm, NULL, BAD_FLAGS,
                            err);
}

static int export_open(vrt_stream **s, flag_env *e, const vrt_call *call,
                       uint32_t flags, vrt_error *err)
{
    uint64_t size = 0;
    vrt_export_spec spec = {.struct_size = sizeof(spec),
                            .format = e->format,
                            .vm_id = e->vm};
    *s = NULL;
    return e->vt->disk_export_open(s, &size, e->conn, call, &spec, flags,
                                   err);
}

static int f_disk_export_open(flag_env *e, const vrt_call *call,
                              vrt_error *err)
{
    vrt_stream *s = NULL;
    int rc = export_open(&s, e, call, BAD_FLAGS, err);
    if (rc == VRT_OK)
        e->vt->stream_close(s);
    return rc;
}

static int f_stream_read(flag_env *e, const vrt_call *call, vrt_error *err)
{
    vrt_stream *s = NULL;
    uint8_t buf[512];
    size_t n = 0;
    int rc = export_open(&s, e, call, 0, err);
    if (rc != VRT_OK) {
        vcts_expect_ok(e->t, rc, err, "disk_export_open (for stream_read)");
        return CASE_REPORTED;
    }
    rc = e->vt->stream_read(&n, s, buf, sizeof(buf), BAD_FLAGS, err);
    e->vt->stream_close(s);
    return rc;
}

static int import_open(vrt_stream **s, flag_env *e, const vrt_call *call,
                       const char *suffix, uint32_t flags, vrt_error *err)
{
    char name[VRT_NAME_MAX];
    vcts_name(name, sizeof(name), e->t, suffix);
    vrt_import_spec spec = {.struct_size = sizeof(spec),
                            .format = e->format,
                            .size_bytes = 0,
                            .virtual_size = 1024 * 1024,
                            .target_name = name};
    *s = NULL;
    return e->vt->disk_import_open(s, e->conn, call, &spec, flags, err);
}

static int f_disk_import_open(flag_env *e, const vrt_call *call,
                              vrt_error *err)
{
    vrt_stream *s = NULL;
    int rc = import_open(&s, e, call, "flags-import", BAD_FLAGS, err);
    if (rc == VRT_OK)
        e->vt->stream_abort(s);
    return rc;
}

static int f_stream_write(flag_env *e, const vrt_call *call, vrt_error *err)
{
    static const uint8_t zeros[512];
    vrt_stream *s = NULL;
    int rc = import_open(&s, e, call, "flags-write", 0, err);
    if (rc != VRT_OK) {
        vcts_expect_ok(e->t, rc, err, "disk_import_open (for stream_write)");
        return CASE_REPORTED;
    }
    rc = e->vt->stream_write(s, zeros, sizeof(zeros), BAD_FLAGS, err);
    e->vt->stream_abort(s);
    return rc;
}

static int f_stream_finish(flag_env *e, const vrt_call *call, vrt_error *err)
{
    char id[VRT_ID_MAX] = "";
    vrt_stream *s = NULL;
    int rc = import_open(&s, e, call, "flags-finish", 0, err);
    if (rc != VRT_OK) {
        vcts_expect_ok(e->t, rc, err, "disk_import_open (for stream_finish)");
        return CASE_REPORTED;
    }
    /* finish releases the stream whatever it returns. */
    return e->vt->stream_finish(id, s, BAD_FLAGS, err);
}

static int f_console(flag_env *e, const vrt_call *call, vrt_error *err)
{
    vrt_console_info info;
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    return e->vt->console(&info, e->conn, call, e->vm, BAD_FLAGS, err);
}

static int f_list_hosts(flag_env *e, const vrt_call *call, vrt_error *err)
{
    return e->vt->list_hosts(e->conn, call, visit_nothing, NULL, BAD_FLAGS,
                             err);
}

/* In call order; destroy comes last because it may remove the VM. */
static const struct {
    const char *method;
    uint64_t cap; /* the connection must claim it, or 0 */
    flag_fn fn;
} flag_cases[] = {
    {"open", 0, f_open},
    {"validate", 0, f_validate},
    {"capabilities", 0, f_capabilities},
    {"create", 0, f_create},
    {"describe", 0, f_describe},
    {"power", 0, f_power},
    {"task_status", 0, f_task_status},
    {"reconfigure", VRT_CAP_RECONFIGURE, f_reconfigure},
    {"hardware_upgrade", VRT_CAP_HARDWARE_UPGRADE, f_hardware_upgrade},
    {"snapshot_create", VRT_CAP_SNAPSHOTS, f_snapshot_create},
    {"snapshot_revert", VRT_CAP_SNAPSHOT_REVERT, f_snapshot_revert},
    {"snapshot_delete", VRT_CAP_SNAPSHOTS, f_snapshot_delete},
    {"clone", VRT_CAP_CLONE, f_clone},
    {"image_prepare", VRT_CAP_IMAGE_IMPORT, f_image_prepare},
    {"list_vms", VRT_CAP_LIST_VMS, f_list_vms},
    {"disk_info", 0, f_disk_info},
    {"disk_export_open", VRT_CAP_DISK_EXPORT, f_disk_export_open},
    {"stream_read", VRT_CAP_DISK_EXPORT, f_stream_read},
    {"disk_import_open", VRT_CAP_DISK_IMPORT, f_disk_import_open},
    {"stream_write", VRT_CAP_DISK_IMPORT, f_stream_write},
    {"stream_finish", VRT_CAP_DISK_IMPORT, f_stream_finish},
    {"console", VRT_CAP_CONSOLE, f_console},
    {"list_hosts", VRT_CAP_HOSTS, f_list_hosts},
    {"destroy", 0, f_destroy},
};

/* A task id to ask about: one from a real power call if the plugin uses
 * tasks, else an id that names no task. */
static void find_task(flag_env *e)
{
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    vcts_cc(e->t, &cc);
    int rc = vrt_p_power(&task, e->t->run->conn, &cc, e->vm, VRT_POWER_OP_OFF,
                         0, &err);
    if (vcts_done(e->t, rc, &err, &task, "power OFF") != VRT_OK)
        return;
    if (task.id[0])
        memcpy(e->task, task.id, sizeof(e->task));
    else
        snprintf(e->task, sizeof(e->task), "%s-task",
                 e->t->run->cfg->missing_id);
}

/* A snapshot for the snapshot cases, when the connection has them. */
static void find_snapshot(flag_env *e)
{
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;
    vrt_snapshot_spec spec = {.struct_size = sizeof(spec),
                              .name = "vcts-flags-base"};

    if (!(e->t->run->caps.caps & VRT_CAP_SNAPSHOTS))
        return;
    vcts_cc(e->t, &cc);
    int rc = vrt_p_snapshot_create(e->snap, &task, e->t->run->conn, &cc,
                                   e->vm, &spec, &err);
    vcts_done(e->t, rc, &err, &task, "snapshot_create");
}

static void t_flags_rejected(vcts_t *t)
{
    flag_env e;
    unsigned checked = 0;

    memset(&e, 0, sizeof(e));
    e.t = t;
    e.vt = t->run->vt;
    e.conn = vcts_raw_conn(t->run->conn);
    e.format = vcts_pick_format(t->run);
    if (vcts_vm_create(e.vm, t, "flags", NULL) != VRT_OK)
        return;
    find_task(&e);
    find_snapshot(&e);
    if (vcts_failed(t))
        return;
    for (size_t i = 0; i < sizeof(flag_cases) / sizeof(flag_cases[0]); i++) {
        char what[96];
        vrt_error err = VRT_ERROR_INIT;
        vrt_call call;
        vrt_call_ctx cc;

        if (!vrt_plugin_has_method(t->run->plugin, flag_cases[i].method) ||
            (flag_cases[i].cap && !(t->run->caps.caps & flag_cases[i].cap)))
            continue;
        vcts_cc(t, &cc);
        vcts_raw_call(&call, &cc);
        snprintf(what, sizeof(what), "%s with flags 0x%x",
                 flag_cases[i].method, BAD_FLAGS);
        int rc = flag_cases[i].fn(&e, &call, &err);
        if (rc != CASE_REPORTED)
            vcts_expect_code(t, rc, &err, VRT_E_INVALID, what);
        checked++;
    }
    vcts_note(t, "%u methods checked", checked);
}

/* Flags inside the structures the host passes: vrt_call, vrt_vm_spec,
 * vrt_conn_params.  All are 0 in ABI 1.1, so any bit is unknown. */
static void t_struct_flags_rejected(vcts_t *t)
{
    const vrt_provider *vt = t->run->vt;
    vrt_conn *conn = vcts_raw_conn(t->run->conn);
    char vm[VRT_ID_MAX], name[VRT_NAME_MAX], id[VRT_ID_MAX];
    vrt_error err = VRT_ERROR_INIT;
    vrt_call call;
    vrt_call_ctx cc;
    vrt_vm_info info;
    vrt_task_ref task;

    if (vcts_vm_create(vm, t, "struct-flags", NULL) != VRT_OK)
        return;

    vcts_cc(t, &cc);
    vcts_raw_call(&call, &cc);
    call.flags = BAD_FLAGS;
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    int rc = vt->describe(&info, conn, &call, vm, 0, &err);
    if (rc == VRT_OK)
        vrt_vm_info_clear(&info);
    vcts_expect_code(t, rc, &err, VRT_E_INVALID,
                     "describe with vrt_call.flags 0x80000000");

    vcts_name(name, sizeof(name), t, "struct-flags-spec");
    vrt_vm_spec spec = {.struct_size = sizeof(spec),
                        .flags = BAD_FLAGS,
                        .name = name,
                        .spec_json = t->run->cfg->vm_spec_json};
    err = (vrt_error)VRT_ERROR_INIT;
    vcts_cc(t, &cc);
    rc = vrt_p_create(id, &task, t->run->conn, &cc, &spec, &err);
    if (rc == VRT_OK) {
        vrt_error terr;
        vcts_vm_track(t, id);
        (void)vcts_task_wait(&terr, t, &task, "create");
    }
    vcts_expect_code(t, rc, &err, VRT_E_INVALID,
                     "create with vrt_vm_spec.flags 0x80000000");

    vrt_conn *c2 = NULL;
    vrt_conn_params params = {.struct_size = sizeof(params),
                              .flags = BAD_FLAGS,
                              .endpoint = t->run->cfg->endpoint,
                              .config_json = t->run->cfg->config_json,
                              .ctx = vcts_raw_host_ctx(t->run->conn)};
    err = (vrt_error)VRT_ERROR_INIT;
    rc = vt->open(&c2, &params, 0, &err);
    if (rc == VRT_OK)
        vt->close(c2);
    vcts_expect_code(t, rc, &err, VRT_E_INVALID,
                     "open with vrt_conn_params.flags 0x80000000");
}

/* Non-zero when any byte of buf[from, to) is not the guard. */
static int guard_broken(const unsigned char *buf, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (buf[i] != GUARD_BYTE)
            return 1;
    return 0;
}

/* With a structure shorter than it knows, a plugin fills what fits or
 * refuses with INVALID; either way it writes nothing past the size.
 * Returns non-zero when the test cannot go on. */
static int short_answer(vcts_t *t, int rc, const vrt_error *err,
                        const char *what)
{
    if (rc == VRT_E_INVALID) {
        vcts_note(t, "%s refused: %s", what, err->message);
        return vcts_check_record(t, rc, err, what);
    }
    return vcts_expect_ok(t, rc, err, what);
}

static void t_capabilities_struct_size(vcts_t *t)
{
    union {
        vrt_caps caps;
        unsigned char bytes[sizeof(vrt_caps)];
    } u;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call call;
    vrt_call_ctx cc;
    size_t small = offsetof(vrt_caps, caps);

    memset(&u, GUARD_BYTE, sizeof(u));
    u.caps.struct_size = (uint32_t)small;
    vcts_cc(t, &cc);
    vcts_raw_call(&call, &cc);
    int rc = t->run->vt->capabilities(&u.caps, vcts_raw_conn(t->run->conn),
                                      &call, 0, &err);
    if (short_answer(t, rc, &err, "capabilities with a short struct_size"))
        return;
    if (guard_broken(u.bytes, small, sizeof(u)))
        vcts_fail(t, "capabilities wrote past struct_size %zu (into "
                     "\"caps\").",
                  small);
}

static void t_describe_struct_size(vcts_t *t)
{
    union {
        vrt_vm_info info;
        unsigned char bytes[sizeof(vrt_vm_info)];
    } u;
    char vm[VRT_ID_MAX];
    vrt_error err = VRT_ERROR_INIT;
    vrt_call call;
    vrt_call_ctx cc;
    size_t small = offsetof(vrt_vm_info, console_url);
    char *guard_ptr;

    if (vcts_vm_create(vm, t, "struct-size", NULL) != VRT_OK)
        return;
    memset(&u, GUARD_BYTE, sizeof(u));
    memcpy(&guard_ptr, &u.info.raw_json, sizeof(guard_ptr));
    u.info.struct_size = (uint32_t)small;
    vcts_cc(t, &cc);
    vcts_raw_call(&call, &cc);
    int rc = t->run->vt->describe(&u.info, vcts_raw_conn(t->run->conn), &call,
                                  vm, 0, &err);
    if (short_answer(t, rc, &err, "describe with a short struct_size"))
        return;
    if (guard_broken(u.bytes, small, sizeof(u))) {
        vcts_fail(t, "describe wrote past struct_size %zu (into "
                     "console_url, cpus, memory_mib or raw_json).",
                  small);
        /* raw_json beyond the size was the plugin's allocation: free it. */
        if (memcmp(&u.info.raw_json, &guard_ptr, sizeof(guard_ptr)) != 0)
            vrt_host_api_get()->free(u.info.raw_json);
        return;
    }
    if (rc == VRT_OK && !u.info.exists)
        vcts_fail(t, "describe with a short struct_size says the VM \"%s\" "
                     "does not exist.",
                  vm);
}

/* create must refuse a spec_json it cannot read, with a message. */
static void t_invalid_spec(vcts_t *t)
{
    static const char *const bad[] = {
        "[1,2,3]",        /* JSON, but not an object */
        "{\"cpu\": 1,",   /* not JSON at all */
        "\"a string\"",   /* a scalar */
    };
    char name[VRT_NAME_MAX];

    vcts_name(name, sizeof(name), t, "invalid-spec");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char id[VRT_ID_MAX], what[96];
        vrt_task_ref task;
        vrt_error err = VRT_ERROR_INIT;
        vrt_call_ctx cc;
        vrt_vm_spec spec = {.struct_size = sizeof(spec),
                            .name = name,
                            .spec_json = bad[i]};
        vcts_cc(t, &cc);
        int rc = vrt_p_create(id, &task, t->run->conn, &cc, &spec, &err);
        if (rc == VRT_OK) {
            vrt_error terr;
            vcts_vm_track(t, id);
            (void)vcts_task_wait(&terr, t, &task, "create");
        }
        snprintf(what, sizeof(what), "create with spec_json '%s'", bad[i]);
        vcts_expect_code(t, rc, &err, VRT_E_INVALID, what);
    }
}

const vcts_test vcts_tests_abi[] = {
    {"flags-rejected", "every method refuses unknown flag bits",
     VCTS_NEED_CONN | VCTS_NEED_CAPS, 0, t_flags_rejected},
    {"struct-flags-rejected",
     "unknown bits in vrt_call, vrt_vm_spec, vrt_conn_params are refused",
     VCTS_NEED_CONN, 0, t_struct_flags_rejected},
    {"capabilities-struct-size", "capabilities writes only its struct_size",
     VCTS_NEED_CONN, 0, t_capabilities_struct_size},
    {"describe-struct-size", "describe writes only its struct_size",
     VCTS_NEED_CONN, 0, t_describe_struct_size},
    {"invalid-spec", "create refuses a spec_json that is not an object",
     VCTS_NEED_CONN, 0, t_invalid_spec},
    {NULL, NULL, 0, 0, NULL},
};
