/*
 * The spec_json document handed to providers (docs/abi.md): the
 * VirtualMachine resolved against its VMClass, VMImage and Provider, with
 * units normalised (memory in MiB) so plugins need no Kubernetes parsing.
 */
#include "controller_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long long vrt_quantity_mib(const cJSON *q)
{
    /* Past 2^62 MiB the cast to long long would overflow: refused. */
    if (cJSON_IsNumber(q))
        return q->valuedouble >= 0 && q->valuedouble / 1048576.0 < 0x1p62
                   ? (long long)(q->valuedouble / 1048576.0)
                   : -1;
    const char *s = cJSON_GetStringValue(q);
    if (!s || !*s)
        return -1;
    /* Decimal digits only: strtod would also take "0x10", "inf", "nan".
     * A quantity may carry a "+" sign. */
    if (*s == '+')
        s++;
    if (!isdigit((unsigned char)s[0]) && !(s[0] == '.' && isdigit((unsigned char)s[1])))
        return -1;
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0 || !isfinite(v) || strchr(s, 'x') || strchr(s, 'X'))
        return -1;
    static const struct {
        const char *suffix;
        double bytes;
    } units[] = {
        {"", 1},
        {"Ki", 1024.0},
        {"Mi", 1048576.0},
        {"Gi", 1073741824.0},
        {"Ti", 1099511627776.0},
        {"k", 1e3},
        {"K", 1e3},
        {"M", 1e6},
        {"G", 1e9},
        {"T", 1e12},
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(end, units[i].suffix) == 0)
            return v * units[i].bytes / 1048576.0 < 0x1p62
                       ? (long long)(v * units[i].bytes / 1048576.0)
                       : -1;
    return -1;
}

long vrt_duration_s(const char *s)
{
    if (!s || !*s)
        return -1;
    if (strcmp(s, "0") == 0)
        return 0;
    static const struct {
        const char *unit;
        double seconds;
    } units[] = {
        /* longest first, so "ms" is not read as "m" */
        {"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"ms", 1e-3},
        {"h", 3600}, {"m", 60}, {"s", 1},
    };
    double total = 0;
    while (*s) {
        if (!isdigit((unsigned char)*s) && *s != '.')
            return -1;
        char *end;
        double v = strtod(s, &end);
        if (end == s || !isfinite(v))
            return -1;
        size_t i, n = sizeof(units) / sizeof(units[0]);
        for (i = 0; i < n; i++)
            if (strncmp(end, units[i].unit, strlen(units[i].unit)) == 0)
                break;
        if (i == n)
            return -1;
        total += v * units[i].seconds;
        s = end + strlen(units[i].unit);
    }
    return total > 1e9 ? -1 : (long)total;
}

static void copy_if(cJSON *dst, const char *as, const cJSON *src,
                    const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(src, key);
    if (v)
        cJSON_AddItemToObject(dst, as, cJSON_Duplicate(v, 1));
}

cJSON *vrt_vm_spec_json(const cJSON *vm, const cJSON *cls, const cJSON *image,
                        const cJSON *provider, char *errbuf, size_t errsize)
{
    const cJSON *vspec = cJSON_GetObjectItem(vm, "spec");
    const cJSON *cspec = cJSON_GetObjectItem(cls, "spec");
    const cJSON *res = cJSON_GetObjectItem(vspec, "resources");
    cJSON *out = cJSON_CreateObject();

    const cJSON *cpu = cJSON_GetObjectItem(res, "cpu");
    if (!cJSON_IsNumber(cpu))
        cpu = cJSON_GetObjectItem(cspec, "cpu");
    if (!cJSON_IsNumber(cpu) || cpu->valuedouble < 1) {
        snprintf(errbuf, errsize, "VMClass \"%s\" has no valid spec.cpu.",
                 vrt_meta_str(cls, "name"));
        cJSON_Delete(out);
        return NULL;
    }
    cJSON_AddNumberToObject(out, "cpu", cpu->valuedouble);

    long long mib = -1;
    const cJSON *mem = cJSON_GetObjectItem(res, "memoryMiB");
    if (cJSON_IsNumber(mem))
        mib = (long long)mem->valuedouble;
    else
        mib = vrt_quantity_mib(cJSON_GetObjectItem(cspec, "memory"));
    if (mib < 1) {
        snprintf(errbuf, errsize,
                 "VMClass \"%s\" spec.memory is not a valid quantity "
                 "(e.g. \"2Gi\").",
                 vrt_meta_str(cls, "name"));
        cJSON_Delete(out);
        return NULL;
    }
    cJSON_AddNumberToObject(out, "memoryMiB", (double)mib);
    const char *fw = cJSON_GetStringValue(cJSON_GetObjectItem(cspec, "firmware"));
    cJSON_AddStringToObject(out, "firmware",
                            fw && strcmp(fw, "BIOS") != 0 ? "UEFI" : "BIOS");

    /* Direct kernel boot: a VMImage that is a kernel + initrd (appliances,
     * test guests) says so in annotations, since the v1beta1 schema has no
     * field for it.  Providers that cannot boot a kernel ignore it. */
    const cJSON *iann = cJSON_GetObjectItem(cJSON_GetObjectItem(image, "metadata"),
                                            "annotations");
    const char *kernel =
        cJSON_GetStringValue(cJSON_GetObjectItem(iann, "virtrigaud.io/kernel"));
    if (kernel) { /* the kernel replaces the image's boot disk */
        cJSON *k = cJSON_AddObjectToObject(out, "kernel");
        cJSON_AddStringToObject(k, "path", kernel);
        const char *initrd = cJSON_GetStringValue(
            cJSON_GetObjectItem(iann, "virtrigaud.io/initrd"));
        const char *cmdline = cJSON_GetStringValue(
            cJSON_GetObjectItem(iann, "virtrigaud.io/kernel-cmdline"));
        if (initrd)
            cJSON_AddStringToObject(k, "initrd", initrd);
        if (cmdline)
            cJSON_AddStringToObject(k, "cmdline", cmdline);
    }
    /* The image source for this provider's type, e.g. spec.source.libvirt. */
    const char *type = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(provider, "spec"), "type"));
    const cJSON *src =
        cJSON_GetObjectItem(cJSON_GetObjectItem(image, "spec"), "source");
    if (image && !kernel) {
        cJSON *img = cJSON_AddObjectToObject(out, "image");
        cJSON_AddStringToObject(img, "name", vrt_meta_str(image, "name"));
        const cJSON *typed = type ? cJSON_GetObjectItem(src, type) : NULL;
        if (!typed)
            typed = cJSON_GetObjectItem(src, "http");
        const cJSON *it;
        cJSON_ArrayForEach(it, typed) {
            cJSON_AddItemToObject(img, it->string, cJSON_Duplicate(it, 1));
        }
    }
    /* A disk already on the provider (a migration's import) boots the VM
     * as it is: for libvirt a volume attached in place. */
    const cJSON *imp = cJSON_GetObjectItem(vspec, "importedDisk");
    const char *disk_id = cJSON_GetStringValue(cJSON_GetObjectItem(imp, "diskID"));
    if (disk_id && !image) {
        cJSON *img = cJSON_AddObjectToObject(out, "image");
        cJSON_AddStringToObject(img, "name", "imported");
        const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(imp, "path"));
        cJSON_AddStringToObject(img, "path", path ? path : disk_id);
        const char *fmt = cJSON_GetStringValue(cJSON_GetObjectItem(imp, "format"));
        cJSON_AddStringToObject(img, "format", fmt ? fmt : "qcow2");
        cJSON_AddStringToObject(img, "mode", "attach");
        cJSON_AddItemToObject(out, "importedDisk", cJSON_Duplicate(imp, 1));
    }
    copy_if(out, "disks", vspec, "disks");
    copy_if(out, "networks", vspec, "networks");
    copy_if(out, "placement", vspec, "placement");
    copy_if(out, "tags", vspec, "tags");
    copy_if(out, "class", cls, "spec");
    copy_if(out, "defaults",
            cJSON_GetObjectItem(provider, "spec"), "defaults");
    /* Annotations prefixed virtrigaud.io/ pass through as hints. */
    const cJSON *ann = cJSON_GetObjectItem(cJSON_GetObjectItem(vm, "metadata"),
                                           "annotations");
    cJSON *hints = NULL;
    const cJSON *a;
    cJSON_ArrayForEach(a, ann) {
        if (strncmp(a->string, "virtrigaud.io/", 14) == 0 &&
            cJSON_IsString(a)) {
            if (!hints)
                hints = cJSON_AddObjectToObject(out, "hints");
            cJSON_AddStringToObject(hints, a->string + 14, a->valuestring);
        }
    }
    const char *serial = cJSON_GetStringValue(
        cJSON_GetObjectItem(ann, "virtrigaud.io/serial-log"));
    if (serial)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(out, "serial"),
                                "logFile", serial);
    return out;
}

