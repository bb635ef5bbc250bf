/*
 * log.c - the process-wide logger.
 *
 * Owns the log destination (syslog, stderr or a file descriptor) and the
 * level. A line is formatted into a local buffer and written with one
 * write(2), so lines from different threads never interleave. Reopening
 * swaps the new file in with dup2(), so writers never see a closed
 * descriptor and need no lock.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "appendfile.h"

enum target {
    TARGET_STDERR,
    TARGET_SYSLOG,
    TARGET_FILE,
};

/* Set by log_open() on the main thread before other threads exist. */
static enum target target = TARGET_STDERR;
static int fd = STDERR_FILENO;
static char path[4096];
/* Read by every thread; changed only at start. */
static atomic_int level = FEED_LOG_INFO;

static const char *const level_names[] = {
    "error", "warning", "notice", "info", "debug",
};

static const int syslog_priorities[] = {
    LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG,
};

int
log_open(const char *where, enum feed_log_level lvl, char *err, size_t errlen)
{
    if (strcmp(where, "syslog") == 0) {
        log_close();
        openlog("feed-core", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        target = TARGET_SYSLOG;
    } else if (strcmp(where, "stderr") == 0) {
        log_close();
    } else {
        int nfd = appendfile_open("log", where, err, errlen);

        if (nfd == -1) {
            return -1;
        }
        log_close();
        snprintf(path, sizeof path, "%s", where);
        fd = nfd;
        target = TARGET_FILE;
    }
    atomic_store(&level, lvl);
    return 0;
}

int
log_reopen(char *err, size_t errlen)
{
    int nfd;

    if (target != TARGET_FILE) {
        return 0;
    }
    nfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (nfd == -1) {
        snprintf(err, errlen, "cannot reopen log %s: %s", path,
                 strerror(errno));
        return -1;
    }
    /* dup2 swaps atomically: a concurrent write goes to old or new. */
    if (dup3(nfd, fd, O_CLOEXEC) == -1) {
        snprintf(err, errlen, "cannot reopen log %s: %s", path,
                 strerror(errno));
        close(nfd);
        return -1;
    }
    close(nfd);
    return 0;
}

void
log_close(void)
{
    if (target == TARGET_SYSLOG) {
        closelog();
    } else if (target == TARGET_FILE) {
        close(fd);
    }
    target = TARGET_STDERR;
    fd = STDERR_FILENO;
}

int
log_enabled(enum feed_log_level lvl)
{
    return (int)lvl <= atomic_load(&level);
}

const char *
log_level_name(enum feed_log_level lvl)
{
    if ((unsigned)lvl > FEED_LOG_DEBUG) {
        return "debug";
    }
    return level_names[lvl];
}

/* "2026-11-25T09:25:19.123Z" into buf. */
static size_t
stamp(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
    return n;
}

void
log_write(enum feed_log_level lvl, const char *who, const char *fmt, va_list ap)
{
    char line[2048];
    size_t n = 0;
    int saved = errno;

    if (!log_enabled(lvl)) {
        return;
    }
    if (target != TARGET_SYSLOG) {
        n = stamp(line, sizeof line);
        n += (size_t)snprintf(line + n, sizeof line - n,
                              " feed-core[%ld]: ", (long)getpid());
    }
    n += (size_t)snprintf(line + n, sizeof line - n,
                          "%s: ", log_level_name(lvl));
    if (who != NULL) {
        n += (size_t)snprintf(line + n, sizeof line - n, "%s: ", who);
    }
    if (n < sizeof line) {
        int m = vsnprintf(line + n, sizeof line - n, fmt, ap);
        n = m < 0 ? n : n + (size_t)m;
    }
    if (n >= sizeof line - 1) {
        n = sizeof line - 2; /* truncated, but still one whole line */
    }
    if (target == TARGET_SYSLOG) {
        line[n] = '\0';
        syslog(syslog_priorities[lvl], "%s", line);
    } else {
        line[n++] = '\n';
        /* One write per line; a failed log write has nowhere to go. */
        if (write(fd, line, n) < 0) {
            (void)0;
        }
    }
    errno = saved;
}

#define LOG_AT(name, lvl)                                                      \
    void name(const char *fmt, ...)                                            \
    {                                                                          \
        va_list ap;                                                            \
        va_start(ap, fmt);                                                     \
        log_write(lvl, NULL, fmt, ap);                                         \
        va_end(ap);                                                            \
    }

LOG_AT(log_error, FEED_LOG_ERROR)
LOG_AT(log_warning, FEED_LOG_WARNING)
LOG_AT(log_notice, FEED_LOG_NOTICE)
LOG_AT(log_info, FEED_LOG_INFO)
LOG_AT(log_debug, FEED_LOG_DEBUG)
