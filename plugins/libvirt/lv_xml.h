/*
 * lv_xml.h - thin helpers over libxml2's tree API: build elements whose
 * text and attributes libxml2 escapes, read untrusted XML without network
 * access or entity expansion, and copy strings out as malloc'ed memory.
 */
#ifndef LV_XML_H
#define LV_XML_H

#include <stdint.h>
#include <libxml/tree.h>
#include <virtrigaud/provider.h>

/* Appends <name>text</name> (text may be NULL) to parent. */
xmlNodePtr lv_xml_add(xmlNodePtr parent, const char *name, const char *text);
/* Same with an unsigned number as text. */
xmlNodePtr lv_xml_add_u64(xmlNodePtr parent, const char *name, uint64_t v);
/* Sets an attribute; a NULL value sets nothing. */
void lv_xml_set(xmlNodePtr node, const char *name, const char *value);
void lv_xml_set_u64(xmlNodePtr node, const char *name, uint64_t v);

/* First element child of n named `name` (any namespace), or NULL. */
xmlNodePtr lv_xml_child(xmlNodePtr n, const char *name);
/* Next element sibling after n with the same name, or NULL. */
xmlNodePtr lv_xml_next(xmlNodePtr n);
/* Attribute / text content as malloc'ed strings; NULL when absent. */
char *lv_xml_get(xmlNodePtr n, const char *name);
char *lv_xml_text(xmlNodePtr n);
/* Non-zero if the element is named `name`. */
int lv_xml_is(xmlNodePtr n, const char *name);

/* Parses untrusted XML quietly (no network, no entities, no DTD). */
__attribute__((warn_unused_result)) int
lv_xml_read(xmlDocPtr *out, const char *xml, const char *what,
            vrt_error *err);
/* Serialises a document (indented, no XML declaration) or one node. */
char *lv_xml_doc_string(xmlDocPtr doc);
char *lv_xml_node_string(xmlDocPtr doc, xmlNodePtr node);

#endif /* LV_XML_H */
