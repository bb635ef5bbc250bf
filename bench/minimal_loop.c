/*
 * minimal_loop.c - the smallest program that gives feed-core's promise:
 * the benchmark's reference for single-trade messages.
 *
 * usage: minimal_loop --endpoint E --host H --port P [--user U]
 *            [--password P] [--database D] [--table T] [--writer]
 *
 * One thread, one ZeroMQ ROUTER socket (bound on E), one MariaDB
 * connection (strict sql_mode, READ COMMITTED, as mysql_fee's session).
 * Each turn of the loop waits for a request, then takes every request
 * already waiting without blocking (up to MAX_REQUESTS), and writes all
 * their trades in one transaction, in one round trip:
 *     INSERT ... status 'N' ...; UPDATE ... SET status = 'Y'
 *     WHERE ticket IN (...) AND status = 'N'; COMMIT
 * and only after the COMMIT answers TRUE to each request. Nothing else:
 * it is a reference, not a daemon. Input must be valid (`ticket,login,
 * volume` lines, digits and one '.' in the volume); a line that is not is
 * answered `FALSE line N: not a trade` and written nowhere. Any database
 * error (a replayed ticket included: there is no replay rule here) ends
 * the program with the error on stderr and exit status 1, and the
 * requests of that batch get no reply: a TRUE is never sent for a row
 * that is not committed.
 *
 * --writer gives the same loop the shape feed-core's contract asks for
 * (source thread, queue, sink worker): the socket thread hands each
 * batch's SQL to a second thread (a mutex and a condition variable, as
 * feed-core's queue), which writes it and hands the outcome back through
 * an eventfd (as feed-core's workers do); only then does the socket
 * thread reply. The batching is the loop's; the two hand-offs per commit
 * are the only difference, so the two variants price that shape.
 *
 * Runs until SIGTERM or SIGINT, then prints one line,
 *     requests=N trades=T commits=C
 * (commits: transactions committed) and exits 0. bench/run checks the
 * table afterwards, as it does for feed-core.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <mysql.h>
#include <zmq.h>

#include "number.h"

/*
 * Requests taken into one transaction at most (REQ clients are in lockstep,
 * so this is also how many clients one turn can serve).
 */
#define MAX_REQUESTS 1024
/* One line of a trade, as csv_trade bounds it. */
#define LINE_MAX_LEN 256
/*
 * How long a wait for the first request lasts before the stop flag is
 * looked at again.
 */
#define POLL_MS 200
#define NAME_MAX_LEN 64

#define SESSION_SQL_MODE                                                       \
    "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"                          \
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"

static volatile sig_atomic_t stopping;

/* A growing text buffer; the loop owns two, for the whole run. */
struct text {
    char *s;
    size_t len;
    size_t cap;
};

/* One request of the current turn: its envelope and what to answer. */
struct request {
    zmq_msg_t id; /* the ROUTER's peer identity frame */
    int bad_line; /* 0: every line a trade; else the first bad line */
};

/* Set by main() from the command line, then read-only. */
struct options {
    const char *endpoint;
    const char *host;
    unsigned int port;
    const char *user;
    const char *password;
    const char *database;
    const char *table;
    int writer; /* --writer: the writes on a thread of their own */
};

/*
 * --writer: the hand-off between the socket thread and the writer. The
 * socket thread sets sql and go under the lock and signals; the writer
 * writes, sets rc, clears go and adds 1 to done (an eventfd).
 */
struct writer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    MYSQL *db;
    const struct text *sql; /* the batch to write, while go */
    uint64_t trades;
    int go;   /* a batch is handed over */
    int quit; /* no more batches */
    int rc;   /* write_batch()'s outcome of the last batch */
    int done; /* eventfd: one per batch written */
};

static void
on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

/* Appends len bytes of s; exits when memory runs out (a bench tool). */
static void
append(struct text *t, const char *s, size_t len)
{
    if (t->len + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;

        while (t->len + len + 1 > cap) {
            cap *= 2;
        }
        t->s = realloc(t->s, cap);
        if (t->s == NULL) {
            fprintf(stderr, "minimal_loop: out of memory\n");
            exit(1);
        }
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, len);
    t->len += len;
    t->s[t->len] = '\0';
}

