/*
 * fleet.c - the table of the run's VirtualMachines and the one watch that
 * keeps it current.  An operation completes when the watch shows its
 * effect at (or after) the generation our write made, so no VM is ever
 * polled.
 */
#include "loadgen.h"

#include <vrt/clock.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t lg_interrupted;

uint64_t lg_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void lg_error_locked(lg_run *r, const char *fmt, ...)
{
    if (r->nerrors < LG_MAX_ERRORS_KEPT) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->errors[r->nerrors], sizeof(r->errors[0]), fmt, ap);
        va_end(ap);
    }
    r->nerrors++;
}

void lg_stats_add(lg_stats *s, double ms)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->ms = realloc(s->ms, s->cap * sizeof(*s->ms));
        if (!s->ms)
            abort();
    }
    s->ms[s->n++] = ms;
}

void lg_stats_clear(lg_stats *s)
{
    free(s->ms);
    memset(s, 0, sizeof(*s));
}

lg_vm *lg_vm_add_locked(lg_run *r, const char *name)
{
    if (r->nvms == r->capvms) {
        r->capvms = r->capvms ? r->capvms * 2 : 1024;
        r->vms = realloc(r->vms, r->capvms * sizeof(*r->vms));
        if (!r->vms)
            abort();
    }
    lg_vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        abort();
    snprintf(vm->name, sizeof(vm->name), "%s", name);
    vm->pend_gen = -1;
    r->vms[r->nvms++] = vm;
    vrt_hmap_put(r->by_name, vm->name, vm);
    return vm;
}

static void finish_locked(lg_run *r, lg_vm *vm)
{
    uint64_t now = lg_now_us();
    /* Overdue ones are found a few times a second; one seen late is still
     * late. */
    if ((double)(now - vm->pend_t0_us) > r->o.timeout_s * 1e6) {
        lg_pend_timeout_locked(r, vm);
        return;
    }
    lg_stats_add(vm->pend_stats, (double)(now - vm->pend_t0_us) / 1000.0);
    if (now > vm->pend_stats->last_us)
        vm->pend_stats->last_us = now;
    vm->pend = 0;
    vm->busy = 0;
    r->npending--;
    pthread_cond_broadcast(&r->changed);
}

/* Completes the pending operation when what the watch saw shows it. */
static void check_locked(lg_run *r, lg_vm *vm)
{
    if (!vm->pend)
        return;
    int done = 0;
    switch ((lg_kind)(vm->pend - 1)) {
    case LG_CREATE:
        done = vm->exists && vm->ready;
        break;
    case LG_POWER:
        done = vm->pend_gen >= 0 && vm->obs_gen >= vm->pend_gen &&
               strcmp(vm->power, vm->pend_power) == 0;
        break;
    case LG_RECONFIGURE:
        done = vm->pend_gen >= 0 && vm->obs_gen >= vm->pend_gen &&
               vm->cpu == vm->pend_cpu;
        break;
    case LG_DELETE:
        done = vm->gone;
        break;
    case LG_KINDS:
        break;
    }
    if (done)
        finish_locked(r, vm);
}

void lg_pend_locked(lg_run *r, lg_vm *vm, lg_kind kind, lg_stats *st)
{
    lg_pend_abandon_locked(r, vm);
    r->npending++;
    vm->busy = 1;
    vm->seq++;
    vm->pend = 1 + (int)kind;
    vm->pend_stats = st;
    vm->pend_gen = -1;
    vm->pend_t0_us = lg_now_us();
    if (!st->first_us || vm->pend_t0_us < st->first_us)
        st->first_us = vm->pend_t0_us;
    if (kind == LG_DELETE)
        vm->deleting = 1;
}

void lg_pend_gen_locked(lg_run *r, lg_vm *vm, double gen)
{
    if (!vm->pend)
        return;
    vm->pend_gen = gen;
    check_locked(r, vm);
}

void lg_pend_fail_locked(lg_run *r, lg_vm *vm, const char *what,
                         const char *why)
{
    if (!vm->pend)
        return;
    vm->pend_stats->errors++;
    lg_error_locked(r, "%s of VirtualMachine \"%s\" failed: %s", what,
                    vm->name, why);
    lg_pend_abandon_locked(r, vm);
}

