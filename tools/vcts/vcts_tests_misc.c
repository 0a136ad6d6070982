/*
 * The ABI 1.1 methods (console, list_hosts), and a last look for VMs this
 * run left behind.
 */
#include "vcts.h"

#include <stdio.h>
#include <string.h>

static void t_console(vcts_t *t)
{
    char vm[VRT_ID_MAX], what[VRT_ID_MAX + 48];
    vrt_console_info info;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    if (vcts_vm_create(vm, t, "console", NULL) != VRT_OK ||
        vcts_vm_power(t, vm, VRT_POWER_OP_ON, 0) != VRT_OK ||
        vcts_vm_wait_power(t, vm, VRT_POWER_ON) != VRT_OK)
        return;
    snprintf(what, sizeof(what), "console of \"%s\"", vm);
    vcts_cc(t, &cc);
    int rc = vrt_p_console(&info, t->run->conn, &cc, vm, &err);
    if (rc == VRT_E_NOTSUPP &&
        !vrt_plugin_has_method(t->run->plugin, "console")) {
        /* CONSOLE predates the method: a 1.0 plugin reports the URL in
         * describe's console_url instead. */
        vcts_skip(t, "the plugin claims CONSOLE but does not implement the "
                     "ABI 1.1 method \"console\"");
        return;
    }
    if (vcts_expect_ok(t, rc, &err, what) != VRT_OK)
        return;
    vcts_note(t, "console %s \"%s\"", info.kind, info.url);
    if (!info.url[0])
        vcts_fail(t, "%s returned an empty URL.", what);
    if (!info.kind[0])
        vcts_fail(t, "%s returned an empty kind.", what);

    snprintf(what, sizeof(what), "console of the missing VM \"%s\"",
             t->run->cfg->missing_id);
    err = (vrt_error)VRT_ERROR_INIT;
    vcts_cc(t, &cc);
    rc = vrt_p_console(&info, t->run->conn, &cc, t->run->cfg->missing_id,
                       &err);
    vcts_expect_code(t, rc, &err, VRT_E_NOTFOUND, what);
}

typedef struct hosts_seen {
    vcts_t *t;
    unsigned n;
} hosts_seen;

static int see_host(void *opaque, const void *item)
{
    hosts_seen *h = opaque;
    const vrt_host_info *host = item;
    h->n++;
    if (!host->name[0])
        vcts_fail(h->t, "list_hosts reported a host without a name.");
    if (host->memory_mib && host->memory_free_mib > host->memory_mib)
        vcts_fail(h->t, "list_hosts reports host \"%s\" with %llu MiB free "
                        "of %llu.",
                  host->name, (unsigned long long)host->memory_free_mib,
                  (unsigned long long)host->memory_mib);
    vcts_note(h->t, "host \"%s\" available=%d cpus=%u vms=%u", host->name,
              (int)host->available, host->cpus, host->vm_count);
    return 0;
}

static void t_list_hosts(vcts_t *t)
{
    hosts_seen h = {t, 0};
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    vcts_cc(t, &cc);
    int rc = vrt_p_list_hosts(t->run->conn, &cc, see_host, &h, &err);
    if (vcts_expect_ok(t, rc, &err, "list_hosts") != VRT_OK)
        return;
    if (h.n == 0)
        vcts_fail(t, "list_hosts reported no host; a connection that "
                     "claims HOSTS has at least one placement target.");
}

typedef struct leftovers {
    char prefix[64];
    unsigned n;
    char first[VRT_NAME_MAX];
} leftovers;

static int see_leftover(void *opaque, const void *item)
{
    leftovers *l = opaque;
    const vrt_vm_info *vm = item;
    if (strncmp(vm->name, l->prefix, strlen(l->prefix)) == 0) {
        if (!l->n++)
            snprintf(l->first, sizeof(l->first), "%s", vm->name);
    }
    return 0;
}

/* Every test destroyed what it made; a VM left now means a destroy that
 * said OK without removing it. */
static void t_leftovers(vcts_t *t)
{
    leftovers l;
    memset(&l, 0, sizeof(l));
    snprintf(l.prefix, sizeof(l.prefix), "vcts-%ld-", t->run->pid);
    if (vcts_list_vms(t, see_leftover, &l) == VRT_OK && l.n)
        vcts_fail(t, "%u VMs of this run are still listed after their "
                     "tests destroyed them, e.g. \"%s\".",
                  l.n, l.first);
}

const vcts_test vcts_tests_misc[] = {
    {"console", "console of a running VM gives a URL and a kind",
     VCTS_NEED_CONN, VRT_CAP_CONSOLE, t_console},
    {"list-hosts", "list_hosts reports named placement targets",
     VCTS_NEED_CONN, VRT_CAP_HOSTS, t_list_hosts},
    {"leftovers", "no VM of this run is left after all tests",
     VCTS_NEED_CONN, VRT_CAP_LIST_VMS, t_leftovers},
    {NULL, NULL, 0, 0, NULL},
};
