#!/usr/bin/env bash
# sdk.sh - the installed SDK, from a user's side: `meson install` into a
# DESTDIR puts every file in its place; the example sink builds out of tree
# against that install alone (pkg-config feed-plugin) and passes its own
# tests; the installed daemon runs it with `plugin = /path/to/jsonl_sink.so`
# and the trades land in its file; its unknown keys are reported as
# FILE:LINE; a plugin built for another ABI is refused in one line naming
# both versions; `feed-core plugins` lists name, kind, version and summary;
# the man pages render without a warning; the unit passes
# systemd-analyze verify.
. "$(dirname "$0")/lib.sh"

# --- meson install into a DESTDIR -----------------------------------------
DEST=$T/root
meson install -C "$BUILD_ROOT" --no-rebuild --destdir "$DEST" \
    >"$T/install.log" 2>&1
expect_eq "meson install into a DESTDIR exits 0" "$?" 0

# The folders meson was configured with, absolute.
eval "$(meson introspect --buildoptions "$BUILD_ROOT" | python3 -c '
import json, os, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
for name in ("bindir", "libdir", "includedir", "sysconfdir", "datadir",
             "mandir"):
    print("%s=%s" % (name.upper(), os.path.join(o["prefix"], o[name])))
')"
PLUGINDIR=$LIBDIR/feed-core/plugins
VERSION=$(meson introspect --projectinfo "$BUILD_ROOT" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')

for f in "$BINDIR/feed-core" "$BINDIR/feed-send" "$BINDIR/feed-sink-test" \
    "$PLUGINDIR/zmq_rep.so" "$PLUGINDIR/csv_trade.so" \
    "$PLUGINDIR/mysql_fee.so" "$INCLUDEDIR/feed/plugin.h" \
    "$LIBDIR/pkgconfig/feed-plugin.pc" "$SYSCONFDIR/feed-core/feed.ini" \
    "$DATADIR/feed-core/fee.sql" "$DATADIR/doc/feed-core/operating.md" \
    "$DATADIR/doc/feed-core/writing-plugins.md" \
    "$DATADIR/doc/feed-core/feed-send.md" \
    "$SYSCONFDIR/logrotate.d/feed-core" "$MANDIR/man8/feed-core.8" \
    "$MANDIR/man5/feed.ini.5" "$MANDIR/man3/feed_client.3" \
    "$INCLUDEDIR/feed/client.h" "$LIBDIR/pkgconfig/feed-client.pc"; do
    check "installs $f" test -f "$DEST$f"
done
UNIT=$(find "$DEST" -path '*/systemd/system/feed-core.service')
check "installs the systemd unit" test -n "$UNIT"
check "the installed header is include/feed/plugin.h" \
    cmp -s "$DEST$INCLUDEDIR/feed/plugin.h" "$SRC_ROOT/include/feed/plugin.h"
check "the installed feed.ini is conf/feed.ini" \
    cmp -s "$DEST$SYSCONFDIR/feed-core/feed.ini" "$SRC_ROOT/conf/feed.ini"

FC=$DEST$BINDIR/feed-core
FEED_CORE=$FC # lib.sh's start_daemon and cleanup use the installed one
FEED_SEND=$DEST$BINDIR/feed-send
# feed-send links libfeed-client, installed in the DESTDIR's libdir: the
# loader looks there only when told (the real libdir is on its path).
export LD_LIBRARY_PATH=$DEST$LIBDIR
out=$("$FC" --version)
expect_eq "the installed feed-core runs" "$out" \
    "feed-core $VERSION (plugin ABI 2)"

# --- pkg-config finds the SDK in the DESTDIR ------------------------------
# The sysroot maps the .pc file's /usr/... paths into the DESTDIR, as for
# any staged install.
export PKG_CONFIG_PATH=$DEST$LIBDIR/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$DEST
expect_eq "pkg-config --modversion feed-plugin is the project's version" \
    "$(pkg-config --modversion feed-plugin)" "$VERSION"
expect_eq "pkg-config --cflags feed-plugin names the installed header" \
    "$(pkg-config --cflags feed-plugin | sed 's/ *$//')" \
    "-I$DEST$INCLUDEDIR"
expect_eq "pkg-config names the plugin folder as plugindir" \
    "$(pkg-config --variable=plugindir feed-plugin)" "$DEST$PLUGINDIR"

# --- libfeed-client builds, links and runs from the install ----------------
cat >"$T/fc.c" <<'C'
#include <stdio.h>
#include <feed/client.h>

int
main(void)
{
    struct feed_client *c;
    char err[128];

    if (feed_client_new(&c, "tcp://127.0.0.1:1", NULL, err, sizeof err) !=
        FEED_CLIENT_TRUE) {
        puts(err);
        return 1;
    }
    feed_client_free(c);
    puts(feed_client_status_name(FEED_CLIENT_TIMEOUT));
    return 0;
}
C
# shellcheck disable=SC2046 # pkg-config's words are meant to split
# A sanitized build installs a sanitized library: its user must be too.
san=""
case "${FEED_SANITIZE:-none}" in none) ;; *) san="-fsanitize=$FEED_SANITIZE" ;; esac
cc -std=c11 -Wall -Wextra -Werror $san $(pkg-config --cflags feed-client) \
    -o "$T/fc" "$T/fc.c" $(pkg-config --libs feed-client) >"$T/fc.log" 2>&1
