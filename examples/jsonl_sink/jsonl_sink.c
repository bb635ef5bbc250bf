/*
 * jsonl_sink.c - an example sink: every record as one JSON line in a file.
 *
 * Owns the file it appends to: one descriptor per sink instance (the core
 * runs one instance per worker thread) and the lock that keeps each batch
 * whole in the file. A record becomes one object named by the parser's
 * fields, numbers as numbers and text as strings:
 *
 *     {"ticket":7,"login":42,"volume":1.5}
 *
 * The keys of its section, read through the core:
 *   path = FILE     the file to append to; relative to the INI file's
 *                   folder (required)
 *   sync = yes|no   fdatasync() before a batch counts as written (default
 *                   yes: an acknowledged record survives a power cut)
 *
 * On SIGHUP (reopen) each instance appends to a new file at `path`, so
 * logrotate can move the old one away.
 *
 * Batching, retries, narrowing a refused batch down to its request and
 * answering clients are the core's. configure() and unconfigure() run on
 * the main thread; open(), write(), reopen() and close() on the worker
 * thread that owns the instance.
 *
 * feed/plugin.h is plain C11; the POSIX calls used here (fdatasync, the
 * pthread mutex) need _POSIX_C_SOURCE (or _GNU_SOURCE) defined before any
 * include, as below.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <feed/plugin.h>

/* Shared by every instance once configure() returns. */
struct jconf {
    const struct feed_host *host;     /* borrowed */
    const char *path;                 /* the host's, until unconfigure() */
    const struct feed_schema *schema; /* the parser's; borrowed */
    int sync;
    /*
     * The only part that changes after configure(). Instances append under
     * it, so two batches never interleave and a batch that failed half way
     * can be cut off the end of the file again.
     */
    pthread_mutex_t append_lock;
};

/* One per worker thread, owned by it. */
struct jsink {
    struct jconf *conf; /* borrowed */
    int fd;
    char *buf; /* the batch as text, reused by every write */
    size_t len;
    size_t cap;
};

static void *
jsonl_configure(const struct feed_host *host, char *err, size_t errlen)
{
    struct jconf *c = calloc(1, sizeof *c);
    int bad = 0;

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->host = host;
    /* Every key is read before giving up, so all mistakes show at once. */
    bad |= host->conf_path(host, "path", NULL, &c->path);
    bad |= host->conf_bool(host, "sync", 1, &c->sync);
    c->schema = host->schema(host);
    if (c->schema == NULL) {
        host->conf_error(host, "plugin",
                         "jsonl_sink needs the parser's "
                         "fields, but the parser did not load");
        bad = -1;
    }
    if (bad) {
        goto fail;
    }
    if (pthread_mutex_init(&c->append_lock, NULL) != 0) {
        snprintf(err, errlen, "cannot create a lock");
        goto fail;
    }
    return c;

fail:
    free(c);
    return NULL;
}

static void
jsonl_unconfigure(const struct feed_host *host, void *conf)
{
    struct jconf *c = conf;

    (void)host;
    if (c != NULL) {
        pthread_mutex_destroy(&c->append_lock);
        free(c);
    }
}

/*
 * Opens the file for appending, creating it if need be. With sync on, the
 * folder is synced too: a file just created exists after a power cut only
 * once its folder entry is on disk, and its records with it. Returns the
 * descriptor, or -1 with errno set and the reason in err.
 */
static int
open_file(const struct jconf *c, char *err, size_t errlen)
{
    char dir[4096];
    const char *slash = strrchr(c->path, '/');
    int fd = open(c->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    int dfd;
    int e;

    if (fd == -1) {
        e = errno;
        snprintf(err, errlen, "cannot open %s: %s", c->path, strerror(e));
        errno = e;
        return -1;
    }
    if (!c->sync) {
        return fd;
    }
    /* The path is absolute: the core resolved it against the INI folder. */
    snprintf(dir, sizeof dir, "%.*s",
             slash != NULL && slash != c->path ? (int)(slash - c->path) : 1,
             c->path);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd == -1 || fsync(dfd) == -1) {
        e = errno;
        snprintf(err, errlen, "cannot sync folder %s: %s", dir, strerror(e));
        if (dfd != -1) {
            close(dfd);
        }
        close(fd);
        errno = e;
        return -1;
    }
    close(dfd);
    return fd;
}

