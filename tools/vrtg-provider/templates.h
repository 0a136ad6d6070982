/*
 * templates.h - the scaffold files `vrtg-provider init` writes, embedded
 * at build time from the files tools/vrtg-provider/templates/NAME.in by
 * embed-templates.sh (see module.mk).
 */
#ifndef VRTG_PROVIDER_TEMPLATES_H
#define VRTG_PROVIDER_TEMPLATES_H

typedef struct vrtg_template {
    const char *name; /* the template's file name without ".in" */
    const char *text; /* NUL-terminated, with @NAME@ and @PREFIX@ */
} vrtg_template;

/* Ends with {NULL, NULL}. */
extern const vrtg_template vrtg_templates[];

#endif
