/*
 * config.c - the INI file: reading it, typed getters, reporting mistakes.
 *
 * Owns every key = value of the file with the line it came from and whether
 * anyone read it, and the list of errors found so far. inih does the
 * parsing; we feed it lines through our own reader, which counts lines (the
 * packaged inih does not pass line numbers to handlers), rejects malformed
 * lines itself so that all of them are reported, and strips leading blanks
 * so an indented key is a key, never a silent continuation of the previous
 * value. What the keys mean is left to the caller.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

struct entry {
    char *section;
    char *key;
    char *value;
    unsigned line;
    int used;
};

struct section {
    char *name;
    unsigned line; /* of its first header */
};

struct error {
    unsigned line; /* 0: about the file as a whole */
    size_t order;  /* keeps errors of one line in the order found */
    char *text;
};

struct config {
    char *file;
    char *dir;
    struct entry *entries;
    size_t nentries;
    struct section *sections;
    size_t nsections;
    struct error *errors;
    size_t nerrors;
    char **owned; /* strings handed out by getters, freed with the config */
    size_t nowned;
    /* while parsing */
    FILE *fp;
    unsigned lineno;
    char section[64]; /* the last header's name */
    char *linebuf;
    size_t linecap;
};

/* The sections feed-core knows; anything else is a mistake. */
static const char *const known_sections[] = {
    "core", "source", "parser", "sink", NULL,
};

/* Appends one element to a growing array; returns it or NULL. */
static void *
grow(void *arrayp, size_t *n, size_t size)
{
    void **array = arrayp;
    char *p;

    /* Double at powers of two: n is the count, capacity is implied. */
    if ((*n & (*n - 1)) == 0) {
        size_t cap = *n == 0 ? 1 : *n * 2;
        p = realloc(*array, cap * size);
        if (p == NULL) {
            return NULL;
        }
        *array = p;
    }
    p = (char *)*array + (*n)++ * size;
    memset(p, 0, size);
    return p;
}

static void
add_error(struct config *c, unsigned line, const char *fmt, va_list ap)
{
    char *reason = NULL;
    struct error *e;
    int n;

    if (vasprintf(&reason, fmt, ap) == -1) {
        return;
    }
    e = grow(&c->errors, &c->nerrors, sizeof *e);
    if (e == NULL) {
        free(reason);
        return;
    }
    e->line = line;
    e->order = c->nerrors;
    if (line != 0) {
        n = asprintf(&e->text, "%s:%u: %s", c->file, line, reason);
    } else {
        n = asprintf(&e->text, "%s: %s", c->file, reason);
    }
    free(reason);
    if (n == -1) {
        c->nerrors--;
    }
}

static void FEED_PRINTF(3, 4)
    error_at(struct config *c, unsigned line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    add_error(c, line, fmt, ap);
    va_end(ap);
}

static struct section *
find_section(const struct config *c, const char *name)
{
    for (size_t i = 0; i < c->nsections; i++) {
        if (strcmp(c->sections[i].name, name) == 0) {
            return &c->sections[i];
        }
    }
    return NULL;
}

