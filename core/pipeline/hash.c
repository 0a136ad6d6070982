/*
 * hash.c - the content digest stage: SHA-256 of the logical disk.  Zero
 * blocks are digested from the job's zero buffer, never read.
 *
 * SHA-256 is the costliest step of a conversion, so the stage digests on a
 * thread of its own while the job reads, encodes and writes the following
 * blocks.  write() queues a pointer to the block, not a copy: the caller
 * keeps the block's bytes unchanged until VRT_PIPE_HASH_QUEUE more blocks
 * have been written or the stage is drained (the job's ring has one buffer
 * more than the queue, so it never waits on itself).
 */
#include "pipe_internal.h"

#include <vrt/error.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    const uint8_t *data; /* NULL for a zero block */
    size_t len;
} slot;

typedef struct hash_state {
    vrt_pipe_md md;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot slots[VRT_PIPE_HASH_QUEUE];
    unsigned head, tail; /* queued and digested block counts */
    int stop, failed;
    int worker_waits; /* the worker sleeps on cv: wake it on a push */
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

/* Digests len bytes of buf, or of zeros when buf is NULL. */
static int digest(hash_state *h, const uint8_t *buf, size_t len)
{
    return vrt_pipe_md_update(&h->md, buf, len) == 0;
}

static void *worker(void *arg)
{
    hash_state *h = arg;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (h->head == h->tail && !h->stop) {
            h->worker_waits = 1;
            pthread_cond_wait(&h->cv, &h->mu);
            h->worker_waits = 0;
        }
        if (h->head == h->tail)
            break;
        slot s = h->slots[h->tail % VRT_PIPE_HASH_QUEUE];
        pthread_mutex_unlock(&h->mu);
        int ok = digest(h, s.data, s.len);
        pthread_mutex_lock(&h->mu);
        if (!ok)
            h->failed = 1;
        h->tail++;
        pthread_cond_broadcast(&h->cv);
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
    if (!h->started) {
        rc = !digest(h, data, b->len); /* no thread: digest in place */
    } else {
        pthread_mutex_lock(&h->mu);
        while (h->head - h->tail >= VRT_PIPE_HASH_QUEUE)
            pthread_cond_wait(&h->cv, &h->mu);
        rc = h->failed;
        h->slots[h->head % VRT_PIPE_HASH_QUEUE] = (slot){data, b->len};
        h->head++;
        if (h->worker_waits)
            pthread_cond_broadcast(&h->cv);
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
    if (h->started) {
        pthread_mutex_lock(&h->mu);
        h->stop = 1;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->thread, NULL);
    }
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    vrt_pipe_md_free(&h->md);
    free(h);
}

static const vrt_pipe_stage_ops hash_ops = {"hash.content", hash_write,
                                            hash_flush, hash_close};

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
    /* Without a thread the stage still works, only slower. */
    h->started = pthread_create(&h->thread, NULL, worker, h) == 0;
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
