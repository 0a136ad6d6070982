/*
 * vrtg.h - shared state of the vrtg commands.
 */
#ifndef VRTG_H
#define VRTG_H

#include <vrt/kube.h>

#define VRTG_EXIT_OK 0
#define VRTG_EXIT_FAIL 1
#define VRTG_EXIT_USAGE 2
#define VRTG_EXIT_NOTFOUND 3
#define VRTG_EXIT_TIMEOUT 4

typedef struct vrtg_ctx {
    vrt_kube *kube;
    const char *ns;
    const char *output; /* table, wide, json, yaml */
} vrtg_ctx;

/* commands.c */
int vrtg_dispatch(vrtg_ctx *ctx, int argc, char **argv);

#endif
