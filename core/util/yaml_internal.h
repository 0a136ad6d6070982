/*
 * yaml_internal.h - what yaml_emit.c needs from the reader in yaml.c.
 */
#ifndef VRT_CORE_YAML_INTERNAL_H
#define VRT_CORE_YAML_INTERNAL_H

/* Non-zero if `s`, written as a plain (unquoted) scalar, reads back as
 * this same string rather than a boolean, null or number. */
int vrt_yaml_plain_is_text(const char *s);

#endif
