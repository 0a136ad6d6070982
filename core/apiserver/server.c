/*
 * The HTTP(S) front of the standalone API server (libmicrohttpd, one
 * thread per connection so that watches may block), authentication, and
 * first-start setup of the data directory: token, certificate, kubeconfig,
 * the "default" namespace.
 */
#include "apiserver.h"

#include <vrt/log.h>
#include <vrt/metrics.h>
#include <vrt/yaml.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

VRT_LOG_SOURCE("apiserver");

#define MAX_BODY (8u * 1024 * 1024)

struct vrt_apiserver {
    vrt_apiserver_ctx ctx;
    vrt_apiserver_opts opts;
    struct MHD_Daemon *daemon;
    char *cert_pem, *key_pem, *client_ca_pem;
    vrt_client_ca *client_ca;
    char kubeconfig[4096];
    uint16_t port;
};

/* Per-request state while the body arrives. */
typedef struct conn_state {
    char *body;
    size_t len;
    int too_big;
} conn_state;

static const char *query_of(void *conn, const char *key)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

/* Who is asking: AUTH_NONE nobody we know (401), else a VRT_ROLE_*:
 * the read-only token or a viewer certificate, the admin token (or
 * --insecure-http) or an admin certificate, or a valid certificate
 * without a role (403). */
enum { AUTH_NONE = -1 };

static int token_is(const char *tok, const char *want)
{
    size_t n = strlen(want);
    /* Constant-time compare: tokens are the only credential. */
    return n && strlen(tok) == n && CRYPTO_memcmp(tok, want, n) == 0;
}

/* The role of the TLS client certificate, if one was presented. */
static int cert_role(vrt_apiserver *s, struct MHD_Connection *conn,
                     char *user, size_t user_len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    unsigned n = 0;
    const gnutls_datum_t *peers =
        ci && ci->tls_session
            ? gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n)
            : NULL;
    if (!peers || n == 0)
        return AUTH_NONE;
    const unsigned char *der[8];
    size_t len[8];
    if (n > 8)
        n = 8; /* a longer chain than that is not one we issued */
    for (unsigned i = 0; i < n; i++) {
        der[i] = peers[i].data;
        len[i] = peers[i].size;
    }
    char why[256];
    int role = vrt_client_ca_verify(s->client_ca, der, len, n, user, user_len,
                                    why, sizeof(why));
    if (role < 0) {
        vrt_log_warn("Refused a client certificate: %s", why);
        return AUTH_NONE;
    }
    return role;
}

static int authorized(vrt_apiserver *s, struct MHD_Connection *conn,
                      char *user, size_t user_len)
{
    snprintf(user, user_len, "admin");
    if (s->opts.insecure_http)
        return VRT_ROLE_ADMIN;
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                "Authorization");
    if (h && strncmp(h, "Bearer ", 7) == 0) {
        if (token_is(h + 7, s->ctx.token))
            return VRT_ROLE_ADMIN;
        snprintf(user, user_len, "viewer");
        return token_is(h + 7, s->ctx.ro_token) ? VRT_ROLE_READ : AUTH_NONE;
    }
    return s->client_ca ? cert_role(s, conn, user, user_len) : AUTH_NONE;
}

static int is_read(const char *method)
{
    return !strcmp(method, "GET") || !strcmp(method, "HEAD") ||
           !strcmp(method, "OPTIONS");
}

static ssize_t watch_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    long n = vrt_watch_produce(cls, buf, max);
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, vrt_resp *r)
{
    struct MHD_Response *resp;
    if (r->watch) {
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384,
                                                 watch_reader, r->watch,
                                                 vrt_watch_free);
    } else if (r->body) {
        /* MHD frees the body with free() once sent: no copy of big lists. */
        resp = MHD_create_response_from_buffer(strlen(r->body), r->body,
                                               MHD_RESPMEM_MUST_FREE);
        r->body = NULL;
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"",
                                               MHD_RESPMEM_PERSISTENT);
    }
    MHD_add_response_header(resp, "Content-Type",
                            r->content_type ? r->content_type
                                            : "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
    if (r->warning) {
        char w[600];
        snprintf(w, sizeof(w), "299 - \"%.500s\"", r->warning);
        MHD_add_response_header(resp, "Warning", w);
    }
    enum MHD_Result ret =
        MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    free(r->body);
    free(r->warning);
    return ret;
}

