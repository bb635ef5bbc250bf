/*
 * daemon.h - becoming a daemon, and telling the world we are ready.
 */
#ifndef FEED_DAEMON_H
#define FEED_DAEMON_H

#include <stddef.h>

/*
 * Forks into the background (fork, setsid, fork), with the readiness pipe
 * between the caller and the daemon. Returns in the daemon only, with
 * *ready_fd the pipe's write end. The calling process closes its other
 * descriptors (its copy of the pidfile lock among them), waits for the
 * daemon's word, prints it and exits 0 (ready) or 1 (failed, after calling
 * on_failure(arg): the caller is still root and may clean up what the
 * daemon could not). Returns -1 with err, in the caller, when fork fails.
 */
int daemon_detach(int *ready_fd, void (*on_failure)(void *), void *arg,
                  char *err, size_t errlen);

/* In the daemon: stdin, stdout and stderr to /dev/null, cwd to "/". */
int daemon_quiet(char *err, size_t errlen);

/* Tells the waiting `start` the daemon is ready; closes fd. Takes -1. */
void daemon_ready(int fd, long pid);

/* Tells the waiting `start` why the daemon gave up; closes fd. Takes -1. */
void daemon_failed(int fd, const char *reason);

/*
 * Sends `state` ("READY=1", "STOPPING=1", ...) to $NOTIFY_SOCKET when it is
 * set (systemd Type=notify). Returns 0, or -1 with err.
 */
int daemon_notify(const char *state, char *err, size_t errlen);

/* Closes every descriptor from 3 up, inherited from whoever started us. */
void daemon_close_inherited(void);

#endif
