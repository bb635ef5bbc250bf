/*
 * test_pidfile.c - the single-instance lock.
 *
 * Other holders of the lock are real processes: a child forked by the
 * test acquires the pidfile, says so on a pipe, and keeps the lock until
 * the test closes its end of another pipe (or kills it). Cases that need
 * an unprivileged process run in a child that becomes `nobody` when the
 * test runs as root. The holder that `stop` and `status` name is the one
 * the kernel reports, never the pid written in the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"

#include <feed/plugin.h>

#include "pidfile.h"

#define DEADLINE_MS 10000

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* The whole file (at most 255 bytes), or "" when it cannot be read. */
static const char *
read_file(const char *path)
{
    static char buf[256];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd == -1 ? 0 : read(fd, buf, sizeof buf - 1);

    if (fd != -1) {
        close(fd);
    }
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static int
exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* The pid of a process that has exited and been reaped. */
static pid_t
dead_pid(void)
{
    pid_t pid = fork();
    int status;

    assert_int_not_equal(pid, -1);
    if (pid == 0) {
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return pid;
}

/* ------------------------------------------------------------------
 * A child process that holds the lock.
 */

struct holder {
    pid_t pid;
    int release; /* closing it lets the child exit */
};

/*
 * Forks a child that acquires `path` (writing its pid and `note` when
 * write_pid is set) and holds it until stop_holder(). Returns once the
 * child holds the lock.
 */
static struct holder
start_holder(const char *path, int write_pid, const char *note)
{
    struct holder h;
    int ready[2];
    int release[2];
    char c = 0;

    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    assert_int_equal(pipe2(release, O_CLOEXEC), 0);
    h.pid = fork();
    assert_int_not_equal(h.pid, -1);
    if (h.pid == 0) {
        char err[FEED_ERR_MAX];
        long other = 0;
        int fd;

        close(ready[0]);
        close(release[1]);
        fd = pidfile_acquire(path, &other, err, sizeof err);
        if (fd < 0) {
            _exit(1);
        }
        if (write_pid &&
            pidfile_write(fd, (long)getpid(), note, err, sizeof err) == -1) {
            _exit(2);
        }
        if (write(ready[1], "r", 1) != 1) {
            _exit(3);
        }
        /* Returns at EOF: when the test closes its end, or dies. */
        while (read(release[0], &c, 1) == -1 && errno == EINTR) {
        }
        _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    struct pollfd p = {.fd = ready[0], .events = POLLIN};
    assert_int_equal(poll(&p, 1, DEADLINE_MS), 1);
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(c, 'r');
    close(ready[0]);
    h.release = release[1];
    return h;
}

/* Lets the holder exit and reaps it. */
static void
stop_holder(struct holder *h)
{
    int status;

    close(h->release);
    assert_int_equal(waitpid(h->pid, &status, 0), h->pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Kills the holder (as kill -9 would) and reaps it. */
static void
kill_holder(struct holder *h)
{
    int status;

    assert_int_equal(kill(h->pid, SIGKILL), 0);
    assert_int_equal(waitpid(h->pid, &status, 0), h->pid);
    assert_true(WIFSIGNALED(status));
    close(h->release);
}

/* ------------------------------------------------------------------
 * Running a case as an unprivileged process.
 */

struct outcome {
    int rc;
    char text[FEED_ERR_MAX];
};

typedef int (*child_fn)(const char *arg, char *text, size_t len);

/* Drops to nobody when root; returns -1 when that is impossible. */
static int
become_unprivileged(void)
{
    struct passwd *pw;

    if (geteuid() != 0) {
        return 0;
    }
    pw = getpwnam("nobody");
    if (pw == NULL || setgroups(0, NULL) == -1 ||
        setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
        setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
        return -1;
    }
    return 0;
}

/* Runs fn(arg) in a child that is not root; returns what it said. */
static struct outcome
unprivileged(child_fn fn, const char *arg)
{
    struct outcome o;
    int fds[2];
    pid_t pid;
    int status;

    memset(&o, 0, sizeof o);
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    pid = fork();
    assert_int_not_equal(pid, -1);
    if (pid == 0) {
        close(fds[0]);
        if (become_unprivileged() == -1) {
            _exit(1);
        }
        o.rc = fn(arg, o.text, sizeof o.text);
        _exit(write(fds[1], &o, sizeof o) == (ssize_t)sizeof o ? 0 : 2);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &o, sizeof o), (ssize_t)sizeof o);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return o;
}

/* ------------------------------------------------------------------ */

static void
acquiring_a_fresh_path_creates_an_empty_file_until_pidfile_write(void **state)
{
    char err[FEED_ERR_MAX] = "";
    long holder = -1;
    const char *path = scratch_path("feed.pid");
    int fd = pidfile_acquire(path, &holder, err, sizeof err);
    struct stat st;

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(holder, -1);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(pidfile_write(fd, (long)getpid(), NULL, err, sizeof err),
                     0);
    char want[32];
    snprintf(want, sizeof want, "%ld\n", (long)getpid());
    assert_string_equal(read_file(path), want);
    pidfile_release(fd, path);
}

static void
pidfile_write_replaces_the_pid_and_adds_an_optional_note(void **state)
{
    char err[FEED_ERR_MAX];
    char note[64];
    long holder;
    const char *path = scratch_path("feed.pid");
    int fd = pidfile_acquire(path, &holder, err, sizeof err);

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(pidfile_write(fd, 123456, NULL, err, sizeof err), 0);
    assert_string_equal(read_file(path), "123456\n");
    assert_string_equal(pidfile_note(path, note, sizeof note), "");
    assert_int_equal(pidfile_write(fd, 42, "stop_timeout", err, sizeof err), 0);
    assert_string_equal(read_file(path), "42\nstop_timeout\n");
    assert_ptr_equal(pidfile_note(path, note, sizeof note), note);
    assert_string_equal(note, "stop_timeout");
    assert_int_equal(pidfile_write(fd, 7, NULL, err, sizeof err), 0);
    assert_string_equal(read_file(path), "7\n");
    pidfile_release(fd, path);
}

static void
pidfile_note_is_empty_without_a_file_or_a_second_line(void **state)
{
    char note[64] = "garbage";

    (void)state;
    assert_string_equal(
        pidfile_note(scratch_path("none.pid"), note, sizeof note), "");
    write_file(scratch_path("one.pid"), "12");
    assert_string_equal(
        pidfile_note(scratch_path("one.pid"), note, sizeof note), "");
    write_file(scratch_path("two.pid"), "12\ngave up\nmore\n");
    assert_string_equal(
        pidfile_note(scratch_path("two.pid"), note, sizeof note), "gave up");
    /* A note longer than the caller's buffer is cut, not overrun. */
    assert_string_equal(pidfile_note(scratch_path("two.pid"), note, 5), "gave");
}

static void
a_note_that_does_not_fit_is_refused(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char note[200];
    long holder;
    const char *path = scratch_path("feed.pid");
    int fd = pidfile_acquire(path, &holder, err, sizeof err);

    (void)state;
    assert_true(fd >= 0);
    memset(note, 'n', sizeof note - 1);
    note[sizeof note - 1] = '\0';
    assert_int_equal(pidfile_write(fd, 1, note, err, sizeof err), -1);
    assert_string_equal(err, "cannot write pidfile: note too long");
    assert_string_equal(read_file(path), "");
    pidfile_release(fd, path);
}

static void
writing_through_a_closed_descriptor_fails_with_the_reason(void **state)
{
    char err[FEED_ERR_MAX] = "";
    int fd = open(scratch_path("x"), O_RDWR | O_CREAT | O_CLOEXEC, 0644);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(pidfile_write(fd, 1, NULL, err, sizeof err), -1);
    assert_string_equal(err, "cannot lock pidfile: Bad file descriptor");
}

static void
a_write_that_fails_is_reported_with_the_reason(void **state)
{
    char err[FEED_ERR_MAX] = "";
    long holder;
    const char *path = scratch_path("feed.pid");
    int fd = pidfile_acquire(path, &holder, err, sizeof err);
    struct rlimit before;
    struct rlimit none = {0, 0};

    (void)state;
    assert_true(fd >= 0);
    /* No byte may be written: the write fails with EFBIG. */
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &before), 0);
    none.rlim_max = before.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &none), 0);
    assert_int_equal(pidfile_write(fd, 1, NULL, err, sizeof err), -1);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &before), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_string_equal(err, "cannot write pidfile: File too large");
    pidfile_release(fd, path);
}

