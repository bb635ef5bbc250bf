#!/usr/bin/env bash
# privileges.sh - started as root with user = nobody: every thread of the
# daemon runs as nobody (uid, gid, no group 0, no capabilities); the
# pidfile folder it creates is nobody's and a clean stop removes the
# pidfile; SIGHUP reopens the log and dead_letter as nobody in a folder
# nobody owns, and in one nobody cannot write to keeps the old files and
# says why. The sink is tests/plugins/test_sink.so: this test is about the
# daemon, not the database. Skipped (77) when not run as root.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
    skip_all "privileges.sh needs root"
fi

NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)
NOBODY_GROUP=$(id -gn nobody)
# The groups initgroups(nobody) gives, as /proc shows them.
NOBODY_GROUPS=$(id -G nobody | tr ' ' '\n' | sort -n | tr '\n' ' ' |
    sed 's/ $//')

# write_ini DIR PORT: log and dead_letter in DIR/logs, records in DIR/data,
# the pidfile in DIR/run/sub (created by the daemon).
write_ini() {
    mkdir -p "$1"
    cat >"$1/feed.ini" <<EOF
[core]
pidfile = $1/run/sub/feed.pid
user = nobody
threads = 3
log = logs/feed.log
log_level = debug
dead_letter = logs/dead.jsonl
stats_interval = 0
stop_timeout = 5
plugin_dir = $PLUGIN_DIR

[source]
plugin = zmq_rep
endpoint = tcp://127.0.0.1:$2

[parser]
plugin = csv_trade

[sink]
plugin = $TEST_PLUGIN_DIR/test_sink.so
path = data/records.txt
EOF
}

# field LINE-NAME STATUS-FILE: the values of a line of /proc/.../status.
field() {
    sed -n "s/^$1:\s*//p" "$2" | tr -s ' \t' ' ' | sed 's/ $//'
}

