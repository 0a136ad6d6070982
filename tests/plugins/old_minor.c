/*
 * old_minor.c - a correct plugin built for ABI 1.0: it defines
 * VRT_ABI_TARGET_MINOR 0 before the header, so its vtable has no 1.1
 * members and its struct_size is the 1.0 size.  A 1.1 host must load it
 * and answer the 1.1 methods (console, list_hosts) with VRT_E_NOTSUPP.
 *
 * To catch a host that reads past struct_size, the vtable is followed in
 * memory by two valid-looking methods exactly where the 1.1 members would
 * be.  A host that honours struct_size never sees them; one that does not
 * gets VRT_OK and a "trap" answer instead of VRT_E_NOTSUPP.
 */
#define VRT_ABI_TARGET_MINOR 0
#include "stub.h"

#include <stddef.h>

_Static_assert(sizeof(vrt_provider) == VRT_PROVIDER_SIZE_1_0,
               "VRT_ABI_TARGET_MINOR 0 must give the 1.0 vtable");

static int32_t trap_console(vrt_console_info *out, vrt_conn *conn,
                            const vrt_call *call, const char *id,
                            uint32_t flags, vrt_error *err)
{
    (void)conn;
    (void)call;
    (void)id;
    (void)flags;
    (void)err;
    snprintf(out->url, sizeof(out->url), "trap://read-past-struct-size");
    return VRT_OK;
}

static int32_t trap_list_hosts(vrt_conn *conn, const vrt_call *call,
                               vrt_visit_fn visit, void *opaque,
                               uint32_t flags, vrt_error *err)
{
    (void)conn;
    (void)call;
    (void)visit;
    (void)opaque;
    (void)flags;
    (void)err;
    return VRT_OK;
}

static const struct {
    vrt_provider vt;
    int32_t (*console)(vrt_console_info *, vrt_conn *, const vrt_call *,
                       const char *, uint32_t, vrt_error *);
    int32_t (*list_hosts)(vrt_conn *, const vrt_call *, vrt_visit_fn, void *,
                          uint32_t, vrt_error *);
} old_minor = {
    .vt =
        {
            .abi = VRT_ABI_VERSION,
            .struct_size = sizeof(vrt_provider),
            .name = "old_minor",
            .version = "1.0.0-test",
            STUB_MANDATORY,
        },
    .console = trap_console,
    .list_hosts = trap_list_hosts,
};

/* The traps sit where a 1.1 vtable has console and list_hosts. */
_Static_assert(offsetof(__typeof__(old_minor), console) ==
                   VRT_PROVIDER_SIZE_1_0,
               "trap must follow the 1.0 vtable directly");

STUB_ENTRY(old_minor.vt)
