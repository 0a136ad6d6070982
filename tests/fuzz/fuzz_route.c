/*
 * fuzz_route.c - libFuzzer driver for core/apiserver/route.c, which splits
 * the URL path of every API request into group, version, namespace,
 * resource, name and subresource (against the built-in kinds of
 * core/apiserver/resource.c).
 *
 * Any path parses or is refused; a parsed route has a version and a
 * resource, every segment lies inside the route's own buffer and holds no
 * '/', and parsing the same path again gives the same route.
 */
#include "../../core/apiserver/route.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vrt_resources fuzz_route_kinds;

static void fuzz_route_fail(const char *what, const char *path)
{
    fprintf(stderr, "fuzz_route: %s (path \"%s\")\n", what, path);
    abort();
}

static void fuzz_route_segment(const vrt_route *rt, const char *seg,
                               const char *path)
{
    if (!seg)
        return;
    if (seg < rt->buf || seg >= rt->buf + sizeof(rt->buf) ||
        !memchr(seg, '\0', (size_t)(rt->buf + sizeof(rt->buf) - seg)))
        fuzz_route_fail("a segment lies outside the route", path);
    if (strchr(seg, '/') || !seg[0])
        fuzz_route_fail("a segment is empty or holds a '/'", path);
}

static int fuzz_route_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2048)
        return 0;
    if (!fuzz_route_kinds.count)
        vrt_resources_init_builtin(&fuzz_route_kinds);
    char *path = malloc(size + 1);
    if (!path)
        abort();
    memcpy(path, data, size);
    path[size] = '\0';
    static vrt_route rt, again;
    if (vrt_route_parse(&rt, &fuzz_route_kinds, path) == 0) {
        if (!rt.version || !rt.plural || !rt.group)
            fuzz_route_fail("a route without version or resource", path);
        fuzz_route_segment(&rt, rt.version, path);
        fuzz_route_segment(&rt, rt.ns, path);
        fuzz_route_segment(&rt, rt.plural, path);
        fuzz_route_segment(&rt, rt.name, path);
        fuzz_route_segment(&rt, rt.sub, path);
        if (vrt_route_parse(&again, &fuzz_route_kinds, path) != 0 ||
            !fuzz_route_same(rt.group, again.group) ||
            !fuzz_route_same(rt.ns, again.ns) ||
            !fuzz_route_same(rt.plural, again.plural) ||
            !fuzz_route_same(rt.name, again.name) ||
            !fuzz_route_same(rt.sub, again.sub) || rt.res != again.res)
            fuzz_route_fail("a second parse differs", path);
    }
    free(path);
    return 0;
}
