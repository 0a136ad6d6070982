/*
 * test_queue.c - core/controller/queue.c: deduplication, one worker per
 * key, delayed adds, per-key backoff, forget, shutdown, and many threads.
 *
 * The queue's .c is included so that tests can read an item's due time
 * and failure count instead of sleeping through whole backoff periods.
 * Every blocking call runs in a helper thread joined with a deadline, so
 * a queue that hangs fails the test instead of hanging the suite.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "controller/queue.c"

/* --- helpers ----------------------------------------------------------- */

/* How late a measurement may be on a loaded machine or under valgrind. */
#define SLACK_MS 200

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A vrt_queue_get running in its own thread. */
typedef struct getter {
    vrt_queue *q;
    pthread_t thread;
    char key[64];
    int rc;
    uint64_t returned_ms;
    atomic_int finished;
} getter;

static void *getter_main(void *arg)
{
    getter *g = arg;
    g->rc = vrt_queue_get(g->q, g->key, sizeof(g->key));
    g->returned_ms = vrt_now_ms();
    atomic_store(&g->finished, 1);
    return NULL;
}

static void getter_start(getter *g, vrt_queue *q)
{
    memset(g, 0, sizeof(*g));
    g->q = q;
    g->rc = -2;
    assert_int_equal(pthread_create(&g->thread, NULL, getter_main, g), 0);
}

/* Waits up to `ms` for the getter to return; 1 if it did (and is joined). */
static int getter_wait(getter *g, unsigned ms)
{
    uint64_t deadline = vrt_now_ms() + ms;
    while (!atomic_load(&g->finished) && vrt_now_ms() < deadline)
        sleep_ms(2);
    if (!atomic_load(&g->finished))
        return 0;
    pthread_join(g->thread, NULL);
    return 1;
}

/* Ends a getter that is still blocked (shutdown wakes it) and joins it. */
static void getter_reap(getter *g)
{
    if (atomic_load(&g->finished)) {
        pthread_join(g->thread, NULL);
        return;
    }
    vrt_queue_shutdown(g->q);
    if (!getter_wait(g, 5000))
        fail_msg("a getter did not wake up after shutdown");
}

/* A non-blocking get: the key if one is ready within `ms`, else "". */
static void get_within(char *out, size_t size, vrt_queue *q, unsigned ms)
{
    getter g;
    getter_start(&g, q);
    if (getter_wait(&g, ms)) {
        assert_int_equal(g.rc, 0);
        snprintf(out, size, "%s", g.key);
        return;
    }
    out[0] = '\0';
    getter_reap(&g); /* the queue is shut down now */
}

/* The item for `key`, or NULL; the caller holds no lock (tests only call
 * this while no other thread touches the queue). */
static item *peek(vrt_queue *q, const char *key)
{
    return vrt_hmap_get(q->items, key);
}

/* Takes `key` off the schedule as a worker's get would, without the
 * worker (the heap entry goes stale and is skipped). */
static void unqueue(vrt_queue *q, const char *key)
{
    set_due(q, peek(q, key), 0);
}

/* Milliseconds until `key` is due (negative: overdue). */
static long long due_in(vrt_queue *q, const char *key)
{
    item *it = peek(q, key);
    assert_non_null(it);
    assert_true(it->due_ms != 0);
    return (long long)it->due_ms - (long long)vrt_now_ms();
}

/* --- tests ------------------------------------------------------------- */

static void test_add_twice_is_handed_out_once(void **state)
{
    (void)state;
    vrt_queue *q = vrt_queue_new();
    vrt_queue_add(q, "vm/default/a");
    vrt_queue_add(q, "vm/default/a");
    assert_int_equal(vrt_queue_len(q), 1);

    char key[64];
    assert_int_equal(vrt_queue_get(q, key, sizeof(key)), 0);
    assert_string_equal(key, "vm/default/a");
    assert_int_equal(vrt_queue_len(q), 0);
    vrt_queue_done(q, key);

    get_within(key, sizeof(key), q, 150);
    assert_string_equal(key, ""); /* nothing left: the second add merged */
    vrt_queue_free(q);
}

