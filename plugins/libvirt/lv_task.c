/* lv_task.c - the in-memory task table (see lv_task.h). */
#include "lv_task.h"
#include "lv_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Finished tasks are kept this long for late pollers. */
#define LV_TASK_KEEP_MS (60u * 60u * 1000u)

void lv_tasks_init(lv_tasks *t)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
}

void lv_tasks_destroy(lv_tasks *t)
{
    pthread_mutex_destroy(&t->lock);
    free(t->items);
    memset(t, 0, sizeof(*t));
}

static void forget_old(lv_tasks *t, uint64_t now)
{
    size_t i = 0;

    while (i < t->n) {
        if (t->items[i].done_ms && now - t->items[i].done_ms > LV_TASK_KEEP_MS)
            t->items[i] = t->items[--t->n];
        else
            i++;
    }
}

void lv_tasks_add_shutdown(vrt_task_ref *out, lv_tasks *t, const char *uuid,
                           uint64_t deadline_ms)
{
    lv_task *task;

    pthread_mutex_lock(&t->lock);
    forget_old(t, lv_now_ms());
    t->items = lv_xrealloc(t->items, t->n + 1, sizeof(*t->items));
    task = &t->items[t->n++];
    memset(task, 0, sizeof(*task));
    snprintf(task->id, sizeof(task->id), "shutdown-%llu-%s",
             (unsigned long long)++t->seq, uuid);
    lv_strlcpy(task->uuid, uuid, sizeof(task->uuid));
    task->deadline_ms = deadline_ms;
    lv_strlcpy(out->id, task->id, sizeof(out->id));
    pthread_mutex_unlock(&t->lock);
}

int lv_tasks_get(lv_task *out, lv_tasks *t, const char *id)
{
    size_t i;
    int rc = -1;

    pthread_mutex_lock(&t->lock);
    for (i = 0; id && i < t->n; i++)
        if (!strcmp(t->items[i].id, id)) {
            *out = t->items[i];
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void lv_tasks_put(lv_tasks *t, const lv_task *task)
{
    size_t i;

    pthread_mutex_lock(&t->lock);
    for (i = 0; i < t->n; i++)
        if (!strcmp(t->items[i].id, task->id)) {
            t->items[i] = *task;
            break;
        }
    pthread_mutex_unlock(&t->lock);
}
