/*
 * The process-wide Prometheus registry.  Families live in a list under one
 * mutex; each holds up to VRT_METRIC_MAX_SERIES label sets.  Updates are a
 * lock, a linear search of a short list and an add: cheap next to a
 * reconcile or an HTTP request, which are what we count.
 */
#include <vrt/error.h>
#include <vrt/log.h>
#include <vrt/metrics.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

VRT_LOG_SOURCE("metrics");

enum { M_COUNTER, M_GAUGE, M_HISTOGRAM };

typedef struct series {
    struct series *next;
    char *values[VRT_METRIC_MAX_LABELS];
    double value;    /* counter / gauge; sum for histograms */
    double *counts;  /* histogram: per bucket, non-cumulative; +Inf last */
    unsigned long long count;
} series;

struct vrt_metric {
    vrt_metric *next;
    char *name, *help;
    int type;
    char *labels[VRT_METRIC_MAX_LABELS];
    size_t n_labels;
    double *buckets;
    size_t n_buckets;
    series *series;
    size_t n_series;
    int warned;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static vrt_metric *families;

static char *dup_str(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

static vrt_metric *reg(const char *name, const char *help, int type,
                       const char *labels, const double *buckets, size_t nb)
{
    pthread_mutex_lock(&lock);
    vrt_metric *m = families;
    while (m && strcmp(m->name, name) != 0)
        m = m->next;
    if (!m) {
        m = calloc(1, sizeof(*m));
        if (!m)
            abort();
        m->name = dup_str(name);
        m->help = dup_str(help);
        m->type = type;
        char *list = dup_str(labels), *save = NULL;
        for (char *t = strtok_r(list, ",", &save);
             t && m->n_labels < VRT_METRIC_MAX_LABELS;
             t = strtok_r(NULL, ",", &save))
            m->labels[m->n_labels++] = dup_str(t);
        free(list);
        if (type == M_HISTOGRAM && nb) {
            m->buckets = malloc(nb * sizeof(double));
            if (!m->buckets)
                abort();
            memcpy(m->buckets, buckets, nb * sizeof(double));
            m->n_buckets = nb;
        }
        m->next = families;
        families = m;
    }
    pthread_mutex_unlock(&lock);
    return m;
}

vrt_metric *vrt_metric_counter(const char *name, const char *help,
                               const char *labels)
{
    return reg(name, help, M_COUNTER, labels, NULL, 0);
}

vrt_metric *vrt_metric_gauge(const char *name, const char *help,
                             const char *labels)
{
    return reg(name, help, M_GAUGE, labels, NULL, 0);
}

vrt_metric *vrt_metric_histogram(const char *name, const char *help,
                                 const char *labels, const double *buckets,
                                 size_t n_buckets)
{
    return reg(name, help, M_HISTOGRAM, labels, buckets, n_buckets);
}

/* The series for `values`, created if new; NULL past the cap.  Locked. */
static series *find(vrt_metric *m, const char *const *values)
{
    for (series *s = m->series; s; s = s->next) {
        size_t i = 0;
        while (i < m->n_labels && strcmp(s->values[i], values[i]) == 0)
            i++;
        if (i == m->n_labels)
            return s;
    }
    if (m->n_series >= VRT_METRIC_MAX_SERIES) {
        if (!m->warned)
            vrt_log_warn("Metric \"%s\" has %d series; dropping new label "
                         "sets.", m->name, VRT_METRIC_MAX_SERIES);
        m->warned = 1;
        return NULL;
    }
    series *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    for (size_t i = 0; i < m->n_labels; i++)
        s->values[i] = dup_str(values[i]);
    if (m->type == M_HISTOGRAM) {
        s->counts = calloc(m->n_buckets + 1, sizeof(double));
        if (!s->counts)
            abort();
    }
    s->next = m->series;
    m->series = s;
    m->n_series++;
    return s;
}

static void update(vrt_metric *m, const char *const *values, double v,
                   int set)
{
    if (!m)
        return;
    pthread_mutex_lock(&lock);
    series *s = find(m, values);
    if (s) {
        if (m->type == M_HISTOGRAM) {
            size_t b = 0;
            while (b < m->n_buckets && v > m->buckets[b])
                b++;
            s->counts[b]++;
            s->count++;
            s->value += v;
        } else if (set) {
            s->value = v;
        } else {
            s->value += v;
        }
    }
    pthread_mutex_unlock(&lock);
}

void vrt_metric_add(vrt_metric *m, const char *const *values, double v)
{
    update(m, values, v, 0);
}

void vrt_metric_set(vrt_metric *m, const char *const *values, double v)
{
    update(m, values, v, 1);
}

void vrt_metric_observe(vrt_metric *m, const char *const *values, double v)
{
    update(m, values, v, 0);
}

/* --- the standard series ------------------------------------------------ */

void vrt_metrics_reconcile(const char *kind, const char *outcome,
                           double seconds)
{
    static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                     0.5,   1,    2.5,   5,    10,  30, 60};
    vrt_metric_add(vrt_metric_counter("virtrigaud_reconcile_total",
                                      "Reconciles run, by kind and outcome.",
                                      "kind,outcome"),
                   (const char *[]){kind, outcome}, 1);
    vrt_metric_observe(
        vrt_metric_histogram("virtrigaud_reconcile_duration_seconds",
                             "Time spent in one reconcile.", "kind", buckets,
                             sizeof(buckets) / sizeof(buckets[0])),
        (const char *[]){kind}, seconds);
}

void vrt_metrics_provider_call(const char *provider, const char *method,
                               int rc)
{
    vrt_metric_add(vrt_metric_counter("virtrigaud_provider_calls_total",
                                      "Provider plugin calls, by result code.",
                                      "provider,method,code"),
                   (const char *[]){provider, method,
                                    rc == 0 ? "OK" : vrt_error_code_name(rc)},
                   1);
}

void vrt_metrics_api_request(const char *verb, int code)
{
    static const char *const verbs[] = {"GET", "POST", "PUT", "PATCH",
                                        "DELETE", "HEAD", "OPTIONS"};
    const char *v = "OTHER"; /* clients choose the method: keep it bounded */
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (verb && strcmp(verb, verbs[i]) == 0)
            v = verbs[i];
    char c[16];
    snprintf(c, sizeof(c), "%d", code);
    vrt_metric_add(vrt_metric_counter("virtrigaud_apiserver_requests_total",
                                      "API server requests, by HTTP method "
                                      "and status code.",
                                      "verb,code"),
                   (const char *[]){v, c}, 1);
}

void vrt_metrics_queue_depth(size_t depth)
{
    vrt_metric_set(vrt_metric_gauge("virtrigaud_workqueue_depth",
                                    "Keys waiting in the controller's work "
                                    "queue (ready or delayed).",
                                    NULL),
                   NULL, (double)depth);
}

void vrt_metrics_leader(int leading)
{
    vrt_metric_set(vrt_metric_gauge("virtrigaud_leader",
                                    "1 while this process holds the leader "
                                    "Lease (or runs without election).",
                                    NULL),
                   NULL, leading ? 1 : 0);
}

/* --- rendering -------------------------------------------------------- */

typedef struct out {
    char *buf;
    size_t len, cap;
} out;

__attribute__((format(printf, 2, 3))) static void put(out *o, const char *fmt,
                                                      ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        o->cap = (o->cap + (size_t)n) * 2;
        o->buf = realloc(o->buf, o->cap);
        if (!o->buf)
            abort();
    }
}

