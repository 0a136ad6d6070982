/* lv_res_xml.c - storage volume and snapshot XML (see lv_domain_xml.h). */
#include "lv_domain_xml.h"
#include "lv_util.h"
#include "lv_xml.h"

#include <stdlib.h>
#include <string.h>

static xmlDocPtr new_doc(const char *root_name, xmlNodePtr *root)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");

    if (!doc || !(*root = xmlNewDocNode(doc, NULL, BAD_CAST root_name, NULL)))
        lv_oom();
    xmlDocSetRootElement(doc, *root);
    return doc;
}

int lv_volume_xml(char **out, const lv_vol *v, vrt_error *err)
{
    xmlNodePtr vol, n;
    xmlDocPtr doc = new_doc("volume", &vol);

    (void)err;
    lv_xml_add(vol, "name", v->name);
    lv_xml_set(lv_xml_add_u64(vol, "capacity", v->capacity), "unit", "bytes");
    /* allocation = capacity asks the pool to preallocate */
    lv_xml_set(lv_xml_add_u64(vol, "allocation",
                              v->preallocate ? v->capacity : 0),
               "unit", "bytes");
    n = lv_xml_add(vol, "target", NULL);
    lv_xml_set(lv_xml_add(n, "format", NULL), "type", v->format);
    /* qcow2 v3: libvirt would make v2 (0.10), which cannot grow once it
     * holds internal snapshots */
    if (v->format && !strcmp(v->format, "qcow2"))
        lv_xml_add(n, "compat", "1.1");
    if (v->backing) {
        n = lv_xml_add(vol, "backingStore", NULL);
        lv_xml_add(n, "path", v->backing);
        if (v->backing_format)
            lv_xml_set(lv_xml_add(n, "format", NULL), "type",
                       v->backing_format);
    }
    *out = lv_xml_doc_string(doc);
    xmlFreeDoc(doc);
    return VRT_OK;
}

int lv_snapshot_xml(char **out, const char *name, const char *description,
                    vrt_error *err)
{
    xmlNodePtr snap;
    xmlDocPtr doc = new_doc("domainsnapshot", &snap);

    (void)err;
    lv_xml_add(snap, "name", name);
    if (description && description[0])
        lv_xml_add(snap, "description", description);
    *out = lv_xml_doc_string(doc);
    xmlFreeDoc(doc);
    return VRT_OK;
}

int lv_volume_read(char **format, char **backing, const char *vol_xml,
                   vrt_error *err)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr root;
    int rc;

    if (format)
        *format = NULL;
    if (backing)
        *backing = NULL;
    if ((rc = lv_xml_read(&doc, vol_xml, "storage volume", err)) < 0)
        return rc;
    root = xmlDocGetRootElement(doc);
    if (format)
        *format = lv_xml_get(
            lv_xml_child(lv_xml_child(root, "target"), "format"), "type");
    if (backing)
        *backing = lv_xml_text(
            lv_xml_child(lv_xml_child(root, "backingStore"), "path"));
    xmlFreeDoc(doc);
    return VRT_OK;
}
