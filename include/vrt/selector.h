/*
 * vrt/selector.h - Kubernetes label and field selectors.
 *
 * Label selectors: "a=b", "a==b", "a!=b", "a in (x,y)", "a notin (x)",
 * "a", "!a", comma-separated (AND).  Field selectors: "metadata.name=x",
 * "metadata.namespace!=y", and any other dotted path on the object with
 * = / == / !=.
 */
#ifndef VRT_SELECTOR_H
#define VRT_SELECTOR_H

#include <cJSON.h>
#include <stddef.h>

typedef struct vrt_selector vrt_selector;

/* Parses a label (is_field = 0) or field (is_field = 1) selector.  NULL or
 * "" gives a selector that matches everything.  On error returns NULL and
 * writes the reason, naming the offending term, to errbuf.  Free with
 * vrt_selector_free. */
vrt_selector *vrt_selector_parse(const char *text, int is_field,
                                 char *errbuf, size_t errsize);
void vrt_selector_free(vrt_selector *sel);

/* Non-zero if the object (a whole Kubernetes object) matches. */
int vrt_selector_matches(const vrt_selector *sel, const cJSON *obj);

#endif
