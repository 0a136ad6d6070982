/*
 * test_pipeline.c - core/pipeline: qcow2 and VMDK header parsing (good and
 * hostile headers), the hash stage fed buffers alone, zero detection, the
 * flat and tree digests, and conversions of a
 * small disk through every format read back by the native readers (this
 * file also runs under valgrind, so every path here is leak-checked).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/pipe_internal.h"
#include <vrt/error.h>

/* --- qcow2 headers --------------------------------------------------------- */

static void qcow2_header(uint8_t *b, uint32_t version, uint32_t bits,
                         uint64_t size, uint32_t l1_size)
{
    memset(b, 0, 512);
    memcpy(b, "QFI\xfb", 4);
    vrt_put_be32(b + 4, version);
    vrt_put_be32(b + 20, bits);
    vrt_put_be64(b + 24, size);
    vrt_put_be32(b + 36, l1_size);
    vrt_put_be64(b + 40, 0x30000);
    if (version == 3) {
        vrt_put_be32(b + 96, 4);
        vrt_put_be32(b + 100, 104);
    }
}

static void test_qcow2_header_good(void **state)
{
    (void)state;
    uint8_t b[512];
    vrt_qcow2_hdr h;
    vrt_error err = VRT_ERROR_INIT;
    qcow2_header(b, 3, 16, UINT64_C(1) << 30, 2);
    assert_int_equal(vrt_pipe_qcow2_parse_header(&h, b, sizeof(b), "x", &err), 0);
    assert_int_equal(h.version, 3);
    assert_int_equal(h.cluster_bits, 16);
    assert_int_equal(h.size, UINT64_C(1) << 30);
    assert_int_equal(h.l1_offset, 0x30000);
    assert_int_equal(h.header_length, 104);
    qcow2_header(b, 2, 12, 4096 * 512 * 3, 3);
    assert_int_equal(vrt_pipe_qcow2_parse_header(&h, b, 72, "x", &err), 0);
    assert_int_equal(h.version, 2);
    assert_int_equal(h.header_length, 72);
    /* A dirty image is still readable: refcounts are not used. */
    qcow2_header(b, 3, 16, 1 << 20, 1);
    vrt_put_be64(b + 72, 1);
    assert_int_equal(vrt_pipe_qcow2_parse_header(&h, b, sizeof(b), "x", &err), 0);
}

typedef struct bad_case {
    const char *what;
    uint32_t off;      /* field to overwrite */
    uint32_t width;    /* 4 or 8 (big-endian) */
    uint64_t value;
    int32_t code;
    const char *needle;
} bad_case;

