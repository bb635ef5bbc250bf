/*
 * feed-sink-test.c - the SDK's test host: runs a sink plugin without a
 * daemon, a source or a database of ours.
 *
 * Owns the command line, the records read from a file and the batches made
 * of them. Loading the plugin, reading its keys and logging are the core's
 * own (plugin.c, config.c, stage.c, log.c), so a sink meets here exactly the
 * checks and messages it meets in the daemon: the ABI check, FILE:LINE for
 * a bad or unknown key, the same host functions. What it does not do is the
 * daemon's retrying and narrowing: it reports what each write() returned.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <feed/plugin.h>

#include "buildconf.h"
#include "config.h"
#include "plugin.h"
#include "stage.h"

#define MAX_FIELDS 32

static const char usage_text[] =
    "usage: feed-sink-test [-c INI] [-f FIELDS] [-n LINES] [-b RECORDS]\n"
    "                      [--client NAME] [--tick] [--reopen] SINK [FILE]\n"
    "\n"
    "Loads the sink plugin SINK (a path, or a name looked up in the plugin\n"
    "folder), configures it from the [sink] section of INI, opens one\n"
    "instance and writes the records of FILE (or stdin) to it, one line a\n"
    "record, values separated by commas in FIELDS order.\n"
    "\n"
    "  -c INI         the [sink] keys (plugin and batch_max are ignored)\n"
    "  -f FIELDS      the parser's schema, NAME:TYPE,... with TYPE uint,\n"
    "                 decimal or text (default ticket:uint,login:uint,\n"
    "                 volume:decimal, the fields of csv_trade)\n"
    "  -n LINES       lines per request (default 1)\n"
    "  -b RECORDS     records per batch, in whole requests (default 1000)\n"
    "  --client NAME  the client every request names (default test)\n"
    "  --tick         call tick() once after the writes\n"
    "  --reopen       call reopen() once after the writes\n"
    "\n"
    "Prints one line per batch: OK, RETRY <reason> or REJECT <reason>.\n"
    "Exit status: 0 when every call returned FEED_OK, 1 otherwise or on an\n"
    "error, 2 on a usage error.\n";

struct options {
    const char *ini;
    const char *fields;
    const char *sink;
    const char *file;
    const char *client;
    long lines_per_request;
    long batch_max;
    int tick;
    int reopen;
};

/* The records read from the input, with their values in one array. */
struct input {
    char *text; /* the whole file; values point into it */
    struct feed_value *values;
    struct feed_record *records;
    size_t count;
    size_t nfields;
};

static struct feed_field fields[MAX_FIELDS];
static char field_names[MAX_FIELDS][64];
static struct feed_schema schema = {0, fields};

/* The parser stage is only a schema: what a sink asks host->field() for. */
static const struct feed_schema *
fields_schema(const struct feed_host *host, void *conf)
{
    (void)host;
    (void)conf;
    return &schema;
}

static const struct feed_plugin fields_parser = {
    FEED_PLUGIN_HEADER,
    .kind = FEED_KIND_PARSER,
    .name = "fields",
    .version = FEED_VERSION,
    .summary = "the schema given with -f",
    .schema = fields_schema,
};

/* Parses -f into the schema. Returns 0, or -1 with the reason in err. */
static int
parse_fields(const char *spec, char *err, size_t errlen)
{
    static const char *const types[] = {"", "text", "uint", "decimal"};
    const char *p = spec;

    schema.nfields = 0;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        const char *colon = memchr(p, ':', len);
        size_t nlen = colon != NULL ? (size_t)(colon - p) : 0;
        enum feed_type type = 0;

        for (int t = FEED_TYPE_TEXT; colon != NULL && t <= FEED_TYPE_DECIMAL;
             t++) {
            size_t tlen = strlen(types[t]);
            if (len - nlen - 1 == tlen &&
                memcmp(colon + 1, types[t], tlen) == 0) {
                type = (enum feed_type)t;
            }
        }
        if (nlen == 0 || nlen >= sizeof field_names[0] || type == 0 ||
            schema.nfields == MAX_FIELDS) {
            snprintf(err, errlen,
                     "bad field \"%.*s\": expected NAME:TYPE "
                     "with TYPE uint, decimal or text",
                     (int)len, p);
            return -1;
        }
        memcpy(field_names[schema.nfields], p, nlen);
        field_names[schema.nfields][nlen] = '\0';
        fields[schema.nfields].name = field_names[schema.nfields];
        fields[schema.nfields].type = type;
        schema.nfields++;
        p += len + (p[len] == ',');
    }
    if (schema.nfields == 0) {
        snprintf(err, errlen, "no fields given");
        return -1;
    }
    return 0;
}

