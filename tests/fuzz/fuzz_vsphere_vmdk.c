/*
 * fuzz_vsphere_vmdk.c - libFuzzer driver for plugins/vsphere/vs_vmdk.c,
 * which reads the VMDK text descriptor of a vSphere disk (a file from the
 * datastore, so untrusted) into the list of flat extents to stream.
 *
 * Any text is read or refused with a message.  The extents of a disk that
 * reads stay within VS_EXTENTS_MAX, name files inside the descriptor's
 * folder (no absolute path, no ".." component), and their sizes add up
 * without overflow.
 */
#include "../../plugins/vsphere/vs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_vmdk_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_vsphere_vmdk: %s: %s\n", what, detail);
    abort();
}

static int fuzz_vmdk_escapes(const char *file)
{
    if (file[0] == '/')
        return 1;
    for (const char *p = file; (p = strstr(p, "..")); p += 2)
        if ((p == file || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 262144)
        return 0;
    vs_extent *ext = NULL;
    size_t n = 0;
    vrt_error err = VRT_ERROR_INIT;
    if (vs_vmdk_extents(&ext, &n, (const char *)data, size, "[ds] vm/vm.vmdk",
                        &err) != VRT_OK) {
        if (!err.message[0])
            fuzz_vmdk_fail("a refused descriptor has no message", "");
        free(ext);
        return 0;
    }
    if (n > VS_EXTENTS_MAX)
        fuzz_vmdk_fail("too many extents", "");
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!memchr(ext[i].file, '\0', sizeof(ext[i].file)))
            fuzz_vmdk_fail("an extent file is not terminated", "");
        if (fuzz_vmdk_escapes(ext[i].file))
            fuzz_vmdk_fail("an extent leaves the folder", ext[i].file);
        if (ext[i].size > UINT64_MAX - total)
            fuzz_vmdk_fail("the extent sizes overflow", ext[i].file);
        total += ext[i].size;
    }
    free(ext);
    return 0;
}
