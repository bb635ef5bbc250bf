/*
 * test_csv_trade.c - the csv_trade parser, record by record, reason by
 * reason.
 *
 * The plugin's source is compiled into this file and driven through its
 * descriptor with the test host, so every record it emits and every reason
 * it gives can be asserted exactly. Most cases are tables: bodies accepted
 * with their records, bodies refused with their reason, `fields` lists
 * refused with theirs. The plugin's allocations go through counters here,
 * so that leaks, allocations on the fast path and running out of memory can
 * be tested too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------
 * The plugin, with its heap counted. <stdlib.h> is already in, so the
 * macros below rename only the plugin's calls, not the declarations.
 */

static long allocs_left = -1; /* allocations that may still succeed; -1: all */
static long allocs_made;      /* successful allocations so far */
static long blocks_live;      /* allocated and not yet freed */

static int
may_allocate(void)
{
    if (allocs_left == 0) {
        return 0;
    }
    if (allocs_left > 0) {
        allocs_left--;
    }
    return 1;
}

static void *
counted_malloc(size_t size)
{
    void *p = may_allocate() ? malloc(size) : NULL;

    if (p != NULL) {
        allocs_made++;
        blocks_live++;
    }
    return p;
}

static void *
counted_calloc(size_t n, size_t size)
{
    void *p = may_allocate() ? calloc(n, size) : NULL;

    if (p != NULL) {
        allocs_made++;
        blocks_live++;
    }
    return p;
}

static void *
counted_realloc(void *old, size_t size)
{
    void *p = may_allocate() ? realloc(old, size) : NULL;

    if (p != NULL) {
        allocs_made++;
        blocks_live += old == NULL;
    }
    return p;
}

static void
counted_free(void *p)
{
    blocks_live -= p != NULL;
    free(p);
}

#define malloc counted_malloc
#define calloc counted_calloc
#define realloc counted_realloc
#define free counted_free
#include "../../plugins/csv_trade/csv_trade.c"
#undef malloc
#undef calloc
#undef realloc
#undef free

#include <cmocka.h>

#include "testhost.h"

/* A body written as a literal, NUL bytes and all: pointer, length. */
#define BODY(s) s, sizeof(s) - 1

/* Lines in the large requests. */
#define MANY 100000

/* ---------------------------------------------------------------------
 * Helpers.
 */

/* Configures the plugin with `fields` (NULL: the default); must succeed. */
static void *
configure(struct testhost *th, const char *fields)
{
    char err[FEED_ERR_MAX] = "";
    void *conf;

    testhost_init(th, "parser");
    if (fields != NULL) {
        testhost_set(th, "fields", fields);
    }
    conf = feed_plugin.configure(&th->host, err, sizeof err);
    if (conf == NULL) {
        fail_msg("fields \"%s\" refused: %s%s", fields ? fields : "(default)",
                 err, th->errors);
    }
    th->schema = feed_plugin.schema(&th->host, conf);
    return conf;
}

static void
unconfigure(struct testhost *th, void *conf)
{
    feed_plugin.unconfigure(&th->host, conf);
    testhost_fini(th);
}

static int
parse(struct testhost *th, void *conf, const char *body, size_t len, char *err)
{
    err[0] = '\0';
    return feed_plugin.parse(&th->host, conf, body, len, testhost_out(th), err,
                             FEED_ERR_MAX);
}

