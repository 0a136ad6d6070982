/* lv_describe.c - capabilities, describe and console. */
#include "lv_domain.h"
#include "lv_ops.h"

#include <libvirt/virterror.h>
#include <libxml/uri.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int32_t lv_capabilities(vrt_caps *out, vrt_conn *c, const vrt_call *call,
                        uint32_t flags, vrt_error *err)
{
    virConnectPtr virt = NULL;
    vrt_caps caps = {0, 0, 0};
    int rc;

    if ((rc = lv_flags_ok(flags, "capabilities", err)) < 0)
        return rc;
    if ((rc = lv_out_ok(out, "capabilities", err)) < 0 ||
        (rc = lv_call_check(call, "capabilities", err)) < 0 ||
        (rc = lv_conn_acquire(&virt, c, err)) < 0)
        return rc;
    caps.caps = lv_conn_caps(c);
    if (caps.caps & (VRT_CAP_DISK_EXPORT | VRT_CAP_DISK_IMPORT))
        caps.disk_formats = VRT_DISK_RAW | VRT_DISK_QCOW2;
    lv_out_put(out, &caps, sizeof(caps));
    lv_conn_release(virt);
    return VRT_OK;
}

/* ---- console URL ------------------------------------------------------- */

static int wildcard(const char *listen)
{
    return !listen || !listen[0] || !strcmp(listen, "0.0.0.0") ||
           !strcmp(listen, "::");
}

/* The host a client should dial: the display's own listen address, or for
 * a wildcard listen the server of the connection URI (local: loopback). */
static void console_host(char *host, size_t size, const vrt_conn *c,
                         const char *listen)
{
    xmlURIPtr uri;

    if (!wildcard(listen)) {
        lv_strlcpy(host, listen, size);
        return;
    }
    uri = xmlParseURI(c->uri);
    lv_strlcpy(host, uri && uri->server && uri->server[0] ? uri->server
                                                          : "127.0.0.1",
               size);
    xmlFreeURI(uri);
}

/* Writes url/kind for the first VNC or SPICE display with a port; returns
 * 0, or -1 if there is none (-2: one exists but has no port yet). */
static int console_url(char *url, size_t usize, char *kind, size_t ksize,
                       const vrt_conn *c, const lv_domain_facts *f)
{
    char host[256];
    size_t i;
    int seen = 0;

    for (i = 0; i < f->ngfx; i++) {
        const lv_gfx_fact *g = &f->gfx[i];
        if (!g->type || (strcmp(g->type, "vnc") && strcmp(g->type, "spice")))
            continue;
        seen = 1;
        if (g->port <= 0)
            continue;
        console_host(host, sizeof(host), c, g->listen);
        snprintf(url, usize, strchr(host, ':') ? "%s://[%s]:%d" : "%s://%s:%d",
                 g->type, host, g->port);
        lv_strlcpy(kind, g->type, ksize);
        return 0;
    }
    return seen ? -2 : -1;
}

/* ---- IP addresses ------------------------------------------------------ */

static void add_ip(vrt_vm_info *info, const char *ip)
{
    uint32_t i;

    if (!ip || !strncmp(ip, "127.", 4) || !strcmp(ip, "::1") ||
        !strncasecmp(ip, "fe80:", 5))
        return;
    for (i = 0; i < info->ip_count; i++)
        if (!strcmp(info->ips[i], ip))
            return;
    if (info->ip_count < VRT_IPS_MAX)
        lv_strlcpy(info->ips[info->ip_count++], ip, VRT_IP_MAX);
}

/* DHCP leases first (cheap), the guest agent only when it is connected
 * (an absent agent can block for seconds), ARP last.  Returns the source
 * that answered, or NULL. */
