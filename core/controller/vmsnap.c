/*
 * The VMSnapshot reconciler.
 *
 * A VMSnapshot without a schedule is one snapshot of one VM: it is taken
 * once (behind a finalizer, so deleting the object deletes the provider's
 * snapshot), tracked to Ready, and deleted again by its retention policy:
 * maxAge (status.expiryTime), maxCount (the oldest Ready snapshots of the
 * VM beyond the count go), deleteOnVMDelete (default true).  Pinned
 * snapshots (spec.metadata.pinned) are never deleted by retention.  A
 * provider without the snapshot capability, or without memory snapshots
 * when includeMemory is set, gets a Failed phase and a condition saying
 * so.
 *
 * A VMSnapshot with spec.schedule.enabled is a schedule: it takes no
 * snapshot itself but creates child VMSnapshots (<name>-<unix time>,
 * label virtrigaud.io/snapshot-schedule, ownerReference to it) when its
 * cron expression fires, minding concurrencyPolicy, and keeps at most
 * successfulJobsHistoryLimit Ready and failedJobsHistoryLimit Failed
 * children.  Schedules run in UTC.
 */
#include "controller_internal.h"

#include <vrt/clock.h>
#include <vrt/cron.h>
#include <vrt/json.h>
#include <vrt/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

VRT_LOG_SOURCE("controller.snapshot");

#define SNAP_FINALIZER "vmsnapshot.infra.virtrigaud.io/finalizer"
#define L_SCHEDULE "virtrigaud.io/snapshot-schedule"
#define KIND "VMSnapshot"
#define WAIT_MS 5000
#define RESYNC_MS 60000

typedef struct snap_ctx {
    vrt_controller *c;
    const char *ns, *name;
    char path[600];
    cJSON *snap, *status, *old;
    double gen;
    vrt_lease *lease;
    vrt_call_ctx cc;
} snap_ctx;

static const cJSON *spec_of(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), key);
}

static const char *str_at(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
}

static time_t parse_time(const char *s)
{
    struct tm tm = {0};
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
        return 0;
    return timegm(&tm);
}

static void fmt_time(char buf[32], time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static long flush(snap_ctx *s, long requeue)
{
    cJSON_DeleteItemFromObjectCaseSensitive(s->status, "observedGeneration");
    cJSON_AddNumberToObject(s->status, "observedGeneration", s->gen);
    if (s->old && cJSON_Compare(s->old, s->status, 1))
        return requeue;
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_status_patch(s->c, s->path, s->old, s->status, &err) != VRT_OK) {
        vrt_log_warn("Status write failed vmsnapshot=\"%s/%s\": %s", s->ns,
                     s->name, err.message);
        return -1;
    }
    cJSON_Delete(s->old);
    s->old = cJSON_Duplicate(s->status, 1);
    return requeue;
}

static long phase(snap_ctx *s, const char *ph, const char *reason,
                  const char *msg, long requeue)
{
    vrt_json_set_str(s->status, "phase", ph);
    vrt_json_set_str(s->status, "message", msg);
    int ok = strcmp(ph, "Ready") == 0;
    vrt_cond_set(s->status, "Ready", ok ? "True" : "False", reason, msg, s->gen);
    if (!ok && strcmp(ph, "Creating") != 0)
        vrt_event(s->c->events, s->snap, KIND, "Warning", reason, "Snapshot",
                  "%s", msg);
    return flush(s, requeue);
}

static int set_finalizer(snap_ctx *s, int add)
{
    return vrt_finalizer_set(s->c, s->path, s->snap, SNAP_FINALIZER, add,
                             s->status);
}

static int has_finalizer(const cJSON *o)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"),
                                               "finalizers"))
        if (cJSON_IsString(it) && strcmp(it->valuestring, SNAP_FINALIZER) == 0)
            return 1;
    return 0;
}

static int delete_object(vrt_controller *c, const char *ns, const char *name)
{
    char path[600];
    vrt_object_path(path, sizeof(path), "vmsnapshots", ns, name);
    cJSON *resp = NULL;
    long code = 0;
    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_kube_request(&resp, &code, c->kube, "DELETE", path, NULL,
                              NULL, &err);
    cJSON_Delete(resp);
    return rc != VRT_OK || (code >= 300 && code != 404) ? -1 : 0;
}