/* body[0..len) with \n, \r, \t and NUL spelled out, for failure messages. */
static const char *
escape(const char *body, size_t len, char *buf, size_t buflen)
{
    size_t used = 0;

    for (size_t i = 0; i < len && used + 3 < buflen; i++) {
        char c = body[i];

        switch (c) {
        case '\n':
            c = 'n';
            break;
        case '\r':
            c = 'r';
            break;
        case '\t':
            c = 't';
            break;
        case '\0':
            c = '0';
            break;
        default:
            buf[used++] = c;
            continue;
        }
        buf[used++] = '\\';
        buf[used++] = c;
    }
    buf[used] = '\0';
    return buf;
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fills buf with `count` lines of fmt (given the line index), NUL-ended. */
static char *
build(size_t count, const char *fmt)
{
    size_t cap = count * 48 + 1;
    char *buf = malloc(cap);
    size_t used = 0;

    assert_non_null(buf);
    for (size_t i = 0; i < count; i++) {
        used += (size_t)snprintf(buf + used, cap - used, fmt, i + 1, i + 1);
    }
    return buf;
}

/* ---------------------------------------------------------------------
 * Accepted bodies.
 */

struct want {
    uint32_t line;
    const char *ticket;
    const char *login;
    const char *volume;
};

struct accepted {
    const char *fields; /* NULL: the default order */
    const char *body;
    size_t len;
    size_t count;
    struct want records[4];
};

static const struct accepted accepted[] = {
    /* One line, with and without its line end. */
    {NULL, BODY("7,42,1.5"), 1, {{1, "7", "42", "1.5"}}},
    {NULL, BODY("7,42,1.5\n"), 1, {{1, "7", "42", "1.5"}}},
    {NULL, BODY("7,42,1.5\r\n"), 1, {{1, "7", "42", "1.5"}}},
    {NULL, BODY("7,42,15"), 1, {{1, "7", "42", "15"}}},
    /* Several lines: LF, CRLF, both mixed, a final line end or none. */
    {NULL, BODY("1,2,3\n4,5,6"), 2, {{1, "1", "2", "3"}, {2, "4", "5", "6"}}},
    {NULL,
     BODY("1,2,3\r\n4,5,6\r\n"),
     2,
     {{1, "1", "2", "3"}, {2, "4", "5", "6"}}},
    {NULL,
     BODY("1,2,3\r\n4,5,6\n7,8,9"),
     3,
     {{1, "1", "2", "3"}, {2, "4", "5", "6"}, {3, "7", "8", "9"}}},
    {NULL,
     BODY("1,2,3\n4,5,6\r\n7,8,9\n"),
     3,
     {{1, "1", "2", "3"}, {2, "4", "5", "6"}, {3, "7", "8", "9"}}},
    /* Canonical forms: leading zeros, trailing zeros, a bare point. */
    {NULL, BODY("0,0,0"), 1, {{1, "0", "0", "0"}}},
    {NULL, BODY("000,00,00"), 1, {{1, "0", "0", "0"}}},
    {NULL, BODY("0007,0042,0001.50000"), 1, {{1, "7", "42", "1.5"}}},
    {NULL, BODY("1,2,2.0"), 1, {{1, "1", "2", "2"}}},
    {NULL, BODY("1,2,0.0"), 1, {{1, "1", "2", "0"}}},
    {NULL, BODY("1,2,000.000"), 1, {{1, "1", "2", "0"}}},
    {NULL, BODY("1,2,0.5"), 1, {{1, "1", "2", "0.5"}}},
    {NULL, BODY("1,2,00.50"), 1, {{1, "1", "2", "0.5"}}},
    {NULL, BODY("1,2,100"), 1, {{1, "1", "2", "100"}}},
    {NULL, BODY("1,2,100.0100"), 1, {{1, "1", "2", "100.01"}}},
    {NULL, BODY("1,2,0.0001"), 1, {{1, "1", "2", "0.0001"}}},
    {NULL, BODY("10,20,30"), 1, {{1, "10", "20", "30"}}},
    /* The limits: 2^64-1, 16 digits before the point and 4 after. */
    {NULL,
     BODY("18446744073709551615,18446744073709551615,1"),
     1,
     {{1, "18446744073709551615", "18446744073709551615", "1"}}},
    {NULL,
     BODY("00018446744073709551615,0000000018446744073709551615,1"),
     1,
     {{1, "18446744073709551615", "18446744073709551615", "1"}}},
    {NULL,
     BODY("9999999999999999999,1,1"),
     1,
     {{1, "9999999999999999999", "1", "1"}}},
    {NULL,
     BODY("1,2,9999999999999999.9999"),
     1,
     {{1, "1", "2", "9999999999999999.9999"}}},
    {NULL,
     BODY("1,2,0009999999999999999.99990000"),
     1,
     {{1, "1", "2", "9999999999999999.9999"}}},
    {NULL,
     BODY("1,2,1234567890123456"),
     1,
     {{1, "1", "2", "1234567890123456"}}},
    /* The column order comes from `fields`; values stay in schema order. */
    {"login,ticket,volume", BODY("42,7,1.5"), 1, {{1, "7", "42", "1.5"}}},
    {"login, ticket, volume", BODY("42,7,1.5"), 1, {{1, "7", "42", "1.5"}}},
    {"volume, login,ticket", BODY("1.5,42,7"), 1, {{1, "7", "42", "1.5"}}},
    {"volume,ticket,login", BODY("1.5,7,42"), 1, {{1, "7", "42", "1.5"}}},
    {"ticket,volume,login", BODY("7,1.5,42"), 1, {{1, "7", "42", "1.5"}}},
    {"ticket,login,volume", BODY("7,42,1.5"), 1, {{1, "7", "42", "1.5"}}},
    /* A repeated trade, identical as numbers, is one record. */
    {NULL, BODY("7,42,1.5\n7,42,1.5"), 1, {{1, "7", "42", "1.5"}}},
    {NULL, BODY("7,42,1.5\n0007,042,1.50\n"), 1, {{1, "7", "42", "1.5"}}},
    {NULL,
     BODY("7,42,1.5\n8,1,1\n7,42,1.5\n9,1,1"),
     3,
     {{1, "7", "42", "1.5"}, {2, "8", "1", "1"}, {4, "9", "1", "1"}}},
    {NULL,
     BODY("5,1,1\n5,1,1.0\n6,1,1\n5,01,1"),
     2,
     {{1, "5", "1", "1"}, {3, "6", "1", "1"}}},
    /* Other tickets may share a login and a volume. */
    {NULL,
     BODY("1,42,1.5\n2,42,1.5"),
     2,
     {{1, "1", "42", "1.5"}, {2, "2", "42", "1.5"}}},
};

static void
check_accepted(size_t k, const struct accepted *a)
{
    static const char *const names[] = {"ticket", "login", "volume"};
    char err[FEED_ERR_MAX];
    char shown[512];
    char got[64];
    struct testhost th;
    void *conf = configure(&th, a->fields);
    int rc = parse(&th, conf, a->body, a->len, err);

    escape(a->body, a->len, shown, sizeof shown);
    if (rc != 0) {
        fail_msg("accepted[%zu] \"%s\": refused: %s", k, shown, err);
    }
    if (th.nrecords != a->count) {
        fail_msg("accepted[%zu] \"%s\": %zu records, want %zu", k, shown,
                 th.nrecords, a->count);
    }
    for (size_t i = 0; i < a->count; i++) {
        const struct want *w = &a->records[i];
        const char *want[] = {w->ticket, w->login, w->volume};

        if (th.lines[i] != w->line) {
            fail_msg("accepted[%zu] \"%s\": record %zu is line %u, want %u", k,
                     shown, i, (unsigned)th.lines[i], (unsigned)w->line);
        }
        for (size_t f = 0; f < 3; f++) {
            const struct feed_value *v = &th.values_out[i * 3 + f];

            testhost_value(&th, i, f, got, sizeof got);
            if (strcmp(got, want[f]) != 0) {
                fail_msg("accepted[%zu] \"%s\": record %zu %s is \"%s\", "
                         "want \"%s\"",
                         k, shown, i, names[f], got, want[f]);
            }
            /* Zero copy: each value is a slice of the body itself. */
            assert_true(v->ptr >= a->body);
            assert_true(v->ptr + v->len <= a->body + a->len);
        }
    }
    unconfigure(&th, conf);
}

static void
every_accepted_body_yields_its_records_in_canonical_form(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof accepted / sizeof accepted[0]; k++) {
        check_accepted(k, &accepted[k]);
    }
    assert_int_equal(blocks_live, 0);
}

