/*
 * vs_vm.c - open / close / validate, create, clone and destroy.
 *
 * create clones the template named by the spec's image.templateName with
 * CloneVM_Task.  The new VM gets an instanceUuid we choose (its id, known
 * before the clone ends) and our marker in extraConfig: the spec's
 * fingerprint ("virtrigaud.spec").  A retry finds the VM by name; with the
 * same fingerprint it is the same VM, anything else is VRT_E_EXISTS.
 * Cloud-init user-data and meta-data go into guestinfo (base64), where
 * cloud-init's VMware datasource reads them.
 */
#include "vs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#define VS_GUESTINFO_MAX (128u * 1024) /* cloud-init documents, each */

/* ---- the connection ------------------------------------------------------- */

static int url_parse(vrt_conn *c, const char *endpoint, vrt_error *err)
{
    const char *auth, *path;

    if (!endpoint || (strncmp(endpoint, "https://", 8) &&
                      strncmp(endpoint, "http://", 7)))
        return vs_err(err, VRT_E_INVALID,
                      "The vSphere endpoint must be an https:// URL such as "
                      "https://vcenter.example.com/sdk.");
    auth = strstr(endpoint, "://") + 3;
    if (memchr(auth, '@', strcspn(auth, "/?#")))
        return vs_err(err, VRT_E_INVALID,
                      "The vSphere endpoint must not carry a user name or "
                      "password; put them in the credentials secret.");
    if (!auth[0] || auth[0] == '/')
        return vs_err(err, VRT_E_INVALID,
                      "The vSphere endpoint names no host.");
    path = auth + strcspn(auth, "/");
    /* "https://vc" and "https://vc/" both mean the SDK at /sdk */
    if (!path[0] || !strcmp(path, "/")) {
        size_t n = (size_t)(path - endpoint);
        c->url = vs_xcalloc(1, n + 5);
        memcpy(c->url, endpoint, n);
        memcpy(c->url + n, "/sdk", 5);
    } else {
        c->url = vs_xstrdup(endpoint);
    }
    vs_url_redact(c->url_safe, sizeof(c->url_safe), c->url);
    return VRT_OK;
}

int32_t vs_open(vrt_conn **out, const vrt_conn_params *params, uint32_t flags,
                vrt_error *err)
{
    vrt_conn *c = NULL;
    int rc;

    if (out)
        *out = NULL;
    if ((rc = vs_flags_ok(flags, "open", err)) < 0)
        return rc;
    if (!out || !params || params->struct_size < sizeof(vrt_conn_params))
        return vs_err(err, VRT_E_INVALID,
                      "open needs an out pointer and connection parameters.");
    if (params->flags)
        return vs_err(err, VRT_E_INVALID,
                      "The connection parameters have flags 0x%x; they must "
                      "be 0.",
                      (unsigned)params->flags);
    c = vs_xcalloc(1, sizeof(*c));
    c->ctx = params->ctx;
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->pool_lock, NULL);
    if ((rc = url_parse(c, params->endpoint, err)) < 0 ||
        (rc = vs_config_parse(&c->cfg, params->config_json, err)) < 0)
        goto fail;
    if (!c->cfg.insecure && (rc = vs_secret_ca(c, err)) < 0)
        goto fail;
    if (c->cfg.insecure)
        vs_log(c, VRT_LOG_WARN,
               "TLS verification of \"%s\" is off (insecureSkipVerify).",
               c->url_safe);
    *out = c;
    return VRT_OK;

fail:
    vs_close(c);
    return rc;
}

void vs_close(vrt_conn *c)
{
    if (!c)
        return;
    vs_session_logout(c);
    vs_curl_free_idle(c);
    vs_log(c, VRT_LOG_DEBUG, "Closed \"%s\" after %llu SOAP calls.",
           c->url_safe, (unsigned long long)c->round_trips);
    if (c->ca_pem) {
        vs_wipe(c->ca_pem, strlen(c->ca_pem));
        free(c->ca_pem);
    }
    free(c->tasks);
    free(c->url);
    vs_config_free(&c->cfg);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->pool_lock);
    free(c);
}

