/*
 * feed/plugin.h - the feed-core plugin ABI.
 *
 * This is the only header a plugin includes. A plugin is a shared object
 * that exports one symbol, `feed_plugin`, a struct feed_plugin describing
 * itself: the ABI version it was built against, its kind (source, parser or
 * sink), name, version, a one-line summary and its callbacks. Everything
 * else in the plugin should be static (build with hidden visibility).
 *
 * The pipeline:
 *
 *     source --requests--> parser --records--> queue --batches--> sink workers
 *        ^                                                             |
 *        +------------------------ replies <---------------------------+
 *
 * The core talks to a plugin only through the callbacks below, and a plugin
 * talks to the core only through the struct feed_host it is given: reading
 * its configuration keys, logging, and (for a source) handing requests over
 * and learning when to reply. Plugins never link against the core.
 *
 * Lifetimes, for every kind:
 *
 *   configure()   once, on the main thread, before anything runs. Reads and
 *                 validates the plugin's keys; opens no socket, no database
 *                 connection, no file that is not merely checked.
 *                 `feed-core check` stops after this step.
 *   ...           kind-specific callbacks, see each kind below
 *   unconfigure() once, on the main thread, after everything has stopped.
 *
 * Every callback gets the host as its first argument, so a plugin needs no
 * global state to log or count.
 *
 * Ownership: what a plugin allocates, it frees. Memory the core passes in
 * (requests, records, batches) is borrowed for the duration of the call
 * unless a comment says otherwise.
 *
 * Versioning, as nginx and redis modules do it: the descriptor starts with
 * FEED_PLUGIN_HEADER, the ABI major number and the size of struct
 * feed_plugin as the plugin was built. The major number changes only when
 * a field's meaning or type changes; the loader refuses another major,
 * naming both numbers. New fields are only ever added at the end of
 * struct feed_plugin and struct feed_host: the core reads a descriptor field
 * only when the plugin's `size` covers it (a plugin built against an older
 * header simply lacks the newer callbacks), and a plugin calls a host
 * function only when the host's `size` covers it (FEED_HOST_HAS()).
 *
 * Threads, for a sink author:
 *   - configure() and unconfigure() run on the main thread, alone;
 *   - each worker thread owns one sink instance (the `state` from open())
 *     and is the only thread that calls open, write, reopen, tick and close
 *     on it, so an instance needs no lock;
 *   - the configuration returned by configure() is shared by every
 *     instance: read it only, or guard what you change in it with your own
 *     pthread mutex (and say so next to the field);
 *   - host functions may be called from any thread unless noted.
 *
 * Files and privileges: configure() may open and read files (it runs as the
 * user who started feed-core, usually root, before privileges are dropped;
 * `feed-core check` calls it too), but must not create any. open(),
 * write() and the rest run after the daemon dropped root, as `user` and
 * `group` of [core]: a sink that writes files takes their folder as a path
 * key (conf_path) and documents that the folder must be writable by that
 * user (with systemd, StateDirectory= makes one: /var/lib/feed-core).
 */
#ifndef FEED_PLUGIN_H
#define FEED_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI major number this header describes. */
#define FEED_ABI_MAJOR 2

/*
 * The first fields of every descriptor, as this header builds them:
 *
 *     FEED_EXPORT const struct feed_plugin feed_plugin = {
 *         FEED_PLUGIN_HEADER,
 *         .kind = FEED_KIND_SINK,
 *         ...
 *     };
 */
#define FEED_PLUGIN_HEADER                                                     \
    .abi = FEED_ABI_MAJOR, .size = (unsigned)sizeof(struct feed_plugin)

/*
 * Nonzero when the host table `h` has the function `field` (the core that
 * loaded the plugin may be older than the header it was built against).
 */
#define FEED_HOST_HAS(h, field)                                                \
    ((h)->size >= offsetof(struct feed_host, field) + sizeof((h)->field) &&    \
     (h)->field != NULL)

/* Size of every `err` buffer the core hands to a plugin. */
#define FEED_ERR_MAX 512

