/*
 * test_yaml.c - core/util/yaml.c: scalar typing as kubectl reads manifests
 * (YAML 1.1 booleans, go-yaml integers and floats), multi-document
 * streams, anchors, aliases and merge keys, errors with line and column,
 * the limits that protect against hostile input, and block YAML output
 * that reads back to the same tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <unistd.h>

#include <vrt/yaml.h>

/* The fuzz driver doubles as a robustness check on fixed inputs. */
#include "../fuzz/fuzz_yaml.c"

/* Parses text that must hold exactly one document; returns it detached. */
static cJSON *one_doc(const char *text)
{
    char err[256];
    cJSON *docs = vrt_yaml_parse_all(text, strlen(text), err, sizeof(err));
    if (!docs)
        fail_msg("parse of \"%s\" failed: %s", text, err);
    if (cJSON_GetArraySize(docs) != 1)
        fail_msg("\"%s\" gave %d documents", text, cJSON_GetArraySize(docs));
    cJSON *d = cJSON_DetachItemFromArray(docs, 0);
    cJSON_Delete(docs);
    return d;
}

/* Asserts that text parses to the JSON `want` (compared structurally). */
static void assert_yaml_json(const char *text, const char *want)
{
    cJSON *got = one_doc(text);
    cJSON *exp = cJSON_Parse(want);
    assert_non_null(exp);
    if (!cJSON_Compare(got, exp, 1)) {
        char *g = cJSON_PrintUnformatted(got);
        fail_msg("\"%s\": got %s, want %s", text, g, want);
    }
    cJSON_Delete(got);
    cJSON_Delete(exp);
}

/* Asserts a parse error whose message starts with `prefix` and contains
 * `part`. */
static void assert_yaml_error(const char *text, const char *prefix,
                              const char *part)
{
    char err[512] = "unset";
    cJSON *docs = vrt_yaml_parse_all(text, strlen(text), err, sizeof(err));
    if (docs) {
        char *g = cJSON_PrintUnformatted(docs);
        fail_msg("\"%s\" parsed (to %s) but should fail", text, g);
    }
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", err, prefix);
    if (part && !strstr(err, part))
        fail_msg("error \"%s\" does not mention \"%s\"", err, part);
}