/* ---------------------------------------------------------------------
 * Refused bodies.
 */

struct refused {
    const char *fields; /* NULL: the default order */
    const char *body;
    size_t len;
    const char *err;
};

static const struct refused refused[] = {
    {NULL, BODY(""), "empty message"},
    /* Blank lines, other than the one final line end. */
    {NULL, BODY("\n"), "line 1: empty line"},
    {NULL, BODY("\r\n"), "line 1: empty line"},
    {NULL, BODY("\n7,42,1.5"), "line 1: empty line"},
    {NULL, BODY("7,42,1.5\n\n"), "line 2: empty line"},
    {NULL, BODY("7,42,1.5\r\n\r\n"), "line 2: empty line"},
    {NULL, BODY("7,42,1.5\n\r\n"), "line 2: empty line"},
    {NULL, BODY("7,42,1.5\n\n8,42,1.5"), "line 2: empty line"},
    {NULL, BODY("7,42,1.5\r\n\r\n8,42,1.5"), "line 2: empty line"},
    /* A '\r' that does not end a line is a byte like any other. */
    {NULL, BODY("\r"), "line 1: expected 3 fields, got 1"},
    {NULL, BODY("7,42,1.5\r"), "line 1: volume is not a number"},
    {NULL, BODY("7,42,1.5\r\r\n"), "line 1: volume is not a number"},
    {NULL, BODY("7,42,1.5\r8,42,1.5"), "line 1: expected 3 fields, got 5"},
    {NULL, BODY("7,42\r,1.5"), "line 1: login is not a number"},
    {NULL, BODY("7,42,1.5\n\r8,42,1.5"), "line 2: ticket is not a number"},
    {NULL, BODY("7,42,1.5\n\r"), "line 2: expected 3 fields, got 1"},
    /* Missing and extra fields. */
    {NULL, BODY("7"), "line 1: expected 3 fields, got 1"},
    {NULL, BODY("7,42"), "line 1: expected 3 fields, got 2"},
    {NULL, BODY("7,42,1.5,9"), "line 1: expected 3 fields, got 4"},
    {NULL, BODY("7,42,1.5,"), "line 1: expected 3 fields, got 4"},
    {NULL, BODY(",,,"), "line 1: expected 3 fields, got 4"},
    {NULL, BODY("7,42,1,5"), "line 1: expected 3 fields, got 4"},
    {NULL, BODY("7;42;1.5"), "line 1: expected 3 fields, got 1"},
    {NULL, BODY("7,42,1.5\n8,42"), "line 2: expected 3 fields, got 2"},
    {NULL, BODY("7,42,1.5\r\n8\r\n"), "line 2: expected 3 fields, got 1"},
    /* Empty fields. */
    {NULL, BODY(",,"), "line 1: ticket is empty"},
    {NULL, BODY(",42,1.5"), "line 1: ticket is empty"},
    {NULL, BODY("7,,1.5"), "line 1: login is empty"},
    {NULL, BODY("7,42,"), "line 1: volume is empty"},
    {NULL, BODY("7,42,\n"), "line 1: volume is empty"},
    /* Spaces and tabs, anywhere. */
    {NULL, BODY(" 7,42,1.5"), "line 1: ticket is not a number"},
    {NULL, BODY("7 ,42,1.5"), "line 1: ticket is not a number"},
    {NULL, BODY("7, 42,1.5"), "line 1: login is not a number"},
    {NULL, BODY("7,4 2,1.5"), "line 1: login is not a number"},
    {NULL, BODY("7,42,1. 5"), "line 1: volume is not a number"},
    {NULL, BODY("7,42,1.5 "), "line 1: volume is not a number"},
    {NULL, BODY("7,42,1.5 \n"), "line 1: volume is not a number"},
    {NULL, BODY("\t7,42,1.5"), "line 1: ticket is not a number"},
    {NULL, BODY("7,42\t,1.5"), "line 1: login is not a number"},
    {NULL, BODY("7,42,1.5\t"), "line 1: volume is not a number"},
    /* Signs. */
    {NULL, BODY("+7,42,1.5"), "line 1: ticket is not a number"},
    {NULL, BODY("-7,42,1.5"), "line 1: ticket is not a number"},
    {NULL, BODY("7,+42,1.5"), "line 1: login is not a number"},
    {NULL, BODY("7,-42,1.5"), "line 1: login is not a number"},
    {NULL, BODY("7,42,+1.5"), "line 1: volume is not a number"},
    {NULL, BODY("7,42,-1.5"), "line 1: volume is not a number"},
    {NULL, BODY("7,42,-0"), "line 1: volume is not a number"},
    /* Exponents, hex, nan and inf. */
    {NULL, BODY("1e5,42,1.5"), "line 1: ticket is not a number"},
    {NULL, BODY("7,1E5,1.5"), "line 1: login is not a number"},
    {NULL, BODY("7,42,1e5"), "line 1: volume is not a number"},
    {NULL, BODY("7,42,1.5e3"), "line 1: volume is not a number"},
    {NULL, BODY("7,42,1.5E-3"), "line 1: volume is not a number"},
    {NULL, BODY("0x10,42,1.5"), "line 1: ticket is not a number"},
    {NULL, BODY("7,0x2A,1.5"), "line 1: login is not a number"},
    {NULL, BODY("7,42,0x10"), "line 1: volume is not a number"},
    {NULL, BODY("7,42,0x1p3"), "line 1: volume is not a number"},
    {NULL, BODY("7,42,nan"), "line 1: volume is not a number"},
    {NULL, BODY("7,42,NaN"), "line 1: volume is not a number"},
    {NULL, BODY("7,42,inf"), "line 1: volume is not a number"},
    {NULL, BODY("7,42,INF"), "line 1: volume is not a number"},
    {NULL, BODY("7,42,infinity"), "line 1: volume is not a number"},
    {NULL, BODY("nan,42,1.5"), "line 1: ticket is not a number"},
    {NULL, BODY("7,inf,1.5"), "line 1: login is not a number"},
    /* Digits on both sides of the point, and one point at most. */
    {NULL, BODY("7,42,.5"), "line 1: volume is not a number"},
    {NULL, BODY("7,42,5."), "line 1: volume is not a number"},
    {NULL, BODY("7,42,."), "line 1: volume is not a number"},
    {NULL, BODY("7,42,1..2"), "line 1: volume is not a number"},
    {NULL, BODY("7,42,1.2.3"), "line 1: volume is not a number"},
    {NULL, BODY("7.0,42,1.5"), "line 1: ticket is not a number"},
    {NULL, BODY("7,42.0,1.5"), "line 1: login is not a number"},
    /* NUL bytes, checked before the fields are counted. */
    {NULL, BODY("7\0,42,1.5"), "line 1: NUL byte"},
    {NULL, BODY("7,4\0002,1.5"), "line 1: NUL byte"},
    {NULL, BODY("7,42,1.5\0"), "line 1: NUL byte"},
    {NULL, BODY("\0"), "line 1: NUL byte"},
    {NULL, BODY("7\0"), "line 1: NUL byte"},
    {NULL, BODY("7,42,1.5\n8,42\0,1.5"), "line 2: NUL byte"},
    /* 2^64 and more. */
    {NULL, BODY("18446744073709551616,42,1.5"),
     "line 1: ticket is out of range"},
    {NULL, BODY("00018446744073709551616,42,1.5"),
     "line 1: ticket is out of range"},
    {NULL, BODY("99999999999999999999,42,1.5"),
     "line 1: ticket is out of range"},
    {NULL, BODY("100000000000000000000,42,1.5"),
     "line 1: ticket is out of range"},
    {NULL, BODY("7,18446744073709551616,1.5"), "line 1: login is out of range"},
    {NULL, BODY("7,0000018446744073709551616,1.5"),
     "line 1: login is out of range"},
    {NULL, BODY("7,28446744073709551615,1.5"), "line 1: login is out of range"},
    /* Significant digits of a volume. */
    {NULL, BODY("7,42,12345678901234567"),
     "line 1: volume has more than 16 digits before the point"},
    {NULL, BODY("7,42,00012345678901234567.5"),
     "line 1: volume has more than 16 digits before the point"},
    {NULL, BODY("7,42,12345678901234567.12345"),
     "line 1: volume has more than 16 digits before the point"},
    {NULL, BODY("7,42,1.00001"),
     "line 1: volume has more than 4 digits after the point"},
    {NULL, BODY("7,42,1.123450"),
     "line 1: volume has more than 4 digits after the point"},
    {NULL, BODY("7,42,0.00000001"),
     "line 1: volume has more than 4 digits after the point"},
    /* Grammar before range, and fields in the order of the line. */
    {NULL, BODY("x,y,z"), "line 1: ticket is not a number"},
    {NULL, BODY("18446744073709551616x,42,1.5"),
     "line 1: ticket is not a number"},
    {NULL, BODY("7,x,12345678901234567"), "line 1: login is not a number"},
    {NULL, BODY("18446744073709551616,x,1.5"),
     "line 1: ticket is out of range"},
    {"login,ticket,volume", BODY("x,y,1.5"), "line 1: login is not a number"},
    {"login,ticket,volume", BODY("42,y,1.5"), "line 1: ticket is not a number"},
    {"login,ticket,volume", BODY("18446744073709551616,18446744073709551616,1"),
     "line 1: login is out of range"},
    {"volume,login,ticket", BODY("1.5.,x,y"), "line 1: volume is not a number"},
    {"volume,login,ticket", BODY(",,"), "line 1: volume is empty"},
    {"ticket,volume,login", BODY("7,,"), "line 1: volume is empty"},
    /* The first bad line is named, whatever follows. */
    {NULL, BODY("7,42,1.5\n8,42,x\n9,42,x"), "line 2: volume is not a number"},
    {NULL, BODY("7,42,1.5\n8,42,1.5\n9"), "line 3: expected 3 fields, got 1"},
    /* The same ticket with other values. */
    {NULL, BODY("7,42,1.5\n7,42,1.6"),
     "line 2: ticket 7 repeats line 1 with other values"},
    {NULL, BODY("7,42,1.5\n007,43,1.5"),
     "line 2: ticket 7 repeats line 1 with other values"},
    {NULL, BODY("0,42,1.5\n00,42,1.50001"),
     "line 2: volume has more than 4 digits after the point"},
    {NULL, BODY("7,42,1.5\n8,1,1\n7,42,1.5\n7,42,2"),
     "line 4: ticket 7 repeats line 1 with other values"},
    {NULL, BODY("9,1,1\n7,1,1\n9,1,2\n7,1,2"),
     "line 3: ticket 9 repeats line 1 with other values"},
    {NULL, BODY("7,1,1\n7,1,2\n8"),
     "line 2: ticket 7 repeats line 1 with other values"},
    {NULL, BODY("7,1,1\n8\n7,1,2"), "line 2: expected 3 fields, got 1"},
    {"login,ticket,volume",
     BODY("1,0018446744073709551615,1\n2,18446744073709551615,1"),
     "line 2: ticket 18446744073709551615 repeats line 1 with other values"},
};

