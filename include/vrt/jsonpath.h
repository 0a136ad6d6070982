/*
 * vrt/jsonpath.h - the JSONPath subset Kubernetes printer columns and
 * kubectl use: ".a.b", ".a[0].b", ".a[*].b", ".a['key.with.dots']",
 * ".metadata.labels.app".  Results of [*] are joined with ",".
 */
#ifndef VRT_JSONPATH_H
#define VRT_JSONPATH_H

#include <cJSON.h>
#include <stddef.h>

/* Evaluates `path` on `obj` and writes the result as text ("" when absent;
 * strings unquoted, numbers as JSON, objects/arrays as compact JSON).
 * Returns 0, or -1 if the path is malformed. */
int vrt_jsonpath_text(char *buf, size_t size, const cJSON *obj,
                      const char *path);

/* Returns the single node at `path` (no [*]) or NULL; borrowed from obj. */
const cJSON *vrt_jsonpath_node(const cJSON *obj, const char *path);

#endif
