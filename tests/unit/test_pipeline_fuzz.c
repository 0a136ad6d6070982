/*
 * test_pipeline_fuzz.c - the image parsers (core/pipeline readers) against
 * hostile input.  Two ways to run it:
 *
 *   - as a unit test (the default build): seeds are made by our own
 *     writers (qcow2, monolithicSparse and streamOptimized VMDK of a small
 *     disk), then mutated deterministically (byte flips biased to metadata,
 *     truncations) and fed to every reader, so ASan, UBSan and valgrind see
 *     each mutant in the ordinary test passes;
 *   - as a libFuzzer target:
 *       clang -g -O1 -fsanitize=fuzzer,address,undefined -DVRT_FUZZER \
 *         -Iinclude -Iabi -Icore tests/unit/test_pipeline_fuzz.c \
 *         core/pipeline/[a-z]*.c core/plugin/error.c core/util/log.c \
 *         -lcrypto -lz -lpthread -o /tmp/fuzz_image
 *       /tmp/fuzz_image -max_total_time=120 -max_len=262144
 * Each input is written to a file and opened with the format probed, and
 * forced to qcow2 and VMDK; readers must fail cleanly or read the whole
 * disk.  Disks over 16 MiB are opened but not read (reading terabytes of
 * holes proves nothing).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/pipe_internal.h"
#include <vrt/error.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[64];

static void read_all(vrt_img_reader *r)
{
    static uint8_t buf[65536 + 3];
    uint64_t size = vrt_img_reader_info(r)->virtual_size;
    vrt_error err = VRT_ERROR_INIT;
    if (size > (16u << 20))
        return;
    for (uint64_t off = 0; off < size;) {
        size_t n = sizeof(buf); /* not a cluster multiple, on purpose */
        int zero = 0;
        if (n > size - off)
            n = (size_t)(size - off);
        if (vrt_img_reader_read(buf, &zero, r, off, n, &err) != 0) {
            /* A failure names the problem. */
            if (err.message[0] == '\0')
                abort();
            return;
        }
        off += n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int32_t formats[] = {VRT_IMG_AUTO, VRT_IMG_QCOW2,
                                      VRT_IMG_VMDK};
    if (!fuzz_path[0])
        snprintf(fuzz_path, sizeof(fuzz_path), "/tmp/vrt-fuzz-image.%ld",
                 (long)getpid());
    int fd = open(fuzz_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 0;
    ssize_t w = write(fd, data, size);
    close(fd);
    if (w != (ssize_t)size)
        return 0;
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        vrt_img_reader *r = NULL;
        vrt_error err = VRT_ERROR_INIT;
        /* No backing files: a fuzzed name could be any file on the host. */
        if (vrt_img_reader_open(&r, fuzz_path, formats[i],
                                VRT_PIPE_NO_BACKING, &err) == 0)
            read_all(r);
        else if (err.message[0] == '\0')
            abort();
        vrt_img_reader_close(r);
    }
    return 0;
}

#ifndef VRT_FUZZER
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/stat.h>

static char dir[64];

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Writes a 1 MiB disk and converts it to `fmt`; returns the image. */
static uint8_t *make_seed(size_t *len, int32_t fmt)
{
    char src[128], dst[128];
    static uint8_t disk[1u << 20];
    uint32_t s = 7;
    for (size_t i = 0; i < sizeof(disk); i++)
        disk[i] = i < 300000 || i > 900000 ? (uint8_t)rnd(&s) : 0;
    snprintf(src, sizeof(src), "%s/seed.raw", dir);
    snprintf(dst, sizeof(dst), "%s/seed.%d", dir, (int)fmt);
    FILE *f = fopen(src, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(disk, 1, sizeof(disk), f), sizeof(disk));
    fclose(f);
    vrt_pipe_opts o = VRT_PIPE_OPTS_INIT;
    vrt_pipe_result res;
    vrt_error err = VRT_ERROR_INIT;
    o.out_format = fmt;
    o.cluster_size = 4096; /* more tables in a small image */
    o.flags = VRT_PIPE_NO_SYNC;
    assert_int_equal(vrt_pipe_convert(&res, src, dst, &o, &err), 0);
    struct stat st;
    assert_int_equal(stat(dst, &st), 0);
    uint8_t *img = malloc((size_t)st.st_size);
    assert_non_null(img);
    f = fopen(dst, "rb");
    assert_non_null(f);
    assert_int_equal(fread(img, 1, (size_t)st.st_size, f), (size_t)st.st_size);
    fclose(f);
    *len = (size_t)st.st_size;
    return img;
}

static void mutate_and_feed(const uint8_t *seed, size_t len, uint32_t seed_no,
                            int rounds)
{
    uint8_t *m = malloc(len);
    assert_non_null(m);
    uint32_t s = 2463534242u + seed_no;
    for (int i = 0; i < rounds; i++) {
        memcpy(m, seed, len);
        size_t n = len;
        int flips = 1 + (int)(rnd(&s) % 8);
        for (int k = 0; k < flips; k++) {
            uint32_t where = rnd(&s) % 4;
            size_t off = where == 0   ? rnd(&s) % 512             /* header */
                         : where == 1 ? len - 1 - rnd(&s) % 4096  /* tail */
                                      : rnd(&s) % len;            /* any */
            if (off >= len)
                off = len - 1;
            m[off] = rnd(&s) % 3 == 0 ? 0xff : (uint8_t)rnd(&s);
        }
        if (rnd(&s) % 8 == 0)
            n = rnd(&s) % len; /* truncated */
        LLVMFuzzerTestOneInput(m, n);
    }
    free(m);
}

static void test_mutated_images(void **state)
{
    (void)state;
    static const int32_t fmts[] = {VRT_IMG_QCOW2, VRT_IMG_VMDK,
                                   VRT_IMG_VMDK_STREAM};
    const char *env = getenv("VRT_FUZZ_ROUNDS");
    int rounds = env ? atoi(env) : 400;
    snprintf(dir, sizeof(dir), "/tmp/vrt-pipe-fuzz.XXXXXX");
    assert_non_null(mkdtemp(dir));
    for (size_t i = 0; i < 3; i++) {
        size_t len = 0;
        uint8_t *seed = make_seed(&len, fmts[i]);
        LLVMFuzzerTestOneInput(seed, len); /* the unmutated seed reads */
        mutate_and_feed(seed, len, (uint32_t)i, rounds);
        free(seed);
    }
    /* Tiny and empty inputs. */
    LLVMFuzzerTestOneInput((const uint8_t *)"QFI\xfb", 4);
    LLVMFuzzerTestOneInput((const uint8_t *)"KDMV", 4);
    LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
    unlink(fuzz_path);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutated_images),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
