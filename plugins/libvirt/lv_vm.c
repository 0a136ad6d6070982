/*
 * lv_vm.c - create and destroy.
 *
 * create is idempotent: the domain is defined first, carrying our marker
 * (name + spec fingerprint + the volumes it will own), and the volumes are
 * made after.  A retry with the same spec finds the marked domain and only
 * makes what is missing; the same name with another spec, or a domain
 * without our marker, is VRT_E_EXISTS.
 */
#include "lv_domain.h"
#include "lv_hash.h"
#include "lv_ops.h"
#include "lv_seed.h"
#include "lv_storage.h"

#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

/* What create found under the requested name. */
#define LV_FOUND_SAME 0    /* ours, same spec: finish it */
#define LV_FOUND_ADOPTED 1 /* unmarked, now adopted: done */
#define LV_FOUND_DONE 2    /* ours, same spec, every volume there: done */

/* Non-zero when every volume m lists exists. */
static int all_volumes_exist(virConnectPtr virt, const lv_marker *m)
{
    vrt_error ignore = VRT_ERROR_INIT;
    size_t i;
    int exists = 0;

    for (i = 0; i < m->nvols; i++)
        if (lv_vol_exists(&exists, virt, &m->vols[i], &ignore) < 0 ||
            !exists)
            return 0;
    return 1;
}

static int check_existing(int *found, virConnectPtr virt, virDomainPtr d,
                          const lv_spec *s, const char *hash,
                          const char *name, vrt_error *err)
{
    lv_marker *m = NULL, fresh = {0};
    int rc;

    if ((rc = lv_domain_marker(&m, d, err)) < 0)
        return rc;
    if (!m && s->adopt) {
        /* take it over: our marker, but no volumes (we did not make them) */
        fresh.name = (char *)name;
        fresh.spec_hash = (char *)hash;
        fresh.tags = s->tags;
        fresh.ntags = s->ntags;
        rc = lv_domain_set_marker(d, &fresh, err);
        *found = LV_FOUND_ADOPTED;
        return rc;
    }
    if (!m)
        return lv_err(err, VRT_E_EXISTS,
                      "A domain named \"%s\" already exists and virtrigaud "
                      "does not manage it; set \"adopt\": true in the spec to "
                      "take it over.",
                      name);
    if (!m->spec_hash || strcmp(m->spec_hash, hash))
        rc = lv_err(err, VRT_E_EXISTS,
                    "VM \"%s\" already exists with a different spec; "
                    "reconfigure or delete it instead.",
                    name);
    /* a finished VM needs nothing else, not even its image any more */
    *found = rc == VRT_OK && all_volumes_exist(virt, m) ? LV_FOUND_DONE
                                                        : LV_FOUND_SAME;
    lv_marker_free(m);
    return rc;
}

/* Decides the domain type, pool, image and volumes of a new VM. */
static int plan(lv_marker **out, vrt_conn *c, virConnectPtr virt,
                const lv_spec *s, const vrt_vm_spec *spec, const char *hash,
                vrt_error *err)
{
    const char *pool = s->image_pool ? s->image_pool : lv_conn_pool(c);
    lv_image img = {0};
    lv_image_info info = {0};
    lv_marker *m;
    int rc = VRT_OK;

    *out = NULL;
    if (s->image_url &&
        (rc = lv_image_download(virt, c, pool, s->image_path,
                                s->image_format ? s->image_format : "qcow2",
                                s->image_url, s->image_sha256, err)) < 0)
        return rc;
    if (s->image_path) {
        if ((rc = lv_image_resolve(&img, virt, s, pool, err)) < 0)
            return rc;
        info.path = img.path;
        info.pool = img.pool;
        info.volume = img.volume;
        info.format = img.format;
        info.capacity = img.capacity;
    }
    m = lv_xcalloc(1, sizeof(*m));
    lv_plan_volumes(m, spec->name, hash, s, pool,
                    s->image_path ? &info : NULL, lv_seed_wanted(spec));
    lv_image_clear(&img);
    *out = m;
    return rc;
}

static int define(virDomainPtr *out, vrt_conn *c, virConnectPtr virt,
                  const lv_spec *s, const char *name, const lv_marker *m,
                  vrt_error *err)
{
    lv_xml_opts o = {NULL, c->cfg.vnc_listen};
    char *xml = NULL;
    int rc;

    *out = NULL;
    o.domain_type = s->domain_type;
    if (!o.domain_type &&
        (rc = lv_conn_domain_type(&o.domain_type, c, virt, err)) < 0)
        return rc;
    if ((rc = lv_domain_xml_build(&xml, name, s, m, &o, err)) < 0)
        return rc;
    *out = virDomainDefineXMLFlags(virt, xml, VIR_DOMAIN_DEFINE_VALIDATE);
    if (!*out)
        rc = lv_virt_err(err, "Could not define VM \"%s\"", name);
    free(xml);
    return rc;
}

