/*
 * pidfile.c - the single-instance lock.
 *
 * Owns the pidfile and its flock(2) lock. flock locks belong to the open
 * file description, so the lock taken by `start` survives the daemon's
 * double fork, and the kernel drops it when the last holder dies: a file
 * left by kill -9 is never mistaken for a running daemon. Whether to start
 * or stop is decided by cli.c.
 */
#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Creates `dir` and its missing parents, root-style (0755). */
static int
mkdirs(char *dir, char *err, size_t errlen)
{
    char *slash;
    struct stat st;

    if (stat(dir, &st) == 0) {
        return 0;
    }
    slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        if (mkdirs(dir, err, errlen) == -1) {
            *slash = '/';
            return -1;
        }
        *slash = '/';
    }
    if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create folder %s: %s", dir,
                 strerror(errno));
        return -1;
    }
    return 0;
}

int
pidfile_mkdir(const char *path, uid_t uid, gid_t gid, char *err,
              size_t errlen)
{
    char dir[PATH_MAX];
    char *slash;
    struct stat st;

    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir) {
        return 0;
    }
    *slash = '\0';
    if (stat(dir, &st) == 0) {
        return 0;
    }
    if (mkdirs(dir, err, errlen) == -1) {
        return -1;
    }
    /* The daemon must be able to remove its own pidfile after setuid. */
    if (uid != (uid_t)-1 && chown(dir, uid, gid) == -1) {
        snprintf(err, errlen, "cannot chown folder %s: %s", dir,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* Reads the pid in fd; 0 when the file is empty or not a pid. */
static long
read_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    char *end;
    long pid;

    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    pid = strtol(buf, &end, 10);
    return end != buf && pid > 0 ? pid : 0;
}

/*
 * The pid of the lock's holder. A holder that has just taken the lock may
 * not have written its pid yet: wait for it a little.
 */
static long
holder_pid(int fd)
{
    struct timespec pause = {0, 10 * 1000 * 1000};
    long pid = 0;

    for (int i = 0; i < 100 && (pid = read_pid(fd)) == 0; i++) {
        nanosleep(&pause, NULL);
    }
    return pid;
}

/* Nonzero when fd is still the file at path (not unlinked or replaced). */
static int
same_file(int fd, const char *path)
{
    struct stat a;
    struct stat b;

    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

int
pidfile_acquire(const char *path, long *holder, char *err, size_t errlen)
{
    int fd = -1;

    /* Retry when a stopping daemon unlinks the file we just opened. */
    for (int tries = 0; tries < 100; tries++) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd == -1) {
            snprintf(err, errlen, "cannot open pidfile %s: %s", path,
                     strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
            if (errno != EWOULDBLOCK) {
                snprintf(err, errlen, "cannot lock pidfile %s: %s", path,
                         strerror(errno));
                close(fd);
                return -1;
            }
            *holder = holder_pid(fd);
            close(fd);
            return PIDFILE_HELD;
        }
        if (same_file(fd, path)) {
            return fd;
        }
        close(fd);
    }
    snprintf(err, errlen, "cannot lock pidfile %s: it keeps being replaced",
             path);
    return -1;
}

int
pidfile_write(int fd, long pid, const char *note, char *err, size_t errlen)
{
    char buf[128];
    int n = snprintf(buf, sizeof buf, "%ld\n%s%s", pid,
                     note != NULL ? note : "", note != NULL ? "\n" : "");

    if (n < 0 || (size_t)n >= sizeof buf) {
        snprintf(err, errlen, "cannot write pidfile: note too long");
        return -1;
    }
    if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n) {
        snprintf(err, errlen, "cannot write pidfile: %s", strerror(errno));
        return -1;
    }
    return 0;
}

char *
pidfile_note(const char *path, char *buf, size_t len)
{
    char text[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    ssize_t n = fd == -1 ? -1 : pread(fd, text, sizeof text - 1, 0);
    char *nl;

    buf[0] = '\0';
    if (fd != -1) {
        close(fd);
    }
    if (n <= 0) {
        return buf;
    }
    text[n] = '\0';
    nl = strchr(text, '\n');
    if (nl != NULL) {
        snprintf(buf, len, "%s", nl + 1);
        buf[strcspn(buf, "\n")] = '\0';
    }
    return buf;
}

int
pidfile_probe(const char *path, long *pid, int *exists, char *err,
              size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    *pid = 0;
    *exists = 0;
    if (fd == -1) {
        if (errno == ENOENT) {
            return 0;
        }
        snprintf(err, errlen, "cannot open pidfile %s: %s", path,
                 strerror(errno));
        return -1;
    }
    *exists = 1;
    /* A shared lock we can take means nobody holds the exclusive one. */
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        close(fd);
        return 0;
    }
    if (errno != EWOULDBLOCK) {
        snprintf(err, errlen, "cannot lock pidfile %s: %s", path,
                 strerror(errno));
        close(fd);
        return -1;
    }
    *pid = holder_pid(fd);
    close(fd);
    return 1;
}

int
pidfile_dying(long pid)
{
    char path[64];
    char buf[512];
    FILE *f;
    char *state;
    size_t n;

    if (pid <= 0) {
        return 0;
    }
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    f = fopen(path, "re");
    if (f == NULL) {
        return 1;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    state = strrchr(buf, ')'); /* the command may hold spaces and ')' */
    return state != NULL && (state[2] == 'Z' || state[2] == 'X');
}

int
pidfile_probe_live(const char *path, long *pid, int *exists, char *err,
                   size_t errlen)
{
    struct timespec pause = {0, 20 * 1000 * 1000};
    int rc = 0;

    for (int i = 0; i < 250; i++) {
        rc = pidfile_probe(path, pid, exists, err, errlen);
        if (rc != 1 || !pidfile_dying(*pid)) {
            break;
        }
        nanosleep(&pause, NULL);
    }
    return rc;
}

void
pidfile_release(int fd, const char *path)
{
    if (fd < 0) {
        return;
    }
    /* Unlink while still locked: nobody can lock a file we remove. */
    if (same_file(fd, path)) {
        unlink(path);
    }
    close(fd);
}

int
pidfile_remove_stale(const char *path, char *err, size_t errlen)
{
    long holder = 0;
    int fd = pidfile_acquire(path, &holder, err, errlen);

    if (fd == PIDFILE_HELD) {
        snprintf(err, errlen, "pidfile %s is held by pid %ld", path, holder);
        return -1;
    }
    if (fd == -1) {
        return -1;
    }
    if (unlink(path) == -1 && errno != ENOENT) {
        snprintf(err, errlen, "cannot remove pidfile %s: %s", path,
                 strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}
