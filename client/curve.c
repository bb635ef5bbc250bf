/*
 * curve.c - a client's CURVE keys: checked, kept, set on each socket.
 *
 * Owns the three Z85 keys of a client (the server's public key, the
 * client's public and secret keys). Reading them from certificate files
 * is certs.c's business.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "internal.h"

/*
 * Checks one Z85 key (what names it, for the message) and decodes it
 * into raw (32 bytes). Returns 0, or -1 with the reason in err.
 */
static int
decode(const char *what, const char *key, uint8_t *raw, char *err,
       size_t errlen)
{
    if (key == NULL) {
        snprintf(err, errlen, "%s is missing", what);
        return -1;
    }
    if (strlen(key) != FEED_CLIENT_KEY_LEN) {
        snprintf(err, errlen, "%s has %zu characters, not 40", what,
                 strlen(key));
        return -1;
    }
    if (zmq_z85_decode(raw, key) == NULL) {
        snprintf(err, errlen, "%s is not Z85 text", what);
        return -1;
    }
    return 0;
}

FEED_CLIENT_PUBLIC enum feed_client_status
feed_client_set_curve(struct feed_client *c, const char *server_public,
                      const char *client_public, const char *client_secret,
                      char *err, size_t errlen)
{
    uint8_t raw[32];
    char derived[FEED_CLIENT_KEY_LEN + 1];

    if (!zmq_has("curve")) {
        snprintf(err, errlen, "this libzmq has no CURVE");
        return FEED_CLIENT_BAD_KEY;
    }
    if (decode("the server's public key", server_public, raw, err, errlen) ==
            -1 ||
        decode("the client's public key", client_public, raw, err, errlen) ==
            -1 ||
        decode("the client's secret key", client_secret, raw, err, errlen) ==
            -1) {
        return FEED_CLIENT_BAD_KEY;
    }
    /* A pair that does not match would fail the handshake: a timeout. */
    if (zmq_curve_public(derived, client_secret) == -1 ||
        strcmp(derived, client_public) != 0) {
        snprintf(err, errlen,
                 "the client's secret key does not belong to its public key");
        return FEED_CLIENT_BAD_KEY;
    }
    memcpy(c->server_public, server_public, sizeof c->server_public);
    memcpy(c->client_public, client_public, sizeof c->client_public);
    memcpy(c->client_secret, client_secret, sizeof c->client_secret);
    c->curve = true;
    /* The socket in hand has no keys: the next one gets them. */
    if (c->sock != NULL) {
        zmq_close(c->sock);
        c->sock = NULL;
    }
    return FEED_CLIENT_TRUE;
}

int
curve_apply(const struct feed_client *c, void *sock, char *err, size_t errlen)
{
    if (!c->curve) {
        return 0;
    }
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, c->server_public,
                       FEED_CLIENT_KEY_LEN + 1) == -1 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, c->client_public,
                       FEED_CLIENT_KEY_LEN + 1) == -1 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->client_secret,
                       FEED_CLIENT_KEY_LEN + 1) == -1) {
        snprintf(err, errlen, "cannot set the CURVE keys: %s",
                 zmq_strerror(errno));
        return -1;
    }
    return 0;
}
