/*
 * test_mysql_fee_errors.c - mysql_fee's error classes, code by code.
 *
 * Links plugins/mysql_fee/errors.c alone: the classifier is pure, so every
 * listed error number can be checked without a server. Each case names
 * its code, so a failure says which one moved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../plugins/mysql_fee/mysql_fee.h"

/* One error number and what it must lead to. */
struct expect {
    unsigned int code;
    const char *name;
    enum eclass class;
    enum feed_result write; /* what write() returns */
    enum feed_result open;  /* what open() returns */
};

static const char *
class_name(enum eclass c)
{
    switch (c) {
    case EC_TRANSIENT:
        return "same host";
    case EC_NEXT_HOST:
        return "next host";
    case EC_OPERATOR:
        return "operator";
    case EC_DATA:
        return "data";
    }
    return "?";
}

static void
check(const struct expect *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct expect *e = &cases[i];
        enum eclass c = errors_class(e->code);
        enum feed_result w = errors_write_outcome(e->code);
        enum feed_result o = errors_open_outcome(e->code);

        if (c != e->class || w != e->write || o != e->open) {
            fail_msg("error %u (%s): class %s write %d open %d, "
                     "want %s %d %d",
                     e->code, e->name, class_name(c), w, o,
                     class_name(e->class), e->write, e->open);
        }
    }
}

static void
each_connection_error_moves_the_worker_to_the_next_host(void **state)
{
    static const struct expect cases[] = {
        {2002, "cannot connect (socket)", EC_NEXT_HOST, FEED_RETRY, FEED_RETRY},
        {2003, "cannot connect (TCP)", EC_NEXT_HOST, FEED_RETRY, FEED_RETRY},
        {2006, "server has gone away", EC_NEXT_HOST, FEED_RETRY, FEED_RETRY},
        {2013, "lost connection during a query", EC_NEXT_HOST, FEED_RETRY,
         FEED_RETRY},
        {1047, "WSREP not ready (unknown command)", EC_NEXT_HOST, FEED_RETRY,
         FEED_RETRY},
        {1290, "read-only (--read-only)", EC_NEXT_HOST, FEED_RETRY, FEED_RETRY},
        {1040, "too many connections", EC_NEXT_HOST, FEED_RETRY, FEED_RETRY},
    };

    (void)state;
    check(cases, sizeof cases / sizeof *cases);
}

static void
an_unknown_host_moves_on_but_alone_fails_open(void **state)
{
    static const struct expect cases[] = {
        {2005, "unknown host", EC_NEXT_HOST, FEED_RETRY, FEED_FAIL},
    };

    (void)state;
    check(cases, sizeof cases / sizeof *cases);
}

static void
deadlocks_and_lock_waits_retry_on_the_same_host(void **state)
{
    static const struct expect cases[] = {
        {1213, "deadlock", EC_TRANSIENT, FEED_RETRY, FEED_RETRY},
        {1205, "lock wait timeout", EC_TRANSIENT, FEED_RETRY, FEED_RETRY},
    };

    (void)state;
    check(cases, sizeof cases / sizeof *cases);
}

static void
other_transient_errors_retry_on_the_same_host(void **state)
{
    static const struct expect cases[] = {
        {1792, "read-only transaction", EC_TRANSIENT, FEED_RETRY, FEED_RETRY},
        {1836, "read-only mode", EC_TRANSIENT, FEED_RETRY, FEED_RETRY},
        {1203, "too many user connections", EC_TRANSIENT, FEED_RETRY,
         FEED_RETRY},
        {1053, "server shutdown", EC_TRANSIENT, FEED_RETRY, FEED_RETRY},
        {1317, "query interrupted", EC_TRANSIENT, FEED_RETRY, FEED_RETRY},
        {1927, "connection killed", EC_TRANSIENT, FEED_RETRY, FEED_RETRY},
        {1021, "disk full", EC_TRANSIENT, FEED_RETRY, FEED_RETRY},
        {1041, "out of resources", EC_TRANSIENT, FEED_RETRY, FEED_RETRY},
        {1114, "table full", EC_TRANSIENT, FEED_RETRY, FEED_RETRY},
        {1030, "engine error", EC_TRANSIENT, FEED_RETRY, FEED_RETRY},
        {2000, "unknown client error", EC_TRANSIENT, FEED_RETRY, FEED_RETRY},
        {1064, "an error not in the table", EC_TRANSIENT, FEED_RETRY,
         FEED_RETRY},
        {0, "no error number", EC_TRANSIENT, FEED_RETRY, FEED_RETRY},
    };

    (void)state;
    check(cases, sizeof cases / sizeof *cases);
}

