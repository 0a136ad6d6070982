/*
 * future_plugin.c - a plugin from the future, for tests/abi/minors.sh: it
 * is compiled against a copy of provider.h that the script makes at test
 * time, with VRT_ABI_MINOR 2 and one more optional method, "future_probe",
 * appended to vrt_provider.  Today's core must load it, use the methods it
 * knows (including 1.1's console) and never touch the tail it does not
 * know.  future_probe aborts, so a host that called it would fail loudly.
 */
#include "../plugins/stub.h"

#if VRT_ABI_MINOR < 2
#error "build future_plugin.c against the ABI 1.2 header minors.sh generates"
#endif

static int32_t future_console(vrt_console_info *out, vrt_conn *conn,
                              const vrt_call *call, const char *id,
                              uint32_t flags, vrt_error *err)
{
    (void)conn;
    (void)call;
    (void)id;
    STUB_CHECK_FLAGS(flags, err);
    if (VRT_HAS_MEMBER(out, vrt_console_info, url))
        snprintf(out->url, sizeof(out->url), "future://console");
    return VRT_OK;
}

static int32_t future_probe(vrt_conn *conn, const vrt_call *call,
                            uint32_t flags, vrt_error *err)
{
    (void)conn;
    (void)call;
    (void)flags;
    (void)err;
    fprintf(stderr, "future_plugin: the host called future_probe, a method "
                    "it cannot know.\n");
    abort();
}

static const vrt_provider future_vtable = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_provider),
    .caps = VRT_CAP_CONSOLE,
    .name = "future",
    .version = "1.2.0-test",
    STUB_MANDATORY,
    .console = future_console,
    .future_probe = future_probe,
};

STUB_ENTRY(future_vtable)