/* Marks the one symbol a plugin exports. */
#if defined(__GNUC__) || defined(__clang__)
#define FEED_EXPORT __attribute__((visibility("default")))
#define FEED_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FEED_EXPORT
#define FEED_PRINTF(f, a)
#endif

enum feed_kind {
    FEED_KIND_SOURCE = 1, /* receives requests and replies to them */
    FEED_KIND_PARSER = 2, /* turns one request body into records */
    FEED_KIND_SINK = 3,   /* writes batches of records durably */
};

/*
 * The outcome of a sink's open() or write().
 *
 * FEED_OK      done: for write(), every record of the batch is durable.
 * FEED_RETRY   transient: nothing of the batch was kept; the core closes the
 *              instance, reopens it after a capped, jittered backoff and
 *              calls write() again with the same batch. Lost connections,
 *              lock waits, deadlocks, a read-only or overloaded server, and
 *              also errors an operator must fix (access denied, missing
 *              table) are RETRY: the data is fine, the place is not.
 * FEED_REJECT  write() only: the data itself is refused (out of range, too
 *              long, a conflicting replay). Nothing of the batch was kept.
 *              The core narrows the batch down to the offending message,
 *              answers it FALSE with `err`, dead-letters it and writes the
 *              rest again.
 * FEED_FAIL    open() only: a permanent error (bad credentials, unknown
 *              database). At start the daemon gives up at once and prints
 *              `err`; once running it keeps retrying, since an operator may
 *              fix it.
 */
enum feed_result {
    FEED_OK = 0,
    FEED_RETRY = 1,
    FEED_REJECT = 2,
    FEED_FAIL = 3,
};

enum feed_log_level {
    FEED_LOG_ERROR = 0,   /* failed; someone must act */
    FEED_LOG_WARNING = 1, /* degraded but handled (retrying) */
    FEED_LOG_NOTICE = 2,  /* normal but significant */
    FEED_LOG_INFO = 3,    /* lifecycle: started, draining, stopped */
    FEED_LOG_DEBUG = 4,   /* per-message detail */
};

/* The type of a record field, as the parser promises it. */
enum feed_type {
    FEED_TYPE_TEXT = 1,    /* any bytes */
    FEED_TYPE_UINT = 2,    /* decimal digits, no sign, fits uint64_t */
    FEED_TYPE_DECIMAL = 3, /* digits, optionally '.' and digits */
};

/* One field of a parser's records, by name and type. */
struct feed_field {
    const char *name;
    enum feed_type type;
};

/* The fields every record of a parser has, in this order. */
struct feed_schema {
    size_t nfields;
    const struct feed_field *fields;
};

/*
 * One value of a record: bytes [ptr, ptr + len), NOT NUL-terminated.
 * Numbers are in canonical form: no leading zeros (but "0"), no trailing
 * zeros after a point and no point without digits after it, so equal numbers
 * have equal text ("0007" is "7", "1.5000" is "1.5", "2.0" is "2").
 */
struct feed_value {
    const char *ptr;
    size_t len;
};

/*
 * One record: the values of one input line, in schema order.
 * `line` counts from 1 within the request the record came from; error
 * messages about a record must say `line N: ...` with it.
 */
struct feed_record {
    uint32_t line;
    const struct feed_value *values; /* schema.nfields entries; borrowed */
};

/*
 * One request of a batch: which records came from it, who sent it and when.
 * A request is never split across batches.
 */
struct feed_origin {
    size_t first;        /* index of its first record in batch->records */
    size_t count;        /* its records: records[first, first + count) */
    const char *client;  /* NUL-terminated, never NULL: the certificate
                            name with CURVE, else the peer address, else
                            "" (the source did not say) */
    int64_t received_ns; /* CLOCK_REALTIME when the core received it */
};

/*
 * A batch given to a sink: records of one or more whole requests. It is
 * written as one transaction: all of it is kept, or none of it. The
 * requests are in order and cover the records exactly.
 */
struct feed_batch {
    size_t count;
    const struct feed_record *records; /* borrowed for the write() call */
    size_t nrequests;
    const struct feed_origin *requests; /* borrowed for the write() call */
};

