/*
 * vrt/apiserver.h - the standalone mode's Kubernetes-compatible API server.
 *
 * Serves our CRDs (embedded from crds/ at build time) and the core kinds
 * the manager needs (Namespace, Secret, ConfigMap, Event, Lease) over HTTPS
 * with bearer-token authentication, storing objects in one SQLite file.
 * On first start in a data directory it generates a self-signed
 * certificate, a token, and a kubeconfig for kubectl and vrtg.
 */
#ifndef VRT_APISERVER_H
#define VRT_APISERVER_H

#include <stdint.h>
#include <vrt/error.h>

typedef struct vrt_apiserver vrt_apiserver;

typedef struct vrt_apiserver_opts {
    const char *data_dir;   /* state, certificate, token, kubeconfig */
    const char *address;    /* listen address, default "127.0.0.1" */
    uint16_t port;          /* default 6443; 0 = pick a free port */
    int insecure_http;      /* plain HTTP, no auth (tests only) */
    const char *tls_cert;   /* PEM files to use instead of generating */
    const char *tls_key;
    const char *client_ca;  /* PEM CA of client certificates; NULL = none */
    const char *client_crl; /* PEM CRL checked against them; optional */
    const char *crd_dir;    /* load CRDs from here instead of embedded */
    int sync_full;          /* store durability, default 1 */
    uint32_t history;       /* watch events kept (default 10000) */
} vrt_apiserver_opts;

int vrt_apiserver_start(vrt_apiserver **out, const vrt_apiserver_opts *opts,
                        vrt_error *err);
/* The port actually bound. */
uint16_t vrt_apiserver_port(const vrt_apiserver *s);
/* Path of the kubeconfig written for users (borrowed). */
const char *vrt_apiserver_kubeconfig(const vrt_apiserver *s);
void vrt_apiserver_stop(vrt_apiserver *s); /* NULL-safe */

#endif
