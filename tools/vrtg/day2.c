/*
 * vrtg's day-2 commands: what happened to a VM (events, describe), its
 * snapshots, clones and migrations (followed with a progress bar), what a
 * Provider can do, and shell completion.
 */
#include "vrtg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *opt(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return argv[i + 1];
    return NULL;
}

static int flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], name))
            return 1;
    return 0;
}

static int cmp_time(const void *a, const void *b)
{
    const char *x = str_at(*(cJSON *const *)a, "eventTime", NULL);
    const char *y = str_at(*(cJSON *const *)b, "eventTime", NULL);
    return strcmp(x ? x : "", y ? y : "");
}

/* Events regarding `name`, oldest first. */
static int events(vrtg_ctx *ctx, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "/apis/events.k8s.io/v1/namespaces/%s/events", ctx->ns);
    cJSON *list = NULL;
    int rc = call(&list, ctx, "GET", path, NULL, NULL);
    if (rc)
        return rc;
    size_t n = 0, cap = 0;
    cJSON **ev = NULL;
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items")) {
        const char *r = str_at(it, "regarding", "name");
        if (!r || strcmp(r, name) != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            ev = realloc(ev, cap * sizeof(*ev));
            if (!ev)
                abort();
        }
        ev[n++] = it;
    }
    qsort(ev, n, sizeof(*ev), cmp_time);
    printf("%-27s %-8s %-22s %s\n", "TIME", "TYPE", "REASON", "NOTE");
    for (size_t i = 0; i < n; i++)
        printf("%-27s %-8s %-22s %s\n", or_dash(str_at(ev[i], "eventTime", NULL)),
               or_dash(str_at(ev[i], "type", NULL)), or_dash(str_at(ev[i], "reason", NULL)),
               or_dash(str_at(ev[i], "note", NULL)));
    free(ev);
    cJSON_Delete(list);
    return VRTG_EXIT_OK;
}

static int describe(vrtg_ctx *ctx, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), GV "/namespaces/%s/virtualmachines/%s", ctx->ns, name);
    cJSON *vm = NULL;
    int rc = call(&vm, ctx, "GET", path, NULL, NULL);
    if (rc)
        return rc;
    const cJSON *spec = cJSON_GetObjectItem(vm, "spec");
    const cJSON *st = cJSON_GetObjectItem(vm, "status");
    printf("Name:        %s/%s\n", ctx->ns, name);
    printf("Provider:    %s\n", or_dash(str_at(spec, "providerRef", "name")));
    printf("Class:       %s\n", or_dash(str_at(spec, "classRef", "name")));
    printf("Image:       %s\n", or_dash(str_at(spec, "imageRef", "name")));
    printf("Power:       want %s, is %s\n", or_dash(str_at(spec, "powerState", NULL)),
           or_dash(str_at(st, "powerState", NULL)));
    printf("Phase:       %s\n", or_dash(str_at(st, "phase", NULL)));
    printf("Provider id: %s\n", or_dash(str_at(st, "id", NULL)));
    const cJSON *cur = cJSON_GetObjectItem(st, "currentResources");
    if (cur)
        printf("Resources:   %g CPU, %g MiB\n",
               cJSON_GetNumberValue(cJSON_GetObjectItem(cur, "cpu")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(cur, "memoryMiB")));
    printf("IPs:        ");
    const cJSON *ip;
    cJSON_ArrayForEach(ip, cJSON_GetObjectItem(st, "ips"))
        printf(" %s", or_dash(cJSON_GetStringValue(ip)));
    printf("\nConsole:     %s\nConditions:\n", or_dash(str_at(st, "consoleURL", NULL)));
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(st, "conditions"))
        printf("  %-14s %-6s %-24s %s\n", or_dash(str_at(c, "type", NULL)),
               or_dash(str_at(c, "status", NULL)), or_dash(str_at(c, "reason", NULL)),
               or_dash(str_at(c, "message", NULL)));
    cJSON_Delete(vm);
    printf("Events:\n");
    return events(ctx, name);
}

