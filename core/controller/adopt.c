/*
 * Adoption: a Provider annotated virtrigaud.io/adopt-vms: "true" has the
 * VMs on its hypervisor that no VirtualMachine manages turned into
 * VirtualMachine objects, as VirtRigaud (Go) does.  The optional
 * annotation virtrigaud.io/adopt-filter is JSON:
 *   {"namePattern": "^web-", "powerState": "On", "minCPU": 1, "maxCPU": 8,
 *    "minMemoryMiB": 512, "maxMemoryMiB": 65536}
 * (namePattern is a POSIX extended regular expression).  An adopted VM
 * is never touched: its VirtualMachine gets the label
 * virtrigaud.io/adopted: "true" (so nothing creates it), a VMClass that
 * matches its current CPU and memory (adopted-<cpu>c-<mem>mi, made when
 * missing, so nothing reconfigures it), its current power state as
 * spec.powerState, and its id in status.id.
 */
#include "controller_internal.h"

#include <vrt/clock.h>
#include <vrt/json.h>
#include <vrt/log.h>

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

VRT_LOG_SOURCE("controller.adopt");

#define MAX_FOUND 1000

typedef struct found {
    char id[VRT_ID_MAX];
    char name[VRT_NAME_MAX];
    int on;
    uint32_t cpus;
    uint64_t mib;
} found;

typedef struct discovery {
    found *f;
    int n;
} discovery;

static int visit_vm(void *opaque, const void *item)
{
    discovery *d = opaque;
    const vrt_vm_info *vi = item;
    if (d->n >= MAX_FOUND)
        return 1;
    found *f = &d->f[d->n++];
    snprintf(f->id, sizeof(f->id), "%s", vi->id);
    snprintf(f->name, sizeof(f->name), "%s", vi->name);
    f->on = vi->power_state == VRT_POWER_ON;
    f->cpus = vi->cpus;
    f->mib = vi->memory_mib;
    return 0;
}

typedef struct managed {
    const char *ns, *prov, *id;
    int hit;
} managed;

static void check_managed(void *opaque, const cJSON *vm)
{
    managed *m = opaque;
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(vm, "status"), "id"));
    const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(vm, "spec"), "providerRef"), "name"));
    const char *ns = vrt_meta_str(vm, "namespace");
    if (id && strcmp(id, m->id) == 0 && p && strcmp(p, m->prov) == 0 && ns &&
        strcmp(ns, m->ns) == 0)
        m->hit = 1;
}

/* A DNS-1123 name from a hypervisor VM name: lowercase, [a-z0-9-]. */
static void k8s_name(char *out, size_t size, const char *in)
{
    size_t n = 0;
    for (const char *p = in; *p && n + 1 < size && n < 63; p++) {
        char ch = (char)tolower((unsigned char)*p);
        if (!isalnum((unsigned char)ch))
            ch = '-';
        if (ch == '-' && (n == 0 || out[n - 1] == '-'))
            continue;
        out[n++] = ch;
    }
    while (n > 0 && out[n - 1] == '-')
        n--;
    out[n] = '\0';
    if (!n)
        snprintf(out, size, "adopted-vm");
}

static int post(vrt_controller *c, const char *path, cJSON *obj)
{
    cJSON *resp = NULL;
    long code = 0;
    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_kube_request(&resp, &code, c->kube, "POST", path, NULL, obj, &err);
    cJSON_Delete(resp);
    return rc != VRT_OK || (code >= 300 && code != 409) ? -1 : (int)code;
}

