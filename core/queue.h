/*
 * queue.h - the bounded queue between the source and the sink workers.
 */
#ifndef FEED_QUEUE_H
#define FEED_QUEUE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

struct queue_waiter;

struct queue {
    pthread_mutex_t lock;
    struct queue_waiter *idle; /* guarded by lock: asleep, last first */
    struct msg *head;          /* guarded by lock */
    struct msg *tail;          /* guarded by lock */
    size_t nmsgs;              /* guarded by lock */
    int closed;                /* guarded by lock */
    unsigned writing;          /* guarded by lock: workers between pop, done */
    unsigned waiting;          /* guarded by lock: workers on `idle` */
    size_t enough;             /* guarded by lock: see queue_pop() */
    int held;                  /* guarded by lock: the source holds back */
    int no_hold;               /* guarded by lock: a commit outlasted a wait */
    uint64_t held_since;       /* guarded by lock: clock_ms() of the hold */
    atomic_size_t records;     /* written under lock, read by anyone */
    size_t max;                /* set before workers start, then read-only */
};

int queue_init(struct queue *q, size_t max);
void queue_destroy(struct queue *q);

/*
 * Nonzero while the queue's records and `unqueued` more (read by the source
 * but not yet pushed) are fewer than max. The source reads a new request
 * only then, so the queue never holds more than max records plus one
 * request: a request larger than max still gets through alone.
 */
int queue_room(struct queue *q, size_t unqueued);

/* Records queued now. */
size_t queue_depth(struct queue *q);

/* Appends a msg with at least one record; the queue owns it. */
void queue_push(struct queue *q, struct msg *m);

/*
 * Appends the chain head..tail (linked by next) of nmsgs messages holding
 * nrecords records, under one lock and with at most one wake-up: a source
 * hands over what it read in one go, so the worker woken sees all of it.
 */
void queue_push_chain(struct queue *q, struct msg *head, struct msg *tail,
                      size_t nmsgs, size_t nrecords);

/*
 * The source asks whether to leave requests in its transport for now
 * (nonzero) rather than read them: while a commit is under way and the
 * source's last read (`burst`, in records) was smaller than a batch worth
 * a parallel transaction, what it would read could only wait here. Left
 * with its client, a request costs no wake-up; read at once when the
 * commit ends, the waiting ones make one batch. The source must ask again
 * when woken. The worker that ends the last commit hands replies back
 * (which wakes the source); a commit still under way after a whole wait
 * of an idle worker (queue_pop_wait()) ends the hold until no commit is
 * under way, and that pop sets *room so its caller wakes the source.
 */
int queue_gather(struct queue *q, size_t burst);

/*
 * Waits for work and takes whole messages: the first one whatever its size,
 * then more while their records fit in batch_max, at most `cap` messages;
 * when other workers wait and two eighths of batch_max or more are queued,
 * only a fair share of them (at least an eighth), so that they write side
 * by side.
 * While another worker is writing, it waits until an eighth of batch_max
 * records is queued or that worker is done: a few records are worth a
 * transaction of their own only when nothing else is being committed, so
 * under load records gather into large batches (group commit) instead of
 * every worker committing a handful. Returns how many were stored in out,
 * 0 once the queue is closed and empty. `out` and *nout (set to the same
 * count) are written while the queue's lock is held, so whoever holds that
 * lock sees every message either still queued or in some worker's `out`.
 * *room is set when the source should be woken: this pop made room for it
 * (or, in queue_pop_wait(), ended its hold: see queue_gather()). Every pop
 * that returns messages must be followed by queue_done() or
 * queue_written().
 */
size_t queue_pop(struct queue *q, size_t batch_max, struct msg **out,
                 size_t cap, size_t *nout, int *room);

/*
 * queue_pop(), waiting at most wait_ms (0: for ever). When the time is up
 * with nothing queued, returns 0 with *idle set (the queue is not closed);
 * with messages queued but another worker's commit still under way, takes
 * them rather than wait longer for that commit.
 */
size_t queue_pop_wait(struct queue *q, size_t batch_max, struct msg **out,
                      size_t cap, size_t *nout, int *room, unsigned wait_ms,
                      int *idle);

/*
 * The worker has written what it popped. Wakes a waiting worker when
 * something gathered meanwhile (the caller may not pop again).
 */
void queue_done(struct queue *q);

/*
 * The worker has written what it popped and pops again next: what gathered
 * while it wrote is its own to take, so no other worker is woken for it
 * (waking one would cost a context switch on each side for a batch this
 * worker takes anyway, or for nothing while a third worker still writes).
 * On a closed queue every waiting worker is woken, as by queue_done(), to
 * drain and leave. Call it before handing the replies back, so that a
 * source woken by them sees the commit ended (queue_gather()).
 */
void queue_written(struct queue *q);

/* No more pushes will come; workers drain what is left and stop. */
void queue_close(struct queue *q);

/* Takes every queued msg (in order) off the queue; for shutdown. */
struct msg *queue_take_all(struct queue *q);

#endif