static int create(vrtg_ctx *ctx, const char *plural, cJSON *obj, const char *what)
{
    char path[512];
    snprintf(path, sizeof(path), GV "/namespaces/%s/%s", ctx->ns, plural);
    int rc = call(NULL, ctx, "POST", path, NULL, obj);
    if (rc == VRTG_EXIT_OK)
        printf("%s created\n", what);
    cJSON_Delete(obj);
    return rc;
}

static cJSON *new_obj(const char *kind, const char *name, const char *ns)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "apiVersion", "infra.virtrigaud.io/v1beta1");
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", ns);
    return o;
}

static int snapshot(vrtg_ctx *ctx, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (!strcmp(sub, "create") && argc > 2) {
        char name[300];
        const char *n = opt(argc, argv, "--name");
        snprintf(name, sizeof(name), "%s-%ld", argv[2], (long)time(NULL));
        cJSON *o = new_obj("VMSnapshot", n ? n : name, ctx->ns);
        cJSON *spec = cJSON_AddObjectToObject(o, "spec");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "vmRef"), "name", argv[2]);
        if (flag(argc, argv, "--memory"))
            cJSON_AddBoolToObject(cJSON_AddObjectToObject(spec, "snapshotConfig"),
                                  "includeMemory", 1);
        char what[400];
        snprintf(what, sizeof(what), "vmsnapshot/%s", n ? n : name);
        return create(ctx, "vmsnapshots", o, what);
    }
    if (!strcmp(sub, "list")) {
        char path[512];
        snprintf(path, sizeof(path), GV "/namespaces/%s/vmsnapshots", ctx->ns);
        cJSON *list = NULL;
        int rc = call(&list, ctx, "GET", path, NULL, NULL);
        if (rc)
            return rc;
        printf("%-32s %-20s %-10s %-22s %s\n", "NAME", "VM", "PHASE", "CREATED", "ID");
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items")) {
            const char *vm = str_at(cJSON_GetObjectItem(it, "spec"), "vmRef", "name");
            if (argc > 2 && (!vm || strcmp(vm, argv[2])))
                continue;
            printf("%-32s %-20s %-10s %-22s %s\n", or_dash(str_at(it, "metadata", "name")),
                   or_dash(vm), or_dash(str_at(it, "status", "phase")),
                   or_dash(str_at(it, "status", "creationTime")),
                   or_dash(str_at(it, "status", "snapshotID")));
        }
        cJSON_Delete(list);
        return VRTG_EXIT_OK;
    }
    if (!strcmp(sub, "revert") && argc > 3) {
        char path[512];
        snprintf(path, sizeof(path), GV "/namespaces/%s/virtualmachines/%s", ctx->ns, argv[2]);
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(
            cJSON_AddObjectToObject(p, "spec"), "snapshot"), "revertToRef"), "name", argv[3]);
        int rc = call(NULL, ctx, "PATCH", path, "application/merge-patch+json", p);
        cJSON_Delete(p);
        if (rc == VRTG_EXIT_OK)
            printf("virtualmachine/%s reverts to vmsnapshot/%s\n", argv[2], argv[3]);
        return rc;
    }
    fprintf(stderr, "vrtg: snapshot create VM [--name N] [--memory] | snapshot list "
                    "[VM] | snapshot revert VM SNAPSHOT\n");
    return VRTG_EXIT_USAGE;
}

