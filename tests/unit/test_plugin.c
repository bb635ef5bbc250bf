/*
 * test_plugin.c - the plugin loader: dlopen, and every refusal it says.
 *
 * The plugins come from tests/plugins (FEED_TEST_PLUGIN_DIR): test_sink is
 * a good sink; bad_abi, no_symbol and no_write are broken on purpose. Each
 * test has a folder of its own for garbage files and copies.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

#include "scratch.h"

#include "plugin.h"

static const char *plugins; /* FEED_TEST_PLUGIN_DIR */

/* Copies `name` from the test plugin folder into the test's folder. */
static void
copy_plugin(const char *name, const char *as)
{
    char from[PATH_MAX];
    char buf[65536];
    ssize_t n;
    int in;
    int out;

    snprintf(from, sizeof from, "%s/%s", plugins, name);
    in = open(from, O_RDONLY | O_CLOEXEC);
    assert_true(in >= 0);
    out =
        open(scratch_path(as), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    assert_true(out >= 0);
    while ((n = read(in, buf, sizeof buf)) > 0) {
        assert_int_equal(write(out, buf, (size_t)n), n);
    }
    assert_int_equal(n, 0);
    close(in);
    assert_int_equal(close(out), 0);
}

static void
write_file(const char *name, const char *text)
{
    FILE *f = fopen(scratch_path(name), "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Runs plugin_list(dir); its two outputs land in *out and *errout. */
static int
list(const char *dir, char **out, char **errout)
{
    size_t len;
    FILE *o = open_memstream(out, &len);
    FILE *e = open_memstream(errout, &len);
    int rc;

    assert_non_null(o);
    assert_non_null(e);
    rc = plugin_list(dir, o, e);
    assert_int_equal(fclose(o), 0);
    assert_int_equal(fclose(e), 0);
    return rc;
}

/* Expects plugin_load() to refuse with exactly `want`. */
static void
assert_refused(const char *spec, const char *dir, enum feed_kind kind,
               const char *want)
{
    char err[FEED_ERR_MAX] = "";
    struct plugin p;

    assert_int_equal(plugin_load(&p, spec, dir, scratch, kind, err, sizeof err),
                     -1);
    assert_string_equal(err, want);
    assert_null(p.handle);
    assert_null(p.desc);
    plugin_unload(&p);
}

/* The line `plugins` prints for test_sink at FOLDER/FILE (two at a time). */
static const char *
sink_line(const char *folder, const char *file)
{
    static char lines[2][PATH_MAX * 2];
    static int next;
    char *line = lines[next++ % 2];

    snprintf(
        line, sizeof lines[0],
        "test_sink        sink    0.0.1     "
        "appends records to a file, with injected faults (tests only) (%s/%s)\n",
        folder, file);
    return line;
}

/* ------------------------------------------------------------------ */

static void
a_plugin_named_by_its_bare_name_is_found_in_the_plugin_dir(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char want[PATH_MAX];
    struct plugin p;

    (void)state;
    assert_int_equal(plugin_load(&p, "test_sink", plugins, "/nowhere",
                                 FEED_KIND_SINK, err, sizeof err),
                     0);
    assert_non_null(p.handle);
    assert_non_null(p.desc);
    assert_string_equal(p.desc->name, "test_sink");
    assert_string_equal(p.desc->version, "0.0.1");
    assert_int_equal(p.desc->kind, FEED_KIND_SINK);
    assert_int_equal(p.desc->abi, FEED_ABI_MAJOR);
    snprintf(want, sizeof want, "%s/test_sink.so", plugins);
    assert_string_equal(p.path, want);
    plugin_unload(&p);
    assert_null(p.handle);
    assert_null(p.desc);
    /* Unloading twice is harmless. */
    plugin_unload(&p);
}

/* "scratch/a:scratch/b:...", the given folders made (empty) in scratch. */
static const char *
search_path(const char *const *names, size_t n)
{
    static char dirs[PATH_MAX * 4];
    size_t len = 0;

    dirs[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        mkdir(scratch_path(names[i]), 0755);
        len += (size_t)snprintf(dirs + len, sizeof dirs - len, "%s%s/%s",
                                i == 0 ? "" : ":", scratch, names[i]);
    }
    return dirs;
}

static void
the_first_folder_of_the_search_path_that_has_the_plugin_wins(void **state)
{
    static const char *const names[] = {"a", "b", "c"};
    char err[FEED_ERR_MAX] = "";
    char want[PATH_MAX];
    const char *dirs = search_path(names, 3);
    struct plugin p;

    (void)state;
    copy_plugin("test_sink.so", "b/test_sink.so");
    copy_plugin("test_sink.so", "c/test_sink.so");
    assert_int_equal(plugin_load(&p, "test_sink", dirs, "/nowhere",
                                 FEED_KIND_SINK, err, sizeof err),
                     0);
    snprintf(want, sizeof want, "%s/b/test_sink.so", scratch);
    assert_string_equal(p.path, want);
    plugin_unload(&p);
}

static void
a_broken_first_match_is_refused_not_skipped(void **state)
{
    static const char *const names[] = {"a", "b"};
    const char *dirs = search_path(names, 2);
    char want[PATH_MAX * 2];

    (void)state;
    copy_plugin("no_write.so", "a/test_sink.so");
    copy_plugin("test_sink.so", "b/test_sink.so");
    snprintf(want, sizeof want,
             "%s/a/test_sink.so is a sink plugin without "
             "a write callback",
             scratch);
    assert_refused("test_sink", dirs, FEED_KIND_SINK, want);
}

static void
a_name_in_no_folder_of_the_search_path_is_refused_naming_the_path(void **state)
{
    static const char *const names[] = {"a", "b"};
    const char *dirs = search_path(names, 2);
    char want[PATH_MAX * 5];

    (void)state;
    snprintf(want, sizeof want, "cannot find nope.so in plugin_dir %s", dirs);
    assert_refused("nope", dirs, FEED_KIND_SINK, want);
}

static void
a_spec_with_a_slash_is_a_path_resolved_against_base(void **state)
{
    char err[FEED_ERR_MAX] = "";
    char want[PATH_MAX];
    struct plugin p;

    (void)state;
    assert_int_equal(mkdir(scratch_path("lib"), 0755), 0);
    copy_plugin("test_sink.so", "lib/my_sink.so");
    /* The plugin dir plays no part; the INI file's folder (base) does. */
    assert_int_equal(plugin_load(&p, "lib/my_sink.so", "/nowhere", scratch,
                                 FEED_KIND_SINK, err, sizeof err),
                     0);
    snprintf(want, sizeof want, "%s/lib/my_sink.so", scratch);
    assert_string_equal(p.path, want);
    assert_string_equal(p.desc->name, "test_sink");
    plugin_unload(&p);

    snprintf(want, sizeof want, "%s/test_sink.so", plugins);
    assert_int_equal(plugin_load(&p, want, "/nowhere", "/elsewhere",
                                 FEED_KIND_SINK, err, sizeof err),
                     0);
    assert_string_equal(p.path, want);
    plugin_unload(&p);
}

static void
plugin_unload_takes_a_plugin_that_never_loaded(void **state)
{
    struct plugin p;

    (void)state;
    memset(&p, 0, sizeof p);
    plugin_unload(&p);
    assert_null(p.handle);
}

static void
a_missing_file_is_refused_naming_the_path(void **state)
{
    char want[PATH_MAX * 2];

    (void)state;
    snprintf(want, sizeof want,
             "cannot open %s/nope.so: No "
             "such file or directory",
             plugins);
    assert_refused("nope", plugins, FEED_KIND_SINK, want);
    snprintf(want, sizeof want,
             "cannot open %s/./nope.so: "
             "No such file or directory",
             scratch);
    assert_refused("./nope.so", plugins, FEED_KIND_SINK, want);
}

static void
a_fifo_is_refused_at_once_instead_of_blocking_dlopen(void **state)
{
    char want[PATH_MAX * 2];

    (void)state;
    /* dlopen() would wait for a writer forever: the test would time out. */
    assert_int_equal(mkfifo(scratch_path("fifo.so"), 0644), 0);
    snprintf(want, sizeof want,
             "%s/fifo.so is not a regular "
             "file",
             scratch);
    assert_refused("fifo", scratch, FEED_KIND_SINK, want);
    snprintf(want, sizeof want,
             "%s/./fifo.so is not a "
             "regular file",
             scratch);
    assert_refused("./fifo.so", plugins, FEED_KIND_SINK, want);
}

static void
a_folder_is_not_a_plugin(void **state)
{
    char want[PATH_MAX * 2];

    (void)state;
    assert_int_equal(mkdir(scratch_path("dir.so"), 0755), 0);
    snprintf(want, sizeof want,
             "%s/dir.so is not a regular "
             "file",
             scratch);
    assert_refused("dir", scratch, FEED_KIND_SINK, want);
}

static void
a_file_that_is_not_elf_cannot_be_loaded(void **state)
{
    char want[PATH_MAX * 2];

    (void)state;
    write_file("x.so", "this is not a shared object, only some text that "
                       "is long enough to hold an ELF header\n");
    snprintf(want, sizeof want,
             "cannot load %s/x.so: invalid ELF "
             "header",
             scratch);
    assert_refused("x", scratch, FEED_KIND_SINK, want);
}

static void
a_shared_object_without_the_symbol_is_not_a_plugin(void **state)
{
    char want[PATH_MAX * 2];

    (void)state;
    snprintf(want, sizeof want,
             "%s/no_symbol.so is not a "
             "feed-core plugin (no symbol feed_plugin)",
             plugins);
    assert_refused("no_symbol", plugins, FEED_KIND_SINK, want);
}

static void
a_plugin_built_for_another_abi_names_both_numbers(void **state)
{
    char want[PATH_MAX * 2];

    (void)state;
    snprintf(want, sizeof want,
             "%s/bad_abi.so was built for "
             "plugin ABI 99, this feed-core speaks ABI 2",
             plugins);
    assert_refused("bad_abi", plugins, FEED_KIND_SINK, want);
}

static void
a_descriptor_smaller_than_its_abi_allows_is_refused(void **state)
{
    char want[PATH_MAX * 2];

    (void)state;
    snprintf(want, sizeof want,
             "%s/short_desc.so has a descriptor of 16 "
             "bytes, plugin ABI 2 needs at least %zu",
             plugins, (size_t)FEED_PLUGIN_MIN_SIZE);
    assert_refused("short_desc", plugins, FEED_KIND_SINK, want);
}

static void
optional_callbacks_are_read_only_when_the_size_covers_them(void **state)
{
    struct feed_plugin d = {
        FEED_PLUGIN_HEADER,
        .reopen = (void (*)(const struct feed_host *, void *))1,
    };

    (void)state;
    assert_true(PLUGIN_HAS(&d, reopen));
    assert_false(PLUGIN_HAS(&d, tick));
    /* Built against a header that ended at write(): no reopen. */
    d.size = (unsigned)FEED_PLUGIN_MIN_SIZE;
    assert_false(PLUGIN_HAS(&d, reopen));
}

static void
a_plugin_of_the_wrong_kind_is_refused(void **state)
{
    char want[PATH_MAX * 2];

    (void)state;
    snprintf(want, sizeof want,
             "%s/test_sink.so is a sink "
             "plugin, not a parser",
             plugins);
    assert_refused("test_sink", plugins, FEED_KIND_PARSER, want);
    snprintf(want, sizeof want,
             "%s/test_sink.so is a sink "
             "plugin, not a source",
             plugins);
    assert_refused("test_sink", plugins, FEED_KIND_SOURCE, want);
}

static void
a_sink_without_a_write_callback_is_refused(void **state)
{
    char want[PATH_MAX * 2];

    (void)state;
    snprintf(want, sizeof want,
             "%s/no_write.so is a sink "
             "plugin without a write callback",
             plugins);
    assert_refused("no_write", plugins, FEED_KIND_SINK, want);
}

static void
a_path_that_does_not_fit_is_refused(void **state)
{
    char name[5000];
    char want[5100];
    char err[FEED_ERR_MAX] = "";
    struct plugin p;

    (void)state;
    memset(name, 'n', 4200);
    name[4200] = '\0';
    assert_int_equal(plugin_load(&p, name, plugins, scratch, FEED_KIND_SINK,
                                 err, sizeof err),
                     -1);
    snprintf(want, sizeof want, "the path of plugin %s is too long", name);
    /* err is FEED_ERR_MAX bytes: the message is cut, never overrun. */
    assert_int_equal(strlen(err), FEED_ERR_MAX - 1);
    assert_memory_equal(err, want, FEED_ERR_MAX - 1);
    name[2000] = '/';
    assert_int_equal(plugin_load(&p, name, plugins, scratch, FEED_KIND_SINK,
                                 err, sizeof err),
                     -1);
    snprintf(want, sizeof want, "the path of plugin %s is too long", name);
    assert_memory_equal(err, want, FEED_ERR_MAX - 1);
}

static void
plugin_kind_name_names_every_kind(void **state)
{
    (void)state;
    assert_string_equal(plugin_kind_name(FEED_KIND_SOURCE), "source");
    assert_string_equal(plugin_kind_name(FEED_KIND_PARSER), "parser");
    assert_string_equal(plugin_kind_name(FEED_KIND_SINK), "sink");
    assert_string_equal(plugin_kind_name((enum feed_kind)0), "unknown");
}

static void
plugin_list_prints_good_plugins_and_one_line_per_broken_one(void **state)
{
    char *out = NULL;
    char *errout = NULL;
    char *want;

    (void)state;
    copy_plugin("test_sink.so", "test_sink.so");
    copy_plugin("test_sink.so", "another.so");
    copy_plugin("bad_abi.so", "bad_abi.so");
    copy_plugin("no_write.so", "no_write.so");
    write_file("garbage.so", "not an ELF file, but named like a plugin, and "
                             "long enough for an ELF header\n");
    write_file("README", "not a plugin\n");
    write_file("test_sink.so.1", "not listed either\n");
    write_file(".so", "a name that is only a suffix\n");
    assert_int_equal(list(scratch, &out, &errout), -1);
    /* Sorted by file name; a plugin says its own name. */
    if (asprintf(&want, "%s%s", sink_line(scratch, "another.so"),
                 sink_line(scratch, "test_sink.so")) == -1) {
        fail();
    }
    assert_string_equal(out, want);
    free(want);
    if (asprintf(&want,
                 "feed-core: %s/bad_abi.so was built for "
                 "plugin ABI 99, this feed-core speaks ABI 2\n"
                 "feed-core: cannot load %s/garbage.so: "
                 "invalid ELF header\n"
                 "feed-core: %s/no_write.so is a sink "
                 "plugin without a write callback\n",
                 scratch, scratch, scratch) == -1) {
        fail();
    }
    assert_string_equal(errout, want);
    free(want);
    free(out);
    free(errout);
}

static void
plugin_list_of_the_test_plugin_dir_fails_for_its_broken_plugins(void **state)
{
    char *out = NULL;
    char *errout = NULL;
    char line[PATH_MAX * 2];

    (void)state;
    assert_int_equal(list(plugins, &out, &errout), -1);
    assert_non_null(strstr(out, sink_line(plugins, "test_sink.so")));
    snprintf(line, sizeof line,
             "feed-core: %s/bad_abi.so "
             "was built for plugin ABI 99, this feed-core speaks ABI 2\n",
             plugins);
    assert_non_null(strstr(errout, line));
    snprintf(line, sizeof line,
             "feed-core: "
             "%s/no_symbol.so is not a feed-core plugin (no symbol "
             "feed_plugin)\n",
             plugins);
    assert_non_null(strstr(errout, line));
    snprintf(line, sizeof line,
             "feed-core: %s/no_write.so "
             "is a sink plugin without a write callback\n",
             plugins);
    assert_non_null(strstr(errout, line));
    free(out);
    free(errout);
}

static void
plugin_list_follows_the_search_path_and_leaves_out_shadowed_names(void **state)
{
    static const char *const names[] = {"a", "none", "b"};
    const char *dirs = search_path(names, 3);
    char *out = NULL;
    char *errout = NULL;
    char *want;

    (void)state;
    assert_int_equal(rmdir(scratch_path("none")), 0);
    copy_plugin("test_sink.so", "a/test_sink.so");
    copy_plugin("test_sink.so", "b/test_sink.so");
    copy_plugin("test_sink.so", "b/another.so");
    assert_int_equal(list(dirs, &out, &errout), -1);
    if (asprintf(&want, "%s%s", sink_line(scratch, "a/test_sink.so"),
                 sink_line(scratch, "b/another.so")) == -1) {
        fail();
    }
    assert_string_equal(out, want);
    free(want);
    if (asprintf(&want,
                 "feed-core: cannot read plugin folder %s/none: No "
                 "such file or directory\n",
                 scratch) == -1) {
        fail();
    }
    assert_string_equal(errout, want);
    free(want);
    free(out);
    free(errout);
}

static void
plugin_list_of_an_empty_folder_prints_nothing(void **state)
{
    char *out = NULL;
    char *errout = NULL;

    (void)state;
    assert_int_equal(list(scratch, &out, &errout), 0);
    assert_string_equal(out, "");
    assert_string_equal(errout, "");
    free(out);
    free(errout);
}

static void
plugin_list_of_good_plugins_only_succeeds(void **state)
{
    char *out = NULL;
    char *errout = NULL;

    (void)state;
    copy_plugin("test_sink.so", "test_sink.so");
    assert_int_equal(list(scratch, &out, &errout), 0);
    assert_string_equal(out, sink_line(scratch, "test_sink.so"));
    assert_string_equal(errout, "");
    free(out);
    free(errout);
}

static void
plugin_list_of_a_missing_folder_says_so(void **state)
{
    char *out = NULL;
    char *errout = NULL;
    char want[PATH_MAX * 2];

    (void)state;
    assert_int_equal(list(scratch_path("none"), &out, &errout), -1);
    assert_string_equal(out, "");
    snprintf(want, sizeof want,
             "feed-core: cannot read plugin folder "
             "%s/none: No such file or directory\n",
             scratch);
    assert_string_equal(errout, want);
    free(out);
    free(errout);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name)                                                                \
    cmocka_unit_test_setup_teardown(name, scratch_setup, scratch_teardown)
        T(a_plugin_named_by_its_bare_name_is_found_in_the_plugin_dir),
        T(the_first_folder_of_the_search_path_that_has_the_plugin_wins),
        T(a_broken_first_match_is_refused_not_skipped),
        T(a_name_in_no_folder_of_the_search_path_is_refused_naming_the_path),
        T(a_spec_with_a_slash_is_a_path_resolved_against_base),
        T(plugin_unload_takes_a_plugin_that_never_loaded),
        T(a_missing_file_is_refused_naming_the_path),
        T(a_fifo_is_refused_at_once_instead_of_blocking_dlopen),
        T(a_folder_is_not_a_plugin),
        T(a_file_that_is_not_elf_cannot_be_loaded),
        T(a_shared_object_without_the_symbol_is_not_a_plugin),
        T(a_plugin_built_for_another_abi_names_both_numbers),
        T(a_descriptor_smaller_than_its_abi_allows_is_refused),
        T(optional_callbacks_are_read_only_when_the_size_covers_them),
        T(a_plugin_of_the_wrong_kind_is_refused),
        T(a_sink_without_a_write_callback_is_refused),
        T(a_path_that_does_not_fit_is_refused),
        T(plugin_kind_name_names_every_kind),
        T(plugin_list_prints_good_plugins_and_one_line_per_broken_one),
        T(plugin_list_of_the_test_plugin_dir_fails_for_its_broken_plugins),
        T(plugin_list_follows_the_search_path_and_leaves_out_shadowed_names),
        T(plugin_list_of_an_empty_folder_prints_nothing),
        T(plugin_list_of_good_plugins_only_succeeds),
        T(plugin_list_of_a_missing_folder_says_so),
#undef T
    };

    plugins = getenv("FEED_TEST_PLUGIN_DIR");
    if (plugins == NULL) {
        fprintf(stderr, "FEED_TEST_PLUGIN_DIR is not set\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