static void
data_errors_refuse_the_batch(void **state)
{
    static const struct expect cases[] = {
        {1264, "out of range", EC_DATA, FEED_REJECT, FEED_FAIL},
        {1690, "data out of range", EC_DATA, FEED_REJECT, FEED_FAIL},
        {1406, "data too long", EC_DATA, FEED_REJECT, FEED_FAIL},
        {1366, "incorrect value for a column", EC_DATA, FEED_REJECT, FEED_FAIL},
        {1292, "truncated wrong value", EC_DATA, FEED_REJECT, FEED_FAIL},
        {1265, "data truncated", EC_DATA, FEED_REJECT, FEED_FAIL},
        {1048, "column cannot be null", EC_DATA, FEED_REJECT, FEED_FAIL},
        {4025, "constraint failed", EC_DATA, FEED_REJECT, FEED_FAIL},
        {1452, "no referenced row", EC_DATA, FEED_REJECT, FEED_FAIL},
        {1216, "no referenced row (old)", EC_DATA, FEED_REJECT, FEED_FAIL},
        {1062, "duplicate entry", EC_DATA, FEED_REJECT, FEED_FAIL},
    };

    (void)state;
    check(cases, sizeof cases / sizeof *cases);
}

static void
permanent_errors_fail_open_and_retry_writes_on_the_same_host(void **state)
{
    static const struct expect cases[] = {
        {1044, "database access denied", EC_OPERATOR, FEED_RETRY, FEED_FAIL},
        {1045, "access denied", EC_OPERATOR, FEED_RETRY, FEED_FAIL},
        {1142, "table access denied", EC_OPERATOR, FEED_RETRY, FEED_FAIL},
        {1143, "column access denied", EC_OPERATOR, FEED_RETRY, FEED_FAIL},
        {1049, "unknown database", EC_OPERATOR, FEED_RETRY, FEED_FAIL},
        {1146, "no such table", EC_OPERATOR, FEED_RETRY, FEED_FAIL},
        {1054, "unknown column", EC_OPERATOR, FEED_RETRY, FEED_FAIL},
    };

    (void)state;
    check(cases, sizeof cases / sizeof *cases);
}

/* A batch of `n` records on lines 1..n (values are not looked at). */
static struct feed_batch
lines(struct feed_record *records, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        records[i].line = (uint32_t)(i + 1);
        records[i].values = NULL;
    }
    return (struct feed_batch){.count = n, .records = records};
}

static void
a_refused_value_names_the_record_at_row_n_of_its_chunk(void **state)
{
    struct feed_record records[8];
    struct feed_batch b = lines(records, 8);
    char err[FEED_ERR_MAX];
    size_t bad = 99;

    (void)state;
    assert_int_equal(
        errors_insert_refused("fee", &b, 4, 8, 1264,
                              "Out of range value for column 'volume' at row 2",
                              &bad, err, sizeof err),
        FEED_REJECT);
    assert_int_equal(bad, 5);
    assert_string_equal(
        err, "line 6: Out of range value for column 'volume' at row 2 (1264)");
}

static void
a_refused_value_at_a_row_outside_the_chunk_names_the_table(void **state)
{
    struct feed_record records[4];
    struct feed_batch b = lines(records, 4);
    char err[FEED_ERR_MAX];
    size_t bad = 99;

    (void)state;
    assert_int_equal(errors_insert_refused("fee", &b, 0, 4, 1406,
                                           "Data too long at row 5", &bad, err,
                                           sizeof err),
                     FEED_REJECT);
    assert_int_equal(bad, 99);
    assert_string_equal(err, "insert into fee: Data too long at row 5 (1406)");
}

static void
a_lost_connection_during_the_insert_is_a_retry_naming_the_table(void **state)
{
    struct feed_record records[2];
    struct feed_batch b = lines(records, 2);
    char err[FEED_ERR_MAX];
    size_t bad = 99;

    (void)state;
    assert_int_equal(errors_insert_refused("fee", &b, 0, 2, 2013,
                                           "Lost connection to server at row 1",
                                           &bad, err, sizeof err),
                     FEED_RETRY);
    assert_int_equal(bad, 99);
    assert_string_equal(
        err, "insert into fee: Lost connection to server at row 1 (2013)");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            each_connection_error_moves_the_worker_to_the_next_host),
        cmocka_unit_test(an_unknown_host_moves_on_but_alone_fails_open),
        cmocka_unit_test(deadlocks_and_lock_waits_retry_on_the_same_host),
        cmocka_unit_test(other_transient_errors_retry_on_the_same_host),
        cmocka_unit_test(data_errors_refuse_the_batch),
        cmocka_unit_test(
            permanent_errors_fail_open_and_retry_writes_on_the_same_host),
        cmocka_unit_test(
            a_refused_value_names_the_record_at_row_n_of_its_chunk),
        cmocka_unit_test(
            a_refused_value_at_a_row_outside_the_chunk_names_the_table),
        cmocka_unit_test(
            a_lost_connection_during_the_insert_is_a_retry_naming_the_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
