/*
 * mariadb_batch.c - MariaDB's own write speed: the benchmark's reference.
 *
 * usage: mariadb_batch (--socket PATH | --host H --port P) [--user U]
 *            [--password P] [--database D] [--table T] [--connections C]
 *            [--rows N] [--batch B] [--mode update|insert|each|load|loadb]
 *            [--ticket-base T] [--duration S]
 *
 * Writes N rows of the fee table over C connections, one thread each, with
 * nothing between the program and the server: the ceiling that feed-core's
 * sink is measured against. The rows are the ones feed-send makes up
 * (login = 1000 + t % 9000, volume = t % 100000 "." t % 10000), and every
 * connection has its own range of tickets from T on.
 *
 *   update  each loop: one multi-row INSERT of B rows with status 'N', one
 *           UPDATE ... SET status='Y' WHERE ticket IN (...) AND status='N',
 *           COMMIT (mysql_fee's transaction, mark = update)
 *   insert  each loop: the INSERT with status 'Y' and COMMIT (mark = insert)
 *   each    the original PHP daemon: per row, an autocommit INSERT and an
 *           autocommit UPDATE, two round trips and two commits
 *   load    each connection writes its rows to a CSV file first (not
 *           timed), then LOAD DATA LOCAL INFILE and COMMIT
 *   loadb   LOAD DATA LOCAL INFILE and COMMIT per B rows, the rows served
 *           from memory (made before the clock starts): LOAD DATA in
 *           transactions as large as a pipeline can have in flight
 *
 * The session is the sink's: strict sql_mode, READ COMMITTED. With
 * --duration S no loop starts after S seconds. The one output line,
 *     rows=N seconds=X rows_per_s=Y
 * counts committed rows from the moment every connection is ready to the
 * last commit. Errors go to stderr, one line each; the exit status is 0 or
 * 1 (2 for a usage error).
 *
 * Checking the table afterwards is the caller's (bench/run).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <errmsg.h>
#include <mysql.h>

#include "number.h"

#define MAX_CONNECTIONS 64
#define MAX_BATCH 100000
/* One row of SQL or CSV: 20 + 1 + 4 + 1 + 10 characters and the rest. */
#define ROW_MAX 64
#define NAME_MAX_LEN 64
#define ERR_MAX 512

#define SESSION_SQL_MODE                                                       \
    "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"                          \
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"

enum mode {
    MODE_UPDATE,
    MODE_INSERT,
    MODE_EACH,
    MODE_LOAD,
    MODE_LOADB,
};

static const char *const mode_names[] = {"update", "insert", "each",
                                         "load",   "loadb",  NULL};

/* Set by main() before any thread starts, then read-only. */
struct options {
    const char *socket;
    const char *host;
    unsigned int port;
    const char *user;
    const char *password;
    const char *database;
    const char *table;
    int connections;
    uint64_t rows;
    int batch;
    enum mode mode;
    uint64_t ticket_base;
    double duration_s; /* 0: no limit */
};

/* One per connection; owned by its thread until it is joined. */
struct conn {
    const struct options *opt; /* borrowed */
    pthread_barrier_t *ready;  /* borrowed: every connection, and main */
    int index;
    uint64_t first; /* the connection's first ticket */
    uint64_t count; /* rows it is to write */
    uint64_t done;  /* rows committed */
    MYSQL *db;
    char *sql;        /* the statement being built */
    char *sql2;       /* update: the UPDATE of the same rows */
    size_t cap;       /* of each */
    char csv[64];     /* load: the CSV file's path, "" when none */
    char *rows;       /* loadb: every row of the connection, as CSV lines */
    size_t *line_at;  /* loadb: where row i starts, i = 0..count */
    size_t serve_at;  /* loadb: the part of `rows` being sent, */
    size_t serve_end; /* from the local infile handler */
    int failed;
    char err[ERR_MAX];
};

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes one line into c->err; returns -1. */
static int
fail(struct conn *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    c->failed = 1;
    return -1;
}

static int
db_fail(struct conn *c, const char *what)
{
    return fail(c, "%s: %s (%u)", what, mysql_error(c->db), mysql_errno(c->db));
}

