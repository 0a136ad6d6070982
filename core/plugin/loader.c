/*
 * The plugin loader.  It checks a plugin in a fixed order and fails closed:
 * the first failed check rejects the plugin, records it as faulty with the
 * reason, and leaves the process and the other plugins untouched.
 *
 * Order: path and permissions, dlopen, entry symbol, the plugin's own
 * acceptance of our ABI, vtable major and minimum size, self-consistency of
 * minor and size, name, duplicate name, mandatory methods, flags.
 *
 * Handles are never dlclose()d before vrt_registry_free, not even those of
 * rejected plugins whose entry ran: a plugin may have started threads.
 */
#include "loader_internal.h"

#include <vrt/log.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

VRT_LOG_SOURCE("core.loader");

typedef struct fault {
    char *path;
    char *reason;
    void *handle; /* kept open if the entry ran, closed at free */
} fault;

struct vrt_registry {
    pthread_mutex_t lock;
    vrt_plugin **plugins;
    size_t n_plugins;
    fault *faults;
    size_t n_faults;
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        vrt_log_error("Out of memory (%zu bytes); virtrigaud stops.", n);
        abort();
    }
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

vrt_registry *vrt_registry_new(void)
{
    vrt_registry *reg = xrealloc(NULL, sizeof(*reg));
    memset(reg, 0, sizeof(*reg));
    pthread_mutex_init(&reg->lock, NULL);
    return reg;
}

void vrt_registry_free(vrt_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n_plugins; i++) {
        vrt_plugin *p = reg->plugins[i];
        /* Under ASan/valgrind, keeping the mapping keeps leak reports
         * symbolised; VRT_NO_DLCLOSE=1 asks for that. */
        if (p->handle && !getenv("VRT_NO_DLCLOSE"))
            dlclose(p->handle);
        free(p->path);
        free(p->name);
        free(p->version);
        free(p);
    }
    for (size_t i = 0; i < reg->n_faults; i++) {
        if (reg->faults[i].handle && !getenv("VRT_NO_DLCLOSE"))
            dlclose(reg->faults[i].handle);
        free(reg->faults[i].path);
        free(reg->faults[i].reason);
    }
    free(reg->plugins);
    free(reg->faults);
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}

/* Records a rejection and fills err.  Called with the lock held. */
static int reject(vrt_registry *reg, const char *path, void *handle,
                  vrt_error *err, int32_t code, const char *reason)
{
    reg->faults = xrealloc(reg->faults, (reg->n_faults + 1) * sizeof(fault));
    reg->faults[reg->n_faults++] =
        (fault){xstrdup(path), xstrdup(reason), handle};
    vrt_log_error("Plugin rejected: %s path=\"%s\"", reason, path);
    return vrt_error_set(err, code, "%s", reason);
}

#define REJECT(code, ...)                                                      \
    do {                                                                       \
        snprintf(msg, sizeof(msg), __VA_ARGS__);                               \
        rc = reject(reg, path, handle, err, (code), msg);                      \
        goto cleanup;                                                          \
    } while (0)

/* Refuses files that someone other than root or us could have replaced. */
static int check_path(char *why, size_t why_size, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(why, why_size, "Plugin file \"%s\" cannot be read: %s.",
                 path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_size, "Plugin path \"%s\" is not a regular file.",
                 path);
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(why, why_size,
                 "Plugin file \"%s\" is group- or world-writable (mode %04o); "
                 "anyone could replace its code. Run chmod go-w on it.",
                 path, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        snprintf(why, why_size,
                 "Plugin file \"%s\" is owned by uid %u, neither root nor "
                 "the manager's user.",
                 path, (unsigned)st.st_uid);
        return -1;
    }
    return 0;
}

