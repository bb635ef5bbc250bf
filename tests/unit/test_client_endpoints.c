/*
 * test_client_endpoints.c - client/endpoints.c: splitting endpoint lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "endpoints.h"

static void
endpoints_split_a_list_and_trim_the_blanks(void **state)
{
    struct endpoints ep = {0};
    char err[128];

    (void)state;
    assert_int_equal(endpoints_add(&ep, "tcp://a:1, tcp://b:2 ,\ttcp://c:3",
                                   err, sizeof err),
                     0);
    assert_int_equal(ep.n, 3);
    assert_string_equal(ep.item[0], "tcp://a:1");
    assert_string_equal(ep.item[1], "tcp://b:2");
    assert_string_equal(ep.item[2], "tcp://c:3");
    endpoints_free(&ep);
    assert_int_equal(ep.n, 0);
    assert_null(ep.item);
}

static void
endpoints_append_a_second_list(void **state)
{
    struct endpoints ep = {0};
    char err[128];

    (void)state;
    assert_int_equal(endpoints_add(&ep, "tcp://a:1", err, sizeof err), 0);
    assert_int_equal(endpoints_add(&ep, "tcp://b:2,tcp://c:3", err, sizeof err),
                     0);
    assert_int_equal(ep.n, 3);
    assert_string_equal(ep.item[2], "tcp://c:3");
    endpoints_free(&ep);
}

static void
endpoints_refuse_an_empty_item(void **state)
{
    const char *bad[] = {"", " ", "tcp://a:1,", ",tcp://a:1", "a, ,b"};
    char err[128];

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct endpoints ep = {0};
        char want[128];

        assert_int_equal(endpoints_add(&ep, bad[i], err, sizeof err), -1);
        snprintf(want, sizeof want,
                 "invalid endpoint list \"%s\": an endpoint is empty", bad[i]);
        assert_string_equal(err, want);
        endpoints_free(&ep);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(endpoints_split_a_list_and_trim_the_blanks),
        cmocka_unit_test(endpoints_append_a_second_list),
        cmocka_unit_test(endpoints_refuse_an_empty_item),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