int32_t vs_validate(vrt_conn *c, const vrt_call *call, uint32_t flags,
                    vrt_error *err)
{
    xmlDoc *doc = NULL;
    xmlNode *resp;
    char t[64];
    int rc;

    if ((rc = vs_flags_ok(flags, "validate", err)) < 0 ||
        (rc = vs_call_check(call, "validate", err)) < 0)
        return rc;
    if (!c)
        return vs_err(err, VRT_E_INVALID, "validate needs a connection.");
    /* a real probe: CurrentTime needs a live session, so an expired one
     * is noticed (and replaced) here rather than in the next VM call */
    rc = vs_soap(&doc, &resp, NULL, c, call,
                 "<CurrentTime xmlns=\"urn:vim25\"><_this "
                 "type=\"ServiceInstance\">ServiceInstance</_this>"
                 "</CurrentTime>",
                 "Checking the vSphere session", err);
    if (rc == VRT_OK)
        vs_log(c, VRT_LOG_DEBUG, "\"%s\" answers; its time is %s.",
               c->url_safe, vs_xml_ctext(t, sizeof(t), resp, "returnval"));
    xmlFreeDoc(doc);
    return rc;
}

/* ---- placement ---------------------------------------------------------------- */

typedef struct vs_place {
    char pool[VS_REF_MAX], folder[VS_REF_MAX], datastore[VS_REF_MAX],
        host[VS_REF_MAX];
} vs_place;

/* The root resource pool of the compute resource (or cluster) `cr`. */
static int pool_of(char pool[VS_REF_MAX], vrt_conn *c, const vrt_call *call,
                   const char *cr_type, const char *cr, vrt_error *err)
{
    return vs_get_ref_prop(pool, NULL, c, call,
                           cr_type[0] ? cr_type : "ComputeResource", cr,
                           "resourcePool", err);
}

static int pool_of_host(char pool[VS_REF_MAX], vrt_conn *c,
                        const vrt_call *call, const char *host,
                        vrt_error *err)
{
    char parent[VS_REF_MAX], type[64];
    int rc;

    if ((rc = vs_get_ref_prop(parent, type, c, call, "HostSystem", host,
                              "parent", err)) < 0)
        return rc;
    return pool_of(pool, c, call, type, parent, err);
}

static int place(vs_place *p, vrt_conn *c, const vrt_call *call,
                 const vs_spec *s, const vs_vm *src, vrt_error *err)
{
    char cl[VS_REF_MAX];
    int rc;

    memset(p, 0, sizeof(*p));
    if (s->host && (rc = vs_find_named(p->host, c, call, "HostSystem",
                                       s->host, "host", err)) < 0)
        return rc;
    if (s->resource_pool) {
        if ((rc = vs_find_named(p->pool, c, call, "ResourcePool",
                                s->resource_pool, "resource pool", err)) < 0)
            return rc;
    } else if (s->cluster) {
        if ((rc = vs_find_named(cl, c, call, "ClusterComputeResource",
                                s->cluster, "cluster", err)) < 0 ||
            (rc = pool_of(p->pool, c, call, "ClusterComputeResource", cl,
                          err)) < 0)
            return rc;
    } else if (p->host[0]) {
        if ((rc = pool_of_host(p->pool, c, call, p->host, err)) < 0)
            return rc;
    } else if (src->pool[0]) {
        vs_strlcpy(p->pool, src->pool, sizeof(p->pool));
    } else if (src->host[0]) {
        /* a template has no pool: use its host's */
        if ((rc = pool_of_host(p->pool, c, call, src->host, err)) < 0)
            return rc;
    }
    if (!p->pool[0])
        return vs_err(err, VRT_E_INVALID,
                      "No resource pool for the new VM: give "
                      "placement.resourcePool, placement.cluster or "
                      "placement.host.");
    if (s->folder) {
        if ((rc = vs_find_named(p->folder, c, call, "Folder", s->folder,
                                "folder", err)) < 0)
            return rc;
    } else {
        vs_strlcpy(p->folder, src->parent, sizeof(p->folder));
    }
    if (!p->folder[0])
        return vs_err(err, VRT_E_INVALID,
                      "No folder for the new VM: give placement.folder.");
    if (s->datastore && (rc = vs_find_named(p->datastore, c, call,
                                            "Datastore", s->datastore,
                                            "datastore", err)) < 0)
        return rc;
    return VRT_OK;
}

/* ---- create and clone --------------------------------------------------------- */

typedef struct scan_ctx {
    const char *name, *tmpl;
    vs_vm same;    /* a VM (not template) with the new VM's name */
    vs_vm source;  /* the template */
    int have_same, have_source;
} scan_ctx;

