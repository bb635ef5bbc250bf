/*
 * test_mysql_fee.c - the mysql_fee sink against a real, private MariaDB.
 *
 * Runs the plugin in-process through the test host (tests/unit/testhost.c)
 * and checks what lands in the table through a second connection, as root
 * over the server's socket. The plugin's sources are built into this
 * program, so its error classifier and its instance (hence its connection)
 * can be looked at too.
 *
 * Run by mysql_fee.sh, which starts the server (tests/lib/mariadb.sh) and
 * exports MARIADB_SOCKET, MARIADB_PORT and FEE_SQL (conf/fee.sql), and
 * serves MARIADB_CTL_IN/MARIADB_CTL_OUT: two fifos over which this program
 * asks for `kill9` and `restart` of the server, so that the server stays
 * the script's child whatever happens here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../plugins/mysql_fee/mysql_fee.h"
#include "testhost.h"

static const struct feed_field trade_fields[] = {
    {"ticket", FEED_TYPE_UINT},
    {"login", FEED_TYPE_UINT},
    {"volume", FEED_TYPE_DECIMAL},
};
static const struct feed_schema trade_schema = {3, trade_fields};

static MYSQL *admin;        /* root over the socket: set-up and checks */
static char port_text[16];  /* MARIADB_PORT */
static const char *sock;    /* MARIADB_SOCKET */
static char *fee_sql;       /* conf/fee.sql, read once */
static int ctl_in = -1;     /* commands to mysql_fee.sh */
static int ctl_out = -1;    /* its answers */
static MYSQL *admin2;       /* root on the second server (MARIADB2_SOCKET) */
static char port2_text[16]; /* MARIADB2_PORT; "" without a second server */

/* ---- the admin connection ---------------------------------------------- */

static void
admin_connect(void)
{
    if (admin != NULL) {
        mysql_close(admin);
    }
    admin = mysql_init(NULL);
    assert_non_null(admin);
    if (mysql_real_connect(admin, "localhost", "root", "", "example", 0, sock,
                           CLIENT_MULTI_STATEMENTS) == NULL) {
        fail_msg("cannot connect as root to %s: %s", sock, mysql_error(admin));
    }
}

