/*
 * test_mysql_fee_trust.c - mysql_fee's password sources, TLS keys and
 * read_timeout, key by key.
 *
 * Links plugins/mysql_fee/trust.c and secret.c with the test host: which
 * password and ssl_mode each set of keys gives, every contradiction
 * refused with its exact reason, and what trust_apply() and trust_check()
 * say about a connection that was never made (no server needed).
 * Connecting over TLS for real is tests/integration/dbtrust.sh's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "scratch.h"
#include "testhost.h"
#include "trust.h"

/* Reads the keys given as NULL-terminated key, value pairs. */
static int
read_with(struct testhost *th, struct trust *t, const char *const *kv)
{
    testhost_init(th, "sink");
    for (size_t i = 0; kv[i] != NULL; i += 2) {
        testhost_set(th, kv[i], kv[i + 1]);
    }
    memset(t, 0, sizeof *t);
    return trust_read_keys(&th->host, t);
}

/* Asserts the keys are refused with exactly `errors` (one per line). */
static void
assert_refused(const char *const *kv, const char *errors)
{
    struct testhost th;
    struct trust t;

    assert_int_equal(read_with(&th, &t, kv), -1);
    assert_string_equal(th.errors, errors);
    trust_free(&t);
    testhost_fini(&th);
}

/* Asserts the keys give ssl_mode `mode`, without an error. */
static void
assert_mode(const char *const *kv, int mode)
{
    struct testhost th;
    struct trust t;

    assert_int_equal(read_with(&th, &t, kv), 0);
    assert_string_equal(th.errors, "");
    assert_int_equal(t.ssl_mode, mode);
    trust_free(&t);
    testhost_fini(&th);
}

