/*
 * virtrigaud-loadgen: creates VirtualMachines, drives a timed mix of
 * power / reconfigure / delete / create operations, and reports
 * throughput and latency percentiles per operation kind.  The benchmark
 * of record for the controller (bench/controller.sh runs it).
 *
 * Exit codes: 0 every operation completed, 1 one failed or timed out,
 * 2 usage, 3 cannot start (API server, missing class/provider/image, an
 * earlier run's VMs), 130 interrupted (after cleanup).
 */
#include "loadgen.h"

#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ME "virtrigaud-loadgen"

static void usage(FILE *out)
{
    fprintf(out,
        "Usage: " ME " --vms N --class NAME --provider NAME [options]\n"
        "\n"
        "Load generator and benchmark for the virtrigaud controller.\n"
        "\n"
        "Creates N VirtualMachines, follows them with one watch until each is\n"
        "Ready (apply-to-Ready latency), then drives a timed mix of operations,\n"
        "each waited for until the watch shows its effect, and reports\n"
        "throughput (ops/s) and latency percentiles (p50, p90, p99, max) per\n"
        "operation.  Works against standalone mode or a cluster.\n"
        "The VMs carry the label " LG_LABEL "=PREFIX and are deleted at the\n"
        "end (also on Ctrl-C) unless --keep is given.  The report goes to\n"
        "stdout; on a terminal, progress goes to stderr once a second.\n"
        "\n"
        "Required:\n"
        "  --vms N               VirtualMachines to create first (1-1000000)\n"
        "  --class NAME          their VMClass (must exist)\n"
        "  --provider NAME       their Provider (must exist)\n"
        "\n"
        "Options:\n"
        "  --image NAME          their VMImage (spec.imageRef; default none)\n"
        "  --kubeconfig FILE     API server and credentials (default: $KUBECONFIG,\n"
        "                        in-cluster, ~/.kube/config); standalone mode writes\n"
        "                        DATA-DIR/kubeconfig\n"
        "  -n, --namespace NS    namespace (default: the context's)\n"
        "  --concurrency C       requests and operations in flight (default 16)\n"
        "  --mix SPEC            the weights of the mix, e.g.\n"
        "                        create=10,power=50,reconfigure=30,delete=10 (the\n"
        "                        default); operations left out get weight 0\n"
        "  --duration S          seconds of mix after all are Ready (default 10;\n"
        "                        0 skips the mix)\n"
        "  --timeout S           seconds an operation may take until observed\n"
        "                        (default 300); later counts as a timeout\n"
        "  --alt-class NAME      reconfigure switches spec.classRef between --class\n"
        "                        and NAME (default: it toggles spec.resources.cpu\n"
        "                        between the class's CPU count and one more)\n"
        "  --prefix P            VM names P-000001...; also the label value\n"
        "                        (default lg; lower-case letters, digits, '-')\n"
        "  -o, --output FMT      text (default) or json\n"
        "  --keep                leave the VMs in place at the end\n"
        "  -h, --help            this text\n"
        "\n"
        "Operations and when they count as done:\n"
        "  create       POST a VM; done when its Ready condition is True\n"
        "  power        set spec.powerState to the opposite of status.powerState;\n"
        "               done when status.powerState matches at that generation\n"
        "  reconfigure  change the CPU count (or class); done when\n"
        "               status.currentResources.cpu matches at that generation\n"
        "  delete       DELETE a VM; done when the watch reports it gone\n"
        "\n"
        "Exit codes: 0 every operation completed, 1 an operation failed or timed\n"
        "out, 2 usage, 3 cannot start (API server unreachable, class, provider or\n"
        "image missing, VMs of an earlier run with this prefix), 130 interrupted.\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, ME ": ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nSee " ME " --help.\n");
    va_end(ap);
    return LG_EXIT_USAGE;
}

/* A whole number in [lo, hi]. */
static int parse_long(long *out, const char *text, long lo, long hi)
{
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_seconds(double *out, const char *text, double lo)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (!*text || *end || !(v >= lo) || v > 86400 * 7)
        return -1;
    *out = v;
    return 0;
}

/* "create=10,power=50,...": every kind not named gets 0. */
static int parse_mix(unsigned weight[LG_KINDS], const char *spec)
{
    char buf[256];
    if (strlen(spec) >= sizeof(buf))
        return usage_error("--mix \"%s\" is too long.", spec);
    snprintf(buf, sizeof(buf), "%s", spec);
    unsigned w[LG_KINDS] = {0}, total = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        long v;
        if (!eq || parse_long(&v, eq + 1, 0, 1000000) != 0)
            return usage_error("--mix: \"%s\" is not OPERATION=WEIGHT with a whole "
                               "number of 0 or more (e.g. power=50).", t);
        *eq = '\0';
        int k = 0;
        while (k < LG_KINDS && strcmp(t, lg_kind_names[k]) != 0)
            k++;
        if (k == LG_KINDS)
            return usage_error("--mix: unknown operation \"%s\"; use create, power, "
                               "reconfigure and delete.", t);
        w[k] = (unsigned)v;
        total += (unsigned)v;
    }
    if (total == 0)
        return usage_error("--mix \"%s\" gives every operation weight 0; use "
                           "--duration 0 to skip the mix.", spec);
    memcpy(weight, w, sizeof(w));
    return 0;
}

