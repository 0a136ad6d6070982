/*
 * Defaulting and pruning with a structural schema, as kube-apiserver does
 * for custom resources (apiextensions-apiserver's structural defaulting
 * and pruning):
 *
 * - Pruning drops every field the schema does not declare, except below
 *   x-kubernetes-preserve-unknown-fields (where declared fields are still
 *   pruned) and apiVersion/kind/metadata at the root and in embedded
 *   resources.  A node whose schema declares nothing loses all its fields.
 * - Defaulting fills absent fields from `default`, inside objects that
 *   exist, recursively, including array items and additionalProperties
 *   values; an absent parent is created only by its own default, whose
 *   content is then defaulted in turn.  A null in a field that is not
 *   nullable is replaced by the default or, without one, removed (the
 *   API server prunes such nulls before defaulting).
 */
#include <vrt/schema.h>

#include "schema_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cJSON *kw(const cJSON *s, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(s, key);
}

static int kw_true(const cJSON *s, const char *key)
{
    return cJSON_IsTrue(kw(s, key));
}

/* A copy of a default value, without the "default" key name it carried. */
static cJSON *dup_or_die(const cJSON *v)
{
    cJSON *d = cJSON_Duplicate(v, 1);
    if (!d) {
        fputs("virtrigaud: out of memory\n", stderr);
        abort();
    }
    if (!(d->type & cJSON_StringIsConst))
        cJSON_free(d->string);
    d->string = NULL;
    d->type &= ~cJSON_StringIsConst;
    return d;
}

/* --- defaulting ------------------------------------------------------------ */

/* The schema for member `key` of an object: a property, else the
 * additionalProperties schema, else NULL. */
static const cJSON *member_schema(const cJSON *s, const char *key)
{
    const cJSON *p = kw(kw(s, "properties"), key);
    if (p)
        return p;
    const cJSON *addl = kw(s, "additionalProperties");
    return cJSON_IsObject(addl) ? addl : NULL;
}

static void defaults(const cJSON *s, cJSON *x, int depth)
{
    if (!cJSON_IsObject(s) || depth >= VRT_SCHEMA_MAX_DEPTH)
        return;
    if (cJSON_IsObject(x)) {
        /* Nulls first, so that a replaced null is then defaulted below. */
        cJSON *e = x->child;
        while (e) {
            cJSON *next = e->next;
            const cJSON *ms = member_schema(s, e->string);
            if (ms && cJSON_IsNull(e) && !kw_true(ms, "nullable")) {
                const cJSON *d = kw(ms, "default");
                if (d)
                    cJSON_ReplaceItemInObjectCaseSensitive(x, e->string,
                                                           dup_or_die(d));
                else
                    cJSON_Delete(cJSON_DetachItemViaPointer(x, e));
            }
            e = next;
        }
        const cJSON *p;
        cJSON_ArrayForEach(p, kw(s, "properties")) {
            const cJSON *d = kw(p, "default");
            if (d && !cJSON_GetObjectItemCaseSensitive(x, p->string))
                cJSON_AddItemToObject(x, p->string, dup_or_die(d));
        }
        cJSON_ArrayForEach(e, x) {
            defaults(member_schema(s, e->string), e, depth + 1);
        }
    } else if (cJSON_IsArray(x)) {
        const cJSON *items = kw(s, "items");
        if (!cJSON_IsObject(items))
            return;
        const cJSON *d = kw(items, "default");
        cJSON *e = x->child;
        while (e) {
            cJSON *next = e->next;
            if (d && cJSON_IsNull(e) && !kw_true(items, "nullable")) {
                cJSON *nd = dup_or_die(d);
                cJSON_ReplaceItemViaPointer(x, e, nd);
                e = nd;
            }
            defaults(items, e, depth + 1);
            e = next;
        }
    }
}

void vrt_schema_apply_defaults(const cJSON *schema, cJSON *obj)
{
    if (schema && obj)
        defaults(schema, obj, 0);
}

/* --- pruning --------------------------------------------------------------- */

typedef struct pctx {
    char path[512];
    size_t len;
    size_t count;
    char *first; /* caller's 256 bytes, or NULL */
} pctx;

