/*
 * vrt/json.h - small cJSON helpers the core repeats everywhere.
 */
#ifndef VRT_JSON_H
#define VRT_JSON_H

#include <cJSON.h>
#include <stddef.h>

/* Sets obj[key] to the string val, replacing what was there; NULL val
 * removes the key.  val may point into the item it replaces. */
void vrt_json_set_str(cJSON *obj, const char *key, const char *val);

/* Refuses JSON text that cJSON would change without a word: a NUL in a
 * string or key (raw, or \u0000: cJSON's strings end there, so "a\u0000b"
 * would become "a"), a number beyond the range of a double (it becomes
 * infinity, which prints as null), and an integer a double cannot hold
 * exactly: beyond 2^53 and not representable (9007199254740993 came
 * back as 9007199254740990), or beyond the 64-bit range.  Reads at most
 * len bytes (text need not be NUL-terminated), in one pass.  Returns 0,
 * or -1 with `why` naming the byte offset and the reason.  Call it before
 * cJSON_Parse*. */
int vrt_json_text_check(const char *text, size_t len, char *why,
                        size_t why_size);

#endif