/* The VM and a lease on its provider; NULL VM when it does not exist. */
static int vm_and_lease(cJSON **vm, snap_ctx *s, vrt_error *err)
{
    const char *vname = str_at(spec_of(s->snap, "vmRef"), "name");
    *vm = vname ? vrt_informer_get(s->c->inf[INF_VM], s->ns, vname) : NULL;
    if (!*vm)
        return VRT_E_NOTFOUND;
    const cJSON *pref = spec_of(*vm, "providerRef");
    const char *pns = str_at(pref, "namespace");
    cJSON *prov = vrt_informer_get(s->c->inf[INF_PROVIDER],
                                   pns && *pns ? pns : s->ns, str_at(pref, "name")
                                   ? str_at(pref, "name") : "");
    int rc = prov ? vrt_pool_acquire(&s->lease, s->c->pool, s->c, prov, err)
                  : vrt_error_set(err, VRT_E_NOTFOUND,
                                  "The VM's Provider does not exist.");
    cJSON_Delete(prov);
    return rc;
}

static long reconcile_delete(snap_ctx *s)
{
    if (!has_finalizer(s->snap))
        return 0;
    const char *sid = str_at(s->status, "snapshotID");
    cJSON *vm = NULL;
    vrt_error err = VRT_ERROR_INIT;
    if (sid && *sid) {
        int rc = vm_and_lease(&vm, s, &err);
        const char *vmid = str_at(cJSON_GetObjectItem(vm, "status"), "id");
        if (rc == VRT_E_RATELIMIT) {
            cJSON_Delete(vm);
            return err.retry_after_ms;
        }
        if (rc == VRT_OK && vmid && *vmid) {
            vrt_task_ref task;
            rc = vrt_p_snapshot_delete(&task, vrt_lease_conn(s->lease), &s->cc,
                                       vmid, sid, &err);
            if (rc != VRT_OK && rc != VRT_E_NOTFOUND) {
                cJSON_Delete(vm);
                vrt_json_set_str(s->status, "phase", "Deleting");
                vrt_cond_set(s->status, "Ready", "False", "DeleteFailed",
                             err.message, s->gen);
                flush(s, 0);
                return -1; /* the finalizer stays */
            }
            vrt_log_info("Deleted snapshot vmsnapshot=\"%s/%s\" id=\"%s\"",
                         s->ns, s->name, sid);
        }
    }
    cJSON_Delete(vm);
    return set_finalizer(s, 0) ? -1 : 0;
}

/* Ready snapshots of the same VM, for maxCount. */
typedef struct peers {
    const char *ns, *vm;
    time_t times[256];
    int pinned[256];
    char names[256][64];
    int n;
} peers;

static void collect_peer(void *opaque, const cJSON *o)
{
    peers *p = opaque;
    const char *ns = vrt_meta_str(o, "namespace");
    const char *vm = str_at(spec_of(o, "vmRef"), "name");
    const cJSON *st = cJSON_GetObjectItem(o, "status");
    if (!ns || strcmp(ns, p->ns) || !vm || strcmp(vm, p->vm) || p->n >= 256 ||
        vrt_meta_str(o, "deletionTimestamp") || !str_at(st, "phase") ||
        strcmp(str_at(st, "phase"), "Ready") != 0)
        return;
    p->times[p->n] = parse_time(str_at(st, "creationTime"));
    p->pinned[p->n] = cJSON_IsTrue(cJSON_GetObjectItem(spec_of(o, "metadata"), "pinned"));
    snprintf(p->names[p->n], sizeof(p->names[0]), "%s", vrt_meta_str(o, "name"));
    p->n++;
}

/* Whether retention says this Ready snapshot goes now; sets expiryTime
 * and *next_ms (when to look again). */
