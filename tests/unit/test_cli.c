/*
 * test_cli.c - the command line: parsing, and what each command prints
 * and returns.
 *
 * cli_main() runs in a forked child whose stdout and stderr go to files of
 * the test's folder, so that what it prints can be checked and an exit()
 * cannot end the test. A running daemon is played by another child that
 * holds the pidfile's lock (the only thing `status` and `stop` look at).
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"

#include <feed/plugin.h>

#include "buildconf.h"
#include "cli.h"
#include "pidfile.h"
#include "zcert.h"

#define DEADLINE_MS 30000

static const char *test_plugins;  /* FEED_TEST_PLUGIN_DIR */
static const char *build_plugins; /* FEED_PLUGIN_BUILD_DIR */

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Writes feed.ini from printf-style text; returns its path (static). */
static const char *FEED_PRINTF(1, 2) config(const char *fmt, ...)
{
    static char path[PATH_MAX];
    char *text;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&text, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    snprintf(path, sizeof path, "%s/feed.ini", scratch);
    write_file(path, text);
    free(text);
    return path;
}

static int
exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

static char *FEED_PRINTF(1, 2) format(const char *fmt, ...)
{
    char *text;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&text, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    return text;
}

/* ------------------------------------------------------------------
 * Running cli_main() in a child.
 */

struct result {
    int rc;
    char *out;
    char *err;
};

static void
result_free(struct result *r)
{
    free(r->out);
    free(r->err);
}

