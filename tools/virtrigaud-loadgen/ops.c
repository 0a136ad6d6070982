/*
 * ops.c - the requests and the three phases: create N VMs and wait for
 * each to be Ready; a timed mix of power, reconfigure, delete and create
 * operations, each waited for; delete what is left.
 */
#include "loadgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const lg_kind_names[LG_KINDS] = {"create", "power", "reconfigure",
                                              "delete"};

/* One request.  Returns 0 on a 2xx answer (*gen: its metadata.generation,
 * or 0), else -1 with the reason in why; *status is the HTTP status (0 on
 * a transport failure). */
static int send_req(double *gen, long *status, lg_run *r, const char *method,
                    const char *path, const char *ctype, const cJSON *body,
                    char *why, size_t whysize)
{
    cJSON *out = NULL;
    vrt_error err = VRT_ERROR_INIT;
    *status = 0;
    if (gen)
        *gen = 0;
    int rc;
    for (int attempt = 1;; attempt++) {
        rc = vrt_kube_request(&out, status, r->kube, method, path, ctype, body, &err);
        /* A write that races the controller's may be refused with 409
         * Conflict even without a precondition (the standalone server's
         * DELETE does that); try again, and say how often in the report. */
        if (rc != VRT_OK || *status != 409 || err.code != VRT_E_CONFLICT ||
            strcmp(method, "POST") == 0 || attempt == LG_CONFLICT_RETRIES)
            break;
        __atomic_fetch_add(&r->conflict_retries, 1, __ATOMIC_RELAXED);
        cJSON_Delete(out);
        out = NULL;
        err = (vrt_error)VRT_ERROR_INIT;
        usleep(10000u * (unsigned)attempt);
    }
    if (rc == VRT_OK && *status < 300) {
        const cJSON *g = cJSON_GetObjectItem(cJSON_GetObjectItem(out, "metadata"),
                                             "generation");
        if (gen && cJSON_IsNumber(g))
            *gen = g->valuedouble;
        cJSON_Delete(out);
        return 0;
    }
    snprintf(why, whysize, "%s", err.message[0] ? err.message : "no answer");
    cJSON_Delete(out);
    return -1;
}

static void vm_path(char *buf, size_t size, const lg_run *r, const char *name)
{
    snprintf(buf, size, LG_GV "/namespaces/%s/virtualmachines%s%s", r->o.ns,
             name ? "/" : "", name ? name : "");
}

/* --- preflight ---------------------------------------------------------- */

static const char *const kind_of_plural[][2] = {
    {"vmclasses", "VMClass"}, {"providers", "Provider"}, {"vmimages", "VMImage"}};

/* GETs one object the run needs; *out (may be NULL) gets it. */
static int need(cJSON **out, lg_run *r, int which, const char *name, char *why,
                size_t whysize)
{
    char path[512];
    snprintf(path, sizeof(path), LG_GV "/namespaces/%s/%s/%s", r->o.ns,
             kind_of_plural[which][0], name);
    cJSON *obj = NULL;
    long status = 0;
    vrt_error err = VRT_ERROR_INIT;
    if (out)
        *out = NULL;
    if (vrt_kube_request(&obj, &status, r->kube, "GET", path, NULL, NULL, &err) != VRT_OK) {
        snprintf(why, whysize, "%s Is the manager running, and is --kubeconfig "
                 "the file it printed?", err.message);
        return -1;
    }
    if (status == 404) {
        snprintf(why, whysize, "%s \"%s\" does not exist in namespace \"%s\"; "
                 "create it first (see docs/loadgen.md).",
                 kind_of_plural[which][1], name, r->o.ns);
    } else if (status >= 300) {
        snprintf(why, whysize, "Reading %s \"%s\" failed: %s",
                 kind_of_plural[which][1], name, err.message);
    } else {
        if (out)
            *out = obj;
        else
            cJSON_Delete(obj);
        return 0;
    }
    cJSON_Delete(obj);
    return -1;
}

static int class_cpu(double *cpu, lg_run *r, const char *name, char *why,
                     size_t whysize)
{
    cJSON *cls = NULL;
    if (need(&cls, r, 0, name, why, whysize) != 0)
        return -1;
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(cls, "spec"), "cpu");
    *cpu = cJSON_IsNumber(c) ? c->valuedouble : 0;
    cJSON_Delete(cls);
    if (*cpu < 1) {
        snprintf(why, whysize, "VMClass \"%s\" has no spec.cpu.", name);
        return -1;
    }
    return 0;
}

