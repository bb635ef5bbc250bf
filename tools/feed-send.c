/*
 * feed-send.c - the command-line client and load generator of feed-core.
 *
 * Speaks the zmq_rep wire protocol the way the trading servers do: a REQ
 * socket, one single-part request of "\n"-separated trade lines, a reply
 * that is exactly TRUE or FALSE <reason>. Send mode replays the lines of a
 * file; load mode (--load) makes up unique trades from many threads and
 * measures throughput and latency. Only the wire counts here: a message is
 * acknowledged when, and only when, its reply is exactly TRUE.
 *
 * The daemon, its config and the database are not this file's business;
 * tools/feed-send.md is the user's side of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define DEFAULT_ENDPOINT "tcp://127.0.0.1:5555"
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_RETRIES 3
#define DEFAULT_CLIENTS 16
#define DEFAULT_MESSAGES 10000

/* Each client holds a socket and its fds; keep well under ulimit -n 1024. */
#define MAX_CLIENTS 256
#define MAX_LINES 100000
#define MAX_RETRIES 1000
#define MAX_TIMEOUT_MS 86400000

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
 * Latency histogram, log-linear: below 256 us one bucket per microsecond,
 * above that 128 buckets per power of two, so a bucket is at most 1/128
 * wide and its midpoint is within 0.4% of any value in it. Values from
 * 2^40 us (12 days) on share the last bucket.
 */
#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAX_BITS 40
#define HIST_BUCKETS ((HIST_MAX_BITS - HIST_SUB_BITS + 1) * HIST_SUB)

#define US_PER_S 1000000

enum mode {
    MODE_SEND,
    MODE_LOAD,
};

/* Long options without a short form. */
enum {
    OPT_LOAD = 256,
    OPT_CLIENTS,
    OPT_MESSAGES,
    OPT_LINES,
    OPT_DURATION,
    OPT_TICKET_BASE,
    OPT_ACKED,
    OPT_PAYLOAD,
};

enum parsed {
    PARSED_RUN,
    PARSED_HELP,
    PARSED_BAD, /* usage error: exit 2 */
};

/* The command line; the strings are borrowed from argv. */
struct options {
    enum mode mode;
    const char *endpoints;
    const char *file; /* NULL or "-": stdin */
    const char *acked;
    const char *payload;
    unsigned long long lines;
    unsigned long long clients;
    unsigned long long messages;
    unsigned long long ticket_base;
    unsigned long long timeout_ms;
    unsigned long long retries;
    double duration_s; /* 0: no time bound */
    bool messages_set;
    bool quiet;
    bool verbose;
    const char *send_only;   /* a send-mode option given, to refuse --load */
    const char *load_only;   /* a load-mode option given, to refuse without */
    const char *ticket_only; /* one about tickets, to refuse with --payload */
};

/* The endpoint list, split once; every socket connects to all of them. */
struct endpoints {
    char *text;  /* the list, with NULs where the commas were */
    char **item; /* each points into text */
    size_t n;
};

/*
 * A REQ socket and where its next request goes. REQ hands requests to its
 * connected peers in turn, starting with the one connected first, so
 * `first` and `sent` tell (while all are up) which endpoint a request that
 * timed out went to; the new socket then starts with the one after it.
 * One thread owns it.
 */
struct conn {
    void *ctx;                  /* borrowed */
    const struct endpoints *ep; /* borrowed */
    int timeout_ms;
    unsigned retries;
    atomic_bool *stop; /* borrowed; set: no more retries. NULL: never */
    void *sock;
    size_t first;
    unsigned long long sent;
};

enum outcome {
    OUTCOME_REPLY,   /* the reply is in hand, TRUE or not */
    OUTCOME_TIMEOUT, /* no reply after every attempt */
    OUTCOME_ERROR,   /* the socket failed; err says why */
};

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

#ifdef UNDER_TSAN
const char *__tsan_default_suppressions(void);

/*
 * ThreadSanitizer's built-in suppressions. libzmq is not instrumented:
 * the lock-free queues that hand a socket's commands to ZeroMQ's I/O
 * thread are invisible to it, so the C++ strings passed along look raced.
 * This file is C, and only libzmq reaches libstdc++: our own shared state
 * stays fully checked.
 */
const char *
__tsan_default_suppressions(void)
{
    return "race:libzmq.so\nrace:libstdc++.so\n";
}
#endif

/* Microseconds on CLOCK_MONOTONIC: immune to clock steps. */
static long long
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * US_PER_S + ts.tv_nsec / 1000;
}

/*
 * Prints the synopsis and, with full, what each option means: --help
 * gets it all, a usage error only the synopsis.
 */
