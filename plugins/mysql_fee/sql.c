/*
 * sql.c - SQL text built from records.
 *
 * Owns an instance's statement buffer (s->sql, reused by every batch) and
 * the building of the INSERT and the IN lists into it, chunk by chunk.
 * Every value reaches SQL as a numeric literal, and only after each of its
 * characters has been checked (sql_check_numbers): no record text is ever
 * quoted or escaped. Sending the statements is the write paths'.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql_fee.h"

/* Makes room for `more` bytes and a NUL; -1 when out of memory. */
int
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
int
sql_add(struct fsink *s, const char *text)
{
    size_t len = strlen(text);

    if (sql_reserve(s, len) == -1) {
        return -1;
    }
    sql_put(s, text, len);
    return 0;
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

/*
 * Refuses the batch at the first value that is not a number: FEED_REJECT
 * with *bad and err naming the record, else FEED_OK.
 */
enum feed_result
sql_check_numbers(const struct fconf *c, const struct feed_batch *b,
                  size_t *bad, char *err, size_t errlen)
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
 * Builds the INSERT of records [start, *end): as many as one chunk holds.
 * Returns 0, or -1 when out of memory.
 */
int
sql_build_insert(struct fsink *s, const struct feed_batch *b, size_t start,
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
 * [start, *end), from offset `at` of the buffer on (what comes before it
 * stays). Returns 0, or -1 when out of memory.
 */
int
sql_build_in_list_at(struct fsink *s, size_t at, const char *head,
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
int
sql_build_in_list(struct fsink *s, const char *head, const char *tail,
                  const struct feed_batch *b, size_t start, size_t *end)
{
    return sql_build_in_list_at(s, 0, head, tail, b, start, end);
}
