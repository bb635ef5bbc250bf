/*
 * feed-send-conn.c - feed-send's connection: a libfeed-client made from
 * the command line.
 *
 * Owns nothing past the call: the client it makes is the caller's. The
 * Lazy Pirate resend, the sockets and the keys are libfeed-client's.
 */
#include <stdio.h>

#include "feed-send.h"

struct feed_client *
conn_open(const struct options *o, void *ctx, size_t index, char *err,
          size_t errlen)
{
    struct feed_client *c = NULL;

    if (feed_client_new(&c, o->endpoints, ctx, err, errlen) !=
        FEED_CLIENT_TRUE) {
        return NULL;
    }
    /* The options bound both well within what the library takes. */
    if (feed_client_set_timeout(c, (int)o->timeout_ms, (unsigned)o->retries,
                                err, errlen) != FEED_CLIENT_TRUE) {
        goto fail;
    }
    if (o->key != NULL && feed_client_load_curve(c, o->server_key, o->key, err,
                                                 errlen) != FEED_CLIENT_TRUE) {
        goto fail;
    }
    feed_client_set_endpoint(c, index);
    return c;

fail:
    feed_client_free(c);
    return NULL;
}
