/*
 * The supervisor: listens, accepts, starts a relay thread per connection,
 * keeps one worker process running (restarting it when it dies, with a
 * growing pause when it keeps dying at once), and reloads the TLS
 * certificates on SIGHUP or when their files change.
 */
#include "host.h"

#include <vrt/clock.h>
#include <vrt/log.h>
#include <vrt/metrics.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

VRT_LOG_SOURCE("host.supervisor");

#define ENDS_KEPT 64

static const host_opts *opts;
static char **orig_argv;
static int sigpipe_fds[2] = {-1, -1};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static SSL_CTX *tls_ctx;     /* under lock */
static pid_t worker_pid = -1; /* under lock */
static int worker_ctl = -1;  /* under lock */
static unsigned worker_gen;  /* under lock: the current or last worker */
static unsigned reaped_gen;  /* under lock */
static char ends[ENDS_KEPT][64]; /* how generation g ended: ends[g % N] */

const host_opts *supervisor_opts(void)
{
    return opts;
}

SSL_CTX *supervisor_tls(void)
{
    pthread_mutex_lock(&lock);
    SSL_CTX *c = tls_ctx;
    if (c)
        SSL_CTX_up_ref(c);
    pthread_mutex_unlock(&lock);
    return c;
}

static void on_signal(int sig)
{
    unsigned char b = (unsigned char)sig;
    int e = errno;
    (void)!write(sigpipe_fds[1], &b, 1);
    errno = e;
}

/* ---------------------------------------------------------------------- */
/* The worker                                                              */
/* ---------------------------------------------------------------------- */

/* Sanitizers must let a crash be a crash, so that it is reported as the
 * signal it is. */
static void sanitizer_env(void)
{
    const char *vars[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS"};
    for (int i = 0; i < 2; i++) {
        const char *old = getenv(vars[i]);
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s%shandle_segv=0:handle_sigbus=0",
                 old ? old : "", old && *old ? ":" : "");
        setenv(vars[i], buf, 1);
    }
}

static int spawn_worker(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        vrt_log_error("Cannot make the worker's control socket: %s.",
                      strerror(errno));
        return -1;
    }
    /* /proc/self/exe runs this very binary even after an upgrade replaced
     * the file (its path then ends in " (deleted)" and would not run). */
    const char *self = access("/proc/self/exe", X_OK) == 0 ? "/proc/self/exe"
                                                           : orig_argv[0];
    char fdarg[16];
    snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
    pid_t pid = fork();
    if (pid < 0) {
        vrt_log_error("Cannot start the worker: fork failed: %s.",
                      strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        (void)fcntl(sv[1], F_SETFD, 0);
        const char *argv[10];
        int i = 0;
        argv[i++] = orig_argv[0];
        argv[i++] = "--plugin";
        argv[i++] = opts->plugin;
        argv[i++] = "--worker-fd";
        argv[i++] = fdarg;
        if (opts->skip_perms)
            argv[i++] = "--skip-plugin-perms";
        if (opts->credentials_dir) {
            argv[i++] = "--credentials-dir";
            argv[i++] = opts->credentials_dir;
        }
        argv[i] = NULL;
        execv(self, (char *const *)argv);
        _exit(127);
    }
    close(sv[1]);
    pthread_mutex_lock(&lock);
    worker_pid = pid;
    worker_ctl = sv[0];
    worker_gen++;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    vrt_log_info("Worker started pid=%ld generation=%u", (long)pid,
                 worker_gen);
    return 0;
}

int supervisor_attach(unsigned *gen)
{
    int sv[2] = {-1, -1}, ours = -1;
    uint64_t until = vrt_now_ms() + 10000;
    pthread_mutex_lock(&lock);
    while (worker_ctl < 0 && vrt_now_ms() < until) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&changed, &lock, &ts);
    }
    if (worker_ctl >= 0 &&
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
        char byte = 'c';
        struct iovec iov = {&byte, 1};
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } u;
        memset(&u, 0, sizeof(u));
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = u.buf,
                             .msg_controllen = sizeof(u.buf)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &sv[1], sizeof(int));
        if (sendmsg(worker_ctl, &msg, MSG_NOSIGNAL) == 1) {
            ours = sv[0];
            *gen = worker_gen;
        } else {
            close(sv[0]);
        }
        close(sv[1]);
    }
    pthread_mutex_unlock(&lock);
    return ours;
}

