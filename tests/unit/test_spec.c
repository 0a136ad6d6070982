/*
 * test_spec.c - core/controller/spec.c: Kubernetes quantities to MiB,
 * Go-style durations to seconds, and the spec_json document a provider
 * receives for a VirtualMachine resolved against its VMClass, VMImage and
 * Provider.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "controller/controller_internal.h"

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    if (!j)
        fail_msg("test JSON does not parse: %s", text);
    return j;
}

/* --- vrt_quantity_mib ----------------------------------------------------- */

static long long mib_of_string(const char *s)
{
    cJSON *q = cJSON_CreateString(s);
    long long v = vrt_quantity_mib(q);
    cJSON_Delete(q);
    return v;
}

static long long mib_of_number(double n)
{
    cJSON *q = cJSON_CreateNumber(n);
    long long v = vrt_quantity_mib(q);
    cJSON_Delete(q);
    return v;
}

static void test_quantity_binary_suffixes(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        long long want;
    } cases[] = {
        {"2Gi", 2048},
        {"512Mi", 512},
        {"2048Mi", 2048},
        {"1Ti", 1048576},
        {"1048576Ki", 1024},
        {"1.5Gi", 1536},
        {"0.5Gi", 512},
        {"1Ki", 0},       /* less than a MiB rounds down */
        {"1073741824", 1024}, /* a bare string number is bytes */
        {"+2Gi", 2048},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long long got = mib_of_string(cases[i].in);
        if (got != cases[i].want)
            fail_msg("\"%s\" -> %lld MiB, want %lld", cases[i].in, got,
                     cases[i].want);
    }
}

static void test_quantity_decimal_suffixes(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        long long want;
    } cases[] = {
        {"1G", 953},        /* 10^9 / 2^20 = 953.67 */
        {"512M", 488},      /* 512e6 / 2^20 = 488.28 */
        {"4000M", 3814},
        {"2T", 1907348},
        {"1048576k", 1000}, /* 1048576000 bytes */
        {"1048576K", 1000},
        {"1e9", 953},       /* exponent form, as the CRD's pattern allows */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long long got = mib_of_string(cases[i].in);
        if (got != cases[i].want)
            fail_msg("\"%s\" -> %lld MiB, want %lld", cases[i].in, got,
                     cases[i].want);
    }
}

static void test_quantity_numbers_are_bytes(void **state)
{
    (void)state;
    assert_int_equal(mib_of_number(2147483648.0), 2048);
    assert_int_equal(mib_of_number(1048576.0), 1);
    assert_int_equal(mib_of_number(1048575.0), 0);
    assert_int_equal(mib_of_number(0), 0);
    assert_int_equal(mib_of_number(-1), -1);
}

static void test_quantity_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "abc", "Gi", "2GB", "2 Gi", "2gi", "2Gi ", "-2Gi", "2Xi",
        "2Gii", "1.5.5Gi",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long long got = mib_of_string(bad[i]);
        if (got != -1)
            fail_msg("\"%s\" -> %lld, want -1 (invalid)", bad[i], got);
    }
    assert_int_equal(vrt_quantity_mib(NULL), -1);
    cJSON *b = cJSON_CreateTrue();
    assert_int_equal(vrt_quantity_mib(b), -1);
    cJSON_Delete(b);
    cJSON *o = parse("{\"memory\":\"2Gi\"}");
    assert_int_equal(vrt_quantity_mib(o), -1);
    cJSON_Delete(o);
}

static void test_quantity_not_a_finite_number(void **state)
{
    (void)state;
    /* strtod reads these, but none is a Kubernetes quantity, and turning
     * infinity or NaN into an integer is undefined behaviour. */
    static const char *const bad[] = {"inf", "Infinity", "nan", "NaNGi",
                                      "1e400", "0x10Gi"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long long got = mib_of_string(bad[i]);
        if (got != -1)
            fail_msg("\"%s\" -> %lld, want -1 (invalid)", bad[i], got);
    }
}

/* --- vrt_duration_s -------------------------------------------------------- */

