/*
 * zsend.c - a raw ZeroMQ REQ client for tests: exact bytes in, reply out.
 *
 * feed-send speaks in trade lines; the tests also need requests it would
 * never produce: CRLF, a final newline, NUL bytes, invalid UTF-8, several
 * frames, the same request from many clients at once, a client that never
 * reads its reply. Each reply is printed as "NAME<TAB>REPLY".
 *
 * usage: zsend [-e ENDPOINT] [-t TIMEOUT_MS] [-m] [-c CLIENTS] [-H HOLD_MS]
 *              FILE...
 *        zsend -R COUNT [-b BASE] [-e ENDPOINT] [-t TIMEOUT_MS] [-c CLIENTS]
 *   every FILE (or '-' for stdin) is one request, sent in turn;
 *   -m  all FILEs together are one request, one frame each;
 *   -c  every request is sent by CLIENTS clients at once;
 *   -H  send, then hold the connection HOLD_MS without reading the reply.
 * Exits 0 when every request got a reply, 1 otherwise, 2 on usage errors.
 *
 * -R (churn): COUNT times a new REQ socket connects, sends one trade, reads
 * its reply and closes, spread over CLIENTS threads. Trade k (from 0) has
 * ticket T = BASE + k (default BASE 1) and is feed-send's line for T:
 * "T,1000 + T % 9000,T % 100000.T % 10000 (4 digits)". Prints one line,
 * "churn connections=COUNT acked=A refused=R noreply=N", and exits 0 when
 * every trade got TRUE, 1 otherwise. The first trade without a reply ends
 * the run (a daemon that stopped answering would make it last for hours).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

struct request {
    const char *name;
    char *data;
    size_t len;
};

struct client {
    void *ctx;
    const char *endpoint;
    int timeout_ms;
    int hold_ms;
    struct request *parts;
    size_t nparts;
    char reply[4096];
    int ok;
    pthread_t thread;
};

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0;
    size_t n = 0;

    if (f == NULL) {
        fprintf(stderr, "zsend: cannot read %s: %s\n", path, strerror(errno));
        exit(2);
    }
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            if (buf == NULL) {
                fprintf(stderr, "zsend: out of memory\n");
                exit(2);
            }
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0) {
            break;
        }
        n += got;
    }
    if (f != stdin) {
        fclose(f);
    }
    *len = n;
    return buf;
}

static void *
client_main(void *arg)
{
    struct client *c = arg;
    void *sock = zmq_socket(c->ctx, ZMQ_REQ);
    int linger = 0;
    int n;

    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &c->timeout_ms, sizeof c->timeout_ms);
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &c->timeout_ms, sizeof c->timeout_ms);
    if (zmq_connect(sock, c->endpoint) == -1) {
        snprintf(c->reply, sizeof c->reply, "(cannot connect: %s)",
                 zmq_strerror(zmq_errno()));
        goto done;
    }
    for (size_t i = 0; i < c->nparts; i++) {
        int more = i + 1 < c->nparts ? ZMQ_SNDMORE : 0;
        if (zmq_send(sock, c->parts[i].data, c->parts[i].len, more) == -1) {
            snprintf(c->reply, sizeof c->reply, "(cannot send: %s)",
                     zmq_strerror(zmq_errno()));
            goto done;
        }
    }
    if (c->hold_ms > 0) {
        struct timespec ts = {c->hold_ms / 1000,
                              (long)(c->hold_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
        snprintf(c->reply, sizeof c->reply, "(held)");
        c->ok = 1;
        goto done;
    }
    n = zmq_recv(sock, c->reply, sizeof c->reply - 1, 0);
    if (n == -1) {
        snprintf(c->reply, sizeof c->reply, "(no reply)");
        goto done;
    }
    c->reply[n < (int)sizeof c->reply ? n : (int)sizeof c->reply - 1] = '\0';
    c->ok = 1;
done:
    zmq_close(sock);
    return NULL;
}

/* Sends one request from `clients` clients at once; returns failures. */
static int
send_from(void *ctx, const char *endpoint, int timeout_ms, int hold_ms,
          struct request *parts, size_t nparts, int clients)
{
    struct client *cs = calloc((size_t)clients, sizeof *cs);
    int failed = 0;

    for (int i = 0; i < clients; i++) {
        cs[i] = (struct client){ctx,    endpoint, timeout_ms, hold_ms, parts,
                                nparts, "",       0,          0};
        pthread_create(&cs[i].thread, NULL, client_main, &cs[i]);
    }
    for (int i = 0; i < clients; i++) {
        pthread_join(cs[i].thread, NULL);
        printf("%s\t%s\n", parts[0].name, cs[i].reply);
        failed += !cs[i].ok;
    }
    free(cs);
    return failed;
}

/* -R: connections opened and closed, one trade each. */
struct churn {
    void *ctx;
    const char *endpoint;
    int timeout_ms;
    unsigned long long base;
    unsigned long long count;
    atomic_ullong next; /* the next trade to send, from 0 */
    atomic_ullong acked;
    atomic_ullong refused;
    atomic_ullong noreply;
    atomic_int stop; /* a trade got no reply: send no more */
};

