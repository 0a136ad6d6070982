/*
 * The reconcilers of what VMs reference: VMClass, VMImage and
 * VMNetworkAttachment.  Each validates its spec (a Ready condition that
 * names the bad field), counts the VMs that use it, and says on which
 * Providers of its namespace it can be used.  None of them touches a
 * hypervisor: images and networks are consumed by the providers at VM
 * creation (docs/kinds/vmimage.md says what is not prepared ahead).
 */
#include "controller_internal.h"

#include <vrt/json.h>
#include <vrt/log.h>

#include <stdio.h>
#include <string.h>

VRT_LOG_SOURCE("controller.deps");

#define DEPS_RESYNC_MS 300000

int vrt_vm_uses(const cJSON *vm, int which, const char *ns, const char *name)
{
    const cJSON *spec = cJSON_GetObjectItem(vm, "spec");
    const char *vns = vrt_meta_str(vm, "namespace");
    vns = vns ? vns : "";
    static const char *const fields[INF_COUNT] = {
        [INF_PROVIDER] = "providerRef",
        [INF_CLASS] = "classRef",
        [INF_IMAGE] = "imageRef",
        [INF_POLICY] = "placementRef",
    };
    const cJSON *refs[16];
    size_t n = 0;
    if (which == INF_NETWORK) {
        const cJSON *net;
        cJSON_ArrayForEach(net, cJSON_GetObjectItem(spec, "networks")) {
            if (n < sizeof(refs) / sizeof(refs[0]))
                refs[n++] = cJSON_GetObjectItem(net, "networkRef");
        }
    } else if (which > INF_VM && which < INF_COUNT) {
        refs[n++] = cJSON_GetObjectItem(spec, fields[which]);
    }
    for (size_t i = 0; i < n; i++) {
        const char *rn = cJSON_GetStringValue(cJSON_GetObjectItem(refs[i], "name"));
        const char *rns = cJSON_GetStringValue(cJSON_GetObjectItem(refs[i], "namespace"));
        if (rn && strcmp(rn, name) == 0 &&
            strcmp(rns && *rns ? rns : vns, ns) == 0)
            return 1;
    }
    return 0;
}

typedef struct users {
    int which;
    const char *ns, *name;
    int count;
} users;

static void count_user(void *opaque, const cJSON *vm)
{
    users *u = opaque;
    if (!vrt_meta_str(vm, "deletionTimestamp") &&
        vrt_vm_uses(vm, u->which, u->ns, u->name))
        u->count++;
}

int vrt_count_users(vrt_controller *c, int which, const char *ns,
                    const char *name)
{
    users u = {which, ns, name, 0};
    char needle[300];
    snprintf(needle, sizeof(needle), "\"name\":\"%s\"", name);
    vrt_informer_each(c->inf[INF_VM], needle, count_user, &u);
    return u.count;
}

/* The Providers of `ns` for which `block` (spec.source or spec.network)
 * has a section of their type; `any` means every Provider (an http
 * source works everywhere). */
typedef struct prov_match {
    const char *ns;
    const cJSON *block;
    int any;
    cJSON *names;
} prov_match;

static void match_provider(void *opaque, const cJSON *prov)
{
    prov_match *m = opaque;
    const char *pns = vrt_meta_str(prov, "namespace");
    if (!pns || strcmp(pns, m->ns) != 0)
        return;
    const char *type = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(prov, "spec"), "type"));
    if (m->any || (type && cJSON_GetObjectItem(m->block, type)))
        cJSON_AddItemToArray(m->names,
                             cJSON_CreateString(vrt_meta_str(prov, "name")));
}

static cJSON *providers_for(vrt_controller *c, const char *ns,
                            const cJSON *block, int any)
{
    prov_match m = {ns, block, any, cJSON_CreateArray()};
    vrt_informer_each(c->inf[INF_PROVIDER], NULL, match_provider, &m);
    return m.names;
}

