/*
 * test_jsonpath.c - core/util/jsonpath.c: the paths printer columns and
 * kubectl use, their text form (what a table cell shows), single-node
 * lookups, and rejection of malformed paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vrt/jsonpath.h>

static const char *const vm_json =
    "{\"apiVersion\":\"infra.virtrigaud.io/v1beta1\","
    "\"kind\":\"VirtualMachine\","
    "\"metadata\":{\"name\":\"web\",\"creationTimestamp\":"
    "\"2026-01-02T03:04:05Z\",\"labels\":{\"app\":\"web\","
    "\"app.kubernetes.io/name\":\"frontend\"}},"
    "\"spec\":{\"cpu\":4,\"ratio\":1.5,\"memory\":4294967296,"
    "\"enabled\":true,\"nothing\":null,"
    "\"disks\":[{\"name\":\"boot\",\"size\":20},{\"name\":\"data\","
    "\"size\":100},{\"name\":\"scratch\"}],"
    "\"classRef\":{\"name\":\"small\"}},"
    "\"status\":{\"ips\":[\"10.0.0.1\",\"10.0.0.2\"],\"phase\":\"Running\","
    "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},"
    "{\"type\":\"Provisioned\",\"status\":\"False\"}],"
    "\"progress\":{\"percentage\":42}}}";

static int setup(void **state)
{
    *state = cJSON_Parse(vm_json);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    cJSON_Delete(*state);
    return 0;
}

static void test_text_table(void **state)
{
    const cJSON *vm = *state;
    static const struct {
        const char *path, *want;
    } cases[] = {
        {".metadata.name", "web"},
        {".spec.classRef.name", "small"},
        {".status.phase", "Running"},
        {".spec.cpu", "4"},
        {".spec.ratio", "1.5"},
        {".spec.memory", "4294967296"},
        {".spec.enabled", "true"},
        {".spec.nothing", ""},
        {".spec.missing", ""},
        {".spec.missing.deeper", ""},
        {".metadata.name.deeper", ""},
        {".status.ips[*]", "10.0.0.1,10.0.0.2"},
        {".status.ips[0]", "10.0.0.1"},
        {".status.ips[-1]", "10.0.0.2"},
        {".status.ips[2]", ""},
        {".status.ips[-3]", ""},
        {".spec.disks[*].name", "boot,data,scratch"},
        {".spec.disks[*].size", "20,100"},
        {".spec.disks[1].size", "100"},
        {".status.ips", "[\"10.0.0.1\",\"10.0.0.2\"]"},
        {".spec.classRef", "{\"name\":\"small\"}"},
        {".metadata.labels['app.kubernetes.io/name']", "frontend"},
        {".metadata.labels[\"app.kubernetes.io/name\"]", "frontend"},
        {".metadata.labels.app\\.kubernetes\\.io/name", "frontend"},
        {".metadata.labels.app", "web"},
        {".metadata.labels.*", "web,frontend"},
        {"{.metadata.name}", "web"},
        {"$.metadata.name", "web"},
        {"  .metadata.name  ", "web"},
        {"metadata.name", "web"},
        {".status.conditions[?(@.type==\"Ready\")].status", "True"},
        {".status.conditions[?(@.type=='Provisioned')].status", "False"},
        {".status.conditions[?(@.type!=\"Ready\")].type", "Provisioned"},
        {".spec.disks[?(@.size==100)].name", "data"},
        {".status.conditions[?(@.type==\"Gone\")].status", ""},
        {".status.progress.percentage", "42"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[256] = "junk";
        int rc = vrt_jsonpath_text(buf, sizeof(buf), vm, cases[i].path);
        if (rc != 0 || strcmp(buf, cases[i].want) != 0)
            fail_msg("path %s: rc %d, \"%s\"; want \"%s\"", cases[i].path, rc,
                     buf, cases[i].want);
    }
}

static void test_root_path(void **state)
{
    const cJSON *vm = *state;
    assert_ptr_equal(vrt_jsonpath_node(vm, "."), vm);
    cJSON *n = cJSON_CreateNumber(7);
    char buf[16];
    assert_int_equal(vrt_jsonpath_text(buf, sizeof(buf), n, "{.}"), 0);
    assert_string_equal(buf, "7");
    cJSON_Delete(n);
}

static void test_malformed_paths(void **state)
{
    const cJSON *vm = *state;
    static const char *const bad[] = {
        "..metadata", ".a[", ".a[x]", ".a[1", ".a['x]", ".a.", "{.a",
        ".a[?(@.b)]", ".a[?(b==1)]", ".a[?(@.b==)]", ".a b[0", "[",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char buf[64] = "junk";
        if (vrt_jsonpath_text(buf, sizeof(buf), vm, bad[i]) != -1)
            fail_msg("path \"%s\" was accepted", bad[i]);
        assert_string_equal(buf, "");
        assert_null(vrt_jsonpath_node(vm, bad[i]));
    }
    char buf[8];
    assert_int_equal(vrt_jsonpath_text(buf, sizeof(buf), vm, NULL), -1);
    char long_path[2048];
    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[0] = '.';
    long_path[sizeof(long_path) - 1] = '\0';
    assert_int_equal(vrt_jsonpath_text(buf, sizeof(buf), vm, long_path), -1);
}

static void test_node_lookup(void **state)
{
    const cJSON *vm = *state;
    const cJSON *spec = cJSON_GetObjectItem(vm, "spec");
    assert_ptr_equal(vrt_jsonpath_node(vm, ".spec"), spec);
    const cJSON *cpu = vrt_jsonpath_node(vm, ".spec.cpu");
    assert_ptr_equal(cpu, cJSON_GetObjectItem(spec, "cpu"));
    const cJSON *d = vrt_jsonpath_node(vm, ".spec.disks[1]");
    assert_string_equal(cJSON_GetObjectItem(d, "name")->valuestring, "data");
    assert_null(vrt_jsonpath_node(vm, ".spec.disks[*].name"));
    assert_null(vrt_jsonpath_node(
        vm, ".status.conditions[?(@.type==\"Ready\")].status"));
    assert_null(vrt_jsonpath_node(vm, ".spec.nope"));
    assert_null(vrt_jsonpath_node(NULL, ".spec"));
}

static void test_truncation(void **state)
{
    const cJSON *vm = *state;
    char buf[6];
    assert_int_equal(vrt_jsonpath_text(buf, sizeof(buf), vm,
                                       ".status.ips[*]"),
                     0);
    assert_string_equal(buf, "10.0.");
    char one[1];
    assert_int_equal(vrt_jsonpath_text(one, sizeof(one), vm, ".metadata.name"),
                     0);
    assert_string_equal(one, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
