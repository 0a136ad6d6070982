/*
 * controller_internal.h - shared state of the reconcilers.
 */
#ifndef VRT_CORE_CONTROLLER_INTERNAL_H
#define VRT_CORE_CONTROLLER_INTERNAL_H

#include "informer.h"
#include "queue.h"

#include <vrt/controller.h>
#include <vrt/hmap.h>

#include <pthread.h>

#define GROUP_PATH "/apis/infra.virtrigaud.io/v1beta1"
#define VM_FINALIZER "virtualmachine.infra.virtrigaud.io/finalizer"
#define FORCE_DELETE_ANNOTATION "virtrigaud.io/force-delete"

typedef struct vrt_pool vrt_pool;
typedef struct vrt_recorder vrt_recorder;

/* The informers, by resource. */
enum {
    INF_VM,
    INF_PROVIDER,
    INF_CLASS,
    INF_IMAGE,
    INF_NETWORK,
    INF_VMSET,
    INF_SNAPSHOT,
    INF_POLICY,
    INF_CLONE,
    INF_MIGRATION,
    INF_COUNT
};

struct vrt_controller {
    vrt_kube *kube;
    vrt_registry *reg;
    vrt_controller_opts opts;
    vrt_queue *queue;
    vrt_informer *inf[INF_COUNT];
    vrt_pool *pool;
    vrt_recorder *events;
    pthread_mutex_t own_lock;
    vrt_hmap *own_writes;   /* object path -> own_write (own_writes.c) */
    pthread_mutex_t place_lock;
    vrt_hmap *placed;       /* VM uid -> host chosen (placement.c) */
    pthread_t *workers;
    uint32_t n_workers;
    volatile int stopping;  /* long copies stop early */
};

/* pool.c: one provider connection per Provider object, reference-counted,
 * reopened when the Provider's spec or its Secret changes. */
typedef struct vrt_lease vrt_lease; /* a borrowed connection */
vrt_pool *vrt_pool_new(uint32_t workers);
void vrt_pool_free(vrt_pool *p);
/* Opens or reuses the connection for `provider` (the object).  On failure
 * err says why (unknown type, missing secret, plugin refused...); with
 * VRT_E_RATELIMIT the Provider has its limit of calls in flight, with
 * VRT_ERR_CIRCUIT_OPEN in err->flags its circuit breaker is open; both
 * set err->retry_after_ms. */
int vrt_pool_acquire(vrt_lease **out, vrt_pool *p, vrt_controller *c,
                     const cJSON *provider, vrt_error *err);
vrt_pconn *vrt_lease_conn(vrt_lease *l);
/* Feeds the circuit breaker of Provider `key` ("ns/name") with the result
 * of a call to it: NULL for success, else the error. */
void vrt_pool_report(vrt_pool *p, const char *key, const vrt_error *err);
/* "ns/name" of the Provider a lease is for. */
const char *vrt_lease_key(const vrt_lease *l);
/* err->flags bit: the call was refused by the circuit breaker. */
#define VRT_ERR_CIRCUIT_OPEN (1u << 30)
void vrt_pool_release(vrt_pool *p, vrt_lease *l);
/* Drops the connection of provider ns/name (it changed or was deleted). */
void vrt_pool_forget(vrt_pool *p, const char *ns, const char *name);

/* events.c: events.k8s.io/v1 Events, posted by a thread of their own. */
vrt_recorder *vrt_recorder_start(vrt_kube *kube);
/* Posts what is queued, then stops.  NULL-safe. */
void vrt_recorder_stop(vrt_recorder *r);
/* Queues an event about `obj` (of `kind`); `type` is "Normal" or
 * "Warning".  Never blocks on the network. */