static int
known(const char *section)
{
    for (size_t i = 0; known_sections[i] != NULL; i++) {
        if (strcmp(known_sections[i], section) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * Notes a [name] header line, reports an unknown section once, and leaves
 * the trimmed name in name (what inih must see: "[ core ]" is [core]).
 */
static void
section_header(struct config *c, const char *start, size_t len, char name[64])
{
    struct section *s;

    while (len > 0 && (*start == ' ' || *start == '\t')) {
        start++;
        len--;
    }
    while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t')) {
        len--;
    }
    if (len >= 64) {
        len = 63;
    }
    memcpy(name, start, len);
    name[len] = '\0';
    if (find_section(c, name) != NULL) {
        return;
    }
    s = grow(&c->sections, &c->nsections, sizeof *s);
    if (s == NULL || (s->name = strdup(name)) == NULL) {
        c->nsections -= s != NULL;
        return;
    }
    s->line = c->lineno;
    if (!known(name)) {
        error_at(c, c->lineno, "unknown section [%s]", name);
    }
}

/*
 * Reports a line inih cannot hold (its buffer is fixed when it is built):
 * naming the key, never the value, which may be a password.
 */
static void
too_long(struct config *c, const char *line, int max)
{
    size_t key = strcspn(line, "=:");

    while (key > 0 && (line[key - 1] == ' ' || line[key - 1] == '\t')) {
        key--;
    }
    if (line[strcspn(line, "=:")] == '\0' || line[0] == '[' || key == 0 ||
        key > 64 || c->section[0] == '\0') {
        error_at(c, c->lineno,
                 "line is longer than %d bytes, the most an "
                 "INI line may hold",
                 max);
        return;
    }
    error_at(c, c->lineno,
             "[%s] %.*s: line is longer than %d bytes, the "
             "most an INI line may hold",
             c->section, (int)key, line, max);
}

/*
 * inih's fgets-like reader. Gives inih one line at a time, or an empty line
 * in place of one we already reported as malformed.
 */
static char *
reader(char *str, int num, void *stream)
{
    struct config *c = stream;
    ssize_t n = getline(&c->linebuf, &c->linecap, c->fp);
    char *s;
    char *close;

    if (n == -1) {
        return NULL;
    }
    c->lineno++;
    s = c->linebuf;
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r')) {
        s[--n] = '\0';
    }
    if (c->lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
    }
    s += strspn(s, " \t");
    str[0] = '\0';
    if (*s == '\0' || *s == ';' || *s == '#') {
        return str;
    }
    if (strlen(s) >= (size_t)num - 1) {
        too_long(c, s, num - 2);
        return str;
    }
    if (*s == '[') {
        char name[64];

        close = strchr(s, ']');
        if (close == NULL) {
            error_at(c, c->lineno, "syntax error: missing ']'");
            return str;
        }
        section_header(c, s + 1, (size_t)(close - s - 1), name);
        snprintf(c->section, sizeof c->section, "%s", name);
        snprintf(str, (size_t)num, "[%s]", name);
        return str;
    } else if (strpbrk(s, "=:") == NULL) {
        error_at(c, c->lineno,
                 "syntax error: expected \"key = value\" or \"[section]\"");
        return str;
    } else if (*s == '=' || *s == ':') {
        error_at(c, c->lineno, "syntax error: a key name is missing");
        return str;
    }
    memcpy(str, s, strlen(s) + 1);
    return str;
}

static struct entry *
find_entry(const struct config *c, const char *section, const char *key)
{
    for (size_t i = 0; i < c->nentries; i++) {
        struct entry *e = &c->entries[i];
        if (strcmp(e->key, key) == 0 && strcmp(e->section, section) == 0) {
            return e;
        }
    }
    return NULL;
}

static int
handler(void *user, const char *section, const char *key, const char *value)
{
    struct config *c = user;
    struct entry *e;

    if (*section == '\0') {
        error_at(c, c->lineno, "key \"%s\" is outside of any section", key);
        return 1;
    }
    if (!known(section)) {
        return 1; /* the header was reported */
    }
    e = find_entry(c, section, key);
    if (e != NULL) {
        error_at(c, c->lineno, "[%s] duplicate key \"%s\" (first at line %u)",
                 section, key, e->line);
        return 1;
    }
    e = grow(&c->entries, &c->nentries, sizeof *e);
    if (e == NULL) {
        return 0;
    }
    e->section = strdup(section);
    e->key = strdup(key);
    e->value = strdup(value);
    e->line = c->lineno;
    if (e->section == NULL || e->key == NULL || e->value == NULL) {
        return 0;
    }
    return 1;
}

/* The absolute folder holding `file`. */
static char *
folder_of(const char *file)
{
    char *copy = strdup(file);
    char *slash;
    char *dir;

    if (copy == NULL) {
        return NULL;
    }
    slash = strrchr(copy, '/');
    if (slash == NULL) {
        free(copy);
        copy = strdup(".");
    } else if (slash == copy) {
        copy[1] = '\0';
    } else {
        *slash = '\0';
    }
    if (copy == NULL) {
        return NULL;
    }
    dir = realpath(copy, NULL);
    free(copy);
    return dir;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
    struct config *c = calloc(1, sizeof *c);
    int rc;

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->file = strdup(path);
    c->fp = fopen(path, "re");
    if (c->fp == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    c->dir = folder_of(path);
    if (c->file == NULL || c->dir == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    rc = ini_parse_stream(reader, c, handler, c);
    if (rc > 0 && (unsigned)rc <= c->lineno) {
        /* A line inih refused that our reader let through. */
        error_at(c, (unsigned)rc, "syntax error");
    } else if (rc < 0) {
        snprintf(err, errlen, "cannot read %s: out of memory", path);
        goto fail;
    }
    if (ferror(c->fp)) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    fclose(c->fp);
    c->fp = NULL;
    free(c->linebuf);
    c->linebuf = NULL;
    return c;

fail:
    config_free(c);
    return NULL;
}

void
config_free(struct config *c)
{
    if (c == NULL) {
        return;
    }
    if (c->fp != NULL) {
        fclose(c->fp);
    }
    for (size_t i = 0; i < c->nentries; i++) {
        free(c->entries[i].section);
        free(c->entries[i].key);
        free(c->entries[i].value);
    }
    for (size_t i = 0; i < c->nsections; i++) {
        free(c->sections[i].name);
    }
    for (size_t i = 0; i < c->nerrors; i++) {
        free(c->errors[i].text);
    }
    for (size_t i = 0; i < c->nowned; i++) {
        free(c->owned[i]);
    }
    free(c->entries);
    free(c->sections);
    free(c->errors);
    free(c->owned);
    free(c->linebuf);
    free(c->file);
    free(c->dir);
    free(c);
}

const char *
config_file(const struct config *c)
{
    return c->file;
}

const char *
config_dir(const struct config *c)
{
    return c->dir;
}

int
config_has_section(const struct config *c, const char *section)
{
    return find_section(c, section) != NULL;
}

/* The line to blame for `key` of `section`: the key's, else the header's. */
static unsigned
line_of(const struct config *c, const char *section, const char *key)
{
    const struct entry *e = key != NULL ? find_entry(c, section, key) : NULL;
    const struct section *s = find_section(c, section);

    if (e != NULL) {
        return e->line;
    }
    return s != NULL ? s->line : 0;
}

void
config_verror(struct config *c, const char *section, const char *key,
              const char *fmt, va_list ap)
{
    char msg[900];

    vsnprintf(msg, sizeof msg, fmt, ap);
    if (key != NULL) {
        error_at(c, line_of(c, section, key), "[%s] %s: %s", section, key, msg);
    } else {
        error_at(c, line_of(c, section, NULL), "[%s] %s", section, msg);
    }
}

void
config_error(struct config *c, const char *section, const char *key,
             const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    config_verror(c, section, key, fmt, ap);
    va_end(ap);
}

/* Finds the key and marks it used; NULL when absent. */
static const struct entry *
take(struct config *c, const char *section, const char *key)
{
    struct entry *e = find_entry(c, section, key);

    if (e != NULL) {
        e->used = 1;
    }
    return e;
}

static void
missing(struct config *c, const char *section, const char *key)
{
    if (config_has_section(c, section)) {
        error_at(c, line_of(c, section, NULL), "[%s] missing key \"%s\"",
                 section, key);
    } else {
        error_at(c, 0, "missing section [%s] (it needs key \"%s\")", section,
                 key);
    }
}

int
config_string(struct config *c, const char *section, const char *key,
              const char *def, const char **out)
{
    const struct entry *e = take(c, section, key);

    if (e == NULL && def == NULL) {
        missing(c, section, key);
        return -1;
    }
    *out = e != NULL ? e->value : def;
    return 0;
}

int
config_int(struct config *c, const char *section, const char *key,
           long long def, long long min, long long max, long long *out)
{
    const struct entry *e = take(c, section, key);
    const char *s;
    char *end;
    long long n;

    if (e == NULL) {
        *out = def;
        return 0;
    }
    s = e->value;
    errno = 0;
    n = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || (*s != '-' && (*s < '0' || *s > '9'))) {
        config_error(c, section, key, "not an integer: \"%s\"", s);
        return -1;
    }
    if (errno == ERANGE || n < min || n > max) {
        config_error(c, section, key, "%s is out of range %lld..%lld", s, min,
                     max);
        return -1;
    }
    *out = n;
    return 0;
}

int
config_bool(struct config *c, const char *section, const char *key, int def,
            int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1", NULL};
    static const char *const no[] = {"no", "false", "off", "0", NULL};
    const struct entry *e = take(c, section, key);

    if (e == NULL) {
        *out = def;
        return 0;
    }
    for (size_t i = 0; yes[i] != NULL; i++) {
        if (strcasecmp(e->value, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(e->value, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    config_error(c, section, key, "\"%s\" is not a boolean (yes or no)",
                 e->value);
    return -1;
}

int
config_enum(struct config *c, const char *section, const char *key,
            const char *const *names, int def, int *out)
{
    const struct entry *e = take(c, section, key);
    char choices[512] = "";
    size_t n = 0;

    if (e == NULL) {
        *out = def;
        return 0;
    }
    for (int i = 0; names[i] != NULL; i++) {
        if (strcmp(e->value, names[i]) == 0) {
            *out = i;
            return 0;
        }
        n += (size_t)snprintf(
            choices + n, n < sizeof choices ? sizeof choices - n : 0, "%s%s",
            i > 0 ? (names[i + 1] ? ", " : " or ") : "", names[i]);
        if (n >= sizeof choices) {
            n = sizeof choices - 1;
        }
    }
    config_error(c, section, key, "\"%s\" is not one of %s", e->value, choices);
    return -1;
}

char *
config_resolve(const char *dir, const char *path, char *buf, size_t len)
{
    int n;

    if (path[0] == '/') {
        n = snprintf(buf, len, "%s", path);
    } else if (strcmp(dir, "/") == 0) {
        n = snprintf(buf, len, "/%s", path);
    } else {
        n = snprintf(buf, len, "%s/%s", dir, path);
    }
    return n < 0 || (size_t)n >= len ? NULL : buf;
}

/*
 * The value of a key, marked used: the default when the key is absent;
 * NULL, reported as missing, when there is neither.
 */
static const char *
value_of(struct config *c, const char *section, const char *key,
         const char *def)
{
    const struct entry *e = take(c, section, key);
    const char *value = e != NULL ? e->value : def;

    if (value == NULL) {
        missing(c, section, key);
    }
    return value;
}

int
config_path(struct config *c, const char *section, const char *key,
            const char *def, const char **out)
{
    const char *value = value_of(c, section, key, def);
    char buf[PATH_MAX];
    char **slot;

    if (value == NULL) {
        return -1;
    }
    if (*value == '\0') {
        config_error(c, section, key, "empty path");
        return -1;
    }
    if (config_resolve(c->dir, value, buf, sizeof buf) == NULL) {
        config_error(c, section, key, "path is too long");
        return -1;
    }
    slot = grow(&c->owned, &c->nowned, sizeof *slot);
    if (slot == NULL || (*slot = strdup(buf)) == NULL) {
        c->nowned -= slot != NULL;
        config_error(c, section, key, "out of memory");
        return -1;
    }
    *out = *slot;
    return 0;
}

int
config_path_list(struct config *c, const char *section, const char *key,
                 const char *def, const char **out)
{
    const char *value = value_of(c, section, key, def);
    char buf[PATH_MAX];
    char *list = NULL;
    size_t len = 0;
    FILE *f;
    char **slot;

    if (value == NULL) {
        return -1;
    }
    f = open_memstream(&list, &len);
    if (f == NULL) {
        config_error(c, section, key, "out of memory");
        return -1;
    }
    for (const char *p = value;; p++) {
        size_t n = strcspn(p, ":");
        char item[PATH_MAX];

        if (n == 0 || n >= sizeof item) {
            fclose(f);
            free(list);
            config_error(c, section, key,
                         n == 0 ? "empty path" : "path is too long");
            return -1;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        if (config_resolve(c->dir, item, buf, sizeof buf) == NULL) {
            fclose(f);
            free(list);
            config_error(c, section, key, "path is too long");
            return -1;
        }
        fprintf(f, "%s%s", p == value ? "" : ":", buf);
        p += n;
        if (*p == '\0') {
            break;
        }
    }
    slot = grow(&c->owned, &c->nowned, sizeof *slot);
    if (fclose(f) != 0 || slot == NULL) {
        c->nowned -= slot != NULL;
        free(list);
        config_error(c, section, key, "out of memory");
        return -1;
    }
    *slot = list;
    *out = list;
    return 0;
}

void
config_check_unused(struct config *c, const char *section)
{
    for (size_t i = 0; i < c->nentries; i++) {
        const struct entry *e = &c->entries[i];
        if (!e->used && strcmp(e->section, section) == 0) {
            error_at(c, e->line, "[%s] unknown key \"%s\"", e->section, e->key);
        }
    }
}

size_t
config_errors(const struct config *c)
{
    return c->nerrors;
}

static int
by_line(const void *a, const void *b)
{
    const struct error *x = a;
    const struct error *y = b;

    if (x->line != y->line) {
        return x->line < y->line ? -1 : 1;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

void
config_print_errors(const struct config *c, FILE *out)
{
    struct error *sorted = malloc(c->nerrors * sizeof *sorted + 1);

    if (sorted == NULL) {
        for (size_t i = 0; i < c->nerrors; i++) {
            fprintf(out, "%s\n", c->errors[i].text);
        }
        return;
    }
    memcpy(sorted, c->errors, c->nerrors * sizeof *sorted);
    qsort(sorted, c->nerrors, sizeof *sorted, by_line);
    for (size_t i = 0; i < c->nerrors; i++) {
        fprintf(out, "%s\n", sorted[i].text);
    }
    free(sorted);
}

const char *
config_first_error(const struct config *c)
{
    return c->nerrors > 0 ? c->errors[0].text : "";
}
