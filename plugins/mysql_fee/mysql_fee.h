/*
 * mysql_fee.h - what the files of the mysql_fee sink share.
 *
 * Owns the plugin's internal types (its configuration, one worker's
 * instance, the error classes, what the fast ways return) and the
 * functions each file offers the others. Nothing here is exported: the
 * plugin is built with hidden visibility and exports only its descriptor.
 *
 * The files, one concern each:
 *   mysql_fee.c  the descriptor, configure() and its keys, and which way
 *                a batch takes
 *   errors.c     what a MariaDB error number says (the error classes)
 *   hosts.c      the `host` list, and when a server is ready
 *   conn.c       one instance: choosing a host from the list, connecting,
 *                setting up the session, closing
 *   sql.c        the statement buffer and building SQL text from records
 *   careful.c    the careful way: a statement at a time, conflicts found
 *                and named before COMMIT
 *   fast.c       the fast way: INSERT, UPDATE and COMMIT in one round trip
 *   bulk.c       the bulk way: an array-bound INSERT, then UPDATE and COMMIT
 *   trust.c      the password's source, TLS and read_timeout (trust.h)
 *   secret.c     reading a password file (secret.h)
 */
#ifndef MYSQL_FEE_H
#define MYSQL_FEE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <mysql.h>

#include <feed/plugin.h>

#include "trust.h"

/* A statement is sent once it holds this many rows or bytes of SQL. */
#define CHUNK_ROWS 1000
#define CHUNK_BYTES (1024 * 1024)

/* Strict: a value that does not fit is an error, never clamped. */
#define SESSION_SQL_MODE                                                       \
    "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"                          \
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"

/* At most this many items in the `host` list. */
#define HOSTS_MAX 16

/* One item of the `host` list. */
struct dbhost {
    char name[256]; /* a name or an address, without brackets */
    unsigned int port;
    char where[320]; /* "name:port", "[v6]:port" or the socket, for messages */
};

enum mark {
    MARK_UPDATE = 0, /* insert 'N', then UPDATE to 'Y' (the original's way) */
    MARK_INSERT = 1, /* insert 'Y' */
};

/* Shared read-only by every instance once configure() returns. */
struct fconf {
    const struct feed_host *host; /* borrowed */
    unsigned long id; /* this configuration's own number (see conn.c) */
    /* The strings are the host's: valid until unconfigure(). */
    const char *hostname; /* the `host` key as written */
    const char *socket;   /* NULL: connect over TCP to a host of the list */
    const char *user;
    const char *database;
    const char *table;
    /* The servers, in the order workers try them; the socket alone. */
    struct dbhost hosts[HOSTS_MAX];
    size_t nhosts;
    long long port;
    long long connect_timeout_s;
    long long lock_wait_timeout_s;
    int mark;
    struct trust trust; /* password, TLS, read_timeout (trust.c) */
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
    size_t at;                /* the host connected to, in conf->hosts */
    MYSQL *db;
    time_t used; /* CLOCK_MONOTONIC seconds of the last call that worked */
    int wsrep;   /* the server is a Galera node (wsrep_on ON) */
    /*
     * The error number of the last failed call of a write, 0 when there
     * was none (or it was not the server's): where to retry depends on it.
     */
    unsigned int code;
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
    int bulk; /* the server takes array-bound statements */
    MYSQL_STMT *insert;
    uint64_t *tickets;
    uint64_t *logins;
    const char **volumes;
    unsigned long *volume_lens;
    size_t bulk_cap;
};

/*
 * What an error number says about the batch and the connection.
 * TRANSIENT: retry later as it is, on the same server. NEXT_HOST: this
 * server is gone, not ready, read-only or full: retry on the next host of
 * the list. OPERATOR: retry, but only a person can fix it (a permanent
 * failure when opening). DATA: the batch is refused.
 */
enum eclass {
    EC_TRANSIENT,
    EC_NEXT_HOST,
    EC_OPERATOR,
    EC_DATA,
};

/*
 * What the fast or the bulk way made of a batch. Only FAST_OK has kept
 * anything; after the others the transaction has been rolled back.
 */
enum fast_result {
    FAST_OK,      /* committed: every record is durable */
    FAST_RETRY,   /* transient; err says why */
    FAST_REJECT,  /* the data is refused; err (and *bad if known) say why */
    FAST_CAREFUL, /* undecided (a replayed ticket, a batch too large for
                     one statement): the careful way must decide */
};

/* mysql_fee.c: the one exported symbol. */
extern const struct feed_plugin feed_plugin;

/* errors.c */

/* The class of a MariaDB error number (client errors included). */
enum eclass errors_class(unsigned int code);
/* What write() returns for an error number: FEED_REJECT or FEED_RETRY. */
enum feed_result errors_write_outcome(unsigned int code);
/* What open() returns for an error number: FEED_RETRY or FEED_FAIL. */
enum feed_result errors_open_outcome(unsigned int code);
/*
 * Reports an error of the INSERT of records [start, end) into `table`:
 * names the record the server refused "at row N", when it did; returns
 * write()'s outcome for the error.
 */
