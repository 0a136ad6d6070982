/*
 * vrt/schema.h - OpenAPI v3 structural schemas as CRDs use them:
 * validation with messages that name the field, defaulting, and pruning of
 * unknown fields.
 *
 * Supported keywords: type (object, array, string, integer, number,
 * boolean), properties, additionalProperties (bool or schema), items,
 * required, enum, default, minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, minLength, maxLength, pattern (POSIX ERE; the CRDs use
 * the common subset), format (int32, int64, date-time, byte: lenient),
 * minItems, maxItems, uniqueItems, minProperties, maxProperties, nullable,
 * oneOf / anyOf / allOf / not (validation only), x-kubernetes-int-or-string,
 * x-kubernetes-preserve-unknown-fields, x-kubernetes-embedded-resource,
 * x-kubernetes-list-type, x-kubernetes-map-type (accepted).
 */
#ifndef VRT_SCHEMA_H
#define VRT_SCHEMA_H

#include <cJSON.h>
#include <stddef.h>

/* One violation: the JSON path of the field ("spec.cpu",
 * "spec.networks[0].name") and why, in Kubernetes' wording where there is
 * one, e.g. "Unsupported value: \"Of\": supported values: \"On\", \"Off\"". */
typedef struct vrt_schema_issue {
    char path[256];
    char reason[256];
} vrt_schema_issue;

typedef struct vrt_schema_result {
    size_t count;              /* violations found (may exceed stored) */
    vrt_schema_issue issue[16]; /* the first 16 */
} vrt_schema_result;

/* Validates `obj` against `schema` (the openAPIV3Schema node).  Returns the
 * number of violations (0 = valid).  Paths are from the object's root.
 * Neither argument is modified. */
size_t vrt_schema_validate(vrt_schema_result *res, const cJSON *schema,
                           const cJSON *obj);

/* Applies `default` values where fields are absent, recursively, as the
 * API server does (defaults inside objects that exist; not inside absent
 * parents). */
void vrt_schema_apply_defaults(const cJSON *schema, cJSON *obj);

/* Removes fields the schema does not declare, except under
 * x-kubernetes-preserve-unknown-fields, and always keeps apiVersion, kind
 * and metadata at the root.  Returns how many fields were dropped and, if
 * `first` is not NULL, the path of the first one. */
size_t vrt_schema_prune(char first[256], const cJSON *schema, cJSON *obj);

/* Formats a result as one Kubernetes-style message:
 * `VirtualMachine.infra.virtrigaud.io "web" is invalid: spec.cpu: Invalid
 * value: 0: spec.cpu in body should be greater than or equal to 1`. */
void vrt_schema_format(char *buf, size_t size, const char *kind_group,
                       const char *name, const vrt_schema_result *res);

#endif
