/*
 * vrt/log.h - leveled logging with a source per file.
 *
 * Each .c file names its source once:
 *     VRT_LOG_SOURCE("core.loader");
 * then logs with vrt_log_info("loaded plugin \"%s\"", name).  The level is
 * checked before any formatting.  Output goes to stderr as one line:
 *     2026-11-26T22:00:00.123Z INFO core.loader: message key=value
 *
 * Configuration: VRT_LOG_LEVEL=error|warn|info|debug (default info) and
 * VRT_LOG_FILTER=prefix[,prefix...] (only sources starting with a prefix).
 * Never pass a password, token, key or URL with userinfo to these.
 */
#ifndef VRT_LOG_H
#define VRT_LOG_H

#include <stdarg.h>

enum { VRT_LVL_ERROR = 0, VRT_LVL_WARN = 1, VRT_LVL_INFO = 2, VRT_LVL_DEBUG = 3 };

/* Reads VRT_LOG_LEVEL / VRT_LOG_FILTER; called lazily, may be re-called. */
void vrt_log_init(void);
void vrt_log_set_level(int level);
int vrt_log_enabled(const char *source, int level);
void vrt_log_write(const char *source, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vrt_log_writev(const char *source, int level, const char *fmt,
                    va_list ap) __attribute__((format(printf, 3, 0)));

#define VRT_LOG_SOURCE(name)                                                   \
    static const char vrt_log_source_[] __attribute__((unused)) = name

#define vrt_log_(lvl, ...)                                                     \
    do {                                                                       \
        if (vrt_log_enabled(vrt_log_source_, (lvl)))                           \
            vrt_log_write(vrt_log_source_, (lvl), __VA_ARGS__);                \
    } while (0)
#define vrt_log_error(...) vrt_log_(VRT_LVL_ERROR, __VA_ARGS__)
#define vrt_log_warn(...) vrt_log_(VRT_LVL_WARN, __VA_ARGS__)
#define vrt_log_info(...) vrt_log_(VRT_LVL_INFO, __VA_ARGS__)
#define vrt_log_debug(...) vrt_log_(VRT_LVL_DEBUG, __VA_ARGS__)

#endif /* VRT_LOG_H */