static int valid_name(const char *name)
{
    size_t n = 0;
    for (; name[n]; n++) {
        char c = name[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_'))
            return 0;
    }
    return n >= 1 && n <= 31;
}

/* The methods every plugin must implement, with their names for messages. */
#define MANDATORY(X)                                                           \
    X(open) X(close) X(validate) X(capabilities) X(create) X(destroy)          \
        X(power) X(describe) X(task_status)

static const char *missing_mandatory(const vrt_provider *vt)
{
#define CHECK(m)                                                               \
    if (!vt->m)                                                                \
        return #m;
    MANDATORY(CHECK)
#undef CHECK
    return NULL;
}

/* Each capability and the methods a plugin claiming it must have
 * (docs/abi.md).  GRACEFUL_SHUTDOWN and CONSOLE need none: they are about
 * power and describe, which every plugin has. */
static const struct {
    uint64_t cap;
    const char *methods[4];
} cap_needs[] = {
    {VRT_CAP_RECONFIGURE | VRT_CAP_RECONFIGURE_ONLINE |
         VRT_CAP_DISK_EXPAND_ONLINE,
     {"reconfigure"}},
    {VRT_CAP_HARDWARE_UPGRADE, {"hardware_upgrade"}},
    {VRT_CAP_SNAPSHOTS | VRT_CAP_MEMORY_SNAPSHOTS,
     {"snapshot_create", "snapshot_delete"}},
    {VRT_CAP_SNAPSHOT_REVERT, {"snapshot_revert"}},
    {VRT_CAP_CLONE | VRT_CAP_LINKED_CLONES, {"clone"}},
    {VRT_CAP_IMAGE_IMPORT, {"image_prepare"}},
    {VRT_CAP_LIST_VMS, {"list_vms"}},
    {VRT_CAP_DISK_EXPORT | VRT_CAP_EXPORT_COMPRESSION,
     {"disk_export_open", "stream_read", "stream_close"}},
    {VRT_CAP_DISK_IMPORT,
     {"disk_import_open", "stream_write", "stream_finish", "stream_abort"}},
    {VRT_CAP_HOSTS, {"list_hosts"}},
};

/* The VRT_CAP_* bits this header defines. */
#define KNOWN_CAPS (VRT_CAP_ALL_1_0_ | VRT_CAP_HOSTS)

/* Checks the caps a plugin claims against the ABI and its methods. */
static int check_caps(char *why, size_t why_size, const vrt_plugin *probe)
{
    const vrt_provider *vt = probe->vt;
    /* A newer minor may define bits we do not know; ours may not. */
    if (VRT_ABI_MINOR_OF(vt->abi) <= VRT_ABI_MINOR && (vt->caps & ~KNOWN_CAPS)) {
        snprintf(why, why_size,
                 "Plugin \"%s\" claims caps 0x%llx that ABI 1.%u does not "
                 "define.",
                 vt->name, (unsigned long long)(vt->caps & ~KNOWN_CAPS),
                 VRT_ABI_MINOR_OF(vt->abi));
        return -1;
    }
    for (size_t i = 0; i < sizeof(cap_needs) / sizeof(cap_needs[0]); i++) {
        if (!(vt->caps & cap_needs[i].cap))
            continue;
        for (int m = 0; m < 4 && cap_needs[i].methods[m]; m++)
            if (!vrt_plugin_has_method(probe, cap_needs[i].methods[m])) {
                snprintf(why, why_size,
                         "Plugin \"%s\" claims a capability (caps 0x%llx) "
                         "but lacks its method \"%s\".",
                         vt->name, (unsigned long long)cap_needs[i].cap,
                         cap_needs[i].methods[m]);
                return -1;
            }
    }
    return 0;
}

static const vrt_plugin *find_locked(const vrt_registry *reg,
                                     const char *name)
{
    for (size_t i = 0; i < reg->n_plugins; i++)
        if (strcmp(reg->plugins[i]->name, name) == 0)
            return reg->plugins[i];
    return NULL;
}

/* Checks what the plugin said about itself once the entry returned. */
static int check_vtable(char *why, size_t why_size, const vrt_provider *vt)
{
    uint32_t major = VRT_ABI_MAJOR_OF(vt->abi);
    uint32_t minor = VRT_ABI_MINOR_OF(vt->abi);
    if (major != VRT_ABI_MAJOR) {
        snprintf(why, why_size,
                 "Plugin is built for ABI major %u, this manager speaks "
                 "major %u; rebuild it against this version's headers.",
                 major, VRT_ABI_MAJOR);
        return -1;
    }
    if (vt->struct_size < VRT_PROVIDER_SIZE_1_0) {
        snprintf(why, why_size,
                 "Plugin vtable struct_size %u is smaller than the ABI 1.0 "
                 "minimum of %zu bytes.",
                 vt->struct_size, (size_t)VRT_PROVIDER_SIZE_1_0);
        return -1;
    }
    /* A plugin that claims minor N must be at least minor N's size. */
    if (minor >= 1 && vt->struct_size < sizeof(vrt_provider)) {
        snprintf(why, why_size,
                 "Plugin claims ABI 1.%u but its vtable struct_size %u is "
                 "smaller than 1.1's %zu bytes.",
                 minor, vt->struct_size, sizeof(vrt_provider));
        return -1;
    }
    if (!vt->name || !valid_name(vt->name)) {
        snprintf(why, why_size,
                 "Plugin name \"%s\" is invalid: it must be 1 to 31 characters "
                 "of a-z, 0-9, '-' or '_'.",
                 vt->name ? vt->name : "(null)");
        return -1;
    }
    if (vt->flags & ~(uint32_t)VRT_PROVIDER_SERIALIZE) {
        snprintf(why, why_size,
                 "Plugin \"%s\" sets unknown vtable flags 0x%x.", vt->name,
                 vt->flags & ~(uint32_t)VRT_PROVIDER_SERIALIZE);
        return -1;
    }
    return 0;
}

int vrt_registry_load(const vrt_plugin **out, vrt_registry *reg,
                      const char *path, uint32_t flags, vrt_error *err)
{
    char why[VRT_ERROR_MESSAGE_MAX], msg[2 * VRT_ERROR_MESSAGE_MAX];
    void *handle = NULL;
    const vrt_provider *vt = NULL;
    const char *missing;
    vrt_plugin *p;
    int rc = VRT_OK;

    if (out)
        *out = NULL;
    if (!reg || !path)
        return vrt_error_set(err, VRT_E_INVALID,
                             "vrt_registry_load needs a registry and a path.");
    if (flags & ~(uint32_t)VRT_LOAD_SKIP_PERMS)
        return vrt_error_set(err, VRT_E_INVALID,
                             "Unknown loader flags 0x%x.", flags);

    pthread_mutex_lock(&reg->lock);
    if (!(flags & VRT_LOAD_SKIP_PERMS) && check_path(why, sizeof(why), path))
        REJECT(VRT_E_INVALID, "%s", why);

    /* Clear any stale error so that dlerror() below is ours. */
    (void)dlerror();
    handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle)
        REJECT(VRT_E_INVALID, "dlopen failed: %s", dlerror());

    union {
        void *obj;
        vrt_provider_entry_fn fn;
    } entry;
    entry.obj = dlsym(handle, VRT_PROVIDER_ENTRY_SYMBOL);
    if (!entry.obj) {
        /* The entry never ran: nothing of the plugin is running. */
        dlclose(handle);
        handle = NULL;
        REJECT(VRT_E_INVALID,
               "Plugin does not export the entry symbol \"%s\"; was it built "
               "with VRT_PROVIDER_EXPORT?",
               VRT_PROVIDER_ENTRY_SYMBOL);
    }

    vrt_error perr = VRT_ERROR_INIT;
    int32_t erc = entry.fn(vrt_host_api_get(),
                           VRT_ABI_MAKE(VRT_ABI_MAJOR, VRT_ABI_MINOR), &vt,
                           &perr);
    perr.message[sizeof(perr.message) - 1] = '\0';
    if (erc != VRT_OK && perr.message[0])
        REJECT(VRT_E_NOTSUPP, "Plugin refused this host (ABI %u.%u): %s",
               VRT_ABI_MAJOR, VRT_ABI_MINOR, perr.message);
    if (erc != VRT_OK)
        REJECT(VRT_E_NOTSUPP,
               "Plugin refused this host (ABI %u.%u): its entry returned %s "
               "(%d) without a message.",
               VRT_ABI_MAJOR, VRT_ABI_MINOR, vrt_error_code_name(erc), erc);
    if (!vt)
        REJECT(VRT_E_INVALID,
               "Plugin entry returned success but no vtable.");
    if (check_vtable(why, sizeof(why), vt))
        REJECT(VRT_E_INVALID, "%s", why);
    if (find_locked(reg, vt->name))
        REJECT(VRT_E_EXISTS,
               "A plugin named \"%s\" is already loaded (from \"%s\"); "
               "duplicate provider names are refused.",
               vt->name, find_locked(reg, vt->name)->path);
    if ((missing = missing_mandatory(vt)) != NULL)
        REJECT(VRT_E_INVALID,
               "Plugin \"%s\" lacks the mandatory method \"%s\".", vt->name,
               missing);
    vrt_plugin probe = {.vt = vt};
    if (check_caps(why, sizeof(why), &probe))
        REJECT(VRT_E_INVALID, "%s", why);

    p = xrealloc(NULL, sizeof(*p));
    memset(p, 0, sizeof(*p));
    p->handle = handle;
    p->vt = vt;
    p->path = xstrdup(path);
    p->name = xstrdup(vt->name);
    p->version = xstrdup(vt->version ? vt->version : "");
    p->abi = vt->abi;
    reg->plugins = xrealloc(reg->plugins,
                            (reg->n_plugins + 1) * sizeof(*reg->plugins));
    reg->plugins[reg->n_plugins++] = p;
    if (out)
        *out = p;
    vrt_log_info("Loaded provider plugin \"%s\" version \"%s\" ABI %u.%u "
                 "path=\"%s\"",
                 p->name, p->version, VRT_ABI_MAJOR_OF(p->abi),
                 VRT_ABI_MINOR_OF(p->abi), path);

cleanup:
    pthread_mutex_unlock(&reg->lock);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int vrt_registry_load_dir(vrt_registry *reg, const char *dir, uint32_t flags,
                          vrt_error *err)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0;
    int loaded = 0;
    struct dirent *de;

    if (!d)
        return vrt_error_set(err, VRT_E_NOTFOUND,
                             "Plugin directory \"%s\" cannot be opened: %s.",
                             dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len > 3 && strcmp(de->d_name + len - 3, ".so") == 0) {
            names = xrealloc(names, (n + 1) * sizeof(*names));
            names[n++] = xstrdup(de->d_name);
        }
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), name_cmp);

    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = xrealloc(NULL, len);
        snprintf(path, len, "%s/%s", dir, names[i]);
        vrt_error e = VRT_ERROR_INIT;
        if (vrt_registry_load(NULL, reg, path, flags, &e) == VRT_OK)
            loaded++;
        free(path);
        free(names[i]);
    }
    free(names);
    return loaded;
}

