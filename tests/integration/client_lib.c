/*
 * client_lib.c - libfeed-client against real ZeroMQ servers.
 *
 * usage: client_lib                  against feed_send_echo ($FEED_SEND_ECHO,
 *                                    started here) and a CURVE server of
 *                                    its own (a ROUTER thread)
 *        client_lib daemon ENDPOINT  against a running feed-core
 *        client_lib stopped ENDPOINT against a feed-core stopped by SIGSTOP
 *
 * The echo server answers TRUE, or "FALSE line 1: test" to a body starting
 * with "bad". A dead endpoint is a loopback port nobody listens on.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"
#include <zmq.h>

#include <feed/client.h>

extern char **environ;

/* Short timeouts keep the failover tests quick; the deadline is generous. */
#define FAST_MS 300

static char echo_ep[64];  /* feed_send_echo, answering TRUE */
static char other_ep[64]; /* feed_send_echo, answering "maybe" */
static char dead_ep[64];  /* nobody listens */
static pid_t echo_pids[2];
static char daemon_ep[64]; /* client_lib daemon ENDPOINT */

/* Starts feed_send_echo on a free port, answering reply (NULL: TRUE). */
static pid_t
start_echo(char *ep, size_t eplen, const char *reply)
{
    const char *path = getenv("FEED_SEND_ECHO");
    char *argv[] = {(char *)path, ep, (char *)reply, NULL};
    pid_t pid;

    assert_non_null(path);
    snprintf(ep, eplen, "tcp://127.0.0.1:%d", scratch_free_port());
    assert_int_equal(posix_spawn(&pid, path, NULL, NULL, argv, environ), 0);
    return pid;
}

static int
start_servers(void **state)
{
    (void)state;
    snprintf(dead_ep, sizeof dead_ep, "tcp://127.0.0.1:%d",
             scratch_free_port());
    echo_pids[0] = start_echo(echo_ep, sizeof echo_ep, NULL);
    echo_pids[1] = start_echo(other_ep, sizeof other_ep, "maybe");
    return 0;
}

static int
stop_servers(void **state)
{
    (void)state;
    for (size_t i = 0; i < 2; i++) {
        int status;

        kill(echo_pids[i], SIGTERM);
        waitpid(echo_pids[i], &status, 0);
    }
    return 0;
}

/* A client for list with the given timeout; the test fails otherwise. */
static struct feed_client *
client_for(const char *list, int timeout_ms, unsigned retries)
{
    struct feed_client *c = NULL;
    char err[256];

    assert_int_equal(feed_client_new(&c, list, NULL, err, sizeof err),
                     FEED_CLIENT_TRUE);
    assert_int_equal(
        feed_client_set_timeout(c, timeout_ms, retries, err, sizeof err),
        FEED_CLIENT_TRUE);
    return c;
}

/* "A,B" from two endpoints. */
static const char *
pair(const char *a, const char *b)
{
    static char list[256];

    snprintf(list, sizeof list, "%s, %s", a, b);
    return list;
}

static void
client_gets_true_from_the_echo_server(void **state)
{
    struct feed_client *c = client_for(echo_ep, 10000, 3);
    char text[64] = "x";

    (void)state;
    assert_int_equal(feed_client_send(c, "1,2,3", 5, text, sizeof text),
                     FEED_CLIENT_TRUE);
    assert_string_equal(text, "");
    assert_int_equal(feed_client_attempts(c), 1);
    feed_client_free(c);
}

static void
client_copies_the_false_reason_out(void **state)
{
    struct feed_client *c = client_for(echo_ep, 10000, 3);
    char text[64];

    (void)state;
    assert_int_equal(feed_client_send(c, "bad", 3, text, sizeof text),
                     FEED_CLIENT_FALSE);
    assert_string_equal(text, "line 1: test");
    feed_client_free(c);
}

static void
client_cuts_the_reason_to_the_buffer(void **state)
{
    struct feed_client *c = client_for(echo_ep, 10000, 3);
    char text[5];

    (void)state;
    assert_int_equal(feed_client_send(c, "bad", 3, text, sizeof text),
                     FEED_CLIENT_FALSE);
    assert_string_equal(text, "line");
    assert_int_equal(feed_client_send(c, "bad", 3, NULL, 0), FEED_CLIENT_FALSE);
    feed_client_free(c);
}

