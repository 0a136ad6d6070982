/*
 * call_internal.h - what the call wrappers share: the connection record and
 * the helpers that settle a plugin's answer.  Internal to core/plugin.
 */
#ifndef VRT_CORE_PLUGIN_CALL_INTERNAL_H
#define VRT_CORE_PLUGIN_CALL_INTERNAL_H

#include "host.h"
#include "loader_internal.h"

#include <pthread.h>

struct vrt_pconn {
    const vrt_plugin *plugin;
    vrt_conn *conn;
    vrt_host_ctx hctx;
    int serialize; /* the plugin asked for one call at a time */
    pthread_mutex_t lock;
};

/* The method `m` of the plugin, or NULL when absent or beyond its
 * struct_size. */
#define METHOD(p, m)                                                           \
    (VRT_HAS_MEMBER((p)->vt, vrt_provider, m) ? (p)->vt->m : NULL)

/* Fetches method `m` into `fn`, or returns VRT_E_NOTSUPP naming it. */
#define GET_METHOD(c, m)                                                       \
    __typeof__(((vrt_provider *)0)->m) fn = METHOD((c)->plugin, m);            \
    if (!fn)                                                                   \
        return vrt_call_notsupp((c), #m, err)

#define TERMINATE(arr) ((arr)[sizeof(arr) - 1] = '\0')

int vrt_call_notsupp(const vrt_pconn *c, const char *method, vrt_error *err);
void vrt_call_lock(vrt_pconn *c);
void vrt_call_unlock(vrt_pconn *c);
void vrt_call_make(vrt_call *call, const vrt_call_ctx *cc);
/* Normalises what a plugin returned: a known negative code, the same code
 * in the record, a valid class, a terminated, non-empty message. */
int vrt_call_settle(const vrt_pconn *c, const char *method, int rc,
                    vrt_error *err);
/* Reports a plugin that said OK but broke the contract. */
int vrt_call_lied(const vrt_pconn *c, const char *method, const char *what,
                  vrt_error *err);

#endif