/* Runs SQL (several statements allowed) as root; fails the test on error. */
static void
sql(const char *fmt, ...)
{
    char text[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (mysql_query(admin, text) != 0) {
        fail_msg("%s: %s", text, mysql_error(admin));
    }
    do {
        mysql_free_result(mysql_store_result(admin));
    } while (mysql_next_result(admin) == 0);
}

/* The first column of the first row of a query, as text in buf. */
static const char *
sql_text(char *buf, size_t len, const char *fmt, ...)
{
    char text[1024];
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (mysql_query(admin, text) != 0 ||
        (res = mysql_store_result(admin)) == NULL) {
        fail_msg("%s: %s", text, mysql_error(admin));
    }
    row = mysql_fetch_row(res);
    snprintf(buf, len, "%s", row != NULL && row[0] != NULL ? row[0] : "");
    mysql_free_result(res);
    return buf;
}

static unsigned long long
sql_number(const char *query)
{
    char buf[64];

    return strtoull(sql_text(buf, sizeof buf, "%s", query), NULL, 10);
}

/* A server-wide statement counter (nothing else uses this server). */
static unsigned long long
com_count(const char *name)
{
    char buf[64];

    sql_text(buf, sizeof buf,
             "SELECT variable_value FROM information_schema.global_status "
             "WHERE variable_name = '%s'",
             name);
    return strtoull(buf, NULL, 10);
}

static unsigned long long
rows_in_fee(void)
{
    return sql_number("SELECT COUNT(*) FROM fee");
}

/* Every test starts with an empty table made from conf/fee.sql. */
static int
fresh_table(void **state)
{
    (void)state;
    sql("DROP TABLE IF EXISTS fee");
    sql("%s", fee_sql);
    return 0;
}

/* ---- records ----------------------------------------------------------- */

/* A batch and the storage of its values. */
struct tbatch {
    struct feed_batch batch;
    struct feed_record *records;
    struct feed_value *values; /* 3 per record, in trade_schema order */
    char *text;
    size_t used;
    size_t max;
};

static void
tb_init(struct tbatch *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->records = calloc(max, sizeof *b->records);
    b->values = calloc(max * 3, sizeof *b->values);
    b->text = malloc(max * 3 * 32);
    assert_non_null(b->records);
    assert_non_null(b->values);
    assert_non_null(b->text);
    b->max = max;
    b->batch.records = b->records;
}

static void
tb_free(struct tbatch *b)
{
    free(b->records);
    free(b->values);
    free(b->text);
}

/* A copy of s; NUL-terminated too, so that the test may read it as such. */
static struct feed_value
tb_text(struct tbatch *b, const char *s)
{
    size_t len = strlen(s);
    struct feed_value v = {b->text + b->used, len};

    assert_true(len < 32);
    memcpy(b->text + b->used, s, len + 1);
    b->used += len + 1;
    return v;
}

/* Appends a record with the next line number. */
static void
tb_add(struct tbatch *b, const char *ticket, const char *login,
       const char *volume)
{
    size_t i = b->batch.count;

    assert_true(i < b->max);
    b->values[i * 3] = tb_text(b, ticket);
    b->values[i * 3 + 1] = tb_text(b, login);
    b->values[i * 3 + 2] = tb_text(b, volume);
    b->records[i].line = (uint32_t)(i + 1);
    b->records[i].values = &b->values[i * 3];
    b->batch.count++;
}

/* A volume in ten-thousandths, as canonical text ("12.5", "3", "0"). */
static const char *
volume_text(char *buf, size_t len, unsigned long long units)
{
    int n = snprintf(buf, len, "%llu.%04llu", units / 10000, units % 10000);

    while (buf[n - 1] == '0') {
        buf[--n] = '\0';
    }
    if (buf[n - 1] == '.') {
        buf[n - 1] = '\0';
    }
    return buf;
}

/* "12.5000" in ten-thousandths; only for values that fit. */
static unsigned long long
volume_units(const char *text)
{
    const char *point = strchr(text, '.');
    unsigned long long units = strtoull(text, NULL, 10) * 10000;
    unsigned long long scale = 1000;

    for (const char *p = point != NULL ? point + 1 : ""; *p != '\0'; p++) {
        units += (unsigned long long)(*p - '0') * scale;
        scale /= 10;
    }
    return units;
}

static unsigned long long
trade_volume(size_t i)
{
    return (unsigned long long)i * 123457 % 1000000000;
}

/* n records, tickets first..first+n-1, with varied logins and volumes. */
static void
tb_trades(struct tbatch *b, unsigned long long first, size_t n)
{
    char t[32];
    char l[32];
    char v[32];

    for (size_t i = 0; i < n; i++) {
        snprintf(t, sizeof t, "%llu", first + i);
        snprintf(l, sizeof l, "%zu", 1000 + i % 37);
        tb_add(b, t, l, volume_text(v, sizeof v, trade_volume(i)));
    }
}

/*
 * The table holds exactly the records of b (distinct, ascending tickets),
 * compared as numbers, each with `status`.
 */
static void
expect_rows(const struct tbatch *b, const char *status)
{
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    size_t i = 0;

    if (mysql_query(admin, "SELECT ticket, login, volume, status FROM fee "
                           "ORDER BY ticket") != 0 ||
        (res = mysql_store_result(admin)) == NULL) {
        fail_msg("select: %s", mysql_error(admin));
    }
    assert_int_equal(mysql_num_rows(res), b->batch.count);
    while ((row = mysql_fetch_row(res)) != NULL) {
        const struct feed_value *v = b->records[i].values;

        assert_int_equal(strtoull(row[0], NULL, 10),
                         strtoull(v[0].ptr, NULL, 10));
        assert_int_equal(strtoull(row[1], NULL, 10),
                         strtoull(v[1].ptr, NULL, 10));
        assert_int_equal(volume_units(row[2]), volume_units(v[2].ptr));
        assert_string_equal(row[3], status);
        i++;
    }
    mysql_free_result(res);
}

/* ---- the sink ---------------------------------------------------------- */

/* One key of the [sink] section; a NULL value leaves the key out. */
struct kv {
    const char *key;
    const char *value;
};

struct sink {
    struct testhost th;
    void *conf;
    void *state;
};

/*
 * Configures the plugin with kv (ending with a NULL key) over the defaults
 * (127.0.0.1, the server's port, www, qwer123, example). Returns the
 * configuration (NULL on errors).
 */
static void *
sink_configure_schema(struct sink *k, const struct feed_schema *schema,
                      const struct kv *kv)
{
    const struct kv defaults[] = {
        {"host", "127.0.0.1"},   {"port", port_text},     {"user", "www"},
        {"password", "qwer123"}, {"database", "example"}, {NULL, NULL},
    };
    char err[FEED_ERR_MAX] = "";

    memset(k, 0, sizeof *k);
    testhost_init(&k->th, "sink");
    k->th.schema = schema;
    for (size_t i = 0; kv[i].key != NULL; i++) {
        if (kv[i].value != NULL) {
            testhost_set(&k->th, kv[i].key, kv[i].value);
        }
    }
    for (size_t d = 0; defaults[d].key != NULL; d++) {
        int given = 0;

        for (size_t i = 0; kv[i].key != NULL; i++) {
            given |= strcmp(kv[i].key, defaults[d].key) == 0;
        }
        if (!given) {
            testhost_set(&k->th, defaults[d].key, defaults[d].value);
        }
    }
    k->conf = feed_plugin.configure(&k->th.host, err, sizeof err);
    assert_string_equal(err, "");
    return k->conf;
}

static void *
sink_configure(struct sink *k, const struct kv *kv)
{
    return sink_configure_schema(k, &trade_schema, kv);
}

/* Configures and opens; the test fails unless both succeed. */
static void
sink_open(struct sink *k, const struct kv *kv)
{
    char err[FEED_ERR_MAX] = "";

    if (sink_configure(k, kv) == NULL) {
        fail_msg("configure: %s", k->th.errors);
    }
    if (feed_plugin.open(&k->th.host, k->conf, &k->state, err, sizeof err) !=
        FEED_OK) {
        fail_msg("open: %s", err);
    }
}

/* What open() says, with its reason in err. */
static enum feed_result
sink_try_open(struct sink *k, const struct kv *kv, char *err)
{
    err[0] = '\0';
    if (sink_configure(k, kv) == NULL) {
        fail_msg("configure: %s", k->th.errors);
    }
    return feed_plugin.open(&k->th.host, k->conf, &k->state, err, FEED_ERR_MAX);
}

static void
sink_reopen(struct sink *k)
{
    char err[FEED_ERR_MAX] = "";

    feed_plugin.close(&k->th.host, k->state);
    k->state = NULL;
    if (feed_plugin.open(&k->th.host, k->conf, &k->state, err, sizeof err) !=
        FEED_OK) {
        fail_msg("open: %s", err);
    }
}

static void
sink_free(struct sink *k)
{
    feed_plugin.close(&k->th.host, k->state);
    feed_plugin.unconfigure(&k->th.host, k->conf);
    testhost_fini(&k->th);
}

static enum feed_result
sink_write(struct sink *k, const struct tbatch *b, size_t *bad, char *err)
{
    err[0] = '\0';
    *bad = (size_t)-1;
    return feed_plugin.write(&k->th.host, k->state, &b->batch, bad, err,
                             FEED_ERR_MAX);
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct kv no_keys[] = {{NULL, NULL}};

/* ---- configuration ----------------------------------------------------- */

static void
configure_reads_every_key_and_opens_no_connection(void **state)
{
    static const struct kv kv[] = {{"port", "1"},
                                   {"socket", ""},
                                   {"table", "fee$2_x"},
                                   {"mark", "insert"},
                                   {"connect_timeout", "3"},
                                   {"lock_wait_timeout", "4"},
                                   {NULL, NULL}};
    unsigned long long before = com_count("Connections");
    char unused[256];
    struct sink k;
    struct fconf *c;

    (void)state;
    c = sink_configure(&k, kv);
    assert_non_null(c);
    assert_string_equal(k.th.errors, "");
    assert_string_equal(testhost_unused(&k.th, unused, sizeof unused), "");
    assert_int_equal(c->nhosts, 1);
    assert_string_equal(c->hosts[0].where, "127.0.0.1:1");
    assert_null(c->socket);
    assert_int_equal(c->mark, MARK_INSERT);
    assert_int_equal(c->connect_timeout_s, 3);
    assert_int_equal(c->lock_wait_timeout_s, 4);
    assert_int_equal(c->ticket, 0);
    assert_int_equal(c->login, 1);
    assert_int_equal(c->volume, 2);
    /* configure() tried no connection */
    assert_int_equal(com_count("Connections"), before);
    assert_string_equal(k.th.logs, "");
    sink_free(&k);
}

static void
configure_defaults_to_the_fee_table_and_mark_update(void **state)
{
    static const struct kv kv[] = {
        {"host", NULL}, {"port", NULL}, {"password", NULL}, {NULL, NULL}};
    struct sink k;
    struct fconf *c;

    (void)state;
    c = sink_configure(&k, kv);
    assert_non_null(c);
    assert_int_equal(c->nhosts, 1);
    assert_string_equal(c->hosts[0].where, "127.0.0.1:3306");
    assert_string_equal(c->table, "fee");
    assert_string_equal(c->trust.password, "");
    assert_int_equal(c->mark, MARK_UPDATE);
    assert_int_equal(c->connect_timeout_s, 5);
    assert_int_equal(c->lock_wait_timeout_s, 10);
    sink_free(&k);
}

static void
configure_reports_a_missing_user(void **state)
{
    static const struct kv kv[] = {{"user", NULL}, {NULL, NULL}};
    struct sink k;

    (void)state;
    assert_null(sink_configure(&k, kv));
    assert_string_equal(k.th.errors, "[sink] missing key \"user\"\n");
    sink_free(&k);
}

static void
configure_reports_a_missing_database(void **state)
{
    static const struct kv kv[] = {{"database", NULL}, {NULL, NULL}};
    struct sink k;

    (void)state;
    assert_null(sink_configure(&k, kv));
    assert_string_equal(k.th.errors, "[sink] missing key \"database\"\n");
    sink_free(&k);
}

static void
configure_refuses_empty_host_user_and_database(void **state)
{
    static const struct kv kv[] = {
        {"host", ""}, {"user", ""}, {"database", ""}, {NULL, NULL}};
    struct sink k;

    (void)state;
    assert_null(sink_configure(&k, kv));
    assert_string_equal(k.th.errors, "[sink] host: must not be empty\n"
                                     "[sink] user: must not be empty\n"
                                     "[sink] database: must not be empty\n");
    sink_free(&k);
}

static void
configure_reads_a_host_list_with_port_as_the_default(void **state)
{
    static const struct kv kv[] = {
        {"host", "db1:3307, db2,[::1]:3308"}, {"port", "3310"}, {NULL, NULL}};
    struct sink k;
    struct fconf *c;

    (void)state;
    c = sink_configure(&k, kv);
    assert_non_null(c);
    assert_int_equal(c->nhosts, 3);
    assert_string_equal(c->hosts[0].where, "db1:3307");
    assert_string_equal(c->hosts[1].where, "db2:3310");
    assert_string_equal(c->hosts[2].name, "::1");
    assert_int_equal(c->hosts[2].port, 3308);
    assert_string_equal(c->hosts[2].where, "[::1]:3308");
    sink_free(&k);
}

static void
configure_refuses_a_bad_host_list_naming_the_item(void **state)
{
    static const struct {
        const char *list;
        const char *err;
    } cases[] = {
        {"db1,,db2", "[sink] host: item 2 is empty\n"},
        {"db1, db2:x", "[sink] host: \"db2:x\": port \"x\" is not a number\n"},
        {"db1:0", "[sink] host: \"db1:0\": port 0 is out of range 1-65535\n"},
        {"[::1:3306", "[sink] host: \"[::1:3306\": '[' is not closed\n"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct kv kv[] = {{"host", cases[i].list}, {NULL, NULL}};
        struct sink k;

        assert_null(sink_configure(&k, kv));
        assert_string_equal(k.th.errors, cases[i].err);
        sink_free(&k);
    }
}

static void
a_socket_is_the_one_place_whatever_the_host_list(void **state)
{
    static const struct kv kv[] = {{"host", "db1, db2"},
                                   {"socket", "/run/mysqld/mysqld.sock"},
                                   {NULL, NULL}};
    struct sink k;
    struct fconf *c;

    (void)state;
    c = sink_configure(&k, kv);
    assert_non_null(c);
    assert_int_equal(c->nhosts, 1);
    assert_string_equal(c->hosts[0].where, "/run/mysqld/mysqld.sock");
    sink_free(&k);
}

static void
configure_refuses_a_table_name_with_other_characters(void **state)
{
    static const char *const bad_names[] = {
        "fee-x",
        "fee`; DROP TABLE fee; --",
        "a.b",
        "",
        "f e",
        "t2345678901234567890123456789012345678901234567890123456789012345",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
        const struct kv kv[] = {{"table", bad_names[i]}, {NULL, NULL}};
        char want[256];
        struct sink k;

        snprintf(
            want, sizeof want,
            "[sink] table: \"%s\" is not a table name: at most 64 letters, digits, '_' and '$'\n",
            bad_names[i]);
        assert_null(sink_configure(&k, kv));
        assert_string_equal(k.th.errors, want);
        sink_free(&k);
    }
}

static void
configure_refuses_an_unknown_mark(void **state)
{
    static const struct kv kv[] = {{"mark", "later"}, {NULL, NULL}};
    struct sink k;

    (void)state;
    assert_null(sink_configure(&k, kv));
    assert_string_equal(k.th.errors, "[sink] mark: unknown value \"later\"\n");
    sink_free(&k);
}

static void
configure_refuses_ports_and_timeouts_out_of_range(void **state)
{
    static const struct kv kv[] = {{"port", "65536"},
                                   {"connect_timeout", "0"},
                                   {"lock_wait_timeout", "3601"},
                                   {NULL, NULL}};
    struct sink k;

    (void)state;
    assert_null(sink_configure(&k, kv));
    assert_string_equal(
        k.th.errors,
        "[sink] port: 65536 is out of range 1..65535\n"
        "[sink] connect_timeout: 0 is out of range 1..3600\n"
        "[sink] lock_wait_timeout: 3601 is out of range 1..3600\n");
    sink_free(&k);
}

static void
configure_refuses_a_socket_path_too_long_for_a_socket(void **state)
{
    char path[200];
    const struct kv kv[] = {{"socket", path}, {NULL, NULL}};
    char want[300];
    struct sink k;

    (void)state;
    memset(path, 'x', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    snprintf(want, sizeof want,
             "[sink] socket: \"%s\" is too long for a unix socket path\n",
             path);
    assert_null(sink_configure(&k, kv));
    assert_string_equal(k.th.errors, want);
    sink_free(&k);
}

static void
configure_reports_a_parser_without_a_volume(void **state)
{
    static const struct feed_field fields[] = {
        {"ticket", FEED_TYPE_UINT},
        {"login", FEED_TYPE_UINT},
        {"volume", FEED_TYPE_TEXT},
    };
    static const struct feed_schema schema = {3, fields};
    struct sink k;

    (void)state;
    assert_null(sink_configure_schema(&k, &schema, no_keys));
    assert_string_equal(k.th.errors,
                        "[sink] field volume has the wrong type\n");
    sink_free(&k);
}

static void
configure_finds_the_fields_by_name_in_any_order(void **state)
{
    static const struct feed_field fields[] = {
        {"volume", FEED_TYPE_DECIMAL},
        {"ticket", FEED_TYPE_UINT},
        {"login", FEED_TYPE_UINT},
    };
    static const struct feed_schema schema = {3, fields};
    struct feed_value values[3] = {{"2.5", 3}, {"41", 2}, {"7", 1}};
    struct feed_record record = {1, values};
    struct feed_batch batch = {1, &record, 0, NULL};
    char err[FEED_ERR_MAX] = "";
    char buf[64];
    size_t bad = 0;
    struct sink k;

    (void)state;
    assert_non_null(sink_configure_schema(&k, &schema, no_keys));
    assert_int_equal(
        feed_plugin.open(&k.th.host, k.conf, &k.state, err, sizeof err),
        FEED_OK);
    assert_int_equal(
        feed_plugin.write(&k.th.host, k.state, &batch, &bad, err, sizeof err),
        FEED_OK);
    assert_string_equal(
        sql_text(buf, sizeof buf,
                 "SELECT CONCAT_WS(',', login, volume, status) FROM fee "
                 "WHERE ticket = 41"),
        "7,2.5000,Y");
    sink_free(&k);
}

static void
close_and_unconfigure_take_null(void **state)
{
    (void)state;
    feed_plugin.close(NULL, NULL);
    feed_plugin.unconfigure(NULL, NULL);
}

static void
the_descriptor_names_a_sink(void **state)
{
    (void)state;
    assert_int_equal(feed_plugin.abi, FEED_ABI_MAJOR);
    assert_int_equal(feed_plugin.kind, FEED_KIND_SINK);
    assert_string_equal(feed_plugin.name, "mysql_fee");
    assert_string_equal(feed_plugin.version, "1.0.0");
    assert_non_null(feed_plugin.summary);
}

/* ---- error classes ----------------------------------------------------- */

static void
the_classifier_maps_each_listed_error(void **state)
{
    static const struct {
        unsigned int code;
        enum feed_result write;
        enum feed_result open;
    } cases[] = {
        /* connection: every client error, e.g. */
        {2002, FEED_RETRY, FEED_RETRY}, /* cannot connect (socket) */
        {2003, FEED_RETRY, FEED_RETRY}, /* cannot connect (TCP) */
        {2006, FEED_RETRY, FEED_RETRY}, /* server gone away */
        {2013, FEED_RETRY, FEED_RETRY}, /* lost connection */
        {2000, FEED_RETRY, FEED_RETRY},
        {2999, FEED_RETRY, FEED_RETRY},
        {2005, FEED_RETRY, FEED_FAIL}, /* unknown host */
        /* transient */
        {1205, FEED_RETRY, FEED_RETRY},
        {1213, FEED_RETRY, FEED_RETRY},
        {1290, FEED_RETRY, FEED_RETRY},
        {1792, FEED_RETRY, FEED_RETRY},
        {1836, FEED_RETRY, FEED_RETRY},
        {1040, FEED_RETRY, FEED_RETRY},
        {1203, FEED_RETRY, FEED_RETRY},
        {1053, FEED_RETRY, FEED_RETRY},
        {1317, FEED_RETRY, FEED_RETRY},
        {1927, FEED_RETRY, FEED_RETRY},
        {1021, FEED_RETRY, FEED_RETRY},
        {1041, FEED_RETRY, FEED_RETRY},
        {1114, FEED_RETRY, FEED_RETRY},
        {1030, FEED_RETRY, FEED_RETRY},
        /* an operator must act */
        {1044, FEED_RETRY, FEED_FAIL},
        {1045, FEED_RETRY, FEED_FAIL},
        {1142, FEED_RETRY, FEED_FAIL},
        {1143, FEED_RETRY, FEED_FAIL},
        {1049, FEED_RETRY, FEED_FAIL},
        {1146, FEED_RETRY, FEED_FAIL},
        {1054, FEED_RETRY, FEED_FAIL},
        /* data */
        {1264, FEED_REJECT, FEED_FAIL},
        {1690, FEED_REJECT, FEED_FAIL},
        {1406, FEED_REJECT, FEED_FAIL},
        {1366, FEED_REJECT, FEED_FAIL},
        {1292, FEED_REJECT, FEED_FAIL},
        {1265, FEED_REJECT, FEED_FAIL},
        {1048, FEED_REJECT, FEED_FAIL},
        {4025, FEED_REJECT, FEED_FAIL},
        {1452, FEED_REJECT, FEED_FAIL},
        {1216, FEED_REJECT, FEED_FAIL},
        {1062, FEED_REJECT, FEED_FAIL},
        /* unknown: never lose data */
        {1064, FEED_RETRY, FEED_RETRY},
        {9999, FEED_RETRY, FEED_RETRY},
        {0, FEED_RETRY, FEED_RETRY},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        enum feed_result w = errors_write_outcome(cases[i].code);
        enum feed_result o = errors_open_outcome(cases[i].code);

        if (w != cases[i].write || o != cases[i].open) {
            fail_msg("error %u: write %d open %d, want %d %d", cases[i].code, w,
                     o, cases[i].write, cases[i].open);
        }
    }
}

/* ---- open -------------------------------------------------------------- */

static void
open_logs_the_server_and_never_the_password(void **state)
{
    struct sink k;

    (void)state;
    sink_open(&k, no_keys);
    assert_non_null(strstr(k.th.logs, "connected to 127.0.0.1:"));
    assert_non_null(strstr(k.th.logs, " version=10."));
    assert_non_null(strstr(k.th.logs, " thread="));
    assert_null(strstr(k.th.logs, "qwer123"));
    sink_free(&k);
}

static void
the_session_is_strict_read_committed_without_autocommit(void **state)
{
    static const struct kv kv[] = {{"lock_wait_timeout", "7"}, {NULL, NULL}};
    struct sink k;
    struct fsink *s;
    MYSQL_RES *res;
    MYSQL_ROW row;

    (void)state;
    sink_open(&k, kv);
    s = k.state;
    assert_int_equal(
        mysql_query(s->db,
                    "SELECT @@tx_isolation, @@sql_mode, @@autocommit, "
                    "@@innodb_lock_wait_timeout, @@character_set_client"),
        0);
    res = mysql_store_result(s->db);
    assert_non_null(res);
    row = mysql_fetch_row(res);
    assert_string_equal(row[0], "READ-COMMITTED");
    assert_string_equal(row[1], SESSION_SQL_MODE);
    assert_string_equal(row[2], "0");
    assert_string_equal(row[3], "7");
    assert_string_equal(row[4], "utf8mb4");
    mysql_free_result(res);
    mysql_rollback(s->db);
    sink_free(&k);
}

static void
a_wrong_password_fails_naming_the_user_but_not_the_password(void **state)
{
    static const struct kv kv[] = {{"password", "S3cret-wrong"}, {NULL, NULL}};
    char err[FEED_ERR_MAX];
    char want[FEED_ERR_MAX];
    struct sink k;

    (void)state;
    assert_int_equal(sink_try_open(&k, kv, err), FEED_FAIL);
    snprintf(want, sizeof want,
             "cannot connect to 127.0.0.1:%s: Access denied for user "
             "'www'@'127.0.0.1' (using password: YES)",
             port_text);
    assert_string_equal(err, want);
    assert_null(k.state);
    assert_null(strstr(k.th.logs, "S3cret-wrong"));
    sink_free(&k);
}

static void
an_unknown_database_fails(void **state)
{
    static const struct kv kv[] = {{"database", "nosuch"}, {NULL, NULL}};
    char err[FEED_ERR_MAX];
    char want[FEED_ERR_MAX];
    struct sink k;

    (void)state;
    /* www may not even see it: access denied to the database. */
    assert_int_equal(sink_try_open(&k, kv, err), FEED_FAIL);
    snprintf(want, sizeof want,
             "cannot connect to 127.0.0.1:%s: Access denied for user "
             "'www'@'127.0.0.1' to database 'nosuch'",
             port_text);
    assert_string_equal(err, want);
    sink_free(&k);
}

static void
an_unknown_database_fails_for_a_user_who_may_see_it(void **state)
{
    const struct kv kv[] = {{"socket", sock},
                            {"user", "root"},
                            {"password", NULL},
                            {"database", "nosuch"},
                            {NULL, NULL}};
    char err[FEED_ERR_MAX];
    char want[FEED_ERR_MAX];
    struct sink k;

    (void)state;
    assert_int_equal(sink_try_open(&k, kv, err), FEED_FAIL);
    snprintf(want, sizeof want,
             "cannot connect to %s: Unknown database 'nosuch'", sock);
    assert_string_equal(err, want);
    sink_free(&k);
}

static void
a_missing_table_fails(void **state)
{
    static const struct kv kv[] = {{"table", "nosuch"}, {NULL, NULL}};
    char err[FEED_ERR_MAX];
    struct sink k;

    (void)state;
    assert_int_equal(sink_try_open(&k, kv, err), FEED_FAIL);
    assert_string_equal(
        err, "table example.nosuch: Table 'example.nosuch' doesn't exist");
    sink_free(&k);
}

static void
a_missing_column_fails(void **state)
{
    static const struct kv kv[] = {{"table", "fee_old"}, {NULL, NULL}};
    char err[FEED_ERR_MAX];
    struct sink k;

    (void)state;
    sql("CREATE TABLE fee_old (ticket BIGINT UNSIGNED PRIMARY KEY, "
        "login BIGINT UNSIGNED, volume DECIMAL(20,4))");
    assert_int_equal(sink_try_open(&k, kv, err), FEED_FAIL);
    /* The server's wording after "in" varies with its version. */
    assert_memory_equal(
        err, "table example.fee_old: Unknown column 'status' in ",
        strlen("table example.fee_old: Unknown column 'status' in "));
    sink_free(&k);
    sql("DROP TABLE fee_old");
}

/* A loopback port nobody listens on: bound, then released. */
static int
unused_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_not_equal(fd, -1);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void
a_port_with_no_server_is_retried(void **state)
{
    char port[16];
    const struct kv kv[] = {{"port", port}, {NULL, NULL}};
    char err[FEED_ERR_MAX];
    char want[64];
    struct sink k;

    (void)state;
    snprintf(port, sizeof port, "%d", unused_port());
    snprintf(want, sizeof want, "cannot connect to 127.0.0.1:%s: ", port);
    assert_int_equal(sink_try_open(&k, kv, err), FEED_RETRY);
    assert_memory_equal(err, want, strlen(want));
    assert_null(k.state);
    sink_free(&k);
}

static void
a_socket_with_no_server_is_retried(void **state)
{
    static const struct kv kv[] = {{"socket", "/nonexistent/mysqld.sock"},
                                   {NULL, NULL}};
    char err[FEED_ERR_MAX];
    struct sink k;

    (void)state;
    assert_int_equal(sink_try_open(&k, kv, err), FEED_RETRY);
    assert_memory_equal(err, "cannot connect to /nonexistent/mysqld.sock: ",
                        strlen("cannot connect to /nonexistent/mysqld.sock: "));
    sink_free(&k);
}

static void
a_batch_lands_over_the_socket(void **state)
{
    const struct kv kv[] = {
        {"socket", sock}, {"host", "192.0.2.1"}, {NULL, NULL}};
    char err[FEED_ERR_MAX];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    sink_open(&k, kv);
    assert_non_null(strstr(k.th.logs, sock));
    tb_init(&b, 10);
    tb_trades(&b, 1, 10);
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    expect_rows(&b, "Y");
    tb_free(&b);
    sink_free(&k);
}

/* ---- writing ----------------------------------------------------------- */

static void
a_batch_of_1000_lands_marked_y_with_exact_values(void **state)
{
    unsigned long long updates = com_count("Com_update");
    char err[FEED_ERR_MAX];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    sink_open(&k, no_keys);
    tb_init(&b, 1000);
    tb_trades(&b, 18446744073709550000ULL, 1000);
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    assert_string_equal(err, "");
    assert_int_equal(bad, (size_t)-1);
    expect_rows(&b, "Y");
    /* mark = update: inserted 'N', then one UPDATE per chunk */
    assert_int_equal(com_count("Com_update") - updates, 1);
    assert_null(strstr(k.th.logs, "18446744073709550000"));
    tb_free(&b);
    sink_free(&k);
}

static void
mark_insert_lands_y_without_an_update(void **state)
{
    static const struct kv kv[] = {{"mark", "insert"}, {NULL, NULL}};
    unsigned long long updates = com_count("Com_update");
    char err[FEED_ERR_MAX];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    sink_open(&k, kv);
    tb_init(&b, 1000);
    tb_trades(&b, 1, 1000);
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    expect_rows(&b, "Y");
    assert_int_equal(com_count("Com_update"), updates);
    tb_free(&b);
    sink_free(&k);
}

static void
the_extreme_values_land_exactly(void **state)
{
    char err[FEED_ERR_MAX];
    char buf[128];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    sink_open(&k, no_keys);
    tb_init(&b, 3);
    tb_add(&b, "18446744073709551615", "18446744073709551615",
           "9999999999999999.9999");
    tb_add(&b, "0", "0", "0");
    tb_add(&b, "5", "0007", "00.0001");
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    assert_string_equal(
        sql_text(buf, sizeof buf,
                 "SELECT GROUP_CONCAT(ticket, ' ', login, ' ', volume, ' ', "
                 "status ORDER BY ticket SEPARATOR ';') FROM fee"),
        "0 0 0.0000 Y;5 7 0.0001 Y;"
        "18446744073709551615 18446744073709551615 9999999999999999.9999 Y");
    tb_free(&b);
    sink_free(&k);
}

static void
an_identical_replay_is_ok_and_keeps_one_row_each(void **state)
{
    char err[FEED_ERR_MAX];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    sink_open(&k, no_keys);
    tb_init(&b, 500);
    tb_trades(&b, 1000, 500);
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    assert_string_equal(err, "");
    expect_rows(&b, "Y");
    /* and from another instance (another worker) */
    sink_reopen(&k);
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    expect_rows(&b, "Y");
    tb_free(&b);
    sink_free(&k);
}

static void
a_replay_equal_as_numbers_is_ok(void **state)
{
    char err[FEED_ERR_MAX];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    sql("INSERT INTO fee VALUES (5, 7, 1.5, 'Y'), (6, 8, 2, 'Y'), "
        "(7, 0, 0, 'N')");
    sink_open(&k, no_keys);
    tb_init(&b, 3);
    tb_add(&b, "5", "7", "1.5");
    tb_add(&b, "6", "8", "2");
    tb_add(&b, "7", "0", "0");
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    /* the replay marks a row its first write left unmarked */
    expect_rows(&b, "Y");
    tb_free(&b);
    sink_free(&k);
}

/* A replay of record 2 (line 3) with other values refuses the batch. */
static void
expect_conflicting_replay(const char *login, const char *volume)
{
    char err[FEED_ERR_MAX];
    struct tbatch b;
    struct sink k;
    size_t bad;

    sql("INSERT INTO fee VALUES (5, 7, 1.5, 'Y')");
    sink_open(&k, no_keys);
    tb_init(&b, 4);
    tb_add(&b, "1", "7", "1.5");
    tb_add(&b, "2", "7", "1.5");
    tb_add(&b, "5", login, volume);
    tb_add(&b, "9", "7", "1.5");
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_REJECT);
    assert_int_equal(bad, 2);
    assert_string_equal(err, "line 3: ticket 5 exists with other values");
    /* nothing of the batch was kept */
    assert_int_equal(rows_in_fee(), 1);
    assert_int_equal(sql_number("SELECT login FROM fee WHERE ticket = 5"), 7);
    tb_free(&b);
    sink_free(&k);
}

static void
a_replay_with_another_login_is_rejected_naming_the_record(void **state)
{
    (void)state;
    expect_conflicting_replay("8", "1.5");
}

static void
a_replay_with_another_volume_is_rejected_naming_the_record(void **state)
{
    (void)state;
    expect_conflicting_replay("7", "1.5001");
}

static void
the_same_ticket_twice_in_a_batch_is_one_row(void **state)
{
    char err[FEED_ERR_MAX];
    struct tbatch b;
    struct tbatch want;
    struct sink k;
    size_t bad;

    (void)state;
    sink_open(&k, no_keys);
    tb_init(&b, 3);
    tb_add(&b, "10", "1", "2.5");
    tb_add(&b, "11", "1", "3");
    tb_add(&b, "10", "1", "2.5");
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    tb_init(&want, 2);
    tb_add(&want, "10", "1", "2.5");
    tb_add(&want, "11", "1", "3");
    expect_rows(&want, "Y");
    tb_free(&want);
    tb_free(&b);
    sink_free(&k);
}

static void
the_same_ticket_twice_with_other_values_rejects_the_later_record(void **state)
{
    char err[FEED_ERR_MAX];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    sink_open(&k, no_keys);
    tb_init(&b, 4);
    tb_add(&b, "10", "1", "2.5");
    tb_add(&b, "11", "1", "3");
    tb_add(&b, "12", "1", "3");
    tb_add(&b, "10", "1", "2.6");
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_REJECT);
    assert_int_equal(bad, 3);
    assert_string_equal(err, "line 4: ticket 10 exists with other values");
    assert_int_equal(rows_in_fee(), 0);
    tb_free(&b);
    sink_free(&k);
}

static void
a_batch_of_100000_records_is_one_transaction(void **state)
{
    const size_t n = 100000;
    unsigned long long units = 0;
    char err[FEED_ERR_MAX];
    char buf[64];
    struct tbatch b;
    struct sink k;
    long long ms;
    size_t bad;

    (void)state;
    sink_open(&k, no_keys);
    tb_init(&b, n);
    tb_trades(&b, 1, n);
    ms = now_ms();
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    ms = now_ms() - ms;
    print_message("# 100000 records in one batch: %lld ms\n", ms);
    for (size_t i = 0; i < n; i++) {
        units += trade_volume(i);
    }
    assert_int_equal(rows_in_fee(), n);
    assert_int_equal(sql_number("SELECT COUNT(*) FROM fee WHERE status = 'Y'"),
                     n);
    assert_int_equal(
        volume_units(sql_text(buf, sizeof buf, "SELECT SUM(volume) FROM fee")),
        units);
    /* replayed whole: all identical */
    ms = now_ms();
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    print_message("# its replay: %lld ms\n", now_ms() - ms);
    assert_int_equal(rows_in_fee(), n);

    /* all or nothing: the last record of another 100000 is refused */
    b.batch.count = 0;
    b.used = 0;
    tb_trades(&b, n + 1, n - 1);
    tb_add(&b, "999999999", "1", "12345678901234567");
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_REJECT);
    assert_int_equal(bad, n - 1);
    assert_int_equal(rows_in_fee(), n);
    tb_free(&b);
    sink_free(&k);
}

static void
a_value_that_is_not_a_number_is_rejected_before_any_sql(void **state)
{
    static const char *const bad_values[] = {
        "",      "-1",  "+1",  "1e5", "0x10",
        " 1",    "1 ",  "1,5", "nan", "inf",
        "1.2.3", ".5",  "5.",  ".",   "1;DROP TABLE fee",
        "1)",    "'1'", "१",
    };
    static const char *const fields[] = {"ticket", "login", "volume"};
    unsigned long long queries;
    char err[FEED_ERR_MAX];
    char want[64];
    struct sink k;
    size_t bad;

    (void)state;
    sink_open(&k, no_keys);
    queries = com_count("Questions");
    for (size_t f = 0; f < 3; f++) {
        for (size_t i = 0; i < sizeof bad_values / sizeof *bad_values; i++) {
            const char *v[3] = {"1", "2", "3.5"};
            struct tbatch b;

            v[f] = bad_values[i];
            tb_init(&b, 3);
            tb_add(&b, "100", "1", "1");
            tb_add(&b, v[0], v[1], v[2]);
            tb_add(&b, "101", "1", "1");
            assert_int_equal(sink_write(&k, &b, &bad, err), FEED_REJECT);
            assert_int_equal(bad, 1);
            snprintf(want, sizeof want, "line 2: %s is not a number",
                     fields[f]);
            assert_string_equal(err, want);
            tb_free(&b);
        }
    }
    {
        /* a point is only a volume's */
        struct tbatch b;

        tb_init(&b, 1);
        tb_add(&b, "1.5", "2", "3");
        assert_int_equal(sink_write(&k, &b, &bad, err), FEED_REJECT);
        assert_string_equal(err, "line 1: ticket is not a number");
        tb_free(&b);
    }
    /* Only the counter queries themselves reached the server. */
    assert_int_equal(com_count("Questions") - queries, 1);
    assert_int_equal(rows_in_fee(), 0);
    sink_free(&k);
}

static void
a_volume_too_large_is_rejected_with_the_servers_message(void **state)
{
    char err[FEED_ERR_MAX];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    sink_open(&k, no_keys);
    tb_init(&b, 3);
    tb_add(&b, "1", "1", "1");
    tb_add(&b, "2", "1", "12345678901234567");
    tb_add(&b, "3", "1", "1");
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_REJECT);
    assert_int_equal(bad, 1);
    assert_string_equal(err, "line 2: Out of range value for column 'volume' "
                             "at row 2 (1264)");
    assert_int_equal(rows_in_fee(), 0);
    /* the instance goes on */
    b.batch.count = 1;
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    assert_int_equal(rows_in_fee(), 1);
    tb_free(&b);
    sink_free(&k);
}

