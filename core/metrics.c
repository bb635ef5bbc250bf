/*
 * metrics.c - the HTTP listener of [core] metrics: /metrics and /healthz.
 *
 * Owns the listening socket, the libmicrohttpd daemon serving it on its own
 * thread, and the text that thread writes: the Prometheus text format
 * 0.0.4 for /metrics, one line for /healthz. It only reads: the counters
 * and histograms are stats.c's, the health verdict is health.c's, and all
 * of them are atomics, so a scrape never takes a lock the pipeline needs.
 * Bounds: MAX_CONNECTIONS at once, IDLE_TIMEOUT_S per connection, and
 * MAX_REQUEST_BYTES of headers per request.
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buildconf.h"
#include "clock.h"
#include "deadletter.h"
#include "health.h"
#include "log.h"
#include "pipeline.h"

#define MAX_CONNECTIONS 32
#define IDLE_TIMEOUT_S 10
#define MAX_REQUEST_BYTES 16384
/* /metrics is about 5 KB; this leaves room for what is added later. */
#define PAGE_MAX 32768

struct metrics {
    struct MHD_Daemon *mhd;
    int fd;              /* the listening socket; MHD closes it */
    struct pipeline *pl; /* borrowed */
    size_t queue_max;
};

int
metrics_parse_addr(const char *spec, struct sockaddr_storage *addr,
                   socklen_t *addrlen, char *err, size_t errlen)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *colon = strrchr(spec, ':');
    const char *start = spec;
    size_t hostlen;
    char *end;
    unsigned long port;

    if (colon == NULL || colon[1] == '\0') {
        snprintf(err, errlen,
                 "expected ADDRESS:PORT, such as 127.0.0.1:9464 or [::1]:9464");
        return -1;
    }
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || colon[1] < '0' || colon[1] > '9' || errno != 0 ||
        port < 1 || port > 65535) {
        snprintf(err, errlen, "port must be a number from 1 to 65535");
        return -1;
    }
    hostlen = (size_t)(colon - spec);
    if (hostlen >= 2 && spec[0] == '[' && spec[hostlen - 1] == ']') {
        start = spec + 1;
        hostlen -= 2;
    }
    if (hostlen == 0 || hostlen >= sizeof host) {
        snprintf(err, errlen,
                 "expected a numeric IPv4 or [IPv6] address before the port");
        return -1;
    }
    memcpy(host, start, hostlen);
    host[hostlen] = '\0';
    memset(addr, 0, sizeof *addr);
    if (start == spec) {
        struct sockaddr_in *in = (struct sockaddr_in *)addr;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
            *addrlen = sizeof *in;
            return 0;
        }
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
            *addrlen = sizeof *in6;
            return 0;
        }
    }
    snprintf(err, errlen, "not a numeric IPv4 or [IPv6] address: \"%s\"", host);
    return -1;
}

/* ---------------------------------------------------------------------
 * The text of /metrics.
 */

struct page {
    char *buf;
    size_t len;
    size_t used;
    int full; /* something did not fit */
};

static void put(struct page *p, const char *fmt, ...) FEED_PRINTF(2, 3);

static void
put(struct page *p, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (p->full) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(p->buf + p->used, p->len - p->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= p->len - p->used) {
        p->full = 1;
        return;
    }
    p->used += (size_t)n;
}

/* Microseconds as seconds, exactly, without trailing zeros: 2500000 2.5 */
static char *
seconds(uint64_t us, char *buf, size_t len)
{
    unsigned long long whole = us / 1000000;
    unsigned frac = (unsigned)(us % 1000000);
    int digits = 6;

    if (frac == 0) {
        snprintf(buf, len, "%llu", whole);
        return buf;
    }
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    snprintf(buf, len, "%llu.%0*u", whole, digits, frac);
    return buf;
}