void supervisor_worker_end(char *buf, size_t size, unsigned gen)
{
    uint64_t until = vrt_now_ms() + 5000;
    pthread_mutex_lock(&lock);
    while (reaped_gen < gen && vrt_now_ms() < until) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&changed, &lock, &ts);
    }
    if (reaped_gen >= gen)
        snprintf(buf, size, "%s", ends[gen % ENDS_KEPT]);
    else
        snprintf(buf, size, "the worker closed its connection");
    pthread_mutex_unlock(&lock);
}

/* Reaps the worker; returns non-zero when it could not load the plugin
 * (restarting would not help). */
static int reap(uint64_t *restart_at, uint64_t started_at)
{
    int status, fatal = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        pthread_mutex_lock(&lock);
        if (pid != worker_pid) {
            pthread_mutex_unlock(&lock);
            continue;
        }
        char *e = ends[worker_gen % ENDS_KEPT];
        if (WIFSIGNALED(status))
            snprintf(e, sizeof(ends[0]), "signal %d", WTERMSIG(status));
        else
            snprintf(e, sizeof(ends[0]), "exit status %d",
                     WEXITSTATUS(status));
        fatal = WIFEXITED(status) && WEXITSTATUS(status) == 3;
        close(worker_ctl);
        worker_ctl = -1;
        worker_pid = -1;
        reaped_gen = worker_gen;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
        uint64_t now = vrt_now_ms();
        static uint32_t pause_ms = 0;
        /* A worker that dies within a second of starting pauses the next
         * start, doubling up to 5 s, so a crash loop does not spin. */
        pause_ms = now - started_at < 1000
                       ? (pause_ms ? (pause_ms * 2 > 5000 ? 5000 : pause_ms * 2)
                                   : 100)
                       : 0;
        *restart_at = now + pause_ms;
        vrt_log_error("Worker pid=%ld ended (%s); restarting it%s.",
                      (long)pid, e, pause_ms ? " after a pause" : "");
    }
    return fatal;
}

/* ---------------------------------------------------------------------- */
/* Certificates                                                            */
/* ---------------------------------------------------------------------- */

static char stamp_now[512];

static void files_stamp(char *out, size_t size)
{
    const char *files[] = {opts->cert, opts->key, opts->ca, opts->crl};
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < 4 && n < size; i++) {
        struct stat st;
        if (!files[i] || stat(files[i], &st) != 0)
            continue;
        n += (size_t)snprintf(out + n, size - n, "%llu.%ld/%lld/%llu;",
                              (unsigned long long)st.st_mtim.tv_sec,
                              st.st_mtim.tv_nsec, (long long)st.st_size,
                              (unsigned long long)st.st_ino);
    }
}

