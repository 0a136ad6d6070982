/*
 * test_schema.c - core/apiserver/schema*.c: validation messages in
 * kube-apiserver's wording, defaulting, pruning, pattern translation, and
 * the real CRDs in crds/ (a VirtualMachine manifest as kubectl would send
 * it, every pattern the CRDs use).
 *
 * Schemas and objects are written in YAML for readability (core/util/yaml.c
 * has its own tests); strings that YAML 1.1 would retype are quoted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <regex.h>
#include <time.h>

#include <vrt/schema.h>
#include <vrt/yaml.h>

#include "apiserver/schema_internal.h"

/* The fuzz driver doubles as a robustness check on fixed inputs. */
#include "../fuzz/fuzz_schema.c"

static cJSON *Y(const char *yaml)
{
    char err[256];
    if (strcmp(yaml, "null") == 0) /* a null document reads as none */
        return cJSON_CreateNull();
    cJSON *docs = vrt_yaml_parse_all(yaml, strlen(yaml), err, sizeof(err));
    if (!docs || cJSON_GetArraySize(docs) != 1)
        fail_msg("test YAML does not parse to one document: %s\n%s",
                 docs ? "several" : err, yaml);
    cJSON *d = cJSON_DetachItemFromArray(docs, 0);
    cJSON_Delete(docs);
    return d;
}

/* Validates and checks the issues, in order, as "path: reason". */
static void expect(const char *schema_yaml, const char *obj_yaml,
                   const char *const *want)
{
    cJSON *s = Y(schema_yaml), *o = Y(obj_yaml);
    vrt_schema_result r;
    size_t n = vrt_schema_validate(&r, s, o);
    size_t nwant = 0;
    while (want && want[nwant])
        nwant++;
    char got[4096] = "";
    for (size_t i = 0; i < r.count && i < 16; i++) {
        size_t l = strlen(got);
        snprintf(got + l, sizeof(got) - l, "  %s: %s\n", r.issue[i].path,
                 r.issue[i].reason);
    }
    if (n != r.count || n != nwant)
        fail_msg("object:\n%s\nwant %zu issues, got %zu:\n%s", obj_yaml, nwant,
                 n, got);
    for (size_t i = 0; i < nwant; i++) {
        char line[600];
        snprintf(line, sizeof(line), "%s: %s", r.issue[i].path,
                 r.issue[i].reason);
        if (strcmp(line, want[i]) != 0)
            fail_msg("issue %zu:\n  got  %s\n  want %s", i, line, want[i]);
    }
    cJSON_Delete(s);
    cJSON_Delete(o);
}

#define NONE ((const char *const[]){NULL})
#define ISSUES(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *const spec_schema =
    "type: object\n"
    "properties:\n"
    "  spec:\n"
    "    type: object\n"
    "    required: [classRef]\n"
    "    properties:\n"
    "      cpu: {type: integer, minimum: 1, maximum: 128}\n"
    "      ratio: {type: number, exclusiveMinimum: true, minimum: 0.5,\n"
    "              maximum: 2000000}\n"
    "      powerState: {type: string, enum: [\"On\", \"Off\", OffGraceful]}\n"
    "      level: {type: integer, enum: [1, 2]}\n"
    "      classRef:\n"
    "        type: object\n"
    "        required: [name]\n"
    "        properties:\n"
    "          name: {type: string, maxLength: 5, minLength: 2,\n"
    "                 pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'}\n"
    "      on: {type: boolean}\n"
    "      tags: {type: array, items: {type: string}, maxItems: 2,\n"
    "             minItems: 1}\n"
    "      disks:\n"
    "        type: array\n"
    "        items:\n"
    "          type: object\n"
    "          required: [name, sizeGiB]\n"
    "          properties:\n"
    "            name: {type: string}\n"
    "            sizeGiB: {type: integer, minimum: 1}\n";

static void test_type_messages(void **state)
{
    (void)state;
    expect(spec_schema, "spec: {classRef: {name: ab}, cpu: \"string\"}",
           ISSUES("spec.cpu: Invalid value: \"string\": spec.cpu in body must "
                  "be of type integer: \"string\""));
    expect(spec_schema, "spec: {classRef: {name: ab}, cpu: 1.5}",
           ISSUES("spec.cpu: Invalid value: \"number\": spec.cpu in body must "
                  "be of type integer: \"number\""));
    /* A number without a fraction is an integer; an integer is a number. */
    expect(spec_schema, "spec: {classRef: {name: ab}, cpu: 2.0, ratio: 3}",
           NONE);
    expect(spec_schema, "spec: {classRef: {name: ab}, tags: x}",
           ISSUES("spec.tags: Invalid value: \"string\": spec.tags in body "
                  "must be of type array: \"string\""));
    expect(spec_schema, "spec: {classRef: {name: ab}, tags: [a, 7]}",
           ISSUES("spec.tags[1]: Invalid value: \"integer\": spec.tags[1] in "
                  "body must be of type string: \"integer\""));
    expect(spec_schema, "spec: {classRef: {name: ab}, tags: [a, null]}",
           ISSUES("spec.tags[1]: Invalid value: \"null\": spec.tags[1] in "
                  "body must be of type string: \"null\""));
    expect(spec_schema, "spec: [1]",
           ISSUES("spec: Invalid value: \"array\": spec in body must be of "
                  "type object: \"array\""));
    /* The root has no field path in Kubernetes' messages. */
    expect(spec_schema, "\"just text\"",
           ISSUES("<nil>: Invalid value: \"string\":  in body must be of type "
                  "object: \"string\""));
    expect("{type: string, nullable: true}", "null", NONE);
}

