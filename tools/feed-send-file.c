/*
 * feed-send-file.c - feed-send's send mode: the lines of a file (or
 * stdin), a message of -n lines at a time, each outcome but TRUE printed.
 *
 * Owns the input, the message being built and the run's counts. Sending
 * and resending are libfeed-client's (through feed-send-conn.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed-send.h"

/* One send-mode run; file_run owns it. */
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
 * unless it is TRUE. Returns -1 only on an error (the client's, or stdout's),
 * with the reason in err.
 */
static int
send_one(struct sender *s, struct feed_client *c, long n, char *err,
         size_t errlen)
{
    unsigned long long k = ++s->messages;
    unsigned long long first = s->lines_read + 1;
    unsigned long long last = s->lines_read + (unsigned long long)n;
    char text[REPLY_MAX];
    enum feed_client_status st;

    st = feed_client_send(c, s->body, s->body_len, text, sizeof text);
    s->lines_read = last;
    switch (st) {
    case FEED_CLIENT_TRUE:
        s->acked++;
        return 0;
    case FEED_CLIENT_FALSE:
    case FEED_CLIENT_BAD_REPLY:
        s->refused++;
        break;
    case FEED_CLIENT_TIMEOUT:
        s->timeouts++;
        break;
    default:
        snprintf(err, errlen, "%s", text);
        return -1;
    }
    if (!s->opt->quiet) {
        /* A reply is printed as it came: FALSE and its reason. */
        printf("message %llu (lines %llu-%llu): %s%s\n", k, first, last,
               st == FEED_CLIENT_FALSE ? "FALSE " : "", text);
        /*
         * An outcome that cannot be shown ends the run. The error is
         * cleared once it is in err, so that main does not report it again.
         */
        if (fflush(stdout) == EOF) {
            snprintf(err, errlen, "cannot write stdout: %s", strerror(errno));
            clearerr(stdout);
            return -1;
        }
    }
    return 0;
}

int
file_run(const struct options *o)
{
    struct sender s = {.opt = o, .in = stdin, .name = "stdin"};
    struct feed_client *c = NULL;
    long long start_us = now_us();
    char err[REPLY_MAX] = "";
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
    c = conn_open(o, NULL, 0, err, sizeof err);
    if (c == NULL) {
        goto fail;
    }
    while ((n = read_group(&s, err, sizeof err)) > 0) {
        if (send_one(&s, c, n, err, sizeof err) == -1) {
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
    feed_client_free(c);
    if (s.in != NULL && s.in != stdin) {
        fclose(s.in);
    }
    free(s.body);
    free(s.line);
    return rc;
}
