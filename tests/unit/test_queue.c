/*
 * test_queue.c - the bounded queue between the source and the sink
 * workers: batching by whole messages, the room flag, closing, and many
 * threads at once.
 *
 * Every msg carries its id as its reply tag. Threads are synchronized
 * with condition variables and deadlines; a worker is known to be blocked
 * when the kernel says its thread is sleeping.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "msg.h"
#include "queue.h"

#define DEADLINE_S 30

static const char body[] = "7,42,1.5";

/*
 * A msg with id `id` (its tag) and `nrec` one-field records, or NULL when
 * out of memory. Safe from any thread (no cmocka assertion).
 */
static struct msg *
new_msg(uint32_t id, uint32_t nrec)
{
    struct msg *m = msg_new(&id, sizeof id, body, sizeof body - 1, NULL);
    struct feed_value v = {body, sizeof body - 1};

    for (uint32_t i = 0; m != NULL && i < nrec; i++) {
        if (msg_add_record(m, 1, i + 1, &v) == -1) {
            msg_free(m);
            m = NULL;
        }
    }
    return m;
}

/* new_msg() for the test's own thread. */
static struct msg *
make_msg(uint32_t id, uint32_t nrec)
{
    struct msg *m = new_msg(id, nrec);

    assert_non_null(m);
    return m;
}

static uint32_t
id_of(const struct msg *m)
{
    uint32_t id;

    memcpy(&id, m->data, sizeof id);
    return id;
}

/* Pushes messages of the given sizes, with ids 0, 1, 2... */
static void
push_sizes(struct queue *q, const uint32_t *sizes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        queue_push(q, make_msg((uint32_t)i, sizes[i]));
    }
}

/*
 * Pops and expects exactly the messages `ids` (n of them); frees them.
 * Returns the room flag.
 */
static int
pop_expect(struct queue *q, size_t batch_max, size_t cap, const uint32_t *ids,
           size_t n)
{
    struct msg *out[64];
    size_t nout = 999;
    int room = -1;
    size_t got;

    assert_true(cap <= 64);
    got = queue_pop(q, batch_max, out, cap, &nout, &room);
    assert_int_equal(got, n);
    assert_int_equal(nout, n);
    for (size_t i = 0; i < got; i++) {
        assert_int_equal(id_of(out[i]), ids[i]);
        assert_null(out[i]->next);
        msg_free(out[i]);
    }
    if (got > 0) {
        queue_done(q);
    }
    assert_true(room == 0 || room == 1);
    return room;
}

#define IDS(...) ((const uint32_t[]){__VA_ARGS__})
#define NIDS(...) (sizeof IDS(__VA_ARGS__) / sizeof(uint32_t))
#define PUSH(q, ...) push_sizes((q), IDS(__VA_ARGS__), NIDS(__VA_ARGS__))
#define POP(q, batch, cap, ...)                                                \
    pop_expect((q), (batch), (cap), IDS(__VA_ARGS__), NIDS(__VA_ARGS__))

static struct timespec
deadline(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += DEADLINE_S;
    return ts;
}

/* ------------------------------------------------------------------ */

static void
a_new_queue_is_empty_and_has_room(void **state)
{
    struct queue q;

    (void)state;
    assert_int_equal(queue_init(&q, 10), 0);
    assert_int_equal(queue_depth(&q), 0);
    assert_int_not_equal(queue_room(&q, 0), 0);
    assert_null(queue_take_all(&q));
    queue_destroy(&q);
}

static void
the_depth_counts_records_not_messages(void **state)
{
    struct queue q;

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    PUSH(&q, 3, 2, 1);
    assert_int_equal(queue_depth(&q), 6);
    assert_int_equal(q.nmsgs, 3);
    POP(&q, 100, 64, 0, 1, 2);
    assert_int_equal(queue_depth(&q), 0);
    assert_int_equal(q.nmsgs, 0);
    queue_destroy(&q);
}

static void
a_pop_takes_whole_messages_up_to_batch_max_records(void **state)
{
    struct queue q;

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    PUSH(&q, 3, 2, 4, 1);
    POP(&q, 5, 64, 0, 1);
    assert_int_equal(queue_depth(&q), 5);
    POP(&q, 5, 64, 2, 3);
    assert_int_equal(queue_depth(&q), 0);
    queue_destroy(&q);
}

