/*
 * vrtg-provider: tooling for provider plugin authors.
 *
 *   vrtg-provider init NAME [--dir DIR]      scaffold a plugin that builds
 *                                            and passes vcts as it is
 *   vrtg-provider verify PLUGIN.so [--config FILE]   run vcts, report
 */
#include "vrtg_provider.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
        "Usage: vrtg-provider COMMAND [options]\n"
        "\n"
        "Tools for writing virtrigaud provider plugins out of tree.\n"
        "\n"
        "Commands:\n"
        "  init NAME [--dir DIR]     scaffold a plugin (source, Makefile,\n"
        "                            vcts config) that builds against the\n"
        "                            installed headers and passes vcts\n"
        "  verify PLUGIN.so [--config FILE]\n"
        "                            run vcts on a plugin and report\n"
        "                            pass/fail/skip by capability\n"
        "\n"
        "Options:\n"
        "  -h, --help                this text (COMMAND --help: its own)\n"
        "  --version                 the version\n"
        "\n"
        "Exit codes: 0 ok, 1 failed (a test failed, a name or directory\n"
        "refused), 2 usage error or a plugin that would not load.\n"
        "See docs/plugin-authoring.md.\n");
}

void vrtg_self_dir(char *out, size_t size)
{
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

    out[0] = '\0';
    if (n <= 0 || (size_t)n >= sizeof(path) - 1)
        return;
    path[n] = '\0';
    snprintf(out, size, "%s", dirname(path));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return VRTG_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return VRTG_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("vrtg-provider %s\n", VRTG_PROVIDER_VERSION);
        return VRTG_EXIT_OK;
    }
    if (!strcmp(argv[1], "init"))
        return vrtg_init_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "verify"))
        return vrtg_verify_main(argc - 1, argv + 1);
    fprintf(stderr,
            "vrtg-provider: unknown command \"%s\"; the commands are init and "
            "verify (see vrtg-provider --help).\n",
            argv[1]);
    return VRTG_EXIT_USAGE;
}
