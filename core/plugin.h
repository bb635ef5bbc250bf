/*
 * plugin.h - loading plugins: dlopen, and checking what was loaded.
 */
#ifndef FEED_CORE_PLUGIN_H
#define FEED_CORE_PLUGIN_H

#include <stddef.h>
#include <stdio.h>

#include <feed/plugin.h>

/*
 * Nonzero when descriptor `d` has the optional callback `field`: its size
 * covers the field (it was built against a header that has it) and it is
 * set. Read a callback past FEED_PLUGIN_MIN_SIZE only through this.
 */
#define PLUGIN_HAS(d, field)                                                   \
    ((d)->size >= offsetof(struct feed_plugin, field) + sizeof((d)->field) &&  \
     (d)->field != NULL)

struct plugin {
    void *handle;
    const struct feed_plugin *desc; /* borrowed from handle */
    char path[4096];
};

/*
 * Loads the plugin `spec` for a stage that needs `kind`: a spec holding a
 * '/' is a path to a .so (relative to `base`), otherwise a bare name looked
 * up as DIR/NAME.so in each folder of the search path `dirs` (separated by
 * ':'; the first that has the file wins). The file must be a regular file.
 * Checks the ABI version first, then the kind and the callbacks the kind
 * needs. Returns 0, or -1 with one line in err naming the file (or the
 * search path) and what is wrong. Release with plugin_unload().
 */
int plugin_load(struct plugin *p, const char *spec, const char *dirs,
                const char *base, enum feed_kind kind, char *err,
                size_t errlen);

/* Unloads; takes a plugin that was never loaded. */
void plugin_unload(struct plugin *p);

/* "source", "parser", "sink" or "unknown". */
const char *plugin_kind_name(enum feed_kind kind);

/*
 * Lists every *.so along the search path `dirs` (folders separated by
 * ':'), each folder sorted by name, leaving out a name an earlier folder
 * had (plugin_load() would not find it): one line each on `out` with name,
 * kind, version, summary and, in parentheses, the file; a file that is not
 * a usable plugin gets one line on `errout`. Returns 0, or -1 when a folder
 * cannot be read (or held a broken plugin).
 */
int plugin_list(const char *dirs, FILE *out, FILE *errout);

#endif