static void
a_ticket_too_large_is_rejected_with_the_servers_message(void **state)
{
    char err[FEED_ERR_MAX];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    sink_open(&k, no_keys);
    tb_init(&b, 1);
    tb_add(&b, "18446744073709551616", "1", "1");
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_REJECT);
    assert_int_equal(bad, 0);
    assert_string_equal(err, "line 1: Out of range value for column 'ticket' "
                             "at row 1 (1264)");
    tb_free(&b);
    sink_free(&k);
}

static void
a_volume_the_column_would_round_is_rejected(void **state)
{
    char err[FEED_ERR_MAX];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    sink_open(&k, no_keys);
    tb_init(&b, 2);
    tb_add(&b, "1", "1", "1");
    tb_add(&b, "2", "1", "1.23456");
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_REJECT);
    assert_int_equal(bad, 1);
    assert_string_equal(
        err, "line 2: Data truncated for column 'volume' at row 2 (1265)");
    assert_int_equal(rows_in_fee(), 0);
    tb_free(&b);
    sink_free(&k);
}

static void
an_empty_batch_is_ok(void **state)
{
    char err[FEED_ERR_MAX];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    sink_open(&k, no_keys);
    tb_init(&b, 1);
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    tb_free(&b);
    sink_free(&k);
}

static void
a_lock_wait_is_retried(void **state)
{
    static const struct kv kv[] = {{"lock_wait_timeout", "1"}, {NULL, NULL}};
    char err[FEED_ERR_MAX];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    sink_open(&k, kv);
    tb_init(&b, 2);
    tb_add(&b, "76", "1", "1");
    tb_add(&b, "77", "1", "1");
    sql("START TRANSACTION; INSERT INTO fee VALUES (77, 1, 1, 'N')");
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_RETRY);
    assert_string_equal(err, "insert into fee: Lock wait timeout exceeded; "
                             "try restarting transaction (1205)");
    sql("ROLLBACK");
    assert_int_equal(rows_in_fee(), 0);
    sink_reopen(&k);
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    expect_rows(&b, "Y");
    tb_free(&b);
    sink_free(&k);
}

