/*
 * vcts: the virtrigaud provider conformance test suite.
 *
 * Loads a provider plugin through the manager's own loader, opens one
 * connection, and runs the contract tests against it through the same safe
 * wrappers the manager uses.  One line per test, then the closing
 * "N passed, N failed, N skipped".  Exit 0: nothing failed; 1: a test
 * failed; 2: bad usage, bad config, or the plugin would not load.
 */
#include "vcts.h"

#include <vrt/log.h>
#include <vrt/remote.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_TESTS_FAILED 1
#define EXIT_USAGE 2

static const vcts_test *const tables[] = {
    vcts_tests_meta,    vcts_tests_abi,      vcts_tests_notfound,
    vcts_tests_lifecycle, vcts_tests_power,  vcts_tests_snapshot,
    vcts_tests_disk,    vcts_tests_concurrency, vcts_tests_misc,
    NULL,
};

typedef struct options {
    const char *config;
    const char *endpoint;
    const char *filter;
    const char *plugin;
    const char *remote; /* a provider host URL instead of a .so */
    vrt_remote_opts ropts;
    int list;
    int verbose;
} options;

typedef struct totals {
    unsigned passed, failed, skipped;
} totals;

static void usage(FILE *out)
{
    fprintf(out,
        "Usage: vcts [options] PLUGIN.so\n"
        "       vcts [options] --remote URL (--cert F --key F --ca F | "
        "--insecure)\n"
        "\n"
        "The virtrigaud provider conformance test suite.  Loads a provider\n"
        "plugin through the manager's loader and checks it against the\n"
        "provider ABI contract: metadata, flags, not-found semantics, VM\n"
        "lifecycle, idempotency, power, snapshots, clones, disk streams,\n"
        "concurrency.  Tests that need a capability the connection does not\n"
        "claim are skipped, never passed.\n"
        "\n"
        "Options:\n"
        "  --config FILE     JSON settings (see below)\n"
        "  --endpoint URI    the endpoint, overriding the config's\n"
        "  --filter SUBSTR   run only the tests whose name contains SUBSTR\n"
        "  --list            list the tests and the capabilities they need\n"
        "  --remote URL      test the plugin a virtrigaud-provider-host\n"
        "                    serves (tls://HOST:PORT or unix:///PATH;\n"
        "                    tcp://HOST:PORT with --insecure), through the\n"
        "                    manager's remote transport\n"
        "  --cert FILE       with --remote: our client certificate (PEM)\n"
        "  --key FILE        with --remote: its private key (PEM)\n"
        "  --ca FILE         with --remote: the CA of the host's certificate\n"
        "  --server-name N   with --remote: the name the host's certificate\n"
        "                    must carry (default: the URL's host)\n"
        "  --insecure        with --remote: plaintext, no certificates\n"
        "  -v, --verbose     print details of each test and info logs\n"
        "  --help            this text\n"
        "  --version         the vcts version\n"
        "\n"
        "Config file keys (all optional):\n"
        "  \"endpoint\"     Provider.spec.endpoint (default mock://vcts-PID)\n"
        "  \"config\"       object: the Provider spec passed as config_json\n"
        "  \"secrets\"      object of strings: the connection's credentials\n"
        "  \"vmSpec\"       object: spec_json for create\n"
        "                 (default {\"cpu\":1,\"memoryMiB\":256})\n"
        "  \"timeoutMs\"    deadline of each call and task wait (default "
        "30000)\n"
        "  \"skip\"         array of test names to skip\n"
        "  \"missingVmId\"  an id that names no VM (default "
        "vcts-missing-PID)\n"
        "\n"
        "Output: \"PASS name\", \"FAIL name: reason\" or \"SKIP name: "
        "reason\"\n"
        "per test, then \"N passed, N failed, N skipped\".  VMs are named\n"
        "vcts-PID-TEST and destroyed after each test.\n"
        "\n"
        "Exit status: 0 nothing failed, 1 a test failed, 2 usage, config or\n"
        "load error.  See docs/vcts.md.\n");
}