static void test_bounds_messages(void **state)
{
    (void)state;
    expect(spec_schema, "spec: {classRef: {name: ab}, cpu: 0}",
           ISSUES("spec.cpu: Invalid value: 0: spec.cpu in body should be "
                  "greater than or equal to 1"));
    expect(spec_schema, "spec: {classRef: {name: ab}, cpu: 129}",
           ISSUES("spec.cpu: Invalid value: 129: spec.cpu in body should be "
                  "less than or equal to 128"));
    expect(spec_schema, "spec: {classRef: {name: ab}, ratio: 0.5}",
           ISSUES("spec.ratio: Invalid value: 0.5: spec.ratio in body should "
                  "be greater than 0.5"));
    /* Floats print as Go's %v does. */
    expect(spec_schema, "spec: {classRef: {name: ab}, ratio: 2000000.5}",
           ISSUES("spec.ratio: Invalid value: 2.0000005e+06: spec.ratio in "
                  "body should be less than or equal to 2e+06"));
    expect("{type: integer, minimum: 0, exclusiveMinimum: true}", "0",
           ISSUES("<nil>: Invalid value: 0:  in body should be greater than "
                  "0"));
    expect("{type: integer, maximum: 10, exclusiveMaximum: true}", "10",
           ISSUES("<nil>: Invalid value: 10:  in body should be less than "
                  "10"));
    expect("{type: integer, multipleOf: 4}", "10",
           ISSUES("<nil>: Invalid value: 10:  in body should be a multiple "
                  "of 4"));
    expect("{type: number, multipleOf: 0.1}", "0.3", NONE);
    expect("{type: integer, multipleOf: 4}", "-12", NONE);
}

static void test_enum_required_and_strings(void **state)
{
    (void)state;
    expect(spec_schema, "spec: {classRef: {name: ab}, powerState: Of}",
           ISSUES("spec.powerState: Unsupported value: \"Of\": supported "
                  "values: \"On\", \"Off\", \"OffGraceful\""));
    expect(spec_schema, "spec: {classRef: {name: ab}, level: 3}",
           ISSUES("spec.level: Unsupported value: 3: supported values: "
                  "\"1\", \"2\""));
    expect(spec_schema, "spec: {cpu: 2}",
           ISSUES("spec.classRef: Required value"));
    expect(spec_schema,
           "spec:\n  classRef: {name: ab}\n  disks:\n  - {name: a, sizeGiB: "
           "1}\n  - {name: b}\n",
           ISSUES("spec.disks[1].sizeGiB: Required value"));
    expect(spec_schema, "spec: {classRef: {name: abcdef}}",
           ISSUES("spec.classRef.name: Too long: must have at most 5 bytes"));
    expect(spec_schema, "spec: {classRef: {name: a}}",
           ISSUES("spec.classRef.name: Invalid value: \"a\": "
                  "spec.classRef.name in body should be at least 2 chars "
                  "long"));
    expect(spec_schema, "spec: {classRef: {name: Ab_1}}",
           ISSUES("spec.classRef.name: Invalid value: \"Ab_1\": "
                  "spec.classRef.name in body should match "
                  "'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"));
    /* Lengths count characters, not bytes. */
    expect("{type: string, maxLength: 3}", "\"h\xc3\xa9\xc3\xa9\"", NONE);
    expect("{type: string, maxLength: 2}", "\"h\xc3\xa9\xc3\xa9\"",
           ISSUES("<nil>: Too long: must have at most 2 bytes"));
    /* Values are quoted as Go's %q does. */
    expect("{type: string, enum: [a]}", "\"tab\\there \\\"q\\\"\"",
           ISSUES("<nil>: Unsupported value: \"tab\\there \\\"q\\\"\": "
                  "supported values: \"a\""));
    /* A wrong type and a value outside the enum are both reported. */
    expect(spec_schema, "spec: {classRef: {name: ab}, powerState: true}",
           ISSUES("spec.powerState: Invalid value: \"boolean\": "
                  "spec.powerState in body must be of type string: "
                  "\"boolean\"",
                  "spec.powerState: Unsupported value: true: supported "
                  "values: \"On\", \"Off\", \"OffGraceful\""));
}

static void test_arrays_and_objects(void **state)
{
    (void)state;
    expect(spec_schema, "spec: {classRef: {name: ab}, tags: []}",
           ISSUES("spec.tags: Invalid value: 0: spec.tags in body should have "
                  "at least 1 items"));
    expect(spec_schema, "spec: {classRef: {name: ab}, tags: [a, b, c]}",
           ISSUES("spec.tags: Too many: 3: must have at most 2 items"));
    expect("{type: array, uniqueItems: true}", "[1, {a: 1}, {a: 1}]",
           ISSUES("<nil>: Invalid value: \"\":  in body shouldn't contain "
                  "duplicates"));
    expect("{type: array, uniqueItems: true}", "[1, {a: 1}, {a: 2}]", NONE);
    const char *labels = "type: object\n"
                         "properties:\n"
                         "  labels:\n"
                         "    type: object\n"
                         "    maxProperties: 2\n"
                         "    additionalProperties: {type: string, "
                         "maxLength: 3}\n"
                         "  closed:\n"
                         "    type: object\n"
                         "    minProperties: 1\n"
                         "    additionalProperties: false\n"
                         "    properties: {a: {type: string}}\n";
    expect(labels, "labels: {app: web, tier: long}",
           ISSUES("labels.tier: Too long: must have at most 3 bytes"));
    expect(labels, "labels: {a: x, b: y, c: z}",
           ISSUES("labels: Too many: 3: must have at most 2 items"));
    expect(labels, "closed: {}",
           ISSUES("closed: Invalid value: 0: closed in body should have at "
                  "least 1 properties"));
    expect(labels, "closed: {a: x, b: y}",
           ISSUES("closed: Invalid value: \"b\": closed.b in body is a "
                  "forbidden property"));
}