/* Sends trade k on a socket of its own; counts the outcome. */
static void
churn_one(struct churn *ch, unsigned long long k)
{
    unsigned long long t = ch->base + k;
    char line[96];
    char reply[256];
    int linger = 0;
    int len = snprintf(line, sizeof line, "%llu,%llu,%llu.%04llu", t,
                       1000 + t % 9000, t % 100000, t % 10000);
    void *sock = zmq_socket(ch->ctx, ZMQ_REQ);
    int n = -1;

    if (sock == NULL) {
        atomic_fetch_add(&ch->noreply, 1);
        atomic_store(&ch->stop, 1);
        return;
    }
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &ch->timeout_ms, sizeof ch->timeout_ms);
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &ch->timeout_ms, sizeof ch->timeout_ms);
    if (zmq_connect(sock, ch->endpoint) == 0 &&
        zmq_send(sock, line, (size_t)len, 0) == len) {
        n = zmq_recv(sock, reply, sizeof reply, 0);
    }
    if (n == 4 && memcmp(reply, "TRUE", 4) == 0) {
        atomic_fetch_add(&ch->acked, 1);
    } else if (n >= 0) {
        atomic_fetch_add(&ch->refused, 1);
    } else {
        atomic_fetch_add(&ch->noreply, 1);
        atomic_store(&ch->stop, 1);
    }
    zmq_close(sock);
}

static void *
churn_main(void *arg)
{
    struct churn *ch = arg;
    unsigned long long k;

    while (!atomic_load(&ch->stop) &&
           (k = atomic_fetch_add(&ch->next, 1)) < ch->count) {
        churn_one(ch, k);
    }
    return NULL;
}

/* Runs -R; returns the exit code. */
static int
churn(const char *endpoint, int timeout_ms, unsigned long long base,
      unsigned long long count, int clients)
{
    struct churn ch = {.endpoint = endpoint,
                       .timeout_ms = timeout_ms,
                       .base = base,
                       .count = count};
    pthread_t *threads = calloc((size_t)clients, sizeof *threads);

    ch.ctx = zmq_ctx_new();
    if (threads == NULL || ch.ctx == NULL) {
        fprintf(stderr, "zsend: cannot start\n");
        return 2;
    }
    /* Every closed socket leaves a file descriptor until its reaper runs. */
    zmq_ctx_set(ch.ctx, ZMQ_MAX_SOCKETS, 4096);
    for (int i = 0; i < clients; i++) {
        pthread_create(&threads[i], NULL, churn_main, &ch);
    }
    for (int i = 0; i < clients; i++) {
        pthread_join(threads[i], NULL);
    }
    zmq_ctx_term(ch.ctx);
    free(threads);
    printf("churn connections=%llu acked=%llu refused=%llu noreply=%llu\n",
           count, (unsigned long long)atomic_load(&ch.acked),
           (unsigned long long)atomic_load(&ch.refused),
           (unsigned long long)atomic_load(&ch.noreply));
    return atomic_load(&ch.acked) == count ? 0 : 1;
}

int
main(int argc, char **argv)
{
    const char *endpoint = "tcp://127.0.0.1:5555";
    int timeout_ms = 10000;
    int multipart = 0;
    int clients = 1;
    int hold_ms = 0;
    unsigned long long churn_count = 0;
    unsigned long long churn_base = 1;
    int failed = 0;
    int opt;
    struct request *reqs;
    size_t n;
    void *ctx;

    while ((opt = getopt(argc, argv, "e:t:mc:H:R:b:")) != -1) {
        switch (opt) {
        case 'e':
            endpoint = optarg;
            break;
        case 't':
            timeout_ms = atoi(optarg);
            break;
        case 'm':
            multipart = 1;
            break;
        case 'c':
            clients = atoi(optarg);
            break;
        case 'H':
            hold_ms = atoi(optarg);
            break;
        case 'R':
            churn_count = strtoull(optarg, NULL, 10);
            break;
        case 'b':
            churn_base = strtoull(optarg, NULL, 10);
            break;
        default:
            fprintf(stderr, "usage: zsend [-e ENDPOINT] [-t TIMEOUT_MS] [-m] "
                            "[-c CLIENTS] [-H HOLD_MS] FILE...\n"
                            "       zsend -R COUNT [-b BASE] [-e ENDPOINT] "
                            "[-t TIMEOUT_MS] [-c CLIENTS]\n");
            return 2;
        }
    }
    if (churn_count > 0) {
        if (optind != argc || clients < 1) {
            fprintf(stderr, "zsend: -R takes no FILE\n");
            return 2;
        }
        return churn(endpoint, timeout_ms, churn_base, churn_count, clients);
    }
    n = (size_t)(argc - optind);
    if (n == 0 || clients < 1) {
        fprintf(stderr, "zsend: no FILE given\n");
        return 2;
    }
    reqs = calloc(n, sizeof *reqs);
    for (size_t i = 0; i < n; i++) {
        reqs[i].name = argv[optind + (int)i];
        reqs[i].data = slurp(reqs[i].name, &reqs[i].len);
    }
    ctx = zmq_ctx_new();
    if (multipart) {
        failed +=
            send_from(ctx, endpoint, timeout_ms, hold_ms, reqs, n, clients);
    } else {
        for (size_t i = 0; i < n; i++) {
            failed += send_from(ctx, endpoint, timeout_ms, hold_ms, &reqs[i], 1,
                                clients);
        }
    }
    zmq_ctx_term(ctx);
    for (size_t i = 0; i < n; i++) {
        free(reqs[i].data);
    }
    free(reqs);
    return failed > 0;
}
