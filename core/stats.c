/*
 * stats.c - the daemon's counters and its periodic stats line.
 *
 * Owns the counters (totals since start) and a histogram of commit
 * latencies (reset at every stats line). Everything is a relaxed atomic:
 * workers and the source add to them without any lock; the line is a
 * snapshot, not a transaction.
 */
#include "stats.h"

#include <stdatomic.h>
#include <stdio.h>

/*
 * Latency buckets: 1 ms wide below 1 s, 100 ms wide up to 10 s, 1 s wide
 * up to 60 s, then one bucket for everything slower.
 */
#define FINE 1000
#define MEDIUM 90
#define COARSE 50
#define NBUCKETS (FINE + MEDIUM + COARSE + 1)

static atomic_uint_fast64_t counters[STATS_COUNTERS];
static atomic_uint_fast64_t buckets[NBUCKETS];

void
stats_add(enum stats_counter which, uint64_t n)
{
    atomic_fetch_add_explicit(&counters[which], n, memory_order_relaxed);
}

uint64_t
stats_get(enum stats_counter which)
{
    return atomic_load_explicit(&counters[which], memory_order_relaxed);
}

static size_t
bucket_of(uint64_t ms)
{
    if (ms < FINE) {
        return (size_t)ms;
    }
    if (ms < 10000) {
        return FINE + (size_t)(ms - FINE) / 100;
    }
    if (ms < 60000) {
        return FINE + MEDIUM + (size_t)(ms - 10000) / 1000;
    }
    return NBUCKETS - 1;
}

/* The lowest latency in bucket b. */
static uint64_t
floor_of(size_t b)
{
    if (b < FINE) {
        return b;
    }
    if (b < FINE + MEDIUM) {
        return FINE + (b - FINE) * 100;
    }
    return 10000 + (b - FINE - MEDIUM) * 1000;
}

void
stats_commit_ms(uint64_t ms)
{
    atomic_fetch_add_explicit(&buckets[bucket_of(ms)], 1,
                              memory_order_relaxed);
}

char *
stats_line(size_t queue_depth, char *buf, size_t len)
{
    uint64_t snap[NBUCKETS];
    uint64_t total = 0;
    uint64_t p50 = 0;
    uint64_t p99 = 0;
    uint64_t seen = 0;
    int have50 = 0;

    for (size_t b = 0; b < NBUCKETS; b++) {
        snap[b] = atomic_exchange_explicit(&buckets[b], 0,
                                           memory_order_relaxed);
        total += snap[b];
    }
    for (size_t b = 0; b < NBUCKETS && total > 0; b++) {
        seen += snap[b];
        if (!have50 && seen * 2 >= total) {
            p50 = floor_of(b);
            have50 = 1;
        }
        if (seen * 100 >= total * 99) {
            p99 = floor_of(b);
            break;
        }
    }
    snprintf(buf, len,
             "stats received=%llu accepted=%llu rejected=%llu "
             "committed=%llu retries=%llu queue=%zu commit_ms_p50=%llu "
             "commit_ms_p99=%llu",
             (unsigned long long)stats_get(STATS_RECEIVED),
             (unsigned long long)stats_get(STATS_ACCEPTED),
             (unsigned long long)stats_get(STATS_REJECTED),
             (unsigned long long)stats_get(STATS_COMMITTED),
             (unsigned long long)stats_get(STATS_RETRIES), queue_depth,
             (unsigned long long)p50, (unsigned long long)p99);
    return buf;
}