static void
client_hands_back_a_reply_that_is_neither(void **state)
{
    struct feed_client *c = client_for(other_ep, 10000, 3);
    char text[64];

    (void)state;
    assert_int_equal(feed_client_send(c, "1,2,3", 5, text, sizeof text),
                     FEED_CLIENT_BAD_REPLY);
    assert_string_equal(text, "maybe");
    feed_client_free(c);
}

static void
client_fails_over_to_the_second_endpoint_when_the_first_is_dead(void **state)
{
    struct feed_client *c = client_for(pair(dead_ep, echo_ep), FAST_MS, 3);
    char text[64];

    (void)state;
    assert_string_equal(feed_client_endpoint(c), dead_ep);
    assert_int_equal(feed_client_send(c, "1,2,3", 5, text, sizeof text),
                     FEED_CLIENT_TRUE);
    assert_int_equal(feed_client_attempts(c), 2);
    assert_string_equal(feed_client_endpoint(c), echo_ep);
    /* It stays with the endpoint that answered. */
    assert_int_equal(feed_client_send(c, "1,2,3", 5, text, sizeof text),
                     FEED_CLIENT_TRUE);
    assert_int_equal(feed_client_attempts(c), 1);
    /* Told where to start, it starts there. */
    feed_client_set_endpoint(c, 2);
    assert_string_equal(feed_client_endpoint(c), dead_ep);
    feed_client_set_endpoint(c, 1);
    assert_string_equal(feed_client_endpoint(c), echo_ep);
    feed_client_free(c);
}

static void
client_takes_an_array_of_lists(void **state)
{
    const char *list[] = {dead_ep, pair(dead_ep, echo_ep)};
    struct feed_client *c = NULL;
    char text[64];

    (void)state;
    assert_int_equal(
        feed_client_new_array(&c, list, 2, NULL, text, sizeof text),
        FEED_CLIENT_TRUE);
    assert_int_equal(feed_client_set_timeout(c, FAST_MS, 2, NULL, 0),
                     FEED_CLIENT_TRUE);
    assert_int_equal(feed_client_send(c, "1,2,3", 5, text, sizeof text),
                     FEED_CLIENT_TRUE);
    assert_int_equal(feed_client_attempts(c), 3);
    feed_client_free(c);
}

static void
client_times_out_after_its_retries(void **state)
{
    struct feed_client *c = client_for(pair(dead_ep, dead_ep), 100, 2);
    char text[64];

    (void)state;
    assert_int_equal(feed_client_send(c, "1,2,3", 5, text, sizeof text),
                     FEED_CLIENT_TIMEOUT);
    assert_string_equal(text, "no reply after 3 attempts");
    assert_int_equal(feed_client_attempts(c), 3);
    feed_client_set_timeout(c, 100, 0, NULL, 0);
    assert_int_equal(feed_client_send(c, "1,2,3", 5, text, sizeof text),
                     FEED_CLIENT_TIMEOUT);
    assert_string_equal(text, "no reply after 1 attempt");
    feed_client_free(c);
}

static void
client_sends_once_after_a_stop(void **state)
{
    struct feed_client *c = client_for(dead_ep, 100, 5);
    char text[64];

    (void)state;
    feed_client_stop(c);
    assert_int_equal(feed_client_send(c, "1,2,3", 5, text, sizeof text),
                     FEED_CLIENT_TIMEOUT);
    assert_int_equal(feed_client_attempts(c), 1);
    feed_client_free(c);
}

