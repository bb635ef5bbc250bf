/*
 * test_mysql_fee_hosts.c - mysql_fee's `host` list and its ready rule.
 *
 * Links plugins/mysql_fee/hosts.c alone (it is pure): lists accepted with
 * the hosts they give, lists refused with their exact reason, and the
 * wsrep values that make a server ready or not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../plugins/mysql_fee/mysql_fee.h"

/* A list accepted, with the "name|port" of each host it gives. */
struct good {
    const char *list;
    const char *hosts[4]; /* NULL after the last */
    const char *where[4];
};

/* A list refused, with its reason. */
struct bad {
    const char *list;
    const char *err;
};

static void
check_good(const struct good *g)
{
    struct dbhost hosts[HOSTS_MAX];
    char err[FEED_ERR_MAX] = "";
    size_t n = 99;
    size_t want = 0;

    if (hosts_parse(g->list, 3306, hosts, HOSTS_MAX, &n, err, sizeof err) ==
        -1) {
        fail_msg("\"%s\" refused: %s", g->list, err);
    }
    while (want < 4 && g->hosts[want] != NULL) {
        want++;
    }
    if (n != want) {
        fail_msg("\"%s\": %zu hosts, want %zu", g->list, n, want);
    }
    for (size_t i = 0; i < n; i++) {
        char got[300];

        snprintf(got, sizeof got, "%.255s|%u", hosts[i].name, hosts[i].port);
        if (strcmp(got, g->hosts[i]) != 0 ||
            strcmp(hosts[i].where, g->where[i]) != 0) {
            fail_msg("\"%s\" item %zu: %s as %s, want %s as %s", g->list, i + 1,
                     got, hosts[i].where, g->hosts[i], g->where[i]);
        }
    }
}

static void
check_bad(const struct bad *b)
{
    struct dbhost hosts[HOSTS_MAX];
    char err[FEED_ERR_MAX] = "";
    size_t n = 99;

    if (hosts_parse(b->list, 3306, hosts, HOSTS_MAX, &n, err, sizeof err) !=
        -1) {
        fail_msg("\"%s\" accepted, want: %s", b->list, b->err);
    }
    if (strcmp(err, b->err) != 0) {
        fail_msg("\"%s\": \"%s\", want \"%s\"", b->list, err, b->err);
    }
    assert_int_equal(n, 99);
}

static void
a_single_name_takes_the_default_port(void **state)
{
    static const struct good g = {
        "127.0.0.1", {"127.0.0.1|3306"}, {"127.0.0.1:3306"}};

    (void)state;
    check_good(&g);
}

static void
a_list_keeps_its_order_and_its_ports_with_blanks_after_commas(void **state)
{
    static const struct good cases[] = {
        {"db1:3306, db2:3307, db3",
         {"db1|3306", "db2|3307", "db3|3306"},
         {"db1:3306", "db2:3307", "db3:3306"}},
        {"db1,db2", {"db1|3306", "db2|3306"}, {"db1:3306", "db2:3306"}},
        {" db1 ,\tdb2:1 ", {"db1|3306", "db2|1"}, {"db1:3306", "db2:1"}},
        {"db1:65535,db1:00042",
         {"db1|65535", "db1|42"},
         {"db1:65535", "db1:42"}},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check_good(&cases[i]);
    }
}

static void
ipv6_addresses_take_brackets_for_a_port(void **state)
{
    static const struct good cases[] = {
        {"[::1]:3307", {"::1|3307"}, {"[::1]:3307"}},
        {"[::1]", {"::1|3306"}, {"[::1]:3306"}},
        {"::1", {"::1|3306"}, {"[::1]:3306"}},
        {"[fe80::1]:1, 127.0.0.1:2",
         {"fe80::1|1", "127.0.0.1|2"},
         {"[fe80::1]:1", "127.0.0.1:2"}},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check_good(&cases[i]);
    }
}

