/*
 * oot_plugin.c - "oot", a small but complete provider plugin built the way
 * a third party builds one: out of the tree, against the installed
 * <virtrigaud/provider.h> alone, linking nothing from virtrigaud.
 *
 *   cc -std=c11 -shared -fPIC -fvisibility=hidden -pthread \
 *      -I$PREFIX/include -Wl,--no-undefined -o oot.so oot_plugin.c
 *   vcts --endpoint oot://anything ./oot.so
 *
 * VMs live in memory, shared by every connection to the same endpoint, and
 * every call completes at once (no tasks).  It implements the mandatory
 * methods, list_vms, graceful shutdown and, when built for ABI 1.1 or
 * later, console.  Build it with -DVRT_ABI_TARGET_MINOR=0 for a plugin that
 * also loads in ABI 1.0 hosts (tests/abi/minors.sh does).
 *
 * spec_json must be a JSON object; "cpu" and "memoryMiB" are honoured when
 * present, every other key is ignored, as docs/abi.md asks.
 */
#define _POSIX_C_SOURCE 200809L

#include <virtrigaud/provider.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OOT_NAME "oot"
#define OOT_VERSION "0.1.0"
#define OOT_PREFIX "oot://"
#define OOT_DEFAULT_CPUS 1u
#define OOT_DEFAULT_MEMORY_MIB 512u
#define OOT_JSON_MAX_DEPTH 64

#if VRT_ABI_TARGET_MINOR >= 1
#define OOT_CAPS (VRT_CAP_LIST_VMS | VRT_CAP_GRACEFUL_SHUTDOWN | VRT_CAP_CONSOLE)
#else
#define OOT_CAPS (VRT_CAP_LIST_VMS | VRT_CAP_GRACEFUL_SHUTDOWN)
#endif

/* ---- state --------------------------------------------------------------- */

typedef struct oot_vm {
    char id[VRT_ID_MAX];
    char name[VRT_NAME_MAX];
    char *spec_json; /* as created, for idempotent create */
    unsigned seq;
    int32_t power;
    uint32_t cpus;
    uint64_t memory_mib;
} oot_vm;

/* Everything connections to one endpoint share, under `lock`. */
typedef struct oot_state {
    struct oot_state *next;
    char *endpoint;
    unsigned refs; /* under states_lock */
    pthread_mutex_t lock;
    oot_vm *vms;
    size_t nvms, capvms;
    unsigned next_seq;
} oot_state;

struct vrt_conn {
    vrt_host_ctx *ctx;
    oot_state *state;
};

static const vrt_host_api *host;
static pthread_mutex_t states_lock = PTHREAD_MUTEX_INITIALIZER;
static oot_state *states;

/* ---- helpers ------------------------------------------------------------- */

