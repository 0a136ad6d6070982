/*
 * mock_persist.c - the optional state file (config "stateFile").
 *
 * With a state file the mock's VMs outlive the process, so a test can kill
 * the manager with SIGKILL and check that a restart neither duplicates nor
 * loses VMs.  The file holds the id counters and every VM with its
 * snapshots; tasks, images and imported disks stay in memory.  It is
 * rewritten whole after every mutation, under the state lock, by writing a
 * temporary file, syncing it and renaming it over the old one, so a crash
 * leaves either the old or the new content, never a mix.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mock.h"

#define STATE_FORMAT 1
#define STATE_MAX_BYTES (256u * 1024u * 1024u)

/* ---- writing ------------------------------------------------------------- */

static int add_num(cJSON *obj, const char *key, double v)
{
    return cJSON_AddNumberToObject(obj, key, v) ? 0 : -1;
}

static int add_str(cJSON *obj, const char *key, const char *v)
{
    return cJSON_AddStringToObject(obj, key, v ? v : "") ? 0 : -1;
}

static cJSON *snap_json(const mock_snapshot *s)
{
    cJSON *o = cJSON_CreateObject();

    if (!o || add_str(o, "id", s->id) || add_str(o, "name", s->name) ||
        (s->description && add_str(o, "description", s->description)) ||
        add_num(o, "includeMemory", s->include_memory) ||
        add_num(o, "power", s->power) || add_num(o, "cpus", s->cpus) ||
        add_num(o, "memoryMiB", (double)s->memory_mib) ||
        add_num(o, "diskSizeBytes", (double)s->disk_size)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *vm_json(const mock_vm *vm)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *snaps = cJSON_AddArrayToObject(o, "snapshots");

    if (!o || !snaps || add_num(o, "seq", (double)vm->seq) ||
        add_str(o, "id", vm->id) || add_str(o, "name", vm->name) ||
        add_str(o, "host", vm->host) ||
        add_str(o, "sourceId", vm->source_id) ||
        add_str(o, "diskSeed", vm->disk_seed) ||
        add_str(o, "spec", vm->spec_json) ||
        (vm->user_data && add_str(o, "userData", vm->user_data)) ||
        (vm->meta_data && add_str(o, "metaData", vm->meta_data)) ||
        (vm->network_data && add_str(o, "networkConfig", vm->network_data)) ||
        add_num(o, "power", vm->power) || add_num(o, "linked", vm->linked) ||
        add_num(o, "cpus", vm->cpus) ||
        add_num(o, "hwVersion", vm->hw_version) ||
        add_num(o, "memoryMiB", (double)vm->memory_mib) ||
        add_num(o, "diskSizeBytes", (double)vm->disk_size))
        goto fail;
    for (size_t i = 0; i < vm->nsnaps; i++) {
        cJSON *s = snap_json(&vm->snaps[i]);

        if (!s || !cJSON_AddItemToArray(snaps, s)) {
            cJSON_Delete(s);
            goto fail;
        }
    }
    return o;

fail:
    cJSON_Delete(o);
    return NULL;
}

static char *state_text(const mock_state *st)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *vms = cJSON_AddArrayToObject(root, "vms");
    char *text = NULL;

    if (!root || !vms || add_num(root, "format", STATE_FORMAT) ||
        add_num(root, "nextVm", (double)st->next_vm) ||
        add_num(root, "nextSnapshot", (double)st->next_snap))
        goto cleanup;
    for (size_t i = 0; i < st->nvms; i++) {
        cJSON *v = vm_json(st->vms[i]);

        if (!v || !cJSON_AddItemToArray(vms, v)) {
            cJSON_Delete(v);
            goto cleanup;
        }
    }
    text = cJSON_PrintUnformatted(root);

cleanup:
    cJSON_Delete(root);
    return text;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Syncs the directory holding path, so the rename itself is durable. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    int fd, rc;

    if (!slash || (size_t)(slash - path) >= sizeof(dir))
        return 0;
    if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

int32_t mock_state_save(mock_state *st, vrt_host_ctx *ctx, vrt_error *err)
{
    char *text = NULL, *tmp = NULL;
    size_t tmplen;
    int fd = -1, saved = 0;
    int32_t rc = VRT_OK;

    if (!st->state_file)
        return VRT_OK;
    text = state_text(st);
    tmplen = strlen(st->state_file) + 5;
    tmp = malloc(tmplen);
    if (!text || !tmp) {
        rc = mock_err(err, VRT_E_INTERNAL, "Out of memory.");
        goto cleanup;
    }
    snprintf(tmp, tmplen, "%s.tmp", st->state_file);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0 && write_all(fd, text, strlen(text)) == 0 && fsync(fd) == 0) {
        int closed = close(fd);

        fd = -1; /* closed, even when close reports an error */
        saved = closed == 0 && rename(tmp, st->state_file) == 0 &&
                sync_dir(st->state_file) == 0;
    }
    if (!saved) {
        int e = errno;

        mock_log(ctx, VRT_LOG_ERROR, "Writing the state file %.200s failed: %s.",
                 st->state_file, strerror(e));
        rc = mock_err(err, VRT_E_INTERNAL,
                      "Writing the mock state file %.200s failed: %s.",
                      st->state_file, strerror(e));
    }

cleanup:
    if (fd >= 0)
        close(fd);
    free(tmp);
    cJSON_free(text);
    return rc;
}

