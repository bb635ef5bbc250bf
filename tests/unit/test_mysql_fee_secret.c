/*
 * test_mysql_fee_secret.c - mysql_fee's password files, rule by rule.
 *
 * Each test writes its files into a scratch folder of its own and reads
 * them through plugins/mysql_fee/secret.c: what is kept of the first line,
 * which files are refused, and every reason given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"
#include "secret.h"

/* Writes len bytes to path with the given mode; the test fails on error. */
static void
write_secret(const char *path, const char *bytes, size_t len, mode_t mode)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* Reads the password back; asserts it equals `want`. */
static void
assert_reads(const char *bytes, size_t len, const char *want)
{
    char err[512] = "";
    char path[SCRATCH_MAX + 16];
    char *pw;

    snprintf(path, sizeof path, "%s", scratch_path("db.pass"));
    write_secret(path, bytes, len, 0600);
    pw = secret_read_file(path, err, sizeof err);
    assert_non_null(pw);
    assert_string_equal(pw, want);
    assert_string_equal(err, "");
    secret_free(pw);
}

/* Reads path; asserts it is refused with "PATH" + `reason`. */
static void
assert_refused(const char *path, const char *reason)
{
    char err[512] = "";
    char want[1024];

    snprintf(want, sizeof want, reason, path);
    assert_null(secret_read_file(path, err, sizeof err));
    assert_string_equal(err, want);
}

/* Writes bytes to db.pass (0600) and asserts the refusal. */
static void
assert_content_refused(const char *bytes, size_t len, const char *reason)
{
    char path[SCRATCH_MAX + 16];

    snprintf(path, sizeof path, "%s", scratch_path("db.pass"));
    write_secret(path, bytes, len, 0600);
    assert_refused(path, reason);
}

#define BYTES(s) s, sizeof s - 1

static void
secret_keeps_leading_and_trailing_blanks(void **state)
{
    (void)state;
    assert_reads(BYTES("  pa ss\t \nsecond line\n"), "  pa ss\t ");
}

static void
secret_keeps_semicolons_and_hashes_as_part_of_the_password(void **state)
{
    (void)state;
    assert_reads(BYTES("pw ;not a comment # nor this\n"),
                 "pw ;not a comment # nor this");
    assert_reads(BYTES(" ;\n"), " ;");
}

static void
secret_reads_a_file_without_a_final_newline(void **state)
{
    (void)state;
    assert_reads(BYTES("qwer123"), "qwer123");
}

static void
secret_takes_only_the_first_line(void **state)
{
    (void)state;
    assert_reads(BYTES("first\nsecond\nthird"), "first");
}

static void
secret_takes_a_line_of_the_longest_length(void **state)
{
    char line[SECRET_MAX + 1];
    char want[SECRET_MAX + 1];

    (void)state;
    memset(line, 'x', SECRET_MAX);
    line[SECRET_MAX] = '\n';
    memset(want, 'x', SECRET_MAX);
    want[SECRET_MAX] = '\0';
    assert_reads(line, sizeof line, want);
}

static void
secret_refuses_a_line_longer_than_the_longest(void **state)
{
    char line[SECRET_MAX + 1];
    char reason[128];

    (void)state;
    memset(line, 'x', sizeof line);
    snprintf(reason, sizeof reason,
             "the first line of %%s is longer than %d bytes", SECRET_MAX);
    assert_content_refused(line, sizeof line, reason);
}

static void
secret_refuses_an_empty_file(void **state)
{
    (void)state;
    assert_content_refused("", 0, "the first line of %s is empty");
}

static void
secret_refuses_an_empty_first_line(void **state)
{
    (void)state;
    assert_content_refused(BYTES("\npassword\n"),
                           "the first line of %s is empty");
}

static void
secret_refuses_a_crlf_line_end(void **state)
{
    (void)state;
    assert_content_refused(
        BYTES("qwer123\r\n"),
        "the first line of %s holds a carriage return (CRLF line ends?)");
}

static void
secret_refuses_a_nul_byte(void **state)
{
    (void)state;
    assert_content_refused(BYTES("qw\0er\n"),
                           "the first line of %s holds a NUL byte");
}

static void
secret_refuses_a_file_the_group_can_read(void **state)
{
    const char *path = scratch_path("db.pass");

    (void)state;
    write_secret(path, BYTES("qwer123\n"), 0640);
    assert_refused(path, "%s can be read by group or others (mode 0640); "
                         "chmod 600 it");
}

static void
secret_refuses_a_file_others_can_read(void **state)
{
    const char *path = scratch_path("db.pass");

    (void)state;
    write_secret(path, BYTES("qwer123\n"), 0604);
    assert_refused(path, "%s can be read by group or others (mode 0604); "
                         "chmod 600 it");
}

static void
secret_accepts_a_file_only_its_owner_can_read(void **state)
{
    char err[512] = "";
    char *pw;

    (void)state;
    write_secret(scratch_path("db.pass"), BYTES("qwer123\n"), 0400);
    pw = secret_read_file(scratch_path("db.pass"), err, sizeof err);
    assert_non_null(pw);
    assert_string_equal(pw, "qwer123");
    secret_free(pw);
}