/* Runs `feed-core ARGS...` (NULL-terminated) as cli_main() in a child. */
static struct result
cli(const char *arg, ...)
{
    struct result r = {0, NULL, NULL};
    char *argv[16];
    int argc = 0;
    char out_path[PATH_MAX];
    char err_path[PATH_MAX];
    va_list ap;
    int done[2];
    pid_t pid;
    int status;

    argv[argc++] = "feed-core";
    va_start(ap, arg);
    for (const char *a = arg; a != NULL; a = va_arg(ap, const char *)) {
        assert_true(argc < 15);
        argv[argc++] = (char *)(uintptr_t)a;
    }
    va_end(ap);
    argv[argc] = NULL;
    snprintf(out_path, sizeof out_path, "%s/stdout", scratch);
    snprintf(err_path, sizeof err_path, "%s/stderr", scratch);
    /* The child must not flush what cmocka has buffered. */
    fflush(NULL);
    assert_int_equal(pipe2(done, O_CLOEXEC), 0);
    pid = fork();
    assert_int_not_equal(pid, -1);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int rc;

        close(done[0]);
        if (o == -1 || e == -1 || dup2(o, 1) == -1 || dup2(e, 2) == -1) {
            _exit(99);
        }
        rc = cli_main(argc, argv);
        fflush(NULL);
        _exit(rc);
    }
    close(done[1]);
    /* The pipe reads as closed when the child has exited. */
    struct pollfd p = {.fd = done[0], .events = POLLIN};
    if (poll(&p, 1, DEADLINE_MS) != 1) {
        kill(pid, SIGKILL);
    }
    close(done[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    r.rc = WEXITSTATUS(status);
    r.out = scratch_slurp(out_path);
    r.err = scratch_slurp(err_path);
    return r;
}

/* ------------------------------------------------------------------
 * A stand-in for a running daemon: a child holding the pidfile's lock.
 */

struct holder {
    pid_t pid;
    int release; /* closing it lets the child exit */
};

enum {
    WRITE_NOTHING = 0, /* hold the lock with an empty file */
    WRITE_OWN_PID = -1,
};

/* ignore_term: also fork a child that shares the lock (and ignores TERM). */
#define SHARE_WITH_A_CHILD 2

/*
 * Forks a child that locks `path`, writes `pid` (or its own, or nothing)
 * and `note`, and holds the lock until stop_holder() or a signal. With
 * ignore_term it survives SIGTERM, like a daemon that does not stop.
 */
static struct holder
start_holder(const char *path, long pid, const char *note, int ignore_term)
{
    struct holder h;
    int ready[2];
    int release[2];
    char c = 0;

    fflush(NULL);
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
        if (ignore_term) {
            signal(SIGTERM, SIG_IGN);
        }
        fd = pidfile_acquire(path, &other, err, sizeof err);
        if (fd < 0) {
            _exit(1);
        }
        if (pid != WRITE_NOTHING &&
            pidfile_write(fd, pid == WRITE_OWN_PID ? (long)getpid() : pid, note,
                          err, sizeof err) == -1) {
            _exit(2);
        }
        /* Inherits the lock at once; `release` ends it too. */
        pid_t sharer = ignore_term == SHARE_WITH_A_CHILD ? fork() : 1;
        if (sharer == -1) {
            _exit(4);
        }
        if (sharer > 0 && write(ready[1], "r", 1) != 1) {
            _exit(3);
        }
        while (read(release[0], &c, 1) == -1 && errno == EINTR) {
        }
        _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    struct pollfd p = {.fd = ready[0], .events = POLLIN};
    assert_int_equal(poll(&p, 1, DEADLINE_MS), 1);
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    h.release = release[1];
    return h;
}

/* Lets the holder go (if still alive) and reaps it; returns its status. */
static int
stop_holder(struct holder *h)
{
    int status;

    close(h->release);
    assert_int_equal(waitpid(h->pid, &status, 0), h->pid);
    return status;
}

static pid_t
dead_pid(void)
{
    pid_t pid;
    int status;

    fflush(NULL);
    pid = fork();
    assert_int_not_equal(pid, -1);
    if (pid == 0) {
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return pid;
}

/* A config whose pidfile is feed.pid in the test's folder. */
static const char *
core_config(void)
{
    return config("[core]\npidfile = feed.pid\n");
}

/* The line `user = nobody` when root, where start and check need one. */
static const char *
user_line(void)
{
    return geteuid() == 0 ? "user = nobody\n" : "";
}

/* Skips the test unless csv_trade.so has been built. */
static const char *
csv_trade_or_skip(void)
{
    static char path[PATH_MAX];

    snprintf(path, sizeof path, "%s/csv_trade.so", build_plugins);
    if (!exists(path)) {
        skip();
    }
    return path;
}

/* ------------------------------------------------------------------
 * cli_parse()
 */

#define ARGV(...) ((char *[]){"feed-core", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof ARGV(__VA_ARGS__) / sizeof(char *)) - 1)
#define PARSE(o, ...) cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o))

static void
cli_parse_knows_every_command(void **state)
{
    static const char *const commands[] = {
        "start", "stop", "restart", "status", "check", "plugins", "help",
    };
    struct cli_options o;

    (void)state;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        char *argv[] = {"feed-core", (char *)(uintptr_t)commands[i], NULL};
        assert_int_equal(cli_parse(2, argv, &o), 0);
        assert_string_equal(o.command, commands[i]);
        assert_null(o.config);
        assert_int_equal(o.foreground, 0);
        assert_int_equal(o.help, 0);
        assert_int_equal(o.version, 0);
    }
}

static void
cli_parse_reads_the_options_before_the_command(void **state)
{
    struct cli_options o;

    (void)state;
    assert_int_equal(PARSE(&o, "-c", "/etc/x.ini", "-f", "start"), 0);
    assert_string_equal(o.config, "/etc/x.ini");
    assert_int_equal(o.foreground, 1);
    assert_string_equal(o.command, "start");

    assert_int_equal(PARSE(&o, "-c/etc/y.ini", "status"), 0);
    assert_string_equal(o.config, "/etc/y.ini");
    assert_int_equal(o.foreground, 0);

    /* "--" ends the options; the last -c wins. */
    assert_int_equal(PARSE(&o, "-c", "a", "-c", "b", "--", "stop"), 0);
    assert_string_equal(o.config, "b");
    assert_string_equal(o.command, "stop");
}

static void
help_and_version_need_no_command(void **state)
{
    struct cli_options o;

    (void)state;
    assert_int_equal(PARSE(&o, "-h"), 0);
    assert_int_equal(o.help, 1);
    assert_null(o.command);
    assert_int_equal(PARSE(&o, "--help"), 0);
    assert_int_equal(o.help, 1);
    assert_int_equal(PARSE(&o, "--version"), 0);
    assert_int_equal(o.version, 1);
    assert_int_equal(o.help, 0);
    /* What follows them is not looked at. */
    assert_int_equal(PARSE(&o, "-c", "x.ini", "--version", "bogus", "more"), 0);
    assert_int_equal(o.version, 1);
    assert_int_equal(PARSE(&o, "-f", "-h", "bogus"), 0);
    assert_int_equal(o.help, 1);
}

static void
an_unknown_command_is_refused(void **state)
{
    struct cli_options o;

    (void)state;
    assert_int_equal(PARSE(&o, "frobnicate"), -1);
    assert_int_equal(PARSE(&o, "Status"), -1);
    assert_int_equal(PARSE(&o, ""), -1);
}

static void
an_unknown_option_is_refused(void **state)
{
    struct cli_options o;

    (void)state;
    assert_int_equal(PARSE(&o, "-x", "status"), -1);
    assert_int_equal(PARSE(&o, "--nope", "status"), -1);
    assert_int_equal(PARSE(&o, "--config=x", "status"), -1);
    /* -c without its FILE. */
    assert_int_equal(PARSE(&o, "-c"), -1);
}

static void
a_missing_command_is_refused(void **state)
{
    struct cli_options o;
    char *argv[] = {"feed-core", NULL};

    (void)state;
    assert_int_equal(cli_parse(1, argv, &o), -1);
    assert_int_equal(PARSE(&o, "-f"), -1);
    assert_int_equal(PARSE(&o, "-c", "x.ini"), -1);
    /* -c takes the next word as its FILE, even a command's name. */
    assert_int_equal(PARSE(&o, "-c", "status"), -1);
}

static void
two_commands_are_refused(void **state)
{
    struct cli_options o;

    (void)state;
    assert_int_equal(PARSE(&o, "stop", "start"), -1);
    assert_int_equal(PARSE(&o, "status", "status"), -1);
}

static void
an_option_after_the_command_is_refused_not_taken_for_a_command(void **state)
{
    struct cli_options o;

    (void)state;
    /*
     * The "+" in the optstring stops at the command: nothing is permuted,
     * so what follows the command is an extra word, and refused.
     */
    assert_int_equal(PARSE(&o, "status", "-f"), -1);
    assert_int_equal(o.foreground, 0);
    assert_int_equal(PARSE(&o, "status", "-c", "x.ini"), -1);
    assert_null(o.config);
    assert_int_equal(PARSE(&o, "check", "--help"), -1);
    assert_int_equal(o.help, 0);
    assert_int_equal(PARSE(&o, "-f", "start", "stop"), -1);
}

static void
a_parse_after_one_that_stopped_inside_an_option_group_starts_afresh(
    void **state)
{
    pid_t pid;
    int status;

    (void)state;
    /*
     * "-hf" returns at 'h' with getopt still inside the group. cli_parse()
     * resets optind to 1, which glibc takes as "carry on": the next parse
     * then reads the stale 'f' first. Run in a child: getopt's state is
     * process-wide.
     */
    fflush(NULL);
    pid = fork();
    assert_int_not_equal(pid, -1);
    if (pid == 0) {
        struct cli_options o;
        char *first[] = {"feed-core", "-hf", NULL};
        char *second[] = {"feed-core", "status", NULL};

        if (cli_parse(2, first, &o) != 0 || !o.help) {
            _exit(10);
        }
        if (cli_parse(2, second, &o) != 0) {
            _exit(11);
        }
        if (o.foreground || o.command == NULL ||
            strcmp(o.command, "status") != 0) {
            _exit(12);
        }
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ------------------------------------------------------------------
 * cli_main(): help, version, usage errors
 */

static void
version_prints_the_version_and_the_abi_and_returns_0(void **state)
{
    struct result r = cli("--version", NULL);

    (void)state;
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "feed-core " FEED_VERSION " (plugin ABI 2)\n");
    assert_string_equal(r.err, "");
    result_free(&r);
}

static const char usage_head[] =
    "usage: feed-core [-c FILE] [-f] COMMAND\n\ncommands:\n";

static void
help_prints_the_usage_on_stdout_and_returns_0(void **state)
{
    static const char *const ways[] = {"help", "-h", "--help"};

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        struct result r = cli(ways[i], NULL);

        assert_int_equal(r.rc, 0);
        assert_string_equal(r.err, "");
        assert_int_equal(strncmp(r.out, usage_head, strlen(usage_head)), 0);
        assert_non_null(strstr(r.out, "  -c FILE   the configuration "
                                      "(default " FEED_DEFAULT_CONFIG ")\n"));
        assert_non_null(strstr(r.out, "  status    0 running, 1 dead but "
                                      "pidfile exists, 3 not running,\n"));
        result_free(&r);
    }
}

static void
a_usage_error_prints_the_usage_on_stderr_and_returns_2(void **state)
{
    struct result help = cli("help", NULL);
    struct result r;

    (void)state;
    r = cli("frobnicate", NULL);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, help.out);
    result_free(&r);

    r = cli("-x", "status", NULL);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, help.out);
    result_free(&r);

    r = cli(NULL, NULL);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, help.out);
    result_free(&r);

    r = cli("status", "-c", "x.ini", NULL);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, help.out);
    result_free(&r);
    result_free(&help);
}

