/*
 * zpool.c - deflate a batch of independent buffers (VMDK grains) on two
 * threads: the caller's and one helper.  Deflate is the costliest step of
 * a streamOptimized conversion by far, and grains compress independently,
 * so a batch is shared out grain by grain (whoever is free takes the
 * next), which also balances around the hash thread.  Memory is fixed at
 * creation: one output buffer per batch slot and two zlib states per
 * thread.
 *
 * Data that does not compress (already compressed or encrypted files, or
 * random bytes) costs deflate the most for nothing, so each buffer is first
 * judged by deflating two 4 KiB samples; when neither shrinks, the buffer
 * is stored as a zlib stream of "stored" deflate blocks (RFC 1950/1951,
 * readable by every inflater) at the cost of a copy.
 */
#include "pipe_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct zjob {
    const uint8_t *in;
    size_t in_len;
    size_t out_len; /* compressed bytes, after the prefix */
    int ok;
} zjob;

struct vrt_pipe_zpool {
    int level;
    size_t prefix, cap; /* per output: reserved head, bytes after it */
    unsigned slots;
    zjob *jobs;
    uint8_t **out;
    unsigned n;          /* jobs in the current batch */
    atomic_uint next;    /* next job to take */
    z_stream zs[2];      /* [0] the caller's, [1] the helper's */
    z_stream sample[2];  /* the same, for the samples (raw deflate) */
    int zs_ready[2], sample_ready[2];
    pthread_t helper;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned gen, done_gen; /* batches started and finished by the helper */
    int stop;
};

#define SAMPLE 4096u
/* A sample that does not lose this much is judged incompressible. */
#define SAMPLE_GAIN 64u

/* Non-zero when deflate gains (almost) nothing on n bytes at p. */
static int sample_flat(z_stream *zs, const uint8_t *p, size_t n)
{
    uint8_t out[SAMPLE + 64];
    if (deflateReset(zs) != Z_OK)
        return 0;
    zs->next_in = (Bytef *)(uintptr_t)p;
    zs->avail_in = (uInt)n;
    zs->next_out = out;
    zs->avail_out = (uInt)sizeof(out);
    if (deflate(zs, Z_FINISH) != Z_STREAM_END)
        return 1; /* did not even fit: it grew */
    return sizeof(out) - zs->avail_out + SAMPLE_GAIN > n;
}

static int incompressible(z_stream *zs, const uint8_t *p, size_t n)
{
    if (n < 2 * SAMPLE)
        return 0;
    return sample_flat(zs, p, SAMPLE) &&
           sample_flat(zs, p + n / 2, SAMPLE);
}

/* A zlib stream of stored blocks: header, blocks of at most 65535 bytes
 * (BFINAL on the last), Adler-32.  Returns its length. */
static size_t store(uint8_t *out, const uint8_t *in, size_t n)
{
    size_t o = 0;
    out[o++] = 0x78; /* deflate, 32 KiB window */
    out[o++] = 0x01; /* no dictionary, check bits: 0x7801 % 31 == 0 */
    size_t done = 0;
    do {
        size_t b = n - done > 65535 ? 65535 : n - done;
        out[o++] = done + b == n ? 1 : 0;
        out[o++] = (uint8_t)b;
        out[o++] = (uint8_t)(b >> 8);
        out[o++] = (uint8_t)~b;
        out[o++] = (uint8_t)(~b >> 8);
        memcpy(out + o, in + done, b);
        o += b;
        done += b;
    } while (done < n);
    vrt_put_be32(out + o, (uint32_t)adler32(adler32(0L, Z_NULL, 0), in,
                                             (uInt)n));
    return o + 4;
}

/* Takes jobs until none are left.  t: 0 the caller, 1 the helper. */
static void drain_jobs(vrt_pipe_zpool *z, int t)
{
    z_stream *zs = &z->zs[t];
    for (;;) {
        unsigned i = atomic_fetch_add(&z->next, 1u);
        if (i >= z->n)
            return;
        zjob *j = &z->jobs[i];
        j->ok = 0;
        if (z->level > 0 && incompressible(&z->sample[t], j->in, j->in_len)) {
            j->out_len = store(z->out[i] + z->prefix, j->in, j->in_len);
            j->ok = 1;
            continue;
        }
        if (deflateReset(zs) != Z_OK)
            continue;
        zs->next_in = (Bytef *)(uintptr_t)j->in;
        zs->avail_in = (uInt)j->in_len;
        zs->next_out = z->out[i] + z->prefix;
        zs->avail_out = (uInt)z->cap;
        if (deflate(zs, Z_FINISH) == Z_STREAM_END) {
            j->out_len = z->cap - zs->avail_out;
            j->ok = 1;
        }
    }
}

