/*
 * lv_domain.h - finding our domains and reading their state: lookup by
 * id (the domain UUID), our marker, and the rule that nothing without
 * our marker is ever changed.
 */
#ifndef LV_DOMAIN_H
#define LV_DOMAIN_H

#include <libvirt/libvirt.h>

#include "lv_conn.h"
#include "lv_domain_xml.h"

#define LV_VM_NAME_MAX 128

/* The domain whose UUID is `id`; VRT_E_NOTFOUND when `id` is not a UUID
 * or names nothing.  Free *out with virDomainFree. */
LV_WUR int lv_domain_lookup(virDomainPtr *out, virConnectPtr virt,
                            const char *id, vrt_error *err);

/* Our marker on d, or *out = NULL (and VRT_OK) when d carries none. */
LV_WUR int lv_domain_marker(lv_marker **out, virDomainPtr d, vrt_error *err);

/* Like lv_domain_marker, but a domain without our marker is
 * VRT_E_CONFLICT: we never change what we did not create or adopt.
 * `what` names the refused operation in the message. */
LV_WUR int lv_domain_owned(lv_marker **out, virDomainPtr d, const char *what,
                           vrt_error *err);

/* Writes m as d's marker, in the persistent config and, when running, the
 * live definition. */
LV_WUR int lv_domain_set_marker(virDomainPtr d, const lv_marker *m,
                                vrt_error *err);

/* virDomainGetState's state, or a VRT_E_* code. */
LV_WUR int lv_domain_state(int *state, virDomainPtr d, vrt_error *err);
int32_t lv_power_of(int virt_state); /* VRT_POWER_* */
const char *lv_state_name(int virt_state);

/* The domain's XML parsed into facts (flags: VIR_DOMAIN_XML_*). */
LV_WUR int lv_domain_read_facts(lv_domain_facts **out, virDomainPtr d,
                           unsigned int xml_flags, vrt_error *err);

/* The domain's UUID string into id. */
void lv_domain_id(char id[VRT_ID_MAX], virDomainPtr d);

/*
 * Fills info (a full-size record; info->struct_size is left alone) about
 * d: power state, CPUs and memory, console URL and, when with_ips is set
 * and the domain runs, its IP addresses.  *raw receives the provider
 * details as malloc'ed JSON text (free).  Used by describe and list.
 */
LV_WUR int lv_vm_info_fill(vrt_vm_info *info, char **raw, vrt_conn *c,
                           virConnectPtr virt, virDomainPtr d, int with_ips,
                           vrt_error *err);

/* Copies a full-size info into the caller's record, writing only what its
 * struct_size covers (raw_json included, as the caller set it in full). */
void lv_vm_info_put(vrt_vm_info *out, const vrt_vm_info *full);

#endif /* LV_DOMAIN_H */
