/*
 * csv_trade.c - the parser of the default pipeline: trades as CSV lines.
 *
 * Owns the grammar of a trade line (`ticket,login,volume`, the columns in
 * the order the `fields` key gives) and turns one request body into one
 * record per line, or refuses the request whole, naming the first bad line
 * and why. Values are canonical slices of the body, never copies. What
 * becomes of the records, and of the reply, is the core's business.
 *
 * parse() runs on the source thread for every request, so a request of a
 * few lines touches no heap, and no byte goes through a function pointer or
 * a locale-dependent routine.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <feed/plugin.h>

/*
 * The limits of the grammar. The reasons spell the numbers out, so that
 * grep finds them: change both together.
 */
#define NFIELDS 3
/* The longest line, without its "\n" or "\r\n". */
#define MAX_LINE_BYTES 256
/* Significant digits of the largest uint64_t, and that number. */
#define UINT64_DIGITS 20
#define UINT64_MAX_TEXT "18446744073709551615"
/* DECIMAL(20,4) holds a volume exactly. */
#define VOLUME_INT_DIGITS 16
#define VOLUME_FRAC_DIGITS 4
/* Rows parsed without touching the heap. */
#define STACK_ROWS 32

/* Indexes into the schema, hence into a record's values. */
enum { TICKET = 0, LOGIN = 1, VOLUME = 2 };

/* Why a field is not a trade's; FINE when it is. */
enum problem {
    FINE,
    NOT_A_NUMBER,
    OUT_OF_RANGE,
    TOO_MANY_INT_DIGITS,
    TOO_MANY_FRAC_DIGITS,
};

static const struct feed_field schema_fields[NFIELDS] = {
    {.name = "ticket", .type = FEED_TYPE_UINT},
    {.name = "login", .type = FEED_TYPE_UINT},
    {.name = "volume", .type = FEED_TYPE_DECIMAL},
};

/* Whatever `fields` says, values are emitted in this order. */
static const struct feed_schema schema = {
    .nfields = NFIELDS,
    .fields = schema_fields,
};

struct csv_conf {
    const struct feed_host *host; /* borrowed */
    int column[NFIELDS];          /* the schema index of each column */
};

/* One parsed line, held until the whole request has been checked. */
struct row {
    uint64_t ticket;              /* its value, to find repeats */
    struct feed_value v[NFIELDS]; /* schema order; slices of the body */
    uint32_t line;
    uint32_t repeat; /* an earlier line has the same trade: not emitted */
};

/* The rows of one request: on the stack until they outgrow it. */
struct rows {
    struct row *row; /* stack, or owned heap memory */
    size_t n;
    size_t cap;
    struct row stack[STACK_ROWS];
};

/* A ticket and where it came from, to sort repeats next to each other. */
struct key {
    uint64_t ticket;
    size_t row;
};

/* Writes "line N: reason" into err; returns -1 for the caller to pass on. */
static int refuse(char *err, size_t errlen, size_t line, const char *fmt, ...)
    FEED_PRINTF(4, 5);

static int
refuse(char *err, size_t errlen, size_t line, const char *fmt, ...)
{
    int used = snprintf(err, errlen, "line %zu: ", line);
    va_list ap;

    if (used >= 0 && (size_t)used < errlen) {
        va_start(ap, fmt);
        vsnprintf(err + used, errlen - (size_t)used, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Comma-separated items in s[0..n); an empty string is one empty item. */
static size_t
count_items(const char *s, size_t n)
{
    size_t k = 1;

    for (size_t i = 0; i < n; i++) {
        k += s[i] == ',';
    }
    return k;
}

/*
 * An unsigned 64-bit integer: digits only. Sets *v to its canonical slice
 * (no leading zeros, but "0") and *num to its value.
 */
static enum problem
parse_uint(const char *s, size_t n, struct feed_value *v, uint64_t *num)
{
    size_t z = 0; /* leading zeros */
    uint64_t x = 0;

    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i])) {
            return NOT_A_NUMBER;
        }
    }
    /* The last digit stays, so that "000" reads "0". */
    while (z < n - 1 && s[z] == '0') {
        z++;
    }
    if (n - z > UINT64_DIGITS ||
        (n - z == UINT64_DIGITS &&
         memcmp(s + z, UINT64_MAX_TEXT, UINT64_DIGITS) > 0)) {
        return OUT_OF_RANGE;
    }
    /* In range, so no step overflows. */
    for (size_t i = z; i < n; i++) {
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    v->ptr = s + z;
    v->len = n - z;
    *num = x;
    return FINE;
}

