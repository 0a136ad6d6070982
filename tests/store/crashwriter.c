/*
 * crashwriter.c - the driver of the store's crash-durability test
 * (tests/store/run.sh), built by that script against libvrtcore.a.
 *
 *   crashwriter write DB full|normal HISTORY
 *       creates objects "obj-000000", "obj-000001"... until killed; after
 *       each vrt_store_create returns it prints "NAME RV" and flushes, so
 *       every line on stdout is a write the store acknowledged.
 *   crashwriter check DB HISTORY ACKS
 *       reopens the store and checks that every acknowledged object is
 *       there with the acknowledged resourceVersion, that the objects'
 *       rvs are exactly 1..current (no gap, no duplicate), that the kept
 *       events run contiguously from the floor to the current rv, and that
 *       the store still accepts a write with the next rv.  Prints what it
 *       found; exit status 0 when all holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vrt/store.h>

#define RES "virtualmachines.infra.virtrigaud.io"
#define NS "crash"

static vrt_store *open_or_die(const char *db, int sync_full, uint32_t history)
{
    vrt_store_opts o = {.struct_size = sizeof(o), .history = history,
                        .sync_full = sync_full};
    vrt_store *s = NULL;
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_store_open(&s, db, &o, &err) != VRT_OK) {
        fprintf(stderr, "crashwriter: %s\n", err.message);
        exit(2);
    }
    return s;
}

static cJSON *new_obj(const char *name, long i)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "apiVersion", "infra.virtrigaud.io/v1beta1");
    cJSON_AddStringToObject(o, "kind", "VirtualMachine");
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", NS);
    cJSON *spec = cJSON_AddObjectToObject(o, "spec");
    cJSON_AddStringToObject(spec, "providerRef", "libvirt-local");
    cJSON_AddStringToObject(spec, "classRef", "small");
    cJSON_AddNumberToObject(spec, "seq", (double)i);
    return o;
}

static int do_write(const char *db, int sync_full, uint32_t history)
{
    vrt_store *s = open_or_die(db, sync_full, history);
    for (long i = 0;; i++) {
        char name[32];
        snprintf(name, sizeof(name), "obj-%06ld", i);
        cJSON *o = new_obj(name, i);
        vrt_error err = VRT_ERROR_INIT;
        int64_t rv = 0;
        int rc = vrt_store_create(&rv, s, RES, NS, name, o, &err);
        cJSON_Delete(o);
        if (rc != VRT_OK) {
            fprintf(stderr, "crashwriter: create \"%s\": %s\n", name,
                    err.message);
            vrt_store_close(s);
            return 1;
        }
        printf("%s %lld\n", name, (long long)rv);
        fflush(stdout);
    }
}

/* --- check ------------------------------------------------------------- */

typedef struct seen {
    unsigned char *rv_seen; /* indexed by rv, 1..max */
    int64_t max;
    long objects;
    long bad; /* rv outside 1..max, or seen twice */
} seen;

static int visit_obj(void *opaque, const cJSON *obj)
{
    seen *c = opaque;
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *rvs = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(md, "resourceVersion"));
    long long rv = rvs ? strtoll(rvs, NULL, 10) : 0;
    c->objects++;
    if (rv < 1 || rv > c->max || c->rv_seen[rv]++)
        c->bad++;
    return 0;
}

typedef struct evseq {
    int64_t next;
    long gaps;
    long count;
} evseq;

static int visit_ev(void *opaque, int type, int64_t rv, const cJSON *obj)
{
    evseq *e = opaque;
    if (rv != e->next)
        e->gaps++;
    e->next = rv + 1;
    e->count++;
    return 0;
}

static int check_acks(vrt_store *s, const char *path, long *acked)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        perror(path);
        return 1;
    }
    char line[128];
    int failed = 0;
    *acked = 0;
    while (fgets(line, sizeof(line), fp)) {
        /* A line cut by the kill has no newline: its name is unknown. */
        if (!strchr(line, '\n'))
            break;
        char name[64];
        long long rv = 0;
        if (sscanf(line, "%63s %lld", name, &rv) != 2)
            continue;
        (*acked)++;
        cJSON *got = NULL;
        vrt_error err = VRT_ERROR_INIT;
        if (vrt_store_get(&got, s, RES, NS, name, &err) != VRT_OK) {
            printf("LOST acknowledged object \"%s\" (rv %lld): %s\n", name,
                   rv, err.message);
            failed = 1;
            continue;
        }
        const char *grv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(got, "metadata"),
            "resourceVersion"));
        if (!grv || strtoll(grv, NULL, 10) != rv) {
            printf("object \"%s\" has rv %s, acknowledged %lld\n", name,
                   grv ? grv : "(none)", rv);
            failed = 1;
        }
        cJSON_Delete(got);
    }
    fclose(fp);
    return failed;
}

static int do_check(const char *db, uint32_t history, const char *acks)
{
    vrt_store *s = open_or_die(db, 1, history);
    int failed = 0;
    long acked = 0;
    int64_t cur = vrt_store_current_rv(s), floor = vrt_store_oldest_rv(s);
    failed |= check_acks(s, acks, &acked);

    seen c = {calloc((size_t)cur + 1, 1), cur, 0, 0};
    vrt_error err = VRT_ERROR_INIT;
    int64_t list_rv = 0;
    if (vrt_store_list(&list_rv, s, RES, NS, visit_obj, &c, &err) != VRT_OK) {
        printf("list failed: %s\n", err.message);
        failed = 1;
    }
    if (c.bad || c.objects != cur || list_rv != cur) {
        printf("object rvs are not exactly 1..%lld: %ld objects, %ld out of "
               "range or repeated, list rv %lld\n",
               (long long)cur, c.objects, c.bad, (long long)list_rv);
        failed = 1;
    }
    free(c.rv_seen);

    evseq e = {floor + 1, 0, 0};
    int rc = vrt_store_events_since(s, floor, RES, NS, 0, visit_ev, &e, &err);
    if (rc != VRT_OK || e.gaps || e.next != cur + 1) {
        printf("events after the floor %lld are not contiguous up to %lld "
               "(rc %d, %ld events, %ld gaps)\n",
               (long long)floor, (long long)cur, rc, e.count, e.gaps);
        failed = 1;
    }

    /* The store takes the next write after the crash. */
    cJSON *o = new_obj("after-crash", -1);
    int64_t rv = 0;
    if (vrt_store_create(&rv, s, RES, NS, "after-crash", o, &err) != VRT_OK ||
        rv != cur + 1) {
        printf("the write after the crash failed or got rv %lld, not %lld: "
               "%s\n",
               (long long)rv, (long long)cur + 1, err.message);
        failed = 1;
    }
    cJSON_Delete(o);
    vrt_store_close(s);
    printf("%s: %ld acknowledged, %lld committed, history floor %lld\n",
           failed ? "FAILED" : "ok", acked, (long long)cur,
           (long long)floor);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "write") == 0)
        return do_write(argv[2], strcmp(argv[3], "normal") != 0,
                        (uint32_t)strtoul(argv[4], NULL, 10));
    if (argc == 5 && strcmp(argv[1], "check") == 0)
        return do_check(argv[2], (uint32_t)strtoul(argv[3], NULL, 10),
                        argv[4]);
    fprintf(stderr, "usage: crashwriter write DB full|normal HISTORY\n"
                    "       crashwriter check DB HISTORY ACKS\n");
    return 2;
}
