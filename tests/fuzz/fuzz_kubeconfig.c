/*
 * fuzz_kubeconfig.c - libFuzzer driver for core/kube/config.c, which reads
 * the kubeconfig the manager is started with (YAML with base64 "-data"
 * fields, contexts, clusters and users looked up by name).
 *
 * The input is written to a file and read as a kubeconfig: it is accepted
 * with a server, or refused with a message that names the file.  Files the
 * kubeconfig names (CA, client certificate and key, token file) are not
 * read from this host: the driver's vrt_kube_read_file, which replaces
 * core/kube/client.c's at link time, answers every path with fixed text.
 */
#include "../../core/kube/kube_internal.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_kubeconfig_path[64];

/* libFuzzer ends with exit(): leave no file behind. */
static void fuzz_kubeconfig_cleanup(void)
{
    unlink(fuzz_kubeconfig_path);
}

char *vrt_kube_read_file(const char *path, size_t *len)
{
    static const char text[] = "fuzz-token\r\n-----BEGIN CERTIFICATE-----\n";
    if (!path || !*path)
        return NULL;
    char *out = strdup(text);
    if (!out)
        abort();
    if (len)
        *len = sizeof(text) - 1;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    if (!fuzz_kubeconfig_path[0]) {
        snprintf(fuzz_kubeconfig_path, sizeof(fuzz_kubeconfig_path),
                 "/tmp/vrt-fuzz-kubeconfig.%ld", (long)getpid());
        atexit(fuzz_kubeconfig_cleanup);
    }
    int fd = open(fuzz_kubeconfig_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 0;
    ssize_t w = write(fd, data, size);
    close(fd);
    if (w != (ssize_t)size)
        return 0;
    vrt_kube_conf c;
    vrt_error err = VRT_ERROR_INIT;
    if (vrt_kube_conf_from_file(&c, fuzz_kubeconfig_path, &err) == VRT_OK) {
        if (!c.server) {
            fprintf(stderr, "fuzz_kubeconfig: accepted without a server\n");
            abort();
        }
        if (c.key_pem && c.key_len && !memchr(c.key_pem, '\0',
                                              c.key_len + 1)) {
            fprintf(stderr, "fuzz_kubeconfig: key data not terminated\n");
            abort();
        }
    } else if (!strstr(err.message, fuzz_kubeconfig_path)) {
        fprintf(stderr, "fuzz_kubeconfig: \"%s\" does not name the file\n",
                err.message);
        abort();
    }
    vrt_kube_conf_clear(&c);
    return 0;
}
