/*
 * conn.c - one sink instance and its connection.
 *
 * Owns an instance's life: allocating it, connecting with the configured
 * options, setting up the session (strict SQL mode, READ COMMITTED, no
 * autocommit), checking the table and reading its volume column, and
 * closing. Also sends plain statements and turns the connection's last
 * error into a message. What an error number means is errors.c's; what
 * the statements say is the write paths'.
 *
 * Every function here runs on the worker thread that owns the instance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql_fee.h"

/* Seconds a query may wait on the network before the server counts as lost. */
#define NET_TIMEOUT_S 30

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

    snprintf(err, errlen, "%s%s%s: %s (%u)", what, table != NULL ? " " : "",
             table != NULL ? table : "", mysql_error(s->db), code);
    return errors_write_outcome(code);
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
    mysql_options(s->db, MYSQL_OPT_READ_TIMEOUT, &net_s);
    mysql_options(s->db, MYSQL_OPT_WRITE_TIMEOUT, &net_s);
    /* A silent reconnect would lose the transaction and the session. */
    mysql_options(s->db, MYSQL_OPT_RECONNECT, &reconnect);
    mysql_options(s->db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    /*
     * No CLIENT_FOUND_ROWS: an unchanged duplicate must count 0 rows.
     * CLIENT_MULTI_STATEMENTS: a batch's statements go in one round trip
     * (every value in them has been checked to be a number).
     */
    if (mysql_real_connect(s->db, c->socket != NULL ? "localhost" : c->hostname,
                           c->user, c->password, c->database,
                           (unsigned int)c->port, c->socket,
                           CLIENT_MULTI_STATEMENTS) == NULL) {
        snprintf(err, errlen, "cannot connect to %s: %s", c->where,
                 mysql_error(s->db));
        return errors_open_outcome(mysql_errno(s->db));
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
        snprintf(err, errlen, "cannot set up the session on %s: %s", c->where,
                 mysql_error(s->db));
        return errors_open_outcome(mysql_errno(s->db));
    }
    snprintf(sql, sizeof sql,
             "SELECT ticket, login, volume, status FROM `%s` LIMIT 0",
             c->table);
    if (conn_run(s, sql) == -1) {
        snprintf(err, errlen, "table %s.%s: %s", c->database, c->table,
                 mysql_error(s->db));
        return errors_open_outcome(mysql_errno(s->db));
    }
    res = mysql_store_result(s->db);
    mysql_free_result(res);
    if (read_volume_digits(s) == -1) {
        snprintf(err, errlen, "table %s.%s: %s", c->database, c->table,
                 mysql_error(s->db));
        return errors_open_outcome(mysql_errno(s->db));
    }
    /* End the check's transaction: no lock on the table between batches. */
    if (mysql_rollback(s->db) != 0) {
        snprintf(err, errlen, "table %s.%s: %s", c->database, c->table,
                 mysql_error(s->db));
        return errors_open_outcome(mysql_errno(s->db));
    }
    return FEED_OK;
}

/*
 * Makes an instance and connects it, on the worker thread that will own
 * it: the connection is that thread's alone. FEED_OK with *out set (the
 * caller frees it with conn_close()); otherwise the reason in err.
 */
enum feed_result
conn_open(const struct fconf *c, struct fsink **out, char *err, size_t errlen)
{
    struct fsink *s = calloc(1, sizeof *s);
    enum feed_result r = FEED_RETRY;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return FEED_RETRY;
    }
    s->conf = c;
    s->rows = calloc(CHUNK_ROWS, sizeof *s->rows);
    if (s->rows == NULL || sql_reserve(s, 64 * 1024) == -1) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    r = connect_db(s, err, errlen);
    if (r != FEED_OK) {
        goto fail;
    }
    r = prepare_session(s, err, errlen);
    if (r != FEED_OK) {
        goto fail;
    }
    s->bulk = bulk_supported(s->db);
    c->host->log(c->host, FEED_LOG_INFO,
                 "connected to %s version=%s thread=%lu bulk=%s", c->where,
                 mysql_get_server_info(s->db), mysql_thread_id(s->db),
                 s->bulk ? "yes" : "no");
    *out = s;
    return FEED_OK;

fail:
    conn_close(s);
    return r;
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
