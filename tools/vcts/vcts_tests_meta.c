/*
 * Tests of what a plugin says about itself (vtable metadata) and of the
 * first calls on a connection: open, validate, capabilities.
 */
#include "vcts.h"

#include <stdio.h>
#include <string.h>

#define DISK_FORMATS_KNOWN (VRT_DISK_RAW | VRT_DISK_QCOW2 | VRT_DISK_VMDK)

static void t_plugin_name(vcts_t *t)
{
    const char *name = t->run->vt->name;
    size_t n = name ? strlen(name) : 0;

    if (n < 1 || n > 31)
        vcts_fail(t, "The vtable name \"%s\" must be 1 to 31 characters.",
                  name ? name : "(null)");
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_')) {
            vcts_fail(t, "The vtable name \"%s\" has '%c'; only a-z, 0-9, "
                         "'-' and '_' are allowed.",
                      name, c);
            return;
        }
    }
}

static void t_plugin_version(vcts_t *t)
{
    const char *v = t->run->vt->version;
    if (!v || !v[0])
        vcts_fail(t, "The vtable version string is %s; it must name the "
                     "plugin's version.",
                  v ? "empty" : "NULL");
    else
        vcts_note(t, "version \"%s\"", v);
}

static void t_plugin_abi(vcts_t *t)
{
    const vrt_provider *vt = t->run->vt;
    uint32_t major = VRT_ABI_MAJOR_OF(vt->abi);
    uint32_t minor = VRT_ABI_MINOR_OF(vt->abi);

    vcts_note(t, "plugin ABI %u.%u, struct_size %u", major, minor,
              vt->struct_size);
    if (major != VRT_ABI_MAJOR) {
        vcts_fail(t, "The plugin is built for ABI major %u; this suite "
                     "tests major %u.",
                  major, VRT_ABI_MAJOR);
        return;
    }
    if (vt->struct_size < VRT_PROVIDER_SIZE_1_0)
        vcts_fail(t, "The vtable struct_size %u is below the ABI 1.0 size "
                     "%zu.",
                  vt->struct_size, (size_t)VRT_PROVIDER_SIZE_1_0);
    else if (minor >= 1 && vt->struct_size < sizeof(vrt_provider))
        vcts_fail(t, "The plugin claims ABI 1.%u but its vtable struct_size "
                     "%u is below the 1.1 size %zu.",
                  minor, vt->struct_size, sizeof(vrt_provider));
}

static void t_plugin_flags(vcts_t *t)
{
    uint32_t unknown = t->run->vt->flags & ~(uint32_t)VRT_PROVIDER_SERIALIZE;
    if (unknown)
        vcts_fail(t, "The vtable flags have unknown bits 0x%x.", unknown);
}

/* The capability bits a plugin of ABI 1.minor may use. */
static uint64_t caps_of_minor(uint32_t minor)
{
    return minor == 0 ? VRT_CAP_ALL_1_0_ : VRT_CAP_ALL_1_0_ | VRT_CAP_HOSTS;
}

static void t_plugin_caps_known(vcts_t *t)
{
    uint32_t minor = VRT_ABI_MINOR_OF(t->run->vt->abi);
    if (minor > VRT_ABI_MINOR) {
        /* A newer plugin may use bits this suite does not know yet. */
        vcts_note(t, "plugin minor %u is newer than this suite's %u; its "
                     "newer bits are not judged",
                  minor, VRT_ABI_MINOR);
        minor = VRT_ABI_MINOR;
    }
    uint64_t unknown = t->run->vt->caps & ~caps_of_minor(minor);
    if (unknown && VRT_ABI_MINOR_OF(t->run->vt->abi) <= VRT_ABI_MINOR)
        vcts_fail(t, "The vtable caps 0x%llx have bits 0x%llx that ABI 1.%u "
                     "does not define.",
                  (unsigned long long)t->run->vt->caps,
                  (unsigned long long)unknown, minor);
}

/* What each capability promises to be callable. */
static const struct {
    uint64_t cap;
    const char *methods[5];
} cap_methods[] = {
    {VRT_CAP_RECONFIGURE, {"reconfigure"}},
    {VRT_CAP_RECONFIGURE_ONLINE, {"reconfigure"}},
    {VRT_CAP_DISK_EXPAND_ONLINE, {"reconfigure"}},
    {VRT_CAP_SNAPSHOTS, {"snapshot_create", "snapshot_delete"}},
    {VRT_CAP_MEMORY_SNAPSHOTS, {"snapshot_create"}},
    {VRT_CAP_SNAPSHOT_REVERT, {"snapshot_revert"}},
    {VRT_CAP_CLONE, {"clone"}},
    {VRT_CAP_LINKED_CLONES, {"clone"}},
    {VRT_CAP_IMAGE_IMPORT, {"image_prepare"}},
    {VRT_CAP_DISK_EXPORT, {"disk_export_open", "stream_read", "stream_close"}},
    {VRT_CAP_DISK_IMPORT,
     {"disk_import_open", "stream_write", "stream_finish", "stream_abort"}},
    {VRT_CAP_EXPORT_COMPRESSION, {"disk_export_open"}},
    {VRT_CAP_HARDWARE_UPGRADE, {"hardware_upgrade"}},
    {VRT_CAP_LIST_VMS, {"list_vms"}},
    {VRT_CAP_HOSTS, {"list_hosts"}},
};

