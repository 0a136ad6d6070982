/*
 * virtrigaud-disk - inspect, convert and checksum disk images with the core
 * pipeline (raw, qcow2, VMDK monolithicSparse and streamOptimized).
 */
#include <vrt/error.h>
#include <vrt/log.h>
#include <vrt/pipeline.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: virtrigaud-disk info    [options] IMAGE\n"
    "       virtrigaud-disk hash    [options] IMAGE\n"
    "       virtrigaud-disk convert [options] -O FORMAT SOURCE DEST\n"
    "\n"
    "Formats: raw, qcow2, vmdk (monolithicSparse), vmdk-stream\n"
    "(streamOptimized).  Input formats are probed unless -f is given.\n"
    "\n"
    "Options:\n"
    "  -f, --format FMT        input format (default: probe the header)\n"
    "  -O, --output-format FMT output format (convert)\n"
    "  -c, --cluster-size N    qcow2 output cluster size (default 65536)\n"
    "  -z, --compress-level N  streamOptimized zlib level 0-9 (default 1)\n"
    "  -b, --block-size N      bytes per pipeline block (default 1048576)\n"
    "  -r, --resume-from OFF   raw output: keep DEST up to OFF and go on\n"
    "      --no-backing        refuse images that have a backing file\n"
    "      --no-sync           do not fsync DEST at the end (as qemu-img)\n"
    "      --tree-digest       print content-sha256-tree and output-sha256-tree\n"
    "                          (SHA-256 of the SHA-256s of 1 MiB leaves: faster\n"
    "                          on sparse disks and digested on every core; not\n"
    "                          comparable with sha256sum)\n"
    "      --no-output-digest  convert without output-sha256 (the content\n"
    "                          digest is always computed)\n"
    "  -p, --progress          print progress to stderr\n"
    "  -j, --json              print the result as JSON\n"
    "  -h, --help              this text\n"
    "\n"
    "convert and hash print content-sha256 (the logical disk: identical for\n"
    "every format of one disk, equal to sha256sum of the raw image) and,\n"
    "for convert, output-sha256 (the bytes of DEST).\n"
    "Exit status: 0 success, 1 failure (the message says why), 2 usage.\n";

typedef struct progress {
    struct timespec start, last;
    int on;
} progress;

