/* lv_facts.c - what a domain XML says, read back for describe, clone and
 * disk work, and its JSON for vrt_vm_info.raw_json (see lv_domain_xml.h). */
#include "lv_domain_xml.h"
#include "lv_util.h"
#include "lv_xml.h"

#include <stdlib.h>
#include <string.h>

/* ---- facts --------------------------------------------------------------- */

static uint64_t to_kib(const char *text, const char *unit)
{
    static const struct {
        const char *unit;
        uint64_t mul, div;
    } units[] = {{"b", 1, 1024},         {"bytes", 1, 1024},
                 {"KB", 1000, 1024},     {"k", 1, 1},
                 {"KiB", 1, 1},          {"MB", 1000000, 1024},
                 {"M", 1024, 1},         {"MiB", 1024, 1},
                 {"GB", 1000000000, 1024}, {"G", 1048576, 1},
                 {"GiB", 1048576, 1},    {"T", 1073741824, 1},
                 {"TiB", 1073741824, 1}};
    uint64_t v = text ? strtoull(text, NULL, 10) : 0;
    size_t i;

    if (!unit)
        return v;
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcmp(unit, units[i].unit))
            return v * units[i].mul / units[i].div;
    return v;
}

static uint64_t mem_kib(xmlNodePtr n)
{
    char *text = lv_xml_text(n), *unit = lv_xml_get(n, "unit");
    uint64_t v = to_kib(text, unit);

    free(text);
    free(unit);
    return v;
}

static void facts_disk(lv_disk_fact *d, xmlNodePtr n)
{
    xmlNodePtr src = lv_xml_child(n, "source");

    d->device = lv_xml_get(n, "device");
    d->type = lv_xml_get(n, "type");
    d->target = lv_xml_get(lv_xml_child(n, "target"), "dev");
    d->bus = lv_xml_get(lv_xml_child(n, "target"), "bus");
    d->format = lv_xml_get(lv_xml_child(n, "driver"), "type");
    d->readonly = lv_xml_child(n, "readonly") != NULL;
    d->file = lv_xml_get(src, "file");
    if (!d->file)
        d->file = lv_xml_get(src, "dev");
    d->pool = lv_xml_get(src, "pool");
    d->volume = lv_xml_get(src, "volume");
}

static void facts_nic(lv_nic_fact *i, xmlNodePtr n)
{
    xmlNodePtr src = lv_xml_child(n, "source");

    i->type = lv_xml_get(n, "type");
    i->mac = lv_xml_get(lv_xml_child(n, "mac"), "address");
    i->source = lv_xml_get(src, "network");
    if (!i->source)
        i->source = lv_xml_get(src, "bridge");
    if (!i->source)
        i->source = lv_xml_get(src, "dev");
    i->model = lv_xml_get(lv_xml_child(n, "model"), "type");
}

static void facts_gfx(lv_gfx_fact *g, xmlNodePtr n)
{
    char *port = lv_xml_get(n, "port");

    g->type = lv_xml_get(n, "type");
    g->port = port ? atoi(port) : -1;
    g->listen = lv_xml_get(n, "listen");
    if (!g->listen)
        g->listen = lv_xml_get(lv_xml_child(n, "listen"), "address");
    free(port);
}

static void facts_channel(lv_domain_facts *f, xmlNodePtr n)
{
    xmlNodePtr t = lv_xml_child(n, "target");
    char *name = lv_xml_get(t, "name"), *state = lv_xml_get(t, "state");

    if (name && !strcmp(name, "org.qemu.guest_agent.0")) {
        f->agent = 1;
        f->agent_connected = state && !strcmp(state, "connected");
    }
    free(name);
    free(state);
}