static void
client_refuses_endpoints_zeromq_refuses(void **state)
{
    struct feed_client *c = NULL;
    char err[256];

    (void)state;
    assert_int_equal(
        feed_client_new(&c, "tcp://nowhere", NULL, err, sizeof err),
        FEED_CLIENT_BAD_ENDPOINT);
    assert_null(c);
    assert_string_equal(err,
                        "cannot connect to tcp://nowhere: Invalid argument");
    assert_int_equal(
        feed_client_new(&c, "tcp://h:70000", NULL, err, sizeof err),
        FEED_CLIENT_BAD_ENDPOINT);
    assert_string_equal(err,
                        "cannot connect to tcp://h:70000: Invalid argument");
    assert_int_equal(
        feed_client_new(&c, "carrier://h:1", NULL, err, sizeof err),
        FEED_CLIENT_BAD_ENDPOINT);
    assert_string_equal(
        err, "cannot connect to carrier://h:1: Protocol not supported");
    assert_int_equal(
        feed_client_new(&c, "ipc:///run/feed.sock, inproc://x, "
                            "tcp://[::1]:5555, tcp://127.0.0.1:1;h:2",
                        NULL, err, sizeof err),
        FEED_CLIENT_TRUE);
    feed_client_free(c);
    c = NULL;
    assert_int_equal(feed_client_new(&c, "tcp://127.0.0.1:1,,tcp://x:2", NULL,
                                     err, sizeof err),
                     FEED_CLIENT_BAD_ENDPOINT);
    assert_string_equal(
        err,
        "invalid endpoint list \"tcp://127.0.0.1:1,,tcp://x:2\": an endpoint is empty");
    assert_int_equal(feed_client_new_array(&c, NULL, 0, NULL, err, sizeof err),
                     FEED_CLIENT_BAD_ENDPOINT);
    assert_string_equal(err, "no endpoint given");
}

static void
client_refuses_a_timeout_below_one_ms(void **state)
{
    struct feed_client *c = client_for(echo_ep, 10, 0);
    char err[128];

    (void)state;
    assert_int_equal(feed_client_set_timeout(c, 0, 1, err, sizeof err),
                     FEED_CLIENT_ERROR);
    assert_string_equal(err, "a timeout must be at least 1 ms, not 0");
    feed_client_free(c);
}

static void
client_says_why_a_terminated_context_cannot_send(void **state)
{
    void *ctx = zmq_ctx_new();
    struct feed_client *c = NULL;
    char err[128];

    (void)state;
    zmq_ctx_shutdown(ctx);
    /* Making the client opens no socket: the first send says why. */
    assert_int_equal(feed_client_new(&c, echo_ep, ctx, err, sizeof err),
                     FEED_CLIENT_TRUE);
    assert_int_equal(feed_client_send(c, "1,2,3", 5, err, sizeof err),
                     FEED_CLIENT_ERROR);
    assert_string_equal(err,
                        "cannot open a REQ socket: Context was terminated");
    feed_client_free(c);
    zmq_ctx_term(ctx);
}

static void
client_says_why_it_cannot_wait_once_its_context_ends(void **state)
{
    void *ctx = zmq_ctx_new();
    struct feed_client *c = NULL;
    char text[128];

    (void)state;
    assert_int_equal(feed_client_new(&c, echo_ep, ctx, text, sizeof text),
                     FEED_CLIENT_TRUE);
    assert_int_equal(feed_client_send(c, "1,2,3", 5, text, sizeof text),
                     FEED_CLIENT_TRUE);
    zmq_ctx_shutdown(ctx);
    assert_int_equal(feed_client_send(c, "1,2,3", 5, text, sizeof text),
                     FEED_CLIENT_ERROR);
    /*
     * Whether libzmq refuses the send or the wait after a shutdown is a
     * race inside libzmq; the client says which, and why.
     */
    if (strcmp(text, "cannot send: Context was terminated") != 0) {
        assert_string_equal(text,
                            "cannot wait for a reply: Context was terminated");
    }
    feed_client_free(c);
    zmq_ctx_term(ctx);
}

static void
status_names_read_as_words(void **state)
{
    (void)state;
    assert_string_equal(feed_client_status_name(FEED_CLIENT_TRUE), "TRUE");
    assert_string_equal(feed_client_status_name(FEED_CLIENT_FALSE), "FALSE");
    assert_string_equal(feed_client_status_name(FEED_CLIENT_BAD_REPLY),
                        "bad reply");
    assert_string_equal(feed_client_status_name(FEED_CLIENT_TIMEOUT),
                        "timeout");
    assert_string_equal(feed_client_status_name(FEED_CLIENT_BAD_ENDPOINT),
                        "bad endpoint");
    assert_string_equal(feed_client_status_name(FEED_CLIENT_BAD_KEY),
                        "bad key");
    assert_string_equal(feed_client_status_name(FEED_CLIENT_NO_MEMORY),
                        "out of memory");
    assert_string_equal(feed_client_status_name(FEED_CLIENT_ERROR), "error");
}