static void test_typing_table(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *json;
    } cases[] = {
        /* YAML 1.1 booleans, as kubectl (go-yaml v2) reads them. */
        {"v: true", "{\"v\":true}"},       {"v: True", "{\"v\":true}"},
        {"v: TRUE", "{\"v\":true}"},       {"v: yes", "{\"v\":true}"},
        {"v: Yes", "{\"v\":true}"},        {"v: YES", "{\"v\":true}"},
        {"v: y", "{\"v\":true}"},          {"v: Y", "{\"v\":true}"},
        {"v: on", "{\"v\":true}"},         {"v: On", "{\"v\":true}"},
        {"v: ON", "{\"v\":true}"},         {"v: false", "{\"v\":false}"},
        {"v: no", "{\"v\":false}"},        {"v: N", "{\"v\":false}"},
        {"v: off", "{\"v\":false}"},       {"v: Off", "{\"v\":false}"},
        {"v: OFF", "{\"v\":false}"},       {"v: yES", "{\"v\":\"yES\"}"},
        {"v: tRUE", "{\"v\":\"tRUE\"}"},   {"v: oN", "{\"v\":\"oN\"}"},
        /* null */
        {"v: null", "{\"v\":null}"},       {"v: Null", "{\"v\":null}"},
        {"v: NULL", "{\"v\":null}"},       {"v: ~", "{\"v\":null}"},
        {"v:", "{\"v\":null}"},            {"v: nULL", "{\"v\":\"nULL\"}"},
        /* integers: go's ParseInt(s, 0, 64) after dropping '_' */
        {"v: 12", "{\"v\":12}"},           {"v: -3", "{\"v\":-3}"},
        {"v: +4", "{\"v\":4}"},            {"v: 0", "{\"v\":0}"},
        {"v: 0x1F", "{\"v\":31}"},         {"v: -0x1F", "{\"v\":-31}"},
        {"v: 0o17", "{\"v\":15}"},         {"v: 017", "{\"v\":15}"},
        {"v: 0b101", "{\"v\":5}"},         {"v: 1_000", "{\"v\":1000}"},
        {"v: 9007199254740992", "{\"v\":9007199254740992}"},
        {"v: 10000000000000000000000", "{\"v\":1e22}"},
        /* floats */
        {"v: 1.5", "{\"v\":1.5}"},         {"v: .5", "{\"v\":0.5}"},
        {"v: -.5", "{\"v\":-0.5}"},        {"v: 1e3", "{\"v\":1000}"},
        {"v: 1.5E-3", "{\"v\":0.0015}"},   {"v: 1.", "{\"v\":1}"},
        {"v: 08", "{\"v\":8}"},            {"v: +1.5e+2", "{\"v\":150}"},
        /* strings */
        {"v: 1.2.3", "{\"v\":\"1.2.3\"}"}, {"v: 12:30", "{\"v\":\"12:30\"}"},
        {"v: 2001-12-14", "{\"v\":\"2001-12-14\"}"},
        {"v: 0x", "{\"v\":\"0x\"}"},       {"v: +", "{\"v\":\"+\"}"},
        {"v: 1e999", "{\"v\":\"1e999\"}"},
        {"v: .foo", "{\"v\":\".foo\"}"},   {"v: 1_", "{\"v\":1}"},
        {"v: _1", "{\"v\":\"_1\"}"},       {"v: 0x1G", "{\"v\":\"0x1G\"}"},
        {"v: OffGraceful", "{\"v\":\"OffGraceful\"}"},
        /* quoting and block scalars keep text */
        {"v: \"true\"", "{\"v\":\"true\"}"}, {"v: 'yes'", "{\"v\":\"yes\"}"},
        {"v: \"123\"", "{\"v\":\"123\"}"},   {"v: 'On'", "{\"v\":\"On\"}"},
        {"v: \"\"", "{\"v\":\"\"}"},         {"v: ''", "{\"v\":\"\"}"},
        {"v: |\n  a\n  b\n", "{\"v\":\"a\\nb\\n\"}"},
        {"v: >-\n  a\n  b\n", "{\"v\":\"a b\"}"},
        /* explicit tags */
        {"v: !!str 123", "{\"v\":\"123\"}"}, {"v: !!str true", "{\"v\":\"true\"}"},
        {"v: !!int \"42\"", "{\"v\":42}"},   {"v: !!float 1", "{\"v\":1}"},
        {"v: !!bool \"yes\"", "{\"v\":true}"}, {"v: !!null ''", "{\"v\":null}"},
        {"v: !custom 7", "{\"v\":\"7\"}"},   {"v: !!timestamp 2001-12-14",
                                              "{\"v\":\"2001-12-14\"}"},
        /* keys are text; non-string keys become their JSON spelling */
        {"1: a", "{\"1\":\"a\"}"},           {"true: a", "{\"true\":\"a\"}"},
        {"on: push", "{\"true\":\"push\"}"}, {"0x10: a", "{\"16\":\"a\"}"},
        {"\"on\": push", "{\"on\":\"push\"}"},
        /* flow collections */
        {"v: [1, two, {x: yes}]", "{\"v\":[1,\"two\",{\"x\":true}]}"},
        {"v: {}", "{\"v\":{}}"},             {"v: []", "{\"v\":[]}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_yaml_json(cases[i].yaml, cases[i].json);
}

static void test_top_level_scalars_and_lists(void **state)
{
    (void)state;
    assert_yaml_json("hello", "\"hello\"");
    assert_yaml_json("42", "42");
    assert_yaml_json("- a\n- 2\n- - x\n  - z\n", "[\"a\",2,[\"x\",\"z\"]]");
    /* go-yaml v2 reads a bare y as true, even as a key. */
    assert_yaml_json("y: n", "{\"true\":false}");
}

static void test_numbers_that_json_cannot_hold_are_errors(void **state)
{
    (void)state;
    assert_yaml_error("v: 9007199254740993", "line 1 column 4:",
                      "cannot hold exactly");
    assert_yaml_error("a: 1\nv: 18446744073709551615\n", "line 2 column 4:",
                      "\"18446744073709551615\"");
    assert_yaml_error("v: 0x1FFFFFFFFFFFFFFFFF", "line 1 column 4:", NULL);
    assert_yaml_error("v: .inf", "line 1 column 4:", "infinity or NaN");
    assert_yaml_error("v: -.Inf", "line 1 column 4:", NULL);
    assert_yaml_error("v: .nan", "line 1 column 4:", NULL);
    /* Quoting keeps them as text. */
    assert_yaml_json("v: \"9007199254740993\"", "{\"v\":\"9007199254740993\"}");
    assert_yaml_json("v: '.inf'", "{\"v\":\".inf\"}");
}

/* A double-quoted \0 (or \x00, \u0000) would put a NUL inside a C string:
 * "a\0b": "x\0y" became {"a":"x"}.  Refused, for keys and values. */
static void test_nul_in_a_scalar_is_an_error(void **state)
{
    (void)state;
    assert_yaml_error("\"a\\0b\": \"x\\0y\"", "line 1 column 1:", "NUL");
    assert_yaml_error("k: \"x\\0y\"", "line 1 column 4:", "NUL");
    assert_yaml_error("k: \"x\\x00\"", "line 1 column 4:", "NUL");
    assert_yaml_error("k: [\"\\u0000\"]", "line 1 column 5:", "NUL");
    assert_yaml_json("k: \"x\\\\0y\"", "{\"k\":\"x\\\\0y\"}"); /* text */
}

static void test_wrong_explicit_tag_is_an_error(void **state)
{
    (void)state;
    assert_yaml_error("a: b\nv: !!int abc\n", "line 2 column 4:",
                      "cannot read \"abc\" as !!int");
    assert_yaml_error("v: !!bool 3", "line 1 column 4:", "!!bool");
}

static void test_multi_document_stream(void **state)
{
    (void)state;
    const char *text = "---\n"
                       "kind: A\n"
                       "---\n"
                       "# only a comment\n"
                       "---\n"
                       "null\n"
                       "---\n"
                       "kind: B\n"
                       "...\n"
                       "---\n"
                       "kind: C\n";
    char err[256];
    cJSON *docs = vrt_yaml_parse_all(text, strlen(text), err, sizeof(err));
    assert_non_null(docs);
    assert_int_equal(cJSON_GetArraySize(docs), 3);
    const char *kinds[] = {"A", "B", "C"};
    for (int i = 0; i < 3; i++)
        assert_string_equal(
            cJSON_GetObjectItem(cJSON_GetArrayItem(docs, i), "kind")
                ->valuestring,
            kinds[i]);
    cJSON_Delete(docs);

    docs = vrt_yaml_parse_all("", 0, err, sizeof(err));
    assert_non_null(docs);
    assert_int_equal(cJSON_GetArraySize(docs), 0);
    cJSON_Delete(docs);

    /* The length bounds the text: what follows is not read. */
    const char *two = "a: 1\n---\nb: 2\n";
    docs = vrt_yaml_parse_all(two, 5, err, sizeof(err));
    assert_non_null(docs);
    assert_int_equal(cJSON_GetArraySize(docs), 1);
    cJSON_Delete(docs);
}

static void test_anchors_and_aliases(void **state)
{
    (void)state;
    cJSON *d = one_doc("base: &b\n"
                       "  cpu: 2\n"
                       "  tags: [a, b]\n"
                       "one: *b\n"
                       "two: *b\n"
                       "name: &n web\n"
                       "again: *n\n");
    cJSON *exp = cJSON_Parse(
        "{\"base\":{\"cpu\":2,\"tags\":[\"a\",\"b\"]},"
        "\"one\":{\"cpu\":2,\"tags\":[\"a\",\"b\"]},"
        "\"two\":{\"cpu\":2,\"tags\":[\"a\",\"b\"]},"
        "\"name\":\"web\",\"again\":\"web\"}");
    assert_true(cJSON_Compare(d, exp, 1));
    /* Aliases are copies: changing one leaves the others alone. */
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(d, "one"), "cpu",
                              cJSON_CreateNumber(8));
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(d, "two"), "cpu")->valueint,
        2);
    cJSON_Delete(exp);
    cJSON_Delete(d);

    /* An anchor redefined later: aliases after it see the new value. */
    assert_yaml_json("a: &x 1\nb: *x\nc: &x 2\nd: *x\n",
                     "{\"a\":1,\"b\":1,\"c\":2,\"d\":2}");
    /* An alias as a key. */
    assert_yaml_json("k: &key name\n*key : v\n", "{\"k\":\"name\",\"name\":\"v\"}");
    /* Anchors do not cross documents. */
    assert_yaml_error("a: &x 1\n---\nb: *x\n", "line 3 column 4:",
                      "\"*x\" refers to no anchor");
}

