/*
 * trust.c - what mysql_fee believes about its database connection.
 *
 * Owns the keys of the contract's "database connection" block: where the
 * password comes from (password, password_file, password_credential; at
 * most one), TLS (ssl_mode, ssl_ca, ssl_cert, ssl_key) and read_timeout,
 * and how they become Connector/C options. Reading a password file is
 * secret.c's; connecting, retrying and classifying errors are the
 * connection code's.
 *
 * ssl_mode defaults to what the other keys say: verify_identity when
 * ssl_ca is set, required when only a client certificate is, disabled
 * when none is. Settings that contradict each other are refused rather
 * than guessed at: TLS files with ssl_mode = disabled, verify_identity
 * without ssl_ca, ssl_cert without ssl_key.
 *
 * The password is read in configure(), as root before privileges are
 * dropped, and kept in memory for the workers' connections until
 * trust_free() zeroes it. TLS files are read by Connector/C at each
 * connect, as the run user.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "secret.h"
#include "trust.h"

static const char *const ssl_modes[] = {"disabled", "required",
                                        "verify_identity", NULL};

/*
 * Reads an optional path key into *out: NULL when unset or empty, else
 * the absolute path. conf_path has no "unset" default, so the raw string
 * is looked at first.
 */
static int
optional_path(const struct feed_host *host, const char *key, const char **out)
{
    const char *raw = NULL;

    *out = NULL;
    if (host->conf_string(host, key, "", &raw) == -1) {
        return -1;
    }
    if (raw[0] == '\0') {
        return 0;
    }
    return host->conf_path(host, key, NULL, out);
}

/* Reads the password from whichever of the three keys is set. */
static int
read_password(const struct feed_host *host, struct trust *t)
{
    const char *inline_pw = NULL;
    const char *file = NULL;
    const char *credential = NULL;
    char err[FEED_ERR_MAX];

    if (host->conf_string(host, "password", "", &inline_pw) == -1 ||
        optional_path(host, "password_file", &file) == -1 ||
        host->conf_string(host, "password_credential", "", &credential) == -1) {
        return -1;
    }
    t->password = inline_pw;
    if (credential[0] != '\0' && (inline_pw[0] != '\0' || file != NULL)) {
        host->conf_error(host, "password_credential",
                         "set only one of password, password_file and "
                         "password_credential");
        return -1;
    }
    if (file != NULL && inline_pw[0] != '\0') {
        host->conf_error(host, "password_file",
                         "set only one of password, password_file and "
                         "password_credential");
        return -1;
    }
    if (file != NULL) {
        t->secret = secret_read_file(file, err, sizeof err);
        if (t->secret == NULL) {
            host->conf_error(host, "password_file", "%s", err);
            return -1;
        }
    } else if (credential[0] != '\0') {
        t->secret = secret_read_credential(credential, err, sizeof err);
        if (t->secret == NULL) {
            host->conf_error(host, "password_credential", "%s", err);
            return -1;
        }
    }
    if (t->secret != NULL) {
        t->password = t->secret;
    }
    return 0;
}

/* Reads ssl_mode, its default following the TLS files (see the top). */
static int
read_ssl_mode(const struct feed_host *host, struct trust *t)
{
    const char *raw = NULL;
    int mode = TRUST_SSL_DISABLED;

    if (host->conf_string(host, "ssl_mode", "", &raw) == -1) {
        return -1;
    }
    if (raw[0] == '\0') {
        mode = t->ssl_ca != NULL ? TRUST_SSL_VERIFY_IDENTITY
               : t->ssl_cert != NULL || t->ssl_key != NULL ? TRUST_SSL_REQUIRED
                                                           : TRUST_SSL_DISABLED;
    } else if (host->conf_enum(host, "ssl_mode", ssl_modes, 0, &mode) == -1) {
        return -1;
    }
    t->ssl_mode = mode;
    if (mode == TRUST_SSL_DISABLED &&
        (t->ssl_ca != NULL || t->ssl_cert != NULL || t->ssl_key != NULL)) {
        host->conf_error(host, "ssl_mode",
                         "is disabled, but ssl_ca, ssl_cert or ssl_key is set");
        return -1;
    }
    if (mode == TRUST_SSL_VERIFY_IDENTITY && t->ssl_ca == NULL) {
        host->conf_error(host, "ssl_mode",
                         "verify_identity needs ssl_ca (the CA that signed "
                         "the server's certificate)");
        return -1;
    }
    return 0;
}

