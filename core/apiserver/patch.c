/*
 * JSON Merge Patch (RFC 7386) and JSON Patch (RFC 6902).
 */
#include "apiserver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vrt_merge_patch(cJSON *target, const cJSON *patch)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, patch) {
        if (cJSON_IsNull(p)) {
            cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
            continue;
        }
        cJSON *t = cJSON_GetObjectItemCaseSensitive(target, p->string);
        if (cJSON_IsObject(p) && cJSON_IsObject(t)) {
            vrt_merge_patch(t, p);
            continue;
        }
        cJSON *v = cJSON_Duplicate(p, 1);
        if (cJSON_IsObject(v)) {
            /* Nulls inside a new object mean "absent" too. */
            cJSON *clean = cJSON_CreateObject();
            vrt_merge_patch(clean, v);
            cJSON_Delete(v);
            v = clean;
        }
        if (t)
            cJSON_ReplaceItemInObjectCaseSensitive(target, p->string, v);
        else
            cJSON_AddItemToObject(target, p->string, v);
    }
}

/* Decodes one JSON Pointer token in place (~1 -> /, ~0 -> ~). */
static void unescape(char *tok)
{
    char *w = tok;
    for (char *r = tok; *r; r++) {
        if (r[0] == '~' && r[1] == '1') {
            *w++ = '/';
            r++;
        } else if (r[0] == '~' && r[1] == '0') {
            *w++ = '~';
            r++;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* Splits a JSON Pointer into tokens (empty tokens are valid member
 * names, RFC 6901).  Returns the count, or -1 when there are too many. */
#define MAX_TOKENS 64
static int split_pointer(char *buf, char *tok[MAX_TOKENS])
{
    int n = 0;
    char *p = buf;
    for (;;) {
        if (n == MAX_TOKENS)
            return -1;
        tok[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
    }
    for (int i = 0; i < n; i++)
        unescape(tok[i]);
    return n;
}

static int array_index(const cJSON *arr, const char *tok, int for_add);

/* Resolves a pointer to (parent, last token).  Returns 0 or -1. */
static int resolve(cJSON **parent, char *last, size_t last_size,
                   cJSON *root, const char *ptr, char *errbuf, size_t errsize)
{
    if (ptr[0] != '/') {
        snprintf(errbuf, errsize, "path \"%s\" must start with '/'", ptr);
        return -1;
    }
    char buf[1024];
    char *tok[MAX_TOKENS];
    /* Cut, a path would name another key: refuse it whole. */
    if ((size_t)snprintf(buf, sizeof(buf), "%s", ptr + 1) >= sizeof(buf)) {
        snprintf(errbuf, errsize, "path \"%.64s...\" is too long", ptr);
        return -1;
    }
    int n = split_pointer(buf, tok);
    if (n < 0) {
        snprintf(errbuf, errsize, "path \"%s\" is too deep", ptr);
        return -1;
    }
    cJSON *cur = root;
    for (int i = 0; i < n - 1; i++) {
        cJSON *child = NULL;
        if (cJSON_IsArray(cur)) {
            int idx = array_index(cur, tok[i], 0);
            child = idx < 0 ? NULL : cJSON_GetArrayItem(cur, idx);
        } else if (cJSON_IsObject(cur)) {
            child = cJSON_GetObjectItemCaseSensitive(cur, tok[i]);
        }
        if (!child) {
            snprintf(errbuf, errsize, "path \"%s\" does not exist", ptr);
            return -1;
        }
        cur = child;
    }
    if ((size_t)snprintf(last, last_size, "%s", tok[n - 1]) >= last_size) {
        snprintf(errbuf, errsize, "the last key of path \"%.64s...\" is too long",
                 ptr);
        return -1;
    }
    *parent = cur;
    return 0;
}

static int array_index(const cJSON *arr, const char *tok, int for_add)
{
    int n = cJSON_GetArraySize(arr);
    if (for_add && strcmp(tok, "-") == 0)
        return n;
    char *end;
    /* Digits only, no sign, no leading zero (RFC 6901). */
    if (!*tok || *tok < '0' || *tok > '9' || (tok[0] == '0' && tok[1]))
        return -1;
    long i = strtol(tok, &end, 10);
    if (*end || i < 0 || i > n - (for_add ? 0 : 1))
        return -1;
    return (int)i;
}

static cJSON *get_at(cJSON *root, const char *ptr, char *errbuf, size_t es)
{
    cJSON *parent;
    char last[1024];
    if (strcmp(ptr, "") == 0)
        return root;
    if (resolve(&parent, last, sizeof(last), root, ptr, errbuf, es))
        return NULL;
    cJSON *v = cJSON_IsArray(parent)
                   ? cJSON_GetArrayItem(parent, array_index(parent, last, 0))
                   : cJSON_GetObjectItemCaseSensitive(parent, last);
    if (!v)
        snprintf(errbuf, es, "path \"%s\" does not exist", ptr);
    return v;
}

static int do_remove(cJSON *root, const char *ptr, char *errbuf, size_t es)
{
    cJSON *parent;
    char last[1024];
    if (resolve(&parent, last, sizeof(last), root, ptr, errbuf, es))
        return -1;
    if (cJSON_IsArray(parent)) {
        int i = array_index(parent, last, 0);
        if (i < 0) {
            snprintf(errbuf, es, "index \"%s\" is out of range", last);
            return -1;
        }
        cJSON_DeleteItemFromArray(parent, i);
        return 0;
    }
    if (!cJSON_GetObjectItemCaseSensitive(parent, last)) {
        snprintf(errbuf, es, "path \"%s\" does not exist", ptr);
        return -1;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(parent, last);
    return 0;
}

static int do_add(cJSON *root, const char *ptr, cJSON *value, int replace,
                  char *errbuf, size_t es)
{
    cJSON *parent;
    char last[1024];
    if (resolve(&parent, last, sizeof(last), root, ptr, errbuf, es)) {
        cJSON_Delete(value);
        return -1;
    }
    if (cJSON_IsArray(parent)) {
        int i = array_index(parent, last, !replace);
        if (i < 0) {
            snprintf(errbuf, es, "index \"%s\" is out of range", last);
            cJSON_Delete(value);
            return -1;
        }
        if (replace) {
            cJSON_ReplaceItemInArray(parent, i, value);
            return 0;
        }
        /* Not cJSON_InsertItemInArray: some packaged cJSON versions fail
         * it for inner indexes.  Detach the tail, append, re-attach. */
        cJSON *tail = cJSON_CreateArray();
        while (cJSON_GetArraySize(parent) > i)
            cJSON_AddItemToArray(tail, cJSON_DetachItemFromArray(parent, i));
        cJSON_AddItemToArray(parent, value);
        while (cJSON_GetArraySize(tail) > 0)
            cJSON_AddItemToArray(parent, cJSON_DetachItemFromArray(tail, 0));
        cJSON_Delete(tail);
        return 0;
    }
    if (!cJSON_IsObject(parent)) {
        snprintf(errbuf, es, "the parent of \"%s\" is not an object", ptr);
        cJSON_Delete(value);
        return -1;
    }
    /* Keys are case-sensitive (cJSON_HasObjectItem is not: "powerstate"
     * would match "powerState", the replace then fail and leak value). */
    if (cJSON_GetObjectItemCaseSensitive(parent, last))
        cJSON_ReplaceItemInObjectCaseSensitive(parent, last, value);
    else if (replace) {
        snprintf(errbuf, es, "path \"%s\" does not exist", ptr);
        cJSON_Delete(value);
        return -1;
    } else
        cJSON_AddItemToObject(parent, last, value);
    return 0;
}

/* Values a patch may add or copy in all.  "copy" of the whole document
 * doubles it, so a few dozen operations of a small body would otherwise
 * build an object of billions of values; no real edit of one object (1.5
 * MiB at most in Kubernetes) adds this many. */
#define PATCH_MAX_NODES 100000

static size_t count_nodes(const cJSON *n, size_t limit)
{
    size_t count = 1;
    const cJSON *c;
    cJSON_ArrayForEach(c, n) {
        if (count > limit)
            break;
        count += count_nodes(c, limit - count);
    }
    return count;
}

int vrt_json_patch(cJSON *target, const cJSON *ops, char *errbuf,
                   size_t errsize)
{
    size_t budget = PATCH_MAX_NODES;
    if (!cJSON_IsArray(ops)) {
        snprintf(errbuf, errsize, "a JSON patch must be an array");
        return -1;
    }
    const cJSON *op;
    int i = 0;
    cJSON_ArrayForEach(op, ops) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(op, "op"));
        const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(op, "path"));
        const char *from = cJSON_GetStringValue(cJSON_GetObjectItem(op, "from"));
        const cJSON *value = cJSON_GetObjectItem(op, "value");
        int rc = -1;
        char why[200] = "";
        if (!name || !path) {
            snprintf(why, sizeof(why), "\"op\" and \"path\" are required");
        } else if (!strcmp(name, "add") || !strcmp(name, "replace")) {
            size_t n = value ? count_nodes(value, budget) : 0;
            if (!value) {
                snprintf(why, sizeof(why), "\"value\" is required");
            } else if (n > budget) {
                snprintf(why, sizeof(why), "the patch adds more than %d "
                         "values", PATCH_MAX_NODES);
            } else {
                budget -= n;
                rc = do_add(target, path, cJSON_Duplicate(value, 1),
                            name[0] == 'r', why, sizeof(why));
            }
        } else if (!strcmp(name, "remove")) {
            rc = do_remove(target, path, why, sizeof(why));
        } else if (!strcmp(name, "test")) {
            cJSON *cur = get_at(target, path, why, sizeof(why));
            if (cur && value && cJSON_Compare(cur, value, 1))
                rc = 0;
            else if (cur)
                snprintf(why, sizeof(why), "test failed at \"%s\"", path);
        } else if ((!strcmp(name, "copy") || !strcmp(name, "move")) && from) {
            cJSON *src = get_at(target, from, why, sizeof(why));
            size_t n = src && name[0] == 'c' ? count_nodes(src, budget) : 0;
            if (n > budget) {
                snprintf(why, sizeof(why), "the patch copies more than %d "
                         "values", PATCH_MAX_NODES);
            } else if (src) {
                budget -= n;
                cJSON *v = cJSON_Duplicate(src, 1);
                rc = name[0] == 'm' ? do_remove(target, from, why, sizeof(why))
                                    : 0;
                if (rc == 0)
                    rc = do_add(target, path, v, 0, why, sizeof(why));
                else
                    cJSON_Delete(v);
            }
        } else {
            snprintf(why, sizeof(why), "unknown op \"%s\"", name);
        }
        if (rc) {
            snprintf(errbuf, errsize, "operation %d: %s", i, why);
            return -1;
        }
        i++;
    }
    return 0;
}