static void test_merge_keys(void **state)
{
    (void)state;
    /* Keys of the mapping win over merged ones, wherever they appear. */
    assert_yaml_json("base: &b {x: 1, w: 2}\n"
                     "d:\n"
                     "  w: 3\n"
                     "  <<: *b\n"
                     "  z: 4\n",
                     "{\"base\":{\"x\":1,\"w\":2},"
                     "\"d\":{\"w\":3,\"z\":4,\"x\":1}}");
    /* With a list, earlier sources win. */
    assert_yaml_json("a: &a {k: from-a}\n"
                     "b: &b {k: from-b, only: b}\n"
                     "m:\n"
                     "  <<: [*a, *b]\n",
                     "{\"a\":{\"k\":\"from-a\"},"
                     "\"b\":{\"k\":\"from-b\",\"only\":\"b\"},"
                     "\"m\":{\"k\":\"from-a\",\"only\":\"b\"}}");
    /* A quoted "<<" is an ordinary key. */
    assert_yaml_json("\"<<\": 1", "{\"<<\":1}");
    assert_yaml_error("a: 1\nm:\n  <<: 5\n", "line 3 column 3:",
                      "merge key");
    /* An anchor inside a merge value stays usable afterwards. */
    assert_yaml_json("m:\n  <<: &inner {q: 1}\nm2: *inner\n",
                     "{\"m\":{\"q\":1},\"m2\":{\"q\":1}}");
}

