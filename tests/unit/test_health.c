/*
 * test_health.c - the health verdict and the stall watchdog.
 *
 * Time is given to health_check() and health_watch(), so a stall of ten
 * seconds is tested without waiting for one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "health.h"
#include "log.h"
#include "scratch.h"

/* How many lines of the test's log contain `text`. */
static int
logged(const char *text)
{
    FILE *f = fopen(scratch_path("log"), "r");
    char line[512];
    int n = 0;

    if (f == NULL) {
        return 0;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        n += strstr(line, text) != NULL;
    }
    fclose(f);
    return n;
}

static int
setup(void **state)
{
    char err[256];

    scratch_setup(state);
    assert_int_equal(
        log_open(scratch_path("log"), FEED_LOG_INFO, err, sizeof err), 0);
    health_reset(3);
    health_source_bound(1);
    for (unsigned id = 1; id <= 3; id++) {
        health_connected(id, 1);
    }
    return 0;
}

static int
teardown(void **state)
{
    log_close();
    return scratch_teardown(state);
}

/* ------------------------------------------------------------------ */

static void
bound_and_all_connected_is_healthy(void **state)
{
    char why[128] = "";

    (void)state;
    assert_int_equal(health_check(clock_ms(), why, sizeof why), 0);
    assert_string_equal(why, "");
    assert_int_equal(health_workers(), 3);
    assert_int_equal(health_workers_connected(), 3);
}

static void
a_worker_not_connected_is_unhealthy(void **state)
{
    char why[128];

    (void)state;
    health_connected(2, 0);
    assert_int_equal(health_check(clock_ms(), why, sizeof why), -1);
    assert_string_equal(why, "1 of 3 workers not connected");
    assert_int_equal(health_workers_connected(), 2);
    health_connected(2, 1);
    assert_int_equal(health_check(clock_ms(), why, sizeof why), 0);
}

static void
a_source_not_bound_is_unhealthy(void **state)
{
    char why[128];

    (void)state;
    health_source_bound(0);
    assert_int_equal(health_check(clock_ms(), why, sizeof why), -1);
    assert_string_equal(why, "source not bound");
}

static void
stopping_is_unhealthy(void **state)
{
    char why[128];

    (void)state;
    health_stopping();
    assert_int_equal(health_check(clock_ms(), why, sizeof why), -1);
    assert_string_equal(why, "stopping");
}

static void
a_call_of_ten_seconds_is_a_stall_and_unhealthy(void **state)
{
    uint64_t now = clock_ms();
    char why[128];

    (void)state;
    health_call_begin(3, HEALTH_CALL_WRITE);
    assert_int_equal(
        health_check(now + HEALTH_STALL_MS - 1000, why, sizeof why), 0);
    assert_int_equal(health_stalled(now + HEALTH_STALL_MS - 1000), 0);
    assert_int_equal(
        health_check(now + HEALTH_STALL_MS + 2000, why, sizeof why), -1);
    assert_string_equal(why, "worker 3: sink write running for 12 s");
    assert_int_equal(health_stalled(now + HEALTH_STALL_MS + 2000), 1);
    health_call_end(3);
    assert_int_equal(
        health_check(now + HEALTH_STALL_MS + 2000, why, sizeof why), 0);
    assert_int_equal(health_stalled(now + HEALTH_STALL_MS + 2000), 0);
}

static void
each_kind_of_call_is_named(void **state)
{
    uint64_t now = clock_ms();
    char why[128];

    (void)state;
    health_call_begin(1, HEALTH_CALL_OPEN);
    health_check(now + 20000, why, sizeof why);
    assert_string_equal(why, "worker 1: sink connect running for 20 s");
    health_call_begin(1, HEALTH_CALL_TICK);
    health_check(now + 20000, why, sizeof why);
    assert_string_equal(why,
                        "worker 1: sink connection check running for 20 s");
    health_call_end(1);
}

static void
a_stall_is_logged_every_ten_seconds_until_it_ends(void **state)
{
    uint64_t now = clock_ms();

    (void)state;
    health_call_begin(2, HEALTH_CALL_WRITE);
    health_watch(now + 9000);
    assert_int_equal(logged("running for"), 0);
    health_watch(now + 10000);
    assert_int_equal(logged("worker 2: sink write running for 10 s"), 1);
    health_watch(now + 11000);
    health_watch(now + 19000);
    assert_int_equal(logged("running for"), 1);
    health_watch(now + 20000);
    assert_int_equal(logged("worker 2: sink write running for 20 s"), 1);
    assert_int_equal(logged("warning"), 2);
    health_call_end(2);
    health_watch(now + 40000);
    assert_int_equal(logged("running for"), 2);
}

static void
a_stall_names_the_server_the_worker_named(void **state)
{
    uint64_t now = clock_ms();
    char why[128];

    (void)state;
    health_bind_worker(2);
    health_server("db2:3306");
    health_call_begin(2, HEALTH_CALL_WRITE);
    health_check(now + 15000, why, sizeof why);
    assert_string_equal(why, "worker 2: sink write running for 15 s on "
                             "db2:3306");
    health_watch(now + 15000);
    assert_int_equal(
        logged("worker 2: sink write running for 15 s on db2:3306"), 1);
    health_call_end(2);
    /* Not connected: the name is forgotten until the next one. */
    health_connected(2, 0);
    health_call_begin(2, HEALTH_CALL_OPEN);
    health_check(now + 15000, why, sizeof why);
    assert_string_equal(why, "worker 2: sink connect running for 15 s");
    health_call_end(2);
    health_bind_worker(0);
    health_server("elsewhere"); /* not a worker thread: ignored */
}

static void
a_short_call_ends_without_a_word(void **state)
{
    (void)state;
    health_call_begin(1, HEALTH_CALL_WRITE);
    health_call_end(1);
    health_call_end(1);
    assert_int_equal(logged("returned after"), 0);
}

static void
workers_out_of_range_are_ignored(void **state)
{
    char why[128];

    (void)state;
    health_connected(0, 0);
    health_connected(HEALTH_MAX_WORKERS + 1, 0);
    health_call_begin(0, HEALTH_CALL_WRITE);
    health_call_end(HEALTH_MAX_WORKERS + 1);
    assert_int_equal(health_check(clock_ms() + 60000, why, sizeof why), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(bound_and_all_connected_is_healthy),
        T(a_worker_not_connected_is_unhealthy),
        T(a_source_not_bound_is_unhealthy),
        T(stopping_is_unhealthy),
        T(a_call_of_ten_seconds_is_a_stall_and_unhealthy),
        T(each_kind_of_call_is_named),
        T(a_stall_is_logged_every_ten_seconds_until_it_ends),
        T(a_stall_names_the_server_the_worker_named),
        T(a_short_call_ends_without_a_word),
        T(workers_out_of_range_are_ignored),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
