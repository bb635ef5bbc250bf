/*
 * scrape.c - `feed-core stats`: the running daemon's figures, for people.
 *
 * Owns a minimal HTTP/1.0 client for the metrics listener (one GET, read
 * to the end, bounded in size and time) and the reading of the Prometheus
 * text it answers into a short table. What the series mean and how they
 * are served is metrics.c's; which exit code a command returns is cli.c's.
 */
#include "scrape.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <feed/plugin.h>

#include "metrics.h"
#include "stats.h"

/* Seconds a connect, a send or a read may take. */
#define TIMEOUT_S 5
#define PAGE_MAX 65536

/* A wildcard address listens on every address: talk to the loopback. */
static void
to_loopback(struct sockaddr_storage *addr)
{
    if (addr->ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)addr;
        if (in->sin_addr.s_addr == htonl(INADDR_ANY)) {
            in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        }
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
        if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) {
            in6->sin6_addr = in6addr_loopback;
        }
    }
}

/* Connects to spec; returns the socket, SCRAPE_DOWN, or -1 with err. */
static int
dial(const char *spec, char *err, size_t errlen)
{
    struct timeval tv = {TIMEOUT_S, 0};
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int fd;

    if (metrics_parse_addr(spec, &addr, &addrlen, err, errlen) == -1) {
        return -1;
    }
    to_loopback(&addr);
    fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        snprintf(err, errlen, "cannot create a socket: %s", strerror(errno));
        return -1;
    }
    /* On Linux SO_SNDTIMEO also bounds connect(). */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&addr, addrlen) == -1) {
        int e = errno;
        close(fd);
        if (e == ECONNREFUSED) {
            snprintf(
                err, errlen,
                "nothing listens on %s: feed-core is not running (or [core] metrics changed since it started)",
                spec);
            return SCRAPE_DOWN;
        }
        snprintf(err, errlen, "cannot connect to %s: %s", spec,
                 e == EINPROGRESS ? "timed out" : strerror(e));
        return -1;
    }
    return fd;
}

/* Reads the whole answer into buf (NUL-terminated); its length or -1. */
static ssize_t
read_all(int fd, char *buf, size_t len, const char *spec, char *err,
         size_t errlen)
{
    size_t used = 0;

    for (;;) {
        ssize_t n = read(fd, buf + used, len - 1 - used);
        if (n == 0) {
            break;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            snprintf(err, errlen, "cannot read from %s: %s", spec,
                     errno == EAGAIN ? "timed out" : strerror(errno));
            return -1;
        }
        used += (size_t)n;
        if (used == len - 1) {
            snprintf(err, errlen, "answer from %s larger than %zu bytes", spec,
                     len - 1);
            return -1;
        }
    }
    buf[used] = '\0';
    return (ssize_t)used;
}

int
scrape_get(const char *spec, const char *path, int *status, char *body,
           size_t bodylen, char *err, size_t errlen)
{
    char req[256];
    char *page = NULL;
    const char *text;
    int fd;
    int n;

    fd = dial(spec, err, errlen);
    if (fd < 0) {
        return fd;
    }
    n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path,
                 spec);
    page = malloc(PAGE_MAX);
    if (page == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (n < 0 || (size_t)n >= sizeof req ||
        send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        snprintf(err, errlen, "cannot send to %s: %s", spec, strerror(errno));
        goto fail;
    }
    if (read_all(fd, page, PAGE_MAX, spec, err, errlen) == -1) {
        goto fail;
    }
    text = strstr(page, "\r\n\r\n");
    if (strncmp(page, "HTTP/1.", 7) != 0 || page[8] != ' ' || text == NULL ||
        sscanf(page + 9, "%3d", status) != 1) {
        snprintf(err, errlen, "%s did not answer in HTTP", spec);
        goto fail;
    }
    snprintf(body, bodylen, "%s", text + 4);
    free(page);
    close(fd);
    return 0;

fail:
    free(page);
    close(fd);
    return -1;
}