static void dispatch(vrt_resp *r, vrt_apiserver *s, const vrt_req *req,
                     const char *url)
{
    if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 ||
        strcmp(url, "/livez") == 0) {
        r->status = 200;
        r->body = vrt_strdup("ok");
        r->content_type = "text/plain";
        return;
    }
    /* Behind the same bearer token as everything else: the counters tell
     * what the server is doing, which is not for anonymous callers. */
    if (strcmp(url, "/metrics") == 0 && strcmp(req->method, "GET") == 0) {
        r->status = 200;
        r->body = vrt_metrics_render();
        r->content_type = "text/plain; version=0.0.4; charset=utf-8";
        return;
    }
    if (vrt_discovery_handle(r, &s->ctx, req, url))
        return;
    if (vrt_rest_handle(r, &s->ctx, req, url))
        return;
    vrt_resp_status(r, 404, "NotFound",
                    "the server could not find the requested resource");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    vrt_apiserver *s = cls;
    conn_state *st = *con_cls;
    (void)version;
    if (!st) {
        st = calloc(1, sizeof(*st));
        if (!st)
            abort();
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_size) {
        if (st->len + *upload_size > MAX_BODY) {
            st->too_big = 1;
        } else {
            char *b = realloc(st->body, st->len + *upload_size + 1);
            if (!b)
                abort();
            memcpy(b + st->len, upload, *upload_size);
            st->body = b;
            st->len += *upload_size;
            st->body[st->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }

    vrt_resp r = {0};
    char user[128];
    int who = authorized(s, conn, user, sizeof(user));
    if (who == VRT_ROLE_NONE || (who == VRT_ROLE_READ && !is_read(method))) {
        if (who == VRT_ROLE_NONE)
            vrt_resp_status(&r, 403, "Forbidden",
                            "user \"%s\" is in no virtrigaud group "
                            "(virtrigaud:admins, virtrigaud:viewers): %s is "
                            "not allowed", user, method);
        else
            vrt_resp_status(&r, 403, "Forbidden",
                            "user \"%s\" may only get, list and watch; %s "
                            "needs the admin token (DATA_DIR/kubeconfig) or a "
                            "virtrigaud:admins certificate", user, method);
        vrt_log_warn("audit: refused user=\"%s\" method=%s path=\"%s\" status=403",
                     user, method, url);
        vrt_metrics_api_request(method, r.status);
        return send_resp(conn, &r);
    }
    if (who == AUTH_NONE) {
        vrt_resp_status(&r, 401, "Unauthorized", "Unauthorized");
        vrt_log_warn("Refused a request without a valid token method=%s "
                     "path=\"%s\"",
                     method, url);
        vrt_metrics_api_request(method, r.status);
        return send_resp(conn, &r);
    }
    if (st->too_big) {
        vrt_resp_status(&r, 413, "RequestEntityTooLarge",
                        "the request body is larger than %u bytes", MAX_BODY);
        vrt_metrics_api_request(method, r.status);
        return send_resp(conn, &r);
    }
    vrt_req req = {
        .method = method,
        .url = url,
        .accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept"),
        .content_type =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"),
        .body = st->body,
        .body_len = st->len,
        .query = query_of,
        .conn = conn,
    };
    dispatch(&r, s, &req, url);
    vrt_log_debug("%s %s -> %d", method, url, r.status);
    /* The audit trail: every write, who made it and how it ended.  Never
     * the body: it may hold a Secret. */
    if (!is_read(method))
        vrt_log_info("audit: user=\"%s\" method=%s path=\"%s\" status=%d",
                     user, method, url, r.status);
    vrt_metrics_api_request(method, r.status);
    return send_resp(conn, &r);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    conn_state *st = *con_cls;
    if (st) {
        free(st->body);
        free(st);
    }
    *con_cls = NULL;
}

/* Reads the token file, or creates one (32 random bytes, hex). */
static int ensure_token(char token[80], const char *dir, const char *file,
                        vrt_error *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    char *t = vrt_read_file(path, NULL);
    if (t) {
        t[strcspn(t, "\r\n")] = '\0';
        snprintf(token, 80, "%s", t);
        OPENSSL_cleanse(t, strlen(t));
        free(t);
        if (strlen(token) >= 16)
            return 0;
        return vrt_error_set(err, VRT_E_INVALID,
                             "The token in \"%s\" is shorter than 16 "
                             "characters.",
                             path);
    }
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return vrt_error_set(err, VRT_E_INTERNAL, "No randomness for a token.");
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(token + 2 * i, 3, "%02x", raw[i]);
    OPENSSL_cleanse(raw, sizeof(raw));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, token, strlen(token)) != (ssize_t)strlen(token)) {
        if (fd >= 0)
            close(fd);
        return vrt_error_set(err, VRT_E_INTERNAL,
                             "Cannot write the token file \"%s\": %s.", path,
                             strerror(errno));
    }
    close(fd);
    return 0;
}

