/*
 * cli.c - the command line: options, commands, exit codes.
 *
 * Owns what `feed-core` prints and returns for each command (feed-core(8),
 * DESCRIPTION). Starting is run.c's; this file decides whether to start
 * or stop, and talks to a running daemon only through its pidfile and
 * signals.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buildconf.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "pidfile.h"
#include "plugin.h"
#include "run.h"
#include "scrape.h"
#include "settings.h"
#include "zcert.h"

/* LSB exit codes of `status`. */
enum {
    STATUS_RUNNING = 0,
    STATUS_DEAD = 1,
    STATUS_STOPPED = 3,
    STATUS_UNKNOWN = 4,
};

/* A process that ignores SIGKILL's effect this long is beyond our help. */
#define KILL_WAIT_MS 5000

static const char usage_text[] =
    "usage: feed-core [-c FILE] [-f] COMMAND\n"
    "\n"
    "commands:\n"
    "  start     check the config, bind, drop privileges, detach; return\n"
    "            once the daemon is ready (-f: stay in the foreground)\n"
    "  stop      stop the daemon and wait until it has drained and exited\n"
    "  restart   stop (if running), then start\n"
    "  status    0 running, 1 dead but pidfile exists, 3 not running,\n"
    "            4 unknown (bad config)\n"
    "  check     validate the config and every plugin's keys\n"
    "  plugins   list the plugins in plugin_dir\n"
    "  stats     the running daemon's figures (needs [core] metrics)\n"
    "  keygen NAME [DIR]\n"
    "            write a new CURVE key pair: DIR/NAME.key (public) and\n"
    "            DIR/NAME.key_secret (secret); DIR defaults to the current\n"
    "            folder; never overwrites; needs no config\n"
    "  help      this text\n"
    "\n"
    "options:\n"
    "  -c FILE   the configuration (default " FEED_DEFAULT_CONFIG ")\n"
    "  -f        with start: stay in the foreground, log to stderr\n"
    "  -h, --help, --version\n";

static void
pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/*
 * Polls until `pid` no longer holds the pidfile lock (nobody does, or a
 * daemon started meanwhile does) or timeout_ms has passed. A note the
 * daemon leaves on its way out ("stop_timeout") is kept in note.
 */
static int
wait_released(const char *pidfile, long pid, uint64_t timeout_ms, char *note,
              size_t notelen)
{
    uint64_t deadline = clock_ms() + timeout_ms;
    char err[FEED_ERR_MAX];
    char now[64];
    long holder;
    int exists;

    for (;;) {
        int rc = pidfile_probe(pidfile, &holder, &exists, err, sizeof err);

        /* A holder without a pid is no new daemon (one claims at once). */
        if (rc == 0 || (rc == 1 && holder > 0 && holder != pid)) {
            return 0;
        }
        pidfile_note(pidfile, now, sizeof now);
        if (strcmp(now, "stop_timeout") == 0) {
            snprintf(note, notelen, "%s", now);
        }
        if (clock_ms() >= deadline) {
            return -1;
        }
        pause_ms(20);
    }
}

/* Polls until pid has exited (or is a zombie) or timeout_ms has passed. */
static void
wait_exited(long pid, uint64_t timeout_ms)
{
    uint64_t deadline = clock_ms() + timeout_ms;

    while (!pidfile_dying(pid) && clock_ms() < deadline) {
        pause_ms(20);
    }
}

/* Removes what a dead daemon left behind; says so when it fails. */
static int
clear_pidfile(const char *pidfile)
{
    char err[FEED_ERR_MAX];
    char why[FEED_ERR_MAX];
    long pid;
    int exists;

    if (pidfile_remove_stale(pidfile, err, sizeof err) == -1) {
        /* A daemon started meanwhile holds it: it is its file now. */
        if (pidfile_probe(pidfile, &pid, &exists, why, sizeof why) == 1 &&
            pid > 0) {
            return 0;
        }
        fprintf(stderr, "feed-core: %s\n", err);
        return -1;
    }
    return 0;
}

