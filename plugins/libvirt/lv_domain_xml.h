/*
 * lv_domain_xml.h - libvirt XML documents built with libxml2's tree API
 * (user input is never spliced into a string) and parsed back.
 *
 *   - the domain XML of a new VM, with our marker in <metadata>;
 *   - the marker alone, as virDomainSetMetadata wants it;
 *   - the clone of an existing domain's XML;
 *   - "facts" read back from a live or inactive domain XML (lv_facts.c);
 *   - storage volume and snapshot XML (lv_res_xml.c);
 *   - the plan of the volumes a new VM owns (lv_plan.c).
 *
 * Only libxml2 and cJSON here, no libvirt, so unit tests can include the
 * .c files and compare against golden files.
 */
#ifndef LV_DOMAIN_XML_H
#define LV_DOMAIN_XML_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include <virtrigaud/provider.h>

#include "lv_spec.h"

#define LV_XMLNS "https://virtrigaud.io/xmlns/domain/1"
#define LV_XMLNS_PREFIX "vrt"

/* Roles of the volumes a VM owns. */
#define LV_ROLE_BOOT "boot"
#define LV_ROLE_DATA "data"
#define LV_ROLE_SEED "seed"

/* A storage volume a VM owns, recorded in its marker so that destroy
 * removes exactly these and nothing else. */
typedef struct lv_vol {
    char *pool, *name;
    char *role;   /* LV_ROLE_* */
    char *disk;   /* the spec's disk name for data disks, else NULL */
    char *target; /* guest device name: vda, vdb... */
    char *format; /* qcow2, raw, ... */
    /* Creation inputs, not stored in the marker: */
    uint64_t capacity;  /* bytes */
    int preallocate;    /* allocation = capacity */
    char *backing;      /* overlay: the backing file's path */
    char *backing_format;
    char *copy_from;    /* full copy: the source volume's path */
    int create;         /* 1 = we create it, 0 = it exists (attach) */
} lv_vol;

/* Our mark on a domain: who we think it is and what spec made it. */
typedef struct lv_marker {
    char *name;      /* the virtrigaud VM name */
    char *spec_hash; /* "sha256:<hex>" of the spec that made it */
    char **tags;
    size_t ntags;
    lv_vol *vols;
    size_t nvols;
} lv_marker;

void lv_vol_clear(lv_vol *v);
void lv_marker_free(lv_marker *m); /* NULL-safe */
/* Appends a zeroed volume to m and returns it. */
lv_vol *lv_marker_add_vol(lv_marker *m);
/* The owned volume attached as `target`, or NULL. */
const lv_vol *lv_marker_vol_by_target(const lv_marker *m, const char *target);

/* Options of a new domain that come from the connection, not the spec. */
typedef struct lv_xml_opts {
    const char *domain_type; /* resolved: kvm, qemu, test... */
    const char *vnc_listen;  /* address for a VNC display; NULL = none */
} lv_xml_opts;

/* All builders and parsers below return VRT_OK or a VRT_E_* code with err
 * filled; every char ** output is malloc'ed and owned by the caller
 * (free), every struct output has its own _free. */

/* The domain XML of a new VM named `name`. */
__attribute__((warn_unused_result)) int
lv_domain_xml_build(char **out, const char *name, const lv_spec *s,
                    const lv_marker *m, const lv_xml_opts *o, vrt_error *err);

/* The marker element without a namespace, for virDomainSetMetadata. */
__attribute__((warn_unused_result)) int
lv_marker_xml(char **out, const lv_marker *m, vrt_error *err);

/* The marker in an <instance> element (any namespace), or NULL when it
 * has no name.  (struct _xmlNode is libxml2's xmlNode.) */
struct _xmlNode;
lv_marker *lv_marker_from_node(struct _xmlNode *inst);

/* Parses what virDomainGetMetadata returns for LV_XMLNS. */
__attribute__((warn_unused_result)) int
lv_marker_parse(lv_marker **out, const char *xml, vrt_error *err);

