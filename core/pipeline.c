/*
 * pipeline.c - requests in, records through the queue, replies out.
 *
 * Owns the queue, the sink workers, the reply list and the rules of
 * acknowledgement: with ack = commit a request is answered TRUE only after
 * the transaction holding it has committed, so a TRUE survives kill -9.
 *
 * Threads:
 *   - the source thread runs the source plugin's loop; submit(), drain(),
 *     accepting() and finished() are called on it, so `inflight` and
 *     `queue_closed` are its own;
 *   - each worker owns one sink instance and writes batches with it;
 *   - the main thread starts, stops and, at the stop deadline, abandons.
 *
 * The workers' side (batches, retries, narrowing) is worker.c's; the state
 * both share is declared in pipeline_state.h, with its lock order.
 */
#include "pipeline.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "deadletter.h"
#include "health.h"
#include "log.h"
#include "msg.h"
#include "pipeline_state.h"
#include "queue.h"
#include "stage.h"
#include "stats.h"

/* ---------------------------------------------------------------------
 * The source thread: submit, reply, drain.
 */

static void
reply(struct pipeline *pl, const struct msg *m, const char *text, size_t len)
{
    pl->source->plugin.desc->reply(&pl->source->host, pl->source_state, m->data,
                                   m->tag_len, text, len);
    stats_observe(STATS_ACK_DELAY, clock_us() - m->received_us);
}

static void
reply_false(struct pipeline *pl, const struct msg *m, const char *reason)
{
    char text[FEED_ERR_MAX + 8];
    int n = snprintf(text, sizeof text, "FALSE %s", reason);

    if (n < 0 || (size_t)n >= sizeof text) {
        n = (int)sizeof text - 1;
    }
    reply(pl, m, text, (size_t)n);
}

static void
reply_true(struct pipeline *pl, const struct msg *m)
{
    reply(pl, m, "TRUE", 4);
    stats_add(STATS_ACCEPTED, 1);
}

/* Refuses a request at once: dead letter first, then FALSE. */
static void
refuse_now(struct pipeline *pl, const struct msg *m, const char *reason,
           unsigned parts)
{
    deadletter_write(reason, m->client, msg_body(m), m->len, parts);
    stats_add(STATS_REJECTED, 1);
    log_debug("request refused: %s len=%zu client=%s", reason, m->len,
              m->client);
    reply_false(pl, m, reason);
}

/* Queues what the source submitted since its last flush, in one go. */
static void
flush_pending(struct pipeline *pl)
{
    if (pl->pending_head == NULL) {
        return;
    }
    queue_push_chain(&pl->queue, pl->pending_head, pl->pending_tail,
                     pl->pending_msgs, pl->pending_records);
    pl->last_burst = pl->pending_records;
    pl->pending_head = NULL;
    pl->pending_tail = NULL;
    pl->pending_msgs = 0;
    pl->pending_records = 0;
}

/* Closes the queue once the source will push no more. */
static void
close_queue(struct pipeline *pl)
{
    flush_pending(pl);
    if (!pl->queue_closed) {
        pl->queue_closed = 1;
        queue_close(&pl->queue);
    }
}

int
pipeline_emit(struct feed_out *out, uint32_t line,
              const struct feed_value *values)
{
    return msg_add_record(out->msg, out->nfields, line, values);
}

