/*
 * The ABI's value structures as JSON, for the provider-host wire.  Both
 * ends use these, so a field is named once.  Decoding trusts nothing: each
 * string is bounded to its array and each number to its type.
 */
#include <vrt/remote.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t vrt_codec_u64(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(j, key);
    if (cJSON_IsString(v))
        return strtoull(v->valuestring, NULL, 16);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) ||
        v->valuedouble >= 18446744073709551615.0)
        return 0;
    return (uint64_t)v->valuedouble;
}

int64_t vrt_codec_i64(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(j, key);
    if (!cJSON_IsNumber(v) || isnan(v->valuedouble) ||
        fabs(v->valuedouble) > 9.2e18)
        return 0;
    return (int64_t)v->valuedouble;
}

const char *vrt_codec_str(const cJSON *j, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(j, key));
}

void vrt_codec_copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

void vrt_codec_add_mask(cJSON *j, const char *key, uint64_t v)
{
    char hex[24];
    snprintf(hex, sizeof(hex), "%llx", (unsigned long long)v);
    cJSON_AddStringToObject(j, key, hex);
}

/* Adds a fixed array's text, terminated even if the plugin did not. */
static void add_fixed(cJSON *j, const char *key, const char *arr, size_t n)
{
    char *tmp = malloc(n + 1);
    if (!tmp)
        abort();
    memcpy(tmp, arr, n);
    tmp[n] = '\0';
    cJSON_AddStringToObject(j, key, tmp);
    free(tmp);
}
#define ADD_FIXED(j, key, arr) add_fixed((j), (key), (arr), sizeof(arr))
#define READ_FIXED(arr, j, key) vrt_codec_copy((arr), sizeof(arr), vrt_codec_str((j), (key)))

cJSON *vrt_codec_vm_info(const vrt_vm_info *in)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "exists", in->exists);
    cJSON_AddNumberToObject(j, "power", in->power_state);
    ADD_FIXED(j, "id", in->id);
    ADD_FIXED(j, "name", in->name);
    ADD_FIXED(j, "console", in->console_url);
    cJSON_AddNumberToObject(j, "cpus", in->cpus);
    cJSON_AddNumberToObject(j, "mem", (double)in->memory_mib);
    cJSON *ips = cJSON_AddArrayToObject(j, "ips");
    uint32_t n = in->ip_count > VRT_IPS_MAX ? VRT_IPS_MAX : in->ip_count;
    for (uint32_t i = 0; i < n; i++) {
        char ip[VRT_IP_MAX + 1];
        memcpy(ip, in->ips[i], VRT_IP_MAX);
        ip[VRT_IP_MAX] = '\0';
        cJSON_AddItemToArray(ips, cJSON_CreateString(ip));
    }
    if (in->raw_json)
        cJSON_AddStringToObject(j, "raw", in->raw_json);
    return j;
}

void vrt_codec_vm_info_read(vrt_vm_info *out, const cJSON *j, int with_raw)
{
    uint32_t ss = out->struct_size;
    memset(out, 0, sizeof(*out));
    out->struct_size = ss;
    out->exists = (int32_t)vrt_codec_i64(j, "exists");
    out->power_state = (int32_t)vrt_codec_i64(j, "power");
    READ_FIXED(out->id, j, "id");
    READ_FIXED(out->name, j, "name");
    READ_FIXED(out->console_url, j, "console");
    out->cpus = (uint32_t)vrt_codec_u64(j, "cpus");
    out->memory_mib = vrt_codec_u64(j, "mem");
    const cJSON *ip;
    cJSON_ArrayForEach(ip, cJSON_GetObjectItem(j, "ips")) {
        if (out->ip_count >= VRT_IPS_MAX)
            break;
        vrt_codec_copy(out->ips[out->ip_count++], VRT_IP_MAX,
                       cJSON_GetStringValue(ip));
    }
    const char *raw = vrt_codec_str(j, "raw");
    if (raw && with_raw) {
        size_t n = strlen(raw) + 1;
        out->raw_json = vrt_host_api_get()->alloc(n);
        if (!out->raw_json)
            abort();
        memcpy(out->raw_json, raw, n);
    }
}

