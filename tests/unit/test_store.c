/*
 * test_store.c - the SQLite object store (core/store/): CRUD and its
 * errors, resourceVersion rules, list snapshots, the event log and its
 * compaction, waiting, concurrent writers, damaged files and a full disk.
 *
 * Every test gets a fresh directory under $TMPDIR, removed afterwards.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vrt/store.h>

#include "store/store_internal.h"

#define VM "virtualmachines.infra.virtrigaud.io"
#define CLASS "vmclasses.infra.virtrigaud.io"

typedef struct fixture {
    char dir[256];
    char db[300];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof(f->dir), "%s/vrt-store-test.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->db, sizeof(f->db), "%s/store.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *e;
    char p[600];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

static vrt_store *open_store(const fixture *f, uint32_t history, int sync)
{
    vrt_store_opts o = {.struct_size = sizeof(o), .history = history,
                        .sync_full = sync};
    vrt_store *s = NULL;
    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_store_open(&s, f->db, &o, &err);
    if (rc != VRT_OK)
        fail_msg("vrt_store_open: %s", err.message);
    return s;
}

/* {"metadata":{"name":name,"namespace":ns},"spec":{"n":n}} */
static cJSON *new_obj(const char *ns, const char *name, int n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    if (ns && *ns)
        cJSON_AddStringToObject(md, "namespace", ns);
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(o, "spec"), "n", n);
    return o;
}

static const char *rv_of(const cJSON *o)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(o, "metadata");
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
    return cJSON_IsString(rv) ? rv->valuestring : NULL;
}

static int spec_n(const cJSON *o)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(o, "spec");
    return (int)cJSON_GetNumberValue(
        cJSON_GetObjectItemCaseSensitive(spec, "n"));
}

static const char *name_of(const cJSON *o)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(o, "metadata");
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "name"));
}

static int64_t create(vrt_store *s, const char *res, const char *ns,
                      const char *name, int n)
{
    cJSON *o = new_obj(ns, name, n);
    vrt_error err = VRT_ERROR_INIT;
    int64_t rv = 0;
    int rc = vrt_store_create(&rv, s, res, ns, name, o, &err);
    cJSON_Delete(o);
    if (rc != VRT_OK)
        fail_msg("create %s/%s: %s", ns, name, err.message);
    return rv;
}

/* --- CRUD ----------------------------------------------------------------- */

static void test_create_sets_rv_and_get_returns_the_object(void **state)
{
    vrt_store *s = open_store(*state, 0, 1);
    assert_int_equal(vrt_store_current_rv(s), 0);
    cJSON *o = new_obj("default", "web", 7);
    vrt_error err = VRT_ERROR_INIT;
    int64_t rv = 0;
    assert_int_equal(vrt_store_create(&rv, s, VM, "default", "web", o, &err),
                     VRT_OK);
    assert_int_equal(rv, 1);
    assert_string_equal(rv_of(o), "1");
    assert_int_equal(vrt_store_current_rv(s), 1);

    cJSON *got = NULL;
    assert_int_equal(vrt_store_get(&got, s, VM, "default", "web", &err),
                     VRT_OK);
    assert_true(cJSON_Compare(got, o, 1));
    cJSON_Delete(got);
    cJSON_Delete(o);

    /* Same name, other namespace or other resource: different objects. */
    assert_int_equal(create(s, VM, "prod", "web", 1), 2);
    assert_int_equal(create(s, CLASS, "default", "web", 1), 3);
    vrt_store_close(s);
}

static void test_get_missing_is_notfound_naming_the_object(void **state)
{
    vrt_store *s = open_store(*state, 0, 1);
    cJSON *got = (cJSON *)0x1;
    vrt_error err = VRT_ERROR_INIT;
    assert_int_equal(vrt_store_get(&got, s, VM, "default", "nope", &err),
                     VRT_E_NOTFOUND);
    assert_null(got);
    assert_string_equal(err.message, VM " \"default/nope\" not found");
    vrt_store_close(s);
}

static void test_create_existing_is_exists_and_leaves_object_alone(void **state)
{
    vrt_store *s = open_store(*state, 0, 1);
    create(s, VM, "default", "web", 1);
    create(s, "namespaces", "", "default", 1);

    cJSON *o = new_obj("default", "web", 2);
    cJSON_AddStringToObject(cJSON_GetObjectItem(o, "metadata"),
                            "resourceVersion", "orig");
    cJSON *before = cJSON_Duplicate(o, 1);
    vrt_error err = VRT_ERROR_INIT;
    int64_t rv = 99;
    assert_int_equal(vrt_store_create(&rv, s, VM, "default", "web", o, &err),
                     VRT_E_EXISTS);
    assert_string_equal(err.message, VM " \"default/web\" already exists");
    assert_int_equal(rv, 0);
    assert_true(cJSON_Compare(o, before, 1)); /* rv not left behind */
    cJSON_Delete(o);

    o = new_obj("", "default", 2);
    assert_int_equal(
        vrt_store_create(&rv, s, "namespaces", "", "default", o, &err),
        VRT_E_EXISTS);
    assert_string_equal(err.message, "namespaces \"default\" already exists");
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"),
                                    "resourceVersion"));
    cJSON_Delete(o);

    /* The failed writes consumed no rv. */
    assert_int_equal(vrt_store_current_rv(s), 2);
    assert_int_equal(create(s, VM, "default", "db", 1), 3);
    cJSON_Delete(before);
    vrt_store_close(s);
}

