/*
 * pve_spec.c - spec_json and the cloud-init user-data turned into PVE VM
 * config keys: cores, memory, firmware, NICs (bridge, model, VLAN tag,
 * firewall, rate, MTU), ipconfigN, nameserver, and ciuser / cipassword /
 * sshkeys read from the #cloud-config.  sshkeys is URL-encoded (%20 for a
 * space, %2B for a plus) before the form encoding, as PVE requires.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "pve.h"

int32_t pve_spec_parse(cJSON **out, const char *spec_json, vrt_error *err)
{
    *out = NULL;
    if (!spec_json)
        return pve_err(err, VRT_E_INVALID, "spec_json is NULL.");
    *out = cJSON_Parse(spec_json);
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return pve_err(err, VRT_E_INVALID,
                       "spec_json must be a JSON object.");
    }
    return VRT_OK;
}

int pve_spec_int(const cJSON *obj, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsNumber(v) ? v->valueint : dflt; /* cJSON clamps it */
}

static const char *str_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

const char *pve_spec_node(const cJSON *spec)
{
    const char *n = str_of(cJSON_GetObjectItemCaseSensitive(spec, "placement"), "host");

    return n ? n : str_of(cJSON_GetObjectItemCaseSensitive(spec, "image"), "node");
}

const char *pve_spec_storage(const cJSON *spec, const vrt_conn *conn)
{
    const char *s = str_of(cJSON_GetObjectItemCaseSensitive(spec, "image"), "storage");

    if (!s)
        s = str_of(cJSON_GetObjectItemCaseSensitive(spec, "placement"), "datastore");
    if (!s)
        s = str_of(cJSON_GetObjectItemCaseSensitive(spec, "defaults"), "datastore");
    if (!s && conn)
        s = str_of(conn->defaults, "datastore");
    return s ? s : "local-lvm";
}

long pve_spec_template(const cJSON *spec, const char **name)
{
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(spec, "image");

    *name = str_of(img, "templateName");
    return pve_spec_int(img, "templateID", 0);
}

static void add_nic(pve_form *f, int i, const cJSON *net)
{
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(net, "attachment");
    const char *model = str_of(net, "model");
    const char *bridge = str_of(net, "bridge");
    const char *mac = str_of(net, "macAddress");
    char key[16], val[512];
    size_t n;

    if (!model)
        model = str_of(att, "model");
    if (!bridge)
        bridge = str_of(att, "bridge");
    n = (size_t)snprintf(val, sizeof(val), "%s%s%s,bridge=%s",
                         model ? model : "virtio", mac ? "=" : "",
                         mac ? mac : "", bridge ? bridge : "vmbr0");
    if (pve_spec_int(att, "vlanTag", 0) > 0)
        n += (size_t)snprintf(val + n, sizeof(val) - n, ",tag=%d",
                              pve_spec_int(att, "vlanTag", 0));
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(att, "firewall")))
        n += (size_t)snprintf(val + n, sizeof(val) - n, ",firewall=1");
    if (pve_spec_int(att, "rateLimit", 0) > 0)
        n += (size_t)snprintf(val + n, sizeof(val) - n, ",rate=%d",
                              pve_spec_int(att, "rateLimit", 0));
    if (pve_spec_int(att, "mtu", 0) > 0)
        snprintf(val + n, sizeof(val) - n, ",mtu=%d", pve_spec_int(att, "mtu", 0));
    snprintf(key, sizeof(key), "net%d", i);
    pve_form_add(f, key, val);

    snprintf(key, sizeof(key), "ipconfig%d", i);
    if (str_of(net, "ipAddress")) {
        n = (size_t)snprintf(val, sizeof(val), "ip=%s/%d", str_of(net, "ipAddress"),
                             pve_spec_int(net, "prefix", 24));
        if (str_of(net, "gateway"))
            snprintf(val + n, sizeof(val) - n, ",gw=%s", str_of(net, "gateway"));
        pve_form_add(f, key, val);
    } else {
        pve_form_add(f, key, "ip=dhcp");
    }
}

