/*
 * loader_internal.h - what a loaded plugin record holds.  Shared by the
 * loader and the call wrappers; internal to core/plugin.
 */
#ifndef VRT_CORE_PLUGIN_LOADER_INTERNAL_H
#define VRT_CORE_PLUGIN_LOADER_INTERNAL_H

#include <vrt/plugin.h>

#include <stdio.h>

struct vrt_plugin {
    void *handle;           /* dlopen handle, closed at registry free */
    const vrt_provider *vt; /* owned by the plugin, never copied */
    char *path;
    char *name;
    char *version;
    uint32_t abi;
};

#endif