static int parse_args(options *o, int argc, char **argv)
{
    enum { OPT_CONFIG = 256, OPT_ENDPOINT, OPT_FILTER, OPT_LIST, OPT_HELP,
           OPT_VERSION, OPT_REMOTE, OPT_CERT, OPT_KEY, OPT_CA, OPT_SNI,
           OPT_INSECURE };
    static const struct option longs[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"endpoint", required_argument, NULL, OPT_ENDPOINT},
        {"filter", required_argument, NULL, OPT_FILTER},
        {"list", no_argument, NULL, OPT_LIST},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {"remote", required_argument, NULL, OPT_REMOTE},
        {"cert", required_argument, NULL, OPT_CERT},
        {"key", required_argument, NULL, OPT_KEY},
        {"ca", required_argument, NULL, OPT_CA},
        {"server-name", required_argument, NULL, OPT_SNI},
        {"insecure", no_argument, NULL, OPT_INSECURE},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(o, 0, sizeof(*o));
    while ((c = getopt_long(argc, argv, "v", longs, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG: o->config = optarg; break;
        case OPT_ENDPOINT: o->endpoint = optarg; break;
        case OPT_FILTER: o->filter = optarg; break;
        case OPT_LIST: o->list = 1; break;
        case 'v': o->verbose = 1; break;
        case OPT_REMOTE: o->remote = optarg; break;
        case OPT_CERT: o->ropts.cert_file = optarg; break;
        case OPT_KEY: o->ropts.key_file = optarg; break;
        case OPT_CA: o->ropts.ca_file = optarg; break;
        case OPT_SNI: o->ropts.server_name = optarg; break;
        case OPT_INSECURE: o->ropts.insecure = 1; break;
        case OPT_HELP: usage(stdout); exit(0);
        case OPT_VERSION:
            printf("vcts %s (provider ABI %u.%u)\n", VCTS_VERSION,
                   VRT_ABI_MAJOR, VRT_ABI_MINOR);
            exit(0);
        default:
            fprintf(stderr, "Try \"vcts --help\".\n");
            return -1;
        }
    }
    if (optind < argc)
        o->plugin = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "vcts: one plugin at a time; \"%s\" is extra.\n",
                argv[optind]);
        return -1;
    }
    if (o->remote && o->plugin) {
        fprintf(stderr, "vcts: give either PLUGIN.so or --remote URL, not "
                        "both.\n");
        return -1;
    }
    if (!o->plugin && !o->remote && !o->list) {
        fprintf(stderr, "vcts: no plugin given.\nUsage: vcts [options] "
                        "PLUGIN.so (vcts --help for more)\n");
        return -1;
    }
    return 0;
}

static const vcts_test *find_test(const char *name)
{
    for (size_t i = 0; tables[i]; i++)
        for (const vcts_test *t = tables[i]; t->name; t++)
            if (strcmp(t->name, name) == 0)
                return t;
    return NULL;
}

static int selected(const options *o, const vcts_test *t)
{
    return !o->filter || strstr(t->name, o->filter);
}

/* "SNAPSHOTS, SNAPSHOT_REVERT" for the bits of `caps`. */
static void cap_list(char *out, size_t size, uint64_t caps)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < 64 && n < size; i++)
        if (caps & (1ull << i))
            n += (size_t)snprintf(out + n, size - n, "%s%s", n ? ", " : "",
                                  vcts_cap_name(1ull << i));
}

static void list_tests(const options *o)
{
    for (size_t i = 0; tables[i]; i++)
        for (const vcts_test *t = tables[i]; t->name; t++) {
            char caps[256];
            if (!selected(o, t))
                continue;
            cap_list(caps, sizeof(caps), t->caps);
            printf("%-26s %s%s%s%s\n", t->name, t->summary,
                   t->caps ? " [needs " : "", caps, t->caps ? "]" : "");
        }
}

/* Why a test cannot run as things stand, or NULL.  `*skip` tells a skip
 * (what the connection claims) from a failure (what broke earlier). */
static const char *blocked(char *buf, size_t size, int *skip,
                           const vcts_run *run, const vcts_test *t)
{
    char caps[256];
    *skip = 0;
    if (vcts_config_skips(run->cfg, t->name)) {
        *skip = 1;
        return "skipped by config";
    }
    if ((t->needs & VCTS_NEED_CONN) && !run->conn) {
        snprintf(buf, size, "the connection could not be opened: %s",
                 run->open_err.message);
        return buf;
    }
    if ((t->needs & VCTS_NEED_CAPS || t->caps) && run->caps_rc != VRT_OK) {
        snprintf(buf, size,
                 "capabilities failed, so what the connection claims is "
                 "unknown: %s",
                 run->caps_err.message);
        return buf;
    }
    uint64_t missing = t->caps & ~run->caps.caps;
    if (missing) {
        cap_list(caps, sizeof(caps), missing);
        snprintf(buf, size,
                 "the connection lacks what this test needs (capabilit%s %s "
                 "not claimed)",
                 (missing & (missing - 1)) ? "ies" : "y", caps);
        *skip = 1;
        return buf;
    }
    return NULL;
}