static void
a_pop_never_skips_a_message_to_fill_the_batch(void **state)
{
    struct queue q;

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    /* 4 does not fit after 3; the 1 behind it must wait its turn. */
    PUSH(&q, 3, 4, 1);
    POP(&q, 5, 64, 0);
    POP(&q, 5, 64, 1, 2);
    queue_destroy(&q);
}

static void
a_first_message_larger_than_batch_max_is_taken_alone(void **state)
{
    struct queue q;

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    PUSH(&q, 7, 1, 1);
    POP(&q, 5, 64, 0);
    POP(&q, 5, 64, 1, 2);
    queue_destroy(&q);
}

static void
a_pop_takes_at_most_cap_messages(void **state)
{
    struct queue q;

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    PUSH(&q, 1, 1, 1, 1, 1);
    POP(&q, 100, 2, 0, 1);
    POP(&q, 100, 2, 2, 3);
    POP(&q, 100, 2, 4);
    assert_int_equal(queue_depth(&q), 0);
    queue_destroy(&q);
}

static void
room_ends_at_max_records_but_a_large_message_still_gets_in(void **state)
{
    struct queue q;

    (void)state;
    assert_int_equal(queue_init(&q, 3), 0);
    PUSH(&q, 2);
    assert_int_not_equal(queue_room(&q, 0), 0);
    queue_push(&q, make_msg(1, 1));
    assert_int_equal(queue_room(&q, 0), 0);
    assert_int_equal(queue_depth(&q), 3);
    POP(&q, 100, 64, 0, 1);
    /* The source reads while there is room; a big request still fits. */
    queue_push(&q, make_msg(2, 10));
    assert_int_equal(queue_depth(&q), 10);
    assert_int_equal(queue_room(&q, 0), 0);
    queue_destroy(&q);
}

static void
the_room_flag_is_set_only_by_the_pop_that_makes_room(void **state)
{
    struct queue q;

    (void)state;
    assert_int_equal(queue_init(&q, 4), 0);
    /* From below max: no source is waiting, no flag. */
    PUSH(&q, 1, 1);
    assert_int_equal(POP(&q, 1, 64, 0), 0);
    assert_int_equal(POP(&q, 1, 64, 1), 0);

    /* 9 -> 6 (still full), 6 -> 3 (room), 3 -> 0 (already had room). */
    PUSH(&q, 3, 3, 3);
    assert_int_equal(queue_room(&q, 0), 0);
    assert_int_equal(POP(&q, 3, 64, 0), 0);
    assert_int_equal(queue_room(&q, 0), 0);
    assert_int_equal(POP(&q, 3, 64, 1), 1);
    assert_int_not_equal(queue_room(&q, 0), 0);
    assert_int_equal(POP(&q, 3, 64, 2), 0);

    /* Exactly max is full: 5 -> 4 is no room yet, 4 -> 3 is. */
    PUSH(&q, 1, 1, 1, 1, 1);
    assert_int_equal(POP(&q, 1, 64, 0), 0);
    assert_int_equal(queue_room(&q, 0), 0);
    assert_int_equal(POP(&q, 1, 64, 1), 1);
    assert_int_equal(POP(&q, 10, 64, 2, 3, 4), 0);
    queue_destroy(&q);
}

static void
after_close_workers_drain_the_queue_then_get_0(void **state)
{
    struct queue q;
    struct msg *out[4];
    size_t nout = 99;
    int room = -1;

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    PUSH(&q, 2, 2);
    queue_close(&q);
    POP(&q, 3, 64, 0);
    POP(&q, 3, 64, 1);
    assert_int_equal(queue_pop(&q, 3, out, 4, &nout, &room), 0);
    assert_int_equal(nout, 0);
    assert_int_equal(room, 0);
    /* And again: a closed, empty queue never blocks. */
    assert_int_equal(queue_pop(&q, 3, out, 4, &nout, &room), 0);
    queue_destroy(&q);
}