/* ------------------------------------------------------------------
 * status
 */

static void
status_without_a_pidfile_is_3(void **state)
{
    struct result r = cli("-c", core_config(), "status", NULL);

    (void)state;
    assert_int_equal(r.rc, 3);
    assert_string_equal(r.out, "feed-core is not running\n");
    assert_string_equal(r.err, "");
    result_free(&r);
}

static void
status_with_a_stale_pidfile_is_1(void **state)
{
    char *text = format("%ld\n", (long)dead_pid());
    char *want;
    struct result r;

    (void)state;
    write_file(scratch_path("feed.pid"), text);
    r = cli("-c", core_config(), "status", NULL);
    assert_int_equal(r.rc, 1);
    want = format("feed-core is not running, but its pidfile %s/feed.pid "
                  "exists\n",
                  scratch);
    assert_string_equal(r.out, want);
    assert_string_equal(r.err, "");
    /* status only looks. */
    assert_true(exists(scratch_path("feed.pid")));
    free(want);
    free(text);
    result_free(&r);
}

static void
status_while_a_process_holds_the_lock_is_0_with_its_pid(void **state)
{
    char pidfile[PATH_MAX];
    struct holder h;
    struct result r;
    char *want;

    (void)state;
    snprintf(pidfile, sizeof pidfile, "%s/feed.pid", scratch);
    h = start_holder(pidfile, WRITE_OWN_PID, NULL, 0);
    r = cli("-c", core_config(), "status", NULL);
    assert_int_equal(r.rc, 0);
    want = format("feed-core is running (pid %ld)\n", (long)h.pid);
    assert_string_equal(r.out, want);
    assert_string_equal(r.err, "");
    stop_holder(&h);
    free(want);
    result_free(&r);
}

static void
status_names_the_lock_holder_not_the_pid_in_the_file(void **state)
{
    char pidfile[PATH_MAX];
    struct holder h;
    struct result r;
    char *want;

    (void)state;
    snprintf(pidfile, sizeof pidfile, "%s/feed.pid", scratch);
    h = start_holder(pidfile, 1, NULL, 0); /* the file says pid 1 */
    r = cli("-c", core_config(), "status", NULL);
    assert_int_equal(r.rc, 0);
    want = format("feed-core is running (pid %ld)\n", (long)h.pid);
    assert_string_equal(r.out, want);
    stop_holder(&h);
    free(want);
    result_free(&r);
}

static void
status_with_a_config_that_cannot_be_read_is_4(void **state)
{
    char *want;
    struct result r = cli("-c", scratch_path("none.ini"), "status", NULL);

    (void)state;
    assert_int_equal(r.rc, 4);
    assert_string_equal(r.out, "");
    want = format("feed-core: cannot read %s/none.ini: No such file or "
                  "directory\n",
                  scratch);
    assert_string_equal(r.err, want);
    free(want);
    result_free(&r);
}

static void
status_with_a_bad_core_key_is_4(void **state)
{
    const char *ini = config("[core]\n"
                             "pidfile = feed.pid\n"
                             "threads = lots\n");
    struct result r = cli("-c", ini, "status", NULL);
    char *want;

    (void)state;
    assert_int_equal(r.rc, 4);
    assert_string_equal(r.out, "");
    want = format("%s:3: [core] threads: not an integer: \"lots\"\n", ini);
    assert_string_equal(r.err, want);
    free(want);
    result_free(&r);
}

static void
status_that_cannot_probe_the_pidfile_is_4(void **state)
{
    struct result r;
    char *want;

    (void)state;
    assert_int_equal(symlink("elsewhere.pid", scratch_path("feed.pid")), 0);
    r = cli("-c", core_config(), "status", NULL);
    assert_int_equal(r.rc, 4);
    want = format("feed-core: cannot open pidfile %s/feed.pid: Too many "
                  "levels of symbolic links\n",
                  scratch);
    assert_string_equal(r.err, want);
    free(want);
    result_free(&r);
}

