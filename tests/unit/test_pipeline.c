/*
 * test_pipeline.c - the pipeline with in-process source, parser and sink.
 *
 * The real pipeline.c, queue.c and stage.c run here; only the three stages
 * are small descriptors of this file, so every reply and every committed
 * record can be checked. The source submits a scripted list of requests,
 * the parser turns "key,value" lines into records, the sink remembers what
 * it committed and fails on command.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "deadletter.h"
#include "pipeline.h"
#include "stage.h"
#include "stats.h"

#define MAX_REQUESTS 2048

/* ---------------------------------------------------------------------
 * The stages. Their state is global: one pipeline runs at a time.
 */

struct script {
    const char *bodies[MAX_REQUESTS];
    size_t count;
    unsigned parts[MAX_REQUESTS];
    const char *clients[MAX_REQUESTS]; /* feed_request.client, or NULL */
    const char *refuse[MAX_REQUESTS];  /* feed_request.refuse, or NULL */
    /* replies[i] is the reply to bodies[i] */
    char *replies[MAX_REQUESTS];
    size_t nreplies;       /* written by the source thread */
    int stop_after_submit; /* call pipeline_stop() once all are in */
};

struct sink_rules {
    const char *reject_key; /* records with this key are refused */
    int hint;               /* name the refused record */
    int retries;            /* the first N writes return RETRY */
    int always_retry;       /* every write returns RETRY */
    enum feed_result open_result;
    int open_retries; /* the first N opens return RETRY */
};

static struct script script;
static struct sink_rules rules;
static struct stage source_stage;
static struct stage parser_stage;
static struct stage sink_stage;
static struct pipeline *pl;

/* What the sink committed, guarded by sink_lock. */
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static char committed[1 << 16];
static size_t ncommitted;
static size_t batches;
static size_t largest_batch;
static int writes;
static int opens;
/* "client:count;" per request of every committed batch, in order. */
static char origins[1 << 14];
static int origins_bad; /* a batch's origins did not cover its records */
static int source_reopens;
static char reread[64]; /* the key source_reopen() read, the source's */
static int sink_reopens;
static int ticks;
static int tick_retries; /* the first N ticks return RETRY */

static void
reset(void)
{
    for (size_t i = 0; i < MAX_REQUESTS; i++) {
        free(script.replies[i]);
    }
    memset(&script, 0, sizeof script);
    memset(&rules, 0, sizeof rules);
    committed[0] = '\0';
    ncommitted = 0;
    batches = 0;
    largest_batch = 0;
    writes = 0;
    opens = 0;
    origins[0] = '\0';
    origins_bad = 0;
    source_reopens = 0;
    reread[0] = '\0';
    sink_reopens = 0;
    ticks = 0;
    tick_retries = 0;
}

/* Checks that a batch's origins cover its records, and notes them. */
static void
note_origins(const struct feed_batch *b)
{
    size_t next = 0;

    for (size_t i = 0; i < b->nrequests; i++) {
        const struct feed_origin *o = &b->requests[i];
        size_t used = strlen(origins);

        if (o->first != next || o->count == 0 || o->client == NULL ||
            o->received_ns <= 0) {
            origins_bad = 1;
        }
        next = o->first + o->count;
        snprintf(origins + used, sizeof origins - used, "%s:%zu;", o->client,
                 o->count);
    }
    if (next != b->count) {
        origins_bad = 1;
    }
}

/* The source: submits the script, then serves replies until finished. */
static int
source_run(const struct feed_host *host, void *state)
{
    const struct feed_host *h = host;
    size_t next = 0;

    (void)state;
    while (!h->finished(h)) {
        struct pollfd p = {h->wake_fd(h), POLLIN, 0};

        while (next < script.count && h->accepting(h)) {
            struct feed_request req = {
                .tag = &next,
                .tag_len = sizeof next,
                .body = script.bodies[next],
                .len = strlen(script.bodies[next]),
                .parts = script.parts[next] ? script.parts[next] : 1,
                .client = script.clients[next],
                .refuse = script.refuse[next],
            };
            h->submit(h, &req);
            next++;
        }
        if (next == script.count && script.stop_after_submit) {
            pipeline_stop(pl);
        }
        if (poll(&p, 1, 100) > 0) {
            h->drain(h);
        }
    }
    return 0;
}

