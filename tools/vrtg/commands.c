/*
 * The vrtg commands.
 */
#include "vrtg.h"

#include <vrt/yaml.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


const char *str_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *n = cJSON_GetObjectItem(o, a);
    if (b)
        n = cJSON_GetObjectItem(n, b);
    return cJSON_GetStringValue(n);
}

/* GET/PATCH/DELETE with error reporting; returns the exit code. */
int call(cJSON **out, vrtg_ctx *ctx, const char *method,
         const char *path, const char *ctype, const cJSON *body)
{
    long status = 0;
    vrt_error err = VRT_ERROR_INIT;
    cJSON *resp = NULL;
    if (out)
        *out = NULL;
    if (vrt_kube_request(&resp, &status, ctx->kube, method, path, ctype, body,
                         &err) != VRT_OK) {
        fprintf(stderr, "vrtg: %s\n", err.message);
        return VRTG_EXIT_FAIL;
    }
    if (status >= 300) {
        const char *msg = str_at(resp, "message", NULL);
        fprintf(stderr, "vrtg: %s\n", msg ? msg : err.message);
        cJSON_Delete(resp);
        return status == 404 ? VRTG_EXIT_NOTFOUND : VRTG_EXIT_FAIL;
    }
    if (out)
        *out = resp;
    else
        cJSON_Delete(resp);
    return VRTG_EXIT_OK;
}

void print_doc(vrtg_ctx *ctx, const cJSON *obj)
{
    if (strcmp(ctx->output, "yaml") == 0) {
        char *y = vrt_yaml_emit(obj);
        fputs(y ? y : "", stdout);
        free(y);
    } else {
        char *j = cJSON_Print(obj);
        puts(j ? j : "");
        free(j);
    }
}

static void ips_text(char *buf, size_t size, const cJSON *vm)
{
    buf[0] = '\0';
    const cJSON *ip;
    cJSON_ArrayForEach(ip, cJSON_GetObjectItem(cJSON_GetObjectItem(vm, "status"), "ips")) {
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, "%s%s", n ? "," : "", cJSON_GetStringValue(ip));
    }
}

const char *cond_status(const cJSON *obj, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "status"),
                                              "conditions")) {
        const char *t = str_at(c, "type", NULL);
        if (t && strcmp(t, type) == 0)
            return str_at(c, "status", NULL);
    }
    return NULL;
}

static const char *cond_message(const cJSON *obj, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "status"),
                                              "conditions")) {
        const char *t = str_at(c, "type", NULL);
        if (t && strcmp(t, type) == 0)
            return str_at(c, "message", NULL);
    }
    return NULL;
}

const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

static void vm_row(vrtg_ctx *ctx, const cJSON *vm)
{
    char ips[256];
    ips_text(ips, sizeof(ips), vm);
    printf("%-24s %-14s %-6s %-6s %-18s %-16s", or_dash(str_at(vm, "metadata", "name")),
           or_dash(str_at(vm, "status", "phase")), or_dash(str_at(vm, "status", "powerState")),
           or_dash(cond_status(vm, "Ready")), or_dash(ips),
           or_dash(str_at(cJSON_GetObjectItem(vm, "spec"), "providerRef", "name")));
    if (strcmp(ctx->output, "wide") == 0)
        printf(" %-16s %s", or_dash(str_at(cJSON_GetObjectItem(vm, "spec"), "classRef", "name")),
               or_dash(str_at(vm, "status", "message")));
    putchar('\n');
}

static void vm_header(vrtg_ctx *ctx)
{
    printf("%-24s %-14s %-6s %-6s %-18s %-16s", "NAME", "PHASE", "POWER", "READY",
           "IPS", "PROVIDER");
    if (strcmp(ctx->output, "wide") == 0)
        printf(" %-16s %s", "CLASS", "MESSAGE");
    putchar('\n');
}

static int vm_list(vrtg_ctx *ctx)
{
    char path[512];
    snprintf(path, sizeof(path), GV "/namespaces/%s/virtualmachines", ctx->ns);
    cJSON *list = NULL;
    int rc = call(&list, ctx, "GET", path, NULL, NULL);
    if (rc)
        return rc;
    const cJSON *it;
    if (!strcmp(ctx->output, "json") || !strcmp(ctx->output, "yaml")) {
        print_doc(ctx, list);
    } else {
        vm_header(ctx);
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items"))
            vm_row(ctx, it);
    }
    cJSON_Delete(list);
    return VRTG_EXIT_OK;
}

static void vm_path(char *buf, size_t size, vrtg_ctx *ctx, const char *name)
{
    snprintf(buf, size, GV "/namespaces/%s/virtualmachines/%s", ctx->ns, name);
}