static void
take_all_returns_every_queued_message_in_order(void **state)
{
    struct queue q;
    struct msg *m;
    uint32_t want = 0;

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    PUSH(&q, 1, 2, 3);
    m = queue_take_all(&q);
    assert_int_equal(queue_depth(&q), 0);
    assert_int_equal(q.nmsgs, 0);
    while (m != NULL) {
        struct msg *next = m->next;
        assert_int_equal(id_of(m), want++);
        msg_free(m);
        m = next;
    }
    assert_int_equal(want, 3);
    assert_null(queue_take_all(&q));
    /* The queue works on afterwards. */
    PUSH(&q, 1);
    POP(&q, 10, 64, 0);
    queue_destroy(&q);
}

static void
destroy_frees_what_is_still_queued(void **state)
{
    struct queue q;

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    PUSH(&q, 1, 2, 3);
    queue_destroy(&q); /* the leak checker is watching */
}

/* ------------------------------------------------------------------
 * A worker blocked in queue_pop()
 */

/* The waiters' batch_max: with 80, 10 queued records are enough to go. */
#define WAITER_BATCH_MAX 80

struct waiter {
    struct queue *q;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    pid_t tid;  /* guarded by lock; 0 until the worker runs */
    int done;   /* guarded by lock */
    size_t got; /* guarded by lock */
    struct msg *out[4];
};

static void *
wait_in_pop(void *arg)
{
    struct waiter *w = arg;
    size_t nout;
    int room;
    size_t got;

    pthread_mutex_lock(&w->lock);
    w->tid = gettid();
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->lock);
    got = queue_pop(w->q, WAITER_BATCH_MAX, w->out, 4, &nout, &room);
    pthread_mutex_lock(&w->lock);
    w->got = got;
    w->done = 1;
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* The thread's state letter from /proc ('S' while it waits), or '?'. */
static char
thread_state(pid_t tid)
{
    char path[64];
    char text[512];
    FILE *f;
    char *paren;
    size_t n;

    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", (long)tid);
    f = fopen(path, "r");
    if (f == NULL) {
        return '?';
    }
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    paren = strrchr(text, ')');
    return paren != NULL && paren[1] == ' ' ? paren[2] : '?';
}

/* Starts a worker and returns once it sleeps inside queue_pop(). */
static void
start_waiter(struct waiter *w, pthread_t *t, struct queue *q)
{
    struct timespec until = deadline();
    struct timespec pause = {0, 1000000};
    time_t give_up = time(NULL) + DEADLINE_S;

    memset(w, 0, sizeof *w);
    w->q = q;
    assert_int_equal(pthread_mutex_init(&w->lock, NULL), 0);
    assert_int_equal(pthread_cond_init(&w->changed, NULL), 0);
    assert_int_equal(pthread_create(t, NULL, wait_in_pop, w), 0);
    pthread_mutex_lock(&w->lock);
    while (w->tid == 0) {
        assert_int_equal(pthread_cond_timedwait(&w->changed, &w->lock, &until),
                         0);
    }
    pthread_mutex_unlock(&w->lock);
    /* Poll, with a deadline, until the kernel has put it to sleep. */
    while (thread_state(w->tid) != 'S') {
        assert_true(time(NULL) < give_up);
        nanosleep(&pause, NULL);
    }
}

/* Waits (with a deadline) for the worker to return from queue_pop(). */
static size_t
join_waiter(struct waiter *w, pthread_t t)
{
    struct timespec until = deadline();
    size_t got;

    pthread_mutex_lock(&w->lock);
    while (!w->done) {
        int rc = pthread_cond_timedwait(&w->changed, &w->lock, &until);
        if (rc == ETIMEDOUT) {
            pthread_mutex_unlock(&w->lock);
            fail_msg("the worker is still blocked in queue_pop()");
        }
    }
    got = w->got;
    pthread_mutex_unlock(&w->lock);
    assert_int_equal(pthread_join(t, NULL), 0);
    pthread_cond_destroy(&w->changed);
    pthread_mutex_destroy(&w->lock);
    return got;
}

static void
close_wakes_a_worker_blocked_in_pop(void **state)
{
    struct queue q;
    struct waiter w;
    pthread_t t;

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    start_waiter(&w, &t, &q);
    queue_close(&q);
    assert_int_equal(join_waiter(&w, t), 0);
    queue_destroy(&q);
}

static void
a_push_wakes_a_worker_blocked_in_pop(void **state)
{
    struct queue q;
    struct waiter w;
    pthread_t t;

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    start_waiter(&w, &t, &q);
    queue_push(&q, make_msg(7, 2));
    assert_int_equal(join_waiter(&w, t), 1);
    assert_int_equal(id_of(w.out[0]), 7);
    msg_free(w.out[0]);
    queue_destroy(&q);
}

