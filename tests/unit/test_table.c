/*
 * test_table.c - core/apiserver/table.c: meta.k8s.io/v1 Table output, as
 * kubectl asks for it.  A resource with additionalPrinterColumns gets
 * Name plus its columns with typed cells and ages for dates; one without
 * gets Name and Age.  Ages follow apimachinery's HumanDuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <time.h>

#include "apiserver/apiserver.h"

#include <vrt/yaml.h>

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    if (!j)
        fail_msg("test JSON does not parse: %s", text);
    return j;
}

static void rfc3339_at(char buf[32], time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A resource with one column of each type the Table API knows. */
static vrt_resource *typed_resource(void)
{
    static vrt_resource r;
    memset(&r, 0, sizeof(r));
    r.group = "infra.virtrigaud.io";
    r.version = "v1beta1";
    r.kind = "Widget";
    r.plural = "widgets";
    r.columns = parse(
        "[{\"name\":\"Phase\",\"type\":\"string\",\"jsonPath\":\".status.phase\","
        "\"description\":\"Lifecycle phase.\"},"
        "{\"name\":\"CPU\",\"type\":\"integer\",\"jsonPath\":\".spec.cpu\"},"
        "{\"name\":\"Ratio\",\"type\":\"number\",\"jsonPath\":\".spec.ratio\"},"
        "{\"name\":\"On\",\"type\":\"boolean\",\"jsonPath\":\".spec.on\"},"
        "{\"name\":\"Host\",\"type\":\"string\",\"jsonPath\":\".status.host\","
        "\"priority\":1},"
        "{\"name\":\"Age\",\"type\":\"date\","
        "\"jsonPath\":\".metadata.creationTimestamp\"}]");
    return &r;
}

static cJSON *widget(const char *name, time_t created)
{
    char ts[32], text[1024];
    rfc3339_at(ts, created);
    snprintf(text, sizeof(text),
             "{\"apiVersion\":\"infra.virtrigaud.io/v1beta1\",\"kind\":\"Widget\","
             "\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\","
             "\"creationTimestamp\":\"%s\",\"resourceVersion\":\"7\","
             "\"labels\":{\"a\":\"b\"}},"
             "\"spec\":{\"cpu\":4,\"ratio\":1.5,\"on\":true},"
             "\"status\":{\"phase\":\"Running\"}}",
             name, ts);
    return parse(text);
}

static const cJSON *column(const cJSON *table, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(table, "columnDefinitions"), i);
}

static const char *col_str(const cJSON *table, int i, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(column(table, i), key));
}

static const cJSON *cell(const cJSON *table, int row, int i)
{
    const cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(table, "rows"), row);
    return cJSON_GetArrayItem(cJSON_GetObjectItem(r, "cells"), i);
}

static void test_table_envelope(void **state)
{
    (void)state;
    vrt_resource *r = typed_resource();
    cJSON *t = vrt_table_new(r, "42");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(t, "kind")),
                        "Table");
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItem(t, "apiVersion")),
        "meta.k8s.io/v1");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
                            cJSON_GetObjectItem(t, "metadata"),
                            "resourceVersion")),
                        "42");
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(t, "rows")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(t, "rows")), 0);
    cJSON_Delete(t);

    /* Without a list resourceVersion (a single get) there is none. */
    t = vrt_table_new(r, NULL);
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(t, "metadata"),
                                    "resourceVersion"));
    cJSON_Delete(t);
    cJSON_Delete(r->columns);
}

static void test_table_printer_columns_definitions(void **state)
{
    (void)state;
    vrt_resource *r = typed_resource();
    cJSON *t = vrt_table_new(r, "1");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(t, "columnDefinitions")),
                     7);
    assert_string_equal(col_str(t, 0, "name"), "Name");
    assert_string_equal(col_str(t, 0, "type"), "string");
    assert_string_equal(col_str(t, 0, "format"), "name");
    static const char *const names[] = {"Phase", "CPU", "Ratio", "On",
                                        "Host", "Age"};
    static const char *const types[] = {"string", "integer", "number",
                                        "boolean", "string", "date"};
    for (int i = 0; i < 6; i++) {
        assert_string_equal(col_str(t, i + 1, "name"), names[i]);
        assert_string_equal(col_str(t, i + 1, "type"), types[i]);
    }
    assert_string_equal(col_str(t, 1, "description"), "Lifecycle phase.");
    assert_int_equal(
        cJSON_GetObjectItem(column(t, 5), "priority")->valueint, 1);
    assert_int_equal(
        cJSON_GetObjectItem(column(t, 1), "priority")->valueint, 0);
    cJSON_Delete(t);
    cJSON_Delete(r->columns);
}