static void
every_refused_body_is_refused_with_its_reason(void **state)
{
    char err[FEED_ERR_MAX];
    char shown[512];

    (void)state;
    for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++) {
        const struct refused *r = &refused[k];
        struct testhost th;
        void *conf = configure(&th, r->fields);
        int rc = parse(&th, conf, r->body, r->len, err);

        escape(r->body, r->len, shown, sizeof shown);
        if (rc != -1 || strcmp(err, r->err) != 0) {
            fail_msg("refused[%zu] \"%s\": got %d \"%s\", want \"%s\"", k,
                     shown, rc, err, r->err);
        }
        /* A refused request leaves nothing behind. */
        assert_int_equal(th.nrecords, 0);
        unconfigure(&th, conf);
    }
    assert_true(sizeof refused / sizeof refused[0] >= 60);
    assert_int_equal(blocks_live, 0);
}

/* ---------------------------------------------------------------------
 * Line length.
 */

/* A line of `width` bytes: a ticket padded with leading zeros. */
static void
pad_line(char *buf, size_t width, const char *rest)
{
    size_t tail = strlen(rest);

    memset(buf, '0', width - tail - 1);
    buf[width - tail - 1] = '7';
    memcpy(buf + width - tail, rest, tail + 1);
}

static void
a_256_byte_line_is_accepted_and_a_257_byte_line_is_refused(void **state)
{
    char body[600];
    char err[FEED_ERR_MAX];
    char got[64];
    struct testhost th;
    void *conf = configure(&th, NULL);

    (void)state;
    pad_line(body, 256, ",42,1.5");
    assert_int_equal(strlen(body), 256);
    assert_int_equal(parse(&th, conf, body, 256, err), 0);
    assert_int_equal(th.nrecords, 1);
    assert_string_equal(testhost_value(&th, 0, 0, got, sizeof got), "7");

    /* The line end does not count. */
    strcat(body, "\r\n");
    assert_int_equal(parse(&th, conf, body, 258, err), 0);
    assert_int_equal(th.nrecords, 1);

    pad_line(body, 257, ",42,1.5");
    assert_int_equal(parse(&th, conf, body, 257, err), -1);
    assert_string_equal(err, "line 1: line is longer than 256 bytes");
    strcat(body, "\n");
    assert_int_equal(parse(&th, conf, body, 258, err), -1);
    assert_string_equal(err, "line 1: line is longer than 256 bytes");

    /* A '\r' that ends no line is counted like any byte. */
    pad_line(body, 256, ",42,1.5");
    strcat(body, "\r");
    assert_int_equal(parse(&th, conf, body, 257, err), -1);
    assert_string_equal(err, "line 1: line is longer than 256 bytes");

    /* Length is checked first: before NUL bytes and the field count. */
    memset(body, 'x', 300);
    body[3] = '\0';
    assert_int_equal(parse(&th, conf, body, 300, err), -1);
    assert_string_equal(err, "line 1: line is longer than 256 bytes");

    /* On a later line, too. */
    memcpy(body, "1,2,3\n", 6);
    pad_line(body + 6, 257, ",42,1.5");
    assert_int_equal(parse(&th, conf, body, 6 + 257, err), -1);
    assert_string_equal(err, "line 2: line is longer than 256 bytes");
    assert_int_equal(th.nrecords, 0);
    unconfigure(&th, conf);
}

