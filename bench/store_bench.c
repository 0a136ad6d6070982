/*
 * store_bench.c - how fast the object store is, next to the plain SQLite
 * work it cannot avoid.  Run through bench/store.sh, which builds it.
 *
 *   store_bench DIR [N]
 *
 * For N objects (default 10000) of a realistic VirtualMachine (~1 KB of
 * JSON), in fresh files under DIR:
 *   - creates/s through vrt_store_create, synchronous=FULL and NORMAL,
 *     against a baseline doing the same durable work the plainest way:
 *     one INSERT of the same JSON text per transaction, prepared once,
 *     same WAL mode and synchronous setting.  The store also checks the
 *     key, takes an rv, writes it into the JSON, serialises it and appends
 *     an event, so the ratio is the price of those.
 *   - get latency (random keys), and list latency for all N objects, each
 *     against a raw SELECT + cJSON_Parse of the same rows.
 * The cJSON trees and the baseline's JSON text are built before timing.
 * Not a test: it prints numbers and judges nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <vrt/store.h>

#define RES "virtualmachines.infra.virtrigaud.io"
#define NNS 10 /* objects spread over this many namespaces */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "store_bench: %s: %s\n", what, why);
    exit(1);
}

static cJSON *make_vm(int i)
{
    char name[32], ns[16], uid[40];
    snprintf(name, sizeof(name), "vm-%06d", i);
    snprintf(ns, sizeof(ns), "ns-%02d", i % NNS);
    snprintf(uid, sizeof(uid), "6f1c2a9e-0000-4000-8000-%012d", i);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "apiVersion", "infra.virtrigaud.io/v1beta1");
    cJSON_AddStringToObject(o, "kind", "VirtualMachine");
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", ns);
    cJSON_AddStringToObject(md, "uid", uid);
    cJSON_AddNumberToObject(md, "generation", 1);
    cJSON_AddStringToObject(md, "creationTimestamp", "2026-01-02T03:04:05Z");
    cJSON *labels = cJSON_AddObjectToObject(md, "labels");
    cJSON_AddStringToObject(labels, "app", "web");
    cJSON_AddStringToObject(labels, "tier", i % 2 ? "frontend" : "backend");
    cJSON *fin = cJSON_AddArrayToObject(md, "finalizers");
    cJSON_AddItemToArray(fin, cJSON_CreateString(
                                  "virtualmachine.infra.virtrigaud.io/finalizer"));
    cJSON *spec = cJSON_AddObjectToObject(o, "spec");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "providerRef"),
                            "name", "libvirt-local");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "classRef"),
                            "name", "small");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "imageRef"),
                            "name", "ubuntu-22-04");
    cJSON_AddStringToObject(spec, "powerState", "On");
    cJSON *nets = cJSON_AddArrayToObject(spec, "networks");
    cJSON *net = cJSON_CreateObject();
    cJSON_AddStringToObject(net, "name", "default");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(net, "networkRef"),
                            "name", "lan");
    cJSON_AddItemToArray(nets, net);
    cJSON *disks = cJSON_AddArrayToObject(spec, "disks");
    cJSON *disk = cJSON_CreateObject();
    cJSON_AddStringToObject(disk, "name", "data");
    cJSON_AddNumberToObject(disk, "sizeGiB", 20);
    cJSON_AddItemToArray(disks, disk);
    cJSON *ud = cJSON_AddObjectToObject(spec, "userData");
    cJSON_AddStringToObject(
        cJSON_AddObjectToObject(ud, "cloudInit"), "inline",
        "#cloud-config\nusers:\n  - name: admin\n    groups: sudo\n"
        "    ssh_authorized_keys:\n      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"
        "AAAAIBenchmarkKeyMaterialThatIsNotRealAtAll admin@example\n");
    cJSON *st = cJSON_AddObjectToObject(o, "status");
    cJSON_AddStringToObject(st, "phase", "Running");
    cJSON_AddStringToObject(st, "id", uid);
    cJSON *ips = cJSON_AddArrayToObject(st, "ips");
    cJSON_AddItemToArray(ips, cJSON_CreateString("192.168.122.10"));
    return o;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts lat[] and prints its percentiles in microseconds. */
static void pct(char *buf, size_t size, double *lat, int n)
{
    qsort(lat, (size_t)n, sizeof(lat[0]), cmp_double);
    snprintf(buf, size, "p50 %7.1f  p90 %7.1f  p99 %7.1f  p99.9 %7.1f us",
             lat[n / 2] * 1e6, lat[(int)(n * 0.9)] * 1e6,
             lat[(int)(n * 0.99)] * 1e6, lat[(int)(n * 0.999)] * 1e6);
}

static vrt_store *open_store(const char *path, int sync_full)
{
    vrt_store_opts o = {.struct_size = sizeof(o), .sync_full = sync_full};
    vrt_store *s = NULL;
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_store_open(&s, path, &o, &err) != VRT_OK)
        die(path, err.message);
    return s;
}

