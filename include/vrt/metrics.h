/*
 * vrt/metrics.h - a tiny process-wide Prometheus registry: counters,
 * gauges and histograms with fixed buckets, rendered in the text
 * exposition format 0.0.4.  Thread-safe (one mutex).  Label sets must be
 * small and bounded; a family keeps at most VRT_METRIC_MAX_SERIES series
 * and drops new ones beyond that.
 */
#ifndef VRT_METRICS_H
#define VRT_METRICS_H

#include <stddef.h>
#include <vrt/error.h>

#define VRT_METRIC_MAX_LABELS 3
#define VRT_METRIC_MAX_SERIES 256

typedef struct vrt_metric vrt_metric;

/* Registers a family, or returns the one already registered under `name`.
 * `labels` is a comma-separated list of label names ("kind,outcome") or
 * NULL.  `buckets` are ascending upper bounds (histograms only). */
vrt_metric *vrt_metric_counter(const char *name, const char *help,
                               const char *labels);
vrt_metric *vrt_metric_gauge(const char *name, const char *help,
                             const char *labels);
vrt_metric *vrt_metric_histogram(const char *name, const char *help,
                                 const char *labels, const double *buckets,
                                 size_t n_buckets);

/* `values` holds one value per label name (NULL when there are none). */
void vrt_metric_add(vrt_metric *m, const char *const *values, double v);
void vrt_metric_set(vrt_metric *m, const char *const *values, double v);
void vrt_metric_observe(vrt_metric *m, const char *const *values, double v);

/* The standard series of virtrigaud, registered on first use. */
void vrt_metrics_reconcile(const char *kind, const char *outcome,
                           double seconds);
void vrt_metrics_provider_call(const char *provider, const char *method,
                               int rc);
void vrt_metrics_api_request(const char *verb, int code);
void vrt_metrics_queue_depth(size_t depth);
void vrt_metrics_leader(int leading);

/* All families as text format 0.0.4 (malloc'd), plus the process's
 * resident memory read at call time. */
char *vrt_metrics_render(void);
/* metrics_http.c: a plain-HTTP listener serving GET /metrics on `addr`
 * ("IPV4:PORT" or ":PORT"), unauthenticated, for cluster mode. */
typedef struct vrt_metrics_server vrt_metrics_server;
int vrt_metrics_serve(vrt_metrics_server **out, const char *addr,
                      vrt_error *err);
/* The same, with GET /readyz answering 503 "not ready: WHY" while
 * ready() returns 0 (it fills why; called from the server's thread).
 * /healthz and /livez stay 200 while the process answers. */
typedef int (*vrt_metrics_ready_fn)(void *opaque, char *why, size_t size);
int vrt_metrics_serve_ready(vrt_metrics_server **out, const char *addr,
                            vrt_metrics_ready_fn ready, void *opaque,
                            vrt_error *err);
void vrt_metrics_server_stop(vrt_metrics_server *s); /* NULL-safe */

/* Frees every family (at exit, so leak checkers stay quiet). */
void vrt_metrics_free_all(void);

#endif
