/*
 * feed-send-load.c - feed-send's load mode: K client threads send
 * made-up, unique trades and the run is measured (throughput, latency,
 * a live progress line, the summary).
 *
 * Owns the threads, the shared counters, the --acked file and the ZeroMQ
 * context the clients share. Each thread owns its libfeed-client; the
 * main thread only ever calls feed_client_stop on them. The histogram's
 * arithmetic is feed-send-hist.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "feed-send-hist.h"
#include "feed-send.h"

/* A made-up trade line: 20 + 1 + 4 + 1 + 10 characters, "\n" and NUL. */
#define TRADE_MAX 40

/* --acked writes whole lines in chunks of at most this many bytes. */
#define ACKED_CHUNK 4096
/* The longest ticket line: 20 digits, "\n" and snprintf's NUL. */
#define TICKET_LINE_MAX 22

/* Load mode shows this many refusal texts; the summary counts them all. */
#define REFUSALS_SHOWN 5
#define REPLY_SHOWN_MAX 200

/*
 * One load run, shared by the client threads. The first block is set
 * before they start and only read after; the rest are atomics, added to
 * without a lock and read by the progress line while they move.
 */
struct load {
    const struct options *opt; /* borrowed */
    void *ctx;                 /* ZeroMQ contexts are thread safe */
    int acked_fd;              /* -1: no --acked */
    bool tty;                  /* a live progress line on stderr */
    long long deadline_us;     /* 0: no time bound */
    pthread_t main;            /* woken by the last client to finish */
    struct client *cl;         /* the clients, each its thread's */
    size_t n;                  /* how many */

    atomic_bool stop;   /* no new messages: signal, --duration or error */
    atomic_bool failed; /* a client hit an error (reported once) */
    atomic_int running; /* clients not yet finished */
    atomic_ullong next; /* the next message number to hand out */
    atomic_ullong acked;
    atomic_ullong refused;
    atomic_ullong timeouts;
    atomic_ullong shown; /* refusal texts printed so far */
    struct hist hist;    /* latency of acked messages, us */

    long long end_us; /* set by the last client; read after the joins */
};

/*
 * One client thread's own state; no other thread touches it, but for
 * feed_client_stop on conn (made and freed by the main thread, around the
 * thread's life).
 */
struct client {
    struct load *load; /* borrowed */
    struct feed_client *conn;
    pthread_t thread;
    char acked[ACKED_CHUNK]; /* acked tickets not yet written */
    size_t acked_len;
};

/*
 * Writes the made-up trade line for a ticket into buf (no newline) and
 * returns its length:
 *
 *     TICKET,LOGIN,VOLUME   LOGIN  = 1000 + TICKET % 9000
 *                           VOLUME = TICKET % 100000 "." TICKET % 10000
 *
 * with the fraction as 4 digits: 123457 gives "123457,7457,23457.3457".
 * Tests recompute login and volume from the ticket: keep this in step
 * with tools/feed-send.md.
 */
static size_t
trade_line(char *buf, size_t size, unsigned long long ticket)
{
    int n = snprintf(buf, size, "%llu,%llu,%llu.%04llu", ticket,
                     1000 + ticket % 9000, ticket % 100000, ticket % 10000);

    return n > 0 ? (size_t)n : 0;
}

/* The first ticket of message m. */
static unsigned long long
first_ticket(const struct load *ld, unsigned long long m)
{
    return ld->opt->ticket_base + m * ld->opt->lines;
}

/* Writes message m, its trade lines joined by "\n", into body (TRADE_MAX
 * bytes a line); returns its length. */
static size_t
build_body(const struct load *ld, char *body, unsigned long long m)
{
    unsigned long long ticket = first_ticket(ld, m);
    size_t len = 0;

    for (unsigned long long i = 0; i < ld->opt->lines; i++) {
        if (i > 0) {
            body[len++] = '\n';
        }
        len += trade_line(body + len, TRADE_MAX, ticket + i);
    }
    return len;
}

/*
 * Ends the run: no new messages, and no more resends of those in flight.
 * Any thread may call it.
 */
static void
stop_run(struct load *ld)
{
    atomic_store(&ld->stop, true);
    for (size_t i = 0; i < ld->n; i++) {
        feed_client_stop(ld->cl[i].conn);
    }
}

