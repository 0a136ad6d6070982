/*
 * host.h - the host side of the opaque handles plugins receive.  Internal
 * to core/plugin.
 */
#ifndef VRT_CORE_PLUGIN_HOST_H
#define VRT_CORE_PLUGIN_HOST_H

#include <vrt/plugin.h>

/* One per connection: what host->log and host->secret_get need. */
struct vrt_host_ctx {
    char log_source[48]; /* "provider.<type>" */
    char label[160];     /* the Provider's "namespace/name", for logs */
    vrt_secret_fn secret;
    void *secret_opaque;
};

#endif
