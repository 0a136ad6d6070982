/*
 * fuzz_libvirt_xml.c - libFuzzer driver for the XML the libvirt provider
 * reads back from libvirtd (plugins/libvirt/lv_facts.c, lv_domain_xml.c,
 * lv_res_xml.c, lv_xml.c) and for its spec_json parser (lv_spec.c).  A
 * domain's XML may have been written by anyone with access to libvirtd,
 * so it is untrusted.
 *
 * XML input is read as domain facts, as our metadata marker and as a
 * volume, and is cloned; a clone must read back as a domain named as
 * asked.  Input starting with '{' is read as spec_json instead; a spec
 * that parses must build a domain XML that reads back with the same name
 * and vCPU count (nothing the user wrote can change the structure of the
 * document).  Text that XML cannot carry (bytes that are
 * not UTF-8, control characters) makes a document libxml2 and libvirt
 * refuse, an error rather than a crash, so such builds are not compared.
 */
#include "../../plugins/libvirt/lv_domain_xml.h"
#include "../../plugins/libvirt/lv_util.h"
#include "../../plugins/libvirt/lv_xml.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_lv_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_libvirt_xml: %s\n%s\n", what, detail ? detail : "");
    abort();
}

static void fuzz_lv_message(const vrt_error *err, const char *what)
{
    if (!err->message[0])
        fuzz_lv_fail(what, "the error has no message");
}

static void fuzz_lv_read(const char *xml)
{
    vrt_error err = VRT_ERROR_INIT;
    lv_domain_facts *f = NULL;
    if (lv_domain_facts_parse(&f, xml, &err) == VRT_OK) {
        cJSON *j = lv_domain_facts_json(f);
        char *s = cJSON_PrintUnformatted(j);
        if (!s)
            fuzz_lv_fail("the facts do not print as JSON", xml);
        cJSON_free(s);
        cJSON_Delete(j);
        (void)lv_domain_facts_boot_disk(f);
        (void)lv_domain_facts_disk(f, "vda");
        if (f->marker)
            (void)lv_marker_vol_by_target(f->marker, "vda");
    } else {
        fuzz_lv_message(&err, "facts");
    }
    lv_domain_facts_free(f);

    lv_marker *m = NULL;
    err = (vrt_error)VRT_ERROR_INIT;
    if (lv_marker_parse(&m, xml, &err) == VRT_OK) {
        char *back = NULL;
        if (lv_marker_xml(&back, m, &err) != VRT_OK)
            fuzz_lv_fail("a parsed marker does not build", xml);
        free(back);
    }
    lv_marker_free(m);

    char *format = NULL, *backing = NULL;
    err = (vrt_error)VRT_ERROR_INIT;
    if (lv_volume_read(&format, &backing, xml, &err) != VRT_OK)
        fuzz_lv_message(&err, "volume");
    free(format);
    free(backing);
}

static void fuzz_lv_clone(const char *xml)
{
    lv_marker m = {0};
    const char *drop[] = {"vdc"};
    char *out = NULL;
    vrt_error err = VRT_ERROR_INIT;
    m.name = "web-2";
    m.spec_hash = "sha256:feed";
    lv_vol *v = lv_marker_add_vol(&m);
    v->pool = lv_xstrdup("default");
    v->name = lv_xstrdup("web-2-boot.qcow2");
    v->role = lv_xstrdup(LV_ROLE_BOOT);
    v->target = lv_xstrdup("vda");
    v->format = lv_xstrdup("qcow2");
    if (lv_domain_xml_clone(&out, xml, "web-2", &m, drop, 1, 2, 512, &err) ==
        VRT_OK) {
        lv_domain_facts *f = NULL;
        if (lv_domain_facts_parse(&f, out, &err) != VRT_OK ||
            !f->name || strcmp(f->name, "web-2") != 0)
            fuzz_lv_fail("a clone does not read back as web-2", out);
        lv_domain_facts_free(f);
    } else if (!out) {
        fuzz_lv_message(&err, "clone");
    }
    free(out);
    for (size_t i = 0; i < m.nvols; i++)
        lv_vol_clear(&m.vols[i]);
    free(m.vols);
}

static void fuzz_lv_spec(const char *json)
{
    lv_spec *s = NULL;
    vrt_error err = VRT_ERROR_INIT;
    if (lv_spec_parse(&s, json, &err) != VRT_OK) {
        fuzz_lv_message(&err, "spec");
        return;
    }
    lv_marker *m = lv_xcalloc(1, sizeof(*m));
    lv_image_info img = {"/var/lib/libvirt/images/base.qcow2", "default",
                         "base.qcow2", "qcow2", 1u << 30};
    lv_xml_opts o = {"kvm", "127.0.0.1"};
    char *xml = NULL;
    lv_plan_volumes(m, "vm-1", "sha256:00", s, "default",
                    s->image_path ? &img : NULL, 1);
    if (lv_domain_xml_build(&xml, "vm-1", s, m, &o, &err) == VRT_OK) {
        lv_domain_facts *f = NULL;
        if (lv_domain_facts_parse(&f, xml, &err) == VRT_OK &&
            (!f->name || strcmp(f->name, "vm-1") != 0))
            fuzz_lv_fail("a built domain reads back with another name", xml);
        if (f && s->has_cpu && f->vcpus != s->cpu)
            fuzz_lv_fail("the vCPU count does not read back", xml);
        lv_domain_facts_free(f);
    } else if (!xml) {
        fuzz_lv_message(&err, "build");
    }
    free(xml);
    lv_marker_free(m);
    lv_spec_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    if (size && text[0] == '{') {
        fuzz_lv_spec(text);
    } else {
        fuzz_lv_read(text);
        fuzz_lv_clone(text);
    }
    free(text);
    return 0;
}