static void t_plugin_cap_methods(vcts_t *t)
{
    uint64_t caps = vrt_plugin_caps(t->run->plugin);
    for (size_t i = 0; i < sizeof(cap_methods) / sizeof(cap_methods[0]); i++) {
        if (!(caps & cap_methods[i].cap))
            continue;
        for (size_t j = 0; j < 5 && cap_methods[i].methods[j]; j++)
            if (!vrt_plugin_has_method(t->run->plugin,
                                       cap_methods[i].methods[j]))
                vcts_fail(t, "The plugin claims %s but does not implement "
                             "\"%s\".",
                          vcts_cap_name(cap_methods[i].cap),
                          cap_methods[i].methods[j]);
    }
}

static void t_open(vcts_t *t)
{
    vcts_run *run = t->run;
    if (run->open_rc != VRT_OK) {
        char what[VRT_URL_MAX + 32];
        snprintf(what, sizeof(what), "open of \"%s\"", run->cfg->endpoint);
        vcts_expect_ok(t, run->open_rc, &run->open_err, what);
    }
}

static void t_validate(vcts_t *t)
{
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;
    vcts_cc(t, &cc);
    int rc = vrt_p_validate(t->run->conn, &cc, &err);
    vcts_expect_ok(t, rc, &err, "validate");
}

static void t_capabilities(vcts_t *t)
{
    vcts_run *run = t->run;
    vrt_caps again;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;

    if (vcts_expect_ok(t, run->caps_rc, &run->caps_err, "capabilities"))
        return;
    vcts_note(t, "caps 0x%llx, disk formats 0x%x",
              (unsigned long long)run->caps.caps, run->caps.disk_formats);
    vcts_cc(t, &cc);
    int rc = vrt_p_capabilities(&again, run->conn, &cc, &err);
    if (vcts_expect_ok(t, rc, &err, "a second capabilities") != VRT_OK)
        return;
    if (again.caps != run->caps.caps ||
        again.disk_formats != run->caps.disk_formats)
        vcts_fail(t, "Two capabilities calls on one connection disagree "
                     "(caps 0x%llx then 0x%llx).",
                  (unsigned long long)run->caps.caps,
                  (unsigned long long)again.caps);
    if (run->caps.disk_formats & ~(uint32_t)DISK_FORMATS_KNOWN)
        vcts_fail(t, "capabilities reports unknown disk format bits 0x%x.",
                  run->caps.disk_formats & ~(uint32_t)DISK_FORMATS_KNOWN);
    if ((run->caps.caps & (VRT_CAP_DISK_EXPORT | VRT_CAP_DISK_IMPORT)) &&
        !(run->caps.disk_formats & DISK_FORMATS_KNOWN))
        vcts_fail(t, "capabilities claims disk export or import but lists "
                     "no disk format.");
}

static void t_capabilities_subset(vcts_t *t)
{
    uint64_t vt_caps = t->run->vt->caps;
    uint64_t extra = t->run->caps.caps & ~vt_caps;
    if (extra)
        vcts_fail(t, "The connection claims caps 0x%llx that the vtable "
                     "(0x%llx) does not; a connection may offer fewer, "
                     "never more.",
                  (unsigned long long)extra, (unsigned long long)vt_caps);
}

const vcts_test vcts_tests_meta[] = {
    {"plugin-name", "the vtable name is [a-z0-9_-]{1,31}", 0, 0,
     t_plugin_name},
    {"plugin-version", "the vtable version is non-empty", 0, 0,
     t_plugin_version},
    {"plugin-abi", "ABI major 1 and a struct_size that fits the minor", 0, 0,
     t_plugin_abi},
    {"plugin-flags", "the vtable flags have only known bits", 0, 0,
     t_plugin_flags},
    {"plugin-caps-known", "the vtable caps use only bits of its ABI minor",
     0, 0, t_plugin_caps_known},
    {"plugin-cap-methods", "every claimed capability has its methods", 0, 0,
     t_plugin_cap_methods},
    {"open", "the connection opens with the configured endpoint", 0, 0,
     t_open},
    {"validate", "validate succeeds", VCTS_NEED_CONN, 0, t_validate},
    {"capabilities", "capabilities succeeds, is stable, formats are sane",
     VCTS_NEED_CONN, 0, t_capabilities},
    {"capabilities-subset", "connection caps are a subset of vtable caps",
     VCTS_NEED_CONN | VCTS_NEED_CAPS, 0, t_capabilities_subset},
    {NULL, NULL, 0, 0, NULL},
};
