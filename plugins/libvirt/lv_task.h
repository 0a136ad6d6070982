/*
 * lv_task.h - tasks the host polls.  Almost every libvirt call finishes
 * within the call, so the only task is a graceful shutdown that outlives
 * the call's deadline: task_status keeps watching the domain and powers
 * it off once the shutdown timeout has passed.  Tasks live in memory; a
 * restarted host gets VRT_E_NOTFOUND and simply asks again.
 */
#ifndef LV_TASK_H
#define LV_TASK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <virtrigaud/provider.h>

typedef struct lv_task {
    char id[VRT_ID_MAX];
    char uuid[40];        /* the domain */
    uint64_t deadline_ms; /* monotonic: power off after this */
    uint64_t done_ms;     /* when it finished, 0 while running */
    vrt_error error;      /* code != 0 when it failed */
} lv_task;

typedef struct lv_tasks {
    pthread_mutex_t lock;
    lv_task *items;
    size_t n;
    uint64_t seq;
} lv_tasks;

void lv_tasks_init(lv_tasks *t);
void lv_tasks_destroy(lv_tasks *t);

/* Copies task `id` into *out; -1 when unknown. */
int lv_tasks_get(lv_task *out, lv_tasks *t, const char *id);
/* Stores the new state of a task that lv_tasks_get returned. */
void lv_tasks_put(lv_tasks *t, const lv_task *task);

/* Records a graceful shutdown of domain `uuid` and writes its task id. */
void lv_tasks_add_shutdown(vrt_task_ref *out, lv_tasks *t,
                           const char *uuid, uint64_t deadline_ms);

#endif /* LV_TASK_H */
