/*
 * acl.h - the `allow` list of zmq_rep: peer addresses and networks, IPv4
 * and IPv6.
 */
#ifndef ZMQ_REP_ACL_H
#define ZMQ_REP_ACL_H

#include <stddef.h>

struct acl;

/*
 * Parses a comma-separated list of addresses and CIDR networks
 * ("127.0.0.1, 10.20.0.0/16, ::1, fd00::/8") into *out, which the caller
 * frees with acl_free(). Returns 0, or -1 with the reason in err.
 */
int acl_parse(const char *list, struct acl **out, char *err, size_t errlen);

/*
 * Nonzero when address (text, as ZeroMQ reports a peer: "10.20.1.7",
 * "::1", "::ffff:10.20.1.7") is in the list. A NULL list allows any
 * address; an address that does not parse is never allowed.
 */
int acl_allows(const struct acl *acl, const char *address);

/* How many entries the list has. */
size_t acl_size(const struct acl *acl);

/* Frees a list; takes NULL. */
void acl_free(struct acl *acl);

#endif
