#!/usr/bin/env bash
# files.sh - the files the daemon must not believe blindly, and the edges of
# its life: a symlinked pidfile and a pidfile folder others can write are
# refused; `status` and `stop` act on the process holding the lock, not on
# the pid written in the file; a FIFO named as a plugin is refused at once;
# a start during a draining stop waits for it; SIGTERM (or stop) during the
# start-up's sink retry ends it at once; plugin_dir as a search path;
# dead_letter on a full disk keeps whole JSON lines only and names ENOSPC.
# The sink is tests/plugins/test_sink.so: no database is needed.
. "$(dirname "$0")/lib.sh"

# write_ini FILE PORT [SINK-EXTRA [CORE-EXTRA]]: lib.sh's test-sink config.
INI_THREADS=1
write_ini() { test_sink_ini "$@"; }

# send PORT TEXT: one request; prints the reply.
send() {
    printf '%s' "$2" >"$T/request"
    "$ZSEND" -e "tcp://127.0.0.1:$1" -t 10000 "$T/request" | cut -f2
}

# --- a symlinked pidfile is never followed ---------------------------------
P=$(free_port)
D=$T/link
write_ini "$D/feed.ini" "$P"
mkdir -p "$D/run"
ln -s ../target.pid "$D/run/feed.pid"
out=$(start_daemon "$D/feed.ini" 2>&1)
expect_eq "symlinked pidfile: start exits 1" "$?" 1
expect_eq "symlinked pidfile: start says why" "$out" \
    "feed-core: cannot open pidfile $D/run/feed.pid: Too many levels of symbolic links"
check "symlinked pidfile: its target is not created" test ! -e "$D/target.pid"
out=$(fc -c "$D/feed.ini" status 2>&1)
expect_eq "symlinked pidfile: status is 4 (cannot tell)" "$?" 4
out=$(fc -c "$D/feed.ini" stop 2>&1)
expect_eq "symlinked pidfile: stop exits 1" "$?" 1
check "symlinked pidfile: the link is left alone" test -L "$D/run/feed.pid"

# --- a pidfile folder others can write is a config error -------------------
D=$T/open
write_ini "$D/feed.ini" "$P"
mkdir -p "$D/run"
chmod 777 "$D/run"
want="$D/feed.ini:2: [core] pidfile: folder $D/run is writable by others (mode 0777)"
out=$(fc -c "$D/feed.ini" check 2>&1)
expect_eq "world-writable pidfile folder: check exits 1" "$?" 1
expect_eq "world-writable pidfile folder: check names FILE:LINE and the key" \
    "$out" "$want"
out=$(start_daemon "$D/feed.ini" 2>&1)
expect_eq "world-writable pidfile folder: start exits 1" "$?" 1
expect_eq "world-writable pidfile folder: start says the same" "$out" "$want"
check "world-writable pidfile folder: no pidfile" test ! -e "$D/run/feed.pid"
chmod 775 "$D/run"
out=$(fc -c "$D/feed.ini" check 2>&1)
expect_eq "group-writable pidfile folder: check refuses it" "$out" \
    "$D/feed.ini:2: [core] pidfile: folder $D/run is writable by its group (mode 0775)"
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
    chmod 755 "$D/run"
    chown nobody "$D/run"
    out=$(fc -c "$D/feed.ini" check 2>&1)
    expect_eq "a pidfile folder owned by another user: check refuses it" \
        "$out" "$D/feed.ini:2: [core] pidfile: folder $D/run is owned by uid $(id -u nobody), not by root or the user feed-core runs as"
fi

# --- status and stop act on the lock holder, not on the file's pid ---------
D=$T/holder
write_ini "$D/feed.ini" "$P"
out=$(start_daemon "$D/feed.ini")
expect_eq "holder: the daemon starts" "$?" 0
pid=$(daemon_pid "$D/feed.ini")
sleep 300 &
innocent=$!
printf '%s\n' "$innocent" >"$D/run/feed.pid"
out=$(fc -c "$D/feed.ini" status)
expect_eq "holder: status is 0" "$?" 0
expect_eq "holder: status names the lock holder" "$out" \
    "feed-core is running (pid $pid)"
out=$(fc -c "$D/feed.ini" stop)
expect_eq "holder: stop exits 0" "$?" 0
expect_eq "holder: stop stops the lock holder" "$out" \
    "$(printf 'stopping feed-core (pid %s)\nfeed-core stopped' "$pid")"
check "holder: the daemon has exited" process_gone "$pid"
check "holder: the process named in the file lives on" \
    test -d "/proc/$innocent"
kill "$innocent"
wait "$innocent" 2>/dev/null