static int32_t oot_err(vrt_error *err, int32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int32_t oot_err(vrt_error *err, int32_t code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    memset(err, 0, sizeof(*err));
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}

static void oot_log(vrt_host_ctx *ctx, int32_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void oot_log(vrt_host_ctx *ctx, int32_t level, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (!host->log_enabled(ctx, level))
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    host->log(ctx, level, line);
}

static char *oot_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* The checks every call starts with: flag bits, and cancellation. */
static int32_t oot_begin(const vrt_call *call, uint32_t flags,
                         const char *method, vrt_error *err)
{
    if (flags)
        return oot_err(err, VRT_E_INVALID,
                       "%s: unknown flags 0x%x; this plugin knows none.",
                       method, (unsigned)flags);
    if (call && call->flags)
        return oot_err(err, VRT_E_INVALID,
                       "%s: unknown vrt_call flags 0x%x.", method,
                       (unsigned)call->flags);
    if (call && host->cancelled(call->ctx))
        return oot_err(err, VRT_E_CANCELED,
                       "%s: the host cancelled the call.", method);
    return VRT_OK;
}

/* Under state->lock. */
static oot_vm *vm_find(oot_state *st, const char *id)
{
    for (size_t i = 0; id && i < st->nvms; i++)
        if (strcmp(st->vms[i].id, id) == 0)
            return &st->vms[i];
    return NULL;
}

static int32_t vm_missing(const char *method, const char *id, vrt_error *err)
{
    return oot_err(err, VRT_E_NOTFOUND, "%s: VM \"%s\" does not exist.",
                   method, id ? id : "(null)");
}

/* ---- a JSON reader, just enough for spec_json ---------------------------- */

typedef struct json_in {
    const char *p;
    int depth;
    /* top-level numbers we honour; -1 when absent */
    long long cpu, memory_mib;
    const char *bad_key; /* a key we honour with a value we cannot take */
} json_in;

static int json_value(json_in *in, const char *key);

static void json_ws(json_in *in)
{
    while (*in->p == ' ' || *in->p == '\t' || *in->p == '\n' || *in->p == '\r')
        in->p++;
}

static int json_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

/* A string; its raw text (escapes not decoded) goes to buf when given. */
static int json_string(json_in *in, char *buf, size_t size)
{
    size_t n = 0;

    if (*in->p != '"')
        return -1;
    in->p++;
    while (*in->p != '"') {
        unsigned char c = (unsigned char)*in->p;
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            in->p++;
            if (*in->p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!json_hex(in->p[i]))
                        return -1;
                in->p += 4;
            } else if (!*in->p || !strchr("\"\\/bfnrt", *in->p)) {
                return -1;
            }
        }
        if (buf && n + 1 < size)
            buf[n++] = (char)c;
        in->p++;
    }
    in->p++;
    if (buf)
        buf[n] = '\0';
    return 0;
}

static int json_number(json_in *in, long long *integer)
{
    const char *start = in->p;
    int is_int = 1;

    if (*in->p == '-')
        in->p++;
    if (*in->p == '0')
        in->p++;
    else if (*in->p >= '1' && *in->p <= '9')
        while (*in->p >= '0' && *in->p <= '9')
            in->p++;
    else
        return -1;
    if (*in->p == '.') {
        is_int = 0;
        in->p++;
        if (!(*in->p >= '0' && *in->p <= '9'))
            return -1;
        while (*in->p >= '0' && *in->p <= '9')
            in->p++;
    }
    if (*in->p == 'e' || *in->p == 'E') {
        is_int = 0;
        in->p++;
        if (*in->p == '+' || *in->p == '-')
            in->p++;
        if (!(*in->p >= '0' && *in->p <= '9'))
            return -1;
        while (*in->p >= '0' && *in->p <= '9')
            in->p++;
    }
    *integer = -1;
    if (is_int && in->p - start < 18 && *start != '-')
        *integer = strtoll(start, NULL, 10);
    return 0;
}

static int json_literal(json_in *in, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(in->p, word, n) != 0)
        return -1;
    in->p += n;
    return 0;
}

static int json_members(json_in *in, int top)
{
    char key[64];

    in->p++; /* '{' */
    json_ws(in);
    if (*in->p == '}') {
        in->p++;
        return 0;
    }
    for (;;) {
        json_ws(in);
        if (json_string(in, key, sizeof(key)) != 0)
            return -1;
        json_ws(in);
        if (*in->p++ != ':')
            return -1;
        json_ws(in);
        if (json_value(in, top ? key : NULL) != 0)
            return -1;
        json_ws(in);
        if (*in->p == '}') {
            in->p++;
            return 0;
        }
        if (*in->p++ != ',')
            return -1;
    }
}

static int json_elements(json_in *in)
{
    in->p++; /* '[' */
    json_ws(in);
    if (*in->p == ']') {
        in->p++;
        return 0;
    }
    for (;;) {
        json_ws(in);
        if (json_value(in, NULL) != 0)
            return -1;
        json_ws(in);
        if (*in->p == ']') {
            in->p++;
            return 0;
        }
        if (*in->p++ != ',')
            return -1;
    }
}

