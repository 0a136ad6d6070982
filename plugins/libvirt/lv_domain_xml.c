/* lv_domain_xml.c - domain XML and our marker (see lv_domain_xml.h). */
#include "lv_domain_xml.h"
#include "lv_util.h"
#include "lv_xml.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- marker -------------------------------------------------------------- */

void lv_vol_clear(lv_vol *v)
{
    if (!v)
        return;
    free(v->pool);
    free(v->name);
    free(v->role);
    free(v->disk);
    free(v->target);
    free(v->format);
    free(v->backing);
    free(v->backing_format);
    free(v->copy_from);
    memset(v, 0, sizeof(*v));
}

void lv_marker_free(lv_marker *m)
{
    size_t i;

    if (!m)
        return;
    free(m->name);
    free(m->spec_hash);
    for (i = 0; i < m->ntags; i++)
        free(m->tags[i]);
    free(m->tags);
    for (i = 0; i < m->nvols; i++)
        lv_vol_clear(&m->vols[i]);
    free(m->vols);
    free(m);
}

lv_vol *lv_marker_add_vol(lv_marker *m)
{
    m->vols = lv_xrealloc(m->vols, m->nvols + 1, sizeof(*m->vols));
    memset(&m->vols[m->nvols], 0, sizeof(*m->vols));
    return &m->vols[m->nvols++];
}

const lv_vol *lv_marker_vol_by_target(const lv_marker *m, const char *target)
{
    size_t i;

    for (i = 0; m && target && i < m->nvols; i++)
        if (m->vols[i].target && !strcmp(m->vols[i].target, target))
            return &m->vols[i];
    return NULL;
}

/* Builds <instance> under parent, in namespace ns (NULL = none). */
static void marker_build(xmlNodePtr parent, xmlNsPtr ns, const lv_marker *m)
{
    xmlNodePtr inst, tags, vols, v;
    size_t i;

    inst = xmlNewChild(parent, ns, BAD_CAST "instance", NULL);
    if (!inst)
        lv_oom();
    if (ns)
        xmlSetNs(inst, ns);
    lv_xml_add(inst, "name", m->name);
    if (m->spec_hash)
        lv_xml_add(inst, "specHash", m->spec_hash);
    if (m->ntags) {
        tags = lv_xml_add(inst, "tags", NULL);
        for (i = 0; i < m->ntags; i++)
            lv_xml_add(tags, "tag", m->tags[i]);
    }
    if (m->nvols) {
        vols = lv_xml_add(inst, "volumes", NULL);
        for (i = 0; i < m->nvols; i++) {
            v = lv_xml_add(vols, "volume", NULL);
            lv_xml_set(v, "pool", m->vols[i].pool);
            lv_xml_set(v, "name", m->vols[i].name);
            lv_xml_set(v, "role", m->vols[i].role);
            lv_xml_set(v, "disk", m->vols[i].disk);
            lv_xml_set(v, "target", m->vols[i].target);
            lv_xml_set(v, "format", m->vols[i].format);
        }
    }
}

/* lv_xml_add puts children in no namespace; give the whole subtree ns. */
static void set_ns_tree(xmlNodePtr n, xmlNsPtr ns)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE) {
            xmlSetNs(n, ns);
            set_ns_tree(n->children, ns);
        }
}

int lv_marker_xml(char **out, const lv_marker *m, vrt_error *err)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewDocNode(doc, NULL, BAD_CAST "wrap", NULL);

    (void)err;
    xmlDocSetRootElement(doc, root);
    marker_build(root, NULL, m);
    *out = lv_xml_node_string(doc, root->children);
    xmlFreeDoc(doc);
    return VRT_OK;
}

lv_marker *lv_marker_from_node(xmlNodePtr inst)
{
    lv_marker *m = lv_xcalloc(1, sizeof(*m));
    xmlNodePtr n;
    lv_vol *v;

    m->name = lv_xml_text(lv_xml_child(inst, "name"));
    m->spec_hash = lv_xml_text(lv_xml_child(inst, "specHash"));
    for (n = lv_xml_child(lv_xml_child(inst, "tags"), "tag"); n;
         n = lv_xml_next(n)) {
        m->tags = lv_xrealloc(m->tags, m->ntags + 1, sizeof(*m->tags));
        m->tags[m->ntags++] = lv_xml_text(n);
    }
    for (n = lv_xml_child(lv_xml_child(inst, "volumes"), "volume"); n;
         n = lv_xml_next(n)) {
        v = lv_marker_add_vol(m);
        v->pool = lv_xml_get(n, "pool");
        v->name = lv_xml_get(n, "name");
        v->role = lv_xml_get(n, "role");
        v->disk = lv_xml_get(n, "disk");
        v->target = lv_xml_get(n, "target");
        v->format = lv_xml_get(n, "format");
    }
    if (!m->name || !m->name[0]) {
        /* a marker without a name is not one of ours */
        lv_marker_free(m);
        return NULL;
    }
    return m;
}