static void facts_devices(lv_domain_facts *f, xmlNodePtr devs)
{
    xmlNodePtr n;

    for (n = devs ? devs->children : NULL; n; n = n->next) {
        if (lv_xml_is(n, "disk")) {
            f->disks = lv_xrealloc(f->disks, f->ndisks + 1, sizeof(*f->disks));
            memset(&f->disks[f->ndisks], 0, sizeof(*f->disks));
            facts_disk(&f->disks[f->ndisks++], n);
        } else if (lv_xml_is(n, "interface")) {
            f->nics = lv_xrealloc(f->nics, f->nnics + 1, sizeof(*f->nics));
            memset(&f->nics[f->nnics], 0, sizeof(*f->nics));
            facts_nic(&f->nics[f->nnics++], n);
        } else if (lv_xml_is(n, "graphics")) {
            f->gfx = lv_xrealloc(f->gfx, f->ngfx + 1, sizeof(*f->gfx));
            memset(&f->gfx[f->ngfx], 0, sizeof(*f->gfx));
            facts_gfx(&f->gfx[f->ngfx++], n);
        } else if (lv_xml_is(n, "channel")) {
            facts_channel(f, n);
        }
    }
}

static void facts_metadata(lv_domain_facts *f, xmlNodePtr md)
{
    xmlNodePtr n;

    for (n = md ? md->children : NULL; n; n = n->next)
        if (lv_xml_is(n, "instance") && n->ns && n->ns->href &&
            !strcmp((const char *)n->ns->href, LV_XMLNS)) {
            f->marker = lv_marker_from_node(n);
            return;
        }
}

int lv_domain_facts_parse(lv_domain_facts **out, const char *xml,
                          vrt_error *err)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr dom, n, os;
    lv_domain_facts *f;
    char *s;
    int rc;

    *out = NULL;
    if ((rc = lv_xml_read(&doc, xml, "domain", err)) < 0)
        return rc;
    dom = xmlDocGetRootElement(doc);
    if (!lv_xml_is(dom, "domain")) {
        xmlFreeDoc(doc);
        return lv_err(err, VRT_E_INTERNAL,
                      "The domain XML has no <domain> root element.");
    }
    f = lv_xcalloc(1, sizeof(*f));
    f->type = lv_xml_get(dom, "type");
    f->name = lv_xml_text(lv_xml_child(dom, "name"));
    f->uuid = lv_xml_text(lv_xml_child(dom, "uuid"));
    if ((n = lv_xml_child(dom, "vcpu"))) {
        s = lv_xml_text(n);
        f->max_vcpus = s ? (uint32_t)strtoul(s, NULL, 10) : 0;
        free(s);
        s = lv_xml_get(n, "current");
        f->vcpus = s ? (uint32_t)strtoul(s, NULL, 10) : f->max_vcpus;
        free(s);
    }
    f->max_memory_kib = mem_kib(lv_xml_child(dom, "memory"));
    f->memory_kib = lv_xml_child(dom, "currentMemory")
                        ? mem_kib(lv_xml_child(dom, "currentMemory"))
                        : f->max_memory_kib;
    os = lv_xml_child(dom, "os");
    f->firmware = lv_xml_get(os, "firmware");
    f->arch = lv_xml_get(lv_xml_child(os, "type"), "arch");
    f->machine = lv_xml_get(lv_xml_child(os, "type"), "machine");
    f->kernel = lv_xml_text(lv_xml_child(os, "kernel"));
    facts_devices(f, lv_xml_child(dom, "devices"));
    facts_metadata(f, lv_xml_child(dom, "metadata"));
    xmlFreeDoc(doc);
    *out = f;
    return VRT_OK;
}

void lv_domain_facts_free(lv_domain_facts *f)
{
    size_t i;

    if (!f)
        return;
    for (i = 0; i < f->ndisks; i++) {
        lv_disk_fact *d = &f->disks[i];
        free(d->device);
        free(d->type);
        free(d->target);
        free(d->bus);
        free(d->file);
        free(d->pool);
        free(d->volume);
        free(d->format);
    }
    free(f->disks);
    for (i = 0; i < f->nnics; i++) {
        free(f->nics[i].type);
        free(f->nics[i].mac);
        free(f->nics[i].source);
        free(f->nics[i].model);
    }
    free(f->nics);
    for (i = 0; i < f->ngfx; i++) {
        free(f->gfx[i].type);
        free(f->gfx[i].listen);
    }
    free(f->gfx);
    free(f->type);
    free(f->name);
    free(f->uuid);
    free(f->firmware);
    free(f->arch);
    free(f->machine);
    free(f->kernel);
    lv_marker_free(f->marker);
    free(f);
}

