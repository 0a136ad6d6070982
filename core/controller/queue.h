/*
 * queue.h - the controller's work queue, after client-go's: a key is
 * queued at most once, is processed by one worker at a time (a key added
 * while it is being processed runs again afterwards), and can be re-added
 * after a delay with per-key exponential backoff.
 */
#ifndef VRT_CORE_CONTROLLER_QUEUE_H
#define VRT_CORE_CONTROLLER_QUEUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct vrt_queue vrt_queue;

vrt_queue *vrt_queue_new(void);
void vrt_queue_free(vrt_queue *q);

/* Queues `key` now (deduplicated). */
void vrt_queue_add(vrt_queue *q, const char *key);
/* Queues `key` after `delay_ms` (the earliest pending time wins). */
void vrt_queue_add_after(vrt_queue *q, const char *key, uint64_t delay_ms);
/* Queues `key` after its backoff (base * 2^failures, capped), and counts
 * a failure. */
void vrt_queue_add_backoff(vrt_queue *q, const char *key);
/* Clears the failure count of `key` (after a success). */
void vrt_queue_forget(vrt_queue *q, const char *key);

/* Blocks for the next key; copies it into `key`.  Returns 0, or -1 once
 * the queue is shut down.  Call vrt_queue_done(key) when finished. */
int vrt_queue_get(vrt_queue *q, char *key, size_t size);
void vrt_queue_done(vrt_queue *q, const char *key);

/* Wakes all getters; they return -1. */
void vrt_queue_shutdown(vrt_queue *q);

/* Number of keys ready or delayed (for metrics and tests). */
size_t vrt_queue_len(vrt_queue *q);

#endif