int lv_marker_parse(lv_marker **out, const char *xml, vrt_error *err)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr root;
    int rc;

    *out = NULL;
    if ((rc = lv_xml_read(&doc, xml, "virtrigaud metadata", err)) < 0)
        return rc;
    root = xmlDocGetRootElement(doc);
    if (lv_xml_is(root, "instance"))
        *out = lv_marker_from_node(root);
    xmlFreeDoc(doc);
    if (!*out)
        return lv_err(err, VRT_E_INTERNAL,
                      "The virtrigaud metadata of the domain is malformed.");
    return VRT_OK;
}

/* ---- new domain ---------------------------------------------------------- */

static void build_os(xmlNodePtr dom, const lv_spec *s)
{
    xmlNodePtr os = lv_xml_add(dom, "os", NULL), type;

    if (s->uefi)
        lv_xml_set(os, "firmware", "efi");
    type = lv_xml_add(os, "type", "hvm");
    lv_xml_set(type, "arch", s->arch);
    lv_xml_set(type, "machine", s->machine);
    if (s->kernel) {
        lv_xml_add(os, "kernel", s->kernel);
        if (s->initrd)
            lv_xml_add(os, "initrd", s->initrd);
        if (s->cmdline)
            lv_xml_add(os, "cmdline", s->cmdline);
    } else {
        lv_xml_set(lv_xml_add(os, "boot", NULL), "dev", "hd");
    }
}

static void build_disk(xmlNodePtr devs, const lv_vol *v)
{
    xmlNodePtr d = lv_xml_add(devs, "disk", NULL), n;

    lv_xml_set(d, "type", "volume");
    lv_xml_set(d, "device", "disk");
    n = lv_xml_add(d, "driver", NULL);
    lv_xml_set(n, "name", "qemu");
    lv_xml_set(n, "type", v->format);
    n = lv_xml_add(d, "source", NULL);
    lv_xml_set(n, "pool", v->pool);
    lv_xml_set(n, "volume", v->name);
    n = lv_xml_add(d, "target", NULL);
    lv_xml_set(n, "dev", v->target);
    lv_xml_set(n, "bus", "virtio");
    if (!strcmp(v->role, LV_ROLE_SEED))
        lv_xml_add(d, "readonly", NULL);
}

static void build_nic(xmlNodePtr devs, const lv_nic_spec *nic)
{
    xmlNodePtr i = lv_xml_add(devs, "interface", NULL), n;

    if (nic->mac)
        lv_xml_set(lv_xml_add(i, "mac", NULL), "address", nic->mac);
    if (nic->network) {
        lv_xml_set(i, "type", "network");
        lv_xml_set(lv_xml_add(i, "source", NULL), "network", nic->network);
    } else if (nic->bridge) {
        lv_xml_set(i, "type", "bridge");
        lv_xml_set(lv_xml_add(i, "source", NULL), "bridge", nic->bridge);
    } else {
        lv_xml_set(i, "type", "user");
    }
    n = lv_xml_add(i, "model", NULL);
    lv_xml_set(n, "type", nic->model);
}

