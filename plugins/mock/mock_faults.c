/*
 * mock_faults.c - the gate every mock method passes: argument checks, call
 * counters, simulated latency and fault injection by countdown.
 *
 * A fault configured for a method with {"after": N} lets N calls through
 * and fails call N+1; with "persistent" every later call fails too.  The
 * countdown is the connection's call counter for that method, the same
 * number describe("_stats") reports, so a test can reason about both.
 */
#include <string.h>
#include <time.h>

#include "mock.h"

#define LATENCY_STEP_MS 5u

static const char *const method_names[MOCK_M_COUNT] = {
    [MOCK_M_VALIDATE] = "validate",
    [MOCK_M_CAPABILITIES] = "capabilities",
    [MOCK_M_CREATE] = "create",
    [MOCK_M_DESTROY] = "destroy",
    [MOCK_M_POWER] = "power",
    [MOCK_M_DESCRIBE] = "describe",
    [MOCK_M_TASK_STATUS] = "task_status",
    [MOCK_M_RECONFIGURE] = "reconfigure",
    [MOCK_M_HARDWARE_UPGRADE] = "hardware_upgrade",
    [MOCK_M_SNAPSHOT_CREATE] = "snapshot_create",
    [MOCK_M_SNAPSHOT_DELETE] = "snapshot_delete",
    [MOCK_M_SNAPSHOT_REVERT] = "snapshot_revert",
    [MOCK_M_CLONE] = "clone",
    [MOCK_M_IMAGE_PREPARE] = "image_prepare",
    [MOCK_M_LIST_VMS] = "list_vms",
    [MOCK_M_DISK_INFO] = "disk_info",
    [MOCK_M_DISK_EXPORT_OPEN] = "disk_export_open",
    [MOCK_M_STREAM_READ] = "stream_read",
    [MOCK_M_STREAM_CLOSE] = "stream_close",
    [MOCK_M_DISK_IMPORT_OPEN] = "disk_import_open",
    [MOCK_M_STREAM_WRITE] = "stream_write",
    [MOCK_M_STREAM_FINISH] = "stream_finish",
    [MOCK_M_STREAM_ABORT] = "stream_abort",
    [MOCK_M_CONSOLE] = "console",
    [MOCK_M_LIST_HOSTS] = "list_hosts",
};

const char *mock_method_name(mock_method m)
{
    return (unsigned)m < MOCK_M_COUNT ? method_names[m] : "unknown";
}

int mock_method_from_name(const char *name)
{
    for (int m = 0; m < MOCK_M_COUNT; m++)
        if (strcmp(method_names[m], name) == 0)
            return m;
    return -1;
}

int mock_method_can_fail(mock_method m)
{
    return m != MOCK_M_STREAM_CLOSE && m != MOCK_M_STREAM_ABORT;
}

int32_t mock_check_call(const vrt_conn *conn, const vrt_call *call,
                        uint32_t flags, mock_method m, vrt_error *err)
{
    const char *name = mock_method_name(m);

    if (!conn)
        return mock_err(err, VRT_E_INVALID, "%s: conn is NULL.", name);
    if (!call)
        return mock_err(err, VRT_E_INVALID, "%s: call is NULL.", name);
    if (!VRT_HAS_MEMBER(call, vrt_call, ctx))
        return mock_err(err, VRT_E_INVALID,
                        "%s: call->struct_size %u is too small.", name,
                        call->struct_size);
    if (call->flags)
        return mock_err(err, VRT_E_INVALID,
                        "%s: call->flags must be 0, got 0x%x.", name,
                        call->flags);
    if (flags)
        return mock_err(err, VRT_E_INVALID, "%s: flags must be 0, got 0x%x.",
                        name, flags);
    return VRT_OK;
}

int32_t mock_check_arg(const void *arg, const char *name, mock_method m,
                       vrt_error *err)
{
    if (arg)
        return VRT_OK;
    return mock_err(err, VRT_E_INVALID, "%s: %s is required but NULL.",
                    mock_method_name(m), name);
}

int32_t mock_require_cap(const vrt_conn *conn, uint64_t cap, mock_method m,
                         vrt_error *err)
{
    if (mock_caps(conn) & cap)
        return VRT_OK;
    return mock_err(err, VRT_E_NOTSUPP,
                    "%s: this mock connection does not offer capability "
                    "\"%s\".",
                    mock_method_name(m), mock_cap_name(cap));
}

static void fault_fill(vrt_error *err, const mock_fault *f, mock_method m,
                     uint64_t n)
{
    if (f->message[0])
        mock_err(err, f->code, "%s", f->message);
    else
        mock_err(err, f->code,
                 "Injected fault: %s call %llu failed with %s.",
                 mock_method_name(m), (unsigned long long)n,
                 mock_code_name(f->code));
    if (err)
        err->retry_after_ms = f->retry_after_ms;
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int32_t check_deadline(const vrt_call *call, mock_method m,
                              vrt_error *err)
{
    /* Deadline first: a host may also report a passed deadline as
     * "cancelled", and TIMEOUT is the more precise answer. */
    if (call->deadline_ms &&
        mock_host->clock_monotonic_ms() >= call->deadline_ms)
        return mock_err(err, VRT_E_TIMEOUT,
                        "%s: the call's deadline passed.",
                        mock_method_name(m));
    if (call->ctx && mock_host->cancelled(call->ctx))
        return mock_err(err, VRT_E_CANCELED, "%s: the call was cancelled.",
                        mock_method_name(m));
    return VRT_OK;
}

/* Sleeps the configured latency in short steps so that cancellation and
 * the deadline are noticed promptly. */
static int32_t simulate_latency(const vrt_call *call, uint32_t latency_ms,
                                mock_method m, vrt_error *err)
{
    uint64_t end = mock_host->clock_monotonic_ms() + latency_ms;
    int32_t rc = check_deadline(call, m, err);

    while (rc == VRT_OK) {
        uint64_t now = mock_host->clock_monotonic_ms();

        if (now >= end)
            break;
        sleep_ms(end - now < LATENCY_STEP_MS ? (uint32_t)(end - now)
                                             : LATENCY_STEP_MS);
        rc = check_deadline(call, m, err);
    }
    return rc;
}

/*
 * Counts the call, simulates latency and decides on an injected fault.
 * `call` may be NULL for stream methods (no latency then).  When the fault
 * is to be reported through a task (async connection, "task": true) the
 * call succeeds and the failure goes to *task_err instead (code != 0);
 * task_err may be NULL for methods that issue no task.
 */
int32_t mock_gate(vrt_error *task_err, vrt_conn *conn,
                  const vrt_call *call, mock_method m, vrt_error *err)
{
    const mock_fault *f = &conn->cfg.faults[m];
    uint64_t n;
    int32_t rc = VRT_OK;

    if (task_err)
        memset(task_err, 0, sizeof(*task_err));
    pthread_mutex_lock(&conn->lock);
    n = ++conn->calls[m];
    pthread_mutex_unlock(&conn->lock);

    if (call)
        rc = simulate_latency(call, conn->cfg.latency_ms, m, err);
    if (rc != VRT_OK || !f->set)
        return rc;
    if (n <= f->after || (n > f->after + 1 && !f->persistent))
        return VRT_OK;
    mock_log(conn->ctx, VRT_LOG_DEBUG,
             "Injecting fault %s into %s call %llu.", mock_code_name(f->code),
             mock_method_name(m), (unsigned long long)n);
    if (task_err && f->in_task && conn->cfg.async) {
        fault_fill(task_err, f, m, n);
        return VRT_OK;
    }
    fault_fill(err, f, m, n);
    return f->code;
}
