/* lv_xml.c - see lv_xml.h. */
#include "lv_xml.h"
#include "lv_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>

xmlNodePtr lv_xml_add(xmlNodePtr parent, const char *name, const char *text)
{
    /* xmlNewTextChild escapes &, < and > in text */
    xmlNodePtr n = xmlNewTextChild(parent, NULL, BAD_CAST name,
                                   text ? BAD_CAST text : NULL);

    if (!n)
        lv_oom();
    return n;
}

xmlNodePtr lv_xml_add_u64(xmlNodePtr parent, const char *name, uint64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return lv_xml_add(parent, name, buf);
}

void lv_xml_set(xmlNodePtr node, const char *name, const char *value)
{
    if (value && !xmlSetProp(node, BAD_CAST name, BAD_CAST value))
        lv_oom();
}

void lv_xml_set_u64(xmlNodePtr node, const char *name, uint64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    lv_xml_set(node, name, buf);
}

int lv_xml_is(xmlNodePtr n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE &&
           !strcmp((const char *)n->name, name);
}

xmlNodePtr lv_xml_child(xmlNodePtr n, const char *name)
{
    xmlNodePtr c;

    for (c = n ? n->children : NULL; c; c = c->next)
        if (lv_xml_is(c, name))
            return c;
    return NULL;
}

xmlNodePtr lv_xml_next(xmlNodePtr n)
{
    xmlNodePtr c;

    for (c = n->next; c; c = c->next)
        if (lv_xml_is(c, (const char *)n->name))
            return c;
    return NULL;
}

char *lv_xml_get(xmlNodePtr n, const char *name)
{
    xmlChar *v = n ? xmlGetProp(n, BAD_CAST name) : NULL;
    char *s = lv_xstrdup((const char *)v);

    xmlFree(v);
    return s;
}

char *lv_xml_text(xmlNodePtr n)
{
    xmlChar *v = n ? xmlNodeGetContent(n) : NULL;
    char *s = lv_xstrdup((const char *)v);

    xmlFree(v);
    return s;
}

int lv_xml_read(xmlDocPtr *out, const char *xml, const char *what,
                vrt_error *err)
{
    const xmlError *e;
    const char *msg;
    size_t len = xml ? strlen(xml) : 0, n;

    *out = NULL;
    if (len > INT32_MAX)
        return lv_err(err, VRT_E_INVALID, "The %s XML is too large.", what);
    xmlResetLastError();
    *out = xmlReadMemory(xml ? xml : "", (int)len, NULL, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOBLANKS |
                             XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                             XML_PARSE_NOCDATA);
    if (*out && xmlDocGetRootElement(*out))
        return VRT_OK;
    e = xmlGetLastError();
    xmlFreeDoc(*out);
    *out = NULL;
    msg = e && e->message ? e->message : "empty document";
    n = strcspn(msg, "\n");
    return lv_err(err, VRT_E_INTERNAL,
                  "The %s XML could not be parsed: %.*s (line %d).", what,
                  (int)n, msg, e ? e->line : 0);
}

char *lv_xml_doc_string(xmlDocPtr doc)
{
    return lv_xml_node_string(doc, xmlDocGetRootElement(doc));
}

char *lv_xml_node_string(xmlDocPtr doc, xmlNodePtr node)
{
    xmlBufferPtr buf = xmlBufferCreate();
    char *s;

    if (!buf)
        lv_oom();
    xmlNodeDump(buf, doc, node, 0, 1);
    s = lv_xasprintf("%s\n", (const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return s;
}