/*
 * A volume: digits, optionally '.' and digits. Sets *v to its canonical
 * slice: no leading zeros before the point (but one "0"), no trailing zeros
 * after it, and no point when no digit is left after it.
 */
static enum problem
parse_decimal(const char *s, size_t n, struct feed_value *v)
{
    size_t point = 0; /* where the integer part ends */
    size_t z = 0;     /* leading zeros */
    size_t end = n;   /* where the significant fraction ends */

    while (point < n && is_digit(s[point])) {
        point++;
    }
    if (point == 0) {
        return NOT_A_NUMBER;
    }
    if (point < n) {
        if (s[point] != '.' || point + 1 == n) {
            return NOT_A_NUMBER;
        }
        for (size_t i = point + 1; i < n; i++) {
            if (!is_digit(s[i])) {
                return NOT_A_NUMBER;
            }
        }
    }
    while (z < point - 1 && s[z] == '0') {
        z++;
    }
    if (point - z > VOLUME_INT_DIGITS) {
        return TOO_MANY_INT_DIGITS;
    }
    if (point < n) {
        while (end > point + 1 && s[end - 1] == '0') {
            end--;
        }
        if (end - (point + 1) > VOLUME_FRAC_DIGITS) {
            return TOO_MANY_FRAC_DIGITS;
        }
        if (end == point + 1) {
            end = point;
        }
    }
    v->ptr = s + z;
    v->len = end - z;
    return FINE;
}

/* Parses field `which` of the schema from s[0..n) into r. */
static int
parse_field(int which, const char *s, size_t n, size_t line, struct row *r,
            char *err, size_t errlen)
{
    const char *name = schema_fields[which].name;
    uint64_t num = 0;
    enum problem p;

    if (n == 0) {
        return refuse(err, errlen, line, "%s is empty", name);
    }
    if (which == VOLUME) {
        p = parse_decimal(s, n, &r->v[which]);
    } else {
        p = parse_uint(s, n, &r->v[which], &num);
    }
    switch (p) {
    case FINE:
        break;
    case NOT_A_NUMBER:
        return refuse(err, errlen, line, "%s is not a number", name);
    case OUT_OF_RANGE:
        return refuse(err, errlen, line, "%s is out of range", name);
    case TOO_MANY_INT_DIGITS:
        return refuse(err, errlen, line,
                      "%s has more than 16 digits before the point", name);
    case TOO_MANY_FRAC_DIGITS:
        return refuse(err, errlen, line,
                      "%s has more than 4 digits after the point", name);
    }
    if (which == TICKET) {
        r->ticket = num;
    }
    return 0;
}

/*
 * Parses one line, s[0..n) without its line end, into r. The checks run in
 * the order the reasons are documented: length, NUL byte, field count, then
 * each field from left to right.
 */
static int
parse_line(const struct csv_conf *c, const char *s, size_t n, size_t line,
           struct row *r, char *err, size_t errlen)
{
    const char *end = s + n;
    size_t k;

    if (n == 0) {
        return refuse(err, errlen, line, "empty line");
    }
    if (n > MAX_LINE_BYTES) {
        return refuse(err, errlen, line, "line is longer than 256 bytes");
    }
    if (memchr(s, '\0', n) != NULL) {
        return refuse(err, errlen, line, "NUL byte");
    }
    k = count_items(s, n);
    if (k != NFIELDS) {
        return refuse(err, errlen, line, "expected 3 fields, got %zu", k);
    }
    for (int i = 0; i < NFIELDS; i++) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma != NULL ? comma : end;

        if (parse_field(c->column[i], s, (size_t)(stop - s), line, r, err,
                        errlen) == -1) {
            return -1;
        }
        if (comma != NULL) {
            s = comma + 1;
        }
    }
    r->line = (uint32_t)line;
    r->repeat = 0;
    return 0;
}