static enum feed_result
jsonl_open(const struct feed_host *host, void *conf, void **state, char *err,
           size_t errlen)
{
    struct jconf *c = conf;
    struct jsink *s = calloc(1, sizeof *s);

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return FEED_RETRY;
    }
    s->conf = c;
    /* Called after the daemon dropped root: the file is the run user's. */
    s->fd = open_file(c, err, errlen);
    if (s->fd == -1) {
        int e = errno;

        free(s);
        /* A missing folder or a permission is for an operator to fix. */
        if (e == ENOENT || e == EACCES || e == EPERM || e == EROFS ||
            e == EISDIR || e == ENOTDIR) {
            return FEED_FAIL;
        }
        return FEED_RETRY;
    }
    host->log(host, FEED_LOG_INFO, "appending to %s", c->path);
    *state = s;
    return FEED_OK;
}

/*
 * After SIGHUP (logrotate moved the file): append to a new file at `path`.
 * If it cannot be opened, keep the old one and say why.
 */
static void
jsonl_reopen(const struct feed_host *host, void *state)
{
    struct jsink *s = state;
    char err[FEED_ERR_MAX];
    int fd = open_file(s->conf, err, sizeof err);

    if (fd == -1) {
        host->log(host, FEED_LOG_ERROR, "%s; still appending to the old file",
                  err);
        return;
    }
    close(s->fd);
    s->fd = fd;
    host->log(host, FEED_LOG_INFO, "reopened %s", s->conf->path);
}

static void
jsonl_close(const struct feed_host *host, void *state)
{
    struct jsink *s = state;

    (void)host;
    if (s != NULL) {
        close(s->fd);
        free(s->buf);
        free(s);
    }
}

/* Makes room for `more` bytes after s->len; -1 when out of memory. */
static int
reserve(struct jsink *s, size_t more)
{
    size_t cap = s->cap > 0 ? s->cap : 4096;
    char *buf;

    if (s->len + more <= s->cap) {
        return 0;
    }
    while (cap < s->len + more) {
        cap *= 2;
    }
    buf = realloc(s->buf, cap);
    if (buf == NULL) {
        return -1;
    }
    s->buf = buf;
    s->cap = cap;
    return 0;
}

/* The length of the UTF-8 sequence that starts p[0..n), or 0 if invalid. */
static size_t
utf8_length(const unsigned char *p, size_t n)
{
    size_t len;
    unsigned long cp;

    if (p[0] < 0x80) {
        return 1;
    }
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        len = 2;
        cp = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        len = 3;
        cp = p[0] & 0x0F;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (p[i] & 0x3F);
    }
    /* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return len;
}

/*
 * Appends text as a JSON string. The caller reserved 6 bytes per input
 * byte plus 2 (the worst case: every byte a \u00XX escape). Returns -1,
 * having appended part of it, when the text is not valid UTF-8 (JSON
 * cannot hold it).
 */
static int
put_string(struct jsink *s, const char *text, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)text;
    char *out = s->buf + s->len;

    *out++ = '"';
    for (size_t i = 0; i < n;) {
        size_t len = utf8_length(p + i, n - i);

        if (len == 0) {
            return -1;
        }
        if (p[i] == '"' || p[i] == '\\') {
            *out++ = '\\';
            *out++ = (char)p[i];
        } else if (p[i] < 0x20) {
            memcpy(out, "\\u00", 4);
            out[4] = hex[p[i] >> 4];
            out[5] = hex[p[i] & 0xF];
            out += 6;
        } else {
            memcpy(out, p + i, len);
            out += len;
        }
        i += len;
    }
    *out++ = '"';
    s->len = (size_t)(out - s->buf);
    return 0;
}

/*
 * Appends one record as a JSON object and a newline. Returns FEED_OK;
 * FEED_RETRY when out of memory; FEED_REJECT when the record itself cannot
 * be written, with `err` naming its line. Numbers are copied as they are:
 * the parser promised their canonical form, which is valid JSON.
 */
