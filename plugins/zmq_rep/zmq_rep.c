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
 * Who may connect is gate.c's (ZAP, always on; CURVE when
 * curve_secret_key is set), with acl.c (allow) and keyring.c
 * (curve_clients). This file checks each request once more: with CURVE,
 * the key libzmq vouched for ("User-Id") must still be in the keyring,
 * which reopen() reloads after SIGHUP; a revoked client's request on a
 * connection it still holds is refused (feed_request.refuse).
 *
 * Each request names its client (feed_request.client): the certificate's
 * name with CURVE, else the peer's address.
 *
 * Everything here runs on the source thread, except configure() and open()
 * (main thread, before the daemon drops root: binding and reading the
 * secret key may need it). The secret key is kept in the configuration,
 * for open(), and wiped in unconfigure().
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include <feed/plugin.h>

#include "acl.h"
#include "gate.h"
#include "keyring.h"
#include "zcert.h"

/* Routing frames kept per request; proxies add one each. */
#define MAX_HOPS 8
/* Frames of one request we look at; the rest are only counted. */
#define MAX_FRAMES (MAX_HOPS + 2)
/* Requests read in a row before replies get their turn again. */
#define READ_BURST 256
/* The ZAP domain: any non-empty one makes libzmq ask the handler. */
#define ZAP_DOMAIN "feed-core"
/* The reason given to a client whose key was revoked. */
#define NOT_ALLOWED "client not allowed"

struct zconf {
    const struct feed_host *host; /* borrowed */
    char *endpoints;              /* the list, split in place by NULs */
    size_t nendpoints;
    long long max_message;
    long long linger_ms;
    long long rcvhwm;
    int io_policy;           /* IO_POLICY_*: ZeroMQ's I/O thread */
    int ipv6;                /* an endpoint is an IPv6 address */
    int curve;               /* curve_secret_key is set */
    char secret_z85[41];     /* the server's secret key, with CURVE */
    const char *clients_dir; /* curve_clients; the core's string */
    const char *allow;       /* the allow list as written; "" is any */
    long long max_connections;
    long long handshake_ms;
};

/* io_policy: how ZeroMQ's I/O thread is scheduled. */
enum { IO_POLICY_BATCH, IO_POLICY_INHERIT };