static int vm_get(vrtg_ctx *ctx, const char *name)
{
    char path[512];
    vm_path(path, sizeof(path), ctx, name);
    cJSON *vm = NULL;
    int rc = call(&vm, ctx, "GET", path, NULL, NULL);
    if (rc)
        return rc;
    if (!strcmp(ctx->output, "json") || !strcmp(ctx->output, "yaml")) {
        print_doc(ctx, vm);
    } else {
        vm_header(ctx);
        vm_row(ctx, vm);
    }
    cJSON_Delete(vm);
    return VRTG_EXIT_OK;
}

static int vm_power(vrtg_ctx *ctx, const char *name, const char *state)
{
    char path[512];
    vm_path(path, sizeof(path), ctx, name);
    cJSON *patch = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(patch, "spec"), "powerState", state);
    int rc = call(NULL, ctx, "PATCH", path, "application/merge-patch+json", patch);
    cJSON_Delete(patch);
    if (rc == VRTG_EXIT_OK)
        printf("virtualmachine/%s powerState=%s\n", name, state);
    return rc;
}

static int vm_wait(vrtg_ctx *ctx, const char *name, const char *cond,
                   long timeout_s)
{
    char path[512];
    vm_path(path, sizeof(path), ctx, name);
    time_t end = time(NULL) + timeout_s;
    for (;;) {
        cJSON *vm = NULL;
        int rc = call(&vm, ctx, "GET", path, NULL, NULL);
        if (rc)
            return rc;
        const char *st = cond_status(vm, cond);
        int ok = st && strcmp(st, "True") == 0;
        const char *phase = str_at(cJSON_GetObjectItem(vm, "status"), "phase", NULL);
        if (!ok && phase && strcmp(phase, "Failed") == 0) {
            /* Failed does not pass by waiting: say why now. */
            fprintf(stderr, "vrtg: virtualmachine/%s failed: %s\n", name,
                    or_dash(cond_message(vm, "Ready")));
            cJSON_Delete(vm);
            return VRTG_EXIT_FAIL;
        }
        cJSON_Delete(vm);
        if (ok) {
            printf("virtualmachine/%s condition met: %s\n", name, cond);
            return VRTG_EXIT_OK;
        }
        if (time(NULL) >= end) {
            fprintf(stderr, "vrtg: timed out after %lds waiting for %s on "
                            "virtualmachine/%s.\n",
                    timeout_s, cond, name);
            return VRTG_EXIT_TIMEOUT;
        }
        usleep(500 * 1000);
    }
}

static int wait_power(vrtg_ctx *ctx, const char *name, const char *state,
                      long timeout_s)
{
    char path[512];
    vm_path(path, sizeof(path), ctx, name);
    for (time_t end = time(NULL) + timeout_s; time(NULL) < end; usleep(500 * 1000)) {
        cJSON *vm = NULL;
        int rc = call(&vm, ctx, "GET", path, NULL, NULL);
        if (rc)
            return rc;
        const char *p = str_at(vm, "status", "powerState");
        int ok = p && strcmp(p, state) == 0;
        cJSON_Delete(vm);
        if (ok)
            return VRTG_EXIT_OK;
    }
    fprintf(stderr, "vrtg: timed out waiting for virtualmachine/%s to be %s.\n",
            name, state);
    return VRTG_EXIT_TIMEOUT;
}

static int provider_list(vrtg_ctx *ctx)
{
    char path[512];
    snprintf(path, sizeof(path), GV "/namespaces/%s/providers", ctx->ns);
    cJSON *list = NULL;
    int rc = call(&list, ctx, "GET", path, NULL, NULL);
    if (rc)
        return rc;
    if (!strcmp(ctx->output, "json") || !strcmp(ctx->output, "yaml")) {
        print_doc(ctx, list);
    } else {
        printf("%-24s %-10s %-8s %s\n", "NAME", "TYPE", "HEALTHY", "ENDPOINT");
        const cJSON *p;
        cJSON_ArrayForEach(p, cJSON_GetObjectItem(list, "items")) {
            const cJSON *h = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "status"), "healthy");
            printf("%-24s %-10s %-8s %s\n", or_dash(str_at(p, "metadata", "name")),
                   or_dash(str_at(p, "spec", "type")),
                   cJSON_IsBool(h) ? (cJSON_IsTrue(h) ? "true" : "false") : "-",
                   or_dash(str_at(p, "spec", "endpoint")));
        }
    }
    cJSON_Delete(list);
    return VRTG_EXIT_OK;
}

/* Finds the plural and scope of apiVersion/kind through discovery. */
static int resolve_kind(char *plural, size_t size, int *namespaced,
                        vrtg_ctx *ctx, const char *api_version,
                        const char *kind)
{
    char path[512];
    if (strchr(api_version, '/'))
        snprintf(path, sizeof(path), "/apis/%s", api_version);
    else
        snprintf(path, sizeof(path), "/api/%s", api_version);
    cJSON *list = NULL;
    if (call(&list, ctx, "GET", path, NULL, NULL))
        return -1;
    const cJSON *r;
    int found = -1;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(list, "resources")) {
        const char *k = str_at(r, "kind", NULL), *n = str_at(r, "name", NULL);
        if (k && n && !strcmp(k, kind) && !strchr(n, '/')) {
            snprintf(plural, size, "%s", n);
            *namespaced = cJSON_IsTrue(cJSON_GetObjectItem(r, "namespaced"));
            found = 0;
        }
    }
    cJSON_Delete(list);
    if (found)
        fprintf(stderr, "vrtg: the server has no kind \"%s\" in \"%s\".\n", kind,
                api_version);
    return found;
}

