/*
 * test_hmap.c - core/util/hmap.c: put, replace, take, delete, growth
 * through many keys, iteration and value ownership.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vrt/hmap.h>

static int freed;
static void count_free(void *v)
{
    freed++;
    free(v);
}

static char *num(int i)
{
    char *s = malloc(16);
    assert_non_null(s);
    snprintf(s, 16, "%d", i);
    return s;
}

static void test_put_get_replace(void **state)
{
    (void)state;
    freed = 0;
    vrt_hmap *m = vrt_hmap_new(count_free);
    assert_null(vrt_hmap_get(m, "a"));
    vrt_hmap_put(m, "a", num(1));
    vrt_hmap_put(m, "b", num(2));
    assert_string_equal(vrt_hmap_get(m, "a"), "1");
    assert_string_equal(vrt_hmap_get(m, "b"), "2");
    vrt_hmap_put(m, "a", num(3)); /* replaces and frees the old value */
    assert_int_equal(freed, 1);
    assert_string_equal(vrt_hmap_get(m, "a"), "3");
    assert_int_equal(vrt_hmap_len(m), 2);
    vrt_hmap_free(m);
    assert_int_equal(freed, 3);
}

static void test_take_and_del(void **state)
{
    (void)state;
    freed = 0;
    vrt_hmap *m = vrt_hmap_new(count_free);
    vrt_hmap_put(m, "a", num(1));
    vrt_hmap_put(m, "b", num(2));
    char *a = vrt_hmap_take(m, "a");
    assert_string_equal(a, "1");
    assert_int_equal(freed, 0); /* taken, not freed */
    free(a);
    assert_null(vrt_hmap_take(m, "a"));
    assert_int_equal(vrt_hmap_del(m, "b"), 1);
    assert_int_equal(freed, 1);
    assert_int_equal(vrt_hmap_del(m, "b"), 0);
    assert_int_equal(vrt_hmap_len(m), 0);
    vrt_hmap_free(m);
}

static void sum_each(void *opaque, const char *key, void *val)
{
    long *sum = opaque;
    assert_string_equal(key, val); /* keys and values are the same text */
    *sum += strtol(val, NULL, 10);
}

static void test_many_keys_grow_and_iterate(void **state)
{
    (void)state;
    enum { N = 20000 };
    vrt_hmap *m = vrt_hmap_new(free);
    for (int i = 0; i < N; i++) {
        char k[16];
        snprintf(k, sizeof(k), "%d", i);
        vrt_hmap_put(m, k, num(i));
    }
    assert_int_equal(vrt_hmap_len(m), N);
    for (int i = 0; i < N; i += 2) { /* every second one goes */
        char k[16];
        snprintf(k, sizeof(k), "%d", i);
        assert_int_equal(vrt_hmap_del(m, k), 1);
    }
    assert_int_equal(vrt_hmap_len(m), N / 2);
    for (int i = 0; i < N; i++) {
        char k[16];
        snprintf(k, sizeof(k), "%d", i);
        if (i % 2)
            assert_string_equal(vrt_hmap_get(m, k), k);
        else
            assert_null(vrt_hmap_get(m, k));
    }
    long sum = 0, want = 0;
    vrt_hmap_each(m, sum_each, &sum);
    for (int i = 1; i < N; i += 2)
        want += i;
    assert_int_equal(sum, want);
    vrt_hmap_free(m);
}

static void test_no_free_function_and_null(void **state)
{
    (void)state;
    static int v = 7;
    vrt_hmap *m = vrt_hmap_new(NULL);
    vrt_hmap_put(m, "", &v); /* the empty key is a key */
    assert_ptr_equal(vrt_hmap_get(m, ""), &v);
    vrt_hmap_free(m);
    vrt_hmap_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace),
        cmocka_unit_test(test_take_and_del),
        cmocka_unit_test(test_many_keys_grow_and_iterate),
        cmocka_unit_test(test_no_free_function_and_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
