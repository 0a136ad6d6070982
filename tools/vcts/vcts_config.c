/*
 * The --config file: where the plugin's endpoint is, what Provider spec and
 * credentials to open it with, what VM spec to create, and which tests to
 * skip.  Unknown keys are refused so that a typo does not silently run the
 * defaults.
 */
#include "vcts.h"

#include <cJSON.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_MAX_BYTES (1024 * 1024)
#define DEFAULT_TIMEOUT_MS 30000u
#define DEFAULT_VM_SPEC "{\"cpu\":1,\"memoryMiB\":256}"

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        fprintf(stderr, "vcts: out of memory.\n");
        abort();
    }
    return d;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "vcts: out of memory.\n");
        abort();
    }
    return p;
}

/* Reads a whole small file into a NUL-terminated buffer. */
static char *read_file(const char *path, char *why, size_t why_size)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;

    if (!f) {
        snprintf(why, why_size, "Config file \"%s\" cannot be opened: %s.",
                 path, strerror(errno));
        return NULL;
    }
    buf = xcalloc(1, CONFIG_MAX_BYTES + 1);
    len = fread(buf, 1, CONFIG_MAX_BYTES + 1, f);
    if (ferror(f) || len > CONFIG_MAX_BYTES) {
        snprintf(why, why_size,
                 ferror(f) ? "Config file \"%s\" cannot be read."
                           : "Config file \"%s\" is larger than 1 MiB.",
                 path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* A JSON object member as compact text, or the default. */
static int object_text(char **out, const cJSON *root, const char *key,
                       const char *def, char *why, size_t why_size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    *out = NULL;
    if (!v) {
        *out = xstrdup(def);
        return 0;
    }
    if (!cJSON_IsObject(v)) {
        snprintf(why, why_size, "Config key \"%s\" must be a JSON object.",
                 key);
        return -1;
    }
    char *s = cJSON_PrintUnformatted(v);
    if (!s) {
        fprintf(stderr, "vcts: out of memory.\n");
        abort();
    }
    *out = xstrdup(s);
    cJSON_free(s);
    return 0;
}

static int read_secrets(vcts_config *cfg, const cJSON *root, char *why,
                        size_t why_size)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "secrets");
    const cJSON *kv;
    size_t n = 0;

    if (!s)
        return 0;
    if (!cJSON_IsObject(s)) {
        snprintf(why, why_size,
                 "Config key \"secrets\" must be an object of strings.");
        return -1;
    }
    cfg->secrets = xcalloc((size_t)cJSON_GetArraySize(s) * 2 + 1,
                           sizeof(char *));
    cJSON_ArrayForEach(kv, s)
    {
        if (!cJSON_IsString(kv)) {
            /* The value is never echoed: it may be a password. */
            snprintf(why, why_size,
                     "Config secret \"%s\" must be a string.", kv->string);
            return -1;
        }
        cfg->secrets[n++] = xstrdup(kv->string);
        cfg->secrets[n++] = xstrdup(kv->valuestring);
    }
    return 0;
}

static int read_skip(vcts_config *cfg, const cJSON *root, char *why,
                     size_t why_size)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "skip");
    const cJSON *item;

    if (!s)
        return 0;
    if (!cJSON_IsArray(s)) {
        snprintf(why, why_size,
                 "Config key \"skip\" must be an array of test names.");
        return -1;
    }
    cfg->skip = xcalloc((size_t)cJSON_GetArraySize(s), sizeof(char *));
    cJSON_ArrayForEach(item, s)
    {
        if (!cJSON_IsString(item)) {
            snprintf(why, why_size,
                     "Config key \"skip\" must hold test names as strings.");
            return -1;
        }
        cfg->skip[cfg->nskip++] = xstrdup(item->valuestring);
    }
    return 0;
}

static int read_string(char **out, const cJSON *root, const char *key,
                       char *why, size_t why_size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v)
        return 0;
    if (!cJSON_IsString(v) || !v->valuestring[0]) {
        snprintf(why, why_size,
                 "Config key \"%s\" must be a non-empty string.", key);
        return -1;
    }
    free(*out);
    *out = xstrdup(v->valuestring);
    return 0;
}

static int read_timeout(vcts_config *cfg, const cJSON *root, char *why,
                        size_t why_size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "timeoutMs");
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 ||
        v->valuedouble > 3600000 || v->valuedouble != (double)v->valueint) {
        snprintf(why, why_size,
                 "Config key \"timeoutMs\" must be an integer from 1 to "
                 "3600000 (one hour).");
        return -1;
    }
    cfg->timeout_ms = (uint32_t)v->valueint;
    return 0;
}