static void
a_dropped_table_is_retried_and_the_batch_lands_once_it_is_back(void **state)
{
    char err[FEED_ERR_MAX];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    sink_open(&k, no_keys);
    tb_init(&b, 100);
    tb_trades(&b, 1, 100);
    /* The open instance holds no lock: DROP does not wait for it. */
    sql("DROP TABLE fee");
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_RETRY);
    assert_string_equal(
        err, "insert into fee: Table 'example.fee' doesn't exist (1146)");
    feed_plugin.close(&k.th.host, k.state);
    k.state = NULL;
    assert_int_equal(
        feed_plugin.open(&k.th.host, k.conf, &k.state, err, sizeof err),
        FEED_FAIL);
    assert_string_equal(err,
                        "table example.fee: Table 'example.fee' doesn't exist");
    fresh_table(NULL);
    sink_reopen(&k);
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    expect_rows(&b, "Y");
    tb_free(&b);
    sink_free(&k);
}

/* ---- a server that dies ------------------------------------------------ */

/* Asks mysql_fee.sh to run `cmd` (kill9, restart); 0 once done. */
static int
server_ctl(const char *cmd)
{
    char line[64];
    struct pollfd p = {.fd = ctl_out, .events = POLLIN};
    size_t len = 0;

    if (write(ctl_in, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) ||
        write(ctl_in, "\n", 1) != 1) {
        return -1;
    }
    while (len < sizeof line - 1) {
        if (poll(&p, 1, 60000) != 1 || read(ctl_out, line + len, 1) != 1) {
            return -1;
        }
        if (line[len] == '\n') {
            break;
        }
        len++;
    }
    line[len] = '\0';
    return strcmp(line, "ok") == 0 ? 0 : -1;
}

