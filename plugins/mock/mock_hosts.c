/*
 * mock_hosts.c - the 1.1 methods: console and list_hosts.
 *
 * The mock has config "hosts" placement targets named mock-host-1..N, each
 * with 32 CPUs and 256 GiB; a VM lands on the host its spec_json names in
 * placement.host, else round robin by creation order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"

#define HOST_CPUS 32u
#define HOST_MEMORY_MIB (256ull * 1024ull)

/* The name of host number ((seq - 1) mod hosts) + 1. */
void mock_host_name(char out[VRT_NAME_MAX], uint64_t seq, uint32_t hosts)
{
    snprintf(out, VRT_NAME_MAX, "mock-host-%llu",
             (unsigned long long)((seq - 1) % hosts + 1));
}

int32_t mock_console(vrt_console_info *out, vrt_conn *conn,
                     const vrt_call *call, const char *id, uint32_t flags,
                     vrt_error *err)
{
    const mock_method m = MOCK_M_CONSOLE;
    vrt_console_info full;
    mock_vm *vm;
    int32_t rc = mock_check_call(conn, call, flags, m, err);

    if (rc == VRT_OK)
        rc = mock_check_arg(out, "out", m, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(id, "id", m, err);
    if (rc == VRT_OK && !VRT_HAS_MEMBER(out, vrt_console_info, reserved))
        rc = mock_err(err, VRT_E_INVALID,
                      "console: out->struct_size %u is too small.",
                      out->struct_size);
    if (rc == VRT_OK)
        rc = mock_require_cap(conn, VRT_CAP_CONSOLE, m, err);
    if (rc == VRT_OK)
        rc = mock_gate(NULL, conn, call, m, err);
    if (rc != VRT_OK)
        return rc;

    memset(&full, 0, sizeof(full));
    pthread_mutex_lock(&conn->state->lock);
    vm = mock_vm_find(conn->state, id);
    if (vm)
        snprintf(full.url, sizeof(full.url), "vnc://mock.invalid:%u",
                 5900u + (unsigned)(vm->seq % 100));
    pthread_mutex_unlock(&conn->state->lock);
    if (!vm)
        return mock_err(err, VRT_E_NOTFOUND, "console: no VM \"%.64s\".", id);
    mock_copy(full.kind, sizeof(full.kind), "vnc");
    mock_put_sized(out, &full, sizeof(full));
    return VRT_OK;
}

/* Index of host `name` among mock-host-1..n, or n when it is not one. */
static uint32_t host_index(const char *name, uint32_t n)
{
    static const char prefix[] = "mock-host-";
    char *end = NULL;
    unsigned long k;

    if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
        return n;
    k = strtoul(name + sizeof(prefix) - 1, &end, 10);
    return (*end || k < 1 || k > n) ? n : (uint32_t)(k - 1);
}

int32_t mock_list_hosts(vrt_conn *conn, const vrt_call *call,
                        vrt_visit_fn visit, void *opaque, uint32_t flags,
                        vrt_error *err)
{
    const mock_method m = MOCK_M_LIST_HOSTS;
    vrt_host_info *hosts = NULL;
    uint32_t n;
    int32_t rc = mock_check_call(conn, call, flags, m, err);

    if (rc == VRT_OK && !visit)
        rc = mock_err(err, VRT_E_INVALID,
                      "list_hosts: visit is required but NULL.");
    if (rc == VRT_OK)
        rc = mock_require_cap(conn, VRT_CAP_HOSTS, m, err);
    if (rc == VRT_OK)
        rc = mock_gate(NULL, conn, call, m, err);
    if (rc != VRT_OK)
        return rc;

    n = conn->cfg.hosts;
    hosts = calloc(n, sizeof(*hosts));
    if (!hosts)
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    for (uint32_t i = 0; i < n; i++) {
        hosts[i].struct_size = sizeof(hosts[i]);
        hosts[i].available = 1;
        hosts[i].cpus = HOST_CPUS;
        hosts[i].memory_mib = HOST_MEMORY_MIB;
        hosts[i].memory_free_mib = HOST_MEMORY_MIB;
        mock_host_name(hosts[i].name, i + 1, n);
    }
    /* Counted under the lock, visited outside it. */
    pthread_mutex_lock(&conn->state->lock);
    for (size_t v = 0; v < conn->state->nvms; v++) {
        const mock_vm *vm = conn->state->vms[v];
        uint32_t i = host_index(vm->host, n);

        if (i == n)
            continue;
        hosts[i].vm_count++;
        hosts[i].memory_free_mib -= vm->memory_mib < hosts[i].memory_free_mib
                                        ? vm->memory_mib
                                        : hosts[i].memory_free_mib;
    }
    pthread_mutex_unlock(&conn->state->lock);
    for (uint32_t i = 0; i < n; i++)
        if (visit(opaque, &hosts[i]))
            break;
    free(hosts);
    return VRT_OK;
}