static void test_update_checks_presence_and_expected_rv(void **state)
{
    vrt_store *s = open_store(*state, 0, 1);
    vrt_error err = VRT_ERROR_INIT;
    int64_t rv = 0;
    cJSON *o = new_obj("default", "web", 2);
    assert_int_equal(
        vrt_store_update(&rv, s, VM, "default", "web", 0, o, &err),
        VRT_E_NOTFOUND);
    assert_string_equal(err.message, VM " \"default/web\" not found");
    assert_null(rv_of(o));

    assert_int_equal(create(s, VM, "default", "web", 1), 1);
    assert_int_equal(
        vrt_store_update(&rv, s, VM, "default", "web", 5, o, &err),
        VRT_E_CONFLICT);
    assert_non_null(strstr(err.message, VM " \"default/web\""));
    assert_non_null(strstr(err.message, "resourceVersion 1, expected 5"));
    assert_null(rv_of(o));

    assert_int_equal(
        vrt_store_update(&rv, s, VM, "default", "web", 1, o, &err), VRT_OK);
    assert_int_equal(rv, 2);
    assert_string_equal(rv_of(o), "2");
    /* expect_rv 0: unconditional. */
    cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "n")->valuedouble = 3;
    assert_int_equal(
        vrt_store_update(&rv, s, VM, "default", "web", 0, o, &err), VRT_OK);
    assert_int_equal(rv, 3);
    cJSON_Delete(o);

    cJSON *got = NULL;
    assert_int_equal(vrt_store_get(&got, s, VM, "default", "web", &err),
                     VRT_OK);
    assert_string_equal(rv_of(got), "3");
    assert_int_equal(spec_n(got), 3);
    cJSON_Delete(got);
    vrt_store_close(s);
}

typedef struct ev {
    int type;
    int64_t rv;
    char name[32];
    char objrv[24];
    int n;
} ev;

typedef struct evs {
    ev e[2048];
    size_t len;
    size_t stop_after; /* 0: never stop */
} evs;

static int collect_ev(void *opaque, int type, int64_t rv, const cJSON *obj)
{
    evs *c = opaque;
    assert_true(c->len < sizeof(c->e) / sizeof(c->e[0]));
    ev *e = &c->e[c->len++];
    e->type = type;
    e->rv = rv;
    snprintf(e->name, sizeof(e->name), "%s", name_of(obj));
    snprintf(e->objrv, sizeof(e->objrv), "%s", rv_of(obj) ? rv_of(obj) : "");
    e->n = spec_n(obj);
    return c->stop_after && c->len >= c->stop_after;
}

static void test_delete_records_last_state_in_the_event(void **state)
{
    vrt_store *s = open_store(*state, 0, 1);
    vrt_error err = VRT_ERROR_INIT;
    int64_t rv = 0;
    create(s, VM, "default", "a", 10);
    create(s, VM, "default", "b", 20);

    assert_int_equal(vrt_store_delete(&rv, s, VM, "default", "a", 2, NULL,
                                      &err),
                     VRT_E_CONFLICT);
    /* No `last`: the event carries the stored object, new rv set in it. */
    assert_int_equal(vrt_store_delete(&rv, s, VM, "default", "a", 1, NULL,
                                      &err),
                     VRT_OK);
    assert_int_equal(rv, 3);
    /* With `last`: that object, its rv set. */
    cJSON *last = new_obj("default", "b", 21);
    assert_int_equal(vrt_store_delete(&rv, s, VM, "default", "b", 0, last,
                                      &err),
                     VRT_OK);
    assert_int_equal(rv, 4);
    assert_string_equal(rv_of(last), "4");
    cJSON_Delete(last);
    assert_int_equal(vrt_store_delete(&rv, s, VM, "default", "b", 0, NULL,
                                      &err),
                     VRT_E_NOTFOUND);
    assert_string_equal(err.message, VM " \"default/b\" not found");

    cJSON *got = NULL;
    assert_int_equal(vrt_store_get(&got, s, VM, "default", "a", &err),
                     VRT_E_NOTFOUND);

    static evs c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(vrt_store_events_since(s, 2, VM, NULL, 0, collect_ev, &c,
                                            &err),
                     VRT_OK);
    assert_int_equal(c.len, 2);
    assert_int_equal(c.e[0].type, VRT_EV_DELETED);
    assert_int_equal(c.e[0].rv, 3);
    assert_string_equal(c.e[0].name, "a");
    assert_string_equal(c.e[0].objrv, "3");
    assert_int_equal(c.e[0].n, 10);
    assert_int_equal(c.e[1].type, VRT_EV_DELETED);
    assert_string_equal(c.e[1].objrv, "4");
    assert_int_equal(c.e[1].n, 21);

    /* The name is free again. */
    assert_int_equal(create(s, VM, "default", "a", 11), 5);
    vrt_store_close(s);
}