/* Pops like a worker that is now writing (queue_done() comes later). */
static struct msg *
pop_one_and_write(struct queue *q)
{
    struct msg *out[4];
    size_t nout;
    int room;

    assert_int_equal(queue_pop(q, WAITER_BATCH_MAX, out, 1, &nout, &room), 1);
    return out[0];
}

static void
while_one_worker_writes_another_waits_for_it_before_a_small_batch(void **state)
{
    struct queue q;
    struct waiter w;
    pthread_t t;
    struct msg *writing;

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    queue_push(&q, make_msg(1, 1));
    writing = pop_one_and_write(&q);
    start_waiter(&w, &t, &q);
    queue_push(&q, make_msg(2, 2)); /* 2: not enough for a batch of its own */
    pthread_mutex_lock(&w.lock);
    assert_int_equal(w.done, 0);
    pthread_mutex_unlock(&w.lock);
    assert_int_equal(thread_state(w.tid), 'S');
    queue_done(&q); /* the writer is done: the small batch may go now */
    assert_int_equal(join_waiter(&w, t), 1);
    assert_int_equal(id_of(w.out[0]), 2);
    msg_free(w.out[0]);
    msg_free(writing);
    queue_destroy(&q);
}

static void
enough_records_do_not_wait_for_the_worker_that_writes(void **state)
{
    struct queue q;
    struct waiter w;
    pthread_t t;
    struct msg *writing;

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    queue_push(&q, make_msg(1, 1));
    writing = pop_one_and_write(&q);
    start_waiter(&w, &t, &q);
    queue_push(&q, make_msg(2, 4));
    queue_push(&q, make_msg(3, 6)); /* 10 records: an eighth of batch_max */
    assert_int_equal(join_waiter(&w, t), 2);
    assert_int_equal(id_of(w.out[0]), 2);
    assert_int_equal(id_of(w.out[1]), 3);
    msg_free(w.out[0]);
    msg_free(w.out[1]);
    queue_done(&q);
    msg_free(writing);
    queue_destroy(&q);
}

/* The thread's voluntary context switches (how often it went to sleep). */
static long
sleeps_of(pid_t tid)
{
    char path[64];
    char line[256];
    long n = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/self/task/%ld/status", (long)tid);
    f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0) {
            n = strtol(line + 24, NULL, 10);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return n;
}

/* Polls, with a deadline, until the thread has slept again since `before`. */
static void
await_sleep_again(pid_t tid, long before)
{
    struct timespec pause = {0, 1000000};
    time_t give_up = time(NULL) + DEADLINE_S;

    while (sleeps_of(tid) <= before || thread_state(tid) != 'S') {
        assert_true(time(NULL) < give_up);
        nanosleep(&pause, NULL);
    }
}

/*
 * One message being written, two workers waiting, a second message queued
 * (too small to go while the first is written), and the queue closed: both
 * workers have woken, seen the writer still busy, and slept again. Returns
 * the message being written; the caller ends that write.
 */
static struct msg *
close_while_one_writes(struct queue *q, struct waiter *w1, pthread_t *t1,
                       struct waiter *w2, pthread_t *t2)
{
    struct msg *writing;
    long before1;
    long before2;

    assert_int_equal(queue_init(q, 100), 0);
    queue_push(q, make_msg(1, 1));
    writing = pop_one_and_write(q);
    start_waiter(w1, t1, q);
    start_waiter(w2, t2, q);
    queue_push(q, make_msg(2, 1));
    before1 = sleeps_of(w1->tid);
    before2 = sleeps_of(w2->tid);
    queue_close(q);
    await_sleep_again(w1->tid, before1);
    await_sleep_again(w2->tid, before2);
    return writing;
}

static void
closing_while_one_writes_lets_every_waiting_worker_finish(void **state)
{
    struct queue q;
    struct waiter w1;
    struct waiter w2;
    pthread_t t1;
    pthread_t t2;
    struct msg *writing;
    size_t got;

    (void)state;
    writing = close_while_one_writes(&q, &w1, &t1, &w2, &t2);
    /*
     * The writer is done: one takes the message, and the other must not
     * sleep on, since the queue is closed.
     */
    queue_done(&q);
    got = join_waiter(&w1, t1) + join_waiter(&w2, t2);
    assert_int_equal(got, 1);
    msg_free(w1.got ? w1.out[0] : w2.out[0]);
    msg_free(writing);
    queue_destroy(&q);
}

