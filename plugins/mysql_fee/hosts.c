/*
 * hosts.c - the `host` list and what makes a host ready.
 *
 * Owns parsing `host = db1:3306, db2, [::1]:3307` into addresses (the
 * `port` key is the default for items without one) with the text that
 * names each in messages, and the rule that decides from a server's wsrep
 * variables whether it is ready for writes. Pure: no connection is made
 * here, so all of it can be tested without a server. Walking the list is
 * conn.c's.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mysql_fee.h"

/* 1 for a blank that may surround an item. */
static int
is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/*
 * Reads the port of `item` (the whole item, for messages) from
 * [p, p + len): 1 to 65535 digits only. Returns 0, or -1 with err set.
 */
static int
parse_port(const char *item, int item_len, const char *p, size_t len,
           unsigned int *port, char *err, size_t errlen)
{
    unsigned long n = 0;

    if (len == 0 || strspn(p, "0123456789") < len) {
        snprintf(err, errlen, "\"%.*s\": port \"%.*s\" is not a number",
                 item_len, item, (int)len, p);
        return -1;
    }
    for (size_t i = 0; i < len && n <= 65535; i++) {
        n = n * 10 + (unsigned long)(p[i] - '0');
    }
    if (n < 1 || n > 65535) {
        snprintf(err, errlen, "\"%.*s\": port %.*s is out of range 1-65535",
                 item_len, item, (int)len, p);
        return -1;
    }
    *port = (unsigned int)n;
    return 0;
}

/* One item taken apart: its name and, if it has one, its port's text. */
struct parts {
    const char *name;
    size_t name_len;
    const char *colon; /* the ':' before the port; NULL: no port */
};

/*
 * Finds the name and the port of one item, [item, item + len) without
 * blanks around it: `name`, `name:port`, `[address]`, `[address]:port`,
 * or an IPv6 address without brackets (two colons or more), which has no
 * port. Returns 0, or -1 with err set.
 */
static int
split_item(const char *item, size_t len, struct parts *p, char *err,
           size_t errlen)
{
    int ilen = (int)len;
    size_t colons = 0;

    p->name = item;
    p->name_len = len;
    p->colon = NULL;
    if (item[0] == '[') {
        const char *close = memchr(item, ']', len);

        if (close == NULL) {
            snprintf(err, errlen, "\"%.*s\": '[' is not closed", ilen, item);
            return -1;
        }
        p->name = item + 1;
        p->name_len = (size_t)(close - p->name);
        if ((size_t)(close + 1 - item) < len) {
            if (close[1] != ':') {
                snprintf(err, errlen, "\"%.*s\": expected ':' after ']'", ilen,
                         item);
                return -1;
            }
            p->colon = close + 1;
        }
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (item[i] == ':') {
            colons++;
            p->colon = item + i;
        }
    }
    if (colons > 1) {
        p->colon = NULL;
    } else if (p->colon != NULL) {
        p->name_len = (size_t)(p->colon - item);
    }
    return 0;
}

/*
 * Reads one item, [item, item + len) without blanks around it, into *out;
 * def_port is the port when the item has none. Returns 0, or -1 with err
 * set.
 */
static int
parse_item(const char *item, size_t len, unsigned int def_port,
           struct dbhost *out, char *err, size_t errlen)
{
    int ilen = (int)len;
    struct parts p;

    if (split_item(item, len, &p, err, errlen) == -1) {
        return -1;
    }
    if (p.name_len == 0) {
        snprintf(err, errlen, "\"%.*s\": no host name", ilen, item);
        return -1;
    }
    for (size_t i = 0; i < p.name_len; i++) {
        char ch = p.name[i];

        if (is_blank(ch) || ch == '[' || ch == ']') {
            snprintf(err, errlen, "\"%.*s\": unexpected '%c' in the host name",
                     ilen, item, ch);
            return -1;
        }
    }
    if (p.name_len >= sizeof out->name) {
        snprintf(err, errlen, "\"%.*s\": host name longer than %zu bytes", ilen,
                 item, sizeof out->name - 1);
        return -1;
    }
    out->port = def_port;
    if (p.colon != NULL &&
        parse_port(item, ilen, p.colon + 1, len - (size_t)(p.colon + 1 - item),
                   &out->port, err, errlen) == -1) {
        return -1;
    }
    memcpy(out->name, p.name, p.name_len);
    out->name[p.name_len] = '\0';
    /* An IPv6 address takes brackets, so that its port stands apart. */
    snprintf(out->where, sizeof out->where,
             memchr(p.name, ':', p.name_len) != NULL ? "[%s]:%u" : "%s:%u",
             out->name, out->port);
    return 0;
}

/*
 * Parses a comma-separated host list into out[0..*n). Blanks around items
 * are allowed; `port` is the port of items without one. Returns 0, or -1
 * with the reason in err (the item it is about in quotes, or its number
 * when empty).
 */
int
hosts_parse(const char *list, unsigned int port, struct dbhost *out, size_t max,
            size_t *n, char *err, size_t errlen)
{
    const char *p = list;
    size_t count = 0;

    for (size_t item = 1;; item++) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

        while (len > 0 && is_blank(*p)) {
            p++;
            len--;
        }
        while (len > 0 && is_blank(p[len - 1])) {
            len--;
        }
        if (len == 0) {
            snprintf(err, errlen, "item %zu is empty", item);
            return -1;
        }
        if (count == max) {
            snprintf(err, errlen, "more than %zu hosts", max);
            return -1;
        }
        if (parse_item(p, len, port, &out[count], err, errlen) == -1) {
            return -1;
        }
        count++;
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    *n = count;
    return 0;
}

/*
 * 1 when a server may take writes, from its variable wsrep_on and its
 * status wsrep_ready (NULL when the server has no such name). A Galera
 * node (wsrep_on ON) must be ready; a plain server (wsrep_on OFF, or no
 * wsrep at all) is.
 */
int
hosts_ready(const char *wsrep_on, const char *wsrep_ready)
{
    if (wsrep_on == NULL || strcasecmp(wsrep_on, "ON") != 0) {
        return 1;
    }
    return wsrep_ready != NULL && strcasecmp(wsrep_ready, "ON") == 0;
}
