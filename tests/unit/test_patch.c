/*
 * test_patch.c - core/apiserver/patch.c: JSON Merge Patch (RFC 7386) and
 * JSON Patch (RFC 6902), with the RFCs' own examples where the in-place
 * API can express them (an object document; a merge patch that is an
 * object, which the REST layer insists on).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apiserver/apiserver.h"

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    if (!j)
        fail_msg("test JSON does not parse: %s", text);
    return j;
}

/* 1 if `got` equals the JSON text `want` (objects compare regardless of
 * key order, arrays in order); `shown` gets `got` printed either way. */
static int json_same(const cJSON *got, const char *want, char *shown,
                     size_t size)
{
    cJSON *w = parse(want);
    int same = cJSON_Compare(got, w, 1);
    cJSON_Delete(w);
    char *g = cJSON_PrintUnformatted(got);
    snprintf(shown, size, "%s", g ? g : "(null)");
    free(g);
    return same;
}

/* --- merge patch --------------------------------------------------------- */

static void merge(const char *target, const char *patch, const char *want)
{
    cJSON *t = parse(target);
    cJSON *p = parse(patch);
    vrt_merge_patch(t, p);
    char got[1024], after[1024];
    int ok = json_same(t, want, got, sizeof(got));
    /* The patch itself is left alone. */
    int untouched = json_same(p, patch, after, sizeof(after));
    cJSON_Delete(t);
    cJSON_Delete(p);
    if (!ok)
        fail_msg("%s + %s: got %s, want %s", target, patch, got, want);
    if (!untouched)
        fail_msg("the patch %s was changed to %s", patch, after);
}