static void test_int_or_string(void **state)
{
    (void)state;
    const char *s = "type: object\n"
                    "properties:\n"
                    "  size:\n"
                    "    x-kubernetes-int-or-string: true\n"
                    "    anyOf: [{type: integer}, {type: string}]\n"
                    "    pattern: '^[0-9]+(Mi|Gi)$'\n";
    expect(s, "size: 5", NONE);
    expect(s, "size: 5Gi", NONE);
    expect(s, "size: 5GB",
           ISSUES("size: Invalid value: \"5GB\": size in body should match "
                  "'^[0-9]+(Mi|Gi)$'"));
    expect(s, "size: true",
           ISSUES("size: Invalid value: \"boolean\": size in body must be of "
                  "type integer,string: \"boolean\"",
                  "<nil>: Invalid value: \"\": \"size\" must validate at "
                  "least one schema (anyOf)",
                  "size: Invalid value: \"boolean\": size in body must be of "
                  "type integer: \"boolean\""));
}

static void test_combinators(void **state)
{
    (void)state;
    const char *one = "type: object\n"
                      "properties:\n"
                      "  src:\n"
                      "    type: object\n"
                      "    properties: {a: {type: string}, b: {type: string}}\n"
                      "    oneOf: [{required: [a]}, {required: [b]}]\n";
    expect(one, "src: {a: x}", NONE);
    expect(one, "src: {a: x, b: z}",
           ISSUES("<nil>: Invalid value: \"\": \"src\" must validate one and "
                  "only one schema (oneOf). Found 2 valid alternatives"));
    expect(one, "src: {}",
           ISSUES("<nil>: Invalid value: \"\": \"src\" must validate one and "
                  "only one schema (oneOf). Found none valid",
                  "src.a: Required value"));
    expect("{allOf: [{minimum: 1}, {maximum: 5}]}", "7",
           ISSUES("<nil>: Invalid value: 7:  in body should be less than or "
                  "equal to 5",
                  "<nil>: Invalid value: \"\": \"\" must validate all the "
                  "schemas (allOf)"));
    expect("{not: {type: string}}", "\"x\"",
           ISSUES("<nil>: Invalid value: \"\": \"\" must not validate the "
                  "schema (not)"));
    expect("{not: {type: string}}", "1", NONE);
}

static void test_formats(void **state)
{
    (void)state;
    const char *s = "type: object\n"
                    "properties:\n"
                    "  t: {type: string, format: date-time}\n"
                    "  d: {type: string, format: date}\n"
                    "  b: {type: string, format: byte}\n"
                    "  u: {type: string, format: uuid}\n"
                    "  i: {type: string, format: ipv4}\n"
                    "  n: {type: integer, format: int32}\n";
    expect(s,
           "t: \"2024-02-29T23:59:59.123+01:00\"\nd: \"2024-02-29\"\n"
           "b: aGVsbG8=\nu: 123e4567-e89b-12d3-a456-426614174000\n"
           "i: 10.0.0.1\nn: 99999999999",
           NONE);
    expect(s, "t: yesterday",
           ISSUES("t: Invalid value: \"yesterday\": t in body must be of type "
                  "date-time: \"yesterday\""));
    expect(s, "t: \"2023-02-29T00:00:00Z\"",
           ISSUES("t: Invalid value: \"2023-02-29T00:00:00Z\": t in body must "
                  "be of type date-time: \"2023-02-29T00:00:00Z\""));
    expect(s, "t: \"2024-01-01T24:00:00Z\"",
           ISSUES("t: Invalid value: \"2024-01-01T24:00:00Z\": t in body must "
                  "be of type date-time: \"2024-01-01T24:00:00Z\""));
    expect(s, "b: \"not base64!\"",
           ISSUES("b: Invalid value: \"not base64!\": b in body must be of "
                  "type byte: \"not base64!\""));
    expect(s, "i: 10.0.0.256",
           ISSUES("i: Invalid value: \"10.0.0.256\": i in body must be of "
                  "type ipv4: \"10.0.0.256\""));
    assert_true(vrt_schema_format_ok("mac", "00:1a:2B:3c:4d:5e"));
    assert_false(vrt_schema_format_ok("mac", "00:1a:2B:3c:4d"));
    assert_true(vrt_schema_format_ok("cidr", "10.0.0.0/8"));
    assert_false(vrt_schema_format_ok("cidr", "10.0.0.0/33"));
    assert_true(vrt_schema_format_ok("ipv6", "fe80::1"));
    assert_false(vrt_schema_format_ok("ipv6", "10.0.0.1"));
    assert_true(vrt_schema_format_ok("hostname", "anything at all"));
}

