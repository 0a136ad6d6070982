/*
 * schema_internal.h - helpers shared by the schema*.c files: Go-style
 * rendering of values (so messages read like kube-apiserver's), string
 * formats, and the pattern cache.
 */
#ifndef VRT_CORE_SCHEMA_INTERNAL_H
#define VRT_CORE_SCHEMA_INTERNAL_H

#include <cJSON.h>
#include <stddef.h>

/* Nesting deeper than this is not descended into (cJSON parses at most
 * 1000 levels; our YAML reader stops at 256). */
#define VRT_SCHEMA_MAX_DEPTH 512

/* A growing string; append functions abort on out-of-memory (core
 * policy). */
typedef struct vrt_sbuf {
    char *s;
    size_t len, cap;
} vrt_sbuf;

void vrt_sbuf_add(vrt_sbuf *b, const char *s, size_t n);
void vrt_sbuf_puts(vrt_sbuf *b, const char *s);
void vrt_sbuf_printf(vrt_sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Go's strconv.Quote for UTF-8 text, appended to b. */
void vrt_schema_quote(vrt_sbuf *b, const char *s);
/* Go's %v of a float64: shortest round-trip digits, exponent form when the
 * decimal exponent is < -4 or >= 6 ("1e+06", "0.0001", "1.5"). */
void vrt_schema_gofloat(char *buf, size_t size, double d);
/* How field.Error prints a bad value: strings quoted, numbers and
 * booleans bare, null as "null", objects and arrays as compact JSON. */
void vrt_schema_value(vrt_sbuf *b, const cJSON *v);
/* Non-zero when a number has no fractional part (a JSON integer). */
int vrt_schema_is_integral(double d);

/* Non-zero if `s` is valid for `format`, or the format is one we do not
 * check.  Checked: date-time, date, byte, uuid, ipv4, ipv6, cidr, mac. */
int vrt_schema_format_ok(const char *format, const char *s);

/* 1 if `s` matches the pattern, 0 if not, -1 if the pattern cannot be
 * compiled here (the caller treats the value as valid; the pattern is
 * logged once).  Thread-safe; compiled patterns are cached. */
int vrt_schema_pattern_match(const char *pattern, const char *s);
/* How many times a pattern has been compiled (for tests of the cache). */
size_t vrt_schema_pattern_compiles(void);
/* Translates a Go/ECMA pattern to POSIX ERE.  Returns 0, or -1 when the
 * pattern uses a construct ERE lacks.  *icase is set for a leading (?i). */
int vrt_schema_pattern_translate(char *out, size_t size, const char *in,
                                 int *icase);

#endif