/* ------------------------------------------------------------------
 * stop
 */

static void
stop_when_not_running_says_so_and_returns_0(void **state)
{
    struct result r = cli("-c", core_config(), "stop", NULL);

    (void)state;
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "feed-core is not running\n");
    assert_string_equal(r.err, "");
    assert_false(exists(scratch_path("feed.pid")));
    result_free(&r);
}

static void
stop_removes_a_stale_pidfile(void **state)
{
    char *text = format("%ld\n", (long)dead_pid());
    struct result r;

    (void)state;
    write_file(scratch_path("feed.pid"), text);
    r = cli("-c", core_config(), "stop", NULL);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out,
                        "feed-core is not running (stale pidfile removed)\n");
    assert_string_equal(r.err, "");
    assert_false(exists(scratch_path("feed.pid")));
    free(text);
    result_free(&r);
}

static void
stop_terminates_the_holder_and_removes_its_pidfile(void **state)
{
    char pidfile[PATH_MAX];
    struct holder h;
    struct result r;
    char *want;
    int status;

    (void)state;
    snprintf(pidfile, sizeof pidfile, "%s/feed.pid", scratch);
    h = start_holder(pidfile, WRITE_OWN_PID, NULL, 0);
    r = cli("-c", core_config(), "stop", NULL);
    status = stop_holder(&h);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGTERM);
    assert_int_equal(r.rc, 0);
    want = format("stopping feed-core (pid %ld)\nfeed-core stopped\n",
                  (long)h.pid);
    assert_string_equal(r.out, want);
    assert_string_equal(r.err, "");
    assert_false(exists(pidfile));
    free(want);
    result_free(&r);
}

static void
stop_reports_a_daemon_that_gave_up_at_stop_timeout(void **state)
{
    char pidfile[PATH_MAX];
    struct holder h;
    struct result r;
    char *want;

    (void)state;
    snprintf(pidfile, sizeof pidfile, "%s/feed.pid", scratch);
    h = start_holder(pidfile, WRITE_OWN_PID, "stop_timeout", 0);
    r = cli("-c", config("[core]\npidfile = feed.pid\nstop_timeout = 7\n"),
            "stop", NULL);
    stop_holder(&h);
    assert_int_equal(r.rc, 1);
    want = format("stopping feed-core (pid %ld)\n", (long)h.pid);
    assert_string_equal(r.out, want);
    free(want);
    want = format("feed-core: pid %ld could not commit everything within "
                  "stop_timeout (7 s) and gave up; see its log\n",
                  (long)h.pid);
    assert_string_equal(r.err, want);
    assert_false(exists(pidfile));
    free(want);
    result_free(&r);
}

static void
stop_cannot_signal_a_holder_that_wrote_no_pid(void **state)
{
    char pidfile[PATH_MAX];
    struct holder h;
    struct result r;

    (void)state;
    snprintf(pidfile, sizeof pidfile, "%s/feed.pid", scratch);
    h = start_holder(pidfile, WRITE_NOTHING, NULL, 0);
    r = cli("-c", core_config(), "stop", NULL);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "feed-core: cannot signal pid 0: no pid in "
                               "the pidfile\n");
    assert_true(WIFEXITED(stop_holder(&h)));
    result_free(&r);
}

static void
stop_acts_on_the_lock_holder_not_the_pid_in_the_file(void **state)
{
    char pidfile[PATH_MAX];
    struct holder innocent;
    struct holder locker;
    struct result r;
    char *want;
    int status;

    (void)state;
    /* The file names an innocent process; another one holds the lock. */
    snprintf(pidfile, sizeof pidfile, "%s/other.pid", scratch);
    innocent = start_holder(pidfile, WRITE_OWN_PID, NULL, 0);
    snprintf(pidfile, sizeof pidfile, "%s/feed.pid", scratch);
    locker = start_holder(pidfile, (long)innocent.pid, NULL, 0);
    r = cli("-c", core_config(), "stop", NULL);
    status = stop_holder(&locker);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGTERM);
    assert_int_equal(r.rc, 0);
    want = format("stopping feed-core (pid %ld)\nfeed-core stopped\n",
                  (long)locker.pid);
    assert_string_equal(r.out, want);
    assert_string_equal(r.err, "");
    assert_int_equal(kill(innocent.pid, 0), 0);
    status = stop_holder(&innocent);
    assert_true(WIFEXITED(status));
    free(want);
    result_free(&r);
}

/*
 * A holder that, once killed, is at once replaced by a successor that takes
 * the lock over (as a `start` waiting for a stopping daemon does). Returns
 * the holder; the successor's pid goes into *successor, and it lets go
 * when `release` reaches EOF.
 */
