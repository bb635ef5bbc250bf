#!/usr/bin/env bash
# packaging.sh - the Debian packages, from a user's side: dpkg-buildpackage
# builds feed-core and feed-core-dev from a copy of the source tree; `apt-get
# install ./*.deb` installs them on this machine; then the installed
# feed-core and pkg-config work, the example sink builds from the -dev
# package, the daemon runs as the unit runs it (user feed-core, -f,
# READY=1 on NOTIFY_SOCKET) and logrotate's snippet rotates its log and
# dead_letter with a SIGHUP. The packages are purged at the end, unless
# they were installed before the test.
. "$(dirname "$0")/lib.sh"

skip() {
    skip_all "$@"
}

if [ "${FEED_SANITIZE:-none}" != none ]; then
    skip "the packages build their own binaries; the plain build tests them"
fi
if [ "$(id -u)" -ne 0 ]; then
    skip "installing packages needs root"
fi
for tool in dpkg-buildpackage dh apt-get logrotate setpriv flock; do
    command -v "$tool" >/dev/null ||
        skip "$tool is missing (tools/install-deps installs it)"
done

# The packages and their folders are the machine's, not this test's: one
# packaging test at a time on a machine, whichever build dir runs it.
exec 9>/var/lock/feed-core-packaging-test.lock
if ! flock -w 420 9; then
    skip "another packaging test has held the machine for 7 minutes"
fi

