/*
 * stats.h - the daemon's counters and its periodic stats line.
 */
#ifndef FEED_STATS_H
#define FEED_STATS_H

#include <stddef.h>
#include <stdint.h>

enum stats_counter {
    STATS_RECEIVED,  /* requests read from the source */
    STATS_ACCEPTED,  /* requests answered TRUE */
    STATS_REJECTED,  /* requests answered FALSE (parser or sink) */
    STATS_COMMITTED, /* records committed by the sink */
    STATS_RETRIES,   /* sink writes or opens that will be retried */
    STATS_PEERS_REFUSED, /* connections a source refused (host->count) */
    STATS_COUNTERS,
};

/* Adds n to a counter. Safe from any thread. */
void stats_add(enum stats_counter which, uint64_t n);

/* The counter's value since start. */
uint64_t stats_get(enum stats_counter which);

/* Records one commit's duration. Safe from any thread. */
void stats_commit_ms(uint64_t ms);

/*
 * Formats the stats line (without a newline) into buf and starts a new
 * interval for the commit-latency percentiles. Returns buf.
 */
char *stats_line(size_t queue_depth, char *buf, size_t len);

#endif