int
pipeline_submit(struct pipeline *pl, const struct feed_request *req)
{
    const struct feed_plugin *parser = pl->parser->plugin.desc;
    char err[FEED_ERR_MAX] = "";
    struct feed_out out;
    struct msg *m;

    stats_add(STATS_RECEIVED, 1);
    if (req->tag_len == 0 || req->tag_len > FEED_TAG_MAX) {
        /* Nobody to answer: kept in dead_letter, never written. */
        log_warning("request of %zu bytes without a usable reply address "
                    "dead-lettered client=%s",
                    req->len, req->client != NULL ? req->client : "");
        deadletter_write("no usable reply address", req->client, req->body,
                         req->len, req->parts);
        stats_add(STATS_REJECTED, 1);
        return 0;
    }
    m = msg_new(req->tag, req->tag_len, req->body, req->len, req->client);
    if (m == NULL) {
        /* Unanswered, so its client resends it: nothing is lost. */
        log_error("out of memory: request of %zu bytes left unanswered",
                  req->len);
        return -1;
    }
    if (req->refuse != NULL) {
        refuse_now(pl, m, req->refuse, req->parts);
        msg_free(m);
        return 0;
    }
    if (req->parts > 1) {
        refuse_now(pl, m, "multipart requests are not accepted", req->parts);
        msg_free(m);
        return 0;
    }
    out.msg = m;
    out.nfields = pl->nfields;
    if (parser->parse(&pl->parser->host, pl->parser->conf, msg_body(m), m->len,
                      &out, err, sizeof err) != 0) {
        refuse_now(pl, m, err[0] != '\0' ? err : "refused by the parser", 1);
        msg_free(m);
        return 0;
    }
    if (m->nrec == 0) {
        reply_true(pl, m); /* nothing to write */
        msg_free(m);
        return 0;
    }
    if (pl->set.ack_receive) {
        reply_true(pl, m);
    }
    pl->inflight++;
    /* With ack = receive the TRUE is sent: queue it without delay. */
    if (!pl->bursts || pl->set.ack_receive) {
        queue_push(&pl->queue, m);
        return 0;
    }
    msg_append(&pl->pending_head, &pl->pending_tail, m);
    pl->pending_msgs++;
    pl->pending_records += m->nrec;
    return 0;
}

void
pipeline_flush(struct pipeline *pl)
{
    pl->bursts = 1;
    flush_pending(pl);
}

int
pipeline_accepting(struct pipeline *pl)
{
    if (atomic_load(&pl->stopping)) {
        close_queue(pl);
        return 0;
    }
    /* What is read but not yet queued counts against queue_max too. */
    if (!queue_room(&pl->queue, pl->pending_records)) {
        return 0;
    }
    /*
     * Between bursts, with ack = commit: while a commit is under way,
     * requests are better left with their clients until it ends.
     */
    if (pl->bursts && pl->pending_head == NULL && !pl->set.ack_receive) {
        return !queue_gather(&pl->queue, pl->last_burst);
    }
    return 1;
}

int
pipeline_wake_fd(struct pipeline *pl)
{
    return pl->wake_fd;
}

/* Answers a request whose records were committed or refused, then frees. */
static void
answer(struct pipeline *pl, struct msg *m)
{
    if (!pl->set.ack_receive) {
        if (m->refused) {
            reply_false(
                pl, m, m->refusal != NULL ? m->refusal : "refused by the sink");
        } else {
            reply_true(pl, m);
        }
    }
    msg_free(m);
    pl->inflight--;
}

/*
 * The source's reopen(), with its section of the INI read again: getters
 * work inside it; what they refuse is logged, and the plugin keeps what it
 * had for those keys.
 */
static void
reopen_source(struct pipeline *pl)
{
    struct stage *src = pl->source;
    struct config *fresh;

    pthread_mutex_lock(&pl->reply_lock);
    fresh = pl->fresh_config;
    pl->fresh_config = NULL;
    pthread_mutex_unlock(&pl->reply_lock);
    if (PLUGIN_HAS(src->plugin.desc, reopen)) {
        src->config = fresh;
        src->plugin.desc->reopen(&src->host, pl->source_state);
        src->config = NULL;
    }
    if (fresh != NULL && config_errors(fresh) > 0) {
        log_error("SIGHUP: %s; kept the old value", config_first_error(fresh));
    }
    config_free(fresh);
}

