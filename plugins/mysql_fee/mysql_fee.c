/*
 * mysql_fee.c - the sink of the default pipeline: trades into MariaDB.
 *
 * Owns one MariaDB connection per sink instance (one instance per worker
 * thread) and that instance's reusable SQL buffer. Each batch becomes one
 * transaction: insert the rows, compare replayed tickets with the rows
 * already there, mark the new rows 'Y', commit. Batching, backoff and
 * retries, narrowing a refused batch down to its message and answering
 * clients are the core's.
 *
 * Every value reaches SQL as a numeric literal, and only after each of its
 * characters has been checked: no record text is ever quoted or escaped.
 *
 * configure() and unconfigure() run on the main thread; open(), write()
 * and close() on the worker thread that owns the instance.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <feed/plugin.h>

/* A statement is sent once it holds this many rows or bytes of SQL. */
#define CHUNK_ROWS 1000
#define CHUNK_BYTES (1024 * 1024)
/* Seconds a query may wait on the network before the server counts as lost. */
#define NET_TIMEOUT_S 30
/* Seconds an idle connection goes unchecked (see fee_tick). */
#define IDLE_PING_S 5
/* The longest identifier MariaDB accepts. */
#define NAME_MAX_LEN 64
/*
 * From this many records on, the INSERT goes array-bound (MariaDB's bulk
 * protocol: no SQL text to build or parse) at the price of one more round
 * trip; below, the single text round trip wins.
 */
#define BULK_MIN 64

/* Strict: a value that does not fit is an error, never clamped. */
#define SESSION_SQL_MODE                                                       \
    "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"                          \
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"

enum mark {
    MARK_UPDATE = 0, /* insert 'N', then UPDATE to 'Y' (the original's way) */
    MARK_INSERT = 1, /* insert 'Y' */
};

/* Shared read-only by every instance once configure() returns. */
struct fconf {
    const struct feed_host *host; /* borrowed */
    /* The strings are the host's: valid until unconfigure(). */
    const char *hostname;
    const char *socket; /* NULL: connect over TCP to hostname:port */
    const char *user;
    const char *password;
    const char *database;
    const char *table;
    char where[320]; /* "host:port" or the socket path, for messages */
    long long port;
    long long connect_timeout_s;
    long long lock_wait_timeout_s;
    int mark;
    /* Indexes of the fields in a record's values. */
    int ticket;
    int login;
    int volume;
};

/* A number as text; the row's values point into a MYSQL_RES. */
struct row {
    struct feed_value ticket;
    struct feed_value login;
    struct feed_value volume;
};

/* One per worker thread, owned by it with its connection. */
struct fsink {
    const struct fconf *conf; /* borrowed */
    MYSQL *db;
    time_t used; /* CLOCK_MONOTONIC seconds of the last call that worked */
    char *sql; /* the statement being built, reused by every batch */
    size_t len;
    size_t cap;
    struct row *rows; /* CHUNK_ROWS rows of one SELECT, reused */
    /*
     * The volume column's digits before and after the point, read at open:
     * a value within them is stored exactly, so the one-round-trip write
     * can commit without reading warnings first. 0 when unknown: then
     * every batch takes the careful way.
     */
    unsigned int volume_int;
    unsigned int volume_frac;
    /* The array-bound INSERT, prepared at first use, and its columns. */
    int bulk;                 /* the server takes array-bound statements */
    MYSQL_STMT *insert;
    uint64_t *tickets;
    uint64_t *logins;
    const char **volumes;
    unsigned long *volume_lens;
    size_t bulk_cap;
};

/* Seconds of CLOCK_MONOTONIC. */
static time_t
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/*
 * What an error number says about the batch and the connection.
 * TRANSIENT: retry later as it is. OPERATOR: retry, but only a person can
 * fix it (a permanent failure when opening). DATA: the batch is refused.
 */
enum eclass {
    EC_TRANSIENT,
    EC_OPERATOR,
    EC_DATA,
};