static void
source_reply(const struct feed_host *host, void *state, const void *tag,
             size_t tag_len, const char *text, size_t len)
{
    size_t i;

    (void)host;
    (void)state;
    assert_int_equal(tag_len, sizeof i);
    memcpy(&i, tag, sizeof i);
    assert_null(script.replies[i]);
    script.replies[i] = strndup(text, len);
    __atomic_add_fetch(&script.nreplies, 1, __ATOMIC_SEQ_CST);
}

static enum feed_result
source_open(const struct feed_host *host, void *conf, void **state, char *err,
            size_t errlen)
{
    (void)host;
    (void)conf;
    (void)err;
    (void)errlen;
    *state = &script;
    return FEED_OK;
}

static const struct feed_field fields[] = {
    {"key", FEED_TYPE_TEXT},
    {"value", FEED_TYPE_TEXT},
};
static const struct feed_schema schema = {2, fields};

static const struct feed_schema *
parser_schema(const struct feed_host *host, void *conf)
{
    (void)host;
    (void)conf;
    return &schema;
}

/* "key,value" per line; a line "bad" refuses the request. */
static int
parser_parse(const struct feed_host *host, void *conf, const char *body,
             size_t len, struct feed_out *out, char *err, size_t errlen)
{
    const struct feed_host *h = host;
    uint32_t line = 1;
    const char *p = body;
    const char *end = body + len;

    (void)conf;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;
        const char *comma = memchr(p, ',', (size_t)(eol - p));
        struct feed_value v[2];

        if (comma == NULL) {
            snprintf(err, errlen, "line %u: bad", line);
            return -1;
        }
        v[0].ptr = p;
        v[0].len = (size_t)(comma - p);
        v[1].ptr = comma + 1;
        v[1].len = (size_t)(eol - comma - 1);
        if (h->emit(out, line, v) == -1) {
            return -1;
        }
        line++;
        p = eol + 1;
    }
    return 0;
}

static enum feed_result
sink_open(const struct feed_host *host, void *conf, void **state, char *err,
          size_t errlen)
{
    enum feed_result r = FEED_OK;

    (void)host;
    (void)conf;
    pthread_mutex_lock(&sink_lock);
    if (rules.open_result != FEED_OK) {
        r = rules.open_result;
    } else if (opens < rules.open_retries) {
        r = FEED_RETRY;
    }
    __atomic_add_fetch(&opens, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&sink_lock);
    snprintf(err, errlen, "open refused %d", (int)r);
    *state = &rules;
    return r;
}

static void
sink_close(const struct feed_host *host, void *state)
{
    (void)host;
    (void)state;
}

static enum feed_result
sink_write(const struct feed_host *host, void *state,
           const struct feed_batch *b, size_t *bad, char *err, size_t errlen)
{
    enum feed_result r = FEED_OK;

    (void)host;
    (void)state;
    pthread_mutex_lock(&sink_lock);
    writes++;
    if (rules.always_retry || writes <= rules.retries) {
        snprintf(err, errlen, "server gone");
        r = FEED_RETRY;
    }
    for (size_t i = 0; r == FEED_OK && i < b->count; i++) {
        const struct feed_value *k = &b->records[i].values[0];
        if (rules.reject_key != NULL && k->len == strlen(rules.reject_key) &&
            memcmp(k->ptr, rules.reject_key, k->len) == 0) {
            snprintf(err, errlen, "line %u: key %s refused",
                     (unsigned)b->records[i].line, rules.reject_key);
            if (rules.hint) {
                *bad = i;
            }
            r = FEED_REJECT;
        }
    }
    for (size_t i = 0; r == FEED_OK && i < b->count; i++) {
        const struct feed_value *k = &b->records[i].values[0];
        size_t used = strlen(committed);
        snprintf(committed + used, sizeof committed - used, "%.*s;",
                 (int)k->len, k->ptr);
        ncommitted++;
    }
    if (r == FEED_OK) {
        note_origins(b);
        batches++;
        if (b->count > largest_batch) {
            largest_batch = b->count;
        }
    }
    pthread_mutex_unlock(&sink_lock);
    return r;
}

static void
source_reopen(const struct feed_host *host, void *state)
{
    const char *v = "";

    (void)state;
    /* Outside a SIGHUP with a fresh INI, there is nothing to read. */
    if (host->conf_string(host, "allow", "(none)", &v) == 0) {
        snprintf(reread, sizeof reread, "%s", v);
    }
    __atomic_add_fetch(&source_reopens, 1, __ATOMIC_SEQ_CST);
}