static void
a_stale_pidfile_left_by_a_dead_process_is_taken_over(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char text[32];
    char want[32];
    long holder = -1;
    const char *path = scratch_path("feed.pid");
    int fd;

    (void)state;
    snprintf(text, sizeof text, "%ld\n", (long)dead_pid());
    write_file(path, text);
    fd = pidfile_acquire(path, &holder, err, sizeof err);
    assert_true(fd >= 0);
    assert_int_equal(holder, -1);
    assert_int_equal(pidfile_write(fd, (long)getpid(), NULL, err, sizeof err),
                     0);
    snprintf(want, sizeof want, "%ld\n", (long)getpid());
    assert_string_equal(read_file(path), want);
    pidfile_release(fd, path);
    assert_false(exists(path));
}

static void
a_pidfile_held_by_a_live_process_is_refused_with_its_pid(void **state)
{
    char err[FEED_ERR_MAX] = "";
    long holder = 0;
    const char *path = scratch_path("feed.pid");
    struct holder h = start_holder(path, 1, NULL);

    (void)state;
    assert_int_equal(pidfile_acquire(path, &holder, err, sizeof err),
                     PIDFILE_HELD);
    assert_int_equal(holder, h.pid);
    stop_holder(&h);
    /* Once the holder has gone, the file is ours. */
    int fd = pidfile_acquire(path, &holder, err, sizeof err);
    assert_true(fd >= 0);
    pidfile_release(fd, path);
}

