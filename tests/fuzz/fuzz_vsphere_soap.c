/*
 * fuzz_vsphere_soap.c - libFuzzer driver for the vSphere provider's
 * reading of vim25 SOAP answers (plugins/vsphere: vs_xml.c envelopes and
 * faults, vs_pc.c RetrievePropertiesEx objects and VM properties,
 * vs_task.c task info, vs_hosts.c hosts and virtual disks, vs_describe.c
 * VM listings, vs_ops.c snapshot trees, vs_soap.c the ServiceContent).
 * Whatever answers on the SDK URL is untrusted.
 *
 * The input is read as post() reads an answer, then walked by every
 * callback the plugin runs over RetrievePropertiesEx objects.  A fault or
 * a malformed envelope must give a message; fixed-size fields stay
 * terminated; a VM's raw_json is valid JSON.  The plugin files holding
 * these static readers are included here; the others are compiled beside
 * (FUZZ_vsphere_soap_SRCS in module.mk).
 */
#include "../../plugins/vsphere/vs_describe.c"
#include "../../plugins/vsphere/vs_hosts.c"
#include "../../plugins/vsphere/vs_ops.c"
#include "../../plugins/vsphere/vs_pc.c"
#include "../../plugins/vsphere/vs_soap.c"
#include "../../plugins/vsphere/vs_task.c"
#include "../../plugins/vsphere/vs_vm.c"

#include <cjson/cJSON.h>
#include <libxml/parser.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void *fuzz_vs_alloc(size_t n)
{
    return calloc(1, n);
}

static const vrt_host_api fuzz_vs_host = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_host_api),
    .alloc = fuzz_vs_alloc,
    .free = free,
};

static void fuzz_vs_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_vsphere_soap: %s: %s\n", what, detail);
    abort();
}

static void fuzz_vs_terminated(const char *field, size_t size,
                               const char *what)
{
    if (!memchr(field, '\0', size))
        fuzz_vs_fail("a field is not terminated", what);
}

static int fuzz_vs_visit(void *opaque, const void *item)
{
    (void)item;
    ++*(int *)opaque;
    return 0;
}

/* Every per-object reader the plugin has, on one returnval. */
static void fuzz_vs_objects(const xmlNode *ret)
{
    char token[256];
    int stop = 0, visits = 0;

    list_ctx l = {fuzz_vs_visit, &visits, 0};
    (void)each_object(&stop, token, sizeof(token), ret, list_one, &l);
    fuzz_vs_terminated(token, sizeof(token), "token");

    hosts_ctx h = {fuzz_vs_visit, &visits};
    (void)each_object(&stop, token, sizeof(token), ret, host_one, &h);

    vrt_disk_info disk;
    memset(&disk, 0, sizeof(disk));
    disk_ctx d = {NULL, &disk, 0};
    (void)each_object(&stop, token, sizeof(token), ret, disk_one, &d);
    d.want = "2000";
    (void)each_object(&stop, token, sizeof(token), ret, disk_one, &d);
    fuzz_vs_terminated(disk.path, sizeof(disk.path), "disk path");

    char result[VS_REF_MAX] = "";
    vrt_error task_err = VRT_ERROR_INIT;
    info_ctx ic = {0, -1, result, &task_err, "Fuzzing"};
    (void)each_object(&stop, token, sizeof(token), ret, on_info, &ic);
    if (ic.state == -1 && !task_err.message[0])
        fuzz_vs_fail("a failed task has no message", "task");
    fuzz_vs_terminated(result, sizeof(result), "task result");

    vs_vm vm;
    get_ctx g = {&vm, 0};
    (void)each_object(&stop, token, sizeof(token), ret, get_one, &g);
    if (g.found) {
        char *raw = raw_json(&vm);
        cJSON *j = raw ? cJSON_Parse(raw) : NULL;
        if (raw && !j)
            fuzz_vs_fail("raw_json is not JSON", raw);
        cJSON_Delete(j);
        free(raw);
        (void)has_snapshot(vm.snapshot, "snapshot-1");
        fuzz_vs_terminated(vm.name, sizeof(vm.name), "VM name");
    }

    scan_ctx s;
    memset(&s, 0, sizeof(s));
    s.name = "web";
    s.tmpl = "template";
    (void)each_object(&stop, token, sizeof(token), ret, scan_one, &s);

    char ref[VS_REF_MAX] = "", type[64] = "";
    named_ctx n = {"web", ref};
    (void)each_object(&stop, token, sizeof(token), ret, match_name, &n);
    prop_ctx p = {ref, type};
    (void)each_object(&stop, token, sizeof(token), ret, first_prop, &p);
    fuzz_vs_terminated(type, sizeof(type), "property type");

    char root[VS_REF_MAX];
    ref_of(root, ret, "rootFolder");
    fuzz_vs_terminated(root, sizeof(root), "rootFolder");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 262144)
        return 0;
    vs_host = &fuzz_vs_host;
    xmlDoc *doc = xmlReadMemory((const char *)data, (int)size, "soap.xml",
                                NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS |
                                          XML_PARSE_HUGE);
    if (!doc)
        return 0;
    xmlNode *resp = NULL;
    char fault[64];
    vrt_error err = VRT_ERROR_INIT;
    if (vs_xml_body(&resp, fault, doc, "Fuzzing", &err) != VRT_OK) {
        if (!err.message[0])
            fuzz_vs_fail("a refused answer has no message", "envelope");
        fuzz_vs_terminated(fault, sizeof(fault), "fault");
    } else {
        const xmlNode *ret;
        for (ret = vs_xml_child(resp, "returnval"); ret;
             ret = vs_xml_next(ret, "returnval"))
            fuzz_vs_objects(ret);
    }
    xmlFreeDoc(doc);
    return 0;
}
