/*
 * keyring.h - the clients zmq_rep lets in with CURVE: the public
 * certificates of a folder (curve_clients).
 */
#ifndef ZMQ_REP_KEYRING_H
#define ZMQ_REP_KEYRING_H

#include <stddef.h>

struct keyring;

/*
 * Loads every NAME.key file of dir into *out (freed with keyring_free()).
 * Any certificate that cannot be read, holds a secret key, or repeats
 * another's key or name fails the whole load: a half-read allowlist would
 * silently lock clients out. Returns 0, or -1 with the reason in err.
 */
int keyring_load(const char *dir, struct keyring **out, char *err,
                 size_t errlen);

/*
 * The name of the client whose public key is public_z85 (40 Z85
 * characters, NUL-terminated), or NULL when the keyring has no such key.
 * The name lives as long as the keyring.
 */
const char *keyring_find(const struct keyring *k, const char *public_z85);

/* How many clients the keyring holds. */
size_t keyring_size(const struct keyring *k);

/* Frees a keyring; takes NULL. */
void keyring_free(struct keyring *k);

#endif
