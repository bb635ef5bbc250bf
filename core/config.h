/*
 * config.h - the INI file: reading it, typed getters, reporting mistakes.
 */
#ifndef FEED_CONFIG_H
#define FEED_CONFIG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <feed/plugin.h>

struct config;

/*
 * Reads the INI file at `path`. Returns NULL with the reason in err only
 * when the file cannot be read; syntax errors, duplicate keys and unknown
 * sections are recorded in the config (see config_errors()), so that every
 * mistake is reported at once. Free with config_free().
 */
struct config *config_load(const char *path, char *err, size_t errlen);
void config_free(struct config *c);

/* The file as given, and its folder made absolute (for relative paths). */
const char *config_file(const struct config *c);
const char *config_dir(const struct config *c);

/* Nonzero when the file has a [section] header or keys in it. */
int config_has_section(const struct config *c, const char *section);

/*
 * Typed getters. Each reads `key` of `section` and marks it used. A missing
 * key yields the default; a bad value records an error naming FILE:LINE and
 * the key and returns -1. Strings live as long as the config.
 */
int config_string(struct config *c, const char *section, const char *key,
                  const char *def, const char **out);
int config_int(struct config *c, const char *section, const char *key,
               long long def, long long min, long long max, long long *out);
int config_bool(struct config *c, const char *section, const char *key, int def,
                int *out);
int config_enum(struct config *c, const char *section, const char *key,
                const char *const *names, int def, int *out);
/* A path made absolute against config_dir(); `def` NULL means required. */
int config_path(struct config *c, const char *section, const char *key,
                const char *def, const char **out);

/*
 * A colon-separated list of paths (a search path), each made absolute
 * against config_dir(); `def` NULL means required. An empty item is an
 * error.
 */
int config_path_list(struct config *c, const char *section, const char *key,
                     const char *def, const char **out);

/*
 * Records an error about `key` of `section` (or the section itself when key
 * is NULL), prefixed with FILE:LINE of the key or section header.
 */
void config_error(struct config *c, const char *section, const char *key,
                  const char *fmt, ...) FEED_PRINTF(4, 5);
void config_verror(struct config *c, const char *section, const char *key,
                   const char *fmt, va_list ap) FEED_PRINTF(4, 0);

/*
 * Records an error for every key of `section` nobody read. Call once per
 * section, after everyone has read theirs.
 */
void config_check_unused(struct config *c, const char *section);

/* How many errors were recorded. */
size_t config_errors(const struct config *c);

/* Writes every error, one per line, sorted by line, to `out`. */
void config_print_errors(const struct config *c, FILE *out);

/* The first error, or "" (for one-line reports). */
const char *config_first_error(const struct config *c);

/* `path` made absolute against `dir`, in buf; returns buf or NULL if long. */
char *config_resolve(const char *dir, const char *path, char *buf, size_t len);

#endif
