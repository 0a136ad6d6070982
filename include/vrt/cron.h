/*
 * vrt/cron.h - cron schedules: five fields (minute hour day-of-month month
 * day-of-week, each *, N, A-B, lists and /STEP), the @hourly, @daily,
 * @weekly, @monthly, @yearly/@annually macros, and @every DURATION.
 * Times are UTC.
 */
#ifndef VRT_CRON_H
#define VRT_CRON_H

#include <stddef.h>
#include <time.h>

typedef struct vrt_cron {
    unsigned long long minute; /* bit i: minute i */
    unsigned hour;             /* bit i: hour i */
    unsigned dom;              /* bit i: day i (1-31) */
    unsigned month;            /* bit i: month i (1-12) */
    unsigned dow;              /* bit i: weekday i (0 = Sunday) */
    int dom_any, dow_any;      /* the field was "*" (cron's OR rule) */
    long every_s;              /* @every: the interval, else 0 */
} vrt_cron;

/* Parses `spec`.  Returns 0, or -1 with `err` saying what is wrong. */
int vrt_cron_parse(vrt_cron *out, const char *spec, char *err, size_t size);

/* The first time strictly after `after` that the schedule fires (for
 * @every: after + interval).  Returns (time_t)-1 if none within 5 years. */
time_t vrt_cron_next(const vrt_cron *c, time_t after);

#endif
