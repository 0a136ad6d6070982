/*
 * test_vsphere_xml.c - the vSphere provider's SOAP answer reading, spec
 * parsing and escaping: faults become codes, xsi:type is found by namespace
 * URI whatever its prefix (vcsim writes "XMLSchema-instance:type"), request
 * text is escaped, the spec fingerprint ignores key order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libxml/parser.h>

#include "../../plugins/vsphere/vs_util.c"
#include "../../plugins/vsphere/vs_xml.c"
#include "../../plugins/vsphere/vs_config.c"

const vrt_host_api *vs_host;

#define ENV_HEAD                                                               \
    "<?xml version=\"1.0\"?><soapenv:Envelope "                               \
    "xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "            \
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body>"
#define ENV_TAIL "</soapenv:Body></soapenv:Envelope>"

static xmlDoc *parse(const char *s)
{
    xmlDoc *d = xmlReadMemory(s, (int)strlen(s), "t.xml", NULL,
                              XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    assert_non_null(d);
    return d;
}

static void fault_becomes_code(void **state)
{
    xmlDoc *d = parse(ENV_HEAD "<soapenv:Fault><faultcode>ServerFaultCode"
                      "</faultcode><faultstring>Login failure</faultstring>"
                      "<detail><InvalidLoginFault xmlns=\"urn:vim25\" "
                      "xsi:type=\"InvalidLogin\"/></detail></soapenv:Fault>"
                      ENV_TAIL);
    vrt_error err = VRT_ERROR_INIT;
    xmlNode *body = NULL;
    char fault[64];

    (void)state;
    assert_int_equal(vs_xml_body(&body, fault, d, "Logging in", &err),
                     VRT_E_UNAUTHORIZED);
    assert_null(body);
    assert_string_equal(fault, "InvalidLogin");
    assert_int_equal(err.code, VRT_E_UNAUTHORIZED);
    assert_non_null(strstr(err.message, "Login failure"));
    xmlFreeDoc(d);
}

/* The fault type by element name when there is no xsi:type at all. */
static void fault_without_type(void **state)
{
    xmlDoc *d = parse(ENV_HEAD "<soapenv:Fault><faultstring>x</faultstring>"
                      "<detail><ManagedObjectNotFoundFault xmlns=\"urn:vim25\">"
                      "<obj type=\"VirtualMachine\">vm-1</obj>"
                      "</ManagedObjectNotFoundFault></detail></soapenv:Fault>"
                      ENV_TAIL);
    vrt_error err = VRT_ERROR_INIT;
    xmlNode *body = NULL;
    char fault[64];

    (void)state;
    assert_int_equal(vs_xml_body(&body, fault, d, "Reading", &err),
                     VRT_E_NOTFOUND);
    assert_string_equal(fault, "ManagedObjectNotFound");
    xmlFreeDoc(d);
}

static void type_by_namespace_not_prefix(void **state)
{
    xmlDoc *d = parse(ENV_HEAD "<R xmlns=\"urn:vim25\"><val "
                      "xmlns:XMLSchema-instance=\"http://www.w3.org/2001/"
                      "XMLSchema-instance\" XMLSchema-instance:type="
                      "\"xsd:int\" type=\"Other\">4</val><w xmlns:xsi=\"urn:"
                      "not-xsi\" xsi:type=\"Wrong\">5</w></R>" ENV_TAIL);
    vrt_error err = VRT_ERROR_INIT;
    xmlNode *body = NULL;
    char buf[64];

    (void)state;
    assert_int_equal(vs_xml_body(&body, NULL, d, "Reading", &err), VRT_OK);
    assert_string_equal((const char *)body->name, "R");
    assert_string_equal(vs_xml_type(buf, sizeof(buf),
                                    vs_xml_child(body, "val")),
                        "int");
    assert_string_equal(vs_xml_ctext(buf, sizeof(buf), body, "val"), "4");
    /* an "xsi" prefix bound to another namespace is not xsi */
    assert_string_equal(vs_xml_type(buf, sizeof(buf), vs_xml_child(body, "w")),
                        "");
    xmlFreeDoc(d);
}

static void not_soap_is_an_error(void **state)
{
    xmlDoc *d = parse("<html><body>hello</body></html>");
    vrt_error err = VRT_ERROR_INIT;
    xmlNode *body = NULL;

    (void)state;
    assert_int_equal(vs_xml_body(&body, NULL, d, "Reading", &err),
                     VRT_E_INTERNAL);
    assert_non_null(strstr(err.message, "not a SOAP envelope"));
    xmlFreeDoc(d);
}

static void escaping(void **state)
{
    vs_buf b = {0};

    (void)state;
    vs_buf_elem(&b, "name", "a<b>&\"c'\x01");
    assert_string_equal(b.s, "<name>a&lt;b&gt;&amp;&quot;c&apos;</name>");
    vs_buf_free(&b);
    vs_buf_esc(&b, "");
    assert_string_equal(b.s, "");
    vs_buf_free(&b);
}

static void spec_and_fingerprint(void **state)
{
    vs_spec *a = NULL, *b = NULL;
    vrt_error err = VRT_ERROR_INIT;

    (void)state;
    assert_int_equal(vs_spec_parse(&a, "{\"cpu\":2,\"memoryMiB\":1024,"
                                       "\"image\":{\"templateName\":\"t1\"},"
                                       "\"defaults\":{\"datastore\":\"d0\"},"
                                       "\"placement\":{\"datastore\":\"d1\"}}",
                                   &err),
                     VRT_OK);
    assert_int_equal(a->cpu, 2);
    assert_int_equal(a->memory_mib, 1024);
    assert_string_equal(a->template_name, "t1");
    assert_string_equal(a->datastore, "d1"); /* placement wins */
    assert_int_equal(vs_spec_parse(&b, "{\"placement\":{\"datastore\":\"d1\"},"
                                       "\"defaults\":{\"datastore\":\"d0\"},"
                                       "\"image\":{\"templateName\":\"t1\"},"
                                       "\"memoryMiB\":1024,\"cpu\":2}",
                                   &err),
                     VRT_OK);
    assert_string_equal(a->hash, b->hash);
    vs_spec_free(b);
    b = NULL;
    assert_int_equal(vs_spec_parse(&b, "{\"cpu\":3}", &err), VRT_OK);
    assert_string_not_equal(a->hash, b->hash);
    vs_spec_free(a);
    vs_spec_free(b);
    assert_int_equal(vs_spec_parse(&a, "[1]", &err), VRT_E_INVALID);
    assert_null(a);
    assert_int_equal(vs_spec_parse(&a, "{\"cpu\":0}", &err), VRT_E_INVALID);
    assert_non_null(strstr(err.message, "\"cpu\""));
}

static void ids_and_urls(void **state)
{
    char u[37], out[128];

    (void)state;
    vs_uuid_new(u);
    assert_true(vs_is_uuid(u));
    assert_int_equal(u[14], '4');
    assert_false(vs_is_uuid("vm-42"));
    vs_url_redact(out, sizeof(out), "https://user:secret@vc.example/sdk");
    assert_string_equal(out, "https://vc.example/sdk");
    assert_null(strstr(out, "secret"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fault_becomes_code),
        cmocka_unit_test(fault_without_type),
        cmocka_unit_test(type_by_namespace_not_prefix),
        cmocka_unit_test(not_soap_is_an_error),
        cmocka_unit_test(escaping),
        cmocka_unit_test(spec_and_fingerprint),
        cmocka_unit_test(ids_and_urls),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    xmlCleanupParser();
    return rc;
}
