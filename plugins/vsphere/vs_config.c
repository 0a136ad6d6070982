/* vs_config.c - the Provider settings (config_json) and the VM spec_json
 * the vSphere provider honours; see docs/providers/vsphere.md. */
#include "vs.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define VS_NAME_LIMIT 255

/* An optional string of 1..255 bytes without control characters. */
static int get_str(char **out, const cJSON *obj, const char *key,
                   const char *path, vrt_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    const char *s;

    if (!v || cJSON_IsNull(v))
        return VRT_OK;
    if (!cJSON_IsString(v) || !v->valuestring[0] ||
        strlen(v->valuestring) > VS_NAME_LIMIT)
        return vs_err(err, VRT_E_INVALID,
                      "Field \"%s\" must be a string of 1 to %d bytes.", path,
                      VS_NAME_LIMIT);
    for (s = v->valuestring; *s; s++)
        if ((unsigned char)*s < 0x20)
            return vs_err(err, VRT_E_INVALID,
                          "Field \"%s\" contains a control character.", path);
    free(*out);
    *out = vs_xstrdup(v->valuestring);
    return VRT_OK;
}

static int get_bool(int *out, const cJSON *obj, const char *key,
                    const char *path, vrt_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!v || cJSON_IsNull(v))
        return VRT_OK;
    if (!cJSON_IsBool(v))
        return vs_err(err, VRT_E_INVALID,
                      "Field \"%s\" must be true or false.", path);
    *out = cJSON_IsTrue(v);
    return VRT_OK;
}

static int get_uint(uint64_t *out, int *present, const cJSON *obj,
                    const char *key, const char *path, uint64_t min,
                    uint64_t max, vrt_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    double d;

    if (present)
        *present = 0;
    if (!v || cJSON_IsNull(v))
        return VRT_OK;
    d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    if (!cJSON_IsNumber(v) || d != floor(d) || d < (double)min ||
        d > (double)max)
        return vs_err(err, VRT_E_INVALID,
                      "Field \"%s\" must be a whole number from %llu to "
                      "%llu.",
                      path, (unsigned long long)min, (unsigned long long)max);
    *out = (uint64_t)d;
    if (present)
        *present = 1;
    return VRT_OK;
}

static int get_obj(const cJSON **out, const cJSON *obj, const char *key,
                   const char *path, vrt_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return VRT_OK;
    if (!cJSON_IsObject(v))
        return vs_err(err, VRT_E_INVALID,
                      "Field \"%s\" must be a JSON object.", path);
    *out = v;
    return VRT_OK;
}

/* defaults{datastore, cluster, folder, resourcePool, host} */
static int parse_defaults(char **ds, char **cl, char **fo, char **rp,
                          char **ho, const cJSON *o, const char *prefix,
                          vrt_error *err)
{
    char path[64];
    int rc;

#define VS_FIELD(var, key)                                                     \
    snprintf(path, sizeof(path), "%s.%s", prefix, key);                        \
    if ((rc = get_str(var, o, key, path, err)) < 0)                            \
        return rc;
    VS_FIELD(ds, "datastore")
    VS_FIELD(cl, "cluster")
    VS_FIELD(fo, "folder")
    VS_FIELD(rp, "resourcePool")
    VS_FIELD(ho, "host")
#undef VS_FIELD
    return VRT_OK;
}

int vs_config_parse(vs_config *cfg, const char *json, vrt_error *err)
{
    cJSON *root = cJSON_Parse(json ? json : "{}");
    const cJSON *defs = NULL, *vs = NULL;
    uint64_t v;
    int rc = VRT_OK;

    memset(cfg, 0, sizeof(*cfg));
    cfg->graceful_timeout_s = 60;
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return vs_err(err, VRT_E_INVALID,
                      "The provider configuration is not a JSON object.");
    }
    if ((rc = get_bool(&cfg->insecure, root, "insecureSkipVerify",
                       "insecureSkipVerify", err)) < 0 ||
        (rc = get_obj(&defs, root, "defaults", "defaults", err)) < 0 ||
        (rc = get_obj(&vs, root, "vsphere", "vsphere", err)) < 0)
        goto cleanup;
    if (defs && (rc = parse_defaults(&cfg->datastore, &cfg->cluster,
                                     &cfg->folder, &cfg->resource_pool,
                                     &cfg->host, defs, "defaults", err)) < 0)
        goto cleanup;
    if (vs) {
        if ((rc = get_bool(&cfg->insecure, vs, "insecureSkipVerify",
                           "vsphere.insecureSkipVerify", err)) < 0 ||
            (rc = get_str(&cfg->datacenter, vs, "datacenter",
                          "vsphere.datacenter", err)) < 0)
            goto cleanup;
        v = cfg->graceful_timeout_s;
        if ((rc = get_uint(&v, NULL, vs, "gracefulShutdownTimeoutSeconds",
                           "vsphere.gracefulShutdownTimeoutSeconds", 1,
                           86400, err)) < 0)
            goto cleanup;
        cfg->graceful_timeout_s = (uint32_t)v;
    }