# --- a FIFO named as a plugin is refused at once ---------------------------
D=$T/fifo
write_ini "$D/feed.ini" "$P"
mkfifo "$D/plug.so"
sed -i 's|^plugin = .*test_sink.so$|plugin = ./plug.so|' "$D/feed.ini"
line=$(grep -n '^plugin = ./plug.so$' "$D/feed.ini" | cut -d: -f1)
want="$D/feed.ini:$line: [sink] plugin: $D/./plug.so is not a regular file"
out=$(timeout 60 "$FEED_CORE" -c "$D/feed.ini" check 2>&1)
expect_eq "FIFO plugin: check exits 1 (124: it hung)" "$?" 1
expect_eq "FIFO plugin: check says it is not a regular file" "$out" "$want"
STARTED_INIS+=("$D/feed.ini")
out=$(timeout 60 "$FEED_CORE" -c "$D/feed.ini" start 2>&1)
expect_eq "FIFO plugin: start exits 1 (124: it hung)" "$?" 1
expect_eq "FIFO plugin: start says the same" "$out" "$want"

# --- start while a stop is still draining ----------------------------------
# Every sink write is retried (retry_count), so a request stays in flight
# and the stop drains until stop_timeout (3 s), when the daemon gives up.
D=$T/drain
write_ini "$D/feed.ini" "$P" "retry_count = 1000000" "stop_timeout = 3"
sed -i 's/^stop_timeout = 5$//' "$D/feed.ini"
out=$(start_daemon "$D/feed.ini")
expect_eq "draining: the daemon starts" "$?" 0
old=$(daemon_pid "$D/feed.ini")
printf '1,1,1' >"$T/trade"
"$ZSEND" -e "tcp://127.0.0.1:$P" -t 20000 "$T/trade" >"$T/drain.reply" &
client=$!
wait_until 20 grep -q "worker 1: sink write failed, retrying" "$D/feed.log"
expect_eq "draining: the request is in flight" "$?" 0
fc -c "$D/feed.ini" stop >"$T/drain.stop" 2>&1 &
stopper=$!
wait_until 20 grep -qx stopping "$D/run/feed.pid"
expect_eq "draining: the daemon says it is stopping" "$?" 0
out=$(start_daemon "$D/feed.ini" 2>&1)
expect_eq "draining: start exits 0" "$?" 0
new=$(daemon_pid "$D/feed.ini")
expect_eq "draining: start waited for the old daemon, then started" "$out" \
    "$(printf 'feed-core (pid %s) is stopping; waiting for it to exit\nfeed-core started (pid %s)' "$old" "$new")"
check "draining: the old daemon is gone" wait_until 10 process_gone "$old"
out=$(fc -c "$D/feed.ini" status)
expect_eq "draining: the new daemon runs" "$out" \
    "feed-core is running (pid $new)"
wait "$stopper"
expect_eq "draining: the stop exits 1 (the old daemon gave up)" "$?" 1
expect_eq "draining: the stop says so, whatever the new daemon did" \
    "$(cat "$T/drain.stop")" \
    "$(printf 'stopping feed-core (pid %s)\nfeed-core: pid %s could not commit everything within stop_timeout (3 s) and gave up; see its log' "$old" "$old")"
wait "$client"
fc -c "$D/feed.ini" stop >/dev/null
expect_eq "draining: the new daemon stops cleanly" "$?" 0

# --- SIGTERM during start-up is honoured at once ---------------------------
# The sink refuses to open (a transient failure), which start retries for
# 10 s; a SIGTERM meanwhile ends the start-up then and there.
D=$T/early
write_ini "$D/feed.ini" "$P" "open_fail = transient"
start_daemon "$D/feed.ini" >"$T/early.out" 2>&1 &
starter=$!
wait_until 20 grep -q "sink not ready, retrying for up to 10 s" "$D/feed.log"
expect_eq "early stop: the daemon is retrying its sink" "$?" 0
out=$(fc -c "$D/feed.ini" status)
pid=${out##*pid }
pid=${pid%)}
t0=$(date +%s%N)
kill -TERM "$pid"
wait "$starter"
rc=$?
note "start ended $((($(date +%s%N) - t0) / 1000000)) ms after SIGTERM"
expect_eq "early stop: start exits 1" "$rc" 1
expect_eq "early stop: start says it was stopped" "$(cat "$T/early.out")" \
    "feed-core: stopped by SIGTERM during start-up"
check "early stop: the daemon exits" wait_until 10 process_gone "$pid"
check "early stop: the log says so" grep -q \
    "info: SIGTERM during start-up: stopping" "$D/feed.log"
out=$(fc -c "$D/feed.ini" status)
expect_eq "early stop: status is 3 afterwards" "$?" 3