struct writer {
    struct sink *k;
    const struct tbatch *b;
    enum feed_result r;
    size_t bad;
    char err[FEED_ERR_MAX];
};

static void *
write_thread(void *arg)
{
    struct writer *w = arg;

    w->r = sink_write(w->k, w->b, &w->bad, w->err);
    return NULL;
}

/*
 * Waits until a transaction waits for a row lock. information_schema
 * refreshes innodb_trx only after 0.1 s without readers: poll slower.
 */
static void
wait_for_a_lock_wait(void)
{
    long long deadline = now_ms() + 30000;
    struct timespec pause = {0, 200000000};

    while (sql_number("SELECT COUNT(*) FROM information_schema.innodb_trx "
                      "WHERE trx_state = 'LOCK WAIT'") == 0) {
        if (now_ms() > deadline) {
            fail_msg("no lock wait within 30 s");
        }
        nanosleep(&pause, NULL);
    }
}

static void
a_killed_server_is_retried_and_the_batch_lands_once_after_restart(void **state)
{
    static const struct kv kv[] = {{"lock_wait_timeout", "60"}, {NULL, NULL}};
    struct writer w = {0};
    char err[FEED_ERR_MAX];
    struct tbatch b;
    struct sink k;
    pthread_t t;
    size_t bad;

    (void)state;
    if (ctl_in == -1) {
        skip();
    }
    sink_open(&k, kv);
    tb_init(&b, 100000);
    tb_trades(&b, 1, 100000);
    /*
     * The last record's row is locked: the write stops there, with 99,999
     * rows inserted and not committed, and the server is killed.
     */
    sql("START TRANSACTION; INSERT INTO fee VALUES (100000, 1, 1, 'N')");
    w.k = &k;
    w.b = &b;
    assert_int_equal(pthread_create(&t, NULL, write_thread, &w), 0);
    wait_for_a_lock_wait();
    assert_int_equal(server_ctl("kill9"), 0);
    pthread_join(t, NULL);
    assert_int_equal(w.r, FEED_RETRY);
    assert_string_equal(w.err, "insert into fee: Lost connection to server "
                               "during query (2013)");
    /* the connection stays dead: no silent reconnect */
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_RETRY);
    feed_plugin.close(&k.th.host, k.state);
    k.state = NULL;
    assert_int_equal(
        feed_plugin.open(&k.th.host, k.conf, &k.state, err, sizeof err),
        FEED_RETRY);
    assert_null(k.state);

    assert_int_equal(server_ctl("restart"), 0);
    admin_connect();
    assert_int_equal(rows_in_fee(), 0);
    sink_reopen(&k);
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    assert_int_equal(rows_in_fee(), 100000);
    assert_int_equal(sql_number("SELECT COUNT(*) FROM fee WHERE status = 'Y'"),
                     100000);
    /* a replay after an unknown outcome: still one row each */
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    assert_int_equal(rows_in_fee(), 100000);
    tb_free(&b);
    sink_free(&k);
}

