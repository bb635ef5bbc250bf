/*
 * test_privs.c - who the daemon runs as, and dropping root.
 *
 * Dropping privileges cannot be undone, so every drop happens in a forked
 * child, which checks the result itself and sends back a line saying what
 * is wrong ("" when all is well). Cases for an unprivileged start run in a
 * child that becomes `nobody` first when the test runs as root; root-only
 * cases are skipped otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <feed/plugin.h>

#include "privs.h"

#define REQUIRED_MSG                                                           \
    "required when started as root (write user = root to really run as root)"

struct outcome {
    int rc;
    char text[FEED_ERR_MAX];
};

typedef int (*child_fn)(const void *arg, char *text, size_t len);

static void
skip_unless_root(void)
{
    if (geteuid() != 0) {
        skip();
    }
}

static const struct passwd *
nobody_or_skip(void)
{
    static struct passwd copy;
    struct passwd *pw = getpwnam("nobody");

    if (pw == NULL) {
        skip();
    }
    copy = *pw;
    return &copy;
}

/* Drops to nobody when root; returns -1 when that is impossible. */
static int
become_unprivileged(void)
{
    struct passwd *pw;

    if (geteuid() != 0) {
        return 0;
    }
    pw = getpwnam("nobody");
    if (pw == NULL || setgroups(0, NULL) == -1 ||
        setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
        setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
        return -1;
    }
    return 0;
}

/*
 * Runs fn(arg) in a child (unprivileged first when asked); returns its
 * return value and the text it wrote.
 */
static struct outcome
in_child(child_fn fn, const void *arg, int unprivileged)
{
    struct outcome o;
    int fds[2];
    pid_t pid;
    int status;

    memset(&o, 0, sizeof o);
    fflush(NULL);
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    pid = fork();
    assert_int_not_equal(pid, -1);
    if (pid == 0) {
        close(fds[0]);
        if (unprivileged && become_unprivileged() == -1) {
            _exit(1);
        }
        o.rc = fn(arg, o.text, sizeof o.text);
        /* _exit: no atexit handlers (a leak check) as another user. */
        _exit(write(fds[1], &o, sizeof o) == (ssize_t)sizeof o ? 0 : 2);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &o, sizeof o), (ssize_t)sizeof o);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return o;
}

/* What the child found wrong, or "" when all is well. */
static void
assert_child_ok(const struct outcome *o)
{
    assert_string_equal(o->text, "");
    assert_int_equal(o->rc, 0);
}

/* ------------------------------------------------------------------
 * privs_resolve()
 */

static void
as_root_a_user_is_required(void **state)
{
    char err[FEED_ERR_MAX] = "";
    enum privs_key key = PRIVS_KEY_GROUP;
    struct privs p;
    int warn = -1;

    (void)state;
    skip_unless_root();
    assert_int_equal(
        privs_resolve(NULL, NULL, &p, &warn, &key, err, sizeof err), -1);
    assert_int_equal(key, PRIVS_KEY_USER);
    assert_string_equal(err, REQUIRED_MSG);
    assert_int_equal(warn, 0);
    /* A group alone is no user either. */
    assert_int_equal(
        privs_resolve(NULL, "nogroup", &p, &warn, &key, err, sizeof err), -1);
    assert_int_equal(key, PRIVS_KEY_USER);
    assert_string_equal(err, REQUIRED_MSG);
}

static void
an_unknown_user_is_refused(void **state)
{
    char err[FEED_ERR_MAX] = "";
    enum privs_key key = PRIVS_KEY_GROUP;
    struct privs p;
    int warn;

    (void)state;
    assert_int_equal(privs_resolve("no-such-user-feed", NULL, &p, &warn, &key,
                                   err, sizeof err),
                     -1);
    assert_int_equal(key, PRIVS_KEY_USER);
    assert_string_equal(err, "unknown user \"no-such-user-feed\"");
}

static void
an_unknown_group_is_refused(void **state)
{
    char err[FEED_ERR_MAX] = "";
    enum privs_key key = PRIVS_KEY_USER;
    /* As root a user is needed first; otherwise the group alone will do. */
    const char *user = geteuid() == 0 ? "nobody" : NULL;
    struct privs p;
    int warn;

    (void)state;
    if (user != NULL) {
        nobody_or_skip();
    }
    assert_int_equal(privs_resolve(user, "no-such-group-feed", &p, &warn, &key,
                                   err, sizeof err),
                     -1);
    assert_int_equal(key, PRIVS_KEY_GROUP);
    assert_string_equal(err, "unknown group \"no-such-group-feed\"");
}