static void test_errors_name_line_and_column(void **state)
{
    (void)state;
    assert_yaml_error("apiVersion: v1\nkind: Pod\nspec: [1, 2\n",
                      "line 4 column 1:", NULL);
    assert_yaml_error("a: 1\nb:\n\t- x\n", "line 3 column 1:",
                      "cannot start any token");
    assert_yaml_error("a: 1\nb: *nope\n", "line 2 column 4:",
                      "\"*nope\" refers to no anchor");
    assert_yaml_error("a: 1\nb: 2\na: 3\n", "line 3 column 1:",
                      "mapping key \"a\" is defined twice");
    assert_yaml_error("x: &a [1, *a]\n", "line 1 column 11:",
                      "alias to itself");
    assert_yaml_error("? [a, b]\n: 1\n", "line 1 column 3:",
                      "not a list or a map");
    assert_yaml_error("~: 1\n", "line 1 column 1:", "mapping key");
    assert_yaml_error("a: \"unterminated\n", "line 2 column 1:", NULL);
    /* Not UTF-8: the reader reports a byte offset, turned into a line. */
    assert_yaml_error("a: 1\nb: \xc3\xa9\xff\n", "line 2 column 5:",
                      "invalid");
}

static void test_duplicate_keys_in_large_maps(void **state)
{
    (void)state;
    char *text = malloc(20000 * 16 + 64);
    size_t off = 0;
    for (int i = 0; i < 20000; i++)
        off += (size_t)sprintf(text + off, "k%d: %d\n", i, i);
    cJSON *docs = vrt_yaml_parse_all(text, off, NULL, 0);
    assert_non_null(docs);
    cJSON *m = cJSON_GetArrayItem(docs, 0);
    assert_int_equal(cJSON_GetArraySize(m), 20000);
    assert_int_equal(cJSON_GetObjectItem(m, "k19999")->valueint, 19999);
    cJSON_Delete(docs);
    off += (size_t)sprintf(text + off, "k12345: again\n");
    char err[256];
    assert_null(vrt_yaml_parse_all(text, off, err, sizeof(err)));
    assert_string_equal(err, "line 20001 column 1: mapping key \"k12345\" is "
                             "defined twice");
    free(text);
}