static void
usage(FILE *out, bool full)
{
    static const char *const text[] = {
        "usage: feed-send [-e ENDPOINT] [-n LINES] [-t TIMEOUT_MS]",
        "                 [-r RETRIES] [-q] [-v] [FILE|-]",
        "       feed-send --load [-e ENDPOINT] [--clients K] [--messages N]",
        "                 [--lines L] [--duration S] [--ticket-base B]",
        "                 [--acked FILE] [-t TIMEOUT_MS] [-r RETRIES]",
        "                 [--payload TEXT] [-q]",
        "Try 'feed-send --help' for more.",
        "",
        "Sends trade lines ticket,login,volume to feed-core (zmq_rep).",
        "  -e ENDPOINT     default " DEFAULT_ENDPOINT "; a comma-separated",
        "                  list is served in turn",
        "  -n LINES        lines per message (default 1)",
        "  -t TIMEOUT_MS   how long to wait for a reply (default 10000)",
        "  -r RETRIES      resends after a timeout (default 3)",
        "  -q              print nothing but errors",
        "  -v              a summary line on stderr",
        "  --load          made-up trades from K threads (default 16):",
        "                  N messages (default 10000) of L lines (default 1),",
        "                  or as many as fit in S seconds",
        "  --ticket-base B message m holds tickets B+m*L to B+m*L+L-1",
        "  --acked FILE    append every acknowledged ticket to FILE",
        "  --payload TEXT  send TEXT as every message instead of trades",
        "",
        "Exit status: 0 all acknowledged, 1 refused, timed out or failed,",
        "2 usage error.",
    };

    size_t synopsis = 6;

    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        /* The hint to --help follows the synopsis on a usage error only. */
        if (i == synopsis && full) {
            continue;
        }
        if (i > synopsis && !full) {
            break;
        }
        fprintf(out, "%s\n", text[i]);
    }
}