static int valid_prefix(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > 40 || !islower((unsigned char)p[0]) || p[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)p[i]) && !isdigit((unsigned char)p[i]) && p[i] != '-')
            return 0;
    return 1;
}

enum { O_KUBECONFIG = 256, O_VMS, O_CLASS, O_ALT_CLASS, O_PROVIDER, O_IMAGE,
       O_CONCURRENCY, O_MIX, O_DURATION, O_TIMEOUT, O_PREFIX, O_KEEP };

static const struct option long_opts[] = {
    {"kubeconfig", required_argument, NULL, O_KUBECONFIG},
    {"namespace", required_argument, NULL, 'n'},
    {"vms", required_argument, NULL, O_VMS},
    {"class", required_argument, NULL, O_CLASS},
    {"alt-class", required_argument, NULL, O_ALT_CLASS},
    {"provider", required_argument, NULL, O_PROVIDER},
    {"image", required_argument, NULL, O_IMAGE},
    {"concurrency", required_argument, NULL, O_CONCURRENCY},
    {"mix", required_argument, NULL, O_MIX},
    {"duration", required_argument, NULL, O_DURATION},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"prefix", required_argument, NULL, O_PREFIX},
    {"output", required_argument, NULL, 'o'},
    {"keep", no_argument, NULL, O_KEEP},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Fills o from argv; returns -1 to exit 0 (--help), else an exit code
 * (LG_EXIT_OK to go on). */
