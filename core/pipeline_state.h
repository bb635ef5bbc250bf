/*
 * pipeline_state.h - the state pipeline.c and worker.c share; no one else
 * includes it.
 *
 * Owns nothing: it declares the pipeline and its workers as data, so the
 * source's side (pipeline.c) and the sink workers (worker.c) each keep to
 * their own file. Who may touch which field, and under which lock, is
 * written next to the field.
 *
 * Lock order: queue.lock before worker.lock. reply_lock and start_lock are
 * never held with another lock.
 */
#ifndef FEED_PIPELINE_STATE_H
#define FEED_PIPELINE_STATE_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <feed/plugin.h>

#include "msg.h"
#include "pipeline.h"
#include "queue.h"

/* What a parser writes records into: the request being parsed. */
struct feed_out {
    struct msg *msg;
    size_t nfields;
};

struct worker {
    struct pipeline *pl; /* borrowed */
    pthread_t thread;
    unsigned id; /* from 1, for log lines */
    int started; /* the thread was created */
    void *sink;  /* the sink instance; this thread's */
    pthread_mutex_t lock;
    /*
     * The messages being written. Filled by queue_pop() under the queue's
     * lock; slots are reordered and cleared (NULL: committed or refused)
     * under `lock`. pipeline_abandon() reads them holding both.
     */
    struct msg **batch;
    size_t nbatch;
    /* This thread's own: */
    struct feed_record *records;
    uint32_t *owner; /* records[i] belongs to batch[first + owner[i]] */
    size_t records_cap;
    struct feed_origin *origins; /* one per message of the slice */
    size_t origins_cap;
    struct msg *done_head; /* answered, handed back after the batch */
    struct msg *done_tail;
    unsigned reopen_seen; /* the pipeline's reopen_gen last acted on */
    uint64_t rng;
    unsigned attempt; /* failures in the current streak, 0: none */
    struct timespec streak_start;
    char last_err[FEED_ERR_MAX];
};

struct pipeline {
    struct stage *source; /* borrowed */
    struct stage *parser; /* borrowed */
    struct stage *sink;   /* borrowed */
    struct pipeline_settings set;
    size_t nfields;
    void *source_state; /* opened on the main thread, run on the source's */
    struct queue queue;
    int queue_ready; /* queue_init() succeeded */
    pthread_mutex_t reply_lock;
    struct msg *replies;      /* guarded by reply_lock: to answer, free */
    struct msg *replies_tail; /* guarded by reply_lock */
    int wake_fd;              /* eventfd: replies due, or queue room */
    int done_fd;              /* eventfd: the source thread has ended */
    atomic_int stopping;
    atomic_int abort_start;      /* start failed: workers give up */
    atomic_uint reopen_gen;      /* bumped by pipeline_reopen() (SIGHUP) */
    struct config *fresh_config; /* guarded by reply_lock: for reopen() */
    unsigned source_reopen_seen; /* the source thread's own */
    /* The source thread's own: */
    size_t inflight; /* submitted and not yet answered and freed */
    int queue_closed;
    /*
     * A source that calls host->flush() hands over what it read in bursts:
     * requests gather here until the flush, and between bursts it may be
     * told to leave requests in its transport (queue_gather()).
     */
    int bursts;               /* the source has called flush() */
    struct msg *pending_head; /* submitted since the last flush */
    struct msg *pending_tail;
    size_t pending_msgs;
    size_t pending_records;
    size_t last_burst; /* records of the last flush */
    /* Start-up: */
    pthread_mutex_t start_lock;
    pthread_cond_t start_cond;
    unsigned ready;                   /* guarded by start_lock */
    unsigned failed;                  /* guarded by start_lock */
    char start_err[2 * FEED_ERR_MAX]; /* guarded by start_lock */
    struct worker *workers;
    pthread_t source_thread;
    int source_started;
    int source_rc;
};

/* How often an idle worker wakes to tick its sink and notice a SIGHUP. */
#define TICK_MS 1000

/* Wakes whoever polls the eventfd `fd`. */
static inline void
signal_fd(int fd)
{
    uint64_t one = 1;

    /* A full counter is still readable: nothing is lost if this fails. */
    if (write(fd, &one, sizeof one) < 0) {
        (void)0;
    }
}

/*
 * Hands done messages (a chain from head to tail) back to the source
 * thread, which answers and frees them at its next drain(). pipeline.c.
 */
void pipeline_hand_back(struct pipeline *pl, struct msg *head,
                        struct msg *tail);

/*
 * A worker thread's body (the argument is its struct worker): opens its
 * sink, reports to pipeline_start(), then writes batches until the queue
 * is closed and empty. worker.c.
 */
void *worker_main(void *arg);

#endif
