/*
 * zmq_rep.c - the source of the default pipeline: requests over ZeroMQ.
 *
 * Owns a ROUTER socket bound to one or more endpoints. Clients are REQ
 * sockets (the original PHP daemon's were): a request arrives as
 * [routing id][empty delimiter][body] and its reply must go back with the
 * same envelope. A REP socket could only answer in lockstep, one request at
 * a time; ROUTER lets replies leave in any order, as their batches commit,
 * so many clients are served at once. Parsing, queueing and deciding when
 * to answer are the core's: this file only moves frames.
 *
 * Everything here runs on the source thread, except configure() and open()
 * (main thread, before the daemon drops root: binding may need it).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include <feed/plugin.h>

/* Routing frames kept per request; proxies add one each. */
#define MAX_HOPS 8
/* Frames of one request we look at; the rest are only counted. */
#define MAX_FRAMES (MAX_HOPS + 2)
/* Requests read in a row before replies get their turn again. */
#define READ_BURST 256

struct zconf {
    const struct feed_host *host; /* borrowed */
    char *endpoints;              /* the list, split in place by NULs */
    size_t nendpoints;
    long long max_message;
    long long linger_ms;
    long long rcvhwm;
};

struct zsource {
    const struct zconf *conf; /* borrowed */
    void *ctx;
    void *router;
};

/* Splits "a, b,c" into NUL-separated words; returns how many, 0 if bad. */
static size_t
split(char *list)
{
    size_t n = 0;
    char *out = list;
    char *word = strtok(list, ",");

    while (word != NULL) {
        size_t len;

        word += strspn(word, " \t");
        len = strlen(word);
        while (len > 0 && (word[len - 1] == ' ' || word[len - 1] == '\t')) {
            len--;
        }
        if (len == 0 || strstr(word, "://") == NULL) {
            return 0;
        }
        memmove(out, word, len);
        out[len] = '\0';
        out += len + 1;
        n++;
        word = strtok(NULL, ",");
    }
    return n;
}

static void *
zmq_rep_configure(const struct feed_host *host, char *err, size_t errlen)
{
    struct zconf *c = calloc(1, sizeof *c);
    const char *endpoint = NULL;
    int bad = 0;

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->host = host;
    bad |= host->conf_string(host, "endpoint", "tcp://127.0.0.1:5555",
                             &endpoint);
    bad |= host->conf_int(host, "max_message", 1048576, 16, 1LL << 30,
                          &c->max_message);
    bad |= host->conf_int(host, "linger_ms", 2000, 0, 60000, &c->linger_ms);
    bad |= host->conf_int(host, "rcvhwm", 100, 1, 1000000, &c->rcvhwm);
    if (endpoint != NULL) {
        c->endpoints = strdup(endpoint);
        if (c->endpoints == NULL) {
            snprintf(err, errlen, "out of memory");
            bad = -1;
        } else if ((c->nendpoints = split(c->endpoints)) == 0) {
            host->conf_error(host, "endpoint", "\"%s\" is not a list of "
                             "endpoints like tcp://127.0.0.1:5555", endpoint);
            bad = -1;
        }
    }
    if (bad) {
        free(c->endpoints);
        free(c);
        return NULL;
    }
    return c;
}

static void
zmq_rep_unconfigure(const struct feed_host *host, void *conf)
{
    struct zconf *c = conf;

    (void)host;
    if (c != NULL) {
        free(c->endpoints);
        free(c);
    }
}

static void
zmq_rep_close(const struct feed_host *host, void *state)
{
    struct zsource *s = state;

    (void)host;
    if (s == NULL) {
        return;
    }
    /* Linger lets the last replies leave before the context ends. */
    if (s->router != NULL) {
        zmq_close(s->router);
    }
    if (s->ctx != NULL) {
        zmq_ctx_term(s->ctx);
    }
    free(s);
}

static int
set_int(void *sock, int option, int value)
{
    return zmq_setsockopt(sock, option, &value, sizeof value);
}