static char *nested(const char *open, const char *close, int depth)
{
    size_t ol = strlen(open), cl = strlen(close);
    char *s = malloc((ol + cl) * (size_t)depth + 2);
    size_t off = 0;
    for (int i = 0; i < depth; i++, off += ol)
        memcpy(s + off, open, ol);
    s[off++] = '1';
    for (int i = 0; i < depth; i++, off += cl)
        memcpy(s + off, close, cl);
    s[off] = '\0';
    return s;
}

static void test_depth_limit(void **state)
{
    (void)state;
    char err[256];
    char *ok = nested("[", "]", 255);
    cJSON *docs = vrt_yaml_parse_all(ok, strlen(ok), err, sizeof(err));
    assert_non_null(docs);
    cJSON_Delete(docs);
    free(ok);

    char *deep = nested("[", "]", 257);
    assert_null(vrt_yaml_parse_all(deep, strlen(deep), err, sizeof(err)));
    assert_non_null(strstr(err, "nests deeper than 256 levels"));
    free(deep);

    char *huge = nested("{a: ", "}", 100000);
    assert_null(vrt_yaml_parse_all(huge, strlen(huge), err, sizeof(err)));
    assert_non_null(strstr(err, "nests deeper than 256 levels"));
    free(huge);

    /* Aliases cannot stack depth past the limit either. */
    char *text = malloc(200000);
    size_t off = (size_t)sprintf(text, "a: &a ");
    char *mid = nested("[", "]", 200);
    off += (size_t)sprintf(text + off, "%s\nb: &b [[[[[[[[[[[[[[[[[[[[[[[[[["
                                       "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                                       "[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]]]]"
                                       "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
                                       "]]]]]]]]\n",
                           mid);
    free(mid);
    assert_null(vrt_yaml_parse_all(text, off, err, sizeof(err)));
    assert_non_null(strstr(err, "deeper than 256 levels"));
    free(text);
}

static void test_billion_laughs_is_refused(void **state)
{
    (void)state;
    const char *lol = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\","
                      "\"lol\",\"lol\",\"lol\"]\n"
                      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                      "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                      "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                      "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                      "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    char err[256];
    assert_null(vrt_yaml_parse_all(lol, strlen(lol), err, sizeof(err)));
    assert_non_null(strstr(err, "expands aliases into more than"));
    /* Moderate reuse is fine. */
    const char *few = "a: &a [1, 2, 3]\nb: [*a, *a, *a]\n";
    cJSON *docs = vrt_yaml_parse_all(few, strlen(few), err, sizeof(err));
    assert_non_null(docs);
    cJSON_Delete(docs);
}

static void test_parse_file(void **state)
{
    (void)state;
    char path[] = "/tmp/vrt-yaml-test.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "apiVersion: v1\nkind: Config\n---\nkind: Other\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char err[512];
    cJSON *docs = vrt_yaml_parse_file(path, err, sizeof(err));
    assert_non_null(docs);
    assert_int_equal(cJSON_GetArraySize(docs), 2);
    cJSON_Delete(docs);

    /* Errors name the file and the line. */
    FILE *f = fopen(path, "w");
    fputs("a: 1\na: 2\n", f);
    fclose(f);
    assert_null(vrt_yaml_parse_file(path, err, sizeof(err)));
    char want[600];
    snprintf(want, sizeof(want),
             "%s: line 2 column 1: mapping key \"a\" is defined twice", path);
    assert_string_equal(err, want);
    unlink(path);

    assert_null(vrt_yaml_parse_file(path, err, sizeof(err)));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file"));
}

/* --- emitting ---------------------------------------------------------------- */