/* ---------------------------------------------------------------------
 * Large requests.
 */

static void
a_100000_line_request_is_parsed_quickly(void **state)
{
    char *body = build(MANY, "%zu,%zu,1.50\n");
    char err[FEED_ERR_MAX];
    char want[32];
    char got[32];
    struct testhost th;
    void *conf = configure(&th, NULL);
    double start = now_s();

    (void)state;
    assert_int_equal(parse(&th, conf, body, strlen(body), err), 0);
    /* Linear-ish work takes milliseconds; quadratic would take seconds. */
    assert_true(now_s() - start < 2.0);
    assert_int_equal(th.nrecords, MANY);
    for (size_t i = 0; i < MANY; i++) {
        snprintf(want, sizeof want, "%zu", i + 1);
        assert_int_equal(th.lines[i], i + 1);
        assert_string_equal(testhost_value(&th, i, 0, got, sizeof got), want);
        assert_string_equal(testhost_value(&th, i, 1, got, sizeof got), want);
        assert_string_equal(testhost_value(&th, i, 2, got, sizeof got), "1.5");
    }
    unconfigure(&th, conf);
    free(body);
    assert_int_equal(blocks_live, 0);
}

static void
a_100000_line_request_of_one_trade_yields_one_record(void **state)
{
    char *body = build(MANY, "7,42,1.5\n");
    char err[FEED_ERR_MAX];
    struct testhost th;
    void *conf = configure(&th, NULL);
    double start = now_s();

    (void)state;
    assert_int_equal(parse(&th, conf, body, strlen(body), err), 0);
    assert_true(now_s() - start < 2.0);
    assert_int_equal(th.nrecords, 1);
    assert_int_equal(th.lines[0], 1);
    unconfigure(&th, conf);
    free(body);
}

