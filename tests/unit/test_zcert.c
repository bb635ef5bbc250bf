/*
 * test_zcert.c - CURVE certificates: the text czmq and pyzmq write, every
 * way a certificate can be wrong, the secret file's rules, and writing a
 * new pair without ever overwriting one. Interop with pyzmq itself is
 * tests/integration/trust.sh's (python3-zmq is no build dependency).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "scratch.h"
#include "zcert.h"

static char public_z85[41];
static char secret_z85[41];
static char other_public_z85[41];
static char other_secret_z85[41];
static char text[4096];

static int
setup(void **state)
{
    if (zmq_curve_keypair(public_z85, secret_z85) == -1 ||
        zmq_curve_keypair(other_public_z85, other_secret_z85) == -1) {
        return -1;
    }
    (void)state;
    return 0;
}

/* Write text to name in the scratch folder with mode; returns its path. */
static const char *
put(const char *name, const char *body, mode_t mode)
{
    const char *path = scratch_path(name);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(body, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static int
parse(const char *body, struct zcert *cert, char *err, size_t errlen)
{
    return zcert_parse(body, strlen(body), cert, err, errlen);
}

/* A certificate czmq's zcert_save_secret() writes. */
static const char *
czmq_secret(const char *name)
{
    snprintf(text, sizeof text,
             "#   ****  Generated on 2026-12-05 06:00:00 by CZMQ  ****\n"
             "#   ZeroMQ CURVE **Secret** Certificate\n"
             "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its "
             "permissions.\n"
             "\n"
             "metadata\n"
             "    name = \"%s\"\n"
             "curve\n"
             "    public-key = \"%s\"\n"
             "    secret-key = \"%s\"\n",
             name, public_z85, secret_z85);
    return text;
}

static void
reads_the_secret_certificate_czmq_writes(void **state)
{
    struct zcert cert;
    char err[256] = "";

    (void)state;
    assert_int_equal(parse(czmq_secret("trader-1"), &cert, err, sizeof err), 0);
    assert_string_equal(cert.name, "trader-1");
    assert_string_equal(cert.public_z85, public_z85);
    assert_string_equal(cert.secret_z85, secret_z85);
    assert_int_equal(cert.has_secret, 1);
}

static void
reads_unquoted_metadata_and_single_quotes_as_pyzmq_and_zpl_allow(void **state)
{
    struct zcert cert;
    char err[256] = "";

    (void)state;
    snprintf(text, sizeof text,
             "#   ****  Generated on 2026-12-05 by pyzmq  ****\r\n"
             "metadata\r\n"
             "    name = desk 7   # a comment\r\n"
             "    owner = 'ops'\n"
             "curve\n"
             "    public-key = '%s'  # trailing comment\n"
             "    # an indented comment\n"
             "other\n"
             "    public-key = \"ignored: another section\"\n"
             "        deeper = 1\n",
             public_z85);
    assert_int_equal(parse(text, &cert, err, sizeof err), 0);
    assert_string_equal(cert.name, "desk 7");
    assert_string_equal(cert.public_z85, public_z85);
    assert_int_equal(cert.has_secret, 0);
    assert_string_equal(cert.secret_z85, "");
}

static void
an_empty_name_in_metadata_counts_as_none(void **state)
{
    struct zcert cert;
    char err[256] = "";

    (void)state;
    snprintf(text, sizeof text,
             "metadata\n    name = \ncurve\n    public-key = \"%s\"\n",
             public_z85);
    assert_int_equal(parse(text, &cert, err, sizeof err), 0);
    assert_string_equal(cert.name, "");
}

/* Each bad certificate with the reason the reader must give. */
static void
refuses_each_malformed_certificate_with_its_reason(void **state)
{
    static char long_name[80];
    struct {
        const char *body;
        const char *why;
    } cases[] = {
        {"curve\n  public-key = \"%s\"\n",
         "line 2: indentation is not a multiple of 4 spaces"},
        {"curve\n    public-key = \"%s\n", "line 2: missing closing \""},
        {"curve\n    public-key = '%s\n", "line 2: missing closing '"},
        {"curve\n    public-key = \"%s\" x\n", "line 2: invalid syntax"},
        {"curve\n    public-key : \"%s\"\n", "line 2: invalid syntax"},
        {"curve\n    = \"%s\"\n", "line 2: invalid syntax"},
        {"curve\n    /public-key = \"%s\"\n", "line 2: invalid syntax"},
        {"    curve\n    public-key = \"%s\"\n", "line 1: indented too deep"},
        {"curve\n        public-key = \"%s\"\n", "line 2: indented too deep"},
        {"metadata\ncurve\n    secret-key = \"%s\"\n",
         "no public-key in the curve section"},
        {"metadata\n    public-key = \"%s\"\n",
         "no public-key in the curve section"},
        {"curve\n    public-key = \"%s\"\n    public-key = \"x\"\n",
         "line 3: public-key given twice"},
        {"curve\n    public-key = \"%.39s\"\n",
         "line 2: public-key is not 40 characters long"},
        {"curve\n    public-key = \"%s\"\n    secret-key = \"\"\n",
         "line 3: secret-key is not 40 characters long"},
        {"curve\n    public-key = \"%.39s~\"\n",
         "line 2: public-key is not valid Z85"},
        /* "#####" is 85^5 - 1, more than 32 bits can hold. */
        {"curve\n    public-key = \"%.35s#####\"\n",
         "line 2: public-key is not valid Z85"},
        {"metadata\n    name = \"a\"\n    name = \"b\"\ncurve\n"
         "    public-key = \"%s\"\n",
         "line 3: name given twice"},
        {"metadata\n    name = \"a/b\"\ncurve\n    public-key = \"%s\"\n",
         "line 2: name may hold only printable ASCII without quotes, backslashes or slashes"},
        {"metadata\n    name = \"%s\"\n",
         "line 2: name is longer than 64 bytes"},
    };
    struct zcert cert;
    char err[256];

    (void)state;
    memset(long_name, 'n', 65);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *key =
            strstr(cases[i].why, "64 bytes") != NULL ? long_name : public_z85;

        snprintf(text, sizeof text, cases[i].body, key);
        err[0] = '\0';
        assert_int_equal(parse(text, &cert, err, sizeof err), -1);
        assert_string_equal(err, cases[i].why);
        assert_string_equal(cert.public_z85, "");
    }
}

static void
refuses_a_secret_key_given_twice(void **state)
{
    struct zcert cert;
    char err[256] = "";

    (void)state;
    snprintf(text, sizeof text,
             "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n"
             "    secret-key = \"%s\"\n",
             public_z85, secret_z85, secret_z85);
    assert_int_equal(parse(text, &cert, err, sizeof err), -1);
    assert_string_equal(err, "line 4: secret-key given twice");
    assert_string_equal(cert.secret_z85, "");
}

static void
refuses_a_secret_key_of_another_pair(void **state)
{
    struct zcert cert;
    char err[256] = "";

    (void)state;
    snprintf(text, sizeof text,
             "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
             public_z85, other_secret_z85);
    assert_int_equal(parse(text, &cert, err, sizeof err), -1);
    assert_string_equal(err, "secret-key does not belong to public-key");
}

static void
refuses_a_nul_byte(void **state)
{
    struct zcert cert;
    char err[256] = "";

    (void)state;
    assert_int_equal(zcert_parse("curve\0", 6, &cert, err, sizeof err), -1);
    assert_string_equal(err, "holds a NUL byte");
}

static void
checks_names(void **state)
{
    char err[256] = "";

    (void)state;
    assert_int_equal(zcert_check_name("Trader 1 (desk@ldn)", err, sizeof err),
                     0);
    assert_int_equal(zcert_check_name("", err, sizeof err), -1);
    assert_string_equal(err, "name is empty");
    assert_int_equal(
        zcert_check_name("12345678901234567890123456789012345678901234567890"
                         "123456789012345",
                         err, sizeof err),
        -1);
    assert_string_equal(err, "name is longer than 64 bytes");
    assert_int_equal(zcert_check_name("tab\there", err, sizeof err), -1);
    assert_string_equal(
        err,
        "name may hold only printable ASCII without quotes, backslashes or slashes");
    assert_int_equal(zcert_check_name("quote\"", err, sizeof err), -1);
    assert_int_equal(zcert_check_name("back\\slash", err, sizeof err), -1);
    assert_int_equal(zcert_check_name("caf\xc3\xa9", err, sizeof err), -1);
}

static void
loads_a_secret_file_only_its_owner_can_read(void **state)
{
    struct zcert cert;
    char err[512] = "";
    const char *path = put("server.key_secret", czmq_secret("srv"), 0600);

    (void)state;
    assert_int_equal(zcert_load_secret(path, &cert, err, sizeof err), 0);
    assert_string_equal(cert.name, "srv");
    assert_string_equal(cert.secret_z85, secret_z85);
}

static void
refuses_a_secret_file_group_or_others_can_read(void **state)
{
    struct zcert cert;
    char err[512] = "";
    char want[512];
    const char *path = put("server.key_secret", czmq_secret("srv"), 0640);

    (void)state;
    snprintf(want, sizeof want,
             "%s: secret key is open to group or others (mode 0640); "
             "chmod 600 it",
             path);
    assert_int_equal(zcert_load(path, &cert, err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_string_equal(cert.secret_z85, "");

    path = put("server.key_secret", czmq_secret("srv"), 0604);
    snprintf(want, sizeof want,
             "%s: secret key is open to group or others (mode 0604); "
             "chmod 600 it",
             path);
    assert_int_equal(zcert_load_secret(path, &cert, err, sizeof err), -1);
    assert_string_equal(err, want);
}

static void
refuses_a_secret_load_of_a_public_file(void **state)
{
    struct zcert cert;
    char err[512] = "";
    char want[512];
    const char *path;

    (void)state;
    snprintf(text, sizeof text, "curve\n    public-key = \"%s\"\n", public_z85);
    path = put("server.key", text, 0644);
    snprintf(want, sizeof want, "%s: no secret-key in the curve section", path);
    assert_int_equal(zcert_load_secret(path, &cert, err, sizeof err), -1);
    assert_string_equal(err, want);
}

static void
refuses_what_is_not_a_regular_file(void **state)
{
    struct zcert cert;
    char err[1024] = "";
    char want[1024];
    const char *path = scratch_path("fifo.key_secret");

    (void)state;
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(want, sizeof want, "%s is not a regular file", path);
    assert_int_equal(zcert_load(path, &cert, err, sizeof err), -1);
    assert_string_equal(err, want);

    snprintf(want, sizeof want, "%s is not a regular file", scratch);
    assert_int_equal(zcert_load(scratch, &cert, err, sizeof err), -1);
    assert_string_equal(err, want);
}

static void
refuses_a_missing_or_oversized_file(void **state)
{
    struct zcert cert;
    char err[512] = "";
    char want[512];
    const char *path = scratch_path("missing.key");
    char *big = NULL;

    (void)state;
    snprintf(want, sizeof want, "cannot read %s: No such file or directory",
             path);
    assert_int_equal(zcert_load(path, &cert, err, sizeof err), -1);
    assert_string_equal(err, want);

    big = malloc(ZCERT_FILE_MAX + 2);
    assert_non_null(big);
    memset(big, '#', ZCERT_FILE_MAX + 1);
    big[ZCERT_FILE_MAX + 1] = '\0';
    path = put("big.key", big, 0644);
    free(big);
    snprintf(want, sizeof want, "%s is larger than 65536 bytes", path);
    assert_int_equal(zcert_load(path, &cert, err, sizeof err), -1);
    assert_string_equal(err, want);
}

static void
names_the_file_with_a_parse_error(void **state)
{
    struct zcert cert;
    char err[512] = "";
    char want[512];
    const char *path = put("bad.key", "curve\n  x\n", 0644);

    (void)state;
    snprintf(want, sizeof want,
             "%s: line 2: indentation is not a multiple of 4 spaces", path);
    assert_int_equal(zcert_load(path, &cert, err, sizeof err), -1);
    assert_string_equal(err, want);
}

static void
a_certificate_without_a_name_is_named_after_its_file(void **state)
{
    struct zcert cert;
    char err[512] = "";
    const char *path;

    (void)state;
    snprintf(text, sizeof text, "metadata\ncurve\n    public-key = \"%s\"\n",
             public_z85);
    path = put("trader-9.key", text, 0644);
    assert_int_equal(zcert_load(path, &cert, err, sizeof err), 0);
    assert_string_equal(cert.name, "trader-9");

    path = put("desk.pub", text, 0644);
    assert_int_equal(zcert_load(path, &cert, err, sizeof err), 0);
    assert_string_equal(cert.name, "desk.pub");

    snprintf(text, sizeof text,
             "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
             public_z85, secret_z85);
    path = put("trader-8.key_secret", text, 0600);
    assert_int_equal(zcert_load(path, &cert, err, sizeof err), 0);
    assert_string_equal(cert.name, "trader-8");
}

static void
refuses_a_file_name_that_cannot_be_a_name(void **state)
{
    struct zcert cert;
    char err[512] = "";
    char want[512];
    char name[100];
    const char *path;

    (void)state;
    snprintf(text, sizeof text, "curve\n    public-key = \"%s\"\n", public_z85);
    path = put("tab\tname.key", text, 0644);
    snprintf(
        want, sizeof want,
        "%s: no name in its metadata, and its file name cannot be one: "
        "name may hold only printable ASCII without quotes, backslashes or slashes",
        path);
    assert_int_equal(zcert_load(path, &cert, err, sizeof err), -1);
    assert_string_equal(err, want);

    memset(name, 'x', 65);
    strcpy(name + 65, ".key");
    path = put(name, text, 0644);
    snprintf(want, sizeof want,
             "%s: no name in its metadata, and its file name is longer "
             "than 64 bytes",
             path);
    assert_int_equal(zcert_load(path, &cert, err, sizeof err), -1);
    assert_string_equal(err, want);
}

static void
writes_a_pair_that_reads_back_with_the_right_modes(void **state)
{
    struct zcert pub;
    struct zcert sec;
    struct stat st;
    char err[512] = "";
    mode_t old = umask(077);

    (void)state;
    assert_int_equal(zcert_write_pair(scratch, "trader-1", err, sizeof err), 0);
    umask(old);
    assert_int_equal(stat(scratch_path("trader-1.key"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(stat(scratch_path("trader-1.key_secret"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);

    assert_int_equal(
        zcert_load(scratch_path("trader-1.key"), &pub, err, sizeof err), 0);
    assert_string_equal(pub.name, "trader-1");
    assert_int_equal(pub.has_secret, 0);
    assert_int_equal(zcert_load_secret(scratch_path("trader-1.key_secret"),
                                       &sec, err, sizeof err),
                     0);
    assert_string_equal(sec.name, "trader-1");
    assert_string_equal(sec.public_z85, pub.public_z85);
}

static void
never_overwrites_either_file(void **state)
{
    char err[512] = "";
    char want[512];
    struct stat st;

    (void)state;
    put("a.key_secret", "mine\n", 0600);
    snprintf(want, sizeof want, "cannot create %s: File exists",
             scratch_path("a.key_secret"));
    assert_int_equal(zcert_write_pair(scratch, "a", err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_int_equal(stat(scratch_path("a.key"), &st), -1);

    /* The public file exists: the new secret file is taken back. */
    put("b.key", "mine\n", 0644);
    snprintf(want, sizeof want, "cannot create %s: File exists",
             scratch_path("b.key"));
    assert_int_equal(zcert_write_pair(scratch, "b", err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_int_equal(stat(scratch_path("b.key_secret"), &st), -1);
}

static void
refuses_to_write_under_a_bad_name_or_path(void **state)
{
    char err[512] = "";
    char dir[5000];
    char want[64];

    (void)state;
    assert_int_equal(zcert_write_pair(scratch, "../evil", err, sizeof err), -1);
    assert_string_equal(
        err,
        "invalid name: name may hold only printable ASCII without quotes, backslashes or slashes");
    assert_int_equal(zcert_write_pair(scratch, "", err, sizeof err), -1);
    assert_string_equal(err, "invalid name: name is empty");

    memset(dir, 'd', sizeof dir - 1);
    dir[sizeof dir - 1] = '\0';
    /* The message, cut to the buffer as snprintf cuts it. */
    strcpy(want, "path too long: ");
    memcpy(want + 15, dir, sizeof want - 16);
    want[sizeof want - 1] = '\0';
    assert_int_equal(zcert_write_pair(dir, "x", err, sizeof want), -1);
    assert_string_equal(err, want);
}

/* A file size limit makes the write fail: nothing may be left behind. */
static void
a_failed_write_leaves_no_file(void **state)
{
    char err[512] = "";
    char want[512];
    struct rlimit old;
    struct rlimit small;
    struct stat st;

    (void)state;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 100;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    assert_int_equal(zcert_write_pair(scratch, "c", err, sizeof err), -1);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    snprintf(want, sizeof want, "cannot write %s: File too large",
             scratch_path("c.key_secret"));
    assert_string_equal(err, want);
    assert_int_equal(stat(scratch_path("c.key_secret"), &st), -1);
    assert_int_equal(stat(scratch_path("c.key"), &st), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_the_secret_certificate_czmq_writes),
        cmocka_unit_test(
            reads_unquoted_metadata_and_single_quotes_as_pyzmq_and_zpl_allow),
        cmocka_unit_test(an_empty_name_in_metadata_counts_as_none),
        cmocka_unit_test(refuses_each_malformed_certificate_with_its_reason),
        cmocka_unit_test(refuses_a_secret_key_given_twice),
        cmocka_unit_test(refuses_a_secret_key_of_another_pair),
        cmocka_unit_test(refuses_a_nul_byte),
        cmocka_unit_test(checks_names),
        cmocka_unit_test_setup_teardown(
            loads_a_secret_file_only_its_owner_can_read, scratch_setup,
            scratch_teardown),
        cmocka_unit_test_setup_teardown(
            refuses_a_secret_file_group_or_others_can_read, scratch_setup,
            scratch_teardown),
        cmocka_unit_test_setup_teardown(refuses_a_secret_load_of_a_public_file,
                                        scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(refuses_what_is_not_a_regular_file,
                                        scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(refuses_a_missing_or_oversized_file,
                                        scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(names_the_file_with_a_parse_error,
                                        scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(
            a_certificate_without_a_name_is_named_after_its_file, scratch_setup,
            scratch_teardown),
        cmocka_unit_test_setup_teardown(
            refuses_a_file_name_that_cannot_be_a_name, scratch_setup,
            scratch_teardown),
        cmocka_unit_test_setup_teardown(
            writes_a_pair_that_reads_back_with_the_right_modes, scratch_setup,
            scratch_teardown),
        cmocka_unit_test_setup_teardown(never_overwrites_either_file,
                                        scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(
            refuses_to_write_under_a_bad_name_or_path, scratch_setup,
            scratch_teardown),
        cmocka_unit_test_setup_teardown(a_failed_write_leaves_no_file,
                                        scratch_setup, scratch_teardown),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
