/*
 * client.c - libfeed-client: a client's life and the Lazy Pirate send.
 *
 * Owns the client, its REQ socket and (when it made it) its ZeroMQ
 * context. A request goes to one endpoint at a time; after a timeout the
 * socket is closed without lingering and a new one, connected to the next
 * endpoint round the list, sends the same request again. The keys are
 * curve.c's, the endpoint list's syntax endpoints.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "internal.h"

/* Copies at most textlen-1 bytes of s (len bytes) into text, with a NUL. */
static void
copy_text(char *text, size_t textlen, const char *s, size_t len)
{
    if (textlen == 0) {
        return;
    }
    if (len > textlen - 1) {
        len = textlen - 1;
    }
    memcpy(text, s, len);
    text[len] = '\0';
}

/* Milliseconds on CLOCK_MONOTONIC: immune to clock steps. */
static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Closes the client's socket; a request in flight is dropped. */
static void
close_socket(struct feed_client *c)
{
    if (c->sock != NULL) {
        zmq_close(c->sock);
        c->sock = NULL;
    }
}

/*
 * Opens a REQ socket connected to endpoint, with the client's keys.
 * Returns it, or NULL with the reason in err and the outcome in *status.
 */
static void *
open_socket(const struct feed_client *c, const char *endpoint,
            enum feed_client_status *status, char *err, size_t errlen)
{
    int zero = 0;
    void *sock = zmq_socket(c->ctx, ZMQ_REQ);

    *status = FEED_CLIENT_ERROR;
    if (sock == NULL) {
        snprintf(err, errlen, "cannot open a REQ socket: %s",
                 zmq_strerror(errno));
        return NULL;
    }
    /*
     * No linger: a request that never got out must neither hold up
     * zmq_ctx_term nor reach a daemon after its resend. SNDTIMEO: a send
     * never blocks longer than an attempt may take.
     */
    if (zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero) == -1 ||
        zmq_setsockopt(sock, ZMQ_SNDTIMEO, &c->timeout_ms,
                       sizeof c->timeout_ms) == -1) {
        snprintf(err, errlen, "cannot set up a REQ socket: %s",
                 zmq_strerror(errno));
        goto fail;
    }
    if (curve_apply(c, sock, err, errlen) == -1) {
        *status = FEED_CLIENT_BAD_KEY;
        goto fail;
    }
    if (zmq_connect(sock, endpoint) == -1) {
        snprintf(err, errlen, "cannot connect to %s: %s", endpoint,
                 zmq_strerror(errno));
        *status = FEED_CLIENT_BAD_ENDPOINT;
        goto fail;
    }
    return sock;

fail:
    zmq_close(sock);
    return NULL;
}

/*
 * 0 when `endpoint` is one zmq_connect() takes (transport tcp with a
 * host and a port, ipc or inproc with a name), else the errno it would
 * fail with. Judged here, without connecting: a connection opened only to
 * check a name would reach the server and end mid-handshake, which the
 * server logs and counts as a refused peer.
 */
static int
endpoint_errno(const char *endpoint)
{
    const char *sep = strstr(endpoint, "://");
    const char *addr = sep != NULL ? sep + 3 : NULL;
    const char *colon;
    char *end;
    long port;

    if (addr == NULL) {
        return EINVAL;
    }
    if (strncmp(endpoint, "ipc://", 6) == 0 ||
        strncmp(endpoint, "inproc://", 9) == 0) {
        return *addr != '\0' ? 0 : EINVAL;
    }
    if (strncmp(endpoint, "tcp://", 6) != 0) {
        return EPROTONOSUPPORT;
    }
    if (strchr(addr, ';') != NULL) {
        addr = strchr(addr, ';') + 1; /* source;destination */
    }
    colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr) {
        return EINVAL;
    }
    port = strtol(colon + 1, &end, 10);
    return *end == '\0' && end != colon + 1 && port >= 1 && port <= 65535
               ? 0
               : EINVAL;
}

/* Checks every endpoint, so that a typo fails when the client is made. */
static enum feed_client_status
check_endpoints(const struct feed_client *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->ep.n; i++) {
        int e = endpoint_errno(c->ep.item[i]);

        if (e != 0) {
            snprintf(err, errlen, "cannot connect to %s: %s", c->ep.item[i],
                     zmq_strerror(e));
            return FEED_CLIENT_BAD_ENDPOINT;
        }
    }
    return FEED_CLIENT_TRUE;
}

