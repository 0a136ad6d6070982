/*
 * test_selector.c - core/apiserver/selector.c: label and field selector
 * grammar, matching, and error messages in Kubernetes' wording.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vrt/selector.h>

/* An object with the given labels (JSON object text) and fields. */
static cJSON *object(const char *labels_json)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"apiVersion\":\"v1\",\"kind\":\"VirtualMachine\","
             "\"metadata\":{\"name\":\"web\",\"namespace\":\"prod\","
             "\"labels\":%s},"
             "\"spec\":{\"cpu\":4,\"ratio\":1.5,\"on\":true,"
             "\"classRef\":{\"name\":\"small\"}},"
             "\"status\":{\"phase\":\"Running\"}}",
             labels_json ? labels_json : "{}");
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    return o;
}

static int matches(const char *sel_text, int is_field, const char *labels)
{
    char err[1024];
    vrt_selector *sel = vrt_selector_parse(sel_text, is_field, err,
                                           sizeof(err));
    if (!sel)
        fail_msg("selector \"%s\" did not parse: %s", sel_text, err);
    cJSON *o = object(labels);
    int m = vrt_selector_matches(sel, o);
    cJSON_Delete(o);
    vrt_selector_free(sel);
    return m;
}

static void test_label_matching_table(void **state)
{
    (void)state;
    static const struct {
        const char *sel, *labels;
        int want;
    } cases[] = {
        {"", "{\"a\":\"b\"}", 1},
        {"app=web", "{\"app\":\"web\"}", 1},
        {"app=web", "{\"app\":\"db\"}", 0},
        {"app=web", "{}", 0},
        {"app==web", "{\"app\":\"web\"}", 1},
        {"app!=web", "{\"app\":\"db\"}", 1},
        {"app!=web", "{}", 1},
        {"app!=web", "{\"app\":\"web\"}", 0},
        {"app", "{\"app\":\"\"}", 1},
        {"app", "{\"other\":\"x\"}", 0},
        {"!app", "{\"other\":\"x\"}", 1},
        {"!app", "{\"app\":\"x\"}", 0},
        {"tier in (web, db)", "{\"tier\":\"db\"}", 1},
        {"tier in (web,db)", "{\"tier\":\"cache\"}", 0},
        {"tier in (web)", "{}", 0},
        {"tier notin (web,db)", "{\"tier\":\"cache\"}", 1},
        {"tier notin (web,db)", "{}", 1},
        {"tier notin (web,db)", "{\"tier\":\"web\"}", 0},
        {"tier in ()", "{\"tier\":\"\"}", 1},
        {"tier in (a,)", "{\"tier\":\"\"}", 1},
        {"app=", "{\"app\":\"\"}", 1},
        {"app=", "{\"app\":\"x\"}", 0},
        {"app=web,tier=db", "{\"app\":\"web\",\"tier\":\"db\"}", 1},
        {"app=web,tier=db", "{\"app\":\"web\",\"tier\":\"x\"}", 0},
        {"  app = web ,  !gone ", "{\"app\":\"web\"}", 1},
        {"replicas>2", "{\"replicas\":\"3\"}", 1},
        {"replicas>2", "{\"replicas\":\"2\"}", 0},
        {"replicas<2", "{\"replicas\":\"-1\"}", 1},
        {"replicas<2", "{\"replicas\":\"x\"}", 0},
        {"replicas<2", "{}", 0},
        {"example.com/role=api", "{\"example.com/role\":\"api\"}", 1},
        {"in=notin", "{\"in\":\"notin\"}", 1},
        {"app in (in, notin)", "{\"app\":\"notin\"}", 1},
        {"x=1", "{\"x\":1}", 0}, /* labels are strings */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = matches(cases[i].sel, 0, cases[i].labels);
        if (got != cases[i].want)
            fail_msg("\"%s\" on %s: got %d, want %d", cases[i].sel,
                     cases[i].labels, got, cases[i].want);
    }
}