static int
cmd_stop(struct settings *s)
{
    char err[FEED_ERR_MAX];
    char note[64];
    long pid;
    long pid2;
    int exists;
    int rc = pidfile_probe_live(s->pidfile, &pid, &exists, err, sizeof err);

    if (rc == -1) {
        fprintf(stderr, "feed-core: %s\n", err);
        return 1;
    }
    if (rc == 0) {
        printf("feed-core is not running%s\n",
               exists ? " (stale pidfile removed)" : "");
        return exists && clear_pidfile(s->pidfile) == -1 ? 1 : 0;
    }
    if (pid <= 0 || kill((pid_t)pid, SIGTERM) == -1) {
        fprintf(stderr, "feed-core: cannot signal pid %ld: %s\n", pid,
                pid <= 0 ? "no pid in the pidfile" : strerror(errno));
        return 1;
    }
    printf("stopping feed-core (pid %ld)\n", pid);
    fflush(stdout);
    /* The daemon enforces stop_timeout itself; this is the safety net. */
    note[0] = '\0';
    if (wait_released(s->pidfile, pid, (uint64_t)(s->stop_timeout + 5) * 1000,
                      note, sizeof note) == -1) {
        kill((pid_t)pid, SIGKILL);
        fprintf(stderr,
                "feed-core: pid %ld did not stop within %lld s: "
                "killed it\n",
                pid, s->stop_timeout + 5);
        if (wait_released(s->pidfile, pid, KILL_WAIT_MS, note, sizeof note) ==
            -1) {
            fprintf(stderr, "feed-core: pid %ld still holds %s\n", pid,
                    s->pidfile);
            return 1;
        }
        clear_pidfile(s->pidfile);
        return 1;
    }
    /* The lock goes a moment before the process: wait for that too. */
    wait_exited(pid, KILL_WAIT_MS);
    if (note[0] == '\0' &&
        pidfile_probe(s->pidfile, &pid2, &exists, err, sizeof err) == 0) {
        pidfile_note(s->pidfile, note, sizeof note);
    }
    if (clear_pidfile(s->pidfile) == -1) {
        return 1;
    }
    if (strcmp(note, "stop_timeout") == 0) {
        fprintf(stderr,
                "feed-core: pid %ld could not commit everything "
                "within stop_timeout (%lld s) and gave up; see its log\n",
                pid, s->stop_timeout);
        return 1;
    }
    printf("feed-core stopped\n");
    return 0;
}

static int
cmd_status(struct settings *s)
{
    char err[FEED_ERR_MAX];
    long pid;
    int exists;
    int rc = pidfile_probe_live(s->pidfile, &pid, &exists, err, sizeof err);

    if (rc == -1) {
        fprintf(stderr, "feed-core: %s\n", err);
        return STATUS_UNKNOWN;
    }
    if (rc == 1) {
        printf("feed-core is running (pid %ld)\n", pid);
        return STATUS_RUNNING;
    }
    if (exists) {
        printf("feed-core is not running, but its pidfile %s exists\n",
               s->pidfile);
        return STATUS_DEAD;
    }
    printf("feed-core is not running\n");
    return STATUS_STOPPED;
}

static int
cmd_check(struct settings *s)
{
    if (run_check_privs(s, stderr) == -1) {
        return 1;
    }
    printf("%s: OK (source %s, parser %s, sink %s)\n", config_file(s->config),
           stage_name(&s->source), stage_name(&s->parser),
           stage_name(&s->sink));
    return 0;
}

/*
 * The figures of the running daemon, read from its metrics listener: 0, 1
 * when they cannot be had (no [core] metrics, a bad answer), 3 when
 * nothing listens (not running, as in `status`).
 */
static int
cmd_stats(struct settings *s)
{
    char err[FEED_ERR_MAX];
    int rc;

    if (s->metrics == NULL) {
        fprintf(
            stderr,
            "feed-core: stats needs [core] metrics = ADDRESS:PORT in %s: it reads the running daemon's metrics listener\n",
            config_file(s->config));
        return 1;
    }
    rc = scrape_print(s->metrics, stdout, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "feed-core: %s\n", err);
        return rc == SCRAPE_DOWN ? STATUS_STOPPED : 1;
    }
    return 0;
}

static int
cmd_plugins(const char *config_path)
{
    struct settings s;
    int rc;

    if (config_path == NULL) {
        return plugin_list(FEED_PLUGIN_DIR, stdout, stderr) == 0 ? 0 : 1;
    }
    if (settings_load(&s, config_path, SETTINGS_CORE, stderr) != SETTINGS_OK) {
        settings_free(&s);
        return 1;
    }
    rc = plugin_list(s.plugin_dir, stdout, stderr) == 0 ? 0 : 1;
    settings_free(&s);
    return rc;
}