static int retention_due(snap_ctx *s, long *next_ms, char *why, size_t size)
{
    const cJSON *rp = spec_of(s->snap, "retentionPolicy");
    int pinned = cJSON_IsTrue(cJSON_GetObjectItem(spec_of(s->snap, "metadata"), "pinned"));
    time_t created = parse_time(str_at(s->status, "creationTime"));
    time_t now = time(NULL);
    long max_age = vrt_duration_s(str_at(rp, "maxAge"));
    *next_ms = RESYNC_MS;
    if (max_age > 0 && created) {
        char exp[32];
        fmt_time(exp, created + max_age);
        vrt_json_set_str(s->status, "expiryTime", exp);
        if (!pinned && now >= created + max_age) {
            snprintf(why, size, "Older than retentionPolicy.maxAge (%s).",
                     str_at(rp, "maxAge"));
            return 1;
        }
        if (created + max_age - now < RESYNC_MS / 1000)
            *next_ms = (long)(created + max_age - now) * 1000 + 500;
    }
    const cJSON *mc = cJSON_GetObjectItem(rp, "maxCount");
    if (!pinned && cJSON_IsNumber(mc) && mc->valueint > 0) {
        peers *p = calloc(1, sizeof(*p));
        if (!p)
            abort();
        p->ns = s->ns;
        p->vm = str_at(spec_of(s->snap, "vmRef"), "name");
        char needle[300];
        snprintf(needle, sizeof(needle), "\"name\":\"%s\"", p->vm ? p->vm : "");
        vrt_informer_each(s->c->inf[INF_SNAPSHOT], needle, collect_peer, p);
        /* Newer (or same time, later name) peers, pinned ones included:
         * pinned snapshots count but are never the ones deleted. */
        int newer = 0;
        for (int i = 0; i < p->n; i++)
            if (strcmp(p->names[i], s->name) != 0 &&
                (p->times[i] > created ||
                 (p->times[i] == created && strcmp(p->names[i], s->name) > 0)))
                newer++;
        free(p);
        if (newer >= mc->valueint) {
            snprintf(why, size, "More than retentionPolicy.maxCount (%d) "
                     "snapshots of the VM; this is one of the oldest.",
                     mc->valueint);
            return 1;
        }
    }
    return 0;
}

/* A new snapshot may push older ones of the same VM past maxCount: let
 * them look again once this one's status is in the cache. */
static void wake_one(void *opaque, const cJSON *o)
{
    snap_ctx *s = opaque;
    const char *vm = str_at(spec_of(o, "vmRef"), "name");
    const char *me = str_at(spec_of(s->snap, "vmRef"), "name");
    const char *ns = vrt_meta_str(o, "namespace");
    if (vm && me && strcmp(vm, me) == 0 && ns && strcmp(ns, s->ns) == 0 &&
        strcmp(vrt_meta_str(o, "name"), s->name) != 0) {
        char key[600];
        snprintf(key, sizeof(key), "snapshot/%s/%s", ns, vrt_meta_str(o, "name"));
        vrt_queue_add_after(s->c->queue, key, 500);
    }
}

static void wake_peers(snap_ctx *s)
{
    char needle[300];
    snprintf(needle, sizeof(needle), "\"name\":\"%s\"",
             str_at(spec_of(s->snap, "vmRef"), "name"));
    vrt_informer_each(s->c->inf[INF_SNAPSHOT], needle, wake_one, s);
}

