/*
 * apiserver_load - load generator for bench/apiserver.sh.
 *
 * Drives the standalone API server over HTTPS with libcurl (one easy
 * handle per client thread, so each client keeps one TLS connection alive
 * and the handshake is paid once), and runs the raw-SQLite baselines the
 * benchmark compares against.  Every mode prints one line of key=value
 * pairs on stdout, so a script can pick the figures it wants; problems go
 * to stderr.  Traffic goes to the --base URL only, which the script points
 * at 127.0.0.1.  Every mode is bounded by --count/--runs and by
 * --time-limit.
 *
 * Modes:
 *   create   POST --count VMClasses named PREFIX-NNNNNN (from --start),
 *            with --clients threads
 *   get      GET random objects PREFIX-NNNNNN, 0 <= N < --name-count
 *   list     GET the whole collection --runs times
 *   health   GET /healthz (the HTTP + TLS floor of this server)
 *   watch    --watchers concurrent watches on the collection; --writes
 *            creates, one at a time; reports the time from each 201 (and
 *            from each request's start) to each watcher's event
 *   sqlite-insert  one transaction per object into a fresh database with
 *            the store's tables: the durability floor for creates
 *   sqlite-list    SELECT the rows a list reads, from a store file
 *   sqlite-get     SELECT one row by key, --count times
 */
#include <curl/curl.h>
#include <sqlite3.h>

#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define COLLECTION                                                             \
    "/apis/infra.virtrigaud.io/v1beta1/namespaces/default/vmclasses"
#define STORE_KEY "vmclasses.infra.virtrigaud.io"
#define MAX_CLIENTS 64
#define MAX_WATCHERS 512
#define REQUEST_TIMEOUT_S 60L

typedef struct opts {
    const char *mode, *base, *token_file, *cacert, *prefix, *db, *sync;
    char token[256];
    long count, clients, start, name_count, runs, watchers, writes, limit_s;
    double time_limit, deadline;
} opts;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *must(void *p)
{
    if (!p) {
        fputs("apiserver_load: out of memory.\n", stderr);
        abort();
    }
    return p;
}

/* --- latency samples ------------------------------------------------------ */

typedef struct samples {
    double *v;
    size_t n, cap;
} samples;

static void samples_add(samples *s, double x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->v = must(realloc(s->v, s->cap * sizeof(*s->v)));
    }
    s->v[s->n++] = x;
}

