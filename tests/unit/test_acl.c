/*
 * test_acl.c - zmq_rep's allow list: what it accepts, what it refuses and
 * why, and which peer addresses it lets in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "acl.h"

static struct acl *
parse_ok(const char *list)
{
    struct acl *acl = NULL;
    char err[256] = "";

    assert_int_equal(acl_parse(list, &acl, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_non_null(acl);
    return acl;
}

static void
an_absent_list_allows_any_address(void **state)
{
    (void)state;
    assert_true(acl_allows(NULL, "127.0.0.1"));
    assert_true(acl_allows(NULL, "::1"));
    assert_int_equal(acl_size(NULL), 0);
    acl_free(NULL);
}

static void
addresses_and_networks_of_both_families_match(void **state)
{
    struct acl *acl =
        parse_ok(" 127.0.0.1,10.20.0.0/16 , ::1, fd00::/8,192.0.2.128/25");

    (void)state;
    assert_int_equal(acl_size(acl), 5);
    assert_true(acl_allows(acl, "127.0.0.1"));
    assert_false(acl_allows(acl, "127.0.0.2"));
    assert_true(acl_allows(acl, "10.20.255.7"));
    assert_false(acl_allows(acl, "10.21.0.1"));
    assert_true(acl_allows(acl, "192.0.2.200"));
    assert_false(acl_allows(acl, "192.0.2.127"));
    assert_true(acl_allows(acl, "::1"));
    assert_false(acl_allows(acl, "::2"));
    assert_true(acl_allows(acl, "fd12:3456::1"));
    assert_false(acl_allows(acl, "fe80::1"));
    acl_free(acl);
}

static void
an_ipv4_peer_on_an_ipv6_socket_matches_the_ipv4_entries(void **state)
{
    struct acl *acl = parse_ok("10.0.0.0/8");

    (void)state;
    assert_true(acl_allows(acl, "::ffff:10.1.2.3"));
    assert_false(acl_allows(acl, "::ffff:11.1.2.3"));
    acl_free(acl);
}

static void
a_zone_does_not_change_the_peer(void **state)
{
    struct acl *acl = parse_ok("fe80::/10");

    (void)state;
    assert_true(acl_allows(acl, "fe80::1%eth0"));
    acl_free(acl);
}

static void
prefix_zero_allows_the_whole_family(void **state)
{
    struct acl *acl = parse_ok("0.0.0.0/0");

    (void)state;
    assert_true(acl_allows(acl, "203.0.113.9"));
    assert_false(acl_allows(acl, "::1"));
    acl_free(acl);
}

static void
an_address_that_does_not_parse_is_never_allowed(void **state)
{
    struct acl *acl = parse_ok("0.0.0.0/0, ::/0");

    (void)state;
    assert_false(acl_allows(acl, "localhost"));
    assert_false(acl_allows(acl, ""));
    assert_false(acl_allows(acl, "1.2.3.4.5"));
    assert_false(acl_allows(acl, "0123456789012345678901234567890123456789"
                                 "0123456789"));
    acl_free(acl);
}

static void
refuses_each_bad_list_with_its_reason(void **state)
{
    static const struct {
        const char *list;
        const char *why;
    } cases[] = {
        {"localhost",
         "\"localhost\" is not an IPv4 or IPv6 address or network (CIDR)"},
        {"10.0.0.0/8/8", "\"10.0.0.0/8/8\": the prefix length must be 0 to 32"},
        {"0123456789012345678901234567890123456789012345678901234567",
         "\"0123456789012345678901234567890123456789012345678901234567\" is "
         "not an IPv4 or IPv6 address or network (CIDR)"},
        {"10.0.0.0/33", "\"10.0.0.0/33\": the prefix length must be 0 to 32"},
        {"::/129", "\"::/129\": the prefix length must be 0 to 128"},
        {"10.0.0.0/", "\"10.0.0.0/\": the prefix length must be 0 to 32"},
        {"10.0.0.0/-1", "\"10.0.0.0/-1\": the prefix length must be 0 to 32"},
        {"10.0.0.0/8x", "\"10.0.0.0/8x\": the prefix length must be 0 to 32"},
        {"::ffff:10.0.0.1",
         "\"::ffff:10.0.0.1\": write IPv4-mapped addresses as IPv4"},
        {"10.20.1.0/16",
         "\"10.20.1.0/16\" has address bits set past its /16 prefix"},
        {"fd00::1/8", "\"fd00::1/8\" has address bits set past its /8 prefix"},
        {"127.0.0.1,,::1", "an empty entry in the list"},
        {"127.0.0.1, ", "an empty entry in the list"},
        {"", "an empty entry in the list"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct acl *acl = (struct acl *)1;
        char err[256] = "";

        assert_int_equal(acl_parse(cases[i].list, &acl, err, sizeof err), -1);
        assert_string_equal(err, cases[i].why);
        assert_null(acl);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_absent_list_allows_any_address),
        cmocka_unit_test(addresses_and_networks_of_both_families_match),
        cmocka_unit_test(
            an_ipv4_peer_on_an_ipv6_socket_matches_the_ipv4_entries),
        cmocka_unit_test(a_zone_does_not_change_the_peer),
        cmocka_unit_test(prefix_zero_allows_the_whole_family),
        cmocka_unit_test(an_address_that_does_not_parse_is_never_allowed),
        cmocka_unit_test(refuses_each_bad_list_with_its_reason),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