/* Builds and uploads the cloud-init seed into volume v. */
static int write_seed(virConnectPtr virt, virDomainPtr d, lv_vol *v,
                      int exists, const vrt_vm_spec *spec,
                      const vrt_call *call, vrt_error *err)
{
    char uuid[VRT_ID_MAX];
    uint8_t *iso = NULL;
    size_t len = 0;
    int rc;

    lv_domain_id(uuid, d);
    if ((rc = lv_seed_iso(&iso, &len, spec, uuid, spec->name, err)) < 0)
        return rc;
    v->capacity = len;
    if (!exists)
        rc = lv_vol_create(virt, v, err);
    if (rc == VRT_OK)
        rc = lv_vol_upload(virt, v, iso, len, call, err);
    free(iso);
    return rc;
}

/*
 * Makes every planned volume that does not exist yet; made[i] records
 * which ones this call created (for rollback).  On a retry the seed is
 * rewritten while the VM is off, in case a crash cut the upload short.
 */
static int ensure_volumes(int *made, vrt_conn *c, virConnectPtr virt,
                          virDomainPtr d, lv_marker *m, int retry,
                          const vrt_vm_spec *spec, const vrt_call *call,
                          vrt_error *err)
{
    size_t i;
    int rc = VRT_OK, exists;

    for (i = 0; i < m->nvols && rc == VRT_OK; i++) {
        lv_vol *v = &m->vols[i];
        if (!v->create)
            continue;
        if ((rc = lv_call_check(call, "VM creation", err)) < 0 ||
            (rc = lv_vol_exists(&exists, virt, v, err)) < 0)
            break;
        if (!strcmp(v->role, LV_ROLE_SEED)) {
            if (!exists || (retry && virDomainIsActive(d) == 0))
                rc = write_seed(virt, d, v, exists, spec, call, err);
            made[i] = rc == VRT_OK && !exists;
            if (!exists && rc < 0)
                made[i] = 1; /* may exist half-written: remove it */
            continue;
        }
        if (exists)
            continue;
        rc = lv_vol_create(virt, v, err);
        made[i] = rc == VRT_OK;
        if (rc == VRT_OK)
            lv_log(c, VRT_LOG_DEBUG, "Created volume \"%s\" in pool \"%s\".",
                   v->name, v->pool);
    }
    return rc;
}

static void rollback(vrt_conn *c, virConnectPtr virt, virDomainPtr d,
                     const lv_marker *m, const int *made)
{
    vrt_error e = VRT_ERROR_INIT;

    if (lv_vols_delete(c, virt, m, made, &e) < 0)
        lv_log(c, VRT_LOG_WARN, "Cleanup after a failed create: %s",
               e.message);
    if (virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA) < 0)
        lv_log(c, VRT_LOG_WARN,
               "Cleanup after a failed create could not undefine \"%s\".",
               virDomainGetName(d));
    virResetLastError();
}

static int spec_ok(const vrt_vm_spec *spec, vrt_error *err)
{
    if (!spec || spec->struct_size < sizeof(vrt_vm_spec) || spec->flags)
        return lv_err(err, VRT_E_INVALID, "The VM spec is malformed.");
    if (!lv_name_ok(spec->name, LV_VM_NAME_MAX))
        return lv_err(err, VRT_E_INVALID,
                      "The VM name \"%.64s\" is not valid: use 1 to %d "
                      "letters, digits, '.', '_' or '-', starting with a "
                      "letter or digit.",
                      spec->name ? spec->name : "", LV_VM_NAME_MAX);
    return VRT_OK;
}

/* A spec without networks gets the provider's default network, if any. */
static void default_nic(lv_spec *s, const vrt_conn *c)
{
    if (s->nnics || !c->cfg.default_network)
        return;
    s->nics = lv_xcalloc(1, sizeof(*s->nics));
    s->nnics = 1;
    s->nics[0].name = lv_xstrdup("nic0");
    s->nics[0].network = lv_xstrdup(c->cfg.default_network);
    s->nics[0].model = lv_xstrdup("virtio");
}

