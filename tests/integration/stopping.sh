#!/usr/bin/env bash
# stopping.sh - stopping under load. With the database up, SIGTERM stops
# reading, commits and answers what was read, and exits 0. With the
# database down, the daemon gives up at stop_timeout and `stop` says so and
# exits 1: with ack = commit nothing acknowledged is lost (nothing
# uncommitted was acknowledged); with ack = receive the acknowledged
# requests it could not commit are in dead_letter first. A start after a
# stop that gave up works.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

start_database

# load_bg NAME PORT BASE LINES SECONDS TIMEOUT_MS: 16 clients, background.
load_bg() {
    "$FEED_SEND" --load -e "tcp://127.0.0.1:$2" --clients 16 \
        --messages 100000000 --lines "$4" --duration "$5" \
        --ticket-base "$3" -t "$6" -r 0 --acked "$T/acked_$1" \
        >"$T/load_$1.out" 2>"$T/load_$1.err" &
    load=$!
}

# load_end NAME: waits for load_bg's feed-send; its summary into $sum.
load_end() {
    reap 40 "$load"
    sum=$(tail -n 1 "$T/load_$1.out")
}

# --- SIGTERM under a 16-client load, the database up -----------------------
PA=$(free_port)
A=$T/a
write_ini "$A" "$PA"
start_ok "the daemon starts" "$A/feed.ini" || finish
pid=$(daemon_pid "$A/feed.ini")
load_bg up "$PA" 1000000 1 6 3000
check "the load is being committed" wait_rows 20 2000
out=$(fc -c "$A/feed.ini" stop 2>&1)
expect_eq "stop under load exits 0" "$?" 0
expect_eq "stop under load says so" "$out" \
    "$(printf 'stopping feed-core (pid %s)\nfeed-core stopped' "$pid")"
check "the daemon has exited" process_gone "$pid"
check "its pidfile is gone" test ! -e "$A/run/feed.pid"
load_end up
note "$sum"
acked=$(summary_field acked "$sum")
check "trades were acknowledged before the stop" test "${acked:-0}" -gt 0
expect_eq "no valid trade was answered FALSE" \
    "$(summary_field refused "$sum")" 0
expect_eq "every acknowledged trade ($acked) is in the table once, exact" \
    "$(bad_acked "$T/acked_up")" 0
check "the log has the SIGTERM" grep -q "info: SIGTERM: stopping" "$A/feed.log"
check "the log has the clean exit" grep -q "info: stopped exit=0" "$A/feed.log"
stats=$(last_stats "$A")
note "final $stats"
received=$(summary_field received "$stats")
accepted=$(summary_field accepted "$stats")
rejected=$(summary_field rejected "$stats")
expect_eq "every request read was answered (received = accepted + rejected)" \
    "$received" "$((accepted + rejected))"
expect_eq "none was rejected" "$rejected" 0
check "the clients' TRUE count is the daemon's ($acked <= $accepted)" \
    test "$acked" -le "$accepted"
check "no dead_letter" test ! -s "$A/dead.jsonl"

# expect_gave_up WHAT DIR PID OUT RC MS: `stop` of a daemon that could not
# commit: exit 1, says it gave up, at stop_timeout (3 s), not at the +5 s
# safety net.
expect_gave_up() {
    expect_eq "$1: stop exits 1" "$5" 1
    expect_match "$1: stop says the daemon gave up" "$4" "pid $3 could not \
commit everything within stop_timeout \(3 s\) and gave up; see its log"
    check "$1: at stop_timeout ($6 ms)" test "$6" -ge 2900 -a "$6" -lt 6000
    check "$1: the daemon is gone" process_gone "$3"
    check "$1: no pidfile is left" test ! -e "$2/run/feed.pid"
    fc -c "$2/feed.ini" status >/dev/null
    expect_eq "$1: status is 3 (not running)" "$?" 3
}

# --- the database stopped, ack = commit, stop_timeout = 3 ------------------
PB=$(free_port)
B=$T/b
write_ini "$B" "$PB" "" "stop_timeout = 3"
start_ok "commit: the daemon starts" "$B/feed.ini"
pid=$(daemon_pid "$B/feed.ini")
before=$(sql "SELECT COUNT(*) FROM fee")
load_bg commit "$PB" 2000000 1 4 2000
check "commit: the load is being committed" wait_rows 20 "$((before + 500))"
mariadb_stop
check "commit: the daemon noticed the database is gone" \
    wait_until 20 log_has "$B" "failed, retrying"
t0=$(now_ms)
out=$(fc -c "$B/feed.ini" stop 2>&1)
rc=$?
t1=$(now_ms)
note "$out"
expect_gave_up "commit" "$B" "$pid" "$out" "$rc" $((t1 - t0))
check "commit: the log says what was not committed" grep -qE "error: \
stop_timeout of 3s reached: [0-9]+ requests not committed and not \
acknowledged; their clients will resend them" "$B/feed.log"
note "$(grep -o 'stop_timeout of 3s reached.*' "$B/feed.log")"
load_end commit
note "$sum"
expect_eq "commit: no valid trade was answered FALSE" \
    "$(summary_field refused "$sum")" 0
