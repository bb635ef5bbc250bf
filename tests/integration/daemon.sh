#!/usr/bin/env bash
# daemon.sh - the daemon's life: start, status, stop, restart, kill -9,
# the pidfile lock, relative paths, start failures, -f with READY=1, SIGHUP.
# The sink is tests/plugins/test_sink.so (records to a file): this test is
# about the daemon, not the database.
. "$(dirname "$0")/lib.sh"

# write_ini FILE PORT [SINK-EXTRA [CORE-EXTRA]]: lib.sh's test-sink config.
INI_LOG_LEVEL=debug
write_ini() { test_sink_ini "$@"; }

PORT=$(free_port)
INI=$T/a/feed.ini
write_ini "$INI" "$PORT"

# --- command line basics -------------------------------------------------
out=$(fc --version)
expect_match "--version names the version and the ABI" "$out" \
    '^feed-core [0-9.]+ \(plugin ABI 2\)$'
fc help >/dev/null
expect_eq "help exits 0" "$?" 0
fc frobnicate 2>/dev/null
expect_eq "an unknown command exits 2" "$?" 2
fc -x status 2>/dev/null
expect_eq "an unknown option exits 2" "$?" 2
out=$(fc -c "$INI" check)
expect_eq "check of a good config exits 0" "$?" 0
expect_match "check says OK" "$out" "OK \(source zmq_rep, parser csv_trade"
out=$(fc -c "$INI" plugins)
expect_match "plugins lists zmq_rep with its kind" "$out" \
    '^zmq_rep +source +[0-9]+\.[0-9]+\.[0-9]+ '
expect_match "plugins lists csv_trade" "$out" 'csv_trade +parser'

# --- start, status, stop ---------------------------------------------------
out=$(fc -c "$INI" status)
expect_eq "status before start is 3" "$?" 3
expect_eq "status says not running" "$out" "feed-core is not running"

out=$(start_daemon "$INI")
expect_eq "start exits 0" "$?" 0
pid=$(daemon_pid "$INI")
expect_eq "start reports the pid it wrote" "$out" "feed-core started (pid $pid)"
check "the daemon is alive" test -d "/proc/$pid"
out=$(fc -c "$INI" status)
expect_eq "status while running is 0" "$?" 0
expect_eq "status names the pid" "$out" "feed-core is running (pid $pid)"

out=$(start_daemon "$INI")
expect_eq "a second start exits 0" "$?" 0
expect_eq "a second start says it is already running" "$out" \
    "feed-core is already running (pid $pid)"
expect_eq "a second start leaves the pidfile alone" "$(daemon_pid "$INI")" \
    "$pid"