static void
root_as_the_user_is_allowed_with_a_warning(void **state)
{
    char err[FEED_ERR_MAX] = "";
    enum privs_key key;
    struct privs p;
    int warn = 0;

    (void)state;
    skip_unless_root();
    assert_int_equal(
        privs_resolve("root", NULL, &p, &warn, &key, err, sizeof err), 0);
    assert_int_equal(warn, 1);
    assert_int_equal(p.change, 1);
    assert_int_equal(p.uid, 0);
    assert_int_equal(p.gid, 0);
    assert_string_equal(p.user, "root");
}

static void
nobody_resolves_to_its_uid_and_primary_group(void **state)
{
    const struct passwd *pw;
    char err[FEED_ERR_MAX] = "";
    enum privs_key key;
    struct privs p;
    int warn = -1;

    (void)state;
    skip_unless_root();
    pw = nobody_or_skip();
    assert_int_equal(
        privs_resolve("nobody", NULL, &p, &warn, &key, err, sizeof err), 0);
    assert_int_equal(warn, 0);
    assert_int_equal(p.change, 1);
    assert_int_equal(p.uid, pw->pw_uid);
    assert_int_equal(p.gid, pw->pw_gid);
    assert_string_equal(p.user, "nobody");
    assert_string_equal(err, "");
}

static void
a_group_overrides_the_primary_group(void **state)
{
    const struct passwd *pw;
    char err[FEED_ERR_MAX] = "";
    enum privs_key key;
    struct privs p;
    struct group *gr;
    int warn;

    (void)state;
    skip_unless_root();
    pw = nobody_or_skip();
    gr = getgrnam("root");
    assert_non_null(gr);
    assert_int_not_equal(gr->gr_gid, pw->pw_gid);
    assert_int_equal(
        privs_resolve("nobody", "root", &p, &warn, &key, err, sizeof err), 0);
    assert_int_equal(p.uid, pw->pw_uid);
    assert_int_equal(p.gid, 0);
    assert_int_equal(warn, 0);
}

/* The current user's and group's names, for the unprivileged cases. */
static int
resolve_as_myself(const void *arg, char *text, size_t len)
{
    struct passwd *pw = getpwuid(geteuid());
    struct group *gr = getgrgid(getegid());
    enum privs_key key;
    struct privs p;
    int warn = -1;

    (void)arg;
    if (pw == NULL || gr == NULL) {
        snprintf(text, len, "no name for uid %ld or gid %ld", (long)geteuid(),
                 (long)getegid());
        return -1;
    }
    if (privs_resolve(pw->pw_name, gr->gr_name, &p, &warn, &key, text, len) ==
        -1) {
        return -1;
    }
    if (p.change != 0 || p.uid != geteuid() || p.gid != getegid() ||
        warn != 0) {
        snprintf(text, len, "change=%d uid=%ld gid=%ld warn=%d", p.change,
                 (long)p.uid, (long)p.gid, warn);
        return -1;
    }
    /* Neither key is needed without root. */
    if (privs_resolve(NULL, NULL, &p, &warn, &key, text, len) == -1) {
        return -1;
    }
    return p.change;
}

static void
without_root_staying_who_we_are_is_allowed(void **state)
{
    struct outcome o;

    (void)state;
    nobody_or_skip();
    o = in_child(resolve_as_myself, NULL, 1);
    assert_child_ok(&o);
}

struct names {
    const char *user;
    const char *group;
};

static int
resolve_names(const void *arg, char *text, size_t len)
{
    const struct names *n = arg;
    enum privs_key key = (enum privs_key) - 1;
    struct privs p;
    int warn;
    int rc = privs_resolve(n->user, n->group, &p, &warn, &key, text, len);

    return rc == -1 ? (key == PRIVS_KEY_USER ? 10 : 20) : rc;
}

static void
without_root_another_user_is_refused(void **state)
{
    struct names n = {"root", NULL};
    char want[FEED_ERR_MAX];
    struct outcome o;
    uid_t uid;

    (void)state;
    uid = geteuid() == 0 ? nobody_or_skip()->pw_uid : geteuid();
    o = in_child(resolve_names, &n, 1);
    assert_int_equal(o.rc, 10);
    snprintf(want, sizeof want,
             "started as uid %ld, cannot switch to user "
             "\"root\": start as root or as root",
             (long)uid);
    assert_string_equal(o.text, want);
}