static void
a_committed_batch_survives_kill_9(void **state)
{
    char err[FEED_ERR_MAX];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    if (ctl_in == -1) {
        skip();
    }
    sink_open(&k, no_keys);
    tb_init(&b, 1000);
    tb_trades(&b, 1, 1000);
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    assert_int_equal(server_ctl("kill9"), 0);
    assert_int_equal(server_ctl("restart"), 0);
    admin_connect();
    expect_rows(&b, "Y");
    tb_free(&b);
    sink_free(&k);
}

/* ---- a list of hosts --------------------------------------------------- */

/* Root on the second server, connected at first use. */
static MYSQL *
second_admin(void)
{
    if (admin2 == NULL) {
        admin2 = mysql_init(NULL);
        assert_non_null(admin2);
        if (mysql_real_connect(admin2, "localhost", "root", "", "example", 0,
                               getenv("MARIADB2_SOCKET"),
                               CLIENT_MULTI_STATEMENTS) == NULL) {
            fail_msg("cannot connect as root to the second server: %s",
                     mysql_error(admin2));
        }
    }
    return admin2;
}

/* Runs SQL (several statements allowed) as root on the second server. */
static void
sql2(const char *text)
{
    if (mysql_query(second_admin(), text) != 0) {
        fail_msg("%s: %s", text, mysql_error(admin2));
    }
    do {
        mysql_free_result(mysql_store_result(admin2));
    } while (mysql_next_result(admin2) == 0);
}

/* The number in the first column of the first row, on the second server. */
static unsigned long long
sql2_number(const char *query)
{
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    unsigned long long n;

    if (mysql_query(second_admin(), query) != 0 ||
        (res = mysql_store_result(admin2)) == NULL) {
        fail_msg("%s: %s", query, mysql_error(admin2));
    }
    row = mysql_fetch_row(res);
    n = row != NULL && row[0] != NULL ? strtoull(row[0], NULL, 10) : 0;
    mysql_free_result(res);
    return n;
}

/* The second server's wsrep_ready, in buf. */
static const char *
ready2(char *buf, size_t len)
{
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;

    if (mysql_query(second_admin(), "SHOW STATUS LIKE 'wsrep_ready'") != 0 ||
        (res = mysql_store_result(admin2)) == NULL) {
        fail_msg("show status: %s", mysql_error(admin2));
    }
    row = mysql_fetch_row(res);
    snprintf(buf, len, "%s", row != NULL && row[1] != NULL ? row[1] : "");
    mysql_free_result(res);
    return buf;
}

/*
 * Takes the second server (a Galera node of its own) out of its cluster
 * (`cluster` ""), or bootstraps it again ("gcomm://"), and waits until its
 * wsrep_ready says so.
 */
static void
set_cluster2(const char *cluster)
{
    const char *want = cluster[0] == '\0' ? "OFF" : "ON";
    long long deadline = now_ms() + 30000;
    struct timespec pause = {0, 50000000};
    char text[128];
    char buf[16];

    snprintf(text, sizeof text, "SET GLOBAL wsrep_cluster_address = '%s'",
             cluster);
    sql2(text);
    while (strcmp(ready2(buf, sizeof buf), want) != 0) {
        if (now_ms() > deadline) {
            fail_msg("wsrep_ready is %s, not %s, after 30 s", buf, want);
        }
        nanosleep(&pause, NULL);
    }
}

/* Every test on two servers starts with an empty table on the second. */
static int
fresh_tables(void **state)
{
    char drop_and_create[8192];

    (void)state;
    fresh_table(NULL);
    if (port2_text[0] != '\0') {
        snprintf(drop_and_create, sizeof drop_and_create,
                 "DROP TABLE IF EXISTS fee; %s", fee_sql);
        sql2(drop_and_create);
    }
    return 0;
}

/* How many times `what` is in the logs. */
static int
count_in(const char *logs, const char *what)
{
    int n = 0;

    for (const char *p = strstr(logs, what); p != NULL;
         p = strstr(p + 1, what)) {
        n++;
    }
    return n;
}