static void samples_merge(samples *dst, const samples *src)
{
    for (size_t i = 0; i < src->n; i++)
        samples_add(dst, src->v[i]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples, in milliseconds. */
static double pct_ms(const samples *s, double p)
{
    if (!s->n)
        return 0;
    size_t rank = (size_t)ceil(p * (double)s->n);
    if (rank < 1)
        rank = 1;
    return s->v[rank - 1] * 1e3;
}

static void print_stats(const char *pfx, samples *s)
{
    qsort(s->v, s->n, sizeof(*s->v), cmp_double);
    printf(" %sp50_ms=%.3f %sp99_ms=%.3f %smax_ms=%.3f", pfx, pct_ms(s, 0.5),
           pfx, pct_ms(s, 0.99), pfx, pct_ms(s, 1.0));
}

/* --- one HTTP client (one kept-alive TLS connection) ---------------------- */

typedef struct client {
    CURL *h;
    struct curl_slist *hdrs;
    char *body;
    size_t len, cap;
    int keep_body;     /* keep the response (else only count it) */
    size_t bytes;      /* response bytes of the last request */
    double t_status;   /* when the status line arrived */
} client;

static size_t on_body(char *p, size_t sz, size_t n, void *cls)
{
    client *c = cls;
    size_t len = sz * n;
    c->bytes += len;
    if (c->keep_body) {
        if (c->len + len + 1 > c->cap) {
            c->cap = (c->len + len + 1) * 2;
            c->body = must(realloc(c->body, c->cap));
        }
        memcpy(c->body + c->len, p, len);
        c->len += len;
        c->body[c->len] = '\0';
    }
    return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *cls)
{
    client *c = cls;
    if (n * sz >= 5 && memcmp(p, "HTTP/", 5) == 0)
        c->t_status = now_s();
    return sz * n;
}

static void client_setup(CURL *h, struct curl_slist **hdrs, const opts *o)
{
    char auth[300];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->token);
    *hdrs = curl_slist_append(*hdrs, auth);
    *hdrs = curl_slist_append(*hdrs, "Accept: application/json");
    *hdrs = curl_slist_append(*hdrs, "Content-Type: application/json");
    *hdrs = curl_slist_append(*hdrs, "Expect:");
    must(*hdrs);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(h, CURLOPT_CAINFO, o->cacert);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
}

static void client_init(client *c, const opts *o)
{
    memset(c, 0, sizeof(*c));
    c->h = must(curl_easy_init());
    client_setup(c->h, &c->hdrs, o);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->h, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
}

static void client_free(client *c)
{
    curl_easy_cleanup(c->h);
    curl_slist_free_all(c->hdrs);
    free(c->body);
}

/* One request; returns the HTTP status (0 on a transport failure, with
 * the reason in why). */
static long client_do(client *c, const char *url, const char *post_body,
                      char *why, size_t why_size)
{
    long status = 0;
    c->len = 0;
    c->bytes = 0;
    c->t_status = 0;
    if (c->body)
        c->body[0] = '\0';
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    if (post_body)
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, post_body);
    else
        curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
    CURLcode rc = curl_easy_perform(c->h);
    if (rc != CURLE_OK) {
        snprintf(why, why_size, "%s", curl_easy_strerror(rc));
        return 0;
    }
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* --- request bodies and names --------------------------------------------- */

static void object_name(char *out, size_t size, const char *prefix, long i)
{
    snprintf(out, size, "%s-%06ld", prefix, i);
}

/* A VMClass of a realistic size (~300 bytes as sent). */
static void vmclass_body(char *out, size_t size, const char *name, long i)
{
    snprintf(out, size,
             "{\"apiVersion\":\"infra.virtrigaud.io/v1beta1\",\"kind\":"
             "\"VMClass\",\"metadata\":{\"name\":\"%s\",\"labels\":{"
             "\"bench\":\"apiserver\",\"shard\":\"s%ld\"}},\"spec\":{"
             "\"cpu\":%ld,\"memory\":\"%ldGi\",\"firmware\":\"UEFI\","
             "\"diskDefaults\":{\"type\":\"thin\",\"size\":\"40Gi\"},"
             "\"guestToolsPolicy\":\"install\"}}",
             name, i % 16, 1 + i % 8, 2 * (1 + i % 8));
}

/* Roughly what the server stores for that body: defaults and the
 * metadata it adds (uid, creationTimestamp, generation, rv). */
static void stored_doc(char *out, size_t size, const char *name, long i)
{
    snprintf(out, size,
             "{\"apiVersion\":\"infra.virtrigaud.io/v1beta1\",\"kind\":"
             "\"VMClass\",\"metadata\":{\"name\":\"%s\",\"labels\":{"
             "\"bench\":\"apiserver\",\"shard\":\"s%ld\"},\"namespace\":"
             "\"default\",\"uid\":\"%08lx-0000-4000-8000-000000000000\","
             "\"creationTimestamp\":\"2026-01-01T00:00:00Z\",\"generation\":"
             "1,\"resourceVersion\":\"%ld\"},\"spec\":{\"cpu\":%ld,"
             "\"memory\":\"%ldGi\",\"firmware\":\"UEFI\",\"diskDefaults\":{"
             "\"type\":\"thin\",\"size\":\"40Gi\"},\"guestToolsPolicy\":"
             "\"install\"}}",
             name, i % 16, (unsigned long)i, i + 1, 1 + i % 8, 2 * (1 + i % 8));
}

/* xorshift64*: a fixed sequence per thread, so runs are comparable. */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* --- create / get / list / health: N requests over C clients -------------- */

typedef struct run_shared {
    const opts *o;
    atomic_long next;
    atomic_int first_error_taken;
    char first_error[400];
} run_shared;

typedef struct worker {
    run_shared *sh;
    int id;
    samples lat;
    long ok, errors;
    size_t bytes;
} worker;

static long count_of(const char *hay, const char *needle)
{
    long n = 0;
    size_t len = strlen(needle);
    for (const char *p = hay; (p = strstr(p, needle)); p += len)
        n++;
    return n;
}

static void note_error(run_shared *sh, long status, const char *why,
                       const char *body)
{
    if (atomic_exchange(&sh->first_error_taken, 1))
        return;
    snprintf(sh->first_error, sizeof(sh->first_error),
             "HTTP %ld %s %.300s", status, why, body ? body : "");
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    const opts *o = w->sh->o;
    client c;
    char url[1024], body[1024], name[128], why[CURL_ERROR_SIZE] = "";
    uint64_t rnd = 0x9e3779b97f4a7c15ull ^ (uint64_t)(w->id + 1) * 7919u;
    int create = strcmp(o->mode, "create") == 0;
    int list = strcmp(o->mode, "list") == 0;
    long want = create ? 201 : 200;
    long total = list ? o->runs : o->count;

    client_init(&c, o);
    c.keep_body = !list; /* a list is 3 MB: counted, not kept */
    for (;;) {
        long i = atomic_fetch_add(&w->sh->next, 1);
        if (i >= total || now_s() > o->deadline)
            break;
        const char *post = NULL;
        if (create) {
            object_name(name, sizeof(name), o->prefix, o->start + i);
            vmclass_body(body, sizeof(body), name, o->start + i);
            snprintf(url, sizeof(url), "%s%s", o->base, COLLECTION);
            post = body;
        } else if (strcmp(o->mode, "get") == 0) {
            long k = (long)(next_rand(&rnd) % (uint64_t)o->name_count);
            object_name(name, sizeof(name), o->prefix, k);
            snprintf(url, sizeof(url), "%s%s/%s", o->base, COLLECTION, name);
        } else if (list) {
            snprintf(url, sizeof(url), "%s%s", o->base, COLLECTION);
        } else {
            snprintf(url, sizeof(url), "%s/healthz", o->base);
        }
        double t0 = now_s();
        long st = client_do(&c, url, post, why, sizeof(why));
        double dt = now_s() - t0;
        if (st == want) {
            w->ok++;
            samples_add(&w->lat, dt);
            w->bytes += c.bytes;
        } else {
            w->errors++;
            note_error(w->sh, st, why, c.body);
        }
    }
    client_free(&c);
    return NULL;
}

/* One untimed list: how many objects the collection holds, so the table
 * shows that every timed list carried all of them. */
static long list_items(const opts *o)
{
    client c;
    char url[1024], why[CURL_ERROR_SIZE] = "";
    long items = -1;
    client_init(&c, o);
    c.keep_body = 1;
    snprintf(url, sizeof(url), "%s%s", o->base, COLLECTION);
    long st = client_do(&c, url, NULL, why, sizeof(why));
    if (st == 200)
        items = count_of(c.body, "\"kind\":\"VMClass\"");
    else
        fprintf(stderr, "apiserver_load: list: HTTP %ld %s\n", st, why);
    client_free(&c);
    return items;
}

static int run_requests(const opts *o)
{
    run_shared sh = {.o = o};
    long n = o->clients;
    worker *ws = must(calloc((size_t)n, sizeof(*ws)));
    pthread_t *th = must(calloc((size_t)n, sizeof(*th)));
    atomic_init(&sh.next, 0);
    atomic_init(&sh.first_error_taken, 0);

    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        ws[i].sh = &sh;
        ws[i].id = (int)i;
        if (pthread_create(&th[i], NULL, worker_main, &ws[i]) != 0) {
            fprintf(stderr, "apiserver_load: cannot start thread %ld.\n", i);
            abort();
        }
    }
    for (long i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    double secs = now_s() - t0;

    samples all = {0};
    long ok = 0, errors = 0;
    long items = strcmp(o->mode, "list") == 0 ? list_items(o) : -1;
    size_t bytes = 0;
    for (long i = 0; i < n; i++) {
        samples_merge(&all, &ws[i].lat);
        ok += ws[i].ok;
        errors += ws[i].errors;
        bytes += ws[i].bytes;
        free(ws[i].lat.v);
    }
    long asked = strcmp(o->mode, "list") == 0 ? o->runs : o->count;
    double rate = secs > 0 ? (double)ok / secs : 0;
    printf("mode=%s clients=%ld asked=%ld ok=%ld errors=%ld seconds=%.3f "
           "rate=%.1f",
           o->mode, n, asked, ok, errors, secs, rate);
    print_stats("", &all);
    printf(" bytes_per_req=%zu", ok ? bytes / (size_t)ok : 0);
    if (items >= 0)
        printf(" items=%ld", items);
    printf("\n");
    if (sh.first_error[0])
        fprintf(stderr, "apiserver_load: %s: first failure: %s\n", o->mode,
                sh.first_error);
    if (ok < asked)
        fprintf(stderr,
                "apiserver_load: %s: %ld of %ld requests succeeded%s.\n",
                o->mode, ok, asked,
                now_s() > o->deadline ? " (time limit reached)" : "");
    free(all.v);
    free(ws);
    free(th);
    return ok == asked ? 0 : 1;
}

/* --- watch fan-out -------------------------------------------------------- */

typedef struct watch_shared {
    const opts *o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long *seen;        /* per write index (-1 = the sync write): watchers
                          that received it */
    long sync_seen;
    double *arrival;   /* [watcher * writes + index] */
    atomic_int stop;
    char from_rv[32];
} watch_shared;

typedef struct watcher {
    watch_shared *sh;
    int id;
    char *line;
    size_t len, cap;
    long events;
    CURLcode rc;
} watcher;

/* One complete event line: note when an ADDED for one of our writes
 * arrived. */
static void watcher_line(watcher *w, const char *line, double t)
{
    watch_shared *sh = w->sh;
    if (!strstr(line, "\"type\":\"ADDED\""))
        return;
    char key[160];
    snprintf(key, sizeof(key), "\"name\":\"%s-", sh->o->prefix);
    const char *p = strstr(line, key);
    if (!p)
        return;
    p += strlen(key);
    w->events++;
    pthread_mutex_lock(&sh->mu);
    if (strncmp(p, "sync\"", 5) == 0) {
        sh->sync_seen++;
    } else if (*p >= '0' && *p <= '9') {
        long i = strtol(p, NULL, 10);
        if (i >= 0 && i < sh->o->writes) {
            sh->arrival[(size_t)w->id * (size_t)sh->o->writes + (size_t)i] = t;
            sh->seen[i]++;
        }
    }
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
}

static size_t watcher_body(char *p, size_t sz, size_t n, void *cls)
{
    watcher *w = cls;
    size_t len = sz * n;
    double t = now_s();
    if (w->len + len + 1 > w->cap) {
        w->cap = (w->len + len + 1) * 2;
        w->line = must(realloc(w->line, w->cap));
    }
    memcpy(w->line + w->len, p, len);
    w->len += len;
    w->line[w->len] = '\0';
    char *start = w->line, *nl;
    while ((nl = strchr(start, '\n'))) {
        *nl = '\0';
        watcher_line(w, start, t);
        start = nl + 1;
    }
    w->len -= (size_t)(start - w->line);
    memmove(w->line, start, w->len + 1);
    return len;
}

static int watcher_progress(void *cls, curl_off_t a, curl_off_t b,
                            curl_off_t c, curl_off_t d)
{
    watcher *w = cls;
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return atomic_load(&w->sh->stop) ? 1 : 0;
}

static void *watcher_main(void *arg)
{
    watcher *w = arg;
    const opts *o = w->sh->o;
    struct curl_slist *hdrs = NULL;
    char url[1024];
    CURL *h = must(curl_easy_init());
    client_setup(h, &hdrs, o);
    snprintf(url, sizeof(url),
             "%s%s?watch=true&resourceVersion=%s&timeoutSeconds=%ld", o->base,
             COLLECTION, w->sh->from_rv, (long)o->time_limit + 30);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, watcher_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, watcher_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, w);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)o->time_limit + 30);
    w->rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    return NULL;
}