static void test_kubernetes_extensions(void **state)
{
    (void)state;
    const char *s = "type: object\n"
                    "properties:\n"
                    "  template:\n"
                    "    type: object\n"
                    "    x-kubernetes-embedded-resource: true\n"
                    "    x-kubernetes-preserve-unknown-fields: true\n"
                    "  names:\n"
                    "    type: array\n"
                    "    x-kubernetes-list-type: set\n"
                    "    items: {type: string}\n"
                    "  ports:\n"
                    "    type: array\n"
                    "    x-kubernetes-list-type: map\n"
                    "    x-kubernetes-list-map-keys: [name]\n"
                    "    items:\n"
                    "      type: object\n"
                    "      properties: {name: {type: string}, port: {type: "
                    "integer}}\n";
    expect(s, "template: {apiVersion: v1, kind: Pod}", NONE);
    expect(s, "template: {apiVersion: v1}",
           ISSUES("template.kind: Required value: must not be empty"));
    expect(s, "template: {apiVersion: 1, kind: \"\"}",
           ISSUES("template.apiVersion: Invalid value: 1: must be a string",
                  "template.kind: Invalid value: \"\": must not be empty"));
    expect(s, "names: [a, b, a]",
           ISSUES("names[2]: Duplicate value: \"a\""));
    expect(s, "ports: [{name: http, port: 80}, {name: http, port: 81}]",
           ISSUES("ports[1]: Duplicate value: map[string]interface "
                  "{}{\"name\":\"http\"}"));
}

static void test_issue_cap_and_format(void **state)
{
    (void)state;
    cJSON *s = Y("type: array\nitems: {type: integer, minimum: 10}");
    cJSON *o = cJSON_CreateArray();
    for (int i = 0; i < 20; i++)
        cJSON_AddItemToArray(o, cJSON_CreateNumber(i));
    vrt_schema_result r;
    assert_int_equal(vrt_schema_validate(&r, s, o), 10);
    char msg[8192];
    vrt_schema_format(msg, sizeof(msg), "Thing.example.com", "t1", &r);
    assert_non_null(strstr(msg, "Thing.example.com \"t1\" is invalid: "
                                "[[0]: Invalid value: 0: [0] in body should "
                                "be greater than or equal to 10, [1]: "));
    assert_non_null(strstr(msg, "[9]: Invalid value: 9: [9] in body should be "
                                "greater than or equal to 10]"));
    for (int i = 20; i < 30; i++)
        cJSON_AddItemToArray(o, cJSON_CreateNumber(-i));
    assert_int_equal(vrt_schema_validate(&r, s, o), 20);
    assert_string_equal(r.issue[9].path, "[9]");
    assert_string_equal(r.issue[10].path, "[20]");
    assert_string_equal(r.issue[15].path, "[25]");
    vrt_schema_format(msg, sizeof(msg), "Thing.example.com", "t1", &r);
    assert_non_null(strstr(msg, ", and 4 more]"));
    cJSON_Delete(o);

    /* One issue: no brackets.  Truncation keeps the buffer terminated. */
    o = cJSON_CreateArray();
    cJSON_AddItemToArray(o, cJSON_CreateNumber(0));
    assert_int_equal(vrt_schema_validate(&r, s, o), 1);
    vrt_schema_format(msg, sizeof(msg), "VirtualMachine.infra.virtrigaud.io",
                      "web", &r);
    assert_string_equal(msg, "VirtualMachine.infra.virtrigaud.io \"web\" is "
                             "invalid: [0]: Invalid value: 0: [0] in body "
                             "should be greater than or equal to 10");
    char small[20];
    vrt_schema_format(small, sizeof(small), "VirtualMachine", "web", &r);
    assert_string_equal(small, "VirtualMachine \"web");
    cJSON_Delete(o);
    cJSON_Delete(s);
}

/* --- defaults ---------------------------------------------------------------- */

static void expect_defaults(const char *schema_yaml, const char *obj_yaml,
                            const char *want_json)
{
    cJSON *s = Y(schema_yaml), *o = Y(obj_yaml), *w = cJSON_Parse(want_json);
    assert_non_null(w);
    char *before = cJSON_PrintUnformatted(s);
    vrt_schema_apply_defaults(s, o);
    if (!cJSON_Compare(o, w, 1)) {
        char *g = cJSON_PrintUnformatted(o);
        fail_msg("defaults of %s gave %s, want %s", obj_yaml, g, want_json);
    }
    /* Defaults are copies: the schema is untouched, even if o changes. */
    cJSON_Delete(o);
    char *after = cJSON_PrintUnformatted(s);
    assert_string_equal(before, after);
    free(before);
    free(after);
    cJSON_Delete(s);
    cJSON_Delete(w);
}

static const char *const default_schema =
    "type: object\n"
    "properties:\n"
    "  spec:\n"
    "    type: object\n"
    "    properties:\n"
    "      powerState: {type: string, default: \"On\"}\n"
    "      userData:\n"
    "        type: object\n"
    "        properties:\n"
    "          format: {type: string, default: cloud-init}\n"
    "      scsi:\n"
    "        type: object\n"
    "        default: {}\n"
    "        properties:\n"
    "          controllerType: {type: string, default: pvscsi}\n"
    "      disks:\n"
    "        type: array\n"
    "        items:\n"
    "          type: object\n"
    "          default: {name: boot}\n"
    "          properties:\n"
    "            name: {type: string}\n"
    "            type: {type: string, default: thin}\n"
    "      env:\n"
    "        type: object\n"
    "        additionalProperties:\n"
    "          type: object\n"
    "          properties: {weight: {type: integer, default: 1}}\n"
    "      note: {type: string, nullable: true, default: none}\n"
    "      gone: {type: string}\n";