static int scan_one(void *opaque, const char *type, const char *ref,
                    const xmlNode *objects)
{
    scan_ctx *s = opaque;
    vs_vm vm;

    (void)type;
    vs_vm_from_xml(&vm, ref, objects);
    if (!s->have_same && !strcmp(vm.name, s->name) && !vm.is_template) {
        s->same = vm;
        s->have_same = 1;
    }
    if (s->tmpl && !s->have_source && !strcmp(vm.name, s->tmpl)) {
        s->source = vm;
        s->have_source = 1;
    }
    return 0;
}

static int name_ok(const char *name, vrt_error *err)
{
    const char *p;

    if (!name || !name[0] || strlen(name) > 80)
        return vs_err(err, VRT_E_INVALID,
                      "A vSphere VM name must be 1 to 80 bytes long.");
    for (p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '/' || *p == '\\' || *p == '%')
            return vs_err(err, VRT_E_INVALID,
                          "VM name \"%s\" contains a control character, "
                          "'/', '\\' or '%%'.",
                          name);
    return VRT_OK;
}

/* The VM of that name is ours with the same spec: hand back its id. */
static int existing(char id[VRT_ID_MAX], vrt_conn *c, const vrt_call *call,
                    const vs_vm *same, const vs_spec *s, vrt_error *err)
{
    vs_vm vm;
    int rc;

    if ((rc = vs_vm_need(&vm, NULL, c, call, same->uuid, err)) < 0)
        return rc;
    if (!vm.spec_hash[0] && !s->adopt)
        return vs_err(err, VRT_E_EXISTS,
                      "A VM named \"%s\" already exists and virtrigaud does "
                      "not manage it; set \"adopt\": true in the spec to "
                      "take it over.",
                      vm.name);
    if (vm.spec_hash[0] && strcmp(vm.spec_hash, s->hash))
        return vs_err(err, VRT_E_EXISTS,
                      "VM \"%s\" already exists with a different spec; "
                      "reconfigure or delete it instead.",
                      vm.name);
    vs_strlcpy(id, vm.uuid, VRT_ID_MAX);
    vs_log(c, VRT_LOG_INFO, "VM \"%s\" already exists (id %s); nothing to "
           "create.", vm.name, vm.uuid);
    return VRT_OK;
}

/* cloud-init's VMware datasource reads guestinfo.userdata / .metadata. */
static void guestinfo(vs_buf *b, const char *key, const uint8_t *data,
                      size_t len)
{
    char *enc;

    if (!data || !len)
        return;
    enc = vs_xcalloc(1, 4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)enc, data, (int)len);
    vs_buf_add(b, "<extraConfig xsi:type=\"OptionValue\"><key>guestinfo.%s"
                  "</key><value xsi:type=\"xsd:string\">%s</value>"
                  "</extraConfig><extraConfig xsi:type=\"OptionValue\"><key>"
                  "guestinfo.%s.encoding</key><value xsi:type=\"xsd:string\">"
                  "base64</value></extraConfig>",
               key, enc, key);
    free(enc);
}

static void clone_body(vs_buf *b, const vs_vm *src, const char *name,
                       const vs_place *p, const vs_spec *s,
                       const char *uuid, const vrt_vm_spec *vm)
{
    vs_buf_add(b, "<CloneVM_Task xmlns=\"urn:vim25\"><_this "
                  "type=\"VirtualMachine\">");
    vs_buf_esc(b, src->ref);
    vs_buf_add(b, "</_this><folder type=\"Folder\">");
    vs_buf_esc(b, p->folder);
    vs_buf_add(b, "</folder>");
    vs_buf_elem(b, "name", name);
    vs_buf_add(b, "<spec><location>");
    if (p->datastore[0]) {
        vs_buf_add(b, "<datastore type=\"Datastore\">");
        vs_buf_esc(b, p->datastore);
        vs_buf_add(b, "</datastore>");
    }
    vs_buf_add(b, "<pool type=\"ResourcePool\">");
    vs_buf_esc(b, p->pool);
    vs_buf_add(b, "</pool>");
    if (p->host[0]) {
        vs_buf_add(b, "<host type=\"HostSystem\">");
        vs_buf_esc(b, p->host);
        vs_buf_add(b, "</host>");
    }
    vs_buf_add(b, "</location><template>false</template><config>");
    vs_buf_elem(b, "instanceUuid", uuid);
    vs_buf_add(b, "<numCPUs>%u</numCPUs><memoryMB>%llu</memoryMB>",
               (unsigned)s->cpu, (unsigned long long)s->memory_mib);
    vs_buf_add(b, "<extraConfig xsi:type=\"OptionValue\"><key>"
                  "virtrigaud.spec</key><value xsi:type=\"xsd:string\">%s"
                  "</value></extraConfig>",
               s->hash);
    if (vm) {
        guestinfo(b, "userdata", vm->user_data, vm->user_data_len);
        guestinfo(b, "metadata", vm->meta_data, vm->meta_data_len);
    }
    vs_buf_add(b, "</config><powerOn>false</powerOn></spec></CloneVM_Task>");
}