static void test_qcow2_header_bad(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"magic", 0, 4, 0x514649fc, VRT_E_INVALID, "no qcow2 magic"},
        {"version 1", 4, 4, 1, VRT_E_NOTSUPP, "version 1"},
        {"cluster bits 8", 20, 4, 8, VRT_E_INVALID, "cluster size"},
        {"cluster bits 22", 20, 4, 22, VRT_E_INVALID, "cluster size"},
        {"huge size", 24, 8, UINT64_C(1) << 62, VRT_E_INVALID, "limit"},
        {"encrypted", 32, 4, 2, VRT_E_NOTSUPP, "encrypted"},
        {"L1 too small", 36, 4, 0, VRT_E_INVALID, "L1 table of 0 entries"},
        {"L1 too large", 36, 4, 0x7fffffff, VRT_E_INVALID, "L1 table"},
        {"corrupt bit", 72, 8, 2, VRT_E_INVALID, "marked corrupt"},
        {"extended L2", 72, 8, 16, VRT_E_NOTSUPP, "incompatible features"},
        {"header length 100", 100, 4, 100, VRT_E_INVALID, "header length"},
        {"header length past buffer", 100, 4, 4096, VRT_E_INVALID,
         "header length"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t b[512];
        vrt_qcow2_hdr h;
        vrt_error err = VRT_ERROR_INIT;
        qcow2_header(b, 3, 16, UINT64_C(1) << 30, 2);
        if (cases[i].width == 4)
            vrt_put_be32(b + cases[i].off, (uint32_t)cases[i].value);
        else
            vrt_put_be64(b + cases[i].off, cases[i].value);
        int rc = vrt_pipe_qcow2_parse_header(&h, b, sizeof(b), "img", &err);
        if (rc != cases[i].code || !strstr(err.message, cases[i].needle))
            fail_msg("%s: rc %d, message \"%s\"", cases[i].what, rc,
                     err.message);
        assert_non_null(strstr(err.message, "\"img\""));
    }
    /* Too short to hold a header at all, and zstd compression. */
    uint8_t b[512];
    vrt_qcow2_hdr h;
    vrt_error err = VRT_ERROR_INIT;
    qcow2_header(b, 3, 16, 1 << 20, 1);
    assert_int_equal(vrt_pipe_qcow2_parse_header(&h, b, 40, "x", &err),
                     VRT_E_INVALID);
    assert_int_equal(vrt_pipe_qcow2_parse_header(&h, b, 80, "x", &err),
                     VRT_E_INVALID);
    assert_non_null(strstr(err.message, "truncated"));
    vrt_put_be32(b + 100, 112);
    b[104] = 1;
    assert_int_equal(vrt_pipe_qcow2_parse_header(&h, b, sizeof(b), "x", &err),
                     VRT_E_NOTSUPP);
    assert_non_null(strstr(err.message, "compression type 1"));
}

/* --- VMDK headers -------------------------------------------------------------- */

static void vmdk_header(uint8_t *b)
{
    memset(b, 0, 512);
    memcpy(b, "KDMV", 4);
    vrt_put_le32(b + 4, 1);
    vrt_put_le32(b + 8, 3);
    vrt_put_le64(b + 12, 131072); /* 64 MiB */
    vrt_put_le64(b + 20, 128);
    vrt_put_le64(b + 28, 1);
    vrt_put_le64(b + 36, 20);
    vrt_put_le32(b + 44, 512);
    vrt_put_le64(b + 48, 21);
    vrt_put_le64(b + 56, 30);
    vrt_put_le64(b + 64, 128);
}

static void test_vmdk_header_good(void **state)
{
    (void)state;
    uint8_t b[512];
    vrt_vmdk_hdr h;
    vrt_error err = VRT_ERROR_INIT;
    vmdk_header(b);
    assert_int_equal(vrt_pipe_vmdk_parse_header(&h, b, sizeof(b), "x", &err), 0);
    assert_int_equal(h.capacity, 131072);
    assert_int_equal(h.grain, 128);
    assert_int_equal(h.num_gtes, 512);
    assert_int_equal(h.gd_offset, 30);
    assert_int_equal(h.rgd_offset, 21);
    /* streamOptimized: compressed grains with deflate. */
    vrt_put_le32(b + 4, 3);
    vrt_put_le32(b + 8, 0x30001);
    b[77] = 1;
    assert_int_equal(vrt_pipe_vmdk_parse_header(&h, b, sizeof(b), "x", &err), 0);
    assert_int_equal(h.compress, 1);
}