static void
a_holder_that_has_not_written_its_pid_yet_is_reported_as_pid_0(void **state)
{
    char err[FEED_ERR_MAX] = "";
    long holder = -1;
    const char *path = scratch_path("feed.pid");
    struct holder h = start_holder(path, 0, NULL);

    (void)state;
    assert_int_equal(pidfile_acquire(path, &holder, err, sizeof err),
                     PIDFILE_HELD);
    assert_int_equal(holder, 0);
    stop_holder(&h);
}

static void
pidfile_probe_tells_running_from_dead_from_absent(void **state)
{
    char err[FEED_ERR_MAX] = "";
    const char *path = scratch_path("feed.pid");
    long pid = -1;
    int there = -1;
    struct holder h;

    (void)state;
    assert_int_equal(pidfile_probe(path, &pid, &there, err, sizeof err), 0);
    assert_int_equal(pid, 0);
    assert_int_equal(there, 0);
    assert_false(exists(path));

    h = start_holder(path, 1, NULL);
    assert_int_equal(pidfile_probe(path, &pid, &there, err, sizeof err), 1);
    assert_int_equal(pid, h.pid);
    assert_int_equal(there, 1);

    kill_holder(&h);
    pid = -1;
    assert_int_equal(pidfile_probe(path, &pid, &there, err, sizeof err), 0);
    assert_int_equal(pid, 0);
    assert_int_equal(there, 1);
    /* Probing takes nothing over: the stale file is still there. */
    assert_true(exists(path));
}

