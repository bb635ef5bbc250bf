/*
 * test_config.c - the INI reader: typed getters, paths, and every mistake
 * it reports.
 *
 * Each test writes small INI files into a folder of its own (made by
 * setup, removed by teardown) and loads them with the real config.c.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"

#include "config.h"

/* Writes `text` to `name` in the test's folder; returns its path. */
static const char *
write_file(const char *name, const char *text)
{
    const char *path = scratch_path(name);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* Loads `text` as feed.ini; fails the test when it cannot be read. */
static struct config *
load_text(const char *text)
{
    char err[FEED_ERR_MAX] = "";
    struct config *c =
        config_load(write_file("feed.ini", text), err, sizeof err);

    if (c == NULL) {
        fail_msg("config_load: %s", err);
    }
    return c;
}

/* Every error, as config_print_errors() writes them; free() it. */
static char *
errors_of(const struct config *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    config_print_errors(c, f);
    assert_int_equal(fclose(f), 0);
    return text;
}

/* Asserts that the printed errors are exactly `want` (one per line). */
static void
assert_errors(const struct config *c, const char *want)
{
    char *got = errors_of(c);

    assert_string_equal(got, want);
    free(got);
}

/* "FILE:LINE: text\n" with FILE the test's feed.ini. */
static char *
at(unsigned line, const char *text)
{
    static char buf[8][2048];
    static int next;
    char *b = buf[next++ % 8];

    if (line == 0) {
        snprintf(b, sizeof buf[0], "%s/feed.ini: %s\n", scratch, text);
    } else {
        snprintf(b, sizeof buf[0], "%s/feed.ini:%u: %s\n", scratch, line, text);
    }
    return b;
}

/* ------------------------------------------------------------------ */

static void
typed_getters_read_every_kind_of_value(void **state)
{
    static const char *const modes[] = {"commit", "receive", NULL};
    struct config *c = load_text("[core]\n"
                                 "user = www\n"
                                 "threads = 8\n"
                                 "negative = -3\n"
                                 "verbose = Yes\n"
                                 "quiet = off\n"
                                 "[source]\n"
                                 "ack = receive\n");
    const char *s = NULL;
    long long n = 0;
    int b = -1;
    int e = -1;

    (void)state;
    assert_int_equal(config_string(c, "core", "user", NULL, &s), 0);
    assert_string_equal(s, "www");
    assert_int_equal(config_int(c, "core", "threads", 4, 1, 256, &n), 0);
    assert_int_equal(n, 8);
    assert_int_equal(config_int(c, "core", "negative", 0, -5, 5, &n), 0);
    assert_int_equal(n, -3);
    assert_int_equal(config_bool(c, "core", "verbose", 0, &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(config_bool(c, "core", "quiet", 1, &b), 0);
    assert_int_equal(b, 0);
    assert_int_equal(config_enum(c, "source", "ack", modes, 0, &e), 0);
    assert_int_equal(e, 1);
    config_check_unused(c, "core");
    config_check_unused(c, "source");
    assert_int_equal(config_errors(c), 0);
    assert_string_equal(config_first_error(c), "");
    config_free(c);
}

static void
every_spelling_of_a_boolean_is_accepted(void **state)
{
    struct config *c = load_text("[core]\n"
                                 "a = yes\nb = TRUE\nc = On\nd = 1\n"
                                 "e = no\nf = False\ng = OFF\nh = 0\n");
    const char *keys = "abcdefgh";
    int b;

    (void)state;
    for (int i = 0; keys[i] != '\0'; i++) {
        char key[2] = {keys[i], '\0'};
        b = -1;
        assert_int_equal(config_bool(c, "core", key, -1, &b), 0);
        assert_int_equal(b, i < 4 ? 1 : 0);
    }
    assert_int_equal(config_errors(c), 0);
    config_free(c);
}

static void
a_missing_key_yields_the_default(void **state)
{
    static const char *const levels[] = {"error", "info", NULL};
    struct config *c = load_text("[core]\n");
    const char *s = NULL;
    long long n = 0;
    int b = -1;
    int e = -1;

    (void)state;
    assert_int_equal(config_string(c, "core", "user", "nobody", &s), 0);
    assert_string_equal(s, "nobody");
    assert_int_equal(config_int(c, "core", "threads", 4, 1, 256, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(config_bool(c, "core", "verbose", 1, &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(config_enum(c, "core", "log_level", levels, 1, &e), 0);
    assert_int_equal(e, 1);
    /* A missing section is no error when its keys have defaults. */
    assert_int_equal(config_int(c, "sink", "batch_max", 7, 1, 9, &n), 0);
    assert_int_equal(n, 7);
    assert_int_equal(config_errors(c), 0);
    config_free(c);
}

static void
an_unread_key_is_reported_only_by_check_unused_for_its_section(void **state)
{
    struct config *c = load_text("[core]\n"
                                 "threads = 4\n"
                                 "pasword = x\n"
                                 "[sink]\n"
                                 "tabel = fee\n");
    long long n;
    char *want;

    (void)state;
    assert_int_equal(config_int(c, "core", "threads", 1, 1, 9, &n), 0);
    assert_int_equal(config_errors(c), 0);
    config_check_unused(c, "core");
    assert_errors(c, at(3, "[core] unknown key \"pasword\""));
    config_check_unused(c, "sink");
    if (asprintf(&want, "%s%s", at(3, "[core] unknown key \"pasword\""),
                 at(5, "[sink] unknown key \"tabel\"")) == -1) {
        fail();
    }
    assert_errors(c, want);
    free(want);
    config_free(c);
}

static void
a_value_that_is_not_an_integer_is_reported_at_its_line(void **state)
{
    struct config *c = load_text("[core]\n"
                                 "a = many\n"
                                 "b =\n"
                                 "c = +5\n"
                                 "d = 0x10\n"
                                 "e = 5 apples\n"
                                 "f = -\n");
    const char *keys = "abcdef";
    long long n = 42;
    char *want;

    (void)state;
    for (int i = 0; keys[i] != '\0'; i++) {
        char key[2] = {keys[i], '\0'};
        assert_int_equal(config_int(c, "core", key, 1, -9, 9, &n), -1);
    }
    assert_int_equal(n, 42);
    if (asprintf(&want, "%s%s%s%s%s%s",
                 at(2, "[core] a: not an integer: \"many\""),
                 at(3, "[core] b: not an integer: \"\""),
                 at(4, "[core] c: not an integer: \"+5\""),
                 at(5, "[core] d: not an integer: \"0x10\""),
                 at(6, "[core] e: not an integer: \"5 apples\""),
                 at(7, "[core] f: not an integer: \"-\"")) == -1) {
        fail();
    }
    assert_errors(c, want);
    free(want);
    config_free(c);
}

static void
an_integer_out_of_range_names_the_range(void **state)
{
    struct config *c = load_text("[core]\n"
                                 "threads = 0\n"
                                 "queue_max = 257\n"
                                 "huge = 99999999999999999999\n");
    long long n = 42;
    char *want;

    (void)state;
    assert_int_equal(config_int(c, "core", "threads", 4, 1, 256, &n), -1);
    assert_int_equal(config_int(c, "core", "queue_max", 4, 1, 256, &n), -1);
    assert_int_equal(config_int(c, "core", "huge", 4, LLONG_MIN, LLONG_MAX, &n),
                     -1);
    assert_int_equal(n, 42);
    if (asprintf(&want, "%s%s%s",
                 at(2, "[core] threads: 0 is out of range "
                       "1..256"),
                 at(3, "[core] queue_max: 257 is out of range 1..256"),
                 at(4, "[core] huge: 99999999999999999999 is out of range "
                       "-9223372036854775808..9223372036854775807")) == -1) {
        fail();
    }
    assert_errors(c, want);
    free(want);
    config_free(c);
}

static void
a_value_that_is_not_one_of_the_choices_lists_them(void **state)
{
    static const char *const three[] = {"a", "b", "c", NULL};
    static const char *const two[] = {"commit", "receive", NULL};
    static const char *const one[] = {"only", NULL};
    struct config *c = load_text("[core]\n"
                                 "three = d\n"
                                 "two = Commit\n"
                                 "one = other\n");
    int e = 42;
    char *want;

    (void)state;
    assert_int_equal(config_enum(c, "core", "three", three, 0, &e), -1);
    assert_int_equal(config_enum(c, "core", "two", two, 0, &e), -1);
    assert_int_equal(config_enum(c, "core", "one", one, 0, &e), -1);
    assert_int_equal(e, 42);
    if (asprintf(&want, "%s%s%s",
                 at(2, "[core] three: \"d\" is not one of a, b or c"),
                 at(3, "[core] two: \"Commit\" is not one of commit or "
                       "receive"),
                 at(4, "[core] one: \"other\" is not one of only")) == -1) {
        fail();
    }
    assert_errors(c, want);
    free(want);
    config_free(c);
}

static void
a_value_that_is_not_a_boolean_is_reported(void **state)
{
    struct config *c = load_text("[sink]\nhint = maybe\n");
    int b = 42;

    (void)state;
    assert_int_equal(config_bool(c, "sink", "hint", 1, &b), -1);
    assert_int_equal(b, 42);
    assert_errors(c, at(2, "[sink] hint: \"maybe\" is not a boolean (yes or "
                           "no)"));
    config_free(c);
}

static void
a_missing_required_key_blames_the_section_header(void **state)
{
    struct config *c = load_text("; the pipeline\n"
                                 "\n"
                                 "[sink]\n"
                                 "host = db\n");
    const char *s = "untouched";
    char *want;

    (void)state;
    assert_int_equal(config_string(c, "sink", "plugin", NULL, &s), -1);
    assert_string_equal(s, "untouched");
    assert_int_equal(config_path(c, "sink", "socket", NULL, &s), -1);
    if (asprintf(&want, "%s%s", at(3, "[sink] missing key \"plugin\""),
                 at(3, "[sink] missing key \"socket\"")) == -1) {
        fail();
    }
    assert_errors(c, want);
    free(want);
    config_free(c);
}

static void
a_missing_section_is_reported_for_the_file_as_a_whole(void **state)
{
    struct config *c = load_text("[core]\n");
    const char *s;

    (void)state;
    assert_int_equal(config_string(c, "parser", "plugin", NULL, &s), -1);
    assert_errors(c, at(0, "missing section [parser] (it needs key "
                           "\"plugin\")"));
    config_free(c);
}

static void
a_duplicate_key_names_the_line_of_the_first(void **state)
{
    struct config *c = load_text("[core]\n"
                                 "threads = 4\n"
                                 "user = www\n"
                                 "threads = 8\n");
    long long n;

    (void)state;
    assert_int_equal(config_int(c, "core", "threads", 1, 1, 9, &n), 0);
    assert_int_equal(n, 4);
    assert_errors(c, at(4, "[core] duplicate key \"threads\" (first at line "
                           "2)"));
    config_free(c);
}

static void
a_section_named_twice_is_one_section(void **state)
{
    struct config *c = load_text("[core]\n"
                                 "threads = 4\n"
                                 "[sink]\n"
                                 "[core]\n"
                                 "user = www\n"
                                 "threads = 5\n");
    const char *s;
    char *want;

    (void)state;
    assert_int_equal(config_string(c, "core", "user", NULL, &s), 0);
    assert_string_equal(s, "www");
    config_error(c, "core", NULL, "about the section");
    if (asprintf(&want, "%s%s", at(1, "[core] about the section"),
                 at(6, "[core] duplicate key \"threads\" (first at line "
                       "2)")) == -1) {
        fail();
    }
    assert_errors(c, want);
    free(want);
    config_free(c);
}

static void
an_unknown_section_is_reported_once_and_its_keys_are_ignored(void **state)
{
    struct config *c = load_text("[core]\n"
                                 "[databse]\n"
                                 "host = x\n"
                                 "host = y\n"
                                 "[databse]\n"
                                 "port = 1\n");

    (void)state;
    config_check_unused(c, "databse");
    assert_int_equal(config_has_section(c, "databse"), 1);
    assert_errors(c, at(2, "unknown section [databse]"));
    config_free(c);
}

static void
a_key_outside_any_section_is_reported(void **state)
{
    struct config *c = load_text("threads = 4\n[core]\n");

    (void)state;
    assert_errors(c, at(1, "key \"threads\" is outside of any section"));
    config_free(c);
}

static void
a_line_without_an_equals_sign_is_a_syntax_error(void **state)
{
    struct config *c = load_text("[core]\nthreads 4\n");

    (void)state;
    assert_errors(c, at(2, "syntax error: expected \"key = value\" or "
                           "\"[section]\""));
    config_free(c);
}

static void
a_section_header_without_a_closing_bracket_is_a_syntax_error(void **state)
{
    struct config *c = load_text("[core\nthreads = 4\n");
    char *want;

    (void)state;
    /* The header is lost, so its key is outside of any section. */
    if (asprintf(&want, "%s%s", at(1, "syntax error: missing ']'"),
                 at(2, "key \"threads\" is outside of any section")) == -1) {
        fail();
    }
    assert_errors(c, want);
    free(want);
    config_free(c);
}

static void
a_line_with_an_empty_key_name_is_a_syntax_error(void **state)
{
    struct config *c = load_text("[core]\n= 4\n  : 5\n");
    char *want;

    (void)state;
    if (asprintf(&want, "%s%s", at(2, "syntax error: a key name is missing"),
                 at(3, "syntax error: a key name is missing")) == -1) {
        fail();
    }
    assert_errors(c, want);
    free(want);
    config_free(c);
}

static void
a_line_inih_refuses_is_a_syntax_error(void **state)
{
    /* An inline comment before the '=' leaves inih without a key. */
    struct config *c = load_text("[core]\nthreads ; four = 4\n");

    (void)state;
    assert_errors(c, at(2, "syntax error"));
    config_free(c);
}

static void
a_line_longer_than_inih_allows_is_reported_and_one_that_fits_is_read(
    void **state)
{
    char text[1024];
    char key[197];
    const char *s = NULL;
    struct config *c;

    (void)state;
    /* 198 bytes is the longest line inih's 200-byte buffer takes. */
    memset(key, 'k', 196);
    key[196] = '\0';
    snprintf(text, sizeof text, "[core]\n%s=1\nk%s=1\n", key, key);
    c = load_text(text);
    assert_int_equal(config_string(c, "core", key, NULL, &s), 0);
    assert_string_equal(s, "1");
    /* A key that long is no key feed-core knows: the line is named. */
    assert_errors(c, at(3, "line is longer than 198 bytes, the most an INI "
                           "line may hold"));
    config_free(c);
}

static void
a_long_password_is_refused_naming_the_key_but_never_the_value(void **state)
{
    char text[1024];
    char secret[300];
    struct config *c;

    (void)state;
    memset(secret, 's', sizeof secret - 1);
    secret[sizeof secret - 1] = '\0';
    snprintf(text, sizeof text, "[sink]\n  password = %s\n", secret);
    c = load_text(text);
    assert_errors(c, at(2, "[sink] password: line is longer than 198 bytes, "
                           "the most an INI line may hold"));
    assert_null(strstr(config_first_error(c), "sss"));
    config_free(c);
}

static void
a_long_line_without_a_key_is_refused_as_a_line(void **state)
{
    char text[1024];
    char word[300];
    struct config *c;

    (void)state;
    memset(word, 'w', sizeof word - 1);
    word[sizeof word - 1] = '\0';
    /* Before any section, and without '=': only the line can be named. */
    snprintf(text, sizeof text, "%s=1\n[core]\n%s\n", word, word);
    c = load_text(text);
    snprintf(text, sizeof text, "%s%s",
             at(1, "line is longer than 198 bytes, the most an INI line may "
                   "hold"),
             at(3, "line is longer than 198 bytes, the most an INI line may "
                   "hold"));
    assert_errors(c, text);
    config_free(c);
}

static void
every_error_is_reported_at_once_sorted_by_line(void **state)
{
    struct config *c = load_text("threads = 1\n"
                                 "[core]\n"
                                 "threads = many\n"
                                 "bogus\n"
                                 "threads = 5\n"
                                 "[sink\n"
                                 "user = www\n"
                                 "[nope]\n");
    char first[PATH_MAX + 80];
    const char *s;
    long long n;
    char *want;

    (void)state;
    /* Found while parsing: lines 1, 4, 5, 6, 8. */
    assert_int_equal(config_errors(c), 5);
    snprintf(first, sizeof first,
             "%s/feed.ini:1: key \"threads\" is outside of any section",
             scratch);
    assert_string_equal(config_first_error(c), first);
    /* Found afterwards: lines 3, 0 and 7 (still in [core]). */
    assert_int_equal(config_int(c, "core", "threads", 1, 1, 9, &n), -1);
    assert_int_equal(config_string(c, "source", "plugin", NULL, &s), -1);
    config_check_unused(c, "core");
    if (asprintf(&want, "%s%s%s%s%s%s%s%s",
                 at(0, "missing section [source] (it needs key \"plugin\")"),
                 at(1, "key \"threads\" is outside of any section"),
                 at(3, "[core] threads: not an integer: \"many\""),
                 at(4, "syntax error: expected \"key = value\" or "
                       "\"[section]\""),
                 at(5, "[core] duplicate key \"threads\" (first at line 3)"),
                 at(6, "syntax error: missing ']'"),
                 at(7, "[core] unknown key \"user\""),
                 at(8, "unknown section [nope]")) == -1) {
        fail();
    }
    assert_errors(c, want);
    assert_int_equal(config_errors(c), 8);
    free(want);
    config_free(c);
}

static void
inline_comments_are_stripped_but_a_semicolon_inside_a_value_is_kept(
    void **state)
{
    struct config *c = load_text("; a comment line\n"
                                 "# another one\n"
                                 "[core] ; the core\n"
                                 "user = www ; the web user\n"
                                 "group = www\t; tab before\n"
                                 "log = a;b\n"
                                 "pidfile = a # b\n");
    const char *s;

    (void)state;
    assert_int_equal(config_string(c, "core", "user", NULL, &s), 0);
    assert_string_equal(s, "www");
    assert_int_equal(config_string(c, "core", "group", NULL, &s), 0);
    assert_string_equal(s, "www");
    assert_int_equal(config_string(c, "core", "log", NULL, &s), 0);
    assert_string_equal(s, "a;b");
    assert_int_equal(config_string(c, "core", "pidfile", NULL, &s), 0);
    assert_string_equal(s, "a # b");
    assert_int_equal(config_errors(c), 0);
    config_free(c);
}

static void
an_indented_key_is_a_key_not_a_continuation_line(void **state)
{
    struct config *c = load_text("[sink]\n"
                                 "password = secret\n"
                                 "    databse = example\n"
                                 "\tuser = www\n");
    const char *s;

    (void)state;
    assert_int_equal(config_string(c, "sink", "password", NULL, &s), 0);
    assert_string_equal(s, "secret");
    assert_int_equal(config_string(c, "sink", "user", NULL, &s), 0);
    assert_string_equal(s, "www");
    config_check_unused(c, "sink");
    assert_errors(c, at(3, "[sink] unknown key \"databse\""));
    config_free(c);
}

static void
blanks_around_keys_values_and_crlf_endings_are_ignored(void **state)
{
    struct config *c = load_text("[core]\r\n"
                                 "  user   =   www   \r\n"
                                 "group: staff\r\n");
    const char *s;

    (void)state;
    assert_int_equal(config_string(c, "core", "user", NULL, &s), 0);
    assert_string_equal(s, "www");
    assert_int_equal(config_string(c, "core", "group", NULL, &s), 0);
    assert_string_equal(s, "staff");
    assert_int_equal(config_errors(c), 0);
    config_free(c);
}

static void
a_utf8_bom_at_the_start_is_ignored(void **state)
{
    struct config *c = load_text("\xEF\xBB\xBF[core]\nuser = www\n");
    const char *s;

    (void)state;
    assert_int_equal(config_has_section(c, "core"), 1);
    assert_int_equal(config_string(c, "core", "user", NULL, &s), 0);
    assert_string_equal(s, "www");
    assert_int_equal(config_errors(c), 0);
    config_free(c);
}

static void
a_section_header_with_blanks_inside_the_brackets_is_not_ignored(void **state)
{
    /*
     * config.c trims "[ core ]" to the known section "core", but inih
     * hands the handler " core ": the keys must be read (or the header
     * reported), never silently dropped.
     */
    struct config *c = load_text("[ core ]\nthreads = many\n");
    long long n = 0;
    int rc;

    (void)state;
    rc = config_int(c, "core", "threads", 4, 1, 256, &n);
    assert_int_equal(config_has_section(c, "core"), 1);
    if (rc == 0) {
        /* Not read, and not reported either: "many" was ignored. */
        assert_int_not_equal(config_errors(c), 0);
    } else {
        assert_errors(c, at(2, "[core] threads: not an integer: \"many\""));
    }
    config_free(c);
}

static void
config_file_is_the_path_as_given_and_config_dir_its_folder(void **state)
{
    char err[FEED_ERR_MAX];
    char real[PATH_MAX];
    struct config *c;

    (void)state;
    write_file("feed.ini", "[core]\n");
    assert_non_null(realpath(scratch, real));
    c = config_load(scratch_path("feed.ini"), err, sizeof err);
    assert_non_null(c);
    assert_string_equal(config_file(c), scratch_path("feed.ini"));
    assert_string_equal(config_dir(c), real);
    config_free(c);
}

static void
config_has_section_tells_a_header_without_keys_from_no_header(void **state)
{
    struct config *c = load_text("[core]\n[sink]\nhost = db\n");

    (void)state;
    assert_int_equal(config_has_section(c, "core"), 1);
    assert_int_equal(config_has_section(c, "sink"), 1);
    assert_int_equal(config_has_section(c, "source"), 0);
    config_free(c);
}

static void
config_error_blames_the_key_the_header_or_the_file(void **state)
{
    struct config *c = load_text("[core]\n"
                                 "\n"
                                 "[sink]\n"
                                 "host = db\n");
    char first[PATH_MAX + 80];
    char *want;

    (void)state;
    config_error(c, "sink", "host", "cannot resolve %s", "db");
    config_error(c, "sink", "port", "needs host");
    config_error(c, "sink", NULL, "plugin %s: %s", "x", "refused");
    config_error(c, "parser", "plugin", "is required");
    if (asprintf(&want, "%s%s%s%s", at(0, "[parser] plugin: is required"),
                 at(3, "[sink] port: needs host"),
                 at(3, "[sink] plugin x: refused"),
                 at(4, "[sink] host: cannot resolve db")) == -1) {
        fail();
    }
    assert_errors(c, want);
    snprintf(first, sizeof first,
             "%s/feed.ini:4: [sink] host: cannot "
             "resolve db",
             scratch);
    assert_string_equal(config_first_error(c), first);
    free(want);
    config_free(c);
}

static void
a_relative_path_resolves_against_the_ini_folder(void **state)
{
    struct config *c = load_text("[core]\n"
                                 "pidfile = run/feed.pid\n"
                                 "log = /var/log/feed.log\n");
    char real[PATH_MAX];
    char want[PATH_MAX + 32];
    const char *s;

    (void)state;
    assert_non_null(realpath(scratch, real));
    assert_int_equal(config_path(c, "core", "pidfile", NULL, &s), 0);
    snprintf(want, sizeof want, "%s/run/feed.pid", real);
    assert_string_equal(s, want);
    assert_int_equal(config_path(c, "core", "log", NULL, &s), 0);
    assert_string_equal(s, "/var/log/feed.log");
    /* A default is taken as written, and resolved the same way. */
    assert_int_equal(config_path(c, "core", "dead_letter", "dl.jsonl", &s), 0);
    snprintf(want, sizeof want, "%s/dl.jsonl", real);
    assert_string_equal(s, want);
    assert_int_equal(config_errors(c), 0);
    config_free(c);
}

static void
a_search_path_resolves_each_folder_against_the_ini_folder(void **state)
{
    struct config *c = load_text("[core]\n"
                                 "plugin_dir = lib:/usr/lib/x:../up\n"
                                 "log = a::b\n"
                                 "dead_letter = one\n"
                                 "pidfile = \n");
    char real[PATH_MAX];
    char want[PATH_MAX * 3];
    const char *s = NULL;

    (void)state;
    assert_non_null(realpath(scratch, real));
    assert_int_equal(config_path_list(c, "core", "plugin_dir", NULL, &s), 0);
    snprintf(want, sizeof want, "%s/lib:/usr/lib/x:%s/../up", real, real);
    assert_string_equal(s, want);
    /* One folder is a search path of one; the default is resolved too. */
    assert_int_equal(config_path_list(c, "core", "dead_letter", NULL, &s), 0);
    snprintf(want, sizeof want, "%s/one", real);
    assert_string_equal(s, want);
    assert_int_equal(config_path_list(c, "core", "user", "/a:b", &s), 0);
    snprintf(want, sizeof want, "/a:%s/b", real);
    assert_string_equal(s, want);
    assert_int_equal(config_errors(c), 0);
    /* An empty folder in the list, or an empty list, is a mistake. */
    assert_int_equal(config_path_list(c, "core", "log", NULL, &s), -1);
    assert_int_equal(config_path_list(c, "core", "pidfile", NULL, &s), -1);
    assert_int_equal(config_path_list(c, "core", "group", NULL, &s), -1);
    snprintf(want, sizeof want, "%s%s%s", at(1, "[core] missing key \"group\""),
             at(3, "[core] log: empty path"),
             at(5, "[core] pidfile: empty path"));
    assert_errors(c, want);
    config_free(c);
}

static void
a_config_loaded_by_a_relative_path_resolves_against_its_own_folder(void **state)
{
    char err[FEED_ERR_MAX];
    char cwd[PATH_MAX];
    char real[PATH_MAX];
    char want[PATH_MAX + 32];
    const char *s;
    struct config *c;

    (void)state;
    assert_int_equal(mkdir(scratch_path("etc"), 0755), 0);
    assert_int_equal(mkdir(scratch_path("elsewhere"), 0755), 0);
    write_file("etc/feed.ini", "[core]\npidfile = feed.pid\nthreads = x\n");
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(scratch_path("elsewhere")), 0);
    c = config_load("../etc/feed.ini", err, sizeof err);
    assert_int_equal(chdir(cwd), 0);
    assert_non_null(c);
    assert_non_null(realpath(scratch_path("etc"), real));
    assert_string_equal(config_dir(c), real);
    assert_int_equal(config_path(c, "core", "pidfile", NULL, &s), 0);
    snprintf(want, sizeof want, "%s/feed.pid", real);
    assert_string_equal(s, want);
    /* Errors name the file as it was given. */
    assert_int_equal(config_int(c, "core", "threads", 1, 1, 9, &(long long){0}),
                     -1);
    assert_errors(c, "../etc/feed.ini:3: [core] threads: not an integer: "
                     "\"x\"\n");
    config_free(c);
}

static void
a_bare_file_name_resolves_against_the_current_folder(void **state)
{
    char err[FEED_ERR_MAX];
    char cwd[PATH_MAX];
    char real[PATH_MAX];
    struct config *c;

    (void)state;
    write_file("feed.ini", "[core]\n");
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(scratch), 0);
    c = config_load("feed.ini", err, sizeof err);
    assert_int_equal(chdir(cwd), 0);
    assert_non_null(c);
    assert_non_null(realpath(scratch, real));
    assert_string_equal(config_dir(c), real);
    config_free(c);
}

static void
an_empty_or_too_long_path_is_reported(void **state)
{
    struct config *c = load_text("[core]\npidfile =\n");
    char *huge = malloc(PATH_MAX + 2);
    const char *s;
    char *want;

    (void)state;
    assert_non_null(huge);
    memset(huge, 'p', PATH_MAX + 1);
    huge[PATH_MAX + 1] = '\0';
    assert_int_equal(config_path(c, "core", "pidfile", NULL, &s), -1);
    assert_int_equal(config_path(c, "core", "log", huge, &s), -1);
    assert_int_equal(config_path(c, "core", "dead_letter", NULL, &s), -1);
    if (asprintf(&want, "%s%s%s", at(1, "[core] log: path is too long"),
                 at(1, "[core] missing key \"dead_letter\""),
                 at(2, "[core] pidfile: empty path")) == -1) {
        fail();
    }
    assert_errors(c, want);
    free(want);
    free(huge);
    config_free(c);
}

static void
a_file_that_cannot_be_read_gives_null_and_the_reason(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char want[PATH_MAX + 64];

    (void)state;
    assert_null(config_load(scratch_path("none.ini"), err, sizeof err));
    snprintf(want, sizeof want,
             "cannot read %s/none.ini: No such file or directory", scratch);
    assert_string_equal(err, want);
}

static void
a_folder_given_as_the_file_cannot_be_read(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char want[PATH_MAX + 64];

    (void)state;
    assert_null(config_load(scratch, err, sizeof err));
    snprintf(want, sizeof want, "cannot read %s: Is a directory", scratch);
    assert_string_equal(err, want);
}

static void
config_resolve_joins_a_folder_and_a_relative_path(void **state)
{
    char buf[64];
    char tiny[8];

    (void)state;
    assert_ptr_equal(config_resolve("/etc/feed", "x.pid", buf, sizeof buf),
                     buf);
    assert_string_equal(buf, "/etc/feed/x.pid");
    assert_non_null(config_resolve("/", "x.pid", buf, sizeof buf));
    assert_string_equal(buf, "/x.pid");
    assert_non_null(config_resolve("/etc", "/run/x.pid", buf, sizeof buf));
    assert_string_equal(buf, "/run/x.pid");
    assert_null(config_resolve("/etc/feed", "x.pid", tiny, sizeof tiny));
    assert_null(config_resolve("/", "/run/x.pid", tiny, sizeof tiny));
    assert_non_null(config_resolve("/", "abcdef", tiny, sizeof tiny));
    assert_string_equal(tiny, "/abcdef");
}

static void
an_error_in_a_file_with_a_very_long_path_keeps_file_and_reason(void **state)
{
    /*
     * add_error() formats "FILE:LINE: " into a 1024-byte buffer and then
     * writes the reason at the offset snprintf() returned: with a longer
     * file name that offset is past the buffer. Run in a child so a crash
     * fails this test only.
     */
    char rel[1400] = "";
    char cwd[PATH_MAX];
    pid_t pid;
    int status;

    (void)state;
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(scratch), 0);
    for (int i = 0; i < 6; i++) {
        size_t len;

        strcat(rel, i > 0 ? "/" : "");
        len = strlen(rel);
        memset(rel + len, 'd', 200);
        rel[len + 200] = '\0';
        assert_int_equal(mkdir(rel, 0755), 0);
    }
    strcat(rel, "/feed.ini");
    pid = fork();
    assert_int_not_equal(pid, -1);
    if (pid == 0) {
        char err[FEED_ERR_MAX];
        FILE *f = fopen(rel, "w");
        struct config *c;
        const char *text;
        const char *reason = ":1: unknown section [bogus]";
        size_t len;

        if (f == NULL || fputs("[bogus]\n", f) < 0 || fclose(f) != 0) {
            _exit(10);
        }
        c = config_load(rel, err, sizeof err);
        if (c == NULL || config_errors(c) != 1) {
            _exit(11);
        }
        text = config_first_error(c);
        len = strlen(text);
        if (strncmp(text, rel, 100) != 0) {
            _exit(12);
        }
        if (len < strlen(reason) ||
            strcmp(text + len - strlen(reason), reason) != 0) {
            _exit(13);
        }
        config_free(c);
        _exit(0);
    }
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status)) {
        fail_msg("the child died of signal %d", WTERMSIG(status));
    }
    assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name)                                                                \
    cmocka_unit_test_setup_teardown(name, scratch_setup, scratch_teardown)
        T(typed_getters_read_every_kind_of_value),
        T(every_spelling_of_a_boolean_is_accepted),
        T(a_missing_key_yields_the_default),
        T(an_unread_key_is_reported_only_by_check_unused_for_its_section),
        T(a_value_that_is_not_an_integer_is_reported_at_its_line),
        T(an_integer_out_of_range_names_the_range),
        T(a_value_that_is_not_one_of_the_choices_lists_them),
        T(a_value_that_is_not_a_boolean_is_reported),
        T(a_missing_required_key_blames_the_section_header),
        T(a_missing_section_is_reported_for_the_file_as_a_whole),
        T(a_duplicate_key_names_the_line_of_the_first),
        T(a_section_named_twice_is_one_section),
        T(an_unknown_section_is_reported_once_and_its_keys_are_ignored),
        T(a_key_outside_any_section_is_reported),
        T(a_line_without_an_equals_sign_is_a_syntax_error),
        T(a_section_header_without_a_closing_bracket_is_a_syntax_error),
        T(a_line_with_an_empty_key_name_is_a_syntax_error),
        T(a_line_inih_refuses_is_a_syntax_error),
        T(a_line_longer_than_inih_allows_is_reported_and_one_that_fits_is_read),
        T(a_long_password_is_refused_naming_the_key_but_never_the_value),
        T(a_long_line_without_a_key_is_refused_as_a_line),
        T(every_error_is_reported_at_once_sorted_by_line),
        T(inline_comments_are_stripped_but_a_semicolon_inside_a_value_is_kept),
        T(an_indented_key_is_a_key_not_a_continuation_line),
        T(blanks_around_keys_values_and_crlf_endings_are_ignored),
        T(a_utf8_bom_at_the_start_is_ignored),
        T(a_section_header_with_blanks_inside_the_brackets_is_not_ignored),
        T(config_file_is_the_path_as_given_and_config_dir_its_folder),
        T(config_has_section_tells_a_header_without_keys_from_no_header),
        T(config_error_blames_the_key_the_header_or_the_file),
        T(a_relative_path_resolves_against_the_ini_folder),
        T(a_search_path_resolves_each_folder_against_the_ini_folder),
        T(a_config_loaded_by_a_relative_path_resolves_against_its_own_folder),
        T(a_bare_file_name_resolves_against_the_current_folder),
        T(an_empty_or_too_long_path_is_reported),
        T(a_file_that_cannot_be_read_gives_null_and_the_reason),
        T(a_folder_given_as_the_file_cannot_be_read),
        T(config_resolve_joins_a_folder_and_a_relative_path),
        T(an_error_in_a_file_with_a_very_long_path_keeps_file_and_reason),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