typedef struct preflight_job {
    lg_run *r;
    char *why;
    size_t whysize;
    int rc;
} preflight_job;

static void *preflight_main(void *opaque)
{
    preflight_job *j = opaque;
    lg_run *r = j->r;
    j->rc = -1;
    if (class_cpu(&r->class_cpu, r, r->o.cls, j->why, j->whysize) != 0 ||
        (r->o.alt_class &&
         class_cpu(&r->alt_cpu, r, r->o.alt_class, j->why, j->whysize) != 0) ||
        need(NULL, r, 1, r->o.provider, j->why, j->whysize) != 0 ||
        (r->o.image && need(NULL, r, 2, r->o.image, j->why, j->whysize) != 0))
        return NULL;
    /* VMs left by an earlier run with this prefix would collide. */
    char path[512];
    snprintf(path, sizeof(path), LG_GV "/namespaces/%s/virtualmachines?labelSelector="
             LG_LABEL "%%3D%s", r->o.ns, r->o.prefix);
    cJSON *list = NULL;
    long status = 0;
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_kube_request(&list, &status, r->kube, "GET", path, NULL, NULL, &err) != VRT_OK ||
        status >= 300) {
        snprintf(j->why, j->whysize, "Listing VirtualMachines failed: %s", err.message);
        cJSON_Delete(list);
        return NULL;
    }
    int left = cJSON_GetArraySize(cJSON_GetObjectItem(list, "items"));
    cJSON_Delete(list);
    if (left > 0) {
        snprintf(j->why, j->whysize,
                 "%d VirtualMachines of an earlier run with --prefix \"%s\" exist in "
                 "namespace \"%s\"; delete them (kubectl delete vm -n %s -l %s=%s) "
                 "or choose another --prefix.",
                 left, r->o.prefix, r->o.ns, r->o.ns, LG_LABEL, r->o.prefix);
        return NULL;
    }
    j->rc = 0;
    return NULL;
}

int lg_preflight(lg_run *r, char *why, size_t whysize)
{
    /* On its own thread: the client keeps a connection per thread, and a
     * thread's is released when the thread ends. */
    preflight_job j = {.r = r, .why = why, .whysize = whysize};
    pthread_t t;
    if (pthread_create(&t, NULL, preflight_main, &j) != 0) {
        snprintf(why, whysize, "Cannot start a thread.");
        return -1;
    }
    pthread_join(t, NULL);
    return j.rc;
}

/* --- operations ----------------------------------------------------------- */

static cJSON *vm_body(const lg_run *r, const char *name)
{
    cJSON *vm = cJSON_CreateObject();
    cJSON_AddStringToObject(vm, "apiVersion", "infra.virtrigaud.io/v1beta1");
    cJSON_AddStringToObject(vm, "kind", "VirtualMachine");
    cJSON *md = cJSON_AddObjectToObject(vm, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(md, "labels"), LG_LABEL, r->o.prefix);
    cJSON *spec = cJSON_AddObjectToObject(vm, "spec");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "providerRef"), "name",
                            r->o.provider);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "classRef"), "name", r->o.cls);
    if (r->o.image)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "imageRef"), "name",
                                r->o.image);
    cJSON_AddStringToObject(spec, "powerState", "On");
    return vm;
}

/* Sends the create of vm (its operation already pending). */
static void do_create(lg_run *r, lg_vm *vm)
{
    char path[512], why[400];
    vm_path(path, sizeof(path), r, NULL);
    cJSON *body = vm_body(r, vm->name);
    long status;
    int rc = send_req(NULL, &status, r, "POST", path, NULL, body, why, sizeof(why));
    cJSON_Delete(body);
    pthread_mutex_lock(&r->lock);
    if (rc != 0) {
        if (status == 409) /* not ours: leave it alone */
            vm->posted = 0;
        lg_pend_fail_locked(r, vm, "create", why);
    } else {
        r->created++;
        if (vm->pend_stats == &r->create)
            r->last_post_us = lg_now_us();
        lg_pend_gen_locked(r, vm, 0);
    }
    pthread_mutex_unlock(&r->lock);
}

