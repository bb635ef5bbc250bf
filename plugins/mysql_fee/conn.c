/*
 * conn.c - one sink instance, its connection, and its worker's host.
 *
 * Owns an instance's life: choosing the host (the first of the list, from
 * the worker's place, that accepts the connection and is ready),
 * connecting with the configured options, setting up the session (strict
 * SQL mode, READ COMMITTED, no autocommit), checking the table and
 * reading its volume column, and closing. Owns each worker's place in the
 * host list too, which outlives its instances, and logs each switch of
 * host once. Also sends plain statements and turns the connection's last
 * error into a message. What an error number means is errors.c's; what
 * the statements say is the write paths'.
 *
 * Every function here runs on the worker thread that owns the instance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "mysql_fee.h"

/*
 * Seconds a write may wait on the network before the server counts as
 * lost; reads wait read_timeout (trust.c).
 */
#define NET_TIMEOUT_S 30
/* Seconds an idle connection goes unchecked (see conn_tick). */
#define IDLE_PING_S 5

/*
 * A worker's place in the host list. Each worker thread has its own, and
 * it outlives the instances the thread opens and closes: after a failure
 * that is the server's (see EC_NEXT_HOST), the next open() starts at the
 * next host. Nothing else reads it, so it needs no lock.
 */
struct place {
    unsigned long conf_id;  /* the configuration it is for; 0: none yet */
    size_t next;            /* the host open() tries first */
    size_t left;            /* the host the worker left, while why[0] */
    char why[FEED_ERR_MAX]; /* the error it left for; "" when it did not */
};

static _Thread_local struct place place;

/* The calling worker's place for configuration c. */
static struct place *
place_of(const struct fconf *c)
{
    if (place.conf_id != c->id) {
        memset(&place, 0, sizeof place);
        place.conf_id = c->id;
    }
    return &place;
}

/* The worker leaves host `at` because of err (the first reason counts). */
static void
leave(struct place *p, size_t at, const char *err)
{
    if (p->why[0] == '\0') {
        p->left = at;
        snprintf(p->why, sizeof p->why, "%s", err);
    }
}

/* Sends one statement; 0 or -1 (see mysql_errno). Its rows are the caller's. */
int
conn_run(struct fsink *s, const char *sql)
{
    return mysql_real_query(s->db, sql, strlen(sql)) == 0 ? 0 : -1;
}

/*
 * Writes `<what> <table>: <message> (<errno>)` into err for the
 * connection's last error (no table when `table` is NULL); returns
 * write()'s outcome for it.
 */
enum feed_result
conn_failure(struct fsink *s, const char *what, const char *table, char *err,
             size_t errlen)
{
    unsigned int code = mysql_errno(s->db);

    s->code = code;
    snprintf(err, errlen, "%s%s%s: %s (%u)", what, table != NULL ? " " : "",
             table != NULL ? table : "", mysql_error(s->db), code);
    return errors_write_outcome(code);
}

/* Notes the connection's last error; returns open()'s outcome for it. */
static enum feed_result
open_failure(struct fsink *s)
{
    s->code = mysql_errno(s->db);
    return errors_open_outcome(s->code);
}

