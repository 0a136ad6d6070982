/*
 * admit.h - checks on every object written through the API server.
 */
#ifndef VRT_CORE_APISERVER_ADMIT_H
#define VRT_CORE_APISERVER_ADMIT_H

#include "apiserver.h"

/* Checks apiVersion/kind/name, handles unknown fields per
 * `field_validation` ("Strict", "Warn", "Ignore"; NULL = Warn), applies
 * defaults and validates.  On failure fills `r` and returns -1.  On
 * success *warning may be a malloc'd warning text for the client. */
int vrt_admit(vrt_resp *r, const vrt_resource *res, cJSON *obj,
              const char *field_validation, char **warning);

/* "infra.virtrigaud.io/v1beta1" or "v1". */
void vrt_api_version_of(char *buf, size_t size, const vrt_resource *res);

#endif
