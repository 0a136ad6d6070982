/*
 * virtrigaud-manager: the manager process.  In standalone mode it serves
 * the Kubernetes-style API itself (SQLite store) so that kubectl and vrtg
 * work with no cluster.
 */
#include <vrt/apiserver.h>
#include <vrt/controller.h>
#include <vrt/kube.h>
#include <vrt/leader.h>
#include <vrt/log.h>
#include <vrt/metrics.h>
#include <vrt/plugin.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

VRT_LOG_SOURCE("manager");

#define VERSION "0.1.0"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
        "Usage: virtrigaud-manager --standalone --data-dir DIR [options]\n"
        "\n"
        "Reconciles virtrigaud resources (infra.virtrigaud.io/v1beta1) with\n"
        "hypervisors through provider plugins.\n"
        "\n"
        "Standalone mode (serves the Kubernetes-style API itself):\n"
        "  --standalone           serve the API from an SQLite store\n"
        "  --data-dir DIR         store, TLS files, token and kubeconfig\n"
        "  --address ADDR         listen address (default 127.0.0.1)\n"
        "  --port N               listen port (default 6443; 0 = any free)\n"
        "  --tls-cert FILE        serve this certificate (PEM) ...\n"
        "  --tls-key FILE         ... with this key, instead of a generated one\n"
        "  --client-ca FILE       also accept TLS client certificates signed by\n"
        "                         this CA (PEM): CN is the user, O the groups;\n"
        "                         virtrigaud:admins may do all, virtrigaud:viewers\n"
        "                         get/list/watch (re-read when the file changes)\n"
        "  --client-crl FILE      refuse client certificates this CRL (PEM) revokes\n"
        "  --insecure-http        plain HTTP without authentication (tests only)\n"
        "  --sync normal|full     store durability (default full: every\n"
        "                         acknowledged write survives power loss)\n"
        "  --crd-dir DIR          serve CRDs from DIR instead of the built-in ones\n"
        "  --watch-history N      watch events kept for clients that resume\n"
        "                         (default 10000; older resume -> 410 Gone)\n"
        "\n"
        "Cluster mode:\n"
        "  --kubeconfig FILE      talk to this API server (default: $KUBECONFIG,\n"
        "                         the in-cluster service account, ~/.kube/config)\n"
        "  --metrics-addr ADDR    serve GET /metrics over plain HTTP on\n"
        "                         IPV4:PORT or :PORT, unauthenticated (in\n"
        "                         standalone mode the API server also serves\n"
        "                         /metrics, behind its token)\n"
        "\n"
        "Leader election (a coordination.k8s.io/v1 Lease; only the holder\n"
        "reconciles):\n"
        "  --leader-elect[=BOOL]  default true in cluster mode, false in\n"
        "                         standalone mode\n"
        "  --leader-elect-namespace NS   default virtrigaud-system\n"
        "  --leader-elect-name NAME      default virtrigaud-manager\n"
        "  --leader-elect-lease-seconds N  lease duration (default 15; the\n"
        "                         renew deadline is 2/3 and the retry period\n"
        "                         2/15 of it)\n"
        "\n"
        "Controller:\n"
        "  --plugin-dir DIR       load provider plugins (*.so) from DIR\n"
        "  --workers N            reconcile threads (default 4)\n"
        "  --call-timeout SECONDS deadline of each provider call (default 120)\n"
        "  --staging-dir DIR      where VMMigrations stage disks (default\n"
        "                         DATA_DIR/staging, or /var/lib/virtrigaud/staging)\n"
        "  --migration-storage-allowed-hosts LIST  comma-separated hosts,\n"
        "                         addresses or CIDRs that S3/SFTP staging\n"
        "                         endpoints may use; without it loopback,\n"
        "                         link-local, unspecified and multicast\n"
        "                         addresses are refused (169.254.169.254\n"
        "                         always is), with it only listed hosts pass\n"
        "  --migration-digest ALG sha256 (default: what sha256sum of the raw\n"
        "                         disk prints) or sha256-tree (SHA-256 of the\n"
        "                         SHA-256s of 1 MiB pieces: zero pieces are\n"
        "                         free, pieces hash on every core; recorded\n"
        "                         as \"sha256-tree:HEX\")\n"
        "  --no-controller        serve the API only (standalone)\n"
        "\n"
        "General:\n"
        "  -v, --verbose          debug logging (or VRT_LOG_LEVEL=debug)\n"
        "  -h, --help             this text\n"
        "  --version              print the version\n"
        "\n"
        "On start it prints the kubeconfig path; use it with\n"
        "  kubectl --kubeconfig DIR/kubeconfig get virtualmachines\n");
}

