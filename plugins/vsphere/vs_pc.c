/*
 * vs_pc.c - reads through the PropertyCollector (see vs.h).
 *
 * Listing goes through one ContainerView of every VirtualMachine, made once
 * per session: one RetrievePropertiesEx returns all VMs with the
 * properties asked for (more round trips only when the server pages the
 * answer), never one call per VM.  A single VM is found by its
 * instanceUuid through the SearchIndex, then read in one call.
 */
#include "vs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VS_PAGE_OBJECTS 1000

static const char *const vm_props[] = {
    "name",          "config.instanceUuid", "runtime.powerState",
    "config.template", "config.hardware.numCPU", "config.hardware.memoryMB",
    "guest.net",     "resourcePool",        "parent",
    "runtime.host",
};
static const char *const vm_props_full[] = {"config.extraConfig",
                                            "snapshot"};

void vs_vm_pathset(vs_buf *b, int full)
{
    size_t i;

    vs_buf_add(b, "<propSet><type>VirtualMachine</type>");
    for (i = 0; i < sizeof(vm_props) / sizeof(vm_props[0]); i++)
        vs_buf_elem(b, "pathSet", vm_props[i]);
    for (i = 0; full && i < sizeof(vm_props_full) / sizeof(vm_props_full[0]);
         i++)
        vs_buf_elem(b, "pathSet", vm_props_full[i]);
    vs_buf_add(b, "</propSet>");
}

static int power_of(const char *s)
{
    if (!strcmp(s, "poweredOn"))
        return VRT_POWER_ON;
    if (!strcmp(s, "poweredOff"))
        return VRT_POWER_OFF;
    if (!strcmp(s, "suspended"))
        return VRT_POWER_SUSPENDED;
    return VRT_POWER_UNKNOWN;
}

static void ips_of(vs_vm *vm, const xmlNode *val)
{
    const xmlNode *nic, *ip;
    char buf[VRT_IP_MAX];

    for (nic = vs_xml_child(val, "GuestNicInfo"); nic;
         nic = vs_xml_next(nic, "GuestNicInfo"))
        for (ip = vs_xml_child(nic, "ipAddress"); ip;
             ip = vs_xml_next(ip, "ipAddress")) {
            if (vm->ip_count >= VRT_IPS_MAX)
                return;
            vs_xml_text(buf, sizeof(buf), ip);
            if (buf[0])
                vs_strlcpy(vm->ips[vm->ip_count++], buf, VRT_IP_MAX);
        }
}

static void marker_of(vs_vm *vm, const xmlNode *val)
{
    const xmlNode *o;
    char key[64];

    for (o = vs_xml_child(val, "OptionValue"); o;
         o = vs_xml_next(o, "OptionValue")) {
        vs_xml_ctext(key, sizeof(key), o, "key");
        if (!strcmp(key, "virtrigaud.spec"))
            vs_xml_ctext(vm->spec_hash, sizeof(vm->spec_hash), o, "value");
    }
}

void vs_vm_from_xml(vs_vm *vm, const char *ref, const xmlNode *objects)
{
    const xmlNode *ps, *val;
    char name[64], text[VRT_NAME_MAX];

    memset(vm, 0, sizeof(*vm));
    vs_strlcpy(vm->ref, ref, sizeof(vm->ref));
    for (ps = vs_xml_child(objects, "propSet"); ps;
         ps = vs_xml_next(ps, "propSet")) {
        vs_xml_ctext(name, sizeof(name), ps, "name");
        val = vs_xml_child(ps, "val");
        if (!strcmp(name, "guest.net")) {
            ips_of(vm, val);
            continue;
        }
        if (!strcmp(name, "config.extraConfig")) {
            marker_of(vm, val);
            continue;
        }
        if (!strcmp(name, "snapshot")) {
            vm->snapshot = val;
            continue;
        }
        vs_xml_text(text, sizeof(text), val);
        if (!strcmp(name, "name"))
            vs_strlcpy(vm->name, text, sizeof(vm->name));
        else if (!strcmp(name, "config.instanceUuid"))
            vs_strlcpy(vm->uuid, text, sizeof(vm->uuid));
        else if (!strcmp(name, "runtime.powerState"))
            vm->power = power_of(text);
        else if (!strcmp(name, "config.template"))
            vm->is_template = !strcmp(text, "true");
        else if (!strcmp(name, "config.hardware.numCPU"))
            vm->cpus = (uint32_t)strtoul(text, NULL, 10);
        else if (!strcmp(name, "config.hardware.memoryMB"))
            vm->memory_mib = strtoull(text, NULL, 10);
        else if (!strcmp(name, "resourcePool"))
            vs_strlcpy(vm->pool, text, sizeof(vm->pool));
        else if (!strcmp(name, "parent"))
            vs_strlcpy(vm->parent, text, sizeof(vm->parent));
        else if (!strcmp(name, "runtime.host"))
            vs_strlcpy(vm->host, text, sizeof(vm->host));
    }
}