static void build_devices(xmlNodePtr dom, const lv_spec *s,
                          const lv_marker *m, const lv_xml_opts *o)
{
    xmlNodePtr devs = lv_xml_add(dom, "devices", NULL), n, c;
    size_t i;

    for (i = 0; i < m->nvols; i++)
        build_disk(devs, &m->vols[i]);
    for (i = 0; i < s->nnics; i++)
        build_nic(devs, &s->nics[i]);

    /* a serial console, logged to a file when the spec asks */
    n = lv_xml_add(devs, "serial", NULL);
    lv_xml_set(n, "type", "pty");
    if (s->serial_log) {
        c = lv_xml_add(n, "log", NULL);
        lv_xml_set(c, "file", s->serial_log);
        lv_xml_set(c, "append", "off");
    }
    lv_xml_set_u64(lv_xml_add(n, "target", NULL), "port", 0);
    n = lv_xml_add(devs, "console", NULL);
    lv_xml_set(n, "type", "pty");
    c = lv_xml_add(n, "target", NULL);
    lv_xml_set(c, "type", "serial");
    lv_xml_set_u64(c, "port", 0);

    /* the guest agent channel: IPs and quiesce when an agent runs */
    n = lv_xml_add(devs, "channel", NULL);
    lv_xml_set(n, "type", "unix");
    c = lv_xml_add(n, "target", NULL);
    lv_xml_set(c, "type", "virtio");
    lv_xml_set(c, "name", "org.qemu.guest_agent.0");

    if (o->vnc_listen) {
        n = lv_xml_add(devs, "graphics", NULL);
        lv_xml_set(n, "type", "vnc");
        lv_xml_set(n, "autoport", "yes");
        lv_xml_set(n, "listen", o->vnc_listen);
    }
    lv_xml_set(lv_xml_add(devs, "memballoon", NULL), "model", "virtio");
    n = lv_xml_add(devs, "rng", NULL);
    lv_xml_set(n, "model", "virtio");
    c = lv_xml_add(n, "backend", "/dev/urandom");
    lv_xml_set(c, "model", "random");
}

int lv_domain_xml_build(char **out, const char *name, const lv_spec *s,
                        const lv_marker *m, const lv_xml_opts *o,
                        vrt_error *err)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr dom, md, n;
    xmlNsPtr ns;

    (void)err;
    *out = NULL;
    dom = xmlNewDocNode(doc, NULL, BAD_CAST "domain", NULL);
    xmlDocSetRootElement(doc, dom);
    lv_xml_set(dom, "type", o->domain_type);
    lv_xml_add(dom, "name", name);

    md = lv_xml_add(dom, "metadata", NULL);
    marker_build(md, NULL, m);
    ns = xmlNewNs(md->children, BAD_CAST LV_XMLNS, BAD_CAST LV_XMLNS_PREFIX);
    set_ns_tree(md->children, ns);

    lv_xml_set(lv_xml_add_u64(dom, "memory", s->max_memory_mib), "unit",
               "MiB");
    lv_xml_set(lv_xml_add_u64(dom, "currentMemory", s->memory_mib), "unit",
               "MiB");
    n = lv_xml_add_u64(dom, "vcpu", s->max_cpu);
    lv_xml_set(n, "placement", "static");
    if (s->max_cpu > s->cpu)
        lv_xml_set_u64(n, "current", s->cpu);
    build_os(dom, s);
    n = lv_xml_add(dom, "features", NULL);
    lv_xml_add(n, "acpi", NULL); /* graceful shutdown needs ACPI */
    lv_xml_add(n, "apic", NULL);
    lv_xml_set(lv_xml_add(dom, "clock", NULL), "offset", "utc");
    lv_xml_add(dom, "on_poweroff", "destroy");
    lv_xml_add(dom, "on_reboot", "restart");
    lv_xml_add(dom, "on_crash", "destroy");
    build_devices(dom, s, m, o);

    *out = lv_xml_doc_string(doc);
    xmlFreeDoc(doc);
    return VRT_OK;
}

/* ---- clone --------------------------------------------------------------- */

static void unlink_free(xmlNodePtr n)
{
    if (n) {
        xmlUnlinkNode(n);
        xmlFreeNode(n);
    }
}

static void set_text(xmlNodePtr n, uint64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
    xmlNodeSetContent(n, BAD_CAST buf);
}

static void clone_resources(xmlNodePtr dom, uint32_t cpu, uint64_t mem_mib)
{
    xmlNodePtr n;

    if (cpu && (n = lv_xml_child(dom, "vcpu"))) {
        set_text(n, cpu);
        xmlUnsetProp(n, BAD_CAST "current");
    }
    if (mem_mib) {
        if ((n = lv_xml_child(dom, "memory"))) {
            set_text(n, mem_mib);
            lv_xml_set(n, "unit", "MiB");
        }
        if ((n = lv_xml_child(dom, "currentMemory"))) {
            set_text(n, mem_mib);
            lv_xml_set(n, "unit", "MiB");
        }
    }
}

static int dropped(const char *target, const char *const *drop, size_t n)
{
    size_t i;

    for (i = 0; target && i < n; i++)
        if (!strcmp(drop[i], target))
            return 1;
    return 0;
}

