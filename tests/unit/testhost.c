/*
 * testhost.c - a struct feed_host for unit tests of plugins.
 *
 * Configuration comes from testhost_set(); errors and log lines are appended
 * to text buffers the test can assert on; emitted records are kept in
 * growing arrays. Nothing here is shared between threads.
 */
#include "testhost.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct testhost *
th_of(const struct feed_host *h)
{
    return h->core;
}

/* Appends one formatted line to text (TESTHOST_TEXT_MAX bytes). */
static void FEED_PRINTF(2, 0) append(char *text, const char *fmt, va_list ap)
{
    char line[1024];
    size_t used = strlen(text);

    vsnprintf(line, sizeof line, fmt, ap);
    snprintf(text + used, TESTHOST_TEXT_MAX - used, "%s\n", line);
}

static void
error(struct testhost *th, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    append(th->errors, fmt, ap);
    va_end(ap);
}

static const char *
lookup(struct testhost *th, const char *key)
{
    for (size_t i = 0; i < th->nkeys; i++) {
        if (strcmp(th->keys[i], key) == 0) {
            th->used[i] = 1;
            return th->values[i];
        }
    }
    return NULL;
}

static int
conf_string(const struct feed_host *h, const char *key, const char *def,
            const char **out)
{
    const char *v = lookup(th_of(h), key);

    if (v == NULL && def == NULL) {
        error(th_of(h), "[%s] missing key \"%s\"", h->section, key);
        return -1;
    }
    *out = v != NULL ? v : def;
    return 0;
}

static int
conf_int(const struct feed_host *h, const char *key, long long def,
         long long min, long long max, long long *out)
{
    const char *v = lookup(th_of(h), key);
    char *end;
    long long n;

    if (v == NULL) {
        *out = def;
        return 0;
    }
    n = strtoll(v, &end, 10);
    if (end == v || *end != '\0') {
        error(th_of(h), "[%s] %s: not an integer: \"%s\"", h->section, key, v);
        return -1;
    }
    if (n < min || n > max) {
        error(th_of(h), "[%s] %s: %lld is out of range %lld..%lld", h->section,
              key, n, min, max);
        return -1;
    }
    *out = n;
    return 0;
}

static int
conf_bool(const struct feed_host *h, const char *key, int def, int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1", NULL};
    static const char *const no[] = {"no", "false", "off", "0", NULL};
    const char *v = lookup(th_of(h), key);

    if (v == NULL) {
        *out = def;
        return 0;
    }
    for (int i = 0; yes[i] != NULL; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    error(th_of(h), "[%s] %s: not a boolean: \"%s\"", h->section, key, v);
    return -1;
}

static int
conf_enum(const struct feed_host *h, const char *key, const char *const *names,
          int def, int *out)
{
    const char *v = lookup(th_of(h), key);

    if (v == NULL) {
        *out = def;
        return 0;
    }
    for (int i = 0; names[i] != NULL; i++) {
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    error(th_of(h), "[%s] %s: unknown value \"%s\"", h->section, key, v);
    return -1;
}

static int
conf_path(const struct feed_host *h, const char *key, const char *def,
          const char **out)
{
    /* Tests give absolute paths; relative ones are taken as they are. */
    return conf_string(h, key, def, out);
}

static void
conf_error(const struct feed_host *h, const char *key, const char *fmt, ...)
{
    struct testhost *th = th_of(h);
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (key != NULL) {
        error(th, "[%s] %s: %s", h->section, key, msg);
    } else {
        error(th, "[%s] %s", h->section, msg);
    }
}

static void
log_line(const struct feed_host *h, enum feed_log_level level, const char *fmt,
         ...)
{
    va_list ap;

    (void)level;
    va_start(ap, fmt);
    append(th_of(h)->logs, fmt, ap);
    va_end(ap);
}

static int
log_enabled(const struct feed_host *h, enum feed_log_level level)
{
    (void)h;
    (void)level;
    return 1;
}

static int
field(const struct feed_host *h, const char *name, enum feed_type type)
{
    struct testhost *th = th_of(h);

    if (th->schema == NULL) {
        error(th, "[%s] no parser schema", h->section);
        return -1;
    }
    for (size_t i = 0; i < th->schema->nfields; i++) {
        if (strcmp(th->schema->fields[i].name, name) == 0) {
            if (th->schema->fields[i].type != type) {
                error(th, "[%s] field %s has the wrong type", h->section, name);
                return -1;
            }
            return (int)i;
        }
    }
    error(th, "[%s] the parser has no field %s", h->section, name);
    return -1;
}

static const struct feed_schema *
schema(const struct feed_host *h)
{
    return th_of(h)->schema;
}

static int
emit(struct feed_out *out, uint32_t line, const struct feed_value *values)
{
    struct testhost *th = (struct testhost *)out;
    size_t nf = th->schema->nfields;

    if (th->nrecords == th->cap) {
        size_t cap = th->cap == 0 ? 16 : th->cap * 2;
        uint32_t *lines = realloc(th->lines, cap * sizeof *lines);
        struct feed_value *vals;

        if (lines == NULL) {
            return -1;
        }
        th->lines = lines;
        vals = realloc(th->values_out, cap * nf * sizeof *vals);
        if (vals == NULL) {
            return -1;
        }
        th->values_out = vals;
        th->cap = cap;
    }
    th->lines[th->nrecords] = line;
    memcpy(th->values_out + th->nrecords * nf, values, nf * sizeof *values);
    th->nrecords++;
    return 0;
}

void
testhost_init(struct testhost *th, const char *section)
{
    memset(th, 0, sizeof *th);
    th->host.abi = FEED_ABI_MAJOR;
    th->host.size = sizeof th->host;
    th->host.section = section;
    th->host.core = th;
    th->host.conf_string = conf_string;
    th->host.conf_int = conf_int;
    th->host.conf_bool = conf_bool;
    th->host.conf_enum = conf_enum;
    th->host.conf_path = conf_path;
    th->host.conf_error = conf_error;
    th->host.log = log_line;
    th->host.log_enabled = log_enabled;
    th->host.field = field;
    th->host.schema = schema;
    th->host.emit = emit;
}

void
testhost_fini(struct testhost *th)
{
    free(th->lines);
    free(th->values_out);
    th->lines = NULL;
    th->values_out = NULL;
}

void
testhost_set(struct testhost *th, const char *key, const char *value)
{
    if (th->nkeys < TESTHOST_KEYS_MAX) {
        th->keys[th->nkeys] = key;
        th->values[th->nkeys] = value;
        th->nkeys++;
    }
}

const char *
testhost_unused(struct testhost *th, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < th->nkeys; i++) {
        if (!th->used[i]) {
            size_t used = strlen(buf);
            snprintf(buf + used, len - used, "%s%s", used ? "," : "",
                     th->keys[i]);
        }
    }
    return buf;
}

struct feed_out *
testhost_out(struct testhost *th)
{
    th->nrecords = 0;
    return (struct feed_out *)th;
}

const char *
testhost_value(struct testhost *th, size_t i, size_t field, char *buf,
               size_t len)
{
    const struct feed_value *v =
        &th->values_out[i * th->schema->nfields + field];

    snprintf(buf, len, "%.*s", (int)v->len, v->ptr);
    return buf;
}
