/*
 * rest.h - the REST verbs on resources, split by reads and writes.
 */
#ifndef VRT_CORE_APISERVER_REST_H
#define VRT_CORE_APISERVER_REST_H

#include "admit.h"
#include "apiserver.h"
#include "route.h"

struct vrt_selector;

/* rest_write.c: non-zero when the request asks ?dryRun=All. */
int vrt_rest_dry_run(const vrt_req *req);
/* rest_write.c: a JSON request body, refused (400 in r, NULL) when it is
 * not JSON or holds what cJSON would change (vrt_json_text_check). */
cJSON *vrt_rest_parse_json(vrt_resp *r, const char *text, size_t len);

/* rest.c */
/* Loads the object the route names; on failure fills r, returns -1. */
int vrt_rest_load(cJSON **out, vrt_resp *r, vrt_apiserver_ctx *ctx,
                  const vrt_route *rt, vrt_error *err);
/* Store writes of res's kind, in the stored shape; obj gets the new
 * resourceVersion as with vrt_store_create/update/delete. */
int vrt_rest_store_create(int64_t *rv, vrt_apiserver_ctx *ctx,
                          const vrt_resource *res, const char *ns,
                          const char *name, cJSON *obj, vrt_error *err);
int vrt_rest_store_update(int64_t *rv, vrt_apiserver_ctx *ctx,
                          const vrt_resource *res, const char *ns,
                          const char *name, int64_t expect, cJSON *obj,
                          vrt_error *err);
int vrt_rest_store_delete(int64_t *rv, vrt_apiserver_ctx *ctx,
                          const vrt_resource *res, const char *ns,
                          const char *name, int64_t expect, cJSON *last,
                          vrt_error *err);
/* The autoscaling/v1 Scale view of an object. */
cJSON *vrt_rest_scale_of(const vrt_resource *res, const cJSON *obj);
/* Namespaced objects need their namespace to exist. */
int vrt_rest_namespace_exists(vrt_resp *r, vrt_apiserver_ctx *ctx,
                              const vrt_route *rt);

/* rest_read.c */
void vrt_rest_get(vrt_resp *r, vrt_apiserver_ctx *ctx, const vrt_req *req,
                  const vrt_route *rt);
void vrt_rest_list(vrt_resp *r, vrt_apiserver_ctx *ctx, const vrt_req *req,
                   const vrt_route *rt);
void vrt_rest_watch(vrt_resp *r, vrt_apiserver_ctx *ctx, const vrt_req *req,
                    const vrt_route *rt, struct vrt_selector *labels,
                    struct vrt_selector *fields);

/* rest_write.c */
void vrt_rest_create(vrt_resp *r, vrt_apiserver_ctx *ctx, const vrt_req *req,
                     const vrt_route *rt);
int vrt_rest_update_from(vrt_resp *r, vrt_apiserver_ctx *ctx,
                         const vrt_req *req, const vrt_route *rt,
                         const cJSON *old, cJSON *next, cJSON **stored);
void vrt_rest_update(vrt_resp *r, vrt_apiserver_ctx *ctx, const vrt_req *req,
                     const vrt_route *rt);
void vrt_rest_patch(vrt_resp *r, vrt_apiserver_ctx *ctx, const vrt_req *req,
                    const vrt_route *rt);
void vrt_rest_delete(vrt_resp *r, vrt_apiserver_ctx *ctx, const vrt_req *req,
                     const vrt_route *rt);

#endif