static void test_table_cells_are_typed(void **state)
{
    (void)state;
    vrt_resource *r = typed_resource();
    cJSON *t = vrt_table_new(r, "1");
    cJSON *o = widget("w1", time(NULL) - 3 * 3600);
    vrt_table_add_row(t, r, o, 0);

    assert_string_equal(cJSON_GetStringValue(cell(t, 0, 0)), "w1");
    assert_string_equal(cJSON_GetStringValue(cell(t, 0, 1)), "Running");
    assert_true(cJSON_IsNumber(cell(t, 0, 2)));
    assert_int_equal(cell(t, 0, 2)->valueint, 4);
    assert_true(cJSON_IsNumber(cell(t, 0, 3)));
    assert_true(cell(t, 0, 3)->valuedouble == 1.5);
    assert_true(cJSON_IsTrue(cell(t, 0, 4)));
    /* A missing value is null, not "" (kubectl prints <none>). */
    assert_true(cJSON_IsNull(cell(t, 0, 5)));
    assert_string_equal(cJSON_GetStringValue(cell(t, 0, 6)), "3h");
    cJSON_Delete(o);
    cJSON_Delete(t);
    cJSON_Delete(r->columns);
}

static void test_table_rows_carry_object_or_metadata(void **state)
{
    (void)state;
    vrt_resource *r = typed_resource();
    cJSON *t = vrt_table_new(r, "1");
    cJSON *o = widget("w1", time(NULL));
    vrt_table_add_row(t, r, o, 0); /* includeObject=Metadata, the default */
    vrt_table_add_row(t, r, o, 1); /* includeObject=Object */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(t, "rows")), 2);

    const cJSON *rows = cJSON_GetObjectItem(t, "rows");
    const cJSON *pom = cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0), "object");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(pom, "kind")),
                        "PartialObjectMetadata");
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItem(pom, "apiVersion")),
        "meta.k8s.io/v1");
    assert_true(cJSON_Compare(cJSON_GetObjectItem(pom, "metadata"),
                              cJSON_GetObjectItem(o, "metadata"), 1));
    assert_null(cJSON_GetObjectItem(pom, "spec"));

    const cJSON *full = cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 1), "object");
    assert_true(cJSON_Compare(full, o, 1));
    cJSON_Delete(o);
    cJSON_Delete(t);
    cJSON_Delete(r->columns);
}

static void test_table_without_columns_is_name_and_age(void **state)
{
    (void)state;
    vrt_resource r;
    memset(&r, 0, sizeof(r));
    r.kind = "ConfigMap";
    r.plural = "configmaps";
    for (int pass = 0; pass < 2; pass++) {
        /* No columns at all, and an empty list of them, look the same. */
        r.columns = pass ? cJSON_CreateArray() : NULL;
        cJSON *t = vrt_table_new(&r, "5");
        assert_int_equal(
            cJSON_GetArraySize(cJSON_GetObjectItem(t, "columnDefinitions")), 2);
        assert_string_equal(col_str(t, 0, "name"), "Name");
        assert_string_equal(col_str(t, 1, "name"), "Age");
        assert_string_equal(col_str(t, 1, "type"), "date");
        cJSON *o = widget("cm", time(NULL) - 20 * 60);
        vrt_table_add_row(t, &r, o, 0);
        const cJSON *cells = cJSON_GetObjectItem(
            cJSON_GetArrayItem(cJSON_GetObjectItem(t, "rows"), 0), "cells");
        assert_int_equal(cJSON_GetArraySize(cells), 2);
        assert_string_equal(cJSON_GetStringValue(cell(t, 0, 0)), "cm");
        assert_string_equal(cJSON_GetStringValue(cell(t, 0, 1)), "20m");
        cJSON_Delete(o);
        cJSON_Delete(t);
        cJSON_Delete(r.columns);
    }
}

/* The Age cell for an object created `ago` seconds ago.  Retries when the
 * clock ticked over a second while building, so the expectation is exact. */
static void expect_age(long long ago, const char *want)
{
    vrt_resource r;
    memset(&r, 0, sizeof(r));
    char got[64] = "";
    for (int attempt = 0; attempt < 5; attempt++) {
        time_t t0 = time(NULL);
        cJSON *t = vrt_table_new(&r, NULL);
        cJSON *o = widget("x", t0 - (time_t)ago);
        vrt_table_add_row(t, &r, o, 0);
        const char *s = cJSON_GetStringValue(cell(t, 0, 1));
        snprintf(got, sizeof(got), "%s", s ? s : "(not a string)");
        cJSON_Delete(o);
        cJSON_Delete(t);
        if (time(NULL) == t0)
            break;
    }
    if (strcmp(got, want) != 0)
        fail_msg("created %lld s ago: age \"%s\", want \"%s\"", ago, got, want);
}

static void test_table_ages(void **state)
{
    (void)state;
    expect_age(0, "0s");
    expect_age(45, "45s");
    expect_age(119, "119s");
    expect_age(120, "2m");
    expect_age(5 * 60, "5m");
    expect_age(5 * 60 + 30, "5m30s");
    expect_age(10 * 60 + 30, "10m");
    expect_age(179 * 60, "179m");
    expect_age(3 * 3600, "3h");
    expect_age(3 * 3600 + 25 * 60, "3h25m");
    expect_age(8 * 3600 + 25 * 60, "8h");
    expect_age(47 * 3600, "47h");
    expect_age(2 * 86400, "2d");
    expect_age(2 * 86400 + 4 * 3600, "2d4h");
    expect_age(8 * 86400 + 4 * 3600, "8d");
    expect_age(400LL * 86400, "400d");
    expect_age(730LL * 86400, "2y");
    expect_age(800LL * 86400, "2y70d");
    expect_age(3000LL * 86400, "8y");
}