/* Writes DATA_DIR/FILE for `user` with `token`; `path` gets its path. */
static int write_one_kubeconfig(char *path, size_t psize, vrt_apiserver *s,
                                const char *file, const char *user,
                                const char *token, vrt_error *err)
{
    snprintf(path, psize, "%s/%s", s->opts.data_dir, file);
    int b64len = 4 * (((int)strlen(s->cert_pem ? s->cert_pem : "") + 2) / 3) + 1;
    char *ca = malloc((size_t)b64len);
    if (!ca)
        abort();
    ca[0] = '\0';
    if (s->cert_pem)
        EVP_EncodeBlock((unsigned char *)ca, (const unsigned char *)s->cert_pem,
                        (int)strlen(s->cert_pem));
    const char *addr = s->opts.address ? s->opts.address : "127.0.0.1";
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        free(ca);
        return vrt_error_set(err, VRT_E_INTERNAL,
                             "Cannot write the kubeconfig \"%s\".",
                             path);
    }
    fprintf(f,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: virtrigaud\n"
            "  cluster:\n    server: %s://%s:%u\n",
            s->opts.insecure_http ? "http" : "https", addr, s->port);
    if (!s->opts.insecure_http)
        fprintf(f, "    certificate-authority-data: %s\n", ca);
    fprintf(f,
            "users:\n- name: %s\n  user:\n    token: %s\n"
            "contexts:\n- name: virtrigaud\n  context:\n    cluster: "
            "virtrigaud\n    user: %s\n    namespace: default\n"
            "current-context: virtrigaud\n",
            user, s->opts.insecure_http ? "unused" : token, user);
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    free(ca);
    if (bad || rename(tmp, path) != 0)
        return vrt_error_set(err, VRT_E_INTERNAL,
                             "Cannot write the kubeconfig \"%s\".",
                             path);
    return 0;
}

static int write_kubeconfig(vrt_apiserver *s, vrt_error *err)
{
    char ro[4200];
    if (write_one_kubeconfig(s->kubeconfig, sizeof(s->kubeconfig), s, "kubeconfig",
                             "virtrigaud-admin", s->ctx.token, err))
        return -1;
    if (s->opts.insecure_http) /* no tokens at all: no viewer */
        return 0;
    return write_one_kubeconfig(ro, sizeof(ro), s, "kubeconfig-readonly",
                                "virtrigaud-viewer", s->ctx.ro_token, err);
}

