/* lv_plan.c - which volumes a new VM owns and how each is made. */
#include "lv_domain_xml.h"
#include "lv_util.h"

#include <string.h>

#define GIB (1024ull * 1024 * 1024)

static char *target_name(size_t index)
{
    /* vda..vdz: a spec has at most 1 boot + 20 data + 1 seed disks */
    return lv_xasprintf("vd%c", (char)('a' + index));
}

static void plan_boot(lv_marker *m, const char *vm, const lv_spec *s,
                      const char *pool, const lv_image_info *img)
{
    lv_vol *v = lv_marker_add_vol(m);
    uint64_t want = s->image_size_gib * GIB;

    v->role = lv_xstrdup(LV_ROLE_BOOT);
    v->target = target_name(m->nvols - 1);
    if (s->image_mode == LV_IMAGE_ATTACH) {
        /* the image volume becomes the VM's own disk */
        v->pool = lv_xstrdup(img->pool);
        v->name = lv_xstrdup(img->volume);
        v->format = lv_xstrdup(img->format);
        v->capacity = img->capacity;
        return;
    }
    v->create = 1;
    v->pool = lv_xstrdup(pool);
    v->name = lv_xasprintf("%s-boot.qcow2", vm);
    v->format = lv_xstrdup("qcow2");
    v->capacity = want > img->capacity ? want : img->capacity;
    if (s->image_mode == LV_IMAGE_COPY) {
        v->copy_from = lv_xstrdup(img->path);
    } else {
        v->backing = lv_xstrdup(img->path);
        v->backing_format = lv_xstrdup(img->format);
    }
}

void lv_plan_volumes(lv_marker *m, const char *vm, const char *spec_hash,
                     const lv_spec *s, const char *pool,
                     const lv_image_info *img, int seed)
{
    lv_vol *v;
    size_t i;

    m->name = lv_xstrdup(vm);
    m->spec_hash = lv_xstrdup(spec_hash);
    m->tags = lv_xcalloc(s->ntags, sizeof(*m->tags));
    for (i = 0; i < s->ntags; i++)
        m->tags[m->ntags++] = lv_xstrdup(s->tags[i]);
    if (img)
        plan_boot(m, vm, s, pool, img);
    for (i = 0; i < s->ndisks; i++) {
        v = lv_marker_add_vol(m);
        v->create = 1;
        v->role = lv_xstrdup(LV_ROLE_DATA);
        v->disk = lv_xstrdup(s->disks[i].name);
        v->pool = lv_xstrdup(pool);
        v->name = lv_xasprintf("%s-data-%s.qcow2", vm, s->disks[i].name);
        v->format = lv_xstrdup("qcow2");
        v->capacity = s->disks[i].size_gib * GIB;
        v->preallocate = s->disks[i].preallocate;
        v->target = target_name(m->nvols - 1);
    }
    if (seed) {
        v = lv_marker_add_vol(m);
        v->create = 1;
        v->role = lv_xstrdup(LV_ROLE_SEED);
        v->pool = lv_xstrdup(pool);
        v->name = lv_xasprintf("%s-cidata.iso", vm);
        v->format = lv_xstrdup("raw");
        v->target = target_name(m->nvols - 1);
    }
}
