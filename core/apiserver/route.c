/*
 * Splits a resource URL into group, version, namespace, resource, name and
 * subresource, the way kube-apiserver lays out its paths:
 *   /api/v1[/namespaces/NS]/PLURAL[/NAME[/SUB]]
 *   /apis/GROUP/VERSION[/namespaces/NS]/PLURAL[/NAME[/SUB]]
 * and /api/v1/namespaces/NAME[/SUB] for namespaces themselves.
 */
#include "route.h"

#include <string.h>

#define MAX_SEGS 10

static int split(char *segs[MAX_SEGS], char *buf)
{
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (n == MAX_SEGS)
            return -1;
        segs[n++] = t;
    }
    return n;
}

int vrt_route_parse(vrt_route *rt, const vrt_resources *rs, const char *path)
{
    char *s[MAX_SEGS];
    memset(rt, 0, sizeof(*rt));
    if (strlen(path) >= sizeof(rt->buf))
        return -1;
    memcpy(rt->buf, path, strlen(path) + 1);
    int n = split(s, rt->buf);
    int i;
    if (n >= 2 && strcmp(s[0], "api") == 0) {
        rt->group = "";
        rt->version = s[1];
        i = 2;
    } else if (n >= 3 && strcmp(s[0], "apis") == 0) {
        rt->group = s[1];
        rt->version = s[2];
        i = 3;
    } else {
        return -1;
    }
    if (i >= n)
        return -1;
    /* namespaces/NS/PLURAL... unless NS is itself the object asked for */
    if (strcmp(s[i], "namespaces") == 0 && i + 2 < n &&
        vrt_resources_find(rs, rt->group, rt->version, s[i + 2]) &&
        vrt_resources_find(rs, rt->group, rt->version, s[i + 2])->namespaced) {
        rt->ns = s[i + 1];
        i += 2;
    }
    rt->plural = s[i++];
    if (i < n)
        rt->name = s[i++];
    if (i < n)
        rt->sub = s[i++];
    if (i < n)
        return -1;
    rt->res = vrt_resources_find(rs, rt->group, rt->version, rt->plural);
    return 0;
}
