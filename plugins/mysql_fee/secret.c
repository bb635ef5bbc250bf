/*
 * secret.c - the database password of mysql_fee, read from a file.
 *
 * Owns the rules for password files (password_file, password_credential):
 * the file must be a regular file, not a symbolic link, that neither group
 * nor others can read; its first line, exactly, is the password: up to the
 * first '\n' or the end of the file, blanks, ';' and '#' included. A line
 * holding a carriage return is refused rather than taken: a file saved with
 * CRLF line ends would otherwise send a password ending in '\r' and fail as
 * "access denied" with no hint why. An empty first line is refused too (an
 * empty password is written by leaving the keys out).
 *
 * Which key named the file and where (FILE:LINE) is the caller's to say.
 * Every buffer that held the password is zeroed before it is released, and
 * no error message quotes the file's content.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"

/*
 * Checks what fd is: a regular file that group and others cannot read.
 * Returns 0, or -1 with the reason in err.
 */
static int
check_file(int fd, const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (fstat(fd, &st) == -1) {
        snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        return -1;
    }
    if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
        snprintf(err, errlen,
                 "%s can be read by group or others (mode %04o); "
                 "chmod 600 it",
                 path, (unsigned int)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

/*
 * Reads up to the first '\n' into buf (cap bytes, NUL-terminated).
 * Returns the line's length, or -1 with the reason in err.
 */
static long
read_line(int fd, const char *path, char *buf, size_t cap, char *err,
          size_t errlen)
{
    size_t len = 0;

    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        char *nl;

        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            return -1;
        }
        nl = memchr(buf + len, '\n', (size_t)n);
        if (nl != NULL) {
            len = (size_t)(nl - buf);
            break;
        }
        len += (size_t)n;
        if (n == 0) {
            break;
        }
        if (len == cap - 1) {
            snprintf(err, errlen,
                     "the first line of %s is longer than %d bytes", path,
                     SECRET_MAX);
            return -1;
        }
    }
    buf[len] = '\0';
    return (long)len;
}

/* Refuses a line that cannot be a password; 0 or -1 with err. */
static int
check_line(const char *line, size_t len, const char *path, char *err,
           size_t errlen)
{
    if (len == 0) {
        snprintf(err, errlen, "the first line of %s is empty", path);
        return -1;
    }
    if (strlen(line) != len) {
        snprintf(err, errlen, "the first line of %s holds a NUL byte", path);
        return -1;
    }
    if (memchr(line, '\r', len) != NULL) {
        snprintf(err, errlen,
                 "the first line of %s holds a carriage return "
                 "(CRLF line ends?)",
                 path);
        return -1;
    }
    return 0;
}

char *
secret_read_file(const char *path, char *err, size_t errlen)
{
    char *buf = NULL;
    long len;
    int fd = -1;

    /* O_NONBLOCK: a FIFO must not hang the daemon before it is refused. */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd == -1 && errno == ELOOP) {
        snprintf(err, errlen, "%s is a symbolic link, not a regular file",
                 path);
        goto fail;
    }
    if (fd == -1) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        goto fail;
    }
    if (check_file(fd, path, err, errlen) == -1) {
        goto fail;
    }
    buf = malloc(SECRET_MAX + 2);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    len = read_line(fd, path, buf, SECRET_MAX + 2, err, errlen);
    if (len == -1 || check_line(buf, (size_t)len, path, err, errlen) == -1) {
        goto fail;
    }
    close(fd);
    return buf;

fail:
    if (buf != NULL) {
        secret_free(buf);
    }
    if (fd != -1) {
        close(fd);
    }
    return NULL;
}

char *
secret_read_credential(const char *name, char *err, size_t errlen)
{
    const char *dir = getenv(SECRET_CREDENTIALS_ENV);
    char path[4096];

    if (name[0] == '\0' || strchr(name, '/') != NULL ||
        strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        snprintf(err, errlen,
                 "\"%s\" is not a credential name (a file name, no '/')", name);
        return NULL;
    }
    if (dir == NULL || dir[0] == '\0') {
        snprintf(err, errlen,
                 "$" SECRET_CREDENTIALS_ENV
                 " is not set (start the daemon from a systemd unit with "
                 "LoadCredential=%s:FILE)",
                 name);
        return NULL;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >=
        sizeof path) {
        snprintf(err, errlen, "$" SECRET_CREDENTIALS_ENV " is too long");
        return NULL;
    }
    if (access(path, F_OK) == -1 && errno == ENOENT) {
        snprintf(err, errlen,
                 "no credential \"%s\" in $" SECRET_CREDENTIALS_ENV
                 " (%s); is LoadCredential=%s:FILE in the unit?",
                 name, dir, name);
        return NULL;
    }
    return secret_read_file(path, err, errlen);
}

void
secret_free(char *secret)
{
    if (secret == NULL) {
        return;
    }
    /* The whole buffer: read() may have left bytes past the line. */
    explicit_bzero(secret, SECRET_MAX + 2);
    free(secret);
}