/* Connects with the configured options; FEED_OK or the reason in err. */
static enum feed_result
connect_db(struct fsink *s, char *err, size_t errlen)
{
    const struct fconf *c = s->conf;
    unsigned int connect_s = (unsigned int)c->connect_timeout_s;
    unsigned int net_s = NET_TIMEOUT_S;
    my_bool reconnect = 0;

    s->db = mysql_init(NULL);
    if (s->db == NULL) {
        snprintf(err, errlen, "out of memory");
        return FEED_RETRY;
    }
    mysql_options(s->db, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
    mysql_options(s->db, MYSQL_OPT_WRITE_TIMEOUT, &net_s);
    /* A silent reconnect would lose the transaction and the session. */
    mysql_options(s->db, MYSQL_OPT_RECONNECT, &reconnect);
    mysql_options(s->db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (trust_apply(&c->trust, s->db, err, errlen) == -1) {
        return FEED_FAIL;
    }
    /*
     * No CLIENT_FOUND_ROWS: an unchanged duplicate must count 0 rows.
     * CLIENT_MULTI_STATEMENTS: a batch's statements go in one round trip
     * (every value in them has been checked to be a number).
     */
    if (mysql_real_connect(s->db, c->hosts[s->at].name, c->user,
                           c->trust.password, c->database, c->hosts[s->at].port,
                           c->socket, CLIENT_MULTI_STATEMENTS) == NULL) {
        snprintf(err, errlen, "cannot connect to %s: %s", c->hosts[s->at].where,
                 mysql_error(s->db));
        return open_failure(s);
    }
    /* No fall back to plain text, whatever the library did. */
    if (trust_check(&c->trust, s->db, c->hosts[s->at].where, err, errlen) ==
        -1) {
        s->code = CR_SSL_CONNECTION_ERROR;
        return FEED_FAIL;
    }
    return FEED_OK;
}

/*
 * Reads how many digits the volume column holds before and after the
 * point (DECIMAL(20,4): 16 and 4). Leaves 0 and 0 when it is not a
 * DECIMAL. Returns -1 when the query fails.
 */
static int
read_volume_digits(struct fsink *s)
{
    char sql[512];
    MYSQL_RES *res;
    MYSQL_ROW row;

    snprintf(sql, sizeof sql,
             "SELECT NUMERIC_PRECISION, NUMERIC_SCALE FROM "
             "information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
             "AND TABLE_NAME = '%s' AND COLUMN_NAME = 'volume' "
             "AND DATA_TYPE = 'decimal'",
             s->conf->table);
    if (conn_run(s, sql) == -1 || (res = mysql_store_result(s->db)) == NULL) {
        return -1;
    }
    row = mysql_fetch_row(res);
    if (row != NULL && row[0] != NULL && row[1] != NULL) {
        unsigned long precision = strtoul(row[0], NULL, 10);
        unsigned long scale = strtoul(row[1], NULL, 10);

        if (scale <= precision && precision <= 65) {
            s->volume_int = (unsigned int)(precision - scale);
            s->volume_frac = (unsigned int)scale;
        }
    }
    mysql_free_result(res);
    return 0;
}

/*
 * Sets up the session, then checks that the table and its columns exist.
 * READ COMMITTED: with gap locks (REPEATABLE READ), the IN-list UPDATEs of
 * two workers deadlock on a small table.
 */
static enum feed_result
prepare_session(struct fsink *s, char *err, size_t errlen)
{
    const struct fconf *c = s->conf;
    char sql[256];
    MYSQL_RES *res;

    snprintf(sql, sizeof sql,
             "SET SESSION sql_mode = '" SESSION_SQL_MODE
             "', SESSION innodb_lock_wait_timeout = %lld",
             c->lock_wait_timeout_s);
    if (conn_run(s, sql) == -1 ||
        conn_run(s, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED") ==
            -1 ||
        mysql_autocommit(s->db, 0) != 0) {
        snprintf(err, errlen, "cannot set up the session on %s: %s",
                 c->hosts[s->at].where, mysql_error(s->db));
        return open_failure(s);
    }
    snprintf(sql, sizeof sql,
             "SELECT ticket, login, volume, status FROM `%s` LIMIT 0",
             c->table);
    if (conn_run(s, sql) == -1) {
        snprintf(err, errlen, "table %s.%s: %s", c->database, c->table,
                 mysql_error(s->db));
        return open_failure(s);
    }
    res = mysql_store_result(s->db);
    mysql_free_result(res);
    if (read_volume_digits(s) == -1) {
        snprintf(err, errlen, "table %s.%s: %s", c->database, c->table,
                 mysql_error(s->db));
        return open_failure(s);
    }
    /* End the check's transaction: no lock on the table between batches. */
    if (mysql_rollback(s->db) != 0) {
        snprintf(err, errlen, "table %s.%s: %s", c->database, c->table,
                 mysql_error(s->db));
        return open_failure(s);
    }
    return FEED_OK;
}

/*
 * Reads the value (second column) of a SHOW statement's one row into buf;
 * *found is 0 when there is no row. Returns 0, or -1 when it fails.
 */
static int
show_value(struct fsink *s, const char *sql, char *buf, size_t len, int *found)
{
    MYSQL_RES *res;
    MYSQL_ROW row;

    if (conn_run(s, sql) == -1 || (res = mysql_store_result(s->db)) == NULL) {
        return -1;
    }
    row = mysql_fetch_row(res);
    *found = row != NULL && mysql_num_fields(res) >= 2 && row[1] != NULL;
    snprintf(buf, len, "%s", *found ? row[1] : "");
    mysql_free_result(res);
    return 0;
}

/*
 * Checks that the server may take writes (see hosts_ready()): a Galera
 * node that is not ready is left like one that answers 1047.
 */
static enum feed_result
check_ready(struct fsink *s, char *err, size_t errlen)
{
    const char *where = s->conf->hosts[s->at].where;
    char on[32];
    char ready[32];
    int has_on = 0;
    int has_ready = 0;

    if (show_value(s, "SHOW VARIABLES LIKE 'wsrep_on'", on, sizeof on,
                   &has_on) == -1 ||
        (has_on && show_value(s, "SHOW STATUS LIKE 'wsrep_ready'", ready,
                              sizeof ready, &has_ready) == -1)) {
        snprintf(err, errlen, "cannot ask %s whether it is ready: %s", where,
                 mysql_error(s->db));
        return open_failure(s);
    }
    s->wsrep = hosts_ready(has_on ? on : NULL, NULL) == 0;
    if (!hosts_ready(has_on ? on : NULL, has_ready ? ready : NULL)) {
        snprintf(err, errlen, "%s is not ready: wsrep_ready is %s", where,
                 has_ready ? ready : "not shown");
        s->code = ER_UNKNOWN_COM_ERROR;
        return FEED_RETRY;
    }
    return FEED_OK;
}

/*
 * Makes an instance and connects it to host `at` of the list. FEED_OK
 * with *out set; otherwise the reason in err and the error number in
 * *code (0 when it was not the server's).
 */
static enum feed_result
open_at(const struct feed_host *host, const struct fconf *c, size_t at,
        struct fsink **out, unsigned int *code, char *err, size_t errlen)
{
    struct fsink *s = calloc(1, sizeof *s);
    enum feed_result r = FEED_RETRY;

    *code = 0;
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return FEED_RETRY;
    }
    s->conf = c;
    s->at = at;
    s->rows = calloc(CHUNK_ROWS, sizeof *s->rows);
    if (s->rows == NULL || sql_reserve(s, 64 * 1024) == -1) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    r = connect_db(s, err, errlen);
    if (r == FEED_OK) {
        r = check_ready(s, err, errlen);
    }
    if (r == FEED_OK) {
        r = prepare_session(s, err, errlen);
    }
    if (r != FEED_OK) {
        goto fail;
    }
    s->bulk = bulk_supported(s->db);
    if (FEED_HOST_HAS(host, server)) {
        host->server(host, c->hosts[at].where);
    }
    host->log(host, FEED_LOG_INFO,
              "connected to %s version=%s thread=%lu bulk=%s",
              c->hosts[at].where, mysql_get_server_info(s->db),
              mysql_thread_id(s->db), s->bulk ? "yes" : "no");
    s->code = 0;
    s->used = conn_now_s();
    *out = s;
    return FEED_OK;

fail:
    *code = s->code;
    conn_close(s);
    return r;
}

/*
 * Makes an instance and connects it, on the worker thread that will own
 * it: the connection is that thread's alone. Walks the host list once,
 * from the worker's place: a host that fails for a reason of its own
 * (EC_NEXT_HOST) is passed over; any other failure ends the walk, as with
 * one host. FEED_OK with *out set (the caller frees it with
 * conn_close()); otherwise the reason in err (the last host's, and how
 * many failed when every host of a list did).
 */
enum feed_result
conn_open(const struct feed_host *host, const struct fconf *c,
          struct fsink **out, char *err, size_t errlen)
{
    struct place *p = place_of(c);
    int retry = 0;

    for (size_t k = 0; k < c->nhosts; k++) {
        size_t at = (p->next + k) % c->nhosts;
        unsigned int code;
        enum feed_result r = open_at(host, c, at, out, &code, err, errlen);

        if (r == FEED_OK) {
            if (p->why[0] != '\0' && at != p->left) {
                host->log(host, FEED_LOG_WARNING,
                          "switched from %s to %s after: %s",
                          c->hosts[p->left].where, c->hosts[at].where, p->why);
            }
            p->why[0] = '\0';
            p->next = at;
            return FEED_OK;
        }
        if (errors_class(code) != EC_NEXT_HOST) {
            return r;
        }
        leave(p, at, err);
        retry |= r == FEED_RETRY;
    }
    if (c->nhosts > 1 && strlen(err) < errlen) {
        size_t len = strlen(err);

        snprintf(err + len, errlen - len, " (all %zu hosts failed)", c->nhosts);
    }
    return retry ? FEED_RETRY : FEED_FAIL;
}

/*
 * After a write failed with FEED_RETRY and err: a failure of the server
 * (see EC_NEXT_HOST) sends the worker's next open() to the next host,
 * any other keeps it on this one. The batch is written again wherever
 * that is: a COMMIT whose outcome is unknown is settled there by the
 * replay rule, since every write compares with what the table holds.
 */
void
conn_route(struct fsink *s, const char *err)
{
    struct place *p = place_of(s->conf);

    if (errors_class(s->code) == EC_NEXT_HOST) {
        leave(p, s->at, err);
        p->next = (s->at + 1) % s->conf->nhosts;
    } else {
        p->next = s->at;
    }
}

/* Seconds of CLOCK_MONOTONIC. */
time_t
conn_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/*
 * An idle connection is pinged every IDLE_PING_S, so a server that went
 * away shows (as a RETRY, and on /healthz) without any traffic; a Galera
 * node is asked whether it is still ready, since one that left its
 * cluster still answers pings. A failure moves the worker on like a
 * failed write.
 */
enum feed_result
conn_tick(struct fsink *s, char *err, size_t errlen)
{
    time_t now = conn_now_s();

    if (now - s->used < IDLE_PING_S) {
        return FEED_OK;
    }
    if (mysql_ping(s->db) != 0) {
        s->code = mysql_errno(s->db);
        snprintf(err, errlen, "%s: ping: %s (%u)", s->conf->hosts[s->at].where,
                 mysql_error(s->db), s->code);
        conn_route(s, err);
        return FEED_RETRY;
    }
    if (s->wsrep && check_ready(s, err, errlen) != FEED_OK) {
        conn_route(s, err);
        return FEED_RETRY;
    }
    s->used = now;
    return FEED_OK;
}

/*
 * Closes the instance's statement and connection and frees it. Takes NULL.
 */
void
conn_close(struct fsink *s)
{
    if (s == NULL) {
        return;
    }
    bulk_free(s);
    if (s->db != NULL) {
        mysql_close(s->db);
    }
    free(s->rows);
    free(s->sql);
    free(s);
}