static void test_duration_valid(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        long want;
    } cases[] = {
        {"60s", 60},   {"5m", 300},      {"1h30m", 5400}, {"1h", 3600},
        {"90s", 90},   {"2h0m5s", 7205}, {"1.5h", 5400},  {"0s", 0},
        {"500ms", 0},  {"1500ms", 1},    {"1m30s", 90},   {"0.5m", 30},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long got = vrt_duration_s(cases[i].in);
        if (got != cases[i].want)
            fail_msg("\"%s\" -> %ld s, want %ld", cases[i].in, got,
                     cases[i].want);
    }
}

static void test_duration_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {"bad", "", "60", "5x", "m", "1h30",
                                      "5m ", " ", "1d", "h1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long got = vrt_duration_s(bad[i]);
        if (got != -1)
            fail_msg("\"%s\" -> %ld, want -1 (invalid)", bad[i], got);
    }
    assert_int_equal(vrt_duration_s(NULL), -1);
}

static void test_duration_accepts_every_crd_form(void **state)
{
    (void)state;
    /* spec.lifecycle.gracefulShutdownTimeout's pattern in the CRD admits
     * a bare "0" and the units ns and us, as Go's time.ParseDuration does;
     * each must parse rather than fall back to a default. */
    static const struct {
        const char *in;
        long want;
    } cases[] = {
        {"0", 0}, {"250us", 0}, {"3000000000ns", 3}, {"1h0m0s", 3600},
        {".5m", 30},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long got = vrt_duration_s(cases[i].in);
        if (got != cases[i].want)
            fail_msg("\"%s\" -> %ld s, want %ld", cases[i].in, got,
                     cases[i].want);
    }
}

static void test_duration_not_a_finite_number(void **state)
{
    (void)state;
    static const char *const bad[] = {"infs", "nanm", "1e400h"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long got = vrt_duration_s(bad[i]);
        if (got != -1)
            fail_msg("\"%s\" -> %ld, want -1 (invalid)", bad[i], got);
    }
}

/* --- vrt_vm_spec_json ------------------------------------------------------ */

static const char *const VM_PLAIN =
    "{\"apiVersion\":\"infra.virtrigaud.io/v1beta1\",\"kind\":\"VirtualMachine\","
    "\"metadata\":{\"name\":\"web-1\",\"namespace\":\"prod\"},"
    "\"spec\":{\"providerRef\":{\"name\":\"p\"},\"classRef\":{\"name\":\"small\"},"
    "\"imageRef\":{\"name\":\"debian\"}}}";

static const char *const CLASS_SMALL =
    "{\"kind\":\"VMClass\",\"metadata\":{\"name\":\"small\"},"
    "\"spec\":{\"cpu\":2,\"memory\":\"2Gi\",\"firmware\":\"BIOS\"}}";

static const char *const IMAGE_ALL =
    "{\"kind\":\"VMImage\",\"metadata\":{\"name\":\"debian\"},"
    "\"spec\":{\"source\":{"
    "\"libvirt\":{\"path\":\"debian.qcow2\",\"storagePool\":\"default\","
    "\"format\":\"qcow2\"},"
    "\"vsphere\":{\"templateName\":\"debian-tmpl\"},"
    "\"proxmox\":{\"templateID\":9000},"
    "\"http\":{\"url\":\"https://example.invalid/d.qcow2\"}}}}";

static cJSON *provider_of(const char *type)
{
    char text[256];
    snprintf(text, sizeof(text),
             "{\"kind\":\"Provider\",\"metadata\":{\"name\":\"p\"},"
             "\"spec\":{\"type\":\"%s\",\"endpoint\":\"x://y\"}}",
             type);
    return parse(text);
}

/* Builds spec_json; fails the test when it is NULL. */
static cJSON *build(const char *vm, const char *cls, const char *image,
                    const char *type)
{
    cJSON *v = parse(vm), *c = parse(cls);
    cJSON *i = image ? parse(image) : NULL;
    cJSON *p = provider_of(type);
    char why[300] = "";
    cJSON *out = vrt_vm_spec_json(v, c, i, p, why, sizeof(why));
    cJSON_Delete(v);
    cJSON_Delete(c);
    cJSON_Delete(i);
    cJSON_Delete(p);
    if (!out)
        fail_msg("vrt_vm_spec_json failed: %s", why);
    return out;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *n = cJSON_GetObjectItem(o, key);
    if (!cJSON_IsNumber(n))
        fail_msg("spec_json.%s is not a number", key);
    return n->valuedouble;
}

