/*
 * pidfile.h - the single-instance lock.
 */
#ifndef FEED_PIDFILE_H
#define FEED_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

#define PIDFILE_HELD (-2)

/*
 * Checks that nobody but root and `owner` (the user the daemon runs as)
 * can write the folder of the pidfile `path`: owned by one of them, not
 * writable by group or others. A missing folder passes (start creates it).
 * Returns 0, or -1 with the reason in err.
 */
int pidfile_check_dir(const char *path, uid_t owner, char *err, size_t errlen);

/*
 * Creates the folder of `path` (and missing parents) when it does not exist;
 * the last folder is chowned to uid:gid unless uid is (uid_t)-1. Returns 0,
 * or -1 with the reason in err.
 */
int pidfile_mkdir(const char *path, uid_t uid, gid_t gid, char *err,
                  size_t errlen);

/*
 * Opens (never through a symbolic link) and locks the pidfile; the lock
 * lasts as long as the returned fd (and its copies across fork). A stale
 * file left by a dead process is simply taken over. Returns the fd;
 * PIDFILE_HELD with the holder's pid in *holder (0 if it has not called
 * pidfile_write() yet) when another process holds the lock; -1 with the
 * reason in err.
 */
int pidfile_acquire(const char *path, long *holder, char *err, size_t errlen);

/*
 * Makes the calling process the lock's holder that pidfile_probe() names,
 * and writes `pid` (the caller's) into the locked file, and `note` (or
 * nothing, when NULL) on a second line: a daemon that is stopping, or that
 * exits uncleanly, leaves a word for `start` and `stop`. The caller must
 * not open the pidfile again while it runs (closing that descriptor would
 * drop its claim). Returns 0 or -1 with err.
 */
int pidfile_write(int fd, long pid, const char *note, char *err, size_t errlen);

/*
 * The note a dead daemon left on the file's second line, into buf ("" when
 * none or no file). Returns buf.
 */
char *pidfile_note(const char *path, char *buf, size_t len);

/*
 * Tells whether a live process holds the lock: returns 1 and its pid in
 * *pid (as the kernel reports the lock's holder; whatever the file says
 * is not believed), 0 when not held (*exists says whether the file is
 * there), -1 with err when it cannot tell (e.g. permission denied). Not
 * for the process that called pidfile_write() (see there).
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
