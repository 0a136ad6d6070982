/*
 * How a test reports: failures (the first one is printed, later ones only
 * with -v), skips, detail notes, and the error-record checks every failed
 * call goes through.
 */
#include "vcts.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * The host's wrappers replace a missing message or an unknown code with
 * their own sentence (core/plugin/call.c).  The plugin still broke the
 * contract, so vcts recognises those sentences and says so.
 */
static const char *const host_repairs[] = {
    "and gave no message.",
    "returned unknown code",
    NULL,
};

int vcts_fail(vcts_t *t, const char *fmt, ...)
{
    char msg[sizeof(t->reason)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&t->lock);
    int first = !t->failed;
    if (first) {
        t->failed = 1;
        snprintf(t->reason, sizeof(t->reason), "%s", msg);
    }
    pthread_mutex_unlock(&t->lock);
    if (!first && t->run->verbose)
        printf("    # also failed: %s\n", msg);
    return VRT_E_INTERNAL;
}

void vcts_skip(vcts_t *t, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&t->lock);
    if (!t->failed && !t->skipped) {
        t->skipped = 1;
        va_start(ap, fmt);
        vsnprintf(t->reason, sizeof(t->reason), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&t->lock);
}

void vcts_note(vcts_t *t, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (!t->run->verbose)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("    # %s\n", msg);
}

int vcts_failed(vcts_t *t)
{
    pthread_mutex_lock(&t->lock);
    int f = t->failed;
    pthread_mutex_unlock(&t->lock);
    return f;
}

const char *vcts_cap_name(uint64_t cap)
{
    static const char *const names[] = {
        "RECONFIGURE",     "RECONFIGURE_ONLINE", "DISK_EXPAND_ONLINE",
        "SNAPSHOTS",       "MEMORY_SNAPSHOTS",   "SNAPSHOT_REVERT",
        "CLONE",           "LINKED_CLONES",      "IMAGE_IMPORT",
        "DISK_EXPORT",     "DISK_IMPORT",        "EXPORT_COMPRESSION",
        "HARDWARE_UPGRADE", "LIST_VMS",          "CONSOLE",
        "GRACEFUL_SHUTDOWN", "HOSTS",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (cap == (1ull << i))
            return names[i];
    return "UNKNOWN";
}

int vcts_check_record(vcts_t *t, int rc, const vrt_error *err,
                      const char *what)
{
    if (rc >= 0)
        return vcts_fail(t, "%s returned %d, which is not a failure code, "
                            "where a failure was expected.",
                         what, rc);
    if (rc < VRT_E_LAST_)
        return vcts_fail(t, "%s returned %d, which is no VRT_E_* code.",
                         what, rc);
    if (err->code != rc)
        return vcts_fail(t,
                         "%s returned %s but its error record says code %d; "
                         "the two must agree.",
                         what, vrt_error_code_name(rc), (int)err->code);
    if (!memchr(err->message, '\0', sizeof(err->message)))
        return vcts_fail(t, "%s failed with an unterminated error message.",
                         what);
    if (!err->message[0])
        return vcts_fail(t, "%s failed with %s and an empty error message.",
                         what, vrt_error_code_name(rc));
    for (size_t i = 0; host_repairs[i]; i++)
        if (strstr(err->message, host_repairs[i]))
            return vcts_fail(t,
                             "%s failed without a usable error record of its "
                             "own; the host had to write one: %s",
                             what, err->message);
    return 0;
}

int vcts_expect_ok(vcts_t *t, int rc, const vrt_error *err, const char *what)
{
    if (rc == VRT_OK)
        return VRT_OK;
    vcts_fail(t, "%s failed with %s: %s", what, vrt_error_code_name(rc),
              err->message[0] ? err->message : "(no message)");
    vcts_check_record(t, rc, err, what);
    return rc;
}

int vcts_expect_code(vcts_t *t, int rc, const vrt_error *err, int want,
                     const char *what)
{
    if (rc == want)
        return want == VRT_OK ? 0 : vcts_check_record(t, rc, err, what);
    if (rc == VRT_OK)
        return vcts_fail(t, "%s succeeded; it must fail with %s.", what,
                         vrt_error_code_name(want));
    vcts_fail(t, "%s failed with %s (\"%s\"); it must fail with %s.", what,
              vrt_error_code_name(rc), err->message,
              vrt_error_code_name(want));
    vcts_check_record(t, rc, err, what);
    return -1;
}