/* Sends a delete (operation pending).  A VM already gone counts as done. */
static void do_delete(lg_run *r, lg_vm *vm)
{
    char path[512], why[400];
    vm_path(path, sizeof(path), r, vm->name);
    long status;
    int rc = send_req(NULL, &status, r, "DELETE", path, NULL, NULL, why, sizeof(why));
    pthread_mutex_lock(&r->lock);
    if (rc != 0 && status == 404) {
        vm->exists = 0;
        vm->gone = 1;
        lg_pend_gen_locked(r, vm, 0);
    } else if (rc != 0) {
        lg_pend_fail_locked(r, vm, "delete", why);
    } else {
        lg_pend_gen_locked(r, vm, 0);
    }
    pthread_mutex_unlock(&r->lock);
}

/* Merge-patches spec (operation pending) and records the generation. */
static void do_patch(lg_run *r, lg_vm *vm, cJSON *spec, const char *what)
{
    char path[512], why[400];
    vm_path(path, sizeof(path), r, vm->name);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "spec", spec);
    long status;
    double gen = 0;
    int rc = send_req(&gen, &status, r, "PATCH", path, "application/merge-patch+json",
                      body, why, sizeof(why));
    cJSON_Delete(body);
    pthread_mutex_lock(&r->lock);
    if (rc != 0)
        lg_pend_fail_locked(r, vm, what, why);
    else
        lg_pend_gen_locked(r, vm, gen);
    pthread_mutex_unlock(&r->lock);
}

/* --- waiting ----------------------------------------------------------- */

static void wait_slice_locked(lg_run *r, long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&r->changed, &r->lock, &ts);
}

static uint64_t timeout_us(const lg_run *r)
{
    return (uint64_t)(r->o.timeout_s * 1e6);
}

/* Waits until the workers are done and no VM has an operation in flight,
 * ending overdue ones as timeouts.  An interrupt abandons the wait when
 * `interruptible` (the operations then count nowhere). */
/* On a terminal, a line on stderr once a second shows that a long phase
 * moves ("create: 5234 done, 0 errors, 0 timeouts"). */
static void progress_locked(const lg_run *r, const char *label, uint64_t *last_us)
{
    if (!isatty(STDERR_FILENO))
        return;
    uint64_t now = lg_now_us();
    if (*last_us && now - *last_us < 1000000u)
        return;
    *last_us = now;
    const lg_stats *one = strcmp(label, "create") == 0    ? &r->create
                          : strcmp(label, "cleanup") == 0 ? &r->cleanup
                                                          : NULL;
    size_t done = 0;
    unsigned errors = 0, timeouts = 0;
    for (int k = 0; k < (one ? 1 : LG_KINDS); k++) {
        const lg_stats *st = one ? one : &r->mix[k];
        done += st->n;
        errors += st->errors;
        timeouts += st->timeouts;
    }
    fprintf(stderr, "\r%s: %zu done, %zu in flight, %u errors, %u timeouts   ",
            label, done, r->npending, errors, timeouts);
}

static void drain(lg_run *r, const long *workers_left, int interruptible,
                  const char *label)
{
    uint64_t shown = 0;
    pthread_mutex_lock(&r->lock);
    uint64_t last_scan = 0;
    int abandoned = 0;
    while (*workers_left > 0 || r->npending > 0) {
        uint64_t now = lg_now_us();
        int abandon = interruptible && lg_interrupted && !abandoned;
        /* Looking for overdue operations costs a pass over every VM: a few
         * times a second, not at every completion. */
        if (now - last_scan >= 200000u || abandon) {
            last_scan = now;
            abandoned |= abandon;
            progress_locked(r, label, &shown);
            for (size_t i = 0; i < r->nvms; i++) {
                lg_vm *vm = r->vms[i];
                if (!vm->pend)
                    continue;
                if (interruptible && lg_interrupted)
                    lg_pend_abandon_locked(r, vm);
                else if (vm->pend_gen >= 0 && now - vm->pend_t0_us > timeout_us(r))
                    lg_pend_timeout_locked(r, vm);
            }
            continue;
        }
        wait_slice_locked(r, 200);
    }
    if (shown)
        fprintf(stderr, "\n");
    pthread_mutex_unlock(&r->lock);
}