static void test_bad_arguments_are_invalid_and_store_nothing(void **state)
{
    vrt_store *s = open_store(*state, 0, 1);
    vrt_error err = VRT_ERROR_INIT;
    int64_t rv = 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "metadata", "not an object");
    assert_int_equal(vrt_store_create(&rv, s, VM, "default", "x", o, &err),
                     VRT_E_INVALID);
    assert_non_null(strstr(err.message, "metadata is not a JSON object"));
    cJSON_Delete(o);
    o = cJSON_CreateArray();
    assert_int_equal(vrt_store_create(&rv, s, VM, "default", "x", o, &err),
                     VRT_E_INVALID);
    assert_int_equal(vrt_store_create(&rv, s, VM, "default", "", o, &err),
                     VRT_E_INVALID);
    assert_int_equal(vrt_store_create(&rv, s, VM, NULL, "x", o, &err),
                     VRT_E_INVALID);
    cJSON_Delete(o);
    assert_int_equal(vrt_store_current_rv(s), 0);

    /* An object without metadata gets one; err may be NULL. */
    o = cJSON_CreateObject();
    assert_int_equal(vrt_store_create(&rv, s, VM, "default", "x", o, NULL),
                     VRT_OK);
    assert_string_equal(rv_of(o), "1");
    cJSON_Delete(o);

    vrt_store_opts bad = {.struct_size = 2};
    vrt_store *s2 = NULL;
    assert_int_equal(vrt_store_open(&s2, "/nonexistent/x.db", &bad, &err),
                     VRT_E_INVALID);
    assert_null(s2);
    vrt_store_close(s);
}

/* --- resourceVersion ------------------------------------------------------ */

static void test_rv_is_persisted_across_reopen(void **state)
{
    fixture *f = *state;
    vrt_store *s = open_store(f, 0, 1);
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof(name), "vm%d", i);
        assert_int_equal(create(s, VM, "default", name, i), i + 1);
    }
    vrt_error err = VRT_ERROR_INIT;
    int64_t rv = 0;
    assert_int_equal(vrt_store_delete(&rv, s, VM, "default", "vm4", 0, NULL,
                                      &err),
                     VRT_OK);
    vrt_store_close(s);

    s = open_store(f, 0, 1);
    assert_int_equal(vrt_store_current_rv(s), 6);
    assert_int_equal(create(s, VM, "default", "vm4", 4), 7);
    cJSON *got = NULL;
    assert_int_equal(vrt_store_get(&got, s, VM, "default", "vm2", &err),
                     VRT_OK);
    assert_string_equal(rv_of(got), "3");
    cJSON_Delete(got);
    vrt_store_close(s);
}

static void test_rv_is_never_reused_after_compaction(void **state)
{
    fixture *f = *state;
    vrt_store *s = open_store(f, 3, 1);
    vrt_error err = VRT_ERROR_INIT;
    int64_t rv = 0;
    create(s, VM, "default", "a", 1);
    for (int i = 0; i < 20; i++) {
        cJSON *o = new_obj("default", "a", i);
        assert_int_equal(
            vrt_store_update(&rv, s, VM, "default", "a", 0, o, &err), VRT_OK);
        cJSON_Delete(o);
    }
    assert_int_equal(vrt_store_delete(&rv, s, VM, "default", "a", 0, NULL,
                                      &err),
                     VRT_OK);
    assert_int_equal(rv, 22);
    vrt_store_close(s);

    /* A reopen with history 1 trims to one event; the rv carries on. */
    s = open_store(f, 1, 1);
    assert_int_equal(vrt_store_current_rv(s), 22);
    assert_int_equal(vrt_store_oldest_rv(s), 21);
    assert_int_equal(create(s, VM, "default", "b", 1), 23);
    vrt_store_close(s);
}

/* --- list ----------------------------------------------------------------- */

typedef struct names {
    char v[64][40];
    size_t len;
    size_t stop_after;
    vrt_store *write_into; /* writes one object per visit when set */
} names;

static int collect_name(void *opaque, const cJSON *obj)
{
    names *c = opaque;
    assert_true(c->len < 64);
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *ns = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(md, "namespace"));
    snprintf(c->v[c->len++], sizeof(c->v[0]), "%s/%s", ns ? ns : "",
             name_of(obj));
    if (c->write_into) {
        char name[16];
        snprintf(name, sizeof(name), "zz%zu", c->len);
        create(c->write_into, VM, "a", name, 0);
    }
    return c->stop_after && c->len >= c->stop_after;
}