enum feed_result errors_insert_refused(const char *table,
                                       const struct feed_batch *b, size_t start,
                                       size_t end, unsigned int code,
                                       const char *msg, size_t *bad, char *err,
                                       size_t errlen);

/* hosts.c */

/*
 * Parses a comma-separated host list into out[0..*n), at most `max`
 * items; `port` is the port of items without one. Returns 0, or -1 with
 * the reason in err.
 */
int hosts_parse(const char *list, unsigned int port, struct dbhost *out,
                size_t max, size_t *n, char *err, size_t errlen);
/*
 * 1 when a server with these wsrep_on and wsrep_ready values (NULL: not
 * shown) may take writes, else 0.
 */
int hosts_ready(const char *wsrep_on, const char *wsrep_ready);

/* conn.c */

/*
 * Makes an instance for the calling worker thread and connects it to the
 * first ready host of the list, from where the worker's last failure left
 * it; FEED_OK with *out set (free it with conn_close()), else the reason
 * in err and the outcome for open().
 */
enum feed_result conn_open(const struct feed_host *host, const struct fconf *c,
                           struct fsink **out, char *err, size_t errlen);
/* Closes the connection and frees the instance; takes NULL. */
void conn_close(struct fsink *s);
/*
 * After a write failed with FEED_RETRY and err: decides from s->code
 * where the worker's next conn_open() starts, this host or the next.
 */
void conn_route(struct fsink *s, const char *err);
/* Seconds of CLOCK_MONOTONIC. */
time_t conn_now_s(void);
/*
 * Pings the server when the connection has been idle for a while, so that
 * one that went away shows without traffic. FEED_OK, or FEED_RETRY with
 * the reason in err (and the worker routed as after a failed write).
 */
enum feed_result conn_tick(struct fsink *s, char *err, size_t errlen);
/* Sends one statement; 0 or -1 (see mysql_errno). Its rows are the caller's. */
int conn_run(struct fsink *s, const char *sql);
/*
 * Writes `<what> <table>: <message> (<errno>)` into err for the
 * connection's last error (no table when `table` is NULL); returns
 * write()'s outcome for it.
 */
enum feed_result conn_failure(struct fsink *s, const char *what,
                              const char *table, char *err, size_t errlen);

/* sql.c */

/* Makes room for `more` bytes and a NUL in s->sql; -1 when out of memory. */
int sql_reserve(struct fsink *s, size_t more);
/* Appends a string; -1 when out of memory. */
int sql_add(struct fsink *s, const char *text);
/* Refuses the batch at the first value that is not a number. */
enum feed_result sql_check_numbers(const struct fconf *c,
                                   const struct feed_batch *b, size_t *bad,
                                   char *err, size_t errlen);
/*
 * Builds the INSERT of records [start, *end) into s->sql: as many as one
 * chunk holds. With keep_existing, an existing ticket is left as it is.
 * Returns 0, or -1 when out of memory.
 */
int sql_build_insert(struct fsink *s, const struct feed_batch *b, size_t start,
                     size_t *end, int keep_existing);
/*
 * Builds `<head>` ticket, ticket... `<tail>` for the tickets of records
 * [start, *end), from offset `at` of s->sql on. Returns 0 or -1 (memory).
 */
int sql_build_in_list_at(struct fsink *s, size_t at, const char *head,
                         const char *tail, const struct feed_batch *b,
                         size_t start, size_t *end);
/* The same, from the start of the buffer. */
int sql_build_in_list(struct fsink *s, const char *head, const char *tail,
                      const struct feed_batch *b, size_t start, size_t *end);

/* careful.c */

/*
 * Writes any batch the careful way, as one transaction; FEED_OK only once
 * COMMIT has returned, and any failure rolls back.
 */
enum feed_result careful_write(struct fsink *s, const struct feed_batch *batch,
                               size_t *bad, char *err, size_t errlen);

/* fast.c */

/* Nonzero when every volume of b fits the column exactly (see fsink). */
int fast_volumes_fit(const struct fsink *s, const struct feed_batch *b);
/*
 * Writes a batch of at most CHUNK_ROWS records whose volumes fit, in one
 * round trip, or says that the careful way must decide.
 */
enum fast_result fast_write(struct fsink *s, const struct feed_batch *b,
                            size_t *bad, char *err, size_t errlen);
/*
 * Reads the results of the statements in s->sql after the first (already
 * sent and successful), named steps[1..nsteps-1]; rolls back on a failure.
 * Returns FAST_OK or FAST_RETRY with err naming the statement.
 */
enum fast_result fast_finish(struct fsink *s, const char *const *steps,
                             size_t nsteps, char *err, size_t errlen);

/* bulk.c */

/* Nonzero when the server takes array-bound statements (MariaDB 10.2+). */
int bulk_supported(MYSQL *db);
/* Writes a large batch with an array-bound INSERT; see fast_write(). */
enum fast_result bulk_write(struct fsink *s, const struct feed_batch *b,
                            char *err, size_t errlen);
/* Frees what bulk_write() kept in s (its statement and columns). */
void bulk_free(struct fsink *s);

#endif
