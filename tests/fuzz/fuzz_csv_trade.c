/*
 * fuzz_csv_trade.c - a libFuzzer harness for the csv_trade parser.
 *
 * Each input is parsed twice through the test host: with the default
 * column order and with `fields = volume, login,ticket`. The harness aborts
 * when a promise of the parser breaks:
 *
 *   - on success, every value is non-empty, canonical, of its field's
 *     grammar and a slice of the input; there are no more records than
 *     lines, their line numbers strictly increase, no ticket appears twice;
 *   - on failure, nothing was emitted and the reason is "empty message" or
 *     starts with "line ";
 *   - both agree with a plain reference reading of the grammar, written
 *     here independently: the same lines accepted, the same records, the
 *     same first bad line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <feed/plugin.h>

#include "testhost.h"

extern const struct feed_plugin feed_plugin;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCONF 2

static const char *const fields_key[NCONF] = {NULL, "volume, login,ticket"};
/* The schema index of each column, as fields_key[] orders them. */
static const int columns[NCONF][3] = {{0, 1, 2}, {2, 1, 0}};

static struct testhost hosts[NCONF];
static void *confs[NCONF];

/* A slice of the input. */
struct text {
    const char *ptr;
    size_t len;
};

/* What the reference expects of one line. */
struct ref_line {
    struct text v[3]; /* canonical, schema order */
    int first;        /* the first line with its ticket: a record */
};

static int
digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return n > 0;
}

static int
same(struct text a, struct text b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/* The reference grammar of ticket and login; 0 when s is one. */
static int
ref_uint(const char *s, size_t n, struct text *out)
{
    if (!digits(s, n)) {
        return -1;
    }
    while (n > 1 && *s == '0') {
        s++;
        n--;
    }
    if (n > 20 || (n == 20 && memcmp(s, "18446744073709551615", 20) > 0)) {
        return -1;
    }
    out->ptr = s;
    out->len = n;
    return 0;
}

/* The reference grammar of volume; 0 when s is one. */
static int
ref_decimal(const char *s, size_t n, struct text *out)
{
    const char *point = memchr(s, '.', n);
    size_t ilen = point != NULL ? (size_t)(point - s) : n;
    size_t flen = point != NULL ? n - ilen - 1 : 0;

    if (!digits(s, ilen) || (point != NULL && !digits(point + 1, flen))) {
        return -1;
    }
    while (ilen > 1 && *s == '0') {
        s++;
        ilen--;
    }
    while (flen > 0 && point[flen] == '0') {
        flen--;
    }
    if (ilen > 16 || flen > 4) {
        return -1;
    }
    out->ptr = s;
    out->len = ilen + (flen > 0 ? 1 + flen : 0);
    return 0;
}

/* The reference reading of one line (without its line end). */
static int
ref_line(int k, const char *s, size_t n, struct ref_line *r)
{
    const char *end = s + n;

    if (n == 0 || n > 256 || memchr(s, '\0', n) != NULL) {
        return -1;
    }
    for (int col = 0; col < 3; col++) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma != NULL ? comma : end;
        int which = columns[k][col];
        int rc;

        /* Two commas, no third. */
        if ((col < 2) != (comma != NULL)) {
            return -1;
        }
        if (which == 2) {
            rc = ref_decimal(s, (size_t)(stop - s), &r->v[which]);
        } else {
            rc = ref_uint(s, (size_t)(stop - s), &r->v[which]);
        }
        if (rc == -1) {
            return -1;
        }
        if (comma != NULL) {
            s = comma + 1;
        }
    }
    return 0;
}

/*
 * Reads the whole input as the reference: fills lines[] and returns 0, or
 * the first bad line (syntax, or a ticket repeated with other values).
 * Quadratic, which is fine for fuzzer-sized inputs.
 */
static size_t
ref_read(int k, const char *p, size_t size, struct ref_line *lines,
         size_t *nlines)
{
    const char *end = p + size;
    size_t n = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;
        struct ref_line *r = &lines[n];

        if (nl != NULL && eol > p && eol[-1] == '\r') {
            eol--;
        }
        if (ref_line(k, p, (size_t)(eol - p), r) == -1) {
            return n + 1;
        }
        r->first = 1;
        for (size_t j = 0; j < n && r->first; j++) {
            if (same(lines[j].v[0], r->v[0])) {
                if (!same(lines[j].v[1], r->v[1]) ||
                    !same(lines[j].v[2], r->v[2])) {
                    return n + 1;
                }
                r->first = 0;
            }
        }
        n++;
        p = nl != NULL ? nl + 1 : end;
    }
    *nlines = n;
    return 0;
}