struct zsource {
    const struct zconf *conf; /* borrowed */
    void *ctx;
    struct gate *gate;
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

/*
 * Reads an optional path key: *out is NULL when the key is absent or
 * empty. Returns 0, or -1 when the value is bad (reported).
 */
static int
optional_path(const struct feed_host *host, const char *key, const char **out)
{
    const char *text = "";

    *out = NULL;
    if (host->conf_string(host, key, "", &text) != 0) {
        return -1;
    }
    return *text == '\0' ? 0 : host->conf_path(host, key, NULL, out);
}

/*
 * The trust keys: curve_secret_key, curve_clients, allow,
 * max_connections, handshake_timeout. The files are read here, so that
 * `check` and `start` report a bad key or folder at its line.
 */
static int
configure_trust(const struct feed_host *host, struct zconf *c)
{
    const char *secret = NULL;
    struct keyring *keys = NULL;
    struct acl *acl = NULL;
    struct zcert cert;
    char err[FEED_ERR_MAX];
    long long seconds = 10;
    int bad = 0;

    bad |= optional_path(host, "curve_secret_key", &secret);
    bad |= optional_path(host, "curve_clients", &c->clients_dir);
    bad |= host->conf_string(host, "allow", "", &c->allow);
    bad |= host->conf_int(host, "max_connections", 1024, 1, 1000000,
                          &c->max_connections);
    bad |= host->conf_int(host, "handshake_timeout", 10, 1, 3600, &seconds);
    c->handshake_ms = seconds * 1000;
    if (secret != NULL) {
        if (zcert_load_secret(secret, &cert, err, sizeof err) == -1) {
            host->conf_error(host, "curve_secret_key", "%s", err);
            bad = -1;
        } else {
            memcpy(c->secret_z85, cert.secret_z85, sizeof c->secret_z85);
            c->curve = 1;
        }
        explicit_bzero(&cert, sizeof cert);
        if (c->clients_dir == NULL) {
            host->conf_error(
                host, "curve_secret_key",
                "CURVE needs curve_clients, the folder of the clients' public certificates");
            bad = -1;
        }
    } else if (c->clients_dir != NULL) {
        host->conf_error(
            host, "curve_clients",
            "curve_clients needs curve_secret_key (CURVE is off without it)");
        bad = -1;
    }
    if (c->clients_dir != NULL) {
        if (keyring_load(c->clients_dir, &keys, err, sizeof err) == -1) {
            host->conf_error(host, "curve_clients", "%s", err);
            bad = -1;
        }
        keyring_free(keys);
    }
    if (c->allow != NULL && *c->allow != '\0') {
        if (acl_parse(c->allow, &acl, err, sizeof err) == -1) {
            host->conf_error(host, "allow", "%s", err);
            bad = -1;
        }
        acl_free(acl);
    }
    return bad;
}

static void *
zmq_rep_configure(const struct feed_host *host, char *err, size_t errlen)
{
    static const char *const io_policies[] = {"batch", "inherit", NULL};
    struct zconf *c = calloc(1, sizeof *c);
    const char *endpoint = NULL;
    int bad = 0;

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->host = host;
    bad |=
        host->conf_string(host, "endpoint", "tcp://127.0.0.1:5555", &endpoint);
    bad |= host->conf_int(host, "max_message", 1048576, 16, 1LL << 30,
                          &c->max_message);
    bad |= host->conf_int(host, "linger_ms", 2000, 0, 60000, &c->linger_ms);
    bad |= host->conf_int(host, "rcvhwm", 100, 1, 1000000, &c->rcvhwm);
    bad |= host->conf_enum(host, "io_policy", io_policies, IO_POLICY_BATCH,
                           &c->io_policy);
    if (endpoint != NULL) {
        c->endpoints = strdup(endpoint);
        if (c->endpoints == NULL) {
            snprintf(err, errlen, "out of memory");
            bad = -1;
        } else if ((c->nendpoints = split(c->endpoints)) == 0) {
            host->conf_error(host, "endpoint",
                             "\"%s\" is not a list of "
                             "endpoints like tcp://127.0.0.1:5555",
                             endpoint);
            bad = -1;
        }
    }
    bad |= configure_trust(host, c);
    if (bad) {
        explicit_bzero(c->secret_z85, sizeof c->secret_z85);
        free(c->endpoints);
        free(c);
        return NULL;
    }
    for (size_t i = 0, at = 0; i < c->nendpoints; i++) {
        c->ipv6 |= strchr(c->endpoints + at, '[') != NULL;
        at += strlen(c->endpoints + at) + 1;
    }
    return c;
}

static void
zmq_rep_unconfigure(const struct feed_host *host, void *conf)
{
    struct zconf *c = conf;

    (void)host;
    if (c != NULL) {
        explicit_bzero(c->secret_z85, sizeof c->secret_z85);
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
    gate_free(s->gate);
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

/* Loads the lists and binds the ZAP handler; -1 with the reason in err. */
static int
open_gate(const struct feed_host *host, const struct zconf *c,
          struct zsource *s, char *err, size_t errlen)
{
    struct keyring *keys = NULL;
    struct acl *allow = NULL;
    char why[FEED_ERR_MAX];

    if (c->curve &&
        keyring_load(c->clients_dir, &keys, why, sizeof why) == -1) {
        snprintf(err, errlen, "curve_clients: %s", why);
        return -1;
    }
    if (*c->allow != '\0' &&
        acl_parse(c->allow, &allow, why, sizeof why) == -1) {
        snprintf(err, errlen, "allow: %s", why);
        keyring_free(keys);
        return -1;
    }
    s->gate = gate_new(host, s->ctx, c->curve, c->max_connections,
                       c->handshake_ms, keys, allow, err, errlen);
    if (s->gate == NULL) {
        return -1;
    }
    if (c->curve) {
        host->log(host, FEED_LOG_INFO, "CURVE on, %zu clients allowed",
                  keyring_size(keys));
    }
    return 0;
}

/*
 * The ROUTER socket's options, all set before it binds: ZMQ_MAXMSGSIZE
 * bounds each frame, the ZAP domain makes libzmq ask the gate about every
 * peer, CURVE when the configuration has a secret key.
 */
static int
set_options(const struct zconf *c, void *router, char *err, size_t errlen)
{
    int64_t max = c->max_message;

    if (zmq_setsockopt(router, ZMQ_MAXMSGSIZE, &max, sizeof max) == -1 ||
        set_int(router, ZMQ_LINGER, (int)c->linger_ms) == -1 ||
        set_int(router, ZMQ_RCVHWM, (int)c->rcvhwm) == -1 ||
        set_int(router, ZMQ_IPV6, c->ipv6) == -1 ||
        set_int(router, ZMQ_HANDSHAKE_IVL, (int)c->handshake_ms) == -1 ||
        zmq_setsockopt(router, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN,
                       strlen(ZAP_DOMAIN)) == -1) {
        snprintf(err, errlen, "cannot create a ROUTER socket: %s",
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    if (c->curve && (set_int(router, ZMQ_CURVE_SERVER, 1) == -1 ||
                     zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, c->secret_z85,
                                    41) == -1)) {
        snprintf(err, errlen, "cannot turn CURVE on: %s",
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

/*
 * io_policy = batch: ZeroMQ's I/O thread runs SCHED_BATCH, so that a
 * request arriving from a client on the same CPU does not preempt that
 * client's sender. Woken with the CPU busy, it waits for its turn and then
 * takes every request that came meanwhile in one pass, where under
 * SCHED_OTHER it would run once per request, two context switches each
 * (bench/RESULTS.md: at 64 clients its sleeps per commit fell from 10-20
 * to 3-5, and the daemon's CPU per trade by 9-21%). An idle
 * CPU still runs it at once. Only over SCHED_OTHER: a process an operator
 * started with another policy keeps it, and libzmq, which aborts when it
 * cannot set a policy, is never asked for one that could fail. Must come
 * before the first socket, which starts the I/O thread.
 */
static int
set_io_policy(const struct feed_host *host, const struct zconf *c, void *ctx,
              char *err, size_t errlen)
{
    int policy;

    if (c->io_policy == IO_POLICY_INHERIT) {
        return 0;
    }
    policy = sched_getscheduler(0);
    if (policy != SCHED_OTHER) {
        host->log(host, FEED_LOG_NOTICE,
                  "io_policy = batch not applied: the process is not "
                  "scheduled SCHED_OTHER (policy %d); the I/O thread keeps "
                  "its policy",
                  policy);
        return 0;
    }
    if (zmq_ctx_set(ctx, ZMQ_THREAD_SCHED_POLICY, SCHED_BATCH) == -1) {
        snprintf(err, errlen, "cannot set io_policy = batch: %s",
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

static enum feed_result
zmq_rep_open(const struct feed_host *host, void *conf, void **state, char *err,
             size_t errlen)
{
    const struct zconf *c = conf;
    struct zsource *s = calloc(1, sizeof *s);
    const char *ep = c->endpoints;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return FEED_FAIL;
    }
    s->conf = c;
    s->ctx = zmq_ctx_new();
    if (s->ctx == NULL) {
        snprintf(err, errlen, "cannot create a ZeroMQ context: %s",
                 zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (set_io_policy(host, c, s->ctx, err, errlen) == -1) {
        goto fail;
    }
    /* The gate first: no peer may reach the ROUTER socket unchecked. */
    if (open_gate(host, c, s, err, errlen) == -1) {
        goto fail;
    }
    s->router = zmq_socket(s->ctx, ZMQ_ROUTER);
    if (s->router == NULL) {
        snprintf(err, errlen, "cannot create a ROUTER socket: %s",
                 zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (set_options(c, s->router, err, errlen) == -1) {
        goto fail;
    }
    if (gate_watch(s->gate, s->router, err, errlen) == -1) {
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
              int (*out)(void *arg, const void *data, size_t size), void *arg)
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

/*
 * Names the request's client (for logs, dead_letter and sinks): the
 * certificate name with CURVE, else the peer's address. With CURVE, a
 * client whose key is no longer allowed has its request refused: the core
 * dead-letters it and answers FALSE, and it is never written.
 */
static void
name_client(const struct feed_host *h, const struct zsource *s, zmq_msg_t *m,
            struct feed_request *req)
{
    const char *user_id;
    int allowed;

    if (!s->conf->curve) {
        req->client = zmq_msg_gets(m, "Peer-Address");
        return;
    }
    user_id = zmq_msg_gets(m, "User-Id");
    if (user_id == NULL) {
        user_id = "";
    }
    req->client = gate_client(s->gate, user_id, &allowed);
    if (!allowed) {
        req->refuse = NOT_ALLOWED;
        h->log(h, FEED_LOG_WARNING,
               "request refused: client not allowed client=%s key=%s len=%zu",
               req->client, user_id, req->len);
    }
}

/* Reads one request; 1 when one was handled, 0 when none was waiting. */
static int
read_request(const struct feed_host *h, struct zsource *s)
{
    zmq_msg_t msgs[MAX_FRAMES];
    struct frame frames[MAX_FRAMES];
    struct envelope env;
    struct feed_request req = {0};
    size_t n = 0;
    size_t extra = 0;         /* frames counted only */
    size_t keep = MAX_FRAMES; /* up to the body, once the delimiter is seen */
    int more = 1;

    while (more) {
        zmq_msg_t spare;
        zmq_msg_t *m = n < keep ? &msgs[n] : &spare;

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
        /* Past the body, a multipart request's frames are only counted. */
        if (n >= 1 && frames[n].size == 0 && keep == MAX_FRAMES) {
            keep = n + 2 < MAX_FRAMES ? n + 2 : MAX_FRAMES;
        }
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
    name_client(h, s, &msgs[n - 1], &req);
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
    zmq_pollitem_t items[4] = {
        {s->router, 0, ZMQ_POLLIN, 0},
        {NULL, h->wake_fd(h), ZMQ_POLLIN, 0},
    };

    int bursts = FEED_HOST_HAS(h, flush);

    /* The gate's sockets are served even while the queue is full. */
    gate_poll_items(s->gate, items + 2);
    while (!h->finished(h)) {
        int reading = h->accepting(h);
        int wake;

        items[0].events = reading ? ZMQ_POLLIN : 0;
        if (zmq_poll(items, 4, -1) == -1) {
            if (zmq_errno() == EINTR) {
                continue;
            }
            h->log(h, FEED_LOG_ERROR, "zmq_poll: %s",
                   zmq_strerror(zmq_errno()));
            return -1;
        }
        gate_serve(s->gate, items + 2);
        wake = (items[1].revents & ZMQ_POLLIN) != 0;
        /*
         * Replies first, then every request waiting, as the minimal loop
         * does: the answered clients' next requests are on their way
         * while we read. Woken by the end of a commit, the core may have
         * told us to leave requests with their clients until now
         * (accepting() was zero): the free worker takes them all as one
         * batch (flush()).
         */
        if (wake) {
            h->drain(h);
        }
        if (reading ? (items[0].revents & ZMQ_POLLIN) != 0
                    : wake && h->accepting(h)) {
            for (int i = 0; i < READ_BURST && h->accepting(h); i++) {
                if (!read_request(h, s)) {
                    break;
                }
            }
            if (bursts) {
                h->flush(h);
            }
        }
    }
    return 0;
}

/* Re-reads the allow key; a bad list keeps the old one. */
static void
reload_allow(const struct feed_host *host, struct zsource *s)
{
    const char *text = "";
    struct acl *acl = NULL;
    char err[FEED_ERR_MAX];

    if (host->conf_string(host, "allow", "", &text) != 0) {
        host->log(
            host, FEED_LOG_ERROR,
            "allow not reloaded, the addresses allowed before stay allowed");
        return;
    }
    if (*text != '\0' && acl_parse(text, &acl, err, sizeof err) == -1) {
        host->log(
            host, FEED_LOG_ERROR,
            "allow not reloaded, the addresses allowed before stay allowed: %s",
            err);
        return;
    }
    if (acl != NULL) {
        host->log(host, FEED_LOG_NOTICE, "allow reloaded: %zu entries",
                  acl_size(acl));
    } else {
        host->log(host, FEED_LOG_NOTICE, "allow reloaded: any address");
    }
    gate_set_allow(s->gate, acl);
}

/* Re-reads the curve_clients folder; one that fails keeps the old keys. */
static void
reload_clients(const struct feed_host *host, struct zsource *s)
{
    struct keyring *keys = NULL;
    char err[FEED_ERR_MAX];

    if (keyring_load(s->conf->clients_dir, &keys, err, sizeof err) == -1) {
        host->log(
            host, FEED_LOG_ERROR,
            "curve_clients not reloaded, the clients allowed before stay allowed: %s",
            err);
        return;
    }
    host->log(host, FEED_LOG_NOTICE, "curve_clients reloaded: %zu clients",
              keyring_size(keys));
    gate_set_keys(s->gate, keys);
}

/*
 * After SIGHUP, on the source's thread (the gate's): re-read allow from
 * the INI file as it is now, and the curve_clients folder. Between two ZAP
 * requests, so every peer is checked against one whole list.
 */
static void
zmq_rep_reopen(const struct feed_host *host, void *state)
{
    struct zsource *s = state;

    reload_allow(host, s);
    if (s->conf->curve) {
        reload_clients(host, s);
    }
}

FEED_EXPORT const struct feed_plugin feed_plugin = {
    FEED_PLUGIN_HEADER,
    .kind = FEED_KIND_SOURCE,
    .name = "zmq_rep",
    .version = "1.3.0",
    .summary = "receives requests from ZeroMQ REQ clients, replies TRUE or "
               "FALSE <reason>",
    .configure = zmq_rep_configure,
    .unconfigure = zmq_rep_unconfigure,
    .open = zmq_rep_open,
    .close = zmq_rep_close,
    .run = zmq_rep_run,
    .reply = zmq_rep_reply,
    .reopen = zmq_rep_reopen,
};
