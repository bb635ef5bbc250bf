#!/usr/bin/env bash
# kill9.sh - ten rounds of a 32-client ack = commit load, each with a
# kill -9 of the daemon at a random moment and an immediate restart (the
# clients resend what got no reply to the new daemon). After all rounds,
# every ticket that ever got TRUE is in the table exactly once, with its
# values and status Y: a TRUE survives kill -9.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

ROUNDS=${KILL9_ROUNDS:-10}

start_database

# lock_released: nobody holds the pidfile's lock (status is not 0).
lock_released() {
    ! fc -c "$A/feed.ini" status >/dev/null
}

PORT=$(free_port)
EP=tcp://127.0.0.1:$PORT
A=$T/a
write_ini "$A" "$EP" "ack = commit"

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
