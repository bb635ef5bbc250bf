/*
 * feed-send-hist.c - the latency histogram of feed-send's load mode.
 *
 * Owns the bucket arithmetic; the counts live in the caller's struct
 * hist. What is measured, and when, is feed-send-load.c's.
 */
#include "feed-send-hist.h"

/* The histogram bucket of a latency. */
static size_t
bucket(unsigned long long us)
{
    unsigned shift = 0;

    if (us >= 1ULL << HIST_MAX_BITS) {
        us = (1ULL << HIST_MAX_BITS) - 1;
    }
    while ((us >> shift) >= 2 * HIST_SUB) {
        shift++;
    }
    return (size_t)shift * HIST_SUB + (size_t)(us >> shift);
}

/* The middle of bucket b, in microseconds. */
static double
middle(size_t b)
{
    unsigned shift = b < 2 * HIST_SUB ? 0 : (unsigned)(b / HIST_SUB) - 1;
    unsigned long long low = (unsigned long long)(b - shift * HIST_SUB)
                             << shift;

    return (double)low + (double)((1ULL << shift) - 1) / 2;
}

void
hist_add(struct hist *h, unsigned long long us)
{
    atomic_fetch_add_explicit(&h->count[bucket(us)], 1, memory_order_relaxed);
}

double
hist_percentile(struct hist *h, unsigned long long ppm)
{
    unsigned long long total = 0;
    unsigned long long seen = 0;
    unsigned long long rank;
    size_t b;
    size_t last = 0;

    for (b = 0; b < HIST_BUCKETS; b++) {
        total += atomic_load_explicit(&h->count[b], memory_order_relaxed);
    }
    if (total == 0) {
        return 0;
    }
    rank = (total * ppm + 999999) / 1000000;
    for (b = 0; b < HIST_BUCKETS && seen < rank; b++) {
        unsigned long long n =
            atomic_load_explicit(&h->count[b], memory_order_relaxed);

        if (n > 0) {
            seen += n;
            last = b;
        }
    }
    return middle(last) / 1000;
}