/* Parses a decimal in [min, max] into *out; -1 for anything else. */
static int
parse_ull(const char *s, unsigned long long min, unsigned long long max,
          unsigned long long *out)
{
    char *end;
    unsigned long long v;

    /* strtoull takes spaces and a sign, which are not numbers here. */
    if (*s < '0' || *s > '9') {
        return -1;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* Sets *out from an option's value, or says what it should have been. */
static int
number(const char *name, const char *arg, unsigned long long min,
       unsigned long long max, unsigned long long *out, char *err,
       size_t errlen)
{
    if (parse_ull(arg, min, max, out) == -1) {
        snprintf(err, errlen,
                 "%s wants a whole number from %llu to %llu, not \"%s\"", name,
                 min, max, arg);
        return -1;
    }
    return 0;
}

/* Parses --duration: seconds, a fraction allowed. */
static int
duration(const char *arg, double *out, char *err, size_t errlen)
{
    char *end;
    double v;

    if (*arg < '0' || *arg > '9') {
        goto fail;
    }
    v = strtod(arg, &end);
    /* A week bounds it, and keeps its microseconds far from overflow. */
    if (*end != '\0' || !(v > 0.0 && v <= 604800.0)) {
        goto fail;
    }
    *out = v;
    return 0;

fail:
    snprintf(err, errlen,
             "--duration wants seconds above 0, up to 604800, not \"%s\"", arg);
    return -1;
}

/*
 * Checks what only the whole command line shows: options of the other
 * mode, --payload's exclusions, and that every ticket fits 64 bits.
 * Sets the derived values: --payload's line count, the message bound.
 */
static int
check_modes(struct options *o, char *err, size_t errlen)
{
    unsigned long long most;

    if (o->mode == MODE_SEND && o->load_only != NULL) {
        snprintf(err, errlen, "--%s needs --load", o->load_only);
        return -1;
    }
    if (o->mode == MODE_LOAD && o->send_only != NULL) {
        snprintf(err, errlen, "%s is for send mode, not --load", o->send_only);
        return -1;
    }
    if (o->payload != NULL && o->ticket_only != NULL) {
        snprintf(err, errlen, "--payload sends no tickets: it takes no --%s",
                 o->ticket_only);
        return -1;
    }
    if (o->payload != NULL) {
        o->lines = 1;
        for (const char *p = o->payload; *p != '\0'; p++) {
            o->lines += *p == '\n' && p[1] != '\0';
        }
    }
    /* The shared counter may pass the bound once per client: no wrap. */
    most = (ULLONG_MAX - o->ticket_base) / o->lines;
    if (most > ULLONG_MAX - MAX_CLIENTS) {
        most = ULLONG_MAX - MAX_CLIENTS;
    }
    if (o->messages_set && o->messages > most) {
        snprintf(err, errlen,
                 "--messages %llu from --ticket-base %llu passes ticket %llu",
                 o->messages, o->ticket_base, ULLONG_MAX);
        return -1;
    }
    /* --duration alone: time ends the run, the ticket range bounds it. */
    if (o->duration_s > 0 && !o->messages_set) {
        o->messages = most;
    }
    return 0;
}

/* Applies a load-mode option; its name is already noted. */
static int
load_option(struct options *o, int c, const char *arg, char *err, size_t errlen)
{
    switch (c) {
    case OPT_CLIENTS:
        return number("--clients", arg, 1, MAX_CLIENTS, &o->clients, err,
                      errlen);
    case OPT_MESSAGES:
        o->messages_set = true;
        return number("--messages", arg, 1, ULLONG_MAX, &o->messages, err,
                      errlen);
    case OPT_LINES:
        return number("--lines", arg, 1, MAX_LINES, &o->lines, err, errlen);
    case OPT_DURATION:
        return duration(arg, &o->duration_s, err, errlen);
    case OPT_TICKET_BASE:
        return number("--ticket-base", arg, 0, ULLONG_MAX, &o->ticket_base, err,
                      errlen);
    case OPT_ACKED:
        o->acked = arg;
        return 0;
    case OPT_PAYLOAD:
        o->payload = arg;
        return 0;
    }
    snprintf(err, errlen, "unknown option %d", c);
    return -1;
}

/* Applies one option; returns -1 with the reason in err. */
static int
set_option(struct options *o, int c, const char *arg, char *err, size_t errlen)
{
    switch (c) {
    case 'e':
        o->endpoints = arg;
        return 0;
    case 'n':
        o->send_only = "-n";
        return number("-n", arg, 1, MAX_LINES, &o->lines, err, errlen);
    case 't':
        return number("-t", arg, 1, MAX_TIMEOUT_MS, &o->timeout_ms, err,
                      errlen);
    case 'r':
        return number("-r", arg, 0, MAX_RETRIES, &o->retries, err, errlen);
    case 'q':
        o->quiet = true;
        return 0;
    case 'v':
        o->send_only = "-v";
        o->verbose = true;
        return 0;
    case OPT_LOAD:
        o->mode = MODE_LOAD;
        return 0;
    }
    return load_option(o, c, arg, err, errlen);
}

/*
 * Says what getopt found wrong: c is '?' (unknown option, or a value given
 * to a long option that takes none) or ':' (no value); arg is the word it
 * was reading.
 */
static void
bad_option(int c, const char *arg, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');

    if (optopt > 0 && optopt <= UCHAR_MAX) {
        snprintf(err, errlen, "%s -%c",
                 c == ':' ? "no value for" : "unknown option", optopt);
    } else if (c == ':') {
        snprintf(err, errlen, "no value for %s", arg);
    } else if (eq != NULL && strncmp(arg, "--", 2) == 0) {
        snprintf(err, errlen, "%.*s takes no value", (int)(eq - arg), arg);
    } else {
        snprintf(err, errlen, "unknown option %s", arg);
    }
}

/* The options; those of load mode have no short form. */
static const char shortopts[] = ":e:n:t:r:qvh";
static const struct option longopts[] = {
    {"endpoint", required_argument, NULL, 'e'},
    {"timeout", required_argument, NULL, 't'},
    {"retries", required_argument, NULL, 'r'},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"load", no_argument, NULL, OPT_LOAD},
    {"clients", required_argument, NULL, OPT_CLIENTS},
    {"messages", required_argument, NULL, OPT_MESSAGES},
    {"lines", required_argument, NULL, OPT_LINES},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"ticket-base", required_argument, NULL, OPT_TICKET_BASE},
    {"acked", required_argument, NULL, OPT_ACKED},
    {"payload", required_argument, NULL, OPT_PAYLOAD},
    {NULL, 0, NULL, 0},
};

/* Reads the command line into o. On PARSED_BAD, err says why. */
static enum parsed
parse_args(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
    int c;
    int idx = 0;

    *o = (struct options){
        .mode = MODE_SEND,
        .endpoints = DEFAULT_ENDPOINT,
        .lines = 1,
        .clients = DEFAULT_CLIENTS,
        .messages = DEFAULT_MESSAGES,
        .ticket_base = 1,
        .timeout_ms = DEFAULT_TIMEOUT_MS,
        .retries = DEFAULT_RETRIES,
    };
    err[0] = '\0';
    /* bad_option words the errors, in the tool's own voice. */
    opterr = 0;
    while ((c = getopt_long(argc, argv, shortopts, longopts, &idx)) != -1) {
        if (c == 'h') {
            return PARSED_HELP;
        }
        if (c == '?' || c == ':') {
            bad_option(c, argv[optind - 1], err, errlen);
            return PARSED_BAD;
        }
        if (c > OPT_LOAD) {
            o->load_only = longopts[idx].name;
        }
        if (c == OPT_LINES || c == OPT_TICKET_BASE || c == OPT_ACKED) {
            o->ticket_only = longopts[idx].name;
        }
        if (set_option(o, c, optarg, err, errlen) == -1) {
            return PARSED_BAD;
        }
    }
    if (argc - optind > 1) {
        snprintf(err, errlen, "one FILE at most, not %d", argc - optind);
        return PARSED_BAD;
    }
    if (optind < argc) {
        o->file = argv[optind];
        o->send_only = "FILE";
    }
    return check_modes(o, err, errlen) == -1 ? PARSED_BAD : PARSED_RUN;
}

