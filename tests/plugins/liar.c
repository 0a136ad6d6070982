/*
 * liar.c - a plugin that loads fine and then breaks the contract in its
 * answers, so that the host's call wrappers have something to clean up:
 *
 *   validate      fails with VRT_E_CONFLICT and leaves the record empty
 *   capabilities  returns 4242, a positive (undefined) code
 *   create        says VRT_OK but writes no VM id
 *   destroy       VRT_E_UNAVAILABLE with a record that disagrees (code 0,
 *                 class 77) and a message of 256 'A's, unterminated
 *   power         VRT_OK with a task id of 128 'B's, unterminated
 *   describe      allocates raw_json, then returns 12345, not a VRT_E_*
 *   task_status   "done" with percent 250 and an error code of -777
 *   list_vms      one item whose strings are unterminated, with
 *                 ip_count 999 and power_state 42
 *   snapshot_create  VRT_OK without a snapshot id
 * Every lie is in a method, never in the vtable, so the loader accepts it.
 */
#include "stub.h"

#define LIAR_UNKNOWN_CODE 12345
#define LIAR_TASK_CODE (-777)
#define LIAR_POSITIVE_CODE 4242

static const vrt_host_api *liar_host;

static int32_t liar_validate(vrt_conn *conn, const vrt_call *call,
                             uint32_t flags, vrt_error *err)
{
    (void)conn;
    (void)call;
    (void)flags;
    (void)err;
    return VRT_E_CONFLICT;
}

static int32_t liar_capabilities(vrt_caps *out, vrt_conn *conn,
                                 const vrt_call *call, uint32_t flags,
                                 vrt_error *err)
{
    (void)out;
    (void)conn;
    (void)call;
    (void)flags;
    (void)err;
    return LIAR_POSITIVE_CODE;
}

static int32_t liar_create(char id[VRT_ID_MAX], vrt_task_ref *task,
                           vrt_conn *conn, const vrt_call *call,
                           const vrt_vm_spec *spec, uint32_t flags,
                           vrt_error *err)
{
    (void)conn;
    (void)call;
    (void)spec;
    (void)flags;
    (void)err;
    id[0] = '\0';
    task->id[0] = '\0';
    return VRT_OK;
}

static int32_t liar_destroy(vrt_task_ref *task, vrt_conn *conn,
                            const vrt_call *call, const char *id,
                            uint32_t flags, vrt_error *err)
{
    (void)task;
    (void)conn;
    (void)call;
    (void)id;
    (void)flags;
    err->code = 0;
    err->klass = 77;
    memset(err->message, 'A', sizeof(err->message));
    return VRT_E_UNAVAILABLE;
}

static int32_t liar_power(vrt_task_ref *task, vrt_conn *conn,
                          const vrt_call *call, const char *id, int32_t op,
                          uint32_t graceful_timeout_s, uint32_t flags,
                          vrt_error *err)
{
    (void)conn;
    (void)call;
    (void)id;
    (void)op;
    (void)graceful_timeout_s;
    (void)flags;
    (void)err;
    memset(task->id, 'B', sizeof(task->id));
    return VRT_OK;
}

static int32_t liar_describe(vrt_vm_info *out, vrt_conn *conn,
                             const vrt_call *call, const char *id,
                             uint32_t flags, vrt_error *err)
{
    static const char raw[] = "{\"leaked\":\"unless the host frees it\"}";
    (void)conn;
    (void)call;
    (void)id;
    (void)flags;
    /* Memory the caller owns even when the call then fails. */
    if (VRT_HAS_MEMBER(out, vrt_vm_info, raw_json)) {
        out->raw_json = liar_host->alloc(sizeof(raw));
        if (out->raw_json)
            memcpy(out->raw_json, raw, sizeof(raw));
    }
    stub_err(err, LIAR_UNKNOWN_CODE, "The liar made this code up.");
    return LIAR_UNKNOWN_CODE;
}

static int32_t liar_task_status(vrt_task_status *out, vrt_conn *conn,
                                const vrt_call *call, const char *task_id,
                                uint32_t flags, vrt_error *err)
{
    (void)conn;
    (void)call;
    (void)task_id;
    (void)flags;
    (void)err;
    out->done = 1;
    out->percent = 250;
    out->error.code = LIAR_TASK_CODE;
    memset(out->error.message, 'C', sizeof(out->error.message));
    return VRT_OK;
}

static int32_t liar_list_vms(vrt_conn *conn, const vrt_call *call,
                             vrt_visit_fn visit, void *opaque, uint32_t flags,
                             vrt_error *err)
{
    vrt_vm_info item;
    (void)conn;
    (void)call;
    (void)flags;
    (void)err;
    memset(&item, 'D', sizeof(item));
    item.struct_size = sizeof(item);
    item.exists = 1;
    item.power_state = 42;
    item.ip_count = 999;
    item.raw_json = NULL;
    visit(opaque, &item);
    return VRT_OK;
}

static int32_t liar_snapshot_create(char snapshot_id[VRT_ID_MAX],
                                    vrt_task_ref *task, vrt_conn *conn,
                                    const vrt_call *call, const char *vm_id,
                                    const vrt_snapshot_spec *spec,
                                    uint32_t flags, vrt_error *err)
{
    (void)conn;
    (void)call;
    (void)vm_id;
    (void)spec;
    (void)flags;
    (void)err;
    snapshot_id[0] = '\0';
    task->id[0] = '\0';
    return VRT_OK;
}

static const vrt_provider liar_vtable = {
    .abi = VRT_ABI_VERSION,
    .struct_size = sizeof(vrt_provider),
    .name = "liar",
    .version = "1.0.0-test",
    .open = stub_open,
    .close = stub_close,
    .validate = liar_validate,
    .capabilities = liar_capabilities,
    .create = liar_create,
    .destroy = liar_destroy,
    .power = liar_power,
    .describe = liar_describe,
    .task_status = liar_task_status,
    .list_vms = liar_list_vms,
    .snapshot_create = liar_snapshot_create,
};

VRT_PROVIDER_EXPORT int32_t vrt_provider_entry(const vrt_host_api *host,
                                               uint32_t host_abi,
                                               const vrt_provider **out,
                                               vrt_error *err);

VRT_PROVIDER_EXPORT int32_t vrt_provider_entry(const vrt_host_api *host,
                                               uint32_t host_abi,
                                               const vrt_provider **out,
                                               vrt_error *err)
{
    *out = NULL;
    if (VRT_ABI_MAJOR_OF(host_abi) != VRT_ABI_MAJOR || !host ||
        host->struct_size < VRT_HOST_API_SIZE_1_0)
        return stub_err(err, VRT_E_NOTSUPP, "The liar needs an ABI 1 host.");
    liar_host = host;
    *out = &liar_vtable;
    return VRT_OK;
}
