/*
 * loadgen.h - shared state of virtrigaud-loadgen: the run's settings, the
 * table of VirtualMachines it made (kept current by one watch), and the
 * latency statistics per operation kind.
 *
 * Threads: the main thread runs the phases; workers issue requests; one
 * watch thread applies events.  Everything in lg_run below `lock` is
 * guarded by it.
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <vrt/hmap.h>
#include <vrt/kube.h>

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define LG_EXIT_OK 0
#define LG_EXIT_FAILED 1 /* an operation failed or timed out */
#define LG_EXIT_USAGE 2
#define LG_EXIT_SETUP 3 /* API server unreachable, a prerequisite missing */
#define LG_EXIT_INTERRUPTED 130

#define LG_GV "/apis/infra.virtrigaud.io/v1beta1"
#define LG_LABEL "loadgen.virtrigaud.io/run"
#define LG_MAX_ERRORS_KEPT 5
#define LG_CONFLICT_RETRIES 8

typedef enum { LG_CREATE, LG_POWER, LG_RECONFIGURE, LG_DELETE, LG_KINDS } lg_kind;

extern const char *const lg_kind_names[LG_KINDS];

/* Latencies of one operation kind in one phase. */
typedef struct lg_stats {
    double *ms;          /* completed operations' latencies */
    size_t n, cap;
    unsigned errors;     /* requests refused or failed */
    unsigned timeouts;   /* not observed within --timeout */
    uint64_t first_us;   /* first request sent */
    uint64_t last_us;    /* last completion seen */
} lg_stats;

/* One VirtualMachine of the run. */
typedef struct lg_vm {
    char name[64];
    /* What the watch last saw. */
    int exists, gone, ready;
    char power[16];
    double cpu, obs_gen;
    char message[160];
    /* Ours. */
    int posted;          /* a create was sent (cleanup deletes it) */
    int busy;            /* an operation is in flight */
    int deleting;        /* a delete was sent: no further operations */
    double want_cpu;     /* spec.resources.cpu we set (0: the class's) */
    int alt_class;       /* spec.classRef is --alt-class */
    /* The operation in flight, if any. */
    unsigned seq;        /* counts operations, so a waiter knows its own */
    int pend;            /* 0 none, else 1 + lg_kind */
    lg_stats *pend_stats;
    double pend_gen;     /* generation our write made; < 0 until known */
    char pend_power[16]; /* LG_POWER: the state to observe */
    double pend_cpu;     /* LG_RECONFIGURE: the CPU count to observe */
    uint64_t pend_t0_us;
} lg_vm;

typedef struct lg_opts {
    const char *kubeconfig, *ns, *cls, *alt_class, *provider, *image;
    const char *prefix, *output;
    long vms, concurrency;
    double duration_s, timeout_s;
    unsigned weight[LG_KINDS];
    int keep;
} lg_opts;

typedef struct lg_run {
    lg_opts o;
    vrt_kube *kube;
    double class_cpu, alt_cpu;

    pthread_mutex_t lock;
    pthread_cond_t changed;   /* an operation completed or failed */
    vrt_hmap *by_name;        /* name -> lg_vm* (owned by `vms`) */
    lg_vm **vms;
    size_t nvms, capvms;
    size_t npending;          /* VMs with an operation in flight */
    long next_index;          /* for names of VMs created in the mix */

    lg_stats create, mix[LG_KINDS], cleanup;
    double create_s, mix_s, cleanup_s;
    uint64_t last_post_us;    /* the last create POST of the create phase answered */
    unsigned nerrors;
    char errors[LG_MAX_ERRORS_KEPT][320];
    unsigned created;
    unsigned conflict_retries; /* 409s answered by trying again (atomic) */

    /* The watch thread. */
    pthread_t watch_tid;
    int watch_started;
    volatile int watch_stop;
    int watch_synced;         /* the first list is applied */
    char watch_err[300];
} lg_run;

/* Set by SIGINT/SIGTERM. */
extern volatile sig_atomic_t lg_interrupted;

/* util */
uint64_t lg_now_us(void);
/* Records an error message (the first few are kept).  Lock held. */
void lg_error_locked(lg_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void lg_stats_add(lg_stats *s, double ms);
void lg_stats_clear(lg_stats *s);

/* fleet.c: the table and the watch. */
lg_vm *lg_vm_add_locked(lg_run *r, const char *name);
/* Starts an operation on vm (lock held). */
void lg_pend_locked(lg_run *r, lg_vm *vm, lg_kind kind, lg_stats *st);
/* Our write answered with `gen` (lock held): completes the operation if
 * the watch already saw its effect. */
void lg_pend_gen_locked(lg_run *r, lg_vm *vm, double gen);
/* The request failed (lock held): ends the operation as an error. */
void lg_pend_fail_locked(lg_run *r, lg_vm *vm, const char *what,
                         const char *why);
/* Ends an overdue operation as a timeout (lock held). */
void lg_pend_timeout_locked(lg_run *r, lg_vm *vm);
/* Drops the operation without counting it (interrupted; lock held). */
void lg_pend_abandon_locked(lg_run *r, lg_vm *vm);
int lg_watch_start(lg_run *r, char *why, size_t whysize);
void lg_watch_stop(lg_run *r);

/* ops.c: the phases. */
int lg_preflight(lg_run *r, char *why, size_t whysize);
void lg_phase_create(lg_run *r);
void lg_phase_mix(lg_run *r);
void lg_phase_cleanup(lg_run *r);

/* report.c */
void lg_report(const lg_run *r, int exit_code);

#endif
