/*
 * virtrigaud-provider-host: serves one provider plugin over a socket with
 * mutual TLS 1.3, so that a plugin runs in its own process (or pod) with
 * its own credentials and a plugin crash cannot take the manager down.
 * See docs/provider-host.md.
 */
#include "host.h"

#include <vrt/log.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
        "Usage: virtrigaud-provider-host --plugin PATH.so --listen ADDRESS\n"
        "           (--cert FILE --key FILE --ca FILE [--crl FILE]\n"
        "            [--allowed-san NAME]... | --insecure)\n"
        "\n"
        "Serves one virtrigaud provider plugin to managers over a socket.\n"
        "The plugin runs in a worker process that is restarted when it\n"
        "dies; the call that was in flight gets the error \"Provider plugin\n"
        "crashed (signal N) during METHOD; restarted.\" and the next call\n"
        "works.  Clients (the manager's remote transport, vcts --remote)\n"
        "must present a certificate signed by the --ca; TLS 1.3 only.\n"
        "\n"
        "Options:\n"
        "  --plugin PATH.so      the provider plugin to serve (required)\n"
        "  --listen ADDRESS      unix:/PATH or tcp:HOST:PORT (required);\n"
        "                        port 0 picks a free port, printed on start\n"
        "  --cert FILE           the host's certificate chain (PEM)\n"
        "  --key FILE            its private key (PEM)\n"
        "  --ca FILE             CA certificate(s) that sign client\n"
        "                        certificates (PEM); a client without a\n"
        "                        certificate from it is refused\n"
        "  --crl FILE            a CRL (PEM) from that CA: revoked client\n"
        "                        certificates are refused\n"
        "  --allowed-san NAME    accept only client certificates with this\n"
        "                        DNS, IP or URI subject alternative name, or\n"
        "                        (a certificate without SANs) this one common\n"
        "                        name (repeatable; default: any from the CA)\n"
        "  --insecure            plaintext, no client authentication: anyone\n"
        "                        who can reach the socket drives the plugin\n"
        "                        and credentials cross in clear.  Refused\n"
        "                        together with --cert/--key/--ca.\n"
        "  --credentials-dir DIR the plugin's credentials as one file per key\n"
        "                        (a mounted Secret): secret_get reads DIR/KEY\n"
        "                        and never asks the manager\n"
        "  --skip-plugin-perms   do not check the plugin file's owner and mode\n"
        "  --metrics-addr ADDR   serve plain HTTP on IPV4:PORT for probes:\n"
        "                        GET /healthz (the host answers), /readyz\n"
        "                        (503 while no worker runs the plugin) and\n"
        "                        /metrics; unauthenticated, so bind it to\n"
        "                        loopback or a pod address\n"
        "  --help                this text\n"
        "  --version             the version and protocol version\n"
        "\n"
        "Certificates: --cert, --key, --ca and --crl are read again on\n"
        "SIGHUP and when any of the files changes (checked every second);\n"
        "new connections use the new ones, open connections keep theirs.  A\n"
        "reload that fails keeps the old ones and logs why.  Expired client\n"
        "certificates are refused.\n"
        "\n"
        "Wire protocol version %d: length-prefixed frames, a JSON header per\n"
        "call, raw binary frames for disk stream data (docs/provider-host.md).\n"
        "Credentials: without --credentials-dir the plugin's secret_get is\n"
        "answered by the calling manager, one key at a time, from the\n"
        "Provider's credentialSecretRef, inside the TLS connection.\n"
        "\n"
        "Exit status: 0 after SIGTERM or SIGINT, 2 usage or configuration\n"
        "error (a missing certificate, --insecure missing), 1 other failure.\n",
        VRT_REMOTE_PROTO);
}

static int parse(host_opts *o, int argc, char **argv)
{
    enum { O_PLUGIN = 256, O_LISTEN, O_CERT, O_KEY, O_CA, O_CRL, O_SAN,
           O_INSECURE, O_PERMS, O_WORKER, O_HELP, O_VERSION, O_CREDS,
           O_METRICS };
    static const struct option longs[] = {
        {"plugin", required_argument, NULL, O_PLUGIN},
        {"listen", required_argument, NULL, O_LISTEN},
        {"cert", required_argument, NULL, O_CERT},
        {"key", required_argument, NULL, O_KEY},
        {"ca", required_argument, NULL, O_CA},
        {"crl", required_argument, NULL, O_CRL},
        {"allowed-san", required_argument, NULL, O_SAN},
        {"insecure", no_argument, NULL, O_INSECURE},
        {"skip-plugin-perms", no_argument, NULL, O_PERMS},
        {"credentials-dir", required_argument, NULL, O_CREDS},
        {"metrics-addr", required_argument, NULL, O_METRICS},
        {"worker-fd", required_argument, NULL, O_WORKER},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof(*o));
    o->worker_fd = -1;
    o->allowed_sans = calloc((size_t)argc + 1, sizeof(char *));
    if (!o->allowed_sans)
        abort();
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case O_PLUGIN: o->plugin = optarg; break;
        case O_LISTEN: o->listen = optarg; break;
        case O_CERT: o->cert = optarg; break;
        case O_KEY: o->key = optarg; break;
        case O_CA: o->ca = optarg; break;
        case O_CRL: o->crl = optarg; break;
        case O_SAN: o->allowed_sans[o->nallowed++] = optarg; break;
        case O_INSECURE: o->insecure = 1; break;
        case O_PERMS: o->skip_perms = 1; break;
        case O_CREDS: o->credentials_dir = optarg; break;
        case O_METRICS: o->metrics_addr = optarg; break;
        case O_WORKER: o->worker_fd = atoi(optarg); break;
        case O_HELP: usage(stdout); exit(0);
        case O_VERSION:
            printf("virtrigaud-provider-host %s (protocol %d, provider ABI "
                   "%u.%u)\n",
                   HOST_VERSION, VRT_REMOTE_PROTO, VRT_ABI_MAJOR,
                   VRT_ABI_MINOR);
            exit(0);
        default:
            fprintf(stderr, "Try \"virtrigaud-provider-host --help\".\n");
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "virtrigaud-provider-host: unexpected argument "
                        "\"%s\".\n", argv[optind]);
        return -1;
    }
    if (!o->plugin) {
        fprintf(stderr, "virtrigaud-provider-host: --plugin PATH.so is "
                        "required.\n");
        return -1;
    }
    if (o->worker_fd >= 0)
        return 0;
    if (!o->listen) {
        fprintf(stderr, "virtrigaud-provider-host: --listen unix:/PATH or "
                        "tcp:HOST:PORT is required.\n");
        return -1;
    }
    int any = o->cert || o->key || o->ca || o->crl || o->nallowed;
    if (o->insecure && any) {
        fprintf(stderr, "virtrigaud-provider-host: --insecure (plaintext) "
                        "cannot be combined with --cert, --key, --ca, --crl "
                        "or --allowed-san.\n");
        return -1;
    }
    if (!o->insecure && !(o->cert && o->key && o->ca)) {
        fprintf(stderr,
                "virtrigaud-provider-host: mutual TLS needs --cert, --key and "
                "--ca (missing:%s%s%s); to serve plaintext anyway, say "
                "--insecure.\n",
                o->cert ? "" : " --cert", o->key ? "" : " --key",
                o->ca ? "" : " --ca");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* Static: relay threads may still read it while the process exits. */
    static host_opts o;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse(&o, argc, argv)) {
        free(o.allowed_sans);
        return 2;
    }
    return o.worker_fd >= 0 ? worker_main(&o) : supervisor_main(&o, argv);
}
