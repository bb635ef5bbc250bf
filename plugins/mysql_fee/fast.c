/*
 * fast.c - the fast way to write a batch: one round trip.
 *
 * Owns the common case: a batch of at most one chunk whose volumes fit the
 * column exactly goes as "INSERT ...; UPDATE ...; COMMIT" in one
 * multi-statement. The server stops at the first statement that fails, so
 * nothing is committed unless every row was inserted. Whatever this way
 * cannot decide (a replayed ticket, a batch too large) it hands back as
 * FAST_CAREFUL, and careful.c decides. Also reads the results of such a
 * multi-statement for bulk.c.
 */
#include <stdio.h>
#include <string.h>

#include <mysqld_error.h>

#include "mysql_fee.h"

/* Nonzero when every volume fits the column exactly (see fsink). */
int
fast_volumes_fit(const struct fsink *s, const struct feed_batch *b)
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

    if (sql_build_insert(s, b, 0, &end, 0) == -1 || end != b->count) {
        return -1;
    }
    if (s->conf->mark == MARK_UPDATE) {
        at = s->len;
        snprintf(head, sizeof head,
                 ";UPDATE `%s` SET status = 'Y' WHERE ticket IN (",
                 s->conf->table);
        if (sql_build_in_list_at(s, at, head, ") AND status = 'N'", b, 0,
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
enum fast_result
fast_finish(struct fsink *s, const char *const *steps, size_t nsteps, char *err,
            size_t errlen)
{
    size_t step = 0;
    int rc;

    while ((rc = mysql_next_result(s->db)) == 0) {
        step++;
    }
    if (rc > 0) {
        const char *what = step + 1 < nsteps ? steps[step + 1] : "commit";

        /* Not a refusal even for a data error: the INSERT went through. */
        conn_failure(s, what, NULL, err, errlen);
        mysql_rollback(s->db);
        return FAST_RETRY;
    }
    return FAST_OK;
}

/*
 * The common case in one round trip: a plain INSERT, the UPDATE and the
 * COMMIT sent together. A replayed ticket fails the INSERT with a
 * duplicate key, and the batch then goes the careful way (FAST_CAREFUL,
 * nothing kept).
 */
enum fast_result
fast_write(struct fsink *s, const struct feed_batch *b, size_t *bad, char *err,
           size_t errlen)
{
    static const char *const steps[] = {"insert into", "update", "commit"};
    size_t nsteps = s->conf->mark == MARK_UPDATE ? 3 : 2;
    unsigned int warnings;
    enum fast_result r;

    if (build_fast(s, b) == -1) {
        return FAST_CAREFUL;
    }
    if (mysql_real_query(s->db, s->sql, s->len) != 0) {
        unsigned int code = mysql_errno(s->db);
        char why[MYSQL_ERRMSG_SIZE];

        snprintf(why, sizeof why, "%s", mysql_error(s->db));
        s->code = code;
        mysql_rollback(s->db);
        if (code == ER_DUP_ENTRY) {
            return FAST_CAREFUL;
        }
        return errors_insert_refused(s->conf->table, b, 0, b->count, code, why,
                                     bad, err, errlen) == FEED_REJECT
                   ? FAST_REJECT
                   : FAST_RETRY;
    }
    warnings = mysql_warning_count(s->db);
    r = fast_finish(s, steps, nsteps, err, errlen);
    if (r == FAST_OK && warnings > 0) {
        /* Cannot happen for volumes that fit; say so loudly if it does. */
        s->conf->host->log(s->conf->host, FEED_LOG_ERROR,
                           "batch of %zu records committed with %u warnings",
                           b->count, warnings);
    }
    return r;
}