static int apply_doc(vrtg_ctx *ctx, cJSON *doc)
{
    const char *av = str_at(doc, "apiVersion", NULL), *kind = str_at(doc, "kind", NULL);
    const char *name = str_at(doc, "metadata", "name");
    if (!av || !kind || !name) {
        fprintf(stderr, "vrtg: a document lacks apiVersion, kind or metadata.name.\n");
        return VRTG_EXIT_FAIL;
    }
    char plural[128], path[700];
    int namespaced = 0;
    if (resolve_kind(plural, sizeof(plural), &namespaced, ctx, av, kind))
        return VRTG_EXIT_FAIL;
    const char *ns = str_at(doc, "metadata", "namespace");
    if (!ns)
        ns = ctx->ns;
    const char *prefix = strchr(av, '/') ? "/apis/" : "/api/";
    if (namespaced)
        snprintf(path, sizeof(path), "%s%s/namespaces/%s/%s/%s?fieldManager=vrtg&force=true",
                 prefix, av, ns, plural, name);
    else
        snprintf(path, sizeof(path), "%s%s/%s/%s?fieldManager=vrtg&force=true", prefix,
                 av, plural, name);
    int rc = call(NULL, ctx, "PATCH", path, "application/apply-patch+yaml", doc);
    if (rc == VRTG_EXIT_OK)
        printf("%s/%s applied\n", plural, name);
    return rc;
}

static int apply(vrtg_ctx *ctx, const char *file)
{
    char why[256];
    cJSON *docs = vrt_yaml_parse_file(file, why, sizeof(why));
    if (!docs) {
        fprintf(stderr, "vrtg: %s: %s\n", file, why);
        return VRTG_EXIT_FAIL;
    }
    int rc = VRTG_EXIT_OK;
    cJSON *doc;
    cJSON_ArrayForEach(doc, docs) {
        int r = apply_doc(ctx, doc);
        if (r)
            rc = r;
    }
    cJSON_Delete(docs);
    return rc;
}

int vrtg_dispatch(vrtg_ctx *ctx, int argc, char **argv)
{
    const char *a0 = argv[0], *a1 = argc > 1 ? argv[1] : "";
    const char *a2 = argc > 2 ? argv[2] : NULL;
    int day2 = vrtg_day2(ctx, argc, argv);
    if (day2 != VRTG_NOT_MINE)
        return day2;
    if (!strcmp(a0, "vm") && !strcmp(a1, "list"))
        return vm_list(ctx);
    if (!strcmp(a0, "provider") && !strcmp(a1, "list"))
        return provider_list(ctx);
    if (!strcmp(a0, "apply") && argc == 3 && !strcmp(a1, "-f"))
        return apply(ctx, argv[2]);
    if (!strcmp(a0, "vm") && a2) {
        if (!strcmp(a1, "get"))
            return vm_get(ctx, a2);
        if (!strcmp(a1, "start"))
            return vm_power(ctx, a2, "On");
        if (!strcmp(a1, "stop"))
            return vm_power(ctx, a2, "Off");
        if (!strcmp(a1, "restart")) {
            /* Off, wait until the controller reports it off, then On. */
            int rc = vm_power(ctx, a2, "Off");
            if (rc == VRTG_EXIT_OK)
                rc = wait_power(ctx, a2, "Off", 120);
            if (rc == VRTG_EXIT_OK)
                rc = vm_power(ctx, a2, "On");
            return rc;
        }
        if (!strcmp(a1, "delete")) {
            char path[512];
            vm_path(path, sizeof(path), ctx, a2);
            int rc = call(NULL, ctx, "DELETE", path, NULL, NULL);
            if (rc == VRTG_EXIT_OK)
                printf("virtualmachine/%s deleted\n", a2);
            return rc;
        }
        if (!strcmp(a1, "wait")) {
            const char *cond = "Ready";
            long timeout = 300;
            for (int i = 3; i + 1 < argc; i += 2) {
                if (!strcmp(argv[i], "--for"))
                    cond = argv[i + 1];
                else if (!strcmp(argv[i], "--timeout"))
                    timeout = strtol(argv[i + 1], NULL, 10);
            }
            return vm_wait(ctx, a2, cond, timeout > 0 ? timeout : 300);
        }
    }
    fprintf(stderr, "vrtg: unknown command \"%s %s\" (see vrtg --help).\n", a0, a1);
    return VRTG_EXIT_USAGE;
}
