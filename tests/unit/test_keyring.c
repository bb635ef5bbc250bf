/*
 * test_keyring.c - zmq_rep's allowed CURVE clients: a folder of public
 * certificates, looked up by key, and every reason a folder is refused
 * whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "keyring.h"
#include "scratch.h"
#include "zcert.h"

/* Writes a public certificate of a new key to scratch/file; its key. */
static const char *
cert(const char *file, const char *name)
{
    static char public_z85[41];
    char secret_z85[41];
    FILE *f;

    assert_int_equal(zmq_curve_keypair(public_z85, secret_z85), 0);
    f = fopen(scratch_path(file), "w");
    assert_non_null(f);
    if (name != NULL) {
        fprintf(f, "metadata\n    name = \"%s\"\n", name);
    }
    fprintf(f, "curve\n    public-key = \"%s\"\n", public_z85);
    assert_int_equal(fclose(f), 0);
    return public_z85;
}

static void
put(const char *file, const char *text)
{
    FILE *f = fopen(scratch_path(file), "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void
loads_every_key_file_and_finds_clients_by_key(void **state)
{
    struct keyring *k = NULL;
    char err[1024] = "";
    char a[41];
    char b[41];
    char other[41];
    char secret[41];

    (void)state;
    strcpy(a, cert("trader-1.key", NULL));
    strcpy(b, cert("desk.key", "desk 7"));
    cert("ignored.key_secret", "x");
    cert("notes.txt", "y");
    assert_int_equal(keyring_load(scratch, &k, err, sizeof err), 0);
    assert_int_equal(keyring_size(k), 2);
    assert_string_equal(keyring_find(k, a), "trader-1");
    assert_string_equal(keyring_find(k, b), "desk 7");
    assert_int_equal(zmq_curve_keypair(other, secret), 0);
    assert_null(keyring_find(k, other));
    assert_null(keyring_find(k, ""));
    assert_null(keyring_find(k, NULL));
    assert_null(keyring_find(NULL, a));
    assert_int_equal(keyring_size(NULL), 0);
    keyring_free(k);
    keyring_free(NULL);
}

static void
an_empty_folder_allows_nobody(void **state)
{
    struct keyring *k = NULL;
    char err[1024] = "";

    (void)state;
    assert_int_equal(keyring_load(scratch, &k, err, sizeof err), 0);
    assert_int_equal(keyring_size(k), 0);
    assert_null(keyring_find(k, "0123456789012345678901234567890123456789"));
    keyring_free(k);
}

/* keyring_load() must fail with exactly want and give no keyring. */
static void
refused(const char *dir, const char *want)
{
    struct keyring *k = (struct keyring *)1;
    char err[8192] = "";

    assert_int_equal(keyring_load(dir, &k, err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_null(k);
}

static void
refuses_a_folder_that_cannot_be_opened(void **state)
{
    char want[1024];

    (void)state;
    snprintf(want, sizeof want, "cannot open %s: No such file or directory",
             scratch_path("none"));
    refused(scratch_path("none"), want);
}

static void
refuses_a_certificate_that_cannot_be_read(void **state)
{
    char want[1024];

    (void)state;
    cert("good.key", NULL);
    put("bad.key", "curve\n    public-key = \"short\"\n");
    snprintf(want, sizeof want,
             "%s: line 2: public-key is not 40 characters long",
             scratch_path("bad.key"));
    refused(scratch, want);
}

static void
refuses_a_secret_key_in_the_folder(void **state)
{
    char want[1024];
    char from[1024];

    (void)state;
    assert_int_equal(zcert_write_pair(scratch, "leak", want, sizeof want), 0);
    snprintf(from, sizeof from, "%s", scratch_path("leak.key_secret"));
    assert_int_equal(rename(from, scratch_path("leak2.key")), 0);
    unlink(scratch_path("leak.key"));
    snprintf(
        want, sizeof want,
        "%s holds a secret key: a client's secret key stays with the client",
        scratch_path("leak2.key"));
    refused(scratch, want);
}

static void
refuses_two_certificates_of_one_name(void **state)
{
    (void)state;
    cert("a.key", "desk");
    cert("b.key", "desk");
    refused(scratch, "two certificates name the client \"desk\"");
}

static void
refuses_one_key_under_two_names(void **state)
{
    char key[41];
    char text[256];

    (void)state;
    strcpy(key, cert("a.key", NULL));
    snprintf(text, sizeof text, "curve\n    public-key = \"%s\"\n", key);
    put("b.key", text);
    refused(scratch, "clients \"a\" and \"b\" have the same public key");
}

static void
refuses_more_than_ten_thousand_certificates(void **state)
{
    char want[1024];
    char link[1024];

    (void)state;
    cert("one.key", "one");
    for (int i = 0; i < 10000; i++) {
        snprintf(link, sizeof link, "%s/c%05d.key", scratch, i);
        assert_int_equal(symlink("one.key", link), 0);
    }
    snprintf(want, sizeof want, "%s: more than 10000 certificates", scratch);
    refused(scratch, want);
}

/* A folder path so long that a file name in it no longer fits. */
static void
refuses_a_path_too_long(void **state)
{
    char here[PATH_MAX];
    char name[251];
    char want[8192];
    char dir[8192];
    int fd;
    int levels = 0;

    (void)state;
    assert_non_null(getcwd(here, sizeof here));
    assert_int_equal(chdir(scratch), 0);
    memset(name, 'd', 250);
    name[250] = '\0';
    snprintf(dir, sizeof dir, "%s", scratch);
    /*
     * Folders of 250 characters while the folder's own path still fits in
     * 4096 bytes: then a 250-character file name in it does not.
     */
    while (strlen(dir) + 251 <= 4095) {
        assert_int_equal(mkdir(name, 0755), 0);
        assert_int_equal(chdir(name), 0);
        levels++;
        strcat(dir, "/");
        strcat(dir, name);
    }
    memcpy(name + 246, ".key", 5);
    fd = open(name, O_WRONLY | O_CREAT, 0644);
    assert_int_not_equal(fd, -1);
    close(fd);
    snprintf(want, sizeof want, "path too long: %s/%s", dir, name);
    refused(dir, want);
    /* nftw() cannot remove what is deeper than PATH_MAX: take it back. */
    assert_int_equal(unlink(name), 0);
    memset(name, 'd', 250);
    while (levels-- > 0) {
        assert_int_equal(chdir(".."), 0);
        assert_int_equal(rmdir(name), 0);
    }
    assert_int_equal(chdir(here), 0);
}

int
main(void)
{
#define T(name)                                                                \
    cmocka_unit_test_setup_teardown(name, scratch_setup, scratch_teardown)
    const struct CMUnitTest tests[] = {
        T(loads_every_key_file_and_finds_clients_by_key),
        T(an_empty_folder_allows_nobody),
        T(refuses_a_folder_that_cannot_be_opened),
        T(refuses_a_certificate_that_cannot_be_read),
        T(refuses_a_secret_key_in_the_folder),
        T(refuses_two_certificates_of_one_name),
        T(refuses_one_key_under_two_names),
        T(refuses_more_than_ten_thousand_certificates),
        T(refuses_a_path_too_long),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