# --- io_policy: ZeroMQ's I/O thread runs SCHED_BATCH ---------------------
# policy_of DIR: the scheduling policy of the thread or process /proc/DIR
# (field 41 of its stat: 0 SCHED_OTHER, 3 SCHED_BATCH, 5 SCHED_IDLE).
policy_of() { sed 's/.*) //' "$1/stat" | awk '{ print $39 }'; }
# io_thread_policy PID: that of PID's ZeroMQ I/O thread.
io_thread_policy() {
    local t
    for t in /proc/"$1"/task/*; do
        if [[ $(cat "$t/comm" 2>/dev/null) == ZMQbg/IO/* ]]; then
            policy_of "$t"
            return
        fi
    done
    echo none
}
expect_eq "io_policy = batch (the default): the I/O thread is SCHED_BATCH" \
    "$(io_thread_policy "$pid")" 3
expect_eq "the main thread stays SCHED_OTHER" "$(policy_of "/proc/$pid")" 0

write_ini "$T/p/feed.ini" "$(free_port)" "" "" "io_policy = inherit"
start_daemon "$T/p/feed.ini" >/dev/null
expect_eq "io_policy = inherit: the I/O thread is SCHED_OTHER" \
    "$(io_thread_policy "$(daemon_pid "$T/p/feed.ini")")" 0
fc -c "$T/p/feed.ini" stop >/dev/null

write_ini "$T/q/feed.ini" "$(free_port)"
chrt --idle 0 "$FEED_CORE" -c "$T/q/feed.ini" start >/dev/null
expect_eq "a daemon started SCHED_IDLE: its I/O thread keeps SCHED_IDLE" \
    "$(io_thread_policy "$(daemon_pid "$T/q/feed.ini")")" 5
check "and the log says why batch was not applied" grep -q \
    'notice: zmq_rep: io_policy = batch not applied: the process is not scheduled SCHED_OTHER (policy 5)' \
    "$T/q/feed.log"
fc -c "$T/q/feed.ini" stop >/dev/null

write_ini "$T/r/feed.ini" "$(free_port)" "" "" "io_policy = fast"
out=$(fc -c "$T/r/feed.ini" check 2>&1)
expect_eq "check with a bad io_policy exits 1" "$?" 1
expect_match "names the key with FILE:LINE" "$out" \
    "^$T/r/feed.ini:[0-9]+: \[source\] io_policy: "

echo "7,42,1.5" >"$T/one.csv"
out=$("$FEED_SEND" -e "tcp://127.0.0.1:$PORT" "$T/one.csv")
expect_eq "a trade is acknowledged" "$?" 0
expect_eq "the sink got it" "$(cut -f2- "$T/a/records.txt")" \
    "$(printf '1\t7\t42\t1.5')"

out=$(fc -c "$INI" stop)
expect_eq "stop exits 0" "$?" 0
expect_eq "stop says so" "$out" "$(printf 'stopping feed-core (pid %s)\nfeed-core stopped' "$pid")"
check "stop waited for the process to exit" process_gone "$pid"
check "stop left no pidfile" test ! -e "$T/a/run/feed.pid"
fc -c "$INI" status >/dev/null
expect_eq "status after stop is 3" "$?" 3
out=$(fc -c "$INI" stop)
expect_eq "stop when not running exits 0" "$?" 0
expect_eq "stop when not running says so" "$out" "feed-core is not running"
grep -q "info: started pid=$pid" "$T/a/feed.log"
expect_eq "the log has the start" "$?" 0
grep -q "info: stopped exit=0" "$T/a/feed.log"
expect_eq "the log has the clean stop" "$?" 0

# --- kill -9 and the stale pidfile ----------------------------------------
start_daemon "$INI" >/dev/null
pid=$(daemon_pid "$INI")
kill -9 "$pid"
wait_until 10 process_gone "$pid"
out=$(fc -c "$INI" status)
expect_eq "after kill -9 status is 1 (dead, pidfile exists)" "$?" 1
out=$(start_daemon "$INI")
expect_eq "start after kill -9 exits 0 without touching the pidfile" "$?" 0
pid2=$(daemon_pid "$INI")
check "the new daemon has a new pid" test "$pid2" != "$pid"
expect_eq "and says so" "$out" "feed-core started (pid $pid2)"

out=$(fc -c "$INI" restart)
expect_eq "restart exits 0" "$?" 0
pid3=$(daemon_pid "$INI")
check "restart replaced the daemon" test -n "$pid3" -a "$pid3" != "$pid2"
check "the old one is gone" process_gone "$pid2"
fc -c "$INI" stop >/dev/null

# --- relative paths, from another folder -----------------------------------
(cd / && fc -c "$INI" start >/dev/null)
expect_eq "start from / with an absolute -c" "$?" 0
check "the pidfile is next to the INI" test -s "$T/a/run/feed.pid"
(cd / && fc -c "$INI" stop >/dev/null)
(cd "$T" && fc -c a/feed.ini start >/dev/null)
expect_eq "start with a relative -c" "$?" 0
check "relative pidfile resolved against the INI's folder" \
    test -s "$T/a/run/feed.pid"
(cd /tmp && "$FEED_SEND" -e "tcp://127.0.0.1:$PORT" "$T/one.csv")
expect_eq "the daemon works after chdir" "$?" 0
(cd / && fc -c "$T/a/feed.ini" stop >/dev/null)

# --- start failures: one line, exit 1, nothing left behind ----------------
# expect_start_fails WHAT INI REGEX
expect_start_fails() {
    local out rc pidfile
    out=$(fc -c "$2" start 2>&1)
    rc=$?
    expect_eq "$1: start exits 1" "$rc" 1
    expect_match "$1: says why" "$out" "$3"
    expect_eq "$1: in one line" "$(printf '%s\n' "$out" | wc -l)" 1
    pidfile="$(dirname "$2")/run/feed.pid"
    check "$1: no pidfile left" test ! -e "$pidfile"
}

start_daemon "$INI" >/dev/null
write_ini "$T/b/feed.ini" "$PORT"
expect_start_fails "port in use" "$T/b/feed.ini" \
    "^feed-core: source zmq_rep: cannot bind tcp://127.0.0.1:$PORT: Address already in use$"
fc -c "$INI" stop >/dev/null

write_ini "$T/c/feed.ini" "$(free_port)" "open_fail = permanent"
expect_start_fails "a sink that refuses for good" "$T/c/feed.ini" \
    "^feed-core: sink test_sink: permanent failure injected$"

write_ini "$T/d/feed.ini" "$(free_port)" "open_fail = transient"
expect_start_fails "a sink that never comes up" "$T/d/feed.ini" \
    "^feed-core: sink test_sink: transient failure injected \(still failing after 10 s\)$"

write_ini "$T/e/feed.ini" "$(free_port)" \
    "$(printf 'open_fail = transient\nopen_fail_count = 3')"
out=$(start_daemon "$T/e/feed.ini")
expect_eq "a sink that comes up within 10 s: start exits 0" "$?" 0
fc -c "$T/e/feed.ini" stop >/dev/null

write_ini "$T/f/feed.ini" "$(free_port)"
sed -i 's|^pidfile = .*|pidfile = /proc/feed-core-nonexistent/x.pid|' \
    "$T/f/feed.ini"
out=$(fc -c "$T/f/feed.ini" start 2>&1)
expect_eq "a pidfile folder that cannot be created: exit 1" "$?" 1
expect_match "names the folder" "$out" \
    "^feed-core: cannot create folder /proc/feed-core-nonexistent: "

write_ini "$T/g/feed.ini" "$(free_port)" "" "group = nosuchgroup-feed"
expect_start_fails "an unknown group" "$T/g/feed.ini" \
    "^$T/g/feed.ini:11: \[core\] group: unknown group \"nosuchgroup-feed\"$"

write_ini "$T/h/feed.ini" "$(free_port)"
sed -i 's/^plugin = csv_trade/plugin = nosuch_parser/' "$T/h/feed.ini"
expect_start_fails "a missing plugin" "$T/h/feed.ini" \
    "^$T/h/feed.ini:18: \[parser\] plugin: cannot open $PLUGIN_DIR/nosuch_parser.so: No such file or directory$"

write_ini "$T/i/feed.ini" "$(free_port)" "pasword = x"
out=$(fc -c "$T/i/feed.ini" check 2>&1)
expect_eq "check with a typo exits 1" "$?" 1
expect_eq "the typo is named with FILE:LINE" "$out" \
    "$T/i/feed.ini:23: [sink] unknown key \"pasword\""

# --- -f: foreground, READY=1 on NOTIFY_SOCKET -----------------------------
write_ini "$T/j/feed.ini" "$(free_port)"
"$NOTIFY_LISTEN" "$T/notify.sock" 20000 >"$T/notify.out" &
listener=$!
wait_until 10 grep -q LISTENING "$T/notify.out"
NOTIFY_SOCKET=$T/notify.sock "$FEED_CORE" -c "$T/j/feed.ini" -f start \
    2>"$T/j/stderr" &
fg=$!
wait "$listener"
expect_eq "-f sends READY=1 to NOTIFY_SOCKET" "$?" 0
out=$(fc -c "$T/j/feed.ini" status)
expect_eq "-f holds the same pidfile lock" "$out" \
    "feed-core is running (pid $fg)"
kill -TERM "$fg"
wait "$fg"
expect_eq "-f exits 0 on SIGTERM" "$?" 0
check "-f removes its pidfile" test ! -e "$T/j/run/feed.pid"
grep -q "STOPPING=1" "$T/notify.out" || true

# --- SIGHUP reopens the log and dead_letter -----------------------------
start_daemon "$INI" >/dev/null
pid=$(daemon_pid "$INI")
printf 'x,1,1' >"$T/bad.csv"
"$FEED_SEND" -e "tcp://127.0.0.1:$PORT" "$T/bad.csv" >/dev/null
mv "$T/a/feed.log" "$T/a/feed.log.1"
mv "$T/a/dead.jsonl" "$T/a/dead.jsonl.1"
kill -HUP "$pid"
wait_until 10 test -e "$T/a/feed.log"
expect_eq "SIGHUP: a new log appears" "$?" 0
old_log_lines=$(wc -l <"$T/a/feed.log.1")
"$FEED_SEND" -e "tcp://127.0.0.1:$PORT" "$T/bad.csv" >/dev/null
expect_eq "SIGHUP: a new dead_letter file gets the next refusal" \
    "$(grep -c 'ticket is not a number' "$T/a/dead.jsonl")" 1
expect_eq "SIGHUP: the old dead_letter file stopped growing" \
    "$(grep -c 'ticket is not a number' "$T/a/dead.jsonl.1")" 1
fc -c "$INI" stop >/dev/null
expect_eq "SIGHUP: the old log stopped growing" \
    "$(wc -l <"$T/a/feed.log.1")" "$old_log_lines"
check "SIGHUP: the new log has the stop" grep -q 'stopped exit=0' \
    "$T/a/feed.log"

finish
