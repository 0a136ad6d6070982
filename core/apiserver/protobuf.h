/*
 * protobuf.h - request bodies kubectl sends as
 * application/vnd.kubernetes.protobuf (ConfigMap, Secret, Namespace).
 */
#ifndef VRT_APISERVER_PROTOBUF_H
#define VRT_APISERVER_PROTOBUF_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* The object in a Kubernetes protobuf body as JSON, or NULL with `why`
 * saying what is wrong or not supported (a clause, no trailing period). */
cJSON *vrt_k8s_protobuf_to_json(const char *body, size_t len, char *why,
                                size_t why_len);

#endif
