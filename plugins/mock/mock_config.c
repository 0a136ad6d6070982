/*
 * mock_config.c - parses a connection's config_json.
 *
 * config_json is the whole Provider.spec, so keys that belong to the
 * Provider (type, endpoint, runtime...) are accepted and ignored; any other
 * unknown top-level key is ignored with a warning.  Inside "faults", "caps"
 * and "diskFormats" nothing unknown is accepted: a typo there would make a
 * test pass for the wrong reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"

static const struct {
    uint64_t cap;
    const char *name;
} cap_names[] = {
    {VRT_CAP_RECONFIGURE, "reconfigure"},
    {VRT_CAP_RECONFIGURE_ONLINE, "reconfigureOnline"},
    {VRT_CAP_DISK_EXPAND_ONLINE, "diskExpandOnline"},
    {VRT_CAP_SNAPSHOTS, "snapshots"},
    {VRT_CAP_MEMORY_SNAPSHOTS, "memorySnapshots"},
    {VRT_CAP_SNAPSHOT_REVERT, "snapshotRevert"},
    {VRT_CAP_CLONE, "clone"},
    {VRT_CAP_LINKED_CLONES, "linkedClones"},
    {VRT_CAP_IMAGE_IMPORT, "imageImport"},
    {VRT_CAP_DISK_EXPORT, "diskExport"},
    {VRT_CAP_DISK_IMPORT, "diskImport"},
    {VRT_CAP_EXPORT_COMPRESSION, "exportCompression"},
    {VRT_CAP_HARDWARE_UPGRADE, "hardwareUpgrade"},
    {VRT_CAP_LIST_VMS, "listVms"},
    {VRT_CAP_CONSOLE, "console"},
    {VRT_CAP_GRACEFUL_SHUTDOWN, "gracefulShutdown"},
    {VRT_CAP_HOSTS, "hosts"},
};
#define NCAPS (sizeof(cap_names) / sizeof(cap_names[0]))

/* Provider.spec keys that are not ours but legitimately present. */
static const char *const provider_keys[] = {
    "type", "endpoint", "credentialSecretRef", "insecureSkipVerify",
    "defaults", "rateLimit", "runtime", "healthCheck", "connectionPooling",
    NULL,
};

static const char *const mock_keys[] = {
    "async", "taskPolls", "latencyMs", "hosts", "diskSizeBytes",
    "importMaxBytes", "caps", "diskFormats", "requireSecret", "faults",
    "stateFile", NULL,
};

static int in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

const char *mock_cap_name(uint64_t cap)
{
    for (size_t i = 0; i < NCAPS; i++)
        if (cap_names[i].cap == cap)
            return cap_names[i].name;
    return "unknown";
}

static int32_t read_bool(int *out, const cJSON *root, const char *key,
                         const char *where, vrt_error *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);

    if (!item)
        return VRT_OK;
    if (!cJSON_IsBool(item))
        return mock_err(err, VRT_E_INVALID, "%s%s must be true or false.",
                        where, key);
    *out = cJSON_IsTrue(item);
    return VRT_OK;
}

static int32_t read_u32(uint32_t *out, const cJSON *root, const char *key,
                        uint64_t min, uint64_t max, vrt_error *err)
{
    uint64_t v = *out;
    int32_t rc = mock_json_uint(&v, root, key, min, max, "config_json", err);

    if (rc == VRT_OK)
        *out = (uint32_t)v;
    return rc;
}

static int32_t parse_caps(uint64_t *out, const cJSON *arr, vrt_error *err)
{
    const cJSON *item;
    int i = 0;

    if (!cJSON_IsArray(arr))
        return mock_err(err, VRT_E_INVALID,
                        "config_json.caps must be an array of capability "
                        "names.");
    *out = 0;
    cJSON_ArrayForEach(item, arr) {
        size_t k;

        if (!cJSON_IsString(item))
            return mock_err(err, VRT_E_INVALID,
                            "config_json.caps[%d] must be a string.", i);
        for (k = 0; k < NCAPS; k++)
            if (strcmp(cap_names[k].name, item->valuestring) == 0)
                break;
        if (k == NCAPS)
            return mock_err(err, VRT_E_INVALID,
                            "config_json.caps[%d]: \"%.64s\" is not a "
                            "capability name.",
                            i, item->valuestring);
        *out |= cap_names[k].cap;
        i++;
    }
    return VRT_OK;
}

