/*
 * test_call.c - the safe call wrappers (core/plugin/call.c): what the core
 * sees when a plugin lies, forgets, or is older than the core.
 *
 *   liar.so       methods that break the contract in their answers
 *                 (tests/plugins/liar.c lists each lie);
 *   old_minor.so  a correct plugin built for ABI 1.0, with decoy methods
 *                 just past its struct_size;
 *   good.so       a correct 1.1 plugin with no optional method.
 *
 * Whatever the plugin does, a failure must reach the core with a defined
 * VRT_E_* code, the same code in the record, a class in range and a
 * terminated, non-empty message; an absent method must be VRT_E_NOTSUPP
 * naming it; and strings handed back must be terminated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vrt/plugin.h>

/* ---- helpers ----------------------------------------------------------- */

#define assert_contains(hay, needle) assert_contains_((hay), (needle), __FILE__, __LINE__)

static void assert_contains_(const char *hay, const char *needle,
                             const char *file, int line)
{
    if (hay && strstr(hay, needle))
        return;
    print_error("%s:%d: expected \"%s\" in: \"%s\"\n", file, line, needle,
                hay ? hay : "(null)");
    fail();
}

static void assert_terminated(const char *buf, size_t size)
{
    assert_non_null(memchr(buf, '\0', size));
}

/* What every failure the core sees must look like. */
static void assert_sane_failure(int rc, const vrt_error *err)
{
    assert_true(rc < 0);
    assert_true(rc >= VRT_E_LAST_);
    assert_int_equal(err->code, rc);
    assert_in_range(err->klass, VRT_CLASS_DEFAULT, VRT_CLASS_USER);
    assert_terminated(err->message, sizeof(err->message));
    assert_true(err->message[0] != '\0');
}

/* An error record full of junk, as a careless caller might pass. */
static void dirty(vrt_error *err)
{
    memset(err, 0x5a, sizeof(*err));
}

typedef struct fixture {
    vrt_registry *reg;
    vrt_pconn *liar, *old, *good;
} fixture;

static vrt_pconn *open_plugin(vrt_registry *reg, const char *name)
{
    const char *dir = getenv("VRT_TEST_PLUGIN_DIR");
    char path[4096];
    const vrt_plugin *p = NULL;
    vrt_pconn *c = NULL;
    vrt_error err = VRT_ERROR_INIT;

    snprintf(path, sizeof(path), "%s/%s.so",
             dir && *dir ? dir : "build/tests/plugins", name);
    if (vrt_registry_load(&p, reg, path, VRT_LOAD_SKIP_PERMS, &err) != VRT_OK) {
        fprintf(stderr, "test_call: cannot load %s: %s\n", path, err.message);
        return NULL;
    }
    if (vrt_pconn_open(&c, p, "test/call", "test://call", "{}", NULL, NULL,
                       &err) != VRT_OK) {
        fprintf(stderr, "test_call: cannot open %s: %s\n", name, err.message);
        return NULL;
    }
    return c;
}

static int group_setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->reg = vrt_registry_new();
    f->liar = open_plugin(f->reg, "liar");
    f->old = open_plugin(f->reg, "old_minor");
    f->good = open_plugin(f->reg, "good");
    *state = f;
    return f->liar && f->old && f->good ? 0 : -1;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    vrt_pconn_close(f->liar);
    vrt_pconn_close(f->old);
    vrt_pconn_close(f->good);
    vrt_registry_free(f->reg);
    free(f);
    return 0;
}

static const vrt_vm_spec test_spec = {
    .struct_size = sizeof(vrt_vm_spec),
    .name = "vm-under-test",
    .spec_json = "{\"cpu\":1,\"memoryMiB\":256}",
};

/* ---- liar.so ------------------------------------------------------------- */

static void test_pconn_knows_its_plugin(void **state)
{
    fixture *f = *state;
    const vrt_plugin *p = vrt_pconn_plugin(f->liar);
    assert_non_null(p);
    assert_string_equal(vrt_plugin_name(p), "liar");
}