static void test_distinct_keys_all_handed_out(void **state)
{
    (void)state;
    vrt_queue *q = vrt_queue_new();
    const char *keys[] = {"k1", "k2", "k3"};
    for (int i = 0; i < 3; i++)
        vrt_queue_add(q, keys[i]);
    assert_int_equal(vrt_queue_len(q), 3);
    int seen[3] = {0};
    for (int i = 0; i < 3; i++) {
        char key[64];
        assert_int_equal(vrt_queue_get(q, key, sizeof(key)), 0);
        for (int k = 0; k < 3; k++)
            if (strcmp(key, keys[k]) == 0)
                seen[k]++;
    }
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[1], 1);
    assert_int_equal(seen[2], 1);
    for (int i = 0; i < 3; i++)
        vrt_queue_done(q, keys[i]);
    vrt_queue_free(q);
}

static void test_key_readded_while_processing_waits_for_done(void **state)
{
    (void)state;
    vrt_queue *q = vrt_queue_new();
    char key[64];
    vrt_queue_add(q, "a");
    assert_int_equal(vrt_queue_get(q, key, sizeof(key)), 0);
    assert_string_equal(key, "a");

    /* Re-added while a worker has it: queued, but not handed out. */
    vrt_queue_add(q, "a");
    assert_int_equal(vrt_queue_len(q), 1);
    getter g;
    getter_start(&g, q);
    assert_false(getter_wait(&g, 150));

    /* Another key is not held up by it. */
    vrt_queue_add(q, "b");
    assert_true(getter_wait(&g, 2000));
    assert_int_equal(g.rc, 0);
    assert_string_equal(g.key, "b");
    vrt_queue_done(q, "b");

    getter_start(&g, q);
    assert_false(getter_wait(&g, 100));
    vrt_queue_done(q, "a");
    assert_true(getter_wait(&g, 2000));
    assert_int_equal(g.rc, 0);
    assert_string_equal(g.key, "a");
    vrt_queue_done(q, "a");
    assert_int_equal(vrt_queue_len(q), 0);
    vrt_queue_free(q);
}

static void test_done_without_readd_does_not_requeue(void **state)
{
    (void)state;
    vrt_queue *q = vrt_queue_new();
    char key[64];
    vrt_queue_add(q, "a");
    assert_int_equal(vrt_queue_get(q, key, sizeof(key)), 0);
    vrt_queue_done(q, "a");
    assert_int_equal(vrt_queue_len(q), 0);
    /* Idle, never-failed keys are dropped so the map stays small. */
    assert_int_equal(vrt_hmap_len(q->items), 0);
    vrt_queue_free(q);
}

static void test_add_after_orders_by_due_time(void **state)
{
    (void)state;
    vrt_queue *q = vrt_queue_new();
    uint64_t t0 = vrt_now_ms();
    vrt_queue_add_after(q, "late", 300);
    vrt_queue_add_after(q, "early", 120);
    vrt_queue_add(q, "now");
    assert_int_equal(vrt_queue_len(q), 3);

    char key[64];
    assert_int_equal(vrt_queue_get(q, key, sizeof(key)), 0);
    assert_string_equal(key, "now");
    assert_true(vrt_now_ms() - t0 < SLACK_MS);

    assert_int_equal(vrt_queue_get(q, key, sizeof(key)), 0);
    assert_string_equal(key, "early");
    uint64_t t_early = vrt_now_ms() - t0;
    assert_true(t_early >= 120);
    assert_true(t_early < 120 + 1000);

    assert_int_equal(vrt_queue_get(q, key, sizeof(key)), 0);
    assert_string_equal(key, "late");
    uint64_t t_late = vrt_now_ms() - t0;
    assert_true(t_late >= 300);
    assert_true(t_late < 300 + 1000);
    vrt_queue_done(q, "now");
    vrt_queue_done(q, "early");
    vrt_queue_done(q, "late");
    vrt_queue_free(q);
}