/* --- CURVE: a ROUTER thread of our own with a server key -------------- */

struct curve_server {
    char public[41];
    char secret[41];
    char endpoint[64];
    const char *reply; /* NULL: TRUE */
    bool several;      /* answer with two frames */
    void *ctx;
    void *sock;
    pthread_t thread;
    atomic_bool stop;
};

/* Answers every request with the envelope and s->reply. */
static void *
serve(void *arg)
{
    struct curve_server *s = arg;

    while (!atomic_load(&s->stop)) {
        zmq_msg_t frames[3];
        int n = 0;

        do {
            zmq_msg_init(&frames[n]);
            if (zmq_msg_recv(&frames[n], s->sock, 0) == -1) {
                zmq_msg_close(&frames[n]);
                break;
            }
            n++;
        } while (n < 3 && zmq_msg_more(&frames[n - 1]));
        if (n == 3) {
            const char *r = s->reply != NULL ? s->reply : "TRUE";

            zmq_msg_send(&frames[0], s->sock, ZMQ_SNDMORE);
            zmq_msg_send(&frames[1], s->sock, ZMQ_SNDMORE);
            if (s->several) {
                zmq_send(s->sock, "TRUE", 4, ZMQ_SNDMORE);
            }
            zmq_send(s->sock, r, strlen(r), 0);
        }
        for (int i = 0; i < n; i++) {
            zmq_msg_close(&frames[i]);
        }
    }
    return NULL;
}

static void
curve_server_start(struct curve_server *s, bool curve)
{
    int one = 1;
    int poll_ms = 100;
    char ep[64];
    size_t len = sizeof ep;

    atomic_init(&s->stop, false);
    assert_int_equal(zmq_curve_keypair(s->public, s->secret), 0);
    s->ctx = zmq_ctx_new();
    s->sock = zmq_socket(s->ctx, ZMQ_ROUTER);
    if (curve) {
        zmq_setsockopt(s->sock, ZMQ_CURVE_SERVER, &one, sizeof one);
        zmq_setsockopt(s->sock, ZMQ_CURVE_SECRETKEY, s->secret, 41);
    }
    zmq_setsockopt(s->sock, ZMQ_RCVTIMEO, &poll_ms, sizeof poll_ms);
    assert_int_equal(zmq_bind(s->sock, "tcp://127.0.0.1:*"), 0);
    zmq_getsockopt(s->sock, ZMQ_LAST_ENDPOINT, ep, &len);
    snprintf(s->endpoint, sizeof s->endpoint, "%s", ep);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void
curve_server_stop(struct curve_server *s)
{
    int zero = 0;

    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(s->sock);
    zmq_ctx_term(s->ctx);
}

static void
client_speaks_curve_with_the_right_server_key(void **state)
{
    struct curve_server s = {0};
    char pub[41];
    char sec[41];
    char text[64];
    struct feed_client *c;

    (void)state;
    curve_server_start(&s, true);
    assert_int_equal(zmq_curve_keypair(pub, sec), 0);
    c = client_for(s.endpoint, 10000, 0);
    assert_int_equal(
        feed_client_set_curve(c, s.public, pub, sec, text, sizeof text),
        FEED_CLIENT_TRUE);
    assert_int_equal(feed_client_send(c, "1,2,3", 5, text, sizeof text),
                     FEED_CLIENT_TRUE);
    feed_client_free(c);

    /* A wrong server key: the handshake fails, no reply ever comes. */
    c = client_for(s.endpoint, FAST_MS, 1);
    assert_int_equal(feed_client_set_curve(c, pub, pub, sec, NULL, 0),
                     FEED_CLIENT_TRUE);
    assert_int_equal(feed_client_send(c, "1,2,3", 5, text, sizeof text),
                     FEED_CLIENT_TIMEOUT);
    feed_client_free(c);
    curve_server_stop(&s);
}

static void
client_without_curve_gets_nothing_from_a_curve_server(void **state)
{
    struct curve_server s = {0};
    char text[64];
    struct feed_client *c;

    (void)state;
    curve_server_start(&s, true);
    c = client_for(s.endpoint, FAST_MS, 0);
    assert_int_equal(feed_client_send(c, "1,2,3", 5, text, sizeof text),
                     FEED_CLIENT_TIMEOUT);
    feed_client_free(c);
    curve_server_stop(&s);
}

/* Writes a zcert certificate: the public key, and the secret one if any. */
static void
write_cert(const char *path, const char *pub, const char *sec)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fprintf(f, "metadata\n    name = \"test\"\ncurve\n");
    fprintf(f, "    public-key = \"%s\"\n", pub);
    if (sec != NULL) {
        fprintf(f, "    secret-key = \"%s\"\n", sec);
    }
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, sec != NULL ? 0600 : 0644), 0);
}