static int clone_cmd(vrtg_ctx *ctx, int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "vrtg: clone SOURCE-VM TARGET-NAME [--linked] [--power-on]\n");
        return VRTG_EXIT_USAGE;
    }
    char name[300];
    snprintf(name, sizeof(name), "clone-%s", argv[2]);
    cJSON *o = new_obj("VMClone", name, ctx->ns);
    cJSON *spec = cJSON_AddObjectToObject(o, "spec");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec, "source"),
                                                    "vmRef"), "name", argv[1]);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "target"), "name", argv[2]);
    cJSON *opts = cJSON_AddObjectToObject(spec, "options");
    cJSON_AddStringToObject(opts, "type", flag(argc, argv, "--linked") ? "LinkedClone"
                                                                       : "FullClone");
    cJSON_AddBoolToObject(opts, "powerOn", flag(argc, argv, "--power-on"));
    char what[400];
    snprintf(what, sizeof(what), "vmclone/%s", name);
    return create(ctx, "vmclones", o, what);
}

/* Follows a VMMigration until Ready or Failed, drawing a progress line. */
static int follow(vrtg_ctx *ctx, const char *name, long timeout_s)
{
    char path[512];
    snprintf(path, sizeof(path), GV "/namespaces/%s/vmmigrations/%s", ctx->ns, name);
    int tty = isatty(STDOUT_FILENO);
    char last[200] = "";
    for (time_t end = time(NULL) + timeout_s;; usleep(500 * 1000)) {
        cJSON *m = NULL;
        int rc = call(&m, ctx, "GET", path, NULL, NULL);
        if (rc)
            return rc;
        const cJSON *st = cJSON_GetObjectItem(m, "status");
        const cJSON *p = cJSON_GetObjectItem(st, "progress");
        const char *phase = str_at(st, "phase", NULL);
        double pct = cJSON_GetNumberValue(cJSON_GetObjectItem(p, "percentage"));
        double rate = cJSON_GetNumberValue(cJSON_GetObjectItem(p, "transferRate"));
        char bar[26];
        int fill = (int)(isnan(pct) ? 0 : pct / 4);
        for (int i = 0; i < 25; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[25] = '\0';
        char line[200];
        snprintf(line, sizeof(line), "%-18s [%s] %3.0f%%  %6.1f MiB/s  eta %s",
                 or_dash(phase), bar, isnan(pct) ? 0 : pct,
                 isnan(rate) ? 0 : rate / 1048576.0, or_dash(str_at(p, "eta", NULL)));
        if (strcmp(line, last) != 0) {
            printf(tty ? "\r%s" : "%s\n", line);
            fflush(stdout);
            snprintf(last, sizeof(last), "%s", line);
        }
        int ready = phase && !strcmp(phase, "Ready");
        int failed = phase && !strcmp(phase, "Failed");
        if (ready || failed) {
            if (tty)
                putchar('\n');
            if (failed)
                fprintf(stderr, "vrtg: migration %s failed: %s\n", name,
                        or_dash(str_at(st, "message", NULL)));
            else
                printf("migrated: virtualmachine/%s (content SHA-256 %s)\n",
                       or_dash(str_at(st, "targetVMRef", "name")),
                       or_dash(str_at(cJSON_GetObjectItem(st, "diskInfo"), "sourceChecksum", NULL)));
            cJSON_Delete(m);
            return failed ? VRTG_EXIT_FAIL : VRTG_EXIT_OK;
        }
        cJSON_Delete(m);
        if (time(NULL) >= end) {
            fprintf(stderr, "vrtg: timed out following migration %s.\n", name);
            return VRTG_EXIT_TIMEOUT;
        }
    }
}

static int migrate(vrtg_ctx *ctx, int argc, char **argv)
{
    const char *to = opt(argc, argv, "--to");
    if (argc < 2 || !to) {
        fprintf(stderr, "vrtg: migrate VM --to PROVIDER [--name TARGET] [--format "
                        "qcow2|raw|vmdk] [--follow] [--timeout SECONDS]\n");
        return VRTG_EXIT_USAGE;
    }
    const char *target = opt(argc, argv, "--name");
    char tname[300], mname[300];
    snprintf(tname, sizeof(tname), "%s", target ? target : argv[1]);
    if (!target)
        snprintf(tname, sizeof(tname), "%s-%s", argv[1], to);
    snprintf(mname, sizeof(mname), "migrate-%s", tname);
    cJSON *o = new_obj("VMMigration", mname, ctx->ns);
    cJSON *spec = cJSON_AddObjectToObject(o, "spec");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec, "source"),
                                                    "vmRef"), "name", argv[1]);
    cJSON *t = cJSON_AddObjectToObject(spec, "target");
    cJSON_AddStringToObject(t, "name", tname);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(t, "providerRef"), "name", to);
    const char *fmt = opt(argc, argv, "--format");
    if (fmt)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "options"), "diskFormat", fmt);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "storage"), "type", "pvc");
    char what[400];
    snprintf(what, sizeof(what), "vmmigration/%s", mname);
    int rc = create(ctx, "vmmigrations", o, what);
    if (rc || !flag(argc, argv, "--follow"))
        return rc;
    const char *to_s = opt(argc, argv, "--timeout");
    return follow(ctx, mname, to_s ? strtol(to_s, NULL, 10) : 4 * 3600);
}

