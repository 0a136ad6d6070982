/*
 * md.c - the two digest constructions a job can use (vrt_pipe_md).
 *
 *   flat  SHA-256 of the bytes: what sha256sum prints.  The default.
 *   tree  (opt-in, VRT_PIPE_TREE_DIGEST) SHA-256 of the concatenated
 *         SHA-256 digests of consecutive 1 MiB leaves (the last leaf may be
 *         short).  coreutils recompute it:
 *           split -b 1M --filter='sha256sum | cut -c1-64' F |
 *             tr -d '\n' | tr a-f A-F | basenc --base16 -d | sha256sum
 *         An all-zero leaf costs nothing (its digest is a constant), which
 *         is what makes the tree construction faster on sparse disks.
 */
#include "pipe_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static unsigned char zero_leaf[32];
static pthread_once_t zero_leaf_once = PTHREAD_ONCE_INIT;

static void zero_leaf_init(void)
{
    static const uint8_t zeros[64 << 10];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    for (size_t done = 0; ok && done < VRT_PIPE_LEAF; done += sizeof(zeros))
        ok = EVP_DigestUpdate(c, zeros, sizeof(zeros)) == 1;
    if (!ok || EVP_DigestFinal_ex(c, zero_leaf, &n) != 1)
        abort(); /* SHA-256 of constants cannot fail short of no memory */
    EVP_MD_CTX_free(c);
}

int vrt_pipe_md_init(vrt_pipe_md *m, int tree, const uint8_t *zeros,
                     size_t zeros_len)
{
    memset(m, 0, sizeof(*m));
    m->tree = tree;
    m->zeros = zeros;
    m->zeros_len = zeros_len;
    m->root = EVP_MD_CTX_new();
    if (!m->root || EVP_DigestInit_ex(m->root, EVP_sha256(), NULL) != 1)
        return -1;
    if (tree) {
        pthread_once(&zero_leaf_once, zero_leaf_init);
        m->leaf = EVP_MD_CTX_new();
        if (!m->leaf || EVP_DigestInit_ex(m->leaf, EVP_sha256(), NULL) != 1)
            return -1;
    }
    return 0;
}

/* Feeds len bytes of buf (zeros when NULL) to ctx. */
static int feed(vrt_pipe_md *m, EVP_MD_CTX *ctx, const uint8_t *buf,
                size_t len)
{
    for (size_t done = 0; done < len;) {
        size_t n = len - done;
        if (!buf && n > m->zeros_len)
            n = m->zeros_len;
        if (EVP_DigestUpdate(ctx, buf ? buf + done : m->zeros, n) != 1)
            return -1;
        done += n;
    }
    return 0;
}

/* Ends the current (partial) leaf into the root. */
static int end_leaf(vrt_pipe_md *m)
{
    unsigned char md[32];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(m->leaf, md, &n) != 1 ||
        EVP_DigestInit_ex(m->leaf, EVP_sha256(), NULL) != 1)
        return -1;
    m->leaf_fill = 0;
    return EVP_DigestUpdate(m->root, md, 32) == 1 ? 0 : -1;
}

int vrt_pipe_md_leaf(unsigned char out[32], const uint8_t *buf, size_t len,
                     const uint8_t *zeros, size_t zeros_len)
{
    if (len == VRT_PIPE_LEAF && (!buf || vrt_pipe_is_zero(buf, len))) {
        pthread_once(&zero_leaf_once, zero_leaf_init);
        memcpy(out, zero_leaf, 32);
        return 0;
    }
    if (buf)
        return EVP_Digest(buf, len, out, NULL, EVP_sha256(), NULL) == 1 ? 0
                                                                         : -1;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    for (size_t done = 0; ok && done < len;) {
        size_t k = len - done < zeros_len ? len - done : zeros_len;
        ok = EVP_DigestUpdate(c, zeros, k) == 1;
        done += k;
    }
    ok = ok && EVP_DigestFinal_ex(c, out, &n) == 1;
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

int vrt_pipe_md_add_leaves(vrt_pipe_md *m, const unsigned char *digests,
                           size_t n)
{
    if (!m->tree || m->leaf_fill != 0)
        return -1;
    return EVP_DigestUpdate(m->root, digests, 32 * n) == 1 ? 0 : -1;
}

int vrt_pipe_md_update(vrt_pipe_md *m, const uint8_t *buf, size_t len)
{
    if (!m->tree)
        return feed(m, m->root, buf, len);
    while (len > 0) {
        size_t take = VRT_PIPE_LEAF - m->leaf_fill;
        if (take > len)
            take = len;
        if (m->leaf_fill == 0 && take == VRT_PIPE_LEAF) {
            /* A whole leaf at once: a constant when zero. */
            unsigned char md[32];
            if (vrt_pipe_md_leaf(md, buf, take, m->zeros, m->zeros_len) != 0 ||
                EVP_DigestUpdate(m->root, md, 32) != 1)
                return -1;
        } else {
            if (feed(m, m->leaf, buf, take) != 0)
                return -1;
            m->leaf_fill += take;
            if (m->leaf_fill == VRT_PIPE_LEAF && end_leaf(m) != 0)
                return -1;
        }
        len -= take;
        if (buf)
            buf += take;
    }
    return 0;
}

int vrt_pipe_md_final(vrt_pipe_md *m, char hex[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    hex[0] = '\0';
    if (m->tree && m->leaf_fill > 0 && end_leaf(m) != 0)
        return -1;
    if (EVP_DigestFinal_ex(m->root, md, &n) != 1 || n != 32)
        return -1;
    vrt_pipe_hex(hex, md);
    return 0;
}

void vrt_pipe_md_free(vrt_pipe_md *m)
{
    EVP_MD_CTX_free(m->root);
    EVP_MD_CTX_free(m->leaf);
    m->root = m->leaf = NULL;
}