/* Writes status if it changed and returns the requeue. */
static long finish(vrt_controller *c, const char *plural, const char *ns,
                   const char *name, const cJSON *old, cJSON *status,
                   double gen)
{
    cJSON_DeleteItemFromObjectCaseSensitive(status, "observedGeneration");
    cJSON_AddNumberToObject(status, "observedGeneration", gen);
    long rc = DEPS_RESYNC_MS;
    if (!old || !cJSON_Compare(old, status, 1)) {
        char path[600];
        vrt_error err = VRT_ERROR_INIT;
        vrt_object_path(path, sizeof(path), plural, ns, name);
        if (vrt_status_patch(c, path, old, status, &err) != VRT_OK) {
            vrt_log_warn("Status write failed %s=\"%s/%s\": %s", plural, ns,
                         name, err.message);
            rc = -1;
        }
    }
    cJSON_Delete(status);
    return rc;
}

static void set_ready(cJSON *status, const char *why, const char *ok_msg,
                      double gen)
{
    vrt_cond_set(status, "Ready", why ? "False" : "True",
                 why ? "ValidationFailed" : "Valid", why ? why : ok_msg, gen);
}

static void set_num(cJSON *status, const char *key, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(status, key);
    cJSON_AddNumberToObject(status, key, v);
}

static void set_item(cJSON *status, const char *key, cJSON *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(status, key);
    cJSON_AddItemToObject(status, key, v);
}

long vrt_reconcile_class(vrt_controller *c, const char *ns, const char *name)
{
    cJSON *cls = vrt_informer_get(c->inf[INF_CLASS], ns, name);
    if (!cls)
        return 0;
    const cJSON *spec = cJSON_GetObjectItem(cls, "spec");
    const cJSON *old = cJSON_GetObjectItem(cls, "status");
    cJSON *status = old ? cJSON_Duplicate(old, 1) : cJSON_CreateObject();
    double gen = vrt_meta_num(cls, "generation");
    char why[300] = "";
    const cJSON *cpu = cJSON_GetObjectItem(spec, "cpu");
    if (!cJSON_IsNumber(cpu) || cpu->valuedouble < 1)
        snprintf(why, sizeof(why), "spec.cpu must be a whole number of at least 1.");
    else if (vrt_quantity_mib(cJSON_GetObjectItem(spec, "memory")) < 1)
        snprintf(why, sizeof(why),
                 "spec.memory is not a valid quantity of at least 1Mi "
                 "(e.g. \"2Gi\").");
    set_ready(status, why[0] ? why : NULL, "The class is valid.", gen);
    set_num(status, "usedByVMs", vrt_count_users(c, INF_CLASS, ns, name));
    long rc = finish(c, "vmclasses", ns, name, old, status, gen);
    cJSON_Delete(cls);
    return rc;
}

long vrt_reconcile_image(vrt_controller *c, const char *ns, const char *name)
{
    cJSON *img = vrt_informer_get(c->inf[INF_IMAGE], ns, name);
    if (!img)
        return 0;
    const cJSON *src = cJSON_GetObjectItem(cJSON_GetObjectItem(img, "spec"), "source");
    const cJSON *old = cJSON_GetObjectItem(img, "status");
    cJSON *status = old ? cJSON_Duplicate(old, 1) : cJSON_CreateObject();
    double gen = vrt_meta_num(img, "generation");
    char why[300] = "";
    const char *url = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(src, "http"), "url"));
    if (cJSON_GetArraySize(src) == 0)
        snprintf(why, sizeof(why),
                 "spec.source names no source; set one block (libvirt, "
                 "vsphere, proxmox, http, ...).");
    else if (cJSON_GetObjectItem(src, "http") &&
             (!url || (strncmp(url, "http://", 7) != 0 &&
                       strncmp(url, "https://", 8) != 0)))
        snprintf(why, sizeof(why),
                 "spec.source.http.url must be an http:// or https:// URL.");
    set_ready(status, why[0] ? why : NULL,
              "The image is valid; providers use it as given when a VM "
              "is created.", gen);
    cJSON_DeleteItemFromObjectCaseSensitive(status, "ready");
    cJSON_AddBoolToObject(status, "ready", !why[0]);
    vrt_json_set_str(status, "phase", why[0] ? "Failed" : "Ready");
    vrt_json_set_str(status, "message", why[0] ? why
                     : "Valid; used as given at VM creation.");
    set_item(status, "availableOn",
             why[0] ? cJSON_CreateArray()
                    : providers_for(c, ns, src, cJSON_GetObjectItem(src, "http") != NULL));
    long rc = finish(c, "vmimages", ns, name, old, status, gen);
    cJSON_Delete(img);
    return rc;
}