VERSION=$(meson introspect --projectinfo "$BUILD_ROOT" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
expect_eq "debian/changelog has the project's version" \
    "$(dpkg-parsechangelog -l "$SRC_ROOT/debian/changelog" -S Version)" \
    "$VERSION"

# --- build from a clean copy of the source tree ----------------------------
# In a git checkout: the tracked files as they are in the work tree, and new
# ones not ignored (in CI, a fresh clone, exactly the commit). Otherwise
# everything but build folders.
SRC=$T/src/feed-core-$VERSION
mkdir -p "$SRC"
git_() {
    git -c safe.directory='*' -C "$SRC_ROOT" "$@"
}
if git_ rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git_ ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
            case "$SRC_ROOT/$f" in
            "$BUILD_ROOT"/*) continue ;;
            esac
            [ -e "$SRC_ROOT/$f" ] && printf '%s\0' "$f"
        done | tar -C "$SRC_ROOT" --null -T - -cf -
else
    tar -C "$SRC_ROOT" --exclude=./.git --exclude='./build*' --exclude=./work \
        --exclude="./${BUILD_ROOT#"$SRC_ROOT"/}" -cf - .
fi | tar -xf - -C "$SRC"
check "the copy has debian/rules, executable" test -x "$SRC/debian/rules"
# nocheck: the unit suite runs on its own in the same test run.
(cd "$SRC" && DEB_BUILD_OPTIONS="nocheck noautodbgsym" \
    DEB_BUILD_PROFILES=nocheck dpkg-buildpackage -us -uc -b) \
    >"$T/build.log" 2>&1
rc=$?
expect_eq "dpkg-buildpackage -us -uc -b exits 0" "$rc" 0
if [ "$rc" -ne 0 ]; then
    tail -n 30 "$T/build.log" | sed 's/^/#   /'
    finish
fi
ARCH=$(dpkg --print-architecture)
for p in feed-core feed-core-dev; do
    check "it builds ${p}_${VERSION}_$ARCH.deb" \
        test -f "$T/src/${p}_${VERSION}_$ARCH.deb"
done
dev_files=$(dpkg -c "$T/src/feed-core-dev_${VERSION}_$ARCH.deb" |
    grep -E -e '/usr/include/feed/plugin\.h$' -e '/feed-plugin\.pc$' \
        -e '/examples/jsonl_sink/jsonl_sink\.c$' | wc -l)
expect_eq "the -dev package ships the header, the .pc file and the example" \
    "$dev_files" 3

# --- install with apt-get ---------------------------------------------------
# MARK says this test installed the packages, so that a run that was killed
# before it could purge them is cleaned up after by the next one.
MARK=/var/tmp/feed-core-packaging-test.installed
if [ -e "$MARK" ]; then
    note "a packaging test was killed before it could purge: cleaning up"
    (dpkg --configure -a &&
        dpkg --purge --force-remove-reinstreq feed-core-dev feed-core) \
        >"$T/recover.log" 2>&1 || sed 's/^/#   /' "$T/recover.log"
fi
installed_before=()
for p in feed-core feed-core-dev; do
    if [ ! -e "$MARK" ] && dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
        grep -q "install ok installed"; then
        installed_before+=("$p")
    fi
done
if [ ${#installed_before[@]} -gt 0 ]; then
    note "${installed_before[*]} installed before the test: left installed"
fi
SYSTEM_DAEMON=""
if [ -x /usr/bin/feed-core ] &&
    /usr/bin/feed-core -c /etc/feed-core/feed.ini status >/dev/null 2>&1; then
    SYSTEM_DAEMON=1
fi
RUNDIR_BEFORE=""
if [ -d /run/feed-core ]; then
    RUNDIR_BEFORE=1
fi
# The installed binaries, whatever else PATH holds.
FC=/usr/bin/feed-core
FS=/usr/bin/feed-send

FG=""
remove_packages() {
    if [ -n "$FG" ]; then
        kill -TERM "$FG" 2>/dev/null
        wait "$FG" 2>/dev/null
    fi
    rm -f /var/lib/feed-core/trades.jsonl
    if [ ${#installed_before[@]} -eq 0 ]; then
        rm -f /var/lib/feed-core/rejected.jsonl*
        if [ -z "$RUNDIR_BEFORE" ]; then
            rmdir /run/feed-core 2>/dev/null
        fi
        if DEBIAN_FRONTEND=noninteractive apt-get purge -y -q feed-core-dev \
            feed-core >"$T/purge.log" 2>&1; then
            rm -f "$MARK"
        else
            echo "# apt-get purge failed:"
            sed 's/^/#   /' "$T/purge.log"
        fi
    fi
    cleanup
}
trap remove_packages EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ ${#installed_before[@]} -eq 0 ]; then
    touch "$MARK"
fi

(cd "$T/src" && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends ./*.deb) >"$T/install.log" 2>&1
expect_eq "apt-get install ./*.deb exits 0" "$?" 0
expect_eq "feed-core --version" "$("$FC" --version)" \
    "feed-core $VERSION (plugin ABI 2)"
expect_eq "pkg-config --modversion feed-plugin" \
    "$(env -u PKG_CONFIG_PATH pkg-config --modversion feed-plugin)" \
    "$VERSION"
PLUGINDIR=$(env -u PKG_CONFIG_PATH pkg-config --variable=plugindir \
    feed-plugin)
check "plugindir holds the installed plugins" \
    test -f "$PLUGINDIR/zmq_rep.so" -a -f "$PLUGINDIR/mysql_fee.so"
out=$("$FC" plugins)
expect_eq "feed-core plugins lists the default plugin_dir" \
    "$(printf '%s\n' "$out" | awk '{print $1}' | tr '\n' ' ')" \
    "csv_trade mysql_fee zmq_rep "
check "the package created the system user feed-core" \
    getent passwd feed-core
expect_eq "feed.ini is readable by root and the daemon's group only" \
    "$(stat -c '%U:%G %a' /etc/feed-core/feed.ini)" "root:feed-core 640"
for f in /var/lib/feed-core /var/log/feed-core \
    /var/log/feed-core/feed-core.log /var/lib/feed-core/rejected.jsonl; do
    expect_eq "$f belongs to feed-core" "$(stat -c '%U:%G' "$f")" \
        "feed-core:feed-core"
done
expect_eq "the man pages are in the package" \
    "$(dpkg -L feed-core | grep -c -e '/man8/feed-core\.8\.gz$' \
        -e '/man5/feed\.ini\.5\.gz$')" 2
UNIT=$(dpkg -L feed-core | grep '/systemd/system/feed-core\.service$')
out=$(systemd-analyze verify --man=no "$UNIT" 2>&1)
expect_eq "systemd-analyze verify passes on the installed unit" "$?/$out" "0/"
out=$("$FC" -c /etc/feed-core/feed.ini check 2>&1)
expect_eq "the installed feed.ini passes check as root" "$?" 0
out=$(setpriv --reuid=feed-core --regid=feed-core --init-groups \
    "$FC" -c /etc/feed-core/feed.ini check 2>&1)
expect_eq "the installed feed.ini passes check as feed-core" "$?" 0

# --- the example from the -dev package --------------------------------------
EX=$T/jsonl_sink
cp -r /usr/share/feed-core/examples/jsonl_sink "$EX"
(env -u PKG_CONFIG_PATH meson setup "$EX/build" "$EX" &&
    meson compile -C "$EX/build") >"$T/example.log" 2>&1
expect_eq "the packaged example builds against the packages" "$?" 0

# --- the daemon as the unit runs it, and logrotate --------------------------
if [ -n "$SYSTEM_DAEMON" ]; then
    note "a feed-core of this machine is running: not starting another"
    finish
fi
USER_=$(sed -n 's/^User=//p' "$UNIT")
GROUP_=$(sed -n 's/^Group=//p' "$UNIT")
# What RuntimeDirectory= would create.
install -d -o "$USER_" -g "$GROUP_" -m 0755 /run/feed-core
# The installed [core] (so logrotate's `feed-core status` finds this
# daemon), the example as the sink.
PORT=$(free_port)
INI=$T/feed.ini
{
    sed -n '/^\[core\]/,/^\[/{/^\[core\]/p;/^\[/!p}' /etc/feed-core/feed.ini
    cat <<EOF
[source]
plugin = zmq_rep
endpoint = tcp://127.0.0.1:$PORT

[parser]
plugin = csv_trade

[sink]
plugin = $EX/build/jsonl_sink.so
path = /var/lib/feed-core/trades.jsonl
EOF
} >"$INI"
chmod 644 "$INI"
EXEC=$(sed -n 's/^ExecStart=//p' "$UNIT")
read -r -a argv <<<"${EXEC/\/etc\/feed-core\/feed.ini/$INI}"
"$NOTIFY_LISTEN" "$T/notify.sock" 20000 >"$T/notify.out" &
listener=$!
wait_until 10 grep -q LISTENING "$T/notify.out"
chmod 777 "$T/notify.sock"
NOTIFY_SOCKET=$T/notify.sock setpriv --reuid="$USER_" --regid="$GROUP_" \
    --init-groups "${argv[@]}" 2>"$T/fg.err" &
FG=$!
wait "$listener"
rc=$?
expect_eq "as $USER_, ExecStart= sends READY=1" "$rc" 0
if [ "$rc" -ne 0 ]; then
    sed 's/^/#   /' "$T/fg.err" /var/log/feed-core/feed-core.log
    finish
fi
expect_eq "the installed status command finds it" \
    "$("$FC" -c /etc/feed-core/feed.ini status)" \
    "feed-core is running (pid $FG)"
printf '7,42,1.5\n' >"$T/good.csv"
printf '8,42,-1\n' >"$T/bad.csv"
"$FS" -q -e "tcp://127.0.0.1:$PORT" "$T/good.csv"
expect_eq "a trade is acknowledged" "$?" 0
"$FS" -q -e "tcp://127.0.0.1:$PORT" "$T/bad.csv" 2>/dev/null
expect_eq "a malformed trade is refused" "$?" 1
expect_eq "the trade is in the sink's file" \
    "$(cat /var/lib/feed-core/trades.jsonl)" \
    '{"ticket":7,"login":42,"volume":1.5}'
expect_eq "the files belong to $USER_" \
    "$(stat -c %U /var/log/feed-core/feed-core.log \
        /var/lib/feed-core/rejected.jsonl | sort -u)" "$USER_"

logrotate -f -s "$T/logrotate.state" /etc/logrotate.d/feed-core \
    >"$T/logrotate.log" 2>&1
expect_eq "logrotate -f on the installed snippet exits 0" "$?" 0
check "the log was rotated" test -s /var/log/feed-core/feed-core.log.1
check "dead_letter was rotated" test -s /var/lib/feed-core/rejected.jsonl.1
wait_until 10 grep -q "SIGHUP: log and dead_letter reopened" \
    /var/log/feed-core/feed-core.log
expect_eq "the daemon got SIGHUP and writes the new log" "$?" 0
"$FS" -q -e "tcp://127.0.0.1:$PORT" "$T/bad.csv" 2>/dev/null
expect_eq "the next refusal goes to the new dead_letter file" \
    "$(grep -c 'volume is not a number' /var/lib/feed-core/rejected.jsonl)" 1
expect_eq "the new files belong to $USER_" \
    "$(stat -c %U /var/log/feed-core/feed-core.log \
        /var/lib/feed-core/rejected.jsonl | sort -u)" "$USER_"

kill -TERM "$FG"
wait "$FG"
expect_eq "SIGTERM stops it with exit 0" "$?" 0
FG=""
check "it removed its pidfile" test ! -e /run/feed-core/feed-core.pid

finish