static const char *str(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
    if (!s)
        fail_msg("spec_json.%s is not a string", key);
    return s;
}

static void test_spec_takes_cpu_and_memory_from_class(void **state)
{
    (void)state;
    cJSON *s = build(VM_PLAIN, CLASS_SMALL, IMAGE_ALL, "libvirt");
    assert_int_equal((int)num(s, "cpu"), 2);
    assert_int_equal((long long)num(s, "memoryMiB"), 2048);
    assert_string_equal(str(s, "firmware"), "BIOS");
    /* The class travels along for provider-specific keys. */
    const cJSON *cls = cJSON_GetObjectItem(s, "class");
    assert_non_null(cls);
    assert_string_equal(str(cls, "memory"), "2Gi");
    cJSON_Delete(s);

    /* An integer memory is bytes. */
    s = build(VM_PLAIN,
              "{\"metadata\":{\"name\":\"c\"},"
              "\"spec\":{\"cpu\":4,\"memory\":4294967296}}",
              NULL, "mock");
    assert_int_equal((int)num(s, "cpu"), 4);
    assert_int_equal((long long)num(s, "memoryMiB"), 4096);
    cJSON_Delete(s);
}

static void test_spec_vm_resources_override_class(void **state)
{
    (void)state;
    const char *vm =
        "{\"metadata\":{\"name\":\"big\"},"
        "\"spec\":{\"resources\":{\"cpu\":8,\"memoryMiB\":16384}}}";
    cJSON *s = build(vm, CLASS_SMALL, NULL, "mock");
    assert_int_equal((int)num(s, "cpu"), 8);
    assert_int_equal((long long)num(s, "memoryMiB"), 16384);
    cJSON_Delete(s);

    /* Each one alone overrides only itself. */
    s = build("{\"metadata\":{\"name\":\"a\"},"
              "\"spec\":{\"resources\":{\"cpu\":6}}}",
              CLASS_SMALL, NULL, "mock");
    assert_int_equal((int)num(s, "cpu"), 6);
    assert_int_equal((long long)num(s, "memoryMiB"), 2048);
    cJSON_Delete(s);
    s = build("{\"metadata\":{\"name\":\"a\"},"
              "\"spec\":{\"resources\":{\"memoryMiB\":1024}}}",
              CLASS_SMALL, NULL, "mock");
    assert_int_equal((int)num(s, "cpu"), 2);
    assert_int_equal((long long)num(s, "memoryMiB"), 1024);
    cJSON_Delete(s);

    /* The override makes an incomplete class usable. */
    s = build(vm, "{\"metadata\":{\"name\":\"empty\"},\"spec\":{}}", NULL,
              "mock");
    assert_int_equal((int)num(s, "cpu"), 8);
    cJSON_Delete(s);
}

static void test_spec_firmware(void **state)
{
    (void)state;
    static const struct {
        const char *fw, *want;
    } cases[] = {{"UEFI", "UEFI"}, {"EFI", "UEFI"}, {"BIOS", "BIOS"}};
    for (size_t i = 0; i < 3; i++) {
        char cls[256];
        snprintf(cls, sizeof(cls),
                 "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"cpu\":1,"
                 "\"memory\":\"1Gi\",\"firmware\":\"%s\"}}",
                 cases[i].fw);
        cJSON *s = build(VM_PLAIN, cls, NULL, "mock");
        assert_string_equal(str(s, "firmware"), cases[i].want);
        cJSON_Delete(s);
    }
    /* No firmware: BIOS, the CRD's default. */
    cJSON *s = build(VM_PLAIN,
                     "{\"metadata\":{\"name\":\"c\"},"
                     "\"spec\":{\"cpu\":1,\"memory\":\"1Gi\"}}",
                     NULL, "mock");
    assert_string_equal(str(s, "firmware"), "BIOS");
    cJSON_Delete(s);
}