/* Calls fn for each <objects> of a RetrievePropertiesEx returnval; *stop
 * set when fn asked to stop; the token (if any) copied out. */
static int each_object(int *stop, char *token, size_t token_size,
                       const xmlNode *ret, vs_obj_fn fn, void *opaque)
{
    const xmlNode *o;
    char type[64], ref[VS_REF_MAX];

    vs_xml_ctext(token, token_size, ret, "token");
    for (o = vs_xml_child(ret, "objects"); o; o = vs_xml_next(o, "objects")) {
        const xmlNode *obj = vs_xml_child(o, "obj");
        xmlChar *t = obj ? xmlGetNoNsProp(obj, (const xmlChar *)"type") : NULL;
        vs_strlcpy(type, t ? (const char *)t : "", sizeof(type));
        xmlFree(t);
        vs_xml_text(ref, sizeof(ref), obj);
        if (fn(opaque, type, ref, o)) {
            *stop = 1;
            return VRT_OK;
        }
    }
    return VRT_OK;
}

int vs_pc_retrieve(vrt_conn *c, const vrt_call *call, const char *specset,
                   vs_obj_fn fn, void *opaque, const char *what,
                   vrt_error *err)
{
    char pc[VS_REF_MAX], token[512] = "";
    xmlDoc *doc = NULL;
    xmlNode *resp;
    vs_buf b = {0};
    int rc, stop = 0;

    if ((rc = vs_session_ensure(c, call, err)) < 0)
        return rc;
    vs_refs(c, NULL, pc, NULL, NULL);
    vs_buf_add(&b, "<RetrievePropertiesEx xmlns=\"urn:vim25\">"
                   "<_this type=\"PropertyCollector\">");
    vs_buf_esc(&b, pc);
    vs_buf_add(&b, "</_this><specSet>%s</specSet><options><maxObjects>%d"
                   "</maxObjects></options></RetrievePropertiesEx>",
               specset, VS_PAGE_OBJECTS);
    for (;;) {
        if ((rc = vs_soap(&doc, &resp, NULL, c, call, b.s, what, err)) < 0)
            break;
        each_object(&stop, token, sizeof(token),
                    vs_xml_child(resp, "returnval"), fn, opaque);
        xmlFreeDoc(doc);
        doc = NULL;
        if (!token[0])
            break;
        b.len = 0;
        vs_buf_add(&b, "<%sRetrievePropertiesEx xmlns=\"urn:vim25\">"
                       "<_this type=\"PropertyCollector\">",
                   stop ? "Cancel" : "Continue");
        vs_buf_esc(&b, pc);
        vs_buf_add(&b, "</_this>");
        vs_buf_elem(&b, "token", token);
        vs_buf_add(&b, "</%sRetrievePropertiesEx>",
                   stop ? "Cancel" : "Continue");
        if (stop) {
            vrt_error ignore = VRT_ERROR_INIT;
            if (vs_soap(&doc, &resp, NULL, c, call, b.s, what, &ignore) == 0)
                xmlFreeDoc(doc);
            doc = NULL;
            break;
        }
    }
    xmlFreeDoc(doc);
    vs_buf_free(&b);
    return rc;
}

