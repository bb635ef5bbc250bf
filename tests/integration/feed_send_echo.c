/*
 * feed_send_echo.c - a stand-in for the zmq_rep source, to test feed-send.
 *
 * usage: feed_send_echo ENDPOINT [REPLY]
 *
 * Binds a ROUTER socket on ENDPOINT and answers every request at once with
 * REPLY (default TRUE), or with "FALSE line 1: test" when the body starts
 * with "bad". The reply keeps the request's envelope (every frame up to
 * and including the empty delimiter), as the daemon must. Nothing is
 * parsed or stored: this measures the client and the wire, not the
 * pipeline. Runs until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

/* A REQ envelope is 2 frames; a few proxies in between add one each. */
#define MAX_FRAMES 16

/* How long a receive waits before the stop flag is looked at again. */
#define POLL_MS 200

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

/* Closes the first n frames. */
static void
close_frames(zmq_msg_t *frames, int n)
{
    for (int i = 0; i < n; i++) {
        zmq_msg_close(&frames[i]);
    }
}

/* Receives and drops the rest of a request too long to answer. */
static void
drain(void *sock)
{
    int more = 1;
    size_t len = sizeof more;

    while (more) {
        zmq_msg_t f;

        zmq_msg_init(&f);
        zmq_msg_recv(&f, sock, 0);
        zmq_msg_close(&f);
        if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len) == -1) {
            more = 0;
        }
    }
}

/*
 * Receives one whole request into frames. Returns the number of frames,
 * 0 when nothing came within POLL_MS (or a signal came, or the request
 * had more than MAX_FRAMES frames, which no REQ peer sends), or -1 on an
 * error.
 */
static int
receive(void *sock, zmq_msg_t *frames)
{
    int n = 0;

    do {
        if (n == MAX_FRAMES) {
            close_frames(frames, n);
            drain(sock);
            return 0;
        }
        zmq_msg_init(&frames[n]);
        if (zmq_msg_recv(&frames[n], sock, 0) == -1) {
            int e = errno;

            close_frames(frames, n + 1);
            errno = e;
            return n == 0 && (e == EAGAIN || e == EINTR) ? 0 : -1;
        }
        n++;
    } while (zmq_msg_more(&frames[n - 1]));
    return n;
}

/*
 * Answers a request of n frames: the envelope back, then the reply. A
 * message without an empty delimiter did not come from a REQ socket and
 * gets nothing.
 */
static int
answer(void *sock, zmq_msg_t *frames, int n, const char *reply)
{
    int body = 0;

    while (body < n && zmq_msg_size(&frames[body]) != 0) {
        body++;
    }
    if (++body >= n) {
        return 0;
    }
    if (zmq_msg_size(&frames[body]) >= 3 &&
        memcmp(zmq_msg_data(&frames[body]), "bad", 3) == 0) {
        reply = "FALSE line 1: test";
    }
    for (int i = 0; i < body; i++) {
        /* zmq_msg_send takes the frame over; close_frames then is a no-op. */
        if (zmq_msg_send(&frames[i], sock, ZMQ_SNDMORE) == -1) {
            return -1;
        }
    }
    if (zmq_send(sock, reply, strlen(reply), 0) == -1) {
        return -1;
    }
    return 0;
}

/* Binds the ROUTER socket; NULL after printing why. */
static void *
open_router(void *ctx, const char *endpoint)
{
    int zero = 0;
    int poll_ms = POLL_MS;
    void *sock = zmq_socket(ctx, ZMQ_ROUTER);

    if (sock == NULL) {
        fprintf(stderr, "feed_send_echo: cannot open a ROUTER socket: %s\n",
                zmq_strerror(errno));
        return NULL;
    }
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &poll_ms, sizeof poll_ms);
    if (zmq_bind(sock, endpoint) == -1) {
        fprintf(stderr, "feed_send_echo: cannot bind %s: %s\n", endpoint,
                zmq_strerror(errno));
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

int
main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = on_signal};
    zmq_msg_t frames[MAX_FRAMES];
    void *ctx = NULL;
    void *sock = NULL;
    int rc = 1;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: feed_send_echo ENDPOINT [REPLY]\n");
        return 2;
    }
    /* No SA_RESTART: a signal must break the blocking receive. */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    ctx = zmq_ctx_new();
    if (ctx == NULL || (sock = open_router(ctx, argv[1])) == NULL) {
        goto fail;
    }
    while (!stopping) {
        int n = receive(sock, frames);

        if (n > 0 && answer(sock, frames, n, argc > 2 ? argv[2] : "TRUE")) {
            fprintf(stderr, "feed_send_echo: cannot answer: %s\n",
                    zmq_strerror(errno));
        }
        close_frames(frames, n > 0 ? n : 0);
        if (n == -1) {
            fprintf(stderr, "feed_send_echo: cannot receive: %s\n",
                    zmq_strerror(errno));
            goto fail;
        }
    }
    rc = 0;

fail:
    if (sock != NULL) {
        zmq_close(sock);
    }
    if (ctx != NULL) {
        zmq_ctx_term(ctx);
    }
    return rc;
}
