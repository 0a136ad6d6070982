/*
 * The Provider reconciler: connects through the plugin, checks health with
 * validate, and reports what the connection can do.
 */
#include "controller_internal.h"

#include <vrt/log.h>

#include <stdio.h>
#include <string.h>

VRT_LOG_SOURCE("controller.provider");

#define HEALTH_EVERY_MS 60000

static const struct {
    uint64_t bit;
    const char *field;
} cap_fields[] = {
    {VRT_CAP_RECONFIGURE_ONLINE, "supportsReconfigureOnline"},
    {VRT_CAP_DISK_EXPAND_ONLINE, "supportsDiskExpansionOnline"},
    {VRT_CAP_SNAPSHOTS, "supportsSnapshots"},
    {VRT_CAP_MEMORY_SNAPSHOTS, "supportsMemorySnapshots"},
    {VRT_CAP_LINKED_CLONES, "supportsLinkedClones"},
    {VRT_CAP_IMAGE_IMPORT, "supportsImageImport"},
    {VRT_CAP_DISK_EXPORT, "supportsDiskExport"},
    {VRT_CAP_DISK_IMPORT, "supportsDiskImport"},
    {VRT_CAP_EXPORT_COMPRESSION, "supportsExportCompression"},
};

static cJSON *reported_caps(const vrt_caps *caps)
{
    cJSON *rc = cJSON_CreateObject();
    for (size_t i = 0; i < sizeof(cap_fields) / sizeof(cap_fields[0]); i++)
        cJSON_AddBoolToObject(rc, cap_fields[i].field,
                              (caps->caps & cap_fields[i].bit) != 0);
    cJSON *fmts = cJSON_CreateArray();
    const char *names[] = {"raw", "qcow2", "vmdk"};
    for (int i = 0; i < 3; i++)
        if (caps->disk_formats & (1u << i))
            cJSON_AddItemToArray(fmts, cJSON_CreateString(names[i]));
    cJSON_AddItemToObject(rc, "supportedExportFormats", fmts);
    cJSON_AddItemToObject(rc, "supportedImportFormats", cJSON_Duplicate(fmts, 1));
    return rc;
}

long vrt_reconcile_provider(vrt_controller *c, const char *ns,
                            const char *name)
{
    cJSON *prov = vrt_informer_get(c->inf[INF_PROVIDER], ns, name);
    if (!prov) {
        vrt_pool_forget(c->pool, ns, name);
        return 0;
    }
    double gen = vrt_meta_num(prov, "generation");
    const cJSON *old = cJSON_GetObjectItem(prov, "status");
    cJSON *status = old ? cJSON_Duplicate(old, 1) : cJSON_CreateObject();
    vrt_lease *lease = NULL;
    vrt_error err = VRT_ERROR_INIT;
    vrt_call_ctx cc;
    vrt_callctx_init(&cc, c->opts.call_timeout_ms);
    int healthy = 0;
    char now[32];
    vrt_rfc3339_now(now);

    int rc0 = vrt_pool_acquire(&lease, c->pool, c, prov, &err);
    if (rc0 == VRT_E_RATELIMIT) { /* busy with VMs: check later */
        cJSON_Delete(status);
        cJSON_Delete(prov);
        return err.retry_after_ms;
    }
    if (rc0 == VRT_OK) {
        rc0 = vrt_p_validate(vrt_lease_conn(lease), &cc, &err);
        vrt_pool_report(c->pool, vrt_lease_key(lease), rc0 == VRT_OK ? NULL : &err);
    }
    if (rc0 == VRT_OK) {
        healthy = 1;
        vrt_caps caps;
        if (vrt_p_capabilities(&caps, vrt_lease_conn(lease), &cc, &err) == VRT_OK) {
            cJSON_DeleteItemFromObjectCaseSensitive(status, "reportedCapabilities");
            cJSON_AddItemToObject(status, "reportedCapabilities", reported_caps(&caps));
            vrt_cond_set(status, "CapabilitiesReported", "True", "CapabilitiesFetched",
                         "The provider reported its capabilities.", gen);
        } else {
            vrt_cond_set(status, "CapabilitiesReported", "False",
                         "CapabilitiesUnavailable", err.message, gen);
        }
        vrt_adopt_vms(c, prov, vrt_lease_conn(lease), &cc, status);
        const vrt_plugin *p = vrt_pconn_plugin(vrt_lease_conn(lease));
        cJSON_DeleteItemFromObjectCaseSensitive(status, "version");
        cJSON_AddStringToObject(status, "version", vrt_plugin_version(p));
        vrt_cond_set(status, "ProviderAvailable", "True", "Connected",
                     "The provider endpoint answers and the credentials work.", gen);
    } else {
        vrt_log_warn("Provider unhealthy provider=\"%s/%s\": %s", ns, name,
                     err.message);
        vrt_cond_set(status, "ProviderAvailable", "False", "ConnectionFailed",
                     err.message, gen);
        /* A failed connection is not kept: the next try starts fresh. */
        vrt_pool_forget(c->pool, ns, name);
    }
    vrt_pool_release(c->pool, lease);
    vrt_cond_set(status, "Ready", healthy ? "True" : "False",
                 healthy ? "Healthy" : "Unhealthy",
                 healthy ? "The provider is ready." : err.message, gen);
    cJSON_DeleteItemFromObjectCaseSensitive(status, "healthy");
    cJSON_AddBoolToObject(status, "healthy", healthy);
    cJSON_DeleteItemFromObjectCaseSensitive(status, "observedGeneration");
    cJSON_AddNumberToObject(status, "observedGeneration", gen);
    /* lastHealthCheck changes every time, so it alone does not cause a
     * write: status is written when something else changed. */
    cJSON_DeleteItemFromObjectCaseSensitive(status, "lastHealthCheck");
    cJSON_AddStringToObject(status, "lastHealthCheck", now);

    char path[600];
    vrt_object_path(path, sizeof(path), "providers", ns, name);
    cJSON *cmp_old = old ? cJSON_Duplicate(old, 1) : NULL;
    cJSON *cmp_new = cJSON_Duplicate(status, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(cmp_old, "lastHealthCheck");
    cJSON_DeleteItemFromObjectCaseSensitive(cmp_new, "lastHealthCheck");
    cJSON_DeleteItemFromObjectCaseSensitive(
        cJSON_GetObjectItem(cmp_old, "adoption"), "lastDiscoveryTime");
    cJSON_DeleteItemFromObjectCaseSensitive(
        cJSON_GetObjectItem(cmp_new, "adoption"), "lastDiscoveryTime");
    int changed = !cmp_old || !cJSON_Compare(cmp_old, cmp_new, 1);
    cJSON_Delete(cmp_old);
    cJSON_Delete(cmp_new);
    long rc = HEALTH_EVERY_MS;
    if (changed && vrt_status_patch(c, path, old, status, &err) != VRT_OK)
        rc = -1;
    cJSON_Delete(status);
    cJSON_Delete(prov);
    return healthy ? rc : -1;
}
