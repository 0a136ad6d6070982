/*
 * verify.c - `vrtg-provider verify PLUGIN.so`: runs vcts on a plugin and
 * prints a report by capability.  vcts does the testing; this file only
 * finds it, runs it twice (--list for what each test needs, then the
 * run) and regroups its lines, so the two can never disagree on a verdict.
 */
#include "vrtg_provider.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATH_BUF 4096
#define MAX_TESTS 256
#define MAX_GROUPS 48
#define GROUP_BASE "(always tested)"

typedef struct test_row {
    char name[64];
    char group[40]; /* the most specific capability it needs */
    char verdict;   /* 'P', 'F', 'S', or 0 when not run */
    char reason[400];
} test_row;

typedef struct group_row {
    char name[40];
    int pass, fail, skip;
} group_row;

static void verify_usage(FILE *out)
{
    fprintf(out,
        "Usage: vrtg-provider verify PLUGIN.so [--config FILE] [options]\n"
        "\n"
        "Runs vcts, the provider conformance suite, on PLUGIN.so and prints\n"
        "its verdicts grouped by the capability each test needs, then every\n"
        "failure with its reason.  A skipped test is never counted as\n"
        "passed.\n"
        "\n"
        "Options:\n"
        "  --config FILE   vcts settings: endpoint, Provider spec, secrets,\n"
        "                  VM spec (see docs/vcts.md)\n"
        "  --vcts PATH     the vcts to run (default: the one next to this\n"
        "                  vrtg-provider, else vcts on PATH)\n"
        "  --filter SUBSTR run only the tests whose name contains SUBSTR\n"
        "  -v, --verbose   also print vcts's own lines and logs\n"
        "  -h, --help      this text\n"
        "\n"
        "Exit codes: 0 no test failed, 1 a test failed, 2 usage error,\n"
        "vcts not found, or a plugin that would not load.\n");
}

static int is_exec(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           access(path, X_OK) == 0;
}

/* Finds vcts next to this executable, then on PATH. */
static int find_vcts(char *out, size_t size)
{
    char self[PATH_BUF];
    const char *path = getenv("PATH");

    vrtg_self_dir(self, sizeof(self));
    if (self[0]) {
        snprintf(out, size, "%s/vcts", self);
        if (is_exec(out))
            return 0;
    }
    while (path && *path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        snprintf(out, size, "%.*s/vcts", (int)len, len ? path : ".");
        if (is_exec(out))
            return 0;
        path = colon ? colon + 1 : NULL;
    }
    out[0] = '\0';
    return -1;
}

/* Runs argv with stdout captured into *out (malloc'd, NUL-terminated) and
 * stderr into *errout.  Returns the exit status, or -1 when it could not
 * run or was killed. */