static void
a_dead_first_host_is_passed_over_and_the_switch_logged_once(void **state)
{
    char list[64];
    const struct kv kv[] = {{"host", list}, {NULL, NULL}};
    char err[FEED_ERR_MAX];
    char want[256];
    int dead = unused_port();
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    snprintf(list, sizeof list, "127.0.0.1:%d, 127.0.0.1:%s", dead, port_text);
    sink_open(&k, kv);
    snprintf(want, sizeof want,
             "switched from 127.0.0.1:%d to 127.0.0.1:%s after: "
             "cannot connect to 127.0.0.1:%d: ",
             dead, port_text, dead);
    assert_non_null(strstr(k.th.logs, want));
    tb_init(&b, 10);
    tb_trades(&b, 1, 10);
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    expect_rows(&b, "Y");
    /* The worker stays where it is: no new switch, no dead host tried. */
    sink_reopen(&k);
    assert_int_equal(count_in(k.th.logs, "switched from"), 1);
    snprintf(want, sizeof want, "connected to 127.0.0.1:%s ", port_text);
    assert_int_equal(count_in(k.th.logs, want), 2);
    tb_free(&b);
    sink_free(&k);
}

static void
every_host_dead_is_retried_naming_the_last(void **state)
{
    char list[64];
    const struct kv kv[] = {{"host", list}, {NULL, NULL}};
    char err[FEED_ERR_MAX];
    char want[64];
    int dead1 = unused_port();
    int dead2 = unused_port();
    struct sink k;

    (void)state;
    snprintf(list, sizeof list, "127.0.0.1:%d,127.0.0.1:%d", dead1, dead2);
    snprintf(want, sizeof want, "cannot connect to 127.0.0.1:%d: ", dead2);
    assert_int_equal(sink_try_open(&k, kv, err), FEED_RETRY);
    assert_memory_equal(err, want, strlen(want));
    assert_string_equal(err + strlen(err) - strlen(" (all 2 hosts failed)"),
                        " (all 2 hosts failed)");
    assert_null(k.state);
    assert_null(strstr(k.th.logs, "switched"));
    sink_free(&k);
}

/* host = the first server, the second server. */
static void
both_servers(char *list, size_t len)
{
    snprintf(list, len, "127.0.0.1:%s, 127.0.0.1:%s", port_text, port2_text);
}

static void
a_read_only_server_moves_the_worker_to_the_next_host(void **state)
{
    char list[64];
    const struct kv kv[] = {{"host", list}, {NULL, NULL}};
    char err[FEED_ERR_MAX];
    char want[512];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    if (port2_text[0] == '\0') {
        skip();
    }
    both_servers(list, sizeof list);
    sink_open(&k, kv);
    tb_init(&b, 10);
    tb_trades(&b, 1, 10);
    sql("SET GLOBAL read_only = ON");
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_RETRY);
    sql("SET GLOBAL read_only = OFF");
    assert_non_null(strstr(err, "(1290)"));
    sink_reopen(&k);
    snprintf(want, sizeof want,
             "switched from 127.0.0.1:%s to 127.0.0.1:%s after: %s", port_text,
             port2_text, err);
    assert_non_null(strstr(k.th.logs, want));
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    assert_int_equal(rows_in_fee(), 0);
    assert_int_equal(sql2_number("SELECT COUNT(*) FROM fee WHERE "
                                 "status = 'Y'"),
                     10);
    tb_free(&b);
    sink_free(&k);
}

/*
 * Opens k with the Galera node first in the list; the test fails unless
 * the worker takes it.
 */
static void
open_galera_first(struct sink *k, const struct kv *kv, char *list, size_t len)
{
    char want[64];

    snprintf(list, len, "127.0.0.1:%s, 127.0.0.1:%s", port2_text, port_text);
    sink_open(k, kv);
    snprintf(want, sizeof want, "connected to 127.0.0.1:%s ", port2_text);
    assert_non_null(strstr(k->th.logs, want));
}

/* `switched from <Galera node> to <plain server> after: <why>` is logged. */
static void
expect_switch_to_plain(const struct sink *k, const char *why)
{
    char want[FEED_ERR_MAX + 128];

    snprintf(want, sizeof want,
             "switched from 127.0.0.1:%s to 127.0.0.1:%s after: %s", port2_text,
             port_text, why);
    if (count_in(k->th.logs, want) != 1) {
        fail_msg("want once \"%s\" in:\n%s", want, k->th.logs);
    }
}

static void
a_galera_node_is_taken_only_while_it_is_ready(void **state)
{
    char list[64];
    const struct kv kv[] = {{"host", list}, {NULL, NULL}};
    char err[FEED_ERR_MAX];
    char want[256];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    if (port2_text[0] == '\0') {
        skip();
    }
    tb_init(&b, 10);
    tb_trades(&b, 1, 10);

    /*
     * Ready and first in the list: taken. Then it refuses queries (1047):
     * the write fails, and the worker moves to the plain server.
     */
    open_galera_first(&k, kv, list, sizeof list);
    sql2("SET GLOBAL wsrep_reject_queries = ALL");
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_RETRY);
    assert_string_equal(err, "insert into fee: WSREP has not yet prepared "
                             "node for application use (1047)");
    sink_reopen(&k);
    sql2("SET GLOBAL wsrep_reject_queries = NONE");
    expect_switch_to_plain(&k, err);
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    expect_rows(&b, "Y");
    sink_free(&k);

    /*
     * Idle when it leaves its cluster: the tick sees it (the node drops
     * its clients as it leaves, so the ping does; a node that kept them
     * would say wsrep_ready OFF), and the worker moves.
     */
    open_galera_first(&k, kv, list, sizeof list);
    set_cluster2("");
    ((struct fsink *)k.state)->used -= 10;
    assert_int_equal(feed_plugin.tick(&k.th.host, k.state, err, sizeof err),
                     FEED_RETRY);
    sink_reopen(&k);
    expect_switch_to_plain(&k, err);
    sink_free(&k);

    /* Not ready at open: passed over, with the reason. */
    sink_open(&k, kv);
    snprintf(want, sizeof want, "127.0.0.1:%s is not ready: wsrep_ready is OFF",
             port2_text);
    expect_switch_to_plain(&k, want);
    sink_free(&k);
    set_cluster2("gcomm://");
    tb_free(&b);
}

static void
a_lock_wait_keeps_the_worker_on_its_host(void **state)
{
    char list[64];
    const struct kv kv[] = {
        {"host", list}, {"lock_wait_timeout", "1"}, {NULL, NULL}};
    char err[FEED_ERR_MAX];
    char want[64];
    struct tbatch b;
    struct sink k;
    size_t bad;

    (void)state;
    if (port2_text[0] == '\0') {
        skip();
    }
    both_servers(list, sizeof list);
    sink_open(&k, kv);
    tb_init(&b, 2);
    tb_add(&b, "76", "1", "1");
    tb_add(&b, "77", "1", "1");
    sql("START TRANSACTION; INSERT INTO fee VALUES (77, 1, 1, 'N')");
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_RETRY);
    assert_non_null(strstr(err, "(1205)"));
    sql("ROLLBACK");
    sink_reopen(&k);
    assert_null(strstr(k.th.logs, "switched"));
    snprintf(want, sizeof want, "connected to 127.0.0.1:%s ", port_text);
    assert_int_equal(count_in(k.th.logs, want), 2);
    assert_int_equal(sink_write(&k, &b, &bad, err), FEED_OK);
    expect_rows(&b, "Y");
    assert_int_equal(sql2_number("SELECT COUNT(*) FROM fee"), 0);
    tb_free(&b);
    sink_free(&k);
}

/*
 * The worker's server stops between two batches. The second batch's
 * outcome is as unknown to the worker as after a lost COMMIT, and part of
 * it is already on the second server (as if replicated there): written
 * again on the next host, it lands once.
 */
