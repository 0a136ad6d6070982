/*
 * report.c - throughput and latency percentiles per operation kind, as a
 * table (text) or one JSON document (json).
 */
#include "loadgen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct summary {
    size_t done;
    unsigned errors, timeouts;
    double ops_s, p50, p90, p99, max, mean;
} summary;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least p of the data at or
 * below it. */
static double rank(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)ceil(p * (double)n);
    return sorted[i ? i - 1 : 0];
}

static summary summarize(const lg_stats *s, double seconds)
{
    summary m = {.done = s->n, .errors = s->errors, .timeouts = s->timeouts};
    if (s->n == 0)
        return m;
    double *v = malloc(s->n * sizeof(*v));
    if (!v)
        abort();
    memcpy(v, s->ms, s->n * sizeof(*v));
    qsort(v, s->n, sizeof(*v), cmp_double);
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += v[i];
    m.p50 = rank(v, s->n, 0.50);
    m.p90 = rank(v, s->n, 0.90);
    m.p99 = rank(v, s->n, 0.99);
    m.max = v[s->n - 1];
    m.mean = sum / (double)s->n;
    m.ops_s = seconds > 0 ? (double)s->n / seconds : 0;
    free(v);
    return m;
}

/* The mix as one: every kind's latencies together. */
static lg_stats mix_all(const lg_run *r)
{
    lg_stats all = {0};
    for (int k = 0; k < LG_KINDS; k++) {
        for (size_t i = 0; i < r->mix[k].n; i++)
            lg_stats_add(&all, r->mix[k].ms[i]);
        all.errors += r->mix[k].errors;
        all.timeouts += r->mix[k].timeouts;
    }
    return all;
}

typedef struct left {
    unsigned vms, off, ready, deleted;
} left;

static left count_left(const lg_run *r)
{
    left l = {0};
    for (size_t i = 0; i < r->nvms; i++) {
        const lg_vm *vm = r->vms[i];
        l.deleted += vm->gone;
        if (!vm->exists)
            continue;
        l.vms++;
        l.off += strcmp(vm->power, "Off") == 0;
        l.ready += vm->ready;
    }
    return l;
}

static void text_row(const char *phase, const char *op, const summary *m)
{
    printf("%-8s %-12s %7zu %7u %8u %9.1f %9.1f %9.1f %9.1f %9.1f\n", phase, op,
           m->done, m->errors, m->timeouts, m->ops_s, m->p50, m->p90, m->p99, m->max);
}

static void report_text(const lg_run *r, int exit_code)
{
    const lg_opts *o = &r->o;
    printf("virtrigaud-loadgen: %ld VirtualMachines of class \"%s\" on provider "
           "\"%s\"%s%s%s in namespace \"%s\" (%s), concurrency %ld.\n",
           o->vms, o->cls, o->provider, o->image ? " from image \"" : "",
           o->image ? o->image : "", o->image ? "\"" : "", o->ns,
           vrt_kube_server(r->kube), o->concurrency);
    printf("%-8s %-12s %7s %7s %8s %9s %9s %9s %9s %9s\n", "phase", "operation",
           "done", "errors", "timeouts", "ops/s", "p50 ms", "p90 ms", "p99 ms", "max ms");
    summary m = summarize(&r->create, r->create_s);
    text_row("create", "create", &m);
    if (r->mix_s > 0) {
        for (int k = 0; k < LG_KINDS; k++) {
            if (!o->weight[k])
                continue;
            m = summarize(&r->mix[k], r->mix_s);
            text_row("mix", lg_kind_names[k], &m);
        }
        lg_stats all = mix_all(r);
        m = summarize(&all, r->mix_s);
        text_row("mix", "all", &m);
        lg_stats_clear(&all);
    }
    if (!o->keep) {
        m = summarize(&r->cleanup, r->cleanup_s);
        text_row("cleanup", "delete", &m);
    }
    left l = count_left(r);
    printf("Phases: create %.2f s (first request to last Ready; all accepted "
           "after %.2f s), mix %.2f s, cleanup %.2f s.\n", r->create_s,
           r->last_post_us > r->create.first_us
               ? (double)(r->last_post_us - r->create.first_us) / 1e6 : 0,
           r->mix_s, r->cleanup_s);
    printf("VMs: %u created, %u deleted, %u left (%u Off, %u Ready)%s.\n",
           r->created, l.deleted, l.vms, l.off, l.ready,
           o->keep && l.vms ? "; kept (--keep)" : "");
    if (r->conflict_retries)
        printf("Writes retried after 409 Conflict: %u.\n", r->conflict_retries);
    if (r->nerrors == 0) {
        printf("Errors: none.\n");
    } else {
        printf("Errors: %u; the first %u:\n", r->nerrors,
               r->nerrors < LG_MAX_ERRORS_KEPT ? r->nerrors : LG_MAX_ERRORS_KEPT);
        for (unsigned i = 0; i < r->nerrors && i < LG_MAX_ERRORS_KEPT; i++)
            printf("  %s\n", r->errors[i]);
    }
    if (lg_interrupted)
        printf("Interrupted.\n");
    fflush(stdout);
    (void)exit_code;
}