static void test_defaults(void **state)
{
    (void)state;
    /* Absent parents stay absent unless they have a default themselves;
     * a defaulted parent is then defaulted inside. */
    expect_defaults(default_schema, "spec: {}",
                    "{\"spec\":{\"powerState\":\"On\","
                    "\"scsi\":{\"controllerType\":\"pvscsi\"},"
                    "\"note\":\"none\"}}");
    expect_defaults(default_schema, "metadata: {name: x}",
                    "{\"metadata\":{\"name\":\"x\"}}");
    /* Inside existing objects, array items and map values. */
    expect_defaults(default_schema,
                    "spec:\n"
                    "  powerState: \"Off\"\n"
                    "  userData: {}\n"
                    "  disks: [{name: a}, {name: b, type: ssd}, null]\n"
                    "  env: {x: {}, z: {weight: 5}}\n",
                    "{\"spec\":{\"powerState\":\"Off\","
                    "\"userData\":{\"format\":\"cloud-init\"},"
                    "\"disks\":[{\"name\":\"a\",\"type\":\"thin\"},"
                    "{\"name\":\"b\",\"type\":\"ssd\"},"
                    "{\"name\":\"boot\",\"type\":\"thin\"}],"
                    "\"env\":{\"x\":{\"weight\":1},\"z\":{\"weight\":5}},"
                    "\"scsi\":{\"controllerType\":\"pvscsi\"},"
                    "\"note\":\"none\"}}");
    /* Nulls: a non-nullable one takes the default or goes; a nullable one
     * stays null. */
    expect_defaults(default_schema,
                    "spec: {powerState: null, gone: null, note: null}",
                    "{\"spec\":{\"powerState\":\"On\",\"note\":null,"
                    "\"scsi\":{\"controllerType\":\"pvscsi\"}}}");
}

/* --- pruning ----------------------------------------------------------------- */

static void expect_prune(const char *schema_yaml, const char *obj_yaml,
                         size_t want_count, const char *want_first,
                         const char *want_json)
{
    cJSON *s = Y(schema_yaml), *o = Y(obj_yaml), *w = cJSON_Parse(want_json);
    assert_non_null(w);
    char first[256] = "junk";
    size_t n = vrt_schema_prune(first, s, o);
    char *g = cJSON_PrintUnformatted(o);
    if (n != want_count || strcmp(first, want_first) != 0 ||
        !cJSON_Compare(o, w, 1))
        fail_msg("prune of %s: %zu fields, first \"%s\", left %s; want %zu, "
                 "\"%s\", %s",
                 obj_yaml, n, first, g, want_count, want_first, want_json);
    free(g);
    cJSON_Delete(s);
    cJSON_Delete(o);
    cJSON_Delete(w);
}

static const char *const prune_schema =
    "type: object\n"
    "properties:\n"
    "  apiVersion: {type: string}\n"
    "  spec:\n"
    "    type: object\n"
    "    properties:\n"
    "      cpu: {type: integer}\n"
    "      disks:\n"
    "        type: array\n"
    "        items:\n"
    "          type: object\n"
    "          properties: {name: {type: string}}\n"
    "      extra:\n"
    "        type: object\n"
    "        x-kubernetes-preserve-unknown-fields: true\n"
    "        properties:\n"
    "          known:\n"
    "            type: object\n"
    "            properties: {a: {type: string}}\n"
    "      template:\n"
    "        type: object\n"
    "        x-kubernetes-embedded-resource: true\n"
    "        properties:\n"
    "          spec: {type: object, properties: {x: {type: string}}}\n"
    "      labels:\n"
    "        type: object\n"
    "        additionalProperties:\n"
    "          type: object\n"
    "          properties: {v: {type: string}}\n"
    "      opaque: {type: object}\n";

static void test_prune(void **state)
{
    (void)state;
    expect_prune(prune_schema, "apiVersion: v1\nspec: {cpu: 2}", 0, "",
                 "{\"apiVersion\":\"v1\",\"spec\":{\"cpu\":2}}");
    /* Root apiVersion/kind/metadata stay, metadata untouched. */
    expect_prune(prune_schema,
                 "kind: VM\nmetadata: {name: a, whatever: 1}\nstatus: {x: 1}\n"
                 "spec: {cpu: 2, bogus: 1, disks: [{name: d, size: 3}]}",
                 3, "status",
                 "{\"kind\":\"VM\",\"metadata\":{\"name\":\"a\","
                 "\"whatever\":1},\"spec\":{\"cpu\":2,\"disks\":"
                 "[{\"name\":\"d\"}]}}");
    expect_prune(prune_schema, "spec: {disks: [{name: d}, {name: e, x: 1}]}",
                 1, "spec.disks[1].x",
                 "{\"spec\":{\"disks\":[{\"name\":\"d\"},{\"name\":\"e\"}]}}");
    /* preserve-unknown-fields keeps the unknown, prunes the declared. */
    expect_prune(prune_schema,
                 "spec: {extra: {free: {deep: 1}, known: {a: x, b: y}}}", 1,
                 "spec.extra.known.b",
                 "{\"spec\":{\"extra\":{\"free\":{\"deep\":1},"
                 "\"known\":{\"a\":\"x\"}}}}");
    /* Embedded resources keep apiVersion, kind and metadata. */
    expect_prune(prune_schema,
                 "spec:\n  template:\n    apiVersion: v1\n    kind: Pod\n"
                 "    metadata: {name: p}\n    spec: {x: a, w: b}\n"
                 "    status: {}\n",
                 2, "spec.template.spec.w",
                 "{\"spec\":{\"template\":{\"apiVersion\":\"v1\","
                 "\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},"
                 "\"spec\":{\"x\":\"a\"}}}}");
    /* additionalProperties schemas prune inside each value. */
    expect_prune(prune_schema, "spec: {labels: {a: {v: x, w: y}, b: {}}}", 1,
                 "spec.labels.a.w",
                 "{\"spec\":{\"labels\":{\"a\":{\"v\":\"x\"},\"b\":{}}}}");
    /* An object that declares nothing keeps nothing. */
    expect_prune(prune_schema, "spec: {opaque: {a: 1, b: 2}}", 2,
                 "spec.opaque.a", "{\"spec\":{\"opaque\":{}}}");
    /* NULL first is allowed. */
    cJSON *s = Y(prune_schema), *o = Y("spec: {q: 1}");
    assert_int_equal(vrt_schema_prune(NULL, s, o), 1);
    cJSON_Delete(o);
    cJSON_Delete(s);
}

