/*
 * number.c - a whole number from the command line, strictly.
 *
 * Owns only the parsing; the messages about a bad value are the caller's,
 * which knows the option's name.
 */
#include <errno.h>
#include <stdlib.h>

#include "number.h"

int
number_parse(const char *s, unsigned long long min, unsigned long long max,
             unsigned long long *out)
{
    char *end;
    unsigned long long v;

    /* strtoull takes spaces and a sign, which are not numbers here. */
    if (*s < '0' || *s > '9') {
        return -1;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}