expect_eq "a client builds with pkg-config feed-client" "$?" 0
expect_eq "and runs against the installed libfeed-client" "$("$T/fc")" \
    "timeout"

# --- the installed example builds out of tree, against the install only ---
EX=$T/jsonl_sink
cp -r "$DEST$DATADIR/feed-core/examples/jsonl_sink" "$EX"
rm -rf "$EX/build"
meson setup -Dwerror=true "$EX/build" "$EX" >"$T/ex-setup.log" 2>&1
expect_eq "the example configures with meson" "$?" 0
meson compile -C "$EX/build" >"$T/ex-build.log" 2>&1
expect_eq "the example builds with -Werror" "$?" 0
check "the example's compiler sees the installed header" \
    grep -q -- "-I$DEST$INCLUDEDIR " "$EX/build/compile_commands.json"
if grep -q -- "-I$SRC_ROOT/include" "$EX/build/compile_commands.json"; then
    fail "the example does not see feed-core's source tree"
else
    pass "the example does not see feed-core's source tree"
fi
exported=$(nm -D --defined-only "$EX/build/jsonl_sink.so" |
    awk '$3 !~ /^_/ {print $3}')
expect_eq "the example exports feed_plugin and nothing else" "$exported" \
    "feed_plugin"
meson test -C "$EX/build" >"$T/ex-test.log" 2>&1
expect_eq "the example's own tests pass" "$?" 0
check "the example's own tests ran" \
    grep -q "OK ] rejects_a_record_that_is_not_utf8" \
    "$EX/build/meson-logs/testlog.txt"

# --- the installed daemon runs the example ---------------------------------
# write_ini FILE PORT SINK [EXTRA]: the default source and parser, SINK as
# [sink] plugin, EXTRA lines at the end of [sink].
write_ini() {
    mkdir -p "$(dirname "$1")"
    cat >"$1" <<EOF
[core]
pidfile = run/feed.pid
$ROOT_USER
threads = 2
log = feed.log
dead_letter = dead.jsonl
stats_interval = 0
stop_timeout = 5
plugin_dir = $DEST$PLUGINDIR

[source]
plugin = zmq_rep
endpoint = tcp://127.0.0.1:$2

[parser]
plugin = csv_trade

[sink]
plugin = $3
path = out/trades.jsonl
${4:-}
EOF
}

PORT=$(free_port)
INI=$T/run/feed.ini
write_ini "$INI" "$PORT" "$EX/build/jsonl_sink.so"
mkdir -p "$T/run/out"
out=$("$FC" -c "$INI" check)
expect_eq "check accepts the example sink" "$out" \
    "$INI: OK (source zmq_rep, parser csv_trade, sink jsonl_sink)"
out=$(start_daemon "$INI")
expect_eq "the installed daemon starts with the example sink" "$?" 0
printf '7,42,1.5\n8,42,0002.50\n' >"$T/two.csv"
printf '9,43,10\n' >"$T/one.csv"
printf '10,43,1e3\n' >"$T/bad.csv"
"$FEED_SEND" -q -e "tcp://127.0.0.1:$PORT" -n 2 "$T/two.csv"
expect_eq "a message of two trades is acknowledged" "$?" 0
"$FEED_SEND" -q -e "tcp://127.0.0.1:$PORT" "$T/one.csv"
expect_eq "a message of one trade is acknowledged" "$?" 0
"$FEED_SEND" -q -e "tcp://127.0.0.1:$PORT" "$T/bad.csv" 2>/dev/null
expect_eq "a malformed trade is refused" "$?" 1
# logrotate's way: move the file, SIGHUP; the sink's reopen() starts a new
# one (within a second, the worker being idle), the old one keeps its lines.
mv "$T/run/out/trades.jsonl" "$T/run/out/trades.jsonl.1"
kill -HUP "$(daemon_pid "$INI")"
check "after SIGHUP the example sink appends to a new file" \
    wait_until 10 test -e "$T/run/out/trades.jsonl"