/* Makes a ContainerView of `type` under the root folder. */
static int view_create(char out[VS_REF_MAX], vrt_conn *c, const vrt_call *call,
                       const char *type, vrt_error *err)
{
    char root[VS_REF_MAX], views[VS_REF_MAX];
    xmlDoc *doc = NULL;
    xmlNode *resp;
    vs_buf b = {0};
    int rc;

    out[0] = '\0';
    if ((rc = vs_session_ensure(c, call, err)) < 0)
        return rc;
    vs_refs(c, root, NULL, views, NULL);
    vs_buf_add(&b, "<CreateContainerView xmlns=\"urn:vim25\">"
                   "<_this type=\"ViewManager\">");
    vs_buf_esc(&b, views);
    vs_buf_add(&b, "</_this><container type=\"Folder\">");
    vs_buf_esc(&b, root);
    vs_buf_add(&b, "</container><type>%s</type><recursive>true</recursive>"
                   "</CreateContainerView>",
               type);
    rc = vs_soap(&doc, &resp, NULL, c, call, b.s, "Creating a container view",
                 err);
    if (rc == VRT_OK)
        vs_xml_ctext(out, VS_REF_MAX, resp, "returnval");
    xmlFreeDoc(doc);
    vs_buf_free(&b);
    return rc;
}

static void view_destroy(vrt_conn *c, const vrt_call *call, const char *view)
{
    vrt_error ignore = VRT_ERROR_INIT;
    xmlDoc *doc = NULL;
    xmlNode *resp;
    vs_buf b = {0};

    vs_buf_add(&b, "<DestroyView xmlns=\"urn:vim25\"><_this "
                   "type=\"ContainerView\">");
    vs_buf_esc(&b, view);
    vs_buf_add(&b, "</_this></DestroyView>");
    if (vs_soap(&doc, &resp, NULL, c, call, b.s, "Destroying a view",
                &ignore) == 0)
        xmlFreeDoc(doc);
    vs_buf_free(&b);
}

static void view_specset(vs_buf *b, const char *view)
{
    vs_buf_add(b, "<objectSet><obj type=\"ContainerView\">");
    vs_buf_esc(b, view);
    vs_buf_add(b, "</obj><skip>true</skip><selectSet "
                  "xsi:type=\"TraversalSpec\"><type>ContainerView</type>"
                  "<path>view</path><skip>false</skip></selectSet>"
                  "</objectSet>");
}

int vs_vm_each(vrt_conn *c, const vrt_call *call, int full, vs_obj_fn fn,
               void *opaque, vrt_error *err)
{
    char view[VS_REF_MAX];
    vs_buf b = {0};
    int rc = VRT_OK, attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        if ((rc = vs_session_ensure(c, call, err)) < 0)
            break;
        pthread_mutex_lock(&c->lock);
        vs_strlcpy(view, c->vm_view, sizeof(view));
        pthread_mutex_unlock(&c->lock);
        if (!view[0]) {
            if ((rc = view_create(view, c, call, "VirtualMachine", err)) < 0)
                break;
            pthread_mutex_lock(&c->lock);
            if (c->vm_view[0]) { /* another thread was faster */
                pthread_mutex_unlock(&c->lock);
                view_destroy(c, call, view);
                pthread_mutex_lock(&c->lock);
                vs_strlcpy(view, c->vm_view, sizeof(view));
            } else {
                vs_strlcpy(c->vm_view, view, sizeof(c->vm_view));
            }
            pthread_mutex_unlock(&c->lock);
        }
        b.len = 0;
        vs_vm_pathset(&b, full);
        view_specset(&b, view);
        rc = vs_pc_retrieve(c, call, b.s, fn, opaque, "Listing VMs", err);
        if (rc != VRT_E_NOTFOUND)
            break;
        /* the view went with an old session: make a new one */
        pthread_mutex_lock(&c->lock);
        if (!strcmp(c->vm_view, view))
            c->vm_view[0] = '\0';
        pthread_mutex_unlock(&c->lock);
    }
    vs_buf_free(&b);
    return rc;
}

