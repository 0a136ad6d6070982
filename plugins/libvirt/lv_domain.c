/* lv_domain.c - see lv_domain.h. */
#include "lv_domain.h"

#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

int lv_domain_lookup(virDomainPtr *out, virConnectPtr virt, const char *id,
                     vrt_error *err)
{
    *out = NULL;
    if (!lv_is_uuid(id))
        return lv_err(err, VRT_E_NOTFOUND,
                      "No VM has the id \"%.64s\": libvirt VM ids are domain "
                      "UUIDs.",
                      id ? id : "");
    *out = virDomainLookupByUUIDString(virt, id);
    if (!*out)
        return lv_virt_err(err, "No VM has the id \"%s\"", id);
    return VRT_OK;
}

int lv_domain_marker(lv_marker **out, virDomainPtr d, vrt_error *err)
{
    char *xml;
    int rc;

    *out = NULL;
    xml = virDomainGetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, LV_XMLNS,
                               VIR_DOMAIN_AFFECT_CURRENT);
    if (!xml) {
        if (lv_virt_last() == VIR_ERR_NO_DOMAIN_METADATA) {
            virResetLastError();
            return VRT_OK;
        }
        return lv_virt_err(err, "Could not read the metadata of domain \"%s\"",
                           virDomainGetName(d));
    }
    rc = lv_marker_parse(out, xml, err);
    free(xml);
    return rc;
}

int lv_domain_owned(lv_marker **out, virDomainPtr d, const char *what,
                    vrt_error *err)
{
    int rc = lv_domain_marker(out, d, err);

    if (rc == VRT_OK && !*out)
        rc = lv_err(err, VRT_E_CONFLICT,
                    "Refusing to %s domain \"%s\": virtrigaud did not create "
                    "it (no virtrigaud metadata); adopt it first.",
                    what, virDomainGetName(d));
    return rc;
}

int lv_domain_set_marker(virDomainPtr d, const lv_marker *m, vrt_error *err)
{
    unsigned int flags = VIR_DOMAIN_AFFECT_CONFIG;
    char *xml = NULL;
    int rc;

    if (virDomainIsActive(d) == 1)
        flags |= VIR_DOMAIN_AFFECT_LIVE;
    if (virDomainIsPersistent(d) != 1)
        flags &= ~(unsigned int)VIR_DOMAIN_AFFECT_CONFIG;
    if ((rc = lv_marker_xml(&xml, m, err)) < 0)
        return rc;
    if (virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, xml,
                             LV_XMLNS_PREFIX, LV_XMLNS, flags) < 0)
        rc = lv_virt_err(err, "Could not write the metadata of domain \"%s\"",
                         virDomainGetName(d));
    free(xml);
    return rc;
}

int lv_domain_state(int *state, virDomainPtr d, vrt_error *err)
{
    int reason = 0;

    if (virDomainGetState(d, state, &reason, 0) < 0)
        return lv_virt_err(err, "Could not read the state of domain \"%s\"",
                           virDomainGetName(d));
    return VRT_OK;
}

int32_t lv_power_of(int s)
{
    switch (s) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
    case VIR_DOMAIN_SHUTDOWN: /* shutting down, still on */
        return VRT_POWER_ON;
    case VIR_DOMAIN_PAUSED:
    case VIR_DOMAIN_PMSUSPENDED:
        return VRT_POWER_SUSPENDED;
    case VIR_DOMAIN_SHUTOFF:
    case VIR_DOMAIN_CRASHED:
        return VRT_POWER_OFF;
    default:
        return VRT_POWER_UNKNOWN;
    }
}

const char *lv_state_name(int s)
{
    static const char *const names[] = {
        "nostate", "running", "blocked",  "paused",
        "shutdown", "shutoff", "crashed", "pmsuspended"};

    return s >= 0 && (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s]
                                                                   : "unknown";
}

int lv_domain_read_facts(lv_domain_facts **out, virDomainPtr d,
                    unsigned int xml_flags, vrt_error *err)
{
    char *xml = virDomainGetXMLDesc(d, xml_flags);
    int rc;

    *out = NULL;
    if (!xml)
        return lv_virt_err(err, "Could not read the XML of domain \"%s\"",
                           virDomainGetName(d));
    rc = lv_domain_facts_parse(out, xml, err);
    free(xml);
    return rc;
}

void lv_domain_id(char id[VRT_ID_MAX], virDomainPtr d)
{
    char uuid[VIR_UUID_STRING_BUFLEN] = "";

    virDomainGetUUIDString(d, uuid);
    lv_strlcpy(id, uuid, VRT_ID_MAX);
}
