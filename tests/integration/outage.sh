#!/usr/bin/env bash
# outage.sh - the database goes away under load and comes back: the daemon
# keeps its pid, acknowledges nothing meanwhile, answers no valid trade
# FALSE, retries the same batches with a capped backoff, and every trade it
# acknowledged is in the table exactly once. Then an operator's mistakes
# (the table dropped, the password changed) are retried and logged with
# the server's message, never dead-lettered.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

start_database

dead_letters() { cat "$A/dead.jsonl" 2>/dev/null | wc -l; }

PORT=$(free_port)
EP=tcp://127.0.0.1:$PORT
A=$T/a
write_ini "$A" "$PORT"
start_ok "the daemon starts against the private MariaDB" "$A/feed.ini" || finish
pid=$(daemon_pid "$A/feed.ini")

# --- the database stopped at 2 s and restarted 1.5 s later, 16 clients -----
"$FEED_SEND" --load -e "$EP" --clients 16 --messages 100000000 --lines 1 \
    --duration 8 --ticket-base 10000000 -t 30000 -r 0 \
    --acked "$T/acked_outage" >"$T/load_outage.out" 2>"$T/load_outage.err" &
load=$!
load_start=$(now_ms)
check "the load is being committed" wait_rows 20 2000
retries_before=$(last_stat retries "$A")
down_at=$(now_ms)
mariadb_stop
check "the database is stopped by pid" test -z "$MARIADB_PID"
# A trade sent while the database is down is not acknowledged.
printf '19000001,1,1' >"$T/probe1"
out=$("$ZSEND" -e "$EP" -t 1000 "$T/probe1" | cut -f2)
expect_eq "nothing is acknowledged while the database is down" "$out" \
    "(no reply)"
# Back once the workers have seen the outage (their write failed).
check "the daemon noticed the outage" \
    wait_until 20 log_has "$A" "failed, retrying"
mariadb_restart || { fail "the database restarts on its datadir"; finish; }
back_at=$(now_ms)
note "database down for $((back_at - down_at)) ms, load started" \
    "$((down_at - load_start)) ms before"
check "the daemon survived the outage" test -d "/proc/$pid"
reap 50 "$load"
rc=$?
done_at=$(now_ms)
sum=$(tail -n 1 "$T/load_outage.out")
note "$sum"
expect_eq "the load ended without a failure" "$rc" 0
acked=$(summary_field acked "$sum")
check "trades were acknowledged" test "${acked:-0}" -gt 0
expect_eq "no valid trade was answered FALSE" \
    "$(summary_field refused "$sum")" 0
expect_eq "every trade got its answer (-t 30000, no resend)" \
    "$(summary_field timeouts "$sum")" 0
check "the clients were all answered within 30 s of the database's return" \
    test $((done_at - back_at)) -lt 30000
note "all answered $((done_at - back_at)) ms after the database's return"
expect_eq "same daemon pid throughout" "$(daemon_pid "$A/feed.ini")" "$pid"
check "and it is still running" test -d "/proc/$pid"
fc -c "$A/feed.ini" status >/dev/null
expect_eq "status says running" "$?" 0
expect_eq "the daemon started once" \
    "$(grep -c 'info: started pid=' "$A/feed.log")" 1
acked=$(sort -u "$T/acked_outage" | wc -l)
expect_eq "every acknowledged trade ($acked) is in the table once, exact, Y" \
    "$(bad_acked "$T/acked_outage")" 0
expect_eq "nothing was dead-lettered" "$(dead_letters)" 0
check "the failure was logged" grep -qE \
    "warning: worker [0-9]+: sink (write|connect) failed, retrying: " \
    "$A/feed.log"
note "$(grep -m 1 -E 'failed, retrying' "$A/feed.log")"
check "the recovery was logged" grep -qE \
    "notice: worker [0-9]+: sink recovered retries=[0-9]+ " "$A/feed.log"
retries=$(($(last_stat retries "$A") - ${retries_before:-0}))
note "retries during the outage: $retries (4 workers)"
check "retries back off: at most 150 for a few seconds' outage" \
    test "$retries" -ge 1 -a "$retries" -le 150
expect_eq "the probe sent during the outage was committed later" \
    "$(sql "SELECT COUNT(*) FROM fee
            WHERE ticket = 19000001 AND status = 'Y'")" 1