/* Releases what endpoints_parse made; takes a zeroed list too. */
static void
endpoints_free(struct endpoints *ep)
{
    free(ep->item);
    free(ep->text);
    *ep = (struct endpoints){0};
}

/* Drops the spaces and tabs around s, in place. */
static char *
trim(char *s)
{
    size_t len;

    s += strspn(s, " \t");
    len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
        s[--len] = '\0';
    }
    return s;
}

/*
 * Splits a comma-separated endpoint list, as the daemon's config does
 * (spaces after the commas allowed). Whether ZeroMQ takes each endpoint is
 * known only at connect time. Returns -1 with the reason in err;
 * endpoints_free releases the list.
 */
static int
endpoints_parse(struct endpoints *ep, const char *list, char *err,
                size_t errlen)
{
    size_t max = 1;
    char *p;

    for (const char *q = list; *q != '\0'; q++) {
        max += *q == ',';
    }
    ep->text = strdup(list);
    ep->item = calloc(max, sizeof *ep->item);
    if (ep->text == NULL || ep->item == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (p = ep->text; p != NULL;) {
        char *comma = strchr(p, ',');

        if (comma != NULL) {
            *comma = '\0';
        }
        ep->item[ep->n] = trim(p);
        if (*ep->item[ep->n++] == '\0') {
            snprintf(err, errlen,
                     "invalid endpoint list \"%s\": an endpoint is empty",
                     list);
            goto fail;
        }
        p = comma != NULL ? comma + 1 : NULL;
    }
    return 0;

fail:
    endpoints_free(ep);
    return -1;
}

static void
conn_close(struct conn *c)
{
    if (c->sock != NULL) {
        zmq_close(c->sock);
        c->sock = NULL;
    }
}

/*
 * Opens c's REQ socket and connects it to every endpoint, c->first first.
 * Returns -1 with the reason in err; conn_close releases the socket.
 */
static int
conn_open(struct conn *c, char *err, size_t errlen)
{
    int zero = 0;
    int one = 1;

    c->sent = 0;
    c->sock = zmq_socket(c->ctx, ZMQ_REQ);
    if (c->sock == NULL) {
        snprintf(err, errlen, "cannot open a REQ socket: %s",
                 zmq_strerror(errno));
        goto fail;
    }
    /*
     * No linger: a request that never got out must not hold up the exit.
     * Immediate: requests go only to peers that are connected, so a dead
     * daemon in the list is skipped rather than sent every n-th request;
     * with none connected, the send waits, and SNDTIMEO makes that a
     * timeout too.
     */
    if (zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero) == -1 ||
        zmq_setsockopt(c->sock, ZMQ_IMMEDIATE, &one, sizeof one) == -1 ||
        zmq_setsockopt(c->sock, ZMQ_SNDTIMEO, &c->timeout_ms,
                       sizeof c->timeout_ms) == -1) {
        snprintf(err, errlen, "cannot set up a REQ socket: %s",
                 zmq_strerror(errno));
        goto fail;
    }
    for (size_t i = 0; i < c->ep->n; i++) {
        const char *ep = c->ep->item[(c->first + i) % c->ep->n];

        if (zmq_connect(c->sock, ep) == -1) {
            snprintf(err, errlen, "cannot connect to %s: %s", ep,
                     zmq_strerror(errno));
            goto fail;
        }
    }
    return 0;

fail:
    conn_close(c);
    return -1;
}

/*
 * Replaces a socket whose request timed out: REQ would wait for that reply
 * forever. The new socket starts with the endpoint after the one the lost
 * request went to, so a resend tries another daemon first.
 */
static int
conn_reopen(struct conn *c, char *err, size_t errlen)
{
    size_t n = c->ep->n;
    size_t went = c->sent > 0 ? (size_t)((c->sent - 1) % n) : 0;

    c->first = (c->first + went + 1) % n;
    conn_close(c);
    return conn_open(c, err, errlen);
}

/*
 * A reply is one frame. A longer one is read to its end, so the socket can
 * take the next request, and replaced by a note: it is never TRUE.
 */
static void
whole_reply(void *sock, zmq_msg_t *reply)
{
    static const char note[] = "(a reply of several frames)";
    bool more = zmq_msg_more(reply);

    if (!more) {
        return;
    }
    while (more) {
        zmq_msg_t part;

        zmq_msg_init(&part);
        more = zmq_msg_recv(&part, sock, 0) != -1 && zmq_msg_more(&part);
        zmq_msg_close(&part);
    }
    zmq_msg_close(reply);
    zmq_msg_init_size(reply, sizeof note - 1);
    memcpy(zmq_msg_data(reply), note, sizeof note - 1);
}