static int adopt_one(vrt_controller *c, const cJSON *prov, const found *f,
                     char *why, size_t wsize)
{
    const char *ns = vrt_meta_str(prov, "namespace");
    char name[80], cls[80], path[400];
    k8s_name(name, sizeof(name), f->name);
    unsigned long long mib = f->mib ? f->mib : 1024;
    snprintf(cls, sizeof(cls), "adopted-%uc-%llumi", f->cpus ? f->cpus : 1, mib);
    cJSON *existing = vrt_informer_get(c->inf[INF_VM], ns, name);
    if (existing) {
        cJSON_Delete(existing);
        snprintf(why, wsize, "VM \"%s\": a VirtualMachine \"%s\" already exists.",
                 f->name, name);
        return -1;
    }
    cJSON *klass = cJSON_CreateObject();
    cJSON_AddStringToObject(klass, "apiVersion", "infra.virtrigaud.io/v1beta1");
    cJSON_AddStringToObject(klass, "kind", "VMClass");
    cJSON *kmd = cJSON_AddObjectToObject(klass, "metadata");
    cJSON_AddStringToObject(kmd, "name", cls);
    cJSON_AddStringToObject(kmd, "namespace", ns);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(kmd, "labels"),
                            "virtrigaud.io/adopted", "true");
    cJSON *ks = cJSON_AddObjectToObject(klass, "spec");
    cJSON_AddNumberToObject(ks, "cpu", f->cpus ? f->cpus : 1);
    char mem[32];
    snprintf(mem, sizeof(mem), "%lluMi", mib);
    cJSON_AddStringToObject(ks, "memory", mem);
    snprintf(path, sizeof(path), GROUP_PATH "/namespaces/%s/vmclasses", ns);
    int rc = post(c, path, klass);
    cJSON_Delete(klass);
    if (rc < 0) {
        snprintf(why, wsize, "VM \"%s\": the VMClass \"%s\" could not be made.",
                 f->name, cls);
        return -1;
    }
    cJSON *vm = cJSON_CreateObject();
    cJSON_AddStringToObject(vm, "apiVersion", "infra.virtrigaud.io/v1beta1");
    cJSON_AddStringToObject(vm, "kind", "VirtualMachine");
    cJSON *md = cJSON_AddObjectToObject(vm, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", ns);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(md, "labels"),
                            "virtrigaud.io/adopted", "true");
    cJSON *ann = cJSON_AddObjectToObject(md, "annotations");
    cJSON_AddStringToObject(ann, "virtrigaud.io/adopted-name", f->name);
    cJSON *spec = cJSON_AddObjectToObject(vm, "spec");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "providerRef"), "name",
                            vrt_meta_str(prov, "name"));
    cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "classRef"), "name", cls);
    cJSON_AddStringToObject(spec, "powerState", f->on ? "On" : "Off");
    snprintf(path, sizeof(path), GROUP_PATH "/namespaces/%s/virtualmachines", ns);
    rc = post(c, path, vm);
    cJSON_Delete(vm);
    if (rc < 0 || rc == 409) {
        snprintf(why, wsize, "VM \"%s\": the VirtualMachine \"%s\" could not be made.",
                 f->name, name);
        return -1;
    }
    char vpath[600];
    vrt_object_path(vpath, sizeof(vpath), "virtualmachines", ns, name);
    cJSON *st = cJSON_CreateObject();
    cJSON_AddStringToObject(st, "id", f->id);
    vrt_error err = VRT_ERROR_INIT;
    rc = vrt_status_patch(c, vpath, NULL, st, &err);
    cJSON_Delete(st);
    if (rc != VRT_OK) {
        snprintf(why, wsize, "VM \"%s\": binding its id failed: %s", f->name, err.message);
        return -1;
    }
    vrt_log_info("Adopted vm=\"%s/%s\" id=\"%s\" name=\"%s\"", ns, name, f->id, f->name);
    return 0;
}

static int passes(const found *f, const cJSON *filter, const regex_t *re)
{
    if (re && regexec(re, f->name, 0, NULL, 0) != 0)
        return 0;
    const char *ps = cJSON_GetStringValue(cJSON_GetObjectItem(filter, "powerState"));
    if (ps && (strcmp(ps, "On") == 0) != f->on)
        return 0;
    static const struct {
        const char *key;
        int max, mem;
    } lim[] = {{"minCPU", 0, 0}, {"maxCPU", 1, 0},
               {"minMemoryMiB", 0, 1}, {"maxMemoryMiB", 1, 1}};
    for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
        const cJSON *v = cJSON_GetObjectItem(filter, lim[i].key);
        if (!cJSON_IsNumber(v))
            continue;
        double have = lim[i].mem ? (double)f->mib : (double)f->cpus;
        if (lim[i].max ? have > v->valuedouble : have < v->valuedouble)
            return 0;
    }
    return 1;
}