static void test_spec_image_source_by_provider_type(void **state)
{
    (void)state;
    cJSON *s = build(VM_PLAIN, CLASS_SMALL, IMAGE_ALL, "libvirt");
    const cJSON *img = cJSON_GetObjectItem(s, "image");
    assert_non_null(img);
    assert_string_equal(str(img, "name"), "debian");
    assert_string_equal(str(img, "path"), "debian.qcow2");
    assert_string_equal(str(img, "storagePool"), "default");
    assert_string_equal(str(img, "format"), "qcow2");
    assert_null(cJSON_GetObjectItem(img, "templateName"));
    assert_null(cJSON_GetObjectItem(img, "url"));
    cJSON_Delete(s);

    s = build(VM_PLAIN, CLASS_SMALL, IMAGE_ALL, "vsphere");
    img = cJSON_GetObjectItem(s, "image");
    assert_string_equal(str(img, "templateName"), "debian-tmpl");
    assert_null(cJSON_GetObjectItem(img, "path"));
    cJSON_Delete(s);

    s = build(VM_PLAIN, CLASS_SMALL, IMAGE_ALL, "proxmox");
    img = cJSON_GetObjectItem(s, "image");
    assert_int_equal((int)num(img, "templateID"), 9000);
    cJSON_Delete(s);

    /* No source for this type: the generic http source. */
    s = build(VM_PLAIN, CLASS_SMALL, IMAGE_ALL, "mock");
    img = cJSON_GetObjectItem(s, "image");
    assert_string_equal(str(img, "name"), "debian");
    assert_string_equal(str(img, "url"), "https://example.invalid/d.qcow2");
    assert_null(cJSON_GetObjectItem(img, "path"));
    cJSON_Delete(s);

    /* No image at all (an imported disk): no image key. */
    s = build(VM_PLAIN, CLASS_SMALL, NULL, "libvirt");
    assert_null(cJSON_GetObjectItem(s, "image"));
    cJSON_Delete(s);
}

static void test_spec_copies_vm_fields_and_hints(void **state)
{
    (void)state;
    const char *vm =
        "{\"metadata\":{\"name\":\"w\",\"annotations\":{"
        "\"virtrigaud.io/nested-virtualization\":\"true\","
        "\"other.io/ignored\":\"x\",\"virtrigaud.io/n\":5}},"
        "\"spec\":{\"disks\":[{\"name\":\"data\",\"sizeGiB\":10}],"
        "\"networks\":[{\"name\":\"lan\"}],"
        "\"placement\":{\"host\":\"h1\"},\"tags\":[\"a\",\"b\"]}}";
    const char *prov_defaults =
        "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"type\":\"mock\","
        "\"defaults\":{\"datastore\":\"ds1\"}}}";
    cJSON *v = parse(vm), *c = parse(CLASS_SMALL), *p = parse(prov_defaults);
    char why[300] = "";
    cJSON *s = vrt_vm_spec_json(v, c, NULL, p, why, sizeof(why));
    cJSON_Delete(v);
    cJSON_Delete(c);
    cJSON_Delete(p);
    if (!s)
        fail_msg("vrt_vm_spec_json failed: %s", why);
    cJSON *want = parse("[{\"name\":\"data\",\"sizeGiB\":10}]");
    assert_true(cJSON_Compare(cJSON_GetObjectItem(s, "disks"), want, 1));
    cJSON_Delete(want);
    assert_string_equal(
        str(cJSON_GetArrayItem(cJSON_GetObjectItem(s, "networks"), 0), "name"),
        "lan");
    assert_string_equal(str(cJSON_GetObjectItem(s, "placement"), "host"), "h1");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s, "tags")), 2);
    assert_string_equal(str(cJSON_GetObjectItem(s, "defaults"), "datastore"),
                        "ds1");
    const cJSON *hints = cJSON_GetObjectItem(s, "hints");
    assert_non_null(hints);
    assert_string_equal(str(hints, "nested-virtualization"), "true");
    /* Only string annotations under virtrigaud.io/ pass. */
    assert_int_equal(cJSON_GetArraySize(hints), 1);
    cJSON_Delete(s);

    /* Without such annotations there is no hints object. */
    s = build(VM_PLAIN, CLASS_SMALL, NULL, "mock");
    assert_null(cJSON_GetObjectItem(s, "hints"));
    assert_null(cJSON_GetObjectItem(s, "disks"));
    cJSON_Delete(s);
}

