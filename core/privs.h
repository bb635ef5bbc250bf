/*
 * privs.h - who the daemon runs as, and dropping root.
 */
#ifndef FEED_PRIVS_H
#define FEED_PRIVS_H

#include <stddef.h>
#include <sys/types.h>

struct privs {
    int change; /* nonzero when started as root: drop to uid:gid */
    uid_t uid;
    gid_t gid;
    char user[256]; /* for initgroups() */
};

enum privs_key {
    PRIVS_KEY_USER,
    PRIVS_KEY_GROUP,
};

/*
 * Decides who to run as from the [core] user and group keys (either may be
 * NULL): as root, `user` is required; the group defaults to the user's
 * primary group. As another user, `user`/`group` may only name the current
 * ones. Returns 0, or -1 with the reason in err and the key to blame in
 * *key. *warn is set when running as root was asked for.
 */
int privs_resolve(const char *user, const char *group, struct privs *p,
                  int *warn, enum privs_key *key, char *err, size_t errlen);

/*
 * Drops root for every thread of the process: initgroups, setgid, setuid
 * (in that order), then checks that root cannot be regained. A no-op when
 * p->change is zero. Returns 0 or -1 with err.
 */
int privs_drop(const struct privs *p, char *err, size_t errlen);

/*
 * Makes sure nothing this process executes can gain privileges (setuid
 * binaries, file capabilities). Per thread: call it before any thread
 * starts. Returns 0 or -1 with err.
 */
int privs_no_new_privs(char *err, size_t errlen);

#endif