/* Three decimals are plenty, and keep cJSON from printing 17 digits. */
static void add_num(cJSON *o, const char *key, double v)
{
    cJSON_AddNumberToObject(o, key, round(v * 1000.0) / 1000.0);
}

static cJSON *stats_json(const lg_stats *s, double seconds)
{
    summary m = summarize(s, seconds);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "count", (double)m.done);
    cJSON_AddNumberToObject(o, "errors", m.errors);
    cJSON_AddNumberToObject(o, "timeouts", m.timeouts);
    add_num(o, "seconds", seconds);
    add_num(o, "opsPerSecond", m.ops_s);
    cJSON *lat = cJSON_AddObjectToObject(o, "latencyMs");
    add_num(lat, "p50", m.p50);
    add_num(lat, "p90", m.p90);
    add_num(lat, "p99", m.p99);
    add_num(lat, "max", m.max);
    add_num(lat, "mean", m.mean);
    return o;
}

static void report_json(const lg_run *r, int exit_code)
{
    const lg_opts *o = &r->o;
    cJSON *doc = cJSON_CreateObject();
    cJSON *run = cJSON_AddObjectToObject(doc, "run");
    cJSON_AddStringToObject(run, "server", vrt_kube_server(r->kube));
    cJSON_AddStringToObject(run, "namespace", o->ns);
    cJSON_AddStringToObject(run, "prefix", o->prefix);
    cJSON_AddStringToObject(run, "class", o->cls);
    if (o->alt_class)
        cJSON_AddStringToObject(run, "altClass", o->alt_class);
    cJSON_AddStringToObject(run, "provider", o->provider);
    if (o->image)
        cJSON_AddStringToObject(run, "image", o->image);
    cJSON_AddNumberToObject(run, "vms", (double)o->vms);
    cJSON_AddNumberToObject(run, "concurrency", (double)o->concurrency);
    add_num(run, "durationSeconds", o->duration_s);
    add_num(run, "timeoutSeconds", o->timeout_s);
    cJSON *mixw = cJSON_AddObjectToObject(run, "mix");
    for (int k = 0; k < LG_KINDS; k++)
        cJSON_AddNumberToObject(mixw, lg_kind_names[k], o->weight[k]);
    cJSON_AddBoolToObject(run, "keep", o->keep);

    cJSON *create = stats_json(&r->create, r->create_s);
    /* How long the API server took to accept the creates. */
    add_num(create, "requestsSeconds",
            r->last_post_us > r->create.first_us
                ? (double)(r->last_post_us - r->create.first_us) / 1e6 : 0);
    cJSON_AddItemToObject(doc, "create", create);
    cJSON *mix = cJSON_AddObjectToObject(doc, "mix");
    add_num(mix, "seconds", r->mix_s);
    cJSON *ops = cJSON_AddObjectToObject(mix, "ops");
    for (int k = 0; k < LG_KINDS; k++)
        cJSON_AddItemToObject(ops, lg_kind_names[k], stats_json(&r->mix[k], r->mix_s));
    lg_stats all = mix_all(r);
    cJSON_AddItemToObject(mix, "all", stats_json(&all, r->mix_s));
    lg_stats_clear(&all);
    if (o->keep)
        cJSON_AddNullToObject(doc, "cleanup");
    else
        cJSON_AddItemToObject(doc, "cleanup", stats_json(&r->cleanup, r->cleanup_s));

    left l = count_left(r);
    cJSON *vms = cJSON_AddObjectToObject(doc, "vms");
    cJSON_AddNumberToObject(vms, "created", r->created);
    cJSON_AddNumberToObject(vms, "deleted", l.deleted);
    cJSON_AddNumberToObject(vms, "left", l.vms);
    cJSON_AddNumberToObject(vms, "leftOff", l.off);
    cJSON_AddNumberToObject(vms, "leftReady", l.ready);
    cJSON *errs = cJSON_AddObjectToObject(doc, "errors");
    cJSON_AddNumberToObject(errs, "count", r->nerrors);
    cJSON_AddNumberToObject(errs, "conflictRetries", r->conflict_retries);
    cJSON *first = cJSON_AddArrayToObject(errs, "first");
    for (unsigned i = 0; i < r->nerrors && i < LG_MAX_ERRORS_KEPT; i++)
        cJSON_AddItemToArray(first, cJSON_CreateString(r->errors[i]));
    cJSON_AddBoolToObject(doc, "interrupted", lg_interrupted != 0);
    cJSON_AddNumberToObject(doc, "exitCode", exit_code);
    char *text = cJSON_Print(doc);
    if (text)
        puts(text);
    free(text);
    cJSON_Delete(doc);
    fflush(stdout);
}

void lg_report(const lg_run *r, int exit_code)
{
    if (strcmp(r->o.output, "json") == 0)
        report_json(r, exit_code);
    else
        report_text(r, exit_code);
}