void lg_pend_timeout_locked(lg_run *r, lg_vm *vm)
{
    if (!vm->pend)
        return;
    lg_kind kind = (lg_kind)(vm->pend - 1);
    vm->pend_stats->timeouts++;
    lg_error_locked(r,
                    "%s of VirtualMachine \"%s\" was not observed within %g s "
                    "(last seen: %s, Ready %s, powerState %s%s%s).",
                    lg_kind_names[kind], vm->name, r->o.timeout_s,
                    vm->gone ? "deleted" : vm->exists ? "exists" : "not yet seen",
                    vm->ready ? "True" : "not True", vm->power[0] ? vm->power : "-",
                    vm->message[0] ? ", message: " : "", vm->message);
    lg_pend_abandon_locked(r, vm);
}

void lg_pend_abandon_locked(lg_run *r, lg_vm *vm)
{
    if (!vm->pend)
        return;
    vm->pend = 0;
    vm->busy = 0;
    r->npending--;
    pthread_cond_broadcast(&r->changed);
}

/* --- the watch --------------------------------------------------------- */

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *n = cJSON_GetObjectItem(o, a);
    if (b)
        n = cJSON_GetObjectItem(n, b);
    return cJSON_GetStringValue(n);
}

static int ready_true(const cJSON *status)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(status, "conditions")) {
        const char *t = str_at(c, "type", NULL), *s = str_at(c, "status", NULL);
        if (t && s && strcmp(t, "Ready") == 0)
            return strcmp(s, "True") == 0;
    }
    return 0;
}

/* Applies what an event (or a list item) says about one VM. */
static void apply_locked(lg_run *r, const cJSON *obj, int deleted)
{
    const char *name = str_at(obj, "metadata", "name");
    lg_vm *vm = name ? vrt_hmap_get(r->by_name, name) : NULL;
    if (!vm)
        return; /* not one of ours (or not yet registered) */
    if (deleted) {
        vm->exists = 0;
        vm->gone = 1;
        vm->ready = 0;
    } else {
        const cJSON *st = cJSON_GetObjectItem(obj, "status");
        vm->exists = 1;
        vm->gone = 0;
        vm->ready = ready_true(st);
        const char *p = str_at(st, "powerState", NULL);
        snprintf(vm->power, sizeof(vm->power), "%s", p ? p : "");
        const cJSON *cur = cJSON_GetObjectItem(st, "currentResources");
        vm->cpu = cJSON_GetNumberValue(cJSON_GetObjectItem(cur, "cpu"));
        const cJSON *og = cJSON_GetObjectItem(st, "observedGeneration");
        vm->obs_gen = cJSON_IsNumber(og) ? og->valuedouble : 0;
        const char *m = str_at(st, "message", NULL);
        snprintf(vm->message, sizeof(vm->message), "%s", m ? m : "");
    }
    check_locked(r, vm);
}

typedef struct watch_state {
    lg_run *r;
    char rv[64];
    int expired; /* 410: list again */
} watch_state;

static int on_event(void *opaque, const char *type, const cJSON *obj)
{
    watch_state *w = opaque;
    if (strcmp(type, "ERROR") == 0) {
        const cJSON *code = cJSON_GetObjectItem(obj, "code");
        if (cJSON_IsNumber(code) && code->valuedouble == 410)
            w->expired = 1;
        else
            w->rv[0] = '\0';
        return 1;
    }
    const char *rv = str_at(obj, "metadata", "resourceVersion");
    if (rv)
        snprintf(w->rv, sizeof(w->rv), "%s", rv);
    if (strcmp(type, "BOOKMARK") == 0)
        return 0;
    pthread_mutex_lock(&w->r->lock);
    apply_locked(w->r, obj, strcmp(type, "DELETED") == 0);
    pthread_mutex_unlock(&w->r->lock);
    return 0;
}

static void collection_path(char *buf, size_t size, const lg_run *r,
                            const char *query)
{
    snprintf(buf, size, LG_GV "/namespaces/%s/virtualmachines?labelSelector="
             LG_LABEL "%%3D%s%s%s", r->o.ns, r->o.prefix, query ? "&" : "",
             query ? query : "");
}

