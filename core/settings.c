/*
 * settings.c - the daemon's settings: the [core] keys and the three stages.
 *
 * Owns the meaning of the [core] section and of the core's keys in the
 * stage sections (`plugin`, [source] ack, [sink] batch_max). The file format
 * is config.c's; what each plugin's keys mean is the plugin's.
 */
#include "settings.h"

#include <stdio.h>
#include <string.h>

#include "buildconf.h"
#include "config.h"
#include "log.h"
#include "metrics.h"

static const char *const log_levels[] = {
    "error", "warning", "notice", "info", "debug", NULL,
};

static const char *const ack_modes[] = {"commit", "receive", NULL};

/* An optional [core] string: NULL when the key is absent or empty. */
static void
optional(struct config *c, const char *key, const char **out)
{
    const char *value = "";

    config_string(c, "core", key, "", &value);
    *out = *value != '\0' ? value : NULL;
}

/* [core] metrics: empty (off) or a numeric ADDRESS:PORT. */
static void
read_metrics(struct settings *s, struct config *c)
{
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char err[FEED_ERR_MAX];

    optional(c, "metrics", &s->metrics);
    if (s->metrics != NULL && metrics_parse_addr(s->metrics, &addr, &addrlen,
                                                 err, sizeof err) == -1) {
        config_error(c, "core", "metrics", "%s", err);
    }
}

static void
read_core(struct settings *s, struct config *c)
{
    const char *log;

    config_path(c, "core", "pidfile", FEED_DEFAULT_PIDFILE, &s->pidfile);
    optional(c, "user", &s->user);
    optional(c, "group", &s->group);
    config_int(c, "core", "threads", 4, 1, 256, &s->threads);
    config_int(c, "core", "queue_max", 100000, 1, 100000000, &s->queue_max);
    config_path_list(c, "core", "plugin_dir", FEED_PLUGIN_DIR, &s->plugin_dir);
    if (config_string(c, "core", "log", "syslog", &log) == 0) {
        if (strcmp(log, "syslog") == 0 || strcmp(log, "stderr") == 0) {
            s->log = log;
        } else {
            config_path(c, "core", "log", NULL, &s->log);
        }
    }
    config_enum(c, "core", "log_level", log_levels, FEED_LOG_INFO,
                &s->log_level);
    config_path(c, "core", "dead_letter", FEED_DEFAULT_DEAD_LETTER,
                &s->dead_letter);
    config_int(c, "core", "stop_timeout", 30, 1, 86400, &s->stop_timeout);
    config_int(c, "core", "stats_interval", 60, 0, 86400, &s->stats_interval);
    read_metrics(s, c);
}

/*
 * Loads and configures one stage. Its section's unknown keys are reported
 * whenever the plugin loaded, also when its configure() failed: plugin.h
 * asks configure() to read every key before it fails. A plugin that did
 * not load has not had its say, and none are reported.
 */
static void
read_stage(struct stage *st, struct config *c, const char *section,
           enum feed_kind kind, const char *plugin_dir,
           const struct stage *parser)
{
    if (stage_load(st, c, section, kind, plugin_dir) == 0) {
        stage_configure(st, c, parser);
        config_check_unused(c, section);
    }
}

/* The stages, and the core's own keys in their sections. */
static void
read_stages(struct settings *s, struct config *c)
{
    config_enum(c, "source", "ack", ack_modes, 0, &s->ack_receive);
    config_int(c, "sink", "batch_max", 1000, 1, 1000000, &s->batch_max);
    /* The parser first: the sink asks for its fields. */
    read_stage(&s->parser, c, "parser", FEED_KIND_PARSER, s->plugin_dir, NULL);
    read_stage(&s->source, c, "source", FEED_KIND_SOURCE, s->plugin_dir, NULL);
    read_stage(&s->sink, c, "sink", FEED_KIND_SINK, s->plugin_dir,
               s->parser.conf != NULL ? &s->parser : NULL);
}

enum settings_result
settings_load(struct settings *s, const char *path, enum settings_depth depth,
              FILE *errs)
{
    char err[FEED_ERR_MAX];
    struct config *c;

    memset(s, 0, sizeof *s);
    c = config_load(path, err, sizeof err);
    if (c == NULL) {
        fprintf(errs, "feed-core: %s\n", err);
        return SETTINGS_UNREADABLE;
    }
    s->config = c;
    read_core(s, c);
    if (depth == SETTINGS_PLUGINS) {
        config_check_unused(c, "core");
        read_stages(s, c);
    }
    if (config_errors(c) > 0) {
        config_print_errors(c, errs);
        return SETTINGS_INVALID;
    }
    return SETTINGS_OK;
}

void
settings_free(struct settings *s)
{
    stage_free(&s->sink);
    stage_free(&s->source);
    stage_free(&s->parser);
    config_free(s->config);
    memset(s, 0, sizeof *s);
}