/* Clones src into a new VM `name`; writes its id and a task. */
static int start_clone(char id[VRT_ID_MAX], vrt_task_ref *task, vrt_conn *c,
                       const vrt_call *call, const vs_vm *src,
                       const char *name, const vs_spec *s,
                       const vrt_vm_spec *vm, vrt_error *err)
{
    vs_task t;
    vs_place p;
    vs_buf b = {0};
    char uuid[37];
    int rc;

    if ((rc = place(&p, c, call, s, src, err)) < 0)
        return rc;
    vs_uuid_new(uuid);
    clone_body(&b, src, name, &p, s, uuid, vm);
    memset(&t, 0, sizeof(t));
    rc = vs_task_start(t.vim, c, call, b.s, "Cloning the VM", err);
    vs_buf_free(&b);
    if (rc < 0)
        return rc;
    t.kind = VS_TASK_CREATE;
    vs_strlcpy(t.vm, uuid, sizeof(t.vm));
    t.cpu = s->cpu;
    t.memory_mib = s->memory_mib;
    vs_strlcpy(t.host, p.host, sizeof(t.host));
    vs_strlcpy(t.hash, s->hash, sizeof(t.hash));
    vs_tasks_add(task, c, &t);
    vs_strlcpy(id, uuid, VRT_ID_MAX);
    vs_log(c, VRT_LOG_INFO, "Cloning \"%s\" into VM \"%s\" (id %s, task %s).",
           src->name, name, uuid, t.vim);
    return VRT_OK;
}

int32_t vs_create(char id[VRT_ID_MAX], vrt_task_ref *task, vrt_conn *c,
                  const vrt_call *call, const vrt_vm_spec *spec,
                  uint32_t flags, vrt_error *err)
{
    scan_ctx sc;
    vs_spec *s = NULL;
    int rc;

    if (id)
        id[0] = '\0';
    if (task)
        task->id[0] = '\0';
    if ((rc = vs_flags_ok(flags, "create", err)) < 0 ||
        (rc = vs_call_check(call, "create", err)) < 0)
        return rc;
    if (!c || !id || !spec || spec->struct_size < sizeof(vrt_vm_spec))
        return vs_err(err, VRT_E_INVALID,
                      "create needs a connection, an id buffer and a spec.");
    if (spec->flags)
        return vs_err(err, VRT_E_INVALID,
                      "The VM spec has flags 0x%x; they must be 0.",
                      (unsigned)spec->flags);
    if ((rc = name_ok(spec->name, err)) < 0 ||
        (rc = vs_spec_parse(&s, spec->spec_json, err)) < 0)
        return rc;
    if (spec->user_data_len > VS_GUESTINFO_MAX ||
        spec->meta_data_len > VS_GUESTINFO_MAX) {
        rc = vs_err(err, VRT_E_INVALID,
                    "The cloud-init user-data or meta-data is larger than "
                    "%u KiB, too large for guestinfo.",
                    VS_GUESTINFO_MAX / 1024);
        goto cleanup;
    }
    memset(&sc, 0, sizeof(sc));
    sc.name = spec->name;
    sc.tmpl = s->template_name;
    if ((rc = vs_vm_each(c, call, 0, scan_one, &sc, err)) < 0)
        goto cleanup;
    if (sc.have_same) {
        rc = existing(id, c, call, &sc.same, s, err);
        goto cleanup;
    }
    if (!s->template_name) {
        rc = vs_err(err, VRT_E_INVALID,
                    "Spec field \"image.templateName\" is required: the "
                    "vSphere provider makes VMs by cloning a template.");
        goto cleanup;
    }
    if (!sc.have_source) {
        rc = vs_err(err, VRT_E_NOTFOUND,
                    "The template \"%s\" (image.templateName) does not "
                    "exist.",
                    s->template_name);
        goto cleanup;
    }
    rc = start_clone(id, task, c, call, &sc.source, spec->name, s, spec, err);

cleanup:
    vs_spec_free(s);
    return rc;
}

