/*
 * testhost.h - a struct feed_host for unit tests of plugins.
 *
 * Owns an in-memory configuration section (key = value pairs), the errors
 * and log lines the plugin produced, and the records a parser emitted.
 * It is not the daemon's host: it lets one plugin run alone, in-process,
 * so that its behaviour can be asserted line by line.
 */
#ifndef TESTHOST_H
#define TESTHOST_H

#include <feed/plugin.h>

#define TESTHOST_KEYS_MAX 32
#define TESTHOST_TEXT_MAX 8192

struct testhost {
    struct feed_host host;
    /* the section: keys[i] = values[i], set with testhost_set() */
    const char *keys[TESTHOST_KEYS_MAX];
    const char *values[TESTHOST_KEYS_MAX];
    int used[TESTHOST_KEYS_MAX];
    size_t nkeys;
    const struct feed_schema *schema; /* borrowed: the parser's, for sinks */
    char errors[TESTHOST_TEXT_MAX];   /* one config error per line */
    char logs[TESTHOST_TEXT_MAX];     /* one log line per line */
    /* what a parser emitted since testhost_out() */
    size_t nrecords;
    size_t cap;
    uint32_t *lines;
    struct feed_value *values_out; /* nrecords * schema->nfields */
};

/* Sets up an empty host for `section`; testhost_fini() releases it. */
void testhost_init(struct testhost *th, const char *section);
void testhost_fini(struct testhost *th);

/* Adds `key = value` to the section (both borrowed). */
void testhost_set(struct testhost *th, const char *key, const char *value);

/* The keys nobody read, comma-separated, into buf. */
const char *testhost_unused(struct testhost *th, char *buf, size_t len);

/*
 * Forgets what was emitted and returns the output handle to pass to parse().
 * The schema must be set (th->schema) before records are emitted.
 */
struct feed_out *testhost_out(struct testhost *th);

/* The value `field` of emitted record `i`, as a NUL-terminated copy in buf. */
const char *testhost_value(struct testhost *th, size_t i, size_t field,
                           char *buf, size_t len);

#endif
