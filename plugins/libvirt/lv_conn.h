/*
 * lv_conn.h - one provider connection: the libvirt connection behind it
 * (opened lazily, re-opened when it died), credentials from the host's
 * secret store, keepalive, per-connection settings, logging through the
 * host, and translation of libvirt errors into VRT_E_* codes.
 */
#ifndef LV_CONN_H
#define LV_CONN_H

#include <pthread.h>
#include <stdint.h>
#include <libvirt/libvirt.h>
#include <virtrigaud/provider.h>

#include "lv_task.h"
#include "lv_util.h"

/* The host's services, set once by the entry point. */
extern const vrt_host_api *lv_host;

/* Settings from config_json (Provider.spec); see docs/providers/libvirt.md. */
typedef struct lv_config {
    char *storage_pool;    /* NULL = "default" ("default-pool" on test) */
    char *domain_type;     /* NULL = from the host's capabilities */
    char *vnc_listen;      /* NULL = no VNC display */
    char *default_network; /* NIC for specs without networks, or NULL */
    uint32_t graceful_timeout_s;
    int32_t keepalive_interval_s; /* <= 0 disables keepalive */
    uint32_t keepalive_count;
} lv_config;

/* Fills cfg from config_json (defaults for what is absent); on failure err
 * names the setting.  lv_config_free releases it either way. */
LV_WUR int lv_config_parse(lv_config *cfg, const char *json, vrt_error *err);
void lv_config_free(lv_config *cfg);

struct vrt_conn {
    vrt_host_ctx *ctx;
    char *uri;                  /* may hold a user name, never a password */
    char uri_safe[VRT_URL_MAX]; /* for messages and logs */
    int is_test;                /* the libvirt test driver */
    lv_config cfg;
    lv_tasks tasks;

    pthread_mutex_t lock; /* guards the members below */
    virConnectPtr virt;   /* NULL until first use, or after it died */
    char driver[32];      /* virConnectGetType(), e.g. "QEMU", "TEST" */
    char *auto_type;      /* default domain type found for this host */
    int events;           /* holds a reference on the event loop */
};

/* Once per process, from the entry point: libvirt and libxml2 set up for
 * threads, libvirt's default stderr error printing turned off. */
LV_WUR int lv_conn_global_init(vrt_error *err);

/* The vtable's open / close / validate. */
int32_t lv_open(vrt_conn **out, const vrt_conn_params *params, uint32_t flags,
                vrt_error *err);
void lv_close(vrt_conn *conn);
int32_t lv_validate(vrt_conn *conn, const vrt_call *call, uint32_t flags,
                    vrt_error *err);

/* A referenced libvirt connection for one call, (re)connecting when
 * needed; release it with lv_conn_release (NULL-safe). */
LV_WUR int lv_conn_acquire(virConnectPtr *out, vrt_conn *c, vrt_error *err);
void lv_conn_release(virConnectPtr v);

/* The domain type for a spec that names none, and the default pool. */
LV_WUR int lv_conn_domain_type(const char **out, vrt_conn *c,
                               virConnectPtr virt, vrt_error *err);
const char *lv_conn_pool(const vrt_conn *c);

/* VRT_CAP_* this connection supports (needs the driver name, so after a
 * successful lv_conn_acquire). */
uint64_t lv_conn_caps(vrt_conn *c);
/* VRT_E_NOTSUPP naming what is missing unless the connection has cap. */
LV_WUR int lv_conn_need(vrt_conn *c, uint64_t cap, const char *what,
                        vrt_error *err);

/*
 * Fills err from libvirt's last error of this thread: the code mapped to a
 * VRT_E_* and the message "<context>: <libvirt's message>".  Returns the
 * code.  The context is a printf format.
 *
 * A macro because almost every libvirt call, even virDomainGetName, resets
 * the thread's last error: the error is saved (comma operator: before the
 * arguments are evaluated) and then consumed.
 */
#define lv_virt_err(err, ...) (lv_virt_save_(), lv_virt_err_(err, __VA_ARGS__))
void lv_virt_save_(void);
int lv_virt_err_(vrt_error *err, const char *fmt, ...) LV_FMT(2, 3);
/* The VRT_E_* for a libvirt error number (exposed for tests). */
int32_t lv_virt_code(int virt_code);
/* libvirt's last error number for this thread, 0 when none. */
int lv_virt_last(void);

/* Logs through the host; formats only if the level is wanted. */
void lv_log(vrt_conn *c, int32_t level, const char *fmt, ...) LV_FMT(3, 4);

/* Monotonic milliseconds from the host. */
uint64_t lv_now_ms(void);
/* VRT_E_INVALID for a malformed call record (short, or flags set),
 * VRT_E_CANCELED / VRT_E_TIMEOUT when the call should stop, else VRT_OK. */
LV_WUR int lv_call_check(const vrt_call *call, const char *what,
                         vrt_error *err);
/* Sleeps ms milliseconds, or less if the call's deadline is nearer. */
void lv_sleep_ms(const vrt_call *call, uint32_t ms);

/* Process-wide libvirt event loop, needed for keepalive (lv_event.c). */
LV_WUR int lv_event_acquire(void);
void lv_event_release(void);

#endif /* LV_CONN_H */
