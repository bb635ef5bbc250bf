/*
 * zcert.c - reads and writes ZeroMQ CURVE certificates (czmq zcert and
 * pyzmq zmq.auth text format).
 *
 * Owns the ZPL subset a certificate uses and the rules a certificate must
 * meet: valid Z85 keys, a secret key that matches its public key, a secret
 * file that only its owner can read. What a certificate is for (server key,
 * allowed client) is left to the callers.
 *
 * The reader accepts what czmq's zconfig accepts for these files: lines
 * indented by multiples of 4 spaces, `name = "value"`, `name = 'value'` or
 * `name = value`, comments starting with '#', sections other than
 * `metadata` and `curve` ignored. pyzmq writes metadata values unquoted and
 * puts the name only in the secret file; both are read here.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "zcert.h"

static const char z85_alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz"
                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   ".-:+=^!/*?&<>()[]{}@%$#";

enum section {
    SECTION_NONE,
    SECTION_METADATA,
    SECTION_CURVE,
    SECTION_OTHER,
};

/* One parsed line: its level, name and value (pointers into the text). */
struct line {
    int level;
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

int
zcert_check_name(const char *name, char *err, size_t errlen)
{
    size_t len = strlen(name);

    if (len == 0) {
        snprintf(err, errlen, "name is empty");
        return -1;
    }
    if (len > ZCERT_NAME_MAX) {
        snprintf(err, errlen, "name is longer than %d bytes", ZCERT_NAME_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];

        /* The name reaches logs, JSON and metric labels unescaped. */
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '/') {
            snprintf(
                err, errlen,
                "name may hold only printable ASCII without quotes, backslashes or slashes");
            return -1;
        }
    }
    return 0;
}