# bad_threads PID: one line per thread of PID that is not plainly nobody.
bad_threads() {
    local s tid want_u want_g
    want_u="$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID"
    want_g="$NOBODY_GID $NOBODY_GID $NOBODY_GID $NOBODY_GID"
    for s in /proc/"$1"/task/*/status; do
        tid=$(basename "$(dirname "$s")")
        [ "$(field Uid "$s")" == "$want_u" ] ||
            echo "thread $tid Uid: $(field Uid "$s")"
        [ "$(field Gid "$s")" == "$want_g" ] ||
            echo "thread $tid Gid: $(field Gid "$s")"
        if printf ' %s ' "$(field Groups "$s")" | grep -q ' 0 ' ||
            [ "$(field Groups "$s" | tr ' ' '\n' | sort -n | tr '\n' ' ' |
                sed 's/ $//')" != "$NOBODY_GROUPS" ]; then
            echo "thread $tid Groups: $(field Groups "$s")"
        fi
        for cap in CapInh CapPrm CapEff CapAmb; do
            [ "$(field "$cap" "$s")" == 0000000000000000 ] ||
                echo "thread $tid $cap: $(field "$cap" "$s")"
        done
    done
}

owner() { stat -c '%U:%G' "$1"; }

# start_as_root INI: `feed-core -c INI start` from a root that has group 0
# among its supplementary groups, as a root login has: the daemon must not
# keep it. Prints start's output; returns its exit code.
# Every start here runs as root with group 0 only (see start_as_root).
START_WITH=start_as_root
start_as_root() {
    STARTED_INIS+=("$1")
    if command -v setpriv >/dev/null; then
        setpriv --groups 0 -- "$FEED_CORE" -c "$1" start
    else
        "$FEED_CORE" -c "$1" start
    fi
}

# send PORT FILE: the reply to FILE.
send() { "$ZSEND" -e "tcp://127.0.0.1:$1" -t 10000 "$2" | cut -f2; }

printf '7,42,1.5' >"$T/good"
printf 'x,1,1' >"$T/bad"

# --- who the daemon runs as ---------------------------------------------------
P=$T/p
PORT=$(free_port)
write_ini "$P" "$PORT"
mkdir -p "$P/logs" "$P/data"
chown nobody:"$NOBODY_GROUP" "$P/logs" "$P/data"
check "the pidfile folder is missing before start" test ! -e "$P/run"
out=$(start_as_root "$P/feed.ini" 2>&1)
expect_eq "start as root with user = nobody exits 0" "$?" 0
pid=$(daemon_pid "$P/feed.ini")
expect_eq "start says so" "$out" "feed-core started (pid $pid)"
expect_eq "a trade is acknowledged" "$(send "$PORT" "$T/good")" TRUE
expect_eq "a bad trade is refused" "$(send "$PORT" "$T/bad")" \
    "FALSE line 1: ticket is not a number"
threads=$(ls "/proc/$pid/task" | wc -l)
note "the daemon has $threads threads"
check "threads are running (main, source, 3 workers, ZeroMQ's)" \
    test "$threads" -ge 6
bad=$(bad_threads "$pid")
expect_eq "every thread: nobody's uid, gid and groups (no 0), no capabilities" \
    "$bad" ""
note "Groups: $(field Groups "/proc/$pid/status")"
expect_eq "the pidfile folder the daemon created is nobody's" \
    "$(owner "$P/run/sub")" "nobody:$NOBODY_GROUP"
check "the pidfile is there" test -s "$P/run/sub/feed.pid"
expect_eq "the sink's file was created by nobody" \
    "$(owner "$P/data/records.txt")" "nobody:$NOBODY_GROUP"

# --- SIGHUP, logrotate-style, in a folder nobody owns -------------------------
mv "$P/logs/feed.log" "$P/logs/feed.log.1"
mv "$P/logs/dead.jsonl" "$P/logs/dead.jsonl.1"
kill -HUP "$pid"
check "SIGHUP: a new log appears" wait_until 10 test -e "$P/logs/feed.log"
check "SIGHUP: the new log has the reopening" wait_until 10 grep -q \
    "SIGHUP: log and dead_letter reopened" "$P/logs/feed.log"
old_log=$(wc -l <"$P/logs/feed.log.1")
expect_eq "SIGHUP: the next refusal is answered" \
    "$(send "$PORT" "$T/bad")" "FALSE line 1: ticket is not a number"
check "SIGHUP: a new dead_letter file appears" test -e "$P/logs/dead.jsonl"
expect_eq "SIGHUP: the new dead_letter has the next refusal" \
    "$(grep -c 'ticket is not a number' "$P/logs/dead.jsonl")" 1
expect_eq "SIGHUP: the old dead_letter stopped growing" \
    "$(grep -c 'ticket is not a number' "$P/logs/dead.jsonl.1")" 1
expect_eq "SIGHUP: the new log is nobody's" "$(owner "$P/logs/feed.log")" \
    "nobody:$NOBODY_GROUP"
expect_eq "SIGHUP: the new dead_letter is nobody's" \
    "$(owner "$P/logs/dead.jsonl")" "nobody:$NOBODY_GROUP"
check "SIGHUP: the new log gets the next lines" grep -q \
    "request refused: line 1: ticket is not a number" "$P/logs/feed.log"

# --- a clean stop removes the pidfile (the daemon itself, not `stop`) --------
kill -TERM "$pid"
check "SIGTERM: the daemon exits" wait_until 20 process_gone "$pid"
check "SIGTERM: the daemon removed its own pidfile" \
    test ! -e "$P/run/sub/feed.pid"
check "SIGTERM: the log has the clean exit" grep -q "info: stopped exit=0" \
    "$P/logs/feed.log"
expect_eq "SIGTERM: the old log stopped growing" \
    "$(wc -l <"$P/logs/feed.log.1")" "$old_log"
fc -c "$P/feed.ini" status >/dev/null
expect_eq "status after the clean stop is 3" "$?" 3

# --- SIGHUP when nobody cannot write the folder -------------------------------
Q=$T/q
QPORT=$(free_port)
write_ini "$Q" "$QPORT"
mkdir -p "$Q/logs" "$Q/data"
chmod 755 "$Q/logs"
chown nobody:"$NOBODY_GROUP" "$Q/data"
start_ok "root-owned logs: the daemon starts" "$Q/feed.ini"
qpid=$(daemon_pid "$Q/feed.ini")
expect_eq "root-owned logs: a bad trade is refused" \
    "$(send "$QPORT" "$T/bad")" \
    "FALSE line 1: ticket is not a number"
mv "$Q/logs/feed.log" "$Q/logs/feed.log.1"
mv "$Q/logs/dead.jsonl" "$Q/logs/dead.jsonl.1"
kill -HUP "$qpid"
check "root-owned logs: the old log says it cannot reopen the log" \
    wait_until 10 grep -q \
    "error: cannot reopen log $Q/logs/feed.log: Permission denied; still writing to the old log" \
    "$Q/logs/feed.log.1"
check "root-owned logs: and the dead_letter" grep -q \
    "error: cannot reopen dead_letter $Q/logs/dead.jsonl: Permission denied; still writing to the old file" \
    "$Q/logs/feed.log.1"
check "root-owned logs: the log does not also claim both were reopened" \
    test -z "$(grep 'SIGHUP: log and dead_letter reopened' \
        "$Q/logs/feed.log.1")"
check "root-owned logs: no new log" test ! -e "$Q/logs/feed.log"
expect_eq "root-owned logs: the next refusal is answered" \
    "$(send "$QPORT" "$T/bad")" "FALSE line 1: ticket is not a number"
check "root-owned logs: no new dead_letter" test ! -e "$Q/logs/dead.jsonl"
expect_eq "root-owned logs: the old dead_letter keeps being written" \
    "$(grep -c 'ticket is not a number' "$Q/logs/dead.jsonl.1")" 2
expect_eq "root-owned logs: the daemon is still alive" \
    "$(daemon_pid "$Q/feed.ini")" "$qpid"
bad=$(bad_threads "$qpid")
expect_eq "root-owned logs: every thread still nobody's" "$bad" ""
out=$(fc -c "$Q/feed.ini" stop)
expect_eq "root-owned logs: stop exits 0" "$?" 0
check "root-owned logs: the old log has the stop" grep -q \
    "info: stopped exit=0" "$Q/logs/feed.log.1"

finish