static void
a_stopped_server_moves_the_worker_on_and_the_replay_lands_once(void **state)
{
    char list[64];
    const struct kv kv[] = {{"host", list}, {NULL, NULL}};
    char err[FEED_ERR_MAX];
    char want[256];
    struct tbatch first;
    struct tbatch second;
    struct sink k;
    size_t bad;

    (void)state;
    if (port2_text[0] == '\0' || ctl_in == -1) {
        skip();
    }
    both_servers(list, sizeof list);
    sink_open(&k, kv);
    tb_init(&first, 10);
    tb_trades(&first, 1, 10);
    tb_init(&second, 10);
    tb_trades(&second, 11, 10);
    assert_int_equal(sink_write(&k, &first, &bad, err), FEED_OK);
    expect_rows(&first, "Y");
    sql2("INSERT INTO fee SELECT 11, 1000, 0, 'Y' UNION ALL "
         "SELECT 12, 1001, 12.3457, 'Y'");

    assert_int_equal(server_ctl("stop"), 0);
    assert_int_equal(sink_write(&k, &second, &bad, err), FEED_RETRY);
    feed_plugin.close(&k.th.host, k.state);
    k.state = NULL;
    assert_int_equal(
        feed_plugin.open(&k.th.host, k.conf, &k.state, err, sizeof err),
        FEED_OK);
    snprintf(want, sizeof want, "switched from 127.0.0.1:%s to 127.0.0.1:%s",
             port_text, port2_text);
    assert_int_equal(count_in(k.th.logs, want), 1);
    assert_int_equal(sink_write(&k, &second, &bad, err), FEED_OK);
    assert_int_equal(sql2_number("SELECT COUNT(*) FROM fee"), 10);
    assert_int_equal(sql2_number("SELECT COUNT(*) FROM fee WHERE "
                                 "status = 'Y' AND ticket BETWEEN 11 AND 20"),
                     10);

    assert_int_equal(server_ctl("restart"), 0);
    admin_connect();
    expect_rows(&first, "Y");
    tb_free(&first);
    tb_free(&second);
    sink_free(&k);
}

static void
an_idle_worker_whose_server_stopped_moves_on_at_its_tick(void **state)
{
    char list[64];
    const struct kv kv[] = {{"host", list}, {NULL, NULL}};
    char err[FEED_ERR_MAX] = "";
    char want[256];
    struct fsink *s;
    struct sink k;

    (void)state;
    if (port2_text[0] == '\0' || ctl_in == -1) {
        skip();
    }
    both_servers(list, sizeof list);
    sink_open(&k, kv);
    s = k.state;
    /* Idle for long enough: pinged, and the server answers. */
    s->used -= 10;
    assert_int_equal(feed_plugin.tick(&k.th.host, s, err, sizeof err), FEED_OK);
    assert_true(conn_now_s() - s->used < 5);

    assert_int_equal(server_ctl("stop"), 0);
    s->used -= 10;
    assert_int_equal(feed_plugin.tick(&k.th.host, s, err, sizeof err),
                     FEED_RETRY);
    snprintf(want, sizeof want, "127.0.0.1:%s: ping: ", port_text);
    assert_memory_equal(err, want, strlen(want));
    feed_plugin.close(&k.th.host, k.state);
    k.state = NULL;
    assert_int_equal(
        feed_plugin.open(&k.th.host, k.conf, &k.state, err, sizeof err),
        FEED_OK);
    snprintf(want, sizeof want,
             "switched from 127.0.0.1:%s to 127.0.0.1:%s after: "
             "127.0.0.1:%s: ping: ",
             port_text, port2_text, port_text);
    assert_non_null(strstr(k.th.logs, want));

    assert_int_equal(server_ctl("restart"), 0);
    admin_connect();
    sink_free(&k);
}

/* ---- main -------------------------------------------------------------- */

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = calloc(1, 65536);

    if (f == NULL || text == NULL) {
        fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
        exit(1);
    }
    if (fread(text, 1, 65535, f) == 0) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    return text;
}

static int
group_setup(void **state)
{
    const char *port = getenv("MARIADB_PORT");
    const char *sql_path = getenv("FEE_SQL");
    const char *in = getenv("MARIADB_CTL_IN");
    const char *out = getenv("MARIADB_CTL_OUT");

    (void)state;
    sock = getenv("MARIADB_SOCKET");
    if (sock == NULL || port == NULL || sql_path == NULL) {
        fprintf(stderr, "MARIADB_SOCKET, MARIADB_PORT and FEE_SQL must be "
                        "set: run this through mysql_fee.sh\n");
        return -1;
    }
    snprintf(port_text, sizeof port_text, "%s", port);
    if (getenv("MARIADB2_PORT") != NULL && getenv("MARIADB2_SOCKET") != NULL) {
        snprintf(port2_text, sizeof port2_text, "%s", getenv("MARIADB2_PORT"));
    }
    fee_sql = read_file(sql_path);
    if (in != NULL && out != NULL) {
        ctl_in = open(in, O_RDWR | O_CLOEXEC);
        ctl_out = open(out, O_RDWR | O_CLOEXEC);
    }
    admin_connect();
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    mysql_close(admin);
    mysql_close(admin2);
    free(fee_sql);
    mysql_library_end();
    return 0;
}

#define DB_TEST(f) cmocka_unit_test_setup(f, fresh_table)
#define TWO_DB_TEST(f) cmocka_unit_test_setup(f, fresh_tables)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_descriptor_names_a_sink),
        cmocka_unit_test(configure_reads_every_key_and_opens_no_connection),
        cmocka_unit_test(configure_defaults_to_the_fee_table_and_mark_update),
        cmocka_unit_test(configure_reports_a_missing_user),
        cmocka_unit_test(configure_reports_a_missing_database),
        cmocka_unit_test(configure_refuses_empty_host_user_and_database),
        cmocka_unit_test(configure_reads_a_host_list_with_port_as_the_default),
        cmocka_unit_test(configure_refuses_a_bad_host_list_naming_the_item),
        cmocka_unit_test(a_socket_is_the_one_place_whatever_the_host_list),
        cmocka_unit_test(configure_refuses_a_table_name_with_other_characters),
        cmocka_unit_test(configure_refuses_an_unknown_mark),
        cmocka_unit_test(configure_refuses_ports_and_timeouts_out_of_range),
        cmocka_unit_test(configure_refuses_a_socket_path_too_long_for_a_socket),
        cmocka_unit_test(configure_reports_a_parser_without_a_volume),
        DB_TEST(configure_finds_the_fields_by_name_in_any_order),
        cmocka_unit_test(close_and_unconfigure_take_null),
        cmocka_unit_test(the_classifier_maps_each_listed_error),
        DB_TEST(open_logs_the_server_and_never_the_password),
        DB_TEST(the_session_is_strict_read_committed_without_autocommit),
        DB_TEST(a_wrong_password_fails_naming_the_user_but_not_the_password),
        DB_TEST(an_unknown_database_fails),
        DB_TEST(an_unknown_database_fails_for_a_user_who_may_see_it),
        DB_TEST(a_missing_table_fails),
        DB_TEST(a_missing_column_fails),
        DB_TEST(a_port_with_no_server_is_retried),
        DB_TEST(a_socket_with_no_server_is_retried),
        DB_TEST(a_batch_lands_over_the_socket),
        DB_TEST(a_batch_of_1000_lands_marked_y_with_exact_values),
        DB_TEST(mark_insert_lands_y_without_an_update),
        DB_TEST(the_extreme_values_land_exactly),
        DB_TEST(an_identical_replay_is_ok_and_keeps_one_row_each),
        DB_TEST(a_replay_equal_as_numbers_is_ok),
        DB_TEST(a_replay_with_another_login_is_rejected_naming_the_record),
        DB_TEST(a_replay_with_another_volume_is_rejected_naming_the_record),
        DB_TEST(the_same_ticket_twice_in_a_batch_is_one_row),
        DB_TEST(
            the_same_ticket_twice_with_other_values_rejects_the_later_record),
        DB_TEST(a_batch_of_100000_records_is_one_transaction),
        DB_TEST(a_value_that_is_not_a_number_is_rejected_before_any_sql),
        DB_TEST(a_volume_too_large_is_rejected_with_the_servers_message),
        DB_TEST(a_ticket_too_large_is_rejected_with_the_servers_message),
        DB_TEST(a_volume_the_column_would_round_is_rejected),
        DB_TEST(an_empty_batch_is_ok),
        DB_TEST(a_lock_wait_is_retried),
        DB_TEST(a_dropped_table_is_retried_and_the_batch_lands_once_it_is_back),
        DB_TEST(a_dead_first_host_is_passed_over_and_the_switch_logged_once),
        DB_TEST(every_host_dead_is_retried_naming_the_last),
        TWO_DB_TEST(a_read_only_server_moves_the_worker_to_the_next_host),
        TWO_DB_TEST(a_lock_wait_keeps_the_worker_on_its_host),
        TWO_DB_TEST(a_galera_node_is_taken_only_while_it_is_ready),
        /* these stop or kill the server */
        TWO_DB_TEST(
            a_stopped_server_moves_the_worker_on_and_the_replay_lands_once),
        TWO_DB_TEST(an_idle_worker_whose_server_stopped_moves_on_at_its_tick),
        /* last: these kill the server */
        DB_TEST(
            a_killed_server_is_retried_and_the_batch_lands_once_after_restart),
        DB_TEST(a_committed_batch_survives_kill_9),
    };

    return cmocka_run_group_tests_name("mysql_fee", tests, group_setup,
                                       group_teardown);
}
