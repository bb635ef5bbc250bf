/*
 * feed-send-options.c - feed-send's command line: the options, their
 * values and limits, the modes they belong to, and the usage text.
 *
 * Owns only the struct options it fills (the strings stay argv's).
 * Acting on the options is the modes' business.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed-send.h"
#include "number.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_RETRIES 3
#define DEFAULT_CLIENTS 16
#define DEFAULT_MESSAGES 10000

#define MAX_LINES 100000
#define MAX_RETRIES 1000
#define MAX_TIMEOUT_MS 86400000

/* Long options without a short form. */
enum {
    OPT_SERVER_KEY = 256,
    OPT_KEY,
    OPT_LOAD, /* from here on: load mode only */
    OPT_CLIENTS,
    OPT_MESSAGES,
    OPT_LINES,
    OPT_DURATION,
    OPT_TICKET_BASE,
    OPT_ACKED,
    OPT_PAYLOAD,
};

void
options_usage(FILE *out, bool full)
{
    static const char *const text[] = {
        "usage: feed-send [-e ENDPOINT] [-n LINES] [-t TIMEOUT_MS]",
        "                 [-r RETRIES] [--server-key FILE --key FILE]",
        "                 [-q] [-v] [FILE|-]",
        "       feed-send --load [-e ENDPOINT] [--clients K] [--messages N]",
        "                 [--lines L] [--duration S] [--ticket-base B]",
        "                 [--acked FILE] [-t TIMEOUT_MS] [-r RETRIES]",
        "                 [--server-key FILE --key FILE] [--payload TEXT] [-q]",
        "Try 'feed-send --help' for more.",
        "",
        "Sends trade lines ticket,login,volume to feed-core (zmq_rep).",
        "  -e ENDPOINT     default " DEFAULT_ENDPOINT "; in a comma-separated",
        "                  list, a timeout moves on to the next endpoint",
        "  -n LINES        lines per message (default 1)",
        "  -t TIMEOUT_MS   how long to wait for a reply (default 10000)",
        "  -r RETRIES      resends after a timeout (default 3)",
        "  --server-key FILE  CURVE: the server's public certificate",
        "  --key FILE      CURVE: this client's secret certificate",
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

    size_t synopsis = 7;

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

/* Sets *out from an option's value, or says what it should have been. */
static int
number(const char *name, const char *arg, unsigned long long min,
       unsigned long long max, unsigned long long *out, char *err,
       size_t errlen)
{
    if (number_parse(arg, min, max, out) == -1) {
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
    if ((o->server_key == NULL) != (o->key == NULL)) {
        snprintf(err, errlen, "CURVE needs both --server-key and --key");
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
    }
    snprintf(err, errlen, "unknown option %d", c);
    return -1;
}

/* Where an option whose value is kept as given goes; NULL for others. */
static const char **
text_field(struct options *o, int c)
{
    switch (c) {
    case 'e':
        return &o->endpoints;
    case OPT_SERVER_KEY:
        return &o->server_key;
    case OPT_KEY:
        return &o->key;
    case OPT_ACKED:
        return &o->acked;
    case OPT_PAYLOAD:
        return &o->payload;
    }
    return NULL;
}

/* Applies one option; returns -1 with the reason in err. */
static int
set_option(struct options *o, int c, const char *arg, char *err, size_t errlen)
{
    const char **text = text_field(o, c);

    if (text != NULL) {
        *text = arg;
        return 0;
    }
    switch (c) {
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
    {"server-key", required_argument, NULL, OPT_SERVER_KEY},
    {"key", required_argument, NULL, OPT_KEY},
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

enum parsed
options_parse(int argc, char **argv, struct options *o, char *err,
              size_t errlen)
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
