/*
 * The VMMigration reconciler: moves a VM's boot disk from one provider
 * to another through a local staging directory and the disk pipeline.
 *
 *   Validating   source VM, both providers, export/import capabilities,
 *                the formats each side speaks
 *   Snapshotting a snapshot to export from (spec.source.createSnapshot,
 *                or the VMSnapshot in snapshotRef)
 *   Exporting    the source's stream into the staging backend
 *                (vrt/staging.h: the --staging-dir directory for pvc and
 *                nfs, an S3 bucket, an SFTP server); resumes at the byte
 *                the backend kept (file size, S3 parts uploaded)
 *   Transferring (s3, sftp) the staged disk copied back into the
 *                manager's --staging-dir for the pipeline, resuming at
 *                the size of the local copy
 *   Converting   the disk pipeline: into the target's format, with the
 *                content SHA-256 (format-independent) and the SHA-256 of
 *                the bytes to move
 *   Importing    the converted disk streamed to the target; then, with
 *                options.verifyChecksums, exported back and its content
 *                hashed: it must equal the source's
 *   Creating     the target VirtualMachine, booting the imported disk
 *                (spec.importedDisk)
 *   Validating-Target  until the target VM is Ready
 *   Ready        staging and the migration's own snapshot cleaned up per
 *                cleanupPolicy; the source deleted if deleteAfterMigration
 *
 * Every step records its result in status before the next starts, so a
 * manager restarted at any point goes on from the last completed step.
 * A failed step is retried (retryPolicy: maxRetries, retryDelay,
 * backoffMultiplier) before the migration is Failed; refused endpoints
 * and credentials fail at once.  S3 and SFTP credentials come from the
 * Secret named in the spec, are handed to the backend only, and appear in
 * no log, event, status or error.  The copy runs in the reconcile worker.
 */
#include "controller_internal.h"

#include <vrt/clock.h>
#include <vrt/json.h>
#include <vrt/log.h>
#include <vrt/pipeline.h>
#include <vrt/staging.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

VRT_LOG_SOURCE("controller.migration");

#define KIND "VMMigration"
#define CHUNK (1u << 20)
#define REPORT_EVERY_MS 1000

typedef struct mig {
    vrt_controller *c;
    const char *ns, *name;
    char path[600];
    cJSON *obj, *status, *old;
    double gen;
    vrt_lease *src, *dst;
    vrt_call_ctx cc;
    vrt_stage *stage; /* the spec's backend (== local for pvc and nfs) */
    vrt_stage *local; /* --staging-dir/NS-NAME: scratch for the pipeline */
    const char *stype;
    int remote;       /* s3, sftp: stage is opened only when needed */
    char dir[2048];
    const char *phase;
    uint64_t t0_ms, last_ms;
    char why[600];
} mig;

static const cJSON *spec_at(const mig *m, const char *a, const char *b)
{
    const cJSON *o = cJSON_GetObjectItem(cJSON_GetObjectItem(m->obj, "spec"), a);
    return b ? cJSON_GetObjectItem(o, b) : o;
}

static const char *sget(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

static cJSON *sub(cJSON *status, const char *key)
{
    cJSON *o = cJSON_GetObjectItem(status, key);
    if (!cJSON_IsObject(o)) {
        cJSON_DeleteItemFromObjectCaseSensitive(status, key);
        o = cJSON_AddObjectToObject(status, key);
    }
    return o;
}

static void set_num(cJSON *o, const char *k, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, k);
    cJSON_AddNumberToObject(o, k, v);
}

static int flush(mig *m)
{
    set_num(m->status, "observedGeneration", m->gen);
    if (m->old && cJSON_Compare(m->old, m->status, 1))
        return 0;
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_status_patch(m->c, m->path, m->old, m->status, &err) != VRT_OK) {
        vrt_log_warn("Status write failed vmmigration=\"%s/%s\": %s", m->ns,
                     m->name, err.message);
        return -1;
    }
    cJSON_Delete(m->old);
    m->old = cJSON_Duplicate(m->status, 1);
    return 0;
}

static int enter(mig *m, const char *phase, const char *msg)
{
    m->phase = phase;
    char was[32]; /* a copy: setting the phase frees the old string */
    snprintf(was, sizeof(was), "%s", sget(m->status, "phase") ? sget(m->status, "phase") : "");
    char now[32];
    vrt_rfc3339_now(now);
    vrt_json_set_str(m->status, "phase", phase);
    vrt_json_set_str(m->status, "message", msg);
    cJSON *p = sub(m->status, "progress");
    vrt_json_set_str(p, "currentPhase", phase);
    if (strcmp(was, phase) != 0) {
        vrt_json_set_str(p, "phaseStartTime", now);
        vrt_event(m->c->events, m->obj, KIND, "Normal", phase, "Migrate", "%s", msg);
    }
    int ready = strcmp(phase, "Ready") == 0;
    char reason[32]; /* condition reasons allow no '-' */
    size_t n = 0;
    for (const char *p2 = phase; *p2 && n + 1 < sizeof(reason); p2++)
        if (*p2 != '-')
            reason[n++] = *p2;
    reason[n] = '\0';
    vrt_cond_set(m->status, "Ready", ready ? "True" : "False", reason, msg, m->gen);
    m->t0_ms = vrt_now_ms();
    return flush(m);
}

