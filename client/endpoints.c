/*
 * endpoints.c - splitting the endpoint lists a client is given.
 *
 * Owns the list's strings. Whether ZeroMQ takes an endpoint is client.c's
 * question (it asks zmq_connect).
 */
#include "endpoints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends len bytes of s as a new item; -1 when memory runs out. */
static int
append(struct endpoints *ep, const char *s, size_t len)
{
    char **item = realloc(ep->item, (ep->n + 1) * sizeof *item);
    char *copy;

    if (item == NULL) {
        return -1;
    }
    ep->item = item;
    copy = strndup(s, len);
    if (copy == NULL) {
        return -1;
    }
    ep->item[ep->n++] = copy;
    return 0;
}

int
endpoints_add(struct endpoints *ep, const char *list, char *err, size_t errlen)
{
    const char *p = list;

    for (;;) {
        size_t len = strcspn(p, ",");
        const char *end = p + len;
        const char *s = p + strspn(p, " \t");

        while (end > s && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }
        if (end <= s) {
            snprintf(err, errlen,
                     "invalid endpoint list \"%s\": an endpoint is empty",
                     list);
            return -1;
        }
        if (append(ep, s, (size_t)(end - s)) == -1) {
            return -2;
        }
        if (p[len] == '\0') {
            return 0;
        }
        p += len + 1;
    }
}

void
endpoints_free(struct endpoints *ep)
{
    for (size_t i = 0; i < ep->n; i++) {
        free(ep->item[i]);
    }
    free(ep->item);
    ep->item = NULL;
    ep->n = 0;
}
