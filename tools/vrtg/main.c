/*
 * vrtg: the virtrigaud command line.  Talks to standalone mode or to a
 * cluster through the same Kubernetes client as the manager.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 usage error,
 * 3 not found, 4 timed out waiting.
 */
#include "vrtg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
        "Usage: vrtg [global options] COMMAND [args]\n"
        "\n"
        "Manage virtrigaud virtual machines (infra.virtrigaud.io/v1beta1).\n"
        "\n"
        "Commands:\n"
        "  vm list                       list VirtualMachines\n"
        "  vm get NAME                   show one VirtualMachine\n"
        "  vm start|stop|restart NAME    set spec.powerState (restart: Off, then On)\n"
        "  vm delete NAME                delete (the provider VM goes too)\n"
        "  vm wait NAME [--for COND] [--timeout SECONDS]\n"
        "                                wait for a condition (default Ready)\n"
        "  vm create NAME --provider P --class C [--image I] [--off]\n"
        "                                create a VirtualMachine from flags\n"
        "  vm console NAME               print the VM's console URL\n"
        "  vm describe NAME              status, conditions and events of a VM\n"
        "  vm events NAME                the events about a VM, oldest first\n"
        "  provider list                 list Providers with health\n"
        "  provider status NAME          health, conditions, capabilities\n"
        "  provider capabilities NAME    what the Provider reported it can do\n"
        "  snapshot create VM [--name N] [--memory]\n"
        "  snapshot list [VM]\n"
        "  snapshot revert VM SNAPSHOT   (sets spec.snapshot.revertToRef)\n"
        "  clone VM TARGET [--linked] [--power-on]\n"
        "  migrate VM --to PROVIDER [--name TARGET] [--format qcow2|raw|vmdk]\n"
        "          [--follow] [--timeout SECONDS]\n"
        "                                move a VM to another provider; --follow\n"
        "                                draws progress until Ready (exit 0) or\n"
        "                                Failed (exit 1)\n"
        "  completion bash               shell completion: source <(vrtg completion bash)\n"
        "  apply -f FILE                 create or update the objects in FILE\n"
        "                                (YAML or JSON, several documents)\n"
        "\n"
        "Global options:\n"
        "  --kubeconfig FILE   API server and credentials (default: $KUBECONFIG,\n"
        "                      in-cluster, ~/.kube/config)\n"
        "  -n, --namespace NS  namespace (default: the context's)\n"
        "  -o, --output FMT    table (default), wide, json or yaml\n"
        "  -h, --help          this text\n"
        "\n"
        "Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 timed out.\n");
}

int main(int argc, char **argv)
{
    vrtg_ctx ctx = {.output = "table"};
    const char *kubeconfig = NULL;
    /* The global options may also follow the command ("vrtg vm list
     * -o json"): they are taken out wherever they are, up to "--". */
    int n = 1;
    for (int j = 1; j < argc; j++) {
        const char *a = argv[j];
        int global = j + 1 < argc &&
                     (!strcmp(a, "-o") || !strcmp(a, "--output") ||
                      !strcmp(a, "-n") || !strcmp(a, "--namespace") ||
                      !strcmp(a, "--kubeconfig"));
        if (!strcmp(a, "--")) {
            while (j < argc)
                argv[n++] = argv[j++];
            break;
        }
        if (global) {
            if (a[1] == 'o' || !strcmp(a, "--output"))
                ctx.output = argv[++j];
            else if (a[1] == 'n' || !strcmp(a, "--namespace"))
                ctx.ns = argv[++j];
            else
                kubeconfig = argv[++j];
            continue;
        }
        argv[n++] = argv[j];
    }
    argc = n;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--kubeconfig") && i + 1 < argc) {
            kubeconfig = argv[++i];
        } else if ((!strcmp(a, "-n") || !strcmp(a, "--namespace")) && i + 1 < argc) {
            ctx.ns = argv[++i];
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            ctx.output = argv[++i];
        } else {
            fprintf(stderr, "vrtg: unknown option \"%s\" (see vrtg --help).\n", a);
            return VRTG_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return VRTG_EXIT_USAGE;
    }
    if (strcmp(ctx.output, "table") && strcmp(ctx.output, "wide") &&
        strcmp(ctx.output, "json") && strcmp(ctx.output, "yaml")) {
        fprintf(stderr, "vrtg: -o must be table, wide, json or yaml, not \"%s\".\n",
                ctx.output);
        return VRTG_EXIT_USAGE;
    }
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_kube_open(&ctx.kube, kubeconfig, &err) != VRT_OK) {
        fprintf(stderr, "vrtg: %s\nPoint --kubeconfig at the file "
                        "virtrigaud-manager --standalone printed.\n",
                err.message);
        return VRTG_EXIT_FAIL;
    }
    if (!ctx.ns)
        ctx.ns = vrt_kube_namespace(ctx.kube);
    int rc = vrtg_dispatch(&ctx, argc - i, argv + i);
    vrt_kube_close(ctx.kube);
    return rc;
}
