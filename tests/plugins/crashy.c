/*
 * crashy.so - a test plugin that crashes on purpose: it is the mock
 * provider (loaded from mock.so and re-exported under the name "crashy"),
 * except that create dereferences NULL when the VM's name contains
 * "crash".  tests/provider-host runs it behind virtrigaud-provider-host to
 * show that a segfault in a plugin costs one call, not the manager.
 *
 * mock.so is found at $VRT_CRASHY_MOCK, else at ../../plugins/mock.so
 * from this file (the build tree's layout: build/tests/plugins/crashy.so
 * and build/plugins/mock.so).  Never load this into a manager process.
 */
#include <virtrigaud/provider.h>

#include <dlfcn.h>
#include <stdint.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static vrt_provider vt;                   /* mock's, renamed */
static const vrt_provider *inner;          /* mock's own */

static int32_t crashy_create(char id[VRT_ID_MAX], vrt_task_ref *task,
                             vrt_conn *conn, const vrt_call *call,
                             const vrt_vm_spec *spec, uint32_t flags,
                             vrt_error *err)
{
    if (spec && spec->name && strstr(spec->name, "crash")) {
        /* A real SIGSEGV, on purpose: a store to the unmapped first page.
         * Not to NULL itself, which UBSan would report and turn into an
         * exit instead of the crash this plugin is for. */
        volatile uintptr_t nowhere = 16;
        *(volatile int *)nowhere = 11;
    }
    return inner->create(id, task, conn, call, spec, flags, err);
}

static int32_t refuse(vrt_error *err, const char *why)
{
    memset(err, 0, sizeof(*err));
    err->code = VRT_E_NOTSUPP;
    snprintf(err->message, sizeof(err->message), "crashy: %s", why);
    return VRT_E_NOTSUPP;
}

VRT_PROVIDER_EXPORT int32_t vrt_provider_entry(const vrt_host_api *host,
                                               uint32_t host_abi,
                                               const vrt_provider **out,
                                               vrt_error *err);
VRT_PROVIDER_EXPORT int32_t vrt_provider_entry(const vrt_host_api *host,
                                               uint32_t host_abi,
                                               const vrt_provider **out,
                                               vrt_error *err)
{
    char path[4096], here[4096];
    const char *env = getenv("VRT_CRASHY_MOCK");
    if (env && *env) {
        snprintf(path, sizeof(path), "%s", env);
    } else {
        Dl_info info;
        if (!dladdr((void *)crashy_create, &info) || !info.dli_fname)
            return refuse(err, "cannot tell where crashy.so lives.");
        snprintf(here, sizeof(here), "%s", info.dli_fname);
        snprintf(path, sizeof(path), "%s/../../plugins/mock.so",
                 dirname(here));
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        char why[200];
        snprintf(why, sizeof(why), "cannot load the mock plugin: %s",
                 dlerror());
        return refuse(err, why);
    }
    union {
        void *obj;
        vrt_provider_entry_fn fn;
    } entry;
    entry.obj = dlsym(h, VRT_PROVIDER_ENTRY_SYMBOL);
    if (!entry.obj)
        return refuse(err, "mock.so has no entry symbol.");
    int32_t rc = entry.fn(host, host_abi, &inner, err);
    if (rc != VRT_OK)
        return rc;
    memcpy(&vt, inner, sizeof(vt) < inner->struct_size ? sizeof(vt)
                                                      : inner->struct_size);
    vt.name = "crashy";
    vt.create = crashy_create;
    *out = &vt;
    return VRT_OK;
}
