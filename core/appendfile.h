/*
 * appendfile.h - opening the files the daemon appends to (the log, the
 * dead-letter file) the one way they are opened.
 */
#ifndef FEED_APPENDFILE_H
#define FEED_APPENDFILE_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

/*
 * Opens `path` for appending (created 0640, close-on-exec). Returns the
 * descriptor, or -1 with "cannot open WHAT PATH: reason" in err.
 */
static inline int
appendfile_open(const char *what, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

    if (fd == -1) {
        snprintf(err, errlen, "cannot open %s %s: %s", what, path,
                 strerror(errno));
    }
    return fd;
}

#endif
