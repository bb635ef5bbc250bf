/*
 * secret.h - the database password of mysql_fee, read from a file.
 *
 * See secret.c for the rules a password file must follow.
 */
#ifndef MYSQL_FEE_SECRET_H
#define MYSQL_FEE_SECRET_H

#include <stddef.h>

/* The longest password a file may hold, in bytes. */
#define SECRET_MAX 1024

/* The environment variable systemd's LoadCredential= sets. */
#define SECRET_CREDENTIALS_ENV "CREDENTIALS_DIRECTORY"

/*
 * Reads the password from the first line of the file at `path`. Returns a
 * NUL-terminated copy that the caller frees with secret_free(), or NULL
 * with the reason in err (which never holds any of the file's content).
 */
char *secret_read_file(const char *path, char *err, size_t errlen);

/*
 * Reads the password from the credential `name` that systemd put in
 * $CREDENTIALS_DIRECTORY (LoadCredential=), with the rules of
 * secret_read_file(). Returns what it returns.
 */
char *secret_read_credential(const char *name, char *err, size_t errlen);

/* Overwrites a password with zeros and frees it. Takes NULL. */
void secret_free(char *secret);

#endif