static int provider_show(vrtg_ctx *ctx, const char *name, int caps_only)
{
    char path[512];
    snprintf(path, sizeof(path), GV "/namespaces/%s/providers/%s", ctx->ns, name);
    cJSON *p = NULL;
    int rc = call(&p, ctx, "GET", path, NULL, NULL);
    if (rc)
        return rc;
    const cJSON *st = cJSON_GetObjectItem(p, "status");
    if (!strcmp(ctx->output, "json") || !strcmp(ctx->output, "yaml")) {
        print_doc(ctx, caps_only ? cJSON_GetObjectItem(st, "reportedCapabilities") : p);
    } else {
        if (!caps_only) {
            const cJSON *h = cJSON_GetObjectItem(st, "healthy");
            printf("Name:      %s/%s\nType:      %s\nEndpoint:  %s\nHealthy:   %s\n"
                   "Version:   %s\nChecked:   %s\n", ctx->ns, name,
                   or_dash(str_at(p, "spec", "type")), or_dash(str_at(p, "spec", "endpoint")),
                   cJSON_IsBool(h) ? (cJSON_IsTrue(h) ? "true" : "false") : "-",
                   or_dash(str_at(st, "version", NULL)),
                   or_dash(str_at(st, "lastHealthCheck", NULL)));
            const cJSON *c;
            printf("Conditions:\n");
            cJSON_ArrayForEach(c, cJSON_GetObjectItem(st, "conditions"))
                printf("  %-22s %-6s %s\n", or_dash(str_at(c, "type", NULL)),
                       or_dash(str_at(c, "status", NULL)), or_dash(str_at(c, "message", NULL)));
            printf("Capabilities:\n");
        }
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(st, "reportedCapabilities")) {
            if (cJSON_IsBool(c)) {
                printf("  %-30s %s\n", c->string, cJSON_IsTrue(c) ? "yes" : "no");
            } else if (cJSON_IsArray(c)) {
                printf("  %-30s", c->string);
                const cJSON *v;
                cJSON_ArrayForEach(v, c)
                    printf(" %s", or_dash(cJSON_GetStringValue(v)));
                putchar('\n');
            }
        }
    }
    cJSON_Delete(p);
    return VRTG_EXIT_OK;
}

static int completion(const char *shell)
{
    if (!shell || strcmp(shell, "bash") != 0) {
        fprintf(stderr, "vrtg: completion supports bash: source <(vrtg completion bash)\n");
        return VRTG_EXIT_USAGE;
    }
    fputs("_vrtg() {\n"
          "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[1]}\n"
          "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
          "    COMPREPLY=($(compgen -W 'vm provider snapshot clone migrate apply "
          "completion' -- \"$cur\")); return; fi\n"
          "  if [ \"$COMP_CWORD\" -eq 2 ]; then case $prev in\n"
          "    vm) COMPREPLY=($(compgen -W 'list get describe events create console "
          "start stop restart delete wait' -- \"$cur\"));;\n"
          "    provider) COMPREPLY=($(compgen -W 'list status capabilities' -- \"$cur\"));;\n"
          "    snapshot) COMPREPLY=($(compgen -W 'create list revert' -- \"$cur\"));;\n"
          "  esac; fi\n"
          "}\n"
          "complete -F _vrtg vrtg\n", stdout);
    return VRTG_EXIT_OK;
}

