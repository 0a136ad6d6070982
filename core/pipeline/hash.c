/*
 * hash.c - the content digest stage: SHA-256 of the logical disk.  Zero
 * blocks are digested from the job's zero buffer, never read.
 *
 * SHA-256 is the costliest step of a conversion, so the stage digests on
 * threads of its own while the job reads, encodes and writes the following
 * blocks.  A flat SHA-256 is one sequence, so it gets one thread.  The tree
 * digest's leaves are independent: with blocks of whole leaves, one thread
 * per core (up to MAX_WORKERS) digests leaves, and whichever thread
 * finishes the oldest block appends its leaf digests to the root, so the
 * root still sees them in disk order.
 *
 * write() queues a pointer to the block, not a copy: the caller keeps the
 * block's bytes unchanged until VRT_PIPE_HASH_QUEUE more blocks have been
 * written or the stage is drained (the job's ring has one buffer more than
 * the queue, so it never waits on itself).
 */
#include "pipe_internal.h"

#include <vrt/error.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_WORKERS 4

typedef struct slot {
    const uint8_t *data; /* NULL for a zero block */
    size_t len;
    int done;
    unsigned char *leaves; /* tree in parallel: the block's leaf digests */
} slot;

typedef struct hash_state {
    vrt_pipe_md md;
    int parallel; /* leaves digested by several workers */
    pthread_t threads[MAX_WORKERS];
    int nthreads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot slots[VRT_PIPE_HASH_QUEUE];
    /* Block counts: queued, handed to a worker, and digested into md. */
    unsigned head, taken, tail;
    int stop, failed;
    int waiting; /* workers asleep on cv: wake them on a push */
} hash_state;

void vrt_pipe_hex(char hex[65], const unsigned char md[32])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

/* Digests len bytes of buf, or of zeros when buf is NULL, into the root
 * (in the caller's thread, in order). */
static int digest(hash_state *h, const uint8_t *buf, size_t len)
{
    return vrt_pipe_md_update(&h->md, buf, len) == 0;
}

/* Parallel: the leaf digests of one block, outside the lock. */
static int digest_leaves(hash_state *h, slot *s)
{
    for (size_t i = 0, off = 0; off < s->len; i++, off += VRT_PIPE_LEAF) {
        size_t n = s->len - off < VRT_PIPE_LEAF ? s->len - off
                                                : VRT_PIPE_LEAF;
        if (vrt_pipe_md_leaf(s->leaves + 32 * i, s->data ? s->data + off
                                                         : NULL,
                             n, h->md.zeros, h->md.zeros_len) != 0)
            return 0;
    }
    return 1;
}

/* With the lock held: appends finished blocks, oldest first, to the root. */
static void retire(hash_state *h)
{
    while (h->tail != h->taken) {
        slot *s = &h->slots[h->tail % VRT_PIPE_HASH_QUEUE];
        if (!s->done)
            break;
        size_t n = (s->len + VRT_PIPE_LEAF - 1) / VRT_PIPE_LEAF;
        if (h->parallel && vrt_pipe_md_add_leaves(&h->md, s->leaves, n) != 0)
            h->failed = 1;
        s->done = 0;
        h->tail++;
    }
}

/* With the lock held: digests the oldest block no thread has taken,
 * dropping the lock meanwhile. */
static void take_one(hash_state *h)
{
    slot *s = &h->slots[h->taken++ % VRT_PIPE_HASH_QUEUE];
    pthread_mutex_unlock(&h->mu);
    /* One worker when flat: blocks reach the root in order. */
    int ok = h->parallel ? digest_leaves(h, s) : digest(h, s->data, s->len);
    pthread_mutex_lock(&h->mu);
    if (!ok)
        h->failed = 1;
    s->done = 1;
    retire(h);
    pthread_cond_broadcast(&h->cv);
}

