/*
 * feed-send.c - the command-line client and load generator of feed-core:
 * main() and nothing else.
 *
 * Speaks the zmq_rep wire protocol the way the trading servers do, through
 * libfeed-client: one single-part request of "\n"-separated trade lines, a
 * reply that is exactly TRUE or FALSE <reason>. Send mode
 * (feed-send-file.c) replays the lines of a file; load mode
 * (feed-send-load.c) makes up unique trades from many threads and measures
 * throughput and latency. Only the wire counts here: a message is
 * acknowledged when, and only when, its reply is exactly TRUE.
 *
 * The daemon, its config and the database are not feed-send's business;
 * tools/feed-send.md is the user's side of it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "feed-send.h"

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
 * feed-send is C, and only libzmq reaches libstdc++: our own shared state
 * stays fully checked.
 */
const char *
__tsan_default_suppressions(void)
{
    return "race:libzmq.so\nrace:libstdc++.so\n";
}
#endif

int
main(int argc, char **argv)
{
    struct options o;
    char err[512];
    int rc;

    switch (options_parse(argc, argv, &o, err, sizeof err)) {
    case PARSED_HELP:
        options_usage(stdout, true);
        return 0;
    case PARSED_BAD:
        if (err[0] != '\0') {
            fprintf(stderr, "feed-send: %s\n", err);
        }
        options_usage(stderr, false);
        return 2;
    case PARSED_RUN:
        break;
    }
    rc = o.mode == MODE_LOAD ? load_run(&o) : file_run(&o);
    /* A full disk or a closed pipe must not pass for a clean run. */
    if (fflush(stdout) == EOF || ferror(stdout)) {
        fprintf(stderr, "feed-send: cannot write stdout: %s\n",
                strerror(errno));
        return 1;
    }
    return rc;
}
