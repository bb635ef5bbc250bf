/*
 * no_symbol.c - a shared object that is not a feed-core plugin: it exports
 * no `feed_plugin` descriptor.
 */
#include <feed/plugin.h>

FEED_EXPORT int not_a_plugin = 1;
