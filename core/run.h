/*
 * run.h - `start`: bringing the daemon up, supervising it, taking it down.
 */
#ifndef FEED_RUN_H
#define FEED_RUN_H

#include <stdio.h>

#include "settings.h"

/*
 * Starts the daemon described by fully loaded settings: in the background
 * (returning in the `start` process only once the daemon is ready or has
 * failed) or, with `foreground`, running it in this process until it
 * stops. Returns the exit code.
 */
int run_start(struct settings *s, int foreground);

/*
 * Applies start's rules about users (as root, `user` is required) and the
 * pidfile's folder (only root and the run user may write it) for `check`.
 * Returns 0, or -1 after writing the errors to errs.
 */
int run_check_privs(struct settings *s, FILE *errs);

#endif
