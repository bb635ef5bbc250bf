/*
 * gate.h - who may connect to zmq_rep: the ZAP handler, the connection
 * count and the log of refused peers.
 */
#ifndef ZMQ_REP_GATE_H
#define ZMQ_REP_GATE_H

#include <stddef.h>

#include <zmq.h>

#include <feed/plugin.h>

#include "acl.h"
#include "keyring.h"

struct gate;

/*
 * Binds the ZAP handler (inproc://zeromq.zap.01) in ctx; call it before
 * any socket of ctx binds, so no peer is ever let in unchecked. curve says
 * whether peers must be CURVE clients found in keys; allow (NULL: any) is
 * checked for every peer. The gate takes keys and allow. Returns the gate,
 * or NULL with the reason in err (keys and allow are then freed).
 */
struct gate *gate_new(const struct feed_host *host, void *ctx, int curve,
                      long long max_connections, long long handshake_timeout_ms,
                      struct keyring *keys, struct acl *allow, char *err,
                      size_t errlen);

/*
 * Watches router's connections (a socket monitor), for max_connections
 * and for logging peers whose handshake failed. Before router binds.
 * Returns 0, or -1 with the reason in err.
 */
int gate_watch(struct gate *g, void *router, char *err, size_t errlen);

/* The gate's two sockets as poll items, for the source's zmq_poll(). */
void gate_poll_items(const struct gate *g, zmq_pollitem_t items[2]);

/*
 * Handles what the poll found on the gate's items: connection events
 * first, then ZAP requests. On the source's thread only.
 */
void gate_serve(struct gate *g, const zmq_pollitem_t items[2]);

/*
 * The name of the CURVE client behind a request: user_id is the request's
 * "User-Id" (the key the ZAP handler vouched for). *allowed says whether
 * that key is still allowed (its certificate may have been removed, then
 * SIGHUP). A revoked client keeps the name it had before the last reload;
 * failing that, its key is its name. The name lives until the next
 * gate_set_keys().
 */
const char *gate_client(const struct gate *g, const char *user_id,
                        int *allowed);

/*
 * Replaces the allowed clients. The gate takes keys and keeps the ones
 * they replace until the next call, for the names of revoked clients.
 */
void gate_set_keys(struct gate *g, struct keyring *keys);

/* Replaces the allowed addresses (the gate takes allow, frees the old). */
void gate_set_allow(struct gate *g, struct acl *allow);

/* Closes the gate's sockets; before the context ends. Takes NULL. */
void gate_free(struct gate *g);

#endif