/* --- patterns ------------------------------------------------------------------ */

static void test_pattern_translation(void **state)
{
    (void)state;
    static const struct {
        const char *pattern, *text;
        int match;
    } cases[] = {
        {"^\\d{3}$", "123", 1},          {"^\\d{3}$", "12a", 0},
        {"^[\\w.-]+$", "a_b.c-d", 1},    {"^[\\w.-]+$", "a b", 0},
        {"^(?:ab)+$", "abab", 1},        {"^(?:ab)+$", "aba", 0},
        {"^[^\\s]+$", "nospace", 1},     {"^[^\\s]+$", "has space", 0},
        {"^a\\.b$", "a.b", 1},           {"^a\\.b$", "axb", 0},
        {"^a{,3}$", "a{,3}", 1},         {"^\\S+\\s\\S+$", "a b", 1},
        {"(?i)^abc$", "ABC", 1},         {"^[\\]a]+$", "]a]", 1},
        {"^[a\\-z]+$", "-az", 1},        {"^[a\\-z]+$", "b", 0},
        {"^x+?y$", "xxy", 1},            {"^\\D\\W$", "a!", 1},
        {"^\\D\\W$", "1!", 0},           {"^[!-~]+$", "a:b", 1},
        {"^[!-~]+$", "a b", 0},          {"^\\$\\{x\\}$", "${x}", 1},
        {"^[\\^]$", "^", 1},             {"^\\/$", "/", 1},
        {"^a\\tb$", "a\tb", 1},          {"^[0-9A-Fa-f]{2}$", "fF", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = vrt_schema_pattern_match(cases[i].pattern, cases[i].text);
        if (got != cases[i].match)
            fail_msg("pattern '%s' on \"%s\": got %d, want %d",
                     cases[i].pattern, cases[i].text, got, cases[i].match);
    }
    /* What ERE cannot say is accepted (and logged), not rejected. */
    assert_int_equal(vrt_schema_pattern_match("^(?=x)", "y"), -1);
    assert_int_equal(vrt_schema_pattern_match("\\bword\\b", "x"), -1);
    assert_int_equal(vrt_schema_pattern_match("(a)\\1", "aa"), -1);
    expect("{type: string, pattern: '^(?!bad)'}", "bad", NONE);
    /* Counts past Go's limit of 1000 would make glibc build huge automata. */
    assert_int_equal(vrt_schema_pattern_match("^(a{1000}){1000}$", "a"), -1);
    assert_int_equal(vrt_schema_pattern_match("^a{1001}$", "a"), -1);
    assert_int_equal(vrt_schema_pattern_match("^a{2,1000}$", "aaa"), 1);
    /* So would a run of quantifiers, which Go rejects anyway. */
    assert_int_equal(vrt_schema_pattern_match("^a+++++++++++++++++++++++++"
                                              "+++++++++++++++$", "a"),
                     -1);
    assert_int_equal(vrt_schema_pattern_match("^a*{2}$", "a"), -1);
    assert_int_equal(vrt_schema_pattern_match("^a+?b*?$", "aab"), 1);
    int icase;
    char out[64];
    assert_int_equal(vrt_schema_pattern_translate(out, sizeof(out),
                                                  "^\\d+[\\s\\w]$", &icase),
                     0);
    assert_string_equal(out, "^[0-9]+[[:space:]A-Za-z0-9_]$");
    assert_int_equal(icase, 0);
    assert_int_equal(vrt_schema_pattern_translate(out, 8, "^\\d+\\d+", &icase),
                     -1);
}

/* Every pattern of every CRD in crds/ translates and compiles. */
static void collect_patterns(const cJSON *n, int *count, int *bad)
{
    const cJSON *c;
    if (cJSON_IsObject(n)) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(n, "pattern");
        if (cJSON_IsString(p)) {
            char ere[4096];
            int icase;
            regex_t re;
            (*count)++;
            if (vrt_schema_pattern_translate(ere, sizeof(ere), p->valuestring,
                                             &icase) != 0 ||
                regcomp(&re, ere, REG_EXTENDED | REG_NOSUB) != 0) {
                print_error("pattern does not compile: %s\n", p->valuestring);
                (*bad)++;
            } else {
                regfree(&re);
            }
        }
    }
    cJSON_ArrayForEach(c, n) collect_patterns(c, count, bad);
}

