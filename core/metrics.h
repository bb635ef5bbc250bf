/*
 * metrics.h - the HTTP listener of [core] metrics: /metrics and /healthz.
 */
#ifndef FEED_METRICS_H
#define FEED_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "stats.h"

struct pipeline;
struct metrics;

/* Everything /metrics shows, read at one moment. */
struct metrics_sample {
    const char *version;
    uint64_t counter[STATS_COUNTERS];
    uint64_t dead_letter_errors;
    uint64_t queue_records;
    uint64_t queue_max;
    unsigned workers;
    unsigned workers_connected;
    unsigned stalled; /* sink calls running for 10 s or more */
    int healthy;      /* what /healthz would answer: 1 for 200 */
    struct stats_histogram_snapshot histogram[STATS_HISTOGRAMS];
};

/*
 * Parses `spec`, a numeric "IPv4:PORT" or "[IPv6]:PORT", into *addr and
 * *addrlen. Returns 0, or -1 with the reason in err.
 */
int metrics_parse_addr(const char *spec, struct sockaddr_storage *addr,
                       socklen_t *addrlen, char *err, size_t errlen);

/*
 * Writes the sample in the Prometheus text format 0.0.4 into buf (with a
 * terminating NUL). Returns the length written, or -1 when buf is too
 * small.
 */
int metrics_render(const struct metrics_sample *s, char *buf, size_t len);

/*
 * Reads the counters, histograms and health now; the queue's gauges come
 * from `pl` (NULL: zero).
 */
void metrics_sample_now(struct metrics_sample *s, struct pipeline *pl,
                        size_t queue_max);

/*
 * Binds `spec` (call it before dropping root) and starts serving on
 * libmicrohttpd's own thread, which only reads atomics: a slow or hostile
 * client never blocks the pipeline. `pl` is borrowed and must outlive
 * metrics_close(). Returns NULL with the reason in err. Free with
 * metrics_close().
 */
struct metrics *metrics_open(const char *spec, struct pipeline *pl,
                             size_t queue_max, char *err, size_t errlen);

/* Stops the listener and closes its socket. Takes NULL. */
void metrics_close(struct metrics *m);

#endif