static struct holder
start_replaced_holder(const char *path, pid_t *successor)
{
    struct holder h;
    int ready[2];
    int release[2];
    int death[2]; /* the successor reads EOF when the holder dies */
    pid_t pids[2] = {0, 0};

    fflush(NULL);
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    assert_int_equal(pipe2(release, O_CLOEXEC), 0);
    assert_int_equal(pipe2(death, O_CLOEXEC), 0);
    h.pid = fork();
    assert_int_not_equal(h.pid, -1);
    if (h.pid == 0) {
        char err[FEED_ERR_MAX];
        long other = 0;
        char c;
        int fd = pidfile_acquire(path, &other, err, sizeof err);
        pid_t next;

        close(release[1]);
        close(death[0]);
        if (fd < 0 ||
            pidfile_write(fd, (long)getpid(), NULL, err, sizeof err) == -1) {
            _exit(1);
        }
        next = fork();
        if (next == 0) {
            close(fd);
            close(death[1]);
            while (read(death[0], &c, 1) == -1 && errno == EINTR) {
            }
            /* The holder is gone: take over, as a new daemon would. */
            for (int i = 0; i < 500; i++) {
                fd = pidfile_acquire(path, &other, err, sizeof err);
                if (fd >= 0) {
                    break;
                }
                usleep(1000);
            }
            if (fd < 0 || pidfile_write(fd, (long)getpid(), NULL, err,
                                        sizeof err) == -1) {
                _exit(1);
            }
            while (read(release[0], &c, 1) == -1 && errno == EINTR) {
            }
            _exit(0);
        }
        pids[0] = getpid();
        pids[1] = next;
        if (write(ready[1], pids, sizeof pids) != (ssize_t)sizeof pids) {
            _exit(3);
        }
        while (read(release[0], &c, 1) == -1 && errno == EINTR) {
        }
        _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    close(death[1]);
    close(death[0]);
    assert_int_equal(read(ready[0], pids, sizeof pids), (ssize_t)sizeof pids);
    close(ready[0]);
    *successor = pids[1];
    h.release = release[1];
    return h;
}

static void
stop_leaves_a_daemon_started_meanwhile_alone(void **state)
{
    char pidfile[PATH_MAX];
    pid_t successor;
    struct holder h;
    struct result r;
    char *want;
    long pid = 0;
    int there;
    char err[FEED_ERR_MAX];

    (void)state;
    snprintf(pidfile, sizeof pidfile, "%s/feed.pid", scratch);
    h = start_replaced_holder(pidfile, &successor);
    r = cli("-c", core_config(), "stop", NULL);
    assert_true(WIFSIGNALED(stop_holder(&h)));
    want = format("stopping feed-core (pid %ld)\nfeed-core stopped\n",
                  (long)h.pid);
    assert_string_equal(r.err, "");
    assert_string_equal(r.out, want);
    assert_int_equal(r.rc, 0);
    /* The successor runs on, holding its pidfile. */
    assert_int_equal(kill(successor, 0), 0);
    assert_int_equal(pidfile_probe(pidfile, &pid, &there, err, sizeof err), 1);
    assert_int_equal(pid, successor);
    free(want);
    result_free(&r);
}

static void
stop_kills_a_daemon_that_ignores_sigterm_past_stop_timeout(void **state)
{
    char pidfile[PATH_MAX];
    struct holder h;
    struct result r;
    char *want;
    int status;

    (void)state;
    snprintf(pidfile, sizeof pidfile, "%s/feed.pid", scratch);
    h = start_holder(pidfile, WRITE_OWN_PID, NULL, 1);
    /* stop waits stop_timeout + 5 s before SIGKILL. */
    r = cli("-c", config("[core]\npidfile = feed.pid\nstop_timeout = 1\n"),
            "stop", NULL);
    status = stop_holder(&h);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    assert_int_equal(r.rc, 1);
    want = format("stopping feed-core (pid %ld)\n", (long)h.pid);
    assert_string_equal(r.out, want);
    free(want);
    want = format("feed-core: pid %ld did not stop within 6 s: killed it\n",
                  (long)h.pid);
    assert_string_equal(r.err, want);
    assert_false(exists(pidfile));
    free(want);
    result_free(&r);
}

static void
stop_says_when_the_lock_outlives_the_killed_pid(void **state)
{
    char pidfile[PATH_MAX];
    struct holder h;
    struct result r;
    char *want;

    (void)state;
    /* The holder forked a child that shares its lock, and ignores TERM. */
    snprintf(pidfile, sizeof pidfile, "%s/feed.pid", scratch);
    h = start_holder(pidfile, WRITE_OWN_PID, NULL, SHARE_WITH_A_CHILD);
    r = cli("-c", config("[core]\npidfile = feed.pid\nstop_timeout = 1\n"),
            "stop", NULL);
    assert_int_equal(r.rc, 1);
    want = format("feed-core: pid %ld did not stop within 6 s: killed it\n"
                  "feed-core: pid %ld still holds %s\n",
                  (long)h.pid, (long)h.pid, pidfile);
    assert_string_equal(r.err, want);
    assert_true(WIFSIGNALED(stop_holder(&h)));
    assert_true(exists(pidfile));
    free(want);
    result_free(&r);
}

static void
stop_with_a_config_that_cannot_be_read_is_1(void **state)
{
    struct result r = cli("-c", scratch_path("none.ini"), "stop", NULL);
    char *want;

    (void)state;
    assert_int_equal(r.rc, 1);
    want = format("feed-core: cannot read %s/none.ini: No such file or "
                  "directory\n",
                  scratch);
    assert_string_equal(r.err, want);
    free(want);
    result_free(&r);
}

/* ------------------------------------------------------------------
 * check
 */

/* A whole pipeline of real and test plugins; extra lines per section. */
static const char *
pipeline_config(const char *core, const char *parser, const char *sink)
{
    return config("[core]\n"
                  "pidfile = feed.pid\n"
                  "plugin_dir = %s\n"
                  "%s"
                  "[source]\n"
                  "plugin = %s/zmq_rep.so\n"
                  "[parser]\n"
                  "plugin = %s\n"
                  "[sink]\n"
                  "plugin = test_sink\n"
                  "path = out.txt\n"
                  "%s",
                  test_plugins, core, build_plugins, parser, sink);
}

static void
check_of_a_good_config_says_ok_and_opens_nothing(void **state)
{
    const char *csv = csv_trade_or_skip();
    const char *ini = pipeline_config(user_line(), csv, "");
    struct result r = cli("-c", ini, "check", NULL);
    char *want;

    (void)state;
    want = format("%s: OK (source zmq_rep, parser csv_trade, sink "
                  "test_sink)\n",
                  ini);
    assert_string_equal(r.err, "");
    assert_string_equal(r.out, want);
    assert_int_equal(r.rc, 0);
    assert_false(exists(scratch_path("feed.pid")));
    assert_false(exists(scratch_path("out.txt")));
    free(want);
    result_free(&r);
}

static void
check_reports_an_unknown_key_of_a_stage_at_its_line(void **state)
{
    const char *csv = csv_trade_or_skip();
    const char *ini = pipeline_config(user_line(), csv, "x = 1\n");
    struct result r = cli("-c", ini, "check", NULL);
    char *want;

    (void)state;
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "");
    want = format("%s:%d: [sink] unknown key \"x\"\n", ini,
                  geteuid() == 0 ? 12 : 11);
    assert_string_equal(r.err, want);
    free(want);
    result_free(&r);
}

