/*
 * libvirt_list.c - how fast the libvirt plugin lists and describes many
 * domains, through the core's loader and vrt_p_* wrappers (what the manager
 * pays).  Run through bench/libvirt_list.sh, which builds it and writes
 * the libvirt test-driver node file with the domains.
 *
 *   libvirt_list PLUGIN.so URI EXPECTED
 *
 * Opens URI (e.g. test:///abs/node.xml), then times:
 *   - list_vms over every domain (counted; must be EXPECTED);
 *   - describe of each listed id, one call each;
 * and prints "list_ms N", "describe_ms N", "count N", "running N".
 * Exits non-zero when a call fails or the counts are wrong, so the numbers
 * printed always mean what they say.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vrt/plugin.h>

typedef struct ids {
    char (*id)[VRT_ID_MAX];
    size_t n, cap;
} ids;

static int collect(void *opaque, const void *item)
{
    ids *l = opaque;
    const vrt_vm_info *vm = item;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        void *p = realloc(l->id, cap * sizeof(*l->id));
        if (!p)
            return 1;
        l->id = p;
        l->cap = cap;
    }
    snprintf(l->id[l->n++], VRT_ID_MAX, "%s", vm->id);
    return 0;
}

static double since_ms(uint64_t t0)
{
    return (double)(vrt_now_ms() - t0);
}

int main(int argc, char **argv)
{
    vrt_registry *reg = NULL;
    vrt_pconn *conn = NULL;
    const vrt_plugin *p = NULL;
    vrt_error err = VRT_ERROR_INIT;
    ids list = {0};
    int rc = 1;

    if (argc != 4) {
        fprintf(stderr, "usage: libvirt_list PLUGIN.so URI EXPECTED\n");
        return 2;
    }
    size_t expected = strtoul(argv[3], NULL, 10);
    reg = vrt_registry_new();
    if (vrt_registry_load(&p, reg, argv[1], VRT_LOAD_SKIP_PERMS, &err) != VRT_OK ||
        vrt_pconn_open(&conn, p, "bench", argv[2], "{}", NULL, NULL, &err) != VRT_OK) {
        fprintf(stderr, "libvirt_list: %s\n", err.message);
        goto cleanup;
    }
    vrt_call_ctx cc;
    /* The first call connects (parses the node file): not what we time. */
    vrt_callctx_init(&cc, 60000);
    if (vrt_p_validate(conn, &cc, &err) != VRT_OK) {
        fprintf(stderr, "libvirt_list: validate: %s\n", err.message);
        goto cleanup;
    }

    vrt_callctx_init(&cc, 60000);
    uint64_t t0 = vrt_now_ms();
    if (vrt_p_list_vms(conn, &cc, collect, &list, &err) != VRT_OK) {
        fprintf(stderr, "libvirt_list: list_vms: %s\n", err.message);
        goto cleanup;
    }
    double list_ms = since_ms(t0);

    size_t running = 0;
    t0 = vrt_now_ms();
    for (size_t i = 0; i < list.n; i++) {
        vrt_vm_info info = {.struct_size = sizeof(info)};
        vrt_callctx_init(&cc, 60000);
        if (vrt_p_describe(&info, conn, &cc, list.id[i], &err) != VRT_OK) {
            fprintf(stderr, "libvirt_list: describe %s: %s\n", list.id[i],
                    err.message);
            goto cleanup;
        }
        if (!info.exists || strcmp(info.id, list.id[i]) != 0) {
            fprintf(stderr, "libvirt_list: describe %s found nothing.\n",
                    list.id[i]);
            vrt_vm_info_clear(&info);
            goto cleanup;
        }
        running += info.power_state == VRT_POWER_ON;
        vrt_vm_info_clear(&info);
    }
    double describe_ms = since_ms(t0);

    printf("count %zu\nrunning %zu\nlist_ms %.0f\ndescribe_ms %.0f\n", list.n,
           running, list_ms, describe_ms);
    if (list.n != expected) {
        fprintf(stderr, "libvirt_list: list_vms returned %zu VMs, expected %zu.\n",
                list.n, expected);
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(list.id);
    vrt_pconn_close(conn);
    vrt_registry_free(reg);
    return rc;
}