# --- `stop` during start-up ------------------------------------------------
D=$T/early2
write_ini "$D/feed.ini" "$P" "open_fail = transient"
start_daemon "$D/feed.ini" >"$T/early2.out" 2>&1 &
starter=$!
wait_until 20 grep -q "sink not ready, retrying" "$D/feed.log"
expect_eq "stop during start-up: the daemon is retrying its sink" "$?" 0
out=$(fc -c "$D/feed.ini" stop 2>&1)
expect_eq "stop during start-up: stop exits 0" "$?" 0
expect_match "stop during start-up: stop says it stopped" "$out" \
    '^stopping feed-core \(pid [0-9]+\)$'$'\n''feed-core stopped$'
wait "$starter"
expect_eq "stop during start-up: start exits 1" "$?" 1
expect_eq "stop during start-up: start says it was stopped" \
    "$(cat "$T/early2.out")" "feed-core: stopped by SIGTERM during start-up"

# --- plugin_dir as a search path -------------------------------------------
D=$T/search
write_ini "$D/feed.ini" "$P"
mkdir -p "$D/mine"
cp "$TEST_PLUGIN_DIR/test_sink.so" "$D/mine/zmq_rep.so"
sed -i "s|^plugin_dir = .*|plugin_dir = mine:$PLUGIN_DIR|" "$D/feed.ini"
out=$(fc -c "$D/feed.ini" plugins 2>&1)
expect_match "search path: plugins shows the first folder's file" "$out" \
    "^test_sink +sink +.*\\($D/mine/zmq_rep\\.so\\)\$"
expect_match "search path: a later folder's plugin is listed with its file" \
    "$out" "^csv_trade +parser +.*\\($PLUGIN_DIR/csv_trade\\.so\\)\$"
check "search path: the shadowed zmq_rep is left out" \
    test "$(printf '%s\n' "$out" | grep -c '^zmq_rep ')" -eq 0
out=$(fc -c "$D/feed.ini" check 2>&1)
line=$(grep -n '^plugin = zmq_rep$' "$D/feed.ini" | cut -d: -f1)
expect_eq "search path: check loads the first folder's zmq_rep.so" "$out" \
    "$D/feed.ini:$line: [source] plugin: $D/mine/zmq_rep.so is a sink plugin, not a source"
rm "$D/mine/zmq_rep.so"
out=$(fc -c "$D/feed.ini" check 2>&1)
expect_eq "search path: without it, the next folder's is used" "$?" 0

# --- dead_letter on a full disk holds whole lines only ---------------------
D=$T/full
write_ini "$D/feed.ini" "$P"
sed -i 's|^dead_letter = .*|dead_letter = disk/dead.jsonl|' "$D/feed.ini"
mkdir -p "$D/disk"
if mount -t tmpfs -o size=64k,mode=0755 feed-test "$D/disk" 2>/dev/null; then
    trap 'umount "$D/disk" 2>/dev/null; cleanup' EXIT
    out=$(start_daemon "$D/feed.ini" 2>&1)
    expect_eq "full disk: the daemon starts" "$?" 0
    expect_eq "full disk: a bad line is answered FALSE" \
        "$(send "$P" 'x,1,1')" "FALSE line 1: ticket is not a number"
    # Fill the disk: what is left is the rest of dead_letter's last page,
    # so a 9000-byte entry is written in part, then fails with ENOSPC.
    dd if=/dev/zero of="$D/disk/filler" bs=1k count=1000 2>/dev/null
    big=$(head -c 9000 /dev/zero | tr '\0' y)
    expect_eq "full disk: the client still gets its FALSE" \
        "$(send "$P" "$big")" "FALSE line 1: line is longer than 256 bytes"
    check "full disk: the log names ENOSPC" grep -q \
        "error: cannot write dead_letter $D/disk/dead.jsonl: No space left on device" \
        "$D/feed.log"
    expect_eq "full disk: the entry that did not fit left nothing" \
        "$(grep -c y "$D/disk/dead.jsonl")" 0
    rm -f "$D/disk/filler"
    expect_eq "full disk: with room again, a bad line is answered FALSE" \
        "$(send "$P" 'w,1,1')" "FALSE line 1: ticket is not a number"
    check "full disk: the log says it is writable again" grep -q \
        "dead_letter $D/disk/dead.jsonl is writable again failed_writes=1" \
        "$D/feed.log"
    expect_eq "full disk: dead_letter holds the two entries that fit" \
        "$(wc -l <"$D/disk/dead.jsonl")" 2
    check "full disk: every line of dead_letter is a JSON object" \
        /usr/bin/python3 -c 'import json, sys
for line in open(sys.argv[1]):
    assert isinstance(json.loads(line), dict)' "$D/disk/dead.jsonl"
    fc -c "$D/feed.ini" stop >/dev/null
    umount "$D/disk"
else
    note "SKIP full disk: cannot mount a tmpfs here"
fi

finish
