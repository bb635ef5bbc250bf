/*
 * fuzz_source.c - libFuzzer target for the source's message handling.
 *
 * What a client controls reaches the daemon as the frames of one ROUTER
 * message. This target turns its input into such frames and runs what the
 * daemon runs on them: zmq_rep's envelope handling (the reply address and
 * the body), the core's submit (copying, parsing with the real csv_trade
 * plugin, refusing) and the dead-letter line of a refusal. Invariants,
 * checked with abort():
 *   - an envelope is refused only when no reply could be addressed;
 *   - the reply address walks back to exactly the routing frames;
 *   - every request gets exactly one reply (ack = receive here), "TRUE" or
 *     "FALSE <reason>" with a one-line reason;
 *   - a refusal's dead-letter line is one line of JSON whose message (or
 *     message_base64) decodes back to exactly the body.
 *
 * Input: byte 0 = frame count (mod MAX_FRAMES + 1), byte 1 = frames counted
 * but not kept (mod 3), then per frame a 2-byte little-endian length and
 * that many bytes (cut short at the end of the input).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../plugins/zmq_rep/zmq_rep.c"

#include "config.h"
#include "deadletter.h"
#include "log.h"
#include "pipeline.h"
#include "stage.h"

static struct config *cfg;
static struct stage source;
static struct stage parser;
static struct stage sink;
static int replies;
static char reply_text[FEED_ERR_MAX + 16];

static void
fuzz_reply(const struct feed_host *host, void *state, const void *tag,
           size_t tag_len, const char *text, size_t len)
{
    (void)host;
    (void)state;
    (void)tag;
    (void)tag_len;
    if (len >= sizeof reply_text) {
        abort();
    }
    memcpy(reply_text, text, len);
    reply_text[len] = '\0';
    replies++;
}

static const struct feed_plugin source_desc = {
    FEED_PLUGIN_HEADER, .kind = FEED_KIND_SOURCE, .name = "fuzz",
    .version = "0",     .summary = "fuzz",        .reply = fuzz_reply,
};

static const struct feed_plugin sink_desc = {
    FEED_PLUGIN_HEADER, .kind = FEED_KIND_SINK, .name = "none",
    .version = "0",     .summary = "none",
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char ini[] = "/tmp/fuzz-source-XXXXXX";
    int fd = mkstemp(ini);
    char err[FEED_ERR_MAX];
    const char text[] = "[parser]\nplugin = csv_trade\n";

    (void)argc;
    (void)argv;
    if (fd == -1 || write(fd, text, sizeof text - 1) < 0) {
        abort();
    }
    close(fd);
    cfg = config_load(ini, err, sizeof err);
    unlink(ini);
    if (cfg == NULL ||
        stage_load(&parser, cfg, "parser", FEED_KIND_PARSER, FUZZ_PLUGIN_DIR) !=
            0 ||
        stage_configure(&parser, cfg, NULL) != 0) {
        config_print_errors(cfg, stderr);
        abort();
    }
    stage_init(&source, "source", &source_desc);
    stage_init(&sink, "sink", &sink_desc);
    log_open("stderr", FEED_LOG_WARNING, err, sizeof err);
    if (deadletter_open("/dev/null", err, sizeof err) != 0) {
        abort();
    }
    return 0;
}

/* Collects the frames envelope_walk() hands out, for comparison. */
struct walked {
    struct frame frames[MAX_FRAMES + 1];
    size_t n;
};

static int
collect(void *arg, const void *data, size_t size)
{
    struct walked *w = arg;

    if (w->n == MAX_FRAMES + 1) {
        abort();
    }
    w->frames[w->n].data = data;
    w->frames[w->n].size = size;
    w->n++;
    return 0;
}

/* The walked envelope must be frames[0..hops) and the delimiter if any. */
static void
check_envelope(const struct frame *f, size_t n, const struct envelope *env,
               const struct feed_request *req)
{
    struct walked w = {.n = 0};

    if (envelope_walk(env->tag, env->len, collect, &w) != 0 ||
        req->tag_len != env->len || w.n == 0 || w.n > n) {
        abort();
    }
    for (size_t i = 0; i < w.n; i++) {
        if (w.frames[i].size != f[i].size ||
            memcmp(w.frames[i].data, f[i].data, f[i].size) != 0) {
            abort();
        }
    }
}