static void assert_roundtrip(const cJSON *v)
{
    char *y = vrt_yaml_emit(v);
    assert_non_null(y);
    char err[256];
    cJSON *docs = vrt_yaml_parse_all(y, strlen(y), err, sizeof(err));
    if (!docs)
        fail_msg("emitted YAML does not parse (%s):\n%s", err, y);
    cJSON *back = cJSON_GetArrayItem(docs, 0);
    if (!back && cJSON_IsNull(v)) { /* a null document reads as no document */
        cJSON_Delete(docs);
        free(y);
        return;
    }
    if (!cJSON_Compare(back, v, 1)) {
        char *a = cJSON_PrintUnformatted(v), *b = cJSON_PrintUnformatted(back);
        fail_msg("round trip changed %s into %s via:\n%s", a, b, y);
    }
    cJSON_Delete(docs);
    free(y);
}

static void test_emit_quotes_strings_that_would_retype(void **state)
{
    (void)state;
    static const char *const strings[] = {
        "true", "True", "yes", "Yes", "on", "ON", "off", "y", "n", "N",
        "null", "Null", "~", "", "123", "-3", "+4", "0x1F", "0o17", "017",
        "1_000", "1.5", ".5", "1e3", "08", ".inf", "-.Inf", ".nan",
        "9007199254740993", " lead", "trail ", "a: b", "a #c", "#c", "- x",
        "-x", "? q", ":x", "x:", "[a]", "{a}", "a,b", "*alias", "&anchor",
        "!tag", "|pipe", ">fold", "'single'", "\"double\"", "%pct", "@at",
        "`tick", "<<", "---", "...", "---x", "tab\there", "ctl\x01x",
        "del\x7fx", "nel\xc2\x85x", "ls\xe2\x80\xa8x", "bom\xef\xbb\xbfx",
        "h\xc3\xa9llo w\xc3\xb6rld", "\xe6\x97\xa5\xe6\x9c\xac",
        "line1\nline2", "line1\nline2\n", "line1\n\n", "\nlead newline",
        " \nspace first", "a\n  indented\nb", "cr\r\nlf", "\n", "\n\n",
        "\ttab first\n", "\n\ttab after a break\n", "x\n\ttab later\n",
        "back\\slash", "quote\"in", "2001-12-14", "12:30", "OffGraceful",
        "http://example.com/a#frag", "a:b", "key=value", "=",
        "ends with colon:", "x\ty",
    };
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "v", strings[i]);
        cJSON_AddStringToObject(o, strings[i], "as key");
        cJSON *a = cJSON_CreateArray();
        cJSON_AddItemToArray(a, cJSON_CreateString(strings[i]));
        cJSON_AddItemToObject(o, "list", a);
        assert_roundtrip(o);
        cJSON_Delete(o);
        cJSON *top = cJSON_CreateString(strings[i]);
        assert_roundtrip(top);
        cJSON_Delete(top);
    }
}

static void test_emit_plain_strings_stay_plain(void **state)
{
    (void)state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "a", "web-01");
    cJSON_AddStringToObject(o, "b", "infra.virtrigaud.io/v1beta1");
    cJSON_AddStringToObject(o, "c", "http://x/y");
    cJSON_AddStringToObject(o, "d", "OffGraceful");
    char *y = vrt_yaml_emit(o);
    assert_string_equal(y, "a: web-01\n"
                           "b: infra.virtrigaud.io/v1beta1\n"
                           "c: http://x/y\n"
                           "d: OffGraceful\n");
    free(y);
    cJSON_Delete(o);
}