static void test_list_orders_by_namespace_then_name_and_filters(void **state)
{
    vrt_store *s = open_store(*state, 0, 1);
    const char *keys[][2] = {{"b", "x"}, {"a", "z"}, {"a", "b"}, {"c", "a"},
                             {"b", "a"}};
    for (size_t i = 0; i < 5; i++)
        create(s, VM, keys[i][0], keys[i][1], (int)i);
    create(s, CLASS, "a", "other", 0);

    names c = {0};
    vrt_error err = VRT_ERROR_INIT;
    int64_t rv = 0;
    assert_int_equal(vrt_store_list(&rv, s, VM, NULL, collect_name, &c, &err),
                     VRT_OK);
    assert_int_equal(rv, 6);
    const char *want[] = {"a/b", "a/z", "b/a", "b/x", "c/a"};
    assert_int_equal(c.len, 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(c.v[i], want[i]);

    memset(&c, 0, sizeof(c));
    assert_int_equal(vrt_store_list(&rv, s, VM, "b", collect_name, &c, &err),
                     VRT_OK);
    assert_int_equal(c.len, 2);
    assert_string_equal(c.v[0], "b/a");
    assert_string_equal(c.v[1], "b/x");

    memset(&c, 0, sizeof(c));
    assert_int_equal(
        vrt_store_list(&rv, s, VM, "nope", collect_name, &c, &err), VRT_OK);
    assert_int_equal(c.len, 0);
    assert_int_equal(rv, 6);

    /* A visitor can stop the walk. */
    memset(&c, 0, sizeof(c));
    c.stop_after = 2;
    assert_int_equal(vrt_store_list(&rv, s, VM, NULL, collect_name, &c, &err),
                     VRT_OK);
    assert_int_equal(c.len, 2);
    vrt_store_close(s);
}

static void test_list_is_one_snapshot_while_writes_commit(void **state)
{
    vrt_store *s = open_store(*state, 0, 0);
    create(s, VM, "a", "m1", 0);
    create(s, VM, "a", "m2", 0);
    create(s, VM, "a", "m3", 0);
    /* Each visit commits a new object that sorts after the cursor
     * ("a/zzN"); a list reading live rows would visit them. */
    names c = {0};
    c.write_into = s;
    vrt_error err = VRT_ERROR_INIT;
    int64_t rv = 0;
    assert_int_equal(vrt_store_list(&rv, s, VM, "a", collect_name, &c, &err),
                     VRT_OK);
    assert_int_equal(c.len, 3);
    assert_int_equal(rv, 3);
    assert_int_equal(vrt_store_current_rv(s), 6);

    memset(&c, 0, sizeof(c));
    assert_int_equal(vrt_store_list(&rv, s, VM, "a", collect_name, &c, &err),
                     VRT_OK);
    assert_int_equal(c.len, 6);
    assert_int_equal(rv, 6);
    vrt_store_close(s);
}

/* --- events ---------------------------------------------------------------- */

static void test_events_since_orders_filters_and_limits(void **state)
{
    vrt_store *s = open_store(*state, 0, 1);
    create(s, VM, "a", "v1", 1);             /* 1 */
    create(s, CLASS, "a", "c1", 2);          /* 2 */
    create(s, VM, "b", "v2", 3);             /* 3 */
    vrt_error err = VRT_ERROR_INIT;
    int64_t rv = 0;
    cJSON *o = new_obj("a", "v1", 4);
    assert_int_equal(vrt_store_update(&rv, s, VM, "a", "v1", 1, o, &err),
                     VRT_OK);            /* 4 */
    cJSON_Delete(o);
    create(s, VM, "a", "v3", 5);             /* 5 */

    static evs c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(
        vrt_store_events_since(s, 0, NULL, NULL, 0, collect_ev, &c, &err),
        VRT_OK);
    assert_int_equal(c.len, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(c.e[i].rv, (int64_t)i + 1);
        assert_int_equal(c.e[i].n, (int)i + 1);
        char want[8];
        snprintf(want, sizeof(want), "%zu", i + 1);
        assert_string_equal(c.e[i].objrv, want);
    }
    assert_int_equal(c.e[3].type, VRT_EV_MODIFIED);
    assert_int_equal(c.e[4].type, VRT_EV_ADDED);

    memset(&c, 0, sizeof(c));
    assert_int_equal(
        vrt_store_events_since(s, 1, VM, NULL, 0, collect_ev, &c, &err),
        VRT_OK);
    assert_int_equal(c.len, 3);
    assert_int_equal(c.e[0].rv, 3);
    assert_int_equal(c.e[1].rv, 4);
    assert_int_equal(c.e[2].rv, 5);

    memset(&c, 0, sizeof(c));
    assert_int_equal(
        vrt_store_events_since(s, 0, VM, "a", 0, collect_ev, &c, &err),
        VRT_OK);
    assert_int_equal(c.len, 3);
    assert_string_equal(c.e[0].name, "v1");
    assert_string_equal(c.e[1].name, "v1");
    assert_string_equal(c.e[2].name, "v3");

    memset(&c, 0, sizeof(c));
    assert_int_equal(
        vrt_store_events_since(s, 0, VM, NULL, 2, collect_ev, &c, &err),
        VRT_OK);
    assert_int_equal(c.len, 2);
    assert_int_equal(c.e[1].rv, 3);

    /* The visitor can stop; a since beyond the end yields nothing. */
    memset(&c, 0, sizeof(c));
    c.stop_after = 1;
    assert_int_equal(
        vrt_store_events_since(s, 0, NULL, NULL, 0, collect_ev, &c, &err),
        VRT_OK);
    assert_int_equal(c.len, 1);
    memset(&c, 0, sizeof(c));
    assert_int_equal(
        vrt_store_events_since(s, 5, NULL, NULL, 0, collect_ev, &c, &err),
        VRT_OK);
    assert_int_equal(c.len, 0);
    vrt_store_close(s);
}

/* A watch of one kind skips the query when only other kinds were written
 * since its rv, but never across a reopen (the skip map starts empty). */
static void test_events_since_per_kind_skip_is_exact(void **state)
{
    fixture *f = *state;
    vrt_store *s = open_store(f, 0, 1);
    create(s, VM, "a", "v1", 1);    /* 1 */
    create(s, CLASS, "a", "c1", 2); /* 2 */
    create(s, CLASS, "a", "c2", 3); /* 3 */
    vrt_error err = VRT_ERROR_INIT;
    static evs c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(
        vrt_store_events_since(s, 1, VM, NULL, 0, collect_ev, &c, &err), VRT_OK);
    assert_int_equal(c.len, 0);
    assert_int_equal(
        vrt_store_events_since(s, 0, VM, NULL, 0, collect_ev, &c, &err), VRT_OK);
    assert_int_equal(c.len, 1);
    create(s, VM, "a", "v2", 4);    /* 4 */
    memset(&c, 0, sizeof(c));
    assert_int_equal(
        vrt_store_events_since(s, 3, VM, NULL, 0, collect_ev, &c, &err), VRT_OK);
    assert_int_equal(c.len, 1);
    assert_int_equal(c.e[0].rv, 4);
    vrt_store_close(s);

    s = open_store(f, 0, 1);
    memset(&c, 0, sizeof(c));
    assert_int_equal(
        vrt_store_events_since(s, 1, VM, NULL, 0, collect_ev, &c, &err), VRT_OK);
    assert_int_equal(c.len, 1); /* rv 4, written before this open */
    memset(&c, 0, sizeof(c));
    assert_int_equal(
        vrt_store_events_since(s, 4, VM, NULL, 0, collect_ev, &c, &err), VRT_OK);
    assert_int_equal(c.len, 0);
    vrt_store_close(s);
}

static void test_compaction_keeps_history_and_reports_gone(void **state)
{
    fixture *f = *state;
    const uint32_t history = 10;
    vrt_store *s = open_store(f, history, 1);
    for (int i = 0; i < 55; i++) {
        char name[16];
        snprintf(name, sizeof(name), "vm%02d", i);
        create(s, VM, "default", name, i);
    }
    int64_t cur = vrt_store_current_rv(s), oldest = vrt_store_oldest_rv(s);
    assert_int_equal(cur, 55);
    /* Compaction trims to `history` every `history` writes, so between
     * history and 2 * history events remain. */
    assert_true(oldest > 0);
    assert_true(cur - oldest >= history && cur - oldest < 2 * history);

    static evs c;
    vrt_error err = VRT_ERROR_INIT;
    memset(&c, 0, sizeof(c));
    assert_int_equal(vrt_store_events_since(s, oldest - 1, VM, NULL, 0,
                                            collect_ev, &c, &err),
                     VRT_STORE_GONE);
    assert_int_equal(c.len, 0);
    assert_int_equal(
        vrt_store_events_since(s, 0, VM, NULL, 0, collect_ev, &c, &err),
        VRT_STORE_GONE);
    /* From the floor on, the history is whole and contiguous. */
    assert_int_equal(vrt_store_events_since(s, oldest, VM, NULL, 0,
                                            collect_ev, &c, &err),
                     VRT_OK);
    assert_int_equal((int64_t)c.len, cur - oldest);
    for (size_t i = 0; i < c.len; i++)
        assert_int_equal(c.e[i].rv, oldest + 1 + (int64_t)i);

    /* Objects are untouched by compaction. */
    cJSON *got = NULL;
    assert_int_equal(vrt_store_get(&got, s, VM, "default", "vm00", &err),
                     VRT_OK);
    cJSON_Delete(got);
    vrt_store_close(s);

    /* The floor persists; opening trims to exactly `history`. */
    s = open_store(f, history, 1);
    assert_int_equal(vrt_store_current_rv(s), cur);
    assert_int_equal(vrt_store_oldest_rv(s), cur - history);
    assert_int_equal(vrt_store_events_since(s, oldest, NULL, NULL, 0,
                                            collect_ev, &c, &err),
                     VRT_STORE_GONE);
    vrt_store_close(s);
}

/* --- waiting ----------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct waiter {
    vrt_store *s;
    int64_t after;
    uint32_t timeout_ms;
    int64_t got;
    int64_t took_ms;
    const char *kind; /* vrt_store_wait_kind when set */
} waiter;