/* Sets key in `nic` unless the VM's own entry already did. */
static void nic_default(cJSON *nic, const char *key, const char *value)
{
    if (value && !cJSON_HasObjectItem(nic, key))
        cJSON_AddStringToObject(nic, key, value);
}

void vrt_spec_resolve_networks(cJSON *spec_json, const cJSON *atts,
                               const char *type)
{
    cJSON *nics = cJSON_GetObjectItem(spec_json, "networks");
    int n = cJSON_GetArraySize(nics);
    for (int i = 0; i < n; i++) {
        cJSON *nic = cJSON_GetArrayItem(nics, i);
        const cJSON *att = cJSON_GetArrayItem(atts, i);
        const cJSON *net = cJSON_GetObjectItem(cJSON_GetObjectItem(att, "spec"),
                                               "network");
        const cJSON *typed = type ? cJSON_GetObjectItem(net, type) : NULL;
        if (!typed)
            continue;
        /* The common names providers read (docs/abi.md): the network or
         * port group, the bridge, the NIC model. */
        if (strcmp(type, "libvirt") == 0) {
            nic_default(nic, "network", cJSON_GetStringValue(
                cJSON_GetObjectItem(typed, "networkName")));
            nic_default(nic, "bridge", cJSON_GetStringValue(cJSON_GetObjectItem(
                cJSON_GetObjectItem(typed, "bridge"), "name")));
        } else if (strcmp(type, "vsphere") == 0) {
            nic_default(nic, "network", cJSON_GetStringValue(
                cJSON_GetObjectItem(typed, "portgroup")));
        } else if (strcmp(type, "proxmox") == 0) {
            nic_default(nic, "bridge", cJSON_GetStringValue(
                cJSON_GetObjectItem(typed, "bridge")));
        }
        nic_default(nic, "model", cJSON_GetStringValue(
            cJSON_GetObjectItem(typed, "model")));
        cJSON_AddItemToObject(nic, "attachment", cJSON_Duplicate(typed, 1));
        const cJSON *ipa = cJSON_GetObjectItem(cJSON_GetObjectItem(att, "spec"),
                                               "ipAllocation");
        if (ipa)
            cJSON_AddItemToObject(nic, "ipAllocation", cJSON_Duplicate(ipa, 1));
    }
}