/* Waits until `*counter` reaches `want` or `until` passes. */
static int wait_count(watch_shared *sh, const long *counter, long want,
                      double until)
{
    pthread_mutex_lock(&sh->mu);
    while (*counter < want && now_s() < until) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&sh->cv, &sh->mu, &ts);
    }
    int ok = *counter >= want;
    pthread_mutex_unlock(&sh->mu);
    return ok;
}

/* metadata.resourceVersion of a created object, from its JSON. */
static int rv_from_body(char *out, size_t size, const char *body)
{
    const char *p = body ? strstr(body, "\"resourceVersion\":\"") : NULL;
    if (!p)
        return -1;
    p += strlen("\"resourceVersion\":\"");
    size_t n = strcspn(p, "\"");
    if (n == 0 || n >= size)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static long post_one(client *c, const opts *o, const char *name, long i)
{
    char url[1024], body[1024], why[CURL_ERROR_SIZE] = "";
    snprintf(url, sizeof(url), "%s%s", o->base, COLLECTION);
    vmclass_body(body, sizeof(body), name, i);
    long st = client_do(c, url, body, why, sizeof(why));
    if (st != 201)
        fprintf(stderr, "apiserver_load: watch: POST %s: HTTP %ld %s %.300s\n",
                name, st, why, c->body ? c->body : "");
    return st;
}

static int run_watch(const opts *o)
{
    long nw = o->watchers, nwr = o->writes;
    watch_shared sh = {.o = o};
    watcher *ws = must(calloc((size_t)nw, sizeof(*ws)));
    pthread_t *th = must(calloc((size_t)nw, sizeof(*th)));
    double *t_201 = must(calloc((size_t)nwr, sizeof(double)));
    double *t_sent = must(calloc((size_t)nwr, sizeof(double)));
    sh.seen = must(calloc((size_t)nwr, sizeof(long)));
    sh.arrival = must(calloc((size_t)(nw * nwr), sizeof(double)));
    pthread_mutex_init(&sh.mu, NULL);
    pthread_cond_init(&sh.cv, NULL);
    atomic_init(&sh.stop, 0);
    int rc = 1, started = 0;
    long done = 0, missing = 0, early = 0;
    char name[128];
    client c;
    client_init(&c, o);
    c.keep_body = 1;

    /* An anchor write gives the rv the watches start from, so they skip
     * the initial listing of every object and miss no event after it. */
    snprintf(name, sizeof(name), "%s-anchor", o->prefix);
    if (post_one(&c, o, name, 0) != 201 ||
        rv_from_body(sh.from_rv, sizeof(sh.from_rv), c.body) != 0)
        goto cleanup;
    for (long i = 0; i < nw; i++) {
        ws[i].sh = &sh;
        ws[i].id = (int)i;
        if (pthread_create(&th[i], NULL, watcher_main, &ws[i]) != 0) {
            fprintf(stderr, "apiserver_load: cannot start watcher %ld.\n", i);
            goto cleanup;
        }
        started++;
    }
    /* Every watcher must be streaming before timing starts: one write
     * that all of them have to see. */
    snprintf(name, sizeof(name), "%s-sync", o->prefix);
    if (post_one(&c, o, name, 0) != 201)
        goto cleanup;
    if (!wait_count(&sh, &sh.sync_seen, nw, now_s() + 30)) {
        fprintf(stderr, "apiserver_load: watch: only %ld of %ld watchers "
                        "were streaming after 30 s.\n",
                sh.sync_seen, nw);
        goto cleanup;
    }
    for (long i = 0; i < nwr && now_s() < o->deadline; i++) {
        object_name(name, sizeof(name), o->prefix, i);
        t_sent[i] = now_s();
        if (post_one(&c, o, name, i) != 201)
            goto cleanup;
        t_201[i] = c.t_status;
        /* One write in flight at a time: this measures fan-out, not a
         * queue.  A watcher that never sees it counts as missing. */
        wait_count(&sh, &sh.seen[i], nw, now_s() + 10);
        done++;
    }
    rc = 0;

cleanup:
    atomic_store(&sh.stop, 1);
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        /* Stopped by us is the normal end; anything else is worth saying. */
        if (ws[i].rc != CURLE_ABORTED_BY_CALLBACK)
            fprintf(stderr, "apiserver_load: watch: watcher %d ended early "
                            "(%s) after %ld events.\n",
                    i, curl_easy_strerror(ws[i].rc), ws[i].events);
    }

    samples from_201 = {0}, from_send = {0};
    for (long i = 0; i < done; i++) {
        for (long w = 0; w < nw; w++) {
            double t = sh.arrival[(size_t)w * (size_t)nwr + (size_t)i];
            if (t == 0) {
                missing++;
                continue;
            }
            /* The event may beat the 201 to the client: count it as 0. */
            if (t < t_201[i])
                early++;
            samples_add(&from_201, t < t_201[i] ? 0 : t - t_201[i]);
            samples_add(&from_send, t - t_sent[i]);
        }
    }
    printf("mode=watch watchers=%ld writes=%ld done=%ld events=%zu "
           "missing=%ld before_201=%ld",
           nw, nwr, done, from_201.n, missing, early);
    print_stats("", &from_201);
    print_stats("from_send_", &from_send);
    printf("\n");
    if (missing)
        fprintf(stderr, "apiserver_load: watch: %ld events never arrived "
                        "within 10 s.\n",
                missing);
    client_free(&c);
    for (long i = 0; i < nw; i++)
        free(ws[i].line);
    free(from_201.v);
    free(from_send.v);
    free(ws);
    free(th);
    free(t_201);
    free(t_sent);
    free(sh.seen);
    free(sh.arrival);
    pthread_mutex_destroy(&sh.mu);
    pthread_cond_destroy(&sh.cv);
    return rc || missing || done < nwr;
}

