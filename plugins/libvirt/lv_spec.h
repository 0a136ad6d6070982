/*
 * lv_spec.h - the VM spec_json the core sends, parsed and validated.
 * Schema: docs/providers/libvirt.md.  Parsing only; no libvirt here.
 */
#ifndef LV_SPEC_H
#define LV_SPEC_H

#include <stddef.h>
#include <stdint.h>
#include <virtrigaud/provider.h>

#define LV_SPEC_MAX_CPU 1024u
#define LV_SPEC_MIN_MEMORY_MIB 16u
#define LV_SPEC_MAX_MEMORY_MIB (4ull * 1024 * 1024)
#define LV_SPEC_MAX_DISK_GIB 65536u
#define LV_SPEC_MAX_DISKS 20
#define LV_SPEC_MAX_NICS 10
#define LV_SPEC_MAX_TAGS 50
#define LV_SPEC_NAME_MAX 63

/* How the boot disk is made from the image. */
#define LV_IMAGE_OVERLAY 0 /* qcow2 overlay backed by the image (default) */
#define LV_IMAGE_COPY 1    /* full copy of the image */
#define LV_IMAGE_ATTACH 2  /* use the volume itself; the VM then owns it */

typedef struct lv_disk_spec {
    char *name;
    uint64_t size_gib;
    char *type;      /* thin (default), thick, eagerzeroedthick, ssd, ... */
    int preallocate; /* thick kinds */
} lv_disk_spec;

typedef struct lv_nic_spec {
    char *name;
    char *network; /* libvirt network, or */
    char *bridge;  /* host bridge; neither = user-mode networking */
    char *mac;     /* lower case, or NULL for libvirt to choose */
    char *model;   /* virtio (default), e1000, ... */
} lv_nic_spec;

typedef struct lv_spec {
    int has_cpu, has_memory; /* set when the JSON named them */
    uint32_t cpu, max_cpu;
    uint64_t memory_mib, max_memory_mib;
    int uefi;
    char *image_path;   /* absolute path, or a volume name in image_pool */
    char *image_format; /* NULL = ask the storage driver, else qcow2 */
    char *image_pool;   /* NULL = the connection's default pool */
    char *image_url;    /* download into image_path first (lv_download.c) */
    char *image_sha256; /* expected SHA-256 of the download, or NULL */
    int image_mode;     /* LV_IMAGE_* */
    uint64_t image_size_gib; /* grow the boot disk to this, 0 = as image */
    lv_disk_spec *disks;
    size_t ndisks;
    lv_nic_spec *nics;
    size_t nnics;
    char **tags;
    size_t ntags;
    char *kernel, *initrd, *cmdline;
    char *domain_type; /* NULL = resolved per connection */
    char *arch;        /* default x86_64 */
    char *machine;     /* NULL = the hypervisor's default */
    char *serial_log;  /* absolute path for a serial console log, or NULL */
    int adopt;         /* "adopt": true - take over an unmarked domain */
} lv_spec;

/* Parses and validates spec_json.  On success *out is owned by the caller
 * (lv_spec_free).  On failure err names the field and the reason. */
__attribute__((warn_unused_result)) int lv_spec_parse(lv_spec **out, const char *json, vrt_error *err);
void lv_spec_free(lv_spec *s);

/* A canonical rendering of a JSON document (object keys sorted, no white
 * space), so that the spec fingerprint does not depend on key order.
 * *out is malloc'ed, owned by the caller (free). */
__attribute__((warn_unused_result)) int lv_json_canonical(char **out, const char *json,
                                  vrt_error *err);

#endif /* LV_SPEC_H */