static void test_create_ok_without_id_is_internal_naming_create(void **state)
{
    fixture *f = *state;
    char id[VRT_ID_MAX];
    vrt_task_ref task;
    vrt_error err;
    vrt_call_ctx cc;

    memset(id, 'x', sizeof(id));
    dirty(&err);
    vrt_callctx_init(&cc, 5000);
    int rc = vrt_p_create(id, &task, f->liar, &cc, &test_spec, &err);
    assert_int_equal(rc, VRT_E_INTERNAL);
    assert_sane_failure(rc, &err);
    assert_contains(err.message, "\"create\"");
    assert_contains(err.message, "\"liar\"");
    assert_string_equal(id, "");
}

static void test_unknown_code_becomes_internal_with_the_number(void **state)
{
    fixture *f = *state;
    vrt_vm_info info;
    vrt_error err;
    vrt_call_ctx cc;

    dirty(&err);
    vrt_callctx_init(&cc, 5000);
    int rc = vrt_p_describe(&info, f->liar, &cc, "any", &err);
    assert_int_equal(rc, VRT_E_INTERNAL);
    assert_sane_failure(rc, &err);
    assert_contains(err.message, "12345");
    assert_contains(err.message, "describe");
    /* The raw_json the liar allocated before failing is released by the
     * wrapper (ASan and valgrind runs turn a leak into a failure). */
    assert_null(info.raw_json);
}

static void test_positive_code_becomes_internal_with_the_number(void **state)
{
    fixture *f = *state;
    vrt_caps caps;
    vrt_error err;
    vrt_call_ctx cc;

    dirty(&err);
    vrt_callctx_init(&cc, 5000);
    int rc = vrt_p_capabilities(&caps, f->liar, &cc, &err);
    assert_int_equal(rc, VRT_E_INTERNAL);
    assert_sane_failure(rc, &err);
    assert_contains(err.message, "4242");
    assert_contains(err.message, "capabilities");
}

static void test_unterminated_message_is_terminated(void **state)
{
    fixture *f = *state;
    vrt_task_ref task;
    vrt_error err;
    vrt_call_ctx cc;

    dirty(&err);
    vrt_callctx_init(&cc, 5000);
    int rc = vrt_p_destroy(&task, f->liar, &cc, "any", &err);
    /* A defined code is kept, and the record made to agree with it. */
    assert_int_equal(rc, VRT_E_UNAVAILABLE);
    assert_sane_failure(rc, &err);
    assert_true(strlen(err.message) < sizeof(err.message));
    /* The class the liar wrote (77) is out of range; once cleaned up, an
     * UNAVAILABLE is still retried. */
    assert_true(vrt_error_is_retryable(&err));
}

static void test_empty_message_is_replaced_naming_the_method(void **state)
{
    fixture *f = *state;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    vrt_callctx_init(&cc, 5000);
    int rc = vrt_p_validate(f->liar, &cc, &err);
    assert_int_equal(rc, VRT_E_CONFLICT);
    assert_sane_failure(rc, &err);
    assert_contains(err.message, "validate");
    assert_contains(err.message, "liar");
}

static void test_unterminated_task_id_is_terminated(void **state)
{
    fixture *f = *state;
    vrt_task_ref task;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    vrt_callctx_init(&cc, 5000);
    int rc = vrt_p_power(&task, f->liar, &cc, "any", VRT_POWER_OP_ON, 0, &err);
    assert_int_equal(rc, VRT_OK);
    assert_terminated(task.id, sizeof(task.id));
}

static void test_task_status_is_sanitised(void **state)
{
    fixture *f = *state;
    vrt_task_status st;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    vrt_callctx_init(&cc, 5000);
    int rc = vrt_p_task_status(&st, f->liar, &cc, "task-1", &err);
    assert_int_equal(rc, VRT_OK);
    assert_true(st.done);
    assert_in_range(st.percent + 1, 0, 101); /* -1 .. 100 */
    /* The task's own failure obeys the same rules as a call's. */
    assert_int_equal(st.error.code, VRT_E_INTERNAL);
    assert_sane_failure(st.error.code, &st.error);
    assert_contains(st.error.message, "-777");
}

static int list_visits;

