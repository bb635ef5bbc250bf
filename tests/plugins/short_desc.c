/*
 * short_desc.c - a plugin of the right ABI major whose descriptor is
 * smaller than that ABI's smallest: the loader must refuse it before
 * reading any callback.
 */
#include <feed/plugin.h>

FEED_EXPORT const struct feed_plugin feed_plugin = {
    .abi = FEED_ABI_MAJOR,
    .size = 16,
    .kind = FEED_KIND_SINK,
    .name = "short_desc",
    .version = "0.0.1",
    .summary = "a descriptor too short for its ABI (tests only)",
};