/*
 * Sends body once and waits up to timeout_ms for the reply. Returns 1
 * with the reply in *reply, 0 on a timeout, -1 with the reason in err.
 */
static int
attempt(struct conn *c, const char *body, size_t len, zmq_msg_t *reply,
        char *err, size_t errlen)
{
    zmq_pollitem_t item = {.socket = c->sock, .events = ZMQ_POLLIN};
    long long deadline_us = now_us() + c->timeout_ms * 1000LL;

    if (zmq_send(c->sock, body, len, 0) == -1) {
        if (errno == EAGAIN) {
            return 0;
        }
        snprintf(err, errlen, "cannot send: %s", zmq_strerror(errno));
        return -1;
    }
    c->sent++;
    for (;;) {
        long left_ms = (long)((deadline_us - now_us() + 999) / 1000);

        if (left_ms <= 0) {
            return 0;
        }
        if (zmq_poll(&item, 1, left_ms) == -1 && errno != EINTR) {
            snprintf(err, errlen, "cannot wait for a reply: %s",
                     zmq_strerror(errno));
            return -1;
        }
        if (zmq_msg_recv(reply, c->sock, ZMQ_DONTWAIT) != -1) {
            break;
        }
        if (errno != EAGAIN && errno != EINTR) {
            snprintf(err, errlen, "cannot receive a reply: %s",
                     zmq_strerror(errno));
            return -1;
        }
    }
    whole_reply(c->sock, reply);
    return 1;
}

/*
 * Sends one request and waits for its reply, resending it on a fresh
 * socket after each timeout, up to c->retries times, and not at all once
 * *c->stop is set: a stop waits for what is in flight, not for retries.
 * The caller inits and closes reply; *attempts counts the sends.
 */
static enum outcome
conn_request(struct conn *c, const char *body, size_t len, zmq_msg_t *reply,
             unsigned *attempts, char *err, size_t errlen)
{
    for (*attempts = 1;; (*attempts)++) {
        int rc = attempt(c, body, len, reply, err, errlen);

        if (rc == 1) {
            return OUTCOME_REPLY;
        }
        /* After a timeout the socket still waits for the lost reply. */
        if (rc == -1 || conn_reopen(c, err, errlen) == -1) {
            return OUTCOME_ERROR;
        }
        if (*attempts > c->retries ||
            (c->stop != NULL && atomic_load(c->stop))) {
            return OUTCOME_TIMEOUT;
        }
    }
}

/* Only an exact TRUE acknowledges: not "TRUE\n", not "true". */
static bool
is_true(zmq_msg_t *reply)
{
    return zmq_msg_size(reply) == 4 &&
           memcmp(zmq_msg_data(reply), "TRUE", 4) == 0;
}

/* One send-mode run; run_send owns it. */
struct sender {
    const struct options *opt; /* borrowed */
    FILE *in;
    const char *name; /* the input as the user named it */
    char *line;       /* getline's buffer */
    size_t line_cap;
    char *body; /* the message being built */
    size_t body_len;
    size_t body_cap;
    unsigned long long lines_read;
    unsigned long long messages;
    unsigned long long acked;
    unsigned long long refused;
    unsigned long long timeouts;
};

/* Appends len bytes to the message; -1 when memory runs out. */
static int
body_append(struct sender *s, const char *data, size_t len)
{
    if (len > s->body_cap - s->body_len) {
        size_t cap = s->body_cap > 0 ? s->body_cap : 4096;
        char *p;

        while (cap - s->body_len < len) {
            cap *= 2;
        }
        p = realloc(s->body, cap);
        if (p == NULL) {
            return -1;
        }
        s->body = p;
        s->body_cap = cap;
    }
    memcpy(s->body + s->body_len, data, len);
    s->body_len += len;
    return 0;
}

/*
 * Reads the next message: up to -n lines, joined by "\n" and sent as they
 * stand (a "\r" stays; the daemon judges it). A final newline ends the last
 * line and starts none. Returns how many lines it read, 0 at the end of
 * the input, -1 with the reason in err.
 */
static long
read_group(struct sender *s, char *err, size_t errlen)
{
    long n = 0;

    s->body_len = 0;
    while ((unsigned long long)n < s->opt->lines) {
        ssize_t len;

        errno = 0;
        len = getline(&s->line, &s->line_cap, s->in);
        if (len == -1 && (ferror(s->in) || errno == ENOMEM)) {
            snprintf(err, errlen, "cannot read %s: %s", s->name,
                     strerror(errno));
            return -1;
        }
        if (len == -1) {
            break;
        }
        if (s->line[len - 1] == '\n') {
            len--;
        }
        if ((n > 0 && body_append(s, "\n", 1) == -1) ||
            body_append(s, s->line, (size_t)len) == -1) {
            snprintf(err, errlen, "out of memory at line %llu",
                     s->lines_read + (unsigned long long)n + 1);
            return -1;
        }
        n++;
    }
    return n;
}

