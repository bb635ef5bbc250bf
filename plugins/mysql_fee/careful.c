/*
 * careful.c - the careful way to write a batch.
 *
 * Owns the write that works for any batch: INSERT with ON DUPLICATE KEY
 * (an existing ticket is left alone), the warnings read after each chunk,
 * the comparison of replayed tickets with the rows already there, the
 * UPDATE to 'Y' and the COMMIT, a statement at a time, so that a refused
 * value or a conflicting replay is seen, and its record named, before
 * anything is committed. The core narrows a refused batch down to its
 * message with what this file reports. The one-round-trip ways are
 * fast.c's and bulk.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql_fee.h"

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

    if (conn_run(s, "SHOW WARNINGS") == -1 ||
        (res = mysql_store_result(s->db)) == NULL) {
        return conn_failure(s, "show warnings", NULL, err, errlen);
    }
    while (r == FEED_OK && (w = mysql_fetch_row(res)) != NULL) {
        unsigned int code =
            w[1] != NULL ? (unsigned int)strtoul(w[1], NULL, 10) : 0;

        if (w[2] != NULL && errors_class(code) == EC_DATA) {
            r = errors_insert_refused(s->conf->table, b, start, end, code, w[2],
                                      bad, err, errlen);
        }
    }
    mysql_free_result(res);
    return r;
}

/* Inserts every record; counts the rows really inserted in *inserted. */
static enum feed_result
insert_rows(struct fsink *s, const struct feed_batch *b,
            unsigned long long *inserted, size_t *bad, char *err, size_t errlen)
{
    size_t end;

    for (size_t start = 0; start < b->count; start = end) {
        if (sql_build_insert(s, b, start, &end, 1) == -1) {
            snprintf(err, errlen, "out of memory");
            return FEED_RETRY;
        }
        if (mysql_real_query(s->db, s->sql, s->len) != 0) {
            s->code = mysql_errno(s->db);
            return errors_insert_refused(s->conf->table, b, start, end, s->code,
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

        if (sql_build_in_list(s, head, ")", b, start, &end) == -1) {
            snprintf(err, errlen, "out of memory");
            return FEED_RETRY;
        }
        if (mysql_real_query(s->db, s->sql, s->len) != 0 ||
            (res = mysql_store_result(s->db)) == NULL) {
            return conn_failure(s, "select from", s->conf->table, err, errlen);
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
        if (sql_build_in_list(s, head, ") AND status = 'N'", b, start, &end) ==
            -1) {
            snprintf(err, errlen, "out of memory");
            return FEED_RETRY;
        }
        if (mysql_real_query(s->db, s->sql, s->len) != 0) {
            return conn_failure(s, "update", s->conf->table, err, errlen);
        }
    }
    return FEED_OK;
}

/*
 * The careful way, for any batch: insert with ON DUPLICATE KEY UPDATE (an
 * existing ticket is left alone), compare the rows of replayed tickets,
 * mark, commit; a statement at a time, so that warnings and conflicts are
 * seen before COMMIT. FEED_OK only once COMMIT has returned; any failure
 * rolls back.
 */
enum feed_result
careful_write(struct fsink *s, const struct feed_batch *batch, size_t *bad,
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
        conn_failure(s, "commit", NULL, err, errlen);
        r = FEED_RETRY;
    }
    if (r != FEED_OK) {
        /* Its own failure does not matter: the server rolls back too. */
        mysql_rollback(s->db);
    }
    return r;
}
