/*
 * A chained hash map with string keys.  Each entry holds its key inline,
 * so an entry is one allocation; buckets double when the map is as full
 * as it has buckets.
 */
#include <vrt/hmap.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    struct entry *next;
    void *val;
    uint32_t hash;
    char key[];
} entry;

struct vrt_hmap {
    entry **buckets;
    size_t nbuckets; /* a power of two */
    size_t len;
    void (*free_val)(void *val);
};

static uint32_t hash_of(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

vrt_hmap *vrt_hmap_new(void (*free_val)(void *val))
{
    vrt_hmap *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    m->nbuckets = 64;
    m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
    if (!m->buckets)
        abort();
    m->free_val = free_val;
    return m;
}

void vrt_hmap_free(vrt_hmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        entry *e = m->buckets[i];
        while (e) {
            entry *n = e->next;
            if (m->free_val)
                m->free_val(e->val);
            free(e);
            e = n;
        }
    }
    free(m->buckets);
    free(m);
}

static entry **slot(const vrt_hmap *m, const char *key, uint32_t h)
{
    entry **pp = &m->buckets[h & (m->nbuckets - 1)];
    while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
        pp = &(*pp)->next;
    return pp;
}

void *vrt_hmap_get(const vrt_hmap *m, const char *key)
{
    entry *e = *slot(m, key, hash_of(key));
    return e ? e->val : NULL;
}

static void grow(vrt_hmap *m)
{
    size_t n = m->nbuckets * 2;
    entry **b = calloc(n, sizeof(*b));
    if (!b)
        abort();
    for (size_t i = 0; i < m->nbuckets; i++) {
        entry *e = m->buckets[i];
        while (e) {
            entry *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

void vrt_hmap_put(vrt_hmap *m, const char *key, void *val)
{
    uint32_t h = hash_of(key);
    entry **pp = slot(m, key, h);
    if (*pp) {
        if (m->free_val && (*pp)->val != val)
            m->free_val((*pp)->val);
        (*pp)->val = val;
        return;
    }
    size_t klen = strlen(key);
    entry *e = malloc(sizeof(*e) + klen + 1);
    if (!e)
        abort();
    memcpy(e->key, key, klen + 1);
    e->hash = h;
    e->val = val;
    e->next = NULL;
    *pp = e;
    if (++m->len > m->nbuckets)
        grow(m);
}

void *vrt_hmap_take(vrt_hmap *m, const char *key)
{
    entry **pp = slot(m, key, hash_of(key));
    entry *e = *pp;
    if (!e)
        return NULL;
    *pp = e->next;
    void *val = e->val;
    free(e);
    m->len--;
    return val;
}

int vrt_hmap_del(vrt_hmap *m, const char *key)
{
    entry **pp = slot(m, key, hash_of(key));
    entry *e = *pp;
    if (!e)
        return 0;
    *pp = e->next;
    if (m->free_val)
        m->free_val(e->val);
    free(e);
    m->len--;
    return 1;
}

size_t vrt_hmap_len(const vrt_hmap *m)
{
    return m->len;
}

void vrt_hmap_each(const vrt_hmap *m,
                   void (*fn)(void *opaque, const char *key, void *val),
                   void *opaque)
{
    for (size_t i = 0; i < m->nbuckets; i++)
        for (entry *e = m->buckets[i]; e; e = e->next)
            fn(opaque, e->key, e->val);
}