const vrt_plugin *vrt_registry_find(const vrt_registry *reg, const char *name)
{
    vrt_registry *r = (vrt_registry *)reg; /* the lock is not state */
    pthread_mutex_lock(&r->lock);
    const vrt_plugin *p = find_locked(reg, name);
    pthread_mutex_unlock(&r->lock);
    return p;
}

size_t vrt_registry_count(const vrt_registry *reg)
{
    return reg->n_plugins;
}

const vrt_plugin *vrt_registry_at(const vrt_registry *reg, size_t i)
{
    return i < reg->n_plugins ? reg->plugins[i] : NULL;
}

size_t vrt_registry_fault_count(const vrt_registry *reg)
{
    return reg->n_faults;
}

void vrt_registry_fault_at(const char **path, const char **reason,
                           const vrt_registry *reg, size_t i)
{
    *path = i < reg->n_faults ? reg->faults[i].path : NULL;
    *reason = i < reg->n_faults ? reg->faults[i].reason : NULL;
}

const char *vrt_plugin_name(const vrt_plugin *p)
{
    return p->name;
}

const char *vrt_plugin_version(const vrt_plugin *p)
{
    return p->version;
}

const char *vrt_plugin_path(const vrt_plugin *p)
{
    return p->path;
}

uint32_t vrt_plugin_abi(const vrt_plugin *p)
{
    return p->abi;
}

uint64_t vrt_plugin_caps(const vrt_plugin *p)
{
    return p->vt->caps;
}

uint32_t vrt_plugin_flags(const vrt_plugin *p)
{
    return p->vt->flags;
}

const vrt_provider *vrt_plugin_vtable(const vrt_plugin *p)
{
    return p->vt;
}