static int
hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes the JSON string starting at p (after its quote) into out. */
static size_t
unjson(const char *p, unsigned char *out, const char **end)
{
    size_t n = 0;

    while (*p != '"') {
        if ((unsigned char)*p < 0x20 || *p == '\0') {
            abort(); /* raw control bytes are not JSON */
        }
        if (*p != '\\') {
            out[n++] = (unsigned char)*p++;
            continue;
        }
        p++;
        switch (*p) {
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case '"':
            out[n++] = '"';
            break;
        case '\\':
            out[n++] = '\\';
            break;
        case 'u':
            if (strncmp(p, "u00", 3) != 0 || hex(p[3]) < 0 || hex(p[4]) < 0) {
                abort();
            }
            out[n++] = (unsigned char)(hex(p[3]) * 16 + hex(p[4]));
            p += 4;
            break;
        default:
            abort();
        }
        p++;
    }
    *end = p + 1;
    return n;
}

static size_t
unbase64(const char *p, unsigned char *out)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned long v = 0;
    size_t n = 0;
    int bits = 0;

    for (; *p != '"'; p++) {
        const char *at = strchr(abc, *p);
        if (*p == '=') {
            continue;
        }
        if (at == NULL || *p == '\0') {
            abort();
        }
        v = v << 6 | (unsigned long)(at - abc);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(v >> bits);
        }
    }
    return n;
}

/* The dead-letter line of a refusal must give the body back exactly. */
static void
check_dead_letter(const char *reason, const struct feed_request *req)
{
    size_t len;
    char *line = deadletter_format(1764060319123LL, reason, NULL, req->body,
                                   req->len, req->parts, &len);
    unsigned char *back = malloc(req->len * 6 + 16);
    const char *p;
    const char *end;
    size_t n;

    if (line == NULL || back == NULL || line[len - 1] != '\n' ||
        memchr(line, '\n', len - 1) != NULL) {
        abort();
    }
    /* The line is not NUL-terminated: the daemon writes it by length. */
    line = realloc(line, len + 1);
    if (line == NULL) {
        abort();
    }
    line[len] = '\0';
    if ((p = strstr(line, "\"message\":\"")) != NULL) {
        n = unjson(p + 11, back, &end);
    } else if ((p = strstr(line, "\"message_base64\":\"")) != NULL) {
        n = unbase64(p + 18, back);
    } else {
        abort();
    }
    if (n != req->len || memcmp(back, req->body, n) != 0) {
        abort();
    }
    free(back);
    free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pipeline_settings set = {1, 1000000, 1000, 1, 0};
    struct frame frames[MAX_FRAMES];
    struct envelope env;
    struct feed_request req = {0};
    char err[FEED_ERR_MAX];
    struct pipeline *pl;
    size_t n;
    size_t extra;
    size_t at = 2;

    if (size < 2) {
        return 0;
    }
    n = data[0] % (MAX_FRAMES + 1);
    extra = data[1] % 3;
    for (size_t i = 0; i < n; i++) {
        size_t len =
            at + 2 <= size ? (size_t)(data[at] | data[at + 1] << 8) : 0;
        at = at + 2 <= size ? at + 2 : size;
        if (len > size - at) {
            len = size - at;
        }
        frames[i].data = data + at;
        frames[i].size = len;
        at += len;
    }
    pl = pipeline_new(&source, &parser, &sink, &set, err, sizeof err);
    if (pl == NULL) {
        abort();
    }
    replies = 0;
    if (envelope_open(frames, n, extra, &env, &req) != 0) {
        /* As zmq_rep does: no reply address, the core keeps it unanswered. */
        struct feed_request lost = {NULL, 0, "", 0, 1, NULL, NULL};
        pipeline_submit(pl, &lost);
        if (replies != 0) {
            abort();
        }
        pipeline_free(pl);
        return 0;
    }
    check_envelope(frames, n, &env, &req);
    pipeline_submit(pl, &req);
    if (replies != 1 ||
        (strcmp(reply_text, "TRUE") != 0 &&
         (strncmp(reply_text, "FALSE ", 6) != 0 || reply_text[6] == '\0' ||
          strchr(reply_text, '\n') != NULL))) {
        abort();
    }
    if (reply_text[0] == 'F') {
        check_dead_letter(reply_text + 6, &req);
    }
    pipeline_free(pl);
    return 0;
}
