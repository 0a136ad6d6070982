/*
 * The plugin's own connection handle, for the few checks that must call a
 * vtable method directly because the safe wrappers would hide the answer
 * (unknown flag bits, a short struct_size).
 */
#include "vcts.h"

#include <string.h>

vrt_conn *vcts_raw_conn(vrt_pconn *c)
{
    return vrt_pconn_conn(c);
}

vrt_host_ctx *vcts_raw_host_ctx(vrt_pconn *c)
{
    return vrt_pconn_host_ctx(c);
}

void vcts_raw_call(vrt_call *call, const vrt_call_ctx *cc)
{
    memset(call, 0, sizeof(*call));
    call->struct_size = sizeof(*call);
    call->deadline_ms = cc->deadline_ms;
    call->ctx = cc;
}