static void
a_conflicting_repeat_on_the_last_of_100000_lines_is_found(void **state)
{
    char *body = build(MANY, "%zu,%zu,1\n");
    size_t len = strlen(body);
    char err[FEED_ERR_MAX];
    struct testhost th;
    void *conf = configure(&th, NULL);

    (void)state;
    /* The last line, "100000,100000,1", becomes "000001,100000,1". */
    memcpy(body + len - 16, "000001", 6);
    assert_int_equal(parse(&th, conf, body, len, err), -1);
    assert_string_equal(
        err, "line 100000: ticket 1 repeats line 1 with other values");
    assert_int_equal(th.nrecords, 0);
    unconfigure(&th, conf);
    free(body);
}

static void
a_request_of_100000_one_byte_lines_is_refused_at_line_1(void **state)
{
    char *body = build(MANY, "7\n");
    char err[FEED_ERR_MAX];
    struct testhost th;
    void *conf = configure(&th, NULL);
    double start = now_s();

    (void)state;
    assert_int_equal(parse(&th, conf, body, 2 * MANY, err), -1);
    assert_string_equal(err, "line 1: expected 3 fields, got 1");
    assert_true(now_s() - start < 2.0);
    unconfigure(&th, conf);
    free(body);
}

static void
a_message_longer_than_4_gib_is_refused_before_it_is_read(void **state)
{
    char err[FEED_ERR_MAX];
    struct testhost th;
    void *conf = configure(&th, NULL);

    (void)state;
    /* Only the length is looked at: the byte behind it is never read. */
    assert_int_equal(parse(&th, conf, "7", (size_t)UINT32_MAX + 1, err), -1);
    assert_string_equal(err, "message is longer than 4294967295 bytes");
    unconfigure(&th, conf);
}

/* ---------------------------------------------------------------------
 * Memory.
 */