/* Progress of the current copy, written at most once a second. */
static int report(void *opaque, uint64_t done, uint64_t total)
{
    mig *m = opaque;
    uint64_t now = vrt_now_ms();
    if (done < total && now - m->last_ms < REPORT_EVERY_MS)
        return 0;
    m->last_ms = now;
    cJSON *p = sub(m->status, "progress");
    set_num(p, "totalBytes", (double)total);
    set_num(p, "transferredBytes", (double)done);
    set_num(p, "percentage", total ? (double)(done * 100 / total) : 0);
    double secs = (double)(now - m->t0_ms) / 1000.0;
    double rate = secs > 0 ? (double)done / secs : 0;
    set_num(p, "transferRate", (double)(uint64_t)rate);
    char eta[32];
    snprintf(eta, sizeof(eta), "%llus",
             rate > 0 ? (unsigned long long)((double)(total - done) / rate) : 0ULL);
    vrt_json_set_str(p, "eta", eta);
    flush(m);
    return m->c->stopping; /* cancel on shutdown */
}

static int fail_step(mig *m, const char *what, const char *msg)
{
    snprintf(m->why, sizeof(m->why), "%s: %s", what, msg);
    return -1;
}

static cJSON *lease_provider(vrt_lease **out, mig *m, const cJSON *ref,
                             vrt_error *err)
{
    const char *pns = sget(ref, "namespace");
    cJSON *prov = vrt_informer_get(m->c->inf[INF_PROVIDER], pns && *pns ? pns : m->ns,
                                   sget(ref, "name") ? sget(ref, "name") : "");
    if (!prov) {
        vrt_error_set(err, VRT_E_NOTFOUND, "Provider \"%s\" not found.",
                      sget(ref, "name") ? sget(ref, "name") : "");
        return NULL;
    }
    if (vrt_pool_acquire(out, m->c->pool, m->c, prov, err) != VRT_OK) {
        cJSON_Delete(prov);
        return NULL;
    }
    return prov;
}

static int32_t pick_format(uint32_t offered, const char *want)
{
    int32_t w = want ? vrt_img_format_parse(want) : 0;
    if (w > 0 && w <= VRT_IMG_VMDK && (offered & (uint32_t)w))
        return w;
    if (offered & VRT_DISK_QCOW2)
        return VRT_IMG_QCOW2;
    if (offered & VRT_DISK_RAW)
        return VRT_IMG_RAW;
    if (offered & VRT_DISK_VMDK)
        return VRT_IMG_VMDK;
    return 0;
}

static const char *ext_of(int32_t f)
{
    return f == VRT_IMG_QCOW2 ? "qcow2" : f == VRT_IMG_RAW ? "raw" : "vmdk";
}

/* Export (of a VM, or of an imported disk when vm_id is NULL) into the
 * staging object `name`; with `resume`, after what the backend kept. */
static int export_to(mig *m, vrt_lease *l, const char *vm_id, const char *disk_id,
                     const char *snap_id, int32_t format, vrt_stage *st,
                     const char *name, int resume)
{
    vrt_error err = VRT_ERROR_INIT;
    vrt_stage_writer *w = NULL;
    uint64_t have = 0;
    if (vrt_stage_writer_open(&w, &have, st, name, resume ? VRT_STAGE_RESUME : 0,
                              &err) != VRT_OK)
        return fail_step(m, "Staging", err.message);
    vrt_export_spec es = {.struct_size = sizeof(es), .format = (uint32_t)format,
                          .offset = have, .vm_id = vm_id, .disk_id = disk_id,
                          .snapshot_id = snap_id};
    vrt_pstream *s = NULL;
    uint64_t size = 0;
    if (vrt_p_disk_export_open(&s, &size, vrt_lease_conn(l), &m->cc, &es, &err) != VRT_OK) {
        if (have && err.code == VRT_E_INVALID) { /* offset not honoured: start over */
            vrt_stage_writer_abandon(w);
            w = NULL;
            es.offset = have = 0;
            if (vrt_stage_writer_open(&w, &have, st, name, 0, &err) != VRT_OK)
                return fail_step(m, "Staging", err.message);
            if (vrt_p_disk_export_open(&s, &size, vrt_lease_conn(l), &m->cc, &es,
                                       &err) == VRT_OK)
                goto opened;
        }
        vrt_stage_writer_abandon(w);
        return fail_step(m, "Export", err.message);
    }
opened:;
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        abort();
    uint64_t done = have, total = size ? size + have : 0;
    if (have)
        vrt_log_info("Resuming the export vmmigration=\"%s/%s\" at byte %llu",
                     m->ns, m->name, (unsigned long long)have);
    int rc = 0;
    for (;;) {
        size_t n = 0;
        int r = vrt_p_stream_read(&n, s, buf, CHUNK, &err);
        if (r == VRT_E_AGAIN) {
            usleep(10000);
            continue;
        }
        if (r != VRT_OK) {
            rc = fail_step(m, "Export", err.message);
            break;
        }
        if (n == 0)
            break;
        if (vrt_stage_writer_write(w, buf, n, &err) != VRT_OK) {
            rc = fail_step(m, "Staging", err.message);
            break;
        }
        done += n;
        if (report(m, done, total > done ? total : done)) {
            rc = fail_step(m, "Export", "canceled (the manager is stopping)");
            break;
        }
    }
    free(buf);
    vrt_p_stream_close(s);
    if (!rc && total && done != total) {
        char why[160];
        snprintf(why, sizeof(why), "the disk stream ended at byte %llu of %llu",
                 (unsigned long long)done, (unsigned long long)total);
        rc = fail_step(m, "Export", why);
    }
    if (rc) {
        vrt_stage_writer_abandon(w);
        return rc;
    }
    if (vrt_stage_writer_finish(w, &err) != VRT_OK)
        return fail_step(m, "Staging", err.message);
    return 0;
}

/* Copies staging object `name` from a remote backend into the local
 * scratch directory, resuming at the size of the local copy. */