static void test_spec_kernel_boot_and_serial_log(void **state)
{
    (void)state;
    const char *image =
        "{\"metadata\":{\"name\":\"appliance\",\"annotations\":{"
        "\"virtrigaud.io/kernel\":\"/boot/vmlinuz\","
        "\"virtrigaud.io/initrd\":\"/boot/initrd.img\","
        "\"virtrigaud.io/kernel-cmdline\":\"console=ttyS0\"}},"
        "\"spec\":{\"source\":{\"http\":{\"url\":\"http://x.invalid/a\"}}}}";
    const char *vm =
        "{\"metadata\":{\"name\":\"k\",\"annotations\":{"
        "\"virtrigaud.io/serial-log\":\"/var/log/k.log\"}},\"spec\":{}}";
    cJSON *s = build(vm, CLASS_SMALL, image, "libvirt");
    const cJSON *kern = cJSON_GetObjectItem(s, "kernel");
    assert_non_null(kern);
    assert_string_equal(str(kern, "path"), "/boot/vmlinuz");
    assert_string_equal(str(kern, "initrd"), "/boot/initrd.img");
    assert_string_equal(str(kern, "cmdline"), "console=ttyS0");
    assert_string_equal(str(cJSON_GetObjectItem(s, "serial"), "logFile"),
                        "/var/log/k.log");
    cJSON_Delete(s);

    /* A kernel alone; no serial log without the annotation. */
    s = build(VM_PLAIN, CLASS_SMALL,
              "{\"metadata\":{\"name\":\"a\",\"annotations\":{"
              "\"virtrigaud.io/kernel\":\"/k\"}},\"spec\":{}}",
              "libvirt");
    kern = cJSON_GetObjectItem(s, "kernel");
    assert_string_equal(str(kern, "path"), "/k");
    assert_null(cJSON_GetObjectItem(kern, "initrd"));
    assert_null(cJSON_GetObjectItem(kern, "cmdline"));
    assert_null(cJSON_GetObjectItem(s, "serial"));
    cJSON_Delete(s);

    /* An ordinary image boots from its disk. */
    s = build(VM_PLAIN, CLASS_SMALL, IMAGE_ALL, "libvirt");
    assert_null(cJSON_GetObjectItem(s, "kernel"));
    cJSON_Delete(s);
}

/* Expects NULL and a message containing every part given. */
static void expect_invalid(const char *vm, const char *cls,
                           const char *part1, const char *part2)
{
    cJSON *v = parse(vm), *c = parse(cls), *p = provider_of("mock");
    char why[300] = "";
    cJSON *s = vrt_vm_spec_json(v, c, NULL, p, why, sizeof(why));
    int got_null = s == NULL;
    cJSON_Delete(s);
    cJSON_Delete(v);
    cJSON_Delete(c);
    cJSON_Delete(p);
    if (!got_null)
        fail_msg("class %s was accepted; expected an error", cls);
    if (!strstr(why, part1) || (part2 && !strstr(why, part2)))
        fail_msg("message \"%s\" does not name \"%s\"%s%s", why, part1,
                 part2 ? " and " : "", part2 ? part2 : "");
}

static void test_spec_invalid_class(void **state)
{
    (void)state;
    expect_invalid(VM_PLAIN,
                   "{\"metadata\":{\"name\":\"nocpu\"},"
                   "\"spec\":{\"memory\":\"1Gi\"}}",
                   "\"nocpu\"", "cpu");
    expect_invalid(VM_PLAIN,
                   "{\"metadata\":{\"name\":\"zero\"},"
                   "\"spec\":{\"cpu\":0,\"memory\":\"1Gi\"}}",
                   "\"zero\"", "cpu");
    expect_invalid(VM_PLAIN,
                   "{\"metadata\":{\"name\":\"strcpu\"},"
                   "\"spec\":{\"cpu\":\"2\",\"memory\":\"1Gi\"}}",
                   "\"strcpu\"", "cpu");
    expect_invalid(VM_PLAIN,
                   "{\"metadata\":{\"name\":\"lots\"},"
                   "\"spec\":{\"cpu\":2,\"memory\":\"lots\"}}",
                   "\"lots\"", "memory");
    expect_invalid(VM_PLAIN,
                   "{\"metadata\":{\"name\":\"nomem\"},\"spec\":{\"cpu\":2}}",
                   "\"nomem\"", "memory");
    expect_invalid(VM_PLAIN,
                   "{\"metadata\":{\"name\":\"tiny\"},"
                   "\"spec\":{\"cpu\":2,\"memory\":\"512Ki\"}}",
                   "\"tiny\"", "memory");
}