static int load_crd_text(vrt_apiserver *s, const char *text, const char *what,
                         vrt_error *err)
{
    char why[256];
    cJSON *docs = vrt_yaml_parse_all(text, strlen(text), why, sizeof(why));
    if (!docs)
        return vrt_error_set(err, VRT_E_INVALID,
                             "The CRD file \"%s\" is not valid YAML: %s.",
                             what, why);
    const cJSON *doc;
    int rc = 0;
    cJSON_ArrayForEach(doc, docs) {
        const char *kind =
            cJSON_GetStringValue(cJSON_GetObjectItem(doc, "kind"));
        if (!kind || strcmp(kind, "CustomResourceDefinition") != 0)
            continue;
        if (vrt_resources_add_crd(&s->ctx.resources, doc, why, sizeof(why))) {
            rc = vrt_error_set(err, VRT_E_INVALID, "In \"%s\": %s", what, why);
            break;
        }
    }
    cJSON_Delete(docs);
    return rc;
}

static int load_crds(vrt_apiserver *s, vrt_error *err)
{
    vrt_resources_init_builtin(&s->ctx.resources);
    if (!s->opts.crd_dir) {
        for (size_t i = 0; vrt_embedded_crds[i]; i++)
            if (load_crd_text(s, vrt_embedded_crds[i],
                              vrt_embedded_crd_names[i], err))
                return -1;
        return 0;
    }
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "%s", s->opts.crd_dir);
    /* A directory of *.yaml files, read in name order. */
    struct dirent **names = NULL;
    int n = scandir(cmd, &names, NULL, alphasort);
    if (n < 0)
        return vrt_error_set(err, VRT_E_NOTFOUND,
                             "The CRD directory \"%s\" cannot be read.", cmd);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        size_t len = strlen(nm);
        if (!rc && len > 5 && strcmp(nm + len - 5, ".yaml") == 0) {
            char path[4400];
            snprintf(path, sizeof(path), "%s/%s", cmd, nm);
            char *text = vrt_read_file(path, NULL);
            rc = text ? load_crd_text(s, text, path, err)
                      : vrt_error_set(err, VRT_E_NOTFOUND,
                                      "Cannot read \"%s\".", path);
            free(text);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* kube-apiserver always has these namespaces. */
static void ensure_namespaces(vrt_apiserver *s)
{
    const char *names[] = {"default", "kube-system", "virtrigaud-system"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        cJSON *obj = NULL;
        vrt_error err = VRT_ERROR_INIT;
        if (vrt_store_get(&obj, s->ctx.store, "namespaces", "", names[i],
                          &err) == VRT_OK) {
            cJSON_Delete(obj);
            continue;
        }
        char now[32];
        vrt_rfc3339_now(now);
        obj = cJSON_CreateObject();
        cJSON_AddStringToObject(obj, "apiVersion", "v1");
        cJSON_AddStringToObject(obj, "kind", "Namespace");
        cJSON *md = cJSON_AddObjectToObject(obj, "metadata");
        cJSON_AddStringToObject(md, "name", names[i]);
        cJSON_AddStringToObject(md, "creationTimestamp", now);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(obj, "status"), "phase",
                                "Active");
        int64_t rv;
        if (vrt_store_create(&rv, s->ctx.store, "namespaces", "", names[i], obj,
                             &err) != VRT_OK)
            vrt_log_warn("Cannot create namespace \"%s\": %s", names[i],
                         err.message);
        cJSON_Delete(obj);
    }
}