const lv_disk_fact *lv_domain_facts_boot_disk(const lv_domain_facts *f)
{
    size_t i;

    for (i = 0; i < f->ndisks; i++)
        if (f->disks[i].device && !strcmp(f->disks[i].device, "disk") &&
            !f->disks[i].readonly)
            return &f->disks[i];
    return NULL;
}

const lv_disk_fact *lv_domain_facts_disk(const lv_domain_facts *f,
                                         const char *target)
{
    size_t i;

    if (!target)
        return lv_domain_facts_boot_disk(f);
    for (i = 0; i < f->ndisks; i++)
        if (f->disks[i].target && !strcmp(f->disks[i].target, target))
            return &f->disks[i];
    return NULL;
}

static void json_str(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
}

static cJSON *disks_json(const lv_domain_facts *f)
{
    cJSON *arr = cJSON_CreateArray(), *d;
    const lv_vol *v;
    size_t i;

    for (i = 0; i < f->ndisks; i++) {
        d = cJSON_CreateObject();
        json_str(d, "target", f->disks[i].target);
        json_str(d, "device", f->disks[i].device);
        json_str(d, "bus", f->disks[i].bus);
        json_str(d, "format", f->disks[i].format);
        json_str(d, "path", f->disks[i].file);
        json_str(d, "pool", f->disks[i].pool);
        json_str(d, "volume", f->disks[i].volume);
        cJSON_AddBoolToObject(d, "readonly", f->disks[i].readonly);
        if ((v = lv_marker_vol_by_target(f->marker, f->disks[i].target)))
            json_str(d, "role", v->role);
        cJSON_AddItemToArray(arr, d);
    }
    return arr;
}

static cJSON *nics_json(const lv_domain_facts *f)
{
    cJSON *arr = cJSON_CreateArray(), *d;
    size_t i;

    for (i = 0; i < f->nnics; i++) {
        d = cJSON_CreateObject();
        json_str(d, "type", f->nics[i].type);
        json_str(d, "mac", f->nics[i].mac);
        json_str(d, "source", f->nics[i].source);
        json_str(d, "model", f->nics[i].model);
        cJSON_AddItemToArray(arr, d);
    }
    return arr;
}

cJSON *lv_domain_facts_json(const lv_domain_facts *f)
{
    cJSON *o = cJSON_CreateObject(), *tags;
    size_t i;

    if (!o)
        lv_oom();
    json_str(o, "domainType", f->type);
    json_str(o, "name", f->name);
    json_str(o, "uuid", f->uuid);
    cJSON_AddNumberToObject(o, "vcpus", f->vcpus);
    cJSON_AddNumberToObject(o, "maxVcpus", f->max_vcpus);
    cJSON_AddNumberToObject(o, "memoryMiB", (double)(f->memory_kib / 1024));
    cJSON_AddNumberToObject(o, "maxMemoryMiB",
                            (double)(f->max_memory_kib / 1024));
    json_str(o, "firmware", f->firmware ? f->firmware : "bios");
    json_str(o, "arch", f->arch);
    json_str(o, "machine", f->machine);
    cJSON_AddBoolToObject(o, "managed", f->marker != NULL);
    if (f->marker) {
        json_str(o, "virtrigaudName", f->marker->name);
        json_str(o, "specHash", f->marker->spec_hash);
        tags = cJSON_AddArrayToObject(o, "tags");
        for (i = 0; i < f->marker->ntags; i++)
            cJSON_AddItemToArray(tags,
                                 cJSON_CreateString(f->marker->tags[i]));
    }
    cJSON_AddItemToObject(o, "disks", disks_json(f));
    cJSON_AddItemToObject(o, "interfaces", nics_json(f));
    json_str(o, "guestAgent", !f->agent ? "absent"
                              : f->agent_connected ? "connected"
                                                   : "disconnected");
    return o;
}