/* Makes room for one more row; -1 when out of memory. */
static int
grow(struct rows *rs)
{
    size_t cap = rs->cap * 2;
    struct row *row;

    if (rs->n < rs->cap) {
        return 0;
    }
    if (rs->row == rs->stack) {
        row = malloc(cap * sizeof *row);
        if (row != NULL) {
            memcpy(row, rs->stack, rs->n * sizeof *row);
        }
    } else {
        row = realloc(rs->row, cap * sizeof *row);
    }
    if (row == NULL) {
        return -1;
    }
    rs->row = row;
    rs->cap = cap;
    return 0;
}

static int
by_ticket_then_row(const void *a, const void *b)
{
    const struct key *x = a;
    const struct key *y = b;

    if (x->ticket != y->ticket) {
        return x->ticket < y->ticket ? -1 : 1;
    }
    return (x->row > y->row) - (x->row < y->row);
}

static int
same_value(const struct feed_value *a, const struct feed_value *b)
{
    return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

/*
 * Finds the tickets that occur more than once among rows[0..n). A repeat
 * with the same values (canonical text is equal when numbers are) is marked
 * so that only the first occurrence becomes a record. A repeat with other
 * values refuses the request: of all such, the one on the earliest line is
 * named, with the ticket's first line, so that the reason is the first bad
 * line a reader going down the request would meet.
 *
 * Sorting keeps this O(n log n): a request may hold 100,000 lines.
 * Returns 0 when no ticket conflicts, 1 with the reason in err when one
 * does, -1 when out of memory (err untouched).
 */
static int
find_repeats(struct row *rows, size_t n, char *err, size_t errlen)
{
    struct key stack[STACK_ROWS];
    struct key *keys = stack;
    size_t bad = SIZE_MAX;
    size_t first = 0;

    if (n < 2) {
        return 0;
    }
    if (n > STACK_ROWS) {
        keys = malloc(n * sizeof *keys);
        if (keys == NULL) {
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        keys[i].ticket = rows[i].ticket;
        keys[i].row = i;
    }
    qsort(keys, n, sizeof *keys, by_ticket_then_row);
    /* Each run of equal tickets starts with its first occurrence. */
    for (size_t i = 0, j; i < n; i = j) {
        const struct row *a = &rows[keys[i].row];

        for (j = i + 1; j < n && keys[j].ticket == keys[i].ticket; j++) {
            struct row *b = &rows[keys[j].row];

            if (same_value(&a->v[LOGIN], &b->v[LOGIN]) &&
                same_value(&a->v[VOLUME], &b->v[VOLUME])) {
                b->repeat = 1;
            } else if (keys[j].row < bad) {
                bad = keys[j].row;
                first = keys[i].row;
            }
        }
    }
    if (keys != stack) {
        free(keys);
    }
    if (bad == SIZE_MAX) {
        return 0;
    }
    refuse(err, errlen, rows[bad].line,
           "ticket %.*s repeats line %u with other values",
           (int)rows[bad].v[TICKET].len, rows[bad].v[TICKET].ptr,
           (unsigned)rows[first].line);
    return 1;
}

/*
 * Parses every line of the body into rs, then settles repeated tickets.
 * Returns 0, or -1 with the reason in err.
 */
static int
parse_rows(const struct csv_conf *c, const char *body, size_t len,
           struct rows *rs, char *err, size_t errlen)
{
    const char *p = body;
    const char *end = body + len;

    /* Each line before this one became a row: line is rs->n + 1. */
    for (size_t line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;

        if (nl != NULL && eol > p && eol[-1] == '\r') {
            eol--;
        }
        if (grow(rs) == -1) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (parse_line(c, p, (size_t)(eol - p), line, &rs->row[rs->n], err,
                       errlen) == -1) {
            /*
             * A conflicting repeat above this line is the first bad line.
             * Out of memory to look for one, this line's reason stands.
             */
            (void)find_repeats(rs->row, rs->n, err, errlen);
            return -1;
        }
        rs->n++;
        /* One final line end is allowed: a body ending in "\n" stops. */
        p = nl != NULL ? nl + 1 : end;
    }
    switch (find_repeats(rs->row, rs->n, err, errlen)) {
    case 0:
        return 0;
    case 1:
        return -1;
    default:
        snprintf(err, errlen, "out of memory");
        return -1;
    }
}

static int
csv_trade_parse(const struct feed_host *host, void *conf, const char *body,
                size_t len, struct feed_out *out, char *err, size_t errlen)
{
    const struct csv_conf *c = conf;
    struct rows rs;

    rs.row = rs.stack;
    rs.n = 0;
    rs.cap = STACK_ROWS;
    if (len == 0) {
        snprintf(err, errlen, "empty message");
        goto fail;
    }
    /*
     * Records number their lines with a uint32_t; a shorter body cannot
     * have more lines than that. (Sources cap messages far below.)
     */
    if ((uint64_t)len > UINT32_MAX) {
        snprintf(err, errlen, "message is longer than %lu bytes",
                 (unsigned long)UINT32_MAX);
        goto fail;
    }
    if (parse_rows(c, body, len, &rs, err, errlen) == -1) {
        goto fail;
    }
    /* Only now: a request is refused whole, so nothing leaves before. */
    for (size_t i = 0; i < rs.n; i++) {
        const struct row *r = &rs.row[i];

        if (!r->repeat && host->emit(out, r->line, r->v) == -1) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    if (rs.row != rs.stack) {
        free(rs.row);
    }
    return 0;

fail:
    if (rs.row != rs.stack) {
        free(rs.row);
    }
    return -1;
}

/* The schema index of the field named s[0..n), or -1. */
static int
field_index(const char *s, size_t n)
{
    for (int i = 0; i < NFIELDS; i++) {
        if (strlen(schema_fields[i].name) == n &&
            memcmp(schema_fields[i].name, s, n) == 0) {
            return i;
        }
    }
    return -1;
}

/*
 * Reads the `fields` list ("login, ticket,volume") into column[]: each of
 * ticket, login and volume exactly once, spaces allowed after the commas.
 * Reports the first mistake through conf_error and returns -1.
 */
static int
read_columns(const struct feed_host *host, const char *list,
             int column[NFIELDS])
{
    int seen[NFIELDS] = {0};
    size_t k = count_items(list, strlen(list));
    const char *p = list;

    if (k > NFIELDS) {
        host->conf_error(host, "fields", "expected 3 names, got %zu", k);
        return -1;
    }
    for (size_t i = 0; i < k; i++) {
        size_t n;
        int which;

        if (i > 0) {
            p += strspn(p, " ");
        }
        n = strcspn(p, ",");
        if (n == 0) {
            host->conf_error(host, "fields", "empty field name");
            return -1;
        }
        which = field_index(p, n);
        if (which == -1) {
            host->conf_error(host, "fields",
                             "unknown field \"%.*s\" (expected ticket, "
                             "login or volume)",
                             (int)n, p);
            return -1;
        }
        if (seen[which]) {
            host->conf_error(host, "fields", "%s is named twice",
                             schema_fields[which].name);
            return -1;
        }
        seen[which] = 1;
        column[i] = which;
        p += n + (p[n] == ',');
    }
    for (int i = 0; i < NFIELDS; i++) {
        if (!seen[i]) {
            host->conf_error(host, "fields", "%s is missing",
                             schema_fields[i].name);
            return -1;
        }
    }
    return 0;
}

static void *
csv_trade_configure(const struct feed_host *host, char *err, size_t errlen)
{
    struct csv_conf *c = NULL;
    const char *fields = NULL;

    if (host->conf_string(host, "fields", "ticket,login,volume", &fields) ==
        -1) {
        goto fail;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    c->host = host;
    if (read_columns(host, fields, c->column) == -1) {
        goto fail;
    }
    return c;

fail:
    free(c);
    return NULL;
}

static void
csv_trade_unconfigure(const struct feed_host *host, void *conf)
{
    (void)host;

    free(conf);
}

static const struct feed_schema *
csv_trade_schema(const struct feed_host *host, void *conf)
{
    (void)host;
    (void)conf;
    return &schema;
}

/* The one exported symbol: the loader finds the parser by it. */
FEED_EXPORT const struct feed_plugin feed_plugin = {
    FEED_PLUGIN_HEADER,
    .kind = FEED_KIND_PARSER,
    .name = "csv_trade",
    .version = "1.0.0",
    .summary = "parses trades, one \"ticket,login,volume\" line each",
    .configure = csv_trade_configure,
    .unconfigure = csv_trade_unconfigure,
    .schema = csv_trade_schema,
    .parse = csv_trade_parse,
};
