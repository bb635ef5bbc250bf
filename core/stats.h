/*
 * stats.h - the daemon's counters, latency histograms and stats line.
 */
#ifndef FEED_STATS_H
#define FEED_STATS_H

#include <stddef.h>
#include <stdint.h>

enum stats_counter {
    STATS_RECEIVED,      /* requests read from the source */
    STATS_ACCEPTED,      /* requests answered TRUE */
    STATS_REJECTED,      /* requests answered FALSE (parser or sink) */
    STATS_COMMITTED,     /* records committed by the sink */
    STATS_RETRIES,       /* sink writes or opens that will be retried */
    STATS_PEERS_REFUSED, /* connections a source refused (host->count) */
    STATS_COUNTERS,
};

/* The latency histograms, exported in seconds. */
enum stats_histogram {
    STATS_COMMIT_TIME, /* each sink write (one transaction), any outcome */
    STATS_ACK_DELAY,   /* a request's receipt to its reply */
    STATS_HISTOGRAMS,
};

/*
 * The histograms' upper bounds (inclusive) in microseconds, from 100 us to
 * 30 s; one more bucket, past the last bound, counts everything slower.
 */
#define STATS_BOUNDS 17
extern const uint64_t stats_bound_us[STATS_BOUNDS];

/* A snapshot of one histogram: per-bucket counts, not cumulative. */
struct stats_histogram_snapshot {
    uint64_t count[STATS_BOUNDS + 1]; /* the last: above every bound */
    uint64_t sum_us;
};

/* Adds n to a counter. Safe from any thread, takes no lock. */
void stats_add(enum stats_counter which, uint64_t n);

/* The counter's value since start. */
uint64_t stats_get(enum stats_counter which);

/*
 * Records one sink write's duration, whatever its outcome: in the
 * histogram STATS_COMMIT_TIME and in the stats line's percentiles. Safe
 * from any thread, takes no lock.
 */
void stats_commit_us(uint64_t us);

/* Records one observation in a histogram. Safe from any thread. */
void stats_observe(enum stats_histogram which, uint64_t us);

/* The bucket (0 to STATS_BOUNDS) that a duration of `us` falls in. */
size_t stats_bucket_of(uint64_t us);

/*
 * Copies a histogram (totals since start). A snapshot, not a transaction:
 * an observation made meanwhile may be in the counts but not yet the sum.
 */
void stats_histogram_read(enum stats_histogram which,
                          struct stats_histogram_snapshot *out);

/*
 * Formats the stats line (without a newline) into buf and starts a new
 * interval for the commit-latency percentiles. Returns buf.
 */
char *stats_line(size_t queue_depth, char *buf, size_t len);

#endif
