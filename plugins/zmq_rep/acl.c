/*
 * acl.c - the `allow` list: which peer addresses may connect to zmq_rep.
 *
 * Owns parsing the list and matching an address against it. IPv4 peers
 * of a socket bound to an IPv6 wildcard show up as IPv4-mapped IPv6
 * addresses (::ffff:a.b.c.d); they match the IPv4 entries, as the
 * operator means them.
 */
#include "acl.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct net {
    int v6; /* 0: IPv4 in addr[0..3], 1: IPv6 */
    unsigned char addr[16];
    unsigned prefix; /* significant leading bits */
};

struct acl {
    size_t n;
    struct net nets[];
};

/* Reads "a.b.c.d" or an IPv6 address into n; 0, or -1 if it is neither. */
static int
read_address(const char *text, struct net *n)
{
    memset(n, 0, sizeof *n);
    if (inet_pton(AF_INET, text, n->addr) == 1) {
        n->v6 = 0;
        return 0;
    }
    if (inet_pton(AF_INET6, text, n->addr) != 1) {
        return -1;
    }
    /* ::ffff:a.b.c.d is an IPv4 peer on an IPv6 socket. */
    if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)n->addr)) {
        memmove(n->addr, n->addr + 12, 4);
        memset(n->addr + 4, 0, 12);
        n->v6 = 0;
        return 0;
    }
    n->v6 = 1;
    return 0;
}

/* Nonzero when the first `bits` bits of a and b are the same. */
static int
same_prefix(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    size_t whole = bits / 8;
    unsigned rest = bits % 8;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));

    if (memcmp(a, b, whole) != 0) {
        return 0;
    }
    return rest == 0 || ((a[whole] ^ b[whole]) & mask) == 0;
}

/* Parses one entry of the list ("10.0.0.0/8"); the reason goes to err. */
static int
parse_entry(const char *word, struct net *n, char *err, size_t errlen)
{
    char text[INET6_ADDRSTRLEN + 8];
    char *slash;
    unsigned max;

    if (strlen(word) >= sizeof text) {
        goto bad;
    }
    strcpy(text, word);
    slash = strchr(text, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    if (read_address(text, n) == -1) {
        goto bad;
    }
    /* A prefix of "::ffff:1.2.3.4/120" would count IPv6 bits: refuse. */
    if (!n->v6 && strchr(text, ':') != NULL) {
        snprintf(err, errlen, "\"%s\": write IPv4-mapped addresses as IPv4",
                 word);
        return -1;
    }
    max = n->v6 ? 128 : 32;
    n->prefix = max;
    if (slash != NULL) {
        char *end;
        unsigned long p = strtoul(slash + 1, &end, 10);

        if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || p > max) {
            snprintf(err, errlen, "\"%s\": the prefix length must be 0 to %u",
                     word, max);
            return -1;
        }
        n->prefix = (unsigned)p;
    }
    /* 10.20.1.0/16 is most likely a typo: refuse it rather than guess. */
    if (n->prefix < max) {
        unsigned char host[16];

        memcpy(host, n->addr, sizeof host);
        for (unsigned bit = n->prefix; bit < max; bit++) {
            host[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
        }
        if (memcmp(host, n->addr, max / 8) != 0) {
            snprintf(err, errlen,
                     "\"%s\" has address bits set past its /%u prefix", word,
                     n->prefix);
            return -1;
        }
    }
    return 0;

bad:
    snprintf(err, errlen,
             "\"%s\" is not an IPv4 or IPv6 address or network (CIDR)", word);
    return -1;
}

int
acl_parse(const char *list, struct acl **out, char *err, size_t errlen)
{
    struct acl *acl = NULL;
    char *copy = NULL;
    char *save = NULL;
    size_t n = 1;

    *out = NULL;
    for (const char *p = list; *p != '\0'; p++) {
        n += *p == ',';
    }
    copy = strdup(list);
    acl = calloc(1, sizeof *acl + n * sizeof acl->nets[0]);
    if (copy == NULL || acl == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* strtok_r would skip empty items: ",," must be an error. */
    for (char *word = copy; word != NULL; word = save) {
        size_t len;

        save = strchr(word, ',');
        if (save != NULL) {
            *save++ = '\0';
        }
        word += strspn(word, " \t");
        len = strlen(word);
        while (len > 0 && (word[len - 1] == ' ' || word[len - 1] == '\t')) {
            word[--len] = '\0';
        }
        if (len == 0) {
            snprintf(err, errlen, "an empty entry in the list");
            goto fail;
        }
        if (parse_entry(word, &acl->nets[acl->n], err, errlen) == -1) {
            goto fail;
        }
        acl->n++;
    }
    free(copy);
    *out = acl;
    return 0;

fail:
    free(copy);
    free(acl);
    return -1;
}

int
acl_allows(const struct acl *acl, const char *address)
{
    char text[INET6_ADDRSTRLEN + 1];
    struct net peer;
    size_t len;

    if (acl == NULL) {
        return 1;
    }
    /* A zone ("fe80::1%eth0") does not change who the peer is. */
    len = strcspn(address, "%");
    if (len >= sizeof text) {
        return 0;
    }
    memcpy(text, address, len);
    text[len] = '\0';
    if (read_address(text, &peer) == -1) {
        return 0;
    }
    for (size_t i = 0; i < acl->n; i++) {
        const struct net *n = &acl->nets[i];

        if (n->v6 == peer.v6 && same_prefix(n->addr, peer.addr, n->prefix)) {
            return 1;
        }
    }
    return 0;
}

size_t
acl_size(const struct acl *acl)
{
    return acl != NULL ? acl->n : 0;
}

void
acl_free(struct acl *acl)
{
    free(acl);
}
