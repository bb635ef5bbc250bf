/*
 * worker.c - the sink workers: batches, retries, narrowing refusals.
 *
 * Owns what a worker thread does with its sink instance: opening it (and
 * the start-up retry window), taking batches off the queue, writing them,
 * retrying with capped, jittered backoff after a RETRY, narrowing a
 * REJECT down to the offending message, and handing committed or refused
 * messages back to the source thread, which answers them (pipeline.c).
 * Each worker owns one sink instance; every call on it comes from here.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "deadletter.h"
#include "health.h"
#include "log.h"
#include "pipeline_state.h"
#include "stage.h"
#include "stats.h"

static void
sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* Capped exponential backoff with jitter: 50 ms doubling to 2 s. */
static unsigned
backoff_ms(struct worker *w)
{
    unsigned shift = w->attempt < 6 ? w->attempt : 6;
    unsigned cap = 50u << shift;

    if (cap > 2000) {
        cap = 2000;
    }
    /* xorshift64: workers must not retry in lockstep. */
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return cap / 2 + (unsigned)(w->rng % (cap / 2 + 1));
}

/*
 * One more failure in a streak: logged when the streak starts and when the
 * reason changes, counted always, then a backoff.
 */
static void
streak_fail(struct worker *w, const char *what, const char *err)
{
    if (err[0] == '\0') {
        err = "no reason given";
    }
    stats_add(STATS_RETRIES, 1);
    if (w->attempt == 0) {
        clock_gettime(CLOCK_MONOTONIC, &w->streak_start);
        log_warning("worker %u: %s failed, retrying: %s", w->id, what, err);
    } else if (strcmp(err, w->last_err) != 0) {
        log_warning("worker %u: %s still failing (retry %u): %s", w->id, what,
                    w->attempt, err);
    } else {
        log_debug("worker %u: %s still failing (retry %u)", w->id, what,
                  w->attempt);
    }
    snprintf(w->last_err, sizeof w->last_err, "%s", err);
    w->attempt++;
    sleep_ms(backoff_ms(w));
}

