/*
 * internal.h - what client.c and curve.c share: the client itself.
 *
 * Nothing here is installed; include/feed/client.h is the interface.
 */
#ifndef FEED_CLIENT_INTERNAL_H
#define FEED_CLIENT_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>

#include <feed/client.h>

#include "endpoints.h"

/* The library is built with hidden symbols; this marks the API. */
#define FEED_CLIENT_PUBLIC __attribute__((visibility("default")))

/* One client; the thread using it owns all but `stop`. */
struct feed_client {
    void *ctx;
    bool own_ctx; /* ctx was made here and ends with the client */
    struct endpoints ep;
    size_t current; /* the endpoint the socket connects to */
    void *sock;     /* NULL until a send needs it, and after a timeout */
    int timeout_ms;
    unsigned retries;
    unsigned attempts; /* of the last send */
    bool curve;        /* the keys below are set */
    char server_public[FEED_CLIENT_KEY_LEN + 1];
    char client_public[FEED_CLIENT_KEY_LEN + 1];
    char client_secret[FEED_CLIENT_KEY_LEN + 1];
    atomic_bool stop; /* any thread may set it: no more resends */
};

/*
 * Sets the client's CURVE keys on a new socket, when it has any. Returns
 * 0, or -1 with the reason in err.
 */
int curve_apply(const struct feed_client *c, void *sock, char *err,
                size_t errlen);

#endif
