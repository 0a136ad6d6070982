/* lv_hash.h - the fingerprint of a VM spec, stored in our marker so that
 * create can tell "the same VM again" from "a different VM, same name". */
#ifndef LV_HASH_H
#define LV_HASH_H

#include <virtrigaud/provider.h>

#define LV_HASH_MAX 80 /* "sha256:" + 64 hex digits + NUL */

/* "sha256:<hex>" over the name, the canonical spec_json and the cloud-init
 * documents. */
__attribute__((warn_unused_result)) int
lv_spec_fingerprint(char out[LV_HASH_MAX], const vrt_vm_spec *spec,
                    vrt_error *err);
/* The same for a clone request (source, snapshot, linked, spec_json). */
__attribute__((warn_unused_result)) int
lv_clone_fingerprint(char out[LV_HASH_MAX], const vrt_clone_spec *spec,
                     vrt_error *err);

#endif /* LV_HASH_H */
