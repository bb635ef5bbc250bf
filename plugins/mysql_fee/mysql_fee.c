/*
 * mysql_fee.c - the sink of the default pipeline: trades into MariaDB.
 *
 * Owns the plugin's descriptor, configure() with the reading and checking
 * of every key, and the choice of the way each batch is written. Each
 * batch becomes one transaction: insert the rows, compare replayed
 * tickets with the rows already there, mark the new rows 'Y', commit.
 * The connection is conn.c's, the SQL text sql.c's, and the ways to write
 * are fast.c's, bulk.c's and careful.c's (see mysql_fee.h). Batching,
 * backoff and retries, narrowing a refused batch down to its message and
 * answering clients are the core's.
 *
 * configure() and unconfigure() run on the main thread; open(), write()
 * and close() on the worker thread that owns the instance.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "mysql_fee.h"

/* The longest identifier MariaDB accepts. */
#define NAME_MAX_LEN 64
/*
 * From this many records on, the INSERT goes array-bound (MariaDB's bulk
 * protocol: no SQL text to build or parse) at the price of one more round
 * trip; below, the single text round trip wins.
 */
#define BULK_MIN 64

/* Numbers the configurations, so that a worker's place is not mixed up. */
static atomic_ulong last_id;

/* 1 when `name` can be used as a table name between backquotes as is. */
static int
is_table_name(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > NAME_MAX_LEN) {
        return 0;
    }
    return strspn(name, "abcdefghijklmnopqrstuvwxyz"
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$") == len;
}

/* Reports an empty value of a required key; returns -1 if it was empty. */
static int
require_text(const struct feed_host *host, const char *key, const char *value)
{
    if (value != NULL && value[0] == '\0') {
        host->conf_error(host, key, "must not be empty");
        return -1;
    }
    return 0;
}

/*
 * Reads the optional `socket` key into *out (NULL when unset). conf_path
 * has no "unset" default, so the raw string is looked at first.
 */
static int
read_socket(const struct feed_host *host, const char **out)
{
    const char *raw = NULL;

    *out = NULL;
    if (host->conf_string(host, "socket", "", &raw) == -1) {
        return -1;
    }
    if (raw[0] == '\0') {
        return 0;
    }
    if (host->conf_path(host, "socket", NULL, out) == -1) {
        return -1;
    }
    if (strlen(*out) >= sizeof((struct sockaddr_un *)0)->sun_path) {
        host->conf_error(host, "socket",
                         "\"%s\" is too long for a unix socket path", *out);
        return -1;
    }
    return 0;
}

/*
 * Reads the `host` list (after `port`, its default) into c->hosts, or the
 * socket as the only place to connect to.
 */
static int
read_hosts(const struct feed_host *host, struct fconf *c)
{
    char err[FEED_ERR_MAX];
    struct dbhost *h = &c->hosts[0];

    if (c->hostname == NULL || c->hostname[0] == '\0') {
        return -1;
    }
    if (hosts_parse(c->hostname, (unsigned int)c->port, c->hosts, HOSTS_MAX,
                    &c->nhosts, err, sizeof err) == -1) {
        host->conf_error(host, "host", "%s", err);
        return -1;
    }
    if (c->socket != NULL) {
        /* A socket is one alternative to every host. */
        snprintf(h->name, sizeof h->name, "localhost");
        h->port = (unsigned int)c->port;
        snprintf(h->where, sizeof h->where, "%s", c->socket);
        c->nhosts = 1;
    }
    return 0;
}

/* Reads and checks every key, so that all mistakes are reported at once. */
static int
read_keys(const struct feed_host *host, struct fconf *c)
{
    static const char *const marks[] = {"update", "insert", NULL};
    int bad = 0;

    bad |= host->conf_string(host, "host", "127.0.0.1", &c->hostname);
    bad |= host->conf_int(host, "port", 3306, 1, 65535, &c->port);
    bad |= read_socket(host, &c->socket);
    bad |= host->conf_string(host, "user", NULL, &c->user);
    bad |= trust_read_keys(host, &c->trust);
    bad |= host->conf_string(host, "database", NULL, &c->database);
    bad |= host->conf_string(host, "table", "fee", &c->table);
    bad |= host->conf_enum(host, "mark", marks, MARK_UPDATE, &c->mark);
    bad |= host->conf_int(host, "connect_timeout", 5, 1, 3600,
                          &c->connect_timeout_s);
    bad |= host->conf_int(host, "lock_wait_timeout", 10, 1, 3600,
                          &c->lock_wait_timeout_s);
    bad |= require_text(host, "host", c->hostname);
    if (c->port > 0 && read_hosts(host, c) == -1) {
        bad = -1;
    }
    bad |= require_text(host, "user", c->user);
    bad |= require_text(host, "database", c->database);
    if (c->table != NULL && !is_table_name(c->table)) {
        host->conf_error(
            host, "table",
            "\"%s\" is not a table name: at most 64 letters, digits, '_' and '$'",
            c->table);
        bad = -1;
    }
    c->ticket = host->field(host, "ticket", FEED_TYPE_UINT);
    c->login = host->field(host, "login", FEED_TYPE_UINT);
    c->volume = host->field(host, "volume", FEED_TYPE_DECIMAL);
    if (c->ticket < 0 || c->login < 0 || c->volume < 0) {
        bad = -1;
    }
    return bad ? -1 : 0;
}