static void test_emit_layout(void **state)
{
    (void)state;
    cJSON *o = cJSON_Parse(
        "{\"apiVersion\":\"infra.virtrigaud.io/v1beta1\","
        "\"kind\":\"VirtualMachine\","
        "\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\"}},"
        "\"spec\":{\"powerState\":\"On\",\"cpu\":2,\"ratio\":1.5,"
        "\"big\":4294967296,\"flag\":true,\"none\":null,"
        "\"empty\":{},\"nothing\":[],\"tags\":[\"a\",\"yes\"],"
        "\"disks\":[{\"name\":\"d1\",\"sizeGiB\":10},{\"name\":\"d2\"}],"
        "\"matrix\":[[1,2],[]],"
        "\"script\":\"#!/bin/sh\\necho hi\\n\"}}");
    char *y = vrt_yaml_emit(o);
    assert_string_equal(y, "apiVersion: infra.virtrigaud.io/v1beta1\n"
                           "kind: VirtualMachine\n"
                           "metadata:\n"
                           "  name: web\n"
                           "  labels:\n"
                           "    app: web\n"
                           "spec:\n"
                           "  powerState: \"On\"\n"
                           "  cpu: 2\n"
                           "  ratio: 1.5\n"
                           "  big: 4294967296\n"
                           "  flag: true\n"
                           "  none: null\n"
                           "  empty: {}\n"
                           "  nothing: []\n"
                           "  tags:\n"
                           "  - a\n"
                           "  - \"yes\"\n"
                           "  disks:\n"
                           "  - name: d1\n"
                           "    sizeGiB: 10\n"
                           "  - name: d2\n"
                           "  matrix:\n"
                           "  - - 1\n"
                           "    - 2\n"
                           "  - []\n"
                           "  script: |\n"
                           "    #!/bin/sh\n"
                           "    echo hi\n");
    assert_roundtrip(o);
    free(y);
    cJSON_Delete(o);

    cJSON *top = cJSON_CreateArray();
    y = vrt_yaml_emit(top);
    assert_string_equal(y, "[]\n");
    free(y);
    cJSON_Delete(top);
    top = cJSON_CreateNumber(-0.001);
    y = vrt_yaml_emit(top);
    assert_string_equal(y, "-0.001\n");
    free(y);
    cJSON_Delete(top);
}

static void test_emit_numbers_roundtrip(void **state)
{
    (void)state;
    static const double nums[] = {0, -1, 1.5, 1e21, 1e-7, 123456789012345.0,
                                  9007199254740992.0, 0.1, 2.5e-300, -3.75};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "n", nums[i]);
        assert_roundtrip(o);
        cJSON_Delete(o);
    }
}

static void test_emit_long_keys(void **state)
{
    (void)state;
    char key[1500];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, key, "v");
    cJSON_AddItemToObject(o, "short", cJSON_CreateStringArray(
                                          (const char *[]){"a"}, 1));
    cJSON *inner = cJSON_CreateObject();
    cJSON_AddItemToObject(inner, key, cJSON_CreateStringArray(
                                          (const char *[]){"x", "y"}, 2));
    cJSON_AddItemToObject(o, "inner", inner);
    assert_roundtrip(o);
    cJSON_Delete(o);
}

static void test_fuzz_driver_on_fixed_inputs(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "", "---", "a: b", "- [a, {b: c}]", "&a [*a]", "<<: 5",
        "a: &x {b: 1}\nc:\n  <<: [*x, *x]\n", "\"\\u0000\"", "!!binary aGk=",
        "? a\n? b\n", "{a: 1, a: 2}", "[[[[[[[[[[[[", "%YAML 1.1\n---\nx",
        "a: |\n  \xe2\x80\xa8\n", "x: !!int 0x_", "- 0b2", "k: 1e",
        "- |1\n \t\t\t\t lr 1\n- ",
    };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
        assert_int_equal(LLVMFuzzerTestOneInput((const uint8_t *)inputs[i],
                                                strlen(inputs[i])),
                         0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typing_table),
        cmocka_unit_test(test_top_level_scalars_and_lists),
        cmocka_unit_test(test_numbers_that_json_cannot_hold_are_errors),
        cmocka_unit_test(test_nul_in_a_scalar_is_an_error),
        cmocka_unit_test(test_wrong_explicit_tag_is_an_error),
        cmocka_unit_test(test_multi_document_stream),
        cmocka_unit_test(test_anchors_and_aliases),
        cmocka_unit_test(test_merge_keys),
        cmocka_unit_test(test_errors_name_line_and_column),
        cmocka_unit_test(test_duplicate_keys_in_large_maps),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_billion_laughs_is_refused),
        cmocka_unit_test(test_parse_file),
        cmocka_unit_test(test_emit_quotes_strings_that_would_retype),
        cmocka_unit_test(test_emit_plain_strings_stay_plain),
        cmocka_unit_test(test_emit_layout),
        cmocka_unit_test(test_emit_numbers_roundtrip),
        cmocka_unit_test(test_emit_long_keys),
        cmocka_unit_test(test_fuzz_driver_on_fixed_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
