/*
 * pve_create.c - create and clone.  A VM is cloned from its image's
 * template (templateID / templateName) or created blank, gets a VMID from
 * /cluster/nextid (taken again when another client won the race), the
 * marker in its description, its config and cloud-init keys, a boot order
 * from its actual disks, and its boot disk grown to the spec's size.
 * Clones run at most max_clones at a time per connection: parallel clones
 * contend for PVE's storage locks.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pve.h"

#define DESC_FMT "Managed by virtrigaud; do not reuse this description.\n" PVE_MARKER_KEY "%s"

static const char *const disk_keys[] = {"scsi", "virtio", "sata", "ide"};

/* An existing VM of ours with this name (a retried create). */
static int32_t find_existing(char id[VRT_ID_MAX], vrt_conn *conn,
                             const vrt_call *call, const char *name,
                             vrt_error *err)
{
    pve_form q = {0};
    cJSON *root = NULL, *data = NULL;
    const cJSON *r;
    int32_t rc;

    id[0] = 0;
    pve_form_add(&q, "type", "vm");
    rc = pve_request(&root, &data, conn, call, "GET", "/cluster/resources", &q, err);
    pve_form_free(&q);
    if (rc != VRT_OK)
        return rc;
    cJSON_ArrayForEach(r, data)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(r, "name");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "vmid");
        const cJSON *node = cJSON_GetObjectItemCaseSensitive(r, "node");
        char path[VRT_URL_MAX];
        cJSON *croot = NULL, *conf = NULL;
        const cJSON *desc;
        const char *m;

        if (!cJSON_IsString(n) || strcmp(n->valuestring, name) ||
            !cJSON_IsNumber(v) || !cJSON_IsString(node))
            continue;
        snprintf(path, sizeof(path), "/nodes/%s/qemu/%ld/config",
                 node->valuestring, (long)v->valueint);
        if (pve_request(&croot, &conf, conn, call, "GET", path, NULL, err) != VRT_OK)
            continue;
        desc = cJSON_GetObjectItemCaseSensitive(conf, "description");
        m = cJSON_IsString(desc) ? strstr(desc->valuestring, PVE_MARKER_KEY) : NULL;
        if (m && strlen(m) >= strlen(PVE_MARKER_KEY) + PVE_MARKER_LEN)
            snprintf(id, VRT_ID_MAX, "%ld-%.*s", (long)v->valueint,
                     PVE_MARKER_LEN, m + strlen(PVE_MARKER_KEY));
        cJSON_Delete(croot);
        if (id[0])
            break;
    }
    memset(err, 0, sizeof(*err));
    cJSON_Delete(root);
    return VRT_OK;
}

static int32_t first_node(char *node, size_t size, vrt_conn *conn,
                          const vrt_call *call, vrt_error *err)
{
    cJSON *root = NULL, *data = NULL;
    const cJSON *n;
    int32_t rc = pve_request(&root, &data, conn, call, "GET", "/nodes", NULL, err);

    if (rc != VRT_OK)
        return rc;
    rc = pve_err(err, VRT_E_UNAVAILABLE, "Proxmox VE reports no online node.");
    cJSON_ArrayForEach(n, data)
    {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(n, "status");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(n, "node");
        if (cJSON_IsString(s) && !strcmp(s->valuestring, "online") &&
            cJSON_IsString(name)) {
            snprintf(node, size, "%s", name->valuestring);
            memset(err, 0, sizeof(*err));
            rc = VRT_OK;
            break;
        }
    }
    cJSON_Delete(root);
    return rc;
}

static int32_t next_vmid(long *vmid, vrt_conn *conn, const vrt_call *call,
                         vrt_error *err)
{
    cJSON *root = NULL, *data = NULL;
    int32_t rc = pve_request(&root, &data, conn, call, "GET", "/cluster/nextid", NULL, err);

    if (rc != VRT_OK)
        return rc;
    /* PVE answers an integer as a JSON string here */
    *vmid = cJSON_IsString(data) ? strtol(data->valuestring, NULL, 10)
            : cJSON_IsNumber(data) ? (long)data->valueint : 0;
    cJSON_Delete(root);
    if (*vmid < 100)
        return pve_err(err, VRT_E_INTERNAL, "Proxmox VE answered /cluster/nextid without a VMID.");
    return VRT_OK;
}

