/*
 * bad_abi.c - a plugin built for another ABI major number; the loader must
 * refuse it before reading anything but `abi`.
 */
#include <feed/plugin.h>

FEED_EXPORT const struct feed_plugin feed_plugin = {
    .abi = FEED_ABI_MAJOR + 97,
    .size = sizeof(struct feed_plugin),
    .kind = FEED_KIND_SINK,
    .name = "bad_abi",
    .version = "9.9.9",
    .summary = "claims a future ABI (tests only)",
};