/*
 * A request a source hands to the core with host->submit().
 * The core copies what it keeps; the source may reuse the buffers as soon as
 * submit() returns.
 */
struct feed_request {
    const void *tag; /* where the reply goes (e.g. a ZeroMQ routing id) */
    size_t tag_len;  /* at most FEED_TAG_MAX bytes; 0: no reply possible,
                        the core dead-letters the request unanswered */
    const void *body;
    size_t len;
    unsigned parts;     /* frames the request had; more than 1 is refused */
    const char *client; /* NUL-terminated name of the peer for logs,
                           dead_letter and sinks (the CURVE certificate
                           name, else the peer address), or NULL; at most
                           FEED_CLIENT_MAX - 1 bytes are kept */
    const char *refuse; /* NULL, or the source refuses the request with this
                           reason (e.g. "client not allowed"): the core
                           dead-letters it and answers FALSE <refuse>,
                           without parsing it */
};

#define FEED_TAG_MAX 1024
#define FEED_CLIENT_MAX 256

/* What a plugin may count with host->count(); shown in stats and metrics. */
enum feed_count {
    FEED_COUNT_PEERS_REFUSED = 1, /* a source refused a peer's connection */
};

struct feed_out; /* a parser's output for one request; owned by the core */

/*
 * The core's side, given to every plugin in configure(). It stays valid
 * until unconfigure() returns, so keep the pointer. Every function here is
 * safe to call from any thread unless its comment says otherwise.
 */
struct feed_host {
    unsigned abi;        /* FEED_ABI_MAJOR of the core */
    unsigned size;       /* sizeof (struct feed_host) in the core */
    const char *section; /* "source", "parser" or "sink" */
    void *core;          /* the core's; do not touch */

    /*
     * Configuration, for configure() only (main thread).
     *
     * Each getter reads one key of the plugin's own section and marks it
     * used: after configure() the core reports every key nobody read as
     * `FILE:LINE: [section] unknown key "name"`. A missing key yields the
     * default. On a bad value the getter records an error naming
     * FILE:LINE and the key, and returns -1; configure() should keep
     * reading its other keys (so every mistake is reported at once) and then
     * fail. Strings returned stay valid until unconfigure().
     */

    /* A string; `def` NULL makes the key required. */
    int (*conf_string)(const struct feed_host *h, const char *key,
                       const char *def, const char **out);
    /* A decimal integer in [min, max]. */
    int (*conf_int)(const struct feed_host *h, const char *key, long long def,
                    long long min, long long max, long long *out);
    /* yes/no, true/false, on/off, 1/0. */
    int (*conf_bool)(const struct feed_host *h, const char *key, int def,
                     int *out);
    /* One of `names` (NULL-terminated); *out is its index. */
    int (*conf_enum)(const struct feed_host *h, const char *key,
                     const char *const *names, int def, int *out);
    /*
     * A path, made absolute against the INI file's folder; `def` is taken
     * as written (relative defaults also resolve against that folder), NULL
     * makes the key required.
     */
    int (*conf_path)(const struct feed_host *h, const char *key,
                     const char *def, const char **out);
    /* Reports a semantic error about `key` (or the section, if NULL). */
    void (*conf_error)(const struct feed_host *h, const char *key,
                       const char *fmt, ...) FEED_PRINTF(3, 4);

    /* Logging: one event, one line; the core adds the plugin's name. */
    void (*log)(const struct feed_host *h, enum feed_log_level level,
                const char *fmt, ...) FEED_PRINTF(3, 4);
    /* Nonzero when `level` would be written (skip costly formatting). */
    int (*log_enabled)(const struct feed_host *h, enum feed_log_level level);

    /*
     * For sinks, in configure(): the index of the parser's field `name`
     * within each record's values, or -1 (and a configuration error saying
     * what is missing) when the parser has no such field or its type is not
     * `type`.
     */
    int (*field)(const struct feed_host *h, const char *name,
                 enum feed_type type);
    /* The parser's schema (for sinks that take every field). */
    const struct feed_schema *(*schema)(const struct feed_host *h);