static void test_add_after_earliest_time_wins(void **state)
{
    (void)state;
    vrt_queue *q = vrt_queue_new();
    vrt_queue_add_after(q, "a", 10000);
    vrt_queue_add_after(q, "a", 100);
    long long d = due_in(q, "a");
    assert_true(d > 0 && d <= 100);
    /* A later re-add does not postpone it. */
    vrt_queue_add_after(q, "a", 20000);
    d = due_in(q, "a");
    assert_true(d <= 100);
    /* add() now beats any pending delay. */
    vrt_queue_add(q, "a");
    assert_true(due_in(q, "a") <= 0);
    assert_int_equal(vrt_queue_len(q), 1);
    char key[64];
    get_within(key, sizeof(key), q, 500);
    assert_string_equal(key, "a");
    vrt_queue_free(q);
}

static void test_add_after_wakes_a_blocked_getter(void **state)
{
    (void)state;
    vrt_queue *q = vrt_queue_new();
    getter g;
    getter_start(&g, q); /* blocks with nothing queued at all */
    sleep_ms(50);
    uint64_t t0 = vrt_now_ms();
    vrt_queue_add_after(q, "x", 150);
    assert_true(getter_wait(&g, 3000));
    assert_int_equal(g.rc, 0);
    assert_string_equal(g.key, "x");
    assert_true(g.returned_ms - t0 >= 150);
    vrt_queue_done(q, "x");
    vrt_queue_free(q);
}

static void test_add_after_while_processing_runs_after_done(void **state)
{
    (void)state;
    vrt_queue *q = vrt_queue_new();
    char key[64];
    vrt_queue_add(q, "a");
    assert_int_equal(vrt_queue_get(q, key, sizeof(key)), 0);
    vrt_queue_add_after(q, "a", 100); /* a worker's requeue, as controller.c does */
    vrt_queue_done(q, "a");
    uint64_t t0 = vrt_now_ms();
    assert_int_equal(vrt_queue_len(q), 1);
    assert_int_equal(vrt_queue_get(q, key, sizeof(key)), 0);
    assert_string_equal(key, "a");
    assert_true(vrt_now_ms() - t0 >= 80);
    vrt_queue_done(q, "a");
    vrt_queue_free(q);
}

static void test_backoff_doubles_and_is_capped(void **state)
{
    (void)state;
    vrt_queue *q = vrt_queue_new();
    long long want = BACKOFF_BASE_MS;
    for (int i = 0; i < 12; i++) {
        vrt_queue_add_backoff(q, "a");
        long long d = due_in(q, "a");
        long long expect = want < BACKOFF_MAX_MS ? want : BACKOFF_MAX_MS;
        if (d > expect || d < expect - SLACK_MS)
            fail_msg("failure %d: delay %lld ms, expected %lld ms", i + 1, d,
                     expect);
        assert_int_equal(peek(q, "a")->failures, (uint32_t)(i + 1));
        /* Pretend a worker took it, so the next backoff is not merged
         * into this one's earlier due time. */
        unqueue(q, "a");
        want *= 2;
    }
    /* Many more failures do not overflow the shift. */
    for (int i = 0; i < 100; i++) {
        vrt_queue_add_backoff(q, "a");
        unqueue(q, "a");
    }
    vrt_queue_add_backoff(q, "a");
    long long d = due_in(q, "a");
    assert_true(d <= BACKOFF_MAX_MS && d > BACKOFF_MAX_MS - SLACK_MS);
    vrt_queue_free(q);
}

static void test_backoff_is_per_key(void **state)
{
    (void)state;
    vrt_queue *q = vrt_queue_new();
    for (int i = 0; i < 3; i++) {
        vrt_queue_add_backoff(q, "a");
        unqueue(q, "a");
    }
    vrt_queue_add_backoff(q, "b");
    long long d = due_in(q, "b");
    assert_true(d <= BACKOFF_BASE_MS && d > BACKOFF_BASE_MS - SLACK_MS);
    vrt_queue_free(q);
}

static void test_backoff_really_delays_get(void **state)
{
    (void)state;
    vrt_queue *q = vrt_queue_new();
    char key[64];
    vrt_queue_add(q, "a");
    assert_int_equal(vrt_queue_get(q, key, sizeof(key)), 0);
    uint64_t t0 = vrt_now_ms();
    vrt_queue_add_backoff(q, "a"); /* the reconcile failed */
    vrt_queue_done(q, "a");
    get_within(key, sizeof(key), q, 5000);
    assert_string_equal(key, "a");
    uint64_t waited = vrt_now_ms() - t0;
    if (waited < BACKOFF_BASE_MS - 20)
        fail_msg("handed out after %llu ms, before the %u ms backoff",
                 (unsigned long long)waited, BACKOFF_BASE_MS);
    vrt_queue_free(q);
}