/* Ticket t as the row feed-send would send: "t,login,volume". */
static int
trade(char *buf, size_t len, uint64_t t)
{
    return snprintf(buf, len, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ".%04" PRIu64,
                    t, 1000 + t % 9000, t % 100000, t % 10000);
}

static int
run(struct conn *c, const char *sql, size_t len, const char *what)
{
    if (mysql_real_query(c->db, sql, len) != 0) {
        return db_fail(c, what);
    }
    return 0;
}

/* run(), then checks that the statement touched exactly n rows. */
static int
run_rows(struct conn *c, const char *sql, size_t len, const char *what,
         uint64_t n)
{
    if (run(c, sql, len, what) == -1) {
        return -1;
    }
    if (mysql_affected_rows(c->db) != n) {
        return fail(c, "%s: %llu rows affected, not %" PRIu64, what,
                    (unsigned long long)mysql_affected_rows(c->db), n);
    }
    return 0;
}

/* Connects and sets the session up as mysql_fee does. */
static int
connect_db(struct conn *c)
{
    const struct options *o = c->opt;
    unsigned int one = 1;

    c->db = mysql_init(NULL);
    if (c->db == NULL) {
        return fail(c, "out of memory");
    }
    mysql_options(c->db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (o->mode == MODE_LOAD || o->mode == MODE_LOADB) {
        mysql_options(c->db, MYSQL_OPT_LOCAL_INFILE, &one);
    }
    if (mysql_real_connect(c->db, o->socket != NULL ? "localhost" : o->host,
                           o->user, o->password, o->database, o->port,
                           o->socket, 0) == NULL) {
        return db_fail(c, "cannot connect");
    }
    static const char session[] =
        "SET SESSION sql_mode = '" SESSION_SQL_MODE "', "
        "SESSION tx_isolation = 'READ-COMMITTED'";
    if (run(c, session, sizeof session - 1, "cannot set up the session") ==
        -1) {
        return -1;
    }
    /* each: the original autocommitted every statement. */
    if (mysql_autocommit(c->db, o->mode == MODE_EACH) != 0) {
        return db_fail(c, "cannot set autocommit");
    }
    return 0;
}

/* One transaction of rows [t, t + n): INSERT, maybe UPDATE, COMMIT. */
static int
write_batch(struct conn *c, uint64_t t, uint64_t n)
{
    const struct options *o = c->opt;
    const char *status = o->mode == MODE_UPDATE ? "N" : "Y";
    size_t len = 0;
    size_t len2 = 0;

    len = (size_t)sprintf(c->sql,
                          "INSERT INTO `%s` (ticket, login, volume, status) "
                          "VALUES ",
                          o->table);
    len2 = (size_t)sprintf(
        c->sql2, "UPDATE `%s` SET status = 'Y' WHERE ticket IN (", o->table);
    for (uint64_t i = 0; i < n; i++) {
        char row[ROW_MAX];

        trade(row, sizeof row, t + i);
        len += (size_t)sprintf(c->sql + len, "%s(%s,'%s')", i ? "," : "", row,
                               status);
        len2 +=
            (size_t)sprintf(c->sql2 + len2, "%s%" PRIu64, i ? "," : "", t + i);
    }
    len2 += (size_t)sprintf(c->sql2 + len2, ") AND status = 'N'");
    if (run_rows(c, c->sql, len, "insert", n) == -1 ||
        (o->mode == MODE_UPDATE &&
         run_rows(c, c->sql2, len2, "update", n) == -1)) {
        return -1;
    }
    if (mysql_commit(c->db) != 0) {
        return db_fail(c, "commit");
    }
    c->done += n;
    return 0;
}

/* The original's way: two autocommit statements per row. */
static int
write_each(struct conn *c, uint64_t t)
{
    const struct options *o = c->opt;
    char row[ROW_MAX];
    int len;

    trade(row, sizeof row, t);
    len = sprintf(c->sql,
                  "INSERT INTO `%s` (ticket, login, volume, status) "
                  "VALUES (%s,'N')",
                  o->table, row);
    if (run(c, c->sql, (size_t)len, "insert") == -1) {
        return -1;
    }
    len = sprintf(c->sql,
                  "UPDATE `%s` SET status = 'Y' WHERE ticket = %" PRIu64
                  " AND status = 'N'",
                  o->table, t);
    if (run(c, c->sql, (size_t)len, "update") == -1) {
        return -1;
    }
    c->done++;
    return 0;
}

/* load: the connection's rows into a CSV file of its own (not timed). */
static int
write_csv(struct conn *c)
{
    FILE *f = NULL;
    int fd;

    snprintf(c->csv, sizeof c->csv, "/tmp/mariadb_batch.XXXXXX");
    fd = mkstemp(c->csv);
    if (fd == -1) {
        c->csv[0] = '\0';
        return fail(c, "cannot create a temporary file: %s", strerror(errno));
    }
    f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return fail(c, "cannot open %s: %s", c->csv, strerror(errno));
    }
    for (uint64_t i = 0; i < c->count; i++) {
        char row[ROW_MAX];

        trade(row, sizeof row, c->first + i);
        fprintf(f, "%s,Y\n", row);
    }
    if (fclose(f) != 0) {
        return fail(c, "cannot write %s: %s", c->csv, strerror(errno));
    }
    return 0;
}

