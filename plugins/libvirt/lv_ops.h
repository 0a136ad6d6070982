/*
 * lv_ops.h - the provider methods, one group per file, gathered into the
 * vtable by lv_entry.c.  Contracts are those of virtrigaud/provider.h.
 */
#ifndef LV_OPS_H
#define LV_OPS_H

#include "lv_conn.h"

/* lv_vm.c */
int32_t lv_create(char id[VRT_ID_MAX], vrt_task_ref *task, vrt_conn *c,
                  const vrt_call *call, const vrt_vm_spec *spec,
                  uint32_t flags, vrt_error *err);
int32_t lv_destroy(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                   const char *id, uint32_t flags, vrt_error *err);

/* lv_power.c */
int32_t lv_power(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                 const char *id, int32_t op, uint32_t graceful_timeout_s,
                 uint32_t flags, vrt_error *err);
int32_t lv_task_status(vrt_task_status *out, vrt_conn *c,
                       const vrt_call *call, const char *task_id,
                       uint32_t flags, vrt_error *err);

/* lv_describe.c */
int32_t lv_capabilities(vrt_caps *out, vrt_conn *c, const vrt_call *call,
                        uint32_t flags, vrt_error *err);
int32_t lv_describe(vrt_vm_info *out, vrt_conn *c, const vrt_call *call,
                    const char *id, uint32_t flags, vrt_error *err);
int32_t lv_console(vrt_console_info *out, vrt_conn *c, const vrt_call *call,
                   const char *id, uint32_t flags, vrt_error *err);

/* lv_list.c */
int32_t lv_list_vms(vrt_conn *c, const vrt_call *call, vrt_visit_fn visit,
                    void *opaque, uint32_t flags, vrt_error *err);
int32_t lv_list_hosts(vrt_conn *c, const vrt_call *call, vrt_visit_fn visit,
                      void *opaque, uint32_t flags, vrt_error *err);

/* lv_reconfigure.c */
int32_t lv_reconfigure(vrt_task_ref *task, vrt_conn *c, const vrt_call *call,
                       const char *id, const vrt_vm_spec *spec,
                       uint32_t flags, vrt_error *err);

/* lv_snapshot.c */
int32_t lv_snapshot_create(char snapshot_id[VRT_ID_MAX], vrt_task_ref *task,
                           vrt_conn *c, const vrt_call *call,
                           const char *vm_id, const vrt_snapshot_spec *spec,
                           uint32_t flags, vrt_error *err);
int32_t lv_snapshot_delete(vrt_task_ref *task, vrt_conn *c,
                           const vrt_call *call, const char *vm_id,
                           const char *snapshot_id, uint32_t flags,
                           vrt_error *err);
int32_t lv_snapshot_revert(vrt_task_ref *task, vrt_conn *c,
                           const vrt_call *call, const char *vm_id,
                           const char *snapshot_id, uint32_t flags,
                           vrt_error *err);

/* lv_clone.c */
int32_t lv_clone(char target_id[VRT_ID_MAX], vrt_task_ref *task, vrt_conn *c,
                 const vrt_call *call, const vrt_clone_spec *spec,
                 uint32_t flags, vrt_error *err);

/* lv_disk.c */
int32_t lv_disk_info(vrt_disk_info *out, vrt_conn *c, const vrt_call *call,
                     const char *vm_id, const char *disk_id, uint32_t flags,
                     vrt_error *err);
int32_t lv_disk_export_open(vrt_stream **out, uint64_t *size, vrt_conn *c,
                            const vrt_call *call, const vrt_export_spec *spec,
                            uint32_t flags, vrt_error *err);
int32_t lv_stream_read(size_t *nread, vrt_stream *s, uint8_t *buf, size_t len,
                       uint32_t flags, vrt_error *err);
void lv_stream_close(vrt_stream *s);
int32_t lv_disk_import_open(vrt_stream **out, vrt_conn *c,
                            const vrt_call *call, const vrt_import_spec *spec,
                            uint32_t flags, vrt_error *err);
int32_t lv_stream_write(vrt_stream *s, const uint8_t *buf, size_t len,
                        uint32_t flags, vrt_error *err);
int32_t lv_stream_finish(char disk_id[VRT_ID_MAX], vrt_stream *s,
                         uint32_t flags, vrt_error *err);
void lv_stream_abort(vrt_stream *s);

#endif /* LV_OPS_H */
