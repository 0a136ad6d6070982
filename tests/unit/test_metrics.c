/*
 * test_metrics.c - core/util/metrics.c: the text format (HELP/TYPE lines,
 * label escaping, cumulative histogram buckets), set vs add, the series
 * cap, and counting from many threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>
#include <vrt/metrics.h>

/* The sample line for `series` in a fresh rendering, or "" if absent. */
static void sample(char *buf, size_t size, const char *series)
{
    char *text = vrt_metrics_render();
    size_t n = strlen(series);
    buf[0] = '\0';
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (strncmp(line, series, n) == 0 && line[n] == ' ') {
            size_t len = nl ? (size_t)(nl - line) - n - 1 : strlen(line + n + 1);
            snprintf(buf, size, "%.*s", (int)len, line + n + 1);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
}

static void test_counter_and_escaping(void **state)
{
    (void)state;
    char v[64];
    vrt_metric *m = vrt_metric_counter("t_total", "A \\ test\ncounter.", "a");
    assert_ptr_equal(m, vrt_metric_counter("t_total", "ignored", "a"));
    vrt_metric_add(m, (const char *[]){"x\"y\\z\n"}, 2);
    vrt_metric_add(m, (const char *[]){"x\"y\\z\n"}, 1.5);
    sample(v, sizeof(v), "t_total{a=\"x\\\"y\\\\z\\n\"}");
    assert_string_equal(v, "3.5");
    char *text = vrt_metrics_render();
    assert_non_null(strstr(text, "# HELP t_total A \\\\ test\\ncounter.\n"
                                 "# TYPE t_total counter\n"));
    free(text);
    vrt_metrics_free_all();
}

static void test_gauge_set(void **state)
{
    (void)state;
    char v[64];
    vrt_metric *g = vrt_metric_gauge("t_gauge", "g", NULL);
    vrt_metric_set(g, NULL, 7);
    vrt_metric_set(g, NULL, 3);
    sample(v, sizeof(v), "t_gauge");
    assert_string_equal(v, "3");
    vrt_metrics_free_all();
}

static void test_histogram_is_cumulative(void **state)
{
    (void)state;
    char v[64];
    const double b[] = {0.1, 1};
    vrt_metric *h = vrt_metric_histogram("t_seconds", "h", "k", b, 2);
    const double obs[] = {0.05, 0.1, 0.5, 3};
    for (size_t i = 0; i < 4; i++)
        vrt_metric_observe(h, (const char *[]){"vm"}, obs[i]);
    sample(v, sizeof(v), "t_seconds_bucket{k=\"vm\",le=\"0.1\"}");
    assert_string_equal(v, "2"); /* le is inclusive */
    sample(v, sizeof(v), "t_seconds_bucket{k=\"vm\",le=\"1\"}");
    assert_string_equal(v, "3");
    sample(v, sizeof(v), "t_seconds_bucket{k=\"vm\",le=\"+Inf\"}");
    assert_string_equal(v, "4");
    sample(v, sizeof(v), "t_seconds_count{k=\"vm\"}");
    assert_string_equal(v, "4");
    sample(v, sizeof(v), "t_seconds_sum{k=\"vm\"}");
    assert_true(strtod(v, NULL) > 3.649 && strtod(v, NULL) < 3.651);
    vrt_metrics_free_all();
}

static void test_series_are_capped(void **state)
{
    (void)state;
    char v[64], name[32];
    vrt_metric *m = vrt_metric_counter("t_cap_total", "c", "n");
    for (int i = 0; i < VRT_METRIC_MAX_SERIES + 10; i++) {
        snprintf(name, sizeof(name), "%d", i);
        vrt_metric_add(m, (const char *[]){name}, 1);
    }
    sample(v, sizeof(v), "t_cap_total{n=\"0\"}");
    assert_string_equal(v, "1");
    snprintf(name, sizeof(name), "t_cap_total{n=\"%d\"}", VRT_METRIC_MAX_SERIES);
    sample(v, sizeof(v), name);
    assert_string_equal(v, ""); /* dropped */
    vrt_metrics_free_all();
}

static void *bump(void *arg)
{
    for (int i = 0; i < 10000; i++)
        vrt_metrics_reconcile("vm", "success", 0.001);
    return arg;
}

static void test_threads(void **state)
{
    (void)state;
    char v[64];
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, bump, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    sample(v, sizeof(v), "virtrigaud_reconcile_total{kind=\"vm\",outcome=\"success\"}");
    assert_string_equal(v, "40000");
    sample(v, sizeof(v), "virtrigaud_reconcile_duration_seconds_count{kind=\"vm\"}");
    assert_string_equal(v, "40000");
    vrt_metrics_free_all();
}

static void test_process_rss(void **state)
{
    (void)state;
    char v[64];
    sample(v, sizeof(v), "virtrigaud_process_resident_memory_bytes");
    assert_true(strtod(v, NULL) > 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_and_escaping),
        cmocka_unit_test(test_gauge_set),
        cmocka_unit_test(test_histogram_is_cumulative),
        cmocka_unit_test(test_series_are_capped),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_process_rss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