/* ---- reading ------------------------------------------------------------- */

static int32_t read_str(char *dst, size_t size, const cJSON *obj,
                        const char *key, int required, vrt_error *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!item && !required)
        return VRT_OK;
    if (!cJSON_IsString(item) || strlen(item->valuestring) >= size ||
        (required && !item->valuestring[0]))
        return mock_err(err, VRT_E_INVALID,
                        "stateFile: vms[].%s must be a string of 1 to %zu "
                        "bytes.",
                        key, size - 1);
    mock_copy(dst, size, item->valuestring);
    return VRT_OK;
}

static int32_t read_i32(int32_t *out, const cJSON *obj, const char *key,
                        uint64_t max, vrt_error *err)
{
    uint64_t v = (uint64_t)*out;
    int32_t rc = mock_json_uint(&v, obj, key, 0, max, "stateFile", err);

    *out = (int32_t)v;
    return rc;
}

static int32_t load_snap(mock_vm *vm, const cJSON *o, vrt_error *err)
{
    mock_snapshot *s;
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(o, "description");
    uint64_t cpus = 0;
    int32_t rc;

    if (mock_grow((void **)&vm->snaps, &vm->capsnaps, vm->nsnaps + 1,
                  sizeof(*vm->snaps)) != 0)
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    s = &vm->snaps[vm->nsnaps];
    memset(s, 0, sizeof(*s));
    if (cJSON_IsString(desc) && !(s->description = mock_strdup(desc->valuestring)))
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    vm->nsnaps++;
    rc = read_str(s->id, sizeof(s->id), o, "id", 1, err);
    if (rc == VRT_OK)
        rc = read_str(s->name, sizeof(s->name), o, "name", 0, err);
    if (rc == VRT_OK)
        rc = read_i32(&s->include_memory, o, "includeMemory", 1, err);
    if (rc == VRT_OK)
        rc = read_i32(&s->power, o, "power", 16, err);
    if (rc == VRT_OK)
        rc = mock_json_uint(&cpus, o, "cpus", 0, 1024, "stateFile", err);
    s->cpus = (uint32_t)cpus;
    if (rc == VRT_OK)
        rc = mock_json_uint(&s->memory_mib, o, "memoryMiB", 0, 1ull << 32,
                            "stateFile", err);
    if (rc == VRT_OK)
        rc = mock_json_uint(&s->disk_size, o, "diskSizeBytes", 0, 1ull << 50,
                            "stateFile", err);
    return rc;
}

