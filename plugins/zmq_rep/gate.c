/*
 * gate.c - who may connect to zmq_rep.
 *
 * Owns the ZAP handler (RFC 27), the count of open connections and the log
 * of refused peers. ZAP is always on, with or without CURVE: the ROUTER
 * socket has a ZAP domain, so libzmq asks this handler about every peer
 * (address, and with CURVE the client's public key) before the peer may
 * send anything, and refuses ZMTP 1.0/2.0 peers outright.
 *
 * It fails closed: the handler is bound before the ROUTER socket binds and
 * lives as long as it does; a request it cannot read is answered 500
 * (refused); a peer whose request is never answered runs into
 * handshake_timeout and is dropped by libzmq.
 *
 * The handler runs on the source's own thread, in its zmq_poll() loop, not
 * on a thread of its own: the keyring and the allow list then have one
 * owner, and a reload (reopen(), also on that thread) swaps them between
 * two ZAP requests without a lock. A handshake waits at most one turn of
 * the loop (a burst of reads, or a drain) for its answer.
 *
 * max_connections and the reasons of failed handshakes come from a socket
 * monitor: ACCEPTED and DISCONNECTED events carry the connection's fd,
 * from which the peer's address is read once, at ACCEPTED.
 */
#include "gate.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define MONITOR_ENDPOINT "inproc://zmq_rep.monitor"
/* A refused address is logged at most this often; the rest are counted. */
#define LOG_EVERY_MS 60000
/* Addresses remembered for that; the least recent one makes room. */
#define SEEN_MAX 256
/* Frames of a ZAP request we read; a longer one is malformed. */
#define ZAP_FRAMES 8
#define ADDRESS_MAX 64

struct peer {
    int fd;
    char address[ADDRESS_MAX];
    uint64_t since_ms;
};

struct seen {
    char address[ADDRESS_MAX];
    uint64_t last_ms;
    unsigned long quiet; /* refusals not logged since last_ms */
};

/* All of it belongs to the source's thread. */
struct gate {
    const struct feed_host *host; /* borrowed */
    void *ctx;                    /* borrowed: the source's */
    void *zap;                    /* REP, bound to ZAP_ENDPOINT */
    void *monitor;                /* PAIR, connected to MONITOR_ENDPOINT */
    int curve;
    long long max_connections;
    long long handshake_timeout_ms;
    struct keyring *keys;
    struct keyring *previous; /* the keys before the last reload */
    struct acl *allow;
    struct peer *peers; /* open connections, by fd */
    size_t npeers;
    size_t cap;
    int failing;      /* the handshake failure event just seen, or 0 */
    int failing_code; /* its value (a ZMQ_PROTOCOL_ERROR_* code) */
    struct seen seen[SEEN_MAX];
};

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "::ffff:10.0.0.1" is the IPv4 peer 10.0.0.1 on an IPv6 socket. */
static void
copy_address(char *out, const void *data, size_t size)
{
    const char *text = data;

    if (size > 7 && memcmp(text, "::ffff:", 7) == 0 &&
        memchr(text + 7, '.', size - 7) != NULL) {
        text += 7;
        size -= 7;
    }
    if (size >= ADDRESS_MAX) {
        size = ADDRESS_MAX - 1;
    }
    memcpy(out, text, size);
    out[size] = '\0';
}

/*
 * Counts a refused peer and logs it, at most once a minute per address:
 * a peer knocking a thousand times a second must not flood the log.
 */