/* Like a worker that has written: written, then the next batch. */
static size_t
next_batch(struct queue *q, struct msg **out, size_t cap, int *idle)
{
    size_t nout;
    int room;

    queue_written(q);
    /*
     * Timed: a worker woken by mistake that took the batch must not leave
     * this thread blocked for ever.
     */
    return queue_pop_wait(q, WAITER_BATCH_MAX, out, cap, &nout, &room, 2000,
                          idle);
}

static void
a_worker_done_writing_takes_what_gathered_and_wakes_no_other(void **state)
{
    struct queue q;
    struct waiter w;
    pthread_t t;
    struct msg *writing;
    struct msg *out[4];
    struct timespec pause = {0, 1000000};
    long before;
    int idle;

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    queue_push(&q, make_msg(1, 1));
    writing = pop_one_and_write(&q);
    start_waiter(&w, &t, &q);
    queue_push(&q, make_msg(2, 2)); /* 2: not enough for a batch of its own */
    before = sleeps_of(w.tid);
    assert_int_equal(next_batch(&q, out, 4, &idle), 1);
    assert_int_equal(idle, 0);
    assert_int_equal(id_of(out[0]), 2);
    /*
     * Woken, the other worker would find the batch taken and sleep again
     * (or take it first). Watched for 200 ms, it must not have stirred:
     * this cannot fail when it is right, however slow the machine.
     */
    for (int i = 0; i < 200; i++) {
        assert_int_equal(sleeps_of(w.tid), before);
        nanosleep(&pause, NULL);
    }
    pthread_mutex_lock(&w.lock);
    assert_int_equal(w.done, 0);
    pthread_mutex_unlock(&w.lock);
    queue_close(&q);
    assert_int_equal(join_waiter(&w, t), 0);
    queue_done(&q);
    msg_free(out[0]);
    msg_free(writing);
    queue_destroy(&q);
}

static void
a_worker_done_that_finds_nothing_no_longer_counts_as_writing(void **state)
{
    struct queue q;
    struct waiter w;
    pthread_t t;
    struct msg *writing;
    struct msg *out[4];
    int idle;

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    queue_push(&q, make_msg(1, 1));
    writing = pop_one_and_write(&q);
    assert_int_equal(next_batch(&q, out, 4, &idle), 0);
    assert_int_equal(idle, 1);
    /* Nobody writes now: a lone small message goes at once. */
    start_waiter(&w, &t, &q);
    queue_push(&q, make_msg(2, 1));
    assert_int_equal(join_waiter(&w, t), 1);
    assert_int_equal(id_of(w.out[0]), 2);
    msg_free(w.out[0]);
    msg_free(writing);
    queue_destroy(&q);
}

static void
the_writer_done_with_a_closed_queue_lets_every_worker_drain_and_leave(
    void **state)
{
    struct queue q;
    struct waiter w1;
    struct waiter w2;
    pthread_t t1;
    pthread_t t2;
    struct msg *writing;
    struct msg *out[4];
    size_t mine;
    size_t theirs;
    int idle;

    (void)state;
    writing = close_while_one_writes(&q, &w1, &t1, &w2, &t2);
    /*
     * The writer is done: exactly one of the three takes the rest, and
     * nobody sleeps on.
     */
    mine = next_batch(&q, out, 4, &idle);
    theirs = join_waiter(&w1, t1) + join_waiter(&w2, t2);
    assert_int_equal(mine + theirs, 1);
    assert_int_equal(idle, 0);
    if (mine == 1) {
        assert_int_equal(id_of(out[0]), 2);
        msg_free(out[0]);
        assert_int_equal(next_batch(&q, out + 1, 3, &idle), 0);
        assert_int_equal(idle, 0);
    } else {
        msg_free(w1.got ? w1.out[0] : w2.out[0]);
    }
    msg_free(writing);
    queue_destroy(&q);
}

/* ------------------------------------------------------------------
 * The source's side: chains, and holding back while a commit runs
 */

