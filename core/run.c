/*
 * run.c - `start`: bringing the daemon up, supervising it, taking it down.
 *
 * Owns the order of start-up (which is the point of the whole daemon: the
 * pidfile lock, log and dead_letter are opened and the source is bound
 * while still root; then root is dropped; then the sinks connect; only then
 * is the daemon "ready"), the main loop that turns signals into actions,
 * and the stop deadline. Signals are blocked in every thread and read from
 * a signalfd by the main loop: no work is ever done in a signal handler.
 */
#include "run.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "buildconf.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "deadletter.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "pidfile.h"
#include "pipeline.h"
#include "privs.h"
#include "settings.h"
#include "stats.h"

/* What the main loop works with. */
struct daemon {
    struct settings *set; /* borrowed */
    struct pipeline *pl;
    struct metrics *metrics; /* NULL when [core] metrics is off */
    int pid_fd;
    int ready_fd; /* readiness pipe to `start`; -1 when in foreground */
    int foreground;
    int sig_fd;
    int stopping;
    uint64_t deadline_ms;       /* when stopping: stop_timeout after SIGTERM */
    atomic_int early_stop;      /* SIGTERM or SIGINT read during start-up */
    char failure[FEED_ERR_MAX]; /* why start-up failed, for `start` */
};

/*
 * While the main thread waits in pipeline_start() (the sinks connecting,
 * a refusing database retried for up to 10 s), this thread reads the
 * signals in its place, so that a stop asked for meanwhile is honoured at
 * once. It ends when `quit` becomes readable.
 */
struct watch {
    struct daemon *d; /* borrowed */
    int quit;
    pthread_t thread;
};

/*
 * Notes a start-up failure. It reaches `start` only after the pidfile is
 * released, so that `start` can remove a pidfile the daemon, no longer
 * root, could not.
 */
static void
fail_start(struct daemon *d, const char *reason)
{
    log_error("cannot start: %s", reason);
    snprintf(d->failure, sizeof d->failure, "%s", reason);
}

/*
 * Blocks the signals the main loop reads, in this thread and so in every
 * thread started from now on, and returns a signalfd for them.
 */
static int
take_signals(char *err, size_t errlen)
{
    sigset_t set;
    int fd;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* A closed peer is an error return, never a death. */
    signal(SIGPIPE, SIG_IGN);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
        snprintf(err, errlen, "cannot block signals");
        return -1;
    }
    fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd == -1) {
        snprintf(err, errlen, "cannot create a signalfd: %s", strerror(errno));
    }
    return fd;
}

/*
 * A file the daemon has just created as root is handed to the user it will
 * run as, like the pidfile's folder: it keeps writing to it after dropping
 * root, and logrotate's copy of its ownership must be the user's.
 */
static void
give_to(const char *path, int existed, const struct privs *p)
{
    if (!existed && p->change && chown(path, p->uid, p->gid) == -1) {
        log_warning("cannot chown %s to %ld:%ld: %s", path, (long)p->uid,
                    (long)p->gid, strerror(errno));
    }
}

/* Opens the files the daemon writes, while still root. */
static int
open_outputs(struct daemon *d, const struct privs *p, char *err, size_t errlen)
{
    const struct settings *s = d->set;
    const char *target = s->log;
    int is_file =
        strcmp(target, "syslog") != 0 && strcmp(target, "stderr") != 0;
    int existed = !is_file || access(target, F_OK) == 0;

    /* In the foreground, syslog means "to the terminal". */
    if (d->foreground && strcmp(target, "syslog") == 0) {
        target = "stderr";
    }
    if (log_open(target, (enum feed_log_level)s->log_level, err, errlen) ==
        -1) {
        return -1;
    }
    if (is_file) {
        give_to(target, existed, p);
    }
    existed = access(s->dead_letter, F_OK) == 0;
    if (deadletter_open(s->dead_letter, err, errlen) == -1) {
        return -1;
    }
    give_to(s->dead_letter, existed, p);
    return 0;
}

static void reopen_files(void);