/* One value; `key` is its name when it is a member of the top object. */
static int json_value(json_in *in, const char *key)
{
    long long num = -1;
    int rc;

    if (++in->depth > OOT_JSON_MAX_DEPTH)
        return -1;
    switch (*in->p) {
    case '{': rc = json_members(in, 0); break;
    case '[': rc = json_elements(in); break;
    case '"': rc = json_string(in, NULL, 0); break;
    case 't': rc = json_literal(in, "true"); break;
    case 'f': rc = json_literal(in, "false"); break;
    case 'n': rc = json_literal(in, "null"); break;
    default: rc = json_number(in, &num); break;
    }
    in->depth--;
    if (rc != 0 || !key)
        return rc;
    if (strcmp(key, "cpu") == 0) {
        in->cpu = num;
        if (num < 1 || num > 1024)
            in->bad_key = "cpu";
    } else if (strcmp(key, "memoryMiB") == 0) {
        in->memory_mib = num;
        if (num < 1 || num > (1ll << 32))
            in->bad_key = "memoryMiB";
    }
    return 0;
}

/* Reads spec_json: a JSON object, with cpu and memoryMiB if present. */
static int32_t spec_read(uint32_t *cpus, uint64_t *memory_mib,
                         const char *json, vrt_error *err)
{
    json_in in = {.p = json, .cpu = -1, .memory_mib = -1};

    if (!json)
        return oot_err(err, VRT_E_INVALID, "create: spec_json is NULL.");
    json_ws(&in);
    if (*in.p != '{')
        return oot_err(err, VRT_E_INVALID,
                       "create: spec_json must be a JSON object.");
    in.depth = 1;
    if (json_members(&in, 1) != 0)
        return oot_err(err, VRT_E_INVALID,
                       "create: spec_json is not valid JSON (near byte "
                       "%ld).",
                       (long)(in.p - json));
    json_ws(&in);
    if (*in.p)
        return oot_err(err, VRT_E_INVALID,
                       "create: spec_json has text after its object.");
    if (in.bad_key)
        return oot_err(err, VRT_E_INVALID,
                       "create: spec_json key \"%s\" must be a positive "
                       "integer this plugin can give.",
                       in.bad_key);
    *cpus = in.cpu > 0 ? (uint32_t)in.cpu : OOT_DEFAULT_CPUS;
    *memory_mib =
        in.memory_mib > 0 ? (uint64_t)in.memory_mib : OOT_DEFAULT_MEMORY_MIB;
    return VRT_OK;
}

/* ---- connections ---------------------------------------------------------- */

static oot_state *state_get(const char *endpoint)
{
    oot_state *st;

    pthread_mutex_lock(&states_lock);
    for (st = states; st; st = st->next)
        if (strcmp(st->endpoint, endpoint) == 0)
            break;
    if (!st) {
        st = calloc(1, sizeof(*st));
        if (st && !(st->endpoint = oot_strdup(endpoint))) {
            free(st);
            st = NULL;
        }
        if (st) {
            pthread_mutex_init(&st->lock, NULL);
            st->next = states;
            states = st;
        }
    }
    if (st)
        st->refs++;
    pthread_mutex_unlock(&states_lock);
    return st;
}

