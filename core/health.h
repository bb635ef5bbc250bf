/*
 * health.h - is the daemon healthy: the source bound, every worker
 * connected, no sink call stuck. Read by /healthz and the stall watchdog.
 */
#ifndef FEED_HEALTH_H
#define FEED_HEALTH_H

#include <stddef.h>
#include <stdint.h>

/* The most workers health tracks ([core] threads allows no more). */
#define HEALTH_MAX_WORKERS 256

/* A sink call that has run this long is a stall. */
#define HEALTH_STALL_MS 10000

/* What a worker's sink is doing, for the stall warnings. */
enum health_call {
    HEALTH_CALL_OPEN,  /* connecting */
    HEALTH_CALL_WRITE, /* a transaction */
    HEALTH_CALL_TICK,  /* an idle connection check */
};

/*
 * Forgets every state and sets how many workers there are (at most
 * HEALTH_MAX_WORKERS). Main thread, before any worker starts.
 */
void health_reset(unsigned workers);

/* The source is bound (1) or has ended (0). */
void health_source_bound(int yes);

/* The daemon is stopping: unhealthy from now on. */
void health_stopping(void);

/*
 * Worker `id` (from 1) has a working sink connection (after a successful
 * open) or has not (after a RETRY, until the next successful open).
 */
void health_connected(unsigned id, int yes);

/*
 * The calling thread is worker `id`: health_server() calls from it name
 * that worker's server. Each worker thread, when it starts.
 */
void health_bind_worker(unsigned id);

/*
 * The server the calling worker's sink instance is connected to (NULL:
 * none), for the stall warnings and /healthz. `name` must outlive the
 * instance. Ignored on a thread that is not a worker.
 */
void health_server(const char *name);

/*
 * Worker `id` starts or ends a sink call. Cheap: two relaxed atomic
 * stores. health_call_end() logs a notice when the call was a stall.
 */
void health_call_begin(unsigned id, enum health_call what);
void health_call_end(unsigned id);

/* How many workers are configured, and how many are connected now. */
unsigned health_workers(void);
unsigned health_workers_connected(void);

/* How many sink calls have been running for HEALTH_STALL_MS or more. */
unsigned health_stalled(uint64_t now_ms);

/*
 * The verdict at now_ms (CLOCK_MONOTONIC): 0 when healthy; -1 with one
 * line in `why` saying what is wrong (the first thing found). Safe from
 * any thread, takes no lock.
 */
int health_check(uint64_t now_ms, char *why, size_t len);

/*
 * The stall watchdog, for the main thread's loop (call it about every
 * second): logs a warning for each sink call that has run for
 * HEALTH_STALL_MS, then every HEALTH_STALL_MS again until it returns.
 */
void health_watch(uint64_t now_ms);

#endif