/* Makes the client around a filled endpoint list; see feed_client_new. */
static enum feed_client_status
finish_new(struct feed_client *c, void *zmq_ctx, char *err, size_t errlen)
{
    if (c->ep.n == 0) {
        snprintf(err, errlen, "no endpoint given");
        return FEED_CLIENT_BAD_ENDPOINT;
    }
    c->ctx = zmq_ctx;
    if (c->ctx == NULL) {
        c->ctx = zmq_ctx_new();
        if (c->ctx == NULL) {
            snprintf(err, errlen, "cannot start ZeroMQ: %s",
                     zmq_strerror(errno));
            return FEED_CLIENT_ERROR;
        }
        c->own_ctx = true;
    }
    c->timeout_ms = FEED_CLIENT_TIMEOUT_MS;
    c->retries = FEED_CLIENT_RETRIES;
    return check_endpoints(c, err, errlen);
}

/* The common part of feed_client_new and feed_client_new_array. */
static enum feed_client_status
make(struct feed_client **client, const char *const *lists, size_t n,
     void *zmq_ctx, char *err, size_t errlen)
{
    struct feed_client *c = calloc(1, sizeof *c);
    enum feed_client_status status = FEED_CLIENT_NO_MEMORY;

    *client = NULL;
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return FEED_CLIENT_NO_MEMORY;
    }
    atomic_init(&c->stop, false);
    for (size_t i = 0; i < n; i++) {
        int rc =
            lists[i] != NULL ? endpoints_add(&c->ep, lists[i], err, errlen) : 0;

        if (rc == -2) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        if (rc == -1) {
            status = FEED_CLIENT_BAD_ENDPOINT;
            goto fail;
        }
    }
    status = finish_new(c, zmq_ctx, err, errlen);
    if (status != FEED_CLIENT_TRUE) {
        goto fail;
    }
    *client = c;
    return FEED_CLIENT_TRUE;

fail:
    feed_client_free(c);
    return status;
}

FEED_CLIENT_PUBLIC enum feed_client_status
feed_client_new(struct feed_client **client, const char *endpoints,
                void *zmq_ctx, char *err, size_t errlen)
{
    return make(client, &endpoints, 1, zmq_ctx, err, errlen);
}

FEED_CLIENT_PUBLIC enum feed_client_status
feed_client_new_array(struct feed_client **client, const char *const *endpoints,
                      size_t n, void *zmq_ctx, char *err, size_t errlen)
{
    return make(client, endpoints, n, zmq_ctx, err, errlen);
}

FEED_CLIENT_PUBLIC void
feed_client_free(struct feed_client *c)
{
    if (c == NULL) {
        return;
    }
    close_socket(c);
    if (c->own_ctx) {
        zmq_ctx_term(c->ctx);
    }
    endpoints_free(&c->ep);
    explicit_bzero(c->client_secret, sizeof c->client_secret);
    free(c);
}

FEED_CLIENT_PUBLIC enum feed_client_status
feed_client_set_timeout(struct feed_client *c, int timeout_ms, unsigned retries,
                        char *err, size_t errlen)
{
    if (timeout_ms < 1) {
        snprintf(err, errlen, "a timeout must be at least 1 ms, not %d",
                 timeout_ms);
        return FEED_CLIENT_ERROR;
    }
    c->timeout_ms = timeout_ms;
    c->retries = retries;
    /* SNDTIMEO comes with the socket: the next one gets the new value. */
    close_socket(c);
    return FEED_CLIENT_TRUE;
}

/*
 * Reads the reply in hand into text and names it. A reply of several
 * frames is read to its end (so the socket can take the next request)
 * and is never TRUE.
 */
static enum feed_client_status
judge(void *sock, zmq_msg_t *reply, char *text, size_t textlen)
{
    static const char several[] = "(a reply of several frames)";
    const char *data = zmq_msg_data(reply);
    size_t len = zmq_msg_size(reply);

    if (zmq_msg_more(reply)) {
        for (bool more = true; more;) {
            zmq_msg_t part;

            zmq_msg_init(&part);
            more = zmq_msg_recv(&part, sock, 0) != -1 && zmq_msg_more(&part);
            zmq_msg_close(&part);
        }
        copy_text(text, textlen, several, sizeof several - 1);
        return FEED_CLIENT_BAD_REPLY;
    }
    /* Only an exact TRUE books: not "TRUE\n", not "true". */
    if (len == 4 && memcmp(data, "TRUE", 4) == 0) {
        copy_text(text, textlen, "", 0);
        return FEED_CLIENT_TRUE;
    }
    if (len == 5 && memcmp(data, "FALSE", 5) == 0) {
        copy_text(text, textlen, "", 0);
        return FEED_CLIENT_FALSE;
    }
    if (len > 5 && memcmp(data, "FALSE ", 6) == 0) {
        copy_text(text, textlen, data + 6, len - 6);
        return FEED_CLIENT_FALSE;
    }
    copy_text(text, textlen, data, len);
    return FEED_CLIENT_BAD_REPLY;
}

