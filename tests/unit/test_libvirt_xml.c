/*
 * test_libvirt_xml.c - the libvirt provider's spec parsing and XML
 * generation, against golden files in tests/golden/libvirt/.
 *
 * Every generated domain, volume and snapshot document is also validated
 * against libvirt's own RelaxNG schemas (/usr/share/libvirt/schemas, from
 * libvirt0), so a golden file cannot silently hold XML libvirt rejects.
 *
 * Regenerate the golden files after an intended change with
 *     VRT_REGEN_GOLDEN=1 build/tests/test_libvirt_xml
 * and review the diff.  VRT_GOLDEN_DIR overrides where they are read.
 */
#if !__has_include(<libxml/tree.h>)
/* Built without libxml2's include path: the Makefile's unit test rules
 * need TEST_libvirt_xml_PKGS (see plugins/libvirt/module.mk).  Fail
 * loudly rather than pass or break the whole build. */
#include <stdio.h>
int main(void);
int main(void)
{
    fputs("test_libvirt_xml: built without libxml-2.0; the unit test rules "
          "must add TEST_libvirt_xml_PKGS to the compile and link flags.\n",
          stderr);
    return 1;
}
#else
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libxml/relaxng.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "../../plugins/libvirt/lv_domain_xml.c"
#include "../../plugins/libvirt/lv_facts.c"
#include "../../plugins/libvirt/lv_plan.c"
#include "../../plugins/libvirt/lv_res_xml.c"
#include "../../plugins/libvirt/lv_spec.c"
#include "../../plugins/libvirt/lv_util.c"
#include "../../plugins/libvirt/lv_xml.c"

#define SCHEMA_DIR "/usr/share/libvirt/schemas"
#define GIB (1024ull * 1024 * 1024)

/* ---- golden files --------------------------------------------------------- */

static char *golden_path(const char *name)
{
    const char *dir = getenv("VRT_GOLDEN_DIR");
    const char *src = getenv("VRT_SRC_DIR");

    if (dir)
        return lv_xasprintf("%s/%s", dir, name);
    return lv_xasprintf("%s/tests/golden/libvirt/%s", src ? src : ".", name);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = lv_xcalloc(1, (size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* Compares actual with the golden file `name`, or rewrites the file when
 * VRT_REGEN_GOLDEN=1. */
static void golden(const char *name, const char *actual)
{
    char *path = golden_path(name), *want;
    const char *regen = getenv("VRT_REGEN_GOLDEN");
    FILE *f;

    if (regen && !strcmp(regen, "1")) {
        f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(actual, 1, strlen(actual), f),
                         strlen(actual));
        fclose(f);
        free(path);
        return;
    }
    want = read_file(path);
    if (!want)
        fail_msg("golden file %s is missing; create it with "
                 "VRT_REGEN_GOLDEN=1",
                 path);
    if (strcmp(want, actual)) {
        print_error("golden file %s differs; got:\n%s\n"
                    "(VRT_REGEN_GOLDEN=1 rewrites it after review)\n",
                    path, actual);
        fail();
    }
    free(want);
    free(path);
}

static char *fixture(const char *name)
{
    char *path = golden_path(name), *text = read_file(path);

    if (!text)
        fail_msg("fixture %s is missing", path);
    free(path);
    return text;
}

/* ---- schema validation ------------------------------------------------------ */

static void schema_valid(const char *schema, const char *xml)
{
    char *path = lv_xasprintf("%s/%s", SCHEMA_DIR, schema);
    xmlRelaxNGParserCtxtPtr pctx = xmlRelaxNGNewParserCtxt(path);
    xmlRelaxNGPtr rng = pctx ? xmlRelaxNGParse(pctx) : NULL;
    xmlRelaxNGValidCtxtPtr vctx = rng ? xmlRelaxNGNewValidCtxt(rng) : NULL;
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL,
                                  XML_PARSE_NONET);

    if (!vctx)
        fail_msg("cannot load libvirt schema %s (libvirt0 installed?)", path);
    assert_non_null(doc);
    if (xmlRelaxNGValidateDoc(vctx, doc) != 0)
        fail_msg("XML does not match %s:\n%s", schema, xml);
    xmlFreeDoc(doc);
    xmlRelaxNGFreeValidCtxt(vctx);
    xmlRelaxNGFree(rng);
    xmlRelaxNGFreeParserCtxt(pctx);
    free(path);
}

/* Text of the first node matching an XPath, or NULL (malloc'ed). */
static char *xpath_text(const char *xml, const char *expr)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, 0);
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr r;
    char *s = NULL;

    xmlXPathRegisterNs(ctx, BAD_CAST "vrt", BAD_CAST LV_XMLNS);
    r = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    if (r && r->nodesetval && r->nodesetval->nodeNr > 0)
        s = lv_xml_text(r->nodesetval->nodeTab[0]);
    xmlXPathFreeObject(r);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return s;
}