static const char *collect_ips(vrt_vm_info *info, vrt_conn *c,
                               virDomainPtr d, const lv_domain_facts *f)
{
    static const struct {
        unsigned int src;
        const char *name;
    } srcs[] = {{VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, "lease"},
                {VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, "agent"},
                {VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP, "arp"}};
    virDomainInterfacePtr *ifs = NULL;
    size_t s;
    int n, i;
    unsigned int a;

    for (s = 0; s < sizeof(srcs) / sizeof(srcs[0]); s++) {
        if (srcs[s].src == VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT &&
            !f->agent_connected)
            continue;
        n = virDomainInterfaceAddresses(d, &ifs, srcs[s].src, 0);
        if (n < 0) {
            char why[VRT_ERROR_MESSAGE_MAX];
            lv_strlcpy(why, virGetLastErrorMessage(), sizeof(why));
            lv_log(c, VRT_LOG_DEBUG, "No %s addresses for \"%s\": %s",
                   srcs[s].name, virDomainGetName(d), why);
            virResetLastError();
            continue;
        }
        for (i = 0; i < n; i++) {
            for (a = 0; a < ifs[i]->naddrs; a++)
                add_ip(info, ifs[i]->addrs[a].addr);
            virDomainInterfaceFree(ifs[i]);
        }
        free(ifs);
        ifs = NULL;
        if (info->ip_count)
            return srcs[s].name;
    }
    return NULL;
}

/* ---- describe ---------------------------------------------------------- */

static void raw_extras(cJSON *o, virDomainPtr d, int state, int reason,
                       const char *ip_source)
{
    int autostart = 0, n;

    cJSON_AddStringToObject(o, "state", lv_state_name(state));
    cJSON_AddNumberToObject(o, "stateReason", reason);
    cJSON_AddBoolToObject(o, "persistent", virDomainIsPersistent(d) == 1);
    if (virDomainGetAutostart(d, &autostart) == 0)
        cJSON_AddBoolToObject(o, "autostart", autostart);
    n = virDomainSnapshotNum(d, 0);
    if (n >= 0)
        cJSON_AddNumberToObject(o, "snapshotCount", n);
    if (ip_source)
        cJSON_AddStringToObject(o, "ipSource", ip_source);
    virResetLastError();
}

int lv_vm_info_fill(vrt_vm_info *info, char **raw, vrt_conn *c,
                    virConnectPtr virt, virDomainPtr d, int with_ips,
                    vrt_error *err)
{
    lv_domain_facts *f = NULL;
    virDomainInfo di;
    const char *ip_source = NULL;
    char kind[32], *text;
    cJSON *o = NULL;
    int rc, state = 0, reason = 0;

    (void)virt;
    *raw = NULL;
    if (virDomainGetState(d, &state, &reason, 0) < 0 ||
        virDomainGetInfo(d, &di) < 0)
        return lv_virt_err(err, "Could not read the state of VM \"%s\"",
                           virDomainGetName(d));
    if ((rc = lv_domain_read_facts(&f, d, 0, err)) < 0)
        return rc;
    info->exists = 1;
    info->power_state = lv_power_of(state);
    lv_domain_id(info->id, d);
    lv_strlcpy(info->name, virDomainGetName(d), sizeof(info->name));
    info->cpus = di.nrVirtCpu;
    info->memory_mib = di.memory / 1024;
    if (info->power_state == VRT_POWER_ON) {
        if (with_ips)
            ip_source = collect_ips(info, c, d, f);
        console_url(info->console_url, sizeof(info->console_url), kind,
                    sizeof(kind), c, f);
    }
    o = lv_domain_facts_json(f);
    raw_extras(o, d, state, reason, ip_source);
    text = cJSON_PrintUnformatted(o);
    if (!text)
        lv_oom();
    *raw = lv_xstrdup(text);
    cJSON_free(text);
    cJSON_Delete(o);
    lv_domain_facts_free(f);
    return VRT_OK;
}

void lv_vm_info_put(vrt_vm_info *out, const vrt_vm_info *full)
{
    lv_out_put(out, full, sizeof(*full));
}

