/*
 * scratch.c - what the C tests share: a folder of their own for each unit
 * test, a file's contents, a free loopback port.
 *
 * Owns the folder's name and removing it. What a test puts in it is the
 * test's.
 */
#define _XOPEN_SOURCE 700
#include "scratch.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

char scratch[SCRATCH_MAX];
static char where[PATH_MAX];

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(path);
}

int
scratch_setup(void **state)
{
    const char *base = getenv("TMPDIR");
    char made[SCRATCH_MAX];
    char *real;

    (void)state;
    if (base == NULL || *base == '\0' || strlen(base) > 400) {
        base = "/tmp";
    }
    snprintf(made, sizeof made, "%s/feed-unit-XXXXXX", base);
    if (mkdtemp(made) == NULL) {
        return -1;
    }
    /* config.c resolves paths against the real folder: so do the tests. */
    real = realpath(made, NULL);
    if (real == NULL || strlen(real) >= sizeof scratch) {
        free(real);
        return -1;
    }
    snprintf(scratch, sizeof scratch, "%s", real);
    free(real);
    return 0;
}

int
scratch_teardown(void **state)
{
    (void)state;
    return nftw(scratch, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
scratch_path(const char *name)
{
    snprintf(where, sizeof where, "%s/%s", scratch, name);
    return where;
}

char *
scratch_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    int c;

    if (m == NULL) {
        abort();
    }
    while (f != NULL && (c = fgetc(f)) != EOF) {
        fputc(c, m);
    }
    if (f != NULL) {
        fclose(f);
    }
    if (fclose(m) != 0) {
        abort();
    }
    return text;
}

unsigned
scratch_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd == -1 || bind(fd, (struct sockaddr *)&a, sizeof a) == -1 ||
        getsockname(fd, (struct sockaddr *)&a, &len) == -1) {
        abort();
    }
    close(fd);
    return ntohs(a.sin_port);
}