printf '11,44,3\n' | "$FEED_SEND" -q -e "tcp://127.0.0.1:$PORT" -
expect_eq "a trade after the rotation is acknowledged" "$?" 0
expect_eq "it is in the new file" "$(cat "$T/run/out/trades.jsonl")" \
    '{"ticket":11,"login":44,"volume":3}'
"$FC" -c "$INI" stop >/dev/null
expect_eq "the daemon stops" "$?" 0
expect_eq "every acknowledged trade is one JSON line, in order" \
    "$(cat "$T/run/out/trades.jsonl.1")" \
    "$(printf '%s\n' '{"ticket":7,"login":42,"volume":1.5}' \
        '{"ticket":8,"login":42,"volume":2.5}' \
        '{"ticket":9,"login":43,"volume":10}')"
check "the sink logs through the core, under its name" \
    grep -q "info: jsonl_sink: appending to $T/run/out/trades.jsonl" \
    "$T/run/feed.log"

# --- configuration mistakes in the sink's section --------------------------
write_ini "$T/typo/feed.ini" "$(free_port)" "$EX/build/jsonl_sink.so" \
    "pth = other.jsonl"
line=$(grep -n '^pth = ' "$T/typo/feed.ini" | cut -d: -f1)
out=$("$FC" -c "$T/typo/feed.ini" check 2>&1)
expect_eq "an unknown key of the sink fails check" "$?" 1
expect_eq "the unknown key is reported as FILE:LINE" "$out" \
    "$T/typo/feed.ini:$line: [sink] unknown key \"pth\""

write_ini "$T/nopath/feed.ini" "$(free_port)" "$EX/build/jsonl_sink.so"
sed -i '/^path = /d' "$T/nopath/feed.ini"
line=$(grep -n '^\[sink\]' "$T/nopath/feed.ini" | cut -d: -f1)
out=$("$FC" -c "$T/nopath/feed.ini" check 2>&1)
expect_eq "a sink without path fails check" "$?" 1
expect_eq "the missing key is reported at its section" "$out" \
    "$T/nopath/feed.ini:$line: [sink] missing key \"path\""

write_ini "$T/nofolder/feed.ini" "$(free_port)" "$EX/build/jsonl_sink.so"
out=$("$FC" -c "$T/nofolder/feed.ini" start 2>&1)
expect_eq "a sink that cannot open its file: start exits 1" "$?" 1
expect_eq "start says why, in one line" "$out" \
    "feed-core: sink jsonl_sink: cannot open $T/nofolder/out/trades.jsonl: No such file or directory"

# --- ABI safety ------------------------------------------------------------
# A plugin of the core's test suite that claims ABI 99.
write_ini "$T/abi99/feed.ini" "$(free_port)" "$TEST_PLUGIN_DIR/bad_abi.so"
line=$(grep -n '^plugin = .*bad_abi' "$T/abi99/feed.ini" | cut -d: -f1)
out=$("$FC" -c "$T/abi99/feed.ini" start 2>&1)
expect_eq "a plugin built for ABI 99: start exits 1" "$?" 1
expect_eq "the refusal is one line naming both ABI versions" "$out" \
    "$T/abi99/feed.ini:$line: [sink] plugin: $TEST_PLUGIN_DIR/bad_abi.so was built for plugin ABI 99, this feed-core speaks ABI 2"
check "nothing was left running" test ! -e "$T/abi99/run/feed.pid"

# The example built against an SDK of the next ABI major: a plugin built
# for a newer feed-core than the one installed.
SDK3=$T/sdk3
mkdir -p "$SDK3$INCLUDEDIR/feed" "$SDK3$LIBDIR/pkgconfig"
sed 's/^#define FEED_ABI_MAJOR 2$/#define FEED_ABI_MAJOR 3/' \
    "$DEST$INCLUDEDIR/feed/plugin.h" >"$SDK3$INCLUDEDIR/feed/plugin.h"
cp "$DEST$LIBDIR/pkgconfig/feed-plugin.pc" "$SDK3$LIBDIR/pkgconfig/"
check "the ABI 3 header differs from the installed one only in its number" \
    test "$(diff "$DEST$INCLUDEDIR/feed/plugin.h" \
        "$SDK3$INCLUDEDIR/feed/plugin.h" | grep -c '^[<>]')" -eq 2