static void
the_pid_written_in_the_file_is_not_believed(void **state)
{
    char err[FEED_ERR_MAX] = "";
    const char *path = scratch_path("feed.pid");
    long pid = -1;
    long holder = -1;
    int there = -1;
    struct holder h = start_holder(path, 1, NULL);

    (void)state;
    /* Anyone who could write the file would aim `stop` at pid 1. */
    write_file(path, "1\n");
    assert_int_equal(pidfile_probe(path, &pid, &there, err, sizeof err), 1);
    assert_int_equal(pid, h.pid);
    assert_int_equal(pidfile_acquire(path, &holder, err, sizeof err),
                     PIDFILE_HELD);
    assert_int_equal(holder, h.pid);
    stop_holder(&h);
}

static void
a_holder_that_has_not_claimed_the_lock_is_pid_0_whatever_the_file_says(
    void **state)
{
    char err[FEED_ERR_MAX] = "";
    const char *path = scratch_path("feed.pid");
    long pid = -1;
    int there = -1;
    struct holder h = start_holder(path, 0, NULL);

    (void)state;
    write_file(path, "1\n");
    assert_int_equal(pidfile_probe(path, &pid, &there, err, sizeof err), 1);
    assert_int_equal(pid, 0);
    stop_holder(&h);
}

/*
 * As `start` does: acquire, fork, and let the forked process claim the
 * lock and write its pid; the first process exits. Returns the forked
 * process's pid; it holds the lock until `release` reaches EOF.
 */
static pid_t
start_forked_holder(const char *path, int *release_out)
{
    int ready[2];
    int release[2];
    pid_t first;
    pid_t daemon = 0;
    int status;

    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    assert_int_equal(pipe2(release, O_CLOEXEC), 0);
    first = fork();
    assert_int_not_equal(first, -1);
    if (first == 0) {
        char err[FEED_ERR_MAX];
        long other;
        int fd = pidfile_acquire(path, &other, err, sizeof err);
        pid_t pid;
        char c;

        close(release[1]);
        if (fd < 0 || (pid = fork()) == -1) {
            _exit(1);
        }
        if (pid > 0) {
            _exit(0); /* its copy of the lock goes; the child's stays */
        }
        pid = getpid();
        if (pidfile_write(fd, (long)pid, NULL, err, sizeof err) == -1 ||
            write(ready[1], &pid, sizeof pid) != (ssize_t)sizeof pid) {
            _exit(2);
        }
        while (read(release[0], &c, 1) == -1 && errno == EINTR) {
        }
        _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    assert_int_equal(waitpid(first, &status, 0), first);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(read(ready[0], &daemon, sizeof daemon),
                     (ssize_t)sizeof daemon);
    close(ready[0]);
    *release_out = release[1];
    return daemon;
}

static void
the_lock_goes_with_the_forked_process_that_claims_it(void **state)
{
    char err[FEED_ERR_MAX] = "";
    const char *path = scratch_path("feed.pid");
    long pid = -1;
    int there = -1;
    int release;
    pid_t daemon = start_forked_holder(path, &release);

    (void)state;
    assert_int_equal(pidfile_probe(path, &pid, &there, err, sizeof err), 1);
    assert_int_equal(pid, daemon);
    close(release); /* not our child: poll until it has let go */
    for (int i = 0;
         i < 500 && pidfile_probe(path, &pid, &there, err, sizeof err) != 0;
         i++) {
        usleep(20 * 1000);
    }
    assert_int_equal(pidfile_probe(path, &pid, &there, err, sizeof err), 0);
}

static void
a_read_lock_of_another_process_is_reported_not_taken_for_a_daemon(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char want[PATH_MAX + 100];
    const char *path = scratch_path("feed.pid");
    struct flock l = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_len = 0};
    long holder;
    long pid;
    int there;
    int fd;

    (void)state;
    write_file(path, "1\n");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(fcntl(fd, F_OFD_SETLK, &l), 0);
    snprintf(want, sizeof want,
             "cannot lock pidfile %s: another process holds a read lock on "
             "it",
             path);
    assert_int_equal(pidfile_acquire(path, &holder, err, sizeof err), -1);
    assert_string_equal(err, want);
    err[0] = '\0';
    assert_int_equal(pidfile_probe(path, &pid, &there, err, sizeof err), -1);
    assert_string_equal(err, want);
    close(fd);
}

