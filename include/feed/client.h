/*
 * feed/client.h - libfeed-client: send trades to feed-core and wait for
 * the answer.
 *
 * A client holds a list of feed-core endpoints and one ZeroMQ REQ socket,
 * connected to one endpoint at a time. feed_client_send() sends one
 * message (one or more `ticket,login,volume` lines joined by "\n") and
 * waits for the reply: TRUE (booked), FALSE with the daemon's reason, or
 * an error. When no reply comes within the timeout, the client closes the
 * socket (ZMQ_LINGER 0: the lost request is dropped), opens a new one to
 * the next endpoint round the list and sends the same message again, up
 * to `retries` times: the Lazy Pirate pattern of the ZeroMQ guide. The
 * daemon takes a replayed trade as a no-op, so a resend never books a
 * trade twice. After a success the client stays with the endpoint that
 * answered.
 *
 * With CURVE keys (feed_client_set_curve, feed_client_load_curve) the
 * connection is encrypted and the server authenticates the client by its
 * public key.
 *
 * Threads: a client is used by one thread at a time (one client per thread
 * is the simple rule; a client may be handed to another thread with the
 * usual synchronisation). Different clients may be used by different
 * threads at once, also when they share a ZeroMQ context.
 * feed_client_stop() is the exception: any thread may call it, and it is
 * async-signal-safe.
 *
 * Contexts: pass a ZeroMQ context to feed_client_new() to share it (many
 * clients in one process should: each context has its own I/O thread), or
 * NULL and the client makes and ends its own. A shared context must
 * outlive its clients.
 *
 * Errors: every function that can fail writes one line saying why into a
 * buffer the caller owns (`err`, `errlen`; NULL and 0 are allowed), and
 * returns an enum feed_client_status naming the outcome.
 *
 * Build with `pkg-config --cflags --libs feed-client`.
 */
#ifndef FEED_CLIENT_H
#define FEED_CLIENT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults of a new client: 10 s per attempt, 3 resends (4 attempts). */
#define FEED_CLIENT_TIMEOUT_MS 10000
#define FEED_CLIENT_RETRIES 3

/* A CURVE key in Z85 text: 40 characters (32 bytes), plus the NUL. */
#define FEED_CLIENT_KEY_LEN 40

/* The outcome of a call. */
enum feed_client_status {
    FEED_CLIENT_TRUE = 0,     /* the reply was exactly TRUE: booked */
    FEED_CLIENT_FALSE,        /* FALSE: the reason is in the text buffer */
    FEED_CLIENT_BAD_REPLY,    /* neither: the reply itself is in the buffer */
    FEED_CLIENT_TIMEOUT,      /* no reply after every attempt */
    FEED_CLIENT_BAD_ENDPOINT, /* an endpoint ZeroMQ refuses, or none */
    FEED_CLIENT_BAD_KEY,      /* a CURVE key or certificate is not usable */
    FEED_CLIENT_NO_MEMORY,    /* out of memory */
    FEED_CLIENT_ERROR,        /* ZeroMQ failed otherwise */
};

struct feed_client;

/*
 * Makes a client for the endpoints in `endpoints`, a comma-separated list
 * (spaces around the commas allowed), e.g.
 * "tcp://10.0.0.1:5555, tcp://10.0.0.2:5555". Every endpoint is checked
 * now, as zmq_connect() would judge it (tcp with a host and a port, ipc,
 * inproc; a typo fails here, not at the first send); nothing is
 * connected until the first send. zmq_ctx is a ZeroMQ context to share,
 * or NULL for one of the client's own.
 *
 * Returns FEED_CLIENT_TRUE with the client in *client (free it with
 * feed_client_free), or BAD_ENDPOINT, NO_MEMORY or ERROR with *client
 * NULL and the reason in err.
 */
enum feed_client_status feed_client_new(struct feed_client **client,
                                        const char *endpoints, void *zmq_ctx,
                                        char *err, size_t errlen);

/*
 * feed_client_new() for an array of n endpoints; each item may itself be
 * a comma-separated list.
 */