static void
a_chain_pushed_at_once_is_taken_whole_by_the_worker_it_wakes(void **state)
{
    struct queue q;
    struct waiter w;
    pthread_t t;
    struct msg *a = make_msg(1, 1);
    struct msg *b = make_msg(2, 2);
    struct msg *c = make_msg(3, 1);

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    start_waiter(&w, &t, &q);
    a->next = b;
    b->next = c;
    queue_push_chain(&q, a, c, 3, 4);
    assert_int_equal(join_waiter(&w, t), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(id_of(w.out[i]), i + 1);
        msg_free(w.out[i]);
    }
    assert_int_equal(queue_depth(&q), 0);
    queue_done(&q);
    queue_destroy(&q);
}

static void
a_burst_worth_several_batches_is_shared_by_the_waiting_workers(void **state)
{
    struct queue q;
    struct waiter w1;
    struct waiter w2;
    pthread_t t1;
    pthread_t t2;
    struct msg *head = NULL;
    struct msg *tail = NULL;
    struct timespec pause = {0, 1000000};
    time_t give_up = time(NULL) + DEADLINE_S;

    (void)state;
    assert_int_equal(queue_init(&q, 1000), 0);
    start_waiter(&w1, &t1, &q);
    start_waiter(&w2, &t2, &q);
    /* Four messages of 10 records: 40, with batch_max 80 (enough: 10). */
    for (uint32_t id = 1; id <= 4; id++) {
        struct msg *m = make_msg(id, 10);
        if (tail != NULL) {
            tail->next = m;
        } else {
            head = m;
        }
        tail = m;
    }
    queue_push_chain(&q, head, tail, 4, 40);
    while (queue_depth(&q) > 0) {
        assert_true(time(NULL) < give_up);
        nanosleep(&pause, NULL);
    }
    /* Each took half, side by side: not one all of it. */
    assert_int_equal(join_waiter(&w1, t1), 2);
    assert_int_equal(join_waiter(&w2, t2), 2);
    for (size_t i = 0; i < 2; i++) {
        msg_free(w1.out[i]);
        msg_free(w2.out[i]);
    }
    queue_done(&q);
    queue_done(&q);
    queue_destroy(&q);
}

static void
the_source_holds_back_only_while_a_small_batch_would_wait(void **state)
{
    struct queue q;
    struct msg *writing;

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    /* Nobody writes: read at once. */
    assert_int_equal(queue_gather(&q, 1), 0);
    queue_push(&q, make_msg(1, 1));
    writing = pop_one_and_write(&q); /* batch_max 80: enough is 10 */
    /* A commit is under way: a small burst waits with its clients ... */
    assert_int_equal(queue_gather(&q, 1), 1);
    assert_int_equal(queue_gather(&q, 9), 1);
    /* ... a large one is worth a transaction in parallel. */
    assert_int_equal(queue_gather(&q, 10), 0);
    /* The commit ended: read again. */
    queue_written(&q);
    assert_int_equal(queue_gather(&q, 1), 0);
    /* Closing: never hold back what must drain. */
    queue_push(&q, make_msg(2, 1));
    msg_free(writing);
    writing = pop_one_and_write(&q);
    queue_close(&q);
    assert_int_equal(queue_gather(&q, 1), 0);
    queue_written(&q);
    msg_free(writing);
    queue_destroy(&q);
}

static void
a_commit_that_outlasts_an_idle_workers_wait_ends_the_hold(void **state)
{
    struct queue q;
    struct msg *writing;
    struct msg *out[4];
    size_t nout;
    int room;
    int idle;

    (void)state;
    assert_int_equal(queue_init(&q, 100), 0);
    queue_push(&q, make_msg(1, 1));
    writing = pop_one_and_write(&q);
    assert_int_equal(queue_gather(&q, 1), 1);
    /*
     * Another worker waits 50 ms with nothing queued: it is told to wake
     * the source (*room).
     */
    assert_int_equal(
        queue_pop_wait(&q, WAITER_BATCH_MAX, out, 4, &nout, &room, 50, &idle),
        0);
    assert_int_equal(idle, 1);
    assert_int_equal(room, 1);
    /* Until no commit is under way, the source reads whatever it finds. */
    assert_int_equal(queue_gather(&q, 1), 0);
    assert_int_equal(queue_gather(&q, 1), 0);
    queue_written(&q);
    msg_free(writing);
    /*
     * The next commit may hold it back again; idle waits without a hold
     * tell nobody.
     */
    queue_push(&q, make_msg(2, 1));
    writing = pop_one_and_write(&q);
    assert_int_equal(
        queue_pop_wait(&q, WAITER_BATCH_MAX, out, 4, &nout, &room, 10, &idle),
        0);
    assert_int_equal(room, 0);
    assert_int_equal(queue_gather(&q, 1), 1);
    queue_written(&q);
    msg_free(writing);
    queue_destroy(&q);
}

