/*
 * clock.h - the monotonic clock in milliseconds, for deadlines and timings,
 * and absolute deadlines for timed waits.
 */
#ifndef FEED_CLOCK_H
#define FEED_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds of CLOCK_MONOTONIC: never jumps with the wall clock. */
static inline uint64_t
clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Microseconds of CLOCK_MONOTONIC, for latencies. */
static inline uint64_t
clock_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * The time `ms` milliseconds from now on `clock` (CLOCK_MONOTONIC or
 * CLOCK_REALTIME): an absolute deadline for the timed waits of pthreads.
 */
static inline struct timespec
clock_after_ms(clockid_t clock, uint64_t ms)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

#endif