static void test_vmdk_header_bad(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"magic", 0, 4, 0x4b444d57, VRT_E_INVALID, "no VMDK sparse magic"},
        {"version 4", 4, 4, 4, VRT_E_NOTSUPP, "version 4"},
        {"grain 0", 20, 8, 0, VRT_E_INVALID, "grain size"},
        {"grain 3", 20, 8, 3, VRT_E_INVALID, "grain size"},
        {"grain 4096", 20, 8, 4096, VRT_E_INVALID, "grain size"},
        {"no GTEs", 44, 4, 0, VRT_E_INVALID, "grain table size"},
        {"too many GTEs", 44, 4, 1u << 20, VRT_E_INVALID, "grain table size"},
        {"huge capacity", 12, 8, UINT64_C(1) << 60, VRT_E_INVALID, "limit"},
        {"unknown compression", 8, 4, 0x10001, VRT_E_NOTSUPP, "algorithm 0"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t b[512];
        vrt_vmdk_hdr h;
        vrt_error err = VRT_ERROR_INIT;
        vmdk_header(b);
        if (cases[i].width == 4)
            vrt_put_le32(b + cases[i].off, (uint32_t)cases[i].value);
        else
            vrt_put_le64(b + cases[i].off, cases[i].value);
        int rc = vrt_pipe_vmdk_parse_header(&h, b, sizeof(b), "img", &err);
        if (rc != cases[i].code || !strstr(err.message, cases[i].needle))
            fail_msg("%s: rc %d, message \"%s\"", cases[i].what, rc,
                     err.message);
    }
    uint8_t b[512];
    vrt_vmdk_hdr h;
    vrt_error err = VRT_ERROR_INIT;
    vmdk_header(b);
    assert_int_equal(vrt_pipe_vmdk_parse_header(&h, b, 511, "x", &err),
                     VRT_E_INVALID);
}

static void test_format_names(void **state)
{
    (void)state;
    int32_t fmts[] = {VRT_IMG_RAW, VRT_IMG_QCOW2, VRT_IMG_VMDK,
                      VRT_IMG_VMDK_STREAM};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(vrt_img_format_parse(vrt_img_format_name(fmts[i])),
                         fmts[i]);
    assert_int_equal(vrt_img_format_parse("streamOptimized"),
                     VRT_IMG_VMDK_STREAM);
    assert_int_equal(vrt_img_format_parse("vdi"), -1);
    assert_string_equal(vrt_img_format_name(99), "unknown");
    /* The ABI's disk format bits map over unchanged. */
    assert_int_equal(VRT_IMG_RAW, VRT_DISK_RAW);
    assert_int_equal(VRT_IMG_QCOW2, VRT_DISK_QCOW2);
    assert_int_equal(VRT_IMG_VMDK, VRT_DISK_VMDK);
}

/* --- the hash stage alone -------------------------------------------------------- */

static void sha256_hex(char hex[65], const void *buf, size_t len)
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL);
    vrt_pipe_hex(hex, md);
}

static void test_hash_stage_zero_blocks(void **state)
{
    (void)state;
    enum { BLK = 4096 };
    static uint8_t zeros[BLK], disk[3 * BLK];
    vrt_error err = VRT_ERROR_INIT;
    vrt_pipe_stage *s = NULL;
    memset(disk + BLK, 0x42, BLK);
    assert_int_equal(vrt_pipe_hash_new(&s, zeros, BLK, 0, &err), 0);
    /* A zero block is hashed from the zero buffer, not from data. */
    vrt_pipe_block b0 = {0, BLK, NULL, 1};
    vrt_pipe_block b1 = {BLK, BLK, disk + BLK, 0};
    vrt_pipe_block b2 = {2 * BLK, BLK, NULL, 1};
    assert_int_equal(s->ops->write(s, &b0, &err), 0);
    assert_int_equal(s->ops->write(s, &b1, &err), 0);
    assert_int_equal(s->ops->write(s, &b2, &err), 0);
    assert_int_equal(s->ops->flush(s, &err), 0);
    char got[65], want[65];
    vrt_pipe_hash_hex(s, got);
    sha256_hex(want, disk, sizeof(disk));
    assert_string_equal(got, want);
    vrt_pipe_stage_free(s);
    vrt_pipe_stage_free(NULL);
}

/* Zero detection: a non-zero byte anywhere, in the first 16 or after. */
static void test_is_zero(void **state)
{
    (void)state;
    static uint8_t b[4096];
    memset(b, 0, sizeof(b));
    assert_true(vrt_pipe_is_zero(b, sizeof(b)));
    assert_true(vrt_pipe_is_zero(b, 1));
    assert_true(vrt_pipe_is_zero(b, 0));
    size_t spots[] = {0, 15, 16, 17, 2047, 4095};
    for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
        b[spots[i]] = 1;
        assert_false(vrt_pipe_is_zero(b, sizeof(b)));
        b[spots[i]] = 0;
    }
}

