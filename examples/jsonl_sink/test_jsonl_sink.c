/*
 * test_jsonl_sink.c - jsonl_sink's callbacks, called the way the core calls
 * them, without the core.
 *
 * A small host stands in for feed-core: its getters read the keys a test
 * sets, conf_error() keeps the last error, log() prints to stderr and
 * schema() is the test's. A real daemon run (feed-core with this sink in
 * its [sink] section) is the other half of testing a sink; see
 * docs/writing-plugins.md.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <feed/plugin.h>

/* The sink under test: the symbol the core would dlsym(). */
extern const struct feed_plugin feed_plugin;

#define MAX_KEYS 8

/* What the host knows for one test. */
struct fake {
    struct feed_host host; /* first: a host pointer is a fake pointer */
    const char *keys[MAX_KEYS];
    const char *values[MAX_KEYS];
    const struct feed_schema *schema;
    char error[FEED_ERR_MAX]; /* the last conf_error(), as "key: text" */
    char dir[64];             /* a scratch folder; relative paths go here */
    char paths[MAX_KEYS][128];
};

static const char *
lookup(const struct feed_host *h, const char *key)
{
    const struct fake *f = (const struct fake *)h;

    for (int i = 0; i < MAX_KEYS && f->keys[i] != NULL; i++) {
        if (strcmp(f->keys[i], key) == 0) {
            return f->values[i];
        }
    }
    return NULL;
}

static void
fake_error(const struct feed_host *h, const char *key, const char *fmt, ...)
{
    struct fake *f = (struct fake *)h;
    int n = snprintf(f->error, sizeof f->error, "%s: ", key ? key : "-");
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(f->error + n, sizeof f->error - (size_t)n, fmt, ap);
    va_end(ap);
}

static int
fake_path(const struct feed_host *h, const char *key, const char *def,
          const char **out)
{
    struct fake *f = (struct fake *)h;
    const char *v = lookup(h, key);

    v = v != NULL ? v : def;
    if (v == NULL) {
        fake_error(h, key, "missing key \"%s\"", key);
        return -1;
    }
    for (int i = 0; i < MAX_KEYS; i++) {
        if (f->paths[i][0] == '\0') {
            snprintf(f->paths[i], sizeof f->paths[i], "%s%s%s",
                     v[0] == '/' ? "" : f->dir, v[0] == '/' ? "" : "/", v);
            *out = f->paths[i];
            return 0;
        }
    }
    return -1;
}

static int
fake_bool(const struct feed_host *h, const char *key, int def, int *out)
{
    const char *v = lookup(h, key);

    if (v == NULL) {
        *out = def;
    } else if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
        *out = strcmp(v, "yes") == 0;
    } else {
        fake_error(h, key, "\"%s\" is not a boolean (yes or no)", v);
        return -1;
    }
    return 0;
}

static void
fake_log(const struct feed_host *h, enum feed_log_level level, const char *fmt,
         ...)
{
    va_list ap;

    (void)h;
    fprintf(stderr, "# log %d: ", (int)level);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int
fake_log_enabled(const struct feed_host *h, enum feed_log_level level)
{
    (void)h;
    return level <= FEED_LOG_DEBUG;
}

static const struct feed_schema *
fake_schema(const struct feed_host *h)
{
    return ((const struct fake *)h)->schema;
}

/* Trades, as the default parser (csv_trade) gives them. */
static const struct feed_field trade_fields[] = {
    {.name = "ticket", .type = FEED_TYPE_UINT},
    {.name = "login", .type = FEED_TYPE_UINT},
    {.name = "volume", .type = FEED_TYPE_DECIMAL},
};
static const struct feed_schema trades = {3, trade_fields};

/* A parser with a text field. */
static const struct feed_field note_fields[] = {
    {.name = "id", .type = FEED_TYPE_UINT},
    {.name = "note", .type = FEED_TYPE_TEXT},
};
static const struct feed_schema notes = {2, note_fields};

static int
setup(void **state)
{
    struct fake *f = calloc(1, sizeof *f);

    if (f == NULL) {
        return -1;
    }
    snprintf(f->dir, sizeof f->dir, "/tmp/jsonl-test.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    f->host.abi = FEED_ABI_MAJOR;
    f->host.size = sizeof f->host;
    f->host.section = "sink";
    f->host.conf_path = fake_path;
    f->host.conf_bool = fake_bool;
    f->host.conf_error = fake_error;
    f->host.log = fake_log;
    f->host.log_enabled = fake_log_enabled;
    f->host.schema = fake_schema;
    f->schema = &trades;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fake *f = *state;
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) {
        return -1;
    }
    free(f);
    return 0;
}

static void
set_key(struct fake *f, const char *key, const char *value)
{
    int i = 0;

    while (f->keys[i] != NULL) {
        i++;
    }
    f->keys[i] = key;
    f->values[i] = value;
}

/* The whole file at dir/name, or "" when it does not exist. */
static const char *
slurp(const struct fake *f, const char *name)
{
    static char text[4096];
    char path[128];
    FILE *fp;
    size_t n = 0;

    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    fp = fopen(path, "r");
    if (fp != NULL) {
        n = fread(text, 1, sizeof text - 1, fp);
        fclose(fp);
    }
    text[n] = '\0';
    return text;
}

/* A record from NUL-terminated texts. */
static struct feed_record
record(uint32_t line, struct feed_value *values, const char *const *texts,
       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        values[i].ptr = texts[i];
        values[i].len = strlen(texts[i]);
    }
    return (struct feed_record){.line = line, .values = values};
}