static void
client_loads_its_curve_keys_from_certificates(void **state)
{
    struct curve_server s = {0};
    char dir[] = "/tmp/client_lib.XXXXXX";
    char server_cert[64];
    char client_cert[64];
    char pub[41];
    char sec[41];
    char text[256];
    struct feed_client *c;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(server_cert, sizeof server_cert, "%s/server.key", dir);
    snprintf(client_cert, sizeof client_cert, "%s/me.key_secret", dir);
    curve_server_start(&s, true);
    assert_int_equal(zmq_curve_keypair(pub, sec), 0);
    write_cert(server_cert, s.public, NULL);
    write_cert(client_cert, pub, sec);
    c = client_for(s.endpoint, 10000, 0);
    assert_int_equal(
        feed_client_load_curve(c, server_cert, client_cert, text, sizeof text),
        FEED_CLIENT_TRUE);
    assert_int_equal(feed_client_send(c, "1,2,3", 5, text, sizeof text),
                     FEED_CLIENT_TRUE);
    assert_int_equal(
        feed_client_load_curve(c, server_cert, NULL, text, sizeof text),
        FEED_CLIENT_BAD_KEY);
    assert_string_equal(
        text, "CURVE needs the server's certificate and the client's");
    feed_client_free(c);
    curve_server_stop(&s);
    unlink(server_cert);
    unlink(client_cert);
    rmdir(dir);
}

static void
client_refuses_keys_that_are_not_keys(void **state)
{
    struct feed_client *c = client_for(echo_ep, 10, 0);
    char pub[41];
    char sec[41];
    char pub2[41];
    char sec2[41];
    char err[128];

    (void)state;
    assert_int_equal(zmq_curve_keypair(pub, sec), 0);
    assert_int_equal(zmq_curve_keypair(pub2, sec2), 0);
    assert_int_equal(feed_client_set_curve(c, "abc", pub, sec, err, sizeof err),
                     FEED_CLIENT_BAD_KEY);
    assert_string_equal(err,
                        "the server's public key has 3 characters, not 40");
    assert_int_equal(feed_client_set_curve(c, pub, NULL, sec, err, sizeof err),
                     FEED_CLIENT_BAD_KEY);
    assert_string_equal(err, "the client's public key is missing");
    sec2[3] = '"';
    assert_int_equal(feed_client_set_curve(c, pub, pub, sec2, err, sizeof err),
                     FEED_CLIENT_BAD_KEY);
    assert_string_equal(err, "the client's secret key is not Z85 text");
    assert_int_equal(feed_client_set_curve(c, pub, pub2, sec, err, sizeof err),
                     FEED_CLIENT_BAD_KEY);
    assert_string_equal(
        err, "the client's secret key does not belong to its public key");
    feed_client_free(c);
}

static void
client_reads_a_reply_of_several_frames_to_its_end(void **state)
{
    struct curve_server s = {.several = true};
    char text[64];
    struct feed_client *c;

    (void)state;
    curve_server_start(&s, false);
    c = client_for(s.endpoint, 10000, 0);
    assert_int_equal(feed_client_send(c, "1,2,3", 5, text, sizeof text),
                     FEED_CLIENT_BAD_REPLY);
    assert_string_equal(text, "(a reply of several frames)");
    /* The socket is ready for the next request. */
    assert_int_equal(feed_client_send(c, "1,2,3", 5, text, sizeof text),
                     FEED_CLIENT_BAD_REPLY);
    feed_client_free(c);
    curve_server_stop(&s);
}

