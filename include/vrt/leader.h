/*
 * vrt/leader.h - leader election on a coordination.k8s.io/v1 Lease, with
 * client-go's rules: the holder renews every retry period; a candidate
 * takes the Lease once its record has not changed for a whole lease
 * duration (judged by the candidate's own clock, so clock skew between
 * hosts does not matter); a holder that cannot renew for the renew
 * deadline stops leading.  Writes carry resourceVersion, so two
 * candidates cannot both win: the loser gets 409 and re-reads.
 */
#ifndef VRT_LEADER_H
#define VRT_LEADER_H

#include <stdint.h>
#include <vrt/kube.h>

typedef struct vrt_leader vrt_leader;

typedef struct vrt_leader_opts {
    uint32_t struct_size;
    const char *ns;          /* default "virtrigaud-system" */
    const char *name;        /* default "virtrigaud-manager" */
    uint32_t lease_ms;       /* default 15000 */
    uint32_t renew_ms;       /* renew deadline; default lease * 2/3 */
    uint32_t retry_ms;       /* default lease * 2/15 (2 s of 15 s) */
} vrt_leader_opts;

/* Starts the election thread.  `kube` must outlive it.  The identity is
 * "hostname_pid-random". */
int vrt_leader_start(vrt_leader **out, vrt_kube *kube,
                     const vrt_leader_opts *opts, vrt_error *err);
/* 1 while this process holds the Lease and renewed it in time. */
int vrt_leader_is_leader(vrt_leader *l);
const char *vrt_leader_identity(const vrt_leader *l);
/* Stops the thread and, if leading, releases the Lease (clears
 * holderIdentity) so a successor need not wait for it to expire.
 * NULL-safe. */
void vrt_leader_stop(vrt_leader *l);

#endif
