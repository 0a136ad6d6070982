/*
 * Leveled logging to stderr, one line per message, with per-source
 * filtering.  Configuration comes from the environment once, lazily.
 */
#include <vrt/log.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define FILTER_MAX 512

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static int log_level = VRT_LVL_INFO;
static char log_filter[FILTER_MAX]; /* comma-separated prefixes, or "" */

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

static int parse_level(const char *s, int fallback)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (!s || !*s)
        return fallback;
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    return fallback;
}

static void log_init_once(void)
{
    log_level = parse_level(getenv("VRT_LOG_LEVEL"), VRT_LVL_INFO);
    const char *f = getenv("VRT_LOG_FILTER");
    if (f)
        snprintf(log_filter, sizeof(log_filter), "%s", f);
}

void vrt_log_init(void)
{
    pthread_once(&log_once, log_init_once);
}

void vrt_log_set_level(int level)
{
    vrt_log_init();
    if (level >= VRT_LVL_ERROR && level <= VRT_LVL_DEBUG)
        log_level = level;
}

static int source_matches(const char *source)
{
    if (!log_filter[0])
        return 1;
    const char *p = log_filter;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n && strncmp(source, p, n) == 0)
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int vrt_log_enabled(const char *source, int level)
{
    vrt_log_init();
    return level <= log_level && source_matches(source);
}

void vrt_log_writev(const char *source, int level, const char *fmt, va_list ap)
{
    char msg[2048];
    char stamp[32];
    struct timeval tv;
    struct tm tm;

    if (level < VRT_LVL_ERROR || level > VRT_LVL_DEBUG)
        level = VRT_LVL_ERROR;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    /* One fprintf per line so that concurrent lines do not interleave. */
    fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, (long)(tv.tv_usec / 1000),
            level_names[level], source, msg);
}

void vrt_log_write(const char *source, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vrt_log_writev(source, level, fmt, ap);
    va_end(ap);
}