static const struct {
    unsigned int code;
    enum eclass class;
} error_classes[] = {
    /* Another transaction was in the way; it will end. */
    {ER_LOCK_WAIT_TIMEOUT, EC_TRANSIENT},
    {ER_LOCK_DEADLOCK, EC_TRANSIENT},
    /* A read-only server: a replica, or a primary during a failover. */
    {ER_OPTION_PREVENTS_STATEMENT, EC_TRANSIENT},
    {ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION, EC_TRANSIENT},
    {ER_READ_ONLY_MODE, EC_TRANSIENT},
    /* The server is full, going away, or killed our query. */
    {ER_CON_COUNT_ERROR, EC_TRANSIENT},
    {ER_TOO_MANY_USER_CONNECTIONS, EC_TRANSIENT},
    {ER_SERVER_SHUTDOWN, EC_TRANSIENT},
    {ER_QUERY_INTERRUPTED, EC_TRANSIENT},
    {ER_CONNECTION_KILLED, EC_TRANSIENT},
    /* Out of memory, disk or table space, or the engine failed. */
    {ER_DISK_FULL, EC_TRANSIENT},
    {ER_OUT_OF_RESOURCES, EC_TRANSIENT},
    {ER_RECORD_FILE_FULL, EC_TRANSIENT},
    {ER_GET_ERRNO, EC_TRANSIENT},
    /* Credentials, grants, schema: the data is fine, the place is not. */
    {ER_DBACCESS_DENIED_ERROR, EC_OPERATOR},
    {ER_ACCESS_DENIED_ERROR, EC_OPERATOR},
    {ER_TABLEACCESS_DENIED_ERROR, EC_OPERATOR},
    {ER_COLUMNACCESS_DENIED_ERROR, EC_OPERATOR},
    {ER_BAD_DB_ERROR, EC_OPERATOR},
    {ER_NO_SUCH_TABLE, EC_OPERATOR},
    {ER_BAD_FIELD_ERROR, EC_OPERATOR},
    {CR_UNKNOWN_HOST, EC_OPERATOR},
    /* A value the column cannot hold exactly. */
    {ER_WARN_DATA_OUT_OF_RANGE, EC_DATA},
    {ER_DATA_OUT_OF_RANGE, EC_DATA},
    {ER_DATA_TOO_LONG, EC_DATA},
    {ER_TRUNCATED_WRONG_VALUE_FOR_FIELD, EC_DATA},
    {ER_TRUNCATED_WRONG_VALUE, EC_DATA},
    {WARN_DATA_TRUNCATED, EC_DATA},
    {ER_BAD_NULL_ERROR, EC_DATA},
    /* Constraints an operator added to the table. */
    {ER_CONSTRAINT_FAILED, EC_DATA},
    {ER_NO_REFERENCED_ROW_2, EC_DATA},
    {ER_NO_REFERENCED_ROW, EC_DATA},
    /* Cannot happen with ON DUPLICATE KEY, but it would be the data. */
    {ER_DUP_ENTRY, EC_DATA},
};

/*
 * The class of a MariaDB error number. Client errors (CR_*, 2000-2999: the
 * connection failed or was lost) not in the table are transient, and so is
 * every unknown error: a retry never loses data, and the core logs it.
 */
static enum eclass
classify(unsigned int code)
{
    for (size_t i = 0; i < sizeof error_classes / sizeof *error_classes; i++) {
        if (error_classes[i].code == code) {
            return error_classes[i].class;
        }
    }
    return EC_TRANSIENT;
}

/* What write() returns for an error number. */
static enum feed_result
write_outcome(unsigned int code)
{
    return classify(code) == EC_DATA ? FEED_REJECT : FEED_RETRY;
}

/* What open() returns for an error number. */
static enum feed_result
open_outcome(unsigned int code)
{
    return classify(code) == EC_TRANSIENT ? FEED_RETRY : FEED_FAIL;
}

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
    bad |= host->conf_string(host, "password", "", &c->password);
    bad |= host->conf_string(host, "database", NULL, &c->database);
    bad |= host->conf_string(host, "table", "fee", &c->table);
    bad |= host->conf_enum(host, "mark", marks, MARK_UPDATE, &c->mark);
    bad |= host->conf_int(host, "connect_timeout", 5, 1, 3600,
                          &c->connect_timeout_s);
    bad |= host->conf_int(host, "lock_wait_timeout", 10, 1, 3600,
                          &c->lock_wait_timeout_s);
    bad |= require_text(host, "host", c->hostname);
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

static void *
fee_configure(const struct feed_host *host, char *err, size_t errlen)
{
    struct fconf *c = calloc(1, sizeof *c);

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->host = host;
    if (read_keys(host, c) == -1) {
        goto fail;
    }
    if (c->socket != NULL) {
        snprintf(c->where, sizeof c->where, "%s", c->socket);
    } else {
        snprintf(c->where, sizeof c->where, "%s:%lld", c->hostname, c->port);
    }
    /* Not thread-safe: here, on the main thread, before any worker runs. */
    if (mysql_library_init(0, NULL, NULL) != 0) {
        snprintf(err, errlen, "cannot initialise the MariaDB client library");
        goto fail;
    }
    return c;

fail:
    free(c);
    return NULL;
}

/* The client library stays initialised: other sinks may still use it. */
static void
fee_unconfigure(const struct feed_host *host, void *conf)
{
    (void)host;

    free(conf);
}

static void
fee_close(const struct feed_host *host, void *state)
{
    struct fsink *s = state;

    (void)host;
    if (s == NULL) {
        return;
    }
    if (s->insert != NULL) {
        mysql_stmt_close(s->insert);
    }
    if (s->db != NULL) {
        mysql_close(s->db);
    }
    free(s->tickets);
    free(s->logins);
    free(s->volumes);
    free(s->volume_lens);
    free(s->rows);
    free(s->sql);
    free(s);
}

/* Makes room for `more` bytes and a NUL; -1 when out of memory. */
static int
sql_reserve(struct fsink *s, size_t more)
{
    size_t cap = s->cap == 0 ? 4096 : s->cap;
    char *sql;

    if (s->len + more + 1 <= s->cap) {
        return 0;
    }
    while (cap < s->len + more + 1) {
        cap *= 2;
    }
    sql = realloc(s->sql, cap);
    if (sql == NULL) {
        return -1;
    }
    s->sql = sql;
    s->cap = cap;
    return 0;
}