static int fetch_local(mig *m, const char *name)
{
    vrt_error err = VRT_ERROR_INIT;
    uint64_t remote = 0, have = 0;
    if (vrt_stage_stat(&remote, m->stage, name, &err) != VRT_OK)
        return fail_step(m, "Transferring", err.message);
    if (vrt_stage_stat(&have, m->local, name, &err) != VRT_OK)
        have = 0;
    if (have == remote)
        return 0;
    enter(m, "Transferring", "Copying the staged disk to the manager for conversion.");
    vrt_stage_writer *w = NULL;
    vrt_stage_reader *r = NULL;
    if (vrt_stage_writer_open(&w, &have, m->local, name,
                              have < remote ? VRT_STAGE_RESUME : 0, &err) != VRT_OK)
        return fail_step(m, "Transferring", err.message);
    if (vrt_stage_reader_open(&r, &remote, m->stage, name, have, &err) != VRT_OK) {
        vrt_stage_writer_abandon(w);
        return fail_step(m, "Transferring", err.message);
    }
    if (have)
        vrt_log_info("Resuming the transfer vmmigration=\"%s/%s\" at byte %llu",
                     m->ns, m->name, (unsigned long long)have);
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        abort();
    uint64_t done = have;
    int rc = 0;
    for (;;) {
        size_t n = 0;
        if (vrt_stage_reader_read(&n, r, buf, CHUNK, &err) != VRT_OK) {
            rc = fail_step(m, "Transferring", err.message);
            break;
        }
        if (n == 0)
            break;
        if (vrt_stage_writer_write(w, buf, n, &err) != VRT_OK) {
            rc = fail_step(m, "Transferring", err.message);
            break;
        }
        done += n;
        if (report(m, done, remote)) {
            rc = fail_step(m, "Transferring", "canceled (the manager is stopping)");
            break;
        }
    }
    free(buf);
    vrt_stage_reader_close(r);
    if (rc) {
        vrt_stage_writer_abandon(w);
        return rc;
    }
    if (vrt_stage_writer_finish(w, &err) != VRT_OK)
        return fail_step(m, "Transferring", err.message);
    if (done != remote)
        return fail_step(m, "Transferring", "the staged disk changed size while it was "
                         "copied");
    return 0;
}

static int import_from(char disk_id[VRT_ID_MAX], mig *m, const char *path,
                       int32_t format, uint64_t vsize, const char *target_name)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return fail_step(m, "Import", strerror(errno));
    vrt_import_spec is = {.struct_size = sizeof(is), .format = (uint32_t)format,
                          .size_bytes = (uint64_t)st.st_size, .virtual_size = vsize,
                          .target_name = target_name};
    vrt_pstream *s = NULL;
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_p_disk_import_open(&s, vrt_lease_conn(m->dst), &m->cc, &is, &err) != VRT_OK)
        return fail_step(m, "Import", err.message);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vrt_p_stream_abort(s);
        return fail_step(m, "Import", strerror(errno));
    }
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        abort();
    uint64_t done = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = fail_step(m, "Import", strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (vrt_p_stream_write(s, buf, (size_t)n, &err) != VRT_OK) {
            rc = fail_step(m, "Import", err.message);
            break;
        }
        done += (uint64_t)n;
        if (report(m, done, (uint64_t)st.st_size)) {
            rc = fail_step(m, "Import", "canceled (the manager is stopping)");
            break;
        }
    }
    free(buf);
    close(fd);
    if (rc) {
        vrt_p_stream_abort(s);
        return rc;
    }
    if (vrt_p_stream_finish(disk_id, s, &err) != VRT_OK)
        return fail_step(m, "Import", err.message);
    return 0;
}

static void stage_path(char *buf, size_t size, const mig *m, const char *file)
{
    snprintf(buf, size, "%s/%s", m->dir, file);
}

static int open_stage(mig *m, int connect);

static void cleanup_staging(mig *m)
{
    static const char *const files[] = {"export.raw", "export.qcow2", "export.vmdk",
                                        "import.raw", "import.qcow2", "import.vmdk",
                                        "verify.raw", "verify.qcow2", "verify.vmdk"};
    char p[2200];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        stage_path(p, sizeof(p), m, files[i]);
        unlink(p);
    }
    rmdir(m->dir);
    int gone = 1;
    if (m->remote && !m->stage) {
        char why[sizeof(m->why)]; /* keep the reason a migration failed */
        memcpy(why, m->why, sizeof(why));
        if (open_stage(m, 1) != 0) {
            vrt_log_warn("The staged disk cannot be removed vmmigration=\"%s/%s\": %s",
                         m->ns, m->name, m->why);
            gone = 0;
        }
        memcpy(m->why, why, sizeof(why));
    }
    if (m->remote && m->stage) {
        for (size_t i = 0; i < 3; i++) { /* export.* only go to the backend */
            vrt_error err = VRT_ERROR_INIT;
            if (vrt_stage_remove(m->stage, files[i], &err) != VRT_OK) {
                vrt_log_warn("Removing the staged disk failed vmmigration=\"%s/%s\": %s",
                             m->ns, m->name, err.message);
                gone = 0;
            }
        }
    }
    cJSON *si = sub(m->status, "storageInfo");
    cJSON_DeleteItemFromObjectCaseSensitive(si, "cleanedUp");
    cJSON_AddBoolToObject(si, "cleanedUp", gone);
}

/* Secret value `key` or NULL. */
static const char *secret_of(char *const *pairs, const char *key)
{
    const char *v = vrt_secret_value(pairs, key);
    return v && *v ? v : NULL;
}

/* Opens the local scratch directory (m->local) and checks the spec's
 * staging backend; with `connect`, also opens it into m->stage (S3 and
 * SFTP connect and authenticate).  Returns 0, -1 (retry) or -2 (refused:
 * endpoint, credentials, spec). */
