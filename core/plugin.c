/*
 * plugin.c - loading plugins: dlopen, and checking what was loaded.
 *
 * Owns the dlopen handles and the checks of a descriptor: ABI major number
 * first, then its size, kind and callbacks. A refusal is always one line
 * naming the plugin and the file (nginx's ngx_add_module and redis'
 * moduleLoad work this way). The host a plugin gets is stage.c's; when its
 * callbacks run is pipeline.c's.
 */
#include "plugin.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

const char *
plugin_kind_name(enum feed_kind kind)
{
    switch (kind) {
    case FEED_KIND_SOURCE:
        return "source";
    case FEED_KIND_PARSER:
        return "parser";
    case FEED_KIND_SINK:
        return "sink";
    }
    return "unknown";
}

/* The name of the first callback `kind` needs that `d` lacks, or NULL. */
static const char *
missing_callback(const struct feed_plugin *d)
{
    if (d->configure == NULL) {
        return "configure";
    }
    switch (d->kind) {
    case FEED_KIND_SOURCE:
        if (d->open == NULL) {
            return "open";
        }
        if (d->run == NULL) {
            return "run";
        }
        return d->reply == NULL ? "reply" : NULL;
    case FEED_KIND_PARSER:
        if (d->schema == NULL) {
            return "schema";
        }
        return d->parse == NULL ? "parse" : NULL;
    case FEED_KIND_SINK:
        if (d->open == NULL) {
            return "open";
        }
        return d->write == NULL ? "write" : NULL;
    }
    return NULL;
}