static enum feed_result
zmq_rep_open(const struct feed_host *host, void *conf, void **state, char *err,
             size_t errlen)
{
    const struct zconf *c = conf;
    struct zsource *s = calloc(1, sizeof *s);
    int64_t max = c->max_message;
    const char *ep = c->endpoints;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return FEED_FAIL;
    }
    s->conf = c;
    s->ctx = zmq_ctx_new();
    s->router = s->ctx != NULL ? zmq_socket(s->ctx, ZMQ_ROUTER) : NULL;
    if (s->router == NULL ||
        zmq_setsockopt(s->router, ZMQ_MAXMSGSIZE, &max, sizeof max) == -1 ||
        set_int(s->router, ZMQ_LINGER, (int)c->linger_ms) == -1 ||
        set_int(s->router, ZMQ_RCVHWM, (int)c->rcvhwm) == -1) {
        snprintf(err, errlen, "cannot create a ROUTER socket: %s",
                 zmq_strerror(zmq_errno()));
        goto fail;
    }
    for (size_t i = 0; i < c->nendpoints; i++, ep += strlen(ep) + 1) {
        if (zmq_bind(s->router, ep) == -1) {
            snprintf(err, errlen, "cannot bind %s: %s", ep,
                     zmq_strerror(zmq_errno()));
            goto fail;
        }
        host->log(host, FEED_LOG_INFO, "listening on %s", ep);
    }
    *state = s;
    return FEED_OK;

fail:
    if (s->router != NULL) {
        set_int(s->router, ZMQ_LINGER, 0);
    }
    zmq_rep_close(host, s);
    return FEED_FAIL;
}

/*
 * The reply address of a request, as the core keeps it (opaque to it):
 * byte 0 says whether the client used an empty delimiter (REQ does), then
 * each routing frame as one length byte and its bytes. ZeroMQ routing ids
 * are at most 255 bytes.
 */
struct envelope {
    unsigned char tag[1 + MAX_HOPS * 256];
    size_t len;
};

/* One frame of a ROUTER message, as received. */
struct frame {
    const void *data;
    size_t size;
};

/*
 * Makes the request of one ROUTER message out of its first `n` frames
 * (`extra` more were counted, not kept): the routing frames up to the
 * empty delimiter, or just the peer's id when the client sent none, become
 * the reply address in env; the frame after them is the body, and the
 * frames from there on are the request's parts. Returns 0, or -1 when no
 * reply could be addressed (too many routing frames, one longer than 255
 * bytes, or more than FEED_TAG_MAX bytes in all).
 */
static int
envelope_open(const struct frame *f, size_t n, size_t extra,
              struct envelope *env, struct feed_request *req)
{
    size_t delim = 0; /* index of the empty delimiter, 0: none */
    size_t hops;
    size_t first;

    for (size_t i = 1; i < n && delim == 0; i++) {
        if (f[i].size == 0) {
            delim = i;
        }
    }
    hops = delim != 0 ? delim : 1;
    if (n == 0 || hops > MAX_HOPS) {
        return -1;
    }
    env->tag[0] = delim != 0;
    env->len = 1;
    for (size_t i = 0; i < hops; i++) {
        if (f[i].size > 255 || env->len + 1 + f[i].size > FEED_TAG_MAX) {
            return -1;
        }
        env->tag[env->len++] = (unsigned char)f[i].size;
        memcpy(env->tag + env->len, f[i].data, f[i].size);
        env->len += f[i].size;
    }
    first = hops + (delim != 0);
    req->tag = env->tag;
    req->tag_len = env->len;
    if (first < n) {
        req->body = f[first].data;
        req->len = f[first].size;
        req->parts = (unsigned)(n + extra - first);
    } else {
        req->body = "";
        req->len = 0;
        req->parts = 1; /* an empty request: the parser says why not */
    }
    return 0;
}

/*
 * Calls out(arg, data, size) for each frame of the reply envelope kept in
 * tag, delimiter included. Returns 0, -1 when out() failed or the tag is
 * malformed.
 */
static int
envelope_walk(const unsigned char *tag, size_t len,
              int (*out)(void *arg, const void *data, size_t size),
              void *arg)
{
    size_t at = 1;

    if (len == 0) {
        return -1;
    }
    while (at < len) {
        size_t n = tag[at++];
        if (n > len - at || out(arg, tag + at, n) == -1) {
            return -1;
        }
        at += n;
    }
    return tag[0] ? out(arg, "", 0) : 0;
}

