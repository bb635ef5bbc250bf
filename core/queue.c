/*
 * queue.c - the bounded queue between the source and the sink workers.
 *
 * Owns the queued messages. Bounded in records, not messages, so memory is
 * bounded by queue_max however requests are cut. Batching happens here: a
 * worker takes whatever whole messages are waiting, up to batch_max records.
 * When no other worker is committing, a lone request is written at once;
 * while one is, a worker waits for that commit to end or for an eighth of
 * batch_max to gather, so a busy queue yields large batches (group commit
 * without a timer). A worker that has just written takes what gathered
 * meanwhile itself (queue_next) instead of waking another for it. Workers
 * wait with a timeout (queue_pop_wait) so an idle one can check its
 * connection.
 */
#include "queue.h"

#include "clock.h"

#include <errno.h>
#include <time.h>

int
queue_init(struct queue *q, size_t max)
{
    q->head = NULL;
    q->tail = NULL;
    q->nmsgs = 0;
    q->closed = 0;
    q->writing = 0;
    q->enough = 1;
    atomic_init(&q->records, 0);
    q->max = max;
    if (pthread_mutex_init(&q->lock, NULL) != 0) {
        return -1;
    }
    /* Timed waits (queue_pop_wait) count on the monotonic clock. */
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        pthread_mutex_destroy(&q->lock);
        return -1;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (pthread_cond_init(&q->not_empty, &attr) != 0) {
        pthread_condattr_destroy(&attr);
        pthread_mutex_destroy(&q->lock);
        return -1;
    }
    pthread_condattr_destroy(&attr);
    return 0;
}

void
queue_destroy(struct queue *q)
{
    struct msg *m = queue_take_all(q);

    while (m != NULL) {
        struct msg *next = m->next;
        msg_free(m);
        m = next;
    }
    pthread_cond_destroy(&q->not_empty);
    pthread_mutex_destroy(&q->lock);
}

int
queue_room(struct queue *q)
{
    return atomic_load_explicit(&q->records, memory_order_relaxed) < q->max;
}

size_t
queue_depth(struct queue *q)
{
    return atomic_load_explicit(&q->records, memory_order_relaxed);
}

void
queue_push(struct queue *q, struct msg *m)
{
    size_t records;

    m->next = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->tail != NULL) {
        q->tail->next = m;
    } else {
        q->head = m;
    }
    q->tail = m;
    q->nmsgs++;
    records = atomic_load_explicit(&q->records, memory_order_relaxed) +
              m->nrec;
    atomic_store_explicit(&q->records, records, memory_order_relaxed);
    /*
     * Wake a worker only when it may take this: nobody is writing, or a
     * full batch is waiting (queue_pop's rule; queue_done wakes the rest).
     */
    if (q->writing == 0 || records >= q->enough) {
        pthread_cond_signal(&q->not_empty);
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

/*
 * queue_pop_wait(), and with `done` queue_done() first under the same
 * lock: see queue_next().
 */
static size_t
pop(struct queue *q, int done, size_t batch_max, struct msg **out, size_t cap,
    size_t *nout, int *room, unsigned wait_ms, int *idle)
{
    struct timespec deadline = clock_after_ms(CLOCK_MONOTONIC, wait_ms);
    size_t n = 0;
    size_t records = 0;
    size_t before;

    *idle = 0;
    pthread_mutex_lock(&q->lock);
    if (done) {
        q->writing--;
        if (q->closed) {
            /* Draining: whoever waits may now take the rest, or leave. */
            pthread_cond_broadcast(&q->not_empty);
        }
        /*
         * Otherwise nobody is woken: whatever a waiting worker could take
         * now, this one takes below without sleeping (the same rule), and
         * the rest of a large backlog wakes the next worker there.
         */
    }
    q->enough = enough_for(batch_max);
    for (;;) {
        before = atomic_load_explicit(&q->records, memory_order_relaxed);
        if (q->head == NULL ? q->closed
                            : q->writing == 0 || before >= q->enough) {
            break;
        }
        if (wait_ms == 0) {
            pthread_cond_wait(&q->not_empty, &q->lock);
        } else if (pthread_cond_timedwait(&q->not_empty, &q->lock,
                                          &deadline) == ETIMEDOUT) {
            /*
             * A commit under way for the whole wait is slow: take what is
             * queued rather than wait for it; with nothing queued, say so.
             */
            if (q->head == NULL) {
                *idle = 1;
                *nout = 0;
                *room = 0;
                pthread_mutex_unlock(&q->lock);
                return 0;
            }
            before = atomic_load_explicit(&q->records, memory_order_relaxed);
            break;
        }
    }
    while (q->head != NULL && n < cap &&
           (n == 0 || records + q->head->nrec <= batch_max)) {
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
    atomic_store_explicit(&q->records, before - records,
                          memory_order_relaxed);
    /* Another full batch is waiting: another worker may take it now. */
    if (before - records >= q->enough) {
        pthread_cond_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->lock);
    *room = before >= q->max && before - records < q->max;
    return n;
}

size_t
queue_pop_wait(struct queue *q, size_t batch_max, struct msg **out,
               size_t cap, size_t *nout, int *room, unsigned wait_ms,
               int *idle)
{
    return pop(q, 0, batch_max, out, cap, nout, room, wait_ms, idle);
}

size_t
queue_next(struct queue *q, size_t batch_max, struct msg **out, size_t cap,
           size_t *nout, int *room, unsigned wait_ms, int *idle)
{
    return pop(q, 1, batch_max, out, cap, nout, room, wait_ms, idle);
}

void
queue_done(struct queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->writing--;
    if (q->closed) {
        /* Draining: whoever waits may now take the rest, or leave. */
        pthread_cond_broadcast(&q->not_empty);
    } else if (q->head != NULL) {
        /* What gathered meanwhile is a batch for the next worker. */
        pthread_cond_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->lock);
}

void
queue_close(struct queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
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