static sqlite3 *raw_open(const char *path, int sync)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(path, sqlite3_errmsg(db));
    const char *sql = sync ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                           : "PRAGMA journal_mode=WAL; "
                             "PRAGMA synchronous=NORMAL;";
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db,
                     "CREATE TABLE IF NOT EXISTS t(ns TEXT, name TEXT,"
                     " data TEXT, PRIMARY KEY (ns, name))",
                     NULL, NULL, NULL) != SQLITE_OK)
        die(path, sqlite3_errmsg(db));
    return db;
}

static const char *ns_of(const cJSON *o)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"),
                               "namespace")
        ->valuestring;
}

static const char *name_of(const cJSON *o)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "name")
        ->valuestring;
}

/* Objects [from, to) through the store; returns the seconds spent. */
static double store_chunk(vrt_store *s, cJSON **objs, int from, int to,
                          double *lat)
{
    double spent = 0;
    for (int i = from; i < to; i++) {
        vrt_error err = VRT_ERROR_INIT;
        int64_t rv;
        double a = now_s();
        if (vrt_store_create(&rv, s, RES, ns_of(objs[i]), name_of(objs[i]),
                             objs[i], &err) != VRT_OK)
            die("vrt_store_create", err.message);
        lat[i] = now_s() - a;
        spent += lat[i];
    }
    return spent;
}

/* The baseline: one INSERT of the same JSON per (autocommit) transaction,
 * the statement prepared once. */
