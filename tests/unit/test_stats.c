/*
 * test_stats.c - the counters and the periodic stats line.
 *
 * The counters are process-wide totals that never reset, so tests reason
 * in differences; the latency histogram resets at every stats line, so
 * each test starts by taking a line to empty it.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stats.h"

struct percentiles {
    unsigned long long p50;
    unsigned long long p99;
};

/* Takes a stats line and reads its two percentiles. */
static struct percentiles
take_percentiles(void)
{
    struct percentiles p = {~0ULL, ~0ULL};
    char line[512];
    const char *at;

    stats_line(0, line, sizeof line);
    at = strstr(line, " commit_ms_p50=");
    assert_non_null(at);
    assert_int_equal(
        sscanf(at, " commit_ms_p50=%llu commit_ms_p99=%llu", &p.p50, &p.p99),
        2);
    return p;
}

static int
empty_histogram(void **state)
{
    (void)state;
    take_percentiles();
    return 0;
}

static void
commits(uint64_t ms, int times)
{
    uint64_t us = ms > UINT64_MAX / 1000 ? UINT64_MAX : ms * 1000;

    for (int i = 0; i < times; i++) {
        stats_commit_us(us);
    }
}

/* ------------------------------------------------------------------ */

static void
stats_add_adds_to_one_counter_only(void **state)
{
    uint64_t before[STATS_COUNTERS];

    (void)state;
    for (int c = 0; c < STATS_COUNTERS; c++) {
        before[c] = stats_get((enum stats_counter)c);
    }
    for (int c = 0; c < STATS_COUNTERS; c++) {
        stats_add((enum stats_counter)c, (uint64_t)c + 1);
        for (int d = 0; d < STATS_COUNTERS; d++) {
            uint64_t want = before[d] + (d <= c ? (uint64_t)d + 1 : 0);
            assert_int_equal(stats_get((enum stats_counter)d), want);
        }
    }
    stats_add(STATS_COMMITTED, 0);
    assert_int_equal(stats_get(STATS_COMMITTED), before[STATS_COMMITTED] + 4);
}

static void
the_stats_line_names_every_counter_in_order(void **state)
{
    char line[512];
    char want[512];

    (void)state;
    stats_add(STATS_RECEIVED, 10);
    stats_add(STATS_ACCEPTED, 7);
    stats_add(STATS_REJECTED, 3);
    stats_add(STATS_COMMITTED, 7000);
    stats_add(STATS_RETRIES, 2);
    stats_commit_us(14000);
    snprintf(want, sizeof want,
             "stats received=%llu accepted=%llu rejected=%llu committed=%llu "
             "retries=%llu queue=42 commit_ms_p50=14 commit_ms_p99=14",
             (unsigned long long)stats_get(STATS_RECEIVED),
             (unsigned long long)stats_get(STATS_ACCEPTED),
             (unsigned long long)stats_get(STATS_REJECTED),
             (unsigned long long)stats_get(STATS_COMMITTED),
             (unsigned long long)stats_get(STATS_RETRIES));
    assert_ptr_equal(stats_line(42, line, sizeof line), line);
    assert_string_equal(line, want);
}

static void
percentiles_come_from_the_commits_of_the_interval(void **state)
{
    struct percentiles p;

    (void)state;
    commits(3, 98);
    commits(250, 2);
    p = take_percentiles();
    assert_int_equal(p.p50, 3);
    assert_int_equal(p.p99, 250);
}

static void
the_99th_percentile_is_the_99th_of_100_commits(void **state)
{
    struct percentiles p;

    (void)state;
    commits(1, 99);
    commits(500, 1);
    p = take_percentiles();
    assert_int_equal(p.p50, 1);
    assert_int_equal(p.p99, 1);

    commits(1, 49);
    commits(7, 49);
    commits(500, 2);
    p = take_percentiles();
    assert_int_equal(p.p50, 7);
    assert_int_equal(p.p99, 500);
}

static void
one_commit_is_both_percentiles(void **state)
{
    struct percentiles p;

    (void)state;
    commits(0, 1);
    p = take_percentiles();
    assert_int_equal(p.p50, 0);
    assert_int_equal(p.p99, 0);
    commits(999, 1);
    p = take_percentiles();
    assert_int_equal(p.p50, 999);
    assert_int_equal(p.p99, 999);
}

static void
slow_commits_report_the_floor_of_their_bucket(void **state)
{
    static const struct {
        uint64_t ms;
        unsigned long long floor;
    } cases[] = {
        {1000, 1000},   {1099, 1000},        {1234, 1200},   {9999, 9900},
        {10000, 10000}, {12345, 12000},      {59999, 59000}, {60000, 60000},
        {99999, 60000}, {UINT64_MAX, 60000},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct percentiles p;

        commits(cases[i].ms, 1);
        p = take_percentiles();
        assert_int_equal(p.p50, cases[i].floor);
        assert_int_equal(p.p99, cases[i].floor);
    }
}

