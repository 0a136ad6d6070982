/*
 * abi_host.c - a small host for tests/abi/minors.sh, linked with today's
 * core (libvrtcore.a): it loads one plugin through vrt_registry_load and
 * drives it through the vrt_p_* wrappers, printing one "key=value" line per
 * step.  The script built the plugin against some ABI minor and checks the
 * lines; this program judges nothing but its own ability to run.
 *
 *   abi_host PLUGIN.so [ENDPOINT]
 *
 * Exit status: 0 when the plugin loaded and a connection opened (whatever
 * the later calls returned), 1 when it did not, 2 on bad usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <vrt/plugin.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const methods[] = {
    "open",          "close",           "validate",        "capabilities",
    "create",        "destroy",         "power",           "describe",
    "task_status",   "reconfigure",     "hardware_upgrade", "snapshot_create",
    "snapshot_delete", "snapshot_revert", "clone",         "image_prepare",
    "list_vms",      "disk_info",       "disk_export_open", "stream_read",
    "stream_close",  "disk_import_open", "stream_write",   "stream_finish",
    "stream_abort",  "console",         "list_hosts",
};

/* Messages may hold anything; keep each report on one line. */
static void print_msg(const char *key, int rc, const vrt_error *err)
{
    char msg[VRT_ERROR_MESSAGE_MAX];
    snprintf(msg, sizeof(msg), "%s", rc == VRT_OK ? "" : err->message);
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    printf("%s rc=%d code=%s msg=%s\n", key, rc, vrt_error_code_name(rc),
           msg);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls a task until done; prints its outcome. */
static void wait_task(vrt_pconn *c, const char *what, const vrt_task_ref *task)
{
    if (!task->id[0])
        return;
    for (int i = 0; i < 500; i++) {
        vrt_task_status st;
        vrt_error err = VRT_ERROR_INIT;
        vrt_call_ctx cc;
        vrt_callctx_init(&cc, 10000);
        int rc = vrt_p_task_status(&st, c, &cc, task->id, &err);
        if (rc != VRT_OK || st.done) {
            char key[64];
            snprintf(key, sizeof(key), "%s.task", what);
            print_msg(key, rc != VRT_OK ? rc : st.error.code,
                      rc != VRT_OK ? &err : &st.error);
            return;
        }
        sleep_ms(10);
    }
    printf("%s.task rc=timeout\n", what);
}

static int count_item(void *opaque, const void *item)
{
    (void)item;
    (*(int *)opaque)++;
    return 0;
}

static void describe(vrt_pconn *c, const char *id)
{
    vrt_vm_info info;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;
    vrt_callctx_init(&cc, 10000);
    int rc = vrt_p_describe(&info, c, &cc, id, &err);
    print_msg("describe", rc, &err);
    if (rc == VRT_OK)
        printf("describe.exists=%d describe.power=%d describe.name=%s\n",
               (int)info.exists, (int)info.power_state, info.name);
    vrt_vm_info_clear(&info);
}

static void drive(vrt_pconn *c)
{
    char id[VRT_ID_MAX] = "";
    vrt_task_ref task;
    vrt_caps caps;
    vrt_console_info con;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;
    int rc, n = 0;
    const vrt_vm_spec spec = {
        .struct_size = sizeof(spec),
        .name = "abi-host-vm",
        .spec_json = "{\"cpu\":1,\"memoryMiB\":128}",
    };

    vrt_callctx_init(&cc, 10000);
    print_msg("validate", vrt_p_validate(c, &cc, &err), &err);
    rc = vrt_p_capabilities(&caps, c, &cc, &err);
    print_msg("capabilities", rc, &err);
    printf("caps=0x%llx\n", rc == VRT_OK ? (unsigned long long)caps.caps : 0);

    rc = vrt_p_create(id, &task, c, &cc, &spec, &err);
    print_msg("create", rc, &err);
    printf("create.id=%s\n", id);
    wait_task(c, "create", &task);
    if (rc == VRT_OK) {
        rc = vrt_p_power(&task, c, &cc, id, VRT_POWER_OP_ON, 0, &err);
        print_msg("power", rc, &err);
        wait_task(c, "power", &task);
        describe(c, id);
    }

    rc = vrt_p_console(&con, c, &cc, id[0] ? id : "none", &err);
    print_msg("console", rc, &err);
    if (rc == VRT_OK)
        printf("console.url=%s\n", con.url);
    rc = vrt_p_list_hosts(c, &cc, count_item, &n, &err);
    print_msg("list_hosts", rc, &err);
    n = 0;
    rc = vrt_p_list_vms(c, &cc, count_item, &n, &err);
    print_msg("list_vms", rc, &err);
    printf("list_vms.count=%d\n", rc == VRT_OK ? n : -1);

    if (id[0]) {
        rc = vrt_p_destroy(&task, c, &cc, id, &err);
        print_msg("destroy", rc, &err);
        wait_task(c, "destroy", &task);
        describe(c, id);
    }
}

int main(int argc, char **argv)
{
    const vrt_plugin *p = NULL;
    vrt_pconn *c = NULL;
    vrt_error err = VRT_ERROR_INIT;
    int status = 1;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "Usage: abi_host PLUGIN.so [ENDPOINT]\n");
        return 2;
    }
    vrt_registry *reg = vrt_registry_new();
    int rc = vrt_registry_load(&p, reg, argv[1], 0, &err);
    print_msg("load", rc, &err);
    if (rc != VRT_OK)
        goto cleanup;
    printf("plugin.name=%s\n", vrt_plugin_name(p));
    printf("plugin.abi=%u.%u\n", VRT_ABI_MAJOR_OF(vrt_plugin_abi(p)),
           VRT_ABI_MINOR_OF(vrt_plugin_abi(p)));
    printf("plugin.struct_size=%u\n", vrt_plugin_vtable(p)->struct_size);
    printf("host.struct_size=%zu\n", sizeof(vrt_provider));
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        printf("has.%s=%d\n", methods[i], vrt_plugin_has_method(p, methods[i]));

    rc = vrt_pconn_open(&c, p, "abi/host", argc == 3 ? argv[2] : "test://abi",
                        "{}", NULL, NULL, &err);
    print_msg("open", rc, &err);
    if (rc != VRT_OK)
        goto cleanup;
    drive(c);
    status = 0;

cleanup:
    vrt_pconn_close(c);
    vrt_registry_free(reg);
    return status;
}
