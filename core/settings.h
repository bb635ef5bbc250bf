/*
 * settings.h - the daemon's settings: the [core] keys and the three stages.
 */
#ifndef FEED_SETTINGS_H
#define FEED_SETTINGS_H

#include "stage.h"

struct config;

struct settings {
    struct config *config;
    const char *pidfile;
    const char *user;  /* NULL when not set */
    const char *group; /* NULL when not set */
    const char *plugin_dir;
    const char *log; /* "syslog", "stderr" or an absolute path */
    int log_level;   /* enum feed_log_level */
    const char *dead_letter;
    long long threads;
    long long queue_max;
    long long stop_timeout;   /* seconds */
    long long stats_interval; /* seconds; 0: off */
    const char *metrics;      /* ADDRESS:PORT of the listener; NULL: off */
    long long batch_max;
    int ack_receive;
    struct stage source;
    struct stage parser;
    struct stage sink;
};

enum settings_depth {
    SETTINGS_CORE,    /* the file and the [core] keys: status, stop */
    SETTINGS_PLUGINS, /* and every plugin configured: check, start */
};

/* What settings_load() found. */
enum settings_result {
    SETTINGS_OK = 0,
    SETTINGS_INVALID,    /* mistakes in the file, reported */
    SETTINGS_UNREADABLE, /* the file cannot be read, reported */
};

/*
 * Reads the INI file at `path`. With SETTINGS_PLUGINS also loads and
 * configures the three plugins and reports keys nobody read. Every mistake
 * is written to `errs` as FILE:LINE: message. Whatever the result, the
 * settings must be freed with settings_free().
 */
enum settings_result settings_load(struct settings *s, const char *path,
                                   enum settings_depth depth, FILE *errs);

/* Unloads the plugins and frees the config; takes a zeroed struct. */
void settings_free(struct settings *s);

#endif