/* ---- helpers ------------------------------------------------------------------ */

static lv_spec *parse_ok(const char *json)
{
    vrt_error err = VRT_ERROR_INIT;
    lv_spec *s = NULL;

    if (lv_spec_parse(&s, json, &err) != VRT_OK)
        fail_msg("spec %s rejected: %s", json, err.message);
    return s;
}

/* Builds a domain the way create does: plan, then XML. */
static char *build(const char *name, const char *json, const char *type,
                   const lv_image_info *img, int seed, lv_marker **mout)
{
    vrt_error err = VRT_ERROR_INIT;
    lv_spec *s = parse_ok(json);
    lv_marker *m = lv_xcalloc(1, sizeof(*m));
    lv_xml_opts o = {type, "127.0.0.1"};
    char *xml = NULL;

    lv_plan_volumes(m, name, "sha256:0123abcd", s, "default", img, seed);
    assert_int_equal(lv_domain_xml_build(&xml, name, s, m, &o, &err), VRT_OK);
    lv_spec_free(s);
    if (mout)
        *mout = m;
    else
        lv_marker_free(m);
    return xml;
}

/* ---- domain XML ------------------------------------------------------------------ */

static void domain_minimal(void **state)
{
    char *xml = build("vm-min", "{}", "kvm", NULL, 0, NULL);

    (void)state;
    schema_valid("domain.rng", xml);
    golden("domain-minimal.xml", xml);
    free(xml);
}

static const char full_spec[] =
    "{\"cpu\":2,\"maxCpu\":4,\"memoryMiB\":1024,\"maxMemoryMiB\":2048,"
    "\"firmware\":\"UEFI\","
    "\"image\":{\"path\":\"/var/lib/libvirt/images/base.qcow2\","
    "\"format\":\"qcow2\",\"storagePool\":\"default\",\"sizeGiB\":10},"
    "\"disks\":[{\"name\":\"data\",\"sizeGiB\":20,\"type\":\"thick\"},"
    "{\"name\":\"logs\",\"sizeGiB\":5}],"
    "\"networks\":[{\"name\":\"lan\",\"network\":\"default\","
    "\"macAddress\":\"52:54:00:AA:BB:CC\"},"
    "{\"name\":\"br\",\"bridge\":\"br0\",\"model\":\"e1000\"},"
    "{\"name\":\"nat\"}],"
    "\"tags\":[\"web\",\"prod\"],\"domainType\":\"qemu\","
    "\"machine\":\"pc\",\"serial\":{\"logFile\":\"/var/log/vm-full.log\"}}";

static const lv_image_info full_img = {
    "/var/lib/libvirt/images/base.qcow2", "default", "base.qcow2", "qcow2",
    2 * GIB};