static void
check_reports_every_mistake_at_once(void **state)
{
    const char *ini = pipeline_config("", "./none.so", "x = 1\n");
    struct result r = cli("-c", ini, "check", NULL);
    char *want;

    (void)state;
    /* The sink is still configured (without fields) and checked. */
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "");
    want = format("%s:7: [parser] plugin: cannot open "
                  "%s/./none.so: No such file or directory\n"
                  "%s:11: [sink] unknown key \"x\"\n",
                  ini, scratch, ini);
    assert_string_equal(r.err, want);
    free(want);
    result_free(&r);
}

static void
check_says_once_that_the_parser_did_not_load(void **state)
{
    const char *ini;
    struct result r;
    char *want;

    (void)state;
    /* mysql_fee asks for three fields of the parser that is not there. */
    ini = config("[core]\n"
                 "pidfile = feed.pid\n"
                 "plugin_dir = %s\n"
                 "[source]\n"
                 "plugin = zmq_rep\n"
                 "[parser]\n"
                 "plugin = ./none.so\n"
                 "[sink]\n"
                 "plugin = mysql_fee\n"
                 "user = www\n"
                 "database = example\n",
                 build_plugins);
    r = cli("-c", ini, "check", NULL);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "");
    want = format("%s:7: [parser] plugin: cannot open %s/./none.so: No such "
                  "file or directory\n",
                  ini, scratch);
    assert_string_equal(r.err, want);
    free(want);
    result_free(&r);
}

static void
check_reports_unknown_keys_also_when_configure_fails(void **state)
{
    const char *csv = csv_trade_or_skip();
    const char *ini = config("[core]\n"
                             "pidfile = feed.pid\n"
                             "%s"
                             "[source]\n"
                             "plugin = %s/zmq_rep.so\n"
                             "[parser]\n"
                             "plugin = %s\n"
                             "[sink]\n"
                             "plugin = %s/test_sink.so\n"
                             "delay_ms = x\n"
                             "pth = out.txt\n",
                             user_line(), build_plugins, csv, test_plugins);
    struct result r = cli("-c", ini, "check", NULL);
    unsigned sink = geteuid() == 0 ? 8 : 7;
    char *want;

    (void)state;
    /* test_sink refuses (path missing, delay_ms bad): the typo still shows. */
    assert_int_equal(r.rc, 1);
    want = format("%s:%u: [sink] missing key \"path\"\n"
                  "%s:%u: [sink] delay_ms: not an integer: \"x\"\n"
                  "%s:%u: [sink] unknown key \"pth\"\n",
                  ini, sink, ini, sink + 2, ini, sink + 3);
    assert_string_equal(r.err, want);
    free(want);
    result_free(&r);
}

static void
check_as_root_requires_a_user(void **state)
{
    const char *csv = csv_trade_or_skip();
    const char *ini;
    struct result r;
    char *want;

    (void)state;
    if (geteuid() != 0) {
        skip();
    }
    ini = pipeline_config("", csv, "");
    r = cli("-c", ini, "check", NULL);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "");
    want = format("%s:1: [core] user: required when started as root (write "
                  "user = root to really run as root)\n",
                  ini);
    assert_string_equal(r.err, want);
    free(want);
    result_free(&r);
}

static void
check_and_start_refuse_a_pidfile_folder_others_can_write(void **state)
{
    const char *csv = csv_trade_or_skip();
    const char *ini = pipeline_config(user_line(), csv, "");
    const char *cmds[] = {"check", "start"};
    char *want;

    (void)state;
    assert_int_equal(chmod(scratch, 0777), 0);
    want = format("%s:2: [core] pidfile: folder %s is writable by others "
                  "(mode 0777)\n",
                  ini, scratch);
    for (int i = 0; i < 2; i++) {
        struct result r = cli("-c", ini, cmds[i], NULL);
        assert_int_equal(r.rc, 1);
        assert_string_equal(r.out, "");
        assert_string_equal(r.err, want);
        result_free(&r);
    }
    assert_false(exists(scratch_path("feed.pid")));
    assert_int_equal(chmod(scratch, 0700), 0);
    free(want);
}

static void
start_while_a_daemon_is_running_says_so_and_starts_nothing(void **state)
{
    const char *csv = csv_trade_or_skip();
    char pidfile[PATH_MAX];
    struct holder h;
    struct result r;
    char *want;

    (void)state;
    snprintf(pidfile, sizeof pidfile, "%s/feed.pid", scratch);
    h = start_holder(pidfile, WRITE_OWN_PID, NULL, 0);
    r = cli("-c", pipeline_config(user_line(), csv, ""), "start", NULL);
    assert_int_equal(r.rc, 0);
    want = format("feed-core is already running (pid %ld)\n", (long)h.pid);
    assert_string_equal(r.out, want);
    assert_string_equal(r.err, "");
    assert_true(WIFEXITED(stop_holder(&h)));
    free(want);
    result_free(&r);
}