static void *
watch_main(void *arg)
{
    struct watch *w = arg;
    struct daemon *d = w->d;
    struct pollfd fds[2] = {{d->sig_fd, POLLIN, 0}, {w->quit, POLLIN, 0}};
    struct signalfd_siginfo si;

    while (atomic_load(&d->early_stop) == 0) {
        if (poll(fds, 2, -1) == -1 && errno != EINTR) {
            break;
        }
        if (fds[1].revents & POLLIN) {
            break;
        }
        while (read(d->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
            if (si.ssi_signo == SIGHUP) {
                reopen_files();
            } else if (atomic_exchange(&d->early_stop, (int)si.ssi_signo) ==
                       0) {
                log_info("%s during start-up: stopping",
                         si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
                pipeline_cancel_start(
                    d->pl, si.ssi_signo == SIGTERM
                               ? "stopped by SIGTERM during start-up"
                               : "stopped by SIGINT during start-up");
                break;
            }
        }
    }
    return NULL;
}

/* pipeline_start(), with the signals watched meanwhile. */
static int
start_watched(struct daemon *d, char *err, size_t errlen)
{
    struct watch w = {.d = d, .quit = eventfd(0, EFD_CLOEXEC)};
    int rc;

    if (w.quit == -1 || pthread_create(&w.thread, NULL, watch_main, &w) != 0) {
        if (w.quit != -1) {
            close(w.quit);
        }
        return pipeline_start(d->pl, err, errlen);
    }
    rc = pipeline_start(d->pl, err, errlen);
    if (eventfd_write(w.quit, 1) == -1) {
        log_error("cannot end the start-up watch: %s", strerror(errno));
    }
    pthread_join(w.thread, NULL);
    close(w.quit);
    return rc;
}

/* Binds, drops root, connects the sinks. */
static int
bring_up(struct daemon *d, const struct privs *privs, char *err, size_t errlen)
{
    struct settings *s = d->set;
    struct pipeline_settings ps = {
        .ack_receive = s->ack_receive,
        .queue_max = (size_t)s->queue_max,
        .batch_max = (size_t)s->batch_max,
        .threads = (unsigned)s->threads,
        .start_timeout_ms = 10 * 1000,
    };

    d->pl = pipeline_new(&s->source, &s->parser, &s->sink, &ps, err, errlen);
    if (d->pl == NULL || pipeline_open_source(d->pl, err, errlen) == -1) {
        return -1;
    }
    /* Bound while still root, like the source; served from now on. */
    if (s->metrics != NULL &&
        (d->metrics = metrics_open(s->metrics, d->pl, ps.queue_max, err,
                                   errlen)) == NULL) {
        return -1;
    }
    if (privs_drop(privs, err, errlen) == -1) {
        return -1;
    }
    return start_watched(d, err, errlen);
}

static void
begin_stop(struct daemon *d, const char *why)
{
    char err[FEED_ERR_MAX];

    if (d->stopping) {
        log_info("%s: already stopping", why);
        return;
    }
    d->stopping = 1;
    d->deadline_ms = clock_ms() + (uint64_t)d->set->stop_timeout * 1000;
    log_info("%s: stopping (stop_timeout=%llds)", why, d->set->stop_timeout);
    /* A `start` meanwhile reads this and waits for us to go. */
    if (pidfile_write(d->pid_fd, (long)getpid(), "stopping", err, sizeof err) ==
        -1) {
        log_warning("%s", err);
    }
    if (daemon_notify("STOPPING=1", err, sizeof err) == -1) {
        log_warning("%s", err);
    }
    pipeline_stop(d->pl);
}

static void
reopen_files(void)
{
    char err[FEED_ERR_MAX];
    int failed = 0;

    if (log_reopen(err, sizeof err) == -1) {
        log_error("%s; still writing to the old log", err);
        failed = 1;
    }
    if (deadletter_reopen(err, sizeof err) == -1) {
        log_error("%s; still writing to the old file", err);
        failed = 1;
    }
    if (!failed) {
        log_info("SIGHUP: log and dead_letter reopened");
    }
}

/*
 * SIGHUP: the INI is read again for the source, whose reopen() may re-read
 * its keys (allow lists); sinks reopen their files. A file that cannot be
 * read now leaves the source with what it has.
 */
static void
reload(struct daemon *d)
{
    char err[FEED_ERR_MAX];
    struct config *fresh =
        config_load(config_file(d->set->config), err, sizeof err);

    if (fresh == NULL) {
        log_error("SIGHUP: %s; the source keeps its settings", err);
    }
    pipeline_reopen(d->pl, fresh);
}

static void
handle_signal(struct daemon *d)
{
    struct signalfd_siginfo si;

    while (read(d->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
        case SIGTERM:
            begin_stop(d, "SIGTERM");
            break;
        case SIGINT:
            begin_stop(d, "SIGINT");
            break;
        case SIGHUP:
            reopen_files();
            reload(d);
            break;
        }
    }
}

/*
 * The stop deadline has passed with work not committed: say what is lost
 * to whom, leave a pidfile saying so for `stop`, and exit at once (workers
 * may be stuck in a database call).
 */
static void
give_up(struct daemon *d)
{
    char err[FEED_ERR_MAX];
    size_t n = pipeline_abandon(d->pl);

    if (d->set->ack_receive) {
        log_error("stop_timeout of %llds reached: %zu acknowledged requests "
                  "not committed, written to dead_letter %s",
                  d->set->stop_timeout, n, d->set->dead_letter);
    } else {
        log_error("stop_timeout of %llds reached: %zu requests not committed "
                  "and not acknowledged; their clients will resend them",
                  d->set->stop_timeout, n);
    }
    /* `stop` reads this and reports the failure; the lock goes with us. */
    if (pidfile_write(d->pid_fd, (long)getpid(), "stop_timeout", err,
                      sizeof err) == -1) {
        log_error("%s", err);
    }
    _exit(1);
}

/*
 * Next wake-up in ms for poll(): stats line, stop deadline, or the stall
 * watchdog's next look (every WATCH_MS).
 */
#define WATCH_MS 1000
static int
wait_ms(const struct daemon *d, uint64_t next_stats)
{
    uint64_t now = clock_ms();
    uint64_t until = now + WATCH_MS;

    if (next_stats != 0 && next_stats < until) {
        until = next_stats;
    }
    if (d->stopping && d->deadline_ms < until) {
        until = d->deadline_ms;
    }
    return until <= now ? 0 : (int)(until - now);
}

/* Runs until the pipeline has drained; returns the exit code. */
static int
supervise(struct daemon *d)
{
    uint64_t interval = (uint64_t)d->set->stats_interval * 1000;
    uint64_t next_stats = interval != 0 ? clock_ms() + interval : 0;
    struct pollfd fds[2] = {
        {d->sig_fd, POLLIN, 0},
        {pipeline_done_fd(d->pl), POLLIN, 0},
    };
    char line[512];

    if (atomic_load(&d->early_stop) != 0) {
        begin_stop(d, atomic_load(&d->early_stop) == SIGTERM ? "SIGTERM"
                                                             : "SIGINT");
    }
    for (;;) {
        if (poll(fds, 2, wait_ms(d, next_stats)) == -1 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
        }
        if (fds[0].revents & POLLIN) {
            handle_signal(d);
        }
        if (fds[1].revents & POLLIN) {
            break;
        }
        if (d->stopping && clock_ms() >= d->deadline_ms) {
            give_up(d);
        }
        health_watch(clock_ms());
        if (next_stats != 0 && clock_ms() >= next_stats) {
            log_info("%s", stats_line(pipeline_queue_depth(d->pl), line,
                                      sizeof line));
            next_stats += interval;
        }
    }
    /* The source has ended: what it read is answered (or it failed). */
    if (!d->stopping) {
        begin_stop(d, "source ended");
    }
    switch (pipeline_join(d->pl, d->deadline_ms)) {
    case PIPELINE_STUCK:
        give_up(d);
        break;
    case PIPELINE_SOURCE_FAILED:
        return 1;
    case PIPELINE_ENDED:
        break;
    }
    log_info("%s", stats_line(0, line, sizeof line));
    return 0;
}

/*
 * Refuses a pidfile folder others can write (they could plant a symbolic
 * link or a pidfile of their own), as an error of the pidfile key.
 */
static int
check_pidfile_dir(struct settings *s, const struct privs *p, FILE *errs)
{
    char err[FEED_ERR_MAX];

    if (pidfile_check_dir(s->pidfile, p->change ? p->uid : geteuid(), err,
                          sizeof err) == -1) {
        config_error(s->config, "core", "pidfile", "%s", err);
        config_print_errors(s->config, errs);
        return -1;
    }
    return 0;
}

/*
 * Checks who to run as, and that nobody else can write the pidfile's
 * folder; errors are reported as config errors.
 */
static int
resolve_privs(struct settings *s, struct privs *p, FILE *errs)
{
    char err[FEED_ERR_MAX];
    enum privs_key key;
    int warn;

    if (privs_resolve(s->user, s->group, p, &warn, &key, err, sizeof err) ==
        -1) {
        config_error(s->config, "core",
                     key == PRIVS_KEY_GROUP ? "group" : "user", "%s", err);
        config_print_errors(s->config, errs);
        return -1;
    }
    if (check_pidfile_dir(s, p, errs) == -1) {
        return -1;
    }
    return warn;
}

int
run_check_privs(struct settings *s, FILE *errs)
{
    struct privs p;

    return resolve_privs(s, &p, errs) == -1 ? -1 : 0;
}

/*
 * In `start`, after the daemon failed: remove the pidfile it may have been
 * unable to remove once it was no longer root.
 */
static void
remove_pidfile(void *path)
{
    char err[FEED_ERR_MAX];

    if (pidfile_remove_stale(path, err, sizeof err) == -1) {
        fprintf(stderr, "feed-core: %s\n", err);
    }
}

/* Everything after the pidfile is ours; returns the exit code. */
static int
run_locked(struct daemon *d, const struct privs *privs, int warn_root)
{
    char err[FEED_ERR_MAX];
    int rc;

    if (!d->foreground &&
        (daemon_detach(&d->ready_fd, remove_pidfile, (void *)d->set->pidfile,
                       err, sizeof err) == -1 ||
         daemon_quiet(err, sizeof err) == -1)) {
        fail_start(d, err);
        return 1;
    }
    if (pidfile_write(d->pid_fd, (long)getpid(), NULL, err, sizeof err) == -1 ||
        (d->sig_fd = take_signals(err, sizeof err)) == -1) {
        fail_start(d, err);
        return 1;
    }
    if (warn_root) {
        log_warning("running as root (user = root)");
    }
    /* Before any thread exists, so that every thread inherits it. */
    if (privs_no_new_privs(err, sizeof err) == -1 ||
        bring_up(d, privs, err, sizeof err) == -1) {
        fail_start(d, err);
        return 1;
    }
    log_info("started pid=%ld version=%s source=%s parser=%s sink=%s "
             "threads=%lld ack=%s",
             (long)getpid(), FEED_VERSION, stage_name(&d->set->source),
             stage_name(&d->set->parser), stage_name(&d->set->sink),
             d->set->threads, d->set->ack_receive ? "receive" : "commit");
    daemon_ready(d->ready_fd, (long)getpid());
    d->ready_fd = -1;
    if (daemon_notify("READY=1", err, sizeof err) == -1) {
        log_warning("%s", err);
    }
    rc = supervise(d);
    log_info("stopped exit=%d", rc);
    return rc;
}

/*
 * Takes the pidfile lock. A daemon killed a moment ago can hold it for a
 * little while as a zombie, until the kernel has ended all its threads:
 * wait for that rather than call it running.
 */
static int
acquire(const char *pidfile, long *holder, char *err, size_t errlen)
{
    struct timespec pause = {0, 20 * 1000 * 1000};
    int fd = -1;

    for (int i = 0; i < 250; i++) {
        fd = pidfile_acquire(pidfile, holder, err, errlen);
        if (fd != PIDFILE_HELD || !pidfile_dying(*holder)) {
            break;
        }
        nanosleep(&pause, NULL);
    }
    return fd;
}

/* Nonzero when the daemon holding the pidfile has said it is stopping. */
static int
holder_stopping(const char *pidfile)
{
    char note[64];

    pidfile_note(pidfile, note, sizeof note);
    return strcmp(note, "stopping") == 0 || strcmp(note, "stop_timeout") == 0;
}

/*
 * Takes the pidfile lock; a daemon that is still draining after a stop is
 * waited for (as long as `stop` would wait: stop_timeout + 5 s), so that
 * a start right after a stop starts rather than find it "running". Returns
 * the fd, PIDFILE_HELD (the holder is running, or still stopping past the
 * wait: *waited says which) or -1 with err.
 */
static int
acquire_after_stop(const struct settings *s, long *holder, int *waited,
                   char *err, size_t errlen)
{
    uint64_t deadline = clock_ms() + (uint64_t)(s->stop_timeout + 5) * 1000;
    struct timespec pause = {0, 20 * 1000 * 1000};
    int fd = acquire(s->pidfile, holder, err, errlen);

    *waited = 0;
    if (fd != PIDFILE_HELD || !holder_stopping(s->pidfile)) {
        return fd;
    }
    printf("feed-core (pid %ld) is stopping; waiting for it to exit\n",
           *holder);
    fflush(stdout);
    *waited = 1;
    while (fd == PIDFILE_HELD && clock_ms() < deadline) {
        nanosleep(&pause, NULL);
        fd = acquire(s->pidfile, holder, err, errlen);
    }
    return fd;
}

int
run_start(struct settings *s, int foreground)
{
    struct daemon d = {
        .set = s,
        .pid_fd = -1,
        .ready_fd = -1,
        .foreground = foreground,
        .sig_fd = -1,
    };
    char err[FEED_ERR_MAX];
    struct privs privs;
    long holder = 0;
    int waited;
    int warn_root;
    int rc;

    warn_root = resolve_privs(s, &privs, stderr);
    if (warn_root == -1) {
        return 1;
    }
    if (pidfile_mkdir(s->pidfile, privs.change ? privs.uid : (uid_t)-1,
                      privs.gid, err, sizeof err) == -1) {
        fprintf(stderr, "feed-core: %s\n", err);
        return 1;
    }
    /* Again, now that it exists: it may have been made meanwhile. */
    if (check_pidfile_dir(s, &privs, stderr) == -1) {
        return 1;
    }
    d.pid_fd = acquire_after_stop(s, &holder, &waited, err, sizeof err);
    if (d.pid_fd == PIDFILE_HELD && waited) {
        fprintf(stderr,
                "feed-core: pid %ld is still stopping after %lld s; "
                "not started\n",
                holder, s->stop_timeout + 5);
        return 1;
    }
    if (d.pid_fd == PIDFILE_HELD) {
        printf("feed-core is already running (pid %ld)\n", holder);
        return 0;
    }
    if (d.pid_fd == -1 || open_outputs(&d, &privs, err, sizeof err) == -1) {
        fprintf(stderr, "feed-core: %s\n", err);
        pidfile_release(d.pid_fd, s->pidfile);
        return 1;
    }
    rc = run_locked(&d, &privs, warn_root);
    metrics_close(d.metrics);
    pipeline_free(d.pl);
    deadletter_close();
    pidfile_release(d.pid_fd, s->pidfile);
    if (d.sig_fd >= 0) {
        close(d.sig_fd);
    }
    if (d.failure[0] != '\0') {
        if (d.ready_fd >= 0) {
            daemon_failed(d.ready_fd, d.failure);
        } else {
            fprintf(stderr, "feed-core: %s\n", d.failure);
        }
    }
    log_close();
    return rc;
}
