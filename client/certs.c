/*
 * certs.c - a client's CURVE keys from certificate files.
 *
 * Reads the two zcert-format files (lib/zcert.c parses them) and hands
 * the keys to feed_client_set_curve; what the keys mean is curve.c's.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "zcert.h"

FEED_CLIENT_PUBLIC enum feed_client_status
feed_client_load_curve(struct feed_client *c, const char *server_cert,
                       const char *client_cert, char *err, size_t errlen)
{
    struct zcert server;
    struct zcert own;
    enum feed_client_status status;

    if (server_cert == NULL || client_cert == NULL) {
        snprintf(err, errlen,
                 "CURVE needs the server's certificate and the client's");
        return FEED_CLIENT_BAD_KEY;
    }
    if (zcert_load(server_cert, &server, err, errlen) == -1) {
        return FEED_CLIENT_BAD_KEY;
    }
    if (zcert_load_secret(client_cert, &own, err, errlen) == -1) {
        status = FEED_CLIENT_BAD_KEY;
    } else {
        status = feed_client_set_curve(c, server.public_z85, own.public_z85,
                                       own.secret_z85, err, errlen);
    }
    /* The secret key lives on in the client only. */
    explicit_bzero(&own, sizeof own);
    return status;
}