static void test_null_and_empty_match_everything(void **state)
{
    (void)state;
    cJSON *o = object(NULL);
    vrt_selector *a = vrt_selector_parse(NULL, 0, NULL, 0);
    vrt_selector *b = vrt_selector_parse("", 1, NULL, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(vrt_selector_matches(a, o));
    assert_true(vrt_selector_matches(b, o));
    assert_true(vrt_selector_matches(NULL, o));
    vrt_selector_free(a);
    vrt_selector_free(b);
    vrt_selector_free(NULL);
    cJSON_Delete(o);
}

static void expect_error(const char *sel, int is_field, const char *want)
{
    char err[2048] = "unset";
    vrt_selector *s = vrt_selector_parse(sel, is_field, err, sizeof(err));
    if (s) {
        vrt_selector_free(s);
        fail_msg("\"%s\" parsed but should fail", sel);
    }
    if (strcmp(err, want) != 0)
        fail_msg("\"%s\":\n  got  %s\n  want %s", sel, err, want);
}

#define QNAME_MSG                                                             \
    "must consist of alphanumeric characters, '-', '_' or '.', and must "     \
    "start and end with an alphanumeric character (e.g. 'MyName',  or "      \
    "'my.name',  or '123-abc', regex used for validation is "                \
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define VALUE_MSG                                                             \
    "a valid label must be an empty string or consist of alphanumeric "       \
    "characters, '-', '_' or '.', and must start and end with an "            \
    "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "  \
    "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?"           \
    "[A-Za-z0-9])?')"

static void test_label_errors(void **state)
{
    (void)state;
    expect_error("-app=web", 0,
                 "unable to parse requirement: <nil>: Invalid value: "
                 "\"-app\": name part " QNAME_MSG);
    expect_error("Example.com/app=x", 0,
                 "unable to parse requirement: <nil>: Invalid value: "
                 "\"Example.com/app\": prefix part a lowercase RFC 1123 "
                 "subdomain must consist of lower case alphanumeric "
                 "characters, '-' or '.', and must start and end with an "
                 "alphanumeric character (e.g. 'example.com', regex used for "
                 "validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
                 "[a-z0-9])?)*')");
    expect_error("/app", 0,
                 "unable to parse requirement: <nil>: Invalid value: "
                 "\"/app\": prefix part must be non-empty");
    expect_error("a/b/c", 0,
                 "unable to parse requirement: <nil>: Invalid value: "
                 "\"a/b/c\": a qualified name " QNAME_MSG
                 " with an optional DNS subdomain prefix and '/' (e.g. "
                 "'example.com/MyName')");
    expect_error("x.io/", 0,
                 "unable to parse requirement: <nil>: Invalid value: "
                 "\"x.io/\": name part must be non-empty; name part " QNAME_MSG);
    expect_error("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "=x",
                 0,
                 "unable to parse requirement: <nil>: Invalid value: "
                 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaa\": name part must be no more than 63 characters");
    expect_error("app=web-", 0,
                 "unable to parse requirement: values[0][app]: Invalid value: "
                 "\"web-\": " VALUE_MSG);
    expect_error("app in (ok, bad_)", 0,
                 "unable to parse requirement: values[0][app]: Invalid value: "
                 "\"bad_\": " VALUE_MSG);
    expect_error("n>x", 0,
                 "unable to parse requirement: values[0]: Invalid value: "
                 "\"x\": for 'Gt', 'Lt' operators, the value must be an "
                 "integer");
    expect_error("app web", 0,
                 "unable to parse requirement: found 'web', expected: in, "
                 "notin, =, ==, !=, gt, lt");
    expect_error("app in web", 0,
                 "unable to parse requirement: found 'web' expected: '('");
    expect_error("app in (a b)", 0,
                 "unable to parse requirement: found 'b', expected: ',' or "
                 "')'");
    expect_error("app in (a", 0,
                 "unable to parse requirement: found '', expected: ',' or "
                 "')'");
    expect_error("app=web,", 0, "found '', expected: identifier after ','");
    expect_error("app=(", 0,
                 "unable to parse requirement: found '(', expected: "
                 "identifier");
    expect_error(",app", 0,
                 "found ',', expected: !, identifier, or 'end of string'");
    expect_error("!app=web", 0,
                 "found '=', expected: ',' or 'end of string'");
    expect_error("a=b c", 0, "found 'c', expected: ',' or 'end of string'");
}

static void test_field_selectors(void **state)
{
    (void)state;
    static const struct {
        const char *sel;
        int want;
    } cases[] = {
        {"metadata.name=web", 1},
        {"metadata.name==web", 1},
        {"metadata.name!=web", 0},
        {"metadata.name=db", 0},
        {"metadata.namespace=prod,metadata.name=web", 1},
        {"metadata.namespace!=prod,metadata.name=web", 0},
        {"status.phase=Running", 1},
        {"spec.classRef.name=small", 1},
        {"spec.cpu=4", 1},
        {"spec.ratio=1.5", 1},
        {"spec.on=true", 1},
        {"spec.missing=", 1},
        {"spec.missing!=x", 1},
        {"metadata.name=we\\,b", 0},
        {"metadata.name=", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = matches(cases[i].sel, 1, NULL);
        if (got != cases[i].want)
            fail_msg("field selector \"%s\": got %d, want %d", cases[i].sel,
                     got, cases[i].want);
    }
    /* Escaped separators belong to the value. */
    cJSON *o = cJSON_Parse("{\"metadata\":{\"name\":\"a,b=c\\\\d\"}}");
    vrt_selector *s =
        vrt_selector_parse("metadata.name=a\\,b\\=c\\\\d", 1, NULL, 0);
    assert_non_null(s);
    assert_true(vrt_selector_matches(s, o));
    vrt_selector_free(s);
    cJSON_Delete(o);

    expect_error("metadata.name", 1,
                 "invalid selector: 'metadata.name'; can't understand "
                 "'metadata.name'");
    expect_error("a=b,=c", 1,
                 "invalid selector: 'a=b,=c'; can't understand '=c'");
    expect_error("a=b=c", 1,
                 "invalid field selector: unescaped character in value: '='");
    expect_error("a=b\\x", 1,
                 "invalid field selector: invalid escape sequence: \\x");
    expect_error("a=b\\", 1,
                 "invalid field selector: invalid escape sequence: \\");
}

static void test_many_terms(void **state)
{
    (void)state;
    char sel[8192] = "";
    char labels[8192] = "{";
    for (int i = 0; i < 200; i++) {
        size_t l = strlen(sel);
        snprintf(sel + l, sizeof(sel) - l, "%sk%d=v%d", i ? "," : "", i, i);
        l = strlen(labels);
        snprintf(labels + l, sizeof(labels) - l, "%s\"k%d\":\"v%d\"",
                 i ? "," : "", i, i);
    }
    strcat(labels, "}");
    char err[256];
    vrt_selector *s = vrt_selector_parse(sel, 0, err, sizeof(err));
    assert_non_null(s);
    char *obj = malloc(strlen(labels) + 64);
    sprintf(obj, "{\"metadata\":{\"labels\":%s}}", labels);
    cJSON *o = cJSON_Parse(obj);
    assert_true(vrt_selector_matches(s, o));
    cJSON_ReplaceItemInObject(
        cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "labels"),
        "k199", cJSON_CreateString("other"));
    assert_false(vrt_selector_matches(s, o));
    cJSON_Delete(o);
    free(obj);
    vrt_selector_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_matching_table),
        cmocka_unit_test(test_null_and_empty_match_everything),
        cmocka_unit_test(test_label_errors),
        cmocka_unit_test(test_field_selectors),
        cmocka_unit_test(test_many_terms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