/* A label value or HELP text, escaped as the text format wants. */
static void put_escaped(out *o, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            put(o, "\\\\");
        else if (*s == '\n')
            put(o, "\\n");
        else if (*s == '"' && quote)
            put(o, "\\\"");
        else
            put(o, "%c", *s);
    }
}

/* {a="x",b="y"} plus an optional extra label (le for buckets). */
static void put_labels(out *o, const vrt_metric *m, const series *s,
                       const char *extra, const char *extra_value)
{
    if (!m->n_labels && !extra)
        return;
    put(o, "{");
    for (size_t i = 0; i < m->n_labels; i++) {
        put(o, "%s%s=\"", i ? "," : "", m->labels[i]);
        put_escaped(o, s->values[i], 1);
        put(o, "\"");
    }
    if (extra)
        put(o, "%s%s=\"%s\"", m->n_labels ? "," : "", extra, extra_value);
    put(o, "}");
}

static void put_family(out *o, const vrt_metric *m)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    put(o, "# HELP %s ", m->name);
    put_escaped(o, m->help, 0);
    put(o, "\n# TYPE %s %s\n", m->name, types[m->type]);
    for (const series *s = m->series; s; s = s->next) {
        if (m->type != M_HISTOGRAM) {
            put(o, "%s", m->name);
            put_labels(o, m, s, NULL, NULL);
            put(o, " %.17g\n", s->value);
            continue;
        }
        double cum = 0;
        for (size_t b = 0; b <= m->n_buckets; b++) {
            char le[32];
            if (b < m->n_buckets)
                snprintf(le, sizeof(le), "%g", m->buckets[b]);
            else
                snprintf(le, sizeof(le), "+Inf");
            cum += s->counts[b];
            put(o, "%s_bucket", m->name);
            put_labels(o, m, s, "le", le);
            put(o, " %.17g\n", cum);
        }
        put(o, "%s_sum", m->name);
        put_labels(o, m, s, NULL, NULL);
        put(o, " %.17g\n%s_count", s->value, m->name);
        put_labels(o, m, s, NULL, NULL);
        put(o, " %llu\n", s->count);
    }
}

/* Resident set size from /proc/self/statm (pages), or -1. */
static double rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    int n = f ? fscanf(f, "%lu %lu", &size, &resident) : 0;
    if (f)
        fclose(f);
    return n == 2 ? (double)resident * (double)sysconf(_SC_PAGESIZE) : -1;
}

char *vrt_metrics_render(void)
{
    out o = {0};
    o.cap = 4096;
    o.buf = malloc(o.cap);
    if (!o.buf)
        abort();
    o.buf[0] = '\0';
    pthread_mutex_lock(&lock);
    for (const vrt_metric *m = families; m; m = m->next)
        put_family(&o, m);
    pthread_mutex_unlock(&lock);
    double rss = rss_bytes();
    if (rss >= 0)
        put(&o,
            "# HELP virtrigaud_process_resident_memory_bytes Resident memory "
            "size in bytes.\n"
            "# TYPE virtrigaud_process_resident_memory_bytes gauge\n"
            "virtrigaud_process_resident_memory_bytes %.17g\n",
            rss);
    return o.buf;
}

void vrt_metrics_free_all(void)
{
    pthread_mutex_lock(&lock);
    while (families) {
        vrt_metric *m = families;
        families = m->next;
        while (m->series) {
            series *s = m->series;
            m->series = s->next;
            for (size_t i = 0; i < m->n_labels; i++)
                free(s->values[i]);
            free(s->counts);
            free(s);
        }
        for (size_t i = 0; i < m->n_labels; i++)
            free(m->labels[i]);
        free(m->buckets);
        free(m->name);
        free(m->help);
        free(m);
    }
    pthread_mutex_unlock(&lock);
}
