/* lv_error.c - libvirt errors translated into VRT_E_* codes and
 * whole-sentence messages (see lv_conn.h). */
#include "lv_conn.h"

#include <libvirt/virterror.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int32_t lv_virt_code(int code)
{
    switch (code) {
    case VIR_ERR_NO_DOMAIN:
    case VIR_ERR_NO_DOMAIN_SNAPSHOT:
    case VIR_ERR_NO_STORAGE_POOL:
    case VIR_ERR_NO_STORAGE_VOL:
    case VIR_ERR_NO_NETWORK:
    case VIR_ERR_NO_DOMAIN_METADATA:
        return VRT_E_NOTFOUND;
    case VIR_ERR_NO_SUPPORT:
    case VIR_ERR_OPERATION_UNSUPPORTED:
    case VIR_ERR_ARGUMENT_UNSUPPORTED:
    case VIR_ERR_CONFIG_UNSUPPORTED:
        return VRT_E_NOTSUPP;
    case VIR_ERR_AUTH_FAILED:
    case VIR_ERR_AUTH_CANCELLED:
    case VIR_ERR_AUTH_UNAVAILABLE:
    case VIR_ERR_ACCESS_DENIED:
    case VIR_ERR_OPERATION_DENIED:
        return VRT_E_UNAUTHORIZED;
    case VIR_ERR_OPERATION_INVALID:
    case VIR_ERR_RESOURCE_BUSY:
        return VRT_E_CONFLICT;
    case VIR_ERR_DOM_EXIST:
    case VIR_ERR_STORAGE_VOL_EXIST:
    case VIR_ERR_NETWORK_EXIST:
        return VRT_E_EXISTS;
    case VIR_ERR_OPERATION_TIMEOUT:
    case VIR_ERR_AGENT_UNRESPONSIVE:
        return VRT_E_TIMEOUT;
    case VIR_ERR_OPERATION_ABORTED:
        return VRT_E_CANCELED;
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_INVALID_CONN:
    case VIR_ERR_RPC:
    case VIR_ERR_UNKNOWN_HOST:
    case VIR_ERR_NO_SERVER:
        return VRT_E_UNAVAILABLE;
    case VIR_ERR_XML_ERROR:
    case VIR_ERR_XML_DETAIL:
    case VIR_ERR_INVALID_ARG:
    case VIR_ERR_INVALID_MAC:
    case VIR_ERR_NO_SOURCE:
    case VIR_ERR_NO_TARGET:
    case VIR_ERR_NO_NAME:
    case VIR_ERR_NO_OS:
    case VIR_ERR_NO_KERNEL:
        return VRT_E_INVALID;
    default:
        return VRT_E_INTERNAL;
    }
}

int lv_virt_last(void)
{
    virErrorPtr e = virGetLastError();

    return e ? e->code : 0;
}

/* The error lv_virt_err reports; reset (its strings freed) once used so
 * that nothing stays behind when a thread ends. */
static __thread virError saved;

void lv_virt_save_(void)
{
    virResetError(&saved);
    if (virCopyLastError(&saved) <= 0)
        virResetError(&saved);
}

int lv_virt_err_(vrt_error *err, const char *fmt, ...)
{
    virErrorPtr e = saved.code ? &saved : NULL;
    char ctx[160], msg[VRT_ERROR_MESSAGE_MAX];
    int32_t code = e ? lv_virt_code(e->code) : VRT_E_INTERNAL;
    const char *lm = e && e->message ? e->message
                                     : "libvirt gave no detail";
    size_t n;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    n = strlen(lm);
    snprintf(msg, sizeof(msg), "%s: %s%s", ctx, lm,
             n && lm[n - 1] == '.' ? "" : ".");
    lv_scrub(msg);
    lv_err(err, code, "%s", msg);
    /* the RPC layer failing (keepalive timeout, reset socket) means the
     * endpoint is gone, not that libvirt has a bug */
    if (code == VRT_E_INTERNAL && e && e->domain == VIR_FROM_RPC) {
        code = VRT_E_UNAVAILABLE;
        if (err)
            err->code = code;
    }
    if (err && code == VRT_E_INTERNAL && e && e->code == VIR_ERR_SYSTEM_ERROR)
        err->klass = VRT_CLASS_TRANSIENT; /* I/O trouble */
    virResetError(&saved);
    return code;
}

