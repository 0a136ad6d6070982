/*
 * route.h - resource URL parsing for the API server.
 */
#ifndef VRT_CORE_APISERVER_ROUTE_H
#define VRT_CORE_APISERVER_ROUTE_H

#include "apiserver.h"

typedef struct vrt_route {
    char buf[1024];  /* the segments point in here */
    const char *group, *version;
    const char *ns;  /* NULL = all namespaces / cluster-scoped */
    const char *plural, *name, *sub;
    const vrt_resource *res; /* NULL if the resource is unknown */
} vrt_route;

/* 0 if `path` has the shape of a resource URL (res may still be NULL). */
int vrt_route_parse(vrt_route *rt, const vrt_resources *rs, const char *path);

#endif
