/*
 * stage.c - one stage of the pipeline: a loaded plugin and its host.
 *
 * Owns the struct feed_host each plugin gets and the functions behind it:
 * configuration getters that know the stage's section, logging that adds
 * the plugin's name, counters, and the schema lookups between parser and
 * sink. The functions a running pipeline adds (a parser's emit(), a
 * source's submit() and the rest) are installed by pipeline.c.
 */
#include "stage.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "health.h"
#include "log.h"
#include "stats.h"

static struct stage *
stage_of(const struct feed_host *h)
{
    return h->core;
}

/* Configuration getters are for configure() and a source's reopen(). */
static struct config *
config_of(const struct feed_host *h)
{
    struct stage *s = stage_of(h);

    if (s->config == NULL) {
        log_error("%s: reads configuration outside configure() and reopen()",
                  stage_name(s));
    }
    return s->config;
}

/* A string-valued key, read with `get` (config_string or config_path). */
static int
text_key(const struct feed_host *h, const char *key, const char *def,
         const char **out,
         int (*get)(struct config *, const char *, const char *, const char *,
                    const char **))
{
    struct config *c = config_of(h);

    return c == NULL ? -1 : get(c, h->section, key, def, out);
}

static int
conf_string(const struct feed_host *h, const char *key, const char *def,
            const char **out)
{
    return text_key(h, key, def, out, config_string);
}

static int
conf_int(const struct feed_host *h, const char *key, long long def,
         long long min, long long max, long long *out)
{
    struct config *c = config_of(h);

    return c == NULL ? -1 : config_int(c, h->section, key, def, min, max, out);
}

static int
conf_bool(const struct feed_host *h, const char *key, int def, int *out)
{
    struct config *c = config_of(h);

    return c == NULL ? -1 : config_bool(c, h->section, key, def, out);
}

static int
conf_enum(const struct feed_host *h, const char *key, const char *const *names,
          int def, int *out)
{
    struct config *c = config_of(h);

    return c == NULL ? -1 : config_enum(c, h->section, key, names, def, out);
}

static int
conf_path(const struct feed_host *h, const char *key, const char *def,
          const char **out)
{
    return text_key(h, key, def, out, config_path);
}

static void
conf_error(const struct feed_host *h, const char *key, const char *fmt, ...)
{
    struct config *c = config_of(h);
    va_list ap;

    if (c == NULL) {
        return;
    }
    va_start(ap, fmt);
    config_verror(c, h->section, key, fmt, ap);
    va_end(ap);
}

static void
host_log(const struct feed_host *h, enum feed_log_level level, const char *fmt,
         ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_write(level, stage_name(stage_of(h)), fmt, ap);
    va_end(ap);
}

static int
host_log_enabled(const struct feed_host *h, enum feed_log_level level)
{
    (void)h;
    return log_enabled(level);
}

static const char *
type_name(enum feed_type type)
{
    switch (type) {
    case FEED_TYPE_TEXT:
        return "text";
    case FEED_TYPE_UINT:
        return "uint";
    case FEED_TYPE_DECIMAL:
        return "decimal";
    }
    return "unknown";
}

static int
field(const struct feed_host *h, const char *name, enum feed_type type)
{
    struct stage *s = stage_of(h);
    const struct feed_schema *schema =
        s->parser != NULL ? stage_schema(s->parser) : NULL;

    if (schema == NULL) {
        /* The parser's failure is reported already: one problem, one line. */
        s->upstream_failed = 1;
        return -1;
    }
    for (size_t i = 0; i < schema->nfields; i++) {
        if (strcmp(schema->fields[i].name, name) != 0) {
            continue;
        }
        if (schema->fields[i].type != type) {
            conf_error(h, "plugin",
                       "plugin %s needs field \"%s\" as %s, "
                       "parser %s gives %s",
                       stage_name(s), name, type_name(type),
                       stage_name(s->parser),
                       type_name(schema->fields[i].type));
            return -1;
        }
        return (int)i;
    }
    conf_error(h, "plugin",
               "plugin %s needs field \"%s\", parser %s has "
               "no such field",
               stage_name(s), name, stage_name(s->parser));
    return -1;
}

static const struct feed_schema *
schema(const struct feed_host *h)
{
    const struct stage *s = stage_of(h);

    return s->parser != NULL ? stage_schema(s->parser) : NULL;
}

static void
count(const struct feed_host *h, enum feed_count what, uint64_t n)
{
    (void)h;
    switch (what) {
    case FEED_COUNT_PEERS_REFUSED:
        stats_add(STATS_PEERS_REFUSED, n);
        return;
    }
}

static void
server(const struct feed_host *h, const char *name)
{
    (void)h;
    health_server(name);
}

static const struct feed_host host_template = {
    .abi = FEED_ABI_MAJOR,
    .size = sizeof(struct feed_host),
    .conf_string = conf_string,
    .conf_int = conf_int,
    .conf_bool = conf_bool,
    .conf_enum = conf_enum,
    .conf_path = conf_path,
    .conf_error = conf_error,
    .log = host_log,
    .log_enabled = host_log_enabled,
    .field = field,
    .schema = schema,
    .count = count,
    .server = server,
};

void
stage_init(struct stage *s, const char *section, const struct feed_plugin *desc)
{
    memset(s, 0, sizeof *s);
    s->section = section;
    s->host = host_template;
    s->host.section = section;
    s->host.core = s;
    s->plugin.desc = desc;
}

int
stage_load(struct stage *s, struct config *c, const char *section,
           enum feed_kind kind, const char *plugin_dir)
{
    char err[FEED_ERR_MAX];
    const char *spec;

    stage_init(s, section, NULL);
    if (config_string(c, section, "plugin", NULL, &spec) == -1) {
        return -1;
    }
    if (plugin_load(&s->plugin, spec, plugin_dir, config_dir(c), kind, err,
                    sizeof err) == -1) {
        config_error(c, section, "plugin", "%s", err);
        return -1;
    }
    return 0;
}

int
stage_configure(struct stage *s, struct config *c, const struct stage *parser)
{
    char err[FEED_ERR_MAX] = "";
    size_t before = config_errors(c);

    s->parser = parser;
    s->config = c;
    s->conf = s->plugin.desc->configure(&s->host, err, sizeof err);
    s->config = NULL;
    if (s->conf == NULL) {
        /*
         * A reason not already reported through conf_* is reported now,
         * unless it follows from the parser's failure, reported before.
         */
        if (s->upstream_failed && config_errors(c) == before) {
            return -1;
        }
        if (err[0] != '\0' || config_errors(c) == before) {
            config_error(c, s->section, NULL, "plugin %s: %s", stage_name(s),
                         err[0] != '\0' ? err : "configuration refused");
        }
        return -1;
    }
    if (config_errors(c) != before) {
        return -1;
    }
    return 0;
}

const struct feed_schema *
stage_schema(const struct stage *s)
{
    if (s->conf == NULL || s->plugin.desc == NULL ||
        s->plugin.desc->schema == NULL) {
        return NULL;
    }
    return s->plugin.desc->schema(&s->host, s->conf);
}

const char *
stage_name(const struct stage *s)
{
    return s->plugin.desc != NULL ? s->plugin.desc->name : s->section;
}

void
stage_free(struct stage *s)
{
    if (s->conf != NULL && s->plugin.desc->unconfigure != NULL) {
        s->plugin.desc->unconfigure(&s->host, s->conf);
    }
    s->conf = NULL;
    plugin_unload(&s->plugin);
}