/* Reports a client's error, only the first one, and ends the run. */
static void
fail_run(struct load *ld, const char *err)
{
    if (!atomic_exchange(&ld->failed, true)) {
        fprintf(stderr, "%sfeed-send: %s\n", ld->tty ? "\r\033[K" : "", err);
    }
    stop_run(ld);
}

/*
 * Writes the client's acked tickets to the --acked file: whole lines, in
 * one write() of at most ACKED_CHUNK bytes, which O_APPEND keeps whole
 * when other feed-send processes share the file.
 */
static void
acked_flush(struct client *cl)
{
    struct load *ld = cl->load;
    size_t off = 0;
    char err[512];

    while (off < cl->acked_len) {
        ssize_t n = write(ld->acked_fd, cl->acked + off, cl->acked_len - off);

        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1) {
            snprintf(err, sizeof err, "cannot write %s: %s", ld->opt->acked,
                     strerror(errno));
            fail_run(ld, err);
            break;
        }
        off += (size_t)n;
    }
    cl->acked_len = 0;
}

/* Notes an acked ticket for the --acked file. */
static void
acked_note(struct client *cl, unsigned long long ticket)
{
    if (ACKED_CHUNK - cl->acked_len < TICKET_LINE_MAX) {
        acked_flush(cl);
    }
    cl->acked_len +=
        (size_t)snprintf(cl->acked + cl->acked_len, ACKED_CHUNK - cl->acked_len,
                         "%llu\n", ticket);
}

/* Prints one of the first REFUSALS_SHOWN refusals, with its tickets. */
static void
show_refusal(struct load *ld, unsigned long long m, enum feed_client_status st,
             const char *text)
{
    const char *clear = ld->tty ? "\r\033[K" : "";
    const char *false_ = st == FEED_CLIENT_FALSE ? "FALSE " : "";
    int len = REPLY_SHOWN_MAX - (int)strlen(false_);
    unsigned long long first = first_ticket(ld, m);

    if (ld->opt->quiet || atomic_fetch_add(&ld->shown, 1) >= REFUSALS_SHOWN) {
        return;
    }
    if (ld->opt->payload != NULL) {
        fprintf(stderr, "%sfeed-send: refused: %s%.*s\n", clear, false_, len,
                text);
    } else {
        fprintf(stderr, "%sfeed-send: refused tickets %llu-%llu: %s%.*s\n",
                clear, first, first + ld->opt->lines - 1, false_, len, text);
    }
}

/* Counts a finished message m; us is its latency, retries included. */
static void
record(struct client *cl, unsigned long long m, enum feed_client_status st,
       const char *text, long long us)
{
    struct load *ld = cl->load;

    if (st == FEED_CLIENT_FALSE || st == FEED_CLIENT_BAD_REPLY) {
        atomic_fetch_add_explicit(&ld->refused, 1, memory_order_relaxed);
        show_refusal(ld, m, st, text);
    } else if (st != FEED_CLIENT_TRUE) {
        atomic_fetch_add_explicit(&ld->timeouts, 1, memory_order_relaxed);
    } else {
        hist_add(&ld->hist, (unsigned long long)us);
        atomic_fetch_add_explicit(&ld->acked, 1, memory_order_relaxed);
        for (unsigned long long i = 0; ld->acked_fd != -1 && i < ld->opt->lines;
             i++) {
            acked_note(cl, first_ticket(ld, m) + i);
        }
    }
}

/* Hands out the next message number; false once the run is over. */
static bool
next_message(struct load *ld, unsigned long long *m)
{
    if (atomic_load(&ld->stop)) {
        return false;
    }
    if (ld->deadline_us != 0 && now_us() >= ld->deadline_us) {
        return false;
    }
    *m = atomic_fetch_add(&ld->next, 1);
    return *m < ld->opt->messages;
}

/* The last client to finish wakes the main thread from its wait. */
static void
client_done(struct load *ld)
{
    if (atomic_fetch_sub(&ld->running, 1) == 1) {
        ld->end_us = now_us();
        pthread_kill(ld->main, SIGUSR1);
    }
}