/*
 * Sends the message of the n lines just read and prints its outcome,
 * unless it is TRUE. Returns -1 only when the socket failed.
 */
static int
send_one(struct sender *s, struct conn *c, long n, char *err, size_t errlen)
{
    unsigned long long k = ++s->messages;
    unsigned long long first = s->lines_read + 1;
    unsigned long long last = s->lines_read + (unsigned long long)n;
    zmq_msg_t reply;
    unsigned attempts;
    enum outcome out;

    zmq_msg_init(&reply);
    out = conn_request(c, s->body, s->body_len, &reply, &attempts, err, errlen);
    if (out == OUTCOME_TIMEOUT) {
        s->timeouts++;
    } else if (out == OUTCOME_REPLY && is_true(&reply)) {
        s->acked++;
    } else if (out == OUTCOME_REPLY) {
        s->refused++;
    }
    if (!s->opt->quiet && out == OUTCOME_TIMEOUT) {
        printf("message %llu (lines %llu-%llu): no reply after %u %s\n", k,
               first, last, attempts, attempts == 1 ? "attempt" : "attempts");
        fflush(stdout);
    } else if (!s->opt->quiet && out == OUTCOME_REPLY && !is_true(&reply)) {
        printf("message %llu (lines %llu-%llu): ", k, first, last);
        fwrite(zmq_msg_data(&reply), 1, zmq_msg_size(&reply), stdout);
        putchar('\n');
        fflush(stdout);
    }
    zmq_msg_close(&reply);
    s->lines_read = last;
    return out == OUTCOME_ERROR ? -1 : 0;
}

/* Send mode: the lines of a file or stdin, a message at a time. */
static int
run_send(const struct options *o, const struct endpoints *ep)
{
    struct sender s = {.opt = o, .in = stdin, .name = "stdin"};
    struct conn c = {.ep = ep,
                     .timeout_ms = (int)o->timeout_ms,
                     .retries = (unsigned)o->retries};
    long long start_us = now_us();
    char err[512] = "";
    long n;
    int rc = 1;

    if (o->file != NULL && strcmp(o->file, "-") != 0) {
        s.name = o->file;
        s.in = fopen(o->file, "r");
        if (s.in == NULL) {
            snprintf(err, sizeof err, "cannot read %s: %s", o->file,
                     strerror(errno));
            goto fail;
        }
    }
    c.ctx = zmq_ctx_new();
    if (c.ctx == NULL) {
        snprintf(err, sizeof err, "cannot start ZeroMQ: %s",
                 zmq_strerror(errno));
        goto fail;
    }
    if (conn_open(&c, err, sizeof err) == -1) {
        goto fail;
    }
    while ((n = read_group(&s, err, sizeof err)) > 0) {
        if (send_one(&s, &c, n, err, sizeof err) == -1) {
            goto fail;
        }
    }
    if (n == -1) {
        goto fail;
    }
    if (o->verbose) {
        fprintf(
            stderr,
            "messages=%llu acked=%llu refused=%llu timeouts=%llu seconds=%.3f\n",
            s.messages, s.acked, s.refused, s.timeouts,
            (double)(now_us() - start_us) / US_PER_S);
    }
    rc = s.acked == s.messages ? 0 : 1;

fail:
    if (err[0] != '\0') {
        fprintf(stderr, "feed-send: %s\n", err);
    }
    conn_close(&c);
    if (c.ctx != NULL) {
        zmq_ctx_term(c.ctx);
    }
    if (s.in != NULL && s.in != stdin) {
        fclose(s.in);
    }
    free(s.body);
    free(s.line);
    return rc;
}

/*
 * One load run, shared by the client threads. The first block is set
 * before they start and only read after; the rest are atomics, added to
 * without a lock and read by the progress line while they move.
 */
struct load {
    const struct options *opt;  /* borrowed */
    const struct endpoints *ep; /* borrowed */
    void *ctx;                  /* ZeroMQ contexts are thread safe */
    int acked_fd;               /* -1: no --acked */
    bool tty;                   /* a live progress line on stderr */
    long long deadline_us;      /* 0: no time bound */
    pthread_t main;             /* woken by the last client to finish */

    atomic_bool stop;   /* no new messages: signal, --duration or error */
    atomic_bool failed; /* a client hit an error (reported once) */
    atomic_int running; /* clients not yet finished */
    atomic_ullong next; /* the next message number to hand out */
    atomic_ullong acked;
    atomic_ullong refused;
    atomic_ullong timeouts;
    atomic_ullong shown;              /* refusal texts printed so far */
    atomic_ullong hist[HIST_BUCKETS]; /* latency of acked messages, us */