    /*
     * For parsers, from parse(): append one record. `values` holds
     * schema.nfields values pointing into the body given to parse() (which
     * lives as long as the record). Returns 0, or -1 when out of memory
     * (parse() should then fail).
     */
    int (*emit)(struct feed_out *out, uint32_t line,
                const struct feed_value *values);

    /*
     * For sources, from the source's own thread only (inside run()).
     *
     * submit(): hands one request to the core, which parses and queues it.
     * The reply comes through the source's reply() callback: at once when
     * the request is refused (or with ack = receive), otherwise later from
     * drain(), after its records have been committed. Returns 0, or -1 when
     * the core could not take it (out of memory; it has been answered).
     */
    int (*submit)(const struct feed_host *h, const struct feed_request *req);
    /*
     * accepting(): nonzero while the source may read new requests; zero
     * when the queue is full or the daemon is stopping, and, for a source
     * that calls flush(), between two bursts while a commit is under way
     * (see flush()). When it turns nonzero again the wake fd becomes
     * readable.
     */
    int (*accepting)(const struct feed_host *h);
    /* An fd to poll for reading: readable when drain() has work. */
    int (*wake_fd)(const struct feed_host *h);
    /* Sends the replies that are due (through reply()) and clears wake_fd. */
    void (*drain)(const struct feed_host *h);
    /*
     * finished(): nonzero once the daemon is stopping and every request the
     * source submitted has been answered; run() should then return.
     */
    int (*finished)(const struct feed_host *h);

    /* Adds n to one of the core's counters (enum feed_count). */
    void (*count)(const struct feed_host *h, enum feed_count what, uint64_t n);

    /*
     * For sinks, on the instance's worker thread (open() or later): names
     * the server this instance is connected to now ("db1:3306"); the core
     * shows it in stall warnings and on /healthz. `name` must stay valid
     * until unconfigure() (a string of the configuration). The core forgets
     * it when the instance is closed.
     */
    void (*server)(const struct feed_host *h, const char *name);

    /*
     * For sources, optional (FEED_HOST_HAS): flush() says the source has
     * read every request waiting for now (a burst). From its first call
     * on, the core queues what was submitted since the last flush() in
     * one go, so a batch is everything one read found, and it may answer
     * accepting() with zero between bursts while a commit is under way
     * and the last burst was small: requests then wait with their clients
     * (a transport that buffers them, as ZeroMQ does) instead of waking
     * the source one by one for a queue they could only wait in, and the
     * next burst after the commit takes them all. A source that never
     * calls it has each request queued as it is submitted.
     */
    void (*flush)(const struct feed_host *h);
};