void
pipeline_drain(struct pipeline *pl)
{
    unsigned gen = atomic_load(&pl->reopen_gen);
    uint64_t count;
    struct msg *m;

    if (gen != pl->source_reopen_seen) {
        pl->source_reopen_seen = gen;
        reopen_source(pl);
    }
    /* Clear first: whatever arrives after the swap below signals again. */
    if (read(pl->wake_fd, &count, sizeof count) < 0) {
        (void)0; /* EAGAIN: nothing was signalled */
    }
    pthread_mutex_lock(&pl->reply_lock);
    m = pl->replies;
    pl->replies = NULL;
    pl->replies_tail = NULL;
    pthread_mutex_unlock(&pl->reply_lock);
    while (m != NULL) {
        struct msg *next = m->next;
        answer(pl, m);
        m = next;
    }
}

int
pipeline_finished(struct pipeline *pl)
{
    if (!atomic_load(&pl->stopping)) {
        return 0;
    }
    close_queue(pl);
    return pl->inflight == 0;
}

void
pipeline_hand_back(struct pipeline *pl, struct msg *head, struct msg *tail)
{
    int was_empty;

    pthread_mutex_lock(&pl->reply_lock);
    was_empty = pl->replies == NULL;
    if (was_empty) {
        pl->replies = head;
    } else {
        pl->replies_tail->next = head;
    }
    pl->replies_tail = tail;
    pthread_mutex_unlock(&pl->reply_lock);
    /* A non-empty list has already been signalled and not yet taken. */
    if (was_empty) {
        signal_fd(pl->wake_fd);
    }
}

/* The source's and the parser's host functions (see feed/plugin.h). */

static struct pipeline *
pipeline_of(const struct feed_host *h)
{
    return ((const struct stage *)h->core)->pipeline;
}

static int
host_submit(const struct feed_host *h, const struct feed_request *req)
{
    return pipeline_submit(pipeline_of(h), req);
}

static int
host_accepting(const struct feed_host *h)
{
    return pipeline_accepting(pipeline_of(h));
}

static int
host_wake_fd(const struct feed_host *h)
{
    return pipeline_wake_fd(pipeline_of(h));
}

static void
host_drain(const struct feed_host *h)
{
    pipeline_drain(pipeline_of(h));
}

static void
host_flush(const struct feed_host *h)
{
    pipeline_flush(pipeline_of(h));
}

static int
host_finished(const struct feed_host *h)
{
    return pipeline_finished(pipeline_of(h));
}

/* Gives the source and the parser the functions of a running pipeline. */
static void
install_host(struct pipeline *pl)
{
    struct feed_host *h = &pl->source->host;

    pl->source->pipeline = pl;
    h->submit = host_submit;
    h->accepting = host_accepting;
    h->wake_fd = host_wake_fd;
    h->drain = host_drain;
    h->flush = host_flush;
    h->finished = host_finished;
    pl->parser->host.emit = pipeline_emit;
}

static void *
source_main(void *arg)
{
    struct pipeline *pl = arg;

    pl->source_rc =
        pl->source->plugin.desc->run(&pl->source->host, pl->source_state);
    if (pl->source_rc != 0) {
        log_error("source %s failed; stopping", stage_name(pl->source));
    }
    health_source_bound(0);
    /* Workers finish what is queued, then end. */
    close_queue(pl);
    signal_fd(pl->done_fd);
    return NULL;
}

/* ---------------------------------------------------------------------
 * The main thread's side.
 */

