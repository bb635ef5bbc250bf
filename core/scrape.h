/*
 * scrape.h - `feed-core stats`: the running daemon's figures, for people.
 */
#ifndef FEED_SCRAPE_H
#define FEED_SCRAPE_H

#include <stddef.h>
#include <stdio.h>

/* Returned when nothing listens at the address: the daemon is not running. */
#define SCRAPE_DOWN (-2)

/*
 * GETs `path` from the metrics listener at `spec` ([core] metrics; an
 * unspecified address such as 0.0.0.0 means this host's loopback) over
 * HTTP/1.0, within a few seconds. Stores the status code and the body
 * (NUL-terminated, cut to bodylen - 1 bytes). Returns 0; SCRAPE_DOWN when
 * the connection is refused; -1 with the reason in err otherwise.
 */
int scrape_get(const char *spec, const char *path, int *status, char *body,
               size_t bodylen, char *err, size_t errlen);

/*
 * The value of the sample `name` (with its labels, if any, as written:
 * `feed_build_info{version="0.1.0"}`) in a Prometheus text page; -1 when
 * the page has no such sample. Labels given as `name{` match any labels.
 */
double scrape_value(const char *page, const char *name);

/*
 * Prints the figures of /metrics and the verdict of /healthz, as a table
 * for people, to `out`. Returns 0, SCRAPE_DOWN, or -1 with the reason in
 * err.
 */
int scrape_print(const char *spec, FILE *out, char *err, size_t errlen);

#endif
