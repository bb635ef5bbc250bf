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
open_checked(struct plugin *p, const char *label, char *err, size_t errlen)
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
        snprintf(err, errlen, "plugin %s: cannot open %s: %s", label, p->path,
                 strerror(errno));
        if (fd != -1) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "plugin %s: %s is not a regular file", label,
                 p->path);
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
        snprintf(err, errlen, "plugin %s: cannot load %s: %s", label,
                 p->path, why);
        return -1;
    }
    d = dlsym(p->handle, FEED_PLUGIN_SYMBOL);
    if (d == NULL) {
        snprintf(err, errlen,
                 "plugin %s: %s is not a feed-core plugin (no symbol %s)",
                 label, p->path, FEED_PLUGIN_SYMBOL);
        goto fail;
    }
    /* abi is the first field: the only one safe to read before checking. */
    if (d->abi != FEED_ABI_MAJOR) {
        snprintf(err, errlen,
                 "plugin %s: %s was built for plugin ABI %u, "
                 "this feed-core speaks ABI %u",
                 label, p->path, d->abi, FEED_ABI_MAJOR);
        goto fail;
    }
    /* Same major: size comes second in every descriptor of this ABI. */
    if (d->size < FEED_PLUGIN_MIN_SIZE) {
        snprintf(err, errlen,
                 "plugin %s: %s has a descriptor of %u bytes, plugin ABI %u "
                 "needs at least %zu",
                 label, p->path, d->size, FEED_ABI_MAJOR,
                 (size_t)FEED_PLUGIN_MIN_SIZE);
        goto fail;
    }
    if (d->name == NULL || d->version == NULL || d->summary == NULL) {
        snprintf(err, errlen, "plugin %s: %s lacks a name, version or summary",
                 label, p->path);
        goto fail;
    }
    what = missing_callback(d);
    if (what != NULL) {
        snprintf(err, errlen, "plugin %s: %s is a %s plugin without a %s "
                 "callback", label, p->path, plugin_kind_name(d->kind), what);
        goto fail;
    }
    p->desc = d;
    return 0;

fail:
    dlclose(p->handle);
    p->handle = NULL;
    return -1;
}

int
plugin_load(struct plugin *p, const char *spec, const char *dir,
            const char *base, enum feed_kind kind, char *err, size_t errlen)
{
    int n;

    memset(p, 0, sizeof *p);
    if (strchr(spec, '/') != NULL) {
        if (config_resolve(base, spec, p->path, sizeof p->path) == NULL) {
            snprintf(err, errlen, "plugin %s: path too long", spec);
            return -1;
        }
    } else {
        n = snprintf(p->path, sizeof p->path, "%s/%s.so", dir, spec);
        if (n < 0 || (size_t)n >= sizeof p->path) {
            snprintf(err, errlen, "plugin %s: path too long", spec);
            return -1;
        }
    }
    if (open_checked(p, spec, err, errlen) == -1) {
        return -1;
    }
    if (p->desc->kind != kind) {
        snprintf(err, errlen, "plugin %s: %s is a %s plugin, not a %s", spec,
                 p->path, plugin_kind_name(p->desc->kind),
                 plugin_kind_name(kind));
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

int
plugin_list(const char *dir, FILE *out, FILE *errout)
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

        names[i][strlen(names[i]) - 3] = '\0';
        snprintf(err, sizeof err, "plugin %s: path too long", names[i]);
        if (n < 0 || (size_t)n >= sizeof p.path ||
            open_checked(&p, names[i], err, sizeof err) == -1) {
            fprintf(errout, "feed-core: %s\n", err);
            rc = -1;
        } else {
            fprintf(out, "%-16s %-7s %-9s %s\n", p.desc->name,
                    plugin_kind_name(p.desc->kind), p.desc->version,
                    p.desc->summary);
            plugin_unload(&p);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}
