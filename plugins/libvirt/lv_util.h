/*
 * lv_util.h - small helpers shared by the libvirt provider: error records,
 * allocation (out-of-memory aborts, as in the core), strings and names.
 * Nothing here talks to libvirt, so unit tests can include lv_util.c.
 */
#ifndef LV_UTIL_H
#define LV_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <virtrigaud/provider.h>

#define LV_FMT(a, b) __attribute__((format(printf, a, b)))
#define LV_WUR __attribute__((warn_unused_result))

/* Fills err with code and a formatted, whole-sentence message; returns
 * code so callers can write `return lv_err(err, ...)`. */
int lv_err(vrt_error *err, int32_t code, const char *fmt, ...) LV_FMT(3, 4);

/* Allocation that never returns NULL: out of memory aborts with a message,
 * the documented policy of the whole project. */
_Noreturn void lv_oom(void);
void *lv_xcalloc(size_t n, size_t size);
void *lv_xrealloc(void *p, size_t n, size_t size);
char *lv_xstrdup(const char *s); /* NULL in, NULL out */
char *lv_xasprintf(const char *fmt, ...) LV_FMT(1, 2);

/* Copies src into dst (size > 0), always terminated; returns strlen(src). */
size_t lv_strlcpy(char *dst, const char *src, size_t size);

/* Non-zero if s is a textual UUID (8-4-4-4-12 hex digits). */
int lv_is_uuid(const char *s);

/* Non-zero if s is a safe object name: 1..max bytes of [A-Za-z0-9._-],
 * starting with a letter or digit.  Volume names derive from it, so it
 * must never carry a '/'. */
int lv_name_ok(const char *s, size_t max);

/* Copies uri into dst with any password in the userinfo removed
 * ("qemu+tls://u:pw@h/system" -> "qemu+tls://u@h/system"), for logs and
 * messages. */
void lv_uri_redact(char *dst, size_t size, const char *uri);

/* Removes passwords from any "scheme://user:password@host" inside a
 * message, in place. */
void lv_scrub(char *msg);

/* VRT_E_INVALID unless flags is 0 (every method's contract). */
int lv_flags_ok(uint32_t flags, const char *method, vrt_error *err);

/* Output records start with the caller's uint32_t struct_size: out_ok
 * checks there is one (VRT_E_INVALID naming `what` if not), out_put copies
 * a full record into it only as far as that size, keeping the size. */
int lv_out_ok(const void *out, const char *what, vrt_error *err);
void lv_out_put(void *out, const void *full, size_t full_size);

/* Wipes a buffer that held a secret, in a way the compiler keeps. */
void lv_wipe(void *p, size_t n);

#endif /* LV_UTIL_H */
