/* lv_spec.c - parse and validate spec_json (see lv_spec.h). */
#include "lv_spec.h"
#include "lv_util.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LV_PATH_MAX 4096
#define LV_TAG_MAX 255
#define LV_CMDLINE_MAX 4096

/* ---- field readers: each names the field in its message --------------- */

static int get_uint(uint64_t *out, int *present, const cJSON *obj,
                    const char *key, const char *path, uint64_t min,
                    uint64_t max, vrt_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    double d;

    if (present)
        *present = 0;
    if (!v || cJSON_IsNull(v))
        return VRT_OK;
    d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    if (!cJSON_IsNumber(v) || d != floor(d) || d < (double)min ||
        d > (double)max)
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"%s\" must be a whole number from %llu to "
                      "%llu.",
                      path, (unsigned long long)min, (unsigned long long)max);
    *out = (uint64_t)d;
    if (present)
        *present = 1;
    return VRT_OK;
}

/* Reads an optional non-empty string of at most max bytes. */
static int get_str(char **out, const cJSON *obj, const char *key,
                   const char *path, size_t max, vrt_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t i, n;

    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return VRT_OK;
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"%s\" must be a non-empty string.", path);
    n = strlen(v->valuestring);
    if (n > max)
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"%s\" is %zu bytes long; the limit is %zu.",
                      path, n, max);
    for (i = 0; i < n; i++)
        if ((unsigned char)v->valuestring[i] < 0x20)
            return lv_err(err, VRT_E_INVALID,
                          "Spec field \"%s\" contains a control character.",
                          path);
    *out = lv_xstrdup(v->valuestring);
    return VRT_OK;
}

static int get_name(char **out, const cJSON *obj, const char *key,
                    const char *path, size_t max, vrt_error *err)
{
    int rc = get_str(out, obj, key, path, max, err);

    if (rc == VRT_OK && *out && !lv_name_ok(*out, max)) {
        rc = lv_err(err, VRT_E_INVALID,
                    "Spec field \"%s\" must start with a letter or digit and "
                    "hold only letters, digits, '.', '_' and '-'; got \"%s\".",
                    path, *out);
        free(*out);
        *out = NULL;
    }
    return rc;
}

static int get_path(char **out, const cJSON *obj, const char *key,
                    const char *path, vrt_error *err)
{
    int rc = get_str(out, obj, key, path, LV_PATH_MAX, err);

    if (rc == VRT_OK && *out && (*out)[0] != '/') {
        rc = lv_err(err, VRT_E_INVALID,
                    "Spec field \"%s\" must be an absolute path; got \"%s\".",
                    path, *out);
        free(*out);
        *out = NULL;
    }
    return rc;
}

static int get_word(char **out, const cJSON *obj, const char *key,
                    const char *path, size_t max, vrt_error *err)
{
    int rc = get_str(out, obj, key, path, max, err);
    size_t i;

    for (i = 0; rc == VRT_OK && *out && (*out)[i]; i++) {
        unsigned char c = (unsigned char)(*out)[i];
        if (!islower(c) && !isdigit(c) && c != '_' && c != '-') {
            rc = lv_err(err, VRT_E_INVALID,
                        "Spec field \"%s\" must hold only lower-case letters, "
                        "digits, '_' and '-'; got \"%s\".",
                        path, *out);
            free(*out);
            *out = NULL;
        }
    }
    return rc;
}

static int get_bool(int *out, const cJSON *obj, const char *key,
                    const char *path, vrt_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!v || cJSON_IsNull(v))
        return VRT_OK;
    if (!cJSON_IsBool(v))
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"%s\" must be true or false.", path);
    *out = cJSON_IsTrue(v);
    return VRT_OK;
}

static int get_object(const cJSON **out, const cJSON *obj, const char *key,
                      vrt_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return VRT_OK;
    if (!cJSON_IsObject(v))
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"%s\" must be a JSON object.", key);
    *out = v;
    return VRT_OK;
}

static int get_array(const cJSON **out, size_t *n, const cJSON *obj,
                     const char *key, size_t max, vrt_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t count;

    *out = NULL;
    *n = 0;
    if (!v || cJSON_IsNull(v))
        return VRT_OK;
    if (!cJSON_IsArray(v))
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"%s\" must be a JSON array.", key);
    /* *n is set only with *out: callers size their arrays from it, and
     * lv_spec_free walks them by it even after an error */
    count = (size_t)cJSON_GetArraySize(v);
    if (count > max)
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"%s\" has %zu entries; the limit is %zu.",
                      key, count, max);
    *n = count;
    *out = v;
    return VRT_OK;
}