PKG_CONFIG_PATH=$SDK3$LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$SDK3 \
    meson setup "$T/abi3-build" "$EX" >"$T/abi3.log" 2>&1 &&
    meson compile -C "$T/abi3-build" jsonl_sink >>"$T/abi3.log" 2>&1
expect_eq "the example builds against the ABI 3 SDK" "$?" 0
write_ini "$T/abi3/feed.ini" "$(free_port)" "$T/abi3-build/jsonl_sink.so"
line=$(grep -n '^plugin = .*abi3-build' "$T/abi3/feed.ini" | cut -d: -f1)
out=$("$FC" -c "$T/abi3/feed.ini" check 2>&1)
expect_eq "a sink built for ABI 3: check exits 1" "$?" 1
expect_eq "the refusal names ABI 3 and ABI 2" "$out" \
    "$T/abi3/feed.ini:$line: [sink] plugin: $T/abi3-build/jsonl_sink.so was built for plugin ABI 3, this feed-core speaks ABI 2"

# The example built against an older header of the same major, one that
# ends at write(): its descriptor is shorter, and it still loads (the core
# reads no field its size does not cover).
SDKOLD=$T/sdk-old
mkdir -p "$SDKOLD$INCLUDEDIR/feed" "$SDKOLD$LIBDIR/pkgconfig"
sed '/\/\* optional: source and sink \*\//,/char \*err, size_t errlen);/d' \
    "$DEST$INCLUDEDIR/feed/plugin.h" >"$SDKOLD$INCLUDEDIR/feed/plugin.h"
cp "$DEST$LIBDIR/pkgconfig/feed-plugin.pc" "$SDKOLD$LIBDIR/pkgconfig/"
check "the older header lacks reopen and tick" \
    test "$(grep -c '(\*reopen)\|(\*tick)' "$SDKOLD$INCLUDEDIR/feed/plugin.h")" -eq 0
# ...and the example as written for it: without a reopen callback.
cp -r "$EX" "$T/old-src"
rm -rf "$T/old-src/build"
sed -i '/\.reopen = /d' "$T/old-src/jsonl_sink.c"
PKG_CONFIG_PATH=$SDKOLD$LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$SDKOLD \
    meson setup "$T/old-build" "$T/old-src" >"$T/old.log" 2>&1 &&
    meson compile -C "$T/old-build" jsonl_sink >>"$T/old.log" 2>&1
expect_eq "the example builds against the older header" "$?" 0
write_ini "$T/old/feed.ini" "$(free_port)" "$T/old-build/jsonl_sink.so"
out=$("$FC" -c "$T/old/feed.ini" check 2>&1)
expect_eq "a sink built against the shorter descriptor passes check" "$?" 0

# --- feed-sink-test: the SDK's test host -----------------------------------
FST=$DEST$BINDIR/feed-sink-test
mkdir -p "$T/fst/out"
printf '[sink]\npath = out/trades.jsonl\n' >"$T/fst/sink.ini"
printf '7,42,1.5\n8,042,2.50\n9,43,10\n' >"$T/fst/trades.csv"
out=$("$FST" -c "$T/fst/sink.ini" -b 2 "$EX/build/jsonl_sink.so" \
    "$T/fst/trades.csv" 2>"$T/fst/err")
expect_eq "feed-sink-test runs the example sink and exits 0" "$?" 0
expect_eq "feed-sink-test reports each batch of whole requests" "$out" \
    "$(printf '%s\n' 'batch 1 requests 1-2 records 2: OK' \
        'batch 2 requests 3-3 records 1: OK')"
expect_eq "the sink got canonical values, in order" \
    "$(cat "$T/fst/out/trades.jsonl")" \
    "$(printf '%s\n' '{"ticket":7,"login":42,"volume":1.5}' \
        '{"ticket":8,"login":42,"volume":2.5}' \
        '{"ticket":9,"login":43,"volume":10}')"
check "the sink logged through the core" \
    grep -q "jsonl_sink: appending to $T/fst/out/trades.jsonl" "$T/fst/err"
printf '[sink]\npath = out/t.jsonl\npth = x\n' >"$T/fst/typo.ini"
out=$("$FST" -c "$T/fst/typo.ini" "$EX/build/jsonl_sink.so" \
    "$T/fst/trades.csv" 2>&1)
expect_eq "feed-sink-test refuses an unknown key" "$?" 1
expect_eq "as FILE:LINE, like the daemon" "$out" \
    "$T/fst/typo.ini:3: [sink] unknown key \"pth\""
