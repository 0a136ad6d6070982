/*
 * test_remote_wire.c - the provider-host wire (core/plugin/remote_wire.c)
 * and its codecs (remote_codec.c), without a host: frames over a
 * socketpair, and ABI structures through JSON and back.
 *
 * What must hold whatever the peer sends: frames arrive whole and in
 * order, a frame that is not ours or too large is refused before anything
 * is allocated for it, a peer that goes away or goes quiet is an error
 * with the right code (not a hang), and decoded strings and numbers stay
 * inside their fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vrt/clock.h>
#include <vrt/remote.h>

static void pair(vrt_chan *a, vrt_chan *b)
{
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    *a = (vrt_chan){fds[0], NULL};
    *b = (vrt_chan){fds[1], NULL};
}

static uint64_t soon(void)
{
    return vrt_now_ms() + 2000;
}

/* J and B frames, empty ones included, arrive whole and in order; a
 * frame bigger than one write (16 KiB) too. */
static void test_frames_round_trip(void **state)
{
    (void)state;
    vrt_chan a, b;
    vrt_error err = VRT_ERROR_INIT;
    pair(&a, &b);
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "op", "describe");
    cJSON_AddNumberToObject(msg, "flags", 3);
    size_t big = 100000;
    uint8_t *blob = malloc(big);
    assert_non_null(blob);
    for (size_t i = 0; i < big; i++)
        blob[i] = (uint8_t)(i * 31);
    /* 100 KB exceeds the socket buffer: send from a child. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int ok = vrt_wire_send_json(&a, msg, soon(), &err) == VRT_OK &&
                 vrt_wire_send(&a, VRT_WIRE_BLOB, "", 0, soon(), &err) == VRT_OK &&
                 vrt_wire_send(&a, VRT_WIRE_BLOB, blob, big, soon(), &err) == VRT_OK;
        _exit(ok ? 0 : 1);
    }
    cJSON *got = NULL;
    assert_int_equal(vrt_wire_recv_json(&got, &b, soon(), &err), VRT_OK);
    assert_string_equal(vrt_codec_str(got, "op"), "describe");
    assert_int_equal(vrt_codec_u64(got, "flags"), 3);
    cJSON_Delete(got);
    vrt_frame f;
    assert_int_equal(vrt_wire_recv(&f, &b, soon(), &err), VRT_OK);
    assert_int_equal(f.kind, VRT_WIRE_BLOB);
    assert_int_equal(f.len, 0);
    vrt_frame_clear(&f);
    assert_int_equal(vrt_wire_recv(&f, &b, soon(), &err), VRT_OK);
    assert_int_equal(f.kind, VRT_WIRE_BLOB);
    assert_int_equal(f.len, big);
    assert_memory_equal(f.data, blob, big);
    assert_int_equal(f.data[big], '\0'); /* terminated for text payloads */
    vrt_frame_clear(&f);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(blob);
    cJSON_Delete(msg);
    vrt_chan_close(&a);
    vrt_chan_close(&b);
}

/* Bytes that are not our framing (a TLS ClientHello, an oversized
 * length, an unknown kind) are refused with a sentence, not allocated. */