static void test_merge_rfc7386_examples(void **state)
{
    (void)state;
    /* RFC 7386 appendix A, the cases with an object target and patch; the
     * others appear nested below. */
    merge("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    merge("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
    merge("{\"a\":\"b\"}", "{\"a\":null}", "{}");
    merge("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
    merge("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    merge("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
    merge("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
          "{\"a\":{\"b\":\"d\"}}");
    merge("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
    merge("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
    merge("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
}

static void test_merge_rfc7386_examples_nested(void **state)
{
    (void)state;
    /* The appendix's non-object cases, one level down. */
    merge("{\"x\":[\"a\",\"b\"]}", "{\"x\":[\"c\",\"d\"]}",
          "{\"x\":[\"c\",\"d\"]}");
    merge("{\"x\":{\"a\":\"b\"}}", "{\"x\":[\"c\"]}", "{\"x\":[\"c\"]}");
    merge("{\"x\":{\"a\":\"foo\"}}", "{\"x\":\"bar\"}", "{\"x\":\"bar\"}");
    merge("{\"x\":{\"a\":\"foo\"}}", "{\"x\":null}", "{}");
    /* A non-object replaced by an object: nulls inside mean "absent". */
    merge("{\"x\":[1,2]}", "{\"x\":{\"a\":\"b\",\"c\":null}}",
          "{\"x\":{\"a\":\"b\"}}");
    merge("{\"x\":\"s\"}", "{\"x\":{\"a\":{\"b\":null,\"c\":1}}}",
          "{\"x\":{\"a\":{\"c\":1}}}");
}

static void test_merge_deep_objects_and_siblings(void **state)
{
    (void)state;
    merge("{\"metadata\":{\"name\":\"vm\",\"labels\":{\"a\":\"1\",\"b\":\"2\"}},"
          "\"spec\":{\"cpu\":2,\"disks\":[{\"size\":\"10Gi\"}]}}",
          "{\"metadata\":{\"labels\":{\"a\":null,\"c\":\"3\"}},"
          "\"spec\":{\"powerState\":\"Off\",\"disks\":[]}}",
          "{\"metadata\":{\"name\":\"vm\",\"labels\":{\"b\":\"2\",\"c\":\"3\"}},"
          "\"spec\":{\"cpu\":2,\"disks\":[],\"powerState\":\"Off\"}}");
    /* Deleting what is not there is not an error. */
    merge("{\"a\":1}", "{\"zz\":null,\"b\":{\"c\":null}}",
          "{\"a\":1,\"b\":{}}");
    /* An empty patch changes nothing. */
    merge("{\"a\":{\"b\":[1,{\"c\":null}]}}", "{}",
          "{\"a\":{\"b\":[1,{\"c\":null}]}}");
    /* Arrays are values: nulls inside them are kept. */
    merge("{}", "{\"a\":[null,{\"b\":null}]}", "{\"a\":[null,{\"b\":null}]}");
    /* Scalars of every type replace each other. */
    merge("{\"a\":1,\"b\":true,\"c\":\"s\",\"d\":{}}",
          "{\"a\":\"1\",\"b\":false,\"c\":2.5,\"d\":7}",
          "{\"a\":\"1\",\"b\":false,\"c\":2.5,\"d\":7}");
    /* Keys are case-sensitive. */
    merge("{\"Name\":1}", "{\"name\":2}", "{\"Name\":1,\"name\":2}");
    merge("{\"Name\":1,\"name\":2}", "{\"name\":null}", "{\"Name\":1}");
}

/* --- JSON patch ---------------------------------------------------------- */

static void jpatch_ok(const char *target, const char *ops, const char *want)
{
    cJSON *t = parse(target);
    cJSON *o = parse(ops);
    char why[256] = "";
    int rc = vrt_json_patch(t, o, why, sizeof(why));
    if (rc != 0) {
        cJSON_Delete(t);
        cJSON_Delete(o);
        fail_msg("%s on %s failed: %s", ops, target, why);
    }
    char got[1024];
    int ok = json_same(t, want, got, sizeof(got));
    cJSON_Delete(t);
    cJSON_Delete(o);
    if (!ok)
        fail_msg("%s on %s: got %s, want %s", ops, target, got, want);
}

/* Expects a failure whose message contains `msg_part`. */
static void jpatch_fails(const char *target, const char *ops,
                         const char *msg_part)
{
    cJSON *t = parse(target);
    cJSON *o = parse(ops);
    char why[256] = "";
    int rc = vrt_json_patch(t, o, why, sizeof(why));
    char result[1024];
    char *g = cJSON_PrintUnformatted(t);
    snprintf(result, sizeof(result), "%s", g ? g : "?");
    free(g);
    cJSON_Delete(t);
    cJSON_Delete(o);
    if (rc == 0)
        fail_msg("%s on %s succeeded (result %s); expected an error", ops,
                 target, result);
    assert_int_equal(rc, -1);
    if (!strstr(why, msg_part))
        fail_msg("%s on %s: message \"%s\" does not contain \"%s\"", ops,
                 target, why, msg_part);
}

static void test_jpatch_rfc6902_add(void **state)
{
    (void)state;
    /* A.1 adding an object member */
    jpatch_ok("{\"foo\":\"bar\"}",
              "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
              "{\"baz\":\"qux\",\"foo\":\"bar\"}");
    /* A.10 adding a nested member object */
    jpatch_ok("{\"foo\":\"bar\"}",
              "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
              "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}");
    /* A.11 ignoring unrecognised elements */
    jpatch_ok("{\"foo\":\"bar\"}",
              "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\","
              "\"xyz\":123}]",
              "{\"foo\":\"bar\",\"baz\":\"qux\"}");
    /* A.16 adding an array value */
    jpatch_ok("{\"foo\":[\"bar\"]}",
              "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
              "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}");
    /* add replaces an existing member; index == length appends; 0 prepends */
    jpatch_ok("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":2}]",
              "{\"a\":2}");
    jpatch_ok("{\"a\":[1,2]}",
              "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":3},"
              "{\"op\":\"add\",\"path\":\"/a/0\",\"value\":0}]",
              "{\"a\":[0,1,2,3]}");
    /* a null value is a value */
    jpatch_ok("{}", "[{\"op\":\"add\",\"path\":\"/n\",\"value\":null}]",
              "{\"n\":null}");
    /* an empty list of operations changes nothing */
    jpatch_ok("{\"a\":1}", "[]", "{\"a\":1}");
}

static void test_jpatch_add_inside_an_array(void **state)
{
    (void)state;
    /* A.2 adding an array element */
    jpatch_ok("{\"foo\":[\"bar\",\"baz\"]}",
              "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
              "{\"foo\":[\"bar\",\"qux\",\"baz\"]}");
    jpatch_ok("{\"a\":[1,2,3,4]}",
              "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":\"x\"}]",
              "{\"a\":[1,2,\"x\",3,4]}");
    /* copy into the middle of an array is an add there */
    jpatch_ok("{\"a\":[1,2,3]}",
              "[{\"op\":\"copy\",\"from\":\"/a/0\",\"path\":\"/a/1\"}]",
              "{\"a\":[1,1,2,3]}");
}

static void test_jpatch_rfc6902_remove_replace(void **state)
{
    (void)state;
    /* A.3 removing an object member */
    jpatch_ok("{\"baz\":\"qux\",\"foo\":\"bar\"}",
              "[{\"op\":\"remove\",\"path\":\"/baz\"}]", "{\"foo\":\"bar\"}");
    /* A.4 removing an array element */
    jpatch_ok("{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
              "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
              "{\"foo\":[\"bar\",\"baz\"]}");
    /* A.5 replacing a value */
    jpatch_ok("{\"baz\":\"qux\",\"foo\":\"bar\"}",
              "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
              "{\"baz\":\"boo\",\"foo\":\"bar\"}");
    /* replace of an array element, nested under objects */
    jpatch_ok("{\"spec\":{\"disks\":[{\"s\":1},{\"s\":2}]}}",
              "[{\"op\":\"replace\",\"path\":\"/spec/disks/1/s\",\"value\":5}]",
              "{\"spec\":{\"disks\":[{\"s\":1},{\"s\":5}]}}");
    jpatch_ok("{\"a\":[1,2,3]}",
              "[{\"op\":\"replace\",\"path\":\"/a/2\",\"value\":\"x\"}]",
              "{\"a\":[1,2,\"x\"]}");
    /* Operations apply in order, each to the previous result. */
    jpatch_ok("{\"a\":[1,2,3]}",
              "[{\"op\":\"remove\",\"path\":\"/a/0\"},"
              "{\"op\":\"remove\",\"path\":\"/a/0\"}]",
              "{\"a\":[3]}");
}

static void test_jpatch_rfc6902_move_copy(void **state)
{
    (void)state;
    /* A.6 moving a value */
    jpatch_ok("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},"
              "\"qux\":{\"corge\":\"grault\"}}",
              "[{\"op\":\"move\",\"from\":\"/foo/waldo\","
              "\"path\":\"/qux/thud\"}]",
              "{\"foo\":{\"bar\":\"baz\"},"
              "\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}");
    /* A.7 moving an array element */
    jpatch_ok("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
              "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
              "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}");
    /* copy, with a deep copy: changing the copy leaves the source */
    jpatch_ok("{\"a\":{\"b\":[1]}}",
              "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"},"
              "{\"op\":\"add\",\"path\":\"/c/b/-\",\"value\":2}]",
              "{\"a\":{\"b\":[1]},\"c\":{\"b\":[1,2]}}");
    jpatch_ok("{\"a\":[1,2]}",
              "[{\"op\":\"copy\",\"from\":\"/a/1\",\"path\":\"/a/0\"}]",
              "{\"a\":[2,1,2]}");
    /* move to where it already is changes nothing */
    jpatch_ok("{\"a\":1}",
              "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]",
              "{\"a\":1}");
}

static void test_jpatch_rfc6902_test(void **state)
{
    (void)state;
    /* A.8 testing a value: success */
    jpatch_ok("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
              "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
              "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
              "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}");
    /* A.9 testing a value: error */
    jpatch_fails("{\"baz\":\"qux\"}",
                 "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
                 "test failed");
    /* A.14 ~ escape ordering */
    jpatch_ok("{\"/\":9,\"~1\":10}",
              "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
              "{\"/\":9,\"~1\":10}");
    /* A.15 comparing strings and numbers */
    jpatch_fails("{\"/\":9,\"~1\":10}",
                 "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]",
                 "test failed");
    /* Objects compare regardless of key order; arrays by order. */
    jpatch_ok("{\"o\":{\"a\":1,\"b\":[1,2]}}",
              "[{\"op\":\"test\",\"path\":\"/o\","
              "\"value\":{\"b\":[1,2],\"a\":1}}]",
              "{\"o\":{\"a\":1,\"b\":[1,2]}}");
    jpatch_fails("{\"o\":{\"b\":[1,2]}}",
                 "[{\"op\":\"test\",\"path\":\"/o/b\",\"value\":[2,1]}]",
                 "test failed");
    /* The whole document. */
    jpatch_ok("{\"a\":1}",
              "[{\"op\":\"test\",\"path\":\"\",\"value\":{\"a\":1}}]",
              "{\"a\":1}");
    /* A failed test names the operation's position. */
    jpatch_fails("{\"a\":1}",
                 "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},"
                 "{\"op\":\"test\",\"path\":\"/a\",\"value\":2}]",
                 "operation 1");
}

static void test_jpatch_pointer_escapes(void **state)
{
    (void)state;
    /* ~1 is '/', ~0 is '~', decoded in that order */
    jpatch_ok("{\"metadata\":{\"annotations\":{}}}",
              "[{\"op\":\"add\",\"path\":\"/metadata/annotations/"
              "virtrigaud.io~1force-delete\",\"value\":\"true\"}]",
              "{\"metadata\":{\"annotations\":"
              "{\"virtrigaud.io/force-delete\":\"true\"}}}");
    jpatch_ok("{}", "[{\"op\":\"add\",\"path\":\"/m~0n\",\"value\":1}]",
              "{\"m~n\":1}");
    jpatch_ok("{\"a~1b\":1}",
              "[{\"op\":\"remove\",\"path\":\"/a~01b\"}]", "{}");
    /* RFC 6901 section 5 examples, read with test */
    const char *doc = "{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,"
                      "\"e^f\":3,\"g|h\":4,\"i\\\\j\":5,\"k\\\"l\":6,"
                      "\" \":7,\"m~n\":8}";
    jpatch_ok(doc,
              "[{\"op\":\"test\",\"path\":\"/foo\",\"value\":[\"bar\",\"baz\"]},"
              "{\"op\":\"test\",\"path\":\"/foo/0\",\"value\":\"bar\"},"
              "{\"op\":\"test\",\"path\":\"/a~1b\",\"value\":1},"
              "{\"op\":\"test\",\"path\":\"/c%d\",\"value\":2},"
              "{\"op\":\"test\",\"path\":\"/e^f\",\"value\":3},"
              "{\"op\":\"test\",\"path\":\"/g|h\",\"value\":4},"
              "{\"op\":\"test\",\"path\":\"/i\\\\j\",\"value\":5},"
              "{\"op\":\"test\",\"path\":\"/k\\\"l\",\"value\":6},"
              "{\"op\":\"test\",\"path\":\"/ \",\"value\":7},"
              "{\"op\":\"test\",\"path\":\"/m~0n\",\"value\":8}]",
              doc);
}

static void test_jpatch_empty_reference_tokens(void **state)
{
    (void)state;
    /* RFC 6901 section 5: "/" is the member "" of the root. */
    jpatch_ok("{\"\":0,\"a\":1}",
              "[{\"op\":\"test\",\"path\":\"/\",\"value\":0}]",
              "{\"\":0,\"a\":1}");
    jpatch_ok("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/\",\"value\":2}]",
              "{\"\":2,\"a\":1}");
    /* RFC 6901: "" is a valid member name anywhere in a pointer, so
     * "/a//b" is a -> "" -> b and "/a/" is the member "" of a. */
    jpatch_ok("{\"a\":{\"\":{\"b\":1}}}",
              "[{\"op\":\"test\",\"path\":\"/a//b\",\"value\":1}]",
              "{\"a\":{\"\":{\"b\":1}}}");
    jpatch_ok("{\"a\":{\"b\":1}}",
              "[{\"op\":\"add\",\"path\":\"/a/\",\"value\":2}]",
              "{\"a\":{\"b\":1,\"\":2}}");
}

static void test_jpatch_errors(void **state)
{
    (void)state;
    /* A.12 adding to a nonexistent target */
    jpatch_fails("{\"foo\":\"bar\"}",
                 "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]",
                 "does not exist");
    /* removing or replacing what is not there */
    jpatch_fails("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]",
                 "does not exist");
    jpatch_fails("{\"a\":1}",
                 "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":1}]",
                 "does not exist");
    jpatch_fails("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/b\",\"value\":1}]",
                 "does not exist");
    jpatch_fails("{\"a\":1}",
                 "[{\"op\":\"move\",\"from\":\"/b\",\"path\":\"/c\"}]",
                 "does not exist");
    jpatch_fails("{\"a\":1}",
                 "[{\"op\":\"copy\",\"from\":\"/x/y\",\"path\":\"/c\"}]",
                 "does not exist");
    /* array indexes out of range, "-" where it means nothing */
    jpatch_fails("{\"a\":[1]}",
                 "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":1}]",
                 "out of range");
    jpatch_fails("{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/1\"}]",
                 "out of range");
    jpatch_fails("{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/-\"}]",
                 "out of range");
    jpatch_fails("{\"a\":[1]}",
                 "[{\"op\":\"replace\",\"path\":\"/a/-\",\"value\":1}]",
                 "out of range");
    jpatch_fails("{\"a\":[1]}",
                 "[{\"op\":\"add\",\"path\":\"/a/-1\",\"value\":1}]",
                 "out of range");
    jpatch_fails("{\"a\":[1]}",
                 "[{\"op\":\"add\",\"path\":\"/a/x\",\"value\":1}]",
                 "out of range");
    jpatch_fails("{\"a\":[1,2]}", "[{\"op\":\"test\",\"path\":\"/a/5\","
                                  "\"value\":1}]",
                 "does not exist");
    /* malformed operations */
    jpatch_fails("{\"a\":1}", "[{\"path\":\"/a\"}]", "\"op\"");
    jpatch_fails("{\"a\":1}", "[{\"op\":\"add\",\"value\":1}]", "\"path\"");
    jpatch_fails("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\"}]", "\"value\"");
    jpatch_fails("{\"a\":1}",
                 "[{\"op\":\"replace\",\"path\":\"/a\"}]", "\"value\"");
    jpatch_fails("{\"a\":1}",
                 "[{\"op\":\"frobnicate\",\"path\":\"/a\"}]", "frobnicate");
    jpatch_fails("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]",
                 "must start with '/'");
    jpatch_fails("{\"a\":1}", "{\"op\":\"add\"}", "must be an array");
    /* adding below a scalar */
    jpatch_fails("{\"a\":1}",
                 "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]",
                 "not an object");
}