/* Finds the template: by VMID, else by name among templates. */
static int32_t find_template(pve_vm *t, vrt_conn *conn, const vrt_call *call,
                             long want, const char *name, vrt_error *err)
{
    pve_form q = {0};
    cJSON *root = NULL, *data = NULL;
    const cJSON *r;
    int32_t rc;

    pve_form_add(&q, "type", "vm");
    rc = pve_request(&root, &data, conn, call, "GET", "/cluster/resources", &q, err);
    pve_form_free(&q);
    if (rc != VRT_OK)
        return rc;
    rc = pve_err(err, VRT_E_NOTFOUND,
                 "The image's template (templateID %ld, templateName \"%s\") "
                 "is not a template on Proxmox VE.", want, name ? name : "");
    cJSON_ArrayForEach(r, data)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "vmid");
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(r, "name");
        const cJSON *node = cJSON_GetObjectItemCaseSensitive(r, "node");
        if (pve_spec_int(r, "template", 0) != 1 || !cJSON_IsNumber(v) || !cJSON_IsString(node))
            continue;
        if ((want && (long)v->valueint == want) ||
            (!want && name && cJSON_IsString(n) && !strcmp(n->valuestring, name))) {
            t->vmid = (long)v->valueint;
            snprintf(t->node, sizeof(t->node), "%s", node->valuestring);
            memset(err, 0, sizeof(*err));
            rc = VRT_OK;
            break;
        }
    }
    cJSON_Delete(root);
    return rc;
}

static void clone_slot_take(vrt_conn *conn)
{
    pthread_mutex_lock(&conn->lock);
    while (conn->clones_running >= conn->max_clones)
        pthread_cond_wait(&conn->clone_cv, &conn->lock);
    conn->clones_running++;
    pthread_mutex_unlock(&conn->lock);
}

static void clone_slot_give(vrt_conn *conn)
{
    pthread_mutex_lock(&conn->lock);
    conn->clones_running--;
    pthread_cond_signal(&conn->clone_cv);
    pthread_mutex_unlock(&conn->lock);
}

/* Starts the clone or create task with a fresh VMID, again when another
 * client took that VMID first. */
static int32_t make_vm(pve_vm *vm, vrt_conn *conn, const vrt_call *call,
                       const pve_vm *tmpl, const pve_form *base,
                       const char *path, vrt_error *err)
{
    int tries;
    int32_t rc = VRT_OK;

    /* Every racing client asks nextid at once and only one wins a round,
     * so allow as many rounds as parallel creates, with jitter. */
    for (tries = 0; tries < 20; tries++) {
        pve_form f = {0};
        if (tries)
            usleep((useconds_t)(5000 + (unsigned)rand() % 20000 * (unsigned)tries));
        if ((rc = next_vmid(&vm->vmid, conn, call, err)) != VRT_OK)
            return rc;
        pve_form_addf(&f, tmpl ? "newid" : "vmid", "%ld", vm->vmid);
        pve_form_join(&f, base);
        if (tmpl)
            clone_slot_take(conn);
        rc = pve_run_task(conn, call, "POST", path, &f, err);
        if (tmpl)
            clone_slot_give(conn);
        pve_form_free(&f);
        if (rc == VRT_OK ||
            (rc != VRT_E_EXISTS && !strstr(err->message, "already exists")))
            return rc;
        pve_log(conn, VRT_LOG_INFO, "VMID %ld was taken by another client; asking for another.", vm->vmid);
    }
    return rc;
}

static void tags_of(char *out, size_t size, const cJSON *spec)
{
    const cJSON *t;
    size_t n = (size_t)snprintf(out, size, "virtrigaud");

    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(spec, "tags"))
    {
        char clean[64];
        size_t i, k = 0;
        if (!cJSON_IsString(t))
            continue;
        for (i = 0; t->valuestring[i] && k + 1 < sizeof(clean); i++) {
            char c = (char)tolower((unsigned char)t->valuestring[i]);
            clean[k++] = (isalnum((unsigned char)c) || strchr("_+.-", c)) ? c : '-';
        }
        clean[k] = 0;
        if (k && n + k + 2 < size)
            n += (size_t)snprintf(out + n, size - n, ";%s", clean);
    }
}

/* Boot order and cloud-init drive from the disks the VM really has, and
 * the boot disk grown to the first spec disk's size. */
