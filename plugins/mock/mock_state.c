/*
 * mock_state.c - the in-memory "hypervisor" behind an endpoint.
 *
 * Connections opened with the same endpoint string share one mock_state,
 * so a test can open two connections and see the same VMs.  The state is
 * reference counted and freed when the last connection (or stream) lets
 * go of it, so each test that uses a fresh endpoint starts from nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static mock_state *registry;

static void vm_free(mock_vm *vm)
{
    if (!vm)
        return;
    for (size_t i = 0; i < vm->nsnaps; i++)
        free(vm->snaps[i].description);
    free(vm->snaps);
    free(vm->spec_json);
    free(vm->user_data);
    free(vm->meta_data);
    free(vm->network_data);
    free(vm);
}

static void disk_free(mock_disk *d)
{
    if (!d)
        return;
    free(d->data);
    free(d);
}

/* Forgets every VM and the VM id counter (a failed state file load). */
void mock_state_clear_vms(mock_state *st)
{
    for (size_t i = 0; i < st->nvms; i++)
        vm_free(st->vms[i]);
    free(st->vms);
    st->vms = NULL;
    st->nvms = st->capvms = 0;
    st->next_vm = st->next_snap = 0;
}

static void state_free(mock_state *st)
{
    if (!st)
        return;
    mock_state_clear_vms(st);
    free(st->tasks);
    for (size_t i = 0; i < st->nimages; i++)
        free(st->images[i].image_json);
    free(st->images);
    for (size_t i = 0; i < st->ndisks; i++)
        disk_free(st->disks[i]);
    free(st->disks);
    pthread_mutex_destroy(&st->lock);
    free(st->state_file);
    free(st->endpoint);
    free(st);
}

int32_t mock_state_acquire(mock_state **out, const char *endpoint,
                           vrt_error *err)
{
    mock_state *st;
    int32_t rc = VRT_OK;

    *out = NULL;
    pthread_mutex_lock(&registry_lock);
    for (st = registry; st; st = st->next)
        if (strcmp(st->endpoint, endpoint) == 0)
            break;
    if (!st) {
        st = calloc(1, sizeof(*st));
        if (!st || !(st->endpoint = mock_strdup(endpoint))) {
            free(st);
            rc = mock_err(err, VRT_E_INTERNAL, "Out of memory.");
            goto cleanup;
        }
        pthread_mutex_init(&st->lock, NULL);
        st->next = registry;
        registry = st;
    }
    st->refs++;
    *out = st;

cleanup:
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

void mock_state_release(mock_state *st)
{
    mock_state **pp;

    if (!st)
        return;
    pthread_mutex_lock(&registry_lock);
    if (--st->refs > 0) {
        pthread_mutex_unlock(&registry_lock);
        return;
    }
    for (pp = &registry; *pp; pp = &(*pp)->next)
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    pthread_mutex_unlock(&registry_lock);
    state_free(st);
}

/*
 * Makes path the state file of st; the caller holds st->lock.  The check
 * runs under the registry lock, so that two endpoints cannot claim one
 * file and overwrite each other's VMs.  *had is 1 when st already had
 * this file, 0 when it claimed it now.
 */
int32_t mock_state_claim_file(int *had, mock_state *st, const char *path,
                              vrt_error *err)
{
    int32_t rc = VRT_OK;

    *had = 0;
    pthread_mutex_lock(&registry_lock);
    if (st->state_file) {
        *had = 1;
        if (strcmp(st->state_file, path) != 0)
            rc = mock_err(err, VRT_E_INVALID,
                          "stateFile %.200s differs from %.200s, which "
                          "another connection to %.64s already uses.",
                          path, st->state_file, st->endpoint);
        goto cleanup;
    }
    for (const mock_state *o = registry; o; o = o->next)
        if (o != st && o->state_file && strcmp(o->state_file, path) == 0) {
            rc = mock_err(err, VRT_E_INVALID,
                          "stateFile %.200s is already the state of "
                          "endpoint %.64s; each endpoint needs its own.",
                          path, o->endpoint);
            goto cleanup;
        }
    st->state_file = mock_strdup(path);
    if (!st->state_file)
        rc = mock_err(err, VRT_E_INTERNAL, "Out of memory.");

cleanup:
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

void mock_state_unclaim_file(mock_state *st)
{
    pthread_mutex_lock(&registry_lock);
    free(st->state_file);
    st->state_file = NULL;
    pthread_mutex_unlock(&registry_lock);
}

/* The lookups below run with st->lock held. */

/*
 * st->vms is sorted by seq (VMs are appended with the next seq, removal
 * keeps the order, the state file is written and read in order), so an id
 * of the form mock-N is a binary search, not a scan of every VM.
 */
mock_vm *mock_vm_find(mock_state *st, const char *id)
{
    const char *digits = id + 5;
    char *end = NULL;
    unsigned long long seq;
    size_t lo = 0, hi = st->nvms;

    if (strncmp(id, "mock-", 5) != 0 || *digits < '0' || *digits > '9')
        return NULL;
    seq = strtoull(digits, &end, 10);
    if (*end)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (st->vms[mid]->seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < st->nvms && st->vms[lo]->seq == seq &&
        strcmp(st->vms[lo]->id, id) == 0)
        return st->vms[lo];
    return NULL;
}

mock_vm *mock_vm_find_name(mock_state *st, const char *name)
{
    for (size_t i = 0; i < st->nvms; i++)
        if (strcmp(st->vms[i]->name, name) == 0)
            return st->vms[i];
    return NULL;
}

mock_snapshot *mock_snap_find(mock_vm *vm, const char *id)
{
    for (size_t i = 0; i < vm->nsnaps; i++)
        if (strcmp(vm->snaps[i].id, id) == 0)
            return &vm->snaps[i];
    return NULL;
}

mock_disk *mock_disk_find(mock_state *st, const char *id)
{
    for (size_t i = 0; i < st->ndisks; i++)
        if (strcmp(st->disks[i]->id, id) == 0)
            return st->disks[i];
    return NULL;
}

/* Adds a powered-off VM with the next id; the caller fills the rest. */
int32_t mock_vm_add(mock_vm **out, mock_state *st, const char *name,
                    vrt_error *err)
{
    mock_vm *vm = NULL;

    *out = NULL;
    if (mock_grow((void **)&st->vms, &st->capvms, st->nvms + 1,
                  sizeof(*st->vms)) != 0 ||
        !(vm = calloc(1, sizeof(*vm))))
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    vm->seq = ++st->next_vm;
    snprintf(vm->id, sizeof(vm->id), "mock-%06llu",
             (unsigned long long)vm->seq);
    mock_copy(vm->name, sizeof(vm->name), name);
    mock_copy(vm->disk_seed, sizeof(vm->disk_seed), vm->id);
    vm->power = VRT_POWER_OFF;
    vm->cpus = MOCK_DEFAULT_CPUS;
    vm->memory_mib = MOCK_DEFAULT_MEMORY_MIB;
    vm->hw_version = MOCK_DEFAULT_HW_VERSION;
    st->vms[st->nvms++] = vm;
    *out = vm;
    return VRT_OK;
}

void mock_vm_remove(mock_state *st, mock_vm *vm)
{
    for (size_t i = 0; i < st->nvms; i++)
        if (st->vms[i] == vm) {
            memmove(&st->vms[i], &st->vms[i + 1],
                    (st->nvms - i - 1) * sizeof(*st->vms));
            st->nvms--;
            break;
        }
    vm_free(vm);
}
