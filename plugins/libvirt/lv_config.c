/* lv_config.c - the provider settings read from config_json (see
 * lv_conn.h and docs/providers/libvirt.md). */
#include "lv_conn.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static char *cfg_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) && v->valuestring[0] ? lv_xstrdup(v->valuestring)
                                                  : NULL;
}

static int cfg_int(int64_t *out, const cJSON *o, const char *key,
                   int64_t min, int64_t max, vrt_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!v)
        return VRT_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble < (double)min ||
        v->valuedouble > (double)max)
        return lv_err(err, VRT_E_INVALID,
                      "Provider setting \"libvirt.%s\" must be a number from "
                      "%lld to %lld.",
                      key, (long long)min, (long long)max);
    *out = (int64_t)v->valuedouble;
    return VRT_OK;
}

int lv_config_parse(lv_config *cfg, const char *json, vrt_error *err)
{
    cJSON *root = cJSON_Parse(json ? json : "{}");
    const cJSON *lv, *defs;
    int64_t v;
    int rc = VRT_OK;

    cfg->vnc_listen = lv_xstrdup("127.0.0.1");
    cfg->graceful_timeout_s = 60;
    cfg->keepalive_interval_s = 5;
    cfg->keepalive_count = 3;
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return lv_err(err, VRT_E_INVALID,
                      "The provider configuration is not a JSON object.");
    }
    /* Provider.spec.defaults: datastore ~ storage pool, network */
    defs = cJSON_GetObjectItemCaseSensitive(root, "defaults");
    cfg->storage_pool = cfg_str(defs, "datastore");
    cfg->default_network = cfg_str(defs, "network");
    lv = cJSON_GetObjectItemCaseSensitive(root, "libvirt");
    if (lv && !cJSON_IsObject(lv)) {
        rc = lv_err(err, VRT_E_INVALID,
                    "Provider setting \"libvirt\" must be a JSON object.");
        goto cleanup;
    }
    if (lv) {
        char *s;
        if ((s = cfg_str(lv, "storagePool"))) {
            free(cfg->storage_pool);
            cfg->storage_pool = s;
        }
        if ((s = cfg_str(lv, "defaultNetwork"))) {
            free(cfg->default_network);
            cfg->default_network = s;
        }
        cfg->domain_type = cfg_str(lv, "domainType");
        if ((s = cfg_str(lv, "vncListen"))) {
            free(cfg->vnc_listen);
            cfg->vnc_listen = strcmp(s, "none") ? s : NULL;
            if (!cfg->vnc_listen)
                free(s);
        }
        v = cfg->graceful_timeout_s;
        if ((rc = cfg_int(&v, lv, "gracefulShutdownTimeoutSeconds", 1, 86400,
                          err)) < 0)
            goto cleanup;
        cfg->graceful_timeout_s = (uint32_t)v;
        v = cfg->keepalive_interval_s;
        if ((rc = cfg_int(&v, lv, "keepaliveIntervalSeconds", 0, 3600,
                          err)) < 0)
            goto cleanup;
        cfg->keepalive_interval_s = (int32_t)v;
        v = cfg->keepalive_count;
        if ((rc = cfg_int(&v, lv, "keepaliveCount", 1, 100, err)) < 0)
            goto cleanup;
        cfg->keepalive_count = (uint32_t)v;
    }
    if ((cfg->storage_pool && !lv_name_ok(cfg->storage_pool, 255)) ||
        (cfg->default_network && !lv_name_ok(cfg->default_network, 255)))
        rc = lv_err(err, VRT_E_INVALID,
                    "Provider settings for the storage pool and network must "
                    "be plain names (letters, digits, '.', '_', '-').");

cleanup:
    cJSON_Delete(root);
    return rc;
}

void lv_config_free(lv_config *cfg)
{
    free(cfg->storage_pool);
    free(cfg->domain_type);
    free(cfg->vnc_listen);
    free(cfg->default_network);
}