/* ---- sections --------------------------------------------------------- */

static int parse_resources(lv_spec *s, const cJSON *root, vrt_error *err)
{
    uint64_t v = 0;
    int rc, present;
    char *fw = NULL;

    s->cpu = 1;
    s->memory_mib = 512;
    if ((rc = get_uint(&v, &s->has_cpu, root, "cpu", "cpu", 1,
                       LV_SPEC_MAX_CPU, err)) < 0)
        return rc;
    if (s->has_cpu)
        s->cpu = (uint32_t)v;
    if ((rc = get_uint(&v, &present, root, "maxCpu", "maxCpu", s->cpu,
                       LV_SPEC_MAX_CPU, err)) < 0)
        return rc;
    /* room to add vCPUs while running unless the spec says otherwise:
     * libvirt can only hot-plug up to a maximum fixed at boot */
    s->max_cpu = present ? (uint32_t)v
                         : (s->cpu * 2 < LV_SPEC_MAX_CPU ? s->cpu * 2
                                                         : LV_SPEC_MAX_CPU);
    if ((rc = get_uint(&s->memory_mib, &s->has_memory, root, "memoryMiB",
                       "memoryMiB", LV_SPEC_MIN_MEMORY_MIB,
                       LV_SPEC_MAX_MEMORY_MIB, err)) < 0)
        return rc;
    if (!s->has_memory)
        s->memory_mib = 512;
    if ((rc = get_uint(&v, &present, root, "maxMemoryMiB", "maxMemoryMiB",
                       s->memory_mib, LV_SPEC_MAX_MEMORY_MIB, err)) < 0)
        return rc;
    s->max_memory_mib = present ? v : s->memory_mib;

    if ((rc = get_str(&fw, root, "firmware", "firmware", 16, err)) < 0)
        return rc;
    if (fw && !strcasecmp(fw, "BIOS"))
        s->uefi = 0;
    else if (fw && (!strcasecmp(fw, "UEFI") || !strcasecmp(fw, "EFI")))
        s->uefi = 1;
    else if (fw)
        rc = lv_err(err, VRT_E_INVALID,
                    "Spec field \"firmware\" must be \"BIOS\" or \"UEFI\"; "
                    "got \"%s\".",
                    fw);
    free(fw);
    return rc;
}

static int parse_image(lv_spec *s, const cJSON *root, vrt_error *err)
{
    const cJSON *img = NULL;
    char *mode = NULL;
    int rc;

    if ((rc = get_object(&img, root, "image", err)) < 0 || !img)
        return rc;
    if ((rc = get_str(&s->image_path, img, "path", "image.path", LV_PATH_MAX,
                      err)) < 0)
        return rc;
    if ((rc = get_str(&s->image_url, img, "url", "image.url", LV_PATH_MAX, err)) < 0)
        return rc;
    if (s->image_url && strncmp(s->image_url, "http://", 7) != 0 &&
        strncmp(s->image_url, "https://", 8) != 0 &&
        strncmp(s->image_url, "ftp://", 6) != 0)
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"image.url\" must be an http, https or ftp "
                      "URL; got \"%s\".", s->image_url);
    if (s->image_url && !s->image_path) {
        /* Downloaded into a volume named after the VMImage. */
        const char *iname = cJSON_GetStringValue(cJSON_GetObjectItem(img, "name"));
        const char *fmt = cJSON_GetStringValue(cJSON_GetObjectItem(img, "format"));
        char vol[300];
        snprintf(vol, sizeof(vol), "%s.%s", iname && *iname ? iname : "image",
                 fmt && *fmt ? fmt : "qcow2");
        if (!lv_name_ok(vol, 255))
            return lv_err(err, VRT_E_INVALID,
                          "The image name \"%s\" does not make a volume name.", vol);
        s->image_path = lv_xstrdup(vol);
    }
    const char *ctype = cJSON_GetStringValue(cJSON_GetObjectItem(img, "checksumType"));
    const char *csum = cJSON_GetStringValue(cJSON_GetObjectItem(img, "checksum"));
    if (csum && (!ctype || !strcasecmp(ctype, "sha256"))) {
        if (strlen(csum) != 64)
            return lv_err(err, VRT_E_INVALID,
                          "Spec field \"image.checksum\" must be a SHA-256 in hex "
                          "(64 characters).");
        s->image_sha256 = lv_xstrdup(csum);
    }
    if (!s->image_path)
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"image.path\" is required when \"image\" "
                      "is given.");
    if (s->image_path[0] != '/' && !lv_name_ok(s->image_path, 255))
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"image.path\" must be an absolute path or "
                      "the name of a volume in the storage pool; got \"%s\".",
                      s->image_path);
    if ((rc = get_word(&s->image_format, img, "format", "image.format", 16,
                       err)) < 0)
        return rc;
    if ((rc = get_name(&s->image_pool, img, "storagePool",
                       "image.storagePool", 255, err)) < 0)
        return rc;
    if ((rc = get_uint(&s->image_size_gib, NULL, img, "sizeGiB",
                       "image.sizeGiB", 1, LV_SPEC_MAX_DISK_GIB, err)) < 0)
        return rc;
    if ((rc = get_str(&mode, img, "mode", "image.mode", 16, err)) < 0)
        return rc;
    if (mode && !strcmp(mode, "attach") && s->image_size_gib)
        rc = lv_err(err, VRT_E_INVALID,
                    "Spec field \"image.sizeGiB\" cannot be used with "
                    "\"image.mode\" \"attach\", which uses the volume as it "
                    "is.");
    if (rc < 0) {
        free(mode);
        return rc;
    }
    if (!mode || !strcmp(mode, "overlay"))
        s->image_mode = LV_IMAGE_OVERLAY;
    else if (!strcmp(mode, "copy"))
        s->image_mode = LV_IMAGE_COPY;
    else if (!strcmp(mode, "attach"))
        s->image_mode = LV_IMAGE_ATTACH;
    else
        rc = lv_err(err, VRT_E_INVALID,
                    "Spec field \"image.mode\" must be \"overlay\", \"copy\" "
                    "or \"attach\"; got \"%s\".",
                    mode);
    free(mode);
    return rc;
}

