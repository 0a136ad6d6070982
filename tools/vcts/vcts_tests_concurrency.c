/*
 * The thread contract: unless the vtable sets VRT_PROVIDER_SERIALIZE, the
 * manager calls one connection from several threads at once.  Four threads
 * each create two VMs, wait until all eight exist, then describe and
 * destroy their own; every call must succeed and the eight ids must be
 * distinct.  With SERIALIZE the host's lock orders the calls and the same
 * checks still hold.
 */
#include "vcts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define PER_THREAD 2

typedef struct worker {
    vcts_t *t;
    int index;
    pthread_barrier_t *all_created;
    char ids[PER_THREAD][VRT_ID_MAX];
} worker;

static void *work(void *opaque)
{
    worker *w = opaque;
    vcts_t *t = w->t;

    for (int j = 0; j < PER_THREAD; j++) {
        char suffix[32];
        snprintf(suffix, sizeof(suffix), "concurrency-%d-%d", w->index, j);
        if (vcts_vm_create(w->ids[j], t, suffix, NULL) != VRT_OK)
            w->ids[j][0] = '\0';
    }
    /* All eight exist at once here, so distinct ids are required. */
    pthread_barrier_wait(w->all_created);
    for (int j = 0; j < PER_THREAD; j++) {
        vrt_vm_info info;
        if (!w->ids[j][0])
            continue;
        if (vcts_vm_describe(&info, t, w->ids[j]) == VRT_OK &&
            (!info.exists || strcmp(info.id, w->ids[j]) != 0))
            vcts_fail(t, "describe of \"%s\" from thread %d reports "
                         "exists = %d, id \"%s\".",
                      w->ids[j], w->index, (int)info.exists, info.id);
    }
    /* Ids stay known to the main thread: they were all alive together. */
    for (int j = 0; j < PER_THREAD; j++)
        if (w->ids[j][0])
            (void)vcts_vm_destroy(t, w->ids[j]);
    return NULL;
}

static void t_concurrency(vcts_t *t)
{
    worker w[THREADS];
    pthread_t th[THREADS];
    pthread_barrier_t barrier;
    int started = 0;

    if (t->run->vt->flags & VRT_PROVIDER_SERIALIZE)
        vcts_note(t, "the plugin sets SERIALIZE; the host orders the calls");
    pthread_barrier_init(&barrier, NULL, THREADS);
    memset(w, 0, sizeof(w));
    for (int i = 0; i < THREADS; i++) {
        w[i].t = t;
        w[i].index = i;
        w[i].all_created = &barrier;
        if (pthread_create(&th[i], NULL, work, &w[i]) != 0) {
            /* Without all threads the barrier would never open. */
            fprintf(stderr, "vcts: cannot start a thread; stopping.\n");
            abort();
        }
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);

    for (int a = 0; a < THREADS * PER_THREAD; a++) {
        const char *ia = w[a / PER_THREAD].ids[a % PER_THREAD];
        for (int b = a + 1; ia[0] && b < THREADS * PER_THREAD; b++) {
            const char *ib = w[b / PER_THREAD].ids[b % PER_THREAD];
            if (strcmp(ia, ib) == 0)
                vcts_fail(t, "Two VMs created at the same time got the same "
                             "id \"%s\".",
                          ia);
        }
    }
}

const vcts_test vcts_tests_concurrency[] = {
    {"concurrency", "8 VMs created, described, destroyed from 4 threads on "
                    "one connection",
     VCTS_NEED_CONN, 0, t_concurrency},
    {NULL, NULL, 0, 0, NULL},
};
