/*
 * endpoints.h - the endpoint list of a client, split once.
 */
#ifndef FEED_CLIENT_ENDPOINTS_H
#define FEED_CLIENT_ENDPOINTS_H

#include <stddef.h>

struct endpoints {
    char **item; /* each an owned string */
    size_t n;
};

/*
 * Appends the endpoints of a comma-separated list to ep (spaces and tabs
 * around each allowed). Returns 0, -1 with the reason in err when an item
 * is empty, or -2 when memory runs out. endpoints_free releases ep.
 */
int endpoints_add(struct endpoints *ep, const char *list, char *err,
                  size_t errlen);

/* Releases the list; takes a zeroed one too. */
void endpoints_free(struct endpoints *ep);

#endif