/* --- vrt_spec_resolve_networks -------------------------------------------- */

static const char *nic_str(const cJSON *spec, int i, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(spec, "networks"), i), key));
}

static void test_networks_resolve_per_provider_type(void **state)
{
    (void)state;
    const char *nics =
        "{\"networks\":[{\"name\":\"a\",\"networkRef\":{\"name\":\"lan\"}},"
        "{\"name\":\"b\"},"
        "{\"name\":\"c\",\"networkRef\":{\"name\":\"br\"},\"model\":\"virtio\"}]}";
    const char *atts =
        "[{\"spec\":{\"network\":{\"libvirt\":{\"networkName\":\"default\"},"
        "\"vsphere\":{\"portgroup\":\"VM Network\"}},"
        "\"ipAllocation\":{\"type\":\"DHCP\"}}},"
        "null,"
        "{\"spec\":{\"network\":{\"libvirt\":{\"bridge\":{\"name\":\"br0\"},"
        "\"model\":\"e1000\"},\"proxmox\":{\"bridge\":\"vmbr1\"}}}}]";
    cJSON *a = parse(atts);

    cJSON *lv = parse(nics);
    vrt_spec_resolve_networks(lv, a, "libvirt");
    assert_string_equal(nic_str(lv, 0, "network"), "default");
    assert_null(nic_str(lv, 0, "bridge"));
    assert_non_null(cJSON_GetObjectItem(cJSON_GetArrayItem(
        cJSON_GetObjectItem(lv, "networks"), 0), "ipAllocation"));
    assert_null(nic_str(lv, 1, "network")); /* no networkRef: untouched */
    assert_string_equal(nic_str(lv, 2, "bridge"), "br0");
    /* The VM's own model wins over the attachment's. */
    assert_string_equal(nic_str(lv, 2, "model"), "virtio");
    cJSON_Delete(lv);

    cJSON *vs = parse(nics);
    vrt_spec_resolve_networks(vs, a, "vsphere");
    assert_string_equal(nic_str(vs, 0, "network"), "VM Network");
    /* No vsphere block in the second attachment: nothing invented. */
    assert_null(nic_str(vs, 2, "network"));
    assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(
        cJSON_GetObjectItem(vs, "networks"), 2), "attachment"));
    cJSON_Delete(vs);

    cJSON *px = parse(nics);
    vrt_spec_resolve_networks(px, a, "proxmox");
    assert_string_equal(nic_str(px, 2, "bridge"), "vmbr1");
    assert_null(nic_str(px, 0, "bridge"));
    cJSON_Delete(px);

    cJSON *none = parse("{}"); /* no networks at all */
    vrt_spec_resolve_networks(none, a, "libvirt");
    assert_null(cJSON_GetObjectItem(none, "networks"));
    cJSON_Delete(none);
    cJSON_Delete(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantity_binary_suffixes),
        cmocka_unit_test(test_quantity_decimal_suffixes),
        cmocka_unit_test(test_quantity_numbers_are_bytes),
        cmocka_unit_test(test_quantity_invalid),
        cmocka_unit_test(test_quantity_not_a_finite_number),
        cmocka_unit_test(test_duration_valid),
        cmocka_unit_test(test_duration_invalid),
        cmocka_unit_test(test_duration_accepts_every_crd_form),
        cmocka_unit_test(test_duration_not_a_finite_number),
        cmocka_unit_test(test_spec_takes_cpu_and_memory_from_class),
        cmocka_unit_test(test_spec_vm_resources_override_class),
        cmocka_unit_test(test_spec_firmware),
        cmocka_unit_test(test_spec_image_source_by_provider_type),
        cmocka_unit_test(test_spec_copies_vm_fields_and_hints),
        cmocka_unit_test(test_spec_kernel_boot_and_serial_log),
        cmocka_unit_test(test_spec_invalid_class),
        cmocka_unit_test(test_networks_resolve_per_provider_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