int
trust_read_keys(const struct feed_host *host, struct trust *t)
{
    int bad = 0;

    bad |= read_password(host, t);
    bad |= optional_path(host, "ssl_ca", &t->ssl_ca);
    bad |= optional_path(host, "ssl_cert", &t->ssl_cert);
    bad |= optional_path(host, "ssl_key", &t->ssl_key);
    bad |=
        host->conf_int(host, "read_timeout", 30, 1, 86400, &t->read_timeout_s);
    if ((t->ssl_cert == NULL) != (t->ssl_key == NULL)) {
        host->conf_error(host, t->ssl_cert == NULL ? "ssl_key" : "ssl_cert",
                         "ssl_cert and ssl_key go together");
        bad = -1;
    }
    bad |= read_ssl_mode(host, t);
    return bad ? -1 : 0;
}

/* Checks that this process can read a TLS file: 0, or -1 with err. */
static int
readable(const char *key, const char *path, char *err, size_t errlen)
{
    if (path != NULL && access(path, R_OK) == -1) {
        snprintf(err, errlen,
                 "cannot read %s %s: %s (the run user must be able to)", key,
                 path, strerror(errno));
        return -1;
    }
    return 0;
}

/* mysql_optionsv for a string option; 0 or -1 with err. */
static int
set_path(MYSQL *db, enum mysql_option option, const char *key, const char *path,
         char *err, size_t errlen)
{
    if (path != NULL && mysql_optionsv(db, option, path) != 0) {
        snprintf(err, errlen, "cannot set %s: %s", key, mysql_error(db));
        return -1;
    }
    return 0;
}

int
trust_apply(const struct trust *t, MYSQL *db, char *err, size_t errlen)
{
    unsigned int read_s = (unsigned int)t->read_timeout_s;
    my_bool enforce = 1;
    my_bool verify = t->ssl_mode == TRUST_SSL_VERIFY_IDENTITY;

    /* A read that waits longer is a lost connection (CR_SERVER_LOST). */
    if (mysql_optionsv(db, MYSQL_OPT_READ_TIMEOUT, &read_s) != 0) {
        snprintf(err, errlen, "cannot set read_timeout: %s", mysql_error(db));
        return -1;
    }
    if (t->ssl_mode == TRUST_SSL_DISABLED) {
        return 0;
    }
    if (readable("ssl_ca", t->ssl_ca, err, errlen) == -1 ||
        readable("ssl_cert", t->ssl_cert, err, errlen) == -1 ||
        readable("ssl_key", t->ssl_key, err, errlen) == -1) {
        return -1;
    }
    /* Both set either way: newer Connector/C verifies by default. */
    if (mysql_optionsv(db, MYSQL_OPT_SSL_ENFORCE, &enforce) != 0 ||
        mysql_optionsv(db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify) != 0) {
        snprintf(err, errlen, "cannot set ssl_mode: %s", mysql_error(db));
        return -1;
    }
    if (set_path(db, MYSQL_OPT_SSL_CA, "ssl_ca", t->ssl_ca, err, errlen) ==
            -1 ||
        set_path(db, MYSQL_OPT_SSL_CERT, "ssl_cert", t->ssl_cert, err,
                 errlen) == -1 ||
        set_path(db, MYSQL_OPT_SSL_KEY, "ssl_key", t->ssl_key, err, errlen) ==
            -1) {
        return -1;
    }
    return 0;
}

int
trust_check(const struct trust *t, MYSQL *db, const char *where, char *err,
            size_t errlen)
{
    if (t->ssl_mode != TRUST_SSL_DISABLED && mysql_get_ssl_cipher(db) == NULL) {
        snprintf(err, errlen,
                 "connection to %s has no TLS cipher although ssl_mode = %s; "
                 "refusing plain text",
                 where, ssl_modes[t->ssl_mode]);
        return -1;
    }
    return 0;
}

void
trust_free(struct trust *t)
{
    if (t == NULL) {
        return;
    }
    secret_free(t->secret);
    t->secret = NULL;
    t->password = NULL;
}