/*
 * LOAD DATA LOCAL INFILE of `file` (n rows; "batch" is served by the
 * infile handler) and COMMIT.
 */
static int
load_file(struct conn *c, const char *file, uint64_t n)
{
    int len = snprintf(c->sql, c->cap,
                       "LOAD DATA LOCAL INFILE '%s' INTO TABLE `%s` "
                       "FIELDS TERMINATED BY ',' "
                       "(ticket, login, volume, status)",
                       file, c->opt->table);

    if (run_rows(c, c->sql, (size_t)len, "load data", n) == -1) {
        return -1;
    }
    if (mysql_commit(c->db) != 0) {
        return db_fail(c, "commit");
    }
    c->done += n;
    return 0;
}

static int
load(struct conn *c)
{
    return load_file(c, c->csv, c->count);
}

/* loadb: the local infile handler, serving rows[serve_at, serve_end). */
static int
infile_init(void **ptr, const char *name, void *userdata)
{
    (void)name; /* whatever the server asks for, it gets the batch */
    *ptr = userdata;
    return 0;
}

static int
infile_read(void *ptr, char *buf, unsigned int len)
{
    struct conn *c = ptr;
    size_t n = c->serve_end - c->serve_at;

    if (n > len) {
        n = len;
    }
    memcpy(buf, c->rows + c->serve_at, n);
    c->serve_at += n;
    return (int)n;
}

static void
infile_end(void *ptr)
{
    (void)ptr;
}

static int
infile_error(void *ptr, char *msg, unsigned int len)
{
    (void)ptr;
    snprintf(msg, len, "no rows to send");
    return CR_UNKNOWN_ERROR;
}

/* loadb: every row in memory, and the handler (not timed). */
static int
make_rows(struct conn *c)
{
    size_t at = 0;

    c->rows = malloc(c->count * ROW_MAX + 1);
    c->line_at = malloc((c->count + 1) * sizeof *c->line_at);
    if (c->rows == NULL || c->line_at == NULL) {
        return fail(c, "out of memory");
    }
    for (uint64_t i = 0; i < c->count; i++) {
        char row[ROW_MAX];
        int n;

        trade(row, sizeof row, c->first + i);
        c->line_at[i] = at;
        n = snprintf(c->rows + at, ROW_MAX, "%s,Y\n", row);
        if (n < 0 || n >= ROW_MAX) {
            return fail(c, "a row is too long");
        }
        at += (size_t)n;
    }
    c->line_at[c->count] = at;
    mysql_set_local_infile_handler(c->db, infile_init, infile_read, infile_end,
                                   infile_error, c);
    return 0;
}

/* loadb: rows [i, i + n) of the connection in one LOAD DATA, committed. */
static int
load_batch(struct conn *c, uint64_t i, uint64_t n)
{
    c->serve_at = c->line_at[i];
    c->serve_end = c->line_at[i + n];
    return load_file(c, "batch", n);
}