static void
header(struct page *p, const char *name, const char *type, const char *help)
{
    put(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
counter(struct page *p, const char *name, const char *help, uint64_t v)
{
    header(p, name, "counter", help);
    put(p, "%s %llu\n", name, (unsigned long long)v);
}

static void
gauge(struct page *p, const char *name, const char *help, uint64_t v)
{
    header(p, name, "gauge", help);
    put(p, "%s %llu\n", name, (unsigned long long)v);
}

static void
histogram(struct page *p, const char *name, const char *help,
          const struct stats_histogram_snapshot *h)
{
    uint64_t total = 0;
    char le[32];

    header(p, name, "histogram", help);
    for (size_t b = 0; b < STATS_BOUNDS; b++) {
        total += h->count[b];
        put(p, "%s_bucket{le=\"%s\"} %llu\n", name,
            seconds(stats_bound_us[b], le, sizeof le),
            (unsigned long long)total);
    }
    total += h->count[STATS_BOUNDS];
    put(p, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)total);
    put(p, "%s_sum %s\n", name, seconds(h->sum_us, le, sizeof le));
    /* From the buckets read, so that _count always equals +Inf. */
    put(p, "%s_count %llu\n", name, (unsigned long long)total);
}

int
metrics_render(const struct metrics_sample *s, char *buf, size_t len)
{
    struct page p = {buf, len, 0, len == 0};

    header(&p, "feed_build_info", "gauge", "The running feed-core's version.");
    put(&p, "feed_build_info{version=\"%s\"} 1\n", s->version);
    counter(&p, "feed_messages_received_total",
            "Requests read from the source.", s->counter[STATS_RECEIVED]);
    counter(&p, "feed_messages_accepted_total", "Requests answered TRUE.",
            s->counter[STATS_ACCEPTED]);
    counter(
        &p, "feed_messages_rejected_total",
        "Requests refused (answered FALSE, or dead-lettered when no reply was possible).",
        s->counter[STATS_REJECTED]);
    counter(&p, "feed_rows_committed_total", "Records committed by the sink.",
            s->counter[STATS_COMMITTED]);
    counter(&p, "feed_sink_retries_total",
            "Sink writes and connects that failed and are retried.",
            s->counter[STATS_RETRIES]);
    counter(&p, "feed_dead_letter_errors_total",
            "Writes to the dead_letter file that failed.",
            s->dead_letter_errors);
    counter(&p, "feed_peers_refused_total",
            "Peers the source refused to connect.",
            s->counter[STATS_PEERS_REFUSED]);
    gauge(&p, "feed_queue_records", "Records waiting in the queue.",
          s->queue_records);
    gauge(&p, "feed_queue_max_records",
          "Records the queue holds before the source waits (queue_max).",
          s->queue_max);
    gauge(&p, "feed_workers", "Sink workers configured (threads).", s->workers);
    gauge(&p, "feed_workers_connected",
          "Sink workers whose database connection works.",
          s->workers_connected);
    gauge(&p, "feed_sink_calls_stalled",
          "Sink calls that have been running for 10 seconds or more.",
          s->stalled);
    gauge(&p, "feed_healthy", "1 when /healthz answers 200, else 0.",
          (uint64_t)(s->healthy != 0));
    histogram(&p, "feed_commit_duration_seconds",
              "Duration of each sink transaction, whatever its outcome.",
              &s->histogram[STATS_COMMIT_TIME]);
    histogram(&p, "feed_ack_delay_seconds",
              "Time from receiving a request to sending its reply.",
              &s->histogram[STATS_ACK_DELAY]);
    return p.full ? -1 : (int)p.used;
}

void
metrics_sample_now(struct metrics_sample *s, struct pipeline *pl,
                   size_t queue_max)
{
    char why[128];
    uint64_t now = clock_ms();

    memset(s, 0, sizeof *s);
    s->version = FEED_VERSION;
    for (int c = 0; c < STATS_COUNTERS; c++) {
        s->counter[c] = stats_get((enum stats_counter)c);
    }
    s->dead_letter_errors = deadletter_failures();
    s->queue_records = pl != NULL ? pipeline_queue_depth(pl) : 0;
    s->queue_max = queue_max;
    s->workers = health_workers();
    s->workers_connected = health_workers_connected();
    s->stalled = health_stalled(now);
    s->healthy = health_check(now, why, sizeof why) == 0;
    for (int h = 0; h < STATS_HISTOGRAMS; h++) {
        stats_histogram_read((enum stats_histogram)h, &s->histogram[h]);
    }
}

/* ---------------------------------------------------------------------
 * The listener, on libmicrohttpd's thread.
 */

static enum MHD_Result
send_text(struct MHD_Connection *c, unsigned status, const char *type,
          const char *text, size_t len, int allow)
{
    struct MHD_Response *r;
    enum MHD_Result rc;

    r = MHD_create_response_from_buffer(len, (void *)text,
                                        MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET");
    }
    rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result
plain(struct MHD_Connection *c, unsigned status, const char *text)
{
    return send_text(c, status, "text/plain; charset=utf-8", text, strlen(text),
                     status == MHD_HTTP_METHOD_NOT_ALLOWED);
}

static enum MHD_Result
serve_metrics(struct metrics *m, struct MHD_Connection *c)
{
    struct metrics_sample s;
    char *page = malloc(PAGE_MAX);
    enum MHD_Result rc;
    int n;

    if (page == NULL) {
        return plain(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    metrics_sample_now(&s, m->pl, m->queue_max);
    n = metrics_render(&s, page, PAGE_MAX);
    if (n < 0) {
        rc = plain(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "page too large\n");
    } else {
        rc = send_text(c, MHD_HTTP_OK,
                       "text/plain; version=0.0.4; charset=utf-8", page,
                       (size_t)n, 0);
    }
    free(page);
    return rc;
}

static enum MHD_Result
serve_health(struct MHD_Connection *c)
{
    char why[160];
    char line[sizeof why + 1];

    if (health_check(clock_ms(), why, sizeof why) == 0) {
        return plain(c, MHD_HTTP_OK, "ok\n");
    }
    snprintf(line, sizeof line, "%s\n", why);
    return plain(c, MHD_HTTP_SERVICE_UNAVAILABLE, line);
}

/* Answers at the first call, before any body is read: GET has none. */
static enum MHD_Result
answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
       const char *version, const char *upload, size_t *upload_len,
       void **con_cls)
{
    (void)version;
    (void)upload;
    (void)upload_len;
    (void)con_cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
        return plain(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET is allowed\n");
    }
    if (strcmp(url, "/metrics") == 0) {
        return serve_metrics(cls, c);
    }
    if (strcmp(url, "/healthz") == 0) {
        return serve_health(c);
    }
    return plain(c, MHD_HTTP_NOT_FOUND,
                 "not found: try /metrics or /healthz\n");
}

/* A listening TCP socket bound to spec; -1 with the reason in err. */
static int
listen_on(const char *spec, char *err, size_t errlen)
{
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int one = 1;
    int fd = -1;

    if (metrics_parse_addr(spec, &addr, &addrlen, err, errlen) == -1) {
        return -1;
    }
    fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        snprintf(err, errlen, "metrics %s: cannot create a socket: %s", spec,
                 strerror(errno));
        goto fail;
    }
    /* A restart must not wait for the last run's connections' TIME_WAIT. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
        (addr.ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == -1)) {
        snprintf(err, errlen, "metrics %s: cannot set socket options: %s", spec,
                 strerror(errno));
        goto fail;
    }
    if (bind(fd, (struct sockaddr *)&addr, addrlen) == -1) {
        snprintf(err, errlen, "metrics %s: cannot bind: %s", spec,
                 strerror(errno));
        goto fail;
    }
    if (listen(fd, MAX_CONNECTIONS) == -1) {
        snprintf(err, errlen, "metrics %s: cannot listen: %s", spec,
                 strerror(errno));
        goto fail;
    }
    return fd;

fail:
    if (fd != -1) {
        close(fd);
    }
    return -1;
}

struct metrics *
metrics_open(const char *spec, struct pipeline *pl, size_t queue_max, char *err,
             size_t errlen)
{
    struct metrics *m = calloc(1, sizeof *m);
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;

    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->pl = pl;
    m->queue_max = queue_max;
    m->fd = listen_on(spec, err, errlen);
    if (m->fd == -1) {
        goto fail;
    }
    if (strchr(spec, '[') != NULL) {
        flags |= MHD_USE_IPv6;
    }
    m->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, answer, m, MHD_OPTION_LISTEN_SOCKET, m->fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MAX_REQUEST_BYTES,
        MHD_OPTION_END);
    if (m->mhd == NULL) {
        snprintf(err, errlen, "metrics %s: cannot start the HTTP listener",
                 spec);
        goto fail;
    }
    log_info("metrics listening on %s", spec);
    return m;

fail:
    if (m->fd != -1) {
        close(m->fd);
    }
    free(m);
    return NULL;
}

void
metrics_close(struct metrics *m)
{
    if (m != NULL) {
        /* Joins the listener's thread and closes the listening socket. */
        MHD_stop_daemon(m->mhd);
        free(m);
    }
}
