/*
 * queue.c - the bounded queue between the source and the sink workers.
 *
 * Owns the queued messages. Bounded in records, not messages, so memory is
 * bounded by queue_max however requests are cut. Batching happens here: a
 * worker takes whatever whole messages are waiting, up to batch_max records.
 * When no other worker is committing, a lone request is written at once;
 * while one is, a worker waits for that commit to end or for an eighth of
 * batch_max to gather, so a busy queue yields large batches (group commit
 * without a timer). A worker that has written pops again without waking
 * another for what gathered (queue_written). Workers wait with a timeout
 * (queue_pop_wait) so an idle one can check its connection.
 *
 * The source may let requests gather in its transport while a commit is
 * under way (queue_gather): it then sleeps instead of waking for each
 * request that could only wait here, and reads them all at once when the
 * commit ends, as one batch. A commit that lasts a whole tick ends that
 * for its duration (an idle worker wakes the source), so one stuck
 * transaction never holds up the rest.
 */
#include "queue.h"

#include "clock.h"

#include <errno.h>
#include <stdint.h>
#include <time.h>

/*
 * Each thread that waits in a pop has its own condition variable, and the
 * idle ones form a stack: the worker woken is the one that went idle last,
 * whose caches are still warm, and under a light load one worker does all
 * the writing while the others sleep on.
 */
struct queue_waiter {
    pthread_cond_t cond;       /* waited on with CLOCK_MONOTONIC deadlines */
    struct queue_waiter *next; /* guarded by the queue's lock */
    int idle;                  /* guarded by the queue's lock: on the stack */
};

static _Thread_local struct queue_waiter self = {
    .cond = PTHREAD_COND_INITIALIZER,
};

/* Wakes the worker that went idle last, if any. Under q->lock. */
static void
wake_one(struct queue *q)
{
    struct queue_waiter *w = q->idle;

    if (w != NULL) {
        q->idle = w->next;
        w->idle = 0;
        q->waiting--;
        pthread_cond_signal(&w->cond);
    }
}

/* Wakes every idle worker. Under q->lock. */
static void
wake_all(struct queue *q)
{
    while (q->idle != NULL) {
        wake_one(q);
    }
}

/*
 * Sleeps on the idle stack until woken or `deadline` (wait_ms 0: none);
 * returns 0 or ETIMEDOUT. Under q->lock.
 */
static int
sleep_idle(struct queue *q, struct queue_waiter *me, unsigned wait_ms,
           const struct timespec *deadline)
{
    int rc;

    me->next = q->idle;
    me->idle = 1;
    q->idle = me;
    q->waiting++;
    if (wait_ms == 0) {
        rc = pthread_cond_wait(&me->cond, &q->lock);
    } else {
        rc = pthread_cond_clockwait(&me->cond, &q->lock, CLOCK_MONOTONIC,
                                    deadline);
    }
    if (me->idle) {
        /* Not woken (a timeout, or spurious): off the stack by itself. */
        struct queue_waiter **p = &q->idle;
        while (*p != me) {
            p = &(*p)->next;
        }
        *p = me->next;
        me->idle = 0;
        q->waiting--;
    }
    return rc;
}

int
queue_init(struct queue *q, size_t max)
{
    q->head = NULL;
    q->tail = NULL;
    q->nmsgs = 0;
    q->closed = 0;
    q->writing = 0;
    q->enough = 1;
    q->held = 0;
    q->no_hold = 0;
    q->waiting = 0;
    atomic_init(&q->records, 0);
    q->max = max;
    q->idle = NULL;
    if (pthread_mutex_init(&q->lock, NULL) != 0) {
        return -1;
    }
    return 0;
}

void
queue_destroy(struct queue *q)
{
    msg_free_chain(queue_take_all(q));
    pthread_mutex_destroy(&q->lock);
}

int
queue_room(struct queue *q, size_t unqueued)
{
    return atomic_load_explicit(&q->records, memory_order_relaxed) + unqueued <
           q->max;
}

size_t
queue_depth(struct queue *q)
{
    return atomic_load_explicit(&q->records, memory_order_relaxed);
}

void
queue_push(struct queue *q, struct msg *m)
{
    queue_push_chain(q, m, m, 1, m->nrec);
}

void
queue_push_chain(struct queue *q, struct msg *head, struct msg *tail,
                 size_t nmsgs, size_t nrecords)
{
    size_t records;

    tail->next = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->tail != NULL) {
        q->tail->next = head;
    } else {
        q->head = head;
    }
    q->tail = tail;
    q->nmsgs += nmsgs;
    records =
        atomic_load_explicit(&q->records, memory_order_relaxed) + nrecords;
    atomic_store_explicit(&q->records, records, memory_order_relaxed);
    /*
     * Wake a worker only when it may take this: nobody is writing, or a
     * full batch is waiting (queue_pop's rule; queue_written() and the
     * timed wait cover the rest).
     */
    if (q->writing == 0 || records >= q->enough) {
        wake_one(q);
    }
    pthread_mutex_unlock(&q->lock);
}