void pve_spec_form(pve_form *f, const cJSON *spec, const vrt_vm_spec *vs,
                   const char *storage, int with_disks)
{
    const cJSON *nets = cJSON_GetObjectItemCaseSensitive(spec, "networks");
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(spec, "class");
    const cJSON *net;
    const char *fw = str_of(spec, "firmware");
    char dns[512] = "";
    int i = 0;

    (void)vs;
    pve_form_addf(f, "cores", "%d", pve_spec_int(spec, "cpu", 1));
    pve_form_addf(f, "sockets", "%d", 1);
    pve_form_addf(f, "memory", "%d", pve_spec_int(spec, "memoryMiB", 512));
    if (fw && !strcmp(fw, "UEFI")) {
        pve_form_add(f, "bios", "ovmf");
        if (with_disks)
            pve_form_addf(f, "efidisk0", "%s:1,efitype=4m,pre-enrolled-keys=0",
                          storage);
    }
    if (str_of(cls, "machine"))
        pve_form_add(f, "machine", str_of(cls, "machine"));
    if (str_of(cls, "cpuType"))
        pve_form_add(f, "cpu", str_of(cls, "cpuType"));
    cJSON_ArrayForEach(net, nets)
    {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(net, "dns");
        const cJSON *s;
        if (i >= 4)
            break;
        add_nic(f, i++, net);
        cJSON_ArrayForEach(s, d)
        {
            if (cJSON_IsString(s) && strlen(dns) + strlen(s->valuestring) + 2 < sizeof(dns)) {
                if (dns[0])
                    strcat(dns, " ");
                strcat(dns, s->valuestring);
            }
        }
    }
    if (dns[0])
        pve_form_add(f, "nameserver", dns);
}

/* sshkeys: each key on its own line, then every byte outside the
 * unreserved set percent-encoded; the form encoding adds the second
 * layer ("%20" travels as "%2520"). */
char *pve_sshkeys_encode(const char *keys)
{
    return pve_urlencode(keys);
}

/* --- cloud-init user-data --------------------------------------------- */

typedef struct ci_keys {
    char *user;
    char *password;
    char *keys; /* newline-separated */
} ci_keys;

static char *scalar(yaml_document_t *doc, yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE)
        return NULL;
    return (char *)n->data.scalar.value;
}

static void append_key(ci_keys *ck, const char *k)
{
    size_t a = ck->keys ? strlen(ck->keys) : 0, b = strlen(k);

    ck->keys = realloc(ck->keys, a + b + 2);
    if (!ck->keys)
        abort();
    if (a)
        ck->keys[a++] = '\n';
    memcpy(ck->keys + a, k, b + 1);
}

static void read_keys(ci_keys *ck, yaml_document_t *doc, yaml_node_t *seq)
{
    yaml_node_item_t *it;

    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return;
    for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        char *k = scalar(doc, yaml_document_get_node(doc, *it));
        if (k && k[0])
            append_key(ck, k);
    }
}

static void read_mapping(ci_keys *ck, yaml_document_t *doc, yaml_node_t *map,
                         int top)
{
    yaml_node_pair_t *p;

    if (!map || map->type != YAML_MAPPING_NODE)
        return;
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        char *k = scalar(doc, yaml_document_get_node(doc, p->key));
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        if (!k)
            continue;
        if (!strcmp(k, "ssh_authorized_keys"))
            read_keys(ck, doc, v);
        else if ((!strcmp(k, "name") && !top) || (!strcmp(k, "user") && top)) {
            if (scalar(doc, v) && !ck->user)
                ck->user = pve_strdup(scalar(doc, v));
        } else if ((!strcmp(k, "password") && top) ||
                   (!strcmp(k, "plain_text_passwd") && !top)) {
            if (scalar(doc, v) && !ck->password)
                ck->password = pve_strdup(scalar(doc, v));
        } else if (!strcmp(k, "users") && top && v &&
                   v->type == YAML_SEQUENCE_NODE) {
            yaml_node_item_t *it;
            for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++)
                read_mapping(ck, doc, yaml_document_get_node(doc, *it), 0);
        }
    }
}

int32_t pve_cloudinit_form(pve_form *f, const vrt_vm_spec *vs, vrt_error *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    ci_keys ck = {0};
    int32_t rc = VRT_OK;

    if (!vs->user_data || !vs->user_data_len)
        return VRT_OK;
    if (!yaml_parser_initialize(&parser))
        return pve_err(err, VRT_E_INTERNAL, "libyaml could not start.");
    yaml_parser_set_input_string(&parser, vs->user_data, vs->user_data_len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = pve_err(err, VRT_E_INVALID,
                     "The cloud-init user-data is not YAML (line %zu): %s.",
                     parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "parse error");
        yaml_parser_delete(&parser);
        return rc;
    }
    read_mapping(&ck, &doc, yaml_document_get_root_node(&doc), 1);
    if (ck.user)
        pve_form_add(f, "ciuser", ck.user);
    if (ck.password)
        pve_form_add(f, "cipassword", ck.password);
    if (ck.keys) {
        char *enc = pve_sshkeys_encode(ck.keys);
        pve_form_add(f, "sshkeys", enc);
        free(enc);
    }
    free(ck.user);
    if (ck.password)
        memset(ck.password, 0, strlen(ck.password));
    free(ck.password);
    free(ck.keys);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}