static const char *src_dir(void)
{
    const char *d = getenv("VRT_SRC_DIR");
    return d && *d ? d : ".";
}

static cJSON *crd_schema(const char *file, cJSON **doc_out)
{
    char path[512], err[512];
    snprintf(path, sizeof(path), "%s/crds/%s", src_dir(), file);
    cJSON *docs = vrt_yaml_parse_file(path, err, sizeof(err));
    if (!docs)
        fail_msg("%s", err);
    *doc_out = docs;
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(cJSON_GetObjectItem(
                              cJSON_GetArrayItem(docs, 0), "spec"),
                          "versions")) {
        cJSON *s = cJSON_GetObjectItem(cJSON_GetObjectItem(v, "schema"),
                                       "openAPIV3Schema");
        if (s)
            return s;
    }
    fail_msg("%s has no openAPIV3Schema", path);
    return NULL;
}

static void test_crd_patterns_compile(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/crds", src_dir());
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int files = 0, count = 0, bad = 0;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") != 0)
            continue;
        cJSON *docs;
        cJSON *s = crd_schema(e->d_name, &docs);
        collect_patterns(s, &count, &bad);
        cJSON_Delete(docs);
        files++;
    }
    closedir(d);
    assert_true(files >= 10);
    assert_true(count > 100);
    assert_int_equal(bad, 0);

    /* And they mean what they say. */
    const char *ip = "^((25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\\.){3}"
                     "(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)$";
    assert_int_equal(vrt_schema_pattern_match(ip, "192.168.1.10"), 1);
    assert_int_equal(vrt_schema_pattern_match(ip, "192.168.1.256"), 0);
    const char *qty = "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]"
                      "i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|"
                      "(\\.[0-9]+))))?$";
    assert_int_equal(vrt_schema_pattern_match(qty, "1.5Gi"), 1);
    assert_int_equal(vrt_schema_pattern_match(qty, "100m"), 1);
    assert_int_equal(vrt_schema_pattern_match(qty, "1.5GB"), 0);
    const char *dur = "^(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|ms|s|m|h))+)$";
    assert_int_equal(vrt_schema_pattern_match(dur, "1h30m"), 1);
    assert_int_equal(vrt_schema_pattern_match(dur, "90 minutes"), 0);
}

/* --- a VirtualMachine as kubectl sends it ------------------------------------- */

static const char *const vm_yaml =
    "apiVersion: infra.virtrigaud.io/v1beta1\n"
    "kind: VirtualMachine\n"
    "metadata:\n"
    "  name: web\n"
    "  namespace: default\n"
    "  labels: {app: web}\n"
    "spec:\n"
    "  providerRef: {name: libvirt-local}\n"
    "  classRef: {name: small}\n"
    "  imageRef: {name: ubuntu-22-04}\n"
    "  powerState: \"On\"\n"
    "  networks:\n"
    "  - name: eth0\n"
    "    ipAddress: 192.168.122.10\n"
    "    prefix: 24\n"
    "    macAddress: \"52:54:00:12:34:56\"\n"
    "  disks:\n"
    "  - name: data\n"
    "    sizeGiB: 20\n"
    "  resources: {cpu: 2, memoryMiB: 4096}\n"
    "  tags: [web, prod]\n";

static void test_virtual_machine_admission(void **state)
{
    (void)state;
    cJSON *docs;
    cJSON *s = crd_schema("infra.virtrigaud.io_virtualmachines.yaml", &docs);
    cJSON *vm = Y(vm_yaml);
    char first[256];
    assert_int_equal(vrt_schema_prune(first, s, vm), 0);
    vrt_schema_apply_defaults(s, vm);
    const cJSON *disk = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(vm, "spec"), "disks"), 0);
    assert_string_equal(cJSON_GetObjectItem(disk, "type")->valuestring, "thin");
    assert_string_equal(cJSON_GetObjectItem(disk, "expandPolicy")->valuestring,
                        "Offline");
    /* No default object for the absent scsi block. */
    assert_null(cJSON_GetObjectItem(disk, "scsi"));
    vrt_schema_result r;
    assert_int_equal(vrt_schema_validate(&r, s, vm), 0);
    cJSON_Delete(vm);

    /* An unknown field is pruned and named. */
    vm = Y(vm_yaml);
    cJSON_AddNumberToObject(cJSON_GetObjectItem(vm, "spec"), "cpus", 4);
    assert_int_equal(vrt_schema_prune(first, s, vm), 1);
    assert_string_equal(first, "spec.cpus");
    cJSON_Delete(vm);

    /* `powerState: On` unquoted is a boolean to kubectl, so it fails. */
    char *text = strdup(vm_yaml);
    char *p = strstr(text, "\"On\"");
    memcpy(p, "On  ", 4);
    vm = Y(text);
    free(text);
    vrt_schema_apply_defaults(s, vm);
    assert_int_equal(vrt_schema_validate(&r, s, vm), 2);
    char msg[2048];
    vrt_schema_format(msg, sizeof(msg), "VirtualMachine.infra.virtrigaud.io",
                      "web", &r);
    assert_string_equal(
        msg, "VirtualMachine.infra.virtrigaud.io \"web\" is invalid: "
             "[spec.powerState: Invalid value: \"boolean\": spec.powerState "
             "in body must be of type string: \"boolean\", spec.powerState: "
             "Unsupported value: true: supported values: \"On\", \"Off\", "
             "\"OffGraceful\"]");
    cJSON_Delete(vm);

    /* Several mistakes at once, each named. */
    vm = Y(vm_yaml);
    cJSON *spec = cJSON_GetObjectItem(vm, "spec");
    cJSON_DeleteItemFromObject(spec, "classRef");
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(spec, "resources"), "cpu",
                              cJSON_CreateNumber(0));
    cJSON_ReplaceItemInObject(
        cJSON_GetArrayItem(cJSON_GetObjectItem(spec, "networks"), 0),
        "ipAddress", cJSON_CreateString("192.168.122.300"));
    assert_int_equal(vrt_schema_validate(&r, s, vm), 3);
    assert_string_equal(r.issue[0].path, "spec.networks[0].ipAddress");
    assert_string_equal(r.issue[1].path, "spec.resources.cpu");
    assert_string_equal(r.issue[1].reason,
                        "Invalid value: 0: spec.resources.cpu in body should "
                        "be greater than or equal to 1");
    assert_string_equal(r.issue[2].path, "spec.classRef");
    assert_string_equal(r.issue[2].reason, "Required value");
    cJSON_Delete(vm);
    cJSON_Delete(docs);
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Admission of a typical VM costs microseconds because patterns are
 * compiled once and cached: after the first validation no check compiles
 * anything.  The time bound is loose enough for valgrind and sanitizers
 * and only catches something going badly wrong. */
