/*
 * apiserver.h - internals of the standalone Kubernetes-compatible API
 * server, shared by the files of core/apiserver.
 */
#ifndef VRT_CORE_APISERVER_H
#define VRT_CORE_APISERVER_H

#include <vrt/apiserver.h>
#include <vrt/clock.h>
#include <vrt/store.h>

#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* One kind the server serves: a CRD of ours or a built-in core kind. */
typedef struct vrt_resource {
    char *group;   /* "" for the core group */
    char *version; /* "v1beta1", "v1" */
    char *kind;
    char *list_kind;
    char *plural;
    char *singular;
    char **short_names; /* NULL-terminated */
    char **categories;  /* NULL-terminated */
    int namespaced;
    int has_status;     /* status subresource */
    int has_scale;      /* scale subresource */
    /* A built-in kind (not from a CRD): as in kube-apiserver, strategic
     * merge patches are taken. */
    int builtin;
    /* A PUT may omit resourceVersion (last write wins), as kube-apiserver's
     * AllowUnconditionalUpdate: some built-in kinds, never a CRD's. */
    int unconditional_update;
    char *scale_spec;   /* ".spec.replicas" */
    char *scale_status; /* ".status.replicas" */
    char *scale_selector;
    cJSON *schema;  /* openAPIV3Schema, owned; NULL = accept any */
    cJSON *columns; /* additionalPrinterColumns, owned; may be NULL */
    char *store_key; /* "plural.group" or "plural" */
    /* A kind stored as another (core/v1 Event as events.k8s.io/v1):
     * view turns a stored object into this kind, unview back; both return
     * new objects.  NULL for kinds stored as themselves. */
    cJSON *(*view)(const cJSON *stored);
    cJSON *(*unview)(const cJSON *given);
} vrt_resource;

/* For messages, as kube-apiserver names a group resource or kind:
 * "configmaps" and "ConfigMap" in the core group, "leases.coordination.k8s.io"
 * and "Lease.coordination.k8s.io" elsewhere.  Use as
 * printf("%s%s%s", res->plural, VRT_DOT(res), res->group). */
#define VRT_DOT(res) ((res)->group[0] ? "." : "")

typedef struct vrt_resources {
    vrt_resource **items;
    size_t count;
} vrt_resources;

/* resource.c */
void vrt_resources_init_builtin(vrt_resources *rs);
/* Adds the kinds of one CRD document; error text names the problem. */
int vrt_resources_add_crd(vrt_resources *rs, const cJSON *crd, char *errbuf,
                          size_t errsize);
void vrt_resources_free(vrt_resources *rs);
const vrt_resource *vrt_resources_find(const vrt_resources *rs,
                                       const char *group, const char *version,
                                       const char *plural);
const vrt_resource *vrt_resources_find_kind(const vrt_resources *rs,
                                            const char *api_version,
                                            const char *kind);
/* event_view.c */
cJSON *vrt_event_core_view(const cJSON *stored);
cJSON *vrt_event_core_unview(const cJSON *given);

/* The embedded CRD YAML texts (generated from crds/ at build time). */
extern const char *const vrt_embedded_crds[];
extern const char *const vrt_embedded_crd_names[];

/* A parsed request. */
typedef struct vrt_req {
    const char *method;
    const char *url;
    const char *accept;
    const char *content_type;
    const char *body;
    size_t body_len;
    /* query parameters (values borrowed from the HTTP layer) */
    const char *(*query)(void *conn, const char *key);
    void *conn;
} vrt_req;

/* A response built by a handler.  body is malloc'd. */
typedef struct vrt_resp {
    int status;
    char *body;
    const char *content_type;
    char *warning; /* malloc'd Warning header text, or NULL */
    /* For watches: a streaming producer instead of body. */
    struct vrt_watch *watch;
} vrt_resp;

typedef struct vrt_apiserver_ctx {
    vrt_store *store;
    vrt_resources resources;
    const vrt_apiserver_opts *opts;
    char token[80];
    char ro_token[80];      /* read-only: GET, LIST and WATCH only */
    volatile int stopping;
} vrt_apiserver_ctx;

/* client_cert.c: users with a TLS client certificate (--client-ca). */
enum { VRT_ROLE_NONE, VRT_ROLE_READ, VRT_ROLE_ADMIN };
typedef struct vrt_client_ca vrt_client_ca;
int vrt_client_ca_load(vrt_client_ca **out, const char *ca_path,
                       const char *crl_path, vrt_error *err);
void vrt_client_ca_free(vrt_client_ca *c); /* NULL-safe */
/* Verifies a peer chain (DER, leaf first): the VRT_ROLE_* of its groups
 * with the CN in user, or -1 with the reason in why. */
int vrt_client_ca_verify(vrt_client_ca *c, const unsigned char *const *der,
                         const size_t *len, size_t n, char *user,
                         size_t user_len, char *why, size_t why_len);

/* status.c: Kubernetes Status responses */
void vrt_resp_status(vrt_resp *r, int code, const char *reason,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void vrt_resp_json(vrt_resp *r, int code, cJSON *obj); /* consumes obj */
/* Maps a store/vrt error to HTTP status + reason. */
void vrt_resp_from_error(vrt_resp *r, const vrt_error *err);

/* discovery.c */
int vrt_discovery_handle(vrt_resp *r, vrt_apiserver_ctx *ctx,
                         const vrt_req *req, const char *path);

/* handlers.c: REST of resources.  Returns 1 if the path was one of ours. */
int vrt_rest_handle(vrt_resp *r, vrt_apiserver_ctx *ctx, const vrt_req *req,
                    const char *path);

/* table.c */
int vrt_accepts_table(const char *accept);
cJSON *vrt_table_new(const vrt_resource *res, const char *list_rv);
void vrt_table_add_row(cJSON *table, const vrt_resource *res,
                       const cJSON *obj, int include_object);

/* rest_write.c: metadata.resourceVersion of obj as a precondition.
 * Absent, null, "" and "0" are none (*rv = 0, as kube-apiserver's
 * ParseResourceVersion); a positive decimal that fits int64 (digits only:
 * no sign, space or trailing text) is that number; anything else returns
 * -1 with the value, quoted as JSON, in `bad`. */
int vrt_rest_rv_parse(int64_t *rv, const cJSON *obj, char *bad,
                      size_t bad_size);
/* The 400 answer to a resourceVersion vrt_rest_rv_parse refused. */
void vrt_rest_rv_invalid(vrt_resp *r, const char *bad);

/* patch.c */
/* RFC 7386: applies `patch` to `target` in place. */
void vrt_merge_patch(cJSON *target, const cJSON *patch);
/* RFC 6902: returns 0 or -1 with a reason. */
int vrt_json_patch(cJSON *target, const cJSON *ops, char *errbuf,
                   size_t errsize);

/* watch.c */
struct vrt_watch;
struct vrt_watch *vrt_watch_new(vrt_apiserver_ctx *ctx,
                                const vrt_resource *res, const char *ns,
                                int64_t since, int table, int bookmarks,
                                uint32_t timeout_s, void *label_sel,
                                void *field_sel);
/* Produces up to `max` bytes of the stream; returns bytes written, 0 when
 * it should be polled again, or -1 at the end. */
long vrt_watch_produce(struct vrt_watch *w, char *buf, size_t max);
void vrt_watch_free(void *w);

/* tls.c */
int vrt_tls_ensure(char **cert_pem, char **key_pem, const char *dir,
                   const char *cert_file, const char *key_file,
                   vrt_error *err);

/* util */
char *vrt_strdup(const char *s);
char *vrt_read_file(const char *path, size_t *len);

#endif
