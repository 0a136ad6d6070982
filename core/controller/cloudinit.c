/*
 * The cloud-init documents of a VM, as the reference project accepts
 * them: user-data and meta-data inline and/or from a Secret in the VM's
 * namespace (both given: user-data becomes a MIME multipart archive,
 * meta-data the two texts joined), plus a network-config (version 2)
 * rendered from static addresses on the VM's NICs or their
 * VMNetworkAttachments.  A NIC without a static address gets DHCP, and
 * without any static address no network-config is made at all (the
 * guest's own default, DHCP on the first NIC, applies).
 */
#include "controller_internal.h"

#include <vrt/yaml.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOUNDARY "==virtrigaud-cloud-init=="

static const char *const user_keys[] = {"userdata", "user-data", "cloud-init",
                                        "cloud-config", NULL};
static const char *const meta_keys[] = {"metadata", "meta-data", "meta_data",
                                        NULL};
static const char *const net_keys[] = {"network-config", "networkconfig",
                                       "network_config", NULL};

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

/* "a\nb" */
static char *join_lines(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *d = malloc(n);
    if (!d)
        abort();
    snprintf(d, n, "%s\n%s", a, b);
    return d;
}

/* The MIME type cloud-init gives a part, from its first line. */
static const char *part_type(const char *text)
{
    if (strncmp(text, "#!", 2) == 0)
        return "text/x-shellscript";
    if (strncmp(text, "#include", 8) == 0)
        return "text/x-include-url";
    if (strncmp(text, "#cloud-boothook", 15) == 0)
        return "text/cloud-boothook";
    return "text/cloud-config";
}

static void add_part(char **out, size_t *len, size_t *cap, const char *name,
                     const char *text)
{
    char head[300];
    int h = snprintf(head, sizeof(head),
                     "--" BOUNDARY "\r\nContent-Type: %s; charset=\"utf-8\"\r\n"
                     "MIME-Version: 1.0\r\nContent-Disposition: attachment; "
                     "filename=\"%s\"\r\n\r\n",
                     part_type(text), name);
    size_t need = *len + (size_t)h + strlen(text) + 3;
    if (need > *cap) {
        *cap = need * 2;
        *out = realloc(*out, *cap);
        if (!*out)
            abort();
    }
    memcpy(*out + *len, head, (size_t)h);
    *len += (size_t)h;
    memcpy(*out + *len, text, strlen(text));
    *len += strlen(text);
    memcpy(*out + *len, "\r\n", 3); /* with the NUL */
    *len += 2;
}

static char *multipart(const char *inline_text, const char *secret_text)
{
    size_t len = 0, cap = 0;
    char *out = NULL;
    const char *head = "Content-Type: multipart/mixed; boundary=\"" BOUNDARY
                       "\"\r\nMIME-Version: 1.0\r\n\r\n";
    cap = strlen(head) + 1;
    out = malloc(cap);
    if (!out)
        abort();
    memcpy(out, head, cap);
    len = cap - 1;
    add_part(&out, &len, &cap, "inline", inline_text);
    add_part(&out, &len, &cap, "secret", secret_text);
    const char *tail = "--" BOUNDARY "--\r\n";
    out = realloc(out, len + strlen(tail) + 1);
    if (!out)
        abort();
    memcpy(out + len, tail, strlen(tail) + 1);
    return out;
}

/* Reads one document from block {inline, secretRef}: *inl and *sec get
 * the two texts (sec owned), or msg says what is missing. */
