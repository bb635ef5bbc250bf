/*
 * scratch.h - what the C tests share: a folder of their own, a file's
 * contents, a free loopback port.
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

/*
 * A heap copy of the file's contents, NUL-terminated ("" when the file is
 * missing). The caller frees it. Aborts when out of memory.
 */
char *scratch_slurp(const char *path);

/*
 * A loopback TCP port nobody listens on right now (bound, read, closed).
 * Aborts when no socket can be had.
 */
unsigned scratch_free_port(void);

#endif