double
scrape_value(const char *page, const char *name)
{
    size_t len = strlen(name);
    const char *line = page;

    while (line != NULL && *line != '\0') {
        if (strncmp(line, name, len) == 0) {
            const char *v = line + len;
            if (name[len - 1] == '{') {
                v = strchr(v, '}');
                v = v != NULL ? v + 1 : NULL;
            }
            if (v != NULL && *v == ' ') {
                return strtod(v + 1, NULL);
            }
        }
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
    return -1;
}

/* A duration in seconds for people: "850 us", "12.5 ms", "3.2 s". */
static const char *
human(double s, char *buf, size_t len)
{
    if (s < 0.001) {
        snprintf(buf, len, "%.0f us", s * 1e6);
    } else if (s < 1) {
        snprintf(buf, len, "%.3g ms", s * 1e3);
    } else {
        snprintf(buf, len, "%.3g s", s);
    }
    return buf;
}

/*
 * The upper bound of the bucket holding quantile q of histogram `name`
 * (cumulative buckets, in page order); -1 when it is empty or past the
 * last finite bound (then *over is set).
 */
static double
quantile(const char *page, const char *name, double q, double total, int *over)
{
    char prefix[128];
    const char *line = page;
    size_t len;

    *over = 0;
    snprintf(prefix, sizeof prefix, "%s_bucket{le=\"", name);
    len = strlen(prefix);
    while (line != NULL && *line != '\0' && total > 0) {
        if (strncmp(line, prefix, len) == 0) {
            double le = strtod(line + len, NULL);
            const char *v = strstr(line, "} ");
            if (strncmp(line + len, "+Inf\"", 5) == 0) {
                *over = 1;
                return -1;
            }
            if (v != NULL && strtod(v + 2, NULL) >= q * total) {
                return le;
            }
        }
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
    return -1;
}

/* One histogram's line: count, mean, p50 and p99 (bucket upper bounds). */
static void
print_histogram(FILE *out, const char *page, const char *label,
                const char *name)
{
    char key[128];
    char a[32];
    char b[32];
    char c[32];
    double count;
    double sum;
    double p50;
    double p99;
    int over50;
    int over99;

    snprintf(key, sizeof key, "%s_count", name);
    count = scrape_value(page, key);
    snprintf(key, sizeof key, "%s_sum", name);
    sum = scrape_value(page, key);
    if (count <= 0) {
        fprintf(out, "%-20s none yet\n", label);
        return;
    }
    p50 = quantile(page, name, 0.5, count, &over50);
    p99 = quantile(page, name, 0.99, count, &over99);
    fprintf(out, "%-20s %.0f, mean %s, p50 %s%s, p99 %s%s\n", label, count,
            human(sum / count, a, sizeof a),
            over50 ? "> " : "<= ", over50 ? "30 s" : human(p50, b, sizeof b),
            over99 ? "> " : "<= ", over99 ? "30 s" : human(p99, c, sizeof c));
}

int
scrape_print(const char *spec, FILE *out, char *err, size_t errlen)
{
    static const char *const rows[][2] = {
        {"messages received", "feed_messages_received_total"},
        {"messages accepted", "feed_messages_accepted_total"},
        {"messages rejected", "feed_messages_rejected_total"},
        {"rows committed", "feed_rows_committed_total"},
        {"sink retries", "feed_sink_retries_total"},
        {"dead_letter errors", "feed_dead_letter_errors_total"},
        {"peers refused", "feed_peers_refused_total"},
        {"sink calls stalled", "feed_sink_calls_stalled"},
    };
    char health[256];
    char *page = malloc(PAGE_MAX);
    const char *version;
    int status;
    int rc;

    if (page == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = scrape_get(spec, "/healthz", &status, health, sizeof health, err,
                    errlen);
    if (rc == 0) {
        rc = scrape_get(spec, "/metrics", &status, page, PAGE_MAX, err, errlen);
    }
    if (rc == 0 && status != 200) {
        snprintf(err, errlen, "%s/metrics answered HTTP %d", spec, status);
        rc = -1;
    }
    if (rc != 0) {
        free(page);
        return rc;
    }
    health[strcspn(health, "\n")] = '\0';
    version = strstr(page, "feed_build_info{version=\"");
    fprintf(out, "feed-core %.*s at %s: %s%s\n",
            version != NULL ? (int)strcspn(version + 25, "\"") : 1,
            version != NULL ? version + 25 : "?", spec,
            strcmp(health, "ok") == 0 ? "healthy" : "unhealthy: ",
            strcmp(health, "ok") == 0 ? "" : health);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fprintf(out, "%-20s %.0f\n", rows[i][0],
                scrape_value(page, rows[i][1]));
    }
    fprintf(out, "%-20s %.0f of %.0f records\n", "queue",
            scrape_value(page, "feed_queue_records"),
            scrape_value(page, "feed_queue_max_records"));
    fprintf(out, "%-20s %.0f of %.0f\n", "workers connected",
            scrape_value(page, "feed_workers_connected"),
            scrape_value(page, "feed_workers"));
    print_histogram(out, page, "commit duration",
                    "feed_commit_duration_seconds");
    print_histogram(out, page, "ack delay", "feed_ack_delay_seconds");
    free(page);
    return 0;
}
