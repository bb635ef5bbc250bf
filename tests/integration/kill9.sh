#!/usr/bin/env bash
# kill9.sh - ten rounds of a 32-client ack = commit load, each with a
# kill -9 of the daemon at a random moment and an immediate restart (the
# clients resend what got no reply to the new daemon). After all rounds,
# every ticket that ever got TRUE is in the table exactly once, with its
# values and status Y: a TRUE survives kill -9.
. "$(dirname "$0")/lib.sh"
. "$SRC_ROOT/tests/lib/mariadb.sh"

ROUNDS=${KILL9_ROUNDS:-10}

mariadb_start "$T/db" || { fail "the private MariaDB starts"; finish; }
note "mariadbd pid $MARIADB_PID port $MARIADB_PORT"

USER_LINE=""
if [ "$(id -u)" -eq 0 ]; then
    USER_LINE="user = nobody"
fi

sql() { mariadb_sql "$@"; }

# lock_released: nobody holds the pidfile's lock (status is not 0).
lock_released() {
    ! fc -c "$A/feed.ini" status >/dev/null
}

# reap SECONDS PID: waits for a client this test started in the
# background, killing it after SECONDS; returns its exit status.
reap() {
    if ! wait_until "$1" process_gone "$2"; then
        fail "pid $2 ends within $1 s"
        kill -KILL "$2" 2>/dev/null
    fi
    wait "$2"
}

# start_ok WHAT INI: starts the daemon of INI as one assertion; start's
# output is shown when it fails.
start_ok() {
    local out rc
    out=$(start_daemon "$2" 2>&1)
    rc=$?
    expect_eq "$1" "$rc" 0
    [ "$rc" -eq 0 ] || note "$out"
    return "$rc"
}

# summary_field NAME SUMMARY: a field of feed-send's summary line.
summary_field() {
    printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# bad_acked FILE: how many tickets listed in FILE are not in the table
# exactly once, with status Y and feed-send's values for them.
bad_acked() {
    {
        echo "CREATE TEMPORARY TABLE acked (t BIGINT UNSIGNED PRIMARY KEY);"
        sort -u "$1" | awk 'NR % 1000 == 1 { if (NR > 1) print ";";
            printf "INSERT INTO acked VALUES (%s)", $1; next }
            { printf ",(%s)", $1 } END { if (NR) print ";" }'
        echo "SELECT COUNT(*) FROM acked a WHERE 1 <> (SELECT COUNT(*)"
        echo "  FROM fee f WHERE f.ticket = a.t AND f.status = 'Y'"
        echo "  AND f.login = 1000 + a.t % 9000"
        echo "  AND f.volume = a.t % 100000 + (a.t % 10000) / 10000);"
    } | mariadb_sql
}

PORT=$(free_port)
EP=tcp://127.0.0.1:$PORT
A=$T/a
mkdir -p "$A"
chmod 777 "$A"
cat >"$A/feed.ini" <<EOF
[core]
pidfile = run/feed.pid
$USER_LINE
threads = 4
log = feed.log
log_level = info
dead_letter = dead.jsonl
stats_interval = 1
stop_timeout = 20
plugin_dir = $PLUGIN_DIR

[source]
plugin = zmq_rep
endpoint = $EP
ack = commit

[parser]
plugin = csv_trade

[sink]
plugin = mysql_fee
host = 127.0.0.1
port = $MARIADB_PORT
user = www
password = qwer123
database = example
EOF

start_ok "the daemon starts" "$A/feed.ini" || finish
pid=$(daemon_pid "$A/feed.ini")

refused=0
failed_restarts=0
not_killed=0
for round in $(seq 1 "$ROUNDS"); do
    base=$((round * 10000000))
    "$FEED_SEND" --load -e "$EP" --clients 32 --messages 100000000 \
        --lines 2 --duration 3 --ticket-base "$base" -t 1000 -r 3 \
        --acked "$T/acked" >"$T/load_$round.out" 2>"$T/load_$round.err" &
    load=$!
    at=$((300 + RANDOM % 2300))
    sleep "$(printf '%d.%03d' $((at / 1000)) $((at % 1000)))"
    kill -9 "$pid"
    # The lock goes with the last thread, after the main one is a zombie.
    if ! wait_until 10 process_gone "$pid" ||
        ! wait_until 10 lock_released; then
        not_killed=$((not_killed + 1))
    fi
    out=$(start_daemon "$A/feed.ini" 2>&1)
    rc=$?
    new=$(daemon_pid "$A/feed.ini")
    if [ "$rc" -ne 0 ] || [ "$out" != "feed-core started (pid $new)" ] ||
        [ "$new" == "$pid" ]; then
        failed_restarts=$((failed_restarts + 1))
        note "round $round: restart: rc=$rc: $out"
    fi
    pid=$new
    reap 30 "$load"
    sum=$(tail -n 1 "$T/load_$round.out")
    r=$(summary_field refused "$sum")
    refused=$((refused + ${r:-1}))
    note "round $round: kill -9 at ${at} ms:" \
        "acked=$(summary_field acked "$sum") refused=$r" \
        "timeouts=$(summary_field timeouts "$sum")"
done

expect_eq "every kill -9 killed the daemon" "$not_killed" 0
expect_eq "every restart after kill -9 worked at once" "$failed_restarts" 0
expect_eq "no valid trade was ever answered FALSE" "$refused" 0
out=$(fc -c "$A/feed.ini" stop)
expect_eq "the last daemon stops cleanly" "$?" 0
acked=$(sort -u "$T/acked" | wc -l)
check "trades were acknowledged ($acked)" test "$acked" -gt 0
expect_eq "every acknowledged ticket is in the table once, exact, status Y" \
    "$(bad_acked "$T/acked")" 0
expect_eq "no row was left half-written (status N)" \
    "$(sql "SELECT COUNT(*) FROM fee WHERE status <> 'Y'")" 0
expect_eq "the daemon started $((ROUNDS + 1)) times" \
    "$(grep -c 'info: started pid=' "$A/feed.log")" $((ROUNDS + 1))
check "nothing was dead-lettered" test ! -s "$A/dead.jsonl"

finish