static int
is_namechar(char c)
{
    return isalnum((unsigned char)c) || strchr("$-_@.&+/", c) != NULL;
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Only blanks or a comment may follow on a line. */
static int
rest_is_empty(const char *p, const char *end)
{
    while (p < end && is_blank(*p)) {
        p++;
    }
    return p == end || *p == '#';
}

/*
 * The value after '=' in [p, end): quoted with '"' or '\'' (then only a
 * comment may follow), or bare up to a comment. Returns 1, or -1 with the
 * reason in err.
 */
static int
split_value(const char *p, const char *end, int lineno, struct line *ln,
            char *err, size_t errlen)
{
    while (p < end && is_blank(*p)) {
        p++;
    }
    if (p < end && (*p == '"' || *p == '\'')) {
        const char *close = memchr(p + 1, *p, (size_t)(end - p - 1));

        if (close == NULL) {
            snprintf(err, errlen, "line %d: missing closing %c", lineno, *p);
            return -1;
        }
        ln->value = p + 1;
        ln->value_len = (size_t)(close - p - 1);
        if (!rest_is_empty(close + 1, end)) {
            snprintf(err, errlen, "line %d: invalid syntax", lineno);
            return -1;
        }
        return 1;
    }
    ln->value = p;
    while (p < end && *p != '#') {
        p++;
    }
    while (p > ln->value && is_blank(p[-1])) {
        p--;
    }
    ln->value_len = (size_t)(p - ln->value);
    return 1;
}

/*
 * Split the line [p, end) into level, name and value. Returns 1 for an
 * item, 0 for a blank or comment line, -1 with the reason in err.
 */
static int
split_line(const char *p, const char *end, int lineno, struct line *ln,
           char *err, size_t errlen)
{
    const char *start = p;

    while (end > p && is_blank(end[-1])) {
        end--;
    }
    while (p < end && *p == ' ') {
        p++;
    }
    if (p == end || *p == '#') {
        return 0;
    }
    if ((p - start) % 4 != 0) {
        snprintf(err, errlen,
                 "line %d: indentation is not a multiple of 4 spaces", lineno);
        return -1;
    }
    ln->level = (int)((p - start) / 4);
    ln->name = p;
    while (p < end && is_namechar(*p)) {
        p++;
    }
    ln->name_len = (size_t)(p - ln->name);
    while (p < end && is_blank(*p)) {
        p++;
    }
    ln->value = p;
    ln->value_len = 0;
    if (ln->name_len == 0 || ln->name[0] == '/' ||
        ln->name[ln->name_len - 1] == '/') {
        goto syntax;
    }
    if (p == end || *p == '#') {
        return 1;
    }
    if (*p != '=') {
        goto syntax;
    }
    return split_value(p + 1, end, lineno, ln, err, errlen);

syntax:
    snprintf(err, errlen, "line %d: invalid syntax", lineno);
    return -1;
}

static int
name_is(const struct line *ln, const char *name)
{
    return ln->name_len == strlen(name) &&
           memcmp(ln->name, name, ln->name_len) == 0;
}

/*
 * Check a Z85 key of 32 bytes and copy it to out (41 bytes). Decoding and
 * encoding again catches groups whose value overflows 32 bits.
 */
static int
take_key(const struct line *ln, int lineno, char *out, char *err, size_t errlen)
{
    uint8_t raw[32];
    char again[41];

    if (ln->value_len != 40) {
        snprintf(err, errlen, "line %d: %.*s is not 40 characters long", lineno,
                 (int)ln->name_len, ln->name);
        return -1;
    }
    memcpy(out, ln->value, 40);
    out[40] = '\0';
    if (strspn(out, z85_alphabet) != 40 || zmq_z85_decode(raw, out) == NULL ||
        zmq_z85_encode(again, raw, sizeof raw) == NULL ||
        strcmp(again, out) != 0) {
        snprintf(err, errlen, "line %d: %.*s is not valid Z85", lineno,
                 (int)ln->name_len, ln->name);
        memset(out, 0, 41);
        return -1;
    }
    return 0;
}

/* Take one item of the metadata or curve section. */
static int
take_item(const struct line *ln, int lineno, enum section section,
          struct zcert *cert, int *have_public, char *err, size_t errlen)
{
    char why[128];

    if (section == SECTION_METADATA && name_is(ln, "name")) {
        if (cert->name[0] != '\0') {
            snprintf(err, errlen, "line %d: name given twice", lineno);
            return -1;
        }
        if (ln->value_len == 0) {
            return 0; /* pyzmq writes `name = ` for an empty name */
        }
        if (ln->value_len > ZCERT_NAME_MAX) {
            snprintf(err, errlen, "line %d: name is longer than %d bytes",
                     lineno, ZCERT_NAME_MAX);
            return -1;
        }
        memcpy(cert->name, ln->value, ln->value_len);
        cert->name[ln->value_len] = '\0';
        if (zcert_check_name(cert->name, why, sizeof why) == -1) {
            snprintf(err, errlen, "line %d: %s", lineno, why);
            cert->name[0] = '\0';
            return -1;
        }
        return 0;
    }
    if (section != SECTION_CURVE) {
        return 0;
    }
    if (name_is(ln, "public-key")) {
        if (*have_public) {
            snprintf(err, errlen, "line %d: public-key given twice", lineno);
            return -1;
        }
        *have_public = 1;
        return take_key(ln, lineno, cert->public_z85, err, errlen);
    }
    if (name_is(ln, "secret-key")) {
        if (cert->has_secret) {
            snprintf(err, errlen, "line %d: secret-key given twice", lineno);
            return -1;
        }
        cert->has_secret = 1;
        return take_key(ln, lineno, cert->secret_z85, err, errlen);
    }
    return 0;
}

/* The secret key must be the one the public key was made from. */
static int
check_pair(const struct zcert *cert, char *err, size_t errlen)
{
    char derived[41];

    if (zmq_curve_public(derived, cert->secret_z85) == -1 ||
        strcmp(derived, cert->public_z85) != 0) {
        snprintf(err, errlen, "secret-key does not belong to public-key");
        return -1;
    }
    return 0;
}

int
zcert_parse(const char *text, size_t len, struct zcert *cert, char *err,
            size_t errlen)
{
    const char *p = text;
    const char *end = text + len;
    enum section section = SECTION_NONE;
    int last_level = -1;
    int have_public = 0;
    int lineno = 0;

    memset(cert, 0, sizeof *cert);
    if (memchr(text, '\0', len) != NULL) {
        snprintf(err, errlen, "holds a NUL byte");
        goto fail;
    }
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        struct line ln;
        int rc;

        if (eol == NULL) {
            eol = end;
        }
        lineno++;
        rc = split_line(p, eol, lineno, &ln, err, errlen);
        p = eol < end ? eol + 1 : end;
        if (rc == -1) {
            goto fail;
        }
        if (rc == 0) {
            continue;
        }
        if (ln.level > last_level + 1) {
            snprintf(err, errlen, "line %d: indented too deep", lineno);
            goto fail;
        }
        last_level = ln.level;
        if (ln.level == 0) {
            section = name_is(&ln, "metadata") ? SECTION_METADATA
                      : name_is(&ln, "curve")  ? SECTION_CURVE
                                               : SECTION_OTHER;
            continue;
        }
        if (ln.level == 1 && take_item(&ln, lineno, section, cert, &have_public,
                                       err, errlen) == -1) {
            goto fail;
        }
    }
    if (!have_public) {
        snprintf(err, errlen, "no public-key in the curve section");
        goto fail;
    }
    if (cert->has_secret && check_pair(cert, err, errlen) == -1) {
        goto fail;
    }
    return 0;

fail:
    memset(cert, 0, sizeof *cert);
    return -1;
}

