/*
 * no_write.c - a sink that forgot its write callback; the loader must say
 * which callback is missing.
 */
#include <stddef.h>

#include <feed/plugin.h>

static void *
configure(const struct feed_host *host, char *err, size_t errlen)
{
    (void)host;
    (void)err;
    (void)errlen;
    return (void *)1;
}

static enum feed_result
open_sink(const struct feed_host *host, void *conf, void **state, char *err,
          size_t errlen)
{
    (void)host;
    (void)conf;
    (void)err;
    (void)errlen;
    *state = NULL;
    return FEED_OK;
}

FEED_EXPORT const struct feed_plugin feed_plugin = {
    FEED_PLUGIN_HEADER,
    .kind = FEED_KIND_SINK,
    .name = "no_write",
    .version = "0.0.1",
    .summary = "a sink without write (tests only)",
    .configure = configure,
    .open = open_sink,
};