static int run_capture(char **out, char **errout, char *const argv[])
{
    FILE *so = tmpfile(), *se = tmpfile();
    FILE *files[2] = {so, se};
    char **dest[2] = {out, errout};
    int status = -1;
    pid_t pid = -1;

    *out = NULL;
    *errout = NULL;
    if (!so || !se)
        goto cleanup;
    fflush(stdout);
    pid = fork();
    if (pid < 0)
        goto cleanup;
    if (pid == 0) {
        dup2(fileno(so), 1);
        dup2(fileno(se), 2);
        execv(argv[0], argv);
        fprintf(stderr, "cannot run \"%s\": %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    for (int i = 0; i < 2; i++) {
        long len = 0;
        fseek(files[i], 0, SEEK_END);
        len = ftell(files[i]);
        rewind(files[i]);
        *dest[i] = calloc(1, (size_t)(len > 0 ? len : 0) + 1);
        if (!*dest[i]) {
            fprintf(stderr, "vrtg-provider: out of memory.\n");
            abort();
        }
        if (len > 0 && fread(*dest[i], 1, (size_t)len, files[i]) != (size_t)len)
            (*dest[i])[0] = '\0';
    }
cleanup:
    if (so)
        fclose(so);
    if (se)
        fclose(se);
    if (!*out)
        *out = calloc(1, 1);
    if (!*errout)
        *errout = calloc(1, 1);
    if (!*out || !*errout)
        abort();
    return status;
}

/* Reads `vcts --list`: "name   description [needs A, B]". */
static int parse_list(test_row *rows, int max, char *text)
{
    int n = 0;
    for (char *line = strtok(text, "\n"); line && n < max;
         line = strtok(NULL, "\n")) {
        test_row *r = &rows[n];
        const char *needs = strstr(line, "[needs ");
        size_t len = strcspn(line, " \t");
        if (len == 0 || len >= sizeof(r->name))
            continue;
        memset(r, 0, sizeof(*r));
        memcpy(r->name, line, len);
        snprintf(r->group, sizeof(r->group), "%s", GROUP_BASE);
        if (needs) {
            const char *end = strchr(needs, ']');
            const char *last = needs + 7;
            for (const char *p = last; end && p < end; p++)
                if (*p == ',')
                    last = p + 1;
            while (*last == ' ')
                last++;
            if (end && end > last)
                snprintf(r->group, sizeof(r->group), "%.*s",
                         (int)(end - last), last);
        }
        n++;
    }
    return n;
}

static test_row *find_row(test_row *rows, int n, const char *name, size_t len)
{
    for (int i = 0; i < n; i++)
        if (strlen(rows[i].name) == len && !strncmp(rows[i].name, name, len))
            return &rows[i];
    return NULL;
}

/* Reads the run's "PASS name", "FAIL name: why", "SKIP name: why" lines.
 * Returns how many verdicts it found; *summary gets the closing line. */
static int parse_run(test_row *rows, int n, const char *text, char *summary,
                     size_t summary_size)
{
    int found = 0;
    summary[0] = '\0';
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        size_t llen = eol ? (size_t)(eol - line) : strlen(line);
        char v = 0;
        if (llen > 5 && !strncmp(line, "PASS ", 5))
            v = 'P';
        else if (llen > 5 && !strncmp(line, "FAIL ", 5))
            v = 'F';
        else if (llen > 5 && !strncmp(line, "SKIP ", 5))
            v = 'S';
        else if (strstr(line, " passed, ") && strstr(line, " failed, ") &&
                 (!eol || strstr(line, " failed, ") < eol))
            snprintf(summary, summary_size, "%.*s", (int)llen, line);
        if (v) {
            const char *name = line + 5;
            size_t nlen = strcspn(name, ":\n");
            test_row *r = find_row(rows, n, name, nlen);
            if (r) {
                const char *why = name + nlen;
                r->verdict = v;
                if (*why == ':') {
                    const char *rs = why + 1;
                    while (*rs == ' ')
                        rs++;
                    snprintf(r->reason, sizeof(r->reason), "%.*s",
                             (int)(line + llen > rs ? line + llen - rs : 0),
                             rs);
                }
                found++;
            }
        }
        line = eol ? eol + 1 : line + llen;
    }
    return found;
}

static void report(const char *plugin, test_row *rows, int n,
                   const char *summary)
{
    group_row groups[MAX_GROUPS];
    int ng = 0;

    memset(groups, 0, sizeof(groups));
    for (int i = 0; i < n; i++) {
        group_row *g = NULL;
        if (!rows[i].verdict)
            continue;
        for (int j = 0; j < ng; j++)
            if (!strcmp(groups[j].name, rows[i].group))
                g = &groups[j];
        if (!g && ng < MAX_GROUPS) {
            g = &groups[ng++];
            snprintf(g->name, sizeof(g->name), "%s", rows[i].group);
        }
        if (!g)
            continue;
        g->pass += rows[i].verdict == 'P';
        g->fail += rows[i].verdict == 'F';
        g->skip += rows[i].verdict == 'S';
    }
    printf("vcts report for %s\n\n", plugin);
    printf("%-22s %5s %5s %5s  %s\n", "capability", "pass", "fail", "skip",
           "verdict");
    for (int j = 0; j < ng; j++) {
        const group_row *g = &groups[j];
        const char *verdict = g->fail       ? "FAILED"
                              : g->pass && g->skip ? "partly skipped"
                              : g->pass     ? "ok"
                                            : "skipped";
        printf("%-22s %5d %5d %5d  %s\n", g->name, g->pass, g->fail, g->skip,
               verdict);
    }
    for (int i = 0, first = 1; i < n; i++) {
        if (rows[i].verdict != 'F')
            continue;
        if (first)
            printf("\nFailures:\n");
        first = 0;
        printf("  FAIL %s [%s]: %s\n", rows[i].name, rows[i].group,
               rows[i].reason);
    }
    printf("\n%s\n", summary);
}