static void
an_empty_item_is_refused_by_its_number(void **state)
{
    static const struct bad cases[] = {
        {"", "item 1 is empty"},
        {"db1,,db2", "item 2 is empty"},
        {"db1, ", "item 2 is empty"},
        {" ,db1", "item 1 is empty"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check_bad(&cases[i]);
    }
}

static void
a_bad_port_is_refused_naming_the_item(void **state)
{
    static const struct bad cases[] = {
        {"db1:x", "\"db1:x\": port \"x\" is not a number"},
        {"db1, db2:", "\"db2:\": port \"\" is not a number"},
        {"db1:33 06", "\"db1:33 06\": port \"33 06\" is not a number"},
        {"db1:-1", "\"db1:-1\": port \"-1\" is not a number"},
        {"[::1]:p", "\"[::1]:p\": port \"p\" is not a number"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check_bad(&cases[i]);
    }
}

static void
a_port_out_of_range_is_refused_naming_the_item(void **state)
{
    static const struct bad cases[] = {
        {"db1:0", "\"db1:0\": port 0 is out of range 1-65535"},
        {"db1:65536", "\"db1:65536\": port 65536 is out of range 1-65535"},
        {"db1:99999999999999999999",
         "\"db1:99999999999999999999\": port 99999999999999999999 is out of "
         "range 1-65535"},
        {"[::1]:70000", "\"[::1]:70000\": port 70000 is out of range 1-65535"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check_bad(&cases[i]);
    }
}

static void
an_unclosed_bracket_is_refused(void **state)
{
    static const struct bad cases[] = {
        {"[::1", "\"[::1\": '[' is not closed"},
        {"db1, [::1:3306", "\"[::1:3306\": '[' is not closed"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check_bad(&cases[i]);
    }
}

static void
other_malformed_items_are_refused_with_their_reason(void **state)
{
    static const struct bad cases[] = {
        {"[::1]3306", "\"[::1]3306\": expected ':' after ']'"},
        {":3306", "\":3306\": no host name"},
        {"[]:3306", "\"[]:3306\": no host name"},
        {"db 1", "\"db 1\": unexpected ' ' in the host name"},
        {"db1]:1", "\"db1]:1\": unexpected ']' in the host name"},
        {"[a[b]", "\"[a[b]\": unexpected '[' in the host name"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check_bad(&cases[i]);
    }
}

static void
a_name_longer_than_255_bytes_is_refused(void **state)
{
    char list[300];
    char want[400];
    struct bad b = {list, want};

    (void)state;
    memset(list, 'a', 256);
    list[256] = '\0';
    snprintf(want, sizeof want, "\"%s\": host name longer than 255 bytes",
             list);
    check_bad(&b);
    list[255] = '\0';
    {
        struct dbhost hosts[1];
        char err[FEED_ERR_MAX];
        size_t n;

        assert_int_equal(hosts_parse(list, 1, hosts, 1, &n, err, sizeof err),
                         0);
        assert_int_equal(strlen(hosts[0].name), 255);
    }
}

static void
more_hosts_than_the_list_holds_are_refused(void **state)
{
    static const struct bad b = {"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q",
                                 "more than 16 hosts"};
    struct dbhost hosts[HOSTS_MAX];
    char err[FEED_ERR_MAX];
    size_t n;

    (void)state;
    check_bad(&b);
    assert_int_equal(hosts_parse("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", 1, hosts,
                                 HOSTS_MAX, &n, err, sizeof err),
                     0);
    assert_int_equal(n, 16);
}

static void
a_plain_server_is_ready_and_a_galera_node_only_when_wsrep_ready(void **state)
{
    (void)state;
    assert_int_equal(hosts_ready(NULL, NULL), 1);
    assert_int_equal(hosts_ready("OFF", NULL), 1);
    assert_int_equal(hosts_ready("OFF", "OFF"), 1);
    assert_int_equal(hosts_ready("ON", "ON"), 1);
    assert_int_equal(hosts_ready("on", "on"), 1);
    assert_int_equal(hosts_ready("ON", "OFF"), 0);
    assert_int_equal(hosts_ready("ON", NULL), 0);
    assert_int_equal(hosts_ready("ON", ""), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_single_name_takes_the_default_port),
        cmocka_unit_test(
            a_list_keeps_its_order_and_its_ports_with_blanks_after_commas),
        cmocka_unit_test(ipv6_addresses_take_brackets_for_a_port),
        cmocka_unit_test(an_empty_item_is_refused_by_its_number),
        cmocka_unit_test(a_bad_port_is_refused_naming_the_item),
        cmocka_unit_test(a_port_out_of_range_is_refused_naming_the_item),
        cmocka_unit_test(an_unclosed_bracket_is_refused),
        cmocka_unit_test(other_malformed_items_are_refused_with_their_reason),
        cmocka_unit_test(a_name_longer_than_255_bytes_is_refused),
        cmocka_unit_test(more_hosts_than_the_list_holds_are_refused),
        cmocka_unit_test(
            a_plain_server_is_ready_and_a_galera_node_only_when_wsrep_ready),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
