/*
 * lv_event.c - the libvirt event loop that keepalive needs.
 *
 * libvirt sends keepalive probes only while an event loop runs.  We run
 * libvirt's default loop on one thread while at least one connection
 * wants it, and stop (and join) that thread when the last one closes, so
 * that no thread is left inside the plugin when the host unloads it.
 */
#include "lv_conn.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static pthread_once_t register_once = PTHREAD_ONCE_INIT;
static int registered;
static pthread_mutex_t loop_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t loop_users;
static pthread_t loop_thread;
static atomic_int loop_stop;

static void register_impl(void)
{
    registered = virEventRegisterDefaultImpl() == 0;
}

static void *loop_main(void *opaque)
{
    struct timespec pause = {0, 100 * 1000000L};

    (void)opaque;
    while (!atomic_load(&loop_stop))
        if (virEventRunDefaultImpl() < 0)
            nanosleep(&pause, NULL); /* do not spin on a broken loop */
    return NULL;
}

/* Fires at once; its only job is to make virEventRunDefaultImpl return. */
static void wake(int timer, void *opaque)
{
    (void)opaque;
    virEventRemoveTimeout(timer);
}

int lv_event_acquire(void)
{
    int rc = 0;

    pthread_once(&register_once, register_impl);
    if (!registered)
        return -1;
    pthread_mutex_lock(&loop_lock);
    if (loop_users == 0) {
        atomic_store(&loop_stop, 0);
        rc = pthread_create(&loop_thread, NULL, loop_main, NULL) ? -1 : 0;
    }
    if (rc == 0)
        loop_users++;
    pthread_mutex_unlock(&loop_lock);
    return rc;
}

void lv_event_release(void)
{
    int timer;

    pthread_mutex_lock(&loop_lock);
    if (loop_users && --loop_users == 0) {
        atomic_store(&loop_stop, 1);
        timer = virEventAddTimeout(0, wake, NULL, NULL);
        pthread_join(loop_thread, NULL);
        if (timer >= 0)
            virEventRemoveTimeout(timer); /* if the loop exited first */
    }
    pthread_mutex_unlock(&loop_lock);
}