static void
secret_refuses_a_symbolic_link(void **state)
{
    char target[SCRATCH_MAX + 16];
    char link[SCRATCH_MAX + 16];

    (void)state;
    snprintf(target, sizeof target, "%s", scratch_path("real.pass"));
    snprintf(link, sizeof link, "%s", scratch_path("db.pass"));
    write_secret(target, BYTES("qwer123\n"), 0600);
    assert_int_equal(symlink(target, link), 0);
    assert_refused(link, "%s is a symbolic link, not a regular file");
}

static void
secret_refuses_a_directory(void **state)
{
    const char *path = scratch_path("db.pass");

    (void)state;
    assert_int_equal(mkdir(path, 0700), 0);
    assert_refused(path, "%s is not a regular file");
}

static void
secret_refuses_a_fifo_without_waiting_for_a_writer(void **state)
{
    const char *path = scratch_path("db.pass");

    (void)state;
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_refused(path, "%s is not a regular file");
}

static void
secret_refuses_a_missing_file(void **state)
{
    (void)state;
    assert_refused(scratch_path("none.pass"),
                   "cannot open %s: No such file or directory");
}

static void
secret_frees_null(void **state)
{
    (void)state;
    secret_free(NULL);
}

/* ---------------------------------------------------------------------
 * password_credential: $CREDENTIALS_DIRECTORY.
 */

static void
credential_is_read_from_the_credentials_directory(void **state)
{
    char err[512] = "";
    char *pw;

    (void)state;
    write_secret(scratch_path("db.pass"), BYTES(" ;pw \n"), 0400);
    assert_int_equal(setenv("CREDENTIALS_DIRECTORY", scratch, 1), 0);
    pw = secret_read_credential("db.pass", err, sizeof err);
    assert_non_null(pw);
    assert_string_equal(pw, " ;pw ");
    secret_free(pw);
}

static void
credential_needs_the_credentials_directory(void **state)
{
    char err[512] = "";

    (void)state;
    assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
    assert_null(secret_read_credential("db.pass", err, sizeof err));
    assert_string_equal(err, "$CREDENTIALS_DIRECTORY is not set (start the "
                             "daemon from a systemd unit with "
                             "LoadCredential=db.pass:FILE)");
    assert_int_equal(setenv("CREDENTIALS_DIRECTORY", "", 1), 0);
    assert_null(secret_read_credential("db.pass", err, sizeof err));
    assert_string_equal(err, "$CREDENTIALS_DIRECTORY is not set (start the "
                             "daemon from a systemd unit with "
                             "LoadCredential=db.pass:FILE)");
}

static void
credential_that_is_missing_is_named(void **state)
{
    char err[512] = "";
    char want[1024];

    (void)state;
    assert_int_equal(setenv("CREDENTIALS_DIRECTORY", scratch, 1), 0);
    assert_null(secret_read_credential("db.pass", err, sizeof err));
    snprintf(want, sizeof want,
             "no credential \"db.pass\" in $CREDENTIALS_DIRECTORY (%s); is "
             "LoadCredential=db.pass:FILE in the unit?",
             scratch);
    assert_string_equal(err, want);
}

static void
credential_name_must_be_a_file_name(void **state)
{
    static const char *const bad[] = {"", ".", "..", "../db.pass", "a/b"};
    char err[512];
    char want[128];

    (void)state;
    assert_int_equal(setenv("CREDENTIALS_DIRECTORY", scratch, 1), 0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_null(secret_read_credential(bad[i], err, sizeof err));
        snprintf(want, sizeof want,
                 "\"%s\" is not a credential name (a file name, no '/')",
                 bad[i]);
        assert_string_equal(err, want);
    }
}

static void
credential_follows_the_rules_of_a_password_file(void **state)
{
    char path[SCRATCH_MAX + 16];
    char err[512];
    char want[1024];

    (void)state;
    snprintf(path, sizeof path, "%s", scratch_path("db.pass"));
    write_secret(path, BYTES("qwer123\n"), 0644);
    assert_int_equal(setenv("CREDENTIALS_DIRECTORY", scratch, 1), 0);
    assert_null(secret_read_credential("db.pass", err, sizeof err));
    snprintf(want, sizeof want,
             "%s can be read by group or others (mode 0644); chmod 600 it",
             path);
    assert_string_equal(err, want);
}

#define T(name)                                                                \
    cmocka_unit_test_setup_teardown(name, scratch_setup, scratch_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(secret_keeps_leading_and_trailing_blanks),
        T(secret_keeps_semicolons_and_hashes_as_part_of_the_password),
        T(secret_reads_a_file_without_a_final_newline),
        T(secret_takes_only_the_first_line),
        T(secret_takes_a_line_of_the_longest_length),
        T(secret_refuses_a_line_longer_than_the_longest),
        T(secret_refuses_an_empty_file),
        T(secret_refuses_an_empty_first_line),
        T(secret_refuses_a_crlf_line_end),
        T(secret_refuses_a_nul_byte),
        T(secret_refuses_a_file_the_group_can_read),
        T(secret_refuses_a_file_others_can_read),
        T(secret_accepts_a_file_only_its_owner_can_read),
        T(secret_refuses_a_symbolic_link),
        T(secret_refuses_a_directory),
        T(secret_refuses_a_fifo_without_waiting_for_a_writer),
        T(secret_refuses_a_missing_file),
        T(secret_frees_null),
        T(credential_is_read_from_the_credentials_directory),
        T(credential_needs_the_credentials_directory),
        T(credential_that_is_missing_is_named),
        T(credential_name_must_be_a_file_name),
        T(credential_follows_the_rules_of_a_password_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