static int open_stage(mig *m, int connect)
{
    vrt_error err = VRT_ERROR_INIT;
    const char *stype = m->stype;
    if (!m->local && vrt_stage_open_dir(&m->local, m->dir, &err) != VRT_OK)
        return fail_step(m, "Staging", err.message);
    if (!stype || strcmp(stype, "pvc") == 0 || strcmp(stype, "nfs") == 0) {
        m->stage = m->local;
        return 0;
    }
    int s3 = strcmp(stype, "s3") == 0;
    if (!s3 && strcmp(stype, "sftp") != 0) {
        snprintf(m->why, sizeof(m->why), "spec.storage.type \"%s\" is not one of pvc, "
                 "nfs, s3, sftp.", stype);
        return -2;
    }
    const cJSON *cfg = spec_at(m, "storage", s3 ? "s3" : "sftp");
    if (!cJSON_IsObject(cfg)) {
        snprintf(m->why, sizeof(m->why), "spec.storage.%s is required when "
                 "spec.storage.type is %s.", stype, stype);
        return -2;
    }
    const cJSON *ref = cJSON_GetObjectItem(cfg, "credentialsSecretRef");
    if (!sget(ref, "name")) {
        snprintf(m->why, sizeof(m->why), "spec.storage.%s.credentialsSecretRef names no "
                 "Secret.", stype);
        return -2;
    }
    m->remote = 1;
    if (!connect || m->stage)
        return 0;
    char **sec = NULL, rv[32];
    if (vrt_secret_load(&sec, rv, m->c, m->ns, ref, &err) != VRT_OK) {
        snprintf(m->why, sizeof(m->why), "Staging: spec.storage.%s.credentialsSecretRef: "
                 "%s", stype, err.message);
        return err.code == VRT_E_NOTFOUND ? -2 : -1;
    }
    vrt_hostpolicy pol = {.allowed = m->c->opts.storage_allowed_hosts};
    char prefix[1200];
    int rc;
    if (s3) {
        const char *pf = sget(cfg, "prefix");
        snprintf(prefix, sizeof(prefix), "%s%svmmigrations/%s/%s", pf ? pf : "",
                 pf && *pf && pf[strlen(pf) - 1] != '/' ? "/" : "", m->ns, m->name);
        pol.field = "spec.storage.s3.endpoint";
        vrt_s3_config c3 = {.endpoint = sget(cfg, "endpoint"), .region = sget(cfg, "region"),
                            .bucket = sget(cfg, "bucket"), .prefix = prefix,
                            .access_key = secret_of(sec, "accessKeyID"),
                            .secret_key = secret_of(sec, "secretAccessKey"),
                            .session_token = secret_of(sec, "sessionToken"),
                            .path_style = cJSON_IsTrue(cJSON_GetObjectItem(cfg, "usePathStyle")),
                            .policy = pol};
        rc = vrt_stage_open_s3(&m->stage, &c3, &err);
    } else {
        const char *base = sget(cfg, "path");
        snprintf(prefix, sizeof(prefix), "%s/%s_%s", base ? base : "", m->ns, m->name);
        pol.field = "spec.storage.sftp.host";
        const cJSON *port = cJSON_GetObjectItem(cfg, "port");
        vrt_sftp_config cs = {.host = sget(cfg, "host"),
                              .port = (uint16_t)(cJSON_IsNumber(port) ? port->valueint : 22),
                              .path = base ? prefix : NULL,
                              .username = secret_of(sec, "username"),
                              .password = secret_of(sec, "password"),
                              .private_key = secret_of(sec, "privateKey"),
                              .known_hosts = secret_of(sec, "knownHosts"),
                              .policy = pol};
        rc = vrt_stage_open_sftp(&m->stage, &cs, &err);
    }
    vrt_secrets_free(sec);
    if (rc != VRT_OK) {
        snprintf(m->why, sizeof(m->why), "Staging: %s", err.message);
        return rc == VRT_E_INVALID || rc == VRT_E_UNAUTHORIZED || rc == VRT_E_NOTFOUND
                   ? -2 : -1;
    }
    return 0;
}

static int create_target(mig *m, const cJSON *src_vm, const char *disk_id,
                         int32_t format)
{
    const cJSON *tgt = spec_at(m, "target", NULL);
    const char *tns = sget(tgt, "namespace");
    tns = tns && *tns ? tns : m->ns;
    cJSON *vm = cJSON_CreateObject();
    cJSON_AddStringToObject(vm, "apiVersion", "infra.virtrigaud.io/v1beta1");
    cJSON_AddStringToObject(vm, "kind", "VirtualMachine");
    cJSON *md = cJSON_AddObjectToObject(vm, "metadata");
    cJSON_AddStringToObject(md, "name", sget(tgt, "name"));
    cJSON_AddStringToObject(md, "namespace", tns);
    cJSON *labels = cJSON_Duplicate(cJSON_GetObjectItem(tgt, "labels"), 1);
    if (!cJSON_IsObject(labels)) {
        cJSON_Delete(labels);
        labels = cJSON_CreateObject();
    }
    vrt_json_set_str(labels, "virtrigaud.io/migration", m->name);
    cJSON_AddItemToObject(md, "labels", labels);
    if (cJSON_IsObject(cJSON_GetObjectItem(tgt, "annotations")))
        cJSON_AddItemToObject(md, "annotations",
                              cJSON_Duplicate(cJSON_GetObjectItem(tgt, "annotations"), 1));
    cJSON *vs = cJSON_AddObjectToObject(vm, "spec");
    cJSON_AddItemToObject(vs, "providerRef",
                          cJSON_Duplicate(cJSON_GetObjectItem(tgt, "providerRef"), 1));
    const cJSON *cls = cJSON_GetObjectItem(tgt, "classRef");
    if (!cls)
        cls = cJSON_GetObjectItem(cJSON_GetObjectItem(src_vm, "spec"), "classRef");
    if (cls)
        cJSON_AddItemToObject(vs, "classRef", cJSON_Duplicate(cls, 1));
    static const char *const keys[] = {"networks", "disks", "placementRef"};
    for (int i = 0; i < 3; i++)
        if (cJSON_GetObjectItem(tgt, keys[i]))
            cJSON_AddItemToObject(vs, keys[i], cJSON_Duplicate(cJSON_GetObjectItem(tgt, keys[i]), 1));
    cJSON *imp = cJSON_AddObjectToObject(vs, "importedDisk");
    cJSON_AddStringToObject(imp, "diskID", disk_id);
    cJSON_AddStringToObject(imp, "format", ext_of(format));
    cJSON_AddStringToObject(imp, "source", "migration");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(imp, "migrationRef"), "name", m->name);
    cJSON_AddStringToObject(vs, "powerState",
                            cJSON_IsTrue(cJSON_GetObjectItem(tgt, "powerOn")) ? "On" : "Off");
    char path[400];
    snprintf(path, sizeof(path), GROUP_PATH "/namespaces/%s/virtualmachines", tns);
    cJSON *resp = NULL;
    long code = 0;
    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_kube_request(&resp, &code, m->c->kube, "POST", path, NULL, vm, &err);
    cJSON_Delete(vm);
    cJSON_Delete(resp);
    if (rc != VRT_OK || (code >= 300 && code != 409))
        return fail_step(m, "Creating the target VirtualMachine", err.message[0] ? err.message : "refused");
    cJSON *ref = cJSON_CreateObject();
    cJSON_AddStringToObject(ref, "name", sget(tgt, "name"));
    cJSON_DeleteItemFromObjectCaseSensitive(m->status, "targetVMRef");
    cJSON_AddItemToObject(m->status, "targetVMRef", ref);
    return 0;
}