/*
 * Sends msg once on the client's socket and waits up to timeout_ms for
 * the reply. Returns its outcome, FEED_CLIENT_TIMEOUT when none came, or
 * FEED_CLIENT_ERROR with the reason in text.
 */
static enum feed_client_status
attempt(struct feed_client *c, const void *msg, size_t len, char *text,
        size_t textlen)
{
    zmq_pollitem_t item = {.socket = c->sock, .events = ZMQ_POLLIN};
    long long deadline_ms = now_ms() + c->timeout_ms;
    enum feed_client_status status;
    zmq_msg_t reply;

    if (zmq_send(c->sock, msg, len, 0) == -1) {
        if (errno == EAGAIN) {
            return FEED_CLIENT_TIMEOUT;
        }
        snprintf(text, textlen, "cannot send: %s", zmq_strerror(errno));
        return FEED_CLIENT_ERROR;
    }
    zmq_msg_init(&reply);
    for (;;) {
        long long left_ms = deadline_ms - now_ms();

        if (left_ms <= 0) {
            zmq_msg_close(&reply);
            return FEED_CLIENT_TIMEOUT;
        }
        if (zmq_poll(&item, 1, (long)left_ms) == -1 && errno != EINTR) {
            snprintf(text, textlen, "cannot wait for a reply: %s",
                     zmq_strerror(errno));
            zmq_msg_close(&reply);
            return FEED_CLIENT_ERROR;
        }
        if (zmq_msg_recv(&reply, c->sock, ZMQ_DONTWAIT) != -1) {
            break;
        }
        if (errno != EAGAIN && errno != EINTR) {
            snprintf(text, textlen, "cannot receive a reply: %s",
                     zmq_strerror(errno));
            zmq_msg_close(&reply);
            return FEED_CLIENT_ERROR;
        }
    }
    status = judge(c->sock, &reply, text, textlen);
    zmq_msg_close(&reply);
    return status;
}

FEED_CLIENT_PUBLIC enum feed_client_status
feed_client_send(struct feed_client *c, const void *msg, size_t len, char *text,
                 size_t textlen)
{
    enum feed_client_status status;

    for (c->attempts = 1;; c->attempts++) {
        if (c->sock == NULL) {
            c->sock =
                open_socket(c, c->ep.item[c->current], &status, text, textlen);
            if (c->sock == NULL) {
                return status;
            }
        }
        status = attempt(c, msg, len, text, textlen);
        if (status != FEED_CLIENT_TIMEOUT) {
            return status;
        }
        /*
         * REQ would wait for the lost reply forever: a new socket, to the
         * next endpoint, sends the request again.
         */
        close_socket(c);
        c->current = (c->current + 1) % c->ep.n;
        if (c->attempts > c->retries || atomic_load(&c->stop)) {
            snprintf(text, textlen, "no reply after %u %s", c->attempts,
                     c->attempts == 1 ? "attempt" : "attempts");
            return FEED_CLIENT_TIMEOUT;
        }
    }
}

FEED_CLIENT_PUBLIC unsigned
feed_client_attempts(const struct feed_client *c)
{
    return c->attempts;
}

FEED_CLIENT_PUBLIC const char *
feed_client_endpoint(const struct feed_client *c)
{
    return c->ep.item[c->current];
}

FEED_CLIENT_PUBLIC void
feed_client_set_endpoint(struct feed_client *c, size_t index)
{
    if (c->current != index % c->ep.n) {
        close_socket(c);
        c->current = index % c->ep.n;
    }
}

FEED_CLIENT_PUBLIC void
feed_client_stop(struct feed_client *c)
{
    atomic_store(&c->stop, true);
}

FEED_CLIENT_PUBLIC const char *
feed_client_status_name(enum feed_client_status status)
{
    switch (status) {
    case FEED_CLIENT_TRUE:
        return "TRUE";
    case FEED_CLIENT_FALSE:
        return "FALSE";
    case FEED_CLIENT_BAD_REPLY:
        return "bad reply";
    case FEED_CLIENT_TIMEOUT:
        return "timeout";
    case FEED_CLIENT_BAD_ENDPOINT:
        return "bad endpoint";
    case FEED_CLIENT_BAD_KEY:
        return "bad key";
    case FEED_CLIENT_NO_MEMORY:
        return "out of memory";
    case FEED_CLIENT_ERROR:
        break;
    }
    return "error";
}
