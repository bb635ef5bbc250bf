/*
 * test_metrics.c - the text of /metrics, the listener's address, and the
 * listener itself answering over loopback.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"

#include "health.h"
#include "metrics.h"
#include "scrape.h"

/* A sample with every figure different, to see each land in its place. */
static void
known_sample(struct metrics_sample *s)
{
    memset(s, 0, sizeof *s);
    s->version = "9.8.7";
    s->counter[STATS_RECEIVED] = 11;
    s->counter[STATS_ACCEPTED] = 7;
    s->counter[STATS_REJECTED] = 4;
    s->counter[STATS_COMMITTED] = 21;
    s->counter[STATS_RETRIES] = 2;
    s->counter[STATS_PEERS_REFUSED] = 3;
    s->dead_letter_errors = 1;
    s->queue_records = 5;
    s->queue_max = 100;
    s->workers = 4;
    s->workers_connected = 3;
    s->stalled = 1;
    s->healthy = 0;
    /* Commits: 2 at <= 100 us, 1 at <= 2.5 ms, 1 past 30 s. */
    s->histogram[STATS_COMMIT_TIME].count[0] = 2;
    s->histogram[STATS_COMMIT_TIME].count[4] = 1;
    s->histogram[STATS_COMMIT_TIME].count[STATS_BOUNDS] = 1;
    s->histogram[STATS_COMMIT_TIME].sum_us = 31002150;
    s->histogram[STATS_ACK_DELAY].count[16] = 1;
    s->histogram[STATS_ACK_DELAY].sum_us = 12000000;
}