static void
requests_of_up_to_32_lines_do_not_allocate(void **state)
{
    char *body = build(32, "%zu,%zu,1.5\n");
    char err[FEED_ERR_MAX];
    struct testhost th;
    void *conf = configure(&th, NULL);
    long before = allocs_made;

    (void)state;
    assert_int_equal(parse(&th, conf, "7,42,1.5", 8, err), 0);
    assert_int_equal(parse(&th, conf, body, strlen(body), err), 0);
    assert_int_equal(th.nrecords, 32);
    assert_int_equal(allocs_made, before);

    /* A 33rd line moves the rows to the heap, and back they go. */
    strcat(body, "33,33,1\n");
    assert_int_equal(parse(&th, conf, body, strlen(body), err), 0);
    assert_int_equal(th.nrecords, 33);
    assert_true(allocs_made > before);
    unconfigure(&th, conf);
    free(body);
    assert_int_equal(blocks_live, 0);
}

static void
running_out_of_memory_refuses_the_request(void **state)
{
    char *body = build(100, "%zu,%zu,1.5\n");
    size_t len = strlen(body);
    char err[FEED_ERR_MAX];
    struct testhost th;
    void *conf = configure(&th, NULL);

    (void)state;
    /* Growing the rows fails. */
    allocs_left = 0;
    assert_int_equal(parse(&th, conf, body, len, err), -1);
    assert_string_equal(err, "out of memory");
    /* Growing works, sorting the tickets does not. */
    allocs_left = 2;
    assert_int_equal(parse(&th, conf, body, len, err), -1);
    assert_string_equal(err, "out of memory");
    assert_int_equal(th.nrecords, 0);
    assert_int_equal(blocks_live, 1); /* the conf: the rest was freed */

    /* A bad line's own reason stands when repeats cannot be looked for. */
    body[len - 2] = 'x';
    allocs_left = 2;
    assert_int_equal(parse(&th, conf, body, len, err), -1);
    assert_string_equal(err, "line 100: volume is not a number");

    /* A single line needs no memory at all. */
    allocs_left = 0;
    assert_int_equal(parse(&th, conf, "7,42,1.5\n", 9, err), 0);
    assert_int_equal(th.nrecords, 1);
    allocs_left = -1;
    unconfigure(&th, conf);
    free(body);
    assert_int_equal(blocks_live, 0);
}

static int
refusing_emit(struct feed_out *out, uint32_t line,
              const struct feed_value *values)
{
    (void)out;
    (void)line;
    (void)values;
    return -1;
}

static void
a_failing_emit_refuses_the_request_as_out_of_memory(void **state)
{
    char err[FEED_ERR_MAX];
    struct testhost th;
    void *conf = configure(&th, NULL);

    (void)state;
    /* The plugin kept the host pointer, so it sees the swap. */
    th.host.emit = refusing_emit;
    assert_int_equal(parse(&th, conf, "7,42,1.5\n8,42,1.5", 17, err), -1);
    assert_string_equal(err, "out of memory");
    unconfigure(&th, conf);
}

/* ---------------------------------------------------------------------
 * Configuration and the descriptor.
 */

struct bad_fields {
    const char *fields;
    const char *errors; /* as the test host collects them */
};

static const struct bad_fields bad_fields[] = {
    {"ticket,login", "[parser] fields: volume is missing\n"},
    {"login,volume", "[parser] fields: ticket is missing\n"},
    {"volume", "[parser] fields: ticket is missing\n"},
    {"ticket,ticket,volume", "[parser] fields: ticket is named twice\n"},
    {"ticket,login,login", "[parser] fields: login is named twice\n"},
    {"ticket,login,price",
     "[parser] fields: unknown field \"price\" (expected ticket, login or "
     "volume)\n"},
    {"Ticket,login,volume",
     "[parser] fields: unknown field \"Ticket\" (expected ticket, login or "
     "volume)\n"},
    {"ticket ,login,volume",
     "[parser] fields: unknown field \"ticket \" (expected ticket, login or "
     "volume)\n"},
    {"ticket,\tlogin,volume",
     "[parser] fields: unknown field \"\tlogin\" (expected ticket, login or "
     "volume)\n"},
    {"ticket;login;volume",
     "[parser] fields: unknown field \"ticket;login;volume\" (expected "
     "ticket, login or volume)\n"},
    {"ticket,login,volume,ticket",
     "[parser] fields: expected 3 names, got 4\n"},
    {"ticket,login,volume,price", "[parser] fields: expected 3 names, got 4\n"},
    {"ticket,login,volume,", "[parser] fields: expected 3 names, got 4\n"},
    {"ticket,,volume", "[parser] fields: empty field name\n"},
    {"", "[parser] fields: empty field name\n"},
    {"ticket,login, ", "[parser] fields: empty field name\n"},
};

static void
configure_refuses_a_bad_fields_list_and_says_why(void **state)
{
    char err[FEED_ERR_MAX];

    (void)state;
    for (size_t k = 0; k < sizeof bad_fields / sizeof bad_fields[0]; k++) {
        struct testhost th;
        void *conf;

        testhost_init(&th, "parser");
        testhost_set(&th, "fields", bad_fields[k].fields);
        err[0] = '\0';
        conf = feed_plugin.configure(&th.host, err, sizeof err);
        if (conf != NULL || strcmp(th.errors, bad_fields[k].errors) != 0) {
            fail_msg("bad_fields[%zu] \"%s\": got \"%s\", want \"%s\"", k,
                     bad_fields[k].fields, th.errors, bad_fields[k].errors);
        }
        testhost_fini(&th);
    }
    assert_int_equal(blocks_live, 0);
}