static void domain_full(void **state)
{
    lv_marker *m = NULL;
    char *xml = build("vm-full", full_spec, "qemu", &full_img, 1, &m);
    char *vol = NULL;
    vrt_error err = VRT_ERROR_INIT;

    (void)state;
    schema_valid("domain.rng", xml);
    golden("domain-full.xml", xml);

    /* the volumes: overlay boot disk, preallocated data disk, seed */
    assert_int_equal(m->nvols, 4);
    assert_string_equal(m->vols[0].name, "vm-full-boot.qcow2");
    assert_string_equal(m->vols[0].backing,
                        "/var/lib/libvirt/images/base.qcow2");
    assert_true(m->vols[0].capacity == 10 * GIB); /* grown past 2 GiB */
    assert_string_equal(m->vols[1].name, "vm-full-data-data.qcow2");
    assert_true(m->vols[1].preallocate);
    assert_false(m->vols[2].preallocate);
    assert_string_equal(m->vols[3].role, LV_ROLE_SEED);
    assert_string_equal(m->vols[3].target, "vdd");

    assert_int_equal(lv_volume_xml(&vol, &m->vols[0], &err), VRT_OK);
    schema_valid("storagevol.rng", vol);
    golden("volume-overlay.xml", vol);
    free(vol);
    assert_int_equal(lv_volume_xml(&vol, &m->vols[1], &err), VRT_OK);
    schema_valid("storagevol.rng", vol);
    golden("volume-thick.xml", vol);
    free(vol);
    lv_marker_free(m);
    free(xml);
}

static void domain_image_modes(void **state)
{
    lv_marker *m = NULL;
    char *xml;

    (void)state;
    /* attach: the image volume itself becomes the boot disk */
    xml = build("vm-attach",
                "{\"image\":{\"path\":\"/var/lib/libvirt/images/base.qcow2\","
                "\"mode\":\"attach\"}}",
                "kvm", &full_img, 0, &m);
    schema_valid("domain.rng", xml);
    golden("domain-attach.xml", xml);
    assert_string_equal(m->vols[0].name, "base.qcow2");
    assert_false(m->vols[0].create);
    lv_marker_free(m);
    free(xml);

    /* copy: a full copy, no backing store, at least the image's size */
    xml = build("vm-copy",
                "{\"image\":{\"path\":\"/var/lib/libvirt/images/base.qcow2\","
                "\"mode\":\"copy\"}}",
                "kvm", &full_img, 0, &m);
    assert_string_equal(m->vols[0].copy_from,
                        "/var/lib/libvirt/images/base.qcow2");
    assert_null(m->vols[0].backing);
    assert_true(m->vols[0].capacity == 2 * GIB);
    assert_true(m->vols[0].create);
    lv_marker_free(m);
    free(xml);
}

/* User text lands in the XML escaped, and reads back byte for byte. */
static void domain_hostile_input(void **state)
{
    const char *cmdline = "console=ttyS0 x=\"<a & b>\" y='c' ]]> &amp;";
    char *json = lv_xasprintf(
        "{\"kernel\":{\"path\":\"/boot/vmlinuz\",\"initrd\":\"/boot/i&d\","
        "\"cmdline\":\"console=ttyS0 x=\\\"<a & b>\\\" y='c' ]]> &amp;\"},"
        "\"tags\":[\"</vrt:tag><evil/>\",\"a&b\",\"\\\"q\\\"\"],"
        "\"serial\":{\"logFile\":\"/tmp/a'b\\\"c<d>.log\"},"
        "\"domainType\":\"test\"}");
    char *xml = build("vm-hostile", json, "test", NULL, 0, NULL), *got;

    (void)state;
    schema_valid("domain.rng", xml);
    golden("domain-hostile.xml", xml);
    got = xpath_text(xml, "/domain/os/cmdline");
    assert_non_null(got);
    assert_string_equal(got, cmdline);
    free(got);
    got = xpath_text(xml, "/domain/metadata/vrt:instance/vrt:tags/vrt:tag");
    assert_string_equal(got, "</vrt:tag><evil/>");
    free(got);
    got = xpath_text(xml, "//evil");
    assert_null(got);
    free(json);
    free(xml);
}

/* ---- marker ---------------------------------------------------------------------- */