static void
start_waits_for_a_stopping_daemon_and_says_when_it_does_not_go(void **state)
{
    const char *csv = csv_trade_or_skip();
    char pidfile[PATH_MAX];
    struct holder h;
    struct result r;
    char *want;

    (void)state;
    /* It says it is stopping, and never goes: start gives up after 1+5 s. */
    snprintf(pidfile, sizeof pidfile, "%s/feed.pid", scratch);
    h = start_holder(pidfile, WRITE_OWN_PID, "stopping", 0);
    want = format("%sstop_timeout = 1\n", user_line());
    r = cli("-c", pipeline_config(want, csv, ""), "start", NULL);
    free(want);
    assert_int_equal(r.rc, 1);
    want = format("feed-core (pid %ld) is stopping; waiting for it to exit\n",
                  (long)h.pid);
    assert_string_equal(r.out, want);
    free(want);
    want = format("feed-core: pid %ld is still stopping after 6 s; not "
                  "started\n",
                  (long)h.pid);
    assert_string_equal(r.err, want);
    assert_true(WIFEXITED(stop_holder(&h)));
    free(want);
    result_free(&r);
}

static void
check_with_an_unreadable_config_is_1(void **state)
{
    struct result r = cli("-c", scratch_path("none.ini"), "check", NULL);
    char *want;

    (void)state;
    assert_int_equal(r.rc, 1);
    want = format("feed-core: cannot read %s/none.ini: No such file or "
                  "directory\n",
                  scratch);
    assert_string_equal(r.err, want);
    free(want);
    result_free(&r);
}

/* ------------------------------------------------------------------
 * plugins
 */

/* The line `plugins` prints for test_sink at FOLDER/FILE (two at a time). */
static const char *
sink_line(const char *folder, const char *file)
{
    static char lines[2][PATH_MAX * 2];
    static int next;
    char *line = lines[next++ % 2];

    snprintf(
        line, sizeof lines[0],
        "test_sink        sink    0.0.1     "
        "appends records to a file, with injected faults (tests only) (%s/%s)\n",
        folder, file);
    return line;
}

static void
plugins_lists_the_plugin_dir_of_the_config(void **state)
{
    const char *ini = config("[core]\nplugin_dir = %s\n", test_plugins);
    struct result r = cli("-c", ini, "plugins", NULL);
    char *want;

    (void)state;
    /* The test plugins include broken ones: each gets a line, and 1. */
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.out, sink_line(test_plugins, "test_sink.so")));
    want = format("feed-core: %s/no_write.so is a sink "
                  "plugin without a write callback\n",
                  test_plugins);
    assert_non_null(strstr(r.err, want));
    free(want);
    result_free(&r);
}

static void
plugins_of_a_folder_of_good_plugins_returns_0(void **state)
{
    const char *ini;
    struct result r;
    char *target = format("%s/test_sink.so", test_plugins);

    (void)state;
    assert_int_equal(mkdir(scratch_path("plugins"), 0755), 0);
    assert_int_equal(symlink(target, scratch_path("plugins/test_sink.so")), 0);
    ini = config("[core]\nplugin_dir = plugins\n");
    r = cli("-c", ini, "plugins", NULL);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, sink_line(scratch, "plugins/test_sink.so"));
    assert_string_equal(r.err, "");
    free(target);
    result_free(&r);

    assert_int_equal(mkdir(scratch_path("empty"), 0755), 0);
    ini = config("[core]\nplugin_dir = empty\n");
    r = cli("-c", ini, "plugins", NULL);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "");
    result_free(&r);
}

static void
plugins_with_a_config_that_cannot_be_read_is_1(void **state)
{
    struct result r = cli("-c", scratch_path("none.ini"), "plugins", NULL);
    char *want;

    (void)state;
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "");
    want = format("feed-core: cannot read %s/none.ini: No such file or "
                  "directory\n",
                  scratch);
    assert_string_equal(r.err, want);
    free(want);
    result_free(&r);
}

/* ------------------------------------------------------------------
 * keygen
 */

static void
cli_parse_takes_a_name_and_a_folder_only_for_keygen(void **state)
{
    struct cli_options o;

    (void)state;
    assert_int_equal(PARSE(&o, "keygen", "trader-1"), 0);
    assert_string_equal(o.command, "keygen");
    assert_int_equal(o.nargs, 1);
    assert_string_equal(o.args[0], "trader-1");
    assert_int_equal(PARSE(&o, "keygen", "trader-1", "keys"), 0);
    assert_int_equal(o.nargs, 2);
    assert_string_equal(o.args[1], "keys");
    assert_int_equal(PARSE(&o, "keygen"), -1);
    assert_int_equal(PARSE(&o, "keygen", "a", "b", "c"), -1);
    assert_int_equal(PARSE(&o, "status", "a"), -1);
}

/* The mode of scratch/name, or -1 when it does not exist. */
static int
mode_of(const char *name)
{
    struct stat st;

    if (stat(scratch_path(name), &st) == -1) {
        return -1;
    }
    return (int)(st.st_mode & 07777);
}

static void
keygen_writes_a_pair_that_reads_back_into_the_given_folder(void **state)
{
    struct result r = cli("keygen", "trader-1", scratch, NULL);
    char *want = format("wrote %s/trader-1.key (public) and "
                        "%s/trader-1.key_secret (secret, mode 0600)\n",
                        scratch, scratch);
    struct zcert pub;
    struct zcert sec;
    char err[FEED_ERR_MAX];

    (void)state;
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, want);
    assert_string_equal(r.err, "");
    assert_int_equal(mode_of("trader-1.key"), 0644);
    assert_int_equal(mode_of("trader-1.key_secret"), 0600);
    assert_int_equal(
        zcert_load(scratch_path("trader-1.key"), &pub, err, sizeof err), 0);
    assert_int_equal(zcert_load_secret(scratch_path("trader-1.key_secret"),
                                       &sec, err, sizeof err),
                     0);
    assert_string_equal(pub.name, "trader-1");
    assert_string_equal(sec.name, "trader-1");
    assert_string_equal(pub.public_z85, sec.public_z85);
    free(want);
    result_free(&r);
}