static const char expected[] =
    "# HELP feed_build_info The running feed-core's version.\n"
    "# TYPE feed_build_info gauge\n"
    "feed_build_info{version=\"9.8.7\"} 1\n"
    "# HELP feed_messages_received_total Requests read from the source.\n"
    "# TYPE feed_messages_received_total counter\n"
    "feed_messages_received_total 11\n"
    "# HELP feed_messages_accepted_total Requests answered TRUE.\n"
    "# TYPE feed_messages_accepted_total counter\n"
    "feed_messages_accepted_total 7\n"
    "# HELP feed_messages_rejected_total Requests refused (answered FALSE, "
    "or dead-lettered when no reply was possible).\n"
    "# TYPE feed_messages_rejected_total counter\n"
    "feed_messages_rejected_total 4\n"
    "# HELP feed_rows_committed_total Records committed by the sink.\n"
    "# TYPE feed_rows_committed_total counter\n"
    "feed_rows_committed_total 21\n"
    "# HELP feed_sink_retries_total Sink writes and connects that failed "
    "and are retried.\n"
    "# TYPE feed_sink_retries_total counter\n"
    "feed_sink_retries_total 2\n"
    "# HELP feed_dead_letter_errors_total Writes to the dead_letter file "
    "that failed.\n"
    "# TYPE feed_dead_letter_errors_total counter\n"
    "feed_dead_letter_errors_total 1\n"
    "# HELP feed_peers_refused_total Peers the source refused to connect.\n"
    "# TYPE feed_peers_refused_total counter\n"
    "feed_peers_refused_total 3\n"
    "# HELP feed_queue_records Records waiting in the queue.\n"
    "# TYPE feed_queue_records gauge\n"
    "feed_queue_records 5\n"
    "# HELP feed_queue_max_records Records the queue holds before the "
    "source waits (queue_max).\n"
    "# TYPE feed_queue_max_records gauge\n"
    "feed_queue_max_records 100\n"
    "# HELP feed_workers Sink workers configured (threads).\n"
    "# TYPE feed_workers gauge\n"
    "feed_workers 4\n"
    "# HELP feed_workers_connected Sink workers whose database connection "
    "works.\n"
    "# TYPE feed_workers_connected gauge\n"
    "feed_workers_connected 3\n"
    "# HELP feed_sink_calls_stalled Sink calls that have been running for "
    "10 seconds or more.\n"
    "# TYPE feed_sink_calls_stalled gauge\n"
    "feed_sink_calls_stalled 1\n"
    "# HELP feed_healthy 1 when /healthz answers 200, else 0.\n"
    "# TYPE feed_healthy gauge\n"
    "feed_healthy 0\n"
    "# HELP feed_commit_duration_seconds Duration of each sink "
    "transaction, whatever its outcome.\n"
    "# TYPE feed_commit_duration_seconds histogram\n"
    "feed_commit_duration_seconds_bucket{le=\"0.0001\"} 2\n"
    "feed_commit_duration_seconds_bucket{le=\"0.00025\"} 2\n"
    "feed_commit_duration_seconds_bucket{le=\"0.0005\"} 2\n"
    "feed_commit_duration_seconds_bucket{le=\"0.001\"} 2\n"
    "feed_commit_duration_seconds_bucket{le=\"0.0025\"} 3\n"
    "feed_commit_duration_seconds_bucket{le=\"0.005\"} 3\n"
    "feed_commit_duration_seconds_bucket{le=\"0.01\"} 3\n"
    "feed_commit_duration_seconds_bucket{le=\"0.025\"} 3\n"
    "feed_commit_duration_seconds_bucket{le=\"0.05\"} 3\n"
    "feed_commit_duration_seconds_bucket{le=\"0.1\"} 3\n"
    "feed_commit_duration_seconds_bucket{le=\"0.25\"} 3\n"
    "feed_commit_duration_seconds_bucket{le=\"0.5\"} 3\n"
    "feed_commit_duration_seconds_bucket{le=\"1\"} 3\n"
    "feed_commit_duration_seconds_bucket{le=\"2.5\"} 3\n"
    "feed_commit_duration_seconds_bucket{le=\"5\"} 3\n"
    "feed_commit_duration_seconds_bucket{le=\"10\"} 3\n"
    "feed_commit_duration_seconds_bucket{le=\"30\"} 3\n"
    "feed_commit_duration_seconds_bucket{le=\"+Inf\"} 4\n"
    "feed_commit_duration_seconds_sum 31.00215\n"
    "feed_commit_duration_seconds_count 4\n"
    "# HELP feed_ack_delay_seconds Time from receiving a request to "
    "sending its reply.\n"
    "# TYPE feed_ack_delay_seconds histogram\n"
    "feed_ack_delay_seconds_bucket{le=\"0.0001\"} 0\n"
    "feed_ack_delay_seconds_bucket{le=\"0.00025\"} 0\n"
    "feed_ack_delay_seconds_bucket{le=\"0.0005\"} 0\n"
    "feed_ack_delay_seconds_bucket{le=\"0.001\"} 0\n"
    "feed_ack_delay_seconds_bucket{le=\"0.0025\"} 0\n"
    "feed_ack_delay_seconds_bucket{le=\"0.005\"} 0\n"
    "feed_ack_delay_seconds_bucket{le=\"0.01\"} 0\n"
    "feed_ack_delay_seconds_bucket{le=\"0.025\"} 0\n"
    "feed_ack_delay_seconds_bucket{le=\"0.05\"} 0\n"
    "feed_ack_delay_seconds_bucket{le=\"0.1\"} 0\n"
    "feed_ack_delay_seconds_bucket{le=\"0.25\"} 0\n"
    "feed_ack_delay_seconds_bucket{le=\"0.5\"} 0\n"
    "feed_ack_delay_seconds_bucket{le=\"1\"} 0\n"
    "feed_ack_delay_seconds_bucket{le=\"2.5\"} 0\n"
    "feed_ack_delay_seconds_bucket{le=\"5\"} 0\n"
    "feed_ack_delay_seconds_bucket{le=\"10\"} 0\n"
    "feed_ack_delay_seconds_bucket{le=\"30\"} 1\n"
    "feed_ack_delay_seconds_bucket{le=\"+Inf\"} 1\n"
    "feed_ack_delay_seconds_sum 12\n"
    "feed_ack_delay_seconds_count 1\n";

/* ------------------------------------------------------------------ */

static void
a_known_sample_renders_exactly(void **state)
{
    struct metrics_sample s;
    char page[16384];
    int n;

    (void)state;
    known_sample(&s);
    n = metrics_render(&s, page, sizeof page);
    assert_string_equal(page, expected);
    assert_int_equal(n, (int)strlen(expected));
}

