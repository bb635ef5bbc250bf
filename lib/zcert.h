/*
 * zcert.h - ZeroMQ CURVE certificates in the text format of czmq's zcert
 * and pyzmq's zmq.auth: read one, check it, write a new pair.
 *
 * A certificate is a ZPL text (rfc.zeromq.org/spec:4) with a `metadata`
 * section (`name = "trader-1"`) and a `curve` section holding
 * `public-key = "<40 Z85 characters>"` and, in the secret file only,
 * `secret-key = "..."`. The public file is NAME.key, the secret one
 * NAME.key_secret.
 */
#ifndef FEED_ZCERT_H
#define FEED_ZCERT_H

#include <stddef.h>

/* Longest client name, in bytes, without the terminating NUL. */
#define ZCERT_NAME_MAX 64
/* Longest certificate file accepted, in bytes. */
#define ZCERT_FILE_MAX 65536

struct zcert {
    char name[ZCERT_NAME_MAX + 1]; /* "" when the file names none */
    char public_z85[41];
    char secret_z85[41]; /* "" unless has_secret */
    int has_secret;
};

/*
 * Parse a certificate from text (len bytes, need not end in NUL). The
 * public key is required, the secret key and the name are optional; keys
 * must be valid Z85 of 32 bytes, and a secret key must belong to the public
 * key. Returns 0, or -1 with the reason (naming the line) in err.
 */
int zcert_parse(const char *text, size_t len, struct zcert *cert, char *err,
                size_t errlen);

/*
 * Load the certificate file at path. It must be a regular file; if it holds
 * a secret key, group and others must have no access to it. A certificate
 * without a name in its metadata is named after its file, without `.key`
 * or `.key_secret`. Returns 0, or -1 with the reason (naming path) in err.
 */
int zcert_load(const char *path, struct zcert *cert, char *err, size_t errlen);

/*
 * zcert_load(), and the file must hold a secret key. Returns 0 or -1 with
 * the reason in err.
 */
int zcert_load_secret(const char *path, struct zcert *cert, char *err,
                      size_t errlen);

/*
 * Whether name can name a client: 1 to ZCERT_NAME_MAX printable ASCII
 * characters, without '"', '\\' or '/'. Returns 0 when it can, else -1
 * with the reason in err.
 */
int zcert_check_name(const char *name, char *err, size_t errlen);

/*
 * Make a new key pair and write it as dir/NAME.key (mode 0644) and
 * dir/NAME.key_secret (mode 0600), both naming NAME in their metadata.
 * Never overwrites: if either file exists, nothing is written. Returns 0,
 * or -1 with the reason in err (and neither file left behind).
 */
int zcert_write_pair(const char *dir, const char *name, char *err,
                     size_t errlen);

#endif