static int read_block(const char **inl, char **sec, vrt_controller *c,
                      const char *ns, const cJSON *block, const char *field,
                      const char *const *keys, char *msg, size_t size)
{
    *inl = cJSON_GetStringValue(cJSON_GetObjectItem(block, "inline"));
    *sec = NULL;
    const cJSON *ref = cJSON_GetObjectItem(block, "secretRef");
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(ref, "name"));
    if (!name)
        return 0;
    char **pairs = NULL, rv[32];
    vrt_error err = VRT_ERROR_INIT;
    /* The Secret is in the VM's namespace, whatever the ref says. */
    cJSON *local = cJSON_CreateObject();
    cJSON_AddStringToObject(local, "name", name);
    int rc = vrt_secret_load(&pairs, rv, c, ns, local, &err);
    cJSON_Delete(local);
    if (rc != VRT_OK) {
        snprintf(msg, size, "%s: %s", field, err.message);
        return -1;
    }
    for (size_t i = 0; keys[i] && !*sec; i++) {
        const char *v = vrt_secret_value(pairs, keys[i]);
        if (v)
            *sec = xstrdup(v);
    }
    vrt_secrets_free(pairs);
    if (!*sec) {
        char list[120] = "";
        for (size_t i = 0; keys[i]; i++)
            snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                     i ? ", " : "", keys[i]);
        snprintf(msg, size, "%s: Secret \"%s\" has none of the keys %s.", field,
                 name, list);
        return -1;
    }
    return 0;
}

static const char *str_of(const cJSON *obj, const char *key)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(obj, key));
    return v ? v : "";
}

/* network-config version 2, or NULL when no NIC has a static address. */
static char *render_network(const cJSON *vm, const cJSON *atts)
{
    const cJSON *nics = cJSON_GetObjectItem(cJSON_GetObjectItem(vm, "spec"), "networks");
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "version", 2);
    cJSON *eths = cJSON_AddObjectToObject(doc, "ethernets");
    int any_static = 0, i = 0;
    const cJSON *nic;
    cJSON_ArrayForEach(nic, nics) {
        const cJSON *spec = cJSON_GetObjectItem(cJSON_GetArrayItem(atts, i++), "spec");
        const cJSON *ipa = cJSON_GetObjectItem(spec, "ipAllocation");
        const cJSON *st = cJSON_GetObjectItem(ipa, "staticConfig");
        const cJSON *dnsc = cJSON_GetObjectItem(ipa, "dnsConfig");
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(nic, "name"));
        const char *ip = cJSON_GetStringValue(cJSON_GetObjectItem(nic, "ipAddress"));
        const char *gw = cJSON_GetStringValue(cJSON_GetObjectItem(nic, "gateway"));
        const char *dns = cJSON_GetStringValue(cJSON_GetObjectItem(nic, "dns"));
        const char *mac = cJSON_GetStringValue(cJSON_GetObjectItem(nic, "macAddress"));
        const cJSON *prefix = cJSON_GetObjectItem(nic, "prefix");
        if (!name)
            continue;
        cJSON *eth = cJSON_AddObjectToObject(eths, name);
        if (mac) {
            cJSON_AddStringToObject(cJSON_AddObjectToObject(eth, "match"),
                                    "macaddress", mac);
            cJSON_AddStringToObject(eth, "set-name", name);
        }
        char addr[64] = "";
        if (ip)
            snprintf(addr, sizeof(addr), "%s/%d", ip,
                     cJSON_IsNumber(prefix) ? prefix->valueint : 24);
        else if (cJSON_GetStringValue(cJSON_GetObjectItem(st, "address")))
            snprintf(addr, sizeof(addr), "%s",
                     cJSON_GetStringValue(cJSON_GetObjectItem(st, "address")));
        if (!gw)
            gw = cJSON_GetStringValue(cJSON_GetObjectItem(st, "gateway"));
        if (!addr[0]) {
            cJSON_AddBoolToObject(eth, "dhcp4", 1);
            continue;
        }
        any_static = 1;
        cJSON_AddItemToArray(cJSON_AddArrayToObject(eth, "addresses"),
                             cJSON_CreateString(addr));
        cJSON *routes = cJSON_CreateArray();
        if (gw) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "to", "default");
            cJSON_AddStringToObject(r, "via", gw);
            cJSON_AddItemToArray(routes, r);
        }
        const cJSON *rt;
        cJSON_ArrayForEach(rt, cJSON_GetObjectItem(st, "routes")) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "to", str_of(rt, "destination"));
            cJSON_AddStringToObject(r, "via", str_of(rt, "gateway"));
            const cJSON *metric = cJSON_GetObjectItem(rt, "metric");
            if (cJSON_IsNumber(metric))
                cJSON_AddNumberToObject(r, "metric", metric->valuedouble);
            cJSON_AddItemToArray(routes, r);
        }
        if (cJSON_GetArraySize(routes))
            cJSON_AddItemToObject(eth, "routes", routes);
        else
            cJSON_Delete(routes);
        cJSON *servers = cJSON_CreateArray();
        if (dns) { /* "a,b" */
            char buf[256];
            snprintf(buf, sizeof(buf), "%s", dns);
            char *save = NULL;
            for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
                cJSON_AddItemToArray(servers, cJSON_CreateString(t));
        } else {
            const cJSON *s;
            cJSON_ArrayForEach(s, cJSON_GetObjectItem(dnsc, "servers"))
                cJSON_AddItemToArray(servers, cJSON_Duplicate(s, 0));
        }
        const cJSON *search = cJSON_GetObjectItem(dnsc, "searchDomains");
        if (cJSON_GetArraySize(servers) || cJSON_GetArraySize(search)) {
            cJSON *ns = cJSON_AddObjectToObject(eth, "nameservers");
            cJSON_AddItemToObject(ns, "addresses", servers);
            if (cJSON_GetArraySize(search))
                cJSON_AddItemToObject(ns, "search", cJSON_Duplicate(search, 1));
        } else {
            cJSON_Delete(servers);
        }
    }
    char *text = any_static ? vrt_yaml_emit(doc) : NULL;
    cJSON_Delete(doc);
    return text;
}