static void *worker(void *arg)
{
    hash_state *h = arg;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (h->taken == h->head && !h->stop) {
            h->waiting++;
            pthread_cond_wait(&h->cv, &h->mu);
            h->waiting--;
        }
        if (h->taken == h->head)
            break;
        take_one(h);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* Waits until every queued block is digested.  Returns non-zero on a
 * digest failure. */
static int drain(hash_state *h)
{
    pthread_mutex_lock(&h->mu);
    while (h->tail != h->head)
        pthread_cond_wait(&h->cv, &h->mu);
    int failed = h->failed;
    pthread_mutex_unlock(&h->mu);
    return failed;
}

int vrt_pipe_hash_update(vrt_pipe_stage *s, const void *buf, size_t len,
                         vrt_error *err)
{
    hash_state *h = s->state;
    if (drain(h) || !digest(h, buf, len))
        return vrt_error_set(err, VRT_E_INTERNAL, "SHA-256 update failed.");
    return 0;
}

static int hash_write(vrt_pipe_stage *s, const vrt_pipe_block *b,
                      vrt_error *err)
{
    hash_state *h = s->state;
    const uint8_t *data = b->zero ? NULL : b->data;
    int rc = 0;
    if (!h->nthreads) {
        rc = !digest(h, data, b->len); /* no thread: digest in place */
    } else {
        pthread_mutex_lock(&h->mu);
        /* A full queue: rather than wait, the job's own thread digests
         * leaves too (the tree only; a flat digest has one order). */
        while (h->head - h->tail >= VRT_PIPE_HASH_QUEUE) {
            if (h->parallel && h->taken != h->head)
                take_one(h);
            else
                pthread_cond_wait(&h->cv, &h->mu);
        }
        rc = h->failed;
        slot *q = &h->slots[h->head % VRT_PIPE_HASH_QUEUE];
        q->data = data;
        q->len = b->len;
        q->done = 0;
        h->head++;
        if (h->waiting)
            pthread_cond_signal(&h->cv);
        pthread_mutex_unlock(&h->mu);
    }
    if (rc)
        return vrt_error_set(err, VRT_E_INTERNAL, "SHA-256 update failed.");
    return s->next ? s->next->ops->write(s->next, b, err) : 0;
}

static int hash_flush(vrt_pipe_stage *s, vrt_error *err)
{
    if (drain(s->state))
        return vrt_error_set(err, VRT_E_INTERNAL, "SHA-256 update failed.");
    return s->next ? s->next->ops->flush(s->next, err) : 0;
}

static void hash_close(vrt_pipe_stage *s)
{
    hash_state *h = s->state;
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stop = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    for (int i = 0; i < h->nthreads; i++)
        pthread_join(h->threads[i], NULL);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    vrt_pipe_md_free(&h->md);
    for (size_t i = 0; i < VRT_PIPE_HASH_QUEUE; i++)
        free(h->slots[i].leaves);
    free(h);
}

static const vrt_pipe_stage_ops hash_ops = {"hash.content", hash_write,
                                            hash_flush, hash_close};

/* Digest threads for the tree: one per core, at most MAX_WORKERS. */
static int tree_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

int vrt_pipe_hash_new(vrt_pipe_stage **out, const uint8_t *zeros,
                      size_t zeros_len, int tree, vrt_error *err)
{
    vrt_pipe_stage *s = calloc(1, sizeof(*s));
    hash_state *h = calloc(1, sizeof(*h));
    if (!s || !h)
        abort();
    *out = NULL;
    s->ops = &hash_ops;
    s->state = h;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (vrt_pipe_md_init(&h->md, tree, zeros, zeros_len) != 0) {
        vrt_pipe_stage_free(s);
        return vrt_error_set(err, VRT_E_INTERNAL,
                             "SHA-256 is not available from OpenSSL.");
    }
    /* Blocks (zeros_len is the block size) of whole leaves start on leaf
     * boundaries, so each can be digested on its own. */
    int want = 1;
    if (tree && zeros_len >= VRT_PIPE_LEAF && zeros_len % VRT_PIPE_LEAF == 0) {
        h->parallel = 1;
        for (size_t i = 0; i < VRT_PIPE_HASH_QUEUE; i++)
            if (!(h->slots[i].leaves = malloc(32 * (zeros_len / VRT_PIPE_LEAF))))
                abort();
        want = tree_workers();
    }
    /* Without a thread the stage still works, only slower; a parallel
     * stage needs one, since only workers fill the leaf digests. */
    while (h->nthreads < want &&
           pthread_create(&h->threads[h->nthreads], NULL, worker, h) == 0)
        h->nthreads++;
    if (h->parallel && !h->nthreads) {
        vrt_pipe_stage_free(s);
        return vrt_error_set(err, VRT_E_RETRYABLE,
                             "Cannot start a digest thread.");
    }
    *out = s;
    return 0;
}

void vrt_pipe_hash_hex(vrt_pipe_stage *s, char hex[65])
{
    hash_state *h = s->state;
    if (drain(h) || vrt_pipe_md_final(&h->md, hex) != 0)
        hex[0] = '\0';
}

void vrt_pipe_stage_free(vrt_pipe_stage *s)
{
    if (!s)
        return;
    if (s->ops && s->ops->close)
        s->ops->close(s);
    free(s);
}
