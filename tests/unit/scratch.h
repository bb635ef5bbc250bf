/*
 * scratch.h - a folder of its own for each unit test.
 *
 * scratch_setup() and scratch_teardown() are cmocka setup and teardown
 * functions: the first makes an empty folder under $TMPDIR (or /tmp), the
 * second removes it with everything in it.
 */
#ifndef SCRATCH_H
#define SCRATCH_H

#define SCRATCH_MAX 512

/* The current test's folder, absolute and without symbolic links. */
extern char scratch[SCRATCH_MAX];

int scratch_setup(void **state);
int scratch_teardown(void **state);

/* "scratch/name", in a buffer that the next call reuses. */
const char *scratch_path(const char *name);

#endif