static void marker_roundtrip(void **state)
{
    lv_marker *m = NULL, *back = NULL;
    vrt_error err = VRT_ERROR_INIT;
    char *xml = build("vm-full", full_spec, "qemu", &full_img, 1, &m);
    char *md = NULL;
    size_t i;

    (void)state;
    free(xml);
    assert_int_equal(lv_marker_xml(&md, m, &err), VRT_OK);
    golden("marker.xml", md);
    assert_int_equal(lv_marker_parse(&back, md, &err), VRT_OK);
    assert_string_equal(back->name, "vm-full");
    assert_string_equal(back->spec_hash, "sha256:0123abcd");
    assert_int_equal(back->ntags, 2);
    assert_string_equal(back->tags[1], "prod");
    assert_int_equal(back->nvols, m->nvols);
    for (i = 0; i < m->nvols; i++) {
        assert_string_equal(back->vols[i].name, m->vols[i].name);
        assert_string_equal(back->vols[i].pool, m->vols[i].pool);
        assert_string_equal(back->vols[i].role, m->vols[i].role);
        assert_string_equal(back->vols[i].target, m->vols[i].target);
    }
    lv_marker_free(back);
    back = NULL;
    /* not our element, or no name: not a marker */
    assert_int_not_equal(lv_marker_parse(&back, "<other/>", &err), VRT_OK);
    assert_int_not_equal(
        lv_marker_parse(&back, "<instance><specHash>x</specHash></instance>",
                        &err),
        VRT_OK);
    assert_int_not_equal(lv_marker_parse(&back, "<instance", &err), VRT_OK);
    assert_null(back);
    lv_marker_free(m);
    free(md);
}

/* ---- facts read back ------------------------------------------------------------ */

static void facts_from_live_xml(void **state)
{
    char *xml = fixture("live-qemu.xml"), *json;
    lv_domain_facts *f = NULL;
    vrt_error err = VRT_ERROR_INIT;
    cJSON *o;

    (void)state;
    assert_int_equal(lv_domain_facts_parse(&f, xml, &err), VRT_OK);
    assert_int_equal(f->vcpus, 2);
    assert_int_equal(f->max_vcpus, 4);
    assert_true(f->memory_kib == 1048576);
    assert_true(f->agent && f->agent_connected);
    assert_int_equal(f->ngfx, 1);
    assert_int_equal(f->gfx[0].port, 5901);
    assert_non_null(f->marker);
    assert_string_equal(lv_domain_facts_boot_disk(f)->target, "vda");
    assert_string_equal(lv_domain_facts_disk(f, "vdb")->volume,
                        "web-1-data-data.qcow2");
    assert_null(lv_domain_facts_disk(f, "vdz"));
    o = lv_domain_facts_json(f);
    json = cJSON_Print(o);
    golden("live-qemu.json", json);
    cJSON_free(json);
    cJSON_Delete(o);
    lv_domain_facts_free(f);
    free(xml);

    /* a foreign domain: no marker, memory in other units */
    assert_int_equal(
        lv_domain_facts_parse(
            &f,
            "<domain type='kvm'><name>x</name><memory unit='GiB'>2</memory>"
            "<vcpu>3</vcpu><metadata><instance xmlns='urn:other'>"
            "<name>x</name></instance></metadata></domain>",
            &err),
        VRT_OK);
    assert_null(f->marker);
    assert_true(f->memory_kib == 2097152);
    assert_int_equal(f->vcpus, 3);
    lv_domain_facts_free(f);
    /* what libvirt really returned for a VM the plugin made */
    xml = fixture("live-qemu-captured.xml");
    assert_int_equal(lv_domain_facts_parse(&f, xml, &err), VRT_OK);
    assert_string_equal(f->type, "qemu");
    assert_int_equal(f->vcpus, 1);
    assert_int_equal(f->max_vcpus, 2);
    assert_int_equal(f->ndisks, 3);
    assert_true(f->agent && !f->agent_connected);
    assert_int_equal(f->gfx[0].port, 5900);
    assert_string_equal(f->gfx[0].listen, "127.0.0.1");
    assert_non_null(f->marker);
    assert_string_equal(f->marker->name, "web-cap");
    assert_string_equal(
        lv_marker_vol_by_target(f->marker, "vdc")->role, LV_ROLE_SEED);
    assert_string_equal(lv_domain_facts_boot_disk(f)->volume,
                        "web-cap-boot.qcow2");
    lv_domain_facts_free(f);
    free(xml);

    assert_int_equal(lv_domain_facts_parse(&f, "<pool/>", &err),
                     VRT_E_INTERNAL);
    assert_int_equal(lv_domain_facts_parse(&f, "not xml", &err),
                     VRT_E_INTERNAL);
    assert_non_null(strstr(err.message, "could not be parsed"));
}

