/*
 * handoff.c - what one hand-off between two threads costs on this machine.
 *
 * usage: handoff [--rounds N]
 *
 * Two threads pass a token back and forth N times (default 200000), each
 * sleeping in read() on its own eventfd until the other writes it: every
 * pass is one wake-up of a sleeping thread, as when feed-core's source
 * thread hands a burst to a worker or a worker hands replies back. Prints
 * one line,
 *     handoffs=N wall_us=W cpu_us=C
 * where W is the wall time and C the CPU time (both threads, user and
 * system) per hand-off, in microseconds. bench/run reports C next to the
 * sleeps per commit that feed-core pays and the minimal loop does not.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct side {
    int in;  /* this thread sleeps on it */
    int out; /* and wakes the other through it */
    unsigned long rounds;
    int failed;
};

static int
pass(int fd)
{
    uint64_t one = 1;

    return write(fd, &one, sizeof one) == (ssize_t)sizeof one ? 0 : -1;
}

static int
wait_for(int fd)
{
    uint64_t v;

    for (;;) {
        if (read(fd, &v, sizeof v) == (ssize_t)sizeof v) {
            return 0;
        }
        if (errno != EINTR) {
            return -1;
        }
    }
}

/* The echoing side: waits, then passes the token back. */
static void *
echo(void *arg)
{
    struct side *s = arg;

    for (unsigned long i = 0; i < s->rounds; i++) {
        if (wait_for(s->in) == -1 || pass(s->out) == -1) {
            s->failed = 1;
            break;
        }
    }
    return NULL;
}

static double
seconds(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
    unsigned long rounds = 200000;
    struct side them;
    struct timespec t0;
    struct timespec t1;
    struct rusage r0;
    struct rusage r1;
    pthread_t t;
    int a = eventfd(0, EFD_CLOEXEC);
    int b = eventfd(0, EFD_CLOEXEC);

    if (argc == 3 && strcmp(argv[1], "--rounds") == 0) {
        char *end;
        rounds = strtoul(argv[2], &end, 10);
        if (*end != '\0' || rounds == 0 || rounds > 100000000) {
            fprintf(stderr, "handoff: --rounds must be 1 to 100000000\n");
            return 2;
        }
    } else if (argc != 1) {
        fprintf(stderr, "usage: handoff [--rounds N]\n");
        return 2;
    }
    if (a == -1 || b == -1) {
        perror("handoff: eventfd");
        return 1;
    }
    them = (struct side){.in = a, .out = b, .rounds = rounds};
    getrusage(RUSAGE_SELF, &r0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (pthread_create(&t, NULL, echo, &them) != 0) {
        fprintf(stderr, "handoff: cannot start a thread\n");
        return 1;
    }
    for (unsigned long i = 0; i < rounds; i++) {
        if (pass(a) == -1 || wait_for(b) == -1) {
            perror("handoff");
            return 1;
        }
    }
    pthread_join(t, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    getrusage(RUSAGE_SELF, &r1);
    if (them.failed) {
        fprintf(stderr, "handoff: the other thread failed\n");
        return 1;
    }
    double n = 2.0 * (double)rounds; /* two hand-offs per round */
    double wall = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double cpu = seconds(&r1.ru_utime) - seconds(&r0.ru_utime) +
                 seconds(&r1.ru_stime) - seconds(&r0.ru_stime);
    printf("handoffs=%.0f wall_us=%.2f cpu_us=%.2f\n", n, wall / n * 1e6,
           cpu / n * 1e6);
    return 0;
}