static void test_forget_resets_backoff(void **state)
{
    (void)state;
    vrt_queue *q = vrt_queue_new();
    for (int i = 0; i < 4; i++) {
        vrt_queue_add_backoff(q, "a");
        unqueue(q, "a");
    }
    assert_int_equal(peek(q, "a")->failures, 4);
    vrt_queue_forget(q, "a");
    /* Idle and forgiven: nothing is left of it. */
    assert_null(peek(q, "a"));
    vrt_queue_add_backoff(q, "a");
    long long d = due_in(q, "a");
    assert_true(d <= BACKOFF_BASE_MS && d > BACKOFF_BASE_MS - SLACK_MS);
    assert_int_equal(peek(q, "a")->failures, 1);
    vrt_queue_free(q);
}

static void test_forget_keeps_a_queued_key(void **state)
{
    (void)state;
    vrt_queue *q = vrt_queue_new();
    vrt_queue_add_backoff(q, "a");
    vrt_queue_forget(q, "a");
    /* The failure count goes; the pending add does not. */
    assert_int_equal(vrt_queue_len(q), 1);
    assert_non_null(peek(q, "a"));
    assert_int_equal(peek(q, "a")->failures, 0);
    vrt_queue_forget(q, "unknown"); /* harmless */
    vrt_queue_free(q);
}

static void test_shutdown_wakes_all_getters(void **state)
{
    (void)state;
    vrt_queue *q = vrt_queue_new();
    vrt_queue_add_after(q, "far", 600000); /* a timed wait, not a plain one */
    enum { N = 6 };
    getter g[N];
    for (int i = 0; i < N; i++)
        getter_start(&g[i], q);
    sleep_ms(100);
    for (int i = 0; i < N; i++)
        assert_false(atomic_load(&g[i].finished));
    vrt_queue_shutdown(q);
    for (int i = 0; i < N; i++) {
        if (!getter_wait(&g[i], 3000))
            fail_msg("getter %d still blocked after shutdown", i);
        assert_int_equal(g[i].rc, -1);
    }
    /* Later calls return at once too, even with keys ready. */
    vrt_queue_add(q, "ready");
    char key[64];
    assert_int_equal(vrt_queue_get(q, key, sizeof(key)), -1);
    vrt_queue_free(q);
}

static void test_get_truncates_long_keys(void **state)
{
    (void)state;
    vrt_queue *q = vrt_queue_new();
    vrt_queue_add(q, "vm/default/a-rather-long-name");
    char key[8];
    memset(key, 'X', sizeof(key));
    assert_int_equal(vrt_queue_get(q, key, sizeof(key)), 0);
    assert_string_equal(key, "vm/defa");
    vrt_queue_free(q);
}

/* Many producers and workers: a key is never processed by two workers at
 * once, and every add is followed by a processing that started after it
 * (no lost updates). */
enum { NKEYS = 40, NPRODUCERS = 6, NWORKERS = 5, ADDS_PER_PRODUCER = 3000 };

typedef struct stress {
    vrt_queue *q;
    atomic_int added[NKEYS];   /* bumped before each add */
    atomic_int seen[NKEYS];    /* `added` as read when processing began */
    atomic_int busy[NKEYS];    /* workers inside this key right now */
    atomic_int overlaps;
    atomic_long processed;
    unsigned seed;
} stress;

typedef struct producer_arg {
    stress *s;
    unsigned seed;
} producer_arg;

static void *producer_main(void *arg)
{
    producer_arg *p = arg;
    for (int i = 0; i < ADDS_PER_PRODUCER; i++) {
        int k = (int)(rand_r(&p->seed) % NKEYS);
        char key[32];
        snprintf(key, sizeof(key), "vm/ns/k%d", k);
        atomic_fetch_add(&p->s->added[k], 1);
        if (i % 7 == 0)
            vrt_queue_add_after(p->s->q, key, 1 + rand_r(&p->seed) % 5);
        else
            vrt_queue_add(p->s->q, key);
    }
    return NULL;
}

