/*
 * stats.c - the daemon's counters, latency histograms and stats line.
 *
 * Owns the counters (totals since start), the latency histograms exported
 * by the metrics listener (totals since start, Prometheus buckets) and a
 * fine histogram of commit latencies for the stats line's percentiles
 * (reset at every stats line). Everything is a relaxed atomic: workers and
 * the source add to them without any lock, the listener's thread only
 * reads them; every reading is a snapshot, not a transaction. Rendering
 * them for Prometheus is metrics.c's.
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

const uint64_t stats_bound_us[STATS_BOUNDS] = {
    100,     250,     500,     1000,     2500,     5000,
    10000,   25000,   50000,   100000,   250000,   500000,
    1000000, 2500000, 5000000, 10000000, 30000000,
};

/* One histogram; each on its own cache lines (different writers). */
struct histogram {
    _Alignas(64) atomic_uint_fast64_t count[STATS_BOUNDS + 1];
    atomic_uint_fast64_t sum_us;
};

static struct histogram histograms[STATS_HISTOGRAMS];

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

size_t
stats_bucket_of(uint64_t us)
{
    size_t lo = 0;
    size_t hi = STATS_BOUNDS;

    /* The first bound at or above us (le is inclusive). */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (stats_bound_us[mid] < us) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

void
stats_observe(enum stats_histogram which, uint64_t us)
{
    struct histogram *h = &histograms[which];

    atomic_fetch_add_explicit(&h->count[stats_bucket_of(us)], 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

void
stats_histogram_read(enum stats_histogram which,
                     struct stats_histogram_snapshot *out)
{
    struct histogram *h = &histograms[which];

    for (size_t b = 0; b <= STATS_BOUNDS; b++) {
        out->count[b] =
            atomic_load_explicit(&h->count[b], memory_order_relaxed);
    }
    out->sum_us = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
}

void
stats_commit_us(uint64_t us)
{
    stats_observe(STATS_COMMIT_TIME, us);
    atomic_fetch_add_explicit(&buckets[bucket_of(us / 1000)], 1,
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
        snap[b] =
            atomic_exchange_explicit(&buckets[b], 0, memory_order_relaxed);
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
