#!/usr/bin/env bash
# demo.sh - the default pipeline end to end, on this machine, as root.
#
# Installs what is missing, builds feed-core into build-demo/, starts a
# private MariaDB under work/demo/ (own datadir, socket and loopback port;
# never the system service), starts the daemon with conf/feed.ini pointed at
# it, sends sample trades with feed-send (one of them malformed), shows the
# rows of `fee` and the dead-letter file, and stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
work=$src/work/demo
build=$src/build-demo

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "dependencies"
bash tools/install-deps

say "build"
if [ ! -d "$build" ]; then
    meson setup "$build" >/dev/null
fi
meson compile -C "$build" >/dev/null
echo "built $build/core/feed-core and its plugins"

say "a private MariaDB"
rm -rf "$work"
mkdir -p "$work"
chmod 755 "$src/work" "$work"
export FEED_TEST_CACHE=$src/work/cache
# shellcheck source=../tests/lib/mariadb.sh
. tests/lib/mariadb.sh
ini=$work/feed.ini
stop_all() {
    "$build/core/feed-core" -c "$ini" stop 2>/dev/null || true
    mariadb_stop || true
}
trap stop_all EXIT
mariadb_start "$work/db"
echo "mariadbd pid $MARIADB_PID on 127.0.0.1:$MARIADB_PORT, data in $work/db"

say "feed-core with the default pipeline"
zport=$(( 20000 + RANDOM % 20000 ))
run_as=nobody
[ "$(id -u)" -eq 0 ] || run_as=$(id -un)
# conf/feed.ini as installed, pointed at the private database and build.
sed -e "/^\[core\]/,/^\[/{
            s|^pidfile .*|pidfile = run/feed-core.pid|
            s|^user .*|user = $run_as|
            s|^group .*||
            s|^threads .*|threads = 2|
            s|^log .*|log = feed.log|
            s|^dead_letter .*|dead_letter = rejected.jsonl|
            s|^stats_interval .*|stats_interval = 0|
            s|^\[core\]|[core]\nplugin_dir = $build/plugins|
        }" \
    -e "s|^endpoint .*|endpoint = tcp://127.0.0.1:$zport|" \
    -e "/^\[sink\]/,\${s|^port .*|port = $MARIADB_PORT|}" \
    conf/feed.ini >"$ini"
"$build/core/feed-core" -c "$ini" check
"$build/core/feed-core" -c "$ini" start
"$build/core/feed-core" -c "$ini" status

say "sample trades: 20 in messages of 5 lines, then one message with a bad line (refused whole)"
for i in $(seq 1 20); do
    printf '%d,%d,%d.%02d\n' $((1000 + i)) $((500 + i % 3)) $((i * 3)) $((i * 7 % 100))
done >"$work/trades.csv"
"$build/tools/feed-send" -e "tcp://127.0.0.1:$zport" -n 5 -v "$work/trades.csv"
printf '1021,500,12.5\n1022,500,-3\n' >"$work/bad.csv"
"$build/tools/feed-send" -e "tcp://127.0.0.1:$zport" -n 2 "$work/bad.csv" || true

say "the rows of fee"
mariadb_sql "SELECT ticket, login, volume, status FROM fee ORDER BY ticket" |
    column -t
echo "($(mariadb_sql 'SELECT COUNT(*) FROM fee') rows)"

say "the dead-letter file"
cat "$work/rejected.jsonl"

say "stop"
"$build/core/feed-core" -c "$ini" stop
mariadb_stop
trap - EXIT
echo "the log is in $work/feed.log"