static void
a_fifo_in_place_of_the_pidfile_is_refused_without_blocking(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char want[PATH_MAX + 100];
    const char *path = scratch_path("feed.pid");
    long holder;
    long pid;
    int there;
    char note[16];

    (void)state;
    assert_int_equal(mkfifo(path, 0644), 0);
    snprintf(want, sizeof want, "cannot open pidfile %s: not a regular file",
             path);
    assert_int_equal(pidfile_acquire(path, &holder, err, sizeof err), -1);
    assert_string_equal(err, want);
    err[0] = '\0';
    assert_int_equal(pidfile_probe(path, &pid, &there, err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_string_equal(pidfile_note(path, note, sizeof note), "");
}

/* pidfile_check_dir() of scratch/DIR/feed.pid for `owner`; its err. */
static const char *
check_dir(const char *dir, uid_t owner, int want_rc)
{
    static char err[FEED_ERR_MAX];
    char path[PATH_MAX];

    err[0] = '\0';
    snprintf(path, sizeof path, "%s/%s/feed.pid", scratch, dir);
    assert_int_equal(pidfile_check_dir(path, owner, err, sizeof err), want_rc);
    return err;
}

static void
a_pidfile_folder_only_root_and_the_run_user_can_write_passes(void **state)
{
    struct passwd *pw = getpwnam("nobody");

    (void)state;
    assert_int_equal(mkdir(scratch_path("run"), 0755), 0);
    assert_string_equal(check_dir("run", geteuid(), 0), "");
    assert_string_equal(check_dir("run", 12345, 0), "");
    /* A folder start will create is not refused. */
    assert_string_equal(check_dir("none", 12345, 0), "");
    if (geteuid() == 0 && pw != NULL) {
        assert_int_equal(chown(scratch_path("run"), pw->pw_uid, 0), 0);
        assert_string_equal(check_dir("run", pw->pw_uid, 0), "");
    }
}

static void
a_pidfile_folder_others_or_its_group_can_write_is_refused(void **state)
{
    char want[PATH_MAX + 100];

    (void)state;
    assert_int_equal(mkdir(scratch_path("open"), 0755), 0);
    assert_int_equal(chmod(scratch_path("open"), 01777), 0);
    snprintf(want, sizeof want,
             "folder %s/open is writable by others (mode 1777)", scratch);
    assert_string_equal(check_dir("open", geteuid(), -1), want);
    assert_int_equal(chmod(scratch_path("open"), 0775), 0);
    snprintf(want, sizeof want,
             "folder %s/open is writable by its group (mode 0775)", scratch);
    assert_string_equal(check_dir("open", geteuid(), -1), want);
}

static void
a_pidfile_folder_owned_by_another_user_is_refused(void **state)
{
    char want[PATH_MAX + 100];
    struct passwd *pw = getpwnam("nobody");

    (void)state;
    if (geteuid() != 0 || pw == NULL) {
        skip();
    }
    assert_int_equal(mkdir(scratch_path("theirs"), 0755), 0);
    assert_int_equal(chown(scratch_path("theirs"), pw->pw_uid, 0), 0);
    snprintf(want, sizeof want,
             "folder %s/theirs is owned by uid %ld, not by root or the user "
             "feed-core runs as",
             scratch, (long)pw->pw_uid);
    assert_string_equal(check_dir("theirs", 0, -1), want);
}

static void
a_pidfile_folder_that_cannot_be_looked_at_is_refused(void **state)
{
    char want[PATH_MAX + 100];

    (void)state;
    write_file(scratch_path("file"), "");
    snprintf(want, sizeof want,
             "cannot check folder %s/file/run: Not a directory", scratch);
    assert_string_equal(check_dir("file/run", 0, -1), want);
}

static void
a_symlink_is_never_followed(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char want[PATH_MAX + 100];
    const char *path = scratch_path("link.pid");
    long holder;
    long pid;
    int there;

    (void)state;
    assert_int_equal(symlink("target.pid", path), 0);
    snprintf(want, sizeof want,
             "cannot open pidfile %s: Too many levels of "
             "symbolic links",
             path);
    assert_int_equal(pidfile_acquire(path, &holder, err, sizeof err), -1);
    assert_string_equal(err, want);
    err[0] = '\0';
    assert_int_equal(pidfile_probe(path, &pid, &there, err, sizeof err), -1);
    assert_string_equal(err, want);
    err[0] = '\0';
    assert_int_equal(pidfile_remove_stale(path, err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_false(exists(scratch_path("target.pid")));
}

static void
a_pidfile_in_a_missing_folder_cannot_be_acquired(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char want[PATH_MAX + 100];
    long holder;

    (void)state;
    snprintf(want, sizeof want,
             "cannot open pidfile %s/none/feed.pid: No "
             "such file or directory",
             scratch);
    assert_int_equal(pidfile_acquire(scratch_path("none/feed.pid"), &holder,
                                     err, sizeof err),
                     -1);
    assert_string_equal(err, want);
}

static int
probe_child(const char *path, char *text, size_t len)
{
    long pid;
    int there;

    return pidfile_probe(path, &pid, &there, text, len);
}

/* Probes as a child: the pid it found, as text. */
static int
probe_pid_child(const char *path, char *text, size_t len)
{
    long pid = 0;
    int there;
    int rc = pidfile_probe(path, &pid, &there, text, len);

    if (rc == 1) {
        snprintf(text, len, "%ld", pid);
    }
    return rc;
}

static void
a_user_who_may_only_read_the_pidfile_is_told_the_holder(void **state)
{
    char want[32];
    const char *path = scratch_path("feed.pid");
    struct holder h = start_holder(path, 1, NULL);
    struct outcome o;

    (void)state;
    /* `status` as another user: read access is all it takes. */
    assert_int_equal(chmod(scratch, 0711), 0);
    o = unprivileged(probe_pid_child, path);
    assert_int_equal(o.rc, 1);
    snprintf(want, sizeof want, "%ld", (long)h.pid);
    assert_string_equal(o.text, want);
    stop_holder(&h);
}

static void
a_pidfile_that_cannot_be_read_cannot_be_probed(void **state)
{
    char want[PATH_MAX + 100];
    const char *path = scratch_path("feed.pid");
    struct outcome o;

    (void)state;
    write_file(path, "1\n");
    assert_int_equal(chmod(path, 0), 0);
    /* As root, the child becomes nobody: let it reach the file. */
    assert_int_equal(chmod(scratch, 0711), 0);
    o = unprivileged(probe_child, path);
    assert_int_equal(o.rc, -1);
    snprintf(want, sizeof want, "cannot open pidfile %s: Permission denied",
             path);
    assert_string_equal(o.text, want);
}

static void
pidfile_release_removes_its_own_file_only(void **state)
{
    char err[FEED_ERR_MAX];
    const char *path = scratch_path("feed.pid");
    char moved[PATH_MAX];
    long holder;
    int fd = pidfile_acquire(path, &holder, err, sizeof err);

    (void)state;
    assert_true(fd >= 0);
    pidfile_release(fd, path);
    assert_false(exists(path));

    /* Someone moved ours away and put another file in its place. */
    fd = pidfile_acquire(path, &holder, err, sizeof err);
    assert_true(fd >= 0);
    snprintf(moved, sizeof moved, "%s/moved.pid", scratch);
    assert_int_equal(rename(path, moved), 0);
    write_file(path, "999\n");
    pidfile_release(fd, path);
    assert_string_equal(read_file(path), "999\n");
    assert_true(exists(moved));
    /* A descriptor that was never acquired is ignored. */
    pidfile_release(-1, path);
    assert_true(exists(path));
}

static void
pidfile_remove_stale_removes_a_file_nobody_holds(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char text[32];
    const char *path = scratch_path("feed.pid");

    (void)state;
    snprintf(text, sizeof text, "%ld\n", (long)dead_pid());
    write_file(path, text);
    assert_int_equal(pidfile_remove_stale(path, err, sizeof err), 0);
    assert_false(exists(path));
    /* No file is no error, and leaves no file behind. */
    assert_int_equal(pidfile_remove_stale(path, err, sizeof err), 0);
    assert_false(exists(path));
    assert_string_equal(err, "");
}

static void
pidfile_remove_stale_leaves_a_held_file_and_names_the_holder(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char want[PATH_MAX + 100];
    const char *path = scratch_path("feed.pid");
    struct holder h = start_holder(path, 1, NULL);

    (void)state;
    assert_int_equal(pidfile_remove_stale(path, err, sizeof err), -1);
    snprintf(want, sizeof want, "pidfile %s is held by pid %ld", path,
             (long)h.pid);
    assert_string_equal(err, want);
    assert_true(exists(path));
    stop_holder(&h);
}

static void
pidfile_mkdir_creates_the_folder_and_its_missing_parents(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char dir[PATH_MAX];
    struct stat st;

    (void)state;
    assert_int_equal(pidfile_mkdir(scratch_path("run/a/b/feed.pid"), (uid_t)-1,
                                   (gid_t)-1, err, sizeof err),
                     0);
    for (int i = 0; i < 3; i++) {
        snprintf(dir, sizeof dir, "%s/%s", scratch,
                 (const char *[]){"run", "run/a", "run/a/b"}[i]);
        assert_int_equal(stat(dir, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_equal(st.st_uid, geteuid());
    }
    assert_false(exists(scratch_path("run/a/b/feed.pid")));
}

static void
pidfile_mkdir_gives_the_last_folder_to_the_run_user(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char dir[PATH_MAX];
    struct passwd *pw = getpwnam("nobody");
    struct stat st;

    (void)state;
    if (geteuid() != 0 || pw == NULL) {
        skip();
    }
    assert_int_equal(pidfile_mkdir(scratch_path("run/a/feed.pid"), pw->pw_uid,
                                   pw->pw_gid, err, sizeof err),
                     0);
    snprintf(dir, sizeof dir, "%s/run/a", scratch);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_uid, pw->pw_uid);
    assert_int_equal(st.st_gid, pw->pw_gid);
    /* Its parents stay root's. */
    snprintf(dir, sizeof dir, "%s/run", scratch);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_uid, 0);
    assert_int_equal(st.st_gid, getegid());
}

static void
pidfile_mkdir_leaves_an_existing_folder_alone(void **state)
{
    char err[FEED_ERR_MAX] = "";
    struct stat before;
    struct stat after;

    (void)state;
    assert_int_equal(mkdir(scratch_path("run"), 0700), 0);
    assert_int_equal(stat(scratch_path("run"), &before), 0);
    assert_int_equal(pidfile_mkdir(scratch_path("run/feed.pid"), 12345, 12345,
                                   err, sizeof err),
                     0);
    assert_int_equal(stat(scratch_path("run"), &after), 0);
    assert_int_equal(after.st_uid, before.st_uid);
    assert_int_equal(after.st_mode, before.st_mode);
    /* A pidfile in / or in the current folder needs no folder. */
    assert_int_equal(pidfile_mkdir("feed.pid", 12345, 12345, err, sizeof err),
                     0);
    assert_int_equal(pidfile_mkdir("/feed.pid", 12345, 12345, err, sizeof err),
                     0);
    assert_string_equal(err, "");
}

static void
pidfile_mkdir_says_which_folder_it_cannot_create(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char want[PATH_MAX + 100];

    (void)state;
    write_file(scratch_path("file"), "");
    assert_int_equal(pidfile_mkdir(scratch_path("file/run/feed.pid"), (uid_t)-1,
                                   (gid_t)-1, err, sizeof err),
                     -1);
    snprintf(want, sizeof want,
             "cannot create folder %s/file/run: Not a "
             "directory",
             scratch);
    assert_string_equal(err, want);
}

static int
mkdir_child(const char *path, char *text, size_t len)
{
    return pidfile_mkdir(path, 0, 0, text, len);
}

static void
pidfile_mkdir_says_which_folder_it_cannot_chown(void **state)
{
    char want[PATH_MAX + 100];
    char path[PATH_MAX];
    struct outcome o;

    (void)state;
    /* Only root may give a folder away: an unprivileged child tries. */
    assert_int_equal(chmod(scratch, 0711), 0);
    assert_int_equal(mkdir(scratch_path("open"), 0777), 0);
    assert_int_equal(chmod(scratch_path("open"), 01777), 0);
    snprintf(path, sizeof path, "%s/open/run/feed.pid", scratch);
    o = unprivileged(mkdir_child, path);
    assert_int_equal(o.rc, -1);
    snprintf(want, sizeof want,
             "cannot chown folder %s/open/run: Operation "
             "not permitted",
             scratch);
    assert_string_equal(o.text, want);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name)                                                                \
    cmocka_unit_test_setup_teardown(name, scratch_setup, scratch_teardown)
        T(acquiring_a_fresh_path_creates_an_empty_file_until_pidfile_write),
        T(pidfile_write_replaces_the_pid_and_adds_an_optional_note),
        T(pidfile_note_is_empty_without_a_file_or_a_second_line),
        T(a_note_that_does_not_fit_is_refused),
        T(writing_through_a_closed_descriptor_fails_with_the_reason),
        T(a_stale_pidfile_left_by_a_dead_process_is_taken_over),
        T(a_pidfile_held_by_a_live_process_is_refused_with_its_pid),
        T(a_holder_that_has_not_written_its_pid_yet_is_reported_as_pid_0),
        T(pidfile_probe_tells_running_from_dead_from_absent),
        T(a_write_that_fails_is_reported_with_the_reason),
        T(the_pid_written_in_the_file_is_not_believed),
        T(a_holder_that_has_not_claimed_the_lock_is_pid_0_whatever_the_file_says),
        T(the_lock_goes_with_the_forked_process_that_claims_it),
        T(a_read_lock_of_another_process_is_reported_not_taken_for_a_daemon),
        T(a_fifo_in_place_of_the_pidfile_is_refused_without_blocking),
        T(a_pidfile_folder_only_root_and_the_run_user_can_write_passes),
        T(a_pidfile_folder_others_or_its_group_can_write_is_refused),
        T(a_pidfile_folder_owned_by_another_user_is_refused),
        T(a_pidfile_folder_that_cannot_be_looked_at_is_refused),
        T(a_symlink_is_never_followed),
        T(a_pidfile_in_a_missing_folder_cannot_be_acquired),
        T(a_user_who_may_only_read_the_pidfile_is_told_the_holder),
        T(a_pidfile_that_cannot_be_read_cannot_be_probed),
        T(pidfile_release_removes_its_own_file_only),
        T(pidfile_remove_stale_removes_a_file_nobody_holds),
        T(pidfile_remove_stale_leaves_a_held_file_and_names_the_holder),
        T(pidfile_mkdir_creates_the_folder_and_its_missing_parents),
        T(pidfile_mkdir_gives_the_last_folder_to_the_run_user),
        T(pidfile_mkdir_leaves_an_existing_folder_alone),
        T(pidfile_mkdir_says_which_folder_it_cannot_create),
        T(pidfile_mkdir_says_which_folder_it_cannot_chown),
#undef T
    };

    umask(022);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