static void
append_str(struct text *t, const char *s)
{
    append(t, s, strlen(s));
}

/*
 * Splits one line into its three fields; 0 when they are a trade as far
 * as a reference needs (digits, and digits with at most one '.' in the
 * volume, none of them empty), else -1. Enough to keep anything but a
 * number out of the SQL text.
 */
static int
split(const char *line, size_t len, const char *f[3], size_t flen[3])
{
    size_t at = 0;

    for (int i = 0; i < 3; i++) {
        int dots = 0;

        f[i] = line + at;
        flen[i] = 0;
        while (at < len && line[at] != ',') {
            char c = line[at];

            if (c == '.' && i == 2 && dots++ == 0) {
                /* the volume's one point */
            } else if (c < '0' || c > '9') {
                return -1;
            }
            at++;
            flen[i]++;
        }
        if (flen[i] == 0 || (i < 2) != (at < len)) {
            return -1;
        }
        at++;
    }
    return 0;
}

/*
 * Adds the trades of one request body to the INSERT and the IN list.
 * Returns the number of trades, or 0 with *bad_line set to the first line
 * that is not a trade (then nothing of it was added).
 */
static int
add_body(const char *body, size_t len, struct text *ins, struct text *in,
         int *bad_line, int first)
{
    const char *f[3];
    size_t flen[3];
    size_t ins_len = ins->len;
    size_t in_len = in->len;
    int n = 0;

    if (len > 0 && body[len - 1] == '\n') {
        len--;
    }
    for (size_t at = 0; at <= len;) {
        const char *nl = memchr(body + at, '\n', len - at);
        size_t end = nl != NULL ? (size_t)(nl - body) : len;
        size_t line_len = end - at;

        if (line_len > 0 && body[end - 1] == '\r') {
            line_len--;
        }
        if (line_len > LINE_MAX_LEN ||
            split(body + at, line_len, f, flen) == -1) {
            ins->len = ins_len;
            in->len = in_len;
            *bad_line = n + 1;
            return 0;
        }
        append_str(ins, first && n == 0 ? "(" : ",(");
        append(ins, f[0], flen[0]);
        append_str(ins, ",");
        append(ins, f[1], flen[1]);
        append_str(ins, ",");
        append(ins, f[2], flen[2]);
        append_str(ins, ",'N')");
        append_str(in, first && n == 0 ? "" : ",");
        append(in, f[0], flen[0]);
        n++;
        at = end + 1;
    }
    return n;
}

/* Prints why the database call failed; returns -1. */
static int
db_fail(MYSQL *db, const char *what)
{
    fprintf(stderr, "minimal_loop: %s: %s (%u)\n", what, mysql_error(db),
            mysql_errno(db));
    return -1;
}

/* Connects and sets the session up as mysql_fee does; NULL after saying why. */
static MYSQL *
connect_db(const struct options *o)
{
    static const char session[] =
        "SET SESSION sql_mode = '" SESSION_SQL_MODE "', "
        "SESSION tx_isolation = 'READ-COMMITTED'";
    MYSQL *db = mysql_init(NULL);

    if (db == NULL) {
        fprintf(stderr, "minimal_loop: out of memory\n");
        return NULL;
    }
    mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (mysql_real_connect(db, o->host, o->user, o->password, o->database,
                           o->port, NULL, CLIENT_MULTI_STATEMENTS) == NULL) {
        db_fail(db, "cannot connect");
        goto fail;
    }
    if (mysql_real_query(db, session, sizeof session - 1) != 0) {
        db_fail(db, "cannot set up the session");
        goto fail;
    }
    if (mysql_autocommit(db, 0) != 0) {
        db_fail(db, "cannot turn autocommit off");
        goto fail;
    }
    return db;

fail:
    mysql_close(db);
    return NULL;
}

/*
 * Runs "INSERT ...; UPDATE ...; COMMIT" (one round trip) and checks that
 * both statements touched every one of the n rows. 0 once committed, -1
 * after saying why (then nothing may be acknowledged).
 */