static void test_table_unparsable_date(void **state)
{
    (void)state;
    vrt_resource *r = typed_resource();
    cJSON *t = vrt_table_new(r, NULL);
    cJSON *o = widget("x", time(NULL));
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(o, "metadata"),
                              "creationTimestamp",
                              cJSON_CreateString("yesterday"));
    vrt_table_add_row(t, r, o, 0);
    assert_string_equal(cJSON_GetStringValue(cell(t, 0, 6)), "<invalid>");
    cJSON_Delete(o);
    cJSON_Delete(t);
    cJSON_Delete(r->columns);
}

static void test_table_future_date_is_invalid(void **state)
{
    (void)state;
    /* HumanDuration: more than a second in the future is "<invalid>"
     * (a second of clock skew still reads "0s"). */
    expect_age(-3600, "<invalid>");
}

/* The real VirtualMachine CRD, as the server loads it. */
static void test_table_virtualmachine_crd_columns(void **state)
{
    (void)state;
    vrt_resources rs = {0};
    char why[256] = "";
    for (size_t i = 0; vrt_embedded_crds[i]; i++) {
        if (!strstr(vrt_embedded_crd_names[i], "virtualmachines"))
            continue;
        const char *text = vrt_embedded_crds[i];
        cJSON *docs = vrt_yaml_parse_all(text, strlen(text), why, sizeof(why));
        if (!docs)
            fail_msg("embedded CRD %s: %s", vrt_embedded_crd_names[i], why);
        const cJSON *doc;
        cJSON_ArrayForEach(doc, docs) {
            if (vrt_resources_add_crd(&rs, doc, why, sizeof(why)))
                fail_msg("embedded CRD %s: %s", vrt_embedded_crd_names[i], why);
        }
        cJSON_Delete(docs);
    }
    const vrt_resource *vm = vrt_resources_find(&rs, "infra.virtrigaud.io",
                                                "v1beta1", "virtualmachines");
    assert_non_null(vm);
    assert_non_null(vm->columns);

    cJSON *t = vrt_table_new(vm, "9");
    char ts[32];
    rfc3339_at(ts, time(NULL) - 7 * 60);
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"apiVersion\":\"infra.virtrigaud.io/v1beta1\","
             "\"kind\":\"VirtualMachine\",\"metadata\":{\"name\":\"web-1\","
             "\"namespace\":\"default\",\"creationTimestamp\":\"%s\"},"
             "\"spec\":{\"providerRef\":{\"name\":\"lab\"},"
             "\"classRef\":{\"name\":\"small\"},\"imageRef\":{\"name\":\"deb\"}},"
             "\"status\":{\"phase\":\"Running\",\"powerState\":\"On\","
             "\"ips\":[\"10.0.0.2\",\"10.0.0.3\"]}}",
             ts);
    cJSON *o = parse(text);
    vrt_table_add_row(t, vm, o, 0);

    /* Each column's cell sits under its definition. */
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(t, "columnDefinitions"));
    assert_int_equal(n, 1 + cJSON_GetArraySize(vm->columns));
    int seen = 0;
    for (int i = 0; i < n; i++) {
        const char *name = col_str(t, i, "name");
        const cJSON *c = cell(t, 0, i);
        if (!strcmp(name, "Name"))
            seen += !strcmp(cJSON_GetStringValue(c), "web-1");
        else if (!strcmp(name, "Phase"))
            seen += !strcmp(cJSON_GetStringValue(c), "Running");
        else if (!strcmp(name, "Provider"))
            seen += !strcmp(cJSON_GetStringValue(c), "lab");
        else if (!strcmp(name, "Class"))
            seen += !strcmp(cJSON_GetStringValue(c), "small");
        else if (!strcmp(name, "Power"))
            seen += !strcmp(cJSON_GetStringValue(c), "On");
        else if (!strcmp(name, "IPs"))
            seen += strstr(cJSON_GetStringValue(c), "10.0.0.2") &&
                    strstr(cJSON_GetStringValue(c), "10.0.0.3");
        else if (!strcmp(name, "Age"))
            seen += !strcmp(cJSON_GetStringValue(c), "7m");
        else
            continue;
    }
    assert_int_equal(seen, 7);
    cJSON_Delete(o);
    cJSON_Delete(t);
    vrt_resources_free(&rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_envelope),
        cmocka_unit_test(test_table_printer_columns_definitions),
        cmocka_unit_test(test_table_cells_are_typed),
        cmocka_unit_test(test_table_rows_carry_object_or_metadata),
        cmocka_unit_test(test_table_without_columns_is_name_and_age),
        cmocka_unit_test(test_table_ages),
        cmocka_unit_test(test_table_unparsable_date),
        cmocka_unit_test(test_table_future_date_is_invalid),
        cmocka_unit_test(test_table_virtualmachine_crd_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