    long long end_us; /* set by the last client; read after the joins */
};

/* One client thread's own state; no other thread touches it. */
struct client {
    struct load *load; /* borrowed */
    pthread_t thread;
    size_t index;
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

/* The histogram bucket of a latency. */
static size_t
hist_bucket(unsigned long long us)
{
    unsigned shift = 0;

    if (us >= 1ULL << HIST_MAX_BITS) {
        us = (1ULL << HIST_MAX_BITS) - 1;
    }
    while ((us >> shift) >= 2 * HIST_SUB) {
        shift++;
    }
    return (size_t)shift * HIST_SUB + (size_t)(us >> shift);
}

/* The middle of bucket b, in microseconds. */
static double
hist_middle(size_t b)
{
    unsigned shift = b < 2 * HIST_SUB ? 0 : (unsigned)(b / HIST_SUB) - 1;
    unsigned long long low = (unsigned long long)(b - shift * HIST_SUB)
                             << shift;

    return (double)low + (double)((1ULL << shift) - 1) / 2;
}

/*
 * The latency in milliseconds under which ppm millionths of the acked
 * messages fell; 0 before the first. The buckets may move meanwhile: the
 * progress line reads them live.
 */
static double
hist_percentile(struct load *ld, unsigned long long ppm)
{
    unsigned long long total = 0;
    unsigned long long seen = 0;
    unsigned long long rank;
    size_t b;
    size_t last = 0;

    for (b = 0; b < HIST_BUCKETS; b++) {
        total += atomic_load_explicit(&ld->hist[b], memory_order_relaxed);
    }
    if (total == 0) {
        return 0;
    }
    rank = (total * ppm + 999999) / 1000000;
    for (b = 0; b < HIST_BUCKETS && seen < rank; b++) {
        unsigned long long n =
            atomic_load_explicit(&ld->hist[b], memory_order_relaxed);

        if (n > 0) {
            seen += n;
            last = b;
        }
    }
    return hist_middle(last) / 1000;
}

/* Reports a client's error, only the first one, and ends the run. */
static void
fail_run(struct load *ld, const char *err)
{
    if (!atomic_exchange(&ld->failed, true)) {
        fprintf(stderr, "%sfeed-send: %s\n", ld->tty ? "\r\033[K" : "", err);
    }
    atomic_store(&ld->stop, true);
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
show_refusal(struct load *ld, unsigned long long m, zmq_msg_t *reply)
{
    const char *clear = ld->tty ? "\r\033[K" : "";
    int len = (int)zmq_msg_size(reply);
    unsigned long long first = first_ticket(ld, m);

    if (ld->opt->quiet || atomic_fetch_add(&ld->shown, 1) >= REFUSALS_SHOWN) {
        return;
    }
    len = len < REPLY_SHOWN_MAX ? len : REPLY_SHOWN_MAX;
    if (ld->opt->payload != NULL) {
        fprintf(stderr, "%sfeed-send: refused: %.*s\n", clear, len,
                (const char *)zmq_msg_data(reply));
    } else {
        fprintf(stderr, "%sfeed-send: refused tickets %llu-%llu: %.*s\n", clear,
                first, first + ld->opt->lines - 1, len,
                (const char *)zmq_msg_data(reply));
    }
}

/* Counts a finished message m; us is its latency, retries included. */
static void
record(struct client *cl, unsigned long long m, enum outcome out,
       zmq_msg_t *reply, long long us)
{
    struct load *ld = cl->load;

    if (out != OUTCOME_REPLY) {
        atomic_fetch_add_explicit(&ld->timeouts, 1, memory_order_relaxed);
    } else if (!is_true(reply)) {
        atomic_fetch_add_explicit(&ld->refused, 1, memory_order_relaxed);
        show_refusal(ld, m, reply);
    } else {
        atomic_fetch_add_explicit(
            &ld->hist[hist_bucket((unsigned long long)us)], 1,
            memory_order_relaxed);
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

/* A client thread: its own REQ socket, messages until the run is over. */
static void *
client_main(void *arg)
{
    struct client *cl = arg;
    struct load *ld = cl->load;
    const struct options *o = ld->opt;
    struct conn c = {.ctx = ld->ctx,
                     .ep = ld->ep,
                     .timeout_ms = (int)o->timeout_ms,
                     .retries = (unsigned)o->retries,
                     .stop = &ld->stop,
                     .first = cl->index % ld->ep->n};
    char *body = NULL;
    char err[512];
    unsigned long long m;

    if (o->payload == NULL) {
        body = malloc(o->lines * TRADE_MAX);
        if (body == NULL) {
            fail_run(ld, "out of memory for a message");
            goto fail;
        }
    }
    if (conn_open(&c, err, sizeof err) == -1) {
        fail_run(ld, err);
        goto fail;
    }
    while (next_message(ld, &m)) {
        size_t len =
            body != NULL ? build_body(ld, body, m) : strlen(o->payload);
        long long start_us = now_us();
        zmq_msg_t reply;
        unsigned attempts;
        enum outcome out;

        zmq_msg_init(&reply);
        out = conn_request(&c, body != NULL ? body : o->payload, len, &reply,
                           &attempts, err, sizeof err);
        if (out == OUTCOME_ERROR) {
            fail_run(ld, err);
        }
        record(cl, m, out, &reply, now_us() - start_us);
        zmq_msg_close(&reply);
    }

fail:
    if (ld->acked_fd != -1) {
        acked_flush(cl);
    }
    conn_close(&c);
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
        hist_percentile(ld, 990000));
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
            atomic_store(&ld->stop, true);
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
           hist_percentile(ld, 500000), hist_percentile(ld, 990000),
           hist_percentile(ld, 999000));
}

static void
load_free(struct load *ld)
{
    if (ld == NULL) {
        return;
    }
    if (ld->ctx != NULL) {
        zmq_ctx_term(ld->ctx);
    }
    if (ld->acked_fd != -1) {
        close(ld->acked_fd);
    }
    free(ld);
}

/*
 * Prepares a load run: the shared state, the --acked file, the ZeroMQ
 * context, and a first socket that proves every endpoint is accepted.
 * Returns NULL with the reason in err; load_free releases.
 */
static struct load *
load_new(const struct options *o, const struct endpoints *ep, char *err,
         size_t errlen)
{
    struct load *ld = calloc(1, sizeof *ld);
    struct conn probe = {.ep = ep, .timeout_ms = (int)o->timeout_ms};

    if (ld == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ld->opt = o;
    ld->ep = ep;
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
    ld->ctx = probe.ctx = zmq_ctx_new();
    if (ld->ctx == NULL) {
        snprintf(err, errlen, "cannot start ZeroMQ: %s", zmq_strerror(errno));
        goto fail;
    }
    if (conn_open(&probe, err, errlen) == -1) {
        goto fail;
    }
    conn_close(&probe);
    return ld;

fail:
    load_free(ld);
    return NULL;
}

/* Starts the clients; returns how many started (fewer: the run failed). */
static size_t
start_clients(struct load *ld, struct client *cl, size_t k)
{
    atomic_store(&ld->running, (int)k);
    for (size_t i = 0; i < k; i++) {
        int rc;

        cl[i].load = ld;
        cl[i].index = i;
        rc = pthread_create(&cl[i].thread, NULL, client_main, &cl[i]);
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

/* Load mode: K clients, made-up trades, a summary line. */
static int
run_load(const struct options *o, const struct endpoints *ep)
{
    struct load *ld = NULL;
    struct client *cl = NULL;
    sigset_t sigs;
    char err[512] = "";
    long long start_us;
    size_t started;
    int rc = 1;

    block_signals(&sigs);
    ld = load_new(o, ep, err, sizeof err);
    if (ld == NULL) {
        goto fail;
    }
    cl = calloc(o->clients, sizeof *cl);
    if (cl == NULL) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    start_us = now_us();
    if (o->duration_s > 0) {
        ld->deadline_us = start_us + (long long)(o->duration_s * US_PER_S);
    }
    started = start_clients(ld, cl, o->clients);
    wait_clients(ld, &sigs, start_us);
    for (size_t i = 0; i < started; i++) {
        pthread_join(cl[i].thread, NULL);
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
    free(cl);
    load_free(ld);
    return rc;
}

int
main(int argc, char **argv)
{
    struct options o;
    struct endpoints ep = {0};
    char err[512];
    int rc;

    switch (parse_args(argc, argv, &o, err, sizeof err)) {
    case PARSED_HELP:
        usage(stdout, true);
        return 0;
    case PARSED_BAD:
        if (err[0] != '\0') {
            fprintf(stderr, "feed-send: %s\n", err);
        }
        usage(stderr, false);
        return 2;
    case PARSED_RUN:
        break;
    }
    if (endpoints_parse(&ep, o.endpoints, err, sizeof err) == -1) {
        fprintf(stderr, "feed-send: %s\n", err);
        return 1;
    }
    rc = o.mode == MODE_LOAD ? run_load(&o, &ep) : run_send(&o, &ep);
    endpoints_free(&ep);
    /* A full disk or a closed pipe must not pass for a clean run. */
    if (fflush(stdout) == EOF || ferror(stdout)) {
        fprintf(stderr, "feed-send: cannot write stdout: %s\n",
                strerror(errno));
        return 1;
    }
    return rc;
}