/* Appends bytes already reserved. */
static void
sql_put(struct fsink *s, const char *text, size_t len)
{
    memcpy(s->sql + s->len, text, len);
    s->len += len;
    s->sql[s->len] = '\0';
}

/* Appends a string; -1 when out of memory. */
static int
sql_add(struct fsink *s, const char *text)
{
    size_t len = strlen(text);

    if (sql_reserve(s, len) == -1) {
        return -1;
    }
    sql_put(s, text, len);
    return 0;
}

/* Sends one statement; 0 or -1 (see mysql_errno). Its rows are the caller's. */
static int
run(struct fsink *s, const char *sql)
{
    return mysql_real_query(s->db, sql, strlen(sql)) == 0 ? 0 : -1;
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
        return open_outcome(mysql_errno(s->db));
    }
    return FEED_OK;
}

/*
 * Sets up the session, then checks that the table and its columns exist.
 * READ COMMITTED: with gap locks (REPEATABLE READ), the IN-list UPDATEs of
 * two workers deadlock on a small table.
 */
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
    if (run(s, sql) == -1 || (res = mysql_store_result(s->db)) == NULL) {
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
    if (run(s, sql) == -1 ||
        run(s, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED") ==
            -1 ||
        mysql_autocommit(s->db, 0) != 0) {
        snprintf(err, errlen, "cannot set up the session on %s: %s", c->where,
                 mysql_error(s->db));
        return open_outcome(mysql_errno(s->db));
    }
    snprintf(sql, sizeof sql,
             "SELECT ticket, login, volume, status FROM `%s` LIMIT 0",
             c->table);
    if (run(s, sql) == -1) {
        snprintf(err, errlen, "table %s.%s: %s", c->database, c->table,
                 mysql_error(s->db));
        return open_outcome(mysql_errno(s->db));
    }
    res = mysql_store_result(s->db);
    mysql_free_result(res);
    if (read_volume_digits(s) == -1) {
        snprintf(err, errlen, "table %s.%s: %s", c->database, c->table,
                 mysql_error(s->db));
        return open_outcome(mysql_errno(s->db));
    }
    /* End the check's transaction: no lock on the table between batches. */
    if (mysql_rollback(s->db) != 0) {
        snprintf(err, errlen, "table %s.%s: %s", c->database, c->table,
                 mysql_error(s->db));
        return open_outcome(mysql_errno(s->db));
    }
    return FEED_OK;
}

/*
 * Connects and prepares the session, on the worker thread that will own
 * the instance: the connection is that thread's alone.
 */
/* Nonzero when the server takes array-bound statements (MariaDB 10.2+). */
static int
bulk_supported(MYSQL *db)
{
    unsigned long caps = 0;
    unsigned long extended = 0;

    if (mariadb_get_infov(db, MARIADB_CONNECTION_SERVER_CAPABILITIES,
                          &caps) != 0 ||
        mariadb_get_infov(db, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES,
                          &extended) != 0) {
        return 0;
    }
    return !(caps & CLIENT_MYSQL) &&
           (extended & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32)) != 0;
}

static enum feed_result
fee_open(const struct feed_host *host, void *conf, void **state, char *err,
         size_t errlen)
{
    const struct fconf *c = conf;
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
    host->log(host, FEED_LOG_INFO,
              "connected to %s version=%s thread=%lu bulk=%s", c->where,
              mysql_get_server_info(s->db), mysql_thread_id(s->db),
              s->bulk ? "yes" : "no");
    s->used = now_s();
    *state = s;
    return FEED_OK;

fail:
    fee_close(host, s);
    return r;
}

/*
 * 1 when v is a plain decimal number: digits, and with `point` optionally
 * a '.' followed by digits. Nothing else may reach SQL.
 */
static int
is_number(const struct feed_value *v, int point)
{
    size_t i = 0;
    size_t frac;

    while (i < v->len && v->ptr[i] >= '0' && v->ptr[i] <= '9') {
        i++;
    }
    if (i == 0) {
        return 0;
    }
    if (point && i < v->len && v->ptr[i] == '.') {
        frac = ++i;
        while (i < v->len && v->ptr[i] >= '0' && v->ptr[i] <= '9') {
            i++;
        }
        if (i == frac) {
            return 0;
        }
    }
    return i == v->len;
}

/* Refuses the batch at the first value that is not a number. */
static enum feed_result
check_numbers(const struct fconf *c, const struct feed_batch *b, size_t *bad,
              char *err, size_t errlen)
{
    for (size_t i = 0; i < b->count; i++) {
        const struct feed_value *v = b->records[i].values;
        const char *field = NULL;

        if (!is_number(&v[c->ticket], 0)) {
            field = "ticket";
        } else if (!is_number(&v[c->login], 0)) {
            field = "login";
        } else if (!is_number(&v[c->volume], 1)) {
            field = "volume";
        }
        if (field != NULL) {
            *bad = i;
            snprintf(err, errlen, "line %u: %s is not a number",
                     (unsigned)b->records[i].line, field);
            return FEED_REJECT;
        }
    }
    return FEED_OK;
}