/* --- against a running feed-core --------------------------------------- */

static void
daemon_books_a_trade_after_failing_over(void **state)
{
    struct feed_client *c = client_for(pair(dead_ep, daemon_ep), 1000, 3);
    char text[128];

    (void)state;
    assert_int_equal(feed_client_send(c, "910001,7,1.5", 12, text, sizeof text),
                     FEED_CLIENT_TRUE);
    assert_int_equal(feed_client_attempts(c), 2);
    /* The replay of a booked trade is a no-op, and TRUE. */
    assert_int_equal(feed_client_send(c, "910001,7,1.5", 12, text, sizeof text),
                     FEED_CLIENT_TRUE);
    feed_client_free(c);
}

static void
daemon_reason_is_copied_out(void **state)
{
    struct feed_client *c = client_for(daemon_ep, 10000, 0);
    const char *msg = "910002,7,1.5\n910003,7,x";
    char text[128];

    (void)state;
    assert_int_equal(feed_client_send(c, msg, strlen(msg), text, sizeof text),
                     FEED_CLIENT_FALSE);
    assert_string_equal(text, "line 2: volume is not a number");
    feed_client_free(c);
}

/* Run with the daemon stopped (SIGSTOP): it takes connections, no reply. */
static void
stopped_daemon_times_the_client_out(void **state)
{
    struct feed_client *c = client_for(daemon_ep, 300, 1);
    char text[128];

    (void)state;
    assert_int_equal(feed_client_send(c, "910004,7,1.5", 12, text, sizeof text),
                     FEED_CLIENT_TIMEOUT);
    assert_string_equal(text, "no reply after 2 attempts");
    assert_int_equal(feed_client_attempts(c), 2);
    feed_client_free(c);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest echo[] = {
        cmocka_unit_test(client_gets_true_from_the_echo_server),
        cmocka_unit_test(client_copies_the_false_reason_out),
        cmocka_unit_test(client_cuts_the_reason_to_the_buffer),
        cmocka_unit_test(client_hands_back_a_reply_that_is_neither),
        cmocka_unit_test(
            client_fails_over_to_the_second_endpoint_when_the_first_is_dead),
        cmocka_unit_test(client_takes_an_array_of_lists),
        cmocka_unit_test(client_times_out_after_its_retries),
        cmocka_unit_test(client_sends_once_after_a_stop),
        cmocka_unit_test(client_refuses_endpoints_zeromq_refuses),
        cmocka_unit_test(client_refuses_a_timeout_below_one_ms),
        cmocka_unit_test(client_says_why_a_terminated_context_cannot_send),
        cmocka_unit_test(client_says_why_it_cannot_wait_once_its_context_ends),
        cmocka_unit_test(status_names_read_as_words),
        cmocka_unit_test(client_speaks_curve_with_the_right_server_key),
        cmocka_unit_test(client_without_curve_gets_nothing_from_a_curve_server),
        cmocka_unit_test(client_loads_its_curve_keys_from_certificates),
        cmocka_unit_test(client_refuses_keys_that_are_not_keys),
        cmocka_unit_test(client_reads_a_reply_of_several_frames_to_its_end),
    };
    const struct CMUnitTest daemon[] = {
        cmocka_unit_test(daemon_books_a_trade_after_failing_over),
        cmocka_unit_test(daemon_reason_is_copied_out),
    };

    const struct CMUnitTest stopped[] = {
        cmocka_unit_test(stopped_daemon_times_the_client_out),
    };

    if (argc == 3 && strcmp(argv[1], "stopped") == 0) {
        snprintf(daemon_ep, sizeof daemon_ep, "%s", argv[2]);
        return cmocka_run_group_tests_name("stopped", stopped, NULL, NULL);
    }
    if (argc == 3 && strcmp(argv[1], "daemon") == 0) {
        snprintf(daemon_ep, sizeof daemon_ep, "%s", argv[2]);
        snprintf(dead_ep, sizeof dead_ep, "tcp://127.0.0.1:%d",
                 scratch_free_port());
        return cmocka_run_group_tests_name("daemon", daemon, NULL, NULL);
    }
    return cmocka_run_group_tests_name("echo", echo, start_servers,
                                       stop_servers);
}