/* Waits for the operation `seq` on vm (lock held); gives up on timeout or
 * interrupt. */
static void await_locked(lg_run *r, lg_vm *vm, unsigned seq)
{
    while (vm->seq == seq && vm->pend) {
        if (lg_interrupted) {
            lg_pend_abandon_locked(r, vm);
            return;
        }
        if (lg_now_us() - vm->pend_t0_us > timeout_us(r)) {
            lg_pend_timeout_locked(r, vm);
            return;
        }
        wait_slice_locked(r, 200);
    }
}

/* --- phases -------------------------------------------------------------- */

typedef struct pool {
    lg_run *r;
    size_t next;        /* next VM index (create, cleanup) */
    long left;          /* workers still running */
    uint64_t end_us;    /* mix: when to stop starting operations */
    unsigned seed;
} pool;

static void worker_done(pool *p)
{
    pthread_mutex_lock(&p->r->lock);
    p->left--;
    pthread_cond_broadcast(&p->r->changed);
    pthread_mutex_unlock(&p->r->lock);
}

static void run_workers(pool *p, void *(*fn)(void *), int interruptible,
                        const char *label)
{
    lg_run *r = p->r;
    long n = r->o.concurrency;
    pthread_t *t = calloc((size_t)n, sizeof(*t));
    if (!t)
        abort();
    long started = 0;
    p->left = n;
    for (long i = 0; i < n; i++) {
        if (pthread_create(&t[i], NULL, fn, p) != 0)
            break;
        started++;
    }
    if (started < n) {
        pthread_mutex_lock(&r->lock);
        p->left -= n - started;
        lg_error_locked(r, "Only %ld of %ld worker threads started.", started, n);
        pthread_mutex_unlock(&r->lock);
    }
    drain(r, &p->left, interruptible, label);
    for (long i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
}

static void *create_worker(void *opaque)
{
    pool *p = opaque;
    lg_run *r = p->r;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        lg_vm *vm = !lg_interrupted && p->next < (size_t)r->o.vms ? r->vms[p->next++] : NULL;
        if (vm) {
            vm->posted = 1;
            lg_pend_locked(r, vm, LG_CREATE, &r->create);
        }
        pthread_mutex_unlock(&r->lock);
        if (!vm)
            break;
        do_create(r, vm);
    }
    worker_done(p);
    return NULL;
}

static void vm_name(char *buf, size_t size, const lg_run *r, long index)
{
    snprintf(buf, size, "%s-%06ld", r->o.prefix, index);
}

void lg_phase_create(lg_run *r)
{
    pthread_mutex_lock(&r->lock);
    for (long i = 1; i <= r->o.vms; i++) {
        char name[64];
        vm_name(name, sizeof(name), r, i);
        lg_vm_add_locked(r, name);
    }
    r->next_index = r->o.vms + 1;
    pthread_mutex_unlock(&r->lock);
    pool p = {.r = r};
    run_workers(&p, create_worker, 1, "create");
    if (r->create.last_us > r->create.first_us)
        r->create_s = (double)(r->create.last_us - r->create.first_us) / 1e6;
}

/* A VM for a power, reconfigure or delete: Ready, idle, ours. */
static lg_vm *pick_locked(lg_run *r, unsigned *seed)
{
    if (r->nvms == 0)
        return NULL;
    size_t start = (size_t)rand_r(seed) % r->nvms;
    for (size_t k = 0; k < r->nvms; k++) {
        lg_vm *vm = r->vms[(start + k) % r->nvms];
        if (vm->posted && vm->exists && vm->ready && !vm->busy && !vm->deleting)
            return vm;
    }
    return NULL;
}

static lg_kind pick_kind(const lg_run *r, unsigned *seed)
{
    unsigned total = 0;
    for (int k = 0; k < LG_KINDS; k++)
        total += r->o.weight[k];
    unsigned x = (unsigned)rand_r(seed) % total;
    for (int k = 0; k < LG_KINDS; k++) {
        if (x < r->o.weight[k])
            return (lg_kind)k;
        x -= r->o.weight[k];
    }
    return LG_POWER;
}

/* Starts one mix operation of `kind` (lock held); the spec patch to send
 * goes to *patch.  NULL when no VM fits. */
