/*
 * test_deadletter.c - the dead-letter file: the JSON line of a refused
 * message, UTF-8 checking, and the file itself (open, write, reopen).
 *
 * deadletter.c keeps one process-wide descriptor, so every test that
 * opens it closes it again before it ends. Log lines (failures start and
 * end) go to stderr, which those tests capture into a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
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

#include "scratch.h"

#include <feed/plugin.h>

#include "deadletter.h"

/* 2025-11-25T08:45:19.123Z */
#define NOW_MS 1764060319123LL
#define TIME_PREFIX "{\"time\":\"2025-11-25T08:45:19.123Z\","

static char tmp[512];        /* this test's folder */
static char where[PATH_MAX]; /* path_in()'s answer */

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(path);
}

static int
setup(void **state)
{
    const char *base = getenv("TMPDIR");

    (void)state;
    if (base == NULL || *base == '\0' || strlen(base) > 400) {
        base = "/tmp";
    }
    snprintf(tmp, sizeof tmp, "%s/feed-deadletter-XXXXXX", base);
    return mkdtemp(tmp) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
    (void)state;
    deadletter_close();
    return nftw(tmp, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *
path_in(const char *name)
{
    snprintf(where, sizeof where, "%s/%s", tmp, name);
    return where;
}

static size_t
count_lines(const char *text)
{
    size_t n = 0;

    for (; *text != '\0'; text++) {
        n += *text == '\n';
    }
    return n;
}

/* Formats with NOW_MS and compares the whole line. */
static void
assert_format(const char *reason, const void *msg, size_t len, unsigned parts,
              const char *want)
{
    size_t n = 0;
    char *line = deadletter_format(NOW_MS, reason, NULL, msg, len, parts, &n);

    assert_non_null(line);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(line, want, n);
    free(line);
}

/* Sends stderr (where the log goes) to a file until capture_end(). */
static int
capture_begin(void)
{
    int saved = dup(STDERR_FILENO);
    int fd =
        open(path_in("stderr"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    assert_true(saved >= 0);
    assert_true(fd >= 0);
    fflush(stderr);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
    return saved;
}

/* Restores stderr; returns what was logged meanwhile (free it). */
static char *
capture_end(int saved)
{
    fflush(stderr);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    return scratch_slurp(path_in("stderr"));
}

/* Opens `name` and writes one entry, so that writes are known to work. */
static void
open_working(const char *name)
{
    char err[FEED_ERR_MAX] = "";

    assert_int_equal(deadletter_open(path_in(name), err, sizeof err), 0);
    assert_int_equal(deadletter_write("warm-up", NULL, "x", 1, 1), 0);
}

/* ------------------------------------------------------------------
 * deadletter_format()
 */

static void
a_plain_message_is_one_json_line_with_time_reason_and_message(void **state)
{
    (void)state;
    assert_format("line 2: volume is not a number", "7,42,1.5\n8,43,x", 15, 1,
                  TIME_PREFIX "\"reason\":\"line 2: volume is not a number\","
                              "\"message\":\"7,42,1.5\\n8,43,x\"}\n");
}

static void
the_client_follows_the_reason(void **state)
{
    size_t n;
    char *line = deadletter_format(NOW_MS, "r", "trader-1", "m", 1, 1, &n);

    (void)state;
    assert_non_null(line);
    assert_int_equal(n, strlen(TIME_PREFIX "\"reason\":\"r\","
                                           "\"client\":\"trader-1\","
                                           "\"message\":\"m\"}\n"));
    assert_memory_equal(line,
                        TIME_PREFIX "\"reason\":\"r\","
                                    "\"client\":\"trader-1\","
                                    "\"message\":\"m\"}\n",
                        n);
    free(line);
}

static void
a_client_that_is_not_utf8_is_kept_as_base64(void **state)
{
    size_t n;
    char *line = deadletter_format(NOW_MS, "r", "\xff\xfe", "m", 1, 1, &n);

    (void)state;
    assert_non_null(line);
    assert_int_equal(n, strlen(TIME_PREFIX "\"reason\":\"r\","
                                           "\"client_base64\":\"//4=\","
                                           "\"message\":\"m\"}\n"));
    assert_memory_equal(line,
                        TIME_PREFIX "\"reason\":\"r\","
                                    "\"client_base64\":\"//4=\","
                                    "\"message\":\"m\"}\n",
                        n);
    free(line);
}

static void
the_time_is_utc_with_milliseconds(void **state)
{
    size_t n;
    char *line = deadletter_format(5, "r", NULL, "m", 1, 1, &n);

    (void)state;
    assert_non_null(line);
    assert_memory_equal(line, "{\"time\":\"1970-01-01T00:00:00.005Z\"", 34);
    free(line);
    line = deadletter_format(951782400999LL, "r", NULL, "m", 1, 1, &n);
    assert_non_null(line);
    assert_memory_equal(line, "{\"time\":\"2000-02-29T00:00:00.999Z\"", 34);
    free(line);
}

static void
quotes_backslashes_and_control_bytes_are_escaped(void **state)
{
    static const char msg[] = "q\"b\\n\nr\rt\tone\x01us\x1f"
                              "nul\0del\x7f"
                              "end";

    (void)state;
    assert_format("r", msg, sizeof msg - 1, 1,
                  TIME_PREFIX "\"reason\":\"r\",\"message\":\"q\\\"b\\\\n\\n"
                              "r\\rt\\tone\\u0001us\\u001fnul\\u0000del"
                              "\\u007fend\"}\n");
}

static void
valid_multibyte_utf8_is_kept_as_it_is(void **state)
{
    static const char msg[] = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E";

    (void)state;
    assert_format("r", msg, sizeof msg - 1, 1,
                  TIME_PREFIX "\"reason\":\"r\",\"message\":\"caf\xC3\xA9 "
                              "\xE2\x82\xAC \xF0\x9D\x84\x9E\"}\n");
}

static void
invalid_utf8_is_kept_as_message_base64(void **state)
{
    (void)state;
    /* Tails of 1, 2 and 3 bytes after whole groups. */
    assert_format("r", "\xff", 1, 1,
                  TIME_PREFIX
                  "\"reason\":\"r\",\"message_base64\":\"/w==\"}\n");
    assert_format("r", "\xff\xfe", 2, 1,
                  TIME_PREFIX
                  "\"reason\":\"r\",\"message_base64\":\"//4=\"}\n");
    assert_format("r", "\xff\xfe\xfd", 3, 1,
                  TIME_PREFIX
                  "\"reason\":\"r\",\"message_base64\":\"//79\"}\n");
    assert_format("r", "abc\xff", 4, 1,
                  TIME_PREFIX "\"reason\":\"r\",\"message_base64\":"
                              "\"YWJj/w==\"}\n");
    assert_format("r",
                  "ab\xff"
                  "cd",
                  5, 1,
                  TIME_PREFIX "\"reason\":\"r\",\"message_base64\":"
                              "\"YWL/Y2Q=\"}\n");
    /* Every byte value survives: 0..255 in base64. */
    unsigned char all[256];
    for (int i = 0; i < 256; i++) {
        all[i] = (unsigned char)i;
    }
    size_t n;
    char *raw = deadletter_format(NOW_MS, "r", NULL, all, sizeof all, 1, &n);
    assert_non_null(raw);
    /* The buffer holds n bytes, no NUL: make a string of it. */
    char *line = strndup(raw, n);
    free(raw);
    assert_non_null(line);
    assert_non_null(strstr(line, "\"message_base64\":\"AAECAwQFBgcICQoLDA0ODx"
                                 "AREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v"));
    assert_non_null(strstr(line, "+fr7/P3+/w==\"}\n"));
    assert_int_equal(n, strlen(line));
    free(line);
}

static void
an_empty_message_is_an_empty_string(void **state)
{
    (void)state;
    assert_format("empty request", "", 0, 1,
                  TIME_PREFIX "\"reason\":\"empty request\",\"message\":\"\"}"
                              "\n");
}

static void
a_multipart_request_records_its_frame_count(void **state)
{
    (void)state;
    assert_format("multipart requests are not accepted", "7,42,1", 6, 3,
                  TIME_PREFIX "\"reason\":\"multipart requests are not "
                              "accepted\",\"parts\":3,\"message\":\"7,42,1\"}"
                              "\n");
    assert_format("r", "m", 1, 0,
                  TIME_PREFIX "\"reason\":\"r\",\"message\":\"m\"}\n");
    assert_format("r", "\xff", 1, 2,
                  TIME_PREFIX "\"reason\":\"r\",\"parts\":2,"
                              "\"message_base64\":\"/w==\"}\n");
}

static void
the_reason_is_escaped_too(void **state)
{
    (void)state;
    assert_format("line 1: \"x\\y\"\n\t\x02", "m", 1, 1,
                  TIME_PREFIX "\"reason\":\"line 1: \\\"x\\\\y\\\"\\n\\t"
                              "\\u0002\",\"message\":\"m\"}\n");
}

static void
a_message_of_only_control_bytes_fits_its_buffer(void **state)
{
    char msg[4096];
    size_t n;
    char *line;

    (void)state;
    memset(msg, 0x01, sizeof msg);
    line =
        deadletter_format(NOW_MS, "\x01\x01\x01", NULL, msg, sizeof msg, 9, &n);
    assert_non_null(line);
    assert_int_equal(n, strlen(TIME_PREFIX "\"reason\":\"\",\"parts\":9,"
                                           "\"message\":\"\"}\n") +
                            6 * 3 + 6 * sizeof msg);
    assert_memory_equal(line + n - 9, "\\u0001\"}\n", 9);
    free(line);
}

/* ------------------------------------------------------------------
 * deadletter_utf8_valid()
 */

static int
valid(const char *s, size_t len)
{
    return deadletter_utf8_valid((const unsigned char *)s, len);
}

static void
utf8_validation_accepts_every_well_formed_sequence(void **state)
{
    (void)state;
    assert_true(valid("", 0));
    assert_true(valid("plain ascii \x7f", 13));
    assert_true(valid("\0", 1));
    assert_true(valid("\xC2\x80", 2));         /* U+0080 */
    assert_true(valid("\xDF\xBF", 2));         /* U+07FF */
    assert_true(valid("\xE0\xA0\x80", 3));     /* U+0800 */
    assert_true(valid("\xED\x9F\xBF", 3));     /* U+D7FF */
    assert_true(valid("\xEE\x80\x80", 3));     /* U+E000 */
    assert_true(valid("\xEF\xBF\xBF", 3));     /* U+FFFF */
    assert_true(valid("\xF0\x90\x80\x80", 4)); /* U+10000 */
    assert_true(valid("\xF4\x8F\xBF\xBF", 4)); /* U+10FFFF */
}

static void
utf8_validation_refuses_overlongs_surrogates_and_beyond_u10ffff(void **state)
{
    (void)state;
    assert_false(valid("\xC0\x80", 2));         /* overlong NUL */
    assert_false(valid("\xC1\xBF", 2));         /* overlong U+007F */
    assert_false(valid("\xE0\x80\x80", 3));     /* overlong NUL */
    assert_false(valid("\xE0\x9F\xBF", 3));     /* overlong U+07FF */
    assert_false(valid("\xF0\x80\x80\x80", 4)); /* overlong NUL */
    assert_false(valid("\xF0\x8F\xBF\xBF", 4)); /* overlong U+FFFF */
    assert_false(valid("\xED\xA0\x80", 3));     /* U+D800 */
    assert_false(valid("\xED\xBF\xBF", 3));     /* U+DFFF */
    assert_false(valid("\xF4\x90\x80\x80", 4)); /* U+110000 */
    assert_false(valid("\xF5\x80\x80\x80", 4));
    assert_false(valid("\xF8\x88\x80\x80\x80", 5));
    assert_false(valid("\xFE", 1));
    assert_false(valid("\xFF", 1));
}

static void
utf8_validation_refuses_truncated_and_broken_sequences(void **state)
{
    (void)state;
    assert_false(valid("\x80", 1)); /* a lone continuation */
    assert_false(valid("a\xBF"
                       "b",
                       3));
    assert_false(valid("\xC3", 1));
    assert_false(valid("\xC3"
                       "A",
                       2));
    assert_false(valid("\xE2\x82", 2));
    assert_false(valid("\xE2\x82"
                       "A",
                       3));
    assert_false(valid("\xF0\x9D\x84", 3));
    assert_false(valid("\xF0\x9D\x84"
                       "A",
                       4));
    /* Only the bytes given count: a NUL after them changes nothing. */
    assert_false(valid("caf\xC3\xA9", 4));
    assert_true(valid("caf\xC3\xA9", 5));
}

/* ------------------------------------------------------------------
 * The file
 */

static void
deadletter_write_appends_one_line_per_entry(void **state)
{
    char err[FEED_ERR_MAX] = "";
    const char *path = path_in("rejected.jsonl");
    struct stat st;
    char *text;

    (void)state;
    assert_int_equal(deadletter_open(path, err, sizeof err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(deadletter_write("line 1: bad", NULL, "x,y", 3, 1), 0);
    assert_int_equal(deadletter_write("two", NULL, "\xff", 1, 2), 0);
    text = scratch_slurp(path);
    assert_int_equal(count_lines(text), 2);
    assert_memory_equal(text, "{\"time\":\"20", 11);
    char *second = strchr(text, '\n') + 1;
    assert_non_null(strstr(text, "Z\",\"reason\":\"line 1: bad\",\"message\":"
                                 "\"x,y\"}\n{\"time\":\"20"));
    assert_non_null(strstr(second, "Z\",\"reason\":\"two\",\"parts\":2,"
                                   "\"message_base64\":\"/w==\"}\n"));
    free(text);
    deadletter_close();
    /* Opening again appends. */
    assert_int_equal(deadletter_open(path, err, sizeof err), 0);
    assert_int_equal(deadletter_write("three", NULL, "z", 1, 1), 0);
    text = scratch_slurp(path);
    assert_int_equal(count_lines(text), 3);
    free(text);
}

static void
reopen_after_the_file_was_moved_writes_a_new_file_at_the_path(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char moved[PATH_MAX];
    char *text;

    (void)state;
    snprintf(moved, sizeof moved, "%s/rejected.jsonl.1", tmp);
    assert_int_equal(
        deadletter_open(path_in("rejected.jsonl"), err, sizeof err), 0);
    assert_int_equal(deadletter_write("before", NULL, "a", 1, 1), 0);
    assert_int_equal(rename(path_in("rejected.jsonl"), moved), 0);
    /* Until reopened, entries follow the moved file. */
    assert_int_equal(deadletter_write("moved", NULL, "b", 1, 1), 0);
    assert_int_equal(deadletter_reopen(err, sizeof err), 0);
    assert_int_equal(deadletter_write("after", NULL, "c", 1, 1), 0);
    text = scratch_slurp(moved);
    assert_int_equal(count_lines(text), 2);
    assert_non_null(strstr(text, "\"reason\":\"moved\""));
    free(text);
    text = scratch_slurp(path_in("rejected.jsonl"));
    assert_int_equal(count_lines(text), 1);
    assert_non_null(strstr(text, "\"reason\":\"after\""));
    free(text);
    assert_string_equal(err, "");
}

static void
a_failed_reopen_keeps_the_old_file_and_says_why(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char want[PATH_MAX + 100];
    char moved[PATH_MAX];
    char *text;

    (void)state;
    snprintf(moved, sizeof moved, "%s/rejected.jsonl.1", tmp);
    assert_int_equal(
        deadletter_open(path_in("rejected.jsonl"), err, sizeof err), 0);
    assert_int_equal(rename(path_in("rejected.jsonl"), moved), 0);
    /* Something that is not a file took the path's place. */
    assert_int_equal(mkdir(path_in("rejected.jsonl"), 0755), 0);
    assert_int_equal(deadletter_reopen(err, sizeof err), -1);
    snprintf(want, sizeof want,
             "cannot reopen dead_letter %s/rejected.jsonl: "
             "Is a directory",
             tmp);
    assert_string_equal(err, want);
    assert_int_equal(deadletter_write("still", NULL, "x", 1, 1), 0);
    text = scratch_slurp(moved);
    assert_int_equal(count_lines(text), 1);
    assert_non_null(strstr(text, "\"reason\":\"still\""));
    free(text);
}

static void
reopen_when_nothing_is_open_does_nothing(void **state)
{
    char err[FEED_ERR_MAX] = "";

    (void)state;
    deadletter_close();
    assert_int_equal(deadletter_reopen(err, sizeof err), 0);
    assert_string_equal(err, "");
    /* Closing twice is harmless. */
    deadletter_close();
}

static void
a_failed_open_says_why_and_keeps_the_file_in_use(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char want[PATH_MAX + 100];
    char *text;

    (void)state;
    assert_int_equal(deadletter_open(path_in("good.jsonl"), err, sizeof err),
                     0);
    assert_int_equal(
        deadletter_open(path_in("none/rejected.jsonl"), err, sizeof err), -1);
    snprintf(want, sizeof want,
             "cannot open dead_letter %s/none/"
             "rejected.jsonl: No such file or directory",
             tmp);
    assert_string_equal(err, want);
    assert_int_equal(deadletter_write("kept", NULL, "x", 1, 1), 0);
    text = scratch_slurp(path_in("good.jsonl"));
    assert_int_equal(count_lines(text), 1);
    free(text);
}

static void
writing_when_not_open_counts_and_logs_when_failures_start_and_end(void **state)
{
    unsigned long before;
    char *logged;
    char *want;
    int saved;

    (void)state;
    open_working("first.jsonl");
    deadletter_close();
    before = deadletter_failures();
    saved = capture_begin();
    assert_int_equal(deadletter_write("r", NULL, "m", 1, 1), -1);
    assert_int_equal(deadletter_write("r", NULL, "m", 1, 1), -1);
    assert_int_equal(deadletter_failures(), before + 2);
    open_working("second.jsonl");
    assert_int_equal(deadletter_failures(), before + 2);
    logged = capture_end(saved);
    assert_int_equal(count_lines(logged), 2);
    if (asprintf(&want,
                 "]: error: cannot write dead_letter %s/first.jsonl: "
                 "not open\n",
                 tmp) == -1) {
        fail();
    }
    assert_non_null(strstr(logged, want));
    free(want);
    if (asprintf(&want,
                 "]: notice: dead_letter %s/second.jsonl is writable "
                 "again failed_writes=%lu\n",
                 tmp, before + 2) == -1) {
        fail();
    }
    assert_non_null(strstr(logged, want));
    free(want);
    free(logged);
}

static void
a_write_error_is_logged_with_its_reason(void **state)
{
    char err[FEED_ERR_MAX] = "";
    unsigned long before;
    char *logged;
    int saved;

    (void)state;
    if (access("/dev/full", W_OK) != 0) {
        skip();
    }
    open_working("good.jsonl");
    before = deadletter_failures();
    saved = capture_begin();
    assert_int_equal(deadletter_open("/dev/full", err, sizeof err), 0);
    assert_int_equal(deadletter_write("r", NULL, "m", 1, 1), -1);
    deadletter_close();
    logged = capture_end(saved);
    assert_int_equal(deadletter_failures(), before + 1);
    assert_int_equal(count_lines(logged), 1);
    assert_non_null(strstr(logged, "]: error: cannot write dead_letter "
                                   "/dev/full: No space left on device\n"));
    free(logged);
    /* Leave writes working for whoever comes next. */
    saved = capture_begin();
    open_working("good.jsonl");
    free(capture_end(saved));
}

static void
an_entry_that_does_not_fit_is_cut_back_and_the_reason_logged(void **state)
{
    struct rlimit before;
    struct rlimit small;
    struct stat st;
    char big[1000] = {0};
    char body[100];
    char *text;
    char *logged;
    char *want;
    int saved;

    (void)state;
    /* The limit holds for the captured log too: give it room. */
    memset(body, 'b', sizeof body);
    open_working("full.jsonl");
    assert_int_equal(deadletter_write("room", NULL, big, sizeof big, 1), 0);
    assert_int_equal(stat(path_in("full.jsonl"), &st), 0);
    /* The file may grow by 20 more bytes: the entry fits half way. */
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &before), 0);
    small.rlim_cur = (rlim_t)st.st_size + 20;
    small.rlim_max = before.rlim_max;
    saved = capture_begin();
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    assert_int_equal(deadletter_write("too big", NULL, body, sizeof body, 1),
                     -1);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &before), 0);
    signal(SIGXFSZ, SIG_DFL);
    /* Nothing of it stays; the next entry starts on a line of its own. */
    text = scratch_slurp(path_in("full.jsonl"));
    assert_int_equal(strlen(text), (size_t)st.st_size);
    free(text);
    assert_int_equal(deadletter_write("fits", NULL, "m", 1, 1), 0);
    logged = capture_end(saved);
    text = scratch_slurp(path_in("full.jsonl"));
    assert_int_equal(count_lines(text), 3);
    assert_non_null(strstr(text, "\"reason\":\"fits\",\"message\":\"m\"}\n"));
    assert_null(strstr(text, "too big"));
    free(text);
    if (asprintf(&want,
                 "]: error: cannot write dead_letter %s/full.jsonl: "
                 "File too large\n",
                 tmp) == -1) {
        fail();
    }
    assert_non_null(strstr(logged, want));
    free(want);
    free(logged);
}

struct writer {
    int id;
    int count;
};

static void *
write_many(void *arg)
{
    const struct writer *w = arg;
    char reason[32];
    char body[600];

    memset(body, 'a' + w->id, sizeof body);
    snprintf(reason, sizeof reason, "writer %d", w->id);
    for (int i = 0; i < w->count; i++) {
        if (deadletter_write(reason, NULL, body, sizeof body, 1) != 0) {
            return (void *)1;
        }
    }
    return NULL;
}

static void
concurrent_writers_never_interleave_their_lines(void **state)
{
    struct writer w[4];
    pthread_t t[4];
    char *text;
    char *line;
    char *save = NULL;
    size_t lines = 0;

    (void)state;
    open_working("many.jsonl");
    for (int i = 0; i < 4; i++) {
        w[i].id = i;
        w[i].count = 500;
        assert_int_equal(pthread_create(&t[i], NULL, write_many, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *rc;
        assert_int_equal(pthread_join(t[i], &rc), 0);
        assert_null(rc);
    }
    text = scratch_slurp(path_in("many.jsonl"));
    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *reason = strstr(line, "\"reason\":\"");
        char *body;
        int id;

        lines++;
        if (strstr(line, "\"reason\":\"warm-up\"") != NULL) {
            continue;
        }
        assert_non_null(reason);
        id = reason[17] - '0';
        body = strstr(line, "\"message\":\"");
        assert_non_null(body);
        for (int i = 0; i < 600; i++) {
            assert_int_equal(body[11 + i], 'a' + id);
        }
        assert_string_equal(body + 11 + 600, "\"}");
    }
    assert_int_equal(lines, 1 + 4 * 500);
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(a_plain_message_is_one_json_line_with_time_reason_and_message),
        T(the_client_follows_the_reason),
        T(a_client_that_is_not_utf8_is_kept_as_base64),
        T(the_time_is_utc_with_milliseconds),
        T(quotes_backslashes_and_control_bytes_are_escaped),
        T(valid_multibyte_utf8_is_kept_as_it_is),
        T(invalid_utf8_is_kept_as_message_base64),
        T(an_empty_message_is_an_empty_string),
        T(a_multipart_request_records_its_frame_count),
        T(the_reason_is_escaped_too),
        T(a_message_of_only_control_bytes_fits_its_buffer),
        T(utf8_validation_accepts_every_well_formed_sequence),
        T(utf8_validation_refuses_overlongs_surrogates_and_beyond_u10ffff),
        T(utf8_validation_refuses_truncated_and_broken_sequences),
        T(deadletter_write_appends_one_line_per_entry),
        T(reopen_after_the_file_was_moved_writes_a_new_file_at_the_path),
        T(a_failed_reopen_keeps_the_old_file_and_says_why),
        T(reopen_when_nothing_is_open_does_nothing),
        T(a_failed_open_says_why_and_keeps_the_file_in_use),
        T(writing_when_not_open_counts_and_logs_when_failures_start_and_end),
        T(an_entry_that_does_not_fit_is_cut_back_and_the_reason_logged),
        T(a_write_error_is_logged_with_its_reason),
        T(concurrent_writers_never_interleave_their_lines),
#undef T
    };

    umask(022);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
