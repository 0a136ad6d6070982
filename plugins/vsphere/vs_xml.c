/* vs_xml.c - reading vim25 SOAP responses with libxml2 (see vs.h).
 * Elements are matched by local name and attributes by namespace URI:
 * the prefix is whatever the server chose. */
#include "vs.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

xmlNode *vs_xml_next(const xmlNode *n, const char *local)
{
    for (n = n ? n->next : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE &&
            !strcmp((const char *)n->name, local))
            return (xmlNode *)n;
    return NULL;
}

xmlNode *vs_xml_child(const xmlNode *n, const char *local)
{
    const xmlNode *c;

    for (c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE &&
            !strcmp((const char *)c->name, local))
            return (xmlNode *)c;
    return NULL;
}

const char *vs_xml_text(char *buf, size_t size, const xmlNode *n)
{
    xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
    const char *s = (const char *)t;
    size_t len;

    buf[0] = '\0';
    if (!s)
        return buf;
    while (isspace((unsigned char)*s))
        s++;
    len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (len >= size)
        len = size - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    xmlFree(t);
    return buf;
}

const char *vs_xml_ctext(char *buf, size_t size, const xmlNode *n,
                         const char *local)
{
    return vs_xml_text(buf, size, vs_xml_child(n, local));
}

const char *vs_xml_type(char *buf, size_t size, const xmlNode *n)
{
    xmlChar *t = n ? xmlGetNsProp(n, (const xmlChar *)"type",
                                  (const xmlChar *)VS_NS_XSI)
                   : NULL;
    const char *s = (const char *)t, *colon;

    buf[0] = '\0';
    if (!s)
        return buf;
    colon = strchr(s, ':');
    vs_strlcpy(buf, colon ? colon + 1 : s, size);
    xmlFree(t);
    return buf;
}

int32_t vs_fault_code(const char *f)
{
    static const struct {
        const char *fault;
        int32_t code;
    } map[] = {
        {"InvalidLogin", VRT_E_UNAUTHORIZED},
        {"NotAuthenticated", VRT_E_UNAUTHORIZED},
        {"NoPermission", VRT_E_UNAUTHORIZED},
        {"InvalidLocale", VRT_E_INVALID},
        {"ManagedObjectNotFound", VRT_E_NOTFOUND},
        {"NotFound", VRT_E_NOTFOUND},
        {"FileNotFound", VRT_E_NOTFOUND},
        {"InvalidPowerState", VRT_E_CONFLICT},
        {"InvalidState", VRT_E_CONFLICT},
        {"TaskInProgress", VRT_E_CONFLICT},
        {"ConcurrentAccess", VRT_E_CONFLICT},
        {"ToolsUnavailable", VRT_E_CONFLICT},
        {"DuplicateName", VRT_E_EXISTS},
        {"AlreadyExists", VRT_E_EXISTS},
        {"FileAlreadyExists", VRT_E_EXISTS},
        {"InvalidArgument", VRT_E_INVALID},
        {"InvalidRequest", VRT_E_INVALID},
        {"InvalidProperty", VRT_E_INVALID},
        {"InvalidType", VRT_E_INVALID},
        {"InvalidName", VRT_E_INVALID},
        {"NotSupported", VRT_E_NOTSUPP},
        {"NotImplemented", VRT_E_NOTSUPP},
        {"MethodNotFound", VRT_E_NOTSUPP},
        {"MethodDisabled", VRT_E_CONFLICT},
        {"InsufficientResourcesFault", VRT_E_QUOTA},
        {"NoDiskSpace", VRT_E_QUOTA},
        {"OutOfBounds", VRT_E_INVALID},
        {"RequestCanceled", VRT_E_CANCELED},
        {"HostCommunication", VRT_E_UNAVAILABLE},
        {"HostNotConnected", VRT_E_UNAVAILABLE},
    };
    size_t i;

    for (i = 0; f && i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(f, map[i].fault))
            return map[i].code;
    return VRT_E_INTERNAL;
}

int vs_xml_body(xmlNode **out, char fault[64], xmlDoc *doc, const char *what,
                vrt_error *err)
{
    xmlNode *env = doc ? xmlDocGetRootElement(doc) : NULL, *body, *el, *det;
    char type[64], msg[200];

    *out = NULL;
    if (fault)
        fault[0] = '\0';
    body = vs_xml_child(env, "Body");
    if (!env || strcmp((const char *)env->name, "Envelope") || !env->ns ||
        strcmp((const char *)env->ns->href, VS_NS_SOAP) || !body)
        return vs_err(err, VRT_E_INTERNAL,
                      "%s: the server's answer is not a SOAP envelope.",
                      what);
    for (el = body->children; el && el->type != XML_ELEMENT_NODE;
         el = el->next)
        ;
    if (!el)
        return vs_err(err, VRT_E_INTERNAL,
                      "%s: the server's SOAP body is empty.", what);
    if (strcmp((const char *)el->name, "Fault") || !el->ns ||
        strcmp((const char *)el->ns->href, VS_NS_SOAP)) {
        *out = el;
        return VRT_OK;
    }
    /* <detail><XFault xsi:type="X">; the element name is the fallback */
    det = vs_xml_child(el, "detail");
    for (det = det ? det->children : NULL;
         det && det->type != XML_ELEMENT_NODE; det = det->next)
        ;
    vs_xml_type(type, sizeof(type), det);
    if (!type[0] && det) {
        size_t n = vs_strlcpy(type, (const char *)det->name, sizeof(type));
        if (n > 5 && n < sizeof(type) && !strcmp(type + n - 5, "Fault"))
            type[n - 5] = '\0';
    }
    vs_xml_ctext(msg, sizeof(msg), el, "faultstring");
    if (fault)
        vs_strlcpy(fault, type, 64);
    return vs_err(err, vs_fault_code(type), "%s: vSphere said %s%s%s%s.",
                  what, type[0] ? type : "a fault", msg[0] ? " (" : "", msg,
                  msg[0] ? ")" : "");
}