struct pipeline *
pipeline_new(struct stage *source, struct stage *parser, struct stage *sink,
             const struct pipeline_settings *set, char *err, size_t errlen)
{
    struct pipeline *pl = calloc(1, sizeof *pl);
    const struct feed_schema *schema = stage_schema(parser);

    if (pl == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pl->source = source;
    pl->parser = parser;
    pl->sink = sink;
    pl->set = *set;
    pl->nfields = schema != NULL ? schema->nfields : 0;
    pthread_mutex_init(&pl->reply_lock, NULL);
    pthread_mutex_init(&pl->start_lock, NULL);
    pthread_cond_init(&pl->start_cond, NULL);
    pl->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pl->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pl->wake_fd == -1 || pl->done_fd == -1 ||
        queue_init(&pl->queue, set->queue_max) != 0) {
        snprintf(err, errlen, "cannot set up the pipeline: %s",
                 strerror(errno));
        goto fail;
    }
    pl->queue_ready = 1;
    pl->workers = calloc(set->threads, sizeof *pl->workers);
    if (pl->workers == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < set->threads; i++) {
        struct worker *w = &pl->workers[i];
        w->pl = pl;
        w->id = i + 1;
        w->rng = (uint64_t)time(NULL) * 2654435761u + i * 40503u + 1;
        pthread_mutex_init(&w->lock, NULL);
        w->batch = calloc(set->batch_max, sizeof *w->batch);
        if (w->batch == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    health_reset(set->threads);
    install_host(pl);
    return pl;

fail:
    pipeline_free(pl);
    return NULL;
}

/* Closes the source (flushing what replies it can). */
static void
close_source(struct pipeline *pl)
{
    if (pl->source_state != NULL && pl->source->plugin.desc->close != NULL) {
        pl->source->plugin.desc->close(&pl->source->host, pl->source_state);
    }
    pl->source_state = NULL;
}

int
pipeline_open_source(struct pipeline *pl, char *err, size_t errlen)
{
    char why[FEED_ERR_MAX] = "";

    const struct stage *src = pl->source;

    if (src->plugin.desc->open(&src->host, src->conf, &pl->source_state, why,
                               sizeof why) != FEED_OK) {
        snprintf(err, errlen, "source %s: %s", stage_name(pl->source),
                 why[0] != '\0' ? why : "cannot open");
        return -1;
    }
    health_source_bound(1);
    return 0;
}

/* Waits for every worker's first connection; -1 at the first failure. */
static int
wait_workers(struct pipeline *pl, unsigned started, char *err, size_t errlen)
{
    int rc = 0;

    pthread_mutex_lock(&pl->start_lock);
    while (pl->ready < started && pl->failed == 0) {
        pthread_cond_wait(&pl->start_cond, &pl->start_lock);
    }
    if (pl->failed > 0) {
        snprintf(err, errlen, "%s", pl->start_err);
        rc = -1;
    }
    pthread_mutex_unlock(&pl->start_lock);
    return rc;
}

int
pipeline_start(struct pipeline *pl, char *err, size_t errlen)
{
    unsigned started = 0;
    int rc;

    for (unsigned i = 0; i < pl->set.threads; i++) {
        struct worker *w = &pl->workers[i];
        rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start worker %u: %s", w->id,
                     strerror(rc));
            goto fail;
        }
        w->started = 1;
        started++;
    }
    if (wait_workers(pl, started, err, errlen) == -1) {
        goto fail;
    }
    rc = pthread_create(&pl->source_thread, NULL, source_main, pl);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the source thread: %s",
                 strerror(rc));
        goto fail;
    }
    pl->source_started = 1;
    return 0;

fail:
    atomic_store(&pl->abort_start, 1);
    queue_close(&pl->queue);
    for (unsigned i = 0; i < pl->set.threads; i++) {
        if (pl->workers[i].started) {
            pthread_join(pl->workers[i].thread, NULL);
            pl->workers[i].started = 0;
        }
    }
    return -1;
}

void
pipeline_reopen(struct pipeline *pl, struct config *fresh)
{
    struct config *old;

    pthread_mutex_lock(&pl->reply_lock);
    old = pl->fresh_config;
    pl->fresh_config = fresh;
    pthread_mutex_unlock(&pl->reply_lock);
    config_free(old); /* a SIGHUP the source has not seen yet */
    atomic_fetch_add(&pl->reopen_gen, 1);
    signal_fd(pl->wake_fd);
}

void
pipeline_cancel_start(struct pipeline *pl, const char *why)
{
    /* Workers retrying their first connection give up at their next step. */
    atomic_store(&pl->abort_start, 1);
    pthread_mutex_lock(&pl->start_lock);
    if (pl->failed++ == 0) {
        snprintf(pl->start_err, sizeof pl->start_err, "%s", why);
    }
    pthread_cond_signal(&pl->start_cond);
    pthread_mutex_unlock(&pl->start_lock);
}