/* ------------------------------------------------------------------
 * One producer, four consumers
 */

#define MESSAGES 100000
#define CONSUMERS 4
#define BATCH_MAX 10
#define QUEUE_MAX 1000

struct crowd {
    struct queue q;
    pthread_mutex_t room_lock; /* the producer waits for room here */
    pthread_cond_t room;
    atomic_uchar seen[MESSAGES]; /* times each id was popped */
    atomic_int trouble;          /* nonzero: a thread saw something wrong */
};

struct consumer {
    struct crowd *c;
    int next; /* nonzero: queue_written() after a batch, as the workers do */
    uint64_t messages;
    uint64_t records;
    uint64_t id_sum;
};

static uint32_t
records_of(uint32_t id)
{
    return id % 3 + 1;
}

static void *
consume(void *arg)
{
    struct consumer *me = arg;
    struct crowd *c = me->c;
    struct msg *out[64];
    size_t nout;
    int room;
    int idle;
    int64_t last = -1;
    size_t n = queue_pop(&c->q, BATCH_MAX, out, 64, &nout, &room);

    while (n > 0) {
        size_t records = 0;

        for (size_t i = 0; i < n; i++) {
            uint32_t id = id_of(out[i]);

            /* What one worker takes is in queue order. */
            if (id >= MESSAGES || (int64_t)id <= last ||
                out[i]->nrec != records_of(id)) {
                atomic_store(&c->trouble, 1);
            } else {
                atomic_fetch_add(&c->seen[id], 1);
            }
            last = id;
            records += out[i]->nrec;
            me->records += out[i]->nrec;
            me->id_sum += id;
            msg_free(out[i]);
        }
        me->messages += n;
        if (nout != n || (n > 1 && records > BATCH_MAX)) {
            atomic_store(&c->trouble, 2);
        }
        if (room) {
            pthread_mutex_lock(&c->room_lock);
            pthread_cond_broadcast(&c->room);
            pthread_mutex_unlock(&c->room_lock);
        }
        if (me->next) {
            queue_written(&c->q);
            n = queue_pop_wait(&c->q, BATCH_MAX, out, 64, &nout, &room, 0,
                               &idle);
        } else {
            queue_done(&c->q);
            n = queue_pop(&c->q, BATCH_MAX, out, 64, &nout, &room);
        }
    }
    if (room) {
        pthread_mutex_lock(&c->room_lock);
        pthread_cond_broadcast(&c->room);
        pthread_mutex_unlock(&c->room_lock);
    }
    return NULL;
}

static void *
produce(void *arg)
{
    struct crowd *c = arg;
    struct timespec until = deadline();

    for (uint32_t id = 0; id < MESSAGES; id++) {
        /* Like the source: read a request only while there is room. */
        pthread_mutex_lock(&c->room_lock);
        while (!queue_room(&c->q, 0)) {
            if (pthread_cond_timedwait(&c->room, &c->room_lock, &until) ==
                ETIMEDOUT) {
                atomic_store(&c->trouble, 3);
                pthread_mutex_unlock(&c->room_lock);
                return NULL;
            }
        }
        pthread_mutex_unlock(&c->room_lock);
        if (queue_depth(&c->q) > QUEUE_MAX + 2) {
            atomic_store(&c->trouble, 4);
        }
        struct msg *m = new_msg(id, records_of(id));
        if (m == NULL) {
            atomic_store(&c->trouble, 5);
            return NULL;
        }
        queue_push(&c->q, m);
    }
    return NULL;
}