static void *wait_thread(void *arg)
{
    waiter *w = arg;
    int64_t t0 = now_ms();
    w->got = w->kind ? vrt_store_wait_kind(w->s, w->kind, w->after, w->timeout_ms)
                     : vrt_store_wait(w->s, w->after, w->timeout_ms);
    w->took_ms = now_ms() - t0;
    return NULL;
}

/* A kind's waiter sleeps through writes of other kinds. */
static void test_wait_kind_wakes_only_for_its_kind(void **state)
{
    vrt_store *s = open_store(*state, 0, 0);
    create(s, VM, "a", "first", 0); /* 1 */
    waiter w = {s, 1, 10000, 0, 0, VM};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
    usleep(100 * 1000);
    create(s, CLASS, "a", "c1", 0); /* 2: not a VM */
    usleep(300 * 1000);
    int64_t before = now_ms();
    create(s, VM, "a", "second", 0); /* 3 */
    pthread_join(t, NULL);
    assert_int_equal(w.got, 3);
    assert_true(w.took_ms >= 350);             /* slept through rv 2 */
    assert_true(now_ms() - before < 5000);     /* woke for rv 3 */
    vrt_store_close(s);
}

static void test_wait_wakes_on_write(void **state)
{
    vrt_store *s = open_store(*state, 0, 0);
    create(s, VM, "a", "first", 0);
    waiter w = {s, 1, 10000, 0, 0, NULL};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
    usleep(100 * 1000);
    create(s, VM, "a", "second", 0);
    pthread_join(t, NULL);
    assert_int_equal(w.got, 2);
    assert_true(w.took_ms < 5000);
    /* Already past: returns at once. */
    int64_t t0 = now_ms();
    assert_int_equal(vrt_store_wait(s, 1, 10000), 2);
    assert_true(now_ms() - t0 < 1000);
    vrt_store_close(s);
}