static void
the_histogram_starts_afresh_after_every_line(void **state)
{
    struct percentiles p;

    (void)state;
    commits(40, 10);
    p = take_percentiles();
    assert_int_equal(p.p50, 40);
    p = take_percentiles();
    assert_int_equal(p.p50, 0);
    assert_int_equal(p.p99, 0);
    commits(5, 1);
    p = take_percentiles();
    assert_int_equal(p.p50, 5);
    assert_int_equal(p.p99, 5);
}

static void
a_commit_counts_in_the_line_with_its_whole_milliseconds(void **state)
{
    struct percentiles p;

    (void)state;
    stats_commit_us(999);
    stats_commit_us(30000000);
    p = take_percentiles();
    assert_int_equal(p.p50, 0);
    assert_int_equal(p.p99, 30000);
}

static void
a_duration_falls_in_the_first_bucket_whose_bound_holds_it(void **state)
{
    static const struct {
        uint64_t us;
        size_t bucket;
    } cases[] = {
        {0, 0},         {100, 0},       {101, 1},       {250, 1},
        {251, 2},       {999, 3},       {1000, 3},      {1001, 4},
        {999999, 12},   {1000000, 12},  {1000001, 13},  {10000000, 15},
        {29999999, 16}, {30000000, 16}, {30000001, 17}, {UINT64_MAX, 17},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(stats_bucket_of(cases[i].us), cases[i].bucket);
    }
}

static void
the_bounds_rise_from_100_microseconds_to_30_seconds(void **state)
{
    (void)state;
    assert_int_equal(stats_bound_us[0], 100);
    assert_int_equal(stats_bound_us[STATS_BOUNDS - 1], 30000000);
    for (size_t b = 1; b < STATS_BOUNDS; b++) {
        assert_true(stats_bound_us[b] > stats_bound_us[b - 1]);
    }
}

static void
an_observation_adds_to_its_bucket_and_the_sum_of_its_histogram_only(
    void **state)
{
    struct stats_histogram_snapshot c0;
    struct stats_histogram_snapshot c1;
    struct stats_histogram_snapshot a0;
    struct stats_histogram_snapshot a1;

    (void)state;
    stats_histogram_read(STATS_COMMIT_TIME, &c0);
    stats_histogram_read(STATS_ACK_DELAY, &a0);
    stats_observe(STATS_ACK_DELAY, 700);
    stats_observe(STATS_ACK_DELAY, 45000000);
    stats_histogram_read(STATS_COMMIT_TIME, &c1);
    stats_histogram_read(STATS_ACK_DELAY, &a1);
    assert_memory_equal(&c0, &c1, sizeof c0);
    for (size_t b = 0; b <= STATS_BOUNDS; b++) {
        uint64_t want = b == 3 || b == STATS_BOUNDS ? 1 : 0;
        assert_int_equal(a1.count[b] - a0.count[b], want);
    }
    assert_int_equal(a1.sum_us - a0.sum_us, 45000700);
}

static void
a_commit_goes_to_the_commit_histogram_too(void **state)
{
    struct stats_histogram_snapshot before;
    struct stats_histogram_snapshot after;

    (void)state;
    stats_histogram_read(STATS_COMMIT_TIME, &before);
    stats_commit_us(2000);
    stats_histogram_read(STATS_COMMIT_TIME, &after);
    assert_int_equal(after.count[4] - before.count[4], 1);
    assert_int_equal(after.sum_us - before.sum_us, 2000);
}

static void
a_short_buffer_gets_a_cut_line(void **state)
{
    char line[16];

    (void)state;
    memset(line, 'x', sizeof line);
    assert_ptr_equal(stats_line(0, line, sizeof line), line);
    assert_string_equal(line, "stats received=");
}

static void *
count_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++) {
        stats_add(STATS_RETRIES, 1);
        stats_commit_us((uint64_t)(i % 2 == 0 ? 2000 : 300000));
    }
    return NULL;
}

static void
threads_add_without_losing_a_count(void **state)
{
    uint64_t before = stats_get(STATS_RETRIES);
    pthread_t t[4];
    struct percentiles p;

    (void)state;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, count_many, NULL), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
    assert_int_equal(stats_get(STATS_RETRIES), before + 400000);
    /* Half at 2 ms, half at 300 ms: the median is the lower half's. */
    p = take_percentiles();
    assert_int_equal(p.p50, 2);
    assert_int_equal(p.p99, 300);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup(name, empty_histogram)
        T(stats_add_adds_to_one_counter_only),
        T(the_stats_line_names_every_counter_in_order),
        T(percentiles_come_from_the_commits_of_the_interval),
        T(the_99th_percentile_is_the_99th_of_100_commits),
        T(one_commit_is_both_percentiles),
        T(slow_commits_report_the_floor_of_their_bucket),
        T(the_histogram_starts_afresh_after_every_line),
        T(a_commit_counts_in_the_line_with_its_whole_milliseconds),
        T(a_duration_falls_in_the_first_bucket_whose_bound_holds_it),
        T(the_bounds_rise_from_100_microseconds_to_30_seconds),
        T(an_observation_adds_to_its_bucket_and_the_sum_of_its_histogram_only),
        T(a_commit_goes_to_the_commit_histogram_too),
        T(a_short_buffer_gets_a_cut_line),
        T(threads_add_without_losing_a_count),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
