/*
 * trust.h - what mysql_fee believes about its database connection: the
 * password, TLS and how long the server may stay silent.
 *
 * See trust.c.
 */
#ifndef MYSQL_FEE_TRUST_H
#define MYSQL_FEE_TRUST_H

#include <stddef.h>

#include <mysql.h>

#include <feed/plugin.h>

enum trust_ssl_mode {
    TRUST_SSL_DISABLED = 0,        /* plain TCP */
    TRUST_SSL_REQUIRED = 1,        /* TLS, the server's certificate unchecked */
    TRUST_SSL_VERIFY_IDENTITY = 2, /* TLS, certificate and name checked */
};

/* Read in configure(), then read-only for every worker until trust_free(). */
struct trust {
    const char *password; /* borrowed: the host's string or `secret` */
    char *secret;         /* from password_file or password_credential */
    int ssl_mode;         /* enum trust_ssl_mode */
    /* Absolute paths (the host's strings) or NULL when unset. */
    const char *ssl_ca;
    const char *ssl_cert;
    const char *ssl_key;
    long long read_timeout_s;
};

/*
 * Reads the keys password, password_file, password_credential, ssl_mode,
 * ssl_ca, ssl_cert, ssl_key and read_timeout into t (on the main thread, in
 * configure()). Every mistake is reported through host->conf_error, naming
 * FILE:LINE and the key. Returns 0 or -1; either way trust_free(t) releases
 * what it holds.
 */
int trust_read_keys(const struct feed_host *host, struct trust *t);

/*
 * Sets db's options for t before mysql_real_connect(): TLS and the read
 * timeout. Checks that the TLS files can be read by this process (which
 * by now runs as the configured user). Returns 0, or -1 with the reason
 * in err; that reason is permanent (FEED_FAIL).
 */
int trust_apply(const struct trust *t, MYSQL *db, char *err, size_t errlen);

/*
 * After a connection was made: with ssl_mode required or verify_identity,
 * refuses (-1, the reason in err) a connection that has no TLS cipher, so
 * nothing ever falls back to plain text. `where` names the server.
 */
int trust_check(const struct trust *t, MYSQL *db, const char *where, char *err,
                size_t errlen);

/* Zeroes and frees the password t read from a file. Takes NULL. */
void trust_free(struct trust *t);

#endif