static void
a_page_that_does_not_fit_is_refused(void **state)
{
    struct metrics_sample s;
    char page[sizeof expected - 1];

    (void)state;
    known_sample(&s);
    assert_int_equal(metrics_render(&s, page, sizeof page), -1);
    assert_int_equal(metrics_render(&s, page, 0), -1);
}

static void
a_page_exactly_large_enough_fits(void **state)
{
    struct metrics_sample s;
    char page[sizeof expected];

    (void)state;
    known_sample(&s);
    assert_int_equal(metrics_render(&s, page, sizeof page),
                     (int)sizeof expected - 1);
}

static void
a_live_sample_reads_the_counters_and_health(void **state)
{
    struct metrics_sample s;

    (void)state;
    health_reset(2);
    health_source_bound(1);
    health_connected(1, 1);
    stats_add(STATS_PEERS_REFUSED, 5);
    metrics_sample_now(&s, NULL, 77);
    assert_int_equal(s.counter[STATS_PEERS_REFUSED],
                     stats_get(STATS_PEERS_REFUSED));
    assert_int_equal(s.queue_records, 0);
    assert_int_equal(s.queue_max, 77);
    assert_int_equal(s.workers, 2);
    assert_int_equal(s.workers_connected, 1);
    assert_int_equal(s.healthy, 0);
    health_connected(2, 1);
    metrics_sample_now(&s, NULL, 77);
    assert_int_equal(s.healthy, 1);
    assert_int_equal(s.stalled, 0);
}

/* parse_ok SPEC: parses, and returns the family and port. */
static int
parse_ok(const char *spec, unsigned *port)
{
    struct sockaddr_storage a;
    socklen_t len;
    char err[256] = "";

    assert_int_equal(metrics_parse_addr(spec, &a, &len, err, sizeof err), 0);
    assert_string_equal(err, "");
    if (a.ss_family == AF_INET) {
        assert_int_equal(len, sizeof(struct sockaddr_in));
        *port = ntohs(((struct sockaddr_in *)&a)->sin_port);
    } else {
        assert_int_equal(len, sizeof(struct sockaddr_in6));
        *port = ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
    }
    return a.ss_family;
}

static void
ipv4_and_bracketed_ipv6_addresses_parse(void **state)
{
    unsigned port;

    (void)state;
    assert_int_equal(parse_ok("127.0.0.1:9464", &port), AF_INET);
    assert_int_equal(port, 9464);
    assert_int_equal(parse_ok("[::1]:1", &port), AF_INET6);
    assert_int_equal(port, 1);
    assert_int_equal(parse_ok("0.0.0.0:65535", &port), AF_INET);
    assert_int_equal(port, 65535);
    assert_int_equal(parse_ok("[::]:80", &port), AF_INET6);
}