mariadb_restart || { fail "the database restarts"; finish; }
acked=$(sort -u "$T/acked_commit" | wc -l)
check "commit: trades were acknowledged before the outage" test "$acked" -gt 0
expect_eq "commit: every acknowledged trade ($acked) is in the table" \
    "$(bad_acked "$T/acked_commit")" 0
check "commit: nothing dead-lettered" test ! -s "$B/dead.jsonl"

out=$(start_daemon "$B/feed.ini" 2>&1)
expect_eq "commit: a start after the give-up exits 0" "$?" 0
pid2=$(daemon_pid "$B/feed.ini")
expect_eq "commit: and says so" "$out" "feed-core started (pid $pid2)"
printf '2900001,1,1' >"$T/one"
expect_eq "commit: the new daemon answers TRUE" \
    "$("$ZSEND" -e "tcp://127.0.0.1:$PB" -t 10000 "$T/one" | cut -f2)" TRUE
fc -c "$B/feed.ini" stop >/dev/null
expect_eq "commit: and stops cleanly" "$?" 0

# --- the database paused, ack = receive, stop_timeout = 3 ------------------
PC=$(free_port)
C=$T/c
write_ini "$C" "$PC" "ack = receive" "$(printf 'stop_timeout = 3\nqueue_max = 20000')"
start_ok "receive: the daemon starts" "$C/feed.ini"
pid=$(daemon_pid "$C/feed.ini")
before=$(sql "SELECT COUNT(*) FROM fee")
load_bg receive "$PC" 3000000 2 3 1000
check "receive: the load is being committed" wait_rows 20 "$((before + 500))"
mariadb_pause
# Acknowledged on receipt, and now they cannot be committed: requests
# gather in the queue (the stats line says how many), and the stop must
# keep them in dead_letter.
queue_filling() { [ "$(last_stat queue "$C")" -gt 0 ] 2>/dev/null; }
check "receive: acknowledged requests wait in the queue of the frozen daemon" \
    wait_until 20 queue_filling
t0=$(now_ms)
out=$(fc -c "$C/feed.ini" stop 2>&1)
rc=$?
t1=$(now_ms)
note "$out"
expect_gave_up "receive" "$C" "$pid" "$out" "$rc" $((t1 - t0))
load_end receive
note "$sum"
expect_eq "receive: no valid trade was answered FALSE" \
    "$(summary_field refused "$sum")" 0
line=$(grep -o 'stop_timeout of 3s reached.*' "$C/feed.log")
note "$line"
expect_match "receive: the log says what went to dead_letter" "$line" \
    "^stop_timeout of 3s reached: [0-9]+ acknowledged requests not \
committed, written to dead_letter $C/dead.jsonl$"
n=${line#stop_timeout of 3s reached: }
n=${n%% *}
dl=$(grep -c '"reason":"not committed at shutdown"' "$C/dead.jsonl" 2>/dev/null)
check "receive: some acknowledged requests were not committed" \
    test "${n:-0}" -gt 0
expect_eq "receive: each is in dead_letter as not committed at shutdown" \
    "${dl:-0}" "$n"
expect_eq "receive: nothing else is in dead_letter" \
    "$(wc -l <"$C/dead.jsonl")" "$n"
grep '"reason":"not committed at shutdown"' "$C/dead.jsonl" |
    sed 's/.*"message":"\(.*\)"}$/\1/; s/\\n/\n/g' | cut -d, -f1 \
    >"$T/dead_tickets"
expect_eq "receive: dead_letter holds 2 trades per request" \
    "$(wc -l <"$T/dead_tickets")" $((2 * n))
mariadb_resume
# Nothing acknowledged is lost: each TRUE is in the table or in dead_letter.
lost=$({
    acked_sql "$T/acked_receive"
    echo "CREATE TEMPORARY TABLE dead (t BIGINT UNSIGNED PRIMARY KEY);"
    sort -u "$T/dead_tickets" |
        awk '{ print "INSERT INTO dead VALUES (" $1 ");" }'
    echo "SELECT COUNT(*) FROM acked a WHERE NOT EXISTS (SELECT 1 FROM dead"
    echo "  WHERE dead.t = a.t) AND NOT EXISTS (SELECT 1 FROM fee f"
    echo "  WHERE f.ticket = a.t AND f.status = 'Y'"
    echo "  AND f.login = 1000 + a.t % 9000"
    echo "  AND f.volume = a.t % 100000 + (a.t % 10000) / 10000);"
} | mariadb_sql)
acked=$(sort -u "$T/acked_receive" | wc -l)
note "receive: $acked tickets acknowledged," \
    "$(wc -l <"$T/dead_tickets") dead-lettered"
expect_eq "receive: every acknowledged ticket is in the table or dead_letter" \
    "$lost" 0

start_ok "receive: a start after the give-up exits 0" "$C/feed.ini"
printf '3900001,1,1' >"$T/two"
expect_eq "receive: the new daemon answers TRUE" \
    "$("$ZSEND" -e "tcp://127.0.0.1:$PC" -t 10000 "$T/two" | cut -f2)" TRUE
out=$(fc -c "$C/feed.ini" stop)
expect_eq "receive: and stops cleanly" "$?" 0
expect_eq "receive: with the trade committed" \
    "$(sql "SELECT COUNT(*) FROM fee
            WHERE ticket = 3900001 AND status = 'Y'")" 1

finish