/* A client thread: its own client, messages until the run is over. */
static void *
client_main(void *arg)
{
    struct client *cl = arg;
    struct load *ld = cl->load;
    const struct options *o = ld->opt;
    char *body = NULL;
    char text[REPLY_MAX];
    unsigned long long m;

    if (o->payload == NULL) {
        body = malloc(o->lines * TRADE_MAX);
        if (body == NULL) {
            fail_run(ld, "out of memory for a message");
            goto fail;
        }
    }
    while (next_message(ld, &m)) {
        size_t len =
            body != NULL ? build_body(ld, body, m) : strlen(o->payload);
        long long start_us = now_us();
        enum feed_client_status st;

        st = feed_client_send(cl->conn, body != NULL ? body : o->payload, len,
                              text, sizeof text);
        if (st != FEED_CLIENT_TRUE && st != FEED_CLIENT_FALSE &&
            st != FEED_CLIENT_BAD_REPLY && st != FEED_CLIENT_TIMEOUT) {
            fail_run(ld, text);
        }
        record(cl, m, st, text, now_us() - start_us);
    }

fail:
    if (ld->acked_fd != -1) {
        acked_flush(cl);
    }
    free(body);
    client_done(ld);
    return NULL;
}

/* Where the progress line's rate was last measured. */
struct rate {
    long long at_us;
    unsigned long long acked;
};

/* Redraws the live progress line on stderr (a terminal). */
static void
progress(struct load *ld, long long start_us, struct rate *prev)
{
    unsigned long long acked = atomic_load(&ld->acked);
    long long now = now_us();
    double rate = now > prev->at_us ? (double)(acked - prev->acked) * US_PER_S /
                                          (double)(now - prev->at_us)
                                    : 0;

    fprintf(
        stderr,
        "\relapsed=%llds msgs_per_s=%.0f acked=%llu refused=%llu timeouts=%llu p99_ms=%.3f\033[K",
        (now - start_us) / US_PER_S, rate, acked,
        (unsigned long long)atomic_load(&ld->refused),
        (unsigned long long)atomic_load(&ld->timeouts),
        hist_percentile(&ld->hist, 990000));
    prev->at_us = now;
    prev->acked = acked;
}

/*
 * Waits for the clients, redrawing the progress line every second.
 * SIGINT, SIGTERM and SIGUSR1 are blocked in every thread and taken here,
 * so no handler runs: the first SIGINT or SIGTERM stops the run (the
 * clients finish what is in flight), a second one kills as usual.
 */
static void
wait_clients(struct load *ld, const sigset_t *sigs, long long start_us)
{
    struct rate prev = {start_us, 0};
    long long tick_us = start_us + US_PER_S;
    bool stopping = false;

    while (atomic_load(&ld->running) > 0) {
        long long left_us = tick_us - now_us();
        struct timespec ts = {0, 0};
        int sig;

        if (left_us > 0) {
            ts.tv_sec = left_us / US_PER_S;
            ts.tv_nsec = (long)(left_us % US_PER_S) * 1000;
        }
        sig = sigtimedwait(sigs, NULL, &ts);
        if ((sig == SIGINT || sig == SIGTERM) && stopping) {
            pthread_sigmask(SIG_UNBLOCK, sigs, NULL);
            raise(sig);
        }
        if (sig == SIGINT || sig == SIGTERM) {
            stopping = true;
            stop_run(ld);
        }
        if (now_us() >= tick_us) {
            if (ld->tty) {
                progress(ld, start_us, &prev);
            }
            tick_us += US_PER_S;
        }
    }
    if (ld->tty) {
        fputs("\r\033[K", stderr);
    }
}

/* The summary line on stdout; times in milliseconds, 3 decimals. */
static void
print_summary(struct load *ld, double seconds)
{
    const struct options *o = ld->opt;
    unsigned long long acked = atomic_load(&ld->acked);
    unsigned long long refused = atomic_load(&ld->refused);
    unsigned long long timeouts = atomic_load(&ld->timeouts);
    double per_s = seconds > 0 ? (double)acked / seconds : 0;

    printf(
        "clients=%llu lines=%llu messages=%llu acked=%llu refused=%llu timeouts=%llu ",
        o->clients, o->lines, acked + refused + timeouts, acked, refused,
        timeouts);
    printf("seconds=%.3f msgs_per_s=%.1f rows_per_s=%.1f ", seconds, per_s,
           per_s * (double)o->lines);
    printf("p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f\n",
           hist_percentile(&ld->hist, 500000),
           hist_percentile(&ld->hist, 990000),
           hist_percentile(&ld->hist, 999000));
}