static void
sink_reopen(const struct feed_host *host, void *state)
{
    (void)host;
    (void)state;
    __atomic_add_fetch(&sink_reopens, 1, __ATOMIC_SEQ_CST);
}

static enum feed_result
sink_tick(const struct feed_host *host, void *state, char *err, size_t errlen)
{
    int n = __atomic_add_fetch(&ticks, 1, __ATOMIC_SEQ_CST);

    (void)host;
    (void)state;
    if (n <= tick_retries) {
        snprintf(err, errlen, "ping failed");
        return FEED_RETRY;
    }
    return FEED_OK;
}

static const struct feed_plugin source_desc = {
    FEED_PLUGIN_HEADER, .kind = FEED_KIND_SOURCE,       .name = "script",
    .version = "0",     .summary = "scripted requests", .open = source_open,
    .run = source_run,  .reply = source_reply,          .reopen = source_reopen,
};

static const struct feed_plugin parser_desc = {
    FEED_PLUGIN_HEADER,
    .kind = FEED_KIND_PARSER,
    .name = "kv",
    .version = "0",
    .summary = "key,value lines",
    .schema = parser_schema,
    .parse = parser_parse,
};

static const struct feed_plugin sink_desc = {
    FEED_PLUGIN_HEADER,
    .kind = FEED_KIND_SINK,
    .name = "memory",
    .version = "0",
    .summary = "remembers what it committed",
    .open = sink_open,
    .close = sink_close,
    .write = sink_write,
    .reopen = sink_reopen,
    .tick = sink_tick,
};

/* ---------------------------------------------------------------------
 * Running a pipeline.
 */

static char dl_path[256];

static int
setup(void **state)
{
    char dir[] = "/tmp/feed-pipeline-XXXXXX";
    char err[FEED_ERR_MAX];

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(dl_path, sizeof dl_path, "%s/dead.jsonl", dir);
    assert_int_equal(deadletter_open(dl_path, err, sizeof err), 0);
    reset();
    return 0;
}

static int
teardown(void **state)
{
    char dir[256];

    (void)state;
    deadletter_close();
    unlink(dl_path);
    snprintf(dir, sizeof dir, "%s", dl_path);
    *strrchr(dir, '/') = '\0';
    rmdir(dir);
    reset();
    return 0;
}

static struct pipeline *
make(int ack_receive, size_t batch_max, unsigned threads)
{
    struct pipeline_settings set = {
        .ack_receive = ack_receive,
        .queue_max = 1000,
        .batch_max = batch_max,
        .threads = threads,
        .start_timeout_ms = 400,
    };
    char err[FEED_ERR_MAX];
    struct pipeline *p;

    stage_init(&source_stage, "source", &source_desc);
    stage_init(&parser_stage, "parser", &parser_desc);
    stage_init(&sink_stage, "sink", &sink_desc);
    parser_stage.conf = &script; /* any non-NULL configuration */
    p = pipeline_new(&source_stage, &parser_stage, &sink_stage, &set, err,
                     sizeof err);
    assert_non_null(p);
    assert_int_equal(pipeline_open_source(p, err, sizeof err), 0);
    return p;
}

/* Runs the script to the end with stop after the last submit. */
static void
run(int ack_receive, size_t batch_max, unsigned threads)
{
    char err[FEED_ERR_MAX];

    script.stop_after_submit = 1;
    pl = make(ack_receive, batch_max, threads);
    assert_int_equal(pipeline_start(pl, err, sizeof err), 0);
    assert_int_equal(pipeline_join(pl, 0), PIPELINE_ENDED);
    pipeline_free(pl);
    pl = NULL;
}

static void
add(const char *body)
{
    script.bodies[script.count++] = body;
}

/* The dead-letter file's content, for assertions. */
static char *
dead_letters(void)
{
    static char buf[1 << 14];
    FILE *f = fopen(dl_path, "r");
    size_t n = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;

    if (f != NULL) {
        fclose(f);
    }
    buf[n] = '\0';
    return buf;
}

/* ---------------------------------------------------------------------
 * Tests.
 */

static void
every_request_is_answered_true_after_its_commit(void **state)
{
    static char bodies[200][16];

    (void)state;
    for (int i = 0; i < 200; i++) {
        snprintf(bodies[i], sizeof bodies[i], "k%d,v", i);
        add(bodies[i]);
    }
    run(0, 50, 3);
    assert_int_equal(script.nreplies, 200);
    for (int i = 0; i < 200; i++) {
        assert_string_equal(script.replies[i], "TRUE");
    }
    assert_int_equal(ncommitted, 200);
    assert_true(largest_batch <= 50);
}

