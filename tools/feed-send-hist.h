/*
 * feed-send-hist.h - a latency histogram many threads add to at once.
 */
#ifndef FEED_SEND_HIST_H
#define FEED_SEND_HIST_H

#include <stdatomic.h>
#include <stddef.h>

/*
 * Log-linear: below 256 us one bucket per microsecond, above that 128
 * buckets per power of two, so a bucket is at most 1/128 wide and its
 * midpoint is within 0.4% of any value in it. Values from 2^40 us (12
 * days) on share the last bucket.
 */
#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAX_BITS 40
#define HIST_BUCKETS ((HIST_MAX_BITS - HIST_SUB_BITS + 1) * HIST_SUB)

/* Counts per bucket, added to without a lock; zero it to start. */
struct hist {
    atomic_ullong count[HIST_BUCKETS];
};

/* Counts one latency of us microseconds. Any thread may call it. */
void hist_add(struct hist *h, unsigned long long us);

/*
 * The latency in milliseconds under which ppm millionths of the counted
 * values fell; 0 before the first. The counts may move meanwhile (a
 * progress line reads them live).
 */
double hist_percentile(struct hist *h, unsigned long long ppm);

#endif