static long reconcile_one(snap_ctx *s)
{
    cJSON *vm = NULL;
    vrt_error err = VRT_ERROR_INIT;
    long rc;
    const char *sid = str_at(s->status, "snapshotID");
    int rcv = vm_and_lease(&vm, s, &err);
    if (rcv == VRT_E_NOTFOUND && !vm) {
        const cJSON *del = cJSON_GetObjectItem(spec_of(s->snap, "retentionPolicy"),
                                               "deleteOnVMDelete");
        if (sid && *sid && !cJSON_IsFalse(del)) {
            vrt_log_info("VM gone; deleting vmsnapshot=\"%s/%s\"", s->ns, s->name);
            rc = delete_object(s->c, s->ns, s->name) ? -1 : 0;
            goto done;
        }
        char msg[300];
        snprintf(msg, sizeof(msg), "VirtualMachine \"%s\" not found.",
                 str_at(spec_of(s->snap, "vmRef"), "name"));
        rc = phase(s, sid && *sid ? "Ready" : "Pending",
                   sid && *sid ? "VMGone" : "WaitingForDependencies", msg, WAIT_MS);
        goto done;
    }
    if (rcv == VRT_E_RATELIMIT) {
        rc = err.retry_after_ms;
        goto done;
    }
    if (rcv != VRT_OK) {
        rc = phase(s, "Pending", "ProviderUnavailable", err.message, WAIT_MS);
        goto done;
    }
    const char *vmid = str_at(cJSON_GetObjectItem(vm, "status"), "id");
    if (!vmid || !*vmid) {
        rc = phase(s, "Pending", "WaitingForDependencies",
                   "The VirtualMachine has no provider id yet.", WAIT_MS);
        goto done;
    }
    const cJSON *cfg = spec_of(s->snap, "snapshotConfig");
    int memory = cJSON_IsTrue(cJSON_GetObjectItem(cfg, "includeMemory"));
    if (!sid || !*sid) {
        vrt_caps caps;
        if (vrt_p_capabilities(&caps, vrt_lease_conn(s->lease), &s->cc, &err) != VRT_OK) {
            rc = phase(s, "Pending", "ProviderError", err.message, -1);
            goto done;
        }
        if (!(caps.caps & VRT_CAP_SNAPSHOTS) ||
            (memory && !(caps.caps & VRT_CAP_MEMORY_SNAPSHOTS))) {
            rc = phase(s, "Failed", "Unsupported",
                       memory ? "The VM's provider cannot take snapshots with "
                                "memory (spec.snapshotConfig.includeMemory)."
                              : "The VM's provider cannot take snapshots.",
                       0);
            goto done;
        }
        const char *hint = str_at(cfg, "name");
        vrt_snapshot_spec ss = {
            .struct_size = sizeof(ss),
            .include_memory = memory,
            .quiesce = !cJSON_IsFalse(cJSON_GetObjectItem(cfg, "quiesce")),
            .name = hint ? hint : s->name,
            .description = str_at(cfg, "description"),
        };
        char id[VRT_ID_MAX];
        vrt_task_ref task;
        if (vrt_p_snapshot_create(id, &task, vrt_lease_conn(s->lease), &s->cc,
                                  vmid, &ss, &err) != VRT_OK) {
            rc = phase(s, vrt_error_is_retryable(&err) ? "Pending" : "Failed",
                       "ProviderError", err.message,
                       vrt_error_is_retryable(&err) ? -1 : 0);
            goto done;
        }
        char now[32];
        vrt_rfc3339_now(now);
        vrt_json_set_str(s->status, "snapshotID", id);
        vrt_json_set_str(s->status, "creationTime", now);
        vrt_json_set_str(s->status, "taskRef", task.id[0] ? task.id : NULL);
        vrt_log_info("Took snapshot vmsnapshot=\"%s/%s\" vm=\"%s\" id=\"%s\"",
                     s->ns, s->name, str_at(spec_of(s->snap, "vmRef"), "name"), id);
        vrt_event(s->c->events, s->snap, KIND, "Normal", "Created", "Snapshot",
                  "Took snapshot %s of VM %s.", id,
                  str_at(spec_of(s->snap, "vmRef"), "name"));
        wake_peers(s);
        if (task.id[0]) {
            rc = phase(s, "Creating", "TaskInProgress", "Waiting for the provider's task.", 1000);
            goto done;
        }
        vrt_json_set_str(s->status, "completionTime", now);
    } else if (str_at(s->status, "taskRef")) {
        vrt_task_status ts;
        if (vrt_p_task_status(&ts, vrt_lease_conn(s->lease), &s->cc,
                              str_at(s->status, "taskRef"), &err) == VRT_OK && !ts.done) {
            rc = phase(s, "Creating", "TaskInProgress", "Waiting for the provider's task.", 1000);
            goto done;
        }
        vrt_json_set_str(s->status, "taskRef", NULL);
        if (ts.done && ts.error.code != VRT_OK) {
            rc = phase(s, "Failed", "ProviderError", ts.error.message, 0);
            goto done;
        }
        char now[32];
        vrt_rfc3339_now(now);
        vrt_json_set_str(s->status, "completionTime", now);
    }
    long next = RESYNC_MS;
    char why[300];
    if (retention_due(s, &next, why, sizeof(why))) {
        vrt_log_info("Retention deletes vmsnapshot=\"%s/%s\": %s", s->ns, s->name, why);
        vrt_event(s->c->events, s->snap, KIND, "Normal", "Expired", "Retention", "%s", why);
        phase(s, "Expired", "RetentionPolicy", why, 0);
        rc = delete_object(s->c, s->ns, s->name) ? -1 : 0;
        goto done;
    }
    rc = phase(s, "Ready", "SnapshotReady", "The snapshot exists on the provider.", next);
done:
    cJSON_Delete(vm);
    return rc;
}

/* --- schedules ------------------------------------------------------------ */

typedef struct children {
    const char *ns, *parent;
    int running;
    struct {
        char name[256];
        time_t t;
        int ok;
    } done[128];
    int ndone;
} children;

