/*
 * msg.c - one request on its way through the pipeline.
 *
 * Owns a request's memory: one allocation for the header, reply address
 * and body, one for its records. Records point into the body, so a msg is
 * never copied or moved once parsed.
 */
#include "msg.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

struct msg *
msg_new(const void *tag, size_t tag_len, const void *body, size_t len,
        const char *client)
{
    size_t clen = client != NULL ? strnlen(client, FEED_CLIENT_MAX - 1) : 0;
    struct msg *m = malloc(sizeof *m + tag_len + len + 1 + clen + 1);
    struct timespec ts;
    char *c;

    if (m == NULL) {
        return NULL;
    }
    /* Receipt, twice: wall clock for sinks, monotonic for the ack delay. */
    clock_gettime(CLOCK_REALTIME, &ts);
    m->received_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    m->received_us = clock_us();
    m->next = NULL;
    m->values = NULL;
    m->lines = NULL;
    m->nrec = 0;
    m->cap = 0;
    m->refusal = NULL;
    m->refused = 0;
    m->len = len;
    m->tag_len = (uint16_t)tag_len;
    if (tag_len > 0) {
        memcpy(m->data, tag, tag_len);
    }
    if (len > 0) {
        memcpy(m->data + tag_len, body, len);
    }
    m->data[tag_len + len] = '\0';
    c = m->data + tag_len + len + 1;
    if (clen > 0) {
        memcpy(c, client, clen);
    }
    c[clen] = '\0';
    m->client = c;
    return m;
}

void
msg_free(struct msg *m)
{
    if (m == NULL) {
        return;
    }
    free(m->values);
    free(m->lines);
    free(m->refusal);
    free(m);
}

void
msg_free_chain(struct msg *m)
{
    while (m != NULL) {
        struct msg *next = m->next;
        msg_free(m);
        m = next;
    }
}

int
msg_add_record(struct msg *m, size_t nfields, uint32_t line,
               const struct feed_value *values)
{
    if (m->nrec == m->cap) {
        uint32_t cap = m->cap == 0 ? 1 : m->cap * 2;
        struct feed_value *v;
        uint32_t *l;

        if (cap < m->cap) {
            return -1;
        }
        v = realloc(m->values, (size_t)cap * nfields * sizeof *v);
        if (v == NULL) {
            return -1;
        }
        m->values = v;
        l = realloc(m->lines, (size_t)cap * sizeof *l);
        if (l == NULL) {
            return -1;
        }
        m->lines = l;
        m->cap = cap;
    }
    memcpy(m->values + (size_t)m->nrec * nfields, values,
           nfields * sizeof *values);
    m->lines[m->nrec++] = line;
    return 0;
}