/* Writes a password file in the scratch folder; returns its path. */
static const char *
password_file(const char *text, mode_t mode)
{
    const char *path = scratch_path("db.pass");
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static void
trust_defaults_to_no_password_plain_tcp_and_30_seconds(void **state)
{
    static const char *const kv[] = {NULL};
    struct testhost th;
    struct trust t;

    (void)state;
    assert_int_equal(read_with(&th, &t, kv), 0);
    assert_string_equal(t.password, "");
    assert_null(t.secret);
    assert_int_equal(t.ssl_mode, TRUST_SSL_DISABLED);
    assert_null(t.ssl_ca);
    assert_int_equal(t.read_timeout_s, 30);
    trust_free(&t);
    testhost_fini(&th);
}

static void
trust_takes_the_password_key_as_written(void **state)
{
    static const char *const kv[] = {"password", "qwer123", NULL};
    struct testhost th;
    struct trust t;

    (void)state;
    assert_int_equal(read_with(&th, &t, kv), 0);
    assert_string_equal(t.password, "qwer123");
    assert_null(t.secret);
    trust_free(&t);
    testhost_fini(&th);
}

static void
trust_reads_the_password_file_and_forgets_it_when_freed(void **state)
{
    const char *kv[] = {"password_file", NULL, NULL};
    struct testhost th;
    struct trust t;

    (void)state;
    kv[1] = password_file("  p ;w# x  \nnext\n", 0600);
    assert_int_equal(read_with(&th, &t, kv), 0);
    assert_string_equal(t.password, "  p ;w# x  ");
    assert_ptr_equal(t.password, t.secret);
    trust_free(&t);
    assert_null(t.password);
    assert_null(t.secret);
    testhost_fini(&th);
}

static void
trust_reads_the_password_credential(void **state)
{
    static const char *const kv[] = {"password_credential", "db.pass", NULL};
    struct testhost th;
    struct trust t;

    (void)state;
    password_file("from systemd", 0400);
    assert_int_equal(setenv("CREDENTIALS_DIRECTORY", scratch, 1), 0);
    assert_int_equal(read_with(&th, &t, kv), 0);
    assert_string_equal(t.password, "from systemd");
    trust_free(&t);
    testhost_fini(&th);
}

static void
trust_names_the_key_of_a_password_file_it_refuses(void **state)
{
    const char *kv[] = {"password_file", NULL, NULL};
    char want[1024];

    (void)state;
    kv[1] = password_file("qwer123\n", 0640);
    snprintf(want, sizeof want,
             "[sink] password_file: %s can be read by group or others "
             "(mode 0640); chmod 600 it\n",
             kv[1]);
    assert_refused(kv, want);
}

static void
trust_names_the_key_of_a_credential_it_cannot_find(void **state)
{
    static const char *const kv[] = {"password_credential", "db.pass", NULL};

    (void)state;
    assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
    assert_refused(kv, "[sink] password_credential: $CREDENTIALS_DIRECTORY "
                       "is not set (start the daemon from a systemd unit "
                       "with LoadCredential=db.pass:FILE)\n");
}

static void
trust_takes_one_password_source_only(void **state)
{
    static const char *const file_and_pw[] = {"password", "x", "password_file",
                                              "/nonexistent/db.pass", NULL};
    static const char *const cred_and_pw[] = {
        "password", "x", "password_credential", "db.pass", NULL};
    static const char *const cred_and_file[] = {
        "password_file", "/nonexistent/db.pass", "password_credential",
        "db.pass", NULL};

    (void)state;
    assert_refused(file_and_pw,
                   "[sink] password_file: set only one of password, "
                   "password_file and password_credential\n");
    assert_refused(cred_and_pw,
                   "[sink] password_credential: set only one of password, "
                   "password_file and password_credential\n");
    assert_refused(cred_and_file,
                   "[sink] password_credential: set only one of password, "
                   "password_file and password_credential\n");
}

static void
ssl_mode_follows_the_tls_files_when_unset(void **state)
{
    static const char *const ca[] = {"ssl_ca", "/ca.pem", NULL};
    static const char *const cert[] = {"ssl_cert", "/c.pem", "ssl_key",
                                       "/k.pem", NULL};
    static const char *const all[] = {
        "ssl_ca", "/ca.pem", "ssl_cert", "/c.pem", "ssl_key", "/k.pem", NULL};

    (void)state;
    assert_mode(ca, TRUST_SSL_VERIFY_IDENTITY);
    assert_mode(cert, TRUST_SSL_REQUIRED);
    assert_mode(all, TRUST_SSL_VERIFY_IDENTITY);
}

static void
ssl_mode_as_written_wins(void **state)
{
    static const char *const required[] = {"ssl_mode", "required", "ssl_ca",
                                           "/ca.pem", NULL};
    static const char *const bare[] = {"ssl_mode", "required", NULL};
    static const char *const disabled[] = {"ssl_mode", "disabled", NULL};

    (void)state;
    assert_mode(required, TRUST_SSL_REQUIRED);
    assert_mode(bare, TRUST_SSL_REQUIRED);
    assert_mode(disabled, TRUST_SSL_DISABLED);
}

static void
ssl_contradictions_are_refused(void **state)
{
    static const char *const off_with_ca[] = {"ssl_mode", "disabled", "ssl_ca",
                                              "/ca.pem", NULL};
    static const char *const verify_no_ca[] = {"ssl_mode", "verify_identity",
                                               NULL};
    static const char *const cert_only[] = {"ssl_cert", "/c.pem", NULL};
    static const char *const key_only[] = {"ssl_key", "/k.pem", NULL};
    static const char *const unknown[] = {"ssl_mode", "on", NULL};

    (void)state;
    assert_refused(off_with_ca, "[sink] ssl_mode: is disabled, but ssl_ca, "
                                "ssl_cert or ssl_key is set\n");
    assert_refused(verify_no_ca,
                   "[sink] ssl_mode: verify_identity needs ssl_ca (the CA "
                   "that signed the server's certificate)\n");
    assert_refused(cert_only,
                   "[sink] ssl_cert: ssl_cert and ssl_key go together\n");
    assert_refused(key_only,
                   "[sink] ssl_key: ssl_cert and ssl_key go together\n");
    /* The test host's wording; the core's is in dbtrust.sh. */
    assert_refused(unknown, "[sink] ssl_mode: unknown value \"on\"\n");
}

static void
read_timeout_is_bounded(void **state)
{
    static const char *const zero[] = {"read_timeout", "0", NULL};

    (void)state;
    assert_refused(zero, "[sink] read_timeout: 0 is out of range 1..86400\n");
}

/* A trust for the connection tests: mode and CA as given. */
static struct trust
trust_of(int mode, const char *ca)
{
    struct trust t;

    memset(&t, 0, sizeof t);
    t.password = "";
    t.ssl_mode = mode;
    t.ssl_ca = ca;
    t.read_timeout_s = 30;
    return t;
}

static void
apply_names_a_tls_file_it_cannot_read(void **state)
{
    struct trust t = trust_of(TRUST_SSL_VERIFY_IDENTITY, "/nonexistent/ca.pem");
    MYSQL *db = mysql_init(NULL);
    char err[FEED_ERR_MAX] = "";

    (void)state;
    assert_non_null(db);
    assert_int_equal(trust_apply(&t, db, err, sizeof err), -1);
    assert_string_equal(err, "cannot read ssl_ca /nonexistent/ca.pem: No such "
                             "file or directory (the run user must be able "
                             "to)");
    mysql_close(db);
}

static void
apply_sets_the_options_of_each_mode(void **state)
{
    /* Any readable file passes the check; the library reads it later. */
    const char *ca = password_file("not read here\n", 0644);
    MYSQL *db;
    char err[FEED_ERR_MAX] = "";

    (void)state;
    for (int mode = TRUST_SSL_DISABLED; mode <= TRUST_SSL_VERIFY_IDENTITY;
         mode++) {
        struct trust t = trust_of(mode, mode == TRUST_SSL_DISABLED ? NULL : ca);

        db = mysql_init(NULL);
        assert_non_null(db);
        assert_int_equal(trust_apply(&t, db, err, sizeof err), 0);
        assert_string_equal(err, "");
        mysql_close(db);
    }
}

static void
check_refuses_a_connection_without_a_cipher(void **state)
{
    struct trust t = trust_of(TRUST_SSL_REQUIRED, NULL);
    MYSQL *db = mysql_init(NULL);
    char err[FEED_ERR_MAX] = "";

    (void)state;
    assert_non_null(db);
    assert_int_equal(trust_check(&t, db, "db1:3306", err, sizeof err), -1);
    assert_string_equal(err, "connection to db1:3306 has no TLS cipher "
                             "although ssl_mode = required; refusing plain "
                             "text");
    t.ssl_mode = TRUST_SSL_DISABLED;
    assert_int_equal(trust_check(&t, db, "db1:3306", err, sizeof err), 0);
    mysql_close(db);
}

static void
trust_free_takes_null(void **state)
{
    (void)state;
    trust_free(NULL);
}

#define T(name)                                                                \
    cmocka_unit_test_setup_teardown(name, scratch_setup, scratch_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(trust_defaults_to_no_password_plain_tcp_and_30_seconds),
        T(trust_takes_the_password_key_as_written),
        T(trust_reads_the_password_file_and_forgets_it_when_freed),
        T(trust_reads_the_password_credential),
        T(trust_names_the_key_of_a_password_file_it_refuses),
        T(trust_names_the_key_of_a_credential_it_cannot_find),
        T(trust_takes_one_password_source_only),
        T(ssl_mode_follows_the_tls_files_when_unset),
        T(ssl_mode_as_written_wins),
        T(ssl_contradictions_are_refused),
        T(read_timeout_is_bounded),
        T(apply_names_a_tls_file_it_cannot_read),
        T(apply_sets_the_options_of_each_mode),
        T(check_refuses_a_connection_without_a_cipher),
        T(trust_free_takes_null),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    mysql_library_end();
    return failed;
}
