/*
 * kube_internal.h - connection settings of the Kubernetes client.
 */
#ifndef VRT_CORE_KUBE_INTERNAL_H
#define VRT_CORE_KUBE_INTERNAL_H

#include <vrt/kube.h>

#include <stddef.h>

typedef struct vrt_kube_conf {
    char *server;          /* https://host:port */
    char *ca_pem;          /* may be NULL: system CAs */
    size_t ca_len;
    int insecure;          /* insecure-skip-tls-verify */
    char *token;           /* bearer token, may be NULL */
    char *cert_pem, *key_pem; /* client certificate, may be NULL */
    size_t cert_len, key_len;
    char *ns;              /* context namespace, may be NULL */
} vrt_kube_conf;

int vrt_kube_conf_from_file(vrt_kube_conf *c, const char *path,
                            vrt_error *err);
int vrt_kube_conf_in_cluster(vrt_kube_conf *c, vrt_error *err);
/* Wipes secrets and frees everything. */
void vrt_kube_conf_clear(vrt_kube_conf *c);

/* Whole file into a NUL-terminated malloc'd buffer, or NULL. */
char *vrt_kube_read_file(const char *path, size_t *len);

#endif
