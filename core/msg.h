/*
 * msg.h - one request on its way through the pipeline.
 */
#ifndef FEED_MSG_H
#define FEED_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <feed/plugin.h>

/*
 * A request, its reply address, and the records parsed from it. Created by
 * the source thread, owned by the queue while queued, by one worker while
 * written, and by the source thread again while it is answered and freed.
 */
struct msg {
    struct msg *next;          /* link in the queue or the reply list */
    struct feed_value *values; /* nrec * nfields values, in schema order */
    uint32_t *lines;           /* nrec line numbers */
    uint32_t nrec;
    uint32_t cap;          /* record slots in values and lines */
    char *refusal;         /* why a sink refused it, or NULL */
    unsigned char refused; /* a sink refused it: the reply is FALSE */
    size_t len;            /* body bytes */
    uint64_t received_us;  /* clock_us() at receipt, for the ack delay */
    int64_t received_ns;   /* CLOCK_REALTIME at msg_new() */
    const char *client;    /* into data: the peer's name, or "" */
    uint16_t tag_len;
    char data[]; /* tag, body, NUL, client, NUL */
};

/*
 * Copies the reply address, body and client name (NULL for none; cut to
 * FEED_CLIENT_MAX - 1 bytes) into a new msg stamped with the time now.
 * Returns NULL when out of memory. Free with msg_free().
 */
struct msg *msg_new(const void *tag, size_t tag_len, const void *body,
                    size_t len, const char *client);

/* Frees the msg and its records. Takes NULL. */
void msg_free(struct msg *m);

/* Frees every msg of a chain linked by next. Takes NULL. */
void msg_free_chain(struct msg *m);

/* Appends m to the chain *head..*tail (both NULL when it is empty). */
static inline void
msg_append(struct msg **head, struct msg **tail, struct msg *m)
{
    m->next = NULL;
    if (*tail != NULL) {
        (*tail)->next = m;
    } else {
        *head = m;
    }
    *tail = m;
}

/* The body: len bytes followed by a NUL. */
static inline const char *
msg_body(const struct msg *m)
{
    return m->data + m->tag_len;
}

/* Appends one record of nfields values. Returns 0 or -1 (out of memory). */
int msg_add_record(struct msg *m, size_t nfields, uint32_t line,
                   const struct feed_value *values);

#endif