static void
without_root_another_group_is_refused(void **state)
{
    struct names n = {NULL, "root"};
    char want[FEED_ERR_MAX];
    struct outcome o;
    gid_t gid;

    (void)state;
    gid = geteuid() == 0 ? nobody_or_skip()->pw_gid : getegid();
    if (gid == 0) {
        skip();
    }
    o = in_child(resolve_names, &n, 1);
    assert_int_equal(o.rc, 20);
    snprintf(want, sizeof want,
             "started with gid %ld, cannot switch to group "
             "\"root\": start as root",
             (long)gid);
    assert_string_equal(o.text, want);
}

static void
without_root_an_unknown_user_or_group_is_refused(void **state)
{
    struct names user = {"no-such-user-feed", NULL};
    struct names group = {NULL, "no-such-group-feed"};
    struct outcome o;

    (void)state;
    nobody_or_skip();
    o = in_child(resolve_names, &user, 1);
    assert_int_equal(o.rc, 10);
    assert_string_equal(o.text, "unknown user \"no-such-user-feed\"");
    o = in_child(resolve_names, &group, 1);
    assert_int_equal(o.rc, 20);
    assert_string_equal(o.text, "unknown group \"no-such-group-feed\"");
}

/* ------------------------------------------------------------------
 * privs_drop()
 */

/* The hex value of `field` ("CapEff") in /proc/self/status, or -1. */
static long long
proc_status(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t n = strlen(field);
    long long value = -1;

    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            value = strtoll(line + n + 1, NULL, 16);
            break;
        }
    }
    fclose(f);
    return value;
}

/* Drops to arg (user, group) and checks every way back to root. */
static int
drop_and_check(const void *arg, char *text, size_t len)
{
    const struct names *n = arg;
    char err[FEED_ERR_MAX] = "";
    enum privs_key key;
    struct privs p;
    gid_t groups[256];
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    int ngroups;
    int warn;

    /* As the daemon does: no_new_privs first, before any thread. */
    if (privs_resolve(n->user, n->group, &p, &warn, &key, err, sizeof err) ==
            -1 ||
        privs_no_new_privs(err, sizeof err) == -1 ||
        privs_drop(&p, err, sizeof err) == -1) {
        snprintf(text, len, "%s", err);
        return -1;
    }
    if (getresuid(&ruid, &euid, &suid) == -1 || ruid != p.uid ||
        euid != p.uid || suid != p.uid) {
        snprintf(text, len, "uids %ld %ld %ld, want %ld", (long)ruid,
                 (long)euid, (long)suid, (long)p.uid);
        return -1;
    }
    if (getresgid(&rgid, &egid, &sgid) == -1 || rgid != p.gid ||
        egid != p.gid || sgid != p.gid) {
        snprintf(text, len, "gids %ld %ld %ld, want %ld", (long)rgid,
                 (long)egid, (long)sgid, (long)p.gid);
        return -1;
    }
    ngroups = getgroups(256, groups);
    for (int i = 0; i < ngroups; i++) {
        if (groups[i] == 0) {
            snprintf(text, len, "still in group 0");
            return -1;
        }
    }
    if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1 ||
        setgroups(0, NULL) != -1) {
        snprintf(text, len, "root came back");
        return -1;
    }
    if (proc_status("CapEff") != 0 || proc_status("CapPrm") != 0) {
        snprintf(text, len, "capabilities left: CapEff %llx CapPrm %llx",
                 proc_status("CapEff"), proc_status("CapPrm"));
        return -1;
    }
    if (proc_status("NoNewPrivs") != 1) {
        snprintf(text, len, "NoNewPrivs is not set");
        return -1;
    }
    return 0;
}

static void
dropping_to_nobody_leaves_no_way_back_to_root(void **state)
{
    struct names n = {"nobody", NULL};
    struct outcome o;

    (void)state;
    skip_unless_root();
    nobody_or_skip();
    o = in_child(drop_and_check, &n, 0);
    assert_child_ok(&o);
}

static int
drop_with_group(const void *arg, char *text, size_t len)
{
    const struct group *gr = getgrnam("daemon");
    gid_t groups[256];
    int ngroups;
    int found = 0;

    if (gr == NULL) {
        snprintf(text, len, "no group daemon");
        return -1;
    }
    gid_t want = gr->gr_gid;
    if (drop_and_check(arg, text, len) == -1) {
        return -1;
    }
    if (getgid() != want) {
        snprintf(text, len, "gid %ld, want %ld", (long)getgid(), (long)want);
        return -1;
    }
    /* initgroups(user, group) puts the group in the list too. */
    ngroups = getgroups(256, groups);
    for (int i = 0; i < ngroups; i++) {
        found |= groups[i] == want;
    }
    if (!found) {
        snprintf(text, len, "group %ld is not in the supplementary list",
                 (long)want);
        return -1;
    }
    return 0;
}