/* Name a certificate without one after its file: "x/trader-1.key". */
static int
name_from_path(const char *path, struct zcert *cert, char *err, size_t errlen)
{
    const char *base = strrchr(path, '/');
    char name[ZCERT_NAME_MAX + 1];
    char why[128];
    size_t len;

    base = base == NULL ? path : base + 1;
    len = strlen(base);
    if (len > 11 && strcmp(base + len - 11, ".key_secret") == 0) {
        len -= 11;
    } else if (len > 4 && strcmp(base + len - 4, ".key") == 0) {
        len -= 4;
    }
    if (len > ZCERT_NAME_MAX) {
        snprintf(
            err, errlen,
            "%s: no name in its metadata, and its file name is longer than %d bytes",
            path, ZCERT_NAME_MAX);
        return -1;
    }
    memcpy(name, base, len);
    name[len] = '\0';
    if (zcert_check_name(name, why, sizeof why) == -1) {
        snprintf(
            err, errlen,
            "%s: no name in its metadata, and its file name cannot be one: %s",
            path, why);
        return -1;
    }
    memcpy(cert->name, name, len + 1);
    return 0;
}

/* Read a whole regular file of at most ZCERT_FILE_MAX bytes into buf. */
static ssize_t
read_file(const char *path, char *buf, struct stat *st, char *err,
          size_t errlen)
{
    int fd = -1;
    size_t len = 0;

    /* O_NONBLOCK: opening a FIFO must not hang the daemon. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd == -1) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    if (fstat(fd, st) == -1) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        goto fail;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, ZCERT_FILE_MAX + 1 - len);

        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            goto fail;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
        if (len > ZCERT_FILE_MAX) {
            snprintf(err, errlen, "%s is larger than %d bytes", path,
                     ZCERT_FILE_MAX);
            goto fail;
        }
    }
    close(fd);
    return (ssize_t)len;

fail:
    if (fd != -1) {
        close(fd);
    }
    return -1;
}

int
zcert_load(const char *path, struct zcert *cert, char *err, size_t errlen)
{
    char *buf = NULL;
    struct stat st;
    ssize_t len;
    char why[256];

    memset(cert, 0, sizeof *cert);
    buf = malloc(ZCERT_FILE_MAX + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(ENOMEM));
        goto fail;
    }
    len = read_file(path, buf, &st, err, errlen);
    if (len == -1) {
        goto fail;
    }
    if (zcert_parse(buf, (size_t)len, cert, why, sizeof why) == -1) {
        snprintf(err, errlen, "%s: %s", path, why);
        goto fail;
    }
    /* A secret others can read is no secret: refuse it, as ssh does. */
    if (cert->has_secret && (st.st_mode & 077) != 0) {
        snprintf(
            err, errlen,
            "%s: secret key is open to group or others (mode %04o); chmod 600 it",
            path, (unsigned)(st.st_mode & 07777));
        goto fail;
    }
    if (cert->name[0] == '\0' &&
        name_from_path(path, cert, err, errlen) == -1) {
        goto fail;
    }
    explicit_bzero(buf, ZCERT_FILE_MAX + 1);
    free(buf);
    return 0;

fail:
    if (buf != NULL) {
        explicit_bzero(buf, ZCERT_FILE_MAX + 1);
        free(buf);
    }
    explicit_bzero(cert, sizeof *cert);
    return -1;
}