static double since(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) +
           (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static int on_progress(void *opaque, uint64_t done, uint64_t total)
{
    progress *p = opaque;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (done < total && since(&p->last, &now) < 0.5)
        return 0;
    p->last = now;
    double secs = since(&p->start, &now);
    double rate = secs > 0 ? (double)done / secs : 0;
    fprintf(stderr, "progress: %" PRIu64 "/%" PRIu64 " bytes (%.1f%%) %.1f MiB/s\n",
            done, total, total ? 100.0 * (double)done / (double)total : 100.0,
            rate / 1048576.0);
    return 0;
}

static int parse_u64(uint64_t *out, const char *s, const char *what)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || !end || *end || s[0] == '-') {
        fprintf(stderr, "virtrigaud-disk: %s \"%s\" is not a number.\n", what, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* The tree digest gets names of its own, so that it is never taken for
 * (or compared with) a sha256sum. */
static void print_result(const vrt_pipe_result *r, int json, int with_output)
{
    int tree = strcmp(r->digest, "sha256-tree") == 0;
    if (json) {
        printf("{\"virtualSize\":%" PRIu64 ",\"dataBytes\":%" PRIu64
               ",\"zeroBytes\":%" PRIu64 ",\"contentSha256%s\":\"%s\"",
               r->virtual_size, r->data_bytes, r->zero_bytes,
               tree ? "Tree" : "", r->content_sha256);
        if (with_output)
            printf(",\"outputSize\":%" PRIu64, r->output_size);
        if (with_output && r->output_sha256[0])
            printf(",\"outputSha256%s\":\"%s\"", tree ? "Tree" : "",
                   r->output_sha256);
        printf("}\n");
        return;
    }
    printf("virtual-size: %" PRIu64 "\n", r->virtual_size);
    printf("data-bytes: %" PRIu64 "\n", r->data_bytes);
    printf("zero-bytes: %" PRIu64 "\n", r->zero_bytes);
    printf("content-%s: %s\n", r->digest, r->content_sha256);
    if (with_output) {
        printf("output-size: %" PRIu64 "\n", r->output_size);
        if (r->output_sha256[0])
            printf("output-%s: %s\n", r->digest, r->output_sha256);
    }
}

static void print_info(const vrt_img_info *i, int json)
{
    if (json) {
        printf("{\"format\":\"%s\",\"version\":%u,\"virtualSize\":%" PRIu64
               ",\"fileSize\":%" PRIu64 ",\"clusterSize\":%u,\"backingDepth\":%u",
               vrt_img_format_name(i->format), i->version, i->virtual_size,
               i->file_size, i->cluster_size, i->depth);
        if (i->backing[0]) {
            /* A file name may hold any byte: escape what JSON needs. */
            fputs(",\"backingFile\":\"", stdout);
            for (const unsigned char *p = (const unsigned char *)i->backing; *p; p++) {
                if (*p == '"' || *p == '\\')
                    printf("\\%c", *p);
                else if (*p < 0x20)
                    printf("\\u%04x", *p);
                else
                    putchar(*p);
            }
            putchar('"');
        }
        printf("}\n");
        return;
    }
    printf("format: %s\n", vrt_img_format_name(i->format));
    if (i->version)
        printf("version: %u\n", i->version);
    printf("virtual-size: %" PRIu64 "\n", i->virtual_size);
    printf("file-size: %" PRIu64 "\n", i->file_size);
    if (i->cluster_size)
        printf("cluster-size: %u\n", i->cluster_size);
    if (i->backing[0])
        printf("backing-file: %s\n", i->backing);
    if (i->depth)
        printf("backing-depth: %u\n", i->depth);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"output-format", required_argument, NULL, 'O'},
        {"cluster-size", required_argument, NULL, 'c'},
        {"compress-level", required_argument, NULL, 'z'},
        {"block-size", required_argument, NULL, 'b'},
        {"resume-from", required_argument, NULL, 'r'},
        {"no-backing", no_argument, NULL, 'B'},
        {"no-sync", no_argument, NULL, 'S'},
        {"tree-digest", no_argument, NULL, 'T'},
        {"no-output-digest", no_argument, NULL, 'D'},
        {"progress", no_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    vrt_pipe_opts o = VRT_PIPE_OPTS_INIT;
    vrt_error err = VRT_ERROR_INIT;
    progress prog = {0};
    int json = 0, out_given = 0, c;
    uint64_t v = 0;
    o.out_format = -1;
    /* Results go to stdout; the job's own info lines only on request. */
    if (!getenv("VRT_LOG_LEVEL"))
        vrt_log_set_level(VRT_LVL_WARN);
    while ((c = getopt_long(argc, argv, "f:O:c:z:b:r:pjh", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
        case 'O':
            if (vrt_img_format_parse(optarg) < 0) {
                fprintf(stderr, "virtrigaud-disk: unknown format \"%s\" (raw, "
                                "qcow2, vmdk, vmdk-stream).\n", optarg);
                return 2;
            }
            if (c == 'f')
                o.in_format = vrt_img_format_parse(optarg);
            else
                o.out_format = vrt_img_format_parse(optarg);
            out_given |= c == 'O';
            break;
        case 'c':
        case 'z':
        case 'b':
        case 'r':
            if (parse_u64(&v, optarg, "the value") != 0)
                return 2;
            if (c == 'r')
                o.resume_from = v;
            else if (v > UINT32_MAX) {
                fprintf(stderr, "virtrigaud-disk: \"%s\" is too large.\n", optarg);
                return 2;
            } else if (c == 'c')
                o.cluster_size = (uint32_t)v;
            else if (c == 'b')
                o.block_size = (uint32_t)v;
            else
                o.compress_level = (int32_t)(v > 9 ? 9 : v);
            break;
        case 'B':
            o.flags |= VRT_PIPE_NO_BACKING;
            break;
        case 'S':
            o.flags |= VRT_PIPE_NO_SYNC;
            break;
        case 'T':
            o.flags |= VRT_PIPE_TREE_DIGEST;
            break;
        case 'D':
            o.flags |= VRT_PIPE_NO_OUTPUT_DIGEST;
            break;
        case 'p':
            prog.on = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[optind++];
    int nargs = argc - optind;
    if (prog.on) {
        clock_gettime(CLOCK_MONOTONIC, &prog.start);
        prog.last = prog.start;
        o.progress = on_progress;
        o.progress_opaque = &prog;
    }
    int rc;
    if (strcmp(cmd, "info") == 0 && nargs == 1) {
        vrt_img_info info;
        rc = vrt_img_info_get(&info, argv[optind], o.in_format, o.flags, &err);
        if (rc == 0)
            print_info(&info, json);
    } else if (strcmp(cmd, "hash") == 0 && nargs == 1) {
        vrt_pipe_result res;
        rc = vrt_pipe_hash(&res, argv[optind], &o, &err);
        if (rc == 0)
            print_result(&res, json, 0);
    } else if (strcmp(cmd, "convert") == 0 && nargs == 2) {
        if (!out_given) {
            fprintf(stderr, "virtrigaud-disk: convert needs -O FORMAT.\n");
            return 2;
        }
        vrt_pipe_result res;
        rc = vrt_pipe_convert(&res, argv[optind], argv[optind + 1], &o, &err);
        if (rc == 0)
            print_result(&res, json, 1);
    } else {
        fputs(usage, stderr);
        return 2;
    }
    if (rc != 0) {
        fprintf(stderr, "virtrigaud-disk: %s (%s)\n", err.message,
                vrt_error_code_name(err.code));
        return 1;
    }
    return 0;
}
