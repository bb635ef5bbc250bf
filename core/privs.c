/*
 * privs.c - who the daemon runs as, and dropping root.
 *
 * Owns the user and group lookup and the drop itself. The order matters:
 * supplementary groups and the gid can only be changed while still root, so
 * initgroups and setgid come before setuid (the original PHP daemon did it
 * the other way round and kept root's gid). glibc applies each of these
 * calls to every thread, including ZeroMQ's, which already exist here.
 */
#include "privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int
lookup_group(const char *group, gid_t *gid, char *err, size_t errlen)
{
    struct group *gr;

    errno = 0;
    gr = getgrnam(group);
    if (gr == NULL) {
        snprintf(err, errlen, "unknown group \"%s\"", group);
        return -1;
    }
    *gid = gr->gr_gid;
    return 0;
}

/* Started as a user other than root: may only stay who we are. */
static int
resolve_unprivileged(const char *user, const char *group, struct privs *p,
                     enum privs_key *key, char *err, size_t errlen)
{
    uid_t me = geteuid();
    struct passwd *pw;
    gid_t gid;

    if (user != NULL) {
        pw = getpwnam(user);
        if (pw == NULL) {
            *key = PRIVS_KEY_USER;
            snprintf(err, errlen, "unknown user \"%s\"", user);
            return -1;
        }
        if (pw->pw_uid != me) {
            *key = PRIVS_KEY_USER;
            snprintf(err, errlen,
                     "started as uid %ld, cannot switch to user \"%s\": "
                     "start as root or as %s",
                     (long)me, user, user);
            return -1;
        }
    }
    if (group != NULL) {
        *key = PRIVS_KEY_GROUP;
        if (lookup_group(group, &gid, err, errlen) == -1) {
            return -1;
        }
        if (gid != getegid()) {
            snprintf(err, errlen,
                     "started with gid %ld, cannot switch to group \"%s\": "
                     "start as root",
                     (long)getegid(), group);
            return -1;
        }
    }
    p->change = 0;
    p->uid = me;
    p->gid = getegid();
    return 0;
}

int
privs_resolve(const char *user, const char *group, struct privs *p, int *warn,
              enum privs_key *key, char *err, size_t errlen)
{
    struct passwd *pw;

    memset(p, 0, sizeof *p);
    *warn = 0;
    if (geteuid() != 0) {
        return resolve_unprivileged(user, group, p, key, err, errlen);
    }
    *key = PRIVS_KEY_USER;
    if (user == NULL) {
        snprintf(err, errlen,
                 "required when started as root "
                 "(write user = root to really run as root)");
        return -1;
    }
    pw = getpwnam(user);
    if (pw == NULL) {
        snprintf(err, errlen, "unknown user \"%s\"", user);
        return -1;
    }
    p->change = 1;
    p->uid = pw->pw_uid;
    p->gid = pw->pw_gid;
    snprintf(p->user, sizeof p->user, "%s", user);
    if (group != NULL) {
        *key = PRIVS_KEY_GROUP;
        if (lookup_group(group, &p->gid, err, errlen) == -1) {
            return -1;
        }
    }
    *warn = p->uid == 0;
    return 0;
}

int
privs_drop(const struct privs *p, char *err, size_t errlen)
{
    if (!p->change) {
        return 0;
    }
    if (initgroups(p->user, p->gid) == -1) {
        snprintf(err, errlen, "initgroups(%s): %s", p->user, strerror(errno));
        return -1;
    }
    if (setresgid(p->gid, p->gid, p->gid) == -1) {
        snprintf(err, errlen, "setgid(%ld): %s", (long)p->gid, strerror(errno));
        return -1;
    }
    if (setresuid(p->uid, p->uid, p->uid) == -1) {
        snprintf(err, errlen, "setuid(%ld): %s", (long)p->uid, strerror(errno));
        return -1;
    }
    if (getuid() != p->uid || geteuid() != p->uid || getgid() != p->gid ||
        getegid() != p->gid) {
        snprintf(err, errlen, "privileges were not dropped to %ld:%ld",
                 (long)p->uid, (long)p->gid);
        return -1;
    }
    if (p->uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
        snprintf(err, errlen, "root could be regained after dropping it");
        return -1;
    }
    return 0;
}

int
privs_no_new_privs(char *err, size_t errlen)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
        snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s",
                 strerror(errno));
        return -1;
    }
    return 0;
}
