/*
 * vcts.h - the provider conformance test suite: what the runner, the
 * helpers and the test files share.
 *
 * A test is a small function in a table (one table per vcts_tests_*.c
 * file).  It drives the plugin through the core's safe wrappers (vrt_p_*)
 * and reports through vcts_fail / vcts_skip; the first failure is the one
 * printed.  VMs a test creates through vcts_vm_create are destroyed by the
 * runner after the test, whatever happened, newest first.
 */
#ifndef VRT_VCTS_H
#define VRT_VCTS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <vrt/plugin.h>

#define VCTS_VERSION "0.1.0"

/* ---------------------------------------------------------------------- */
/* Configuration (vcts_config.c)                                           */
/* ---------------------------------------------------------------------- */

typedef struct vcts_config {
    char *endpoint;        /* Provider.spec.endpoint */
    char *config_json;     /* Provider.spec, as config_json */
    char *vm_spec_json;    /* spec_json for create */
    char **secrets;        /* NULL-terminated "key", "value" pairs */
    char *missing_id;      /* an id that names no VM */
    uint32_t timeout_ms;   /* per call and per task wait */
    char **skip;           /* test names skipped by config */
    size_t nskip;
} vcts_config;

/* Reads `path` (or uses the defaults when NULL).  `endpoint`, when not
 * NULL, overrides the file's.  On failure writes a whole-sentence message
 * to `why`.  Free with vcts_config_clear. */
int vcts_config_load(vcts_config *out, const char *path, const char *endpoint,
                     char *why, size_t why_size);
void vcts_config_clear(vcts_config *cfg);
int vcts_config_skips(const vcts_config *cfg, const char *test);

/* ---------------------------------------------------------------------- */
/* Runs and tests                                                          */
/* ---------------------------------------------------------------------- */

/* What the whole run shares; read-only while tests run. */
typedef struct vcts_run {
    const vcts_config *cfg;
    int verbose;
    long pid;
    const vrt_plugin *plugin;
    const vrt_provider *vt;
    vrt_pconn *conn;      /* NULL when open failed */
    int open_rc;
    vrt_error open_err;
    int caps_rc;          /* capabilities() of the connection */
    vrt_error caps_err;
    vrt_caps caps;
} vcts_run;

typedef struct vcts_test vcts_test;

/* One test while it runs.  Helpers may be called from several threads. */
typedef struct vcts_t {
    vcts_run *run;
    const vcts_test *test;
    pthread_mutex_t lock; /* guards everything below */
    int failed;
    int skipped;
    char reason[512];
    char (*vms)[VRT_ID_MAX]; /* created, not yet destroyed */
    size_t nvms, capvms;
} vcts_t;

/* What a test needs before it can run. */
#define VCTS_NEED_CONN (1u << 0) /* an open connection */
#define VCTS_NEED_CAPS (1u << 1) /* a successful capabilities() */

struct vcts_test {
    const char *name;    /* [a-z0-9-], unique */
    const char *summary; /* one line for --list */
    unsigned needs;      /* VCTS_NEED_* */
    uint64_t caps;       /* VRT_CAP_* the connection must claim */
    void (*run)(vcts_t *t);
};

/* The test tables, in run order. */
extern const vcts_test vcts_tests_meta[];
extern const vcts_test vcts_tests_abi[];
extern const vcts_test vcts_tests_notfound[];
extern const vcts_test vcts_tests_lifecycle[];
extern const vcts_test vcts_tests_power[];
extern const vcts_test vcts_tests_snapshot[];
extern const vcts_test vcts_tests_disk[];
extern const vcts_test vcts_tests_misc[];
extern const vcts_test vcts_tests_concurrency[];

/* ---------------------------------------------------------------------- */
/* Reporting (vcts_util.c)                                                 */
/* ---------------------------------------------------------------------- */

/* Marks the test failed; the first reason is the one printed, later ones
 * only with -v.  Returns VRT_E_INTERNAL so that helpers can return it. */
