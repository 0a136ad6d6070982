/*
 * test_cron.c - core/util/cron.c: parsing (fields, macros, @every, errors
 * naming the field) and next firing times, including cron's rule that a
 * restricted day-of-month and day-of-week match either way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <vrt/cron.h>

/* 2026-11-27 01:30:15 UTC, a Friday. */
#define T0 ((time_t)1795743015)

static time_t next_of(const char *spec, time_t after)
{
    vrt_cron c;
    char err[200];
    if (vrt_cron_parse(&c, spec, err, sizeof(err)))
        fail_msg("\"%s\" did not parse: %s", spec, err);
    return vrt_cron_next(&c, after);
}

static void fmt(char *buf, size_t n, time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M %a", &tm);
}

static void expect(const char *spec, time_t after, const char *want)
{
    char got[64];
    fmt(got, sizeof(got), next_of(spec, after));
    if (strcmp(got, want) != 0)
        fail_msg("next of \"%s\": %s, want %s", spec, got, want);
}

static void test_start_is_a_friday(void **state)
{
    (void)state;
    char s[64];
    fmt(s, sizeof(s), T0);
    assert_string_equal(s, "2026-11-27 01:30 Fri");
}

static void test_fields(void **state)
{
    (void)state;
    expect("* * * * *", T0, "2026-11-27 01:31 Fri");
    expect("0 2 * * *", T0, "2026-11-27 02:00 Fri");
    expect("*/15 * * * *", T0, "2026-11-27 01:45 Fri");
    expect("5,10 3-4 * * *", T0, "2026-11-27 03:05 Fri");
    expect("0 0 1 * *", T0, "2026-12-01 00:00 Tue");
    expect("30 1 * * 1", T0, "2026-11-30 01:30 Mon");
    expect("0 12 * 2 7", T0, "2027-02-07 12:00 Sun"); /* 7 = Sunday */
    expect("0 0 29 2 *", T0, "2028-02-29 00:00 Tue");
    /* Both day fields restricted: the 1st OR any Monday. */
    expect("0 0 1 * 1", T0, "2026-11-30 00:00 Mon");
}

static void test_macros_and_every(void **state)
{
    (void)state;
    expect("@hourly", T0, "2026-11-27 02:00 Fri");
    expect("@daily", T0, "2026-11-28 00:00 Sat");
    expect("@weekly", T0, "2026-11-29 00:00 Sun");
    expect("@yearly", T0, "2027-01-01 00:00 Fri");
    assert_int_equal(next_of("@every 90s", T0), T0 + 90);
    assert_int_equal(next_of("@every 1h30m", T0), T0 + 5400);
}

static void bad(const char *spec, const char *needle)
{
    vrt_cron c;
    char err[200] = "";
    if (vrt_cron_parse(&c, spec, err, sizeof(err)) == 0)
        fail_msg("\"%s\" parsed", spec);
    if (!strstr(err, needle))
        fail_msg("\"%s\": error \"%s\" does not say \"%s\"", spec, err, needle);
}

static void test_errors_name_the_field(void **state)
{
    (void)state;
    bad("61 * * * *", "minute");
    bad("0 24 * * *", "hour");
    bad("0 0 0 * *", "day-of-month");
    bad("0 0 * 13 *", "month");
    bad("0 0 * * 8", "day-of-week");
    bad("* * * *", "4 fields");
    bad("*/0 * * * *", "minute");
    bad("@sometimes", "not a known");
    bad("@every 0s", "@every");
    bad("@every soon", "@every");
    bad("", "empty");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_is_a_friday),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_macros_and_every),
        cmocka_unit_test(test_errors_name_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