/* The tree digest: SHA-256 over the SHA-256s of 1 MiB leaves, the same
 * however the bytes arrive (small pieces, zero runs as NULL, one call),
 * with a short last leaf; and the flat digest is a plain SHA-256. */
static void test_md_tree(void **state)
{
    (void)state;
    enum { LEAF = 1 << 20, SIZE = 2 * LEAF + 12345 };
    static uint8_t zeros[65536];
    uint8_t *disk = calloc(1, SIZE);
    assert_non_null(disk);
    for (size_t i = LEAF; i < LEAF + 70000; i++)
        disk[i] = (uint8_t)(i * 7 + 1);
    disk[SIZE - 1] = 9;
    /* The expected value, leaf by leaf. */
    unsigned char leaves[3 * 32], md[32];
    for (int l = 0; l < 3; l++) {
        size_t n = l < 2 ? LEAF : SIZE - 2 * LEAF;
        EVP_Digest(disk + (size_t)l * LEAF, n, leaves + 32 * l, NULL,
                   EVP_sha256(), NULL);
    }
    EVP_Digest(leaves, sizeof(leaves), md, NULL, EVP_sha256(), NULL);
    char want[65], got[65], flat[65];
    vrt_pipe_hex(want, md);
    sha256_hex(flat, disk, SIZE);
    size_t pieces[] = {SIZE, 65536, 4096, 1000};
    for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
        for (int tree = 0; tree < 2; tree++) {
            vrt_pipe_md m;
            assert_int_equal(vrt_pipe_md_init(&m, tree, zeros, sizeof(zeros)), 0);
            for (size_t off = 0; off < SIZE; off += pieces[p]) {
                size_t n = SIZE - off < pieces[p] ? SIZE - off : pieces[p];
                /* Zero pieces go in as NULL, as the job feeds them. */
                const uint8_t *buf = vrt_pipe_is_zero(disk + off, n) ? NULL
                                                                     : disk + off;
                assert_int_equal(vrt_pipe_md_update(&m, buf, n), 0);
            }
            assert_int_equal(vrt_pipe_md_final(&m, got), 0);
            assert_string_equal(got, tree ? want : flat);
            vrt_pipe_md_free(&m);
        }
    }
    /* Nothing at all: the tree is SHA-256 of no leaves. */
    vrt_pipe_md m;
    assert_int_equal(vrt_pipe_md_init(&m, 1, zeros, sizeof(zeros)), 0);
    assert_int_equal(vrt_pipe_md_final(&m, got), 0);
    sha256_hex(want, "", 0);
    assert_string_equal(got, want);
    vrt_pipe_md_free(&m);
    free(disk);
}

/* --- conversions read back natively ----------------------------------------------- */

#define DISK_SIZE (3u * 1048576u + 5u * 512u) /* not a cluster multiple */

static char tmpdir[64];

static int make_disk(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vrt-pipe-unit.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    return 0;
}