static double raw_chunk(sqlite3 *db, sqlite3_stmt *st, cJSON **objs,
                        char **json, int from, int to, double *lat)
{
    double spent = 0;
    for (int i = from; i < to; i++) {
        double a = now_s();
        sqlite3_bind_text(st, 1, ns_of(objs[i]), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name_of(objs[i]), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, json[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            die("insert", sqlite3_errmsg(db));
        sqlite3_reset(st);
        lat[i] = now_s() - a;
        spent += lat[i];
    }
    return spent;
}

/* Store and baseline take turns, CHUNK writes each, so that both see the
 * same disk weather (fsync latency drifts a lot on shared machines). */
#define CHUNK 250

static void creates(const char *store_path, const char *raw_path,
                    cJSON **objs, char **json, int n, int sync,
                    double *lat_s, double *lat_r)
{
    vrt_store *s = open_store(store_path, sync);
    sqlite3 *db = raw_open(raw_path, sync);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "INSERT INTO t(ns, name, data) VALUES (?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        die("prepare", sqlite3_errmsg(db));
    double ts = 0, tr = 0;
    for (int from = 0; from < n; from += CHUNK) {
        int to = from + CHUNK < n ? from + CHUNK : n;
        ts += store_chunk(s, objs, from, to, lat_s);
        tr += raw_chunk(db, st, objs, json, from, to, lat_r);
    }
    char a[96], b[96];
    pct(a, sizeof(a), lat_s, n);
    pct(b, sizeof(b), lat_r, n);
    printf("creates, synchronous=%s (interleaved in chunks of %d)\n"
           "  store      %9.0f /s   %s\n"
           "  raw insert %9.0f /s   %s\n"
           "  ratio      %9.2f (store rate / raw rate)\n",
           sync ? "FULL" : "NORMAL", CHUNK, n / ts, a, n / tr, b, tr / ts);
    sqlite3_finalize(st);
    sqlite3_close(db);
    vrt_store_close(s);
}

static int count_visit(void *opaque, const cJSON *obj)
{
    (*(int *)opaque)++;
    return 0;
}

#define LIST_RUNS 7

static void reads(const char *store_path, const char *raw_path, int n,
                  double *lat)
{
    vrt_store *s = open_store(store_path, 1);
    sqlite3 *db = raw_open(raw_path, 1);
    sqlite3_stmt *get = NULL, *list = NULL;
    if (sqlite3_prepare_v2(db, "SELECT data FROM t WHERE ns = ? AND name = ?",
                           -1, &get, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT data FROM t ORDER BY ns, name", -1,
                           &list, NULL) != SQLITE_OK)
        die("prepare", sqlite3_errmsg(db));
    char a[96], b[96];
    int gets = n < 10000 ? n : 10000;
    unsigned seed = 42;

    for (int i = 0; i < gets; i++) {
        int k = (int)(rand_r(&seed) % (unsigned)n);
        char name[32], ns[16];
        snprintf(name, sizeof(name), "vm-%06d", k);
        snprintf(ns, sizeof(ns), "ns-%02d", k % NNS);
        vrt_error err = VRT_ERROR_INIT;
        cJSON *o = NULL;
        double t = now_s();
        if (vrt_store_get(&o, s, RES, ns, name, &err) != VRT_OK)
            die("vrt_store_get", err.message);
        lat[i] = now_s() - t;
        cJSON_Delete(o);
    }
    pct(a, sizeof(a), lat, gets);
    seed = 42;
    for (int i = 0; i < gets; i++) {
        int k = (int)(rand_r(&seed) % (unsigned)n);
        char name[32], ns[16];
        snprintf(name, sizeof(name), "vm-%06d", k);
        snprintf(ns, sizeof(ns), "ns-%02d", k % NNS);
        double t = now_s();
        sqlite3_bind_text(get, 1, ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(get, 2, name, -1, SQLITE_STATIC);
        if (sqlite3_step(get) != SQLITE_ROW)
            die("raw get", "no row");
        cJSON *o = cJSON_ParseWithLength(
            (const char *)sqlite3_column_text(get, 0),
            (size_t)sqlite3_column_bytes(get, 0));
        sqlite3_reset(get);
        lat[i] = now_s() - t;
        cJSON_Delete(o);
    }
    pct(b, sizeof(b), lat, gets);
    printf("get (%d random keys)\n  store      %s\n  raw+parse  %s\n", gets,
           a, b);

    double ls[LIST_RUNS], lr[LIST_RUNS];
    int seen = 0;
    for (int r = 0; r < LIST_RUNS; r++) {
        int64_t rv;
        vrt_error err = VRT_ERROR_INIT;
        seen = 0;
        double t = now_s();
        if (vrt_store_list(&rv, s, RES, NULL, count_visit, &seen, &err) !=
            VRT_OK)
            die("vrt_store_list", err.message);
        ls[r] = now_s() - t;
        if (seen != n)
            die("vrt_store_list", "wrong count");
        t = now_s();
        while (sqlite3_step(list) == SQLITE_ROW) {
            cJSON *o = cJSON_ParseWithLength(
                (const char *)sqlite3_column_text(list, 0),
                (size_t)sqlite3_column_bytes(list, 0));
            cJSON_Delete(o);
        }
        sqlite3_reset(list);
        lr[r] = now_s() - t;
    }
    qsort(ls, LIST_RUNS, sizeof(double), cmp_double);
    qsort(lr, LIST_RUNS, sizeof(double), cmp_double);
    printf("list all %d objects (median of %d)\n  store      %8.2f ms\n"
           "  raw+parse  %8.2f ms\n  ratio      %8.2f (store time / raw time)\n",
           n, LIST_RUNS, ls[LIST_RUNS / 2] * 1e3, lr[LIST_RUNS / 2] * 1e3,
           ls[LIST_RUNS / 2] / lr[LIST_RUNS / 2]);
    sqlite3_finalize(get);
    sqlite3_finalize(list);
    sqlite3_close(db);
    vrt_store_close(s);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: store_bench DIR [N [full|normal|both]]\n");
        return 2;
    }
    const char *dir = argv[1];
    int n = argc >= 3 ? atoi(argv[2]) : 10000;
    const char *modes = argc == 4 ? argv[3] : "both";
    if (n < 1)
        die("N", "must be a positive number");
    cJSON **objs = calloc((size_t)n, sizeof(*objs));
    char **json = calloc((size_t)n, sizeof(*json));
    double *lat_s = calloc((size_t)n, sizeof(double));
    double *lat_r = calloc((size_t)n, sizeof(double));
    size_t bytes = 0;
    for (int i = 0; i < n; i++) {
        objs[i] = make_vm(i);
        json[i] = cJSON_PrintUnformatted(objs[i]);
        bytes += strlen(json[i]);
    }
    printf("store bench: %d objects of ~%zu bytes of JSON, sqlite %s\n", n,
           bytes / (size_t)n, sqlite3_libversion());

    char sp[2][512], rp[2][512];
    for (int sync = 0; sync < 2; sync++) {
        snprintf(sp[sync], sizeof(sp[sync]), "%s/store-%d.db", dir, sync);
        snprintf(rp[sync], sizeof(rp[sync]), "%s/raw-%d.db", dir, sync);
    }
    for (int sync = 1; sync >= 0; sync--) {
        if (strcmp(modes, "both") != 0 &&
            strcmp(modes, sync ? "full" : "normal") != 0)
            continue;
        /* The store writes rv into the trees; start each run clean. */
        for (int i = 0; i < n; i++) {
            cJSON_Delete(objs[i]);
            objs[i] = make_vm(i);
        }
        creates(sp[sync], rp[sync], objs, json, n, sync, lat_s, lat_r);
    }
    int last = strcmp(modes, "normal") == 0 ? 0 : 1;
    reads(sp[last], rp[last], n, lat_s);

    for (int i = 0; i < n; i++) {
        cJSON_Delete(objs[i]);
        cJSON_free(json[i]);
    }
    free(objs);
    free(json);
    free(lat_s);
    free(lat_r);
    return 0;
}