static void
writes_each_record_as_one_json_line(void **state)
{
    struct fake *f = *state;
    static const char *const a[] = {"7", "42", "1.5"};
    static const char *const b[] = {"8", "42", "2"};
    struct feed_value va[3];
    struct feed_value vb[3];
    struct feed_record r[2];
    struct feed_batch batch = {2, r, 0, NULL};
    char err[FEED_ERR_MAX] = "";
    size_t bad = SIZE_MAX;
    void *conf;
    void *sink = NULL;

    r[0] = record(1, va, a, 3);
    r[1] = record(2, vb, b, 3);
    set_key(f, "path", "out.jsonl");
    conf = feed_plugin.configure(&f->host, err, sizeof err);
    assert_non_null(conf);
    assert_int_equal(feed_plugin.open(&f->host, conf, &sink, err, sizeof err),
                     FEED_OK);
    assert_int_equal(
        feed_plugin.write(&f->host, sink, &batch, &bad, err, sizeof err),
        FEED_OK);
    assert_int_equal(
        feed_plugin.write(&f->host, sink, &batch, &bad, err, sizeof err),
        FEED_OK);
    feed_plugin.close(&f->host, sink);
    feed_plugin.unconfigure(&f->host, conf);
    assert_string_equal(slurp(f, "out.jsonl"),
                        "{\"ticket\":7,\"login\":42,\"volume\":1.5}\n"
                        "{\"ticket\":8,\"login\":42,\"volume\":2}\n"
                        "{\"ticket\":7,\"login\":42,\"volume\":1.5}\n"
                        "{\"ticket\":8,\"login\":42,\"volume\":2}\n");
    assert_int_equal(bad, SIZE_MAX);
}

static void
escapes_text_as_json_strings(void **state)
{
    struct fake *f = *state;
    static const char *const a[] = {"1", "say \"hi\"\\\n\t\x01 caf\xC3\xA9"};
    struct feed_value va[2];
    struct feed_record r[1];
    struct feed_batch batch = {1, r, 0, NULL};
    char err[FEED_ERR_MAX] = "";
    size_t bad = SIZE_MAX;
    void *conf;
    void *sink = NULL;

    f->schema = &notes;
    r[0] = record(1, va, a, 2);
    set_key(f, "path", "notes.jsonl");
    set_key(f, "sync", "no");
    conf = feed_plugin.configure(&f->host, err, sizeof err);
    assert_non_null(conf);
    assert_int_equal(feed_plugin.open(&f->host, conf, &sink, err, sizeof err),
                     FEED_OK);
    assert_int_equal(
        feed_plugin.write(&f->host, sink, &batch, &bad, err, sizeof err),
        FEED_OK);
    feed_plugin.close(&f->host, sink);
    feed_plugin.unconfigure(&f->host, conf);
    assert_string_equal(slurp(f, "notes.jsonl"),
                        "{\"id\":1,\"note\":\"say \\\"hi\\\"\\\\\\u000a"
                        "\\u0009\\u0001 caf\xC3\xA9\"}\n");
}