/* Checksums in status: a flat SHA-256 as the bare hex sha256sum prints;
 * the tree digest (--migration-digest sha256-tree) prefixed, so that the
 * two are never compared with each other. */
#define TREE_PREFIX "sha256-tree:"

static const char *digest_str(char *buf, size_t size, const vrt_pipe_result *r,
                              const char *hex)
{
    if (!hex[0] || strcmp(r->digest, "sha256-tree") != 0)
        return hex;
    snprintf(buf, size, TREE_PREFIX "%s", hex);
    return buf;
}

/* spec.source.powerOffBeforeMigration: the source VM's spec says Off
 * (so that its own controller shuts it down, gracefully where it can, and
 * does not start it again), and the migration waits for it to be Off.
 * The source stays off afterwards, whatever the outcome.  0 = waiting. */
static int power_off_source(mig *m, const cJSON *src_vm, const char *vm_name)
{
    const char *want = sget(cJSON_GetObjectItem(src_vm, "spec"), "powerState");
    if (!want || strcmp(want, "Off") != 0) {
        char p[600];
        cJSON *resp = NULL, *body = cJSON_CreateObject();
        long code = 0;
        vrt_error err = VRT_ERROR_INIT;
        cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "spec"), "powerState", "Off");
        vrt_object_path(p, sizeof(p), "virtualmachines", m->ns, vm_name);
        int rc = vrt_kube_request(&resp, &code, m->c->kube, "PATCH", p,
                                  "application/merge-patch+json", body, &err);
        cJSON_Delete(body);
        cJSON_Delete(resp);
        if (rc != VRT_OK || code >= 300)
            return fail_step(m, "Powering off the source",
                             err.message[0] ? err.message : "refused");
        vrt_event(m->c->events, m->obj, KIND, "Normal", "PoweringOffSource", "Migrate",
                  "Set spec.powerState Off on VirtualMachine %s "
                  "(spec.source.powerOffBeforeMigration).", vm_name);
    }
    vrt_json_set_str(m->status, "message", "Waiting for the source VirtualMachine to "
                     "power off (spec.source.powerOffBeforeMigration).");
    return 0;
}

/* Runs the steps from where status says; 0 = finished or waiting (then
 * *requeue says when), -1 = a step failed (m->why). */
