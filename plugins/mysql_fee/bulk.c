/*
 * bulk.c - the bulk way to write a batch: an array-bound INSERT.
 *
 * Owns the prepared INSERT of an instance and its column arrays: a large
 * batch goes as one array-bound statement (MariaDB's bulk protocol: no SQL
 * text to build or parse), then the UPDATE and the COMMIT together, two
 * round trips in all. Like fast.c it hands what it cannot decide (a
 * replayed ticket, a number too large to bind) to the careful way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "mysql_fee.h"

/* Nonzero when the server takes array-bound statements (MariaDB 10.2+). */
int
bulk_supported(MYSQL *db)
{
    unsigned long caps = 0;
    unsigned long extended = 0;

    if (mariadb_get_infov(db, MARIADB_CONNECTION_SERVER_CAPABILITIES, &caps) !=
            0 ||
        mariadb_get_infov(db, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES,
                          &extended) != 0) {
        return 0;
    }
    return !(caps & CLIENT_MYSQL) &&
           (extended & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32)) != 0;
}

/* Closes the prepared INSERT and frees the column arrays; s stays valid. */
void
bulk_free(struct fsink *s)
{
    if (s->insert != NULL) {
        mysql_stmt_close(s->insert);
        s->insert = NULL;
    }
    free(s->tickets);
    free(s->logins);
    free(s->volumes);
    free(s->volume_lens);
    s->tickets = NULL;
    s->logins = NULL;
    s->volumes = NULL;
    s->volume_lens = NULL;
    s->bulk_cap = 0;
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
        void *n =
            v ? realloc(s->volume_lens, b->count * sizeof *s->volume_lens) : 0;

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
        snprintf(err, errlen, "insert into %s: out of memory", s->conf->table);
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
 * UPDATE and the COMMIT together. Same rules as fast_write().
 */
enum fast_result
bulk_write(struct fsink *s, const struct feed_batch *b, char *err,
           size_t errlen)
{
    static const char *const steps[] = {"update", "commit"};
    size_t nsteps = s->conf->mark == MARK_UPDATE ? 2 : 1;
    char head[128];
    size_t end = b->count;
    unsigned int code;

    /* Nothing about the data is known before the INSERT: never a refusal. */
    s->code = prepare_insert(s, err, errlen);
    if (s->code != 0) {
        return FAST_RETRY;
    }
    if (bind_columns(s, b) == -1) {
        return FAST_CAREFUL;
    }
    if (mysql_stmt_execute(s->insert) != 0) {
        code = mysql_stmt_errno(s->insert);
        s->code = code;
        if (code == ER_DUP_ENTRY) {
            mysql_rollback(s->db);
            return FAST_CAREFUL;
        }
        snprintf(err, errlen, "insert into %s: %s (%u)", s->conf->table,
                 mysql_stmt_error(s->insert), code);
        mysql_rollback(s->db);
        return errors_write_outcome(code) == FEED_REJECT ? FAST_REJECT
                                                         : FAST_RETRY;
    }
    s->len = 0;
    if (s->conf->mark == MARK_UPDATE) {
        snprintf(head, sizeof head,
                 "UPDATE `%s` SET status = 'Y' WHERE ticket IN (",
                 s->conf->table);
        if (sql_build_in_list(s, head, ") AND status = 'N';", b, 0, &end) ==
            -1) {
            mysql_rollback(s->db);
            snprintf(err, errlen, "out of memory");
            return FAST_RETRY;
        }
    }
    if (end != b->count || sql_add(s, "COMMIT") == -1) {
        mysql_rollback(s->db);
        return FAST_CAREFUL;
    }
    if (mysql_real_query(s->db, s->sql, s->len) != 0) {
        /* Not a refusal even for a data error: the INSERT went through. */
        conn_failure(s, nsteps == 2 ? "update" : "commit", NULL, err, errlen);
        mysql_rollback(s->db);
        return FAST_RETRY;
    }
    return fast_finish(s, steps, nsteps, err, errlen);
}