/* ---- one VM by id ---------------------------------------------------------- */

typedef struct get_ctx {
    vs_vm *vm;
    int found;
} get_ctx;

static int get_one(void *opaque, const char *type, const char *ref,
                   const xmlNode *objects)
{
    get_ctx *g = opaque;

    (void)type;
    vs_vm_from_xml(g->vm, ref, objects);
    g->found = 1;
    return 1;
}

static int find_by_uuid(char ref[VS_REF_MAX], vrt_conn *c,
                        const vrt_call *call, const char *uuid,
                        vrt_error *err)
{
    char search[VS_REF_MAX];
    xmlDoc *doc = NULL;
    xmlNode *resp;
    vs_buf b = {0};
    int rc;

    ref[0] = '\0';
    if ((rc = vs_session_ensure(c, call, err)) < 0)
        return rc;
    vs_refs(c, NULL, NULL, NULL, search);
    vs_buf_add(&b, "<FindByUuid xmlns=\"urn:vim25\"><_this "
                   "type=\"SearchIndex\">");
    vs_buf_esc(&b, search);
    vs_buf_add(&b, "</_this>");
    vs_buf_elem(&b, "uuid", uuid);
    vs_buf_add(&b, "<vmSearch>true</vmSearch><instanceUuid>true"
                   "</instanceUuid></FindByUuid>");
    rc = vs_soap(&doc, &resp, NULL, c, call, b.s, "Looking up a VM by id",
                 err);
    if (rc == VRT_OK)
        vs_xml_ctext(ref, VS_REF_MAX, resp, "returnval");
    xmlFreeDoc(doc);
    vs_buf_free(&b);
    return rc;
}

int vs_vm_get(vs_vm *vm, int *found, xmlDoc **docp, vrt_conn *c,
              const vrt_call *call, const char *id, vrt_error *err)
{
    char ref[VS_REF_MAX], pc[VS_REF_MAX];
    get_ctx g = {vm, 0};
    xmlDoc *doc = NULL;
    xmlNode *resp, *ret;
    vs_buf b = {0};
    int rc;

    memset(vm, 0, sizeof(*vm));
    *found = 0;
    if (docp)
        *docp = NULL;
    if (!vs_is_uuid(id))
        return VRT_OK;
    if ((rc = find_by_uuid(ref, c, call, id, err)) < 0 || !ref[0])
        return rc;
    vs_refs(c, NULL, pc, NULL, NULL);
    vs_buf_add(&b, "<RetrievePropertiesEx xmlns=\"urn:vim25\">"
                   "<_this type=\"PropertyCollector\">");
    vs_buf_esc(&b, pc);
    vs_buf_add(&b, "</_this><specSet>");
    vs_vm_pathset(&b, 1);
    vs_buf_add(&b, "<objectSet><obj type=\"VirtualMachine\">");
    vs_buf_esc(&b, ref);
    vs_buf_add(&b, "</obj></objectSet></specSet><options/>"
                   "</RetrievePropertiesEx>");
    rc = vs_soap(&doc, &resp, NULL, c, call, b.s, "Reading a VM", err);
    if (rc == VRT_E_NOTFOUND) /* deleted between the two calls */
        rc = VRT_OK;
    else if (rc == VRT_OK && (ret = vs_xml_child(resp, "returnval"))) {
        int stop = 0;
        char token[8];
        each_object(&stop, token, sizeof(token), ret, get_one, &g);
    }
    vs_buf_free(&b);
    /* a VM being created may not have its config yet */
    *found = g.found && !strcasecmp(vm->uuid, id);
    if (*found && docp)
        *docp = doc;
    else {
        xmlFreeDoc(doc);
        vm->snapshot = NULL;
    }
    return rc;
}