static void
every_message_is_popped_exactly_once_by_concurrent_workers(void **state)
{
    struct crowd *c = calloc(1, sizeof *c);
    struct consumer consumers[CONSUMERS];
    pthread_t workers[CONSUMERS];
    pthread_t producer;
    uint64_t messages = 0;
    uint64_t records = 0;
    uint64_t id_sum = 0;
    uint64_t want_records = 0;

    (void)state;
    assert_non_null(c);
    assert_int_equal(queue_init(&c->q, QUEUE_MAX), 0);
    assert_int_equal(pthread_mutex_init(&c->room_lock, NULL), 0);
    assert_int_equal(pthread_cond_init(&c->room, NULL), 0);
    for (int i = 0; i < CONSUMERS; i++) {
        memset(&consumers[i], 0, sizeof consumers[i]);
        consumers[i].c = c;
        consumers[i].next = i % 2; /* both ways at once */
        assert_int_equal(
            pthread_create(&workers[i], NULL, consume, &consumers[i]), 0);
    }
    assert_int_equal(pthread_create(&producer, NULL, produce, c), 0);
    assert_int_equal(pthread_join(producer, NULL), 0);
    queue_close(&c->q);
    for (int i = 0; i < CONSUMERS; i++) {
        assert_int_equal(pthread_join(workers[i], NULL), 0);
        messages += consumers[i].messages;
        records += consumers[i].records;
        id_sum += consumers[i].id_sum;
    }
    assert_int_equal(atomic_load(&c->trouble), 0);
    for (uint32_t id = 0; id < MESSAGES; id++) {
        if (atomic_load(&c->seen[id]) != 1) {
            fail_msg("message %u was popped %u times", id,
                     (unsigned)atomic_load(&c->seen[id]));
        }
        want_records += records_of(id);
    }
    assert_int_equal(messages, MESSAGES);
    assert_int_equal(records, want_records);
    assert_int_equal(id_sum, (uint64_t)MESSAGES * (MESSAGES - 1) / 2);
    assert_int_equal(queue_depth(&c->q), 0);
    queue_destroy(&c->q);
    pthread_cond_destroy(&c->room);
    pthread_mutex_destroy(&c->room_lock);
    free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_new_queue_is_empty_and_has_room),
        cmocka_unit_test(the_depth_counts_records_not_messages),
        cmocka_unit_test(a_pop_takes_whole_messages_up_to_batch_max_records),
        cmocka_unit_test(a_pop_never_skips_a_message_to_fill_the_batch),
        cmocka_unit_test(a_first_message_larger_than_batch_max_is_taken_alone),
        cmocka_unit_test(a_pop_takes_at_most_cap_messages),
        cmocka_unit_test(
            room_ends_at_max_records_but_a_large_message_still_gets_in),
        cmocka_unit_test(the_room_flag_is_set_only_by_the_pop_that_makes_room),
        cmocka_unit_test(after_close_workers_drain_the_queue_then_get_0),
        cmocka_unit_test(take_all_returns_every_queued_message_in_order),
        cmocka_unit_test(destroy_frees_what_is_still_queued),
        cmocka_unit_test(close_wakes_a_worker_blocked_in_pop),
        cmocka_unit_test(a_push_wakes_a_worker_blocked_in_pop),
        cmocka_unit_test(
            while_one_worker_writes_another_waits_for_it_before_a_small_batch),
        cmocka_unit_test(enough_records_do_not_wait_for_the_worker_that_writes),
        cmocka_unit_test(
            closing_while_one_writes_lets_every_waiting_worker_finish),
        cmocka_unit_test(
            a_worker_done_writing_takes_what_gathered_and_wakes_no_other),
        cmocka_unit_test(
            a_worker_done_that_finds_nothing_no_longer_counts_as_writing),
        cmocka_unit_test(
            the_writer_done_with_a_closed_queue_lets_every_worker_drain_and_leave),
        cmocka_unit_test(
            a_chain_pushed_at_once_is_taken_whole_by_the_worker_it_wakes),
        cmocka_unit_test(
            a_burst_worth_several_batches_is_shared_by_the_waiting_workers),
        cmocka_unit_test(
            the_source_holds_back_only_while_a_small_batch_would_wait),
        cmocka_unit_test(
            a_commit_that_outlasts_an_idle_workers_wait_ends_the_hold),
        cmocka_unit_test(
            every_message_is_popped_exactly_once_by_concurrent_workers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