void
pipeline_stop(struct pipeline *pl)
{
    atomic_store(&pl->stopping, 1);
    health_stopping();
    signal_fd(pl->wake_fd);
}

int
pipeline_done_fd(struct pipeline *pl)
{
    return pl->done_fd;
}

/* Joins a thread, giving up at deadline_ms (0: wait forever). */
static int
join_until(pthread_t t, uint64_t deadline_ms)
{
    uint64_t now = clock_ms();
    struct timespec ts;

    if (deadline_ms == 0) {
        return pthread_join(t, NULL) == 0 ? 0 : -1;
    }
    /* pthread_timedjoin_np() counts on the wall clock. */
    ts = clock_after_ms(CLOCK_REALTIME,
                        deadline_ms > now ? deadline_ms - now : 0);
    return pthread_timedjoin_np(t, NULL, &ts) == 0 ? 0 : -1;
}

enum pipeline_end
pipeline_join(struct pipeline *pl, uint64_t deadline_ms)
{
    if (pl->source_started) {
        if (join_until(pl->source_thread, deadline_ms) == -1) {
            return PIPELINE_STUCK;
        }
        pl->source_started = 0;
    }
    for (unsigned i = 0; i < pl->set.threads; i++) {
        if (pl->workers[i].started) {
            if (join_until(pl->workers[i].thread, deadline_ms) == -1) {
                return PIPELINE_STUCK;
            }
            pl->workers[i].started = 0;
        }
    }
    close_source(pl);
    return pl->source_rc == 0 ? PIPELINE_ENDED : PIPELINE_SOURCE_FAILED;
}

static void
abandon_one(struct pipeline *pl, const struct msg *m, size_t *count)
{
    (*count)++;
    if (pl->set.ack_receive) {
        deadletter_write("not committed at shutdown", m->client, msg_body(m),
                         m->len, 1);
    }
}

size_t
pipeline_abandon(struct pipeline *pl)
{
    size_t count = 0;

    /* Holding the queue's lock, every live message is queued or batched. */
    pthread_mutex_lock(&pl->queue.lock);
    for (const struct msg *m = pl->queue.head; m != NULL; m = m->next) {
        abandon_one(pl, m, &count);
    }
    for (unsigned i = 0; i < pl->set.threads; i++) {
        struct worker *w = &pl->workers[i];
        pthread_mutex_lock(&w->lock);
        for (size_t j = 0; j < w->nbatch; j++) {
            if (w->batch[j] != NULL) {
                abandon_one(pl, w->batch[j], &count);
            }
        }
        pthread_mutex_unlock(&w->lock);
    }
    pthread_mutex_unlock(&pl->queue.lock);
    return count;
}

size_t
pipeline_queue_depth(struct pipeline *pl)
{
    return queue_depth(&pl->queue);
}

void
pipeline_free(struct pipeline *pl)
{
    if (pl == NULL) {
        return;
    }
    close_source(pl);
    msg_free_chain(pl->replies);
    msg_free_chain(pl->pending_head);
    for (unsigned i = 0; pl->workers != NULL && i < pl->set.threads; i++) {
        struct worker *w = &pl->workers[i];
        if (w->pl != NULL) {
            pthread_mutex_destroy(&w->lock);
        }
        free(w->batch);
        free(w->records);
        free(w->owner);
        free(w->origins);
    }
    free(pl->workers);
    if (pl->queue_ready) {
        queue_destroy(&pl->queue);
    }
    config_free(pl->fresh_config);
    pthread_mutex_destroy(&pl->reply_lock);
    pthread_mutex_destroy(&pl->start_lock);
    pthread_cond_destroy(&pl->start_cond);
    if (pl->wake_fd > 0) {
        close(pl->wake_fd);
    }
    if (pl->done_fd > 0) {
        close(pl->done_fd);
    }
    if (pl->source != NULL) {
        pl->source->pipeline = NULL;
    }
    free(pl);
}