/* The timed part of one connection's work. */
static void
work(struct conn *c)
{
    const struct options *o = c->opt;
    uint64_t i = 0;
    /* Every thread left the barrier at the same moment: its own clock. */
    double deadline_s = o->duration_s > 0 ? now_s() + o->duration_s : 0;

    if (o->mode == MODE_LOAD) {
        load(c);
        return;
    }
    while (i < c->count && !c->failed) {
        uint64_t n = c->count - i;

        if (deadline_s > 0 && now_s() >= deadline_s) {
            break;
        }
        if (o->mode == MODE_EACH) {
            write_each(c, c->first + i);
            i++;
            continue;
        }
        if (n > (uint64_t)o->batch) {
            n = (uint64_t)o->batch;
        }
        if (o->mode == MODE_LOADB) {
            load_batch(c, i, n);
        } else {
            write_batch(c, c->first + i, n);
        }
        i += n;
    }
}

/* A connection's thread: connect, wait for the others, work. */
static void *
conn_main(void *arg)
{
    struct conn *c = arg;

    /* A LOAD DATA statement is a path and a table name long. */
    c->cap = (size_t)(c->opt->batch < 16 ? 16 : c->opt->batch) * ROW_MAX + 256;
    c->sql = malloc(c->cap);
    c->sql2 = malloc(c->cap);
    if (c->sql == NULL || c->sql2 == NULL) {
        fail(c, "out of memory");
    } else if (connect_db(c) == 0 && c->opt->mode == MODE_LOAD) {
        write_csv(c);
    } else if (c->db != NULL && !c->failed && c->opt->mode == MODE_LOADB) {
        make_rows(c);
    }
    /* Every thread reaches the barrier, failed or not: main waits too. */
    pthread_barrier_wait(c->ready);
    if (!c->failed) {
        work(c);
    }
    if (c->db != NULL) {
        mysql_close(c->db);
        c->db = NULL;
    }
    free(c->sql2);
    free(c->sql);
    free(c->rows);
    free(c->line_at);
    mysql_thread_end();
    return NULL;
}

static void
usage(FILE *out)
{
    fprintf(out, "usage: mariadb_batch (--socket PATH | --host H --port P) "
                 "[--user U]\n"
                 "           [--password P] [--database D] [--table T] "
                 "[--connections C]\n"
                 "           [--rows N] [--batch B] "
                 "[--mode update|insert|each|load|loadb]\n"
                 "           [--ticket-base T] [--duration S]\n");
}

/* Parses an unsigned number in [min, max]; -1 when it is not one. */
static int
number(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    unsigned long long v;

    if (number_parse(s, min, max, &v) == -1) {
        return -1;
    }
    *out = v;
    return 0;
}

