/*
 * test_sink.c - a sink for the core's own tests: appends records to a file.
 *
 * Owns one file descriptor per instance. Each batch is written as lines
 * "worker<TAB>line<TAB>value<TAB>value..." with one write(2) followed by
 * fdatasync(), so a batch is durable when write() returns FEED_OK. Keys
 * inject the faults the core must handle:
 *   path         = FILE        where records go (required)
 *   open_fail    = none | transient | permanent
 *   open_fail_count = N        transient open failures before success
 *   retry_count  = N           first N writes (per instance) return RETRY
 *   reject_value = TEXT        a batch holding a record whose first value
 *                              is TEXT is refused (the record is named)
 *   hint         = yes | no    whether to name the refused record's index
 *   delay_ms     = N           sleep before every write (a slow database)
 *   opened_file  = FILE        append one line per successful open()
 * It is not installed; only tests load it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <feed/plugin.h>

struct tconf {
    const struct feed_host *host;
    const char *path;
    const char *opened_file;
    int open_fail; /* 0 none, 1 transient, 2 permanent */
    long long open_fail_count;
    long long retry_count;
    const char *reject_value;
    int hint;
    long long delay_ms;
    size_t nfields;
    atomic_llong open_failures; /* transient failures so far, all workers */
    atomic_int next_id;
};

struct tsink {
    struct tconf *conf;
    int fd;
    int id;
    long long writes;
    char *buf;
    size_t cap;
};

static void *
test_sink_configure(const struct feed_host *host, char *err, size_t errlen)
{
    static const char *const fails[] = {"none", "transient", "permanent", NULL};
    struct tconf *c = calloc(1, sizeof *c);
    const struct feed_schema *schema = host->schema(host);
    int bad = 0;

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->host = host;
    c->nfields = schema != NULL ? schema->nfields : 0;
    bad |= host->conf_path(host, "path", NULL, &c->path);
    bad |= host->conf_path(host, "opened_file", "/dev/null", &c->opened_file);
    bad |= host->conf_enum(host, "open_fail", fails, 0, &c->open_fail);
    bad |= host->conf_int(host, "open_fail_count", 1000000000, 0, 1000000000,
                          &c->open_fail_count);
    bad |= host->conf_int(host, "retry_count", 0, 0, 1000000, &c->retry_count);
    bad |= host->conf_string(host, "reject_value", "", &c->reject_value);
    bad |= host->conf_bool(host, "hint", 1, &c->hint);
    bad |= host->conf_int(host, "delay_ms", 0, 0, 60000, &c->delay_ms);
    if (bad) {
        free(c);
        return NULL;
    }
    return c;
}

static void
test_sink_unconfigure(const struct feed_host *host, void *conf)
{
    (void)host;

    free(conf);
}

static void
note_open(const struct tconf *c, int id)
{
    char line[64];
    int fd =
        open(c->opened_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    int n = snprintf(line, sizeof line, "open %d\n", id);

    if (fd != -1) {
        if (write(fd, line, (size_t)n) < 0) {
            (void)0;
        }
        close(fd);
    }
}

static enum feed_result
test_sink_open(const struct feed_host *host, void *conf, void **state,
               char *err, size_t errlen)
{
    struct tconf *c = conf;
    struct tsink *s;

    (void)host;
    if (c->open_fail == 2) {
        snprintf(err, errlen, "permanent failure injected");
        return FEED_FAIL;
    }
    if (c->open_fail == 1 &&
        atomic_fetch_add(&c->open_failures, 1) < c->open_fail_count) {
        snprintf(err, errlen, "transient failure injected");
        return FEED_RETRY;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return FEED_FAIL;
    }
    s->conf = c;
    s->id = atomic_fetch_add(&c->next_id, 1) + 1;
    s->fd = open(c->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (s->fd == -1) {
        snprintf(err, errlen, "cannot open %s: %s", c->path, strerror(errno));
        free(s);
        return FEED_RETRY;
    }
    note_open(c, s->id);
    *state = s;
    return FEED_OK;
}

static void
test_sink_close(const struct feed_host *host, void *state)
{
    struct tsink *s = state;

    (void)host;
    if (s != NULL) {
        close(s->fd);
        free(s->buf);
        free(s);
    }
}

/* Appends text to the instance's buffer. */
static int
put(struct tsink *s, size_t *len, const char *text, size_t n)
{
    if (*len + n > s->cap) {
        size_t cap = (*len + n) * 2;
        char *buf = realloc(s->buf, cap);
        if (buf == NULL) {
            return -1;
        }
        s->buf = buf;
        s->cap = cap;
    }
    memcpy(s->buf + *len, text, n);
    *len += n;
    return 0;
}

/* The index of a record refused by reject_value, or batch->count. */
static size_t
refused(const struct tconf *c, const struct feed_batch *b)
{
    size_t want = strlen(c->reject_value);

    for (size_t i = 0; want > 0 && c->nfields > 0 && i < b->count; i++) {
        const struct feed_value *v = &b->records[i].values[0];
        if (v->len == want && memcmp(v->ptr, c->reject_value, want) == 0) {
            return i;
        }
    }
    return b->count;
}

static enum feed_result
test_sink_write(const struct feed_host *host, void *state,
                const struct feed_batch *b, size_t *bad, char *err,
                size_t errlen)
{
    struct tsink *s = state;
    struct tconf *c = s->conf;
    size_t len = 0;
    size_t i = refused(c, b);

    (void)host;
    if (c->delay_ms > 0) {
        struct timespec ts = {c->delay_ms / 1000,
                              (c->delay_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
    if (s->writes++ < c->retry_count) {
        snprintf(err, errlen, "retry injected (%lld of %lld)", s->writes,
                 c->retry_count);
        return FEED_RETRY;
    }
    if (i < b->count) {
        snprintf(err, errlen, "line %u: value %s refused",
                 (unsigned)b->records[i].line, c->reject_value);
        if (c->hint) {
            *bad = i;
        }
        return FEED_REJECT;
    }
    for (i = 0; i < b->count; i++) {
        char head[32];
        int n = snprintf(head, sizeof head, "%d\t%u", s->id,
                         (unsigned)b->records[i].line);
        if (put(s, &len, head, (size_t)n) == -1) {
            goto nomem;
        }
        for (size_t f = 0; f < c->nfields; f++) {
            const struct feed_value *v = &b->records[i].values[f];
            if (put(s, &len, "\t", 1) == -1 ||
                put(s, &len, v->ptr, v->len) == -1) {
                goto nomem;
            }
        }
        if (put(s, &len, "\n", 1) == -1) {
            goto nomem;
        }
    }
    if (write(s->fd, s->buf, len) != (ssize_t)len || fdatasync(s->fd) == -1) {
        snprintf(err, errlen, "cannot write %s: %s", c->path, strerror(errno));
        return FEED_RETRY;
    }
    return FEED_OK;

nomem:
    snprintf(err, errlen, "out of memory");
    return FEED_RETRY;
}

FEED_EXPORT const struct feed_plugin feed_plugin = {
    FEED_PLUGIN_HEADER,
    .kind = FEED_KIND_SINK,
    .name = "test_sink",
    .version = "0.0.1",
    .summary = "appends records to a file, with injected faults (tests only)",
    .configure = test_sink_configure,
    .unconfigure = test_sink_unconfigure,
    .open = test_sink_open,
    .close = test_sink_close,
    .write = test_sink_write,
};
