/*
 * daemon.c - becoming a daemon, and telling the world we are ready.
 *
 * Owns the double fork, the readiness pipe and systemd's notify socket.
 * `start` returns only once the daemon is ready (source bound, every sink
 * connected) or has said why it is not: the daemon writes one line into the
 * pipe, "R<pid>" or "E<reason>", and the waiting parent prints it. What
 * "ready" means is run.c's.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long `start` waits for the daemon's word before giving up on it. */
#define READY_WAIT_MS (120 * 1000)

/* Reads the daemon's one line; returns the process's exit code. */
static int
await_word(int fd, pid_t child)
{
    char buf[1024];
    size_t len = 0;
    struct pollfd p = {fd, POLLIN, 0};

    waitpid(child, NULL, 0); /* the middle process exits at once */
    while (len < sizeof buf - 1) {
        ssize_t n;
        int rc = poll(&p, 1, READY_WAIT_MS);

        if (rc == 0) {
            fprintf(stderr,
                    "feed-core: the daemon did not report ready "
                    "within %d s; see its log\n",
                    READY_WAIT_MS / 1000);
            return 1;
        }
        n = rc < 0 ? -1 : read(fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
        if (memchr(buf, '\n', len) != NULL) {
            break;
        }
    }
    buf[len] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    if (buf[0] == 'R') {
        printf("feed-core started (pid %s)\n", buf + 1);
        return 0;
    }
    if (buf[0] == 'E') {
        fprintf(stderr, "feed-core: %s\n", buf + 1);
        return 1;
    }
    fprintf(stderr, "feed-core: the daemon exited during start-up; see its "
                    "log\n");
    return 1;
}

int
daemon_detach(int *ready_fd, void (*on_failure)(void *), void *arg, char *err,
              size_t errlen)
{
    int fds[2];
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) == -1) {
        snprintf(err, errlen, "cannot create a pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if (pid == -1) {
        snprintf(err, errlen, "cannot fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid > 0) {
        int rc;

        close_range(3, (unsigned)fds[0] - 1, 0);
        close_range((unsigned)fds[0] + 1, ~0U, 0);
        rc = await_word(fds[0], pid);
        if (rc != 0 && on_failure != NULL) {
            on_failure(arg);
        }
        /* The daemon owns everything now: no exit handlers, no leak check. */
        fflush(NULL);
        _exit(rc);
    }
    close(fds[0]);
    /* A new session: no controlling terminal, immune to the shell's HUP. */
    if (setsid() == -1) {
        daemon_failed(fds[1], "setsid failed");
        _exit(1);
    }
    pid = fork();
    if (pid == -1) {
        daemon_failed(fds[1], "cannot fork");
        _exit(1);
    }
    if (pid > 0) {
        _exit(0); /* not a session leader: can never get a terminal back */
    }
    *ready_fd = fds[1];
    return 0;
}

int
daemon_quiet(char *err, size_t errlen)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

    if (fd == -1) {
        snprintf(err, errlen, "cannot open /dev/null: %s", strerror(errno));
        return -1;
    }
    if (dup2(fd, STDIN_FILENO) == -1 || dup2(fd, STDOUT_FILENO) == -1 ||
        dup2(fd, STDERR_FILENO) == -1) {
        snprintf(err, errlen, "cannot redirect stdio: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (fd > STDERR_FILENO) {
        close(fd);
    }
    if (chdir("/") == -1) {
        snprintf(err, errlen, "cannot chdir to /: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void
tell(int fd, char kind, const char *text)
{
    char buf[1024];
    int n;

    if (fd < 0) {
        return;
    }
    n = snprintf(buf, sizeof buf, "%c%s\n", kind, text);
    if (n >= (int)sizeof buf) {
        n = (int)sizeof buf - 1;
        buf[n - 1] = '\n';
    }
    /* The parent may be gone (killed): nothing more to do then. */
    if (write(fd, buf, (size_t)n) < 0) {
        (void)0;
    }
    close(fd);
}

void
daemon_ready(int fd, long pid)
{
    char text[32];

    snprintf(text, sizeof text, "%ld", pid);
    tell(fd, 'R', text);
}

void
daemon_failed(int fd, const char *reason)
{
    tell(fd, 'E', reason);
}

int
daemon_notify(const char *state, char *err, size_t errlen)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len;
    socklen_t alen;
    int fd;
    ssize_t n;

    if (path == NULL || path[0] == '\0') {
        return 0;
    }
    len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof addr.sun_path) {
        snprintf(err, errlen, "unusable NOTIFY_SOCKET %s", path);
        return -1;
    }
    memcpy(addr.sun_path, path, len);
    if (path[0] == '@') {
        addr.sun_path[0] = '\0'; /* an abstract socket */
    }
    alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        snprintf(err, errlen, "cannot notify %s: %s", path, strerror(errno));
        return -1;
    }
    n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr,
               alen);
    close(fd);
    if (n == -1) {
        snprintf(err, errlen, "cannot notify %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

void
daemon_close_inherited(void)
{
    if (close_range(3, ~0U, 0) == -1) {
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = 3; fd < (max > 0 ? max : 1024); fd++) {
            close((int)fd);
        }
    }
}