static int run(mig *m, long *requeue)
{
    vrt_error err = VRT_ERROR_INIT;
    cJSON *src_vm = NULL, *sprov = NULL, *dprov = NULL;
    int rc = -1;
    const char *vm_name = sget(spec_at(m, "source", "vmRef"), "name");
    const cJSON *tgt = spec_at(m, "target", NULL);
    m->stype = sget(spec_at(m, "storage", NULL), "type");
    if (!m->c->opts.staging_dir) {
        snprintf(m->why, sizeof(m->why), "The manager has no staging directory "
                 "(--staging-dir).");
        return -2;
    }
    /* "_": names and namespaces cannot hold one, so no two migrations
     * share a directory (with "-", a/b-c and a-b/c would). */
    snprintf(m->dir, sizeof(m->dir), "%s/%s_%s", m->c->opts.staging_dir, m->ns, m->name);

    /* Validating (said once; a resumed migration re-checks quietly) */
    const char *cur = sget(m->status, "phase");
    if (!cur || strcmp(cur, "Pending") == 0)
        enter(m, "Validating", "Checking the source VM and both providers.");
    src_vm = vm_name ? vrt_informer_get(m->c->inf[INF_VM], m->ns, vm_name) : NULL;
    const char *src_id = sget(cJSON_GetObjectItem(src_vm, "status"), "id");
    if (src_vm && (!src_id || !*src_id)) {
        /* Being created (or made again after a restart): wait, it is not
         * a failure of the migration. */
        vrt_json_set_str(m->status, "message", "Waiting for the source "
                         "VirtualMachine to get a provider id.");
        *requeue = 2000;
        rc = 0;
        goto done;
    }
    if (!src_id || !*src_id) {
        fail_step(m, "Validating", "the source VirtualMachine does not exist");
        goto done;
    }
    const cJSON *sref = spec_at(m, "source", "providerRef");
    if (!sref)
        sref = cJSON_GetObjectItem(cJSON_GetObjectItem(src_vm, "spec"), "providerRef");
    if (!(sprov = lease_provider(&m->src, m, sref, &err)) ||
        !(dprov = lease_provider(&m->dst, m, cJSON_GetObjectItem(tgt, "providerRef"), &err))) {
        fail_step(m, "Validating", err.message);
        goto done;
    }
    vrt_caps sc = {.struct_size = sizeof(sc)}, dc = {.struct_size = sizeof(dc)};
    if (vrt_p_capabilities(&sc, vrt_lease_conn(m->src), &m->cc, &err) != VRT_OK ||
        vrt_p_capabilities(&dc, vrt_lease_conn(m->dst), &m->cc, &err) != VRT_OK) {
        fail_step(m, "Validating", err.message);
        goto done;
    }
    if (!(sc.caps & VRT_CAP_DISK_EXPORT) || !(dc.caps & VRT_CAP_DISK_IMPORT)) {
        snprintf(m->why, sizeof(m->why), "%s", !(sc.caps & VRT_CAP_DISK_EXPORT)
                 ? "The source provider cannot export disks."
                 : "The target provider cannot import disks.");
        rc = -2;
        goto done;
    }
    int32_t efmt = pick_format(sc.disk_formats, "raw");
    int32_t ifmt = pick_format(dc.disk_formats, sget(spec_at(m, "options", NULL), "diskFormat"));
    if (!efmt || !ifmt) {
        snprintf(m->why, sizeof(m->why), "No disk format both the pipeline and the "
                 "%s provider speak.", efmt ? "target" : "source");
        rc = -2;
        goto done;
    }
    cJSON *di = sub(m->status, "diskInfo");
    vrt_json_set_str(di, "sourceFormat", ext_of(efmt));
    vrt_json_set_str(di, "targetFormat", ext_of(ifmt));
    if (mkdir(m->c->opts.staging_dir, 0700) != 0 && errno != EEXIST) {
        fail_step(m, "Staging", strerror(errno));
        goto done;
    }
    /* the backend is reached only while the disk still moves through it
     * (and at cleanup), not while the target VM comes up */
    int moving = !sget(sub(m->status, "storageInfo"), "uploadedAt") ||
                 !sget(di, "sourceChecksum");
    if ((rc = open_stage(m, moving)) != 0)
        goto done;
    rc = -1;

    /* Snapshotting: a stopped source's disk does not change, so it needs
     * no snapshot (and libvirt cannot export as of an internal one). */
    const char *sps = sget(cJSON_GetObjectItem(src_vm, "status"), "powerState");
    int src_off = sps && strcmp(sps, "Off") == 0;
    if (!src_off && cJSON_IsTrue(spec_at(m, "source", "powerOffBeforeMigration")) &&
        !sget(sub(m->status, "storageInfo"), "uploadedAt")) {
        rc = power_off_source(m, src_vm, vm_name);
        if (rc == 0)
            *requeue = 2000;
        goto done;
    }
    const char *snap_id = sget(m->status, "snapshotID");
    const char *snap_ref = sget(spec_at(m, "source", "snapshotRef"), "name");
    if (!snap_id && snap_ref) {
        cJSON *vs = vrt_informer_get(m->c->inf[INF_SNAPSHOT], m->ns, snap_ref);
        const char *id = sget(cJSON_GetObjectItem(vs, "status"), "snapshotID");
        if (id)
            vrt_json_set_str(m->status, "snapshotID", id);
        vrt_json_set_str(m->status, "snapshotRef", snap_ref);
        cJSON_Delete(vs);
        if (!id) {
            fail_step(m, "Snapshotting", "the VMSnapshot in spec.source.snapshotRef "
                      "has no snapshot yet");
            goto done;
        }
    } else if (!snap_id && !cJSON_IsFalse(spec_at(m, "source", "createSnapshot")) &&
               (sc.caps & VRT_CAP_SNAPSHOTS) && !src_off &&
               !sget(sub(m->status, "storageInfo"), "uploadedAt")) {
        enter(m, "Snapshotting", "Taking a snapshot of the source to export from.");
        char name[300], id[VRT_ID_MAX];
        snprintf(name, sizeof(name), "migration-%s", m->name);
        vrt_snapshot_spec ss = {.struct_size = sizeof(ss), .name = name,
                                .description = "taken by a VMMigration"};
        vrt_task_ref task;
        if (vrt_p_snapshot_create(id, &task, vrt_lease_conn(m->src), &m->cc, src_id,
                                  &ss, &err) != VRT_OK) {
            fail_step(m, "Snapshotting", err.message);
            goto done;
        }
        vrt_json_set_str(m->status, "snapshotID", id);
        vrt_json_set_str(m->status, "snapshotRef", "");
        flush(m);
    }
    snap_id = sget(m->status, "snapshotID");
    if (snap_id && !*snap_id)
        snap_id = NULL;

    /* Exporting */
    char epath[2200], ipath[2200], vpath[2200];
    char ename[32], iname[32], vname[32];
    snprintf(ename, sizeof(ename), "export.%s", ext_of(efmt));
    snprintf(iname, sizeof(iname), "import.%s", ext_of(ifmt));
    snprintf(vname, sizeof(vname), "verify.%s", ext_of(ifmt));
    stage_path(epath, sizeof(epath), m, ename);
    stage_path(ipath, sizeof(ipath), m, iname);
    stage_path(vpath, sizeof(vpath), m, vname);
    cJSON *si = sub(m->status, "storageInfo");
    if (!sget(si, "uploadedAt")) {
        enter(m, "Exporting", "Exporting the source disk into staging.");
        /* storageInfo.url, recorded before the first byte, says that this
         * migration began the export: only then is what staging holds
         * ours to resume.  Without it (a new migration, maybe with the
         * name of a deleted one) staging starts empty. */
        int resume = sget(si, "url") != NULL;
        char url[2400];
        if (!resume) {
            vrt_stage_url(url, sizeof(url), m->stage, ename);
            vrt_json_set_str(si, "url", url);
            if (flush(m) != 0) {
                fail_step(m, "Exporting", "cannot record the staging URL in status");
                goto done;
            }
            /* A local copy left by a namesake would pass for ours. */
            if (m->remote && vrt_stage_remove(m->local, ename, &err) != VRT_OK)
                vrt_log_debug("No local copy to remove vmmigration=\"%s/%s\": %s",
                              m->ns, m->name, err.message);
        }
        if (export_to(m, m->src, src_id, NULL, snap_id, efmt, m->stage, ename, resume))
            goto done;
        char now[32];
        uint64_t staged = 0;
        vrt_rfc3339_now(now);
        vrt_stage_url(url, sizeof(url), m->stage, ename);
        vrt_json_set_str(si, "url", url);
        vrt_json_set_str(si, "uploadedAt", now);
        char sz[32];
        if (vrt_stage_stat(&staged, m->stage, ename, &err) != VRT_OK)
            staged = 0;
        snprintf(sz, sizeof(sz), "%llu", (unsigned long long)staged);
        vrt_json_set_str(si, "size", sz);
        flush(m);
    }

    /* Transferring (remote backends: into the local scratch directory) */
    if (!sget(di, "sourceChecksum") && m->remote && fetch_local(m, ename))
        goto done;

    /* Converting */
    if (!sget(di, "sourceChecksum")) {
        enter(m, "Converting", "Converting the disk for the target and hashing it.");
        vrt_pipe_opts po = VRT_PIPE_OPTS_INIT;
        po.in_format = efmt;
        po.out_format = ifmt;
        po.flags = VRT_PIPE_NO_BACKING |
                   (m->c->opts.migration_tree_digest ? VRT_PIPE_TREE_DIGEST : 0);
        po.progress = report;
        po.progress_opaque = m;
        vrt_pipe_result pr;
        if (vrt_pipe_convert(&pr, epath, ipath, &po, &err) != VRT_OK) {
            fail_step(m, "Converting", err.message);
            goto done;
        }
        char sum[96];
        vrt_json_set_str(di, "sourceChecksum", digest_str(sum, sizeof(sum), &pr,
                                                          pr.content_sha256));
        vrt_json_set_str(di, "checksum", digest_str(sum, sizeof(sum), &pr,
                                                    pr.output_sha256));
        char sz[32];
        snprintf(sz, sizeof(sz), "%llu", (unsigned long long)pr.virtual_size);
        vrt_json_set_str(di, "sourceSize", sz);
        flush(m);
    }

    /* Importing (and verifying) */
    if (!sget(m->status, "importID")) {
        enter(m, "Importing", "Streaming the disk to the target provider.");
        char disk[VRT_ID_MAX], tname[300];
        snprintf(tname, sizeof(tname), "%s-disk0", sget(tgt, "name"));
        unsigned long long vsize = strtoull(sget(di, "sourceSize") ? sget(di, "sourceSize") : "0",
                                            NULL, 10);
        if (import_from(disk, m, ipath, ifmt, vsize, tname))
            goto done;
        vrt_json_set_str(m->status, "importID", disk);
        vrt_json_set_str(di, "targetDiskID", disk);
        flush(m);
    }
    const char *import_id = sget(m->status, "importID");
    cJSON *vr = sub(m->status, "validationResults");
    if (!cJSON_IsFalse(spec_at(m, "options", "verifyChecksums")) && !sget(di, "targetChecksum")) {
        if (!(dc.caps & VRT_CAP_DISK_EXPORT)) {
            /* The target cannot give the disk back: say so, do not fail. */
            vrt_json_set_str(m->status, "message", "The target provider cannot export "
                             "disks, so the imported disk's checksum was not verified.");
        } else if (export_to(m, m->dst, NULL, import_id, NULL, ifmt, m->local, vname, 0) != 0) {
            goto done; /* a failed step: retried */
        } else {
            vrt_pipe_opts po = VRT_PIPE_OPTS_INIT;
            po.in_format = ifmt;
            /* What the target hands back names no file of ours to read. */
            po.flags = VRT_PIPE_NO_BACKING;
            /* The source's digest says how it was made (a restart may
             * have changed --migration-digest since). */
            const char *src_sum = sget(di, "sourceChecksum");
            if (src_sum && strncmp(src_sum, TREE_PREFIX, strlen(TREE_PREFIX)) == 0)
                po.flags |= VRT_PIPE_TREE_DIGEST;
            vrt_pipe_result pr;
            if (vrt_pipe_hash(&pr, vpath, &po, &err) != VRT_OK) {
                fail_step(m, "Verifying", err.message);
                goto done;
            }
            char sum[96];
            vrt_json_set_str(di, "targetChecksum", digest_str(sum, sizeof(sum), &pr,
                                                              pr.content_sha256));
            int same = strcmp(sget(di, "targetChecksum"), sget(di, "sourceChecksum")) == 0;
            cJSON_DeleteItemFromObjectCaseSensitive(vr, "checksumMatch");
            cJSON_AddBoolToObject(vr, "checksumMatch", same);
            flush(m);
            if (!same) {
                snprintf(m->why, sizeof(m->why), "The imported disk's content SHA-256 "
                         "%.16s... differs from the source's %.16s...", pr.content_sha256,
                         sget(di, "sourceChecksum"));
                rc = -2;
                goto done;
            }
        }
    }

    /* Creating */
    if (!cJSON_GetObjectItem(m->status, "targetVMRef")) {
        enter(m, "Creating", "Creating the target VirtualMachine on the imported disk.");
        if (create_target(m, src_vm, import_id, ifmt))
            goto done;
        flush(m);
    }

    /* Validating-Target */
    enter(m, "Validating-Target", "Waiting for the target VirtualMachine to be Ready.");
    const char *tns = sget(tgt, "namespace");
    cJSON *tvm = vrt_informer_get(m->c->inf[INF_VM], tns && *tns ? tns : m->ns,
                                  sget(tgt, "name"));
    const char *tid = sget(cJSON_GetObjectItem(tvm, "status"), "id");
    const char *tphase = sget(cJSON_GetObjectItem(tvm, "status"), "phase");
    int tready = tphase && (strcmp(tphase, "Running") == 0 || strcmp(tphase, "Stopped") == 0);
    if (!tready) {
        cJSON_Delete(tvm);
        *requeue = 2000;
        rc = 0;
        goto done;
    }
    vrt_json_set_str(m->status, "targetVMID", tid);
    cJSON_Delete(tvm);

    /* Ready: clean up */
    const char *cp = sget(spec_at(m, "options", NULL), "cleanupPolicy");
    if (!cp || strcmp(cp, "Never") != 0)
        cleanup_staging(m);
    if (snap_id && !snap_ref && (!cp || strcmp(cp, "Never") != 0)) {
        vrt_task_ref task;
        if (vrt_p_snapshot_delete(&task, vrt_lease_conn(m->src), &m->cc, src_id, snap_id,
                                  &err) == VRT_OK)
            vrt_json_set_str(m->status, "snapshotID", "");
    }
    if (cJSON_IsTrue(spec_at(m, "source", "deleteAfterMigration"))) {
        char p[600];
        cJSON *resp = NULL;
        long code = 0;
        vrt_object_path(p, sizeof(p), "virtualmachines", m->ns, vm_name);
        (void)vrt_kube_request(&resp, &code, m->c->kube, "DELETE", p, NULL, NULL, &err);
        cJSON_Delete(resp);
    }
    char now[32];
    vrt_rfc3339_now(now);
    vrt_json_set_str(m->status, "completionTime", now);
    enter(m, "Ready", "The VM runs on the target provider.");
    vrt_log_info("Migrated vmmigration=\"%s/%s\" import=\"%s\"", m->ns, m->name, import_id);
    rc = 0;
done:
    cJSON_Delete(src_vm);
    cJSON_Delete(sprov);
    cJSON_Delete(dprov);
    return rc;
}