static int check_vm_item(void *opaque, const void *item)
{
    const vrt_vm_info *vm = item;
    (void)opaque;
    list_visits++;
    assert_true(vm->struct_size >= sizeof(vrt_vm_info));
    assert_terminated(vm->id, sizeof(vm->id));
    assert_terminated(vm->name, sizeof(vm->name));
    assert_terminated(vm->console_url, sizeof(vm->console_url));
    for (size_t i = 0; i < VRT_IPS_MAX; i++)
        assert_terminated(vm->ips[i], sizeof(vm->ips[i]));
    assert_true(vm->ip_count <= VRT_IPS_MAX);
    assert_in_range(vm->power_state, VRT_POWER_UNKNOWN, VRT_POWER_SUSPENDED);
    return 0;
}

static void test_listed_items_are_sanitised(void **state)
{
    fixture *f = *state;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    list_visits = 0;
    vrt_callctx_init(&cc, 5000);
    assert_int_equal(vrt_p_list_vms(f->liar, &cc, check_vm_item, NULL, &err),
                     VRT_OK);
    assert_int_equal(list_visits, 1);
}

static void test_snapshot_ok_without_id_is_internal(void **state)
{
    fixture *f = *state;
    char sid[VRT_ID_MAX];
    vrt_task_ref task;
    vrt_error err;
    vrt_call_ctx cc;
    vrt_snapshot_spec spec = {.struct_size = sizeof(spec), .name = "s1"};

    dirty(&err);
    vrt_callctx_init(&cc, 5000);
    int rc = vrt_p_snapshot_create(sid, &task, f->liar, &cc, "vm", &spec, &err);
    assert_int_equal(rc, VRT_E_INTERNAL);
    assert_sane_failure(rc, &err);
    assert_contains(err.message, "snapshot_create");
}

/* ---- absent optional methods: good.so -------------------------------- */

static int never_visit(void *opaque, const void *item)
{
    (void)opaque;
    (void)item;
    fail_msg("a NOTSUPP list must not call its visitor");
    return 1;
}

static void expect_notsupp(int rc, const vrt_error *err, const char *plugin,
                           const char *method)
{
    char quoted[64];
    if (rc != VRT_E_NOTSUPP)
        print_error("%s: got %d (%.*s)\n", method, rc,
                    (int)sizeof(err->message), err->message);
    assert_int_equal(rc, VRT_E_NOTSUPP);
    assert_sane_failure(rc, err);
    snprintf(quoted, sizeof(quoted), "\"%s\"", method);
    assert_contains(err->message, quoted);
    assert_contains(err->message, plugin);
}

static void test_absent_optional_methods_are_notsupp(void **state)
{
    fixture *f = *state;
    vrt_pconn *c = f->good;
    char id[VRT_ID_MAX];
    vrt_task_ref task;
    vrt_disk_info disk;
    vrt_console_info con;
    vrt_pstream *s = (vrt_pstream *)&s;
    uint64_t size = 99;
    vrt_error err;
    vrt_call_ctx cc;
    vrt_snapshot_spec snap = {.struct_size = sizeof(snap), .name = "s"};
    vrt_clone_spec clone = {.struct_size = sizeof(clone),
                            .source_vm_id = "vm",
                            .target_name = "copy",
                            .spec_json = "{}"};
    vrt_export_spec exp = {.struct_size = sizeof(exp),
                           .format = VRT_DISK_RAW,
                           .vm_id = "vm"};
    vrt_import_spec imp = {.struct_size = sizeof(imp),
                           .format = VRT_DISK_RAW,
                           .target_name = "disk"};
    vrt_callctx_init(&cc, 5000);

#define CHECK(method, call)                                                    \
    do {                                                                       \
        dirty(&err);                                                           \
        expect_notsupp((call), &err, "good", method);                          \
    } while (0)
    CHECK("reconfigure",
          vrt_p_reconfigure(&task, c, &cc, "vm", &test_spec, &err));
    CHECK("hardware_upgrade",
          vrt_p_hardware_upgrade(&task, c, &cc, "vm", 19, &err));
    CHECK("snapshot_create",
          vrt_p_snapshot_create(id, &task, c, &cc, "vm", &snap, &err));
    CHECK("snapshot_delete",
          vrt_p_snapshot_delete(&task, c, &cc, "vm", "s", &err));
    CHECK("snapshot_revert",
          vrt_p_snapshot_revert(&task, c, &cc, "vm", "s", &err));
    CHECK("clone", vrt_p_clone(id, &task, c, &cc, &clone, &err));
    CHECK("image_prepare",
          vrt_p_image_prepare(id, &task, c, &cc, "{}", "img", &err));
    CHECK("list_vms", vrt_p_list_vms(c, &cc, never_visit, NULL, &err));
    CHECK("disk_info", vrt_p_disk_info(&disk, c, &cc, "vm", NULL, &err));
    CHECK("disk_export_open",
          vrt_p_disk_export_open(&s, &size, c, &cc, &exp, &err));
    assert_null(s);
    s = (vrt_pstream *)&s;
    CHECK("disk_import_open", vrt_p_disk_import_open(&s, c, &cc, &imp, &err));
    assert_null(s);
    CHECK("console", vrt_p_console(&con, c, &cc, "vm", &err));
    CHECK("list_hosts", vrt_p_list_hosts(c, &cc, never_visit, NULL, &err));
#undef CHECK
}