static int parse_args(lg_opts *o, int argc, char **argv)
{
    *o = (lg_opts){.concurrency = 16, .duration_s = 10, .timeout_s = 300,
                   .prefix = "lg", .output = "text",
                   .weight = {[LG_CREATE] = 10, [LG_POWER] = 50,
                              [LG_RECONFIGURE] = 30, [LG_DELETE] = 10}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hn:o:", long_opts, NULL)) != -1) {
        const char *a = optarg;
        switch (c) {
        case 'h': usage(stdout); return -1;
        case O_KUBECONFIG: o->kubeconfig = a; break;
        case 'n': o->ns = a; break;
        case O_CLASS: o->cls = a; break;
        case O_ALT_CLASS: o->alt_class = a; break;
        case O_PROVIDER: o->provider = a; break;
        case O_IMAGE: o->image = a; break;
        case O_PREFIX: o->prefix = a; break;
        case 'o': o->output = a; break;
        case O_KEEP: o->keep = 1; break;
        case O_VMS:
            if (parse_long(&o->vms, a, 1, 1000000) != 0)
                return usage_error("--vms must be a whole number from 1 to 1000000, "
                                   "not \"%s\".", a);
            break;
        case O_CONCURRENCY:
            if (parse_long(&o->concurrency, a, 1, 256) != 0)
                return usage_error("--concurrency must be a whole number from 1 to "
                                   "256, not \"%s\".", a);
            break;
        case O_DURATION:
            if (parse_seconds(&o->duration_s, a, 0) != 0)
                return usage_error("--duration must be seconds (0 or more), not "
                                   "\"%s\".", a);
            break;
        case O_TIMEOUT:
            if (parse_seconds(&o->timeout_s, a, 0.001) != 0)
                return usage_error("--timeout must be seconds (more than 0), not "
                                   "\"%s\".", a);
            break;
        case O_MIX:
            if (parse_mix(o->weight, a) != 0)
                return LG_EXIT_USAGE;
            break;
        case ':':
            return usage_error("option \"%s\" needs a value.", argv[optind - 1]);
        default:
            return usage_error("unknown option \"%s\".", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument \"%s\".", argv[optind]);
    if (!o->vms)
        return usage_error("missing --vms: how many VirtualMachines to create.");
    if (!o->cls || !*o->cls)
        return usage_error("missing --class: the VMClass of the VirtualMachines.");
    if (!o->provider || !*o->provider)
        return usage_error("missing --provider: the Provider of the "
                           "VirtualMachines.");
    if (strcmp(o->output, "text") && strcmp(o->output, "json"))
        return usage_error("--output must be text or json, not \"%s\".", o->output);
    if (!valid_prefix(o->prefix))
        return usage_error("--prefix \"%s\" must be 1 to 40 lower-case letters, digits "
                           "and '-', starting with a letter.", o->prefix);
    return LG_EXIT_OK;
}

static void on_signal(int sig)
{
    (void)sig;
    lg_interrupted = 1;
    static const char msg[] = "\n" ME ": interrupted; finishing and deleting the "
                              "VMs made so far (interrupt again to quit at once).\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)w;
}

static void free_vm(void *p)
{
    free(p);
}

static int exit_code(const lg_run *r)
{
    if (lg_interrupted)
        return LG_EXIT_INTERRUPTED;
    return r->nerrors ? LG_EXIT_FAILED : LG_EXIT_OK;
}

int main(int argc, char **argv)
{
    lg_run r = {0};
    int rc = parse_args(&r.o, argc, argv);
    if (rc != LG_EXIT_OK)
        return rc < 0 ? LG_EXIT_OK : rc;

    vrt_error err = VRT_ERROR_INIT;
    if (vrt_kube_open(&r.kube, r.o.kubeconfig, &err) != VRT_OK) {
        fprintf(stderr, ME ": %s\nPoint --kubeconfig at the file "
                        "virtrigaud-manager --standalone printed.\n", err.message);
        return LG_EXIT_SETUP;
    }
    if (!r.o.ns)
        r.o.ns = vrt_kube_namespace(r.kube);
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.changed, NULL);
    r.by_name = vrt_hmap_new(NULL);

    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    char why[1024] = "";
    if (lg_preflight(&r, why, sizeof(why)) != 0 ||
        lg_watch_start(&r, why, sizeof(why)) != 0) {
        fprintf(stderr, ME ": %s\n", why);
        rc = lg_interrupted ? LG_EXIT_INTERRUPTED : LG_EXIT_SETUP;
        goto cleanup;
    }
    lg_phase_create(&r);
    lg_phase_mix(&r);
    if (!r.o.keep)
        lg_phase_cleanup(&r);
    rc = exit_code(&r);
    lg_report(&r, rc);

cleanup:
    lg_watch_stop(&r);
    for (size_t i = 0; i < r.nvms; i++)
        free_vm(r.vms[i]);
    free(r.vms);
    vrt_hmap_free(r.by_name);
    lg_stats_clear(&r.create);
    lg_stats_clear(&r.cleanup);
    for (int k = 0; k < LG_KINDS; k++)
        lg_stats_clear(&r.mix[k]);
    pthread_cond_destroy(&r.changed);
    pthread_mutex_destroy(&r.lock);
    vrt_kube_close(r.kube);
    return rc;
}