static void
a_request_the_parser_refuses_is_answered_false_and_dead_lettered(void **st)
{
    (void)st;
    add("a,1");
    add("b,2\nbad\nc,3");
    add("d,4");
    run(0, 10, 1);
    assert_string_equal(script.replies[0], "TRUE");
    assert_string_equal(script.replies[1], "FALSE line 2: bad");
    assert_string_equal(script.replies[2], "TRUE");
    assert_string_equal(committed, "a;d;");
    assert_non_null(strstr(dead_letters(), "\"reason\":\"line 2: bad\","
                                           "\"message\":\"b,2\\nbad\\nc,3\""));
}

static void
a_multipart_request_is_refused_with_its_frame_count(void **state)
{
    (void)state;
    add("a,1");
    script.parts[0] = 3;
    run(0, 10, 1);
    assert_string_equal(script.replies[0],
                        "FALSE multipart requests are not accepted");
    assert_int_equal(ncommitted, 0);
    assert_non_null(strstr(dead_letters(), "\"parts\":3,\"message\":\"a,1\""));
}

static void
a_request_without_a_reply_address_is_dead_lettered_unanswered(void **st)
{
    const struct feed_request req = {NULL, 0, "k9,v", 4, 1, NULL, NULL};

    (void)st;
    pl = make(0, 10, 1);
    assert_int_equal(pipeline_submit(pl, &req), 0);
    assert_int_equal(script.nreplies, 0);
    pipeline_free(pl);
    pl = NULL;
    assert_non_null(strstr(dead_letters(),
                           "\"reason\":\"no usable reply address\","
                           "\"message\":\"k9,v\""));
}

static void
a_message_is_never_split_across_batches(void **state)
{
    static char big[25 * 8];
    size_t n = 0;

    (void)state;
    for (int i = 0; i < 25; i++) {
        n += (size_t)snprintf(big + n, sizeof big - n, "%sx%d,1", i ? "\n" : "",
                              i);
    }
    add(big);
    run(0, 10, 1);
    assert_string_equal(script.replies[0], "TRUE");
    assert_int_equal(batches, 1);
    assert_int_equal(largest_batch, 25);
}

static void
narrowing_with_a_hint_refuses_only_the_offending_message(void **state)
{
    static char bodies[40][16];

    (void)state;
    rules.reject_key = "k17";
    rules.hint = 1;
    for (int i = 0; i < 40; i++) {
        snprintf(bodies[i], sizeof bodies[i], "k%d,v", i);
        add(bodies[i]);
    }
    run(0, 100, 1);
    for (int i = 0; i < 40; i++) {
        assert_string_equal(script.replies[i],
                            i == 17 ? "FALSE line 1: key k17 refused" : "TRUE");
    }
    assert_int_equal(ncommitted, 39);
    assert_null(strstr(committed, "k17;"));
    assert_non_null(strstr(dead_letters(), "\"message\":\"k17,v\""));
}

static void
narrowing_without_a_hint_bisects_to_the_offending_message(void **state)
{
    static char bodies[40][16];

    (void)state;
    rules.reject_key = "k5";
    for (int i = 0; i < 40; i++) {
        snprintf(bodies[i], sizeof bodies[i], "k%d,v", i);
        add(bodies[i]);
    }
    run(0, 100, 1);
    for (int i = 0; i < 40; i++) {
        assert_string_equal(script.replies[i],
                            i == 5 ? "FALSE line 1: key k5 refused" : "TRUE");
    }
    assert_int_equal(ncommitted, 39);
}

static void
a_retried_batch_is_committed_once_and_acknowledged(void **state)
{
    uint64_t before = stats_get(STATS_RETRIES);

    (void)state;
    rules.retries = 3;
    add("a,1");
    add("b,2");
    run(0, 10, 1);
    assert_string_equal(script.replies[0], "TRUE");
    assert_string_equal(script.replies[1], "TRUE");
    assert_int_equal(ncommitted, 2);
    assert_true(stats_get(STATS_RETRIES) - before >= 3);
    assert_true(opens >= 4); /* reconnected after each retry */
}