enum feed_client_status feed_client_new_array(struct feed_client **client,
                                              const char *const *endpoints,
                                              size_t n, void *zmq_ctx,
                                              char *err, size_t errlen);

/*
 * Ends a client: closes its socket (a request without its reply is
 * dropped) and, if the client made its own ZeroMQ context, ends that.
 * Takes NULL.
 */
void feed_client_free(struct feed_client *client);

/*
 * Sets how long one attempt waits for its reply (timeout_ms, at least 1)
 * and how many times a message is sent again after a timeout (retries, 0
 * for none). Returns FEED_CLIENT_TRUE, or FEED_CLIENT_ERROR with the
 * reason in err when timeout_ms is below 1.
 */
enum feed_client_status feed_client_set_timeout(struct feed_client *client,
                                                int timeout_ms,
                                                unsigned retries, char *err,
                                                size_t errlen);

/*
 * Turns CURVE on, from Z85 keys (40 characters each): the server's public
 * key and the client's own public and secret keys. The keys are checked
 * (valid Z85, and the secret key must belong to the public key) and
 * copied; they take effect from the next socket the client opens.
 * Returns FEED_CLIENT_TRUE, or FEED_CLIENT_BAD_KEY with the reason in err
 * (the client is unchanged).
 */
enum feed_client_status feed_client_set_curve(struct feed_client *client,
                                              const char *server_public,
                                              const char *client_public,
                                              const char *client_secret,
                                              char *err, size_t errlen);

/*
 * Turns CURVE on from certificate files in the text format of czmq's
 * zcert and pyzmq's zmq.auth (what `feed-core keygen` writes):
 * server_cert is the server's public certificate (NAME.key), client_cert
 * the client's secret certificate (NAME.key_secret, which group and
 * others must not be able to read). Returns as feed_client_set_curve(),
 * the reason naming the file.
 */
enum feed_client_status feed_client_load_curve(struct feed_client *client,
                                               const char *server_cert,
                                               const char *client_cert,
                                               char *err, size_t errlen);

/*
 * Sends one message of len bytes (the lines of one or more trades, joined
 * by "\n") and waits for the reply, resending on the next endpoint after
 * each timeout as described at the top. text (textlen bytes, owned by the
 * caller) receives, always NUL-terminated and cut to fit:
 *
 *   FEED_CLIENT_TRUE       ""
 *   FEED_CLIENT_FALSE      the reason after "FALSE ", e.g.
 *                          "line 2: volume is not a number"
 *   FEED_CLIENT_BAD_REPLY  the reply as it came (the peer is not feed-core)
 *   any other status       one line saying what went wrong, e.g.
 *                          "no reply after 4 attempts"
 *
 * Only FEED_CLIENT_TRUE means the message was booked. After a TIMEOUT the
 * message may or may not have been booked: sending it again is safe.
 */
enum feed_client_status feed_client_send(struct feed_client *client,
                                         const void *msg, size_t len,
                                         char *text, size_t textlen);

/*
 * How many times the last feed_client_send() sent its message (1 when
 * the first attempt got a reply).
 */
unsigned feed_client_attempts(const struct feed_client *client);

/*
 * The endpoint the client's next attempt goes to. The string belongs to
 * the client and lives as long as it does.
 */
const char *feed_client_endpoint(const struct feed_client *client);

/*
 * Makes the client's next attempt go to endpoint number index (from 0,
 * modulo the list's length) of its list, so that many clients of one list
 * can start on different endpoints.
 */
void feed_client_set_endpoint(struct feed_client *client, size_t index);

/*
 * Asks the client to give up early: a send in progress finishes its
 * current attempt (it gets its reply or its timeout) and is not sent
 * again; later sends make one attempt each. Meant for a program that is
 * stopping. Safe from any thread and from a signal handler.
 */
void feed_client_stop(struct feed_client *client);

/* A short name for a status ("TRUE", "timeout", ...); never NULL. */
const char *feed_client_status_name(enum feed_client_status status);

#ifdef __cplusplus
}
#endif

#endif