static int drop_disk(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static uint8_t *disk_bytes(void)
{
    uint8_t *d = calloc(1, DISK_SIZE);
    assert_non_null(d);
    uint32_t x = 12345;
    for (size_t i = 0; i < 700000; i++) { /* data, then a zero gap */
        x = x * 1103515245u + 12345u;
        d[i] = (uint8_t)(x >> 16);
    }
    for (size_t i = 2u * 1048576u + 100u; i < DISK_SIZE; i++)
        d[i] = (uint8_t)(i % 7 ? 'v' : '\n');
    return d;
}

/* Writes n bytes of d to path (the raw image a test converts). */
static void spill(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

static int cancel_at_half(void *opaque, uint64_t done, uint64_t total)
{
    int *calls = opaque;
    (*calls)++;
    return done * 2 >= total;
}

static void test_convert_read_back(void **state)
{
    (void)state;
    char src[128], dst[128], want[65];
    uint8_t *d = disk_bytes();
    uint8_t *got = malloc(DISK_SIZE);
    assert_non_null(got);
    snprintf(src, sizeof(src), "%s/src.raw", tmpdir);
    spill(src, d, DISK_SIZE);
    sha256_hex(want, d, DISK_SIZE);
    int32_t fmts[] = {VRT_IMG_RAW, VRT_IMG_QCOW2, VRT_IMG_VMDK,
                      VRT_IMG_VMDK_STREAM};
    for (size_t i = 0; i < 4; i++) {
        vrt_pipe_opts o = VRT_PIPE_OPTS_INIT;
        vrt_pipe_result res;
        vrt_error err = VRT_ERROR_INIT;
        o.out_format = fmts[i];
        o.block_size = 65536;
        snprintf(dst, sizeof(dst), "%s/out.%s", tmpdir,
                 vrt_img_format_name(fmts[i]));
        if (vrt_pipe_convert(&res, src, dst, &o, &err) != 0)
            fail_msg("convert to %s: %s", vrt_img_format_name(fmts[i]),
                     err.message);
        assert_string_equal(res.content_sha256, want);
        assert_true(res.zero_bytes > 0 && res.data_bytes > 0);
        vrt_img_reader *r = NULL;
        assert_int_equal(vrt_img_reader_open(&r, dst, VRT_IMG_AUTO, 0, &err), 0);
        const vrt_img_info *info = vrt_img_reader_info(r);
        assert_int_equal(info->format, fmts[i]);
        assert_int_equal(info->virtual_size, DISK_SIZE);
        /* Odd-sized reads that straddle clusters and grains. */
        for (uint64_t off = 0; off < DISK_SIZE;) {
            size_t n = 77777;
            int zero = 0;
            if (n > DISK_SIZE - off)
                n = (size_t)(DISK_SIZE - off);
            assert_int_equal(vrt_img_reader_read(got + off, &zero, r, off, n,
                                                 &err), 0);
            if (zero)
                memset(got + off, 0, n);
            off += n;
        }
        assert_memory_equal(got, d, DISK_SIZE);
        int zero = 0;
        assert_int_equal(vrt_img_reader_read(got, &zero, r, DISK_SIZE - 1, 2,
                                             &err), VRT_E_INVALID);
        vrt_img_reader_close(r);
        /* The hash-only job agrees. */
        assert_int_equal(vrt_pipe_hash(&res, dst, NULL, &err), 0);
        assert_string_equal(res.content_sha256, want);
    }
    /* Cancellation through the progress callback. */
    vrt_pipe_opts o = VRT_PIPE_OPTS_INIT;
    vrt_pipe_result res;
    vrt_error err = VRT_ERROR_INIT;
    int calls = 0;
    o.block_size = 65536;
    o.progress = cancel_at_half;
    o.progress_opaque = &calls;
    assert_int_equal(vrt_pipe_hash(&res, src, &o, &err), VRT_E_CANCELED);
    assert_true(calls > 1);
    /* Bad options. */
    o.progress = NULL;
    o.flags = 0x80;
    assert_int_equal(vrt_pipe_hash(&res, src, &o, &err), VRT_E_INVALID);
    o.flags = 0;
    o.block_size = 1000;
    assert_int_equal(vrt_pipe_hash(&res, src, &o, &err), VRT_E_INVALID);
    o.block_size = 4096; /* smaller than a VMDK grain */
    assert_int_equal(vrt_pipe_hash(&res, src, &o, &err), VRT_E_INVALID);
    assert_non_null(strstr(err.message, "64 KiB"));
    free(d);
    free(got);
}

/* The tree digest of a whole buffer, leaf by leaf (the definition). */
static void tree_hex(char hex[65], const uint8_t *buf, size_t len)
{
    size_t nleaves = (len + (1u << 20) - 1) >> 20;
    unsigned char *leaves = malloc(32 * (nleaves ? nleaves : 1)), md[32];
    assert_non_null(leaves);
    for (size_t l = 0; l < nleaves; l++) {
        size_t off = l << 20, n = len - off < (1u << 20) ? len - off : 1u << 20;
        EVP_Digest(buf + off, n, leaves + 32 * l, NULL, EVP_sha256(), NULL);
    }
    EVP_Digest(leaves, 32 * nleaves, md, NULL, EVP_sha256(), NULL);
    vrt_pipe_hex(hex, md);
    free(leaves);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    uint8_t *b = malloc(*len ? *len : 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

/* Tree jobs digest whole-leaf blocks on several threads: the digests
 * must not depend on the block size (blocks smaller than a leaf go the
 * serial way), for the content and for an output read back (qcow2).
 * Without the output digest, qcow2 reports none and raw still reports
 * its content's. */
static void test_tree_jobs(void **state)
{
    (void)state;
    enum { SIZE = 9 * (1 << 20) + 4321 };
    uint8_t *d = calloc(1, SIZE);
    assert_non_null(d);
    uint32_t x = 99;
    for (size_t i = 0; i < SIZE; i++) {
        size_t leaf = i >> 20;
        /* Leaves 2, 5 and 6 stay zero; leaf 3 is half zero. */
        if (leaf == 2 || leaf == 5 || leaf == 6 ||
            (leaf == 3 && (i & 0xfffff) >= 0x80000))
            continue;
        x = x * 1103515245u + 12345u;
        d[i] = (uint8_t)(x >> 16);
    }
    char src[128], dst[128], want[65], out_want[65];
    snprintf(src, sizeof(src), "%s/tree.raw", tmpdir);
    spill(src, d, SIZE);
    tree_hex(want, d, SIZE);
    uint32_t blocks[] = {65536, 1u << 20, 4u << 20};
    int32_t fmts[] = {VRT_IMG_QCOW2, VRT_IMG_RAW};
    for (size_t b = 0; b < 3; b++) {
        for (size_t fi = 0; fi < 2; fi++) {
            for (int no_out = 0; no_out < 2; no_out++) {
                vrt_pipe_opts o = VRT_PIPE_OPTS_INIT;
                vrt_pipe_result res;
                vrt_error err = VRT_ERROR_INIT;
                o.out_format = fmts[fi];
                o.block_size = blocks[b];
                o.flags = VRT_PIPE_TREE_DIGEST |
                          (no_out ? VRT_PIPE_NO_OUTPUT_DIGEST : 0);
                snprintf(dst, sizeof(dst), "%s/tree.out", tmpdir);
                if (vrt_pipe_convert(&res, src, dst, &o, &err) != 0)
                    fail_msg("block %u: %s", blocks[b], err.message);
                assert_string_equal(res.digest, "sha256-tree");
                assert_string_equal(res.content_sha256, want);
                size_t len = 0;
                uint8_t *out = slurp(dst, &len);
                tree_hex(out_want, out, len);
                free(out);
                if (fmts[fi] == VRT_IMG_RAW)
                    assert_string_equal(res.output_sha256, want);
                else if (no_out)
                    assert_string_equal(res.output_sha256, "");
                else
                    assert_string_equal(res.output_sha256, out_want);
                o.in_format = fmts[fi];
                assert_int_equal(vrt_pipe_hash(&res, dst, &o, &err), 0);
                assert_string_equal(res.content_sha256, want);
            }
        }
    }
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qcow2_header_good),
        cmocka_unit_test(test_qcow2_header_bad),
        cmocka_unit_test(test_vmdk_header_good),
        cmocka_unit_test(test_vmdk_header_bad),
        cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_hash_stage_zero_blocks),
        cmocka_unit_test(test_is_zero),
        cmocka_unit_test(test_md_tree),
        cmocka_unit_test_setup_teardown(test_convert_read_back, make_disk,
                                        drop_disk),
        cmocka_unit_test_setup_teardown(test_tree_jobs, make_disk, drop_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