static int load_tls(int initial)
{
    SSL_CTX *ctx = NULL;
    char why[512];
    files_stamp(stamp_now, sizeof(stamp_now));
    if (vrt_tls_server_ctx(&ctx, opts->cert, opts->key, opts->ca, opts->crl,
                           why, sizeof(why)) != VRT_OK) {
        if (initial)
            fprintf(stderr, "virtrigaud-provider-host: %s\n", why);
        else
            vrt_log_error("Certificate reload failed; keeping the previous "
                          "ones: %s",
                          why);
        return -1;
    }
    SSL *probe = SSL_new(ctx);
    char serial[80] = "";
    if (probe)
        vrt_tls_serial(serial, sizeof(serial), probe, 0);
    SSL_free(probe);
    pthread_mutex_lock(&lock);
    SSL_CTX *old = tls_ctx;
    tls_ctx = ctx;
    pthread_mutex_unlock(&lock);
    SSL_CTX_free(old);
    vrt_log_info("%s certificates serial=%s cert=\"%s\" ca=\"%s\"%s%s%s",
                 initial ? "Loaded" : "Reloaded", serial, opts->cert,
                 opts->ca, opts->crl ? " crl=\"" : "",
                 opts->crl ? opts->crl : "", opts->crl ? "\"" : "");
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Listening                                                               */
/* ---------------------------------------------------------------------- */

static int listen_on(const char *addr, char *shown, size_t shown_size)
{
    if (strncmp(addr, "unix:", 5) == 0) {
        const char *path = addr + 5;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (!*path || strlen(path) >= sizeof(sa.sun_path)) {
            fprintf(stderr, "virtrigaud-provider-host: --listen \"%s\": the "
                            "socket path is empty or too long.\n", addr);
            return -1;
        }
        memcpy(sa.sun_path, path, strlen(path) + 1);
        (void)unlink(path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        mode_t old = umask(0077); /* only our user may connect */
        int ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
                 listen(fd, 64) == 0;
        umask(old);
        if (!ok) {
            fprintf(stderr, "virtrigaud-provider-host: cannot listen on "
                            "\"%s\": %s.\n", addr, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        snprintf(shown, shown_size, "unix:%s", path);
        return fd;
    }
    if (strncmp(addr, "tcp:", 4) != 0 || !strrchr(addr + 4, ':')) {
        fprintf(stderr, "virtrigaud-provider-host: --listen \"%s\" must be "
                        "unix:/PATH or tcp:HOST:PORT.\n", addr);
        return -1;
    }
    const char *hp = addr + 4, *colon = strrchr(hp, ':');
    char host[256];
    snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
    if (host[0] == '[') { /* [::1] */
        memmove(host, host + 1, strlen(host));
        host[strcspn(host, "]")] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE},
                    *res = NULL;
    int g = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
    if (g != 0) {
        fprintf(stderr, "virtrigaud-provider-host: --listen \"%s\": %s.\n",
                addr, gai_strerror(g));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
        listen(fd, 64) != 0) {
        fprintf(stderr, "virtrigaud-provider-host: cannot listen on \"%s\": "
                        "%s.\n", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char h[128] = "", p[16] = "";
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p),
                NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(shown, shown_size, strchr(h, ':') ? "tcp:[%s]:%s" : "tcp:%s:%s",
             h, p);
    return fd;
}

/* Connections served at once; more are closed at accept, so that clients
 * (even ones that never finish a handshake) cannot use up threads. */
#define MAX_RELAYS 256
static int relays; /* under lock */

void supervisor_relay_done(void)
{
    pthread_mutex_lock(&lock);
    relays--;
    pthread_mutex_unlock(&lock);
}

static void start_relay(int fd)
{
    pthread_mutex_lock(&lock);
    int full = relays >= MAX_RELAYS;
    if (!full)
        relays++;
    pthread_mutex_unlock(&lock);
    if (full) {
        vrt_log_warn("Refused a connection: %d connections are open already.",
                     MAX_RELAYS);
        close(fd);
        return;
    }
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, relay_thread, (void *)(intptr_t)fd) != 0) {
        vrt_log_error("Cannot start a connection thread: %s.",
                      strerror(errno));
        close(fd);
        supervisor_relay_done();
    }
    pthread_attr_destroy(&attr);
}

/* /readyz: a worker runs the plugin (and, with TLS, certificates are
 * loaded).  Between a worker's crash and its restart the host is alive
 * but not ready. */
static int ready(void *opaque, char *why, size_t size)
{
    (void)opaque;
    pthread_mutex_lock(&lock);
    int worker = worker_pid > 0, tls = tls_ctx != NULL;
    pthread_mutex_unlock(&lock);
    if (!worker)
        snprintf(why, size, "the plugin's worker is restarting");
    else if (!tls && !opts->insecure)
        snprintf(why, size, "no TLS certificates are loaded");
    return worker && (tls || opts->insecure);
}

static void stop_worker(void)
{
    pthread_mutex_lock(&lock);
    pid_t w = worker_pid;
    if (worker_ctl >= 0)
        close(worker_ctl);
    worker_ctl = -1;
    pthread_mutex_unlock(&lock);
    if (w > 0) {
        kill(w, SIGTERM);
        waitpid(w, NULL, 0);
    }
}

int supervisor_main(const host_opts *o, char **argv)
{
    opts = o;
    orig_argv = argv;
    char shown[300];
    signal(SIGPIPE, SIG_IGN);
    if (!o->insecure && load_tls(1) != 0)
        return 2;
    int lfd = listen_on(o->listen, shown, sizeof(shown));
    if (lfd < 0)
        return 2;
    if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK) != 0)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sanitizer_env();
    if (o->insecure)
        fprintf(stderr,
                "virtrigaud-provider-host: WARNING: --insecure: serving "
                "WITHOUT TLS and without client authentication on %s.  "
                "Anyone who can reach it can drive the plugin, and the "
                "manager's credentials cross in clear.  Use --cert/--key/--ca "
                "outside tests.\n",
                shown);
    uint64_t started_at = vrt_now_ms(), restart_at = 0;
    if (spawn_worker() != 0)
        return 1;
    vrt_metrics_server *probes = NULL;
    vrt_error err = VRT_ERROR_INIT;
    if (o->metrics_addr &&
        vrt_metrics_serve_ready(&probes, o->metrics_addr, ready, NULL,
                                &err) != VRT_OK) {
        fprintf(stderr, "virtrigaud-provider-host: %s\n", err.message);
        stop_worker();
        close(lfd);
        return 2;
    }
    printf("virtrigaud-provider-host %s: serving plugin \"%s\" on %s (%s), "
           "protocol %d\n",
           HOST_VERSION, o->plugin, shown,
           o->insecure ? "PLAINTEXT, insecure" : "mutual TLS 1.3",
           VRT_REMOTE_PROTO);
    int status = 0;
    for (;;) {
        struct pollfd p[2] = {{lfd, POLLIN, 0}, {sigpipe_fds[0], POLLIN, 0}};
        int n = poll(p, 2, 1000);
        if (n < 0 && errno != EINTR)
            break;
        if (p[1].revents & POLLIN) {
            unsigned char sig;
            int stop = 0, hup = 0;
            while (read(sigpipe_fds[0], &sig, 1) == 1) {
                stop |= sig == SIGTERM || sig == SIGINT;
                hup |= sig == SIGHUP;
            }
            if (reap(&restart_at, started_at)) {
                fprintf(stderr, "virtrigaud-provider-host: the worker cannot "
                                "load the plugin; stopping.\n");
                status = 1;
                break;
            }
            if (stop)
                break;
            if (hup && !o->insecure) {
                vrt_log_info("SIGHUP: reloading certificates.");
                load_tls(0);
            }
        }
        if (!o->insecure) {
            char st[512];
            files_stamp(st, sizeof(st));
            if (strcmp(st, stamp_now) != 0) {
                vrt_log_info("Certificate files changed: reloading them.");
                load_tls(0);
            }
        }
        pthread_mutex_lock(&lock);
        int down = worker_pid < 0;
        pthread_mutex_unlock(&lock);
        if (down && vrt_now_ms() >= restart_at) {
            started_at = vrt_now_ms();
            spawn_worker();
        }
        if (p[0].revents & POLLIN) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), one = 1;
            /* Small frames each way: no Nagle delay; keepalives find
             * peers that vanished (both fail harmlessly on a Unix
             * socket). */
            if (fd >= 0) {
                (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
                                 sizeof(one));
                (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one,
                                 sizeof(one));
                start_relay(fd);
            } else if (errno == EMFILE || errno == ENFILE) {
                /* The listener stays readable: pause rather than spin. */
                vrt_log_warn("Cannot accept a connection: %s.",
                             strerror(errno));
                usleep(100000);
            }
        }
    }
    vrt_metrics_server_stop(probes);
    stop_worker();
    close(lfd);
    if (strncmp(o->listen, "unix:", 5) == 0)
        unlink(o->listen + 5);
    vrt_log_info("Stopped.");
    return status;
}