static enum feed_result
put_record(struct jsink *s, const struct feed_record *r, char *err,
           size_t errlen)
{
    const struct feed_schema *schema = s->conf->schema;

    for (size_t f = 0; f < schema->nfields; f++) {
        const struct feed_field *field = &schema->fields[f];
        const struct feed_value *v = &r->values[f];
        size_t name_len = strlen(field->name);

        if (reserve(s, 6 * (name_len + v->len) + 8) == -1) {
            snprintf(err, errlen, "out of memory");
            return FEED_RETRY;
        }
        s->buf[s->len++] = f == 0 ? '{' : ',';
        /* Field names are the parser's, not the client's: valid UTF-8. */
        put_string(s, field->name, name_len);
        s->buf[s->len++] = ':';
        if (field->type != FEED_TYPE_TEXT) {
            memcpy(s->buf + s->len, v->ptr, v->len);
            s->len += v->len;
        } else if (put_string(s, v->ptr, v->len) == -1) {
            snprintf(err, errlen, "line %u: %s is not valid UTF-8",
                     (unsigned)r->line, field->name);
            return FEED_REJECT;
        }
    }
    if (reserve(s, 3) == -1) {
        snprintf(err, errlen, "out of memory");
        return FEED_RETRY;
    }
    if (schema->nfields == 0) {
        s->buf[s->len++] = '{';
    }
    s->buf[s->len++] = '}';
    s->buf[s->len++] = '\n';
    return FEED_OK;
}

/*
 * Appends s->buf to the file: all of it or, after a failure, none of it.
 * A RETRY must leave nothing behind, or the retry would write it twice.
 */
static enum feed_result
append(struct jsink *s, char *err, size_t errlen)
{
    struct jconf *c = s->conf;
    size_t done = 0;
    off_t end;

    pthread_mutex_lock(&c->append_lock);
    end = lseek(s->fd, 0, SEEK_END);
    if (end == -1) {
        snprintf(err, errlen, "cannot seek %s: %s", c->path, strerror(errno));
        goto fail;
    }
    while (done < s->len) {
        ssize_t n = write(s->fd, s->buf + done, s->len - done);

        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1) {
            snprintf(err, errlen, "cannot write %s: %s", c->path,
                     strerror(errno));
            goto fail;
        }
        done += (size_t)n;
    }
    /* OK means durable: the core answers TRUE as soon as we return. */
    if (c->sync && fdatasync(s->fd) == -1) {
        snprintf(err, errlen, "cannot sync %s: %s", c->path, strerror(errno));
        goto fail;
    }
    pthread_mutex_unlock(&c->append_lock);
    return FEED_OK;

fail:
    if (done > 0 && ftruncate(s->fd, end) == -1) {
        c->host->log(c->host, FEED_LOG_ERROR,
                     "cannot cut %s back to %lld bytes: %s; it ends in a "
                     "partial batch",
                     c->path, (long long)end, strerror(errno));
    }
    pthread_mutex_unlock(&c->append_lock);
    return FEED_RETRY;
}

static enum feed_result
jsonl_write(const struct feed_host *host, void *state,
            const struct feed_batch *batch, size_t *bad, char *err,
            size_t errlen)
{
    struct jsink *s = state;
    enum feed_result r;

    s->len = 0;
    for (size_t i = 0; i < batch->count; i++) {
        r = put_record(s, &batch->records[i], err, errlen);
        if (r == FEED_REJECT) {
            /* Naming the record lets the core find its request at once. */
            *bad = i;
        }
        if (r != FEED_OK) {
            return r;
        }
    }
    r = append(s, err, errlen);
    if (r == FEED_OK && host->log_enabled(host, FEED_LOG_DEBUG)) {
        host->log(host, FEED_LOG_DEBUG, "batch written records=%zu bytes=%zu",
                  batch->count, s->len);
    }
    return r;
}

/* The one exported symbol: the core finds the sink by it. */
FEED_EXPORT const struct feed_plugin feed_plugin = {
    FEED_PLUGIN_HEADER,
    .kind = FEED_KIND_SINK,
    .name = "jsonl_sink",
    .version = "1.0.0",
    .summary = "appends each record as a JSON line to a file",
    .configure = jsonl_configure,
    .unconfigure = jsonl_unconfigure,
    .open = jsonl_open,
    .close = jsonl_close,
    .write = jsonl_write,
    .reopen = jsonl_reopen,
};