/* Points disk d at volume v, forgetting its old source and chain. */
static void clone_disk(xmlNodePtr d, const lv_vol *v)
{
    xmlNodePtr n;

    lv_xml_set(d, "type", "volume");
    while ((n = lv_xml_child(d, "source")))
        unlink_free(n);
    while ((n = lv_xml_child(d, "backingStore")))
        unlink_free(n);
    n = xmlNewNode(NULL, BAD_CAST "source");
    if (!n)
        lv_oom();
    lv_xml_set(n, "pool", v->pool);
    lv_xml_set(n, "volume", v->name);
    /* keep <driver> first, as libvirt writes it */
    if (lv_xml_child(d, "driver"))
        xmlAddNextSibling(lv_xml_child(d, "driver"), n);
    else if (d->children)
        xmlAddPrevSibling(d->children, n);
    else
        xmlAddChild(d, n);
    if ((n = lv_xml_child(d, "driver")) && v->format)
        lv_xml_set(n, "type", v->format);
}

static void clone_devices(xmlNodePtr devs, const lv_marker *m,
                          const char *const *drop, size_t ndrop)
{
    xmlNodePtr n, next;
    char *target;
    const lv_vol *v;

    for (n = devs ? devs->children : NULL; n; n = next) {
        next = n->next;
        if (lv_xml_is(n, "disk")) {
            target = lv_xml_get(lv_xml_child(n, "target"), "dev");
            if (dropped(target, drop, ndrop))
                unlink_free(n);
            else if ((v = lv_marker_vol_by_target(m, target)))
                clone_disk(n, v);
            free(target);
        } else if (lv_xml_is(n, "interface")) {
            unlink_free(lv_xml_child(n, "mac"));
            unlink_free(lv_xml_child(n, "target"));
        } else if (lv_xml_is(n, "graphics")) {
            xmlUnsetProp(n, BAD_CAST "port");
            xmlUnsetProp(n, BAD_CAST "websocket");
        } else if (lv_xml_is(n, "serial") || lv_xml_is(n, "console")) {
            /* a log file belongs to the source VM; two writers would mix */
            unlink_free(lv_xml_child(n, "log"));
        }
    }
}

int lv_domain_xml_clone(char **out, const char *src_xml, const char *new_name,
                        const lv_marker *m, const char *const *drop,
                        size_t ndrop, uint32_t cpu, uint64_t memory_mib,
                        vrt_error *err)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr dom, md, n, next;
    xmlNsPtr ns;
    int rc;

    *out = NULL;
    if ((rc = lv_xml_read(&doc, src_xml, "source domain", err)) < 0)
        return rc;
    dom = xmlDocGetRootElement(doc);
    if (!lv_xml_is(dom, "domain")) {
        xmlFreeDoc(doc);
        return lv_err(err, VRT_E_INTERNAL,
                      "The source domain XML has no <domain> root.");
    }
    /* the new <metadata> goes after <name>; libvirt always writes one */
    if (!lv_xml_child(dom, "name")) {
        xmlFreeDoc(doc);
        return lv_err(err, VRT_E_INTERNAL,
                      "The source domain XML has no <name>.");
    }
    xmlUnsetProp(dom, BAD_CAST "id");
    unlink_free(lv_xml_child(dom, "uuid"));
    unlink_free(lv_xml_child(dom, "genid"));
    xmlNodeSetContent(lv_xml_child(dom, "name"), NULL);
    xmlNodeAddContent(lv_xml_child(dom, "name"), BAD_CAST new_name);
    unlink_free(lv_xml_child(lv_xml_child(dom, "os"), "nvram"));

    /* replace the source's marker, keep other applications' metadata */
    md = lv_xml_child(dom, "metadata");
    if (!md) {
        md = xmlNewNode(NULL, BAD_CAST "metadata");
        if (!md)
            lv_oom();
        xmlAddNextSibling(lv_xml_child(dom, "name"), md);
    }
    for (n = md->children; n; n = next) {
        next = n->next;
        if (n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
            !strcmp((const char *)n->ns->href, LV_XMLNS))
            unlink_free(n);
    }
    marker_build(md, NULL, m);
    ns = xmlNewNs(md->last, BAD_CAST LV_XMLNS, BAD_CAST LV_XMLNS_PREFIX);
    set_ns_tree(md->last, ns);

    clone_resources(dom, cpu, memory_mib);
    clone_devices(lv_xml_child(dom, "devices"), m, drop, ndrop);
    *out = lv_xml_doc_string(doc);
    xmlFreeDoc(doc);
    return VRT_OK;
}