/* Lists the run's VMs: each item is applied, and a VM that we know but
 * the list lacks is gone.  Fills w->rv. */
static int relist(watch_state *w, vrt_error *err)
{
    lg_run *r = w->r;
    char path[512];
    collection_path(path, sizeof(path), r, NULL);
    cJSON *list = NULL;
    long status = 0;
    int rc = vrt_kube_request(&list, &status, r->kube, "GET", path, NULL, NULL, err);
    if (rc == VRT_OK && status >= 300)
        rc = err->code ? err->code : VRT_E_UNAVAILABLE;
    if (rc != VRT_OK) {
        cJSON_Delete(list);
        return rc;
    }
    vrt_hmap *seen = vrt_hmap_new(NULL);
    const cJSON *item;
    pthread_mutex_lock(&r->lock);
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(list, "items")) {
        const char *name = str_at(item, "metadata", "name");
        if (name)
            vrt_hmap_put(seen, name, (void *)item);
        apply_locked(r, item, 0);
    }
    for (size_t i = 0; i < r->nvms; i++) {
        lg_vm *vm = r->vms[i];
        if (vm->exists && !vrt_hmap_get(seen, vm->name)) {
            vm->exists = 0;
            vm->gone = 1;
            vm->ready = 0;
            check_locked(r, vm);
        }
    }
    r->watch_synced = 1;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    vrt_hmap_free(seen);
    const char *rv = str_at(list, "metadata", "resourceVersion");
    snprintf(w->rv, sizeof(w->rv), "%s", rv ? rv : "");
    cJSON_Delete(list);
    return VRT_OK;
}

static void *watch_main(void *opaque)
{
    watch_state w = {.r = opaque};
    lg_run *r = w.r;
    int need_list = 1;
    while (!r->watch_stop) {
        vrt_error err = VRT_ERROR_INIT;
        if (need_list) {
            if (relist(&w, &err) != VRT_OK) {
                pthread_mutex_lock(&r->lock);
                snprintf(r->watch_err, sizeof(r->watch_err), "%s", err.message);
                pthread_cond_broadcast(&r->changed);
                pthread_mutex_unlock(&r->lock);
                for (int i = 0; i < 10 && !r->watch_stop; i++)
                    usleep(100000);
                continue;
            }
            need_list = 0;
        }
        char q[160], path[600];
        snprintf(q, sizeof(q), "watch=1&allowWatchBookmarks=true&resourceVersion=%s",
                 w.rv);
        collection_path(path, sizeof(path), r, q);
        w.expired = 0;
        int rc = vrt_kube_watch(r->kube, path, on_event, &w, &r->watch_stop, &err);
        if (w.expired || !w.rv[0]) {
            need_list = 1;
        } else if (rc != VRT_OK && !r->watch_stop) {
            /* Dropped: resume from the last version after a pause. */
            for (int i = 0; i < 5 && !r->watch_stop; i++)
                usleep(100000);
        }
    }
    return NULL;
}

int lg_watch_start(lg_run *r, char *why, size_t whysize)
{
    if (pthread_create(&r->watch_tid, NULL, watch_main, r) != 0) {
        snprintf(why, whysize, "Cannot start the watch thread.");
        return -1;
    }
    r->watch_started = 1;
    /* Wait for the first list, so that every later event is applied. */
    pthread_mutex_lock(&r->lock);
    uint64_t end = lg_now_us() + 30u * 1000000u;
    while (!r->watch_synced && !r->watch_err[0] && lg_now_us() < end &&
           !lg_interrupted) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->changed, &r->lock, &ts);
    }
    int ok = r->watch_synced;
    if (!ok && lg_interrupted)
        snprintf(why, whysize, "Interrupted while waiting for the first list of "
                 "VirtualMachines; nothing was created.");
    else if (!ok)
        snprintf(why, whysize, "The first list of VirtualMachines failed: %s",
                 r->watch_err[0] ? r->watch_err : "no answer within 30 s.");
    pthread_mutex_unlock(&r->lock);
    return ok ? 0 : -1;
}

void lg_watch_stop(lg_run *r)
{
    if (!r->watch_started)
        return;
    r->watch_stop = 1;
    pthread_join(r->watch_tid, NULL);
    r->watch_started = 0;
}
