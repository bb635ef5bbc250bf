/*
 * health.c - is the daemon healthy: the source bound, every worker
 * connected, no sink call stuck.
 *
 * Owns the published state of the source and of each sink worker: whether
 * it is connected and since when its current sink call has been running.
 * Workers publish with relaxed atomic stores (no lock, nothing to wait
 * for); the metrics listener's thread and the main thread's watchdog only
 * read. Deciding when to connect or retry is pipeline.c's; answering HTTP
 * is metrics.c's.
 */
#include "health.h"

#include <stdatomic.h>
#include <stdio.h>

#include "clock.h"
#include "log.h"

static const char *const call_names[] = {
    [HEALTH_CALL_OPEN] = "connect",
    [HEALTH_CALL_WRITE] = "write",
    [HEALTH_CALL_TICK] = "connection check",
};

/* One worker's state; each on its own cache line (one writer each). */
struct slot {
    _Alignas(64) atomic_uint_fast64_t since_ms; /* call start; 0: none */
    atomic_int call;                            /* enum health_call */
    atomic_int connected;
    _Atomic(const char *) server; /* the worker's, NULL: not named */
    uint64_t warned_ms;           /* the main thread's: last stall warning */
};

static struct slot slots[HEALTH_MAX_WORKERS];
static _Thread_local unsigned this_worker; /* 0: not a worker thread */
static atomic_uint nworkers;
static atomic_int source_bound;
static atomic_int stopping;

void
health_reset(unsigned workers)
{
    if (workers > HEALTH_MAX_WORKERS) {
        workers = HEALTH_MAX_WORKERS;
    }
    for (unsigned i = 0; i < HEALTH_MAX_WORKERS; i++) {
        atomic_store(&slots[i].since_ms, 0);
        atomic_store(&slots[i].connected, 0);
        atomic_store(&slots[i].server, NULL);
        slots[i].warned_ms = 0;
    }
    atomic_store(&source_bound, 0);
    atomic_store(&stopping, 0);
    atomic_store(&nworkers, workers);
}

void
health_source_bound(int yes)
{
    atomic_store(&source_bound, yes);
}

void
health_stopping(void)
{
    atomic_store(&stopping, 1);
}

/* The slot of worker id, or NULL when out of range. */
static struct slot *
slot_of(unsigned id)
{
    return id >= 1 && id <= HEALTH_MAX_WORKERS ? &slots[id - 1] : NULL;
}

void
health_connected(unsigned id, int yes)
{
    struct slot *s = slot_of(id);

    if (s != NULL) {
        atomic_store_explicit(&s->connected, yes, memory_order_relaxed);
        if (!yes) {
            atomic_store_explicit(&s->server, NULL, memory_order_relaxed);
        }
    }
}

void
health_bind_worker(unsigned id)
{
    this_worker = id;
}

void
health_server(const char *name)
{
    struct slot *s = slot_of(this_worker);

    if (s != NULL) {
        atomic_store_explicit(&s->server, name, memory_order_release);
    }
}

/*
 * " on NAME" when worker i (from 0) has named its server, else "": the end
 * of a stall line.
 */
static const char *
on_server(unsigned i, char *buf, size_t len)
{
    const char *name =
        atomic_load_explicit(&slots[i].server, memory_order_acquire);

    if (name == NULL) {
        return "";
    }
    snprintf(buf, len, " on %s", name);
    return buf;
}

void
health_call_begin(unsigned id, enum health_call what)
{
    struct slot *s = slot_of(id);
    uint64_t now = clock_ms();

    if (s != NULL) {
        atomic_store_explicit(&s->call, (int)what, memory_order_relaxed);
        /* 0 means "no call": a call starting at 0 ms says 1. */
        atomic_store_explicit(&s->since_ms, now != 0 ? now : 1,
                              memory_order_release);
    }
}

void
health_call_end(unsigned id)
{
    struct slot *s = slot_of(id);
    uint64_t since;
    uint64_t now;

    if (s == NULL) {
        return;
    }
    since = atomic_exchange_explicit(&s->since_ms, 0, memory_order_relaxed);
    now = clock_ms();
    if (since != 0 && now - since >= HEALTH_STALL_MS) {
        log_notice(
            "worker %u: sink %s returned after %.1f s", id,
            call_names[atomic_load_explicit(&s->call, memory_order_relaxed)],
            (double)(now - since) / 1000.0);
    }
}

unsigned
health_workers(void)
{
    return atomic_load(&nworkers);
}

unsigned
health_workers_connected(void)
{
    unsigned n = atomic_load(&nworkers);
    unsigned up = 0;

    for (unsigned i = 0; i < n; i++) {
        up += atomic_load_explicit(&slots[i].connected, memory_order_relaxed) !=
              0;
    }
    return up;
}

/* How long worker i's call has run at now_ms; 0 when none runs. */
static uint64_t
running_ms(unsigned i, uint64_t now_ms)
{
    uint64_t since =
        atomic_load_explicit(&slots[i].since_ms, memory_order_acquire);

    return since != 0 && now_ms > since ? now_ms - since : 0;
}

unsigned
health_stalled(uint64_t now_ms)
{
    unsigned n = atomic_load(&nworkers);
    unsigned stalled = 0;

    for (unsigned i = 0; i < n; i++) {
        stalled += running_ms(i, now_ms) >= HEALTH_STALL_MS;
    }
    return stalled;
}

int
health_check(uint64_t now_ms, char *why, size_t len)
{
    unsigned n = atomic_load(&nworkers);
    unsigned up;

    if (atomic_load(&stopping)) {
        snprintf(why, len, "stopping");
        return -1;
    }
    if (!atomic_load(&source_bound)) {
        snprintf(why, len, "source not bound");
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        uint64_t ms = running_ms(i, now_ms);
        if (ms >= HEALTH_STALL_MS) {
            int call =
                atomic_load_explicit(&slots[i].call, memory_order_relaxed);
            char on[96];
            snprintf(why, len, "worker %u: sink %s running for %llu s%s", i + 1,
                     call_names[call], (unsigned long long)ms / 1000,
                     on_server(i, on, sizeof on));
            return -1;
        }
    }
    up = health_workers_connected();
    if (up < n) {
        snprintf(why, len, "%u of %u workers not connected", n - up, n);
        return -1;
    }
    return 0;
}

void
health_watch(uint64_t now_ms)
{
    unsigned n = atomic_load(&nworkers);

    for (unsigned i = 0; i < n; i++) {
        struct slot *s = &slots[i];
        uint64_t since =
            atomic_load_explicit(&s->since_ms, memory_order_acquire);
        uint64_t ms = since != 0 && now_ms > since ? now_ms - since : 0;

        if (ms < HEALTH_STALL_MS) {
            continue;
        }
        /* Once per HEALTH_STALL_MS of this call, from its start. */
        if (s->warned_ms >= since && now_ms - s->warned_ms < HEALTH_STALL_MS) {
            continue;
        }
        s->warned_ms = now_ms;
        char on[96];
        log_warning(
            "worker %u: sink %s running for %llu s%s", i + 1,
            call_names[atomic_load_explicit(&s->call, memory_order_relaxed)],
            (unsigned long long)ms / 1000, on_server(i, on, sizeof on));
    }
}