int32_t vs_clone(char target_id[VRT_ID_MAX], vrt_task_ref *task, vrt_conn *c,
                 const vrt_call *call, const vrt_clone_spec *spec,
                 uint32_t flags, vrt_error *err)
{
    scan_ctx sc;
    vs_vm src;
    vs_spec *s = NULL;
    int rc;

    if (target_id)
        target_id[0] = '\0';
    if (task)
        task->id[0] = '\0';
    if ((rc = vs_flags_ok(flags, "clone", err)) < 0 ||
        (rc = vs_call_check(call, "clone", err)) < 0)
        return rc;
    if (!c || !target_id || !spec ||
        spec->struct_size < sizeof(vrt_clone_spec) || !spec->source_vm_id)
        return vs_err(err, VRT_E_INVALID,
                      "clone needs a connection, an id buffer and a spec "
                      "naming the source VM.");
    if (spec->linked || spec->snapshot_id)
        return vs_err(err, VRT_E_NOTSUPP,
                      "The vSphere provider makes full clones of a VM's "
                      "current state only; linked clones and clones of a "
                      "snapshot are not implemented.");
    if ((rc = name_ok(spec->target_name, err)) < 0 ||
        (rc = vs_spec_parse(&s, spec->spec_json, err)) < 0)
        return rc;
    if ((rc = vs_vm_need(&src, NULL, c, call, spec->source_vm_id, err)) < 0)
        goto cleanup;
    /* keep the source's hardware unless the spec says otherwise */
    if (!s->has_cpu)
        s->cpu = src.cpus;
    if (!s->has_memory)
        s->memory_mib = src.memory_mib;
    memset(&sc, 0, sizeof(sc));
    sc.name = spec->target_name;
    if ((rc = vs_vm_each(c, call, 0, scan_one, &sc, err)) < 0)
        goto cleanup;
    if (sc.have_same) {
        rc = existing(target_id, c, call, &sc.same, s, err);
        goto cleanup;
    }
    rc = start_clone(target_id, task, c, call, &src, spec->target_name, s,
                     NULL, err);

cleanup:
    vs_spec_free(s);
    return rc;
}

/* ---- destroy -------------------------------------------------------------------- */

static int simple_task(char vim[VS_REF_MAX], vrt_conn *c, const vrt_call *call,
                       const char *method, const char *ref, const char *what,
                       vrt_error *err)
{
    vs_buf b = {0};
    int rc;

    vs_buf_add(&b, "<%s xmlns=\"urn:vim25\"><_this type=\"VirtualMachine\">",
               method);
    vs_buf_esc(&b, ref);
    vs_buf_add(&b, "</_this></%s>", method);
    rc = vs_task_start(vim, c, call, b.s, what, err);
    vs_buf_free(&b);
    return rc;
}

int32_t vs_destroy(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                   const char *id, uint32_t flags, vrt_error *err)
{
    char vim[VS_REF_MAX];
    vs_vm vm;
    int rc;

    if (task)
        task->id[0] = '\0';
    if ((rc = vs_flags_ok(flags, "destroy", err)) < 0 ||
        (rc = vs_call_check(call, "destroy", err)) < 0)
        return rc;
    if (!c || !id)
        return vs_err(err, VRT_E_INVALID, "destroy needs a connection and "
                                          "a VM id.");
    if ((rc = vs_vm_need(&vm, NULL, c, call, id, err)) < 0)
        return rc;
    if (vm.is_template)
        return vs_err(err, VRT_E_CONFLICT,
                      "\"%s\" is a template; virtrigaud does not delete "
                      "templates.",
                      vm.name);
    /* vSphere refuses to destroy a running VM */
    if (vm.power != VRT_POWER_OFF) {
        if ((rc = simple_task(vim, c, call, "PowerOffVM_Task", vm.ref,
                              "Powering the VM off before deleting it",
                              err)) < 0 ||
            (rc = vs_vimtask_wait(NULL, c, call, vim,
                                  "Powering the VM off before deleting it",
                                  err)) < 0)
            return rc;
    }
    if ((rc = simple_task(vim, c, call, "Destroy_Task", vm.ref,
                          "Deleting the VM", err)) < 0)
        return rc;
    vs_task_ref_vim(task, vim);
    vs_log(c, VRT_LOG_INFO, "Deleting VM \"%s\" (id %s, task %s).", vm.name,
           vm.uuid, vim);
    return VRT_OK;
}