static void test_wait_times_out(void **state)
{
    vrt_store *s = open_store(*state, 0, 0);
    create(s, VM, "a", "first", 0);
    int64_t t0 = now_ms();
    assert_int_equal(vrt_store_wait(s, 1, 200), 1);
    int64_t took = now_ms() - t0;
    assert_true(took >= 190);
    assert_true(took < 5000);
    vrt_store_close(s);
}

static void test_wake_all_releases_waiters(void **state)
{
    vrt_store *s = open_store(*state, 0, 0);
    waiter w = {s, 0, 20000, -1, 0, NULL};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
    usleep(100 * 1000);
    vrt_store_wake_all(s);
    pthread_join(t, NULL);
    assert_int_equal(w.got, 0);
    assert_true(w.took_ms < 5000);
    /* Sticky: a later wait does not sleep either. */
    int64_t t0 = now_ms();
    vrt_store_wait(s, 0, 20000);
    assert_true(now_ms() - t0 < 1000);
    vrt_store_close(s);
}

/* --- concurrency ------------------------------------------------------------ */

#define WRITERS 4
#define PER_WRITER 100

typedef struct writer_arg {
    vrt_store *s;
    int id;
    int64_t rvs[PER_WRITER];
    int failures;
} writer_arg;

static void *writer_thread(void *arg)
{
    writer_arg *a = arg;
    for (int i = 0; i < PER_WRITER; i++) {
        char name[32];
        snprintf(name, sizeof(name), "w%d-%03d", a->id, i);
        cJSON *o = new_obj("default", name, i);
        vrt_error err = VRT_ERROR_INIT;
        if (vrt_store_create(&a->rvs[i], a->s, VM, "default", name, o,
                             &err) != VRT_OK ||
            !rv_of(o) || strtoll(rv_of(o), NULL, 10) != a->rvs[i]) {
            if (!a->failures++)
                print_error("writer %d, create %d: %s\n", a->id, i,
                            err.message);
        }
        cJSON_Delete(o);
        /* Reads run beside the writes on their own connections. */
        cJSON *got = NULL;
        if (vrt_store_get(&got, a->s, VM, "default", name, &err) != VRT_OK &&
            !a->failures++)
            print_error("writer %d, get %d: %s\n", a->id, i, err.message);
        cJSON_Delete(got);
    }
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_concurrent_writers_get_unique_contiguous_rvs(void **state)
{
    vrt_store *s = open_store(*state, 0, 1);
    static writer_arg args[WRITERS];
    pthread_t t[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].s = s;
        args[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, writer_thread, &args[i]),
                         0);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    static int64_t all[WRITERS * PER_WRITER];
    size_t n = 0;
    for (int i = 0; i < WRITERS; i++) {
        assert_int_equal(args[i].failures, 0);
        /* Each thread saw its own rvs increase. */
        for (int j = 0; j < PER_WRITER; j++) {
            if (j)
                assert_true(args[i].rvs[j] > args[i].rvs[j - 1]);
            all[n++] = args[i].rvs[j];
        }
    }
    qsort(all, n, sizeof(all[0]), cmp_i64);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(all[i], (int64_t)i + 1);
    assert_int_equal(vrt_store_current_rv(s), WRITERS * PER_WRITER);

    static evs c;
    memset(&c, 0, sizeof(c));
    vrt_error err = VRT_ERROR_INIT;
    assert_int_equal(
        vrt_store_events_since(s, 0, VM, NULL, 0, collect_ev, &c, &err),
        VRT_OK);
    assert_int_equal(c.len, WRITERS * PER_WRITER);
    vrt_store_close(s);
}

/* --- damaged files, full disk ------------------------------------------------ */

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

static void test_garbage_file_is_a_clear_error(void **state)
{
    fixture *f = *state;
    char junk[8192];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 131 + 7);
    write_file(f->db, junk, sizeof(junk));
    vrt_store *s = (vrt_store *)0x1;
    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_store_open(&s, f->db, NULL, &err);
    assert_int_equal(rc, VRT_E_INVALID);
    assert_null(s);
    assert_non_null(strstr(err.message, f->db));
    assert_non_null(strstr(err.message, "not a SQLite database"));
}

