/*
 * scratch.c - a folder of its own for each unit test.
 *
 * Owns the folder's name and removing it. What a test puts in it is the
 * test's.
 */
#define _XOPEN_SOURCE 700
#include "scratch.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
