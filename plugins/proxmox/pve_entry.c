/*
 * pve_entry.c - the Proxmox VE plugin's entry point and vtable, and the
 * connection methods: open (endpoint, credentials from the Secret, TLS
 * settings), close, validate (GET /version) and capabilities.
 *
 * Credentials (keys of the Provider's credentialSecretRef):
 *   tokenId + tokenSecret   API token, "user@realm!name" and its secret
 *   username + password     ticket login instead (with CSRF token on writes)
 *   ca.crt                  PEM CA that signed the PVE certificate
 * Provider.spec: insecureSkipVerify (tests only), defaults.datastore,
 * and the plugin's own maxParallelClones (default 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "pve.h"

#define SECRET_MAX 16384

const vrt_host_api *pve_host;

static int32_t pve_open(vrt_conn **out, const vrt_conn_params *params,
                        uint32_t flags, vrt_error *err);
static void pve_close(vrt_conn *conn);
static int32_t pve_validate(vrt_conn *conn, const vrt_call *call,
                            uint32_t flags, vrt_error *err);
static int32_t pve_capabilities(vrt_caps *out, vrt_conn *conn,
                                const vrt_call *call, uint32_t flags,
                                vrt_error *err);

#define PVE_CAPS                                                               \
    (VRT_CAP_RECONFIGURE | VRT_CAP_RECONFIGURE_ONLINE | VRT_CAP_SNAPSHOTS |    \
     VRT_CAP_MEMORY_SNAPSHOTS | VRT_CAP_SNAPSHOT_REVERT | VRT_CAP_CLONE |      \
     VRT_CAP_LIST_VMS | VRT_CAP_CONSOLE | VRT_CAP_GRACEFUL_SHUTDOWN |          \
     VRT_CAP_HOSTS)

static const vrt_provider vtable = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_provider),
    .caps = PVE_CAPS,
    .flags = 0, /* thread-safe: one curl handle per request */
    .name = PVE_NAME,
    .version = PVE_VERSION,
    .open = pve_open,
    .close = pve_close,
    .validate = pve_validate,
    .capabilities = pve_capabilities,
    .create = pve_create,
    .destroy = pve_destroy,
    .power = pve_power,
    .describe = pve_describe,
    .task_status = pve_task_status,
    .reconfigure = pve_reconfigure,
    .snapshot_create = pve_snapshot_create,
    .snapshot_delete = pve_snapshot_delete,
    .snapshot_revert = pve_snapshot_revert,
    .clone = pve_clone,
    .list_vms = pve_list_vms,
    .console = pve_console,
    .list_hosts = pve_list_hosts,
};

/* A secret value copied out of the host (caller wipes and frees), or
 * NULL when the key is absent. */
static char *secret(vrt_conn *conn, const char *key, vrt_error *err, int32_t *rc)
{
    size_t len = 0;
    char *buf = malloc(SECRET_MAX);

    *rc = VRT_OK;
    if (!buf)
        abort();
    *rc = pve_host->secret_get(&len, conn->ctx, key, buf, SECRET_MAX, err);
    if (*rc == VRT_E_NOTFOUND) {
        memset(err, 0, sizeof(*err));
        *rc = VRT_OK;
        free(buf);
        return NULL;
    }
    if (*rc != VRT_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void wipe_free(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
    free(s);
}

static int32_t read_credentials(vrt_conn *conn, vrt_error *err)
{
    int32_t rc = VRT_OK;
    char *id = secret(conn, "tokenId", err, &rc);
    char *sec = rc == VRT_OK ? secret(conn, "tokenSecret", err, &rc) : NULL;

    if (rc == VRT_OK && id && sec) {
        size_t n = strlen(id) + strlen(sec) + 40;
        conn->token_header = malloc(n);
        if (!conn->token_header)
            abort();
        snprintf(conn->token_header, n, "Authorization: PVEAPIToken=%s=%s", id, sec);
    } else if (rc == VRT_OK) {
        conn->username = secret(conn, "username", err, &rc);
        if (rc == VRT_OK)
            conn->password = secret(conn, "password", err, &rc);
        if (rc == VRT_OK && (!conn->username || !conn->password))
            rc = pve_err(err, VRT_E_UNAUTHORIZED,
                         "The Proxmox VE credentials need tokenId and "
                         "tokenSecret, or username and password.");
    }
    if (rc == VRT_OK)
        conn->ca_pem = secret(conn, "ca.crt", err, &rc);
    wipe_free(id);
    wipe_free(sec);
    return rc;
}

static int32_t pve_open(vrt_conn **out, const vrt_conn_params *params,
                        uint32_t flags, vrt_error *err)
{
    vrt_conn *conn = NULL;
    cJSON *cfg = NULL;
    const cJSON *v;
    size_t n;
    int32_t rc;

    if (!out || !params)
        return pve_err(err, VRT_E_INVALID, "open: out and params are required.");
    *out = NULL;
    if (!VRT_HAS_MEMBER(params, vrt_conn_params, ctx))
        return pve_err(err, VRT_E_INVALID, "open: params->struct_size is too small.");
    if (flags || params->flags)
        return pve_err(err, VRT_E_INVALID, "open: flags and params->flags must be 0.");
    if (!params->endpoint || (strncmp(params->endpoint, "https://", 8) &&
                              strncmp(params->endpoint, "http://", 7)))
        return pve_err(err, VRT_E_INVALID,
                       "open: the endpoint must be the PVE API URL, e.g. "
                       "\"https://pve.example:8006\".");
    {
        /* userinfo in the URL would end up in log lines and messages */
        const char *host = strstr(params->endpoint, "://") + 3;
        const char *at = strchr(host, '@');
        if (at && at < host + strcspn(host, "/?#"))
            return pve_err(err, VRT_E_INVALID,
                           "open: the endpoint must not carry credentials "
                           "(user@host); put them in the Secret.");
    }
    cfg = cJSON_Parse(params->config_json ? params->config_json : "{}");
    if (!cJSON_IsObject(cfg)) {
        cJSON_Delete(cfg);
        return pve_err(err, VRT_E_INVALID, "open: config_json must be a JSON object.");
    }
    conn = calloc(1, sizeof(*conn));
    if (!conn)
        abort();
    conn->ctx = params->ctx;
    pthread_mutex_init(&conn->lock, NULL);
    pthread_cond_init(&conn->clone_cv, NULL);
    snprintf(conn->base, sizeof(conn->base), "%s", params->endpoint);
    n = strlen(conn->base);
    if (n > 10 && !strcmp(conn->base + n - 10, "/api2/json"))
        conn->base[n -= 10] = 0;
    while (n && conn->base[n - 1] == '/')
        conn->base[--n] = 0;
    conn->insecure = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "insecureSkipVerify"));
    conn->max_clones = pve_spec_int(cfg, "maxParallelClones", 2);
    /* Provider.spec.proxmox is where the CRD keeps it. */
    v = cJSON_GetObjectItemCaseSensitive(cfg, "proxmox");
    if (cJSON_IsObject(v))
        conn->max_clones = pve_spec_int(v, "maxParallelClones", conn->max_clones);
    if (conn->max_clones < 1)
        conn->max_clones = 1;
    v = cJSON_GetObjectItemCaseSensitive(cfg, "defaults");
    if (cJSON_IsObject(v))
        conn->defaults = cJSON_Duplicate(v, 1);
    cJSON_Delete(cfg);
    if ((rc = read_credentials(conn, err)) != VRT_OK) {
        pve_close(conn);
        return rc;
    }
    if (conn->insecure)
        pve_log(conn, VRT_LOG_WARN,
                "TLS verification of \"%s\" is off (insecureSkipVerify); "
                "use it for tests only.", conn->base);
    *out = conn;
    return VRT_OK;
}