long vrt_reconcile_migration(vrt_controller *c, const char *ns, const char *name)
{
    mig m = {.c = c, .ns = ns, .name = name};
    m.obj = vrt_informer_get(c->inf[INF_MIGRATION], ns, name);
    if (!m.obj)
        return 0;
    vrt_object_path(m.path, sizeof(m.path), "vmmigrations", ns, name);
    if (vrt_own_is_stale(c, m.path, m.obj)) {
        cJSON_Delete(m.obj);
        return 100;
    }
    m.gen = vrt_meta_num(m.obj, "generation");
    const cJSON *st = cJSON_GetObjectItem(m.obj, "status");
    m.old = st ? cJSON_Duplicate(st, 1) : NULL;
    m.status = st ? cJSON_Duplicate(st, 1) : cJSON_CreateObject();
    const char *ph = sget(m.status, "phase");
    long requeue = 0;
    if ((ph && (strcmp(ph, "Ready") == 0 || strcmp(ph, "Failed") == 0)) ||
        vrt_meta_str(m.obj, "deletionTimestamp"))
        goto out;
    vrt_callctx_init(&m.cc, c->opts.call_timeout_ms);
    if (!sget(m.status, "startTime")) {
        char now[32];
        vrt_rfc3339_now(now);
        vrt_json_set_str(m.status, "startTime", now);
        enter(&m, "Pending", "The migration is queued.");
    }
    int rc = run(&m, &requeue);
    if (rc != 0) {
        const cJSON *rp = spec_at(&m, "options", "retryPolicy");
        const cJSON *mr = cJSON_GetObjectItem(rp, "maxRetries");
        const cJSON *bm = cJSON_GetObjectItem(rp, "backoffMultiplier");
        long delay = vrt_duration_s(sget(rp, "retryDelay"));
        int max = cJSON_IsNumber(mr) ? mr->valueint : 3;
        const cJSON *rcj = cJSON_GetObjectItem(m.status, "retryCount");
        int tries = cJSON_IsNumber(rcj) ? rcj->valueint : 0;
        vrt_log_warn("Migration step failed vmmigration=\"%s/%s\": %s", ns, name, m.why);
        if (rc == -2 || tries >= max) {
            const char *cp = sget(spec_at(&m, "options", NULL), "cleanupPolicy");
            if (cp && strcmp(cp, "Always") == 0 && m.dir[0])
                cleanup_staging(&m);
            vrt_event(c->events, m.obj, KIND, "Warning", "Failed", "Migrate", "%s", m.why);
            enter(&m, "Failed", m.why);
        } else {
            char now[32];
            vrt_rfc3339_now(now);
            set_num(m.status, "retryCount", tries + 1);
            vrt_json_set_str(m.status, "lastRetryTime", now);
            vrt_json_set_str(m.status, "message", m.why);
            vrt_event(c->events, m.obj, KIND, "Warning", "Retrying", "Migrate", "%s", m.why);
            flush(&m);
            long mult = cJSON_IsNumber(bm) ? bm->valueint : 2;
            delay = delay < 0 ? 300 : delay;
            for (int i = 0; i < tries && delay < 86400; i++)
                delay *= mult;
            requeue = delay * 1000 + 1;
        }
    }
out:
    if (m.stage != m.local) /* NULL-safe; pvc and nfs share one */
        vrt_stage_close(m.stage);
    vrt_stage_close(m.local);
    vrt_pool_release(c->pool, m.src);
    vrt_pool_release(c->pool, m.dst);
    cJSON_Delete(m.obj);
    cJSON_Delete(m.status);
    cJSON_Delete(m.old);
    return requeue;
}
