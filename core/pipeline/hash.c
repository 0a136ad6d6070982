/*
 * hash.c - the content digest stage: SHA-256 of the logical disk.  Zero
 * blocks are digested from the job's zero buffer, never read.
 *
 * SHA-256 is the costliest step of a conversion, so the stage digests on a
 * thread of its own while the job reads, encodes and writes the following
 * blocks: write() copies the block into one of a few slots (bounded memory)
 * and returns; flush() waits until every slot is digested.
 */
#include "pipe_internal.h"

#include <vrt/error.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4u

typedef struct slot {
    uint8_t *buf; /* allocated on first use, zeros_len bytes */
    size_t len;
    int zero;
} slot;

typedef struct hash_state {
    EVP_MD_CTX *md;
    const uint8_t *zeros;
    size_t zeros_len;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot slots[SLOTS];
    unsigned head, tail; /* queued and digested block counts */
    int stop, failed;
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

static int digest(hash_state *h, const uint8_t *buf, size_t len, int zero)
{
    int ok = 1;
    for (size_t done = 0; done < len && ok;) {
        size_t n = len - done;
        if (zero && n > h->zeros_len)
            n = h->zeros_len;
        ok = EVP_DigestUpdate(h->md, zero ? h->zeros : buf + done, n) == 1;
        done += n;
    }
    return ok;
}

static void *worker(void *arg)
{
    hash_state *h = arg;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (h->head == h->tail && !h->stop)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->head == h->tail)
            break;
        slot *s = &h->slots[h->tail % SLOTS];
        pthread_mutex_unlock(&h->mu);
        int ok = digest(h, s->buf, s->len, s->zero);
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
    if (drain(h) || !digest(h, buf, len, 0))
        return vrt_error_set(err, VRT_E_INTERNAL, "SHA-256 update failed.");
    return 0;
}

static int hash_write(vrt_pipe_stage *s, const vrt_pipe_block *b,
                      vrt_error *err)
{
    hash_state *h = s->state;
    int rc = 0;
    if (!h->started || (!b->zero && b->len > h->zeros_len)) {
        /* No thread, or a block larger than a slot: digest in place. */
        rc = drain(h) || !digest(h, b->data, b->len, b->zero);
    } else {
        pthread_mutex_lock(&h->mu);
        while (h->head - h->tail >= SLOTS)
            pthread_cond_wait(&h->cv, &h->mu);
        rc = h->failed;
        pthread_mutex_unlock(&h->mu);
        slot *sl = &h->slots[h->head % SLOTS];
        if (!b->zero && !sl->buf && !(sl->buf = malloc(h->zeros_len)))
            abort();
        if (!b->zero)
            memcpy(sl->buf, b->data, b->len);
        sl->len = b->len;
        sl->zero = b->zero;
        pthread_mutex_lock(&h->mu); /* the worker sees the slot from here */
        h->head++;
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
    for (unsigned i = 0; i < SLOTS; i++)
        free(h->slots[i].buf);
    EVP_MD_CTX_free(h->md);
    free(h);
}

static const vrt_pipe_stage_ops hash_ops = {"hash.content", hash_write,
                                            hash_flush, hash_close};

int vrt_pipe_hash_new(vrt_pipe_stage **out, const uint8_t *zeros,
                      size_t zeros_len, vrt_error *err)
{
    vrt_pipe_stage *s = calloc(1, sizeof(*s));
    hash_state *h = calloc(1, sizeof(*h));
    if (!s || !h)
        abort();
    *out = NULL;
    s->ops = &hash_ops;
    s->state = h;
    h->zeros = zeros;
    h->zeros_len = zeros_len;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->md = EVP_MD_CTX_new();
    if (!h->md || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
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
    unsigned char md[32];
    unsigned int n = 0;
    if (drain(h) || EVP_DigestFinal_ex(h->md, md, &n) != 1 || n != 32) {
        hex[0] = '\0';
        return;
    }
    vrt_pipe_hex(hex, md);
}

void vrt_pipe_stage_free(vrt_pipe_stage *s)
{
    if (!s)
        return;
    if (s->ops && s->ops->close)
        s->ops->close(s);
    free(s);
}