/*
 * Reads and checks the keys into the configuration every instance shares,
 * and initialises the client library. Returns it (fee_unconfigure() frees
 * it), or NULL with the mistakes reported through the host or in err.
 */
static void *
fee_configure(const struct feed_host *host, char *err, size_t errlen)
{
    struct fconf *c = calloc(1, sizeof *c);

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->host = host;
    c->id = atomic_fetch_add(&last_id, 1) + 1;
    if (read_keys(host, c) == -1) {
        goto fail;
    }
    /* Not thread-safe: here, on the main thread, before any worker runs. */
    if (mysql_library_init(0, NULL, NULL) != 0) {
        snprintf(err, errlen, "cannot initialise the MariaDB client library");
        goto fail;
    }
    return c;

fail:
    trust_free(&c->trust);
    free(c);
    return NULL;
}

/*
 * Zeroes the password and frees the configuration. The client library
 * stays initialised: other sinks may still use it.
 */
static void
fee_unconfigure(const struct feed_host *host, void *conf)
{
    struct fconf *c = conf;

    (void)host;
    if (c != NULL) {
        trust_free(&c->trust);
    }
    free(c);
}

/*
 * Connects and prepares the session, on the worker thread that will own
 * the instance: the connection is that thread's alone.
 */
static enum feed_result
fee_open(const struct feed_host *host, void *conf, void **state, char *err,
         size_t errlen)
{
    struct fsink *s = NULL;
    enum feed_result r;

    r = conn_open(host, conf, &s, err, errlen);
    if (r == FEED_OK) {
        *state = s;
    }
    return r;
}

/* Closes the instance's connection and frees it; takes NULL. */
static void
fee_close(const struct feed_host *host, void *state)
{
    (void)host;
    conn_close(state);
}

/* Pings an idle connection (see conn_tick). */
static enum feed_result
fee_tick(const struct feed_host *host, void *state, char *err, size_t errlen)
{
    (void)host;
    return conn_tick(state, err, errlen);
}

/*
 * Writes the batch as one transaction: insert every row ('N', or 'Y' with
 * mark = insert), compare the tickets that existed, mark the rows 'Y',
 * commit. FEED_OK only once COMMIT has returned; any failure rolls back.
 * A batch of one chunk whose volumes fit goes the fast way (bulk when
 * large), which hands anything it cannot decide to the careful way.
 */
static enum feed_result
fee_write(const struct feed_host *host, void *state,
          const struct feed_batch *batch, size_t *bad, char *err, size_t errlen)
{
    struct fsink *s = state;
    const struct fconf *c = s->conf;
    enum feed_result r;

    s->code = 0;
    s->used = conn_now_s();
    r = sql_check_numbers(c, batch, bad, err, errlen);
    if (r != FEED_OK || batch->count == 0) {
        return r;
    }
    if (batch->count <= CHUNK_ROWS && fast_volumes_fit(s, batch)) {
        enum fast_result f;

        if (s->bulk && batch->count >= BULK_MIN) {
            f = bulk_write(s, batch, err, errlen);
        } else {
            f = fast_write(s, batch, bad, err, errlen);
        }
        switch (f) {
        case FAST_OK:
            return FEED_OK;
        case FAST_RETRY:
            conn_route(s, err);
            return FEED_RETRY;
        case FAST_REJECT:
            return FEED_REJECT;
        case FAST_CAREFUL:
            break;
        }
    }
    r = careful_write(s, batch, bad, err, errlen);
    if (r == FEED_RETRY) {
        conn_route(s, err);
    }
    if (r == FEED_OK && host->log_enabled(host, FEED_LOG_DEBUG)) {
        host->log(host, FEED_LOG_DEBUG,
                  "batch committed the careful way records=%zu", batch->count);
    }
    return r;
}

FEED_EXPORT const struct feed_plugin feed_plugin = {
    FEED_PLUGIN_HEADER,
    .kind = FEED_KIND_SINK,
    .name = "mysql_fee",
    .version = "1.0.0",
    .summary = "writes trades to the fee table, one transaction per batch",
    .configure = fee_configure,
    .unconfigure = fee_unconfigure,
    .open = fee_open,
    .close = fee_close,
    .write = fee_write,
    .tick = fee_tick,
};
