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

#define GV "/apis/infra.virtrigaud.io/v1beta1"

/* commands.c */
int vrtg_dispatch(vrtg_ctx *ctx, int argc, char **argv);
/* A request; prints the server's message on failure and returns the exit
 * code.  *out (may be NULL) gets the answer. */
int call(cJSON **out, vrtg_ctx *ctx, const char *method, const char *path,
         const char *ctype, const cJSON *body);
void print_doc(vrtg_ctx *ctx, const cJSON *obj);
const char *str_at(const cJSON *o, const char *a, const char *b);
const char *cond_status(const cJSON *obj, const char *type);
const char *or_dash(const char *s);

/* day2.c: events, describe, snapshots, clones, migrations, provider
 * details, completion.  VRTG_NOT_MINE when argv is not one of them. */
#define VRTG_NOT_MINE (-1)
int vrtg_day2(vrtg_ctx *ctx, int argc, char **argv);

#endif