static void state_put(oot_state *st)
{
    pthread_mutex_lock(&states_lock);
    if (--st->refs > 0) {
        pthread_mutex_unlock(&states_lock);
        return;
    }
    for (oot_state **pp = &states; *pp; pp = &(*pp)->next)
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    pthread_mutex_unlock(&states_lock);
    for (size_t i = 0; i < st->nvms; i++)
        free(st->vms[i].spec_json);
    free(st->vms);
    free(st->endpoint);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static int32_t oot_open(vrt_conn **out, const vrt_conn_params *params,
                        uint32_t flags, vrt_error *err)
{
    vrt_conn *c;

    *out = NULL;
    if (flags)
        return oot_err(err, VRT_E_INVALID, "open: unknown flags 0x%x.",
                       (unsigned)flags);
    if (!params || params->struct_size < sizeof(vrt_conn_params))
        return oot_err(err, VRT_E_INVALID,
                       "open: the connection parameters are missing.");
    if (params->flags)
        return oot_err(err, VRT_E_INVALID,
                       "open: unknown vrt_conn_params flags 0x%x.",
                       (unsigned)params->flags);
    if (!params->endpoint ||
        strncmp(params->endpoint, OOT_PREFIX, strlen(OOT_PREFIX)) != 0)
        return oot_err(err, VRT_E_INVALID,
                       "open: endpoint \"%s\" must start with \"" OOT_PREFIX
                       "\".",
                       params->endpoint ? params->endpoint : "");
    c = calloc(1, sizeof(*c));
    if (!c || !(c->state = state_get(params->endpoint))) {
        free(c);
        return oot_err(err, VRT_E_RETRYABLE, "open: out of memory.");
    }
    c->ctx = params->ctx;
    oot_log(c->ctx, VRT_LOG_DEBUG, "Opened endpoint \"%s\".",
            params->endpoint);
    *out = c;
    return VRT_OK;
}

static void oot_close(vrt_conn *conn)
{
    if (!conn)
        return;
    state_put(conn->state);
    free(conn);
}

static int32_t oot_validate(vrt_conn *conn, const vrt_call *call,
                            uint32_t flags, vrt_error *err)
{
    (void)conn;
    return oot_begin(call, flags, "validate", err);
}

static int32_t oot_capabilities(vrt_caps *out, vrt_conn *conn,
                                const vrt_call *call, uint32_t flags,
                                vrt_error *err)
{
    int32_t rc = oot_begin(call, flags, "capabilities", err);

    (void)conn;
    if (rc != VRT_OK)
        return rc;
    if (VRT_HAS_MEMBER(out, vrt_caps, disk_formats))
        out->disk_formats = 0;
    if (VRT_HAS_MEMBER(out, vrt_caps, caps))
        out->caps = OOT_CAPS;
    return VRT_OK;
}

/* ---- VMs ------------------------------------------------------------------ */

static int32_t oot_create(char id[VRT_ID_MAX], vrt_task_ref *task,
                          vrt_conn *conn, const vrt_call *call,
                          const vrt_vm_spec *spec, uint32_t flags,
                          vrt_error *err)
{
    oot_state *st = conn->state;
    uint32_t cpus = 0;
    uint64_t mem = 0;
    char *copy;
    oot_vm *vm;
    int32_t rc;

    id[0] = '\0';
    task->id[0] = '\0';
    if ((rc = oot_begin(call, flags, "create", err)) != VRT_OK)
        return rc;
    if (!spec || spec->struct_size < sizeof(vrt_vm_spec))
        return oot_err(err, VRT_E_INVALID, "create: the spec is missing.");
    if (spec->flags)
        return oot_err(err, VRT_E_INVALID,
                       "create: unknown vrt_vm_spec flags 0x%x.",
                       (unsigned)spec->flags);
    if (!spec->name || !spec->name[0] || strlen(spec->name) >= VRT_NAME_MAX)
        return oot_err(err, VRT_E_INVALID,
                       "create: the VM name must be 1 to %d bytes.",
                       VRT_NAME_MAX - 1);
    if ((rc = spec_read(&cpus, &mem, spec->spec_json, err)) != VRT_OK)
        return rc;

    pthread_mutex_lock(&st->lock);
    for (size_t i = 0; i < st->nvms; i++) {
        if (strcmp(st->vms[i].name, spec->name) != 0)
            continue;
        /* The host may retry a create it lost the answer of. */
        if (strcmp(st->vms[i].spec_json, spec->spec_json) == 0) {
            memcpy(id, st->vms[i].id, VRT_ID_MAX);
            rc = VRT_OK;
        } else {
            rc = oot_err(err, VRT_E_EXISTS,
                         "create: another VM is already named \"%s\".",
                         spec->name);
        }
        pthread_mutex_unlock(&st->lock);
        return rc;
    }
    if (st->nvms == st->capvms) {
        size_t cap = st->capvms ? st->capvms * 2 : 8;
        oot_vm *grown = realloc(st->vms, cap * sizeof(*grown));
        if (!grown) {
            pthread_mutex_unlock(&st->lock);
            return oot_err(err, VRT_E_RETRYABLE, "create: out of memory.");
        }
        st->vms = grown;
        st->capvms = cap;
    }
    if (!(copy = oot_strdup(spec->spec_json))) {
        pthread_mutex_unlock(&st->lock);
        return oot_err(err, VRT_E_RETRYABLE, "create: out of memory.");
    }
    vm = &st->vms[st->nvms++];
    memset(vm, 0, sizeof(*vm));
    vm->seq = ++st->next_seq;
    snprintf(vm->id, sizeof(vm->id), "oot-%06u", vm->seq);
    snprintf(vm->name, sizeof(vm->name), "%s", spec->name);
    vm->spec_json = copy;
    vm->power = VRT_POWER_OFF;
    vm->cpus = cpus;
    vm->memory_mib = mem;
    memcpy(id, vm->id, VRT_ID_MAX);
    pthread_mutex_unlock(&st->lock);
    oot_log(conn->ctx, VRT_LOG_INFO, "Created VM \"%s\" vm_id=%s.",
            spec->name, id);
    return VRT_OK;
}

static int32_t oot_destroy(vrt_task_ref *task, vrt_conn *conn,
                           const vrt_call *call, const char *id,
                           uint32_t flags, vrt_error *err)
{
    oot_state *st = conn->state;
    oot_vm *vm;
    int32_t rc;

    task->id[0] = '\0';
    if ((rc = oot_begin(call, flags, "destroy", err)) != VRT_OK)
        return rc;
    pthread_mutex_lock(&st->lock);
    vm = vm_find(st, id);
    if (vm) {
        free(vm->spec_json);
        *vm = st->vms[--st->nvms];
    }
    pthread_mutex_unlock(&st->lock);
    return vm ? VRT_OK : vm_missing("destroy", id, err);
}

static int32_t oot_power(vrt_task_ref *task, vrt_conn *conn,
                         const vrt_call *call, const char *id, int32_t op,
                         uint32_t graceful_timeout_s, uint32_t flags,
                         vrt_error *err)
{
    oot_state *st = conn->state;
    oot_vm *vm;
    int32_t rc;

    (void)graceful_timeout_s; /* our guests shut down at once */
    task->id[0] = '\0';
    if ((rc = oot_begin(call, flags, "power", err)) != VRT_OK)
        return rc;
    if (op < VRT_POWER_OP_ON || op > VRT_POWER_OP_SHUTDOWN_GRACEFUL)
        return oot_err(err, VRT_E_INVALID,
                       "power: %d is not a power operation.", (int)op);
    pthread_mutex_lock(&st->lock);
    vm = vm_find(st, id);
    if (!vm)
        rc = vm_missing("power", id, err);
    else if (op == VRT_POWER_OP_REBOOT && vm->power != VRT_POWER_ON)
        rc = oot_err(err, VRT_E_CONFLICT,
                     "power: VM \"%s\" is not running, so it cannot reboot.",
                     id);
    else
        vm->power = op == VRT_POWER_OP_ON || op == VRT_POWER_OP_REBOOT
                        ? VRT_POWER_ON
                        : VRT_POWER_OFF;
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* Fills what `out->struct_size` covers; raw_json is left to the caller. */
static void vm_info_fill(vrt_vm_info *out, const oot_vm *vm)
{
    if (VRT_HAS_MEMBER(out, vrt_vm_info, exists))
        out->exists = 1;
    if (VRT_HAS_MEMBER(out, vrt_vm_info, power_state))
        out->power_state = vm->power;
    if (VRT_HAS_MEMBER(out, vrt_vm_info, ip_count))
        out->ip_count = vm->power == VRT_POWER_ON ? 1 : 0;
    if (VRT_HAS_MEMBER(out, vrt_vm_info, id))
        snprintf(out->id, sizeof(out->id), "%s", vm->id);
    if (VRT_HAS_MEMBER(out, vrt_vm_info, name))
        snprintf(out->name, sizeof(out->name), "%s", vm->name);
    if (VRT_HAS_MEMBER(out, vrt_vm_info, ips)) {
        memset(out->ips, 0, sizeof(out->ips));
        if (vm->power == VRT_POWER_ON)
            snprintf(out->ips[0], sizeof(out->ips[0]), "192.0.2.%u",
                     1 + vm->seq % 250);
    }
    if (VRT_HAS_MEMBER(out, vrt_vm_info, console_url))
        snprintf(out->console_url, sizeof(out->console_url),
                 "vnc://127.0.0.1:%u", 5900 + vm->seq % 1000);
    if (VRT_HAS_MEMBER(out, vrt_vm_info, cpus))
        out->cpus = vm->cpus;
    if (VRT_HAS_MEMBER(out, vrt_vm_info, memory_mib))
        out->memory_mib = vm->memory_mib;
}

static int32_t oot_describe(vrt_vm_info *out, vrt_conn *conn,
                            const vrt_call *call, const char *id,
                            uint32_t flags, vrt_error *err)
{
    oot_state *st = conn->state;
    unsigned seq = 0;
    oot_vm *vm;
    int32_t rc;

    if ((rc = oot_begin(call, flags, "describe", err)) != VRT_OK)
        return rc;
    pthread_mutex_lock(&st->lock);
    vm = vm_find(st, id);
    if (vm) {
        vm_info_fill(out, vm);
        seq = vm->seq;
    } else if (VRT_HAS_MEMBER(out, vrt_vm_info, exists)) {
        out->exists = 0;
    }
    pthread_mutex_unlock(&st->lock);
    /* Details the caller frees with host->free. */
    if (vm && VRT_HAS_MEMBER(out, vrt_vm_info, raw_json)) {
        char raw[64];
        int n = snprintf(raw, sizeof(raw), "{\"plugin\":\"oot\",\"seq\":%u}",
                         seq);
        out->raw_json = host->alloc((size_t)n + 1);
        if (out->raw_json)
            memcpy(out->raw_json, raw, (size_t)n + 1);
    }
    return VRT_OK;
}

static int32_t oot_task_status(vrt_task_status *out, vrt_conn *conn,
                               const vrt_call *call, const char *task_id,
                               uint32_t flags, vrt_error *err)
{
    int32_t rc = oot_begin(call, flags, "task_status", err);

    (void)out;
    (void)conn;
    if (rc != VRT_OK)
        return rc;
    /* Every call completes at once, so no task id is ever valid. */
    return oot_err(err, VRT_E_NOTFOUND, "task_status: task \"%s\" is unknown.",
                   task_id ? task_id : "(null)");
}

static int32_t oot_list_vms(vrt_conn *conn, const vrt_call *call,
                            vrt_visit_fn visit, void *opaque, uint32_t flags,
                            vrt_error *err)
{
    oot_state *st = conn->state;
    vrt_vm_info *items = NULL;
    size_t n = 0;
    int32_t rc;

    if ((rc = oot_begin(call, flags, "list_vms", err)) != VRT_OK)
        return rc;
    /* Copy under the lock, visit without it: the visitor may call us. */
    pthread_mutex_lock(&st->lock);
    if (st->nvms && !(items = calloc(st->nvms, sizeof(*items)))) {
        pthread_mutex_unlock(&st->lock);
        return oot_err(err, VRT_E_RETRYABLE, "list_vms: out of memory.");
    }
    for (n = 0; n < st->nvms; n++) {
        items[n].struct_size = sizeof(items[n]);
        vm_info_fill(&items[n], &st->vms[n]);
    }
    pthread_mutex_unlock(&st->lock);
    for (size_t i = 0; i < n; i++)
        if (visit(opaque, &items[i]) != 0)
            break;
    free(items);
    return VRT_OK;
}

#if VRT_ABI_TARGET_MINOR >= 1
static int32_t oot_console(vrt_console_info *out, vrt_conn *conn,
                           const vrt_call *call, const char *id,
                           uint32_t flags, vrt_error *err)
{
    oot_state *st = conn->state;
    unsigned seq = 0;
    oot_vm *vm;
    int32_t rc;

    if ((rc = oot_begin(call, flags, "console", err)) != VRT_OK)
        return rc;
    pthread_mutex_lock(&st->lock);
    if ((vm = vm_find(st, id)) != NULL)
        seq = vm->seq;
    pthread_mutex_unlock(&st->lock);
    if (!vm)
        return vm_missing("console", id, err);
    if (VRT_HAS_MEMBER(out, vrt_console_info, expires_ms))
        out->expires_ms = 0;
    if (VRT_HAS_MEMBER(out, vrt_console_info, url))
        snprintf(out->url, sizeof(out->url), "vnc://127.0.0.1:%u",
                 5900 + seq % 1000);
    if (VRT_HAS_MEMBER(out, vrt_console_info, kind))
        snprintf(out->kind, sizeof(out->kind), "vnc");
    return VRT_OK;
}
#endif

/* ---- the vtable and the entry ------------------------------------------- */

static const vrt_provider oot_vtable = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_provider),
    .caps = OOT_CAPS,
    .flags = 0, /* every method locks what it shares */
    .name = OOT_NAME,
    .version = OOT_VERSION,
    .open = oot_open,
    .close = oot_close,
    .validate = oot_validate,
    .capabilities = oot_capabilities,
    .create = oot_create,
    .destroy = oot_destroy,
    .power = oot_power,
    .describe = oot_describe,
    .task_status = oot_task_status,
    .list_vms = oot_list_vms,
#if VRT_ABI_TARGET_MINOR >= 1
    .console = oot_console,
#endif
};