static void
refused(struct gate *g, const char *address, const char *reason,
        const char *key)
{
    const struct feed_host *h = g->host;
    uint64_t now = now_ms();
    struct seen *slot = NULL;
    struct seen *oldest = &g->seen[0];

    h->count(h, FEED_COUNT_PEERS_REFUSED, 1);
    for (size_t i = 0; i < SEEN_MAX && slot == NULL; i++) {
        if (g->seen[i].last_ms != 0 &&
            strcmp(g->seen[i].address, address) == 0) {
            slot = &g->seen[i];
        } else if (g->seen[i].last_ms < oldest->last_ms) {
            oldest = &g->seen[i];
        }
    }
    if (slot != NULL && now - slot->last_ms < LOG_EVERY_MS) {
        slot->quiet++;
        h->log(h, FEED_LOG_DEBUG, "peer refused: %s address=%s%s%s", reason,
               address, key != NULL ? " key=" : "", key != NULL ? key : "");
        return;
    }
    if (slot == NULL) {
        slot = oldest;
        snprintf(slot->address, sizeof slot->address, "%s", address);
        slot->quiet = 0;
    }
    if (slot->quiet > 0) {
        h->log(
            h, FEED_LOG_WARNING,
            "peer refused: %s address=%s%s%s (%lu more from it since the last line)",
            reason, address, key != NULL ? " key=" : "", key != NULL ? key : "",
            slot->quiet);
    } else {
        h->log(h, FEED_LOG_WARNING, "peer refused: %s address=%s%s%s", reason,
               address, key != NULL ? " key=" : "", key != NULL ? key : "");
    }
    slot->last_ms = now != 0 ? now : 1;
    slot->quiet = 0;
}

/* ----------------------------------------------------------------------
 * Connections, from the socket monitor.
 */

static struct peer *
find_peer(struct gate *g, int fd)
{
    for (size_t i = 0; i < g->npeers; i++) {
        if (g->peers[i].fd == fd) {
            return &g->peers[i];
        }
    }
    return NULL;
}

static void
accepted(struct gate *g, int fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    char text[INET6_ADDRSTRLEN] = "unknown";
    struct peer *p;

    if (g->npeers == g->cap) {
        size_t cap = g->cap == 0 ? 64 : g->cap * 2;
        struct peer *grown = realloc(g->peers, cap * sizeof *grown);

        if (grown == NULL) {
            return; /* only the count and a log line are at stake */
        }
        g->peers = grown;
        g->cap = cap;
    }
    /* The fd is libzmq's; it is open until DISCONNECTED is reported. */
    if (getpeername(fd, (struct sockaddr *)&sa, &len) == 0) {
        if (sa.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, text,
                      sizeof text);
        } else if (sa.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, text,
                      sizeof text);
        }
    }
    p = &g->peers[g->npeers++];
    p->fd = fd;
    copy_address(p->address, text, strlen(text));
    p->since_ms = now_ms();
}

/* Why the handshake of a connection that just closed failed, or NULL. */
static const char *
failure(const struct gate *g, const struct peer *p)
{
    switch (g->failing) {
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        /* libzmq's handshake timer gives no reason of its own. */
        if ((long long)(now_ms() - p->since_ms) >=
            g->handshake_timeout_ms - 50) {
            return "handshake timeout";
        }
        return "handshake failed";
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        if (g->failing_code == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
            return g->curve ? "not a CURVE client"
                            : "security mechanism not accepted";
        }
        return "handshake protocol error";
    default:
        return NULL; /* none, or ZAP refused it and said so already */
    }
}

static void
disconnected(struct gate *g, int fd)
{
    struct peer *p = find_peer(g, fd);
    const char *why;

    if (p == NULL) {
        return;
    }
    why = failure(g, p);
    if (why != NULL) {
        refused(g, p->address, why, NULL);
    }
    *p = g->peers[--g->npeers];
}

/* Handles one monitor event; 0 when none was waiting. */
static int
monitor_event(struct gate *g)
{
    zmq_msg_t m;
    uint16_t event = 0;
    uint32_t value = 0;
    int more;

    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, g->monitor, ZMQ_DONTWAIT) == -1) {
        zmq_msg_close(&m);
        return 0;
    }
    if (zmq_msg_size(&m) == 6) {
        memcpy(&event, zmq_msg_data(&m), 2);
        memcpy(&value, (const char *)zmq_msg_data(&m) + 2, 4);
    }
    more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    while (more) { /* the endpoint: ours, not the peer's */
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, g->monitor, 0) == -1) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    switch (event) {
    case ZMQ_EVENT_ACCEPTED:
        accepted(g, (int)value);
        break;
    case ZMQ_EVENT_DISCONNECTED:
        disconnected(g, (int)value);
        g->failing = 0;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        g->failing = event;
        g->failing_code = (int)value;
        break;
    default:
        g->failing = 0;
        break;
    }
    return 1;
}