/*
 * Checks a value against its type and cuts it to the canonical form the ABI
 * promises sinks ("007" is "7", "1.50" is "1.5"). Returns 0 or -1.
 */
static int
canonical(struct feed_value *v, enum feed_type type)
{
    const char *point;
    size_t digits;

    if (type == FEED_TYPE_TEXT) {
        return 0;
    }
    point = type == FEED_TYPE_DECIMAL ? memchr(v->ptr, '.', v->len) : NULL;
    digits = point != NULL ? (size_t)(point - v->ptr) : v->len;
    if (digits == 0 || (point != NULL && point + 1 == v->ptr + v->len)) {
        return -1;
    }
    for (size_t i = 0; i < v->len; i++) {
        if ((v->ptr[i] < '0' || v->ptr[i] > '9') && v->ptr + i != point) {
            return -1;
        }
    }
    while (digits > 1 && v->ptr[0] == '0') {
        v->ptr++;
        v->len--;
        digits--;
    }
    if (type == FEED_TYPE_UINT &&
        (digits > 20 ||
         (digits == 20 && memcmp(v->ptr, "18446744073709551615", 20) > 0))) {
        return -1;
    }
    if (point != NULL) {
        while (v->ptr[v->len - 1] == '0') {
            v->len--;
        }
        if (v->ptr[v->len - 1] == '.') {
            v->len--;
        }
    }
    return 0;
}

/* Reads the whole stream. Returns a NUL-terminated buffer, or NULL. */
static char *
slurp(FILE *f, size_t *len)
{
    size_t cap = 4096;
    char *buf = malloc(cap);

    *len = 0;
    while (buf != NULL) {
        size_t n = fread(buf + *len, 1, cap - *len - 1, f);
        *len += n;
        if (n == 0) {
            if (ferror(f)) {
                break;
            }
            buf[*len] = '\0';
            return buf;
        }
        if (*len + 1 == cap) {
            char *more = realloc(buf, cap * 2);
            if (more == NULL) {
                break;
            }
            buf = more;
            cap *= 2;
        }
    }
    free(buf);
    return NULL;
}

/* Splits one line into its values. Returns 0, or -1 with err set. */
static int
split_line(struct input *in, char *line, size_t len, size_t lineno, char *err,
           size_t errlen)
{
    struct feed_value *v = in->values + in->count * in->nfields;
    char *p = line;

    for (size_t f = 0; f < in->nfields; f++) {
        char *end = memchr(p, ',', (size_t)(line + len - p));
        char *stop = f + 1 < in->nfields ? end : line + len;

        if (stop == NULL || (f + 1 == in->nfields && end != NULL)) {
            snprintf(err, errlen, "input line %zu: expected %zu values", lineno,
                     in->nfields);
            return -1;
        }
        v[f].ptr = p;
        v[f].len = (size_t)(stop - p);
        if (canonical(&v[f], fields[f].type) == -1) {
            snprintf(err, errlen, "input line %zu: \"%.*s\" is not a %s",
                     lineno, (int)(stop - p), p,
                     fields[f].type == FEED_TYPE_UINT ? "uint" : "decimal");
            return -1;
        }
        p = stop + 1;
    }
    in->records[in->count].line = (uint32_t)lineno;
    in->records[in->count].values = v;
    in->count++;
    return 0;
}

