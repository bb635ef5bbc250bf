/*
 * keyring.c - the allowed CURVE clients of zmq_rep (curve_clients).
 *
 * Owns reading a folder of public certificates (czmq's and pyzmq's
 * convention: one NAME.key file per client) and looking a key up. The
 * certificates themselves are lib/zcert's. A keyring never changes once
 * loaded; a reload builds a new one, so a failed reload leaves the old one
 * in place.
 */
#include "keyring.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zcert.h"

/* More clients than this is a mistake (the wrong folder), not a setup. */
#define KEYRING_MAX 10000

struct client {
    char public_z85[41];
    char name[ZCERT_NAME_MAX + 1];
};

struct keyring {
    size_t n;
    size_t cap;
    struct client *clients; /* sorted by public_z85 once loaded */
};

static int
by_key(const void *a, const void *b)
{
    return strcmp(((const struct client *)a)->public_z85,
                  ((const struct client *)b)->public_z85);
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(((const struct client *)a)->name,
                  ((const struct client *)b)->name);
}

/* Nonzero for "NAME.key" with a NAME. */
static int
is_public_cert(const char *file)
{
    size_t len = strlen(file);

    return len > 4 && strcmp(file + len - 4, ".key") == 0;
}

/* Reads dir/file into the next slot of k. */
static int
add(struct keyring *k, const char *dir, const char *file, char *err,
    size_t errlen)
{
    char path[4096];
    struct zcert cert;

    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >=
        sizeof path) {
        snprintf(err, errlen, "path too long: %s/%s", dir, file);
        return -1;
    }
    if (k->n == KEYRING_MAX) {
        snprintf(err, errlen, "%s: more than %d certificates", dir,
                 KEYRING_MAX);
        return -1;
    }
    if (k->n == k->cap) {
        size_t cap = k->cap == 0 ? 16 : k->cap * 2;
        struct client *grown = realloc(k->clients, cap * sizeof *grown);

        if (grown == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        k->clients = grown;
        k->cap = cap;
    }
    if (zcert_load(path, &cert, err, errlen) == -1) {
        return -1;
    }
    if (cert.has_secret) {
        explicit_bzero(&cert, sizeof cert);
        snprintf(
            err, errlen,
            "%s holds a secret key: a client's secret key stays with the client",
            path);
        return -1;
    }
    memcpy(k->clients[k->n].public_z85, cert.public_z85, 41);
    memcpy(k->clients[k->n].name, cert.name, sizeof cert.name);
    k->n++;
    return 0;
}

/* Refuses the same key or the same name twice; sorts k by key. */
static int
check_unique(struct keyring *k, char *err, size_t errlen)
{
    if (k->n < 2) {
        return 0; /* and qsort() must not see a NULL array */
    }
    qsort(k->clients, k->n, sizeof *k->clients, by_name);
    for (size_t i = 1; i < k->n; i++) {
        if (strcmp(k->clients[i - 1].name, k->clients[i].name) == 0) {
            snprintf(err, errlen, "two certificates name the client \"%s\"",
                     k->clients[i].name);
            return -1;
        }
    }
    qsort(k->clients, k->n, sizeof *k->clients, by_key);
    for (size_t i = 1; i < k->n; i++) {
        if (strcmp(k->clients[i - 1].public_z85, k->clients[i].public_z85) ==
            0) {
            snprintf(err, errlen,
                     "clients \"%s\" and \"%s\" have the same public key",
                     k->clients[i - 1].name, k->clients[i].name);
            return -1;
        }
    }
    return 0;
}

int
keyring_load(const char *dir, struct keyring **out, char *err, size_t errlen)
{
    struct keyring *k = NULL;
    DIR *d = NULL;
    struct dirent *e;

    *out = NULL;
    k = calloc(1, sizeof *k);
    if (k == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "cannot open %s: %s", dir, strerror(errno));
        goto fail;
    }
    for (;;) {
        errno = 0;
        e = readdir(d);
        if (e == NULL) {
            break;
        }
        if (is_public_cert(e->d_name) &&
            add(k, dir, e->d_name, err, errlen) == -1) {
            goto fail;
        }
    }
    if (errno != 0) {
        snprintf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (check_unique(k, err, errlen) == -1) {
        goto fail;
    }
    closedir(d);
    *out = k;
    return 0;

fail:
    if (d != NULL) {
        closedir(d);
    }
    keyring_free(k);
    return -1;
}

const char *
keyring_find(const struct keyring *k, const char *public_z85)
{
    struct client key;
    const struct client *c;

    if (k == NULL || k->n == 0 || public_z85 == NULL ||
        strlen(public_z85) != 40) {
        return NULL;
    }
    memcpy(key.public_z85, public_z85, 41);
    c = bsearch(&key, k->clients, k->n, sizeof *k->clients, by_key);
    return c != NULL ? c->name : NULL;
}

size_t
keyring_size(const struct keyring *k)
{
    return k != NULL ? k->n : 0;
}

void
keyring_free(struct keyring *k)
{
    if (k != NULL) {
        free(k->clients);
        free(k);
    }
}