/* ---- a 1.0 plugin in a 1.1 core: old_minor.so ------------------------- */

static void test_1_1_methods_of_a_1_0_plugin_are_notsupp(void **state)
{
    fixture *f = *state;
    vrt_console_info con;
    vrt_error err;
    vrt_call_ctx cc;

    vrt_callctx_init(&cc, 5000);
    assert_int_equal(vrt_plugin_abi(vrt_pconn_plugin(f->old)),
                     VRT_ABI_MAKE(1, 0));
    dirty(&err);
    int rc = vrt_p_console(&con, f->old, &cc, "vm", &err);
    /* VRT_OK with a "trap://" URL would mean the core read the decoy
     * method that lies just past the plugin's struct_size. */
    if (rc == VRT_OK)
        print_error("console answered \"%s\"\n", con.url);
    expect_notsupp(rc, &err, "old_minor", "console");
    assert_null(strstr(con.url, "trap"));

    dirty(&err);
    rc = vrt_p_list_hosts(f->old, &cc, never_visit, NULL, &err);
    expect_notsupp(rc, &err, "old_minor", "list_hosts");
}

static void test_1_0_plugin_mandatory_methods_work(void **state)
{
    fixture *f = *state;
    char id[VRT_ID_MAX];
    vrt_task_ref task;
    vrt_vm_info info;
    vrt_caps caps;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    vrt_callctx_init(&cc, 5000);
    assert_int_equal(vrt_p_validate(f->old, &cc, &err), VRT_OK);
    assert_int_equal(vrt_p_capabilities(&caps, f->old, &cc, &err), VRT_OK);
    assert_int_equal(vrt_p_create(id, &task, f->old, &cc, &test_spec, &err),
                     VRT_OK);
    assert_string_equal(id, "stub-vm-1");
    assert_string_equal(task.id, "");
    assert_int_equal(vrt_p_power(&task, f->old, &cc, id, VRT_POWER_OP_ON, 0,
                                 &err),
                     VRT_OK);
    assert_int_equal(vrt_p_describe(&info, f->old, &cc, "gone", &err), VRT_OK);
    assert_int_equal(info.exists, 0);
    vrt_vm_info_clear(&info);
    int rc = vrt_p_destroy(&task, f->old, &cc, "gone", &err);
    assert_int_equal(rc, VRT_E_NOTFOUND);
    assert_sane_failure(rc, &err);
    assert_contains(err.message, "gone");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pconn_knows_its_plugin),
        cmocka_unit_test(test_create_ok_without_id_is_internal_naming_create),
        cmocka_unit_test(test_unknown_code_becomes_internal_with_the_number),
        cmocka_unit_test(test_positive_code_becomes_internal_with_the_number),
        cmocka_unit_test(test_unterminated_message_is_terminated),
        cmocka_unit_test(test_empty_message_is_replaced_naming_the_method),
        cmocka_unit_test(test_unterminated_task_id_is_terminated),
        cmocka_unit_test(test_task_status_is_sanitised),
        cmocka_unit_test(test_listed_items_are_sanitised),
        cmocka_unit_test(test_snapshot_ok_without_id_is_internal),
        cmocka_unit_test(test_absent_optional_methods_are_notsupp),
        cmocka_unit_test(test_1_1_methods_of_a_1_0_plugin_are_notsupp),
        cmocka_unit_test(test_1_0_plugin_mandatory_methods_work),
    };
    return cmocka_run_group_tests_name("call", tests, group_setup,
                                       group_teardown);
}