/* --- raw SQLite baselines ------------------------------------------------- */

static int sql_fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "apiserver_load: SQLite: %s: %s\n", what,
            db ? sqlite3_errmsg(db) : "cannot open");
    return 1;
}

static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : rc;
}

/* The store's tables and pragmas (core/store), one transaction per
 * object with its event row: what a durable create cannot do without.
 * With --clients, threads share one connection behind a mutex, as the
 * store's writers do. */
typedef struct sq_insert {
    const opts *o;
    sqlite3 *db;
    sqlite3_stmt *st[4];
    pthread_mutex_t mu;
    atomic_long next;
    atomic_int failed;
} sq_insert;

typedef struct sq_worker {
    sq_insert *sq;
    samples lat;
    long ok;
} sq_worker;

static const char *const sq_insert_sql[4] = {
    "BEGIN IMMEDIATE",
    "INSERT INTO objects(resource, namespace, name, rv, data)"
    " VALUES (?1, 'default', ?2, ?3, ?4)",
    "INSERT INTO events(rv, resource, namespace, name, type, data)"
    " VALUES (?3, ?1, 'default', ?2, 1, ?4)",
    "COMMIT"};

/* One object's transaction; the caller holds sq->mu. */
static int sq_insert_one(sq_insert *sq, const char *name, const char *doc,
                         long rv)
{
    for (int k = 1; k <= 2; k++) {
        sqlite3_bind_text(sq->st[k], 1, STORE_KEY, -1, SQLITE_STATIC);
        sqlite3_bind_text(sq->st[k], 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(sq->st[k], 3, rv);
        sqlite3_bind_text(sq->st[k], 4, doc, -1, SQLITE_STATIC);
    }
    for (int k = 0; k < 4; k++)
        if (step_done(sq->st[k])) {
            sql_fail(sq->db, sq_insert_sql[k]);
            sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    return 0;
}

static void *sq_insert_main(void *arg)
{
    sq_worker *w = arg;
    sq_insert *sq = w->sq;
    char name[128], doc[2048];
    for (;;) {
        long i = atomic_fetch_add(&sq->next, 1);
        if (i >= sq->o->count || now_s() > sq->o->deadline ||
            atomic_load(&sq->failed))
            break;
        object_name(name, sizeof(name), sq->o->prefix, i);
        stored_doc(doc, sizeof(doc), name, i);
        double t = now_s();
        pthread_mutex_lock(&sq->mu);
        int bad = sq_insert_one(sq, name, doc, i + 1);
        pthread_mutex_unlock(&sq->mu);
        if (bad) {
            atomic_store(&sq->failed, 1);
            break;
        }
        samples_add(&w->lat, now_s() - t);
        w->ok++;
    }
    return NULL;
}

static int run_sqlite_insert(const opts *o)
{
    sq_insert sq = {.o = o};
    sq_worker *ws = must(calloc((size_t)o->clients, sizeof(*ws)));
    pthread_t *th = must(calloc((size_t)o->clients, sizeof(*th)));
    char pragmas[256];
    samples lat = {0};
    long ok = 0, started = 0;
    int rc = 1;
    pthread_mutex_init(&sq.mu, NULL);
    atomic_init(&sq.next, 0);
    atomic_init(&sq.failed, 0);
    unlink(o->db);
    if (sqlite3_open(o->db, &sq.db) != SQLITE_OK) {
        sql_fail(sq.db, "opening the database");
        goto cleanup;
    }
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
             " PRAGMA journal_size_limit=67108864;",
             strcmp(o->sync, "full") == 0 ? "FULL" : "NORMAL");
    if (sqlite3_exec(sq.db, pragmas, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(sq.db,
                     "CREATE TABLE objects(resource TEXT NOT NULL, namespace"
                     " TEXT NOT NULL, name TEXT NOT NULL, rv INTEGER NOT NULL,"
                     " data TEXT NOT NULL, PRIMARY KEY (resource, namespace,"
                     " name));"
                     "CREATE TABLE events(rv INTEGER PRIMARY KEY, resource TEXT"
                     " NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,"
                     " type INTEGER NOT NULL, data TEXT NOT NULL);",
                     NULL, NULL, NULL) != SQLITE_OK) {
        sql_fail(sq.db, "creating the tables");
        goto cleanup;
    }
    for (int i = 0; i < 4; i++)
        if (sqlite3_prepare_v2(sq.db, sq_insert_sql[i], -1, &sq.st[i],
                               NULL) != SQLITE_OK) {
            sql_fail(sq.db, sq_insert_sql[i]);
            goto cleanup;
        }
    double t0 = now_s();
    for (long i = 0; i < o->clients; i++) {
        ws[i].sq = &sq;
        if (pthread_create(&th[i], NULL, sq_insert_main, &ws[i]) != 0)
            break;
        started++;
    }
    for (long i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        samples_merge(&lat, &ws[i].lat);
        ok += ws[i].ok;
    }
    double secs = now_s() - t0;
    printf("mode=sqlite-insert sync=%s clients=%ld asked=%ld ok=%ld "
           "seconds=%.3f rate=%.1f",
           o->sync, o->clients, o->count, ok, secs,
           secs > 0 ? (double)ok / secs : 0);
    print_stats("", &lat);
    printf("\n");
    rc = ok == o->count ? 0 : 1;

cleanup:
    for (int i = 0; i < 4; i++)
        sqlite3_finalize(sq.st[i]);
    sqlite3_close(sq.db);
    pthread_mutex_destroy(&sq.mu);
    for (long i = 0; i < o->clients; i++)
        free(ws[i].lat.v);
    free(ws);
    free(th);
    free(lat.v);
    return rc;
}

/* The list's query (core/store LIST_NS) or a get's, read to the last
 * byte, on the server's own store file (opened read-only). */
static int run_sqlite_read(const opts *o)
{
    int list = strcmp(o->mode, "sqlite-list") == 0;
    const char *sql = list ? "SELECT data FROM objects WHERE resource = ?1"
                             " AND namespace = 'default' ORDER BY name"
                           : "SELECT rv, data FROM objects WHERE resource = ?1"
                             " AND namespace = 'default' AND name = ?2";
    long total = list ? o->runs : o->count, ok = 0, rows = 0;
    uint64_t rnd = 0x9e3779b97f4a7c15ull;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    samples lat = {0};
    size_t bytes = 0;
    char name[128];
    int rc = 1;
    if (sqlite3_open_v2(o->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sql_fail(db, "opening the store");
        goto cleanup;
    }
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sql_fail(db, sql);
        goto cleanup;
    }
    double t0 = now_s();
    for (long i = 0; i < total && now_s() < o->deadline; i++) {
        double t = now_s();
        sqlite3_bind_text(st, 1, STORE_KEY, -1, SQLITE_STATIC);
        if (!list) {
            long k = (long)(next_rand(&rnd) % (uint64_t)o->name_count);
            object_name(name, sizeof(name), o->prefix, k);
            sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        }
        int src;
        long n = 0;
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
            bytes += (size_t)sqlite3_column_bytes(st, list ? 0 : 1);
            n++;
        }
        sqlite3_reset(st);
        if (src != SQLITE_DONE || n == 0) {
            sql_fail(db, n == 0 ? "a query found no rows" : sql);
            goto cleanup;
        }
        rows = n;
        samples_add(&lat, now_s() - t);
        ok++;
    }
    double secs = now_s() - t0;
    printf("mode=%s asked=%ld ok=%ld seconds=%.3f rate=%.1f", o->mode, total,
           ok, secs, secs > 0 ? (double)ok / secs : 0);
    print_stats("", &lat);
    printf(" bytes_per_req=%zu rows=%ld\n", ok ? bytes / (size_t)ok : 0, rows);
    rc = ok == total ? 0 : 1;

cleanup:
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(lat.v);
    return rc;
}

/* --- command line --------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("Usage: apiserver_load MODE [options]\n"
          "Modes: create get list health watch sqlite-insert sqlite-list "
          "sqlite-get\n"
          "  --base URL          https://127.0.0.1:PORT (HTTP modes)\n"
          "  --token-file FILE   bearer token (DIR/token)\n"
          "  --cacert FILE       the server's certificate (DIR/tls.crt)\n"
          "  --prefix P          object names P-NNNNNN (default bench)\n"
          "  --count N           requests (create, get, health, sqlite-*)\n"
          "  --start N           first object number (create)\n"
          "  --name-count N      objects that exist (get, sqlite-get)\n"
          "  --clients N         concurrent clients (default 1)\n"
          "  --runs N            lists (list, sqlite-list; default 20)\n"
          "  --watchers N        concurrent watches (default 50)\n"
          "  --writes N          timed writes (watch; default 30)\n"
          "  --db FILE           SQLite file (sqlite-*)\n"
          "  --sync full|normal  synchronous pragma (sqlite-insert)\n"
          "  --time-limit S      stop starting requests after S seconds "
          "(default 60)\n",
          f);
}

static int parse_long(long *out, const char *s, const char *opt, long lo,
                      long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || !*s || v < lo || v > hi) {
        fprintf(stderr, "apiserver_load: --%s \"%s\" must be a number from "
                        "%ld to %ld.\n",
                opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* Numeric options: where each goes and its bounds. */
typedef struct num_opt {
    const char *name;
    size_t offset; /* of a long in opts */
    long lo, hi;
} num_opt;

static const num_opt num_opts[] = {
    {"count", offsetof(opts, count), 1, 10000000},
    {"start", offsetof(opts, start), 0, 100000000},
    {"name-count", offsetof(opts, name_count), 1, 10000000},
    {"clients", offsetof(opts, clients), 1, MAX_CLIENTS},
    {"runs", offsetof(opts, runs), 1, 100000},
    {"watchers", offsetof(opts, watchers), 1, MAX_WATCHERS},
    {"writes", offsetof(opts, writes), 1, 100000},
    {"time-limit", offsetof(opts, limit_s), 1, 3600},
};
#define N_NUM (sizeof(num_opts) / sizeof(num_opts[0]))

static int parse_args(opts *o, int argc, char **argv)
{
    /* getopt values: 0..N_NUM-1 numeric, then the string options. */
    enum { O_BASE = 256, O_TOKEN, O_CA, O_PREFIX, O_DB, O_SYNC };
    struct option lo[N_NUM + 8] = {
        {"base", required_argument, NULL, O_BASE},
        {"token-file", required_argument, NULL, O_TOKEN},
        {"cacert", required_argument, NULL, O_CA},
        {"prefix", required_argument, NULL, O_PREFIX},
        {"db", required_argument, NULL, O_DB},
        {"sync", required_argument, NULL, O_SYNC},
        {"help", no_argument, NULL, 'h'},
    };
    for (size_t i = 0; i < N_NUM; i++)
        lo[7 + i] = (struct option){num_opts[i].name, required_argument, NULL,
                                    (int)i};
    int c, bad = 0;
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        exit(0);
    }
    if (argc < 2 || argv[1][0] == '-') {
        usage(stderr);
        return -1;
    }
    o->mode = argv[1];
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        if (c >= 0 && (size_t)c < N_NUM) {
            const num_opt *n = &num_opts[c];
            bad |= parse_long((long *)((char *)o + n->offset), optarg,
                              n->name, n->lo, n->hi);
            continue;
        }
        switch (c) {
        case O_BASE: o->base = optarg; break;
        case O_TOKEN: o->token_file = optarg; break;
        case O_CA: o->cacert = optarg; break;
        case O_PREFIX: o->prefix = optarg; break;
        case O_DB: o->db = optarg; break;
        case O_SYNC: o->sync = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (strcmp(o->sync, "full") != 0 && strcmp(o->sync, "normal") != 0) {
        fprintf(stderr, "apiserver_load: --sync must be \"full\" or "
                        "\"normal\", not \"%s\".\n",
                o->sync);
        bad = 1;
    }
    if (bad)
        return -1;
    o->time_limit = (double)o->limit_s;
    o->deadline = now_s() + o->time_limit;
    return 0;
}

/* The HTTP modes need a base URL, the token and the CA. */
static int load_http_opts(opts *o)
{
    if (!o->base || !o->token_file || !o->cacert) {
        fprintf(stderr, "apiserver_load: %s needs --base, --token-file and "
                        "--cacert.\n",
                o->mode);
        return -1;
    }
    FILE *f = fopen(o->token_file, "r");
    if (!f || !fgets(o->token, sizeof(o->token), f)) {
        fprintf(stderr, "apiserver_load: cannot read the token file \"%s\".\n",
                o->token_file);
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    o->token[strcspn(o->token, "\r\n")] = '\0';
    return 0;
}

int main(int argc, char **argv)
{
    opts o = {.prefix = "bench", .count = 1000, .clients = 1, .runs = 20,
              .watchers = 50, .writes = 30, .name_count = 1000,
              .limit_s = 60, .sync = "full"};
    if (parse_args(&o, argc, argv))
        return 2;
    if (strncmp(o.mode, "sqlite-", 7) == 0) {
        if (!o.db) {
            fprintf(stderr, "apiserver_load: %s needs --db FILE.\n", o.mode);
            return 2;
        }
        if (strcmp(o.mode, "sqlite-insert") == 0)
            return run_sqlite_insert(&o);
        if (strcmp(o.mode, "sqlite-list") == 0 ||
            strcmp(o.mode, "sqlite-get") == 0)
            return run_sqlite_read(&o);
    } else if (!strcmp(o.mode, "create") || !strcmp(o.mode, "get") ||
               !strcmp(o.mode, "list") || !strcmp(o.mode, "health") ||
               !strcmp(o.mode, "watch")) {
        if (load_http_opts(&o))
            return 2;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fputs("apiserver_load: curl_global_init failed.\n", stderr);
            return 1;
        }
        int rc = strcmp(o.mode, "watch") == 0 ? run_watch(&o)
                                              : run_requests(&o);
        curl_global_cleanup();
        return rc;
    }
    fprintf(stderr, "apiserver_load: unknown mode \"%s\".\n", o.mode);
    usage(stderr);
    return 2;
}
