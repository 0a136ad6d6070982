/*
 * vrt/controller.h - the reconcilers: they watch virtrigaud resources
 * through the Kubernetes client and make hypervisors match them through
 * provider plugins.  The same code runs against a real cluster and against
 * standalone mode's own API server.
 */
#ifndef VRT_CONTROLLER_H
#define VRT_CONTROLLER_H

#include <stdint.h>
#include <vrt/kube.h>
#include <vrt/plugin.h>

typedef struct vrt_controller vrt_controller;

typedef struct vrt_controller_opts {
    uint32_t struct_size;
    uint32_t workers;      /* reconcile threads (default 4) */
    uint32_t resync_ms;    /* status refresh of settled VMs (default 30000) */
    uint32_t call_timeout_ms; /* deadline of provider calls (default 120000) */
    const char *staging_dir;  /* where VMMigrations stage disks (default
                                 /var/lib/virtrigaud/staging) */
    const char *storage_allowed_hosts; /* comma-separated hosts, addresses
                                 or CIDRs that S3/SFTP staging endpoints may
                                 use even when loopback, link-local...;
                                 NULL = none (vrt/staging.h) */
    int migration_tree_digest; /* VMMigration checksums as "sha256-tree:HEX"
                                 (vrt/pipeline.h VRT_PIPE_TREE_DIGEST)
                                 instead of the flat SHA-256 */
} vrt_controller_opts;

/* Starts informers and workers.  `kube` and `reg` must outlive it. */
int vrt_controller_start(vrt_controller **out, vrt_kube *kube,
                         vrt_registry *reg, const vrt_controller_opts *opts,
                         vrt_error *err);
/* Stops workers and informers, closes provider connections.  NULL-safe. */
void vrt_controller_stop(vrt_controller *c);

#endif