static void run_one(totals *tot, vcts_run *run, const vcts_test *test)
{
    char buf[512];
    int skip;
    const char *why = blocked(buf, sizeof(buf), &skip, run, test);

    if (why) {
        printf("%s %s: %s\n", skip ? "SKIP" : "FAIL", test->name, why);
        if (skip)
            tot->skipped++;
        else
            tot->failed++;
        return;
    }
    vcts_t t;
    memset(&t, 0, sizeof(t));
    t.run = run;
    t.test = test;
    pthread_mutex_init(&t.lock, NULL);
    test->run(&t);
    vcts_vm_cleanup(&t);
    if (t.failed) {
        printf("FAIL %s: %s\n", test->name, t.reason);
        tot->failed++;
    } else if (t.skipped) {
        printf("SKIP %s: %s\n", test->name, t.reason);
        tot->skipped++;
    } else {
        printf("PASS %s\n", test->name);
        tot->passed++;
    }
    free(t.vms);
    pthread_mutex_destroy(&t.lock);
}

/* Opens the one connection every test shares and asks what it offers. */
static void open_connection(vcts_run *run)
{
    const vcts_config *cfg = run->cfg;
    vrt_call_ctx cc;

    run->open_rc = vrt_pconn_open(
        &run->conn, run->plugin, "vcts", cfg->endpoint, cfg->config_json,
        cfg->secrets ? vrt_secret_from_pairs : NULL, cfg->secrets,
        &run->open_err);
    if (run->open_rc != VRT_OK) {
        run->caps_rc = run->open_rc;
        return;
    }
    vrt_callctx_init(&cc, cfg->timeout_ms);
    run->caps_rc = vrt_p_capabilities(&run->caps, run->conn, &cc,
                                      &run->caps_err);
}

/* Every name in the config's "skip" list must be a test: a typo would
 * otherwise quietly run what the user meant to skip. */
static int check_skips(const vcts_config *cfg)
{
    for (size_t i = 0; i < cfg->nskip; i++)
        if (!find_test(cfg->skip[i])) {
            fprintf(stderr,
                    "vcts: config \"skip\" names \"%s\", which is no test; "
                    "vcts --list shows them.\n",
                    cfg->skip[i]);
            return -1;
        }
    return 0;
}

static int count_selected(const options *o)
{
    int n = 0;
    for (size_t i = 0; tables[i]; i++)
        for (const vcts_test *t = tables[i]; t->name; t++)
            n += selected(o, t) != 0;
    return n;
}

int main(int argc, char **argv)
{
    options o;
    vcts_config cfg;
    vcts_run run;
    vrt_registry *reg = NULL;
    vrt_plugin *remote = NULL;
    vrt_error err = VRT_ERROR_INIT;
    totals tot = {0, 0, 0};
    char why[512];
    int status = EXIT_USAGE;

    /* Results first, in order, even when stdout is a pipe. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    memset(&cfg, 0, sizeof(cfg));
    memset(&run, 0, sizeof(run));
    if (parse_args(&o, argc, argv))
        return EXIT_USAGE;
    if (o.list) {
        list_tests(&o);
        return 0;
    }
    if (count_selected(&o) == 0) {
        fprintf(stderr, "vcts: --filter \"%s\" matches no test.\n", o.filter);
        return EXIT_USAGE;
    }
    if (vcts_config_load(&cfg, o.config, o.endpoint, why, sizeof(why))) {
        fprintf(stderr, "vcts: %s\n", why);
        return EXIT_USAGE;
    }
    if (check_skips(&cfg))
        goto cleanup;
    /* The loader's info lines are noise here unless asked for. */
    if (!getenv("VRT_LOG_LEVEL"))
        vrt_log_set_level(o.verbose ? VRT_LVL_INFO : VRT_LVL_WARN);

    if (o.remote) {
        if (vrt_remote_plugin_open(&remote, o.remote, &o.ropts, &err) !=
            VRT_OK) {
            fprintf(stderr, "vcts: cannot reach \"%s\": %s\n", o.remote,
                    err.message);
            goto cleanup;
        }
        run.plugin = remote;
    } else {
        reg = vrt_registry_new();
        if (vrt_registry_load(&run.plugin, reg, o.plugin, 0, &err) !=
            VRT_OK) {
            fprintf(stderr, "vcts: cannot load \"%s\": %s\n", o.plugin,
                    err.message);
            goto cleanup;
        }
    }
    run.cfg = &cfg;
    run.verbose = o.verbose;
    run.pid = (long)getpid();
    run.vt = vrt_plugin_vtable(run.plugin);
    open_connection(&run);

    for (size_t i = 0; tables[i]; i++)
        for (const vcts_test *t = tables[i]; t->name; t++)
            if (selected(&o, t))
                run_one(&tot, &run, t);
    printf("%u passed, %u failed, %u skipped\n", tot.passed, tot.failed,
           tot.skipped);
    status = tot.failed ? EXIT_TESTS_FAILED : 0;

cleanup:
    vrt_pconn_close(run.conn);
    vrt_registry_free(reg);
    vrt_remote_plugin_free(remote);
    vcts_config_clear(&cfg);
    return status;
}
