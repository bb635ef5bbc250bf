/*
 * feed-send.h - what the parts of feed-send share: the command line as
 * parsed, the two modes, the connection and the clock.
 *
 * feed-send.c has main(); feed-send-options.c reads the command line;
 * feed-send-conn.c makes a libfeed-client from it; feed-send-file.c is
 * send mode, feed-send-load.c load mode, feed-send-hist.c the latency
 * histogram. tools/feed-send.md is the user's side of it all.
 */
#ifndef FEED_SEND_H
#define FEED_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <feed/client.h>

#define DEFAULT_ENDPOINT "tcp://127.0.0.1:5555"

/* Each client holds a socket and its fds; keep well under ulimit -n 1024. */
#define MAX_CLIENTS 256

#define US_PER_S 1000000

/* Room for a reply's text, or a reason why there is none. */
#define REPLY_MAX 1024

enum mode {
    MODE_SEND,
    MODE_LOAD,
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
    const char *server_key; /* the server's public certificate */
    const char *key;        /* the client's secret certificate */
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

/* Reads the command line into o. On PARSED_BAD, err says why. */
enum parsed options_parse(int argc, char **argv, struct options *o, char *err,
                          size_t errlen);

/*
 * Prints the synopsis and, with full, what each option means: --help
 * gets it all, a usage error only the synopsis.
 */
void options_usage(FILE *out, bool full);

/*
 * Makes the client of o's endpoints, timeout, retries and keys, sharing
 * the ZeroMQ context ctx, its first request going to endpoint number
 * index of the list. Returns NULL with the reason in err;
 * feed_client_free releases it.
 */
struct feed_client *conn_open(const struct options *o, void *ctx, size_t index,
                              char *err, size_t errlen);

/* Send mode: the lines of a file or stdin. Returns the exit status. */
int file_run(const struct options *o);

/* Load mode: made-up trades from many clients. Returns the exit status. */
int load_run(const struct options *o);

/* Microseconds on CLOCK_MONOTONIC: immune to clock steps. */
static inline long long
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * US_PER_S + ts.tv_nsec / 1000;
}

#endif