static void
ack_receive_answers_at_once_and_still_commits_before_stopping(void **st)
{
    (void)st;
    rules.retries = 2; /* slow commits: replies must not wait for them */
    add("a,1");
    add("b,2");
    add("bad");
    run(1, 10, 2);
    assert_string_equal(script.replies[0], "TRUE");
    assert_string_equal(script.replies[1], "TRUE");
    assert_string_equal(script.replies[2], "FALSE line 1: bad");
    assert_int_equal(ncommitted, 2);
}

static void
a_permanent_open_failure_fails_the_start_at_once(void **state)
{
    char err[FEED_ERR_MAX];

    (void)state;
    rules.open_result = FEED_FAIL;
    pl = make(0, 10, 2);
    assert_int_equal(pipeline_start(pl, err, sizeof err), -1);
    assert_string_equal(err, "sink memory: open refused 3");
    pipeline_free(pl);
    pl = NULL;
}

static void
a_transient_open_failure_is_retried_until_the_start_timeout(void **state)
{
    char err[FEED_ERR_MAX];

    (void)state;
    rules.open_retries = 1000000;
    pl = make(0, 10, 1);
    assert_int_equal(pipeline_start(pl, err, sizeof err), -1);
    assert_string_equal(err, "sink memory: open refused 1 (still failing "
                             "after 0 s)");
    assert_true(opens > 1);
    pipeline_free(pl);
    pl = NULL;
}

static void
a_transient_open_failure_that_clears_lets_the_start_succeed(void **state)
{
    (void)state;
    rules.open_retries = 2;
    add("a,1");
    run(0, 10, 1);
    assert_string_equal(script.replies[0], "TRUE");
}

/*
 * At the stop deadline with the sink down, ack = receive requests are
 * written to dead_letter. Workers stay stuck, so this runs in a child.
 */