int
zcert_load_secret(const char *path, struct zcert *cert, char *err,
                  size_t errlen)
{
    if (zcert_load(path, cert, err, errlen) == -1) {
        return -1;
    }
    if (!cert->has_secret) {
        snprintf(err, errlen, "%s: no secret-key in the curve section", path);
        memset(cert, 0, sizeof *cert);
        return -1;
    }
    return 0;
}

/* Create path with O_EXCL and write text to it, then fsync and close. */
static int
write_new(const char *path, mode_t mode, const char *text, char *err,
          size_t errlen)
{
    int fd = -1;
    size_t len = strlen(text);
    size_t done = 0;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd == -1) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    /* The umask may have taken bits away; the modes are the contract. */
    if (fchmod(fd, mode) == -1) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        goto fail;
    }
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);

        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1) {
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
            goto fail;
        }
        done += (size_t)n;
    }
    if (fsync(fd) == -1) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        goto fail;
    }
    if (close(fd) == -1) {
        fd = -1;
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        goto fail;
    }
    return 0;

fail:
    if (fd != -1) {
        close(fd);
    }
    unlink(path);
    return -1;
}

static const char public_banner[] =
    "#   ****  Generated by feed-core keygen  ****\n"
    "#   ZeroMQ CURVE Public Certificate\n"
    "#   Exchange securely, or use a secure mechanism to verify the contents\n"
    "#   of this file after exchange.\n"
    "\n";

static const char secret_banner[] =
    "#   ****  Generated by feed-core keygen  ****\n"
    "#   ZeroMQ CURVE **Secret** Certificate\n"
    "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its "
    "permissions.\n"
    "\n";

int
zcert_write_pair(const char *dir, const char *name, char *err, size_t errlen)
{
    char public_path[4096];
    char secret_path[4096];
    char public_z85[41];
    char secret_z85[41];
    char text[1024];
    char why[128];
    int rc = -1;

    if (zcert_check_name(name, why, sizeof why) == -1) {
        snprintf(err, errlen, "invalid name: %s", why);
        return -1;
    }
    if ((size_t)snprintf(public_path, sizeof public_path, "%s/%s.key", dir,
                         name) >= sizeof public_path ||
        (size_t)snprintf(secret_path, sizeof secret_path, "%s/%s.key_secret",
                         dir, name) >= sizeof secret_path) {
        snprintf(err, errlen, "path too long: %s/%s.key_secret", dir, name);
        return -1;
    }
    if (zmq_curve_keypair(public_z85, secret_z85) == -1) {
        snprintf(err, errlen, "cannot make a key pair: %s",
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    /* The secret first: a public file alone would be a useless half. */
    snprintf(text, sizeof text,
             "%smetadata\n    name = \"%s\"\ncurve\n"
             "    public-key = \"%s\"\n    secret-key = \"%s\"\n",
             secret_banner, name, public_z85, secret_z85);
    if (write_new(secret_path, 0600, text, err, errlen) == -1) {
        goto done;
    }
    snprintf(text, sizeof text,
             "%smetadata\n    name = \"%s\"\ncurve\n"
             "    public-key = \"%s\"\n",
             public_banner, name, public_z85);
    if (write_new(public_path, 0644, text, err, errlen) == -1) {
        unlink(secret_path);
        goto done;
    }
    rc = 0;

done:
    explicit_bzero(text, sizeof text);
    explicit_bzero(secret_z85, sizeof secret_z85);
    return rc;
}