static lg_vm *start_locked(lg_run *r, lg_kind kind, unsigned *seed, cJSON **patch)
{
    *patch = NULL;
    lg_vm *vm;
    if (kind == LG_CREATE) {
        char name[64];
        vm_name(name, sizeof(name), r, r->next_index++);
        vm = lg_vm_add_locked(r, name);
        vm->posted = 1;
    } else if (!(vm = pick_locked(r, seed))) {
        return NULL;
    }
    lg_pend_locked(r, vm, kind, &r->mix[kind]);
    if (kind == LG_POWER) {
        snprintf(vm->pend_power, sizeof(vm->pend_power), "%s",
                 strcmp(vm->power, "Off") == 0 ? "On" : "Off");
        *patch = cJSON_CreateObject();
        cJSON_AddStringToObject(*patch, "powerState", vm->pend_power);
    } else if (kind == LG_RECONFIGURE && r->o.alt_class) {
        vm->alt_class = !vm->alt_class;
        vm->pend_cpu = vm->alt_class ? r->alt_cpu : r->class_cpu;
        *patch = cJSON_CreateObject();
        cJSON_AddStringToObject(cJSON_AddObjectToObject(*patch, "classRef"), "name",
                                vm->alt_class ? r->o.alt_class : r->o.cls);
    } else if (kind == LG_RECONFIGURE) {
        double base = vm->alt_class ? r->alt_cpu : r->class_cpu;
        double cur = vm->want_cpu > 0 ? vm->want_cpu : base;
        double other = base < 128 ? base + 1 : base - 1;
        vm->want_cpu = cur == base ? other : base;
        vm->pend_cpu = vm->want_cpu;
        *patch = cJSON_CreateObject();
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(*patch, "resources"), "cpu",
                                vm->want_cpu);
    }
    return vm;
}

static void *mix_worker(void *opaque)
{
    pool *p = opaque;
    lg_run *r = p->r;
    pthread_mutex_lock(&r->lock);
    unsigned seed = p->seed++;
    pthread_mutex_unlock(&r->lock);
    while (!lg_interrupted && lg_now_us() < p->end_us) {
        lg_kind kind = pick_kind(r, &seed);
        cJSON *patch = NULL;
        pthread_mutex_lock(&r->lock);
        lg_vm *vm = start_locked(r, kind, &seed, &patch);
        unsigned seq = vm ? vm->seq : 0;
        pthread_mutex_unlock(&r->lock);
        if (!vm) {
            usleep(20000); /* nothing idle and Ready right now */
            continue;
        }
        if (kind == LG_CREATE)
            do_create(r, vm);
        else if (kind == LG_DELETE)
            do_delete(r, vm);
        else
            do_patch(r, vm, patch, lg_kind_names[kind]);
        pthread_mutex_lock(&r->lock);
        await_locked(r, vm, seq);
        pthread_mutex_unlock(&r->lock);
    }
    worker_done(p);
    return NULL;
}

void lg_phase_mix(lg_run *r)
{
    if (r->o.duration_s <= 0 || lg_interrupted)
        return;
    uint64_t t0 = lg_now_us();
    pool p = {.r = r, .end_us = t0 + (uint64_t)(r->o.duration_s * 1e6),
              .seed = (unsigned)time(NULL)};
    run_workers(&p, mix_worker, 1, "mix");
    r->mix_s = (double)(lg_now_us() - t0) / 1e6;
}

static void *cleanup_worker(void *opaque)
{
    pool *p = opaque;
    lg_run *r = p->r;
    for (;;) {
        lg_vm *vm = NULL;
        pthread_mutex_lock(&r->lock);
        while (p->next < r->nvms) {
            lg_vm *c = r->vms[p->next++];
            if (c->posted && !c->gone) {
                vm = c; /* (an interrupted operation is abandoned) */
                lg_pend_locked(r, vm, LG_DELETE, &r->cleanup);
                break;
            }
        }
        pthread_mutex_unlock(&r->lock);
        if (!vm)
            break;
        do_delete(r, vm);
    }
    worker_done(p);
    return NULL;
}

void lg_phase_cleanup(lg_run *r)
{
    uint64_t t0 = lg_now_us();
    pool p = {.r = r};
    run_workers(&p, cleanup_worker, 0, "cleanup");
    r->cleanup_s = (double)(lg_now_us() - t0) / 1e6;
}
