/*
 * Cron schedules.  The next firing time is found by walking forward one
 * minute at a time, skipping whole hours and days that cannot match, so
 * even a once-a-year schedule takes a few hundred steps.
 */
#include <vrt/cron.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One field: a comma list of *, N, A-B, each optionally /STEP. */
static int parse_field(unsigned long long *bits, int *any, const char *text,
                       int lo, int hi, const char *name, char *err,
                       size_t size)
{
    *bits = 0;
    *any = strcmp(text, "*") == 0 || strcmp(text, "?") == 0;
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", text);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        long a = lo, b = hi, step = 1;
        char *slash = strchr(item, '/');
        if (slash) {
            *slash = '\0';
            char *end;
            step = strtol(slash + 1, &end, 10);
            if (*end || step < 1)
                goto bad;
        }
        if (strcmp(item, "*") != 0 && strcmp(item, "?") != 0) {
            char *end;
            a = strtol(item, &end, 10);
            if (end == item)
                goto bad;
            b = a;
            if (*end == '-') {
                char *e2;
                b = strtol(end + 1, &e2, 10);
                if (e2 == end + 1 || *e2)
                    goto bad;
            } else if (*end) {
                goto bad;
            } else if (slash) {
                b = hi; /* "5/15": from 5 on */
            }
        }
        if (a < lo || b > hi || a > b)
            goto bad;
        for (long v = a; v <= b; v += step) {
            *bits |= 1ull << v;
            if (step > b - v) /* a huge step must not overflow v */
                break;
        }
    }
    if (hi == 7 && (*bits & (1ull << 7))) /* day-of-week 7 is Sunday too */
        *bits = (*bits & ~(1ull << 7)) | 1ull;
    return 0;
bad:
    snprintf(err, size, "The %s field \"%s\" is not valid (%d-%d, *, lists, "
             "ranges and /steps).", name, text, lo, hi);
    return -1;
}

static long parse_every(const char *s)
{
    double total = 0;
    if (!*s)
        return -1;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || v < 0)
            return -1;
        double unit = 0;
        if (strncmp(end, "ms", 2) == 0) { unit = 0.001; end += 2; }
        else if (*end == 'h') { unit = 3600; end++; }
        else if (*end == 'm') { unit = 60; end++; }
        else if (*end == 's') { unit = 1; end++; }
        else return -1;
        total += v * unit;
        s = end;
    }
    /* Past ~31 years the cast to long would overflow (and "inf" parses). */
    return total >= 1 && total <= 1e9 ? (long)total : -1;
}

int vrt_cron_parse(vrt_cron *out, const char *spec, char *err, size_t size)
{
    memset(out, 0, sizeof(*out));
    static const struct {
        const char *name, *expand;
    } macros[] = {
        {"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},
        {"@midnight", "0 0 * * *"}, {"@weekly", "0 0 * * 0"},
        {"@monthly", "0 0 1 * *"},  {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"},
    };
    if (!spec || !*spec) {
        snprintf(err, size, "The schedule is empty.");
        return -1;
    }
    if (strncmp(spec, "@every ", 7) == 0) {
        out->every_s = parse_every(spec + 7);
        if (out->every_s < 1) {
            snprintf(err, size, "\"%s\": @every needs a duration of at least "
                     "1s and at most 1e9s, such as 90s or 1h30m.", spec);
            return -1;
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
        if (strcmp(spec, macros[i].name) == 0)
            spec = macros[i].expand;
    if (spec[0] == '@') {
        snprintf(err, size, "\"%s\" is not a known schedule macro.", spec);
        return -1;
    }
    char buf[256], *f[6], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", spec);
    int n = 0;
    for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
        if (n < 6)
            f[n++] = t;
        else
            n++;
    if (n != 5) {
        snprintf(err, size, "\"%s\" has %d fields; cron needs 5 (minute hour "
                 "day-of-month month day-of-week).", spec, n);
        return -1;
    }
    unsigned long long b;
    int any;
    if (parse_field(&out->minute, &any, f[0], 0, 59, "minute", err, size))
        return -1;
    if (parse_field(&b, &any, f[1], 0, 23, "hour", err, size))
        return -1;
    out->hour = (unsigned)b;
    if (parse_field(&b, &out->dom_any, f[2], 1, 31, "day-of-month", err, size))
        return -1;
    out->dom = (unsigned)b;
    if (parse_field(&b, &any, f[3], 1, 12, "month", err, size))
        return -1;
    out->month = (unsigned)b;
    if (parse_field(&b, &out->dow_any, f[4], 0, 7, "day-of-week", err, size))
        return -1;
    out->dow = (unsigned)b;
    return 0;
}

static int day_matches(const vrt_cron *c, const struct tm *tm)
{
    int dom = (c->dom >> tm->tm_mday) & 1, dow = (c->dow >> tm->tm_wday) & 1;
    /* Cron's rule: when both are restricted, either may match. */
    if (!c->dom_any && !c->dow_any)
        return dom || dow;
    return dom && dow;
}

time_t vrt_cron_next(const vrt_cron *c, time_t after)
{
    if (c->every_s)
        return after + c->every_s;
    time_t t = after - after % 60 + 60; /* the next whole minute */
    time_t limit = after + 5L * 366 * 24 * 3600;
    while (t < limit) {
        struct tm tm;
        gmtime_r(&t, &tm);
        if (!((c->month >> (tm.tm_mon + 1)) & 1) || !day_matches(c, &tm)) {
            t += (24 - tm.tm_hour) * 3600L - tm.tm_min * 60L; /* next day */
            continue;
        }
        if (!((c->hour >> tm.tm_hour) & 1)) {
            t += (60 - tm.tm_min) * 60L; /* next hour */
            continue;
        }
        if ((c->minute >> tm.tm_min) & 1)
            return t;
        t += 60;
    }
    return (time_t)-1;
}