/* Writes a new key pair; the files' modes and O_EXCL are zcert.c's. */
static int
cmd_keygen(const struct cli_options *o)
{
    const char *name = o->args[0];
    const char *dir = o->nargs > 1 ? o->args[1] : ".";
    char err[FEED_ERR_MAX];

    /* "keygen -h" must not quietly write "-h.key". */
    if (name[0] == '-') {
        fprintf(stderr,
                "feed-core: invalid name \"%s\": may not start with '-'\n",
                name);
        return 1;
    }
    if (zcert_write_pair(dir, name, err, sizeof err) == -1) {
        fprintf(stderr, "feed-core: %s\n", err);
        return 1;
    }
    printf(
        "wrote %s/%s.key (public) and %s/%s.key_secret (secret, mode 0600)\n",
        dir, name, dir, name);
    return 0;
}

enum command {
    CMD_START,
    CMD_STOP,
    CMD_RESTART,
    CMD_STATUS,
    CMD_CHECK,
    CMD_PLUGINS,
    CMD_STATS,
    CMD_HELP,
    CMD_KEYGEN,
    CMD_NONE,
};

static enum command
command_of(const char *word)
{
    static const char *const names[] = {
        "start",   "stop",  "restart", "status", "check",
        "plugins", "stats", "help",    "keygen",
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(word, names[i]) == 0) {
            return (enum command)i;
        }
    }
    return CMD_NONE;
}

int
cli_parse(int argc, char **argv, struct cli_options *o)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(o, 0, sizeof *o);
    optind = 0; /* 0, not 1: glibc then forgets a half-read option group */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+c:fh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case 'f':
            o->foreground = 1;
            break;
        case 'h':
            o->help = 1;
            return 0;
        case 'V':
            o->version = 1;
            return 0;
        default:
            return -1;
        }
    }
    if (optind >= argc) {
        return -1;
    }
    o->command = argv[optind];
    o->args = argv + optind + 1;
    o->nargs = argc - optind - 1;
    switch (command_of(o->command)) {
    case CMD_NONE:
        return -1;
    case CMD_KEYGEN:
        return o->nargs == 1 || o->nargs == 2 ? 0 : -1;
    default:
        return o->nargs == 0 ? 0 : -1;
    }
}

/* Loads the settings a command needs; -1 after reporting the errors. */
static int
load(struct settings *s, const char *path, enum settings_depth depth)
{
    if (settings_load(s, path, depth, stderr) != SETTINGS_OK) {
        settings_free(s);
        return -1;
    }
    return 0;
}

static int
cmd_start(const char *path, int foreground)
{
    struct settings s;
    int rc;

    if (!foreground) {
        /* Nothing of whoever started us may leak into the daemon. */
        daemon_close_inherited();
    }
    if (load(&s, path, SETTINGS_PLUGINS) == -1) {
        return 1;
    }
    rc = run_start(&s, foreground);
    settings_free(&s);
    return rc;
}

/*
 * Loads the settings to `depth` and runs `command` on them; `fail_rc` when
 * they cannot be loaded (the mistakes are reported).
 */
static int
with_settings(const char *path, enum settings_depth depth, int fail_rc,
              int (*command)(struct settings *))
{
    struct settings s;
    int rc;

    if (load(&s, path, depth) == -1) {
        return fail_rc;
    }
    rc = command(&s);
    settings_free(&s);
    return rc;
}

/* Runs a command that needs settings; returns its exit code. */
static int
dispatch(enum command cmd, const struct cli_options *o)
{
    const char *path = o->config != NULL ? o->config : FEED_DEFAULT_CONFIG;
    struct settings s;
    int rc;

    switch (cmd) {
    case CMD_START:
        return cmd_start(path, o->foreground);
    case CMD_STOP:
    case CMD_RESTART:
        if (load(&s, path, SETTINGS_CORE) == -1) {
            return 1;
        }
        rc = cmd_stop(&s);
        settings_free(&s);
        return cmd == CMD_STOP ? rc : cmd_start(path, o->foreground);
    case CMD_STATUS:
        return with_settings(path, SETTINGS_CORE, STATUS_UNKNOWN, cmd_status);
    case CMD_CHECK:
        return with_settings(path, SETTINGS_PLUGINS, 1, cmd_check);
    case CMD_PLUGINS:
        return cmd_plugins(o->config);
    case CMD_STATS:
        return with_settings(path, SETTINGS_CORE, 1, cmd_stats);
    case CMD_KEYGEN:
        return cmd_keygen(o);
    default:
        fputs(usage_text, stdout);
        return 0;
    }
}

int
cli_main(int argc, char **argv)
{
    struct cli_options o;

    if (cli_parse(argc, argv, &o) == -1) {
        fputs(usage_text, stderr);
        return 2;
    }
    if (o.help) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (o.version) {
        printf("feed-core %s (plugin ABI %d)\n", FEED_VERSION, FEED_ABI_MAJOR);
        return 0;
    }
    return dispatch(command_of(o.command), &o);
}
