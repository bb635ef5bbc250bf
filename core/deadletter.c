/*
 * deadletter.c - the dead-letter file: refused messages, one JSON per line.
 *
 * Owns the dead-letter descriptor. Every refused message is written here
 * so that bad input is answered and never lost. The file holds only whole
 * JSON lines: an entry is one write(2), and one that fails half way (a
 * full disk) is cut off again, so the next entry starts on a line of its
 * own. Like the log, the file is reopened with dup3().
 */
#include "deadletter.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "appendfile.h"
#include "log.h"

/* Set by deadletter_open() before other threads exist. */
static int fd = -1;
static char path[4096];
/* Held around each entry, so that cutting a failed one back cuts no other. */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong failures;
static atomic_int failing; /* nonzero while writes fail */

int
deadletter_open(const char *where, char *err, size_t errlen)
{
    int nfd = appendfile_open("dead_letter", where, err, errlen);

    if (nfd == -1) {
        return -1;
    }
    deadletter_close();
    fd = nfd;
    snprintf(path, sizeof path, "%s", where);
    return 0;
}

int
deadletter_reopen(char *err, size_t errlen)
{
    int nfd;
    int rc;
    int saved;

    if (fd == -1) {
        return 0;
    }
    nfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    pthread_mutex_lock(&write_lock);
    rc = nfd == -1 ? -1 : dup3(nfd, fd, O_CLOEXEC);
    saved = errno;
    pthread_mutex_unlock(&write_lock);
    if (rc == -1) {
        snprintf(err, errlen, "cannot reopen dead_letter %s: %s", path,
                 strerror(saved));
        if (nfd != -1) {
            close(nfd);
        }
        return -1;
    }
    close(nfd);
    return 0;
}

void
deadletter_close(void)
{
    if (fd != -1) {
        close(fd);
    }
    fd = -1;
}

unsigned long
deadletter_failures(void)
{
    return atomic_load(&failures);
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
    unsigned c = s[0];
    size_t n;
    unsigned long cp;

    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len < n) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
        return 0;
    }
    return n;
}

int
deadletter_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t n = utf8_seq(s + i, len - i);
        if (n == 0) {
            return 0;
        }
        i += n;
    }
    return 1;
}

/* Writes s as a JSON string body (no quotes) at out; returns the end. */
static char *
escape(char *out, const unsigned char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];

        if (c == '"' || c == '\\') {
            *out++ = '\\';
            *out++ = (char)c;
        } else if (c == '\n') {
            *out++ = '\\';
            *out++ = 'n';
        } else if (c == '\r') {
            *out++ = '\\';
            *out++ = 'r';
        } else if (c == '\t') {
            *out++ = '\\';
            *out++ = 't';
        } else if (c < 0x20 || c == 0x7F) {
            memcpy(out, "\\u00", 4);
            out[4] = hex[c >> 4];
            out[5] = hex[c & 15];
            out += 6;
        } else {
            *out++ = (char)c;
        }
    }
    return out;
}

static char *
base64(char *out, const unsigned char *s, size_t len)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0;

    for (; i + 2 < len; i += 3) {
        unsigned long v = (unsigned long)s[i] << 16 | s[i + 1] << 8 | s[i + 2];
        *out++ = abc[v >> 18];
        *out++ = abc[(v >> 12) & 63];
        *out++ = abc[(v >> 6) & 63];
        *out++ = abc[v & 63];
    }
    if (i < len) {
        unsigned long v = (unsigned long)s[i] << 16;
        if (i + 1 < len) {
            v |= (unsigned long)s[i + 1] << 8;
        }
        *out++ = abc[v >> 18];
        *out++ = abc[(v >> 12) & 63];
        *out++ = i + 1 < len ? abc[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
    return out;
}

/* Copies the string s to p; returns the end. */
static char *
put(char *p, const char *s)
{
    size_t n = strlen(s);

    memcpy(p, s, n);
    return p + n;
}

/* Appends ,"NAME":"..." (or ,"NAME_base64":"..." for bytes not UTF-8). */
static char *
put_field(char *p, const char *name, const unsigned char *s, size_t len)
{
    int text = deadletter_utf8_valid(s, len);

    p = put(p, ",\"");
    p = put(p, name);
    p = put(p, text ? "\":\"" : "_base64\":\"");
    p = text ? escape(p, s, len) : base64(p, s, len);
    return put(p, "\"");
}

char *
deadletter_format(long long now_ms, const char *reason, const char *client,
                  const void *msg, size_t len, unsigned parts, size_t *outlen)
{
    const unsigned char *body = msg;
    size_t rlen = strlen(reason);
    size_t clen = client != NULL ? strlen(client) : 0;
    /* Escaping grows a byte to at most 6; base64 to 4/3. */
    size_t cap = 200 + rlen * 6 + clen * 6 + len * 6;
    char *buf = malloc(cap);
    char *p;
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;

    if (buf == NULL) {
        return NULL;
    }
    gmtime_r(&secs, &tm);
    p = buf + strftime(buf, cap, "{\"time\":\"%Y-%m-%dT%H:%M:%S", &tm);
    p += snprintf(p, 64, ".%03dZ", (int)(now_ms % 1000));
    p = put(p, "\",\"reason\":\"");
    p = escape(p, (const unsigned char *)reason, rlen);
    p = put(p, "\"");
    if (clen > 0) {
        p = put_field(p, "client", (const unsigned char *)client, clen);
    }
    if (parts > 1) {
        p += snprintf(p, 64, ",\"parts\":%u", parts);
    }
    p = put_field(p, "message", body, len);
    p = put(p, "}\n");
    *outlen = (size_t)(p - buf);
    return buf;
}

static void
failed(const char *why)
{
    atomic_fetch_add(&failures, 1);
    if (!atomic_exchange(&failing, 1)) {
        log_error("cannot write dead_letter %s: %s", path, why);
    }
}

/*
 * Appends the line whole or not at all. The size before is where a failed
 * entry is cut back to. Returns 0, or -1 with errno (0 when no reason is
 * known, for a write that took nothing and said nothing).
 */
static int
append(const char *line, size_t n)
{
    struct stat st;
    size_t done = 0;
    int saved;

    if (fstat(fd, &st) == -1) {
        return -1;
    }
    while (done < n) {
        ssize_t w = write(fd, line + done, n - done);

        if (w == -1 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            /* Short, then failed: the second write says why (ENOSPC). */
            saved = w == 0 ? 0 : errno;
            if (done > 0 && ftruncate(fd, st.st_size) == -1) {
                log_error("cannot cut dead_letter %s back to %lld bytes: %s",
                          path, (long long)st.st_size, strerror(errno));
            }
            errno = saved;
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

int
deadletter_write(const char *reason, const char *client, const void *msg,
                 size_t len, unsigned parts)
{
    struct timespec ts;
    size_t n;
    char *line;
    int rc;

    clock_gettime(CLOCK_REALTIME, &ts);
    line = deadletter_format((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                             reason, client, msg, len, parts, &n);
    if (line == NULL) {
        failed("out of memory");
        return -1;
    }
    pthread_mutex_lock(&write_lock);
    rc = fd == -1 ? -1 : append(line, n);
    if (rc == -1) {
        failed(fd == -1     ? "not open"
               : errno != 0 ? strerror(errno)
                            : "short write");
    }
    pthread_mutex_unlock(&write_lock);
    free(line);
    if (rc == -1) {
        return -1;
    }
    if (atomic_exchange(&failing, 0)) {
        log_notice("dead_letter %s is writable again failed_writes=%lu", path,
                   atomic_load(&failures));
    }
    return 0;
}