int32_t lv_create(char id[VRT_ID_MAX], vrt_task_ref *task, vrt_conn *c,
                  const vrt_call *call, const vrt_vm_spec *spec,
                  uint32_t flags, vrt_error *err)
{
    virConnectPtr virt = NULL;
    virDomainPtr d = NULL;
    lv_spec *s = NULL;
    lv_marker *m = NULL;
    char hash[LV_HASH_MAX];
    int *made = NULL, rc, found = -1;

    id[0] = '\0';
    if (task)
        task->id[0] = '\0';
    if ((rc = lv_flags_ok(flags, "create", err)) < 0 ||
        (rc = lv_call_check(call, "create", err)) < 0 ||
        (rc = spec_ok(spec, err)) < 0 ||
        (rc = lv_spec_parse(&s, spec->spec_json, err)) < 0 ||
        (rc = lv_spec_fingerprint(hash, spec, err)) < 0 ||
        (rc = lv_conn_acquire(&virt, c, err)) < 0)
        goto cleanup;
    default_nic(s, c);

    d = virDomainLookupByName(virt, spec->name);
    if (!d && lv_virt_last() != VIR_ERR_NO_DOMAIN) {
        rc = lv_virt_err(err, "Could not look up VM \"%s\"", spec->name);
        goto cleanup;
    }
    virResetLastError();
    if (d && ((rc = check_existing(&found, virt, d, s, hash, spec->name,
                                   err)) < 0 ||
              found != LV_FOUND_SAME))
        goto done;
    if ((rc = plan(&m, c, virt, s, spec, hash, err)) < 0)
        goto cleanup;
    if (!d && (rc = define(&d, c, virt, s, spec->name, m, err)) < 0) {
        /* lost a race with another create of the same name? */
        vrt_error first = VRT_ERROR_INIT;
        if (err)
            first = *err;
        d = virDomainLookupByName(virt, spec->name);
        virResetLastError();
        if (!d) {
            if (err)
                *err = first;
            goto cleanup;
        }
        if ((rc = check_existing(&found, virt, d, s, hash, spec->name,
                                 err)) < 0 ||
            found != LV_FOUND_SAME)
            goto done;
    }
    made = lv_xcalloc(m->nvols, sizeof(*made));
    rc = ensure_volumes(made, c, virt, d, m, found == LV_FOUND_SAME, spec,
                        call, err);
    if (rc < 0 && found != LV_FOUND_SAME) {
        rollback(c, virt, d, m, made);
        goto cleanup;
    }

done:
    if (rc == VRT_OK) {
        lv_domain_id(id, d);
        lv_log(c, VRT_LOG_INFO, "%s VM \"%s\" id=%s.",
               found == LV_FOUND_ADOPTED ? "Adopted"
               : found < 0               ? "Created"
                                         : "Found existing",
               spec->name, id);
    }

cleanup:
    free(made);
    lv_marker_free(m);
    lv_spec_free(s);
    if (d)
        virDomainFree(d);
    lv_conn_release(virt);
    return rc;
}

/* ---- destroy ---------------------------------------------------------- */

/* Undefines d with as much cleanup as the driver supports: the test
 * driver, for one, refuses the NVRAM and checkpoint flags. */
static int undefine(virDomainPtr d, vrt_error *err)
{
    static const unsigned int tries[] = {
        VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
            VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_NVRAM |
            VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA,
        VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
            VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_NVRAM,
        VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
            VIR_DOMAIN_UNDEFINE_MANAGED_SAVE,
    };
    size_t i;
    int code;

    if (virDomainIsPersistent(d) != 1)
        return VRT_OK; /* a transient domain vanished when destroyed */
    for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        if (virDomainUndefineFlags(d, tries[i]) == 0)
            return VRT_OK;
        code = lv_virt_last();
        if (code != VIR_ERR_INVALID_ARG && code != VIR_ERR_NO_SUPPORT)
            break;
    }
    return lv_virt_err(err, "Could not undefine domain \"%s\"",
                       virDomainGetName(d));
}

int32_t lv_destroy(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                   const char *id, uint32_t flags, vrt_error *err)
{
    virConnectPtr virt = NULL;
    virDomainPtr d = NULL;
    lv_marker *m = NULL;
    char *name = NULL, *user = NULL;
    int rc;

    if (task)
        task->id[0] = '\0';
    if ((rc = lv_flags_ok(flags, "destroy", err)) < 0 ||
        (rc = lv_call_check(call, "destroy", err)) < 0 ||
        (rc = lv_conn_acquire(&virt, c, err)) < 0 ||
        (rc = lv_domain_lookup(&d, virt, id, err)) < 0 ||
        (rc = lv_domain_owned(&m, d, "delete", err)) < 0)
        goto cleanup;
    name = lv_xstrdup(virDomainGetName(d));
    /* a linked clone's overlay would lose its backing file */
    if ((rc = lv_vols_backing_users(&user, virt, m, err)) < 0)
        goto cleanup;
    if (user) {
        rc = lv_err(err, VRT_E_CONFLICT,
                    "VM \"%s\" cannot be deleted: its disk backs \"%s\" (a "
                    "linked clone); delete that first.",
                    name, user);
        goto cleanup;
    }
    if (virDomainIsActive(d) == 1 && virDomainDestroy(d) < 0 &&
        lv_virt_last() != VIR_ERR_OPERATION_INVALID) {
        rc = lv_virt_err(err, "Could not power off VM \"%s\"", name);
        goto cleanup;
    }
    virResetLastError();
    /* volumes first: if one cannot go, the marked domain stays and a
     * retried destroy finishes the job */
    if ((rc = lv_vols_delete(c, virt, m, NULL, err)) < 0 ||
        (rc = undefine(d, err)) < 0)
        goto cleanup;
    lv_log(c, VRT_LOG_INFO, "Deleted VM \"%s\" id=%s.", name, id);

cleanup:
    free(user);
    free(name);
    lv_marker_free(m);
    if (d)
        virDomainFree(d);
    lv_conn_release(virt);
    return rc;
}