static void test_validation_is_fast(void **state)
{
    (void)state;
    cJSON *docs;
    cJSON *s = crd_schema("infra.virtrigaud.io_virtualmachines.yaml", &docs);
    cJSON *vm = Y(vm_yaml);
    vrt_schema_apply_defaults(s, vm);
    vrt_schema_result r;
    assert_int_equal(vrt_schema_validate(&r, s, vm), 0); /* warm the cache */
    size_t compiled = vrt_schema_pattern_compiles();
    const int rounds = 200;
    double t0 = now_sec();
    for (int i = 0; i < rounds; i++)
        assert_int_equal(vrt_schema_validate(&r, s, vm), 0);
    double per = (now_sec() - t0) / rounds;
    print_message("validate: %.1f us per VirtualMachine\n", per * 1e6);
    assert_int_equal(vrt_schema_pattern_compiles(), compiled);
    assert_true(per < 0.02);

    /* A pattern not seen before is compiled exactly once. */
    assert_int_equal(vrt_schema_pattern_match("^fresh-[0-9]+$", "fresh-1"), 1);
    assert_int_equal(vrt_schema_pattern_match("^fresh-[0-9]+$", "fresh-x"), 0);
    assert_int_equal(vrt_schema_pattern_compiles(), compiled + 1);
    cJSON_Delete(vm);
    cJSON_Delete(docs);
}

typedef struct worker {
    const cJSON *schema, *vm;
    int id, failures;
} worker;

static void *validate_worker(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 300; i++) {
        vrt_schema_result r;
        if (vrt_schema_validate(&r, w->schema, w->vm) != 0)
            w->failures++;
        char pat[64], text[32];
        snprintf(pat, sizeof(pat), "^t%d-[0-9]+$", i % 37);
        snprintf(text, sizeof(text), "t%d-%d", i % 37, w->id);
        if (vrt_schema_pattern_match(pat, text) != 1)
            w->failures++;
    }
    return NULL;
}

/* The pattern cache is shared: threads validating at once (the API
 * server's request threads) see the same results as one thread. */
static void test_concurrent_validation(void **state)
{
    (void)state;
    cJSON *docs;
    cJSON *s = crd_schema("infra.virtrigaud.io_virtualmachines.yaml", &docs);
    cJSON *vm = Y(vm_yaml);
    vrt_schema_apply_defaults(s, vm);
    pthread_t t[6];
    worker w[6];
    for (int i = 0; i < 6; i++) {
        w[i] = (worker){s, vm, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, validate_worker, &w[i]),
                         0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    cJSON_Delete(vm);
    cJSON_Delete(docs);
}

static void test_fuzz_driver_on_fixed_inputs(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "", "{}", "type: object\n---\n{}", "{type: [string, null]}\n---\nnull",
        "{pattern: '(((('}\n---\nx", "{anyOf: [{not: {}}]}\n---\n1",
        "{items: {items: {items: {}}}}\n---\n[[[[1]]]]",
        "{enum: []}\n---\n3", "{properties: {a: {default: {b: 1}}}}\n---\n{}",
        "{minLength: -1, maxLength: 1e30}\n---\nabc",
    };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
        assert_int_equal(LLVMFuzzerTestOneInput((const uint8_t *)inputs[i],
                                                strlen(inputs[i])),
                         0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_messages),
        cmocka_unit_test(test_bounds_messages),
        cmocka_unit_test(test_enum_required_and_strings),
        cmocka_unit_test(test_arrays_and_objects),
        cmocka_unit_test(test_int_or_string),
        cmocka_unit_test(test_combinators),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_kubernetes_extensions),
        cmocka_unit_test(test_issue_cap_and_format),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_pattern_translation),
        cmocka_unit_test(test_crd_patterns_compile),
        cmocka_unit_test(test_virtual_machine_admission),
        cmocka_unit_test(test_validation_is_fast),
        cmocka_unit_test(test_concurrent_validation),
        cmocka_unit_test(test_fuzz_driver_on_fixed_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