static int
is_table_name(const char *name)
{
    size_t len = strlen(name);

    return len > 0 && len <= NAME_MAX_LEN &&
           strspn(name, "abcdefghijklmnopqrstuvwxyz"
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$") == len;
}

static const struct option longopts[] = {
    {"socket", required_argument, NULL, 's'},
    {"host", required_argument, NULL, 'H'},
    {"port", required_argument, NULL, 'P'},
    {"user", required_argument, NULL, 'u'},
    {"password", required_argument, NULL, 'p'},
    {"database", required_argument, NULL, 'd'},
    {"table", required_argument, NULL, 't'},
    {"connections", required_argument, NULL, 'c'},
    {"rows", required_argument, NULL, 'n'},
    {"batch", required_argument, NULL, 'b'},
    {"mode", required_argument, NULL, 'm'},
    {"ticket-base", required_argument, NULL, 'T'},
    {"duration", required_argument, NULL, 'D'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Reads one option into o; -1 when its value is bad (the caller says so). */
static int
set_option(struct options *o, int opt, const char *arg)
{
    uint64_t v = 0;
    char *end;

    switch (opt) {
    case 's':
        o->socket = arg;
        return 0;
    case 'H':
        o->host = arg;
        return 0;
    case 'u':
        o->user = arg;
        return 0;
    case 'p':
        o->password = arg;
        return 0;
    case 'd':
        o->database = arg;
        return 0;
    case 't':
        o->table = arg;
        return 0;
    case 'P':
        if (number(arg, 1, 65535, &v) == -1) {
            break;
        }
        o->port = (unsigned int)v;
        return 0;
    case 'c':
        if (number(arg, 1, MAX_CONNECTIONS, &v) == -1) {
            break;
        }
        o->connections = (int)v;
        return 0;
    case 'n':
        return number(arg, 1, UINT64_MAX / 2, &o->rows) == 0 ? 0 : -1;
    case 'T':
        return number(arg, 1, UINT64_MAX / 2, &o->ticket_base) == 0 ? 0 : -1;
    case 'b':
        if (number(arg, 1, MAX_BATCH, &v) == -1) {
            break;
        }
        o->batch = (int)v;
        return 0;
    case 'm':
        for (int i = 0; mode_names[i] != NULL; i++) {
            if (strcmp(arg, mode_names[i]) == 0) {
                o->mode = (enum mode)i;
                return 0;
            }
        }
        break;
    case 'D':
        o->duration_s = strtod(arg, &end);
        if (*end == '\0' && end != arg && o->duration_s > 0) {
            return 0;
        }
        break;
    default:
        return -1;
    }
    return -1;
}

static int
parse_args(int argc, char **argv, struct options *o)
{
    int opt;
    int idx = 0;

    *o = (struct options){
        .host = "127.0.0.1",
        .port = 3306,
        .user = "www",
        .password = "",
        .database = "example",
        .table = "fee",
        .connections = 2,
        .rows = 100000,
        .batch = 1000,
        .mode = MODE_UPDATE,
        .ticket_base = 1,
    };
    while ((opt = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            exit(0);
        }
        if (set_option(o, opt, optarg) == -1) {
            if (opt != '?') {
                fprintf(stderr, "mariadb_batch: bad value for --%s: %s\n",
                        longopts[idx].name, optarg);
            }
            return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "mariadb_batch: unexpected argument: %s\n",
                argv[optind]);
        return -1;
    }
    if (!is_table_name(o->table)) {
        fprintf(stderr, "mariadb_batch: not a table name: %s\n", o->table);
        return -1;
    }
    if ((uint64_t)o->connections > o->rows) {
        o->connections = (int)o->rows;
    }
    return 0;
}

/* Starts the connections, times their work, prints the line; 0 or 1. */
static int
bench(const struct options *o)
{
    static struct conn conns[MAX_CONNECTIONS];
    pthread_t threads[MAX_CONNECTIONS];
    pthread_barrier_t ready;
    uint64_t per =
        (o->rows + (uint64_t)o->connections - 1) / (uint64_t)o->connections;
    uint64_t rows = 0;
    double start;
    double seconds;
    int rc = 0;

    if (pthread_barrier_init(&ready, NULL, (unsigned)o->connections + 1)) {
        fprintf(stderr, "mariadb_batch: cannot make a barrier\n");
        return 1;
    }
    for (int i = 0; i < o->connections; i++) {
        uint64_t first = (uint64_t)i * per;
        uint64_t left = first < o->rows ? o->rows - first : 0;

        conns[i] = (struct conn){
            .opt = o,
            .ready = &ready,
            .index = i,
            .first = o->ticket_base + first,
            .count = left < per ? left : per,
        };
        if (pthread_create(&threads[i], NULL, conn_main, &conns[i]) != 0) {
            /* The barrier would wait for it forever. */
            fprintf(stderr, "mariadb_batch: cannot start a thread\n");
            exit(1);
        }
    }
    pthread_barrier_wait(&ready);
    start = now_s();
    for (int i = 0; i < o->connections; i++) {
        pthread_join(threads[i], NULL);
    }
    seconds = now_s() - start;
    pthread_barrier_destroy(&ready);
    for (int i = 0; i < o->connections; i++) {
        rows += conns[i].done;
        if (conns[i].failed) {
            fprintf(stderr, "mariadb_batch: connection %d: %s\n", i,
                    conns[i].err);
            rc = 1;
        }
        if (conns[i].csv[0] != '\0') {
            unlink(conns[i].csv);
        }
    }
    printf("rows=%" PRIu64 " seconds=%.3f rows_per_s=%.1f\n", rows, seconds,
           seconds > 0 ? (double)rows / seconds : 0.0);
    return rc;
}

int
main(int argc, char **argv)
{
    struct options o;

    if (parse_args(argc, argv, &o) == -1) {
        usage(stderr);
        return 2;
    }
    if (mysql_library_init(0, NULL, NULL) != 0) {
        fprintf(stderr,
                "mariadb_batch: cannot initialise the client library\n");
        return 1;
    }
    int rc = bench(&o);
    mysql_library_end();
    return rc;
}
