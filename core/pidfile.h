/*
 * pidfile.h - the single-instance lock.
 */
#ifndef FEED_PIDFILE_H
#define FEED_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

#define PIDFILE_HELD (-2)

/*
 * Creates the folder of `path` (and missing parents) when it does not exist;
 * the last folder is chowned to uid:gid unless uid is (uid_t)-1. Returns 0,
 * or -1 with the reason in err.
 */
int pidfile_mkdir(const char *path, uid_t uid, gid_t gid, char *err,
                  size_t errlen);

/*
 * Opens and locks the pidfile; the lock lasts as long as the returned fd
 * (and its copies across fork). A stale file left by a dead process is
 * simply taken over. Returns the fd; PIDFILE_HELD with the holder's pid in
 * *holder (0 if it has not written it yet) when another process holds the
 * lock; -1 with the reason in err.
 */
int pidfile_acquire(const char *path, long *holder, char *err, size_t errlen);

/*
 * Writes `pid` into the locked file, and `note` (or nothing, when NULL) on a
 * second line: a daemon that exits uncleanly leaves a word for `stop`.
 * Returns 0 or -1 with err.
 */
int pidfile_write(int fd, long pid, const char *note, char *err,
                  size_t errlen);

/*
 * The note a dead daemon left on the file's second line, into buf ("" when
 * none or no file). Returns buf.
 */
char *pidfile_note(const char *path, char *buf, size_t len);

/*
 * Tells whether a live process holds the lock: returns 1 and its pid in
 * *pid, 0 when not held (*exists says whether the file is there), -1 with
 * err when it cannot tell (e.g. permission denied).
 */
int pidfile_probe(const char *path, long *pid, int *exists, char *err,
                  size_t errlen);

/*
 * Nonzero when pid has exited or is exiting: gone, or a zombie whose other
 * threads the kernel is still ending (the lock is released only then).
 */
int pidfile_dying(long pid);

/*
 * pidfile_probe(), but a holder that is dying is waited for (a few
 * seconds at most) instead of being reported as running.
 */
int pidfile_probe_live(const char *path, long *pid, int *exists, char *err,
                       size_t errlen);

/* Removes the file if it is still the one `fd` locks, then closes fd. */
void pidfile_release(int fd, const char *path);

/* Removes a stale pidfile nobody holds. Returns 0 or -1 with err. */
int pidfile_remove_stale(const char *path, char *err, size_t errlen);

#endif
