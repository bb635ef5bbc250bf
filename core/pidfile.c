/*
 * pidfile.c - the single-instance lock.
 *
 * Owns the pidfile and its two fcntl(2) locks, one byte each:
 *
 * - byte 0, the instance lock: an open file description (OFD) lock taken
 *   by `start`. It belongs to the open file description, so it survives
 *   the daemon's double fork, and the kernel drops it when the last holder
 *   dies: a file left by kill -9 is never mistaken for a running daemon.
 * - byte 1, the pid lock: a process (POSIX) lock the daemon itself takes
 *   when it writes its pid. F_OFD_GETLK on it gives the pid of the process
 *   holding it, so `stop` and `status` act on the process that holds the
 *   lock, never on a number someone wrote into the file. A process lock is
 *   dropped when its process closes any descriptor of the file: the daemon
 *   never opens the pidfile a second time.
 *
 * The file is opened without following symbolic links; whether its folder
 * can be trusted is pidfile_check_dir()'s to say. Whether to start or stop
 * is decided by cli.c.
 */
#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The bytes the two locks cover (see above). */
#define INSTANCE_BYTE 0
#define PID_BYTE 1

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
pidfile_check_dir(const char *path, uid_t owner, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    char *slash;
    struct stat st;

    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
    }
    if (stat(dir, &st) == -1) {
        if (errno == ENOENT) {
            return 0; /* start creates it, owned by the run user */
        }
        snprintf(err, errlen, "cannot check folder %s: %s", dir,
                 strerror(errno));
        return -1;
    }
    /*
     * Whoever may write the folder may put a symbolic link or a file of
     * their own in place of the pidfile, and make `stop` and `status`
     * believe it.
     */
    if (st.st_uid != 0 && st.st_uid != owner) {
        snprintf(err, errlen,
                 "folder %s is owned by uid %ld, not by root "
                 "or the user feed-core runs as",
                 dir, (long)st.st_uid);
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err, errlen, "folder %s is writable by %s (mode %04o)", dir,
                 st.st_mode & S_IWOTH ? "others" : "its group",
                 (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

int
pidfile_mkdir(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen)
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

/* Sets (F_WRLCK) or tests for a write lock on one byte of fd. */
static int
lock_byte(int fd, int cmd, off_t byte, struct flock *l)
{
    memset(l, 0, sizeof *l);
    l->l_type = F_WRLCK;
    l->l_whence = SEEK_SET;
    l->l_start = byte;
    l->l_len = 1;
    return fcntl(fd, cmd, l);
}

/*
 * Who holds the instance lock on fd's file: 1 when a daemon does (a write
 * lock), 0 when nobody, -1 with err when it cannot tell or when another
 * process holds a read lock on it (no daemon takes one; it would keep a
 * daemon from starting).
 */
static int
instance_held(int fd, const char *path, char *err, size_t errlen)
{
    struct flock l;

    if (lock_byte(fd, F_OFD_GETLK, INSTANCE_BYTE, &l) == -1) {
        snprintf(err, errlen, "cannot lock pidfile %s: %s", path,
                 strerror(errno));
        return -1;
    }
    if (l.l_type == F_RDLCK) {
        snprintf(err, errlen,
                 "cannot lock pidfile %s: another process "
                 "holds a read lock on it",
                 path);
        return -1;
    }
    return l.l_type == F_WRLCK;
}

/*
 * Who holds the lock on fd's file, as instance_held() says, with the pid of
 * the process holding the pid lock, as the kernel tells it, in *pid. A
 * daemon that has just taken the instance lock may not have taken the pid
 * lock yet: wait for it a little (*pid stays 0 if it does not), for as long
 * as the instance lock is held.
 */
static int
holder(int fd, const char *path, long *pid, char *err, size_t errlen)
{
    struct timespec pause = {0, 10 * 1000 * 1000};
    struct flock l;
    int held = 0;

    *pid = 0;
    for (int i = 0; i < 100; i++) {
        held = instance_held(fd, path, err, errlen);
        if (held != 1) {
            return held;
        }
        if (lock_byte(fd, F_OFD_GETLK, PID_BYTE, &l) == 0 &&
            l.l_type == F_WRLCK && l.l_pid > 0) {
            *pid = (long)l.l_pid;
            return 1;
        }
        nanosleep(&pause, NULL);
    }
    return held;
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

/*
 * Opens the pidfile without following a symbolic link and without
 * blocking (a FIFO put in its place), and makes sure it is a regular file.
 */
static int
open_file(const char *path, int flags, char *err, size_t errlen)
{
    int fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    struct stat st;
    int saved = errno;

    if (fd == -1) {
        snprintf(err, errlen, "cannot open pidfile %s: %s", path,
                 strerror(saved));
        errno = saved; /* the caller may look for ENOENT */
        return -1;
    }
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "cannot open pidfile %s: not a regular file",
                 path);
        close(fd);
        return -1;
    }
    return fd;
}

int
pidfile_acquire(const char *path, long *holder_out, char *err, size_t errlen)
{
    int fd = -1;

    /* Retry when a stopping daemon unlinks the file we just opened. */
    for (int tries = 0; tries < 100; tries++) {
        struct flock l;
        int held;

        fd = open_file(path, O_RDWR | O_CREAT, err, errlen);
        if (fd == -1) {
            return -1;
        }
        if (lock_byte(fd, F_OFD_SETLK, INSTANCE_BYTE, &l) == -1) {
            if (errno != EAGAIN && errno != EACCES) {
                snprintf(err, errlen, "cannot lock pidfile %s: %s", path,
                         strerror(errno));
                close(fd);
                return -1;
            }
            held = holder(fd, path, holder_out, err, errlen);
            if (held == 1) {
                close(fd);
                return PIDFILE_HELD;
            }
            close(fd);
            if (held == -1) {
                return -1;
            }
            continue; /* released meanwhile: try again */
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
    /* The writer becomes the process `stop` and `status` will name. */
    if (lock_byte(fd, F_SETLK, PID_BYTE, &(struct flock){0}) == -1) {
        snprintf(err, errlen, "cannot lock pidfile: %s", strerror(errno));
        return -1;
    }
    /* Write, then cut: a reader never sees the file empty. */
    if (pwrite(fd, buf, (size_t)n, 0) != n || ftruncate(fd, n) == -1) {
        snprintf(err, errlen, "cannot write pidfile: %s", strerror(errno));
        return -1;
    }
    return 0;
}

char *
pidfile_note(const char *path, char *buf, size_t len)
{
    char text[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
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

/* "PATH.stop_timeout" into buf; -1 when it does not fit. */
static int
gave_up_path(const char *path, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s.stop_timeout", path);

    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
pidfile_mark_gave_up(const char *path, long pid, char *err, size_t errlen)
{
    char mark[PATH_MAX];
    char text[32];
    int n = snprintf(text, sizeof text, "%ld\n", pid);
    ssize_t written;
    int saved;
    int fd = -1;

    if (gave_up_path(path, mark, sizeof mark) == -1) {
        snprintf(err, errlen, "%s.stop_timeout: path too long", path);
        return -1;
    }
    fd = open(mark, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
              0644);
    written = fd == -1 ? -1 : write(fd, text, (size_t)n);
    saved = errno;
    if (fd != -1) {
        close(fd);
    }
    if (written != n) {
        snprintf(err, errlen, "cannot write %s: %s", mark,
                 written == -1 ? strerror(saved) : "short write");
        return -1;
    }
    return 0;
}

int
pidfile_gave_up(const char *path, long pid)
{
    char mark[PATH_MAX];
    char text[32];
    int fd;
    ssize_t n;

    if (gave_up_path(path, mark, sizeof mark) == -1) {
        return 0;
    }
    fd = open(mark, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd == -1) {
        return 0;
    }
    n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) {
        return 0;
    }
    text[n] = '\0';
    if (strtol(text, NULL, 10) != pid) {
        return 0;
    }
    unlink(mark);
    return 1;
}

int
pidfile_probe(const char *path, long *pid, int *exists, char *err,
              size_t errlen)
{
    int fd = open_file(path, O_RDONLY, err, errlen);
    int held;

    *pid = 0;
    *exists = 0;
    if (fd == -1) {
        return errno == ENOENT ? 0 : -1;
    }
    *exists = 1;
    held = holder(fd, path, pid, err, errlen);
    close(fd);
    return held;
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
    /* Removed while locked: no other stop or start can be in between. */
    int rc = unlink(path) == -1 && errno != ENOENT ? -1 : 0;

    if (rc == -1) {
        snprintf(err, errlen, "cannot remove pidfile %s: %s", path,
                 strerror(errno));
    }
    close(fd);
    return rc;
}
