/*
 * fuzz_remote_wire.c - libFuzzer driver for the provider-host wire as the
 * manager reads it (core/plugin/remote_wire.c frames, core/plugin/
 * remote_codec.c values): whatever answers on a provider host's socket is
 * untrusted until TLS proves who it is, and a compromised host must not
 * take the manager down.
 *
 * The input is sent down a socketpair and read back as frames until the
 * stream ends or is refused; each JSON message is decoded as every value
 * type the manager reads (VM info, task status, disk, console, host,
 * error).  Refusals carry a message; decoded strings stay terminated.
 */
#include <vrt/remote.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_wire_fail(const char *what)
{
    fprintf(stderr, "fuzz_remote_wire: %s\n", what);
    abort();
}

static void fuzz_wire_decode(const cJSON *msg)
{
    vrt_vm_info vm;
    vm.struct_size = sizeof(vm);
    vrt_codec_vm_info_read(&vm, msg, 1);
    if (!memchr(vm.name, '\0', sizeof(vm.name)) ||
        !memchr(vm.id, '\0', sizeof(vm.id)) || vm.ip_count > VRT_IPS_MAX)
        fuzz_wire_fail("a VM info field is not terminated");
    vrt_host_api_get()->free(vm.raw_json);

    vrt_task_status ts;
    ts.struct_size = sizeof(ts);
    vrt_codec_task_status_read(&ts, msg);
    vrt_disk_info di;
    di.struct_size = sizeof(di);
    vrt_codec_disk_info_read(&di, msg);
    if (!memchr(di.path, '\0', sizeof(di.path)))
        fuzz_wire_fail("a disk path is not terminated");
    vrt_console_info ci;
    ci.struct_size = sizeof(ci);
    vrt_codec_console_read(&ci, msg);
    vrt_host_info hi;
    hi.struct_size = sizeof(hi);
    vrt_codec_host_info_read(&hi, msg);
    vrt_error e = VRT_ERROR_INIT;
    vrt_wire_error_read(&e, cJSON_GetObjectItem(msg, "error"));
    if (!memchr(e.message, '\0', sizeof(e.message)))
        fuzz_wire_fail("an error message is not terminated");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    if (size > 131072 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    int buf = (int)size + 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(sv[0], data + off, size - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    shutdown(sv[0], SHUT_WR);
    vrt_chan ch = {sv[1], NULL};
    for (;;) {
        cJSON *msg = NULL;
        vrt_error err = VRT_ERROR_INIT;
        if (vrt_wire_recv_json(&msg, &ch, 0, &err) != VRT_OK) {
            if (!err.message[0])
                fuzz_wire_fail("a refused stream has no message");
            break;
        }
        fuzz_wire_decode(msg);
        cJSON_Delete(msg);
    }
    close(sv[0]);
    close(sv[1]);
    return 0;
}
