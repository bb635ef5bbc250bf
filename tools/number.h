/*
 * number.h - a whole number from the command line, strictly: the one
 * parser feed-send and the bench programs share.
 */
#ifndef FEED_TOOLS_NUMBER_H
#define FEED_TOOLS_NUMBER_H

/*
 * Parses s, decimal digits only (no spaces, no sign), as a number in
 * [min, max] into *out. Returns 0, or -1 for anything else (*out is left
 * alone); the caller says what it wanted.
 */
int number_parse(const char *s, unsigned long long min, unsigned long long max,
                 unsigned long long *out);

#endif