static int
write_batch(MYSQL *db, const struct text *sql, uint64_t n)
{
    static const char *const what[] = {"insert", "update", "commit"};
    int i = 0;
    int rc;

    if (mysql_real_query(db, sql->s, sql->len) != 0) {
        return db_fail(db, what[0]);
    }
    do {
        if (i < 2 && mysql_affected_rows(db) != n) {
            fprintf(stderr, "minimal_loop: %s: %llu rows, not %llu\n", what[i],
                    (unsigned long long)mysql_affected_rows(db),
                    (unsigned long long)n);
            return -1;
        }
        i++;
        rc = mysql_next_result(db);
        if (rc > 0) {
            return db_fail(db, what[i < 3 ? i : 2]);
        }
    } while (rc == 0);
    if (i != 3) {
        fprintf(stderr, "minimal_loop: %d results, not 3\n", i);
        return -1;
    }
    return 0;
}

/* The writer thread of --writer: writes each batch handed to it. */
static void *
writer_main(void *arg)
{
    struct writer *w = arg;
    uint64_t one = 1;
    int rc;

    pthread_setname_np(pthread_self(), "worker");
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->go && !w->quit) {
            pthread_cond_wait(&w->wake, &w->lock);
        }
        if (!w->go) {
            break;
        }
        pthread_mutex_unlock(&w->lock);
        rc = write_batch(w->db, w->sql, w->trades);
        pthread_mutex_lock(&w->lock);
        w->rc = rc;
        w->go = 0;
        if (write(w->done, &one, sizeof one) != sizeof one) {
            perror("minimal_loop: eventfd");
            exit(1);
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/*
 * Writes one batch: on this thread, or (w not NULL) handed to the writer
 * and waited for. 0 once committed, -1 after saying why.
 */
static int
commit_batch(struct writer *w, MYSQL *db, const struct text *sql,
             uint64_t trades)
{
    uint64_t n;
    int rc;

    if (w == NULL) {
        return write_batch(db, sql, trades);
    }
    pthread_mutex_lock(&w->lock);
    w->sql = sql;
    w->trades = trades;
    w->go = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    /* The batch is the writer's until it answers, signal or not. */
    while (read(w->done, &n, sizeof n) != sizeof n) {
        if (errno != EINTR) {
            perror("minimal_loop: eventfd");
            exit(1);
        }
    }
    pthread_mutex_lock(&w->lock);
    rc = w->rc;
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* Starts the writer of --writer on db; -1 after saying why. */
static int
writer_start(struct writer *w, MYSQL *db)
{
    sigset_t all;
    sigset_t old;
    int e;

    *w = (struct writer){.db = db};
    w->done = eventfd(0, EFD_CLOEXEC);
    if (w->done == -1) {
        perror("minimal_loop: eventfd");
        return -1;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    /* Signals are the socket thread's: the writer's reads never see EINTR. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    e = pthread_create(&w->thread, NULL, writer_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        fprintf(stderr, "minimal_loop: cannot start the writer: %s\n",
                strerror(e));
        close(w->done);
        return -1;
    }
    return 0;
}

/* Stops the writer (it is idle: every batch was waited for). */
static void
writer_stop(struct writer *w)
{
    pthread_mutex_lock(&w->lock);
    w->quit = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    close(w->done);
}

/* Closes the first n frames. */
static void
close_frames(zmq_msg_t *frames, int n)
{
    for (int i = 0; i < n; i++) {
        zmq_msg_close(&frames[i]);
    }
}

/*
 * Takes one whole request without waiting: frames[0] is the peer's
 * identity, frames[1] the empty delimiter, frames[2] the body. Returns 3,
 * 0 when nothing is waiting (or the message was not a REQ request, which
 * is dropped), -1 on an error.
 */
static int
take(void *sock, zmq_msg_t frames[3])
{
    int n = 0;
    int more = 1;

    while (more) {
        zmq_msg_t f;

        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, sock, n == 0 ? ZMQ_DONTWAIT : 0) == -1) {
            int e = errno;

            zmq_msg_close(&f);
            close_frames(frames, n < 3 ? n : 3);
            errno = e;
            return n == 0 && e == EAGAIN ? 0 : -1;
        }
        more = zmq_msg_more(&f);
        if (n < 3) {
            frames[n] = f;
        } else {
            zmq_msg_close(&f);
        }
        n++;
    }
    if (n != 3 || zmq_msg_size(&frames[1]) != 0) {
        close_frames(frames, n < 3 ? n : 3);
        return 0;
    }
    return 3;
}

/* Sends reply to the peer whose identity frame is id (taken over). */
static int
reply(void *sock, zmq_msg_t *id, const char *text)
{
    if (zmq_msg_send(id, sock, ZMQ_SNDMORE) == -1) {
        zmq_msg_close(id);
        return -1;
    }
    if (zmq_send(sock, "", 0, ZMQ_SNDMORE) == -1 ||
        zmq_send(sock, text, strlen(text), 0) == -1) {
        return -1;
    }
    return 0;
}

/* Counts for the summary line; the loop's own. */
struct counts {
    uint64_t requests;
    uint64_t trades;
    uint64_t commits;
};

/*
 * One turn: every request already waiting (the first one is), one
 * transaction for all their trades, then the replies. 0, or -1 after
 * saying why.
 */
static int
turn(void *sock, MYSQL *db, struct writer *w, const struct options *o,
     struct request *reqs, struct text *sql, struct text *in, struct counts *k)
{
    char bad[64];
    uint64_t trades = 0;
    int n = 0;

    sql->len = 0;
    in->len = 0;
    append_str(sql, "INSERT INTO `");
    append_str(sql, o->table);
    append_str(sql, "` (ticket, login, volume, status) VALUES ");
    while (n < MAX_REQUESTS) {
        zmq_msg_t frames[3];
        int got = take(sock, frames);

        if (got == -1) {
            fprintf(stderr, "minimal_loop: cannot receive: %s\n",
                    zmq_strerror(errno));
            return -1;
        }
        if (got == 0) {
            break;
        }
        reqs[n].bad_line = 0;
        trades += (uint64_t)add_body(zmq_msg_data(&frames[2]),
                                     zmq_msg_size(&frames[2]), sql, in,
                                     &reqs[n].bad_line, trades == 0);
        reqs[n].id = frames[0];
        zmq_msg_close(&frames[1]);
        zmq_msg_close(&frames[2]);
        n++;
    }
    if (trades > 0) {
        append_str(sql, "; UPDATE `");
        append_str(sql, o->table);
        append_str(sql, "` SET status = 'Y' WHERE ticket IN (");
        append(sql, in->s, in->len);
        append_str(sql, ") AND status = 'N'; COMMIT");
        /* TRUE goes out only after commit: that is the promise. */
        if (commit_batch(w, db, sql, trades) == -1) {
            for (int i = 0; i < n; i++) {
                zmq_msg_close(&reqs[i].id);
            }
            return -1;
        }
        k->commits++;
        k->trades += trades;
    }
    for (int i = 0; i < n; i++) {
        const char *text = "TRUE";

        if (reqs[i].bad_line != 0) {
            snprintf(bad, sizeof bad, "FALSE line %d: not a trade",
                     reqs[i].bad_line);
            text = bad;
        }
        if (reply(sock, &reqs[i].id, text) == -1) {
            fprintf(stderr, "minimal_loop: cannot reply: %s\n",
                    zmq_strerror(errno));
        }
    }
    k->requests += (uint64_t)n;
    return 0;
}

/* Binds the ROUTER socket; NULL after saying why. */
static void *
open_router(void *ctx, const char *endpoint)
{
    int zero = 0;
    void *sock = zmq_socket(ctx, ZMQ_ROUTER);

    if (sock == NULL) {
        fprintf(stderr, "minimal_loop: cannot open a ROUTER socket: %s\n",
                zmq_strerror(errno));
        return NULL;
    }
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(sock, endpoint) == -1) {
        fprintf(stderr, "minimal_loop: cannot bind %s: %s\n", endpoint,
                zmq_strerror(errno));
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

/* The loop itself, until a signal; 0 or -1. */
static int
serve(void *sock, MYSQL *db, struct writer *w, const struct options *o,
      struct counts *k)
{
    static struct request reqs[MAX_REQUESTS];
    struct text sql = {0};
    struct text in = {0};
    int rc = 0;

    while (!stopping) {
        zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
        int ready = zmq_poll(&item, 1, POLL_MS);

        if (ready == -1 && errno != EINTR) {
            fprintf(stderr, "minimal_loop: cannot poll: %s\n",
                    zmq_strerror(errno));
            rc = -1;
            break;
        }
        if (ready > 0 && turn(sock, db, w, o, reqs, &sql, &in, k) == -1) {
            rc = -1;
            break;
        }
    }
    free(sql.s);
    free(in.s);
    return rc;
}

static void
usage(FILE *out)
{
    fprintf(out, "usage: minimal_loop --endpoint E --host H --port P "
                 "[--user U]\n"
                 "           [--password P] [--database D] [--table T] "
                 "[--writer]\n");
}

static int
is_table_name(const char *name)
{
    size_t len = strlen(name);

    return len > 0 && len <= NAME_MAX_LEN &&
           strspn(name, "abcdefghijklmnopqrstuvwxyz"
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$") == len;
}

static int
parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'P'},
        {"user", required_argument, NULL, 'u'},
        {"password", required_argument, NULL, 'p'},
        {"database", required_argument, NULL, 'd'},
        {"table", required_argument, NULL, 't'},
        {"writer", no_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned long long port;
    int opt;

    *o = (struct options){
        .host = "127.0.0.1",
        .port = 3306,
        .user = "www",
        .password = "",
        .database = "example",
        .table = "fee",
    };
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'e':
            o->endpoint = optarg;
            break;
        case 'H':
            o->host = optarg;
            break;
        case 'P':
            if (number_parse(optarg, 1, 65535, &port) == -1) {
                fprintf(stderr, "minimal_loop: bad port: %s\n", optarg);
                return -1;
            }
            o->port = (unsigned int)port;
            break;
        case 'u':
            o->user = optarg;
            break;
        case 'p':
            o->password = optarg;
            break;
        case 'd':
            o->database = optarg;
            break;
        case 't':
            o->table = optarg;
            break;
        case 'w':
            o->writer = 1;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc || o->endpoint == NULL) {
        return -1;
    }
    if (!is_table_name(o->table)) {
        fprintf(stderr, "minimal_loop: not a table name: %s\n", o->table);
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = on_signal};
    struct options o;
    struct counts k = {0};
    struct writer w;
    int writing = 0;
    MYSQL *db = NULL;
    void *ctx = NULL;
    void *sock = NULL;
    int rc = 1;

    if (parse_args(argc, argv, &o) == -1) {
        usage(stderr);
        return 2;
    }
    /* No SA_RESTART: a signal must break the poll. */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (mysql_library_init(0, NULL, NULL) != 0) {
        fprintf(stderr, "minimal_loop: cannot initialise the client "
                        "library\n");
        return 1;
    }
    db = connect_db(&o);
    if (db == NULL) {
        goto fail;
    }
    ctx = zmq_ctx_new();
    if (ctx == NULL || (sock = open_router(ctx, o.endpoint)) == NULL) {
        goto fail;
    }
    if (o.writer) {
        if (writer_start(&w, db) == -1) {
            goto fail;
        }
        writing = 1;
    }
    if (serve(sock, db, writing ? &w : NULL, &o, &k) == 0) {
        rc = 0;
    }
    printf("requests=%llu trades=%llu commits=%llu\n",
           (unsigned long long)k.requests, (unsigned long long)k.trades,
           (unsigned long long)k.commits);

fail:
    if (writing) {
        writer_stop(&w);
    }
    if (sock != NULL) {
        zmq_close(sock);
    }
    if (ctx != NULL) {
        zmq_ctx_term(ctx);
    }
    if (db != NULL) {
        mysql_close(db);
    }
    mysql_library_end();
    return rc;
}