static int32_t parse_formats(uint32_t *out, const cJSON *arr, vrt_error *err)
{
    static const uint32_t all[] = {VRT_DISK_RAW, VRT_DISK_QCOW2,
                                   VRT_DISK_VMDK};
    const cJSON *item;
    int i = 0;

    if (!cJSON_IsArray(arr))
        return mock_err(err, VRT_E_INVALID,
                        "config_json.diskFormats must be an array of "
                        "\"raw\", \"qcow2\" or \"vmdk\".");
    *out = 0;
    cJSON_ArrayForEach(item, arr) {
        size_t k;

        if (!cJSON_IsString(item))
            return mock_err(err, VRT_E_INVALID,
                            "config_json.diskFormats[%d] must be a string.",
                            i);
        for (k = 0; k < 3; k++)
            if (strcmp(mock_format_name(all[k]), item->valuestring) == 0)
                break;
        if (k == 3)
            return mock_err(err, VRT_E_INVALID,
                            "config_json.diskFormats[%d]: \"%.64s\" is not "
                            "raw, qcow2 or vmdk.",
                            i, item->valuestring);
        *out |= all[k];
        i++;
    }
    return VRT_OK;
}

static int32_t parse_fault(mock_fault *f, const cJSON *obj, const char *name,
                           vrt_error *err)
{
    static const char *const keys[] = {"after", "code", "persistent",
                                       "message", "retryAfterMs", "task",
                                       NULL};
    char where[96];
    const cJSON *item;
    uint64_t v = 0;
    int32_t rc;

    if (!cJSON_IsObject(obj))
        return mock_err(err, VRT_E_INVALID,
                        "faults.%s must be an object such as "
                        "{\"after\": 0, \"code\": \"UNAVAILABLE\"}.",
                        name);
    cJSON_ArrayForEach(item, obj) {
        if (!in_list(keys, item->string))
            return mock_err(err, VRT_E_INVALID,
                            "faults.%s.%.64s is not a fault option (after, "
                            "code, persistent, message, retryAfterMs, task).",
                            name, item->string);
    }
    f->set = 1;
    item = cJSON_GetObjectItemCaseSensitive(obj, "code");
    if (!cJSON_IsString(item))
        return mock_err(err, VRT_E_INVALID,
                        "faults.%s.code must be an error code name such as "
                        "\"UNAVAILABLE\".",
                        name);
    f->code = mock_code_from_name(item->valuestring);
    if (f->code > 0)
        return mock_err(err, VRT_E_INVALID,
                        "faults.%s.code: \"%.64s\" is not an error code name.",
                        name, item->valuestring);
    snprintf(where, sizeof(where), "faults.%s", name);
    rc = mock_json_uint(&f->after, obj, "after", 0, 1ull << 53, where, err);
    if (rc == VRT_OK)
        rc = mock_json_uint(&v, obj, "retryAfterMs", 0, UINT32_MAX, where,
                            err);
    f->retry_after_ms = (uint32_t)v;
    item = cJSON_GetObjectItemCaseSensitive(obj, "message");
    if (rc == VRT_OK && item && !cJSON_IsString(item))
        rc = mock_err(err, VRT_E_INVALID,
                      "faults.%s.message must be a string.", name);
    if (rc == VRT_OK && item)
        mock_copy(f->message, sizeof(f->message), item->valuestring);
    snprintf(where, sizeof(where), "faults.%s.", name);
    if (rc == VRT_OK)
        rc = read_bool(&f->persistent, obj, "persistent", where, err);
    if (rc == VRT_OK)
        rc = read_bool(&f->in_task, obj, "task", where, err);
    return rc;
}

static int32_t parse_faults(mock_config *cfg, const cJSON *obj, vrt_error *err)
{
    const cJSON *item;

    if (!cJSON_IsObject(obj))
        return mock_err(err, VRT_E_INVALID,
                        "config_json.faults must be an object keyed by "
                        "method name.");
    cJSON_ArrayForEach(item, obj) {
        int m = mock_method_from_name(item->string);
        int32_t rc;

        if (m < 0)
            return mock_err(err, VRT_E_INVALID,
                            "faults.%.64s is not a provider method name.",
                            item->string);
        if (!mock_method_can_fail((mock_method)m))
            return mock_err(err, VRT_E_INVALID,
                            "faults.%s: this method returns nothing and "
                            "cannot fail.",
                            item->string);
        rc = parse_fault(&cfg->faults[m], item, item->string, err);
        if (rc != VRT_OK)
            return rc;
    }
    return VRT_OK;
}

static int32_t parse_secret(mock_config *cfg, const cJSON *root,
                            vrt_error *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "requireSecret");

    if (!item)
        return VRT_OK;
    if (!cJSON_IsString(item) || !item->valuestring[0])
        return mock_err(err, VRT_E_INVALID,
                        "config_json.requireSecret must be the non-empty "
                        "name of a credential key.");
    cfg->require_secret = mock_strdup(item->valuestring);
    if (!cfg->require_secret)
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    return VRT_OK;
}