static void *worker_main(void *arg)
{
    stress *s = arg;
    char key[32];
    while (vrt_queue_get(s->q, key, sizeof(key)) == 0) {
        int k = atoi(strrchr(key, 'k') + 1);
        if (atomic_fetch_add(&s->busy[k], 1) != 0)
            atomic_fetch_add(&s->overlaps, 1);
        atomic_store(&s->seen[k], atomic_load(&s->added[k]));
        if (k % 5 == 0)
            sched_yield(); /* widen the window for overlaps */
        atomic_fetch_sub(&s->busy[k], 1);
        atomic_fetch_add(&s->processed, 1);
        vrt_queue_done(s->q, key);
    }
    return NULL;
}

static void test_many_threads(void **state)
{
    (void)state;
    static stress s;
    memset(&s, 0, sizeof(s));
    s.q = vrt_queue_new();
    pthread_t workers[NWORKERS], producers[NPRODUCERS];
    producer_arg pargs[NPRODUCERS];
    for (int i = 0; i < NWORKERS; i++)
        assert_int_equal(pthread_create(&workers[i], NULL, worker_main, &s), 0);
    for (int i = 0; i < NPRODUCERS; i++) {
        pargs[i] = (producer_arg){&s, 1234u + (unsigned)i};
        assert_int_equal(
            pthread_create(&producers[i], NULL, producer_main, &pargs[i]), 0);
    }
    for (int i = 0; i < NPRODUCERS; i++)
        pthread_join(producers[i], NULL);

    /* Every key must catch up with its last add, and the queue drain (a
     * key whose last add came while it was being processed runs once
     * more after its "seen" already matched). */
    uint64_t deadline = vrt_now_ms() + 20000;
    int lagging = -1;
    while (vrt_now_ms() < deadline) {
        lagging = -1;
        for (int k = 0; k < NKEYS; k++)
            if (atomic_load(&s.seen[k]) != atomic_load(&s.added[k]))
                lagging = k;
        if (lagging < 0 && vrt_queue_len(s.q) == 0)
            break;
        sleep_ms(5);
    }
    vrt_queue_shutdown(s.q);
    for (int i = 0; i < NWORKERS; i++)
        pthread_join(workers[i], NULL);

    if (lagging >= 0)
        fail_msg("key k%d: last add %d never processed (processing saw %d)",
                 lagging, atomic_load(&s.added[lagging]),
                 atomic_load(&s.seen[lagging]));
    assert_int_equal(atomic_load(&s.overlaps), 0);
    /* Deduplication happened (fewer runs than adds), and the queue is
     * empty and has dropped its idle items. */
    long processed = atomic_load(&s.processed);
    assert_true(processed >= NKEYS);
    assert_true(processed <= (long)NPRODUCERS * ADDS_PER_PRODUCER);
    assert_int_equal(vrt_queue_len(s.q), 0);
    assert_int_equal(vrt_hmap_len(s.q->items), 0);
    vrt_queue_free(s.q);
}

static void test_free_null_is_harmless(void **state)
{
    (void)state;
    vrt_queue_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_twice_is_handed_out_once),
        cmocka_unit_test(test_distinct_keys_all_handed_out),
        cmocka_unit_test(test_key_readded_while_processing_waits_for_done),
        cmocka_unit_test(test_done_without_readd_does_not_requeue),
        cmocka_unit_test(test_add_after_orders_by_due_time),
        cmocka_unit_test(test_add_after_earliest_time_wins),
        cmocka_unit_test(test_add_after_wakes_a_blocked_getter),
        cmocka_unit_test(test_add_after_while_processing_runs_after_done),
        cmocka_unit_test(test_backoff_doubles_and_is_capped),
        cmocka_unit_test(test_backoff_is_per_key),
        cmocka_unit_test(test_backoff_really_delays_get),
        cmocka_unit_test(test_forget_resets_backoff),
        cmocka_unit_test(test_forget_keeps_a_queued_key),
        cmocka_unit_test(test_shutdown_wakes_all_getters),
        cmocka_unit_test(test_get_truncates_long_keys),
        cmocka_unit_test(test_many_threads),
        cmocka_unit_test(test_free_null_is_harmless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