/*
 * The canonical text of a number (see struct feed_value): no leading zeros
 * but one, no trailing fractional zeros, no bare point. DECIMAL(20,4)
 * comes back as "1.5000"; a record holds "1.5".
 */
static struct feed_value
canon(const char *p, size_t len)
{
    if (p == NULL) {
        return (struct feed_value){"", 0};
    }
    if (memchr(p, '.', len) != NULL) {
        while (len > 0 && p[len - 1] == '0') {
            len--;
        }
        if (len > 0 && p[len - 1] == '.') {
            len--;
        }
    }
    while (len > 1 && p[0] == '0' && p[1] != '.') {
        p++;
        len--;
    }
    return (struct feed_value){p, len};
}

static int
same(struct feed_value a, struct feed_value b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/* Orders canonical unsigned integers by value. */
static int
compare_numbers(const struct feed_value *a, const struct feed_value *b)
{
    if (a->len != b->len) {
        return a->len < b->len ? -1 : 1;
    }
    return memcmp(a->ptr, b->ptr, a->len);
}

static int
compare_rows(const void *a, const void *b)
{
    return compare_numbers(&((const struct row *)a)->ticket,
                           &((const struct row *)b)->ticket);
}

/*
 * Writes `<what> <table>: <message> (<errno>)` into err for the
 * connection's last error (no table when `table` is NULL); returns
 * write()'s outcome for it.
 */
static enum feed_result
db_failure(struct fsink *s, const char *what, const char *table, char *err,
           size_t errlen)
{
    unsigned int code = mysql_errno(s->db);

    snprintf(err, errlen, "%s%s%s: %s (%u)", what, table != NULL ? " " : "",
             table != NULL ? table : "", mysql_error(s->db), code);
    return write_outcome(code);
}

/*
 * Reports an error of the INSERT of records [start, end). A refused value
 * is named by the server "at row N" of the statement: that record is the
 * one refused.
 */
static enum feed_result
insert_refused(struct fsink *s, const struct feed_batch *b, size_t start,
               size_t end, unsigned int code, const char *msg, size_t *bad,
               char *err, size_t errlen)
{
    enum feed_result r = write_outcome(code);
    const char *at = strstr(msg, " at row ");
    unsigned long row = at != NULL ? strtoul(at + 8, NULL, 10) : 0;

    if (r == FEED_REJECT && row >= 1 && row <= end - start) {
        *bad = start + row - 1;
        snprintf(err, errlen, "line %u: %s (%u)",
                 (unsigned)b->records[*bad].line, msg, code);
    } else {
        snprintf(err, errlen, "insert into %s: %s (%u)", s->conf->table, msg,
                 code);
    }
    return r;
}

/*
 * After an INSERT with warnings: a value the server changed (rounded,
 * truncated) refuses the batch, since nothing may be stored other than
 * it was sent. Other warnings are left alone.
 */
static enum feed_result
check_warnings(struct fsink *s, const struct feed_batch *b, size_t start,
               size_t end, size_t *bad, char *err, size_t errlen)
{
    enum feed_result r = FEED_OK;
    MYSQL_RES *res;
    MYSQL_ROW w;

    if (run(s, "SHOW WARNINGS") == -1 ||
        (res = mysql_store_result(s->db)) == NULL) {
        return db_failure(s, "show warnings", NULL, err, errlen);
    }
    while (r == FEED_OK && (w = mysql_fetch_row(res)) != NULL) {
        unsigned int code =
            w[1] != NULL ? (unsigned int)strtoul(w[1], NULL, 10) : 0;

        if (w[2] != NULL && classify(code) == EC_DATA) {
            r = insert_refused(s, b, start, end, code, w[2], bad, err, errlen);
        }
    }
    mysql_free_result(res);
    return r;
}

/* Builds the INSERT of records [start, *end): as many as one chunk holds. */
static int
build_insert(struct fsink *s, const struct feed_batch *b, size_t start,
             size_t *end, int keep_existing)
{
    const struct fconf *c = s->conf;
    const char *status = c->mark == MARK_INSERT ? ",'Y')" : ",'N')";
    size_t i;

    s->len = 0;
    if (sql_add(s, "INSERT INTO `") == -1 || sql_add(s, c->table) == -1 ||
        sql_add(s, "` (ticket, login, volume, status) VALUES ") == -1) {
        return -1;
    }
    for (i = start;
         i < b->count && i - start < CHUNK_ROWS && s->len < CHUNK_BYTES; i++) {
        const struct feed_value *v = b->records[i].values;
        const struct feed_value *t = &v[c->ticket];
        const struct feed_value *l = &v[c->login];
        const struct feed_value *vol = &v[c->volume];

        if (sql_reserve(s, t->len + l->len + vol->len + 16) == -1) {
            return -1;
        }
        sql_put(s, i == start ? "(" : ",(", i == start ? 1 : 2);
        sql_put(s, t->ptr, t->len);
        sql_put(s, ",", 1);
        sql_put(s, l->ptr, l->len);
        sql_put(s, ",", 1);
        sql_put(s, vol->ptr, vol->len);
        sql_put(s, status, 5);
    }
    *end = i;
    /* An existing ticket is left as it is: 0 rows affected. */
    return keep_existing
               ? sql_add(s, " ON DUPLICATE KEY UPDATE ticket = ticket")
               : 0;
}

/*
 * Builds `<head>` ticket, ticket... `<tail>` for the tickets of records
 * [start, *end).
 */
static int
build_in_list_at(struct fsink *s, size_t at, const char *head,
                 const char *tail, const struct feed_batch *b, size_t start,
                 size_t *end)
{
    int field = s->conf->ticket;
    size_t i;

    s->len = at;
    if (sql_add(s, head) == -1) {
        return -1;
    }
    for (i = start;
         i < b->count && i - start < CHUNK_ROWS && s->len - at < CHUNK_BYTES;
         i++) {
        const struct feed_value *t = &b->records[i].values[field];

        if (sql_reserve(s, t->len + 1) == -1) {
            return -1;
        }
        if (i > start) {
            sql_put(s, ",", 1);
        }
        sql_put(s, t->ptr, t->len);
    }
    *end = i;
    return sql_add(s, tail);
}

/* The same, from the start of the buffer. */
static int
build_in_list(struct fsink *s, const char *head, const char *tail,
              const struct feed_batch *b, size_t start, size_t *end)
{
    return build_in_list_at(s, 0, head, tail, b, start, end);
}

/* Inserts every record; counts the rows really inserted in *inserted. */
static enum feed_result
insert_rows(struct fsink *s, const struct feed_batch *b,
            unsigned long long *inserted, size_t *bad, char *err, size_t errlen)
{
    size_t end;

    for (size_t start = 0; start < b->count; start = end) {
        if (build_insert(s, b, start, &end, 1) == -1) {
            snprintf(err, errlen, "out of memory");
            return FEED_RETRY;
        }
        if (mysql_real_query(s->db, s->sql, s->len) != 0) {
            return insert_refused(s, b, start, end, mysql_errno(s->db),
                                  mysql_error(s->db), bad, err, errlen);
        }
        *inserted += mysql_affected_rows(s->db);
        if (mysql_warning_count(s->db) > 0) {
            enum feed_result r =
                check_warnings(s, b, start, end, bad, err, errlen);

            if (r != FEED_OK) {
                return r;
            }
        }
    }
    return FEED_OK;
}

/* Reads the rows of a SELECT into s->rows, sorted by ticket; -1 if many. */
static int
collect_rows(struct fsink *s, MYSQL_RES *res, size_t *nrows)
{
    MYSQL_ROW row;
    size_t n = 0;

    while ((row = mysql_fetch_row(res)) != NULL) {
        unsigned long *lens = mysql_fetch_lengths(res);

        if (n == CHUNK_ROWS) {
            return -1;
        }
        s->rows[n].ticket = canon(row[0], lens[0]);
        s->rows[n].login = canon(row[1], lens[1]);
        s->rows[n].volume = canon(row[2], lens[2]);
        n++;
    }
    qsort(s->rows, n, sizeof *s->rows, compare_rows);
    *nrows = n;
    return 0;
}

/*
 * Compares records [start, end) with their rows: the first record whose
 * row holds other values refuses the batch.
 */
static enum feed_result
compare_chunk(struct fsink *s, const struct feed_batch *b, size_t start,
              size_t end, size_t nrows, size_t *bad, char *err, size_t errlen)
{
    const struct fconf *c = s->conf;

    for (size_t i = start; i < end; i++) {
        const struct feed_value *v = b->records[i].values;
        struct row key = {.ticket = canon(v[c->ticket].ptr, v[c->ticket].len)};
        const struct row *row =
            bsearch(&key, s->rows, nrows, sizeof *s->rows, compare_rows);

        if (row == NULL) {
            snprintf(err, errlen,
                     "select from %s: ticket %.*s is missing after its insert",
                     c->table, (int)v[c->ticket].len, v[c->ticket].ptr);
            return FEED_RETRY;
        }
        if (!same(canon(v[c->login].ptr, v[c->login].len), row->login) ||
            !same(canon(v[c->volume].ptr, v[c->volume].len), row->volume)) {
            *bad = i;
            snprintf(err, errlen,
                     "line %u: ticket %.*s exists with other values",
                     (unsigned)b->records[i].line, (int)v[c->ticket].len,
                     v[c->ticket].ptr);
            return FEED_REJECT;
        }
    }
    return FEED_OK;
}

/*
 * Some tickets existed (a replay, or one ticket twice in the batch): each
 * record must equal its row as numbers, else the batch is refused.
 */
static enum feed_result
find_conflict(struct fsink *s, const struct feed_batch *b, size_t *bad,
              char *err, size_t errlen)
{
    char head[128];
    size_t end;

    snprintf(head, sizeof head,
             "SELECT ticket, login, volume FROM `%s` WHERE ticket IN (",
             s->conf->table);
    for (size_t start = 0; start < b->count; start = end) {
        enum feed_result r;
        MYSQL_RES *res;
        size_t nrows;

        if (build_in_list(s, head, ")", b, start, &end) == -1) {
            snprintf(err, errlen, "out of memory");
            return FEED_RETRY;
        }
        if (mysql_real_query(s->db, s->sql, s->len) != 0 ||
            (res = mysql_store_result(s->db)) == NULL) {
            return db_failure(s, "select from", s->conf->table, err, errlen);
        }
        if (collect_rows(s, res, &nrows) == -1) {
            snprintf(err, errlen, "select from %s: ticket is not unique",
                     s->conf->table);
            mysql_free_result(res);
            return FEED_RETRY;
        }
        r = compare_chunk(s, b, start, end, nrows, bad, err, errlen);
        mysql_free_result(res);
        if (r != FEED_OK) {
            return r;
        }
    }
    return FEED_OK;
}

/* mark = update: the original's second step, one statement per chunk. */
static enum feed_result
mark_rows(struct fsink *s, const struct feed_batch *b, char *err, size_t errlen)
{
    char head[128];
    size_t end;

    snprintf(head, sizeof head,
             "UPDATE `%s` SET status = 'Y' WHERE ticket IN (", s->conf->table);
    for (size_t start = 0; start < b->count; start = end) {
        if (build_in_list(s, head, ") AND status = 'N'", b, start, &end) ==
            -1) {
            snprintf(err, errlen, "out of memory");
            return FEED_RETRY;
        }
        if (mysql_real_query(s->db, s->sql, s->len) != 0) {
            return db_failure(s, "update", s->conf->table, err, errlen);
        }
    }
    return FEED_OK;
}

/*
 * Writes the batch as one transaction: insert every row ('N', or 'Y' with
 * mark = insert), compare the tickets that existed, mark the rows 'Y',
 * commit. FEED_OK only once COMMIT has returned; any failure rolls back.
 */
/*
 * The careful way, for any batch: insert with ON DUPLICATE KEY UPDATE (an
 * existing ticket is left alone), compare the rows of replayed tickets,
 * mark, commit; a statement at a time, so that warnings and conflicts are
 * seen before COMMIT.
 */
static enum feed_result
write_careful(struct fsink *s, const struct feed_batch *batch, size_t *bad,
              char *err, size_t errlen)
{
    const struct fconf *c = s->conf;
    unsigned long long inserted = 0;
    enum feed_result r;

    r = insert_rows(s, batch, &inserted, bad, err, errlen);
    if (r == FEED_OK && inserted < batch->count) {
        r = find_conflict(s, batch, bad, err, errlen);
    }
    if (r == FEED_OK && c->mark == MARK_UPDATE) {
        r = mark_rows(s, batch, err, errlen);
    }
    /* A lost COMMIT has an unknown outcome: the replay settles it. */
    if (r == FEED_OK && mysql_commit(s->db) != 0) {
        db_failure(s, "commit", NULL, err, errlen);
        r = FEED_RETRY;
    }
    if (r != FEED_OK) {
        /* Its own failure does not matter: the server rolls back too. */
        mysql_rollback(s->db);
    }
    return r;
}

/* Nonzero when every volume fits the column exactly (see fsink). */
static int
volumes_fit(const struct fsink *s, const struct feed_batch *b)
{
    int field = s->conf->volume;

    if (s->volume_int == 0) {
        return 0;
    }
    for (size_t i = 0; i < b->count; i++) {
        const struct feed_value *v = &b->records[i].values[field];
        const char *point = memchr(v->ptr, '.', v->len);
        size_t whole = point != NULL ? (size_t)(point - v->ptr) : v->len;
        size_t frac = point != NULL ? v->len - whole - 1 : 0;

        /* Values are canonical: no leading or trailing zeros to skip. */
        if (whole > s->volume_int || frac > s->volume_frac) {
            return 0;
        }
    }
    return 1;
}

/*
 * Builds "INSERT ...; UPDATE ...; COMMIT" for a batch that fits in one
 * chunk. Returns 0, or -1 when it does not fit (or out of memory).
 */
static int
build_fast(struct fsink *s, const struct feed_batch *b)
{
    char head[128];
    size_t end;
    size_t at;

    if (build_insert(s, b, 0, &end, 0) == -1 || end != b->count) {
        return -1;
    }
    if (s->conf->mark == MARK_UPDATE) {
        at = s->len;
        snprintf(head, sizeof head,
                 ";UPDATE `%s` SET status = 'Y' WHERE ticket IN (",
                 s->conf->table);
        if (build_in_list_at(s, at, head, ") AND status = 'N'", b, 0,
                             &end) == -1 ||
            end != b->count) {
            return -1;
        }
    }
    return sql_add(s, ";COMMIT");
}

/*
 * Runs the statements in s->sql after the first (already sent and
 * successful), whose names are steps[1..]: a failure names its statement
 * and rolls back. A failed COMMIT's outcome is unknown: that is a RETRY
 * whatever the error, and the replay decides.
 */
static enum feed_result
finish_multi(struct fsink *s, const char *const *steps, size_t nsteps,
             char *err, size_t errlen)
{
    size_t step = 0;
    int rc;

    while ((rc = mysql_next_result(s->db)) == 0) {
        step++;
    }
    if (rc > 0) {
        const char *what = step + 1 < nsteps ? steps[step + 1] : "commit";
        enum feed_result r = db_failure(s, what, NULL, err, errlen);

        mysql_rollback(s->db);
        return r == FEED_REJECT ? FEED_RETRY : r;
    }
    return FEED_OK;
}

/*
 * The common case in one round trip: a plain INSERT, the UPDATE and the
 * COMMIT sent together. The server stops at the first statement that
 * fails, so nothing is committed unless every row was inserted; a replayed
 * ticket fails the INSERT with a duplicate key, and the batch then goes the
 * careful way. Returns FEED_OK, FEED_RETRY or FEED_REJECT as fee_write(),
 * or sets *careful when the careful way must decide.
 */
static enum feed_result
write_fast(struct fsink *s, const struct feed_batch *b, int *careful,
           size_t *bad, char *err, size_t errlen)
{
    static const char *const steps[] = {"insert into", "update", "commit"};
    size_t nsteps = s->conf->mark == MARK_UPDATE ? 3 : 2;
    unsigned int warnings;
    enum feed_result r;

    if (build_fast(s, b) == -1) {
        *careful = 1;
        return FEED_OK;
    }
    if (mysql_real_query(s->db, s->sql, s->len) != 0) {
        unsigned int code = mysql_errno(s->db);
        char why[MYSQL_ERRMSG_SIZE];

        snprintf(why, sizeof why, "%s", mysql_error(s->db));
        mysql_rollback(s->db);
        if (code == ER_DUP_ENTRY) {
            *careful = 1;
            return FEED_OK;
        }
        return insert_refused(s, b, 0, b->count, code, why, bad, err,
                              errlen);
    }
    warnings = mysql_warning_count(s->db);
    r = finish_multi(s, steps, nsteps, err, errlen);
    if (r == FEED_OK && warnings > 0) {
        /* Cannot happen for volumes that fit; say so loudly if it does. */
        s->conf->host->log(s->conf->host, FEED_LOG_ERROR,
                           "batch of %zu records committed with %u warnings",
                           b->count, warnings);
    }
    return r;
}

/* A canonical decimal integer as a number; -1 when it does not fit. */
static int
to_u64(const struct feed_value *v, uint64_t *out)
{
    uint64_t n = 0;

    if (v->len == 0 || v->len > 20) {
        return -1;
    }
    for (size_t i = 0; i < v->len; i++) {
        unsigned d = (unsigned)(v->ptr[i] - '0');
        if (n > (UINT64_MAX - d) / 10) {
            return -1;
        }
        n = n * 10 + d;
    }
    *out = n;
    return 0;
}

/*
 * Lays the batch out in the INSERT's column arrays. Returns 0, or -1 when
 * out of memory or a number does not fit (the careful way then decides).
 */
static int
bind_columns(struct fsink *s, const struct feed_batch *b)
{
    const struct fconf *c = s->conf;
    MYSQL_BIND bind[3];
    unsigned int size = (unsigned int)b->count;

    if (b->count > s->bulk_cap) {
        void *t = realloc(s->tickets, b->count * sizeof *s->tickets);
        void *l = t ? realloc(s->logins, b->count * sizeof *s->logins) : 0;
        void *v = l ? realloc(s->volumes, b->count * sizeof *s->volumes) : 0;
        void *n = v ? realloc(s->volume_lens,
                              b->count * sizeof *s->volume_lens)
                    : 0;

        s->tickets = t != NULL ? t : s->tickets;
        s->logins = l != NULL ? l : s->logins;
        s->volumes = v != NULL ? v : s->volumes;
        s->volume_lens = n != NULL ? n : s->volume_lens;
        if (n == NULL) {
            return -1;
        }
        s->bulk_cap = b->count;
    }
    for (size_t i = 0; i < b->count; i++) {
        const struct feed_value *v = b->records[i].values;

        if (to_u64(&v[c->ticket], &s->tickets[i]) == -1 ||
            to_u64(&v[c->login], &s->logins[i]) == -1) {
            return -1;
        }
        s->volumes[i] = v[c->volume].ptr;
        s->volume_lens[i] = v[c->volume].len;
    }
    memset(bind, 0, sizeof bind);
    bind[0].buffer_type = MYSQL_TYPE_LONGLONG;
    bind[0].is_unsigned = 1;
    bind[0].buffer = s->tickets;
    bind[1].buffer_type = MYSQL_TYPE_LONGLONG;
    bind[1].is_unsigned = 1;
    bind[1].buffer = s->logins;
    /* Variable-length columns bind an array of pointers and lengths. */
    bind[2].buffer_type = MYSQL_TYPE_STRING;
    bind[2].buffer = (void *)s->volumes;
    bind[2].length = s->volume_lens;
    if (mysql_stmt_attr_set(s->insert, STMT_ATTR_ARRAY_SIZE, &size) != 0 ||
        mysql_stmt_bind_param(s->insert, bind) != 0) {
        return -1;
    }
    return 0;
}

/*
 * Prepares the array-bound INSERT once per connection. Returns 0, or the
 * server's error number (CR_OUT_OF_MEMORY when the client's) with err set.
 */
static unsigned int
prepare_insert(struct fsink *s, char *err, size_t errlen)
{
    unsigned int code;

    char sql[256];

    if (s->insert != NULL) {
        return 0;
    }
    snprintf(sql, sizeof sql,
             "INSERT INTO `%s` (ticket, login, volume, status) "
             "VALUES (?, ?, ?, '%c')",
             s->conf->table, s->conf->mark == MARK_INSERT ? 'Y' : 'N');
    s->insert = mysql_stmt_init(s->db);
    if (s->insert == NULL) {
        snprintf(err, errlen, "insert into %s: out of memory",
                 s->conf->table);
        return CR_OUT_OF_MEMORY;
    }
    if (mysql_stmt_prepare(s->insert, sql, strlen(sql)) != 0) {
        code = mysql_stmt_errno(s->insert);
        snprintf(err, errlen, "insert into %s: %s (%u)", s->conf->table,
                 mysql_stmt_error(s->insert), code);
        /* Prepared again next time: the table may be back by then. */
        mysql_stmt_close(s->insert);
        s->insert = NULL;
        return code;
    }
    return 0;
}

/*
 * A large batch in two round trips: the INSERT array-bound, then the
 * UPDATE and the COMMIT together. Same rules as write_fast().
 */
static enum feed_result
write_bulk(struct fsink *s, const struct feed_batch *b, int *careful,
           char *err, size_t errlen)
{
    static const char *const steps[] = {"update", "commit"};
    size_t nsteps = s->conf->mark == MARK_UPDATE ? 2 : 1;
    char head[128];
    size_t end = b->count;
    unsigned int code;

    code = prepare_insert(s, err, errlen);
    if (code != 0) {
        /* Nothing about the data is known yet: never a refusal. */
        return write_outcome(code) == FEED_REJECT ? FEED_RETRY
                                                   : write_outcome(code);
    }
    if (bind_columns(s, b) == -1) {
        *careful = 1;
        return FEED_OK;
    }
    if (mysql_stmt_execute(s->insert) != 0) {
        code = mysql_stmt_errno(s->insert);
        if (code == ER_DUP_ENTRY) {
            mysql_rollback(s->db);
            *careful = 1;
            return FEED_OK;
        }
        snprintf(err, errlen, "insert into %s: %s (%u)", s->conf->table,
                 mysql_stmt_error(s->insert), code);
        mysql_rollback(s->db);
        return write_outcome(code);
    }
    s->len = 0;
    if (s->conf->mark == MARK_UPDATE) {
        snprintf(head, sizeof head,
                 "UPDATE `%s` SET status = 'Y' WHERE ticket IN (",
                 s->conf->table);
        if (build_in_list(s, head, ") AND status = 'N';", b, 0, &end) ==
            -1) {
            mysql_rollback(s->db);
            snprintf(err, errlen, "out of memory");
            return FEED_RETRY;
        }
    }
    if (end != b->count || sql_add(s, "COMMIT") == -1) {
        mysql_rollback(s->db);
        *careful = 1;
        return FEED_OK;
    }
    if (mysql_real_query(s->db, s->sql, s->len) != 0) {
        enum feed_result r = db_failure(s, nsteps == 2 ? "update" : "commit",
                                        NULL, err, errlen);

        mysql_rollback(s->db);
        return r == FEED_REJECT ? FEED_RETRY : r;
    }
    return finish_multi(s, steps, nsteps, err, errlen);
}

/*
 * An idle connection is pinged every IDLE_PING_S, so a server that went
 * away shows (as a RETRY, and on /healthz) without any traffic.
 */
static enum feed_result
fee_tick(const struct feed_host *host, void *state, char *err, size_t errlen)
{
    struct fsink *s = state;
    time_t now = now_s();

    (void)host;
    if (now - s->used < IDLE_PING_S) {
        return FEED_OK;
    }
    if (mysql_ping(s->db) != 0) {
        snprintf(err, errlen, "%s: ping: %s (%u)", s->conf->where,
                 mysql_error(s->db), mysql_errno(s->db));
        return FEED_RETRY;
    }
    s->used = now;
    return FEED_OK;
}

static enum feed_result
fee_write(const struct feed_host *host, void *state,
          const struct feed_batch *batch, size_t *bad, char *err,
          size_t errlen)
{
    struct fsink *s = state;
    const struct fconf *c = s->conf;
    enum feed_result r;
    int careful = 0;

    s->used = now_s();
    r = check_numbers(c, batch, bad, err, errlen);
    if (r != FEED_OK || batch->count == 0) {
        return r;
    }
    if (batch->count <= CHUNK_ROWS && volumes_fit(s, batch)) {
        if (s->bulk && batch->count >= BULK_MIN) {
            r = write_bulk(s, batch, &careful, err, errlen);
        } else {
            r = write_fast(s, batch, &careful, bad, err, errlen);
        }
        if (!careful) {
            return r;
        }
    }
    r = write_careful(s, batch, bad, err, errlen);
    if (r == FEED_OK && host->log_enabled(host, FEED_LOG_DEBUG)) {
        host->log(host, FEED_LOG_DEBUG,
                  "batch committed the careful way records=%zu",
                  batch->count);
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