int vs_vm_need(vs_vm *vm, xmlDoc **doc, vrt_conn *c, const vrt_call *call,
               const char *id, vrt_error *err)
{
    int found = 0, rc;

    if (!id || !vs_is_uuid(id))
        return vs_err(err, VRT_E_INVALID,
                      "VM id \"%.64s\" is not a vSphere instance UUID.",
                      id ? id : "");
    if ((rc = vs_vm_get(vm, &found, doc, c, call, id, err)) < 0)
        return rc;
    if (!found)
        return vs_err(err, VRT_E_NOTFOUND, "VM \"%s\" does not exist.", id);
    return VRT_OK;
}

/* ---- other objects ---------------------------------------------------------- */

typedef struct named_ctx {
    const char *name;
    char *ref;
} named_ctx;

static int match_name(void *opaque, const char *type, const char *ref,
                      const xmlNode *objects)
{
    named_ctx *n = opaque;
    char name[VRT_NAME_MAX];

    (void)type;
    vs_xml_ctext(name, sizeof(name), vs_xml_child(objects, "propSet"), "val");
    if (strcmp(name, n->name))
        return 0;
    vs_strlcpy(n->ref, ref, VS_REF_MAX);
    return 1;
}

int vs_each_of_type(vrt_conn *c, const vrt_call *call, const char *type,
                    const char *const *paths, size_t npaths, vs_obj_fn fn,
                    void *opaque, const char *what, vrt_error *err)
{
    char view[VS_REF_MAX];
    vs_buf b = {0};
    size_t i;
    int rc;

    if ((rc = view_create(view, c, call, type, err)) < 0)
        return rc;
    vs_buf_add(&b, "<propSet><type>%s</type>", type);
    for (i = 0; i < npaths; i++)
        vs_buf_elem(&b, "pathSet", paths[i]);
    vs_buf_add(&b, "</propSet>");
    view_specset(&b, view);
    rc = vs_pc_retrieve(c, call, b.s, fn, opaque, what, err);
    view_destroy(c, call, view);
    vs_buf_free(&b);
    return rc;
}

int vs_find_named(char ref[VS_REF_MAX], vrt_conn *c, const vrt_call *call,
                  const char *type, const char *name, const char *what,
                  vrt_error *err)
{
    static const char *const paths[] = {"name"};
    named_ctx n = {name, ref};
    int rc;

    ref[0] = '\0';
    rc = vs_each_of_type(c, call, type, paths, 1, match_name, &n,
                         "Looking up a name", err);
    if (rc == VRT_OK && !ref[0])
        rc = vs_err(err, VRT_E_NOTFOUND, "The %s \"%s\" does not exist.",
                    what, name);
    return rc;
}

typedef struct prop_ctx {
    char *out, *type;
} prop_ctx;

static int first_prop(void *opaque, const char *type, const char *ref,
                      const xmlNode *objects)
{
    prop_ctx *p = opaque;

    const xmlNode *val = vs_xml_child(vs_xml_child(objects, "propSet"), "val");
    xmlChar *t = val ? xmlGetNoNsProp(val, (const xmlChar *)"type") : NULL;

    (void)type;
    (void)ref;
    vs_xml_text(p->out, VS_REF_MAX, val);
    if (p->type)
        vs_strlcpy(p->type, t ? (const char *)t : "", 64);
    xmlFree(t);
    return 1;
}

int vs_get_ref_prop(char out[VS_REF_MAX], char out_type[64], vrt_conn *c,
                    const vrt_call *call, const char *type, const char *ref,
                    const char *path, vrt_error *err)
{
    prop_ctx p = {out, out_type};
    vs_buf b = {0};
    int rc;

    out[0] = '\0';
    if (out_type)
        out_type[0] = '\0';
    vs_buf_add(&b, "<propSet><type>%s</type>", type);
    vs_buf_elem(&b, "pathSet", path);
    vs_buf_add(&b, "</propSet><objectSet><obj type=\"%s\">", type);
    vs_buf_esc(&b, ref);
    vs_buf_add(&b, "</obj></objectSet>");
    rc = vs_pc_retrieve(c, call, b.s, first_prop, &p, "Reading a property",
                        err);
    vs_buf_free(&b);
    return rc;
}
