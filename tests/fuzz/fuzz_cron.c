/*
 * fuzz_cron.c - libFuzzer driver for core/util/cron.c (VMSnapshot and
 * schedule fields written by users).
 *
 * Any text must parse or fail with a message; a schedule that parses must
 * give a next firing time strictly after the start (or none within five
 * years), and walking it a few steps must keep moving forward.
 */
#include <vrt/cron.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_cron_fail(const char *what, const char *spec)
{
    fprintf(stderr, "fuzz_cron: %s (spec \"%s\")\n", what, spec);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512)
        return 0;
    char *spec = malloc(size + 1);
    if (!spec)
        abort();
    memcpy(spec, data, size);
    spec[size] = '\0';
    vrt_cron c;
    char err[256] = "";
    if (vrt_cron_parse(&c, spec, err, sizeof(err)) != 0) {
        if (!err[0])
            fuzz_cron_fail("a refused schedule has no message", spec);
        free(spec);
        return 0;
    }
    time_t t = 1764201600; /* 2025-11-27 00:00 UTC */
    for (int i = 0; i < 3; i++) {
        time_t next = vrt_cron_next(&c, t);
        if (next == (time_t)-1)
            break;
        if (next <= t)
            fuzz_cron_fail("the next firing time does not move forward",
                           spec);
        t = next;
    }
    free(spec);
    return 0;
}