out=$(printf '7,42,1e3\n' | "$FST" -c "$T/fst/sink.ini" \
    "$EX/build/jsonl_sink.so" 2>&1)
expect_eq "feed-sink-test refuses a value that is not of its type" "$?" 1
expect_eq "naming the input line" "$out" \
    'feed-sink-test: input line 1: "1e3" is not a decimal'
out=$("$FST" "$TEST_PLUGIN_DIR/bad_abi.so" /dev/null 2>&1)
expect_eq "feed-sink-test refuses a plugin of another ABI" "$?" 1
expect_eq "in the loader's one line" "$out" \
    "feed-sink-test: $TEST_PLUGIN_DIR/bad_abi.so was built for plugin ABI 99, this feed-core speaks ABI 2"
printf '[sink]\npath = out/r.txt\nreject_value = 8\n' >"$T/fst/reject.ini"
out=$("$FST" -c "$T/fst/reject.ini" "$TEST_PLUGIN_DIR/test_sink.so" \
    "$T/fst/trades.csv" 2>/dev/null)
expect_eq "a refused record makes feed-sink-test exit 1" "$?" 1
expect_eq "the refusal names the record and the sink's reason" "$out" \
    "batch 1 requests 1-3 records 3: REJECT record 2 (input line 2): line 2: value 8 refused"

# --- feed-core plugins -----------------------------------------------------
out=$("$FC" -c "$INI" plugins)
expect_eq "plugins lists the installed plugin_dir and exits 0" "$?" 0
expect_eq "plugins lists the three installed plugins, sorted" \
    "$(printf '%s\n' "$out" | awk '{print $1, $2}')" \
    "$(printf 'csv_trade parser\nmysql_fee sink\nzmq_rep source')"
expect_match "each line has name, kind, version and summary" "$out" \
    '^zmq_rep +source +[0-9]+\.[0-9]+\.[0-9]+ +receives requests'

mkdir -p "$T/pd"
cp "$EX/build/jsonl_sink.so" "$TEST_PLUGIN_DIR/bad_abi.so" "$T/pd/"
printf '[core]\nplugin_dir = pd\n' >"$T/pd.ini"
out=$("$FC" -c "$T/pd.ini" plugins 2>"$T/pd.err")
expect_eq "plugins with a refused file exits 1" "$?" 1
expect_match "plugins lists the example sink" "$out" \
    "^jsonl_sink +sink +1\\.0\\.0 +appends each record as a JSON line to a file \\($T/pd/jsonl_sink\\.so\\)\$"
expect_eq "plugins names the refused file and both ABI versions" \
    "$(cat "$T/pd.err")" \
    "feed-core: $T/pd/bad_abi.so was built for plugin ABI 99, this feed-core speaks ABI 2"

# --- the man pages and the unit ---------------------------------------------
for page in "$MANDIR/man8/feed-core.8" "$MANDIR/man5/feed.ini.5" \
    "$MANDIR/man3/feed_client.3"; do
    out=$(mandoc -Tlint -W warning "$DEST$page" 2>&1)
    expect_eq "mandoc -Tlint finds nothing in $(basename "$page")" "$out" ""
    out=$(MANWIDTH=80 man --warnings -l "$DEST$page" 2>&1 >/dev/null)
    expect_eq "man -l renders $(basename "$page") without a warning" \
        "$out" ""
    check "man -l renders $(basename "$page")" \
        test "$(MANWIDTH=80 man -l "$DEST$page" 2>/dev/null | wc -l)" -gt 50
done

expect_eq "the unit runs the installed binary on the installed config" \
    "$(sed -n 's/^ExecStart=//p' "$UNIT")" \
    "$BINDIR/feed-core -c $SYSCONFDIR/feed-core/feed.ini -f start"
# systemd-analyze checks that ExecStart= exists: point it at the DESTDIR.
mkdir -p "$T/unit"
sed "s|^ExecStart=$BINDIR/|ExecStart=$DEST$BINDIR/|" "$UNIT" \
    >"$T/unit/feed-core.service"
out=$(systemd-analyze verify --man=no "$T/unit/feed-core.service" 2>&1)
expect_eq "systemd-analyze verify passes, without a warning" "$?/$out" "0/"
systemd-analyze security --offline=yes --threshold=20 \
    "$T/unit/feed-core.service" >"$T/security.txt" 2>&1
expect_eq "the unit's exposure is at most 2.0 (systemd-analyze security)" \
    "$?" 0

finish