static int parse_disk(lv_disk_spec *d, const cJSON *v, size_t i,
                      vrt_error *err)
{
    static const char *const types[] = {"thin", "thick", "eagerzeroedthick",
                                        "ssd",  "hdd",   "nvme"};
    char path[48];
    size_t t;
    int rc, present;

    if (!cJSON_IsObject(v))
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"disks[%zu]\" must be a JSON object.", i);
    snprintf(path, sizeof(path), "disks[%zu].name", i);
    if ((rc = get_name(&d->name, v, "name", path, LV_SPEC_NAME_MAX, err)) < 0)
        return rc;
    if (!d->name)
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"disks[%zu].name\" is required.", i);
    snprintf(path, sizeof(path), "disks[%zu].sizeGiB", i);
    if ((rc = get_uint(&d->size_gib, &present, v, "sizeGiB", path, 1,
                       LV_SPEC_MAX_DISK_GIB, err)) < 0)
        return rc;
    if (!present)
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"disks[%zu].sizeGiB\" is required.", i);
    snprintf(path, sizeof(path), "disks[%zu].type", i);
    if ((rc = get_str(&d->type, v, "type", path, 32, err)) < 0)
        return rc;
    if (!d->type)
        d->type = lv_xstrdup("thin");
    for (t = 0; t < sizeof(types) / sizeof(types[0]); t++)
        if (!strcmp(d->type, types[t]))
            break;
    if (t == sizeof(types) / sizeof(types[0]))
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"disks[%zu].type\" must be one of thin, "
                      "thick, eagerzeroedthick, ssd, hdd or nvme; got \"%s\".",
                      i, d->type);
    d->preallocate = !strcmp(d->type, "thick") ||
                     !strcmp(d->type, "eagerzeroedthick");
    return VRT_OK;
}

static int parse_disks(lv_spec *s, const cJSON *root, vrt_error *err)
{
    const cJSON *arr, *v;
    size_t i = 0, j;
    int rc;

    if ((rc = get_array(&arr, &s->ndisks, root, "disks", LV_SPEC_MAX_DISKS,
                        err)) < 0 ||
        !arr)
        return rc;
    s->disks = lv_xcalloc(s->ndisks, sizeof(*s->disks));
    cJSON_ArrayForEach(v, arr)
    {
        if ((rc = parse_disk(&s->disks[i], v, i, err)) < 0)
            return rc;
        for (j = 0; j < i; j++)
            if (!strcmp(s->disks[j].name, s->disks[i].name))
                return lv_err(err, VRT_E_INVALID,
                              "Spec field \"disks\" names disk \"%s\" twice.",
                              s->disks[i].name);
        i++;
    }
    return VRT_OK;
}

