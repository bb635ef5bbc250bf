/*
 * log.h - the process-wide logger: syslog, stderr or a file.
 */
#ifndef FEED_LOG_H
#define FEED_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include <feed/plugin.h>

/*
 * Sends log lines to `target`: "syslog", "stderr" or a file path (opened
 * for appending, created 0640). Lines below `level` are dropped. Before
 * log_open() everything goes to stderr at info level. Returns 0, or -1 with
 * the reason in err (the previous target stays).
 */
int log_open(const char *target, enum feed_log_level level, char *err,
             size_t errlen);

/*
 * Reopens the log file at the same path (after logrotate moved it away).
 * On failure keeps writing to the old file and returns -1 with the reason.
 */
int log_reopen(char *err, size_t errlen);

/* Back to stderr; closes the file or syslog. */
void log_close(void);

/* Nonzero when a line at `level` would be written. */
int log_enabled(enum feed_log_level level);

/* The level's name as in log_level: "error" ... "debug". */
const char *log_level_name(enum feed_log_level level);

/* One line at `level`; `who` (a plugin's name) may be NULL. */
void log_write(enum feed_log_level level, const char *who, const char *fmt,
               va_list ap) FEED_PRINTF(3, 0);

void log_error(const char *fmt, ...) FEED_PRINTF(1, 2);
void log_warning(const char *fmt, ...) FEED_PRINTF(1, 2);
void log_notice(const char *fmt, ...) FEED_PRINTF(1, 2);
void log_info(const char *fmt, ...) FEED_PRINTF(1, 2);
void log_debug(const char *fmt, ...) FEED_PRINTF(1, 2);

#endif
