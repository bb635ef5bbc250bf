/*
 * reaper.c - runs one test as a child subreaper, and cleans up after it.
 *
 * Daemons double-fork, so their parent is gone; on this machine PID 1 does
 * not reap orphans and a daemon killed with -9 would stay a zombie forever.
 * As a child subreaper, orphans of the test are re-parented to us: we reap
 * them as they die and, when the test ends, stop any it left running
 * (they are ours by then: we only ever signal our own children).
 *
 * usage: reaper COMMAND [ARG...]; exits with the command's status.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The status to exit with for a child's wait status. */
static int
exit_code(int status)
{
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return 128 + WTERMSIG(status);
}

/* Signals every live child of ours; returns how many there were. */
static int
signal_children(int sig)
{
    char path[64];
    char line[256];
    DIR *proc = opendir("/proc");
    struct dirent *e;
    int n = 0;
    long me = (long)getpid();

    while (proc != NULL && (e = readdir(proc)) != NULL) {
        long pid = strtol(e->d_name, NULL, 10);
        FILE *f;

        if (pid <= 0) {
            continue;
        }
        snprintf(path, sizeof path, "/proc/%ld/status", pid);
        f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        int zombie = 0;
        while (fgets(line, sizeof line, f) != NULL) {
            if (strncmp(line, "State:", 6) == 0) {
                zombie = strchr(line, 'Z') != NULL;
            }
            if (strncmp(line, "PPid:", 5) == 0 && !zombie &&
                strtol(line + 5, NULL, 10) == me) {
                fprintf(stderr,
                        "reaper: pid %ld was left running; sending "
                        "signal %d\n",
                        pid, sig);
                kill((pid_t)pid, sig);
                n++;
            }
        }
        fclose(f);
    }
    if (proc != NULL) {
        closedir(proc);
    }
    return n;
}

/* Reaps whatever has died, waiting at most `ms`. */
static void
reap_for(int ms)
{
    struct timespec step = {0, 20 * 1000 * 1000};

    for (int waited = 0; waited < ms; waited += 20) {
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        if (waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD) {
            return;
        }
        nanosleep(&step, NULL);
    }
}

int
main(int argc, char **argv)
{
    pid_t test;
    int status = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: reaper COMMAND [ARG...]\n");
        return 2;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1) {
        perror("reaper: prctl");
        return 1;
    }
    test = fork();
    if (test == 0) {
        execvp(argv[1], argv + 1);
        perror("reaper: exec");
        _exit(127);
    }
    for (;;) {
        pid_t pid = waitpid(-1, &status, 0);
        if (pid == test || (pid == -1 && errno == ECHILD)) {
            break;
        }
    }
    /* The test is over: anything still running is a leftover. */
    if (signal_children(SIGTERM) > 0) {
        reap_for(10000);
        if (signal_children(SIGKILL) > 0) {
            reap_for(5000);
        }
    }
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    return exit_code(status);
}
