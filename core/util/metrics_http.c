/*
 * A plain-HTTP listener that serves GET /metrics, /healthz and /readyz, for
 * cluster mode, where there is no API server of our own to hang the routes
 * on.  It is unauthenticated, as Prometheus scrape targets usually are: bind
 * it to loopback or to a pod address that a NetworkPolicy guards.
 */
#include <vrt/metrics.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vrt_metrics_server {
    struct MHD_Daemon *daemon;
    vrt_metrics_ready_fn ready; /* NULL: always ready */
    void *ready_opaque;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    vrt_metrics_server *s = cls;
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    int get = strcmp(method, "GET") == 0;
    /* The Deployment's probes: the process answers, so it is alive.  In
     * the manager a standby that is not the leader is ready too, so that
     * a rolling update does not wait for a leader; a server with a
     * readiness check (the provider host) is ready when it says so. */
    int live = get && (strcmp(url, "/healthz") == 0 ||
                       strcmp(url, "/livez") == 0);
    int readyz = get && strcmp(url, "/readyz") == 0;
    int metrics = get && strcmp(url, "/metrics") == 0;
    int code = live || readyz || metrics ? 200 : 404;
    char *body = NULL;
    if (readyz && s->ready) {
        char why[200] = "";
        if (!s->ready(s->ready_opaque, why, sizeof(why))) {
            code = 503;
            if (asprintf(&body, "not ready: %s\n", why) < 0)
                body = NULL;
        }
    }
    if (!body)
        body = metrics ? vrt_metrics_render()
               : code == 404 ? strdup("404 page not found\n")
                             : strdup("ok\n");
    if (!body)
        abort();
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type",
                            metrics ? "text/plain; version=0.0.4; charset=utf-8"
                                    : "text/plain");
    enum MHD_Result r = MHD_queue_response(conn, (unsigned)code, resp);
    MHD_destroy_response(resp);
    return r;
}

int vrt_metrics_serve(vrt_metrics_server **out, const char *addr,
                      vrt_error *err)
{
    return vrt_metrics_serve_ready(out, addr, NULL, NULL, err);
}

int vrt_metrics_serve_ready(vrt_metrics_server **out, const char *addr,
                            vrt_metrics_ready_fn ready, void *opaque,
                            vrt_error *err)
{
    char host[64] = "0.0.0.0";
    const char *colon = strrchr(addr, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    struct sockaddr_in sin = {.sin_family = AF_INET};
    if (colon && (size_t)(colon - addr) < sizeof(host) && colon > addr)
        snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
    if (!colon || !end || *end || port < 1 || port > 65535 ||
        inet_pton(AF_INET, host, &sin.sin_addr) != 1)
        return vrt_error_set(err, VRT_E_INVALID,
                             "--metrics-addr \"%s\" is not IPV4:PORT or :PORT "
                             "(e.g. 127.0.0.1:8080).",
                             addr);
    sin.sin_port = htons((uint16_t)port);
    vrt_metrics_server *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->ready = ready;
    s->ready_opaque = opaque;
    s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port,
                                 NULL, NULL, on_request, s,
                                 MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_END);
    if (!s->daemon) {
        free(s);
        return vrt_error_set(err, VRT_E_UNAVAILABLE,
                             "Cannot listen for metrics on \"%s\" (in use, or "
                             "not an address of this host).",
                             addr);
    }
    *out = s;
    return VRT_OK;
}

void vrt_metrics_server_stop(vrt_metrics_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