/* ---- clone ---------------------------------------------------------------------- */

static void clone_rewrites_identity_and_disks(void **state)
{
    char *src = fixture("clone-source.xml"), *xml = NULL, *got;
    const char *drop[1] = {"vdc"};
    lv_marker m = {0};
    lv_vol *v;
    vrt_error err = VRT_ERROR_INIT;

    (void)state;
    m.name = "web-2";
    m.spec_hash = "sha256:feed";
    v = lv_marker_add_vol(&m);
    v->pool = lv_xstrdup("default");
    v->name = lv_xstrdup("web-2-boot.qcow2");
    v->role = lv_xstrdup(LV_ROLE_BOOT);
    v->target = lv_xstrdup("vda");
    v->format = lv_xstrdup("qcow2");
    assert_int_equal(lv_domain_xml_clone(&xml, src, "web-2", &m, drop, 1, 1,
                                         512, &err),
                     VRT_OK);
    schema_valid("domain.rng", xml);
    golden("clone.xml", xml);
    assert_null(strstr(xml, "<uuid>"));
    assert_null(strstr(xml, "52:54:00:11:22:33"));
    assert_null(strstr(xml, "web-1-cidata.iso"));
    assert_null(strstr(xml, "nvram"));
    assert_null(strstr(xml, "web-1-serial.log"));
    assert_non_null(strstr(xml, "urn:example:other")); /* kept */
    got = xpath_text(xml, "/domain/metadata/vrt:instance/vrt:name");
    assert_string_equal(got, "web-2");
    free(got);
    free(xml);
    free(src);

    /* the same on what libvirt really returned: seed dropped, disk moved */
    src = fixture("inactive-qemu-captured.xml");
    drop[0] = "vdc";
    assert_int_equal(lv_domain_xml_clone(&xml, src, "web-2", &m, drop, 1, 0,
                                         0, &err),
                     VRT_OK);
    schema_valid("domain.rng", xml);
    golden("clone-captured.xml", xml);
    assert_null(strstr(xml, "web-cap-cidata.iso"));
    assert_null(strstr(xml, "web-cap-boot.qcow2"));
    assert_non_null(strstr(xml, "web-cap-data-data.qcow2")); /* not mapped */
    got = xpath_text(xml, "/domain/vcpu");
    assert_string_equal(got, "2"); /* kept: no override */
    free(got);
    for (size_t i = 0; i < m.nvols; i++)
        lv_vol_clear(&m.vols[i]);
    free(m.vols);
    free(xml);
    free(src);
}

/* ---- snapshot and volume readers ---------------------------------------------- */

static void snapshot_and_volume_xml(void **state)
{
    char *xml = NULL, *format = NULL, *backing = NULL;
    vrt_error err = VRT_ERROR_INIT;

    (void)state;
    assert_int_equal(lv_snapshot_xml(&xml, "pre-upgrade",
                                     "Before <the> upgrade & reboot", &err),
                     VRT_OK);
    schema_valid("domainsnapshot.rng", xml);
    golden("snapshot.xml", xml);
    free(xml);
    assert_int_equal(
        lv_volume_read(&format, &backing,
                       "<volume><name>a</name><target><format type='qcow2'/>"
                       "</target><backingStore><path>/b.qcow2</path>"
                       "</backingStore></volume>",
                       &err),
        VRT_OK);
    assert_string_equal(format, "qcow2");
    assert_string_equal(backing, "/b.qcow2");
    free(format);
    free(backing);
    assert_int_equal(lv_volume_read(&format, &backing,
                                    "<volume><name>a</name></volume>", &err),
                     VRT_OK);
    assert_null(format);
    assert_null(backing);
}

/* ---- spec validation ---------------------------------------------------------- */