/* raw (malloc'ed) as host->alloc memory the caller frees, or NULL. */
static char *host_copy(const char *raw)
{
    size_t n = raw ? strlen(raw) + 1 : 0;
    char *p = n && lv_host->alloc ? lv_host->alloc(n) : NULL;

    if (p)
        memcpy(p, raw, n);
    return p;
}

int32_t lv_describe(vrt_vm_info *out, vrt_conn *c, const vrt_call *call,
                    const char *id, uint32_t flags, vrt_error *err)
{
    virConnectPtr virt = NULL;
    virDomainPtr d = NULL;
    vrt_vm_info full;
    char *raw = NULL;
    int rc;

    if ((rc = lv_flags_ok(flags, "describe", err)) < 0)
        return rc;
    if ((rc = lv_out_ok(out, "VM info", err)) < 0)
        return rc;
    memset(&full, 0, sizeof(full));
    full.struct_size = sizeof(full);
    if ((rc = lv_call_check(call, "describe", err)) < 0 ||
        (rc = lv_conn_acquire(&virt, c, err)) < 0)
        goto cleanup;
    rc = lv_domain_lookup(&d, virt, id, err);
    if (rc == VRT_E_NOTFOUND) {
        /* a missing VM is an answer, not an error */
        virResetLastError();
        if (err)
            memset(err, 0, sizeof(*err));
        lv_strlcpy(full.id, id ? id : "", sizeof(full.id));
        rc = VRT_OK;
    } else if (rc == VRT_OK) {
        rc = lv_vm_info_fill(&full, &raw, c, virt, d, 1, err);
    }
    if (rc == VRT_OK) {
        if (out->struct_size >= offsetof(vrt_vm_info, raw_json) +
                                    sizeof(full.raw_json))
            full.raw_json = host_copy(raw);
        lv_vm_info_put(out, &full);
    }

cleanup:
    free(raw);
    if (d)
        virDomainFree(d);
    lv_conn_release(virt);
    return rc;
}

int32_t lv_console(vrt_console_info *out, vrt_conn *c, const vrt_call *call,
                   const char *id, uint32_t flags, vrt_error *err)
{
    virConnectPtr virt = NULL;
    virDomainPtr d = NULL;
    lv_domain_facts *f = NULL;
    vrt_console_info info;
    int rc, state, found;

    if ((rc = lv_flags_ok(flags, "console", err)) < 0)
        return rc;
    if ((rc = lv_out_ok(out, "console info", err)) < 0)
        return rc;
    memset(&info, 0, sizeof(info));
    if ((rc = lv_call_check(call, "console", err)) < 0 ||
        (rc = lv_conn_acquire(&virt, c, err)) < 0 ||
        (rc = lv_conn_need(c, VRT_CAP_CONSOLE, "consoles", err)) < 0 ||
        (rc = lv_domain_lookup(&d, virt, id, err)) < 0 ||
        (rc = lv_domain_state(&state, d, err)) < 0)
        goto cleanup;
    if (lv_power_of(state) != VRT_POWER_ON) {
        rc = lv_err(err, VRT_E_CONFLICT,
                    "VM \"%s\" is not running, so it has no console.",
                    virDomainGetName(d));
        goto cleanup;
    }
    if ((rc = lv_domain_read_facts(&f, d, 0, err)) < 0)
        goto cleanup;
    found = console_url(info.url, sizeof(info.url), info.kind,
                        sizeof(info.kind), c, f);
    if (found == -1)
        rc = lv_err(err, VRT_E_NOTSUPP, "VM \"%s\" has no VNC or SPICE "
                                        "display.",
                    virDomainGetName(d));
    else if (found == -2)
        rc = lv_err(err, VRT_E_UNAVAILABLE,
                    "The display of VM \"%s\" has no port yet.",
                    virDomainGetName(d));
    if (rc == VRT_OK)
        lv_out_put(out, &info, sizeof(info));

cleanup:
    lv_domain_facts_free(f);
    if (d)
        virDomainFree(d);
    lv_conn_release(virt);
    return rc;
}