int vrtg_verify_main(int argc, char **argv)
{
    const char *plugin = NULL, *config = NULL, *filter = NULL, *vcts = NULL;
    char vcts_buf[PATH_BUF], summary[128], plugin_buf[PATH_BUF];
    char *list_out = NULL, *list_err = NULL, *run_out = NULL, *run_err = NULL;
    char *args[8];
    test_row *rows = NULL;
    int verbose = 0, n = 0, na = 0, status = 0, rc = VRTG_EXIT_USAGE;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            verify_usage(stdout);
            return VRTG_EXIT_OK;
        } else if (!strcmp(a, "--config") && i + 1 < argc) {
            config = argv[++i];
        } else if (!strcmp(a, "--vcts") && i + 1 < argc) {
            vcts = argv[++i];
        } else if (!strcmp(a, "--filter") && i + 1 < argc) {
            filter = argv[++i];
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            verbose = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr,
                    "vrtg-provider verify: unknown option \"%s\" or missing "
                    "value (see vrtg-provider verify --help).\n",
                    a);
            return VRTG_EXIT_USAGE;
        } else if (!plugin) {
            plugin = a;
        } else {
            fprintf(stderr,
                    "vrtg-provider verify: one PLUGIN.so only; \"%s\" is "
                    "extra.\n",
                    a);
            return VRTG_EXIT_USAGE;
        }
    }
    if (!plugin) {
        fprintf(stderr, "vrtg-provider verify: give the plugin's .so file "
                        "(see vrtg-provider verify --help).\n");
        return VRTG_EXIT_USAGE;
    }
    if (access(plugin, R_OK) != 0) {
        fprintf(stderr, "vrtg-provider verify: cannot read the plugin \"%s\": "
                        "%s.\n",
                plugin, strerror(errno));
        return VRTG_EXIT_USAGE;
    }
    if (config && access(config, R_OK) != 0) {
        fprintf(stderr, "vrtg-provider verify: cannot read the config \"%s\": "
                        "%s.\n",
                config, strerror(errno));
        return VRTG_EXIT_USAGE;
    }
    /* dlopen reads a name without a slash as a library to search for, not
     * as a file here. */
    if (!strchr(plugin, '/')) {
        snprintf(plugin_buf, sizeof(plugin_buf), "./%s", plugin);
        plugin = plugin_buf;
    }
    if (vcts) {
        snprintf(vcts_buf, sizeof(vcts_buf), "%s", vcts);
    } else if (find_vcts(vcts_buf, sizeof(vcts_buf)) != 0) {
        fprintf(stderr, "vrtg-provider verify: cannot find vcts next to "
                        "vrtg-provider or on PATH; install virtrigaud's tools "
                        "or give --vcts PATH.\n");
        return VRTG_EXIT_USAGE;
    }
    if (!is_exec(vcts_buf)) {
        fprintf(stderr, "vrtg-provider verify: \"%s\" is not an executable "
                        "vcts.\n",
                vcts_buf);
        return VRTG_EXIT_USAGE;
    }

    args[0] = vcts_buf;
    args[1] = (char *)"--list";
    args[2] = NULL;
    status = run_capture(&list_out, &list_err, args);
    rows = calloc(MAX_TESTS, sizeof(*rows));
    if (!rows)
        abort();
    n = status == 0 ? parse_list(rows, MAX_TESTS, list_out) : 0;
    if (n == 0) {
        fprintf(stderr, "vrtg-provider verify: \"%s --list\" failed (exit %d) "
                        "or listed no test:\n%s",
                vcts_buf, status, list_err);
        goto cleanup;
    }

    args[na++] = vcts_buf;
    if (config) {
        args[na++] = (char *)"--config";
        args[na++] = (char *)config;
    }
    if (filter) {
        args[na++] = (char *)"--filter";
        args[na++] = (char *)filter;
    }
    args[na++] = (char *)plugin;
    args[na] = NULL;
    status = run_capture(&run_out, &run_err, args);
    if (verbose) {
        fputs(run_out, stdout);
        fputs(run_err, stderr);
    }
    if (status != 0 && status != 1) {
        fprintf(stderr, "vrtg-provider verify: vcts could not test \"%s\" "
                        "(exit %d):\n%s%s",
                plugin, status, verbose ? "" : run_err,
                verbose ? "" : run_out);
        goto cleanup;
    }
    if (parse_run(rows, n, run_out, summary, sizeof(summary)) == 0 ||
        !summary[0]) {
        fprintf(stderr, "vrtg-provider verify: vcts printed no verdicts for "
                        "\"%s\":\n%s",
                plugin, run_out);
        goto cleanup;
    }
    report(plugin, rows, n, summary);
    rc = status == 0 ? VRTG_EXIT_OK : VRTG_EXIT_FAILED;
    printf("Result: %s\n", rc == VRTG_EXIT_OK ? "PASS (no test failed)"
                                              : "FAIL (see the failures above)");
cleanup:
    free(rows);
    free(list_out);
    free(list_err);
    free(run_out);
    free(run_err);
    return rc;
}