/* vm create NAME --provider P --class C [--image I] [--off]: a
 * VirtualMachine from flags, for when writing YAML is too much. */
static int vm_create(vrtg_ctx *ctx, int argc, char **argv)
{
    const char *prov = opt(argc, argv, "--provider");
    const char *cls = opt(argc, argv, "--class");
    const char *img = opt(argc, argv, "--image");
    if (argc < 3 || argv[2][0] == '-' || !prov || !cls) {
        fprintf(stderr, "vrtg: vm create NAME --provider P --class C [--image I] "
                        "[--off]\n");
        return VRTG_EXIT_USAGE;
    }
    cJSON *o = new_obj("VirtualMachine", argv[2], ctx->ns);
    cJSON *spec = cJSON_AddObjectToObject(o, "spec");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "providerRef"), "name", prov);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "classRef"), "name", cls);
    if (img)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "imageRef"), "name", img);
    cJSON_AddStringToObject(spec, "powerState", flag(argc, argv, "--off") ? "Off" : "On");
    char what[400];
    snprintf(what, sizeof(what), "virtualmachine/%s", argv[2]);
    return create(ctx, "virtualmachines", o, what);
}

/* vm console NAME: the console URL the provider reported. */
static int vm_console(vrtg_ctx *ctx, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), GV "/namespaces/%s/virtualmachines/%s", ctx->ns, name);
    cJSON *vm = NULL;
    int rc = call(&vm, ctx, "GET", path, NULL, NULL);
    if (rc)
        return rc;
    const char *url = str_at(cJSON_GetObjectItem(vm, "status"), "consoleURL", NULL);
    int have = url && *url;
    if (have)
        printf("%s\n", url);
    else
        fprintf(stderr, "vrtg: virtualmachine/%s has no console URL (is it running, "
                        "and does its provider offer a console?).\n", name);
    cJSON_Delete(vm); /* url points into vm */
    return have ? VRTG_EXIT_OK : VRTG_EXIT_FAIL;
}

int vrtg_day2(vrtg_ctx *ctx, int argc, char **argv)
{
    const char *a0 = argv[0], *a1 = argc > 1 ? argv[1] : "";
    const char *a2 = argc > 2 ? argv[2] : NULL;
    if (!strcmp(a0, "vm") && !strcmp(a1, "create"))
        return vm_create(ctx, argc, argv);
    if (!strcmp(a0, "vm") && a2 && !strcmp(a1, "console"))
        return vm_console(ctx, a2);
    if (!strcmp(a0, "vm") && a2 && !strcmp(a1, "events"))
        return events(ctx, a2);
    if (!strcmp(a0, "vm") && a2 && !strcmp(a1, "describe"))
        return describe(ctx, a2);
    if (!strcmp(a0, "snapshot"))
        return snapshot(ctx, argc, argv);
    if (!strcmp(a0, "clone"))
        return clone_cmd(ctx, argc, argv);
    if (!strcmp(a0, "migrate"))
        return migrate(ctx, argc, argv);
    if (!strcmp(a0, "provider") && a2 && !strcmp(a1, "status"))
        return provider_show(ctx, a2, 0);
    if (!strcmp(a0, "provider") && a2 && !strcmp(a1, "capabilities"))
        return provider_show(ctx, a2, 1);
    if (!strcmp(a0, "completion"))
        return completion(argc > 1 ? argv[1] : NULL);
    return VRTG_NOT_MINE;
}
