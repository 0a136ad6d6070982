/*
 * SSRF protection for storage endpoints.  A migration's spec names a host
 * that the manager then connects to with credentials; without a check, a
 * user who may create VMMigrations could point the manager at its own
 * loopback services or at the cloud metadata service.  So: resolve the
 * name, check every address, and hand back one checked address to connect
 * to (no second lookup that a rebinding DNS server could answer
 * differently).
 *
 *   always refused      169.254.169.254 and fd00:ec2::254 (metadata)
 *   refused unless      loopback, link-local, unspecified, multicast
 *   the allow list      (127.0.0.0/8, ::1, 169.254.0.0/16, fe80::/10,
 *   names them          0.0.0.0/8, ::, 224.0.0.0/4, ff00::/8)
 *   with an allow list  every address must match one of its entries
 *
 * Entries: a host name (matched as written, case-insensitive), an address,
 * or an address/prefix.
 */
#include "stage_internal.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

typedef struct ip {
    int v6;
    uint8_t b[16];
} ip;

static int parse_ip(ip *out, const char *s)
{
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, s, out->b) == 1)
        return 0;
    if (inet_pton(AF_INET6, s, out->b) == 1) {
        out->v6 = 1;
        return 0;
    }
    return -1;
}

/* ::ffff:a.b.c.d is a.b.c.d */
static void unmap(ip *a)
{
    static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (a->v6 && memcmp(a->b, pfx, 12) == 0) {
        memmove(a->b, a->b + 12, 4);
        memset(a->b + 4, 0, 12);
        a->v6 = 0;
    }
}

static int in_prefix(const ip *a, const ip *net, unsigned bits)
{
    if (a->v6 != net->v6)
        return 0;
    unsigned max = a->v6 ? 128 : 32;
    if (bits > max)
        bits = max;
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a->b, net->b, whole) != 0)
        return 0;
    if (rest) {
        uint8_t mask = (uint8_t)(0xff << (8 - rest));
        if ((a->b[whole] & mask) != (net->b[whole] & mask))
            return 0;
    }
    return 1;
}

static int in_cidr(const ip *a, const char *net, unsigned bits)
{
    ip n;
    return parse_ip(&n, net) == 0 && in_prefix(a, &n, bits);
}

/* The class of address that needs an explicit allow, or NULL. */
static const char *special(const ip *a)
{
    if (in_cidr(a, "127.0.0.0", 8) || in_cidr(a, "::1", 128))
        return "loopback";
    if (in_cidr(a, "169.254.0.0", 16) || in_cidr(a, "fe80::", 10))
        return "link-local";
    if (in_cidr(a, "0.0.0.0", 8) || in_cidr(a, "::", 128))
        return "unspecified";
    if (in_cidr(a, "224.0.0.0", 4) || in_cidr(a, "ff00::", 8))
        return "multicast";
    return NULL;
}

static int is_metadata(const ip *a)
{
    return in_cidr(a, "169.254.169.254", 32) || in_cidr(a, "fd00:ec2::254", 128);
}

/* Does allow-list entry `e` cover host `host` / address `a`? */
static int entry_covers(const char *e, const char *host, const ip *a)
{
    char buf[300];
    snprintf(buf, sizeof(buf), "%s", e);
    char *slash = strchr(buf, '/');
    unsigned bits = 999;
    if (slash) {
        /* Strictly digits: "10.0.0.0/" or "/x" must not read as /0, which
         * would allow every address. */
        char *end = NULL;
        *slash = '\0';
        bits = (unsigned)strtoul(slash + 1, &end, 10);
        if (end == slash + 1 || *end || !buf[0])
            return 0;
    }
    ip n;
    if (parse_ip(&n, buf) == 0) {
        unmap(&n);
        return in_prefix(a, &n, bits);
    }
    return !slash && strcasecmp(buf, host) == 0;
}

static int allowed(const char *list, const char *host, const ip *a)
{
    if (!list)
        return 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ", ");
        if (n > 0 && n < 300) {
            char e[300];
            memcpy(e, p, n);
            e[n] = '\0';
            if (entry_covers(e, host, a))
                return 1;
        }
        p += n;
        p += strspn(p, ", ");
    }
    return 0;
}

int vrt_hostpolicy_check(char addr[64], const vrt_hostpolicy *pol,
                         const char *host, uint16_t port, vrt_error *err)
{
    addr[0] = '\0';
    const char *field = pol->field ? pol->field : "the storage endpoint";
    const char *list = pol->allowed && *pol->allowed ? pol->allowed : NULL;
    if (!host || !*host)
        return vrt_error_set(err, VRT_E_INVALID, "%s names no host.", field);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char ports[8];
    snprintf(ports, sizeof(ports), "%u", (unsigned)port);
    int gai = getaddrinfo(host, ports, &hints, &res);
    if (gai != 0)
        return vrt_error_set(err, VRT_E_UNAVAILABLE, "%s: the host \"%s\" does not "
                             "resolve (%s).", field, host, gai_strerror(gai));
    int rc = VRT_OK;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        ip a = {0};
        char txt[64] = "";
        if (ai->ai_family == AF_INET) {
            memcpy(a.b, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
        } else if (ai->ai_family == AF_INET6) {
            a.v6 = 1;
            memcpy(a.b, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
        } else {
            continue;
        }
        unmap(&a);
        inet_ntop(a.v6 ? AF_INET6 : AF_INET, a.b, txt, sizeof(txt));
        const char *cls = special(&a);
        if (is_metadata(&a)) {
            rc = vrt_error_set(err, VRT_E_INVALID, "%s: the host \"%s\" is the cloud "
                               "metadata address %s, which is never allowed.", field,
                               host, txt);
            break;
        }
        if (cls && !allowed(list, host, &a)) {
            rc = vrt_error_set(err, VRT_E_INVALID, "%s: the host \"%s\" resolves to the "
                               "%s address %s, which is refused unless the manager's "
                               "--migration-storage-allowed-hosts lists it.", field, host,
                               cls, txt);
            break;
        }
        if (list && !allowed(list, host, &a)) {
            rc = vrt_error_set(err, VRT_E_INVALID, "%s: the host \"%s\" (%s) is not in "
                               "the manager's --migration-storage-allowed-hosts.", field,
                               host, txt);
            break;
        }
        if (!addr[0])
            snprintf(addr, 64, "%s", txt);
    }
    freeaddrinfo(res);
    if (rc == VRT_OK && !addr[0])
        rc = vrt_error_set(err, VRT_E_UNAVAILABLE, "%s: the host \"%s\" has no "
                           "address.", field, host);
    if (rc != VRT_OK)
        addr[0] = '\0';
    return rc;
}