static void test_jpatch_intermediate_index_must_be_a_number(void **state)
{
    (void)state;
    /* A path through an array needs a valid index at every step, not only
     * at the last: "x" and "01" are not indexes (RFC 6901 section 4). */
    jpatch_fails("{\"a\":[{\"b\":1}]}",
                 "[{\"op\":\"replace\",\"path\":\"/a/x/b\",\"value\":2}]",
                 "/a/x/b");
    jpatch_fails("{\"a\":[{\"b\":1},{\"b\":2}]}",
                 "[{\"op\":\"replace\",\"path\":\"/a/01/b\",\"value\":3}]",
                 "/a/01/b");
}

static void test_jpatch_error_names_operation_index(void **state)
{
    (void)state;
    jpatch_fails("{\"a\":1}",
                 "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},"
                 "{\"op\":\"add\",\"path\":\"/c\",\"value\":3},"
                 "{\"op\":\"remove\",\"path\":\"/zz\"}]",
                 "operation 2: path \"/zz\" does not exist");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_rfc7386_examples),
        cmocka_unit_test(test_merge_rfc7386_examples_nested),
        cmocka_unit_test(test_merge_deep_objects_and_siblings),
        cmocka_unit_test(test_jpatch_rfc6902_add),
        cmocka_unit_test(test_jpatch_add_inside_an_array),
        cmocka_unit_test(test_jpatch_rfc6902_remove_replace),
        cmocka_unit_test(test_jpatch_rfc6902_move_copy),
        cmocka_unit_test(test_jpatch_rfc6902_test),
        cmocka_unit_test(test_jpatch_pointer_escapes),
        cmocka_unit_test(test_jpatch_empty_reference_tokens),
        cmocka_unit_test(test_jpatch_errors),
        cmocka_unit_test(test_jpatch_intermediate_index_must_be_a_number),
        cmocka_unit_test(test_jpatch_error_names_operation_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