/*
 * The descriptor a plugin exports as `feed_plugin`. Every callback takes
 * the host (the same pointer configure() got) first.
 *
 * Common to every kind:
 *
 * configure(host, err, errlen): reads the plugin's keys (see struct
 *   feed_host); returns the plugin's configuration, or NULL with a reason in
 *   `err` (may be empty when the reason was reported through conf_*). The
 *   configuration is shared read-only by every instance and thread.
 * unconfigure(host, conf): frees it. Takes NULL.
 *
 * A source (FEED_KIND_SOURCE) runs one instance, on its own thread:
 *
 * open(host, conf, &state, err, errlen): binds or listens. Called before
 *   the daemon drops root, on the main thread. Returns FEED_OK or FEED_FAIL.
 * run(host, state): the source's loop: read requests while
 *   host->accepting(), submit() them (then host->flush() when nothing
 *   more is waiting, if the host has it), poll host->wake_fd() and call
 *   host->drain(); return 0 when host->finished(), or -1 after logging a
 *   fatal error.
 * reply(host, state, tag, tag_len, text, len): sends `text` to the
 *   request's client. Called only from within submit() or drain(), so on
 *   the source's thread.
 * close(host, state): after run() returned; flushes what replies it can.
 *   Takes NULL.
 * reopen(host, state), optional: after SIGHUP, from within host->drain() on
 *   the source's thread: re-read what may change while running (allow
 *   lists, keys). The conf_* getters work here, on the INI file as it is
 *   now (the strings they return last only until reopen() returns); a value
 *   they refuse is logged by the core: keep the old one. A reload that
 *   fails keeps the old state and logs why.
 *
 * A parser (FEED_KIND_PARSER) is called on the source's thread:
 *
 * schema(host, conf): the fields of its records; stays valid until
 *   unconfigure().
 * parse(host, conf, body, len, out, err, errlen): turns one request body
 *   into records with host->emit(out, ...). Returns 0 when every line is a
 *   record; -1 with `err` set ("line 2: volume is not a number") to refuse
 *   the request whole (records emitted so far are discarded).
 *
 * A sink (FEED_KIND_SINK) has one instance per worker thread; every call on
 * an instance comes from the worker thread that opened it:
 *
 * open(host, conf, &state, err, errlen): connects. FEED_OK, FEED_RETRY (try
 *   again later) or FEED_FAIL (permanent; see enum feed_result).
 * write(host, state, batch, bad, err, errlen): writes the batch as one
 *   transaction; FEED_OK only once it is durable. On FEED_REJECT, `err`
 *   names the record ("line 3: ticket 7 exists with other values") and, if
 *   the sink knows which record was refused, it sets *bad to its index in
 *   batch->records (otherwise leave it alone); the core uses that to narrow
 *   the batch faster. On FEED_RETRY, `err` carries the server's message.
 *   The core may call write() again with the same records (after a RETRY,
 *   or a narrowed part after a REJECT), so a write must be idempotent.
 * close(host, state): disconnects. Takes NULL. After a FEED_RETRY the core
 *   closes the instance and opens a new one.
 * reopen(host, state), optional: after SIGHUP, before the instance's next
 *   write (within a second when idle): reopen files that logrotate moved.
 * tick(host, state, err, errlen), optional: about once a second while the
 *   instance is idle (no write for a second). Check the connection if it
 *   has been idle long enough (mysql_fee pings after 5 s); FEED_RETRY, with
 *   the reason in `err`, makes the core close and reopen the instance with
 *   its usual backoff; FEED_OK does nothing.
 */
struct feed_plugin {
    unsigned abi;  /* FEED_ABI_MAJOR: set by FEED_PLUGIN_HEADER */
    unsigned size; /* sizeof (struct feed_plugin): FEED_PLUGIN_HEADER */
    enum feed_kind kind;
    const char *name;    /* as in `plugin = name` */
    const char *version; /* the plugin's own version */
    const char *summary; /* one line, for `feed-core plugins` */

    void *(*configure)(const struct feed_host *host, char *err, size_t errlen);
    void (*unconfigure)(const struct feed_host *host, void *conf);

    /* source and sink */
    enum feed_result (*open)(const struct feed_host *host, void *conf,
                             void **state, char *err, size_t errlen);
    void (*close)(const struct feed_host *host, void *state);

    /* source */
    int (*run)(const struct feed_host *host, void *state);
    void (*reply)(const struct feed_host *host, void *state, const void *tag,
                  size_t tag_len, const char *text, size_t len);

    /* parser */
    const struct feed_schema *(*schema)(const struct feed_host *host,
                                        void *conf);
    int (*parse)(const struct feed_host *host, void *conf, const char *body,
                 size_t len, struct feed_out *out, char *err, size_t errlen);

    /* sink */
    enum feed_result (*write)(const struct feed_host *host, void *state,
                              const struct feed_batch *batch, size_t *bad,
                              char *err, size_t errlen);

    /* optional: source and sink */
    void (*reopen)(const struct feed_host *host, void *state);
    /* optional: sink */
    enum feed_result (*tick)(const struct feed_host *host, void *state,
                             char *err, size_t errlen);

    /* New fields go here, at the end. */
};

/*
 * The smallest descriptor ABI 2 accepts: up to and including write().
 * reopen() and tick() are read only when `size` covers them.
 */
#define FEED_PLUGIN_MIN_SIZE                                                   \
    (offsetof(struct feed_plugin, write) +                                     \
     sizeof(((struct feed_plugin *)0)->write))

/* The name of the symbol the loader looks up. */
#define FEED_PLUGIN_SYMBOL "feed_plugin"

#ifdef __cplusplus
}
#endif

#endif /* FEED_PLUGIN_H */