static size_t p_push(pctx *c, const char *key, int index)
{
    size_t old = c->len;
    int n = key ? snprintf(c->path + c->len, sizeof(c->path) - c->len,
                           "%s%s", c->len ? "." : "", key)
                : snprintf(c->path + c->len, sizeof(c->path) - c->len,
                           "[%d]", index);
    if (n > 0)
        c->len += (size_t)n;
    if (c->len >= sizeof(c->path))
        c->len = sizeof(c->path) - 1;
    return old;
}

static void p_pop(pctx *c, size_t old)
{
    c->len = old;
    c->path[old] = '\0';
}

static void drop(pctx *c, cJSON *obj, cJSON *member)
{
    if (c->count == 0 && c->first) {
        size_t old = p_push(c, member->string, 0);
        snprintf(c->first, 256, "%s", c->path);
        p_pop(c, old);
    }
    c->count++;
    cJSON_Delete(cJSON_DetachItemViaPointer(obj, member));
}

static int meta_field(const char *k)
{
    return strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0 ||
           strcmp(k, "metadata") == 0;
}

static void prune(pctx *c, const cJSON *s, cJSON *x, int root, int depth);

/* Below x-kubernetes-preserve-unknown-fields: unknown fields stay, the
 * declared ones are pruned by their own schemas. */
static void skip_prune(pctx *c, const cJSON *s, cJSON *x, int depth)
{
    if (!cJSON_IsObject(s) || depth >= VRT_SCHEMA_MAX_DEPTH)
        return;
    int embedded = kw_true(s, "x-kubernetes-embedded-resource");
    if (cJSON_IsObject(x)) {
        cJSON *e;
        cJSON_ArrayForEach(e, x) {
            if (embedded && meta_field(e->string))
                continue;
            const cJSON *ms = member_schema(s, e->string);
            if (ms) {
                size_t old = p_push(c, e->string, 0);
                prune(c, ms, e, 0, depth + 1);
                p_pop(c, old);
            }
        }
    } else if (cJSON_IsArray(x)) {
        int i = 0;
        cJSON *e;
        cJSON_ArrayForEach(e, x) {
            size_t old = p_push(c, NULL, i++);
            skip_prune(c, kw(s, "items"), e, depth + 1);
            p_pop(c, old);
        }
    }
}

static void prune(pctx *c, const cJSON *s, cJSON *x, int root, int depth)
{
    if (depth >= VRT_SCHEMA_MAX_DEPTH)
        return;
    if (s && kw_true(s, "x-kubernetes-preserve-unknown-fields")) {
        skip_prune(c, s, x, depth);
        return;
    }
    if (cJSON_IsObject(x)) {
        int embedded = s && kw_true(s, "x-kubernetes-embedded-resource");
        /* additionalProperties: true is not structural; keep such values
         * whole rather than empty them. */
        int keep_unknown = s && cJSON_IsTrue(kw(s, "additionalProperties"));
        cJSON *e = x->child;
        while (e) {
            cJSON *next = e->next;
            if ((root || embedded) && meta_field(e->string)) {
                e = next;
                continue;
            }
            const cJSON *ms = s ? member_schema(s, e->string) : NULL;
            if (ms) {
                size_t old = p_push(c, e->string, 0);
                prune(c, ms, e, 0, depth + 1);
                p_pop(c, old);
            } else if (!keep_unknown) {
                drop(c, x, e);
            }
            e = next;
        }
    } else if (cJSON_IsArray(x)) {
        const cJSON *items = s ? kw(s, "items") : NULL;
        int i = 0;
        cJSON *e;
        cJSON_ArrayForEach(e, x) {
            size_t old = p_push(c, NULL, i++);
            prune(c, cJSON_IsObject(items) ? items : NULL, e, 0, depth + 1);
            p_pop(c, old);
        }
    }
}

size_t vrt_schema_prune(char first[256], const cJSON *schema, cJSON *obj)
{
    if (first)
        first[0] = '\0';
    if (!schema || !obj)
        return 0;
    pctx *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    c->first = first;
    prune(c, schema, obj, 1, 0);
    size_t n = c->count;
    free(c);
    return n;
}
