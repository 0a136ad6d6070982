/*
 * vrt/yaml.h - YAML documents to cJSON trees (libyaml), for manifests and
 * CRD files.  Scalars are typed as kubectl types them (go-yaml v2, YAML
 * 1.1): unquoted true/false/yes/no/on/off, null/~, integers (also 0x, 0o,
 * 0b, 1_000) and floats become JSON booleans, null and numbers; quoted
 * scalars stay strings.  Duplicate keys and .inf/.nan are errors.  Anchors and
 * aliases are resolved.  Big integers beyond 2^53 stay exact as numbers
 * only if they fit a double exactly, else they are an error.
 */
#ifndef VRT_YAML_H
#define VRT_YAML_H

#include <cJSON.h>
#include <stddef.h>

/* Parses every document in `text` (length `len`) into a new cJSON array
 * (one element per non-empty document), owned by the caller.  On error
 * returns NULL and writes "line L column C: reason" to errbuf. */
cJSON *vrt_yaml_parse_all(const char *text, size_t len, char *errbuf,
                          size_t errsize);

/* Reads a file and parses it the same way. */
cJSON *vrt_yaml_parse_file(const char *path, char *errbuf, size_t errsize);

/* Serialises a cJSON tree as block-style YAML into a malloc'd string
 * (free()), for `vrtg get -o yaml`. */
char *vrt_yaml_emit(const cJSON *obj);

#endif
