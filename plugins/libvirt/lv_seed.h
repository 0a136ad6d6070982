/* lv_seed.h - the cloud-init NoCloud seed: an ISO 9660 image labelled
 * "cidata" holding user-data, meta-data and network-config, written with
 * libarchive. */
#ifndef LV_SEED_H
#define LV_SEED_H

#include <stddef.h>
#include <stdint.h>
#include <virtrigaud/provider.h>

/* Non-zero if the spec carries any cloud-init document. */
int lv_seed_wanted(const vrt_vm_spec *spec);

/* Builds the ISO in memory.  Without meta-data, one is written with
 * instance-id `instance_id` and local-hostname `hostname`.  *out is
 * malloc'ed, owned by the caller (free). */
__attribute__((warn_unused_result)) int
lv_seed_iso(uint8_t **out, size_t *len, const vrt_vm_spec *spec,
            const char *instance_id, const char *hostname, vrt_error *err);

#endif /* LV_SEED_H */