static int32_t finish_disks(vrt_conn *conn, const vrt_call *call,
                            const pve_vm *vm, const cJSON *spec,
                            const char *storage, pve_form *f, vrt_error *err)
{
    char path[VRT_URL_MAX], key[16], boot[16] = "";
    cJSON *root = NULL, *conf = NULL;
    const cJSON *disks = cJSON_GetObjectItemCaseSensitive(spec, "disks");
    int want = pve_spec_int(cJSON_GetArrayItem(disks, 0), "sizeGiB", 0);
    int has_ci = 0, have = 0;
    size_t k;
    int i;
    int32_t rc;

    pve_vm_path(path, sizeof(path), vm, "/config");
    if ((rc = pve_request(&root, &conf, conn, call, "GET", path, NULL, err)) != VRT_OK)
        return rc;
    for (k = 0; k < sizeof(disk_keys) / sizeof(disk_keys[0]); k++) {
        for (i = 0; i < 8; i++) {
            const cJSON *d;
            snprintf(key, sizeof(key), "%s%d", disk_keys[k], i);
            d = cJSON_GetObjectItemCaseSensitive(conf, key);
            if (!cJSON_IsString(d))
                continue;
            if (strstr(d->valuestring, "cloudinit"))
                has_ci = 1;
            else if (!strstr(d->valuestring, "media=cdrom") && !boot[0]) {
                const char *s = strstr(d->valuestring, "size=");
                snprintf(boot, sizeof(boot), "%s", key);
                have = s ? atoi(s + 5) : 0;
            }
        }
    }
    cJSON_Delete(root);
    if (boot[0])
        pve_form_addf(f, "boot", "order=%s", boot);
    if (!has_ci)
        pve_form_addf(f, "ide2", "%s:cloudinit", storage);
    if ((rc = pve_config_apply(conn, call, vm, f, err)) != VRT_OK)
        return rc;
    if (boot[0] && want > have) {
        pve_form r = {0};
        pve_form_add(&r, "disk", boot);
        pve_form_addf(&r, "size", "%dG", want);
        pve_vm_path(path, sizeof(path), vm, "/resize");
        rc = pve_run_task(conn, call, "PUT", path, &r, err);
        pve_form_free(&r);
    }
    return rc;
}

int32_t pve_create(char id[VRT_ID_MAX], vrt_task_ref *task, vrt_conn *conn,
                   const vrt_call *call, const vrt_vm_spec *spec,
                   uint32_t flags, vrt_error *err)
{
    cJSON *js = NULL;
    pve_vm vm, tmpl;
    pve_form base = {0}, cfg = {0};
    char path[VRT_URL_MAX], marker[PVE_MARKER_LEN + 1], tags[512];
    const char *tname = NULL, *storage;
    long tid;
    int32_t rc = pve_check_call(call, flags, "create", err);

    if (rc != VRT_OK)
        return rc;
    if (!spec || !id || !task || !VRT_HAS_MEMBER(spec, vrt_vm_spec, network_data_len))
        return pve_err(err, VRT_E_INVALID, "create: spec, id and task are required.");
    if (spec->flags)
        return pve_err(err, VRT_E_INVALID, "create: spec->flags must be 0.");
    if (!spec->name || !spec->name[0] || strlen(spec->name) > 120)
        return pve_err(err, VRT_E_INVALID, "create: the VM name must be 1-120 characters.");
    id[0] = 0;
    task->id[0] = 0;
    if ((rc = pve_spec_parse(&js, spec->spec_json, err)) != VRT_OK)
        return rc;
    if ((rc = pve_cloudinit_form(&cfg, spec, err)) != VRT_OK)
        goto cleanup;
    if ((rc = find_existing(id, conn, call, spec->name, err)) != VRT_OK || id[0])
        goto cleanup;

    memset(&vm, 0, sizeof(vm));
    memset(&tmpl, 0, sizeof(tmpl));
    storage = pve_spec_storage(js, conn);
    if (pve_random_hex(marker, PVE_MARKER_LEN) != 0) {
        rc = pve_err(err, VRT_E_INTERNAL, "No random bytes for the VM marker.");
        goto cleanup;
    }
    if (pve_spec_node(js))
        snprintf(vm.node, sizeof(vm.node), "%s", pve_spec_node(js));
    else if ((rc = first_node(vm.node, sizeof(vm.node), conn, call, err)) != VRT_OK)
        goto cleanup;
    tags_of(tags, sizeof(tags), js);
    pve_form_add(&base, "name", spec->name);
    pve_form_addf(&base, "description", DESC_FMT, marker);

    tid = pve_spec_template(js, &tname);
    if (tid || tname) {
        const cJSON *fc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(js, "image"), "fullClone");
        int full = !cJSON_IsFalse(fc);
        if ((rc = find_template(&tmpl, conn, call, tid, tname, err)) != VRT_OK)
            goto cleanup;
        pve_form_add(&base, "target", vm.node);
        pve_form_add(&base, "full", full ? "1" : "0");
        if (full)
            pve_form_add(&base, "storage", storage);
        pve_vm_path(path, sizeof(path), &tmpl, "/clone");
        rc = make_vm(&vm, conn, call, &tmpl, &base, path, err);
    } else {
        const cJSON *d0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(js, "disks"), 0);
        pve_form_add(&base, "scsihw", "virtio-scsi-single");
        pve_form_addf(&base, "scsi0", "%s:%d", storage, pve_spec_int(d0, "sizeGiB", 8));
        snprintf(path, sizeof(path), "/nodes/%s/qemu", vm.node);
        rc = make_vm(&vm, conn, call, NULL, &base, path, err);
    }
    if (rc != VRT_OK)
        goto cleanup;
    snprintf(id, VRT_ID_MAX, "%ld-%s", vm.vmid, marker);
    memcpy(vm.marker, marker, sizeof(marker));
    pve_log(conn, VRT_LOG_INFO, "Created VM \"%s\" as VMID %ld on node \"%s\".",
            spec->name, vm.vmid, vm.node);

    pve_spec_form(&cfg, js, spec, storage, 1);
    pve_form_add(&cfg, "agent", "enabled=1");
    pve_form_add(&cfg, "tags", tags);
    rc = finish_disks(conn, call, &vm, js, storage, &cfg, err);