static void
rejects_a_record_that_is_not_utf8_and_writes_nothing(void **state)
{
    struct fake *f = *state;
    static const char *const a[] = {"1", "fine"};
    static const char *const b[] = {"2", "caf\xE9"};
    struct feed_value va[2];
    struct feed_value vb[2];
    struct feed_record r[2];
    struct feed_batch batch = {2, r, 0, NULL};
    char err[FEED_ERR_MAX] = "";
    size_t bad = SIZE_MAX;
    void *conf;
    void *sink = NULL;

    f->schema = &notes;
    r[0] = record(3, va, a, 2);
    r[1] = record(4, vb, b, 2);
    set_key(f, "path", "notes.jsonl");
    conf = feed_plugin.configure(&f->host, err, sizeof err);
    assert_non_null(conf);
    assert_int_equal(feed_plugin.open(&f->host, conf, &sink, err, sizeof err),
                     FEED_OK);
    assert_int_equal(
        feed_plugin.write(&f->host, sink, &batch, &bad, err, sizeof err),
        FEED_REJECT);
    assert_string_equal(err, "line 4: note is not valid UTF-8");
    assert_int_equal(bad, 1);
    feed_plugin.close(&f->host, sink);
    feed_plugin.unconfigure(&f->host, conf);
    assert_string_equal(slurp(f, "notes.jsonl"), "");
}

static void
retries_a_batch_the_disk_refused(void **state)
{
    struct fake *f = *state;
    static const char *const a[] = {"7", "42", "1.5"};
    struct feed_value va[3];
    struct feed_record r[1];
    struct feed_batch batch = {1, r, 0, NULL};
    char err[FEED_ERR_MAX] = "";
    size_t bad = SIZE_MAX;
    void *conf;
    void *sink = NULL;

    r[0] = record(1, va, a, 3);
    set_key(f, "path", "/dev/full");
    conf = feed_plugin.configure(&f->host, err, sizeof err);
    assert_non_null(conf);
    assert_int_equal(feed_plugin.open(&f->host, conf, &sink, err, sizeof err),
                     FEED_OK);
    assert_int_equal(
        feed_plugin.write(&f->host, sink, &batch, &bad, err, sizeof err),
        FEED_RETRY);
    assert_string_equal(err, "cannot write /dev/full: No space left on device");
    feed_plugin.close(&f->host, sink);
    feed_plugin.unconfigure(&f->host, conf);
}

static void
fails_to_open_in_a_folder_that_does_not_exist(void **state)
{
    struct fake *f = *state;
    char err[FEED_ERR_MAX] = "";
    char want[FEED_ERR_MAX];
    void *conf;
    void *sink = NULL;

    set_key(f, "path", "no/such/folder/out.jsonl");
    conf = feed_plugin.configure(&f->host, err, sizeof err);
    assert_non_null(conf);
    assert_int_equal(feed_plugin.open(&f->host, conf, &sink, err, sizeof err),
                     FEED_FAIL);
    snprintf(want, sizeof want,
             "cannot open %s/no/such/folder/out.jsonl: No such file or "
             "directory",
             f->dir);
    assert_string_equal(err, want);
    assert_null(sink);
    feed_plugin.unconfigure(&f->host, conf);
}

static void
refuses_a_configuration_without_path(void **state)
{
    struct fake *f = *state;
    char err[FEED_ERR_MAX] = "";

    assert_null(feed_plugin.configure(&f->host, err, sizeof err));
    assert_string_equal(f->error, "path: missing key \"path\"");
}

static void
refuses_a_sync_that_is_not_a_boolean(void **state)
{
    struct fake *f = *state;
    char err[FEED_ERR_MAX] = "";

    set_key(f, "path", "out.jsonl");
    set_key(f, "sync", "always");
    assert_null(feed_plugin.configure(&f->host, err, sizeof err));
    assert_string_equal(f->error,
                        "sync: \"always\" is not a boolean (yes or no)");
}

static void
refuses_to_configure_without_a_parser(void **state)
{
    struct fake *f = *state;
    char err[FEED_ERR_MAX] = "";

    f->schema = NULL;
    set_key(f, "path", "out.jsonl");
    assert_null(feed_plugin.configure(&f->host, err, sizeof err));
    assert_string_equal(f->error, "plugin: jsonl_sink needs the parser's "
                                  "fields, but the parser did not load");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(writes_each_record_as_one_json_line,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(escapes_text_as_json_strings, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            rejects_a_record_that_is_not_utf8_and_writes_nothing, setup,
            teardown),
        cmocka_unit_test_setup_teardown(retries_a_batch_the_disk_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            fails_to_open_in_a_folder_that_does_not_exist, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_a_configuration_without_path,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_a_sync_that_is_not_a_boolean,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_to_configure_without_a_parser,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
