/*
 * test_staging.c - core/staging: SigV4 against AWS's documented example
 * (the GET of examplebucket/test.txt with a Range header, whose signature
 * AWS publishes), URI encoding, the SSRF host policy, and the dir backend
 * (write, resume, read at an offset, remove).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vrt/error.h>
#include <vrt/staging.h>

static void test_sigv4_aws_example(void **state)
{
    (void)state;
    char empty[65];
    vrt_sha256_hex(empty, "", 0);
    /* SHA-256 of nothing, as every SigV4 document prints it */
    assert_string_equal(empty,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *hdrs[] = {"host", "examplebucket.s3.amazonaws.com",
                          "range", "bytes=0-9",
                          "x-amz-content-sha256", empty,
                          "x-amz-date", "20130524T000000Z", NULL};
    vrt_sigv4_req r = {.method = "GET", .uri = "/test.txt", .query = "",
                       .headers = hdrs, .payload_sha256 = empty,
                       .amz_date = "20130524T000000Z", .region = "us-east-1",
                       .service = "s3", .access_key = "AKIAIOSFODNN7EXAMPLE",
                       .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};
    char auth[512];
    assert_int_equal(vrt_sigv4_authorization(auth, sizeof(auth), &r), 0);
    assert_string_equal(auth,
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
        "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    /* one changed byte of the secret changes the signature */
    r.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEX";
    char other[512];
    assert_int_equal(vrt_sigv4_authorization(other, sizeof(other), &r), 0);
    assert_string_not_equal(auth, other);
    /* too small a buffer is refused, not truncated */
    assert_int_equal(vrt_sigv4_authorization(other, 40, &r), -1);
}

static void test_uri_encode(void **state)
{
    (void)state;
    char b[128];
    vrt_uri_encode(b, sizeof(b), "a b/c~d_e.f-g+h=", 1);
    assert_string_equal(b, "a%20b/c~d_e.f-g%2Bh%3D");
    vrt_uri_encode(b, sizeof(b), "a/b", 0);
    assert_string_equal(b, "a%2Fb");
}

static int check(const char *allowed, const char *host, char addr[64], vrt_error *err)
{
    vrt_hostpolicy pol = {.allowed = allowed, .field = "spec.storage.s3.endpoint"};
    *err = (vrt_error)VRT_ERROR_INIT;
    return vrt_hostpolicy_check(addr, &pol, host, 9000, err);
}

static void test_hostpolicy(void **state)
{
    (void)state;
    char a[64];
    vrt_error err;
    static const char *const refused[] = {"127.0.0.1", "127.1.2.3", "::1", "0.0.0.0",
                                          "169.254.10.1", "fe80::1", "224.0.0.1",
                                          "ff02::1", "::ffff:127.0.0.1", "::"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        assert_int_equal(check(NULL, refused[i], a, &err), VRT_E_INVALID);
        assert_non_null(strstr(err.message, "spec.storage.s3.endpoint"));
        assert_non_null(strstr(err.message, "--migration-storage-allowed-hosts"));
        assert_string_equal(a, "");
    }
    assert_int_equal(check(NULL, "localhost", a, &err), VRT_E_INVALID);
    assert_non_null(strstr(err.message, "loopback"));
    /* public addresses pass without a list, and come back as given */
    assert_int_equal(check(NULL, "192.0.2.7", a, &err), VRT_OK);
    assert_string_equal(a, "192.0.2.7");
    assert_int_equal(check(NULL, "2001:db8::5", a, &err), VRT_OK);
    assert_string_equal(a, "2001:db8::5");
    /* an allow list opens loopback, by address or by prefix */
    assert_int_equal(check("127.0.0.1", "127.0.0.1", a, &err), VRT_OK);
    assert_string_equal(a, "127.0.0.1");
    assert_int_equal(check("10.0.0.0/8, 127.0.0.0/8", "127.9.9.9", a, &err), VRT_OK);
    assert_int_equal(check("127.0.0.1", "127.0.0.2", a, &err), VRT_E_INVALID);
    /* ... and then nothing outside it passes */
    assert_int_equal(check("127.0.0.1", "192.0.2.7", a, &err), VRT_E_INVALID);
    assert_non_null(strstr(err.message, "not in"));
    /* a malformed prefix length is no prefix: it must not read as /0 */
    assert_int_equal(check("10.0.0.0/", "127.0.0.1", a, &err), VRT_E_INVALID);
    assert_int_equal(check("/x", "127.0.0.1", a, &err), VRT_E_INVALID);
    assert_int_equal(check("127.0.0.0/8x", "127.0.0.1", a, &err), VRT_E_INVALID);
    /* the metadata address, never */
    assert_int_equal(check("169.254.169.254,169.254.0.0/16", "169.254.169.254", a, &err),
                     VRT_E_INVALID);
    assert_non_null(strstr(err.message, "metadata"));
    assert_int_equal(check(NULL, "", a, &err), VRT_E_INVALID);
}

static void test_dir_backend(void **state)
{
    (void)state;
    char dir[] = "/tmp/vrt-stage-unit.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/ns-mig", dir);
    vrt_stage *s = NULL;
    vrt_error err = VRT_ERROR_INIT;
    assert_int_equal(vrt_stage_open_dir(&s, sub, &err), VRT_OK);
    assert_string_equal(vrt_stage_kind(s), "dir");
    vrt_stage_writer *w = NULL;
    uint64_t off = 99;
    assert_int_equal(vrt_stage_writer_open(&w, &off, s, "x.raw", 0, &err), VRT_OK);
    assert_int_equal(off, 0);
    assert_int_equal(vrt_stage_writer_write(w, "hello ", 6, &err), VRT_OK);
    vrt_stage_writer_abandon(w); /* a crash: what was written stays */
    assert_int_equal(vrt_stage_writer_open(&w, &off, s, "x.raw", VRT_STAGE_RESUME, &err),
                     VRT_OK);
    assert_int_equal(off, 6);
    assert_int_equal(vrt_stage_writer_write(w, "world", 5, &err), VRT_OK);
    assert_int_equal(vrt_stage_writer_finish(w, &err), VRT_OK);
    uint64_t size = 0;
    assert_int_equal(vrt_stage_stat(&size, s, "x.raw", &err), VRT_OK);
    assert_int_equal(size, 11);
    vrt_stage_reader *r = NULL;
    assert_int_equal(vrt_stage_reader_open(&r, &size, s, "x.raw", 6, &err), VRT_OK);
    char buf[32] = "";
    size_t n = 0;
    assert_int_equal(vrt_stage_reader_read(&n, r, buf, sizeof(buf), &err), VRT_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "world", 5);
    assert_int_equal(vrt_stage_reader_read(&n, r, buf, sizeof(buf), &err), VRT_OK);
    assert_int_equal(n, 0);
    vrt_stage_reader_close(r);
    char p[256];
    assert_int_equal(vrt_stage_local_path(p, sizeof(p), s, "x.raw"), 0);
    assert_int_equal(access(p, F_OK), 0);
    /* a fresh write starts empty */
    assert_int_equal(vrt_stage_writer_open(&w, &off, s, "x.raw", 0, &err), VRT_OK);
    assert_int_equal(off, 0);
    assert_int_equal(vrt_stage_writer_finish(w, &err), VRT_OK);
    assert_int_equal(vrt_stage_stat(&size, s, "x.raw", &err), VRT_OK);
    assert_int_equal(size, 0);
    assert_int_equal(vrt_stage_remove(s, "x.raw", &err), VRT_OK);
    assert_int_equal(vrt_stage_stat(&size, s, "x.raw", &err), VRT_E_NOTFOUND);
    assert_int_equal(vrt_stage_remove(s, "x.raw", &err), VRT_OK); /* absent: fine */
    vrt_stage_close(s);
    vrt_stage_close(NULL);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_config_refusals(void **state)
{
    (void)state;
    vrt_stage *s = NULL;
    vrt_error err = VRT_ERROR_INIT;
    vrt_s3_config c = {.endpoint = "ftp://x", .bucket = "b", .access_key = "k",
                       .secret_key = "SECRETVALUE"};
    assert_int_equal(vrt_stage_open_s3(&s, &c, &err), VRT_E_INVALID);
    assert_non_null(strstr(err.message, "spec.storage.s3.endpoint"));
    c.endpoint = "http://user:pw@192.0.2.1";
    assert_int_equal(vrt_stage_open_s3(&s, &c, &err), VRT_E_INVALID);
    assert_null(strstr(err.message, "pw"));
    c.endpoint = "http://169.254.169.254:80";
    assert_int_equal(vrt_stage_open_s3(&s, &c, &err), VRT_E_INVALID);
    assert_non_null(strstr(err.message, "metadata"));
    assert_null(strstr(err.message, "SECRETVALUE"));
    c.secret_key = NULL;
    assert_int_equal(vrt_stage_open_s3(&s, &c, &err), VRT_E_INVALID);
    assert_non_null(strstr(err.message, "secretAccessKey"));
    assert_null(s);
    vrt_sftp_config f = {.host = "127.0.0.1", .path = "/x", .username = "u",
                         .password = "p"};
    assert_int_equal(vrt_stage_open_sftp(&s, &f, &err), VRT_E_INVALID);
    assert_non_null(strstr(err.message, "knownHosts"));
    f.known_hosts = "127.0.0.1 ssh-ed25519 AAAA";
    assert_int_equal(vrt_stage_open_sftp(&s, &f, &err), VRT_E_INVALID);
    assert_non_null(strstr(err.message, "spec.storage.sftp.host"));
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigv4_aws_example),
        cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_hostpolicy),
        cmocka_unit_test(test_dir_backend),
        cmocka_unit_test(test_config_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