static void spec_rejects_bad_fields(void **state)
{
    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"[]", "not a JSON object"},
        {"{\"cpu\":0}", "\"cpu\""},
        {"{\"cpu\":1.5}", "\"cpu\""},
        {"{\"cpu\":\"2\"}", "\"cpu\""},
        {"{\"cpu\":4,\"maxCpu\":2}", "\"maxCpu\""},
        {"{\"memoryMiB\":8}", "\"memoryMiB\""},
        {"{\"firmware\":\"coreboot\"}", "\"firmware\""},
        {"{\"image\":{}}", "\"image.path\" is required"},
        {"{\"image\":{\"path\":\"../etc/passwd\"}}", "\"image.path\""},
        {"{\"image\":{\"path\":\"/a\",\"mode\":\"hardlink\"}}",
         "\"image.mode\""},
        {"{\"image\":{\"path\":\"/a\",\"mode\":\"attach\",\"sizeGiB\":5}}",
         "\"image.sizeGiB\""},
        {"{\"disks\":[{\"sizeGiB\":1}]}", "\"disks[0].name\" is required"},
        {"{\"disks\":[{\"name\":\"a/b\",\"sizeGiB\":1}]}", "\"disks[0].name\""},
        {"{\"disks\":[{\"name\":\"a\"}]}", "\"disks[0].sizeGiB\" is required"},
        {"{\"disks\":[{\"name\":\"a\",\"sizeGiB\":1},{\"name\":\"a\","
         "\"sizeGiB\":2}]}",
         "twice"},
        {"{\"disks\":[{\"name\":\"a\",\"sizeGiB\":1,\"type\":\"ramdisk\"}]}",
         "\"disks[0].type\""},
        {"{\"networks\":[{\"network\":\"a\",\"bridge\":\"b\"}]}", "both"},
        {"{\"networks\":[{\"macAddress\":\"01:00:5e:00:00:01\"}]}",
         "unicast"},
        {"{\"networks\":[{\"macAddress\":\"52:54:00:zz:00:01\"}]}",
         "macAddress"},
        {"{\"networks\":[{\"model\":\"Virtio\"}]}", "\"networks[0].model\""},
        {"{\"tags\":[1]}", "\"tags[0]\""},
        {"{\"kernel\":{\"path\":\"vmlinuz\"}}", "\"kernel.path\""},
        {"{\"kernel\":{\"cmdline\":\"x\"}}", "\"kernel.path\" is required"},
        {"{\"serial\":{\"logFile\":\"rel.log\"}}", "\"serial.logFile\""},
        {"{\"domainType\":\"KVM\"}", "\"domainType\""},
        {"{\"adopt\":\"yes\"}", "\"adopt\""},
        {"{\"kernel\":{\"path\":\"/k\",\"cmdline\":\"a\\u0001b\"}}",
         "control character"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vrt_error err = VRT_ERROR_INIT;
        lv_spec *s = NULL;
        int rc = lv_spec_parse(&s, bad[i].json, &err);
        if (rc != VRT_E_INVALID || s || !strstr(err.message, bad[i].needle))
            fail_msg("spec %s: rc=%d message \"%s\", wanted \"%s\"",
                     bad[i].json, rc, err.message, bad[i].needle);
    }
}

static void spec_defaults(void **state)
{
    lv_spec *s = parse_ok("{\"networks\":[{}],\"firmware\":\"efi\"}");

    (void)state;
    assert_int_equal(s->cpu, 1);
    assert_int_equal(s->max_cpu, 2); /* room to hot-plug one more */
    assert_true(s->memory_mib == 512 && s->max_memory_mib == 512);
    assert_false(s->has_cpu);
    assert_true(s->uefi);
    assert_string_equal(s->arch, "x86_64");
    assert_string_equal(s->nics[0].name, "nic0");
    assert_string_equal(s->nics[0].model, "virtio");
    assert_null(s->nics[0].network);
    assert_int_equal(s->image_mode, LV_IMAGE_OVERLAY);
    lv_spec_free(s);
}

static void spec_cpu_headroom(void **state)
{
    lv_spec *s = parse_ok("{\"cpu\":700}");

    (void)state;
    assert_int_equal(s->max_cpu, LV_SPEC_MAX_CPU); /* capped */
    lv_spec_free(s);
    s = parse_ok("{\"cpu\":3,\"maxCpu\":3}");
    assert_int_equal(s->max_cpu, 3); /* the spec's word wins */
    lv_spec_free(s);
}