static int mac_ok(char *mac)
{
    size_t i;

    if (strlen(mac) != 17)
        return 0;
    for (i = 0; i < 17; i++) {
        if (i % 3 == 2 ? mac[i] != ':' : !isxdigit((unsigned char)mac[i]))
            return 0;
        mac[i] = (char)tolower((unsigned char)mac[i]);
    }
    /* the low bit of the first octet marks multicast */
    return (strtoul(mac, NULL, 16) & 1) == 0;
}

static int parse_nic(lv_nic_spec *n, const cJSON *v, size_t i, vrt_error *err)
{
    char path[48];
    int rc;

    if (!cJSON_IsObject(v))
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"networks[%zu]\" must be a JSON object.",
                      i);
    snprintf(path, sizeof(path), "networks[%zu].name", i);
    if ((rc = get_name(&n->name, v, "name", path, LV_SPEC_NAME_MAX, err)) < 0)
        return rc;
    if (!n->name)
        n->name = lv_xasprintf("nic%zu", i);
    snprintf(path, sizeof(path), "networks[%zu].network", i);
    if ((rc = get_name(&n->network, v, "network", path, 255, err)) < 0)
        return rc;
    snprintf(path, sizeof(path), "networks[%zu].bridge", i);
    if ((rc = get_name(&n->bridge, v, "bridge", path, 15, err)) < 0)
        return rc;
    if (n->network && n->bridge)
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"networks[%zu]\" names both a network and "
                      "a bridge; give one of them.",
                      i);
    snprintf(path, sizeof(path), "networks[%zu].macAddress", i);
    if ((rc = get_str(&n->mac, v, "macAddress", path, 17, err)) < 0)
        return rc;
    if (n->mac && !mac_ok(n->mac))
        return lv_err(err, VRT_E_INVALID,
                      "Spec field \"networks[%zu].macAddress\" must be a "
                      "unicast MAC address like 52:54:00:12:34:56; got "
                      "\"%s\".",
                      i, n->mac);
    snprintf(path, sizeof(path), "networks[%zu].model", i);
    if ((rc = get_word(&n->model, v, "model", path, 32, err)) < 0)
        return rc;
    if (!n->model)
        n->model = lv_xstrdup("virtio");
    return VRT_OK;
}

static int parse_nics(lv_spec *s, const cJSON *root, vrt_error *err)
{
    const cJSON *arr, *v;
    size_t i = 0;
    int rc;

    if ((rc = get_array(&arr, &s->nnics, root, "networks", LV_SPEC_MAX_NICS,
                        err)) < 0 ||
        !arr)
        return rc;
    s->nics = lv_xcalloc(s->nnics, sizeof(*s->nics));
    cJSON_ArrayForEach(v, arr)
    {
        if ((rc = parse_nic(&s->nics[i], v, i, err)) < 0)
            return rc;
        i++;
    }
    return VRT_OK;
}

static int parse_tags(lv_spec *s, const cJSON *root, vrt_error *err)
{
    const cJSON *arr, *v;
    size_t n;
    int rc;

    if ((rc = get_array(&arr, &n, root, "tags", LV_SPEC_MAX_TAGS, err)) < 0 ||
        !arr)
        return rc;
    s->tags = lv_xcalloc(n, sizeof(*s->tags));
    cJSON_ArrayForEach(v, arr)
    {
        if (!cJSON_IsString(v) || !v->valuestring[0] ||
            strlen(v->valuestring) > LV_TAG_MAX)
            return lv_err(err, VRT_E_INVALID,
                          "Spec field \"tags[%zu]\" must be a non-empty "
                          "string of at most %d bytes.",
                          s->ntags, LV_TAG_MAX);
        s->tags[s->ntags++] = lv_xstrdup(v->valuestring);
    }
    return VRT_OK;
}