/* Is v canonical text of its type, and a slice of the input? */
static int
canonical(const struct feed_value *v, enum feed_type type, const char *data,
          size_t size)
{
    const char *point;
    size_t ilen;

    if (v->len == 0 || v->ptr < data || v->ptr + v->len > data + size) {
        return 0;
    }
    point = memchr(v->ptr, '.', v->len);
    if (type == FEED_TYPE_UINT && point != NULL) {
        return 0;
    }
    ilen = point != NULL ? (size_t)(point - v->ptr) : v->len;
    if (!digits(v->ptr, ilen) || (ilen > 1 && v->ptr[0] == '0')) {
        return 0;
    }
    if (type == FEED_TYPE_UINT) {
        return ilen < 20 ||
               (ilen == 20 && memcmp(v->ptr, "18446744073709551615", 20) <= 0);
    }
    if (ilen > 16) {
        return 0;
    }
    if (point != NULL) {
        size_t flen = v->len - ilen - 1;

        return flen >= 1 && flen <= 4 && digits(point + 1, flen) &&
               point[flen] != '0';
    }
    return 1;
}

static void
check(int cond, const char *what, int k)
{
    if (!cond) {
        fprintf(stderr, "csv_trade broke a promise (conf %d): %s\n", k, what);
        abort();
    }
}

/* The promises that hold on success, whatever the reference says. */
static void
check_records(int k, struct testhost *th, const char *data, size_t size)
{
    const struct feed_schema *s = th->schema;
    size_t lines = 1;

    for (size_t i = 0; i + 1 < size; i++) {
        lines += data[i] == '\n';
    }
    check(th->nrecords >= 1 && th->nrecords <= lines, "record count", k);
    for (size_t i = 0; i < th->nrecords; i++) {
        const struct feed_value *v = &th->values_out[i * s->nfields];

        check(th->lines[i] >= 1 && th->lines[i] <= lines, "line number", k);
        check(i == 0 || th->lines[i] > th->lines[i - 1], "line order", k);
        for (size_t f = 0; f < s->nfields; f++) {
            check(canonical(&v[f], s->fields[f].type, data, size),
                  "canonical value inside the input", k);
        }
    }
}

static void
run(int k, const char *data, size_t size, struct ref_line *ref)
{
    struct testhost *th = &hosts[k];
    char err[FEED_ERR_MAX];
    size_t nref = 0;
    size_t bad = ref_read(k, data, size, ref, &nref);
    int rc;

    memset(err, 0, sizeof err);
    rc = feed_plugin.parse(&th->host, confs[k], data, size, testhost_out(th),
                           err, sizeof err);
    if (rc == 0) {
        size_t r = 0;

        check(size > 0 && bad == 0, "accepted what the reference refuses", k);
        check_records(k, th, data, size);
        for (size_t i = 0; i < nref; i++) {
            if (!ref[i].first) {
                continue;
            }
            check(r < th->nrecords, "a record is missing", k);
            check(th->lines[r] == i + 1, "a record has the wrong line", k);
            for (int f = 0; f < 3; f++) {
                const struct feed_value *v = &th->values_out[r * 3 + f];
                struct text t = {v->ptr, v->len};

                check(same(t, ref[i].v[f]), "a value differs", k);
            }
            r++;
        }
        check(r == th->nrecords, "a record too many (a repeat?)", k);
        return;
    }
    check(rc == -1, "parse() returned neither 0 nor -1", k);
    check(th->nrecords == 0, "records emitted before a refusal", k);
    check(err[0] != '\0' && err[sizeof err - 1] == '\0', "empty reason", k);
    if (size == 0) {
        check(strcmp(err, "empty message") == 0, "empty message", k);
        return;
    }
    check(strncmp(err, "line ", 5) == 0, "reason without a line", k);
    check(bad != 0, "refused what the reference accepts", k);
    check(strtoul(err + 5, NULL, 10) == bad, "not the first bad line", k);
}

static void
setup(void)
{
    char err[FEED_ERR_MAX] = "";

    for (int k = 0; k < NCONF; k++) {
        testhost_init(&hosts[k], "parser");
        if (fields_key[k] != NULL) {
            testhost_set(&hosts[k], "fields", fields_key[k]);
        }
        confs[k] = feed_plugin.configure(&hosts[k].host, err, sizeof err);
        if (confs[k] == NULL) {
            fprintf(stderr, "cannot configure csv_trade: %s%s\n", err,
                    hosts[k].errors);
            abort();
        }
        hosts[k].schema = feed_plugin.schema(&hosts[k].host, confs[k]);
    }
}

/* The libFuzzer entry point: parses one input; aborts on a broken promise. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    /* At most one reference line per input byte, plus one. */
    struct ref_line *ref = malloc((size + 1) * sizeof *ref);

    if (!ready) {
        setup();
        ready = 1;
    }
    if (ref == NULL) {
        abort();
    }
    for (int k = 0; k < NCONF; k++) {
        run(k, (const char *)data, size, ref);
    }
    free(ref);
    return 0;
}