static int32_t parse_state_file(mock_config *cfg, const cJSON *root,
                                vrt_error *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "stateFile");

    if (!item)
        return VRT_OK;
    if (!cJSON_IsString(item) || item->valuestring[0] != '/' ||
        strlen(item->valuestring) > 1000)
        return mock_err(err, VRT_E_INVALID,
                        "config_json.stateFile must be an absolute path of "
                        "at most 1000 bytes.");
    cfg->state_file = mock_strdup(item->valuestring);
    if (!cfg->state_file)
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    return VRT_OK;
}

static void warn_unknown(vrt_host_ctx *ctx, const cJSON *root)
{
    const cJSON *item;

    cJSON_ArrayForEach(item, root) {
        if (!in_list(mock_keys, item->string) &&
            !in_list(provider_keys, item->string))
            mock_log(ctx, VRT_LOG_WARN,
                     "Config key \"%.64s\" is not a mock option; ignored.",
                     item->string);
    }
}

static int32_t parse_root(mock_config *cfg, const cJSON *root, vrt_error *err)
{
    const cJSON *item;
    int32_t rc;

    rc = read_bool(&cfg->async, root, "async", "config_json.", err);
    if (rc == VRT_OK)
        rc = read_u32(&cfg->task_polls, root, "taskPolls", 0, 1000000, err);
    if (rc == VRT_OK)
        rc = read_u32(&cfg->latency_ms, root, "latencyMs", 0, 600000, err);
    if (rc == VRT_OK)
        rc = read_u32(&cfg->hosts, root, "hosts", 1, 1024, err);
    if (rc == VRT_OK)
        rc = mock_json_uint(&cfg->disk_size, root, "diskSizeBytes", 512,
                            1ull << 50, "config_json", err);
    if (rc == VRT_OK && cfg->disk_size % 512)
        rc = mock_err(err, VRT_E_INVALID,
                      "config_json.diskSizeBytes must be a multiple of 512.");
    if (rc == VRT_OK)
        rc = mock_json_uint(&cfg->import_max, root, "importMaxBytes", 1,
                            1ull << 40, "config_json", err);
    if (rc != VRT_OK)
        return rc;
    if ((item = cJSON_GetObjectItemCaseSensitive(root, "caps")) &&
        (rc = parse_caps(&cfg->caps, item, err)) != VRT_OK)
        return rc;
    if ((item = cJSON_GetObjectItemCaseSensitive(root, "diskFormats")) &&
        (rc = parse_formats(&cfg->disk_formats, item, err)) != VRT_OK)
        return rc;
    if ((item = cJSON_GetObjectItemCaseSensitive(root, "faults")) &&
        (rc = parse_faults(cfg, item, err)) != VRT_OK)
        return rc;
    rc = parse_secret(cfg, root, err);
    return rc == VRT_OK ? parse_state_file(cfg, root, err) : rc;
}

int32_t mock_config_parse(mock_config *out, vrt_host_ctx *ctx,
                          const char *json, vrt_error *err)
{
    cJSON *root = NULL;
    int32_t rc = VRT_OK;

    memset(out, 0, sizeof(*out));
    out->task_polls = MOCK_DEFAULT_TASK_POLLS;
    out->hosts = MOCK_DEFAULT_HOSTS;
    out->disk_size = MOCK_DEFAULT_DISK_SIZE;
    out->import_max = MOCK_DEFAULT_IMPORT_MAX;
    out->caps = MOCK_CAPS_ALL;
    out->disk_formats = MOCK_FORMATS_ALL;

    root = mock_json_parse(json);
    if (!root) {
        rc = mock_err(err, VRT_E_INVALID, "config_json is not valid JSON.");
        goto cleanup;
    }
    if (!cJSON_IsObject(root)) {
        rc = mock_err(err, VRT_E_INVALID, "config_json must be a JSON "
                      "object.");
        goto cleanup;
    }
    /* The manager hands over the whole Provider.spec, whose CRD keeps our
     * options under spec.mock; vcts and tests may pass them at the top. */
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(root, "mock");
    if (opts && !cJSON_IsObject(opts)) {
        rc = mock_err(err, VRT_E_INVALID, "config_json.mock must be an object.");
        goto cleanup;
    }
    rc = parse_root(out, opts ? opts : root, err);
    if (rc == VRT_OK && !opts)
        warn_unknown(ctx, root);

cleanup:
    cJSON_Delete(root);
    if (rc != VRT_OK)
        mock_config_clear(out);
    return rc;
}

void mock_config_clear(mock_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->require_secret);
    cfg->require_secret = NULL;
    free(cfg->state_file);
    cfg->state_file = NULL;
}