# load_bg NAME BASE: 4 clients, 200 one-line trades, waiting up to 30 s each.
load_bg() {
    "$FEED_SEND" --load -e "$EP" --clients 4 --messages 200 --lines 1 \
        --ticket-base "$2" -t 30000 -r 0 --acked "$T/acked_$1" \
        >"$T/load_$1.out" 2>"$T/load_$1.err" &
    load=$!
}

# expect_load_ok NAME BASE: the load of load_bg ended with 200 TRUE.
expect_load_ok() {
    local rc sum
    reap 40 "$load"
    rc=$?
    sum=$(tail -n 1 "$T/load_$1.out")
    note "$sum"
    expect_eq "$1: the clients got TRUE after the fix" "$rc" 0
    expect_eq "$1: 200 acknowledged" "$(summary_field acked "$sum")" 200
    expect_eq "$1: none refused" "$(summary_field refused "$sum")" 0
    expect_eq "$1: every acknowledged trade is in the table, exact" \
        "$(bad_acked "$T/acked_$1")" 0
    expect_eq "$1: all 200 rows" "$(sql "SELECT COUNT(*) FROM fee
        WHERE ticket BETWEEN $2 AND $(($2 + 199)) AND status = 'Y'")" 200
    expect_eq "$1: nothing was dead-lettered" "$(dead_letters)" 0
    expect_eq "$1: same daemon pid" "$(daemon_pid "$A/feed.ini")" "$pid"
    check "$1: the daemon is alive" test -d "/proc/$pid"
}

# --- the table dropped, then recreated from conf/fee.sql --------------------
sql "DROP TABLE fee"
load_bg drop 20000000
check "drop: the server's message is logged" wait_until 20 \
    grep -q "Table 'example.fee' doesn't exist" "$A/feed.log"
note "$(grep -m 1 "doesn't exist" "$A/feed.log")"
printf '29000001,1,1' >"$T/probe2"
expect_eq "drop: nothing is acknowledged without the table" \
    "$("$ZSEND" -e "$EP" -t 1000 "$T/probe2" | cut -f2)" "(no reply)"
check "drop: the clients are still waiting" test -d "/proc/$load"
expect_eq "drop: nothing was dead-lettered" "$(dead_letters)" 0
mariadb_sql <"$SRC_ROOT/conf/fee.sql"
expect_load_ok drop 20000000
retried="warning: worker [0-9]+: sink (write|connect) (failed, retrying"
retried+="|still failing \(retry [0-9]+\)): "
check "drop: retried (the log has it as a warning)" grep -qE \
    "$retried.*Table 'example.fee' doesn't exist" "$A/feed.log"

# --- the password changed and the connections killed -----------------------
sql "ALTER USER 'www'@'127.0.0.1' IDENTIFIED BY 'not-the-password';
     ALTER USER 'www'@'localhost' IDENTIFIED BY 'not-the-password'"
for id in $(sql "SELECT ID FROM information_schema.PROCESSLIST
                 WHERE USER = 'www'"); do
    sql "KILL $id" 2>/dev/null
done
no_www_connections() {
    [ "$(sql "SELECT COUNT(*) FROM information_schema.PROCESSLIST
              WHERE USER = 'www'")" -eq 0 ]
}
check "password: the daemon's connections are gone" \
    wait_until 5 no_www_connections
load_bg password 30000000
check "password: the server's message is logged" wait_until 20 \
    grep -q "Access denied for user 'www'@'127.0.0.1'" "$A/feed.log"
note "$(grep -m 1 "Access denied" "$A/feed.log")"
printf '39000001,1,1' >"$T/probe3"
expect_eq "password: nothing is acknowledged meanwhile" \
    "$("$ZSEND" -e "$EP" -t 1000 "$T/probe3" | cut -f2)" "(no reply)"
check "password: the clients are still waiting" test -d "/proc/$load"
expect_eq "password: nothing was written" "$(sql "SELECT COUNT(*) FROM fee
    WHERE ticket BETWEEN 30000000 AND 30000199")" 0
expect_eq "password: nothing was dead-lettered" "$(dead_letters)" 0
sql "ALTER USER 'www'@'127.0.0.1' IDENTIFIED BY 'qwer123';
     ALTER USER 'www'@'localhost' IDENTIFIED BY 'qwer123'"
expect_load_ok password 30000000

out=$(fc -c "$A/feed.ini" stop)
expect_eq "the daemon stops cleanly after all that" "$?" 0
check "no error was logged" test -z "$(grep ' error: ' "$A/feed.log")"

finish