cleanup:
    cJSON_Delete(root);
    return rc;
}

void vs_config_free(vs_config *cfg)
{
    free(cfg->datacenter);
    free(cfg->datastore);
    free(cfg->cluster);
    free(cfg->folder);
    free(cfg->resource_pool);
    free(cfg->host);
    memset(cfg, 0, sizeof(*cfg));
}

int vs_spec_parse(vs_spec **out, const char *json, vrt_error *err)
{
    cJSON *root = NULL;
    const cJSON *img = NULL, *pl = NULL, *defs = NULL;
    vs_spec *s = NULL;
    uint64_t v = 0;
    char *fw = NULL;
    int rc = VRT_OK;

    *out = NULL;
    root = cJSON_Parse(json ? json : "{}");
    if (!root || !cJSON_IsObject(root)) {
        rc = vs_err(err, VRT_E_INVALID,
                    "The VM spec_json is not a JSON object.");
        goto cleanup;
    }
    s = vs_xcalloc(1, sizeof(*s));
    s->cpu = 1;
    s->memory_mib = 512;
    if ((rc = get_uint(&v, &s->has_cpu, root, "cpu", "cpu", 1, 768, err)) <
        0)
        goto cleanup;
    if (s->has_cpu)
        s->cpu = (uint32_t)v;
    if ((rc = get_uint(&s->memory_mib, &s->has_memory, root, "memoryMiB",
                       "memoryMiB", 4, 24u * 1024 * 1024, err)) < 0)
        goto cleanup;
    if (!s->has_memory)
        s->memory_mib = 512;
    if ((rc = get_str(&fw, root, "firmware", "firmware", err)) < 0)
        goto cleanup;
    if (fw && strcmp(fw, "BIOS") && strcmp(fw, "UEFI")) {
        rc = vs_err(err, VRT_E_INVALID,
                    "Spec field \"firmware\" must be \"BIOS\" or \"UEFI\"; "
                    "got \"%s\".",
                    fw);
        goto cleanup;
    }
    if ((rc = get_obj(&img, root, "image", "image", err)) < 0 ||
        (rc = get_str(&s->template_name, img, "template", "image.template",
                      err)) < 0 ||
        (rc = get_str(&s->template_name, img, "templateName",
                      "image.templateName", err)) < 0 ||
        (rc = get_obj(&defs, root, "defaults", "defaults", err)) < 0 ||
        (rc = get_obj(&pl, root, "placement", "placement", err)) < 0 ||
        (rc = get_bool(&s->adopt, root, "adopt", "adopt", err)) < 0)
        goto cleanup;
    /* Provider defaults first, the VM's placement wins */
    if ((defs && (rc = parse_defaults(&s->datastore, &s->cluster, &s->folder,
                                      &s->resource_pool, &s->host, defs,
                                      "defaults", err)) < 0) ||
        (pl && (rc = parse_defaults(&s->datastore, &s->cluster, &s->folder,
                                    &s->resource_pool, &s->host, pl,
                                    "placement", err)) < 0))
        goto cleanup;
    if ((rc = vs_spec_hash(s->hash, json, err)) < 0)
        goto cleanup;
    *out = s;
    s = NULL;

cleanup:
    free(fw);
    vs_spec_free(s);
    cJSON_Delete(root);
    return rc;
}

void vs_spec_free(vs_spec *s)
{
    if (!s)
        return;
    free(s->template_name);
    free(s->datastore);
    free(s->cluster);
    free(s->folder);
    free(s->resource_pool);
    free(s->host);
    free(s);
}