static void
monitor_drain(struct gate *g)
{
    while (monitor_event(g)) {
    }
}

/* ----------------------------------------------------------------------
 * ZAP.
 */

struct verdict {
    const char *status; /* "200", "300", "400", "500" */
    const char *text;
    char user_id[41];
};

static int
frame_is(zmq_msg_t *m, const char *text)
{
    return zmq_msg_size(m) == strlen(text) &&
           memcmp(zmq_msg_data(m), text, strlen(text)) == 0;
}

/* Decides one well-formed request: frames 0-5, and 6 with CURVE. */
static void
decide(struct gate *g, zmq_msg_t *f, size_t n, struct verdict *v)
{
    char address[ADDRESS_MAX];
    char key[41];

    copy_address(address, zmq_msg_data(&f[3]), zmq_msg_size(&f[3]));
    v->status = "400";
    if (!acl_allows(g->allow, address)) {
        v->text = "address not allowed";
        refused(g, address, v->text, NULL);
        return;
    }
    if ((long long)g->npeers > g->max_connections) {
        v->status = "300";
        v->text = "too many connections";
        refused(g, address, v->text, NULL);
        return;
    }
    if (!g->curve) {
        v->status = frame_is(&f[5], "NULL") ? "200" : "400";
        v->text = v->status[0] == '2' ? "OK" : "mechanism not accepted";
        return;
    }
    if (!frame_is(&f[5], "CURVE") || n < 7 || zmq_msg_size(&f[6]) != 32 ||
        zmq_z85_encode(key, zmq_msg_data(&f[6]), 32) == NULL) {
        v->text = "not a CURVE client";
        refused(g, address, v->text, NULL);
        return;
    }
    if (keyring_find(g->keys, key) == NULL) {
        v->text = "unknown key";
        refused(g, address, v->text, key);
        return;
    }
    v->status = "200";
    v->text = "OK";
    memcpy(v->user_id, key, sizeof key);
}