cJSON *vrt_codec_task_status(const vrt_task_status *in)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "done", in->done);
    cJSON_AddNumberToObject(j, "percent", in->percent);
    cJSON_AddNumberToObject(j, "bd", (double)in->bytes_done);
    cJSON_AddNumberToObject(j, "bt", (double)in->bytes_total);
    cJSON_AddItemToObject(j, "error", vrt_wire_error_json(&in->error));
    return j;
}

void vrt_codec_task_status_read(vrt_task_status *out, const cJSON *j)
{
    uint32_t ss = out->struct_size;
    memset(out, 0, sizeof(*out));
    out->struct_size = ss;
    out->done = (int32_t)vrt_codec_i64(j, "done");
    out->percent = (int32_t)vrt_codec_i64(j, "percent");
    out->bytes_done = vrt_codec_u64(j, "bd");
    out->bytes_total = vrt_codec_u64(j, "bt");
    vrt_wire_error_read(&out->error, cJSON_GetObjectItem(j, "error"));
}

cJSON *vrt_codec_disk_info(const vrt_disk_info *in)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "format", in->format);
    cJSON_AddNumberToObject(j, "vsize", (double)in->virtual_size);
    cJSON_AddNumberToObject(j, "asize", (double)in->actual_size);
    cJSON_AddNumberToObject(j, "bootable", in->bootable);
    ADD_FIXED(j, "id", in->id);
    ADD_FIXED(j, "path", in->path);
    ADD_FIXED(j, "backing", in->backing_path);
    return j;
}

void vrt_codec_disk_info_read(vrt_disk_info *out, const cJSON *j)
{
    uint32_t ss = out->struct_size;
    memset(out, 0, sizeof(*out));
    out->struct_size = ss;
    out->format = (uint32_t)vrt_codec_u64(j, "format");
    out->virtual_size = vrt_codec_u64(j, "vsize");
    out->actual_size = vrt_codec_u64(j, "asize");
    out->bootable = (int32_t)vrt_codec_i64(j, "bootable");
    READ_FIXED(out->id, j, "id");
    READ_FIXED(out->path, j, "path");
    READ_FIXED(out->backing_path, j, "backing");
}

cJSON *vrt_codec_console(const vrt_console_info *in)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "expires", (double)in->expires_ms);
    ADD_FIXED(j, "url", in->url);
    ADD_FIXED(j, "kind", in->kind);
    return j;
}

void vrt_codec_console_read(vrt_console_info *out, const cJSON *j)
{
    uint32_t ss = out->struct_size;
    memset(out, 0, sizeof(*out));
    out->struct_size = ss;
    out->expires_ms = vrt_codec_u64(j, "expires");
    READ_FIXED(out->url, j, "url");
    READ_FIXED(out->kind, j, "kind");
}

cJSON *vrt_codec_host_info(const vrt_host_info *in)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "available", in->available);
    cJSON_AddNumberToObject(j, "cpus", in->cpus);
    cJSON_AddNumberToObject(j, "vms", in->vm_count);
    cJSON_AddNumberToObject(j, "mem", (double)in->memory_mib);
    cJSON_AddNumberToObject(j, "memfree", (double)in->memory_free_mib);
    ADD_FIXED(j, "name", in->name);
    return j;
}

void vrt_codec_host_info_read(vrt_host_info *out, const cJSON *j)
{
    memset(out, 0, sizeof(*out));
    out->struct_size = sizeof(*out);
    out->available = (int32_t)vrt_codec_i64(j, "available");
    out->cpus = (uint32_t)vrt_codec_u64(j, "cpus");
    out->vm_count = (uint32_t)vrt_codec_u64(j, "vms");
    out->memory_mib = vrt_codec_u64(j, "mem");
    out->memory_free_mib = vrt_codec_u64(j, "memfree");
    READ_FIXED(out->name, j, "name");
}