/* Opens the file and checks the descriptor, whatever kind it is. */
static int
open_checked(struct plugin *p, char *err, size_t errlen)
{
    const struct feed_plugin *d;
    const char *what;
    struct stat st;
    int fd;

    /*
     * dlopen() of a FIFO blocks forever, and of a device reads it: look
     * first, without blocking, and load regular files only.
     */
    fd = open(p->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd == -1 || fstat(fd, &st) == -1) {
        snprintf(err, errlen, "cannot open %s: %s", p->path, strerror(errno));
        if (fd != -1) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", p->path);
        return -1;
    }
    /*
     * NODELETE: a plugin's code stays mapped after dlclose(). The client
     * libraries plugins pull in (libmariadb, libzmq) keep process-wide state
     * set up once per process and are not safe to unload and load again;
     * keeping them is also what lets a leak checker see that state as
     * reachable.
     */
    p->handle = dlopen(p->path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (p->handle == NULL) {
        const char *why = dlerror();
        size_t len = strlen(p->path);

        /* dlerror() names the file that failed: ours, or a library. */
        if (strncmp(why, p->path, len) == 0 && why[len] == ':') {
            why += len + 1;
            why += strspn(why, " ");
        }
        snprintf(err, errlen, "cannot load %s: %s", p->path, why);
        return -1;
    }
    d = dlsym(p->handle, FEED_PLUGIN_SYMBOL);
    if (d == NULL) {
        snprintf(err, errlen, "%s is not a feed-core plugin (no symbol %s)",
                 p->path, FEED_PLUGIN_SYMBOL);
        goto fail;
    }
    /* abi is the first field: the only one safe to read before checking. */
    if (d->abi != FEED_ABI_MAJOR) {
        snprintf(err, errlen,
                 "%s was built for plugin ABI %u, "
                 "this feed-core speaks ABI %u",
                 p->path, d->abi, FEED_ABI_MAJOR);
        goto fail;
    }
    /* Same major: size comes second in every descriptor of this ABI. */
    if (d->size < FEED_PLUGIN_MIN_SIZE) {
        snprintf(err, errlen,
                 "%s has a descriptor of %u bytes, plugin ABI %u "
                 "needs at least %zu",
                 p->path, d->size, FEED_ABI_MAJOR,
                 (size_t)FEED_PLUGIN_MIN_SIZE);
        goto fail;
    }
    if (d->name == NULL || d->version == NULL || d->summary == NULL) {
        snprintf(err, errlen, "%s lacks a name, version or summary", p->path);
        goto fail;
    }
    what = missing_callback(d);
    if (what != NULL) {
        snprintf(err, errlen,
                 "%s is a %s plugin without a %s "
                 "callback",
                 p->path, plugin_kind_name(d->kind), what);
        goto fail;
    }
    p->desc = d;
    return 0;

fail:
    dlclose(p->handle);
    p->handle = NULL;
    return -1;
}

/*
 * Puts into p->path the first DIR/NAME.so that exists along the search
 * path `dirs` (folders separated by ':'). When none does, a single folder
 * leaves its one candidate (for open's own error); several are an error.
 */
static int
find(struct plugin *p, const char *name, const char *dirs, char *err,
     size_t errlen)
{
    int several = strchr(dirs, ':') != NULL;

    for (const char *d = dirs;; d++) {
        size_t len = strcspn(d, ":");
        int n =
            snprintf(p->path, sizeof p->path, "%.*s/%s.so", (int)len, d, name);
        struct stat st;

        if (n < 0 || (size_t)n >= sizeof p->path) {
            snprintf(err, errlen, "the path of plugin %s is too long", name);
            return -1;
        }
        if (!several || lstat(p->path, &st) == 0) {
            return 0;
        }
        d += len;
        if (*d == '\0') {
            break;
        }
    }
    snprintf(err, errlen, "cannot find %s.so in plugin_dir %s", name, dirs);
    return -1;
}

int
plugin_load(struct plugin *p, const char *spec, const char *dirs,
            const char *base, enum feed_kind kind, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (strchr(spec, '/') != NULL) {
        if (config_resolve(base, spec, p->path, sizeof p->path) == NULL) {
            snprintf(err, errlen, "the path of plugin %s is too long", spec);
            return -1;
        }
    } else if (find(p, spec, dirs, err, errlen) == -1) {
        return -1;
    }
    if (open_checked(p, err, errlen) == -1) {
        return -1;
    }
    if (p->desc->kind != kind) {
        snprintf(err, errlen, "%s is a %s plugin, not a %s", p->path,
                 plugin_kind_name(p->desc->kind), plugin_kind_name(kind));
        plugin_unload(p);
        return -1;
    }
    return 0;
}

void
plugin_unload(struct plugin *p)
{
    if (p->handle != NULL) {
        dlclose(p->handle);
    }
    p->handle = NULL;
    p->desc = NULL;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the *.so files in dir, sorted; NULL on error. */
static char **
so_files(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    char **names = NULL;
    size_t n = 0;

    if (d == NULL) {
        return NULL;
    }
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        char **more;

        if (len < 4 || strcmp(ent->d_name + len - 3, ".so") != 0) {
            continue;
        }
        more = realloc(names, (n + 1) * sizeof *names);
        if (more == NULL || (more[n] = strdup(ent->d_name)) == NULL) {
            names = more != NULL ? more : names;
            break;
        }
        names = more;
        n++;
    }
    closedir(d);
    if (n > 1) {
        qsort(names, n, sizeof *names, by_name);
    }
    *count = n;
    return names != NULL ? names : calloc(1, sizeof *names);
}

/* Nonzero when `name` is among the n first of `seen`. */
static int
seen_before(char *const *seen, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(seen[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * Lists one folder of the search path; `seen` holds the names listed from
 * earlier folders (they shadow this one's) and grows with this one's.
 */
static int
list_dir(const char *dir, char ***seen, size_t *nseen, FILE *out, FILE *errout)
{
    char err[FEED_ERR_MAX];
    size_t count = 0;
    char **names = so_files(dir, &count);
    int rc = 0;

    if (names == NULL) {
        fprintf(errout, "feed-core: cannot read plugin folder %s: %s\n", dir,
                strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        struct plugin p = {0};
        int n = snprintf(p.path, sizeof p.path, "%s/%s", dir, names[i]);
        char **grown;

        names[i][strlen(names[i]) - 3] = '\0';
        if (seen_before(*seen, *nseen, names[i])) {
            free(names[i]);
            continue; /* an earlier folder's wins */
        }
        snprintf(err, sizeof err, "the path of plugin %s is too long",
                 names[i]);
        if (n < 0 || (size_t)n >= sizeof p.path ||
            open_checked(&p, err, sizeof err) == -1) {
            fprintf(errout, "feed-core: %s\n", err);
            rc = -1;
        } else {
            fprintf(out, "%-16s %-7s %-9s %s (%s)\n", p.desc->name,
                    plugin_kind_name(p.desc->kind), p.desc->version,
                    p.desc->summary, p.path);
            plugin_unload(&p);
        }
        grown = realloc(*seen, (*nseen + 1) * sizeof *grown);
        if (grown == NULL) {
            free(names[i]);
            continue;
        }
        *seen = grown;
        (*seen)[(*nseen)++] = names[i];
    }
    free(names);
    return rc;
}

int
plugin_list(const char *dirs, FILE *out, FILE *errout)
{
    char dir[4096];
    char **seen = NULL;
    size_t nseen = 0;
    int rc = 0;

    for (const char *d = dirs;; d++) {
        size_t len = strcspn(d, ":");

        snprintf(dir, sizeof dir, "%.*s", (int)len, d);
        if (list_dir(dir, &seen, &nseen, out, errout) == -1) {
            rc = -1;
        }
        d += len;
        if (*d == '\0') {
            break;
        }
    }
    for (size_t i = 0; i < nseen; i++) {
        free(seen[i]);
    }
    free(seen);
    return rc;
}