static void
abandoning_writes_acknowledged_requests_to_dead_letter(void **state)
{
    pid_t child;
    int status;

    (void)state;
    child = fork();
    assert_true(child != -1);
    if (child == 0) {
        char err[FEED_ERR_MAX];
        size_t lost;

        rules.always_retry = 1;
        add("a,1");
        add("b,2\nc,3");
        pl = make(1, 10, 1);
        if (pipeline_start(pl, err, sizeof err) != 0) {
            _exit(10);
        }
        while (__atomic_load_n(&script.nreplies, __ATOMIC_SEQ_CST) < 2) {
            poll(NULL, 0, 10);
        }
        pipeline_stop(pl);
        lost = pipeline_abandon(pl);
        _exit(lost == 2 ? 0 : 11);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_non_null(strstr(dead_letters(),
                           "\"reason\":\"not committed at shutdown\","
                           "\"message\":\"a,1\""));
    assert_non_null(strstr(dead_letters(), "\"message\":\"b,2\\nc,3\""));
}

static void
each_batch_names_its_requests_clients_and_boundaries(void **state)
{
    (void)state;
    add("a,1\nb,2");
    script.clients[0] = "trader-1";
    add("c,3");
    script.clients[1] = "10.0.0.7";
    add("d,4\ne,5\nf,6");
    run(0, 100, 1);
    assert_false(origins_bad);
    /* One worker, one or more batches: the requests in order. */
    assert_string_equal(origins, "trader-1:2;10.0.0.7:1;:3;");
}

static void
a_refused_request_is_dead_lettered_with_its_client(void **state)
{
    (void)state;
    add("bad");
    script.clients[0] = "trader-9";
    add("k,1");
    script.clients[1] = "trader-2";
    rules.reject_key = "k";
    run(0, 10, 1);
    assert_string_equal(script.replies[0], "FALSE line 1: bad");
    assert_string_equal(script.replies[1], "FALSE line 1: key k refused");
    assert_non_null(strstr(dead_letters(), "\"reason\":\"line 1: bad\","
                                           "\"client\":\"trader-9\","));
    assert_non_null(strstr(dead_letters(), "\"reason\":\"line 1: key k "
                                           "refused\",\"client\":"
                                           "\"trader-2\","));
}

static void
a_request_the_source_refuses_is_dead_lettered_and_never_written(void **st)
{
    (void)st;
    add("k,1");
    script.clients[0] = "trader-3";
    script.refuse[0] = "client not allowed";
    add("k,2");
    run(0, 10, 1);
    assert_string_equal(script.replies[0], "FALSE client not allowed");
    assert_string_equal(script.replies[1], "TRUE");
    assert_string_equal(committed, "k;");
    assert_non_null(strstr(dead_letters(), "\"reason\":\"client not "
                                           "allowed\",\"client\":"
                                           "\"trader-3\",\"message\":"
                                           "\"k,1\""));
}

/* Polls until *counter reaches want, for at most 5 s. */
static int
reaches(int *counter, int want)
{
    for (int i = 0; i < 500; i++) {
        if (__atomic_load_n(counter, __ATOMIC_SEQ_CST) >= want) {
            return 1;
        }
        usleep(10000);
    }
    return 0;
}

static void
sighup_reopens_the_source_on_its_thread_and_every_sink_instance(void **st)
{
    char err[FEED_ERR_MAX];

    (void)st;
    pl = make(0, 10, 2);
    assert_int_equal(pipeline_start(pl, err, sizeof err), 0);
    assert_int_equal(source_reopens + sink_reopens, 0);
    pipeline_reopen(pl, NULL);
    assert_true(reaches(&source_reopens, 1));
    assert_true(reaches(&sink_reopens, 2));
    pipeline_stop(pl);
    assert_int_equal(pipeline_join(pl, 0), PIPELINE_ENDED);
    pipeline_free(pl);
    pl = NULL;
    assert_int_equal(source_reopens, 1);
    assert_int_equal(sink_reopens, 2);
}

static void
on_sighup_the_source_reads_its_keys_from_the_ini_as_it_is_now(void **st)
{
    char path[] = "/tmp/feed-reopen-XXXXXX";
    char err[FEED_ERR_MAX];
    struct config *fresh;
    int fd = mkstemp(path);

    (void)st;
    assert_true(fd != -1);
    assert_int_equal(write(fd, "[source]\nallow = 10.1.0.0/16\n", 29), 29);
    close(fd);
    fresh = config_load(path, err, sizeof err);
    assert_non_null(fresh);
    pl = make(0, 10, 1);
    assert_int_equal(pipeline_start(pl, err, sizeof err), 0);
    pipeline_reopen(pl, fresh); /* the pipeline owns it now */
    assert_true(reaches(&source_reopens, 1));
    pipeline_stop(pl);
    assert_int_equal(pipeline_join(pl, 0), PIPELINE_ENDED);
    pipeline_free(pl);
    pl = NULL;
    unlink(path);
    assert_string_equal(reread, "10.1.0.0/16");
}

static void
an_idle_worker_ticks_and_reconnects_when_the_tick_fails(void **st)
{
    char err[FEED_ERR_MAX];

    (void)st;
    tick_retries = 1;
    pl = make(0, 10, 1);
    assert_int_equal(pipeline_start(pl, err, sizeof err), 0);
    assert_true(__atomic_load_n(&opens, __ATOMIC_SEQ_CST) >= 1);
    /* The first tick fails: the instance is closed and opened again. */
    assert_true(reaches(&opens, 2));
    assert_true(reaches(&ticks, 2));
    pipeline_stop(pl);
    assert_int_equal(pipeline_join(pl, 0), PIPELINE_ENDED);
    pipeline_free(pl);
    pl = NULL;
    assert_int_equal(opens, 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            every_request_is_answered_true_after_its_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_request_the_parser_refuses_is_answered_false_and_dead_lettered,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_multipart_request_is_refused_with_its_frame_count, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            a_request_without_a_reply_address_is_dead_lettered_unanswered,
            setup, teardown),
        cmocka_unit_test_setup_teardown(a_message_is_never_split_across_batches,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            narrowing_with_a_hint_refuses_only_the_offending_message, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            narrowing_without_a_hint_bisects_to_the_offending_message, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            a_retried_batch_is_committed_once_and_acknowledged, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            ack_receive_answers_at_once_and_still_commits_before_stopping,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_permanent_open_failure_fails_the_start_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_transient_open_failure_is_retried_until_the_start_timeout, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            a_transient_open_failure_that_clears_lets_the_start_succeed, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            abandoning_writes_acknowledged_requests_to_dead_letter, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            each_batch_names_its_requests_clients_and_boundaries, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            a_refused_request_is_dead_lettered_with_its_client, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            a_request_the_source_refuses_is_dead_lettered_and_never_written,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            sighup_reopens_the_source_on_its_thread_and_every_sink_instance,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            on_sighup_the_source_reads_its_keys_from_the_ini_as_it_is_now,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            an_idle_worker_ticks_and_reconnects_when_the_tick_fails, setup,
            teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