static void
keygen_without_a_folder_writes_into_the_current_one(void **state)
{
    char here[PATH_MAX];
    struct result r;

    (void)state;
    assert_non_null(getcwd(here, sizeof here));
    assert_int_equal(chdir(scratch), 0);
    r = cli("keygen", "desk", NULL);
    assert_int_equal(chdir(here), 0);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "wrote ./desk.key (public) and "
                               "./desk.key_secret (secret, mode 0600)\n");
    assert_int_equal(mode_of("desk.key"), 0644);
    assert_int_equal(mode_of("desk.key_secret"), 0600);
    result_free(&r);
}

static void
keygen_never_overwrites_a_key(void **state)
{
    struct result r = cli("keygen", "a", scratch, NULL);
    char *first = scratch_slurp(scratch_path("a.key_secret"));
    char *want = format("feed-core: cannot create %s/a.key_secret: File "
                        "exists\n",
                        scratch);
    char *again;

    (void)state;
    assert_int_equal(r.rc, 0);
    result_free(&r);
    r = cli("keygen", "a", scratch, NULL);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, want);
    again = scratch_slurp(scratch_path("a.key_secret"));
    assert_string_equal(again, first);
    free(again);
    free(first);
    free(want);
    result_free(&r);
}

static void
keygen_refuses_a_bad_name_or_a_missing_folder(void **state)
{
    struct result r = cli("keygen", "../a", scratch, NULL);
    char *want;

    (void)state;
    assert_int_equal(r.rc, 1);
    assert_string_equal(
        r.err, "feed-core: invalid name: name may hold only "
               "printable ASCII without quotes, backslashes or slashes\n");
    result_free(&r);

    r = cli("keygen", "-h", scratch, NULL);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.err, "feed-core: invalid name \"-h\": may not "
                               "start with '-'\n");
    assert_int_equal(mode_of("-h.key"), -1);
    result_free(&r);

    want = format("feed-core: cannot create %s/none/x.key_secret: No such "
                  "file or directory\n",
                  scratch);
    r = cli("keygen", "x", scratch_path("none"), NULL);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.err, want);
    free(want);
    result_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name)                                                                \
    cmocka_unit_test_setup_teardown(name, scratch_setup, scratch_teardown)
        T(cli_parse_knows_every_command),
        T(cli_parse_reads_the_options_before_the_command),
        T(help_and_version_need_no_command),
        T(an_unknown_command_is_refused),
        T(an_unknown_option_is_refused),
        T(a_missing_command_is_refused),
        T(two_commands_are_refused),
        T(an_option_after_the_command_is_refused_not_taken_for_a_command),
        T(a_parse_after_one_that_stopped_inside_an_option_group_starts_afresh),
        T(version_prints_the_version_and_the_abi_and_returns_0),
        T(help_prints_the_usage_on_stdout_and_returns_0),
        T(a_usage_error_prints_the_usage_on_stderr_and_returns_2),
        T(status_without_a_pidfile_is_3),
        T(status_with_a_stale_pidfile_is_1),
        T(status_while_a_process_holds_the_lock_is_0_with_its_pid),
        T(status_names_the_lock_holder_not_the_pid_in_the_file),
        T(status_with_a_config_that_cannot_be_read_is_4),
        T(status_with_a_bad_core_key_is_4),
        T(status_that_cannot_probe_the_pidfile_is_4),
        T(stop_when_not_running_says_so_and_returns_0),
        T(stop_removes_a_stale_pidfile),
        T(stop_terminates_the_holder_and_removes_its_pidfile),
        T(stop_reports_a_daemon_that_gave_up_at_stop_timeout),
        T(stop_cannot_signal_a_holder_that_wrote_no_pid),
        T(stop_acts_on_the_lock_holder_not_the_pid_in_the_file),
        T(stop_leaves_a_daemon_started_meanwhile_alone),
        T(stop_kills_a_daemon_that_ignores_sigterm_past_stop_timeout),
        T(stop_says_when_the_lock_outlives_the_killed_pid),
        T(stop_with_a_config_that_cannot_be_read_is_1),
        T(check_of_a_good_config_says_ok_and_opens_nothing),
        T(check_reports_an_unknown_key_of_a_stage_at_its_line),
        T(check_reports_every_mistake_at_once),
        T(check_says_once_that_the_parser_did_not_load),
        T(check_reports_unknown_keys_also_when_configure_fails),
        T(check_as_root_requires_a_user),
        T(check_and_start_refuse_a_pidfile_folder_others_can_write),
        T(start_while_a_daemon_is_running_says_so_and_starts_nothing),
        T(start_waits_for_a_stopping_daemon_and_says_when_it_does_not_go),
        T(check_with_an_unreadable_config_is_1),
        T(plugins_lists_the_plugin_dir_of_the_config),
        T(plugins_of_a_folder_of_good_plugins_returns_0),
        T(plugins_with_a_config_that_cannot_be_read_is_1),
        T(cli_parse_takes_a_name_and_a_folder_only_for_keygen),
        T(keygen_writes_a_pair_that_reads_back_into_the_given_folder),
        T(keygen_without_a_folder_writes_into_the_current_one),
        T(keygen_never_overwrites_a_key),
        T(keygen_refuses_a_bad_name_or_a_missing_folder),
#undef T
    };

    test_plugins = getenv("FEED_TEST_PLUGIN_DIR");
    build_plugins = getenv("FEED_PLUGIN_BUILD_DIR");
    if (test_plugins == NULL || build_plugins == NULL) {
        fprintf(stderr, "FEED_TEST_PLUGIN_DIR and FEED_PLUGIN_BUILD_DIR must "
                        "be set\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