static int check_keys(const cJSON *root, char *why, size_t why_size)
{
    static const char *const known[] = {"endpoint", "config",  "secrets",
                                        "vmSpec",   "timeoutMs", "skip",
                                        "missingVmId", NULL};
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        int ok = 0;
        for (size_t i = 0; known[i]; i++)
            ok |= strcmp(item->string, known[i]) == 0;
        if (!ok) {
            snprintf(why, why_size,
                     "Config key \"%s\" is unknown; the keys are endpoint, "
                     "config, secrets, vmSpec, timeoutMs, skip and "
                     "missingVmId.",
                     item->string);
            return -1;
        }
    }
    return 0;
}

static void set_defaults(vcts_config *cfg)
{
    char buf[64];
    memset(cfg, 0, sizeof(*cfg));
    snprintf(buf, sizeof(buf), "mock://vcts-%ld", (long)getpid());
    cfg->endpoint = xstrdup(buf);
    snprintf(buf, sizeof(buf), "vcts-missing-%ld", (long)getpid());
    cfg->missing_id = xstrdup(buf);
    cfg->timeout_ms = DEFAULT_TIMEOUT_MS;
}

/* The parsed tree holds copies of the credentials; wipe them first. */
static void wipe_secrets(cJSON *root)
{
    cJSON *s = root ? cJSON_GetObjectItemCaseSensitive(root, "secrets") : NULL;
    cJSON *kv;
    cJSON_ArrayForEach(kv, s)
    {
        if (cJSON_IsString(kv))
            explicit_bzero(kv->valuestring, strlen(kv->valuestring));
    }
}

static int parse(vcts_config *cfg, const char *text, const char *path,
                 char *why, size_t why_size)
{
    cJSON *root = cJSON_Parse(text);
    int rc = -1;

    if (!root || !cJSON_IsObject(root)) {
        snprintf(why, why_size,
                 "Config file \"%s\" is not a JSON object%s.", path,
                 root ? "" : " (it does not parse as JSON)");
        goto cleanup;
    }
    free(cfg->config_json);
    free(cfg->vm_spec_json);
    cfg->config_json = cfg->vm_spec_json = NULL;
    if (check_keys(root, why, why_size) ||
        read_string(&cfg->endpoint, root, "endpoint", why, why_size) ||
        read_string(&cfg->missing_id, root, "missingVmId", why, why_size) ||
        object_text(&cfg->config_json, root, "config", "{}", why,
                    why_size) ||
        object_text(&cfg->vm_spec_json, root, "vmSpec", DEFAULT_VM_SPEC, why,
                    why_size) ||
        read_secrets(cfg, root, why, why_size) ||
        read_skip(cfg, root, why, why_size) ||
        read_timeout(cfg, root, why, why_size))
        goto cleanup;
    rc = 0;

cleanup:
    wipe_secrets(root);
    cJSON_Delete(root);
    return rc;
}

int vcts_config_load(vcts_config *out, const char *path, const char *endpoint,
                     char *why, size_t why_size)
{
    char *text = NULL;
    int rc = -1;

    set_defaults(out);
    out->config_json = xstrdup("{}");
    out->vm_spec_json = xstrdup(DEFAULT_VM_SPEC);
    if (path) {
        text = read_file(path, why, why_size);
        if (!text || parse(out, text, path, why, why_size))
            goto cleanup;
    }
    if (endpoint) {
        free(out->endpoint);
        out->endpoint = xstrdup(endpoint);
    }
    rc = 0;

cleanup:
    if (text)
        explicit_bzero(text, strlen(text));
    free(text);
    if (rc)
        vcts_config_clear(out);
    return rc;
}

void vcts_config_clear(vcts_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->endpoint);
    free(cfg->config_json);
    free(cfg->vm_spec_json);
    free(cfg->missing_id);
    for (size_t i = 0; cfg->secrets && cfg->secrets[i]; i++) {
        /* Secret values do not outlive the run in our heap. */
        explicit_bzero(cfg->secrets[i], strlen(cfg->secrets[i]));
        free(cfg->secrets[i]);
    }
    free(cfg->secrets);
    for (size_t i = 0; i < cfg->nskip; i++)
        free(cfg->skip[i]);
    free(cfg->skip);
    memset(cfg, 0, sizeof(*cfg));
}

int vcts_config_skips(const vcts_config *cfg, const char *test)
{
    for (size_t i = 0; i < cfg->nskip; i++)
        if (strcmp(cfg->skip[i], test) == 0)
            return 1;
    return 0;
}