/* Reads one request; 1 when one was handled, 0 when none was waiting. */
static int
read_request(struct zsource *s)
{
    const struct feed_host *h = s->conf->host;
    zmq_msg_t msgs[MAX_FRAMES];
    struct frame frames[MAX_FRAMES];
    struct envelope env;
    struct feed_request req = {0};
    size_t n = 0;
    size_t extra = 0; /* frames beyond MAX_FRAMES, counted only */
    int more = 1;

    while (more) {
        zmq_msg_t spare;
        zmq_msg_t *m = n < MAX_FRAMES ? &msgs[n] : &spare;

        zmq_msg_init(m);
        if (zmq_msg_recv(m, s->router, n == 0 ? ZMQ_DONTWAIT : 0) == -1) {
            zmq_msg_close(m);
            if (n == 0) {
                return 0;
            }
            break; /* ETERM or EINTR mid-message: nothing to answer */
        }
        more = zmq_msg_more(m);
        if (m == &spare) {
            zmq_msg_close(m);
            extra++;
            continue;
        }
        frames[n].data = zmq_msg_data(m);
        frames[n].size = zmq_msg_size(m);
        n++;
    }
    if (envelope_open(frames, n, extra, &env, &req) == -1) {
        /* No reply can reach the peer, but the core keeps what it sent. */
        req.tag = NULL;
        req.tag_len = 0;
        req.body = frames[n - 1].data;
        req.len = frames[n - 1].size;
        req.parts = (unsigned)(n + extra);
    }
    h->submit(h, &req);
    for (size_t i = 0; i < n; i++) {
        zmq_msg_close(&msgs[i]);
    }
    return 1;
}

/* Sends one frame of a reply's envelope; for envelope_walk(). */
static int
send_more(void *router, const void *data, size_t size)
{
    return zmq_send(router, data, size, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 ? 0
                                                                         : -1;
}

static void
zmq_rep_reply(const struct feed_host *host, void *state, const void *tag,
              size_t tag_len, const char *text, size_t len)
{
    struct zsource *s = state;

    /* ROUTER never blocks on send: a vanished peer's reply is dropped. */
    if (envelope_walk(tag, tag_len, send_more, s->router) == -1 ||
        zmq_send(s->router, text, len, ZMQ_DONTWAIT) == -1) {
        const struct feed_host *h = host;
        h->log(h, FEED_LOG_DEBUG, "reply not sent: %s",
               zmq_strerror(zmq_errno()));
    }
}

static int
zmq_rep_run(const struct feed_host *host, void *state)
{
    struct zsource *s = state;
    const struct feed_host *h = host;
    zmq_pollitem_t items[2] = {
        {s->router, 0, ZMQ_POLLIN, 0},
        {NULL, h->wake_fd(h), ZMQ_POLLIN, 0},
    };

    while (!h->finished(h)) {
        int reading = h->accepting(h);

        items[0].events = reading ? ZMQ_POLLIN : 0;
        if (zmq_poll(items, 2, -1) == -1) {
            if (zmq_errno() == EINTR) {
                continue;
            }
            h->log(h, FEED_LOG_ERROR, "zmq_poll: %s",
                   zmq_strerror(zmq_errno()));
            return -1;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            h->drain(h);
        }
        if (reading && (items[0].revents & ZMQ_POLLIN)) {
            for (int i = 0; i < READ_BURST && h->accepting(h); i++) {
                if (!read_request(s)) {
                    break;
                }
            }
        }
    }
    return 0;
}

FEED_EXPORT const struct feed_plugin feed_plugin = {
    FEED_PLUGIN_HEADER,
    .kind = FEED_KIND_SOURCE,
    .name = "zmq_rep",
    .version = "1.0.0",
    .summary = "receives requests from ZeroMQ REQ clients, replies TRUE or "
               "FALSE <reason>",
    .configure = zmq_rep_configure,
    .unconfigure = zmq_rep_unconfigure,
    .open = zmq_rep_open,
    .close = zmq_rep_close,
    .run = zmq_rep_run,
    .reply = zmq_rep_reply,
};