static int32_t load_vm(mock_state *st, const cJSON *o, vrt_error *err)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(o, "spec");
    const cJSON *snaps = cJSON_GetObjectItemCaseSensitive(o, "snapshots");
    const cJSON *item;
    mock_vm *vm;
    uint64_t v = 0;
    int32_t rc;

    if (!cJSON_IsObject(o) || !cJSON_IsString(spec))
        return mock_err(err, VRT_E_INVALID,
                        "stateFile: each of vms[] must be an object with a "
                        "\"spec\" string.");
    if (mock_grow((void **)&st->vms, &st->capvms, st->nvms + 1,
                  sizeof(*st->vms)) != 0 ||
        !(vm = calloc(1, sizeof(*vm))))
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    st->vms[st->nvms++] = vm; /* freed with the state on failure */
    if (!(vm->spec_json = mock_strdup(spec->valuestring)))
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    static const char *const docs[] = {"userData", "metaData", "networkConfig"};
    char **dst[] = {&vm->user_data, &vm->meta_data, &vm->network_data};
    for (size_t i = 0; i < 3; i++) {
        const char *d = cJSON_GetStringValue(cJSON_GetObjectItem(o, docs[i]));
        if (d && !(*dst[i] = mock_strdup(d)))
            return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    }
    rc = mock_json_uint(&vm->seq, o, "seq", 1, 1ull << 53, "stateFile", err);
    if (rc == VRT_OK)
        rc = read_str(vm->id, sizeof(vm->id), o, "id", 1, err);
    if (rc == VRT_OK)
        rc = read_str(vm->name, sizeof(vm->name), o, "name", 1, err);
    if (rc == VRT_OK)
        rc = read_str(vm->host, sizeof(vm->host), o, "host", 0, err);
    if (rc == VRT_OK)
        rc = read_str(vm->source_id, sizeof(vm->source_id), o, "sourceId", 0,
                      err);
    if (rc == VRT_OK)
        rc = read_str(vm->disk_seed, sizeof(vm->disk_seed), o, "diskSeed", 0,
                      err);
    if (rc == VRT_OK)
        rc = read_i32(&vm->power, o, "power", 16, err);
    if (rc == VRT_OK)
        rc = read_i32(&vm->linked, o, "linked", 1, err);
    if (rc == VRT_OK)
        rc = mock_json_uint(&v, o, "cpus", 1, 1024, "stateFile", err);
    vm->cpus = (uint32_t)v;
    v = MOCK_DEFAULT_HW_VERSION;
    if (rc == VRT_OK)
        rc = mock_json_uint(&v, o, "hwVersion", 1, UINT32_MAX, "stateFile",
                            err);
    vm->hw_version = (uint32_t)v;
    if (rc == VRT_OK)
        rc = mock_json_uint(&vm->memory_mib, o, "memoryMiB", 1, 1ull << 32,
                            "stateFile", err);
    if (rc == VRT_OK)
        rc = mock_json_uint(&vm->disk_size, o, "diskSizeBytes", 0,
                            1ull << 50, "stateFile", err);
    cJSON_ArrayForEach(item, snaps) {
        if (rc == VRT_OK)
            rc = load_snap(vm, item, err);
    }
    /* Lookups by id rely on ids that follow seq, in ascending order. */
    char want[VRT_ID_MAX];
    snprintf(want, sizeof(want), "mock-%06llu", (unsigned long long)vm->seq);
    if (rc == VRT_OK && (strcmp(want, vm->id) != 0 ||
                         (st->nvms > 1 && st->vms[st->nvms - 2]->seq >= vm->seq)))
        rc = mock_err(err, VRT_E_INVALID,
                      "stateFile: VM %.64s must have id %s and come after "
                      "the VMs with lower seq.",
                      vm->id, want);
    if (rc == VRT_OK && vm->seq > st->next_vm)
        st->next_vm = vm->seq;
    return rc;
}

static char *slurp(const char *path, int *missing)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;

    *missing = !f && errno == ENOENT;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
        (unsigned long)len <= STATE_MAX_BYTES && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)len + 1))) {
        if (fread(buf, 1, (size_t)len, f) == (size_t)len) {
            buf[len] = '\0';
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

/* Fills an empty state from the file; a missing file is an empty state. */
static int32_t state_load(mock_state *st, const char *path, vrt_error *err)
{
    int missing = 0;
    char *text = slurp(path, &missing);
    cJSON *root = NULL;
    const cJSON *item;
    int32_t rc = VRT_OK;

    if (!text) {
        if (missing)
            return VRT_OK;
        return mock_err(err, VRT_E_INVALID,
                        "stateFile %.200s cannot be read: %s.", path,
                        strerror(errno));
    }
    root = mock_json_parse(text);
    item = cJSON_GetObjectItemCaseSensitive(root, "vms");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(item)) {
        rc = mock_err(err, VRT_E_INVALID,
                      "stateFile %.200s is not a mock state file (a JSON "
                      "object with a \"vms\" array).",
                      path);
        goto cleanup;
    }
    rc = mock_json_uint(&st->next_vm, root, "nextVm", 0, 1ull << 53,
                        "stateFile", err);
    if (rc == VRT_OK)
        rc = mock_json_uint(&st->next_snap, root, "nextSnapshot", 0,
                            1ull << 53, "stateFile", err);
    const cJSON *vm;
    cJSON_ArrayForEach(vm, item) {
        if (rc == VRT_OK)
            rc = load_vm(st, vm, err);
    }

cleanup:
    cJSON_Delete(root);
    free(text);
    return rc;
}

/*
 * The whole attach runs under st->lock, so no connection to the endpoint
 * can create (and save) a VM between the claim and the load.
 */
int32_t mock_state_attach(mock_state *st, const char *path, vrt_error *err)
{
    int had = 0;
    int32_t rc;

    pthread_mutex_lock(&st->lock);
    rc = mock_state_claim_file(&had, st, path, err);
    if (rc != VRT_OK || had)
        goto cleanup;
    if (st->nvms || st->next_vm) {
        rc = mock_err(err, VRT_E_INVALID,
                      "stateFile: endpoint %.64s already has VMs in "
                      "memory; set stateFile on its first connection.",
                      st->endpoint);
    } else {
        rc = state_load(st, path, err);
        if (rc != VRT_OK)
            mock_state_clear_vms(st);
    }
    if (rc != VRT_OK)
        mock_state_unclaim_file(st);

cleanup:
    pthread_mutex_unlock(&st->lock);
    return rc;
}