void vrt_event(vrt_recorder *r, const cJSON *obj, const char *kind,
               const char *type, const char *reason, const char *action,
               const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* own_writes.c: telling the echoes of our status writes from changes. */
void vrt_own_init(vrt_controller *c);
void vrt_own_fini(vrt_controller *c);
/* Around a status write of object `path`: begin before sending it, end
 * with the server's answer (ok = accepted). */
void vrt_own_begin(vrt_controller *c, const char *path, const cJSON *status);
void vrt_own_end(vrt_controller *c, const char *path, const cJSON *resp,
                 int ok);
/* Whether a status-only event about `obj` is an echo of our writes. */
int vrt_own_is_echo(vrt_controller *c, const char *path, const cJSON *obj);
void vrt_own_forget(vrt_controller *c, const char *path);
/* Whether the cached `obj` is older than our last write to it (act on it
 * later, when the cache has caught up). */
int vrt_own_is_stale(vrt_controller *c, const char *path, const cJSON *obj);

/* secret.c: Secrets as NULL-ended lists of key, value pairs (decoded). */
/* Reads the Secret `ref` ({name, namespace}; namespace defaults to `ns`);
 * a ref without a name gives an empty list.  *rv gets its version. */
int vrt_secret_load(char ***out, char rv[32], vrt_controller *c,
                    const char *ns, const cJSON *ref, vrt_error *err);
/* The value of `key`, or NULL. */
const char *vrt_secret_value(char *const *pairs, const char *key);
/* Wipes and frees.  NULL-safe. */
void vrt_secrets_free(char **pairs);

/* cloudinit.c: the cloud-init documents of a VM. */
typedef struct vrt_cloudinit {
    char *user_data, *meta_data, *network_config; /* NULL when absent */
} vrt_cloudinit;
/* Gathers user-data and meta-data from spec.userData / spec.metaData
 * (inline and Secret, as the reference project merges them) and renders
 * network-config from static addresses.  On failure (a missing Secret or
 * key) `msg` says what is missing. */
int vrt_cloudinit_build(vrt_cloudinit *out, vrt_controller *c,
                        const cJSON *vm, const cJSON *atts, char *msg,
                        size_t size);
void vrt_cloudinit_clear(vrt_cloudinit *ci);

/* finalizer.c: adds or removes `finalizer` on the object at `path`
 * (obj: the cached copy), retrying with a fresh read on a conflict.
 * `status`, when given, is recorded as our own write.  0 or -1. */
int vrt_finalizer_set(vrt_controller *c, const char *path, const cJSON *obj,
                      const char *finalizer, int add, const cJSON *status);

/* status.c: conditions and status writes */
/* Sets condition `type` in status.conditions (creating the array),
 * keeping lastTransitionTime when the status does not change. */
void vrt_cond_set(cJSON *status, const char *type, const char *cstatus,
                  const char *reason, const char *message, double generation);
/* Makes .status of the object at `path` (an object URL) equal `status`,
 * by a merge patch against `old` (the status as last read; NULL if none)
 * that also removes the keys `status` dropped. */
int vrt_status_patch(vrt_controller *c, const char *path, const cJSON *old,
                     cJSON *status, vrt_error *err);
/* Object URL of a namespaced virtrigaud object. */
void vrt_object_path(char *buf, size_t size, const char *plural,
                     const char *ns, const char *name);
/* metadata helpers */
const char *vrt_meta_str(const cJSON *obj, const char *key);
double vrt_meta_num(const cJSON *obj, const char *key);

/* vm.c / provider_rec.c: return the delay before the next reconcile
 * (0 = none), or -1 to back off after an error. */
long vrt_reconcile_vm(vrt_controller *c, const char *ns, const char *name);
long vrt_reconcile_provider(vrt_controller *c, const char *ns,
                            const char *name);
/* deps_rec.c: VMClass, VMImage, VMNetworkAttachment. */
long vrt_reconcile_class(vrt_controller *c, const char *ns, const char *name);
long vrt_reconcile_image(vrt_controller *c, const char *ns, const char *name);
long vrt_reconcile_network(vrt_controller *c, const char *ns, const char *name);
/* placement.c: the host for a new VM under its VMPlacementPolicy, into
 * `host` ("" without a policy).  -1 with msg when no host qualifies or
 * the policy is missing. */
int vrt_place_vm(char *host, size_t hsize, vrt_controller *c, vrt_pconn *conn,
                 vrt_call_ctx *cc, const cJSON *vm, char *msg, size_t msize);
/* Drops the in-memory choice for a VM that is gone. */
void vrt_place_forget(vrt_controller *c, const cJSON *vm);
long vrt_reconcile_policy(vrt_controller *c, const char *ns, const char *name);

/* adopt.c: with the Provider's virtrigaud.io/adopt-vms annotation, makes
 * VirtualMachines for the unmanaged VMs on its hypervisor; records the
 * result in status.adoption. */
void vrt_adopt_vms(vrt_controller *c, const cJSON *prov, vrt_pconn *conn,
                   vrt_call_ctx *cc, cJSON *status);

/* vmmigration.c */
long vrt_reconcile_migration(vrt_controller *c, const char *ns, const char *name);

/* vmclone.c */
long vrt_reconcile_clone(vrt_controller *c, const char *ns, const char *name);

/* vmsnap.c */
long vrt_reconcile_snapshot(vrt_controller *c, const char *ns, const char *name);
/* vmset.c */
long vrt_reconcile_vmset(vrt_controller *c, const char *ns, const char *name);
/* Whether `vm` references object ns/name of informer `which`. */
int vrt_vm_uses(const cJSON *vm, int which, const char *ns, const char *name);
/* Number of live VMs referencing object ns/name of informer `which`. */
int vrt_count_users(vrt_controller *c, int which, const char *ns,
                    const char *name);

/* spec.c: the spec_json document for a provider, from the VM and what it
 * references. */
cJSON *vrt_vm_spec_json(const cJSON *vm, const cJSON *cls, const cJSON *image,
                        const cJSON *provider, char *errbuf, size_t errsize);
/* Fills spec_json.networks[i] from the VMNetworkAttachment atts[i] (an
 * array parallel to spec.networks; null where an entry has no
 * networkRef): network, bridge, model for providers of `type`, plus the
 * typed block as "attachment" and the attachment's ipAllocation. */
void vrt_spec_resolve_networks(cJSON *spec_json, const cJSON *atts,
                               const char *type);
/* "2Gi" / "2048Mi" / "512M" / 2147483648 -> MiB; -1 if invalid. */
long long vrt_quantity_mib(const cJSON *q);
/* "60s", "5m", "1h30m" -> seconds; -1 if invalid. */
long vrt_duration_s(const char *s);

#endif