static void collect_child(void *opaque, const cJSON *o)
{
    children *ch = opaque;
    const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(o, "metadata"), "labels"), L_SCHEDULE));
    const char *ns = vrt_meta_str(o, "namespace");
    if (!p || strcmp(p, ch->parent) || !ns || strcmp(ns, ch->ns) ||
        vrt_meta_str(o, "deletionTimestamp"))
        return;
    const char *ph = str_at(cJSON_GetObjectItem(o, "status"), "phase");
    int ok = ph && strcmp(ph, "Ready") == 0, bad = ph && strcmp(ph, "Failed") == 0;
    if (!ok && !bad) {
        ch->running++;
        return;
    }
    if (ch->ndone < 128) {
        snprintf(ch->done[ch->ndone].name, 256, "%s", vrt_meta_str(o, "name"));
        ch->done[ch->ndone].t = parse_time(vrt_meta_str(o, "creationTimestamp"));
        ch->done[ch->ndone].ok = ok;
        ch->ndone++;
    }
}

/* Deletes the oldest finished children beyond the history limits. */
static void prune_history(snap_ctx *s, children *ch, const cJSON *sched)
{
    const cJSON *lok = cJSON_GetObjectItem(sched, "successfulJobsHistoryLimit");
    const cJSON *lbad = cJSON_GetObjectItem(sched, "failedJobsHistoryLimit");
    int keep[2] = {cJSON_IsNumber(lbad) ? lbad->valueint : 1,
                   cJSON_IsNumber(lok) ? lok->valueint : 3};
    for (int kind = 0; kind < 2; kind++) {
        for (;;) {
            int n = 0, oldest = -1;
            for (int i = 0; i < ch->ndone; i++) {
                if (ch->done[i].ok != kind || !ch->done[i].name[0])
                    continue;
                n++;
                if (oldest < 0 || ch->done[i].t < ch->done[oldest].t ||
                    (ch->done[i].t == ch->done[oldest].t &&
                     strcmp(ch->done[i].name, ch->done[oldest].name) < 0))
                    oldest = i;
            }
            if (n <= keep[kind] || oldest < 0)
                break;
            vrt_log_info("Schedule history limit deletes vmsnapshot=\"%s/%s\"",
                         s->ns, ch->done[oldest].name);
            delete_object(s->c, s->ns, ch->done[oldest].name);
            ch->done[oldest].name[0] = '\0';
        }
    }
}

static int create_child(snap_ctx *s, time_t when)
{
    char name[300], ts[24];
    snprintf(name, sizeof(name), "%s-%lld", s->name, (long long)when);
    snprintf(ts, sizeof(ts), "%lld", (long long)when);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "apiVersion", "infra.virtrigaud.io/v1beta1");
    cJSON_AddStringToObject(o, "kind", KIND);
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", s->ns);
    cJSON *labels = cJSON_AddObjectToObject(md, "labels");
    cJSON_AddStringToObject(labels, L_SCHEDULE, s->name);
    cJSON *own = cJSON_CreateObject();
    cJSON_AddStringToObject(own, "apiVersion", "infra.virtrigaud.io/v1beta1");
    cJSON_AddStringToObject(own, "kind", KIND);
    cJSON_AddStringToObject(own, "name", s->name);
    cJSON_AddStringToObject(own, "uid", vrt_meta_str(s->snap, "uid"));
    cJSON_AddBoolToObject(own, "controller", 1);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(md, "ownerReferences"), own);
    cJSON *spec = cJSON_Duplicate(cJSON_GetObjectItem(s->snap, "spec"), 1);
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "schedule");
    cJSON_AddItemToObject(o, "spec", spec);
    char path[400];
    snprintf(path, sizeof(path), GROUP_PATH "/namespaces/%s/vmsnapshots", s->ns);
    cJSON *resp = NULL;
    long code = 0;
    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_kube_request(&resp, &code, s->c->kube, "POST", path, NULL, o, &err);
    cJSON_Delete(o);
    cJSON_Delete(resp);
    if (rc != VRT_OK || (code >= 300 && code != 409)) {
        vrt_log_warn("Creating scheduled vmsnapshot \"%s/%s\" failed (HTTP %ld): %s",
                     s->ns, name, code, err.message);
        return -1;
    }
    vrt_event(s->c->events, s->snap, KIND, "Normal", "Scheduled", "Schedule",
              "Created VMSnapshot %s.", name);
    return 0;
}