int vrt_apiserver_start(vrt_apiserver **out, const vrt_apiserver_opts *opts,
                        vrt_error *err)
{
    *out = NULL;
    vrt_apiserver *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->opts = *opts;
    s->ctx.opts = &s->opts;
    if (!opts->data_dir) {
        free(s);
        return vrt_error_set(err, VRT_E_INVALID, "--data-dir is required.");
    }
    if (mkdir(opts->data_dir, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        free(s);
        return vrt_error_set(err, VRT_E_INVALID,
                             "Cannot create the data directory \"%s\": %s.",
                             opts->data_dir, strerror(e));
    }
    char dbpath[4096];
    snprintf(dbpath, sizeof(dbpath), "%s/store.db", opts->data_dir);
    vrt_store_opts so = {.struct_size = sizeof(so), .history = opts->history,
                         .sync_full = opts->sync_full};
    if (load_crds(s, err) ||
        vrt_store_open(&s->ctx.store, dbpath, &so, err) != VRT_OK)
        goto fail;
    ensure_namespaces(s);
    if (!opts->insecure_http &&
        (ensure_token(s->ctx.token, opts->data_dir, "token", err) ||
         ensure_token(s->ctx.ro_token, opts->data_dir, "token-readonly", err) ||
         vrt_tls_ensure(&s->cert_pem, &s->key_pem, opts->data_dir,
                        opts->tls_cert, opts->tls_key, err)))
        goto fail;

    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(opts->port);
    if (inet_pton(AF_INET, opts->address ? opts->address : "127.0.0.1",
                  &sa.sin_addr) != 1) {
        vrt_error_set(err, VRT_E_INVALID,
                      "--address \"%s\" is not an IPv4 address.",
                      opts->address);
        goto fail;
    }
    if (opts->client_ca && !opts->insecure_http) {
        /* Given to the TLS library only so that it asks clients for a
         * certificate; verification is ours (client_cert.c). */
        s->client_ca_pem = vrt_read_file(opts->client_ca, NULL);
        if (!s->client_ca_pem) {
            vrt_error_set(err, VRT_E_INVALID, "Cannot read --client-ca \"%s\".",
                          opts->client_ca);
            goto fail;
        }
        if (vrt_client_ca_load(&s->client_ca, opts->client_ca,
                               opts->client_crl, err))
            goto fail;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_KEY, 0, s->key_pem},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert_pem},
        {s->client_ca_pem ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0,
         s->client_ca_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    if (!opts->insecure_http)
        flags |= MHD_USE_TLS;
    else
        tls[0].option = MHD_OPTION_END;
    s->daemon = MHD_start_daemon(
        flags, opts->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)3700, MHD_OPTION_ARRAY, tls,
        MHD_OPTION_END);
    if (!s->daemon) {
        vrt_error_set(err, VRT_E_UNAVAILABLE,
                      "Cannot listen on %s:%u (in use, or TLS setup failed).",
                      opts->address ? opts->address : "127.0.0.1", opts->port);
        goto fail;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : opts->port;
    if (write_kubeconfig(s, err))
        goto fail;
    vrt_log_info("API server listening on %s://%s:%u kubeconfig=\"%s\"",
                 opts->insecure_http ? "http" : "https",
                 opts->address ? opts->address : "127.0.0.1", s->port,
                 s->kubeconfig);
    *out = s;
    return VRT_OK;
fail:
    vrt_apiserver_stop(s);
    return err->code;
}

uint16_t vrt_apiserver_port(const vrt_apiserver *s)
{
    return s->port;
}

const char *vrt_apiserver_kubeconfig(const vrt_apiserver *s)
{
    return s->kubeconfig;
}

void vrt_apiserver_stop(vrt_apiserver *s)
{
    if (!s)
        return;
    s->ctx.stopping = 1;
    if (s->ctx.store)
        vrt_store_wake_all(s->ctx.store);
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    vrt_store_close(s->ctx.store);
    vrt_resources_free(&s->ctx.resources);
    vrt_client_ca_free(s->client_ca);
    free(s->client_ca_pem);
    if (s->key_pem) {
        OPENSSL_cleanse(s->key_pem, strlen(s->key_pem));
        free(s->key_pem);
    }
    free(s->cert_pem);
    OPENSSL_cleanse(s->ctx.token, sizeof(s->ctx.token));
    OPENSSL_cleanse(s->ctx.ro_token, sizeof(s->ctx.ro_token));
    free(s);
}
