/*
 * deadletter.h - the dead-letter file: refused messages, one JSON per line.
 */
#ifndef FEED_DEADLETTER_H
#define FEED_DEADLETTER_H

#include <stddef.h>

/*
 * Opens `path` for appending (created 0640). Returns 0, or -1 with the
 * reason in err.
 */
int deadletter_open(const char *path, char *err, size_t errlen);

/*
 * Reopens the same path (after logrotate moved the file). On failure the
 * old file stays in use and -1 comes back with the reason in err.
 */
int deadletter_reopen(char *err, size_t errlen);

void deadletter_close(void);

/*
 * Appends {"time", "reason", ["client",] ["parts",] "message" |
 * "message_base64"} as one line with one write(2), so concurrent writers
 * never interleave. `client` (NULL or "" for none) names the peer; `parts`
 * above 1 is recorded (a refused multipart request). A line that cannot be
 * written whole (a full disk) is cut off again: the file holds only whole
 * lines. Safe from any thread. Returns 0, or -1 after logging the failure
 * with its reason (once when failures start, once when they end) and
 * counting it.
 */
int deadletter_write(const char *reason, const char *client, const void *msg,
                     size_t len, unsigned parts);

/* How many entries could not be written. */
unsigned long deadletter_failures(void);

/*
 * Formats the JSON line (with its '\n') into a malloc'd buffer the caller
 * frees; *outlen gets its length. `now_ms` is the time in ms since the
 * epoch. NULL when out of memory. Exposed for tests.
 */
char *deadletter_format(long long now_ms, const char *reason,
                        const char *client, const void *msg, size_t len,
                        unsigned parts, size_t *outlen);

/* Nonzero when [s, s + len) is valid UTF-8 (no overlongs, no surrogates). */
int deadletter_utf8_valid(const unsigned char *s, size_t len);

#endif