/* Reads the input into records. Returns 0, or -1 with err set. */
static int
read_input(struct input *in, const char *file, char *err, size_t errlen)
{
    FILE *f = file == NULL || strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    size_t len = 0;
    size_t lines = 1;

    if (f == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", file, strerror(errno));
        return -1;
    }
    in->text = slurp(f, &len);
    if (f != stdin) {
        fclose(f);
    }
    if (in->text == NULL) {
        snprintf(err, errlen, "cannot read %s", file != NULL ? file : "stdin");
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        lines += in->text[i] == '\n';
    }
    in->nfields = schema.nfields;
    in->values = calloc(lines * in->nfields, sizeof *in->values);
    in->records = calloc(lines, sizeof *in->records);
    if (in->values == NULL || in->records == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (char *p = in->text, *end = in->text + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *eol = nl != NULL ? nl : end;

        if (split_line(in, p, (size_t)(eol - p), in->count + 1, err, errlen) ==
            -1) {
            return -1;
        }
        p = eol + 1;
    }
    return 0;
}

static const char *
result_name(enum feed_result r)
{
    switch (r) {
    case FEED_OK:
        return "OK";
    case FEED_RETRY:
        return "RETRY";
    case FEED_REJECT:
        return "REJECT";
    case FEED_FAIL:
        return "FAIL";
    }
    return "UNKNOWN";
}

/* Prints what one write() returned. */
static void
report(int k, size_t first, size_t last, const struct feed_batch *b,
       enum feed_result r, size_t bad, const char *err)
{
    printf("batch %d requests %zu-%zu records %zu: %s", k, first, last,
           b->count, result_name(r));
    if (r == FEED_REJECT && bad < b->count) {
        printf(" record %zu (input line %u)", bad + 1,
               (unsigned)b->records[bad].line);
    }
    printf("%s%s\n", err[0] != '\0' ? ": " : "", err);
}

/* The records of request `req` (counted from 0): `per`, the last fewer. */
static size_t
request_size(const struct input *in, size_t per, size_t req)
{
    size_t left = in->count - req * per;

    return left < per ? left : per;
}

/*
 * Writes the records in batches of whole requests (lines_per_request lines
 * each, up to batch_max records a batch). Returns how many write() calls
 * did not return FEED_OK, or -1 when out of memory.
 */
static int
write_all(const struct options *o, struct stage *sink, void *state,
          const struct input *in)
{
    size_t per = (size_t)o->lines_per_request;
    size_t nreq = (in->count + per - 1) / per;
    struct feed_origin *origins = calloc(nreq + 1, sizeof *origins);
    struct timespec ts;
    size_t req = 0;
    int failed = 0;

    if (origins == NULL) {
        return -1;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    for (int k = 1; req < nreq; k++) {
        size_t first = req;
        size_t start = req * per;
        char err[FEED_ERR_MAX] = "";
        size_t bad = SIZE_MAX;
        struct feed_batch b = {0, in->records + start, 0, origins};
        enum feed_result r;

        /* Whole requests; at least one, more while batch_max allows. */
        do {
            size_t n = request_size(in, per, req);
            origins[b.nrequests] = (struct feed_origin){
                .first = b.count,
                .count = n,
                .client = o->client,
                .received_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
            };
            b.nrequests++;
            b.count += n;
            req++;
        } while (req < nreq &&
                 b.count + request_size(in, per, req) <= (size_t)o->batch_max);
        r = sink->plugin.desc->write(&sink->host, state, &b, &bad, err,
                                     sizeof err);
        report(k, first + 1, req, &b, r, bad, err);
        failed += r != FEED_OK;
    }
    free(origins);
    return failed;
}

/* Calls the optional callbacks asked for. Returns how many failed. */
static int
extras(const struct options *o, struct stage *sink, void *state)
{
    const struct feed_plugin *d = sink->plugin.desc;
    int failed = 0;

    if (o->reopen) {
        if (PLUGIN_HAS(d, reopen)) {
            d->reopen(&sink->host, state);
            printf("reopen: done\n");
        } else {
            printf("reopen: the plugin has none\n");
        }
    }
    if (o->tick) {
        if (PLUGIN_HAS(d, tick)) {
            char err[FEED_ERR_MAX] = "";
            enum feed_result r = d->tick(&sink->host, state, err, sizeof err);
            printf("tick: %s%s%s\n", result_name(r), err[0] != '\0' ? ": " : "",
                   err);
            failed += r != FEED_OK;
        } else {
            printf("tick: the plugin has none\n");
        }
    }
    return failed;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {
        {"client", required_argument, NULL, 'C'},
        {"tick", no_argument, NULL, 'T'},
        {"reopen", no_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char *end;
    int c;

    while ((c = getopt_long(argc, argv, "c:f:n:b:h", longs, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->ini = optarg;
            break;
        case 'f':
            o->fields = optarg;
            break;
        case 'n':
        case 'b':
            errno = 0;
            *(c == 'n' ? &o->lines_per_request : &o->batch_max) =
                strtol(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || end == optarg ||
                (c == 'n' ? o->lines_per_request : o->batch_max) < 1) {
                fprintf(stderr,
                        "feed-sink-test: -%c takes a whole number "
                        "of at least 1\n",
                        c);
                return -1;
            }
            break;
        case 'C':
            o->client = optarg;
            break;
        case 'T':
            o->tick = 1;
            break;
        case 'R':
            o->reopen = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind >= argc || argc - optind > 2) {
        return -1;
    }
    o->sink = argv[optind];
    o->file = optind + 1 < argc ? argv[optind + 1] : NULL;
    return 0;
}

/*
 * Loads and configures the sink like the daemon does. Returns 0, or -1
 * after printing the errors (FILE:LINE where there is a file).
 */
static int
set_up(const struct options *o, struct config *c, struct stage *parser,
       struct stage *sink)
{
    char err[FEED_ERR_MAX];
    const char *ignored;
    long long ignored_int;

    stage_init(parser, "parser", &fields_parser);
    parser->conf = &schema; /* any non-NULL configuration */
    stage_init(sink, "sink", NULL);
    if (plugin_load(&sink->plugin, o->sink, FEED_PLUGIN_DIR, ".",
                    FEED_KIND_SINK, err, sizeof err) == -1) {
        fprintf(stderr, "feed-sink-test: %s\n", err);
        return -1;
    }
    /* The daemon's own keys in [sink] mean nothing here. */
    config_string(c, "sink", "plugin", "", &ignored);
    config_int(c, "sink", "batch_max", 1, 1, 1000000, &ignored_int);
    if (stage_configure(sink, c, parser) == 0) {
        config_check_unused(c, "sink");
    }
    if (config_errors(c) > 0) {
        config_print_errors(c, stderr);
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct options o = {
        .fields = "ticket:uint,login:uint,volume:decimal",
        .client = "test",
        .lines_per_request = 1,
        .batch_max = 1000,
    };
    char err[FEED_ERR_MAX];
    struct input in = {0};
    struct config *c = NULL;
    struct stage parser;
    struct stage sink;
    void *state = NULL;
    int failed = 1;

    stage_init(&sink, "sink", NULL);
    if (parse_options(argc, argv, &o) == -1) {
        fputs(usage_text, stderr);
        return 2;
    }
    if (parse_fields(o.fields, err, sizeof err) == -1 ||
        read_input(&in, o.file, err, sizeof err) == -1) {
        fprintf(stderr, "feed-sink-test: %s\n", err);
        goto done;
    }
    c = config_load(o.ini != NULL ? o.ini : "/dev/null", err, sizeof err);
    if (c == NULL) {
        fprintf(stderr, "feed-sink-test: %s\n", err);
        goto done;
    }
    if (set_up(&o, c, &parser, &sink) == -1) {
        goto done;
    }
    err[0] = '\0';
    enum feed_result r =
        sink.plugin.desc->open(&sink.host, sink.conf, &state, err, sizeof err);
    if (r != FEED_OK) {
        fprintf(stderr, "feed-sink-test: open: %s%s%s\n", result_name(r),
                err[0] != '\0' ? ": " : "", err);
        goto done;
    }
    failed = write_all(&o, &sink, state, &in);
    if (failed == -1) {
        fprintf(stderr, "feed-sink-test: out of memory\n");
        failed = 1;
    }
    failed += extras(&o, &sink, state);
    if (sink.plugin.desc->close != NULL) {
        sink.plugin.desc->close(&sink.host, state);
    }

done:
    stage_free(&sink);
    config_free(c);
    free(in.text);
    free(in.values);
    free(in.records);
    return failed == 0 ? 0 : 1;
}
