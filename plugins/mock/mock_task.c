/*
 * mock_task.c - simulated long operations.
 *
 * The model is deliberately simple and deterministic: on an "async"
 * connection a mutating method applies its effect at call time, like a
 * synchronous one, and also returns a task "task-N".  The first taskPolls
 * task_status calls report it running, with percent rising, and the next
 * one reports it done.  A fault with "task": true is the exception: the
 * effect is not applied and the task ends with that fault's error.
 */
#include <stdio.h>
#include <string.h>

#include "mock.h"

int32_t mock_task_issue(vrt_task_ref *task, vrt_conn *conn, mock_method m,
                        const vrt_error *task_err, vrt_error *err)
{
    mock_state *st = conn->state;
    mock_task *t;

    task->id[0] = '\0';
    if (!conn->cfg.async)
        return VRT_OK;
    pthread_mutex_lock(&st->lock);
    if (st->ntasks >= MOCK_TASKS_KEPT) {
        /* Forget the older half, as a hypervisor expires its task list. */
        size_t drop = st->ntasks / 2;

        memmove(st->tasks, st->tasks + drop,
                (st->ntasks - drop) * sizeof(*st->tasks));
        st->ntasks -= drop;
    }
    if (mock_grow((void **)&st->tasks, &st->captasks, st->ntasks + 1,
                  sizeof(*st->tasks)) != 0) {
        pthread_mutex_unlock(&st->lock);
        return mock_err(err, VRT_E_INTERNAL, "Out of memory.");
    }
    t = &st->tasks[st->ntasks++];
    memset(t, 0, sizeof(*t));
    snprintf(t->id, sizeof(t->id), "task-%llu",
             (unsigned long long)++st->next_task);
    mock_copy(t->method, sizeof(t->method), mock_method_name(m));
    t->needed = conn->cfg.task_polls;
    if (task_err)
        t->error = *task_err;
    memcpy(task->id, t->id, sizeof(task->id));
    pthread_mutex_unlock(&st->lock);
    mock_log(conn->ctx, VRT_LOG_DEBUG, "Issued task_id=%s for %s.", task->id,
             mock_method_name(m));
    return VRT_OK;
}

static mock_task *task_find(mock_state *st, const char *id)
{
    for (size_t i = 0; i < st->ntasks; i++)
        if (strcmp(st->tasks[i].id, id) == 0)
            return &st->tasks[i];
    return NULL;
}

int32_t mock_task_status(vrt_task_status *out, vrt_conn *conn,
                         const vrt_call *call, const char *task_id,
                         uint32_t flags, vrt_error *err)
{
    vrt_task_status full;
    mock_task *t;
    int32_t rc = mock_check_call(conn, call, flags, MOCK_M_TASK_STATUS, err);

    if (rc == VRT_OK)
        rc = mock_check_arg(out, "out", MOCK_M_TASK_STATUS, err);
    if (rc == VRT_OK)
        rc = mock_check_arg(task_id, "task_id", MOCK_M_TASK_STATUS, err);
    if (rc == VRT_OK && !VRT_HAS_MEMBER(out, vrt_task_status, done))
        rc = mock_err(err, VRT_E_INVALID,
                      "task_status: out->struct_size %u is too small.",
                      out->struct_size);
    if (rc == VRT_OK)
        rc = mock_gate(NULL, conn, call, MOCK_M_TASK_STATUS, err);
    if (rc != VRT_OK)
        return rc;

    memset(&full, 0, sizeof(full));
    pthread_mutex_lock(&conn->state->lock);
    t = task_find(conn->state, task_id);
    if (t) {
        if (t->polls <= t->needed) /* saturate once done */
            t->polls++;
        full.done = t->polls > t->needed;
        full.percent =
            full.done ? 100 : (int32_t)(t->polls * 100u / (t->needed + 1u));
        if (full.done)
            full.error = t->error;
    }
    pthread_mutex_unlock(&conn->state->lock);
    if (!t)
        return mock_err(err, VRT_E_NOTFOUND,
                        "task_status: no task \"%.64s\" on this endpoint.",
                        task_id);
    mock_put_sized(out, &full, sizeof(full));
    return VRT_OK;
}