static void canonical_json_ignores_key_order(void **state)
{
    char *a = NULL, *b = NULL, *c = NULL;
    vrt_error err = VRT_ERROR_INIT;

    (void)state;
    assert_int_equal(
        lv_json_canonical(&a, "{\"b\":1,\"a\":{\"y\":[2,{\"q\":1,\"p\":0}],"
                              "\"x\":null}}",
                          &err),
        VRT_OK);
    assert_int_equal(
        lv_json_canonical(&b, " { \"a\" : {\"x\":null,\"y\":[2,{\"p\":0,"
                              "\"q\":1}]}, \"b\" : 1 } ",
                          &err),
        VRT_OK);
    assert_string_equal(a, b);
    assert_string_equal(a, "{\"a\":{\"x\":null,\"y\":[2,{\"p\":0,\"q\":1}]},"
                           "\"b\":1}");
    /* arrays keep their order: that is meaning, not formatting */
    assert_int_equal(lv_json_canonical(&c, "{\"a\":[1,2]}", &err), VRT_OK);
    assert_string_equal(c, "{\"a\":[1,2]}");
    free(c);
    assert_int_equal(lv_json_canonical(&c, "{\"a\":[2,1]}", &err), VRT_OK);
    assert_string_not_equal(c, "{\"a\":[1,2]}");
    free(a);
    free(b);
    free(c);
    assert_int_equal(lv_json_canonical(&a, "{", &err), VRT_E_INVALID);
}

/* ---- small helpers ---------------------------------------------------------- */

static void uri_passwords_never_shown(void **state)
{
    char buf[256];
    char msg[] = "failed to connect to qemu+tcp://admin:s3cret@host:16509/"
                 "system and ssh://u:pw@h";

    (void)state;
    lv_uri_redact(buf, sizeof(buf), "qemu+tls://root:hunter2@kvm1/system");
    assert_string_equal(buf, "qemu+tls://root@kvm1/system");
    lv_uri_redact(buf, sizeof(buf), "qemu+ssh://root@kvm1/system");
    assert_string_equal(buf, "qemu+ssh://root@kvm1/system");
    lv_uri_redact(buf, sizeof(buf), "qemu:///system");
    assert_string_equal(buf, "qemu:///system");
    lv_scrub(msg);
    assert_null(strstr(msg, "s3cret"));
    assert_null(strstr(msg, "pw@"));
    assert_non_null(strstr(msg, "qemu+tcp://admin@host:16509/system"));
}

static void names_and_ids(void **state)
{
    (void)state;
    assert_true(lv_is_uuid("6695eb01-f6a4-8304-79aa-97f2502e193f"));
    assert_false(lv_is_uuid("6695eb01-f6a4-8304-79aa-97f2502e193"));
    assert_false(lv_is_uuid("6695eb01-f6a4-8304-79aa-97f2502e193fa"));
    assert_false(lv_is_uuid("6695eb01xf6a4-8304-79aa-97f2502e193f"));
    assert_false(lv_is_uuid(NULL));
    assert_true(lv_name_ok("web-1.prod_a", 63));
    assert_false(lv_name_ok("-web", 63));
    assert_false(lv_name_ok("a/b", 63));
    assert_false(lv_name_ok("..", 63));
    assert_false(lv_name_ok("", 63));
    assert_false(lv_name_ok("abcd", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(domain_minimal),
        cmocka_unit_test(domain_full),
        cmocka_unit_test(domain_image_modes),
        cmocka_unit_test(domain_hostile_input),
        cmocka_unit_test(marker_roundtrip),
        cmocka_unit_test(facts_from_live_xml),
        cmocka_unit_test(clone_rewrites_identity_and_disks),
        cmocka_unit_test(snapshot_and_volume_xml),
        cmocka_unit_test(spec_rejects_bad_fields),
        cmocka_unit_test(spec_defaults),
        cmocka_unit_test(spec_cpu_headroom),
        cmocka_unit_test(canonical_json_ignores_key_order),
        cmocka_unit_test(uri_passwords_never_shown),
        cmocka_unit_test(names_and_ids),
    };

    xmlInitParser();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif /* __has_include(<libxml/tree.h>) */