long vrt_reconcile_network(vrt_controller *c, const char *ns, const char *name)
{
    cJSON *net = vrt_informer_get(c->inf[INF_NETWORK], ns, name);
    if (!net)
        return 0;
    const cJSON *block = cJSON_GetObjectItem(cJSON_GetObjectItem(net, "spec"), "network");
    const cJSON *old = cJSON_GetObjectItem(net, "status");
    cJSON *status = old ? cJSON_Duplicate(old, 1) : cJSON_CreateObject();
    double gen = vrt_meta_num(net, "generation");
    int typed = cJSON_GetObjectItem(block, "libvirt") ||
                cJSON_GetObjectItem(block, "vsphere") ||
                cJSON_GetObjectItem(block, "proxmox");
    const char *why = typed ? NULL
                            : "spec.network names no provider network; set "
                              "spec.network.libvirt, .vsphere or .proxmox.";
    set_ready(status, why, "The network is valid.", gen);
    cJSON_DeleteItemFromObjectCaseSensitive(status, "ready");
    cJSON_AddBoolToObject(status, "ready", why == NULL);
    vrt_json_set_str(status, "phase", why ? "Failed" : "Ready");
    vrt_json_set_str(status, "message", why ? why : "Valid.");
    set_item(status, "availableOn",
             why ? cJSON_CreateArray() : providers_for(c, ns, block, 0));
    set_num(status, "connectedVMs", vrt_count_users(c, INF_NETWORK, ns, name));
    long rc = finish(c, "vmnetworkattachments", ns, name, old, status, gen);
    cJSON_Delete(net);
    return rc;
}

typedef struct policy_users {
    const char *ns, *name;
    cJSON *list;
} policy_users;

static void list_user(void *opaque, const cJSON *vm)
{
    policy_users *u = opaque;
    if (!vrt_meta_str(vm, "deletionTimestamp") &&
        vrt_vm_uses(vm, INF_POLICY, u->ns, u->name) &&
        cJSON_GetArraySize(u->list) < 1000) {
        cJSON *ref = cJSON_CreateObject();
        cJSON_AddStringToObject(ref, "name", vrt_meta_str(vm, "name"));
        cJSON_AddItemToArray(u->list, ref);
    }
}

long vrt_reconcile_policy(vrt_controller *c, const char *ns, const char *name)
{
    cJSON *pol = vrt_informer_get(c->inf[INF_POLICY], ns, name);
    if (!pol)
        return 0;
    const cJSON *old = cJSON_GetObjectItem(pol, "status");
    cJSON *status = old ? cJSON_Duplicate(old, 1) : cJSON_CreateObject();
    double gen = vrt_meta_num(pol, "generation");
    policy_users u = {ns, name, cJSON_CreateArray()};
    char needle[300];
    snprintf(needle, sizeof(needle), "\"name\":\"%s\"", name);
    vrt_informer_each(c->inf[INF_VM], needle, list_user, &u);
    set_item(status, "usedByVMs", u.list);
    set_ready(status, NULL, "The policy is valid.", gen);
    long rc = finish(c, "vmplacementpolicies", ns, name, old, status, gen);
    cJSON_Delete(pol);
    return rc;
}