/*
 * Derives a clone's domain XML from the source's inactive XML: new name,
 * no UUID (libvirt picks one), no MAC addresses (likewise), no NVRAM path,
 * our marker `m` instead of the source's, each disk whose target appears
 * in m->vols pointed at that volume, disks listed in `drop` removed (the
 * source's cloud-init seed), and CPU / memory replaced when non-zero.
 */
__attribute__((warn_unused_result)) int
lv_domain_xml_clone(char **out, const char *src_xml, const char *new_name,
                    const lv_marker *m, const char *const *drop,
                    size_t ndrop, uint32_t cpu, uint64_t memory_mib,
                    vrt_error *err);

/* ---- facts read back from a domain XML (lv_facts.c) --------------------- */

typedef struct lv_disk_fact {
    char *device;  /* disk, cdrom, ... */
    char *type;    /* file, volume, block, network */
    char *target;  /* vda */
    char *bus;
    char *file;    /* source file or block device */
    char *pool, *volume;
    char *format;  /* driver type */
    int readonly;
} lv_disk_fact;

typedef struct lv_nic_fact {
    char *type; /* network, bridge, user, ... */
    char *mac;
    char *source; /* network or bridge name */
    char *model;
} lv_nic_fact;

typedef struct lv_gfx_fact {
    char *type; /* vnc, spice */
    int port;   /* -1 until the hypervisor assigns one */
    char *listen;
} lv_gfx_fact;

typedef struct lv_domain_facts {
    char *type, *name, *uuid;
    uint32_t vcpus, max_vcpus;
    uint64_t memory_kib, max_memory_kib;
    char *firmware, *arch, *machine, *kernel;
    lv_disk_fact *disks;
    size_t ndisks;
    lv_nic_fact *nics;
    size_t nnics;
    lv_gfx_fact *gfx;
    size_t ngfx;
    int agent;           /* has a guest agent channel */
    int agent_connected; /* ... and the agent is connected now */
    lv_marker *marker;   /* NULL: not ours */
} lv_domain_facts;

__attribute__((warn_unused_result)) int
lv_domain_facts_parse(lv_domain_facts **out, const char *xml, vrt_error *err);
void lv_domain_facts_free(lv_domain_facts *f); /* NULL-safe */
/* The boot disk: the first device="disk" in document order, or NULL. */
const lv_disk_fact *lv_domain_facts_boot_disk(const lv_domain_facts *f);
const lv_disk_fact *lv_domain_facts_disk(const lv_domain_facts *f,
                                         const char *target);
/* The facts as a JSON object for vrt_vm_info.raw_json; owned by the
 * caller (cJSON_Delete). */
cJSON *lv_domain_facts_json(const lv_domain_facts *f);

/* ---- lv_res_xml.c ------------------------------------------------------- */

/* <volume> XML to create v (capacity, format, backing store). */
__attribute__((warn_unused_result)) int
lv_volume_xml(char **out, const lv_vol *v, vrt_error *err);
/* <domainsnapshot> XML with a name and an optional description. */
__attribute__((warn_unused_result)) int
lv_snapshot_xml(char **out, const char *name, const char *description,
                vrt_error *err);
/* Reads a volume's XML: its format and the path of its backing store
 * (each NULL when absent; either output may be NULL if not wanted). */
__attribute__((warn_unused_result)) int
lv_volume_read(char **format, char **backing, const char *vol_xml,
               vrt_error *err);

/* ---- lv_plan.c ---------------------------------------------------------- */

/* What the storage driver told us about the spec's image. */
typedef struct lv_image_info {
    const char *path;   /* absolute path */
    const char *pool;   /* pool holding it; NULL if not a pool volume */
    const char *volume; /* its name in that pool */
    const char *format; /* qcow2, raw, ... */
    uint64_t capacity;  /* bytes */
} lv_image_info;

/* Fills m (name, hash, tags, volumes) for a new VM.  `img` is NULL when
 * the spec has no image; `seed` says whether a cloud-init seed volume is
 * needed (its capacity is set once the ISO is built). */
void lv_plan_volumes(lv_marker *m, const char *vm, const char *spec_hash,
                     const lv_spec *s, const char *pool,
                     const lv_image_info *img, int seed);

#endif /* LV_DOMAIN_XML_H */