static int parse_boot(lv_spec *s, const cJSON *root, vrt_error *err)
{
    const cJSON *k = NULL, *serial = NULL;
    int rc;

    if ((rc = get_object(&k, root, "kernel", err)) < 0)
        return rc;
    if (k) {
        if ((rc = get_path(&s->kernel, k, "path", "kernel.path", err)) < 0 ||
            (rc = get_path(&s->initrd, k, "initrd", "kernel.initrd", err)) <
                0 ||
            (rc = get_str(&s->cmdline, k, "cmdline", "kernel.cmdline",
                          LV_CMDLINE_MAX, err)) < 0)
            return rc;
        if (!s->kernel)
            return lv_err(err, VRT_E_INVALID,
                          "Spec field \"kernel.path\" is required when "
                          "\"kernel\" is given.");
    }
    if ((rc = get_object(&serial, root, "serial", err)) < 0)
        return rc;
    if (serial &&
        (rc = get_path(&s->serial_log, serial, "logFile", "serial.logFile",
                       err)) < 0)
        return rc;
    if ((rc = get_word(&s->domain_type, root, "domainType", "domainType", 16,
                       err)) < 0 ||
        (rc = get_word(&s->arch, root, "arch", "arch", 32, err)) < 0 ||
        (rc = get_name(&s->machine, root, "machine", "machine", 64, err)) < 0)
        return rc;
    if (!s->arch)
        s->arch = lv_xstrdup("x86_64");
    return get_bool(&s->adopt, root, "adopt", "adopt", err);
}

int lv_spec_parse(lv_spec **out, const char *json, vrt_error *err)
{
    cJSON *root = NULL;
    lv_spec *s = NULL;
    int rc = VRT_OK;

    *out = NULL;
    root = cJSON_Parse(json ? json : "{}");
    if (!root || !cJSON_IsObject(root)) {
        rc = lv_err(err, VRT_E_INVALID,
                    "The VM spec_json is not a JSON object.");
        goto cleanup;
    }
    s = lv_xcalloc(1, sizeof(*s));
    if ((rc = parse_resources(s, root, err)) < 0 ||
        (rc = parse_image(s, root, err)) < 0 ||
        (rc = parse_disks(s, root, err)) < 0 ||
        (rc = parse_nics(s, root, err)) < 0 ||
        (rc = parse_tags(s, root, err)) < 0 ||
        (rc = parse_boot(s, root, err)) < 0)
        goto cleanup;
    *out = s;
    s = NULL;

cleanup:
    lv_spec_free(s);
    cJSON_Delete(root);
    return rc;
}

void lv_spec_free(lv_spec *s)
{
    size_t i;

    if (!s)
        return;
    for (i = 0; i < s->ndisks; i++) {
        free(s->disks[i].name);
        free(s->disks[i].type);
    }
    free(s->disks);
    for (i = 0; i < s->nnics; i++) {
        free(s->nics[i].name);
        free(s->nics[i].network);
        free(s->nics[i].bridge);
        free(s->nics[i].mac);
        free(s->nics[i].model);
    }
    free(s->nics);
    for (i = 0; i < s->ntags; i++)
        free(s->tags[i]);
    free(s->tags);
    free(s->image_path);
    free(s->image_format);
    free(s->image_pool);
    free(s->image_url);
    free(s->image_sha256);
    free(s->kernel);
    free(s->initrd);
    free(s->cmdline);
    free(s->domain_type);
    free(s->arch);
    free(s->machine);
    free(s->serial_log);
    free(s);
}

/* ---- canonical JSON ------------------------------------------------------ */

static int cmp_items(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

    return strcmp(x->string, y->string);
}

/* Reorders every object's members by key, recursively. */
static void sort_keys(cJSON *node)
{
    cJSON *c, **items;
    size_t n = 0, i;

    for (c = node->child; c; c = c->next)
        if (cJSON_IsObject(c) || cJSON_IsArray(c))
            sort_keys(c);
    if (!cJSON_IsObject(node) || !node->child)
        return;
    for (c = node->child; c; c = c->next)
        n++;
    items = lv_xcalloc(n, sizeof(*items));
    for (c = node->child, i = 0; c; c = c->next)
        items[i++] = c;
    qsort(items, n, sizeof(*items), cmp_items);
    for (i = 0; i < n; i++) {
        items[i]->prev = i ? items[i - 1] : items[n - 1];
        items[i]->next = i + 1 < n ? items[i + 1] : NULL;
    }
    node->child = items[0];
    free(items);
}

int lv_json_canonical(char **out, const char *json, vrt_error *err)
{
    cJSON *root = cJSON_Parse(json ? json : "{}");
    char *text;

    *out = NULL;
    if (!root)
        return lv_err(err, VRT_E_INVALID, "The spec_json is not valid JSON.");
    sort_keys(root);
    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return lv_err(err, VRT_E_INTERNAL,
                      "Could not render the spec_json in canonical form.");
    /* cJSON may use hooks the host installed; hand out our own copy */
    *out = lv_xstrdup(text);
    cJSON_free(text);
    return VRT_OK;
}