static int count_obj(void *opaque, const cJSON *obj)
{
    ++*(size_t *)opaque;
    return 0;
}

/* Fills a store, closes it, overwrites its pages between the fractions
 * `from` and `to` of its size, reopens it and lists: returns the first
 * failure, with its message in *err. */
static int damage_and_read(const fixture *f, double from, double to,
                           vrt_error *err)
{
    vrt_store *s = open_store(f, 0, 1);
    char pad[2000];
    memset(pad, 'q', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = 0;
    for (int i = 0; i < 200; i++) {
        char name[16];
        snprintf(name, sizeof(name), "vm%03d", i);
        cJSON *o = new_obj("a", name, i);
        cJSON_AddStringToObject(o, "pad", pad);
        int64_t rv;
        assert_int_equal(vrt_store_create(&rv, s, VM, "a", name, o, NULL),
                         VRT_OK);
        cJSON_Delete(o);
    }
    vrt_store_close(s); /* checkpoints everything into the file */

    FILE *fp = fopen(f->db, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long size = ftell(fp);
    assert_true(size > 64 * 4096);
    char junk[4096];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 37 + 11);
    long first = (long)(size * from) / 4096 * 4096;
    long last = (long)(size * to);
    if (first < 4096)
        first = 4096; /* page 1 (the header) stays */
    for (long off = first; off + 4096 <= last; off += 4096) {
        assert_int_equal(fseek(fp, off, SEEK_SET), 0);
        assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
    }
    fclose(fp);

    s = NULL;
    int rc = vrt_store_open(&s, f->db, NULL, err);
    if (rc == VRT_OK) {
        size_t n = 0;
        int64_t rv = 0;
        rc = vrt_store_list(&rv, s, VM, NULL, count_obj, &n, err);
        vrt_store_close(s);
    }
    return rc;
}

/* Damaged pages are a clear error naming the file, never a crash: at
 * open when the schema's pages are hit (all pages but the header), at the
 * first list otherwise (a band of leaf pages in the middle). */
static void test_damaged_pages_are_a_clear_error(void **state)
{
    fixture *f = *state;
    const double from[] = {0.0, 0.4}, to[] = {1.0, 0.6};
    for (size_t i = 0; i < 2; i++) {
        vrt_error err = VRT_ERROR_INIT;
        unlink(f->db);
        assert_int_equal(damage_and_read(f, from[i], to[i], &err),
                         VRT_E_INVALID);
        assert_non_null(strstr(err.message, "corrupt"));
        assert_non_null(strstr(err.message, f->db));
    }
}

static void test_foreign_or_newer_database_is_refused(void **state)
{
    fixture *f = *state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    vrt_store *s = NULL;
    vrt_error err = VRT_ERROR_INIT;
    assert_int_equal(vrt_store_open(&s, f->db, NULL, &err), VRT_E_INVALID);
    assert_non_null(strstr(err.message, "not a virtrigaud store"));
    unlink(f->db);

    s = open_store(f, 0, 1);
    create(s, VM, "a", "x", 0);
    vrt_store_close(s);
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE meta SET value = 99"
                                  " WHERE key = 'schema_version'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(vrt_store_open(&s, f->db, NULL, &err), VRT_E_INVALID);
    assert_non_null(strstr(err.message, "schema version 99"));
    assert_null(s);
}

static void test_missing_directory_is_a_clear_error(void **state)
{
    fixture *f = *state;
    char p[400];
    snprintf(p, sizeof(p), "%s/no/such/dir/store.db", f->dir);
    vrt_store *s = NULL;
    vrt_error err = VRT_ERROR_INIT;
    assert_int_not_equal(vrt_store_open(&s, p, NULL, &err), VRT_OK);
    assert_null(s);
    assert_non_null(strstr(err.message, p));
}

static void test_full_disk_is_quota_and_store_stays_usable(void **state)
{
    vrt_store *s = open_store(*state, 0, 1);
    create(s, VM, "a", "small", 0);
    sqlite3 *db = vrt_store_writer_db(s);
    /* Cap the file at its current size: the next page it needs is "disk
     * full" to SQLite (SQLITE_FULL), like a full filesystem. */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %d",
             sqlite3_column_int(st, 0));
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    char *big = malloc(200000);
    memset(big, 'x', 199999);
    big[199999] = 0;
    cJSON *o = new_obj("a", "big", 1);
    cJSON_AddStringToObject(o, "blob", big);
    vrt_error err = VRT_ERROR_INIT;
    int64_t rv = 0;
    assert_int_equal(vrt_store_create(&rv, s, VM, "a", "big", o, &err),
                     VRT_E_QUOTA);
    assert_non_null(strstr(err.message, "full"));
    assert_null(rv_of(o));
    assert_int_equal(vrt_store_current_rv(s), 1);
    cJSON *got = NULL;
    assert_int_equal(vrt_store_get(&got, s, VM, "a", "big", &err),
                     VRT_E_NOTFOUND);

    assert_int_equal(
        sqlite3_exec(db, "PRAGMA max_page_count = 1073741823", NULL, NULL,
                     NULL),
        SQLITE_OK);
    assert_int_equal(vrt_store_create(&rv, s, VM, "a", "big", o, &err),
                     VRT_OK);
    assert_int_equal(rv, 2);
    assert_int_equal(vrt_store_get(&got, s, VM, "a", "big", &err), VRT_OK);
    assert_true(cJSON_Compare(got, o, 1));
    cJSON_Delete(got);
    cJSON_Delete(o);
    free(big);
    vrt_store_close(s);
}