/*
 * How many queued records are worth a transaction of their own while
 * another is being committed. A transaction costs the database about as
 * much as a few dozen rows, so a handful of records rather waits for the
 * commit under way and joins the next batch, while a good share of a batch
 * goes at once, in parallel.
 */
static size_t
enough_for(size_t batch_max)
{
    return batch_max / 8 > 0 ? batch_max / 8 : 1;
}

size_t
queue_pop(struct queue *q, size_t batch_max, struct msg **out, size_t cap,
          size_t *nout, int *room)
{
    int idle;

    return queue_pop_wait(q, batch_max, out, cap, nout, room, 0, &idle);
}

size_t
queue_pop_wait(struct queue *q, size_t batch_max, struct msg **out, size_t cap,
               size_t *nout, int *room, unsigned wait_ms, int *idle)
{
    struct timespec deadline = clock_after_ms(CLOCK_MONOTONIC, wait_ms);
    size_t n = 0;
    size_t records = 0;
    size_t before;
    size_t limit = batch_max;

    *idle = 0;
    pthread_mutex_lock(&q->lock);
    q->enough = enough_for(batch_max);
    for (;;) {
        before = atomic_load_explicit(&q->records, memory_order_relaxed);
        if (q->head == NULL ? q->closed
                            : q->writing == 0 || before >= q->enough) {
            break;
        }
        int rc = sleep_idle(q, &self, wait_ms, &deadline);

        if (rc == ETIMEDOUT) {
            /*
             * A commit under way for the whole wait is slow: take what is
             * queued rather than wait for it; with nothing queued, say so.
             */
            if (q->head == NULL) {
                /*
                 * A source that has held its requests back for a whole
                 * wait reads them now, so that this worker may take them.
                 */
                *room = 0;
                if (q->held && clock_ms() - q->held_since >= wait_ms) {
                    q->held = 0;
                    q->no_hold = 1;
                    *room = 1; /* the caller wakes the source */
                }
                *idle = 1;
                *nout = 0;
                pthread_mutex_unlock(&q->lock);
                return 0;
            }
            before = atomic_load_explicit(&q->records, memory_order_relaxed);
            break;
        }
    }
    /*
     * Several batches' worth queued at once (a source's burst) and workers
     * waiting: share it out, so that the transactions run side by side
     * rather than one after another.
     */
    if (q->waiting > 0 && before >= 2 * q->enough) {
        size_t share = (before + q->waiting) / (q->waiting + 1);
        limit = share > q->enough ? share : q->enough;
        limit = limit < batch_max ? limit : batch_max;
    }
    while (q->head != NULL && n < cap &&
           (n == 0 || records + q->head->nrec <= limit)) {
        struct msg *m = q->head;
        q->head = m->next;
        m->next = NULL;
        records += m->nrec;
        out[n++] = m;
    }
    if (q->head == NULL) {
        q->tail = NULL;
    }
    q->nmsgs -= n;
    q->writing += n > 0;
    *nout = n;
    atomic_store_explicit(&q->records, before - records, memory_order_relaxed);
    /* Another full batch is waiting: another worker may take it now. */
    if (before - records >= q->enough) {
        wake_one(q);
    }
    pthread_mutex_unlock(&q->lock);
    *room = before >= q->max && before - records < q->max;
    return n;
}

/*
 * A worker's write has ended: queue_written(), and with `handing_on` also
 * a wake for what gathered meanwhile (queue_done()).
 */
static void
end_write(struct queue *q, int handing_on)
{
    pthread_mutex_lock(&q->lock);
    q->writing--;
    if (q->writing == 0) {
        /* The source, if it held back, is woken by the caller's replies. */
        q->held = 0;
        q->no_hold = 0;
    }
    if (q->closed) {
        /* Draining: whoever waits may now take the rest, or leave. */
        wake_all(q);
    } else if (handing_on && q->head != NULL) {
        /* What gathered meanwhile is a batch for the next worker. */
        wake_one(q);
    }
    /*
     * Otherwise nobody is woken: whatever a waiting worker could take now,
     * the caller takes at its next pop without sleeping (the same rule),
     * and the rest of a large backlog wakes the next worker there.
     */
    pthread_mutex_unlock(&q->lock);
}

void
queue_written(struct queue *q)
{
    end_write(q, 0);
}

void
queue_done(struct queue *q)
{
    end_write(q, 1);
}

int
queue_gather(struct queue *q, size_t burst)
{
    int hold;

    pthread_mutex_lock(&q->lock);
    hold = q->writing > 0 && !q->no_hold && !q->closed && burst < q->enough;
    if (hold && !q->held) {
        q->held_since = clock_ms();
    }
    q->held = hold;
    pthread_mutex_unlock(&q->lock);
    return hold;
}

void
queue_close(struct queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    wake_all(q);
    pthread_mutex_unlock(&q->lock);
}

struct msg *
queue_take_all(struct queue *q)
{
    struct msg *m;

    pthread_mutex_lock(&q->lock);
    m = q->head;
    q->head = NULL;
    q->tail = NULL;
    q->nmsgs = 0;
    atomic_store_explicit(&q->records, 0, memory_order_relaxed);
    pthread_mutex_unlock(&q->lock);
    return m;
}