VRT_PROVIDER_EXPORT int32_t vrt_provider_entry(const vrt_host_api *h,
                                               uint32_t host_abi,
                                               const vrt_provider **out,
                                               vrt_error *err);

VRT_PROVIDER_EXPORT int32_t vrt_provider_entry(const vrt_host_api *h,
                                               uint32_t host_abi,
                                               const vrt_provider **out,
                                               vrt_error *err)
{
    *out = NULL;
    if (VRT_ABI_MAJOR_OF(host_abi) != VRT_ABI_MAJOR)
        return oot_err(err, VRT_E_NOTSUPP,
                       "The oot provider is built for ABI major %u; the host "
                       "speaks %u.%u.",
                       (unsigned)VRT_ABI_MAJOR,
                       (unsigned)VRT_ABI_MAJOR_OF(host_abi),
                       (unsigned)VRT_ABI_MINOR_OF(host_abi));
    if (!h || h->struct_size < VRT_HOST_API_SIZE_1_0 || !h->log ||
        !h->log_enabled || !h->alloc || !h->free || !h->cancelled)
        return oot_err(err, VRT_E_NOTSUPP,
                       "The oot provider needs the host's log, alloc, free "
                       "and cancelled services.");
    host = h;
    *out = &oot_vtable;
    return VRT_OK;
}
