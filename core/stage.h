/*
 * stage.h - one stage of the pipeline: a loaded plugin and its host.
 */
#ifndef FEED_STAGE_H
#define FEED_STAGE_H

#include <stddef.h>

#include <feed/plugin.h>

#include "plugin.h"

struct config;
struct pipeline;

struct stage {
    struct feed_host host; /* the plugin's; host.core points here */
    const char *section;   /* "source", "parser" or "sink" */
    struct plugin plugin;
    void *conf;                 /* from configure(); the plugin's */
    struct config *config;      /* borrowed; NULL outside configure() */
    const struct stage *parser; /* borrowed: answers a sink's field() */
    int upstream_failed;        /* field() found no parser: what fails
                                   after that is not reported again */
    struct pipeline *pipeline;  /* borrowed: set by pipeline_new() for the
                                   source's host functions */
};

/*
 * Sets up a stage around a descriptor already in memory (no dlopen): for
 * tests, and for stage_load().
 */
void stage_init(struct stage *s, const char *section,
                const struct feed_plugin *desc);

/*
 * Reads the `plugin` key of `section` and loads that plugin, which must be
 * of `kind`. Errors are recorded in the config (FILE:LINE of the key).
 * Returns 0 or -1.
 */
int stage_load(struct stage *s, struct config *c, const char *section,
               enum feed_kind kind, const char *plugin_dir);

/*
 * Lets the plugin read and check its keys. `parser` is the parser stage (for
 * a sink's field() lookups), or NULL when it failed (reported already: a
 * failure that follows from it records no error of its own). Errors are
 * recorded in the config. Returns 0 or -1.
 */
int stage_configure(struct stage *s, struct config *c,
                    const struct stage *parser);

/* The parser's schema (parser stages only). */
const struct feed_schema *stage_schema(const struct stage *s);

/* The plugin's name, for log lines. */
const char *stage_name(const struct stage *s);

/* Unconfigures and unloads; takes a stage that never loaded. */
void stage_free(struct stage *s);

#endif