static void
bad_addresses_say_what_is_wrong(void **state)
{
    static const struct {
        const char *spec;
        const char *err;
    } cases[] = {
        {"127.0.0.1", "expected ADDRESS:PORT, such as 127.0.0.1:9464 or "
                      "[::1]:9464"},
        {"127.0.0.1:", "expected ADDRESS:PORT, such as 127.0.0.1:9464 or "
                       "[::1]:9464"},
        {"127.0.0.1:0", "port must be a number from 1 to 65535"},
        {"127.0.0.1:65536", "port must be a number from 1 to 65535"},
        {"127.0.0.1:+80", "port must be a number from 1 to 65535"},
        {"127.0.0.1:80x", "port must be a number from 1 to 65535"},
        {":9464", "expected a numeric IPv4 or [IPv6] address before the "
                  "port"},
        {"[]:9464", "expected a numeric IPv4 or [IPv6] address before the "
                    "port"},
        {"localhost:9464", "not a numeric IPv4 or [IPv6] address: "
                           "\"localhost\""},
        {"::1:9464", "not a numeric IPv4 or [IPv6] address: \"::1\""},
        {"[127.0.0.1]:9464", "not a numeric IPv4 or [IPv6] address: "
                             "\"127.0.0.1\""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sockaddr_storage a;
        socklen_t len;
        char err[256] = "";

        assert_int_equal(
            metrics_parse_addr(cases[i].spec, &a, &len, err, sizeof err), -1);
        assert_string_equal(err, cases[i].err);
    }
}

static void
the_listener_answers_metrics_healthz_and_404(void **state)
{
    char spec[64];
    char err[256] = "";
    char body[32768];
    struct metrics *m;
    int status = 0;

    (void)state;
    snprintf(spec, sizeof spec, "127.0.0.1:%u", scratch_free_port());
    health_reset(1);
    health_source_bound(1);
    health_connected(1, 1);
    m = metrics_open(spec, NULL, 10, err, sizeof err);
    assert_non_null(m);
    assert_int_equal(scrape_get(spec, "/healthz", &status, body, sizeof body,
                                err, sizeof err),
                     0);
    assert_int_equal(status, 200);
    assert_string_equal(body, "ok\n");
    assert_int_equal(scrape_get(spec, "/metrics", &status, body, sizeof body,
                                err, sizeof err),
                     0);
    assert_int_equal(status, 200);
    assert_true(scrape_value(body, "feed_workers_connected") == 1);
    assert_true(scrape_value(body, "feed_queue_max_records") == 10);
    assert_true(scrape_value(body, "feed_build_info{") == 1);
    assert_true(scrape_value(body, "feed_no_such_series") == -1);
    assert_int_equal(
        scrape_get(spec, "/other", &status, body, sizeof body, err, sizeof err),
        0);
    assert_int_equal(status, 404);
    health_connected(1, 0);
    assert_int_equal(scrape_get(spec, "/healthz", &status, body, sizeof body,
                                err, sizeof err),
                     0);
    assert_int_equal(status, 503);
    assert_string_equal(body, "1 of 1 workers not connected\n");
    metrics_close(m);
    assert_int_equal(scrape_get(spec, "/healthz", &status, body, sizeof body,
                                err, sizeof err),
                     SCRAPE_DOWN);
}

static void
a_port_in_use_fails_with_the_reason(void **state)
{
    char spec[64];
    char want[128];
    char err[256] = "";
    struct metrics *m;

    (void)state;
    snprintf(spec, sizeof spec, "127.0.0.1:%u", scratch_free_port());
    m = metrics_open(spec, NULL, 10, err, sizeof err);
    assert_non_null(m);
    assert_null(metrics_open(spec, NULL, 10, err, sizeof err));
    snprintf(want, sizeof want,
             "metrics %s: cannot bind: Address already "
             "in use",
             spec);
    assert_string_equal(err, want);
    metrics_close(m);
    metrics_close(NULL);
}

static void
an_unreachable_listener_is_reported_as_down(void **state)
{
    char spec[64];
    char want[192];
    char err[256] = "";
    FILE *out = tmpfile();

    (void)state;
    snprintf(spec, sizeof spec, "127.0.0.1:%u", scratch_free_port());
    assert_int_equal(scrape_print(spec, out, err, sizeof err), SCRAPE_DOWN);
    snprintf(want, sizeof want,
             "nothing listens on %s: feed-core is not "
             "running (or [core] metrics changed since it started)",
             spec);
    assert_string_equal(err, want);
    fclose(out);
}

/* A fake listener: answers every connection with `text`, then closes. */
struct fake {
    int fd;
    const char *text;
    int connections;
};

static void *
fake_serve(void *arg)
{
    struct fake *f = arg;

    for (int i = 0; i < f->connections; i++) {
        char buf[1024];
        int c = accept(f->fd, NULL, NULL);
        if (c == -1) {
            break;
        }
        (void)!read(c, buf, sizeof buf);
        (void)!write(c, f->text, strlen(f->text));
        close(c);
    }
    return NULL;
}

/* Starts a fake listener; its address goes to spec. */
static pthread_t
fake_start(struct fake *f, const char *text, int connections, char *spec,
           size_t len)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof a;
    pthread_t t;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    f->text = text;
    f->connections = connections;
    assert_int_equal(bind(f->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->fd, 4), 0);
    assert_int_equal(getsockname(f->fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(spec, len, "127.0.0.1:%u", ntohs(a.sin_port));
    assert_int_equal(pthread_create(&t, NULL, fake_serve, f), 0);
    return t;
}

static void
an_answer_that_is_not_http_is_refused(void **state)
{
    struct fake f;
    char spec[64];
    char want[128];
    char err[256] = "";
    char body[256];
    int status;
    pthread_t t = fake_start(&f, "hello\n", 1, spec, sizeof spec);

    (void)state;
    assert_int_equal(scrape_get(spec, "/metrics", &status, body, sizeof body,
                                err, sizeof err),
                     -1);
    snprintf(want, sizeof want, "%s did not answer in HTTP", spec);
    assert_string_equal(err, want);
    pthread_join(t, NULL);
    close(f.fd);
}

static void
stats_refuses_metrics_that_are_not_200(void **state)
{
    struct fake f;
    char spec[64];
    char want[128];
    char err[256] = "";
    FILE *out = tmpfile();
    pthread_t t =
        fake_start(&f, "HTTP/1.0 500 Oops\r\n\r\noops\n", 2, spec, sizeof spec);

    (void)state;
    assert_int_equal(scrape_print(spec, out, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s/metrics answered HTTP 500", spec);
    assert_string_equal(err, want);
    pthread_join(t, NULL);
    close(f.fd);
    fclose(out);
}

static void
stats_prints_the_figures_as_a_table(void **state)
{
    struct metrics_sample s;
    struct fake f;
    char page[16384];
    char text[17000];
    char spec[64];
    char want[256];
    char err[256] = "";
    char got[4096];
    FILE *out = tmpfile();
    size_t n;
    pthread_t t;

    (void)state;
    known_sample(&s);
    assert_true(metrics_render(&s, page, sizeof page) > 0);
    snprintf(text, sizeof text, "HTTP/1.0 200 OK\r\n\r\n%s", page);
    t = fake_start(&f, text, 2, spec, sizeof spec);
    assert_int_equal(scrape_print(spec, out, err, sizeof err), 0);
    pthread_join(t, NULL);
    close(f.fd);
    rewind(out);
    n = fread(got, 1, sizeof got - 1, out);
    got[n] = '\0';
    fclose(out);
    /* /healthz got the same page: not "ok", so unhealthy, with its line. */
    snprintf(want, sizeof want,
             "feed-core 9.8.7 at %s: unhealthy: # HELP "
             "feed_build_info The running feed-core's version.\n",
             spec);
    assert_memory_equal(got, want, strlen(want));
    assert_string_equal(
        got + strlen(want),
        "messages received    11\n"
        "messages accepted    7\n"
        "messages rejected    4\n"
        "rows committed       21\n"
        "sink retries         2\n"
        "dead_letter errors   1\n"
        "peers refused        3\n"
        "sink calls stalled   1\n"
        "queue                5 of 100 records\n"
        "workers connected    3 of 4\n"
        "commit duration      4, mean 7.75 s, p50 <= 100 us, p99 > 30 s\n"
        "ack delay            1, mean 12 s, p50 <= 30 s, p99 <= 30 s\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_known_sample_renders_exactly),
        cmocka_unit_test(a_page_that_does_not_fit_is_refused),
        cmocka_unit_test(a_page_exactly_large_enough_fits),
        cmocka_unit_test(a_live_sample_reads_the_counters_and_health),
        cmocka_unit_test(ipv4_and_bracketed_ipv6_addresses_parse),
        cmocka_unit_test(bad_addresses_say_what_is_wrong),
        cmocka_unit_test(the_listener_answers_metrics_healthz_and_404),
        cmocka_unit_test(a_port_in_use_fails_with_the_reason),
        cmocka_unit_test(an_unreachable_listener_is_reported_as_down),
        cmocka_unit_test(an_answer_that_is_not_http_is_refused),
        cmocka_unit_test(stats_refuses_metrics_that_are_not_200),
        cmocka_unit_test(stats_prints_the_figures_as_a_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