static void test_frames_refused(void **state)
{
    (void)state;
    static const struct {
        uint8_t head[5];
        const char *why;
    } cases[] = {
        {{0x16, 0x03, 0x01, 0x00, 0xc8}, "TLS record to a plaintext reader"},
        {{0x04, 0x00, 0x00, 0x01, 'J'}, "length over VRT_WIRE_MAX_FRAME"},
        {{0x00, 0x00, 0x00, 0x02, 'X'}, "unknown kind"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vrt_chan a, b;
        vrt_error err = VRT_ERROR_INIT;
        vrt_frame f;
        pair(&a, &b);
        assert_int_equal(write(a.fd, cases[i].head, 5), 5);
        int rc = vrt_wire_recv(&f, &b, soon(), &err);
        if (rc != VRT_E_INTERNAL)
            fail_msg("%s: got %d", cases[i].why, rc);
        assert_non_null(strstr(err.message, "does not speak"));
        vrt_chan_close(&a);
        vrt_chan_close(&b);
    }
    /* A B frame where a message must be: INTERNAL, no object. */
    vrt_chan a, b;
    vrt_error err = VRT_ERROR_INIT;
    pair(&a, &b);
    assert_int_equal(vrt_wire_send(&a, VRT_WIRE_BLOB, "{}", 2, soon(), &err), VRT_OK);
    assert_int_equal(vrt_wire_send(&a, VRT_WIRE_JSON, "[1]", 3, soon(), &err), VRT_OK);
    cJSON *got = (cJSON *)1;
    assert_int_equal(vrt_wire_recv_json(&got, &b, soon(), &err), VRT_E_INTERNAL);
    assert_null(got);
    assert_int_equal(vrt_wire_recv_json(&got, &b, soon(), &err), VRT_E_INTERNAL);
    assert_null(got);
    /* Sending over the limit is refused before a byte goes out. */
    assert_int_equal(vrt_wire_send(&a, VRT_WIRE_BLOB, "", VRT_WIRE_MAX_FRAME + 1u,
                                   soon(), &err),
                     VRT_E_INVALID);
    vrt_chan_close(&a);
    vrt_chan_close(&b);
}

/* A peer that stops mid-frame, or says nothing, or is gone. */
static void test_peer_failures(void **state)
{
    (void)state;
    vrt_chan a, b;
    vrt_error err = VRT_ERROR_INIT;
    vrt_frame f;
    pair(&a, &b);
    /* Quiet: the deadline ends the wait. */
    uint64_t t0 = vrt_now_ms();
    assert_int_equal(vrt_wire_recv(&f, &b, t0 + 200, &err), VRT_E_TIMEOUT);
    uint64_t waited = vrt_now_ms() - t0;
    assert_true(waited >= 150 && waited < 1500);
    /* A deadline already past fails at once. */
    assert_int_equal(vrt_wire_recv(&f, &b, 1, &err), VRT_E_TIMEOUT);
    /* Half a frame, then the peer closes. */
    uint8_t head[5] = {0, 0, 0, 10, 'B'};
    assert_int_equal(write(a.fd, head, 5), 5);
    assert_int_equal(write(a.fd, "abc", 3), 3);
    vrt_chan_close(&a);
    assert_int_equal(vrt_wire_recv(&f, &b, soon(), &err), VRT_E_UNAVAILABLE);
    assert_null(f.data);
    /* Writing to a closed peer: UNAVAILABLE, and no SIGPIPE kills us. */
    assert_int_equal(vrt_wire_send(&b, VRT_WIRE_BLOB, "x", 1, soon(), &err),
                     VRT_E_UNAVAILABLE);
    vrt_chan_close(&b);
}

/* vm_info through JSON: every field back; strings longer than their
 * array cut and terminated; more IPs than fit dropped. */
static void test_codec_vm_info(void **state)
{
    (void)state;
    vrt_vm_info in;
    memset(&in, 0, sizeof(in));
    in.struct_size = sizeof(in);
    in.exists = 1;
    in.power_state = VRT_POWER_ON;
    snprintf(in.id, sizeof(in.id), "vm-42");
    snprintf(in.name, sizeof(in.name), "web");
    snprintf(in.console_url, sizeof(in.console_url), "vnc://127.0.0.1:5901");
    in.cpus = 4;
    in.memory_mib = UINT64_C(1) << 40;
    in.ip_count = 2;
    snprintf(in.ips[0], VRT_IP_MAX, "10.0.0.5");
    snprintf(in.ips[1], VRT_IP_MAX, "fe80::1");
    cJSON *j = vrt_codec_vm_info(&in);
    vrt_vm_info out;
    out.struct_size = sizeof(out);
    vrt_codec_vm_info_read(&out, j, 0);
    assert_int_equal(out.struct_size, sizeof(out));
    assert_int_equal(out.exists, 1);
    assert_int_equal(out.power_state, VRT_POWER_ON);
    assert_string_equal(out.id, "vm-42");
    assert_string_equal(out.name, "web");
    assert_string_equal(out.console_url, "vnc://127.0.0.1:5901");
    assert_int_equal(out.cpus, 4);
    assert_true(out.memory_mib == UINT64_C(1) << 40);
    assert_int_equal(out.ip_count, 2);
    assert_string_equal(out.ips[1], "fe80::1");
    assert_null(out.raw_json);
    cJSON_Delete(j);

    /* A hostile peer: oversized strings, too many IPs, wrong types. */
    j = cJSON_CreateObject();
    char *longs = malloc(5000);
    assert_non_null(longs);
    memset(longs, 'a', 4999);
    longs[4999] = '\0';
    cJSON_AddStringToObject(j, "id", longs);
    cJSON_AddStringToObject(j, "name", longs);
    cJSON_AddStringToObject(j, "cpus", "many");
    cJSON_AddNumberToObject(j, "mem", -5);
    cJSON_AddNumberToObject(j, "power", 1e300);
    cJSON *ips = cJSON_AddArrayToObject(j, "ips");
    for (int i = 0; i < VRT_IPS_MAX + 5; i++)
        cJSON_AddItemToArray(ips, cJSON_CreateString(longs));
    vrt_codec_vm_info_read(&out, j, 0);
    assert_int_equal(strlen(out.id), sizeof(out.id) - 1);
    assert_int_equal(strlen(out.name), sizeof(out.name) - 1);
    assert_int_equal(out.ip_count, VRT_IPS_MAX);
    assert_int_equal(strlen(out.ips[VRT_IPS_MAX - 1]), VRT_IP_MAX - 1);
    assert_int_equal(out.cpus, 0);
    assert_true(out.memory_mib == 0);
    assert_int_equal(out.power_state, 0);
    free(longs);
    cJSON_Delete(j);
}

/* Numbers: masks as hex strings keep all 64 bits; out-of-range or
 * non-numbers read as 0. */
static void test_codec_numbers(void **state)
{
    (void)state;
    cJSON *j = cJSON_CreateObject();
    vrt_codec_add_mask(j, "caps", UINT64_C(0xfedcba9876543210));
    cJSON_AddNumberToObject(j, "neg", -3);
    cJSON_AddNumberToObject(j, "huge", 1e30);
    cJSON_AddStringToObject(j, "text", "x");
    assert_true(vrt_codec_u64(j, "caps") == UINT64_C(0xfedcba9876543210));
    assert_true(vrt_codec_u64(j, "neg") == 0);
    assert_true(vrt_codec_u64(j, "huge") == 0);
    assert_true(vrt_codec_u64(j, "missing") == 0);
    assert_true(vrt_codec_i64(j, "neg") == -3);
    assert_true(vrt_codec_i64(j, "huge") == 0);
    assert_true(vrt_codec_i64(j, "text") == 0);
    assert_null(vrt_codec_str(j, "neg"));
    char small[4];
    vrt_codec_copy(small, sizeof(small), "abcdef");
    assert_string_equal(small, "abc");
    vrt_codec_copy(small, sizeof(small), NULL);
    assert_string_equal(small, "");
    cJSON_Delete(j);
}

/* The error record crosses intact; a peer's out-of-range fields and an
 * overlong message are bounded. */
static void test_error_record(void **state)
{
    (void)state;
    vrt_error in = VRT_ERROR_INIT, out;
    vrt_error_set(&in, VRT_E_RATELIMIT, "Slow down: %d requests.", 7);
    in.retry_after_ms = 1500;
    cJSON *j = vrt_wire_error_json(&in);
    vrt_wire_error_read(&out, j);
    assert_int_equal(out.code, VRT_E_RATELIMIT);
    assert_int_equal(out.klass, in.klass);
    assert_int_equal(out.retry_after_ms, 1500);
    assert_string_equal(out.message, "Slow down: 7 requests.");
    cJSON_Delete(j);

    j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "code", 1e12);
    cJSON_AddNumberToObject(j, "retry", -1);
    char *m = malloc(3 * VRT_ERROR_MESSAGE_MAX);
    assert_non_null(m);
    memset(m, 'm', 3 * VRT_ERROR_MESSAGE_MAX - 1);
    m[3 * VRT_ERROR_MESSAGE_MAX - 1] = '\0';
    cJSON_AddStringToObject(j, "message", m);
    vrt_wire_error_read(&out, j);
    assert_int_equal(out.code, 0);
    assert_int_equal(out.retry_after_ms, 0);
    assert_int_equal(strlen(out.message), VRT_ERROR_MESSAGE_MAX - 1);
    free(m);
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_round_trip),
        cmocka_unit_test(test_frames_refused),
        cmocka_unit_test(test_peer_failures),
        cmocka_unit_test(test_codec_vm_info),
        cmocka_unit_test(test_codec_numbers),
        cmocka_unit_test(test_error_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