int main(int argc, char **argv)
{
    enum { OPT_DATA = 256, OPT_ADDR, OPT_PORT, OPT_CERT, OPT_KEY, OPT_INSECURE,
           OPT_SYNC, OPT_CRDS, OPT_PLUGINS, OPT_VERSION, OPT_STANDALONE,
           OPT_KUBECONFIG, OPT_WORKERS, OPT_NO_CONTROLLER, OPT_HISTORY,
           OPT_ELECT, OPT_ELECT_NS, OPT_ELECT_NAME, OPT_ELECT_LEASE,
           OPT_METRICS, OPT_CLIENT_CA, OPT_CLIENT_CRL, OPT_CALL_TIMEOUT, OPT_STAGING,
           OPT_ALLOWED_HOSTS, OPT_MIG_DIGEST };
    static const struct option opts[] = {
        {"standalone", no_argument, NULL, OPT_STANDALONE},
        {"data-dir", required_argument, NULL, OPT_DATA},
        {"address", required_argument, NULL, OPT_ADDR},
        {"port", required_argument, NULL, OPT_PORT},
        {"tls-cert", required_argument, NULL, OPT_CERT},
        {"tls-key", required_argument, NULL, OPT_KEY},
        {"client-ca", required_argument, NULL, OPT_CLIENT_CA},
        {"client-crl", required_argument, NULL, OPT_CLIENT_CRL},
        {"insecure-http", no_argument, NULL, OPT_INSECURE},
        {"sync", required_argument, NULL, OPT_SYNC},
        {"crd-dir", required_argument, NULL, OPT_CRDS},
        {"plugin-dir", required_argument, NULL, OPT_PLUGINS},
        {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"call-timeout", required_argument, NULL, OPT_CALL_TIMEOUT},
        {"staging-dir", required_argument, NULL, OPT_STAGING},
        {"migration-storage-allowed-hosts", required_argument, NULL, OPT_ALLOWED_HOSTS},
        {"migration-digest", required_argument, NULL, OPT_MIG_DIGEST},
        {"no-controller", no_argument, NULL, OPT_NO_CONTROLLER},
        {"watch-history", required_argument, NULL, OPT_HISTORY},
        {"metrics-addr", required_argument, NULL, OPT_METRICS},
        {"leader-elect", optional_argument, NULL, OPT_ELECT},
        {"leader-elect-namespace", required_argument, NULL, OPT_ELECT_NS},
        {"leader-elect-name", required_argument, NULL, OPT_ELECT_NAME},
        {"leader-elect-lease-seconds", required_argument, NULL, OPT_ELECT_LEASE},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    vrt_apiserver_opts ao = {.port = 6443, .sync_full = 1};
    int standalone = 0, run_controller = 1, c;
    const char *plugin_dir = NULL, *kubeconfig = NULL, *metrics_addr = NULL;
    vrt_controller_opts co = {.struct_size = sizeof(co)};
    vrt_leader_opts lo = {.struct_size = sizeof(lo)};
    int elect = -1; /* -1: the mode's default */
    char *end;

    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case OPT_STANDALONE: standalone = 1; break;
        case OPT_DATA: ao.data_dir = optarg; break;
        case OPT_ADDR: ao.address = optarg; break;
        case OPT_PORT: {
            long p = strtol(optarg, &end, 10);
            if (*end || p < 0 || p > 65535) {
                fprintf(stderr, "virtrigaud-manager: --port \"%s\" is not a "
                                "port number (0-65535).\n", optarg);
                return 2;
            }
            ao.port = (uint16_t)p;
            break;
        }
        case OPT_CERT: ao.tls_cert = optarg; break;
        case OPT_CLIENT_CA: ao.client_ca = optarg; break;
        case OPT_CLIENT_CRL: ao.client_crl = optarg; break;
        case OPT_KEY: ao.tls_key = optarg; break;
        case OPT_INSECURE: ao.insecure_http = 1; break;
        case OPT_SYNC:
            if (strcmp(optarg, "full") && strcmp(optarg, "normal")) {
                fprintf(stderr, "virtrigaud-manager: --sync must be \"full\" "
                                "or \"normal\", not \"%s\".\n", optarg);
                return 2;
            }
            ao.sync_full = strcmp(optarg, "full") == 0;
            break;
        case OPT_CRDS: ao.crd_dir = optarg; break;
        case OPT_PLUGINS: plugin_dir = optarg; break;
        case OPT_KUBECONFIG: kubeconfig = optarg; break;
        case OPT_NO_CONTROLLER: run_controller = 0; break;
        case OPT_HISTORY: {
            long h = strtol(optarg, &end, 10);
            if (*end || h < 1 || h > 100000000) {
                fprintf(stderr, "virtrigaud-manager: --watch-history \"%s\" "
                                "must be a positive number.\n", optarg);
                return 2;
            }
            ao.history = (uint32_t)h;
            break;
        }
        case OPT_WORKERS: {
            long w = strtol(optarg, &end, 10);
            if (*end || w < 1 || w > 256) {
                fprintf(stderr, "virtrigaud-manager: --workers \"%s\" must be "
                                "a number from 1 to 256.\n", optarg);
                return 2;
            }
            co.workers = (uint32_t)w;
            break;
        }
        case OPT_STAGING: co.staging_dir = optarg; break;
        case OPT_ALLOWED_HOSTS: co.storage_allowed_hosts = optarg; break;
        case OPT_MIG_DIGEST:
            if (strcmp(optarg, "sha256") != 0 && strcmp(optarg, "sha256-tree") != 0) {
                fprintf(stderr, "virtrigaud-manager: --migration-digest \"%s\" "
                                "is not sha256 or sha256-tree.\n", optarg);
                return 2;
            }
            co.migration_tree_digest = strcmp(optarg, "sha256-tree") == 0;
            break;
        case OPT_CALL_TIMEOUT: {
            long t = strtol(optarg, &end, 10);
            if (*end || t < 1 || t > 86400) {
                fprintf(stderr, "virtrigaud-manager: --call-timeout \"%s\" "
                                "must be a number of seconds from 1 to "
                                "86400.\n", optarg);
                return 2;
            }
            co.call_timeout_ms = (uint32_t)t * 1000;
            break;
        }
        case OPT_ELECT:
            if (!optarg || strcmp(optarg, "true") == 0) {
                elect = 1;
            } else if (strcmp(optarg, "false") == 0) {
                elect = 0;
            } else {
                fprintf(stderr, "virtrigaud-manager: --leader-elect must be "
                                "\"true\" or \"false\", not \"%s\".\n", optarg);
                return 2;
            }
            break;
        case OPT_METRICS: metrics_addr = optarg; break;
        case OPT_ELECT_NS: lo.ns = optarg; break;
        case OPT_ELECT_NAME: lo.name = optarg; break;
        case OPT_ELECT_LEASE: {
            long s = strtol(optarg, &end, 10);
            if (*end || s < 2 || s > 3600) {
                fprintf(stderr, "virtrigaud-manager: --leader-elect-lease-"
                                "seconds \"%s\" must be a number from 2 to "
                                "3600.\n", optarg);
                return 2;
            }
            lo.lease_ms = (uint32_t)s * 1000;
            break;
        }
        case 'v': vrt_log_set_level(VRT_LVL_DEBUG); break;
        case 'h': usage(stdout); return 0;
        case OPT_VERSION: printf("virtrigaud-manager %s (provider ABI %d.%d)\n",
                                 VERSION, VRT_ABI_MAJOR, VRT_ABI_MINOR);
                          return 0;
        default: usage(stderr); return 2;
        }
    }
    if (standalone && !ao.data_dir) {
        fprintf(stderr, "virtrigaud-manager: --standalone needs --data-dir DIR "
                        "(see --help).\n");
        return 2;
    }
    char staging[4096];
    if (!co.staging_dir && ao.data_dir) {
        snprintf(staging, sizeof(staging), "%s/staging", ao.data_dir);
        co.staging_dir = staging;
    }
    if (!standalone && !run_controller) {
        fprintf(stderr, "virtrigaud-manager: --no-controller only makes sense "
                        "with --standalone.\n");
        return 2;
    }

    vrt_registry *reg = vrt_registry_new();
    vrt_error err = VRT_ERROR_INIT;
    if (plugin_dir) {
        int n = vrt_registry_load_dir(reg, plugin_dir, 0, &err);
        if (n < 0) {
            fprintf(stderr, "virtrigaud-manager: %s\n", err.message);
            vrt_registry_free(reg);
            return 1;
        }
        vrt_log_info("Loaded %d provider plugin(s), %zu rejected dir=\"%s\"",
                     n, vrt_registry_fault_count(reg), plugin_dir);
    }

    vrt_apiserver *api = NULL;
    vrt_kube *kube = NULL;
    vrt_controller *ctl = NULL;
    vrt_leader *leader = NULL;
    vrt_metrics_server *msrv = NULL;
    int status = 1;
    if (elect < 0)
        elect = !standalone;
    if (standalone && vrt_apiserver_start(&api, &ao, &err) != VRT_OK) {
        fprintf(stderr, "virtrigaud-manager: %s\n", err.message);
        goto cleanup;
    }
    if (metrics_addr && vrt_metrics_serve(&msrv, metrics_addr, &err) != VRT_OK) {
        fprintf(stderr, "virtrigaud-manager: %s\n", err.message);
        goto cleanup;
    }
    if (run_controller) {
        if (vrt_kube_open(&kube, api ? vrt_apiserver_kubeconfig(api) : kubeconfig,
                          &err) != VRT_OK ||
            (elect && vrt_leader_start(&leader, kube, &lo, &err) != VRT_OK) ||
            (!elect && vrt_controller_start(&ctl, kube, reg, &co, &err) != VRT_OK)) {
            fprintf(stderr, "virtrigaud-manager: %s\n", err.message);
            goto cleanup;
        }
        if (!elect)
            vrt_metrics_leader(1); /* the only one: it always leads */
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (api)
        printf("virtrigaud-manager: serving on port %u; kubeconfig: %s\n",
               vrt_apiserver_port(api), vrt_apiserver_kubeconfig(api));
    fflush(stdout);
    /* No pause(): a signal between test and call would hang.  With leader
     * election the controller runs only while we hold the Lease; stopping
     * it waits for reconciles in flight. */
    while (!stop_requested) {
        nanosleep(&(struct timespec){0, 100000000}, NULL);
        if (!leader)
            continue;
        int leading = vrt_leader_is_leader(leader);
        vrt_metrics_leader(leading);
        if (leading && !ctl) {
            if (vrt_controller_start(&ctl, kube, reg, &co, &err) != VRT_OK) {
                fprintf(stderr, "virtrigaud-manager: %s\n", err.message);
                goto cleanup;
            }
        } else if (!leading && ctl) {
            vrt_log_warn("Not the leader any more: stopping the controller.");
            vrt_controller_stop(ctl);
            ctl = NULL;
        }
    }
    vrt_log_info("Stopping.");
    status = 0;
cleanup:
    /* The controller goes first: its watches talk to the API server. */
    vrt_controller_stop(ctl);
    vrt_leader_stop(leader); /* after the controller: release only when idle */
    vrt_kube_close(kube);
    vrt_apiserver_stop(api);
    vrt_metrics_server_stop(msrv);
    vrt_registry_free(reg);
    vrt_metrics_free_all();
    return status;
}