cleanup:
    pve_form_free(&base);
    pve_form_free(&cfg);
    cJSON_Delete(js);
    return rc;
}

int32_t pve_clone(char target_id[VRT_ID_MAX], vrt_task_ref *task,
                  vrt_conn *conn, const vrt_call *call,
                  const vrt_clone_spec *spec, uint32_t flags, vrt_error *err)
{
    pve_vm src, vm;
    pve_form base = {0};
    cJSON *js = NULL, *conf = NULL;
    char path[VRT_URL_MAX], marker[PVE_MARKER_LEN + 1];
    int32_t rc = pve_check_call(call, flags, "clone", err);

    if (rc != VRT_OK)
        return rc;
    if (!spec || !target_id || !task || !spec->source_vm_id || !spec->target_name ||
        !VRT_HAS_MEMBER(spec, vrt_clone_spec, spec_json))
        return pve_err(err, VRT_E_INVALID, "clone: spec, source_vm_id and target_name are required.");
    target_id[0] = 0;
    task->id[0] = 0;
    if ((rc = pve_spec_parse(&js, spec->spec_json ? spec->spec_json : "{}", err)) != VRT_OK)
        return rc;
    if ((rc = pve_locate(&src, &conf, conn, call, spec->source_vm_id, err)) != VRT_OK)
        goto cleanup;
    if (spec->linked && pve_spec_int(conf, "template", 0) != 1) {
        rc = pve_err(err, VRT_E_NOTSUPP,
                     "Proxmox VE makes linked clones of templates only, and "
                     "\"%s\" is not a template.", spec->source_vm_id);
        goto cleanup;
    }
    if (pve_random_hex(marker, PVE_MARKER_LEN) != 0) {
        rc = pve_err(err, VRT_E_INTERNAL, "No random bytes for the VM marker.");
        goto cleanup;
    }
    memset(&vm, 0, sizeof(vm));
    snprintf(vm.node, sizeof(vm.node), "%s", src.node);
    pve_form_add(&base, "name", spec->target_name);
    pve_form_addf(&base, "description", DESC_FMT, marker);
    pve_form_add(&base, "full", spec->linked ? "0" : "1");
    if (spec->snapshot_id && spec->snapshot_id[0])
        pve_form_add(&base, "snapname", spec->snapshot_id);
    pve_vm_path(path, sizeof(path), &src, "/clone");
    if ((rc = make_vm(&vm, conn, call, &src, &base, path, err)) != VRT_OK)
        goto cleanup;
    snprintf(target_id, VRT_ID_MAX, "%ld-%s", vm.vmid, marker);

cleanup:
    pve_form_free(&base);
    cJSON_Delete(conf);
    cJSON_Delete(js);
    return rc;
}