int vcts_fail(vcts_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Marks the test skipped (unless it already failed). */
void vcts_skip(vcts_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A detail line, printed with -v only. */
void vcts_note(vcts_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int vcts_failed(vcts_t *t);

/* The name of one capability bit ("SNAPSHOTS"), or "UNKNOWN". */
const char *vcts_cap_name(uint64_t cap);

/* ---------------------------------------------------------------------- */
/* Checking results (vcts_util.c)                                          */
/* ---------------------------------------------------------------------- */

/*
 * Every failure a test sees goes through vcts_check_record: the code is
 * negative and known, the record carries the same code, and the message is
 * terminated, non-empty, and the plugin's own (not the host's replacement
 * for a missing or unknown one).  Returns 0 when sane, else fails the test.
 */
int vcts_check_record(vcts_t *t, int rc, const vrt_error *err,
                      const char *what);
/* rc must be VRT_OK; otherwise fails the test with the plugin's message.
 * Returns rc. */
int vcts_expect_ok(vcts_t *t, int rc, const vrt_error *err, const char *what);
/* rc must be `want` (a VRT_E_* code).  Returns 0 when it is. */
int vcts_expect_code(vcts_t *t, int rc, const vrt_error *err, int want,
                     const char *what);

/* A call context with the configured timeout. */
void vcts_cc(vcts_t *t, vrt_call_ctx *cc);

/* Polls `task` until done or the timeout.  Returns the task's outcome
 * (VRT_OK or its error code, with *terr filled) without failing the test,
 * or VRT_E_TIMEOUT / the poll's code after failing it when polling itself
 * went wrong.  An empty task id is VRT_OK at once. */
int vcts_task_wait(vrt_error *terr, vcts_t *t, const vrt_task_ref *task,
                   const char *what);
/* The common shape: the call's rc must be OK and its task must succeed. */
int vcts_done(vcts_t *t, int rc, const vrt_error *err,
              const vrt_task_ref *task, const char *what);

/* ---------------------------------------------------------------------- */
/* VMs (vcts_util.c)                                                       */
/* ---------------------------------------------------------------------- */

/* "vcts-<pid>-<suffix>" */
void vcts_name(char *out, size_t size, vcts_t *t, const char *suffix);

/* Creates VM "vcts-<pid>-<suffix>" with `spec_json` (NULL = the config's
 * vmSpec), waits for its task and registers it for cleanup.  Fails the test
 * on any error. */
int vcts_vm_create(char id[VRT_ID_MAX], vcts_t *t, const char *suffix,
                   const char *spec_json);
/* Registers / forgets an id the runner must destroy after the test. */
void vcts_vm_track(vcts_t *t, const char *id);
void vcts_vm_untrack(vcts_t *t, const char *id);
/* Destroys the VM and waits; forgets it on success.  Fails the test on
 * error. */
int vcts_vm_destroy(vcts_t *t, const char *id);
int vcts_vm_power(vcts_t *t, const char *id, int32_t op,
                  uint32_t graceful_timeout_s);
/* Describes the VM; fails the test on error.  raw_json is checked (a JSON
 * object when present) and released. */
int vcts_vm_describe(vrt_vm_info *out, vcts_t *t, const char *id);
/* Describes until power_state == want or the timeout. */
int vcts_vm_wait_power(vcts_t *t, const char *id, int32_t want);
/* list_vms through the wrapper; fails the test on error. */
int vcts_list_vms(vcts_t *t, vrt_visit_fn visit, void *opaque);
/* The vmSpec's "cpu" and "memoryMiB", 0 when absent. */
void vcts_spec_sizes(unsigned *cpus, uint64_t *memory_mib, const vcts_run *run);
/* The runner's cleanup: destroys every tracked VM, newest first. */
void vcts_vm_cleanup(vcts_t *t);

const char *vcts_power_name(int32_t state);

/* spec_json with "cpu" set to `cpus` (the config's vmSpec otherwise
 * unchanged); malloc'ed, free() it. */
char *vcts_spec_with_cpu(vcts_t *t, unsigned cpus);

/* The disk format stream tests use: RAW when claimed, else the lowest
 * claimed bit, else 0. */
uint32_t vcts_pick_format(const vcts_run *run);

/* Sleeps `ms` milliseconds. */
void vcts_sleep_ms(unsigned ms);

/* ---------------------------------------------------------------------- */
/* The plugin's own handles, for direct vtable calls (vcts_raw.c)          */
/* ---------------------------------------------------------------------- */

vrt_conn *vcts_raw_conn(vrt_pconn *c);
vrt_host_ctx *vcts_raw_host_ctx(vrt_pconn *c);
/* A vrt_call for a direct vtable call, from a call context. */
void vcts_raw_call(vrt_call *call, const vrt_call_ctx *cc);

#endif /* VRT_VCTS_H */