void vrt_adopt_vms(vrt_controller *c, const cJSON *prov, vrt_pconn *conn,
                   vrt_call_ctx *cc, cJSON *status)
{
    const cJSON *ann = cJSON_GetObjectItem(cJSON_GetObjectItem(prov, "metadata"),
                                           "annotations");
    const char *on = cJSON_GetStringValue(cJSON_GetObjectItem(ann, "virtrigaud.io/adopt-vms"));
    if (!on || strcmp(on, "true") != 0)
        return;
    cJSON *ad = cJSON_CreateObject();
    char now[32], msg[400] = "";
    vrt_rfc3339_now(now);
    const char *ftext = cJSON_GetStringValue(cJSON_GetObjectItem(ann, "virtrigaud.io/adopt-filter"));
    cJSON *filter = ftext ? cJSON_Parse(ftext) : NULL;
    regex_t re;
    int have_re = 0, adopted = 0, failed = 0;
    discovery d = {calloc(MAX_FOUND, sizeof(found)), 0};
    if (!d.f)
        abort();
    const char *pat = cJSON_GetStringValue(cJSON_GetObjectItem(filter, "namePattern"));
    vrt_error err = VRT_ERROR_INIT;
    if (ftext && !cJSON_IsObject(filter)) {
        snprintf(msg, sizeof(msg), "The annotation virtrigaud.io/adopt-filter is not "
                 "a JSON object; nothing was adopted.");
    } else if (pat && regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0) {
        snprintf(msg, sizeof(msg), "adopt-filter namePattern \"%s\" is not a valid "
                 "regular expression; nothing was adopted.", pat);
    } else if ((have_re = pat != NULL),
               vrt_p_list_vms(conn, cc, visit_vm, &d, &err) != VRT_OK) {
        snprintf(msg, sizeof(msg), "Listing the provider's VMs failed: %s", err.message);
    } else {
        for (int i = 0; i < d.n; i++) {
            managed m = {vrt_meta_str(prov, "namespace"), vrt_meta_str(prov, "name"),
                         d.f[i].id, 0};
            vrt_informer_each(c->inf[INF_VM], NULL, check_managed, &m);
            if (m.hit || !passes(&d.f[i], filter, have_re ? &re : NULL))
                continue;
            char why[300];
            if (adopt_one(c, prov, &d.f[i], why, sizeof(why)) == 0) {
                adopted++;
            } else {
                failed++;
                snprintf(msg, sizeof(msg), "%s", why);
            }
        }
        if (!msg[0])
            snprintf(msg, sizeof(msg), "Found %d VMs; adopted %d now.", d.n, adopted);
    }
    if (have_re)
        regfree(&re);
    /* Totals accumulate over discoveries. */
    const cJSON *old = cJSON_GetObjectItem(status, "adoption");
    const cJSON *oa = cJSON_GetObjectItem(old, "adoptedVMs");
    const cJSON *of = cJSON_GetObjectItem(old, "failedAdoptions");
    cJSON_AddStringToObject(ad, "lastDiscoveryTime", now);
    cJSON_AddNumberToObject(ad, "discoveredVMs", d.n);
    cJSON_AddNumberToObject(ad, "adoptedVMs", adopted + (cJSON_IsNumber(oa) ? oa->valueint : 0));
    cJSON_AddNumberToObject(ad, "failedAdoptions", failed + (cJSON_IsNumber(of) ? of->valueint : 0));
    cJSON_AddStringToObject(ad, "message", msg);
    cJSON_DeleteItemFromObjectCaseSensitive(status, "adoption");
    cJSON_AddItemToObject(status, "adoption", ad);
    cJSON_Delete(filter);
    free(d.f);
}