static void pve_close(vrt_conn *conn)
{
    if (!conn)
        return;
    wipe_free(conn->token_header);
    wipe_free(conn->username);
    wipe_free(conn->password);
    wipe_free(conn->ca_pem);
    wipe_free(conn->ticket);
    wipe_free(conn->csrf);
    cJSON_Delete(conn->defaults);
    pthread_cond_destroy(&conn->clone_cv);
    pthread_mutex_destroy(&conn->lock);
    free(conn);
}

static int32_t pve_validate(vrt_conn *conn, const vrt_call *call,
                            uint32_t flags, vrt_error *err)
{
    cJSON *root = NULL, *data = NULL;
    int32_t rc = pve_check_call(call, flags, "validate", err);

    if (rc != VRT_OK)
        return rc;
    /* /version answers anyone; /nodes proves the credentials work */
    if ((rc = pve_request(&root, &data, conn, call, "GET", "/nodes", NULL, err)) != VRT_OK)
        return rc;
    cJSON_Delete(root);
    if ((rc = pve_request(&root, &data, conn, call, "GET", "/version", NULL, err)) != VRT_OK)
        return rc;
    if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(data, "version")))
        pve_log(conn, VRT_LOG_INFO, "Connected to Proxmox VE %s at \"%s\".",
                cJSON_GetObjectItemCaseSensitive(data, "version")->valuestring, conn->base);
    cJSON_Delete(root);
    return VRT_OK;
}

static int32_t pve_capabilities(vrt_caps *out, vrt_conn *conn,
                                const vrt_call *call, uint32_t flags,
                                vrt_error *err)
{
    int32_t rc = pve_check_call(call, flags, "capabilities", err);

    (void)conn;
    if (rc != VRT_OK)
        return rc;
    if (!out || out->struct_size < offsetof(vrt_caps, disk_formats) + sizeof(uint32_t))
        return pve_err(err, VRT_E_INVALID, "capabilities: out is too small.");
    out->disk_formats = 0;
    if (VRT_HAS_MEMBER(out, vrt_caps, caps))
        out->caps = PVE_CAPS;
    return VRT_OK;
}

VRT_PROVIDER_EXPORT int32_t vrt_provider_entry(const vrt_host_api *host,
                                               uint32_t host_abi,
                                               const vrt_provider **out,
                                               vrt_error *err)
{
    if (VRT_ABI_MAJOR_OF(host_abi) != VRT_ABI_MAJOR)
        return pve_err(err, VRT_E_NOTSUPP,
                       "The proxmox plugin is built for ABI major %u.",
                       (unsigned)VRT_ABI_MAJOR);
    if (!host || host->struct_size < VRT_HOST_API_SIZE_1_0)
        return pve_err(err, VRT_E_NOTSUPP, "The host services table is too small.");
    if (VRT_ABI_MINOR_OF(host_abi) < 1)
        return pve_err(err, VRT_E_NOTSUPP, "The proxmox plugin needs a host of ABI 1.1 or newer.");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pve_host = host;
    *out = &vtable;
    return VRT_OK;
}