int vrt_cloudinit_build(vrt_cloudinit *out, vrt_controller *c,
                        const cJSON *vm, const cJSON *atts, char *msg,
                        size_t size)
{
    memset(out, 0, sizeof(*out));
    const cJSON *spec = cJSON_GetObjectItem(vm, "spec");
    const char *ns = vrt_meta_str(vm, "namespace");
    ns = ns ? ns : "default";
    const cJSON *ub = cJSON_GetObjectItem(cJSON_GetObjectItem(spec, "userData"), "cloudInit");
    const cJSON *mb = cJSON_GetObjectItem(cJSON_GetObjectItem(spec, "metaData"), "cloudInit");
    const char *inl;
    char *sec = NULL;

    if (read_block(&inl, &sec, c, ns, ub, "spec.userData.cloudInit.secretRef",
                   user_keys, msg, size))
        goto fail;
    if (inl && sec)
        out->user_data = multipart(inl, sec);
    else if (inl || sec)
        out->user_data = xstrdup(inl ? inl : sec);
    free(sec);
    sec = NULL;

    if (read_block(&inl, &sec, c, ns, mb, "spec.metaData.cloudInit.secretRef",
                   meta_keys, msg, size))
        goto fail;
    if (inl && sec)
        out->meta_data = join_lines(inl, sec);
    else if (inl || sec)
        out->meta_data = xstrdup(inl ? inl : sec);
    free(sec);
    sec = NULL;

    /* A network-config in the user-data Secret wins over the rendered
     * one: it is how users say what the schema cannot. */
    if (cJSON_GetObjectItem(ub, "secretRef")) {
        char **pairs = NULL, rv[32];
        vrt_error err = VRT_ERROR_INIT;
        cJSON *local = cJSON_CreateObject();
        cJSON_AddStringToObject(local, "name", cJSON_GetStringValue(cJSON_GetObjectItem(
            cJSON_GetObjectItem(ub, "secretRef"), "name")));
        if (vrt_secret_load(&pairs, rv, c, ns, local, &err) == VRT_OK)
            for (size_t i = 0; net_keys[i] && !out->network_config; i++)
                if (vrt_secret_value(pairs, net_keys[i]))
                    out->network_config = xstrdup(vrt_secret_value(pairs, net_keys[i]));
        vrt_secrets_free(pairs);
        cJSON_Delete(local);
    }
    if (!out->network_config)
        out->network_config = render_network(vm, atts);
    return 0;
fail:
    free(sec);
    vrt_cloudinit_clear(out);
    return -1;
}

void vrt_cloudinit_clear(vrt_cloudinit *ci)
{
    free(ci->user_data);
    free(ci->meta_data);
    free(ci->network_config);
    memset(ci, 0, sizeof(*ci));
}