static void *helper_main(void *arg)
{
    vrt_pipe_zpool *z = arg;
    pthread_mutex_lock(&z->mu);
    for (;;) {
        while (z->done_gen == z->gen && !z->stop)
            pthread_cond_wait(&z->cv, &z->mu);
        if (z->stop)
            break;
        unsigned gen = z->gen;
        pthread_mutex_unlock(&z->mu);
        drain_jobs(z, 1);
        pthread_mutex_lock(&z->mu);
        z->done_gen = gen;
        pthread_cond_broadcast(&z->cv);
    }
    pthread_mutex_unlock(&z->mu);
    return NULL;
}

int vrt_pipe_zpool_new(vrt_pipe_zpool **out, int level, size_t max_in,
                       size_t prefix, unsigned slots)
{
    vrt_pipe_zpool *z = calloc(1, sizeof(*z));
    if (!z)
        abort();
    *out = NULL;
    z->level = level;
    z->prefix = prefix;
    z->slots = slots;
    pthread_mutex_init(&z->mu, NULL);
    pthread_cond_init(&z->cv, NULL);
    for (int t = 0; t < 2; t++) {
        if (deflateInit(&z->zs[t], level) != Z_OK) {
            vrt_pipe_zpool_free(z);
            return -1;
        }
        z->zs_ready[t] = 1;
        if (deflateInit2(&z->sample[t], 1, Z_DEFLATED, -12, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK) {
            vrt_pipe_zpool_free(z);
            return -1;
        }
        z->sample_ready[t] = 1;
    }
    /* Room for deflate's worst case, and for stored blocks. */
    z->cap = deflateBound(&z->zs[0], (uLong)max_in);
    if (z->cap < max_in + 6 + 5 * (max_in / 65535 + 1))
        z->cap = max_in + 6 + 5 * (max_in / 65535 + 1);
    z->jobs = calloc(slots, sizeof(*z->jobs));
    z->out = calloc(slots, sizeof(*z->out));
    if (!z->jobs || !z->out)
        abort();
    /* Room for the prefix, the data and padding to a whole sector. */
    for (unsigned i = 0; i < slots; i++)
        if (!(z->out[i] = malloc(prefix + z->cap + 512)))
            abort();
    /* Without a helper the caller deflates the whole batch itself. */
    z->started = pthread_create(&z->helper, NULL, helper_main, z) == 0;
    *out = z;
    return 0;
}

int vrt_pipe_zpool_run(vrt_pipe_zpool *z, const uint8_t *const *in,
                       const size_t *in_len, unsigned n)
{
    if (n > z->slots)
        return -1;
    for (unsigned i = 0; i < n; i++)
        z->jobs[i] = (zjob){in[i], in_len[i], 0, 0};
    z->n = n;
    atomic_store(&z->next, 0u);
    /* One grain is not worth waking the helper for. */
    int shared = z->started && n > 1;
    unsigned gen = 0;
    if (shared) {
        pthread_mutex_lock(&z->mu);
        gen = ++z->gen;
        pthread_cond_broadcast(&z->cv);
        pthread_mutex_unlock(&z->mu);
    }
    drain_jobs(z, 0);
    if (shared) {
        pthread_mutex_lock(&z->mu);
        while (z->done_gen != gen)
            pthread_cond_wait(&z->cv, &z->mu);
        pthread_mutex_unlock(&z->mu);
    }
    for (unsigned i = 0; i < n; i++)
        if (!z->jobs[i].ok)
            return (int)i + 1;
    return 0;
}

uint8_t *vrt_pipe_zpool_out(vrt_pipe_zpool *z, unsigned i, size_t *len)
{
    *len = z->jobs[i].out_len;
    return z->out[i];
}

void vrt_pipe_zpool_free(vrt_pipe_zpool *z)
{
    if (!z)
        return;
    if (z->started) {
        pthread_mutex_lock(&z->mu);
        z->stop = 1;
        pthread_cond_broadcast(&z->cv);
        pthread_mutex_unlock(&z->mu);
        pthread_join(z->helper, NULL);
    }
    for (int t = 0; t < 2; t++) {
        if (z->zs_ready[t])
            deflateEnd(&z->zs[t]);
        if (z->sample_ready[t])
            deflateEnd(&z->sample[t]);
    }
    for (unsigned i = 0; z->out && i < z->slots; i++)
        free(z->out[i]);
    free(z->out);
    free(z->jobs);
    pthread_mutex_destroy(&z->mu);
    pthread_cond_destroy(&z->cv);
    free(z);
}