/* Ends a load run's clients, their context and the --acked file. */
static void
load_free(struct load *ld)
{
    if (ld == NULL) {
        return;
    }
    for (size_t i = 0; i < ld->n; i++) {
        feed_client_free(ld->cl[i].conn);
    }
    free(ld->cl);
    if (ld->ctx != NULL) {
        zmq_ctx_term(ld->ctx);
    }
    if (ld->acked_fd != -1) {
        close(ld->acked_fd);
    }
    free(ld);
}

/*
 * Makes the clients, client i starting with endpoint i of the list, so
 * that they spread over the endpoints. Returns -1 with the reason in err.
 */
static int
open_clients(struct load *ld, char *err, size_t errlen)
{
    ld->cl = calloc(ld->opt->clients, sizeof *ld->cl);
    if (ld->cl == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (; ld->n < ld->opt->clients; ld->n++) {
        struct client *cl = &ld->cl[ld->n];

        cl->load = ld;
        cl->conn = conn_open(ld->opt, ld->ctx, ld->n, err, errlen);
        if (cl->conn == NULL) {
            return -1;
        }
    }
    return 0;
}

/*
 * Prepares a load run: the shared state, the --acked file, the ZeroMQ
 * context and the clients. Returns NULL with the reason in err; load_free
 * releases.
 */
static struct load *
load_new(const struct options *o, char *err, size_t errlen)
{
    struct load *ld = calloc(1, sizeof *ld);

    if (ld == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ld->opt = o;
    ld->acked_fd = -1;
    ld->tty = !o->quiet && isatty(STDERR_FILENO);
    ld->main = pthread_self();
    if (o->acked != NULL) {
        ld->acked_fd =
            open(o->acked, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (ld->acked_fd == -1) {
            snprintf(err, errlen, "cannot open %s: %s", o->acked,
                     strerror(errno));
            goto fail;
        }
    }
    ld->ctx = zmq_ctx_new();
    if (ld->ctx == NULL) {
        snprintf(err, errlen, "cannot start ZeroMQ: %s", zmq_strerror(errno));
        goto fail;
    }
    if (open_clients(ld, err, errlen) == -1) {
        goto fail;
    }
    return ld;

fail:
    load_free(ld);
    return NULL;
}

/* Starts the clients; returns how many started (fewer: the run failed). */
static size_t
start_clients(struct load *ld)
{
    struct client *cl = ld->cl;
    size_t k = ld->n;

    atomic_store(&ld->running, (int)k);
    for (size_t i = 0; i < k; i++) {
        int rc = pthread_create(&cl[i].thread, NULL, client_main, &cl[i]);

        if (rc != 0) {
            char err[128];

            snprintf(err, sizeof err, "cannot start client %zu: %s", i + 1,
                     strerror(rc));
            fail_run(ld, err);
            atomic_fetch_sub(&ld->running, (int)(k - i));
            return i;
        }
    }
    return k;
}

/*
 * Blocks the signals wait_clients takes, before any thread exists, so
 * that every thread inherits the mask. A SIGINT ignored from the start
 * (a background job of a shell) stays ignored: a blocked signal would be
 * kept and taken.
 */
static void
block_signals(sigset_t *sigs)
{
    struct sigaction old;

    sigemptyset(sigs);
    if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler != SIG_IGN) {
        sigaddset(sigs, SIGINT);
    }
    sigaddset(sigs, SIGTERM);
    sigaddset(sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
}

int
load_run(const struct options *o)
{
    struct load *ld = NULL;
    sigset_t sigs;
    char err[512] = "";
    long long start_us;
    size_t started;
    int rc = 1;

    block_signals(&sigs);
    ld = load_new(o, err, sizeof err);
    if (ld == NULL) {
        goto fail;
    }
    start_us = now_us();
    if (o->duration_s > 0) {
        ld->deadline_us = start_us + (long long)(o->duration_s * US_PER_S);
    }
    started = start_clients(ld);
    wait_clients(ld, &sigs, start_us);
    for (size_t i = 0; i < started; i++) {
        pthread_join(ld->cl[i].thread, NULL);
    }
    if (ld->end_us == 0) {
        ld->end_us = now_us();
    }
    print_summary(ld, (double)(ld->end_us - start_us) / US_PER_S);
    rc = !atomic_load(&ld->failed) &&
                 atomic_load(&ld->refused) + atomic_load(&ld->timeouts) == 0
             ? 0
             : 1;

fail:
    if (err[0] != '\0') {
        fprintf(stderr, "feed-send: %s\n", err);
    }
    load_free(ld);
    return rc;
}
