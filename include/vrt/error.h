/*
 * vrt/error.h - filling and reading the vrt_error record (the ABI's error
 * type, used throughout the core as well).
 */
#ifndef VRT_ERROR_H
#define VRT_ERROR_H

#include <stdint.h>
#include <virtrigaud/provider.h>

/* Fills err (code, default class, formatted message).  Returns code.
 * NULL-safe for err. */
int vrt_error_set(vrt_error *err, int32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "NOTFOUND", "INVALID"...; "UNKNOWN" for anything else. */
const char *vrt_error_code_name(int32_t code);
/* Non-zero if the core should retry a failure with this record. */
int vrt_error_is_retryable(const vrt_error *err);

#endif