static void
send_reply(struct gate *g, zmq_msg_t *request_id, const struct verdict *v)
{
    void *z = g->zap;

    zmq_send(z, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(z, zmq_msg_data(request_id), zmq_msg_size(request_id),
             ZMQ_SNDMORE);
    zmq_send(z, v->status, 3, ZMQ_SNDMORE);
    zmq_send(z, v->text, strlen(v->text), ZMQ_SNDMORE);
    zmq_send(z, v->user_id, strlen(v->user_id), ZMQ_SNDMORE);
    zmq_send(z, "", 0, 0);
}

/* Answers one ZAP request; 0 when none was waiting. */
static int
zap_request(struct gate *g)
{
    zmq_msg_t f[ZAP_FRAMES];
    zmq_msg_t spare;
    struct verdict v = {"500", "malformed ZAP request", ""};
    size_t n = 0;
    int too_long = 0;
    int more = 1;

    while (more) {
        zmq_msg_t *m = n < ZAP_FRAMES ? &f[n] : &spare;

        zmq_msg_init(m);
        if (zmq_msg_recv(m, g->zap, n == 0 ? ZMQ_DONTWAIT : 0) == -1) {
            zmq_msg_close(m);
            if (n == 0) {
                return 0;
            }
            break;
        }
        more = zmq_msg_more(m);
        if (m == &spare) {
            zmq_msg_close(m);
            too_long = 1;
        } else {
            n++;
        }
    }
    if (n < 2) {
        /* Not even a request id to answer to: libzmq never sends that. */
        for (size_t i = 0; i < n; i++) {
            zmq_msg_close(&f[i]);
        }
        return 1;
    }
    if (!too_long && n >= 6 && frame_is(&f[0], "1.0")) {
        /* The connection being asked about must be in the count. */
        monitor_drain(g);
        decide(g, f, n, &v);
    }
    send_reply(g, &f[1], &v);
    for (size_t i = 0; i < n; i++) {
        zmq_msg_close(&f[i]);
    }
    return 1;
}

/* ----------------------------------------------------------------------
 * The interface.
 */

static int
set_linger0(void *sock)
{
    int zero = 0;

    return zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
}

struct gate *
gate_new(const struct feed_host *host, void *ctx, int curve,
         long long max_connections, long long handshake_timeout_ms,
         struct keyring *keys, struct acl *allow, char *err, size_t errlen)
{
    struct gate *g = calloc(1, sizeof *g);

    if (g == NULL) {
        snprintf(err, errlen, "out of memory");
        keyring_free(keys);
        acl_free(allow);
        return NULL;
    }
    g->host = host;
    g->ctx = ctx;
    g->curve = curve;
    g->max_connections = max_connections;
    g->handshake_timeout_ms = handshake_timeout_ms;
    g->keys = keys;
    g->allow = allow;
    g->zap = zmq_socket(ctx, ZMQ_REP);
    if (g->zap == NULL || set_linger0(g->zap) == -1 ||
        zmq_bind(g->zap, ZAP_ENDPOINT) == -1) {
        snprintf(err, errlen, "cannot bind the ZAP handler %s: %s",
                 ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
        gate_free(g);
        return NULL;
    }
    return g;
}

int
gate_watch(struct gate *g, void *router, char *err, size_t errlen)
{
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                 ZMQ_EVENT_HANDSHAKE_SUCCEEDED;

    if (zmq_socket_monitor(router, MONITOR_ENDPOINT, events) == -1) {
        goto fail;
    }
    g->monitor = zmq_socket(g->ctx, ZMQ_PAIR);
    if (g->monitor == NULL || set_linger0(g->monitor) == -1 ||
        zmq_connect(g->monitor, MONITOR_ENDPOINT) == -1) {
        goto fail;
    }
    return 0;

fail:
    snprintf(err, errlen, "cannot monitor the ROUTER socket: %s",
             zmq_strerror(zmq_errno()));
    return -1;
}

void
gate_poll_items(const struct gate *g, zmq_pollitem_t items[2])
{
    items[0] = (zmq_pollitem_t){g->zap, 0, ZMQ_POLLIN, 0};
    items[1] = (zmq_pollitem_t){g->monitor, 0, ZMQ_POLLIN, 0};
}

void
gate_serve(struct gate *g, const zmq_pollitem_t items[2])
{
    /* Bounded: the source's requests and replies get their turn too. */
    if (items[1].revents & ZMQ_POLLIN) {
        for (int i = 0; i < 256 && monitor_event(g); i++) {
        }
    }
    if (items[0].revents & ZMQ_POLLIN) {
        for (int i = 0; i < 64 && zap_request(g); i++) {
        }
    }
}

const char *
gate_client(const struct gate *g, const char *user_id, int *allowed)
{
    const char *name = keyring_find(g->keys, user_id);

    *allowed = name != NULL;
    if (name == NULL) {
        name = keyring_find(g->previous, user_id);
    }
    return name != NULL ? name : user_id;
}

void
gate_set_keys(struct gate *g, struct keyring *keys)
{
    keyring_free(g->previous);
    g->previous = g->keys;
    g->keys = keys;
}

void
gate_set_allow(struct gate *g, struct acl *allow)
{
    acl_free(g->allow);
    g->allow = allow;
}

void
gate_free(struct gate *g)
{
    if (g == NULL) {
        return;
    }
    if (g->monitor != NULL) {
        zmq_close(g->monitor);
    }
    if (g->zap != NULL) {
        zmq_close(g->zap);
    }
    keyring_free(g->keys);
    keyring_free(g->previous);
    acl_free(g->allow);
    free(g->peers);
    free(g);
}