static void
streak_end(struct worker *w)
{
    struct timespec now;

    if (w->attempt == 0) {
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    log_notice("worker %u: sink recovered retries=%u seconds=%.1f", w->id,
               w->attempt,
               (double)(now.tv_sec - w->streak_start.tv_sec) +
                   (double)(now.tv_nsec - w->streak_start.tv_nsec) / 1e9);
    w->attempt = 0;
    w->last_err[0] = '\0';
}

/* Closes the instance and opens a new one, however long that takes. */
static void
reconnect(struct worker *w)
{
    const struct stage *sink = w->pl->sink;
    const struct feed_plugin *d = sink->plugin.desc;
    char err[FEED_ERR_MAX];

    health_connected(w->id, 0);
    if (d->close != NULL) {
        d->close(&sink->host, w->sink);
    }
    w->sink = NULL;
    for (;;) {
        enum feed_result r;

        err[0] = '\0';
        health_call_begin(w->id, HEALTH_CALL_OPEN);
        r = d->open(&sink->host, sink->conf, &w->sink, err, sizeof err);
        health_call_end(w->id);
        if (r == FEED_OK) {
            health_connected(w->id, 1);
            return;
        }
        streak_fail(w, "sink connect", err);
    }
}

/* After SIGHUP: the sink reopens what it keeps open (its files). */
static void
maybe_reopen(struct worker *w)
{
    const struct stage *sink = w->pl->sink;
    unsigned gen = atomic_load(&w->pl->reopen_gen);

    if (gen == w->reopen_seen) {
        return;
    }
    w->reopen_seen = gen;
    if (PLUGIN_HAS(sink->plugin.desc, reopen)) {
        sink->plugin.desc->reopen(&sink->host, w->sink);
    }
}

/* An idle worker lets its sink check the connection. */
static void
tick(struct worker *w)
{
    const struct stage *sink = w->pl->sink;

    char err[FEED_ERR_MAX] = "";
    enum feed_result r;

    if (!PLUGIN_HAS(sink->plugin.desc, tick)) {
        return;
    }
    health_call_begin(w->id, HEALTH_CALL_TICK);
    r = sink->plugin.desc->tick(&sink->host, w->sink, err, sizeof err);
    health_call_end(w->id);
    if (r == FEED_RETRY) {
        /* Not connected until the next successful open. */
        health_connected(w->id, 0);
        streak_fail(w, "sink check", err);
        reconnect(w);
        streak_end(w);
    }
}

/*
 * Lays out the records of batch[first, first + n) and one origin per
 * message; returns the records' count, SIZE_MAX when out of memory.
 */
static size_t
build_records(struct worker *w, size_t first, size_t n)
{
    size_t nf = w->pl->nfields;
    size_t count = 0;
    size_t k = 0;

    if (n > w->origins_cap) {
        struct feed_origin *o = realloc(w->origins, n * sizeof *o);
        if (o == NULL) {
            return SIZE_MAX;
        }
        w->origins = o;
        w->origins_cap = n;
    }
    for (size_t i = first; i < first + n; i++) {
        count += w->batch[i]->nrec;
    }
    if (count > w->records_cap) {
        struct feed_record *r = realloc(w->records, count * sizeof *r);
        uint32_t *o = r != NULL ? realloc(w->owner, count * sizeof *o) : NULL;

        if (r != NULL) {
            w->records = r;
        }
        if (o == NULL) {
            return SIZE_MAX;
        }
        w->owner = o;
        w->records_cap = count;
    }
    for (size_t i = first; i < first + n; i++) {
        const struct msg *m = w->batch[i];
        w->origins[i - first] = (struct feed_origin){
            .first = k,
            .count = m->nrec,
            .client = m->client,
            .received_ns = m->received_ns,
        };
        for (uint32_t r = 0; r < m->nrec; r++) {
            w->records[k].line = m->lines[r];
            w->records[k].values = m->values + (size_t)r * nf;
            w->owner[k] = (uint32_t)(i - first);
            k++;
        }
    }
    return count;
}

/* batch[first, first + n) is committed: TRUE, once the batch is done. */
static void
finish(struct worker *w, size_t first, size_t n, size_t records)
{
    pthread_mutex_lock(&w->lock);
    for (size_t i = first; i < first + n; i++) {
        msg_append(&w->done_head, &w->done_tail, w->batch[i]);
        w->batch[i] = NULL;
    }
    pthread_mutex_unlock(&w->lock);
    stats_add(STATS_COMMITTED, records);
}

/* batch[i] alone was refused by the sink: dead letter, then FALSE. */
static void
refuse(struct worker *w, size_t i, const char *err)
{
    struct msg *m = w->batch[i];

    if (err[0] == '\0') {
        err = "refused by the sink";
    }
    m->refused = 1;
    m->refusal = strdup(err);
    deadletter_write(err, m->client, msg_body(m), m->len, 1);
    stats_add(STATS_REJECTED, 1);
    log_notice("worker %u: request refused by the sink: %s len=%zu "
               "client=%s",
               w->id, err, m->len, m->client);
    pthread_mutex_lock(&w->lock);
    w->batch[i] = NULL;
    pthread_mutex_unlock(&w->lock);
    msg_append(&w->done_head, &w->done_tail, m);
}

static void write_slice(struct worker *w, size_t first, size_t n);

/*
 * The sink refused batch[first, first + n). Find the offending messages
 * and commit the others. When the sink named the culprit, write the others
 * first and then the culprit alone: only its own write tells whether it is
 * really refused (and why), or was refused because of a message that the
 * others' write has now dropped. Otherwise split in halves.
 */
static void
narrow(struct worker *w, size_t first, size_t n, size_t culprit,
       const char *err)
{
    size_t half = n / 2;

    if (n == 1) {
        refuse(w, first, err);
        return;
    }
    if (culprit < n) {
        pthread_mutex_lock(&w->lock);
        struct msg *m = w->batch[first + culprit];
        memmove(&w->batch[first + culprit], &w->batch[first + culprit + 1],
                (n - culprit - 1) * sizeof *w->batch);
        w->batch[first + n - 1] = m;
        pthread_mutex_unlock(&w->lock);
        write_slice(w, first, n - 1);
        write_slice(w, first + n - 1, 1);
        return;
    }
    write_slice(w, first, half);
    write_slice(w, first + half, n - half);
}

/*
 * Writes batch[first, first + n) as one transaction, retrying (reconnected,
 * after a backoff) until the sink commits or refuses it.
 */
static void
write_slice(struct worker *w, size_t first, size_t n)
{
    const struct stage *sink = w->pl->sink;
    const struct feed_plugin *d = sink->plugin.desc;

    for (;;) {
        char err[FEED_ERR_MAX] = "";
        size_t bad = SIZE_MAX;
        struct feed_batch batch;
        enum feed_result r;
        uint64_t start;

        batch.count = build_records(w, first, n);
        batch.records = w->records;
        batch.nrequests = n;
        batch.requests = w->origins;
        if (batch.count == SIZE_MAX) {
            streak_fail(w, "sink write", "out of memory");
            continue;
        }
        health_call_begin(w->id, HEALTH_CALL_WRITE);
        start = clock_us();
        r = d->write(&sink->host, w->sink, &batch, &bad, err, sizeof err);
        /* Every outcome: a stuck write shows with its real duration. */
        stats_commit_us(clock_us() - start);
        health_call_end(w->id);
        if (r == FEED_OK) {
            streak_end(w);
            finish(w, first, n, batch.count);
            return;
        }
        if (r == FEED_REJECT) {
            streak_end(w);
            narrow(w, first, n, bad < batch.count ? w->owner[bad] : SIZE_MAX,
                   err);
            return;
        }
        health_connected(w->id, 0);
        streak_fail(w, "sink write", err);
        reconnect(w);
    }
}

static void
report_start(struct pipeline *pl, int ok, const char *err)
{
    pthread_mutex_lock(&pl->start_lock);
    if (ok) {
        pl->ready++;
    } else {
        if (pl->failed++ == 0) {
            snprintf(pl->start_err, sizeof pl->start_err, "sink %s: %s",
                     stage_name(pl->sink), err);
        }
    }
    pthread_cond_signal(&pl->start_cond);
    pthread_mutex_unlock(&pl->start_lock);
}

/*
 * Opens this worker's sink at start: a permanent refusal fails at once, a
 * transient one is retried until start_timeout_ms.
 */
static int
connect_first(struct worker *w)
{
    struct pipeline *pl = w->pl;
    const struct stage *sink = pl->sink;
    uint64_t deadline = clock_ms() + pl->set.start_timeout_ms;
    char err[FEED_ERR_MAX];

    for (;;) {
        enum feed_result r;
        uint64_t now;

        err[0] = '\0';
        health_call_begin(w->id, HEALTH_CALL_OPEN);
        r = sink->plugin.desc->open(&sink->host, sink->conf, &w->sink, err,
                                    sizeof err);
        health_call_end(w->id);
        if (r == FEED_OK) {
            health_connected(w->id, 1);
            return 0;
        }
        now = clock_ms();
        if (r != FEED_RETRY) {
            report_start(pl, 0, err[0] != '\0' ? err : "cannot open");
            return -1;
        }
        if (now >= deadline) {
            char why[FEED_ERR_MAX + 64];
            snprintf(why, sizeof why, "%s (still failing after %u s)", err,
                     pl->set.start_timeout_ms / 1000);
            report_start(pl, 0, why);
            return -1;
        }
        if (w->attempt++ == 0) {
            log_warning("worker %u: sink not ready, retrying for up to %u s: "
                        "%s",
                        w->id, pl->set.start_timeout_ms / 1000, err);
        }
        for (unsigned ms = backoff_ms(w); ms > 0 && clock_ms() < deadline;) {
            unsigned step = ms < 50 ? ms : 50;
            if (atomic_load(&pl->abort_start)) {
                return -1;
            }
            sleep_ms(step);
            ms -= step;
        }
    }
}

void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct pipeline *pl = w->pl;
    char name[16];

    health_bind_worker(w->id);
    /* ps -L, top -H, perf and bench/run tell the workers apart by it. */
    snprintf(name, sizeof name, "worker %u", w->id);
    pthread_setname_np(pthread_self(), name);
    if (connect_first(w) == -1) {
        return NULL;
    }
    w->attempt = 0;
    w->reopen_seen = atomic_load(&pl->reopen_gen);
    report_start(pl, 1, NULL);
    for (;;) {
        int room = 0;
        int idle = 0;
        size_t n = queue_pop_wait(&pl->queue, pl->set.batch_max, w->batch,
                                  pl->set.batch_max, &w->nbatch, &room, TICK_MS,
                                  &idle);

        /* Room made, or a hold ended (queue_gather()): the source reads. */
        if (room) {
            signal_fd(pl->wake_fd);
        }
        maybe_reopen(w);
        if (idle) {
            tick(w);
            continue;
        }
        if (n == 0) {
            break;
        }
        write_slice(w, 0, n);
        /*
         * Done before the replies go: the source they wake must see that
         * this commit has ended (queue_gather()). Every message of the
         * batch was answered, so the hand-back is never empty.
         */
        queue_written(&pl->queue);
        pipeline_hand_back(pl, w->done_head, w->done_tail);
        w->done_head = NULL;
        w->done_tail = NULL;
        pthread_mutex_lock(&w->lock);
        w->nbatch = 0;
        pthread_mutex_unlock(&w->lock);
    }
    health_connected(w->id, 0);
    if (pl->sink->plugin.desc->close != NULL) {
        pl->sink->plugin.desc->close(&pl->sink->host, w->sink);
    }
    w->sink = NULL;
    return NULL;
}