static void
configure_reads_fields_and_defaults_to_ticket_login_volume(void **state)
{
    char unused[64];
    struct testhost th;
    void *conf = configure(&th, "volume, ticket, login");

    (void)state;
    assert_string_equal(testhost_unused(&th, unused, sizeof unused), "");
    assert_string_equal(th.errors, "");
    unconfigure(&th, conf);

    conf = configure(&th, NULL);
    assert_string_equal(th.errors, "");
    unconfigure(&th, conf);
}

static void
configure_out_of_memory_says_so(void **state)
{
    char err[FEED_ERR_MAX] = "";
    struct testhost th;

    (void)state;
    testhost_init(&th, "parser");
    allocs_left = 0;
    assert_null(feed_plugin.configure(&th.host, err, sizeof err));
    allocs_left = -1;
    assert_string_equal(err, "out of memory");
    testhost_fini(&th);
}

static void
the_schema_is_ticket_login_volume_whatever_the_column_order(void **state)
{
    struct testhost th;
    void *conf = configure(&th, "volume,login,ticket");
    const struct feed_schema *s = feed_plugin.schema(&th.host, conf);

    (void)state;
    assert_int_equal(s->nfields, 3);
    assert_string_equal(s->fields[0].name, "ticket");
    assert_int_equal(s->fields[0].type, FEED_TYPE_UINT);
    assert_string_equal(s->fields[1].name, "login");
    assert_int_equal(s->fields[1].type, FEED_TYPE_UINT);
    assert_string_equal(s->fields[2].name, "volume");
    assert_int_equal(s->fields[2].type, FEED_TYPE_DECIMAL);
    unconfigure(&th, conf);
}

static void
the_descriptor_declares_a_parser(void **state)
{
    (void)state;
    assert_int_equal(feed_plugin.abi, FEED_ABI_MAJOR);
    assert_int_equal(feed_plugin.size, sizeof feed_plugin);
    assert_int_equal(feed_plugin.kind, FEED_KIND_PARSER);
    assert_string_equal(feed_plugin.name, "csv_trade");
    assert_string_equal(feed_plugin.version, "1.0.0");
    assert_non_null(feed_plugin.summary);
    assert_null(strchr(feed_plugin.summary, '\n'));
    assert_non_null(feed_plugin.configure);
    assert_non_null(feed_plugin.unconfigure);
    assert_non_null(feed_plugin.schema);
    assert_non_null(feed_plugin.parse);
    assert_null(feed_plugin.open);
    assert_null(feed_plugin.write);
    /* unconfigure() takes NULL. */
    feed_plugin.unconfigure(NULL, NULL);
}

/* Every test starts with memory to spare, whatever the last one left. */
static int
reset_allocs(void **state)
{
    (void)state;
    allocs_left = -1;
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(
            every_accepted_body_yields_its_records_in_canonical_form,
            reset_allocs),
        cmocka_unit_test_setup(every_refused_body_is_refused_with_its_reason,
                               reset_allocs),
        cmocka_unit_test_setup(
            a_256_byte_line_is_accepted_and_a_257_byte_line_is_refused,
            reset_allocs),
        cmocka_unit_test_setup(a_100000_line_request_is_parsed_quickly,
                               reset_allocs),
        cmocka_unit_test_setup(
            a_100000_line_request_of_one_trade_yields_one_record, reset_allocs),
        cmocka_unit_test_setup(
            a_conflicting_repeat_on_the_last_of_100000_lines_is_found,
            reset_allocs),
        cmocka_unit_test_setup(
            a_request_of_100000_one_byte_lines_is_refused_at_line_1,
            reset_allocs),
        cmocka_unit_test_setup(
            a_message_longer_than_4_gib_is_refused_before_it_is_read,
            reset_allocs),
        cmocka_unit_test_setup(requests_of_up_to_32_lines_do_not_allocate,
                               reset_allocs),
        cmocka_unit_test_setup(running_out_of_memory_refuses_the_request,
                               reset_allocs),
        cmocka_unit_test_setup(
            a_failing_emit_refuses_the_request_as_out_of_memory, reset_allocs),
        cmocka_unit_test_setup(configure_refuses_a_bad_fields_list_and_says_why,
                               reset_allocs),
        cmocka_unit_test_setup(
            configure_reads_fields_and_defaults_to_ticket_login_volume,
            reset_allocs),
        cmocka_unit_test_setup(configure_out_of_memory_says_so, reset_allocs),
        cmocka_unit_test_setup(
            the_schema_is_ticket_login_volume_whatever_the_column_order,
            reset_allocs),
        cmocka_unit_test_setup(the_descriptor_declares_a_parser, reset_allocs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