/* Checkpoints keep the WAL near SQLite's 1000-page default; without them
 * 3000 writes of ~1 KB leave a WAL of ~40 MB (three 4 KB pages each). */
static void test_wal_is_checkpointed_and_stays_small(void **state)
{
    fixture *f = *state;
    vrt_store *s = open_store(f, 0, 0);
    char pad[1024];
    memset(pad, 'p', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = 0;
    for (int i = 0; i < 3000; i++) {
        char name[16];
        snprintf(name, sizeof(name), "vm%05d", i);
        cJSON *o = new_obj("default", name, i);
        cJSON_AddStringToObject(o, "pad", pad);
        vrt_error err = VRT_ERROR_INIT;
        int64_t rv;
        assert_int_equal(
            vrt_store_create(&rv, s, VM, "default", name, o, &err), VRT_OK);
        cJSON_Delete(o);
    }
    char wal[400];
    snprintf(wal, sizeof(wal), "%s-wal", f->db);
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    assert_true(st.st_size < 16 * 1024 * 1024);
    vrt_store_close(s);
    /* The last connection to close checkpoints and removes the WAL. */
    assert_int_not_equal(stat(wal, &st), 0);
}

/* A watch with a selector asks for an object's state before an event. */
static void test_event_before_finds_the_previous_state(void **state)
{
    vrt_store *s = open_store(*state, 0, 1);
    vrt_error err = VRT_ERROR_INIT;
    int64_t rv = 0;
    create(s, VM, "default", "a", 1);                    /* rv 1 */
    create(s, VM, "default", "b", 7);                    /* rv 2 */
    cJSON *o = new_obj("default", "a", 2);
    assert_int_equal(vrt_store_update(&rv, s, VM, "default", "a", 1, o, &err),
                     VRT_OK);                            /* rv 3 */
    cJSON_Delete(o);
    assert_int_equal(vrt_store_delete(&rv, s, VM, "default", "a", 0, NULL,
                                      &err),
                     VRT_OK);                            /* rv 4 */

    cJSON *prev = NULL;
    int type = 0;
    assert_int_equal(vrt_store_event_before(&prev, &type, s, VM, "default",
                                            "a", 4, &err),
                     VRT_OK);
    assert_int_equal(type, VRT_EV_MODIFIED);
    assert_int_equal(spec_n(prev), 2);
    cJSON_Delete(prev);
    assert_int_equal(vrt_store_event_before(&prev, &type, s, VM, "default",
                                            "a", 3, &err),
                     VRT_OK);
    assert_int_equal(type, VRT_EV_ADDED);
    assert_int_equal(spec_n(prev), 1);
    cJSON_Delete(prev);
    /* Another object's events and other namespaces are not its history. */
    assert_int_equal(vrt_store_event_before(&prev, &type, s, VM, "default",
                                            "a", 1, &err),
                     VRT_E_NOTFOUND);
    assert_null(prev);
    assert_int_equal(vrt_store_event_before(&prev, &type, s, VM, "other",
                                            "b", 100, &err),
                     VRT_E_NOTFOUND);
    assert_int_equal(vrt_store_event_before(&prev, &type, s, VM, "default",
                                            "b", 100, &err),
                     VRT_OK);
    assert_int_equal(spec_n(prev), 7);
    cJSON_Delete(prev);
    vrt_store_close(s);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_create_sets_rv_and_get_returns_the_object),
        T(test_get_missing_is_notfound_naming_the_object),
        T(test_create_existing_is_exists_and_leaves_object_alone),
        T(test_update_checks_presence_and_expected_rv),
        T(test_delete_records_last_state_in_the_event),
        T(test_bad_arguments_are_invalid_and_store_nothing),
        T(test_rv_is_persisted_across_reopen),
        T(test_rv_is_never_reused_after_compaction),
        T(test_list_orders_by_namespace_then_name_and_filters),
        T(test_list_is_one_snapshot_while_writes_commit),
        T(test_events_since_orders_filters_and_limits),
        T(test_events_since_per_kind_skip_is_exact),
        T(test_compaction_keeps_history_and_reports_gone),
        T(test_event_before_finds_the_previous_state),
        T(test_wait_wakes_on_write),
        T(test_wait_kind_wakes_only_for_its_kind),
        T(test_wait_times_out),
        T(test_wake_all_releases_waiters),
        T(test_concurrent_writers_get_unique_contiguous_rvs),
        T(test_garbage_file_is_a_clear_error),
        T(test_damaged_pages_are_a_clear_error),
        T(test_foreign_or_newer_database_is_refused),
        T(test_missing_directory_is_a_clear_error),
        T(test_full_disk_is_quota_and_store_stays_usable),
        T(test_wal_is_checkpointed_and_stays_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