static long reconcile_schedule(snap_ctx *s, const cJSON *sched)
{
    const char *spec = str_at(sched, "cronSpec");
    const char *tz = str_at(sched, "timezone");
    vrt_cron cron;
    char err[200];
    if (vrt_cron_parse(&cron, spec, err, sizeof(err))) {
        char msg[300];
        snprintf(msg, sizeof(msg), "spec.schedule.cronSpec: %s", err);
        return phase(s, "Failed", "InvalidSchedule", msg, 0);
    }
    if (tz && *tz && strcmp(tz, "UTC") && strcmp(tz, "Etc/UTC")) {
        char msg[300];
        snprintf(msg, sizeof(msg), "spec.schedule.timezone \"%s\" is not "
                 "supported yet; schedules run in UTC.", tz);
        return phase(s, "Failed", "InvalidSchedule", msg, 0);
    }
    children ch = {.ns = s->ns, .parent = s->name};
    char needle[300];
    snprintf(needle, sizeof(needle), "\"" L_SCHEDULE "\":\"%s\"", s->name);
    vrt_informer_each(s->c->inf[INF_SNAPSHOT], needle, collect_child, &ch);
    prune_history(s, &ch, sched);
    if (cJSON_IsTrue(cJSON_GetObjectItem(sched, "suspend")))
        return phase(s, "Ready", "Suspended", "The schedule is suspended.", RESYNC_MS);

    time_t now = time(NULL);
    time_t last = parse_time(str_at(s->status, "lastScheduleTime"));
    if (!last)
        last = parse_time(vrt_meta_str(s->snap, "creationTimestamp"));
    time_t due = vrt_cron_next(&cron, last ? last : now);
    if (due != (time_t)-1 && due <= now) {
        const char *policy = str_at(sched, "concurrencyPolicy");
        int forbid = !policy || strcmp(policy, "Forbid") == 0;
        if (ch.running && forbid) {
            vrt_log_info("Schedule skips a run vmsnapshot=\"%s/%s\": %d still "
                         "running (concurrencyPolicy Forbid)", s->ns, s->name,
                         ch.running);
        } else if (create_child(s, now)) {
            return -1;
        }
        char t[32];
        fmt_time(t, now);
        vrt_json_set_str(s->status, "lastScheduleTime", t);
        last = now;
        due = vrt_cron_next(&cron, now);
    }
    char t[32];
    if (due != (time_t)-1) {
        fmt_time(t, due);
        vrt_json_set_str(s->status, "nextScheduleTime", t);
    }
    long wait = due == (time_t)-1 ? RESYNC_MS
                : due - now > RESYNC_MS / 1000 ? RESYNC_MS
                : (long)(due - now) * 1000 + 200;
    char msg[200];
    snprintf(msg, sizeof(msg), "The schedule is active; next run %s.",
             due == (time_t)-1 ? "never" : t);
    return phase(s, "Ready", "Scheduled", msg, wait > 0 ? wait : 200);
}

long vrt_reconcile_snapshot(vrt_controller *c, const char *ns, const char *name)
{
    snap_ctx s = {.c = c, .ns = ns, .name = name};
    s.snap = vrt_informer_get(c->inf[INF_SNAPSHOT], ns, name);
    if (!s.snap)
        return 0;
    vrt_object_path(s.path, sizeof(s.path), "vmsnapshots", ns, name);
    /* Never act on a copy older than our own last write: a snapshot
     * taken but not yet in the cache would be taken twice. */
    if (vrt_own_is_stale(c, s.path, s.snap)) {
        cJSON_Delete(s.snap);
        return 100;
    }
    vrt_callctx_init(&s.cc, c->opts.call_timeout_ms);
    s.gen = vrt_meta_num(s.snap, "generation");
    const cJSON *st = cJSON_GetObjectItem(s.snap, "status");
    s.old = st ? cJSON_Duplicate(st, 1) : NULL;
    s.status = st ? cJSON_Duplicate(st, 1) : cJSON_CreateObject();
    const cJSON *sched = spec_of(s.snap, "schedule");
    long rc;
    if (vrt_meta_str(s.snap, "deletionTimestamp"))
        rc = reconcile_delete(&s);
    else if (cJSON_IsTrue(cJSON_GetObjectItem(sched, "enabled")))
        rc = reconcile_schedule(&s, sched);
    else if (!has_finalizer(s.snap) && set_finalizer(&s, 1))
        rc = -1;
    else
        rc = reconcile_one(&s);
    vrt_pool_release(c->pool, s.lease);
    cJSON_Delete(s.snap);
    cJSON_Delete(s.status);
    cJSON_Delete(s.old);
    return rc;
}
