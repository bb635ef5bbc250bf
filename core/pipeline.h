/*
 * pipeline.h - requests in, records through the queue, replies out.
 */
#ifndef FEED_PIPELINE_H
#define FEED_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include <feed/plugin.h>

struct config;
struct stage;
struct pipeline;

struct pipeline_settings {
    int ack_receive;           /* TRUE on receipt instead of after commit */
    size_t queue_max;          /* records queued before the source waits */
    size_t batch_max;          /* records per sink transaction */
    unsigned threads;          /* sink workers */
    unsigned start_timeout_ms; /* retrying sinks that refuse at start */
};

/*
 * Wires the three configured stages together. Nothing runs yet. Returns
 * NULL with the reason in err. Free with pipeline_free().
 */
struct pipeline *pipeline_new(struct stage *source, struct stage *parser,
                              struct stage *sink,
                              const struct pipeline_settings *set, char *err,
                              size_t errlen);

/* Opens the source (binds) on the calling thread. Returns 0 or -1 + err. */
int pipeline_open_source(struct pipeline *pl, char *err, size_t errlen);

/*
 * Starts the sink workers, each opening its own sink instance, and waits
 * until all are connected (retrying transient refusals for
 * start_timeout_ms), then starts the source's thread. Returns 0, or -1 with
 * the first failure in err (and nothing left running).
 */
int pipeline_start(struct pipeline *pl, char *err, size_t errlen);

/*
 * After SIGHUP: the source's reopen() runs on its thread at its next
 * drain(), able to read its keys from `fresh` (the INI read again; the
 * pipeline takes it and frees it; NULL: no keys to read); each sink
 * instance's reopen() runs before its next write (within TICK_MS when
 * idle). Safe from any thread.
 */
void pipeline_reopen(struct pipeline *pl, struct config *fresh);

/*
 * Makes a pipeline_start() running on another thread give up at once and
 * return -1 with `why` (a signal asked to stop during start-up). Safe from
 * any thread.
 */
void pipeline_cancel_start(struct pipeline *pl, const char *why);

/*
 * Starts the drain: the source stops reading, what was read is committed
 * and answered. Safe from any thread, idempotent.
 */
void pipeline_stop(struct pipeline *pl);

/* Readable once the source's thread has ended; for the main loop. */
int pipeline_done_fd(struct pipeline *pl);

/* How a pipeline ended, for pipeline_join(). */
enum pipeline_end {
    PIPELINE_ENDED = 0,     /* everything read was answered; all closed */
    PIPELINE_SOURCE_FAILED, /* the source's run() failed; all closed */
    PIPELINE_STUCK,         /* a thread was still busy at the deadline */
};

/*
 * Waits for the source thread and the workers to end, closes the source and
 * the sinks. Gives up at `deadline_ms` (CLOCK_MONOTONIC; 0: no deadline)
 * with PIPELINE_STUCK: then the caller should pipeline_abandon() and exit.
 */
enum pipeline_end pipeline_join(struct pipeline *pl, uint64_t deadline_ms);

/*
 * At the stop deadline, with workers possibly stuck: with ack = receive,
 * writes every acknowledged but uncommitted request to dead_letter. Returns
 * how many requests were not committed. The caller then exits without
 * joining.
 */
size_t pipeline_abandon(struct pipeline *pl);

/* Records waiting in the queue. */
size_t pipeline_queue_depth(struct pipeline *pl);

/* Frees everything; the pipeline must be joined (or never started). */
void pipeline_free(struct pipeline *pl);

/* The source's side of struct feed_host (see feed/plugin.h). */
int pipeline_submit(struct pipeline *pl, const struct feed_request *req);
int pipeline_accepting(struct pipeline *pl);
int pipeline_wake_fd(struct pipeline *pl);
void pipeline_drain(struct pipeline *pl);
void pipeline_flush(struct pipeline *pl);
int pipeline_finished(struct pipeline *pl);

/* The parser's emit() (see feed/plugin.h). */
int pipeline_emit(struct feed_out *out, uint32_t line,
                  const struct feed_value *values);

#endif