static void
dropping_with_a_group_uses_it_as_the_primary_group(void **state)
{
    struct names n = {"nobody", "daemon"};
    struct outcome o;

    (void)state;
    skip_unless_root();
    nobody_or_skip();
    if (getgrnam("daemon") == NULL) {
        skip();
    }
    o = in_child(drop_with_group, &n, 0);
    assert_child_ok(&o);
}

static void
dropping_is_a_no_op_without_a_change(void **state)
{
    char err[FEED_ERR_MAX] = "";
    struct privs p;
    uid_t uid = getuid();
    gid_t gid = getgid();

    (void)state;
    memset(&p, 0, sizeof p);
    p.uid = 12345;
    p.gid = 12345;
    assert_int_equal(privs_drop(&p, err, sizeof err), 0);
    assert_int_equal(getuid(), uid);
    assert_int_equal(getgid(), gid);
    assert_string_equal(err, "");
}

static int
drop_as_nobody(const void *arg, char *text, size_t len)
{
    const struct passwd *pw = arg;
    struct privs p;

    memset(&p, 0, sizeof p);
    p.change = 1;
    p.uid = pw->pw_uid;
    p.gid = pw->pw_gid;
    snprintf(p.user, sizeof p.user, "%s", pw->pw_name);
    return privs_drop(&p, text, len);
}

static void
dropping_without_root_fails_at_initgroups(void **state)
{
    const struct passwd *pw;
    struct outcome o;

    (void)state;
    pw = nobody_or_skip();
    o = in_child(drop_as_nobody, pw, 1);
    assert_int_equal(o.rc, -1);
    assert_string_equal(o.text, "initgroups(nobody): Operation not "
                                "permitted");
}

/* How many threads this process has (a sanitizer may add its own). */
static int
threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    while (d != NULL && (e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

#define NOT_ALONE (-3)

static int
drop_without_cap_setuid(const void *arg, char *text, size_t len)
{
    struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];

    /*
     * Capabilities are per thread while glibc's setuid acts on all of them
     * and aborts when they disagree: only a lone thread can do this.
     */
    if (threads() != 1) {
        return NOT_ALONE;
    }

    if (syscall(SYS_capget, &head, data) == -1) {
        snprintf(text, len, "capget: %s", strerror(errno));
        return -2;
    }
    data[0].effective &= ~(1U << CAP_SETUID);
    if (syscall(SYS_capset, &head, data) == -1) {
        snprintf(text, len, "capset: %s", strerror(errno));
        return -2;
    }
    return drop_as_nobody(arg, text, len);
}

static void
a_failed_setuid_is_reported_with_the_uid(void **state)
{
    const struct passwd *pw;
    char want[FEED_ERR_MAX];
    struct outcome o;

    (void)state;
    skip_unless_root();
    pw = nobody_or_skip();
    /* Root without CAP_SETUID gets past initgroups and setgid only. */
    o = in_child(drop_without_cap_setuid, pw, 0);
    if (o.rc == NOT_ALONE) {
        skip();
    }
    assert_int_equal(o.rc, -1);
    snprintf(want, sizeof want, "setuid(%ld): Operation not permitted",
             (long)pw->pw_uid);
    assert_string_equal(o.text, want);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(as_root_a_user_is_required),
        cmocka_unit_test(an_unknown_user_is_refused),
        cmocka_unit_test(an_unknown_group_is_refused),
        cmocka_unit_test(root_as_the_user_is_allowed_with_a_warning),
        cmocka_unit_test(nobody_resolves_to_its_uid_and_primary_group),
        cmocka_unit_test(a_group_overrides_the_primary_group),
        cmocka_unit_test(without_root_staying_who_we_are_is_allowed),
        cmocka_unit_test(without_root_another_user_is_refused),
        cmocka_unit_test(without_root_another_group_is_refused),
        cmocka_unit_test(without_root_an_unknown_user_or_group_is_refused),
        cmocka_unit_test(dropping_to_nobody_leaves_no_way_back_to_root),
        cmocka_unit_test(dropping_with_a_group_uses_it_as_the_primary_group),
        cmocka_unit_test(dropping_is_a_no_op_without_a_change),
        cmocka_unit_test(dropping_without_root_fails_at_initgroups),
        cmocka_unit_test(a_failed_setuid_is_reported_with_the_uid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
