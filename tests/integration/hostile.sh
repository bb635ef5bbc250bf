#!/usr/bin/env bash
# hostile.sh - input meant to hurt: a 64 MiB message, 10,000 connections
# opened and closed, a client that never reads its reply, NUL bytes,
# invalid UTF-8, 100,000-line messages, multipart requests. Each is
# answered as the contract says (or dropped with its peer), the daemon
# stays up and serves the next client, and its descriptors do not leak.
# Then memory: a flood faster than the database (paused) with ack =
# receive; the queue and the daemon's RSS stay bounded by queue_max.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

start_database

# exact_rows FIRST COUNT: rows of tickets FIRST.. with feed-send's values.
exact_rows() {
    sql "SELECT COUNT(*) FROM fee WHERE ticket BETWEEN $1 AND $(($1 + $2 - 1))
         AND login = 1000 + ticket % 9000
         AND volume = ticket % 100000 + (ticket % 10000) / 10000
         AND status = 'Y'"
}

rss_kb() { sed -n 's/^VmRSS:\s*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }

# trade T: feed-send's line for ticket T, without a newline.
trade() {
    printf '%d,%d,%d.%04d' "$1" $((1000 + $1 % 9000)) $(($1 % 100000)) \
        $(($1 % 10000))
}

# trades FIRST COUNT: the lines of tickets FIRST.., each with a newline.
trades() {
    awk -v f="$1" -v n="$2" 'BEGIN { for (t = f; t < f + n; t++)
        printf "%d,%d,%d.%04d\n", t, 1000 + t % 9000, t % 100000, t % 10000 }'
}

PORT=$(free_port)
EP=tcp://127.0.0.1:$PORT
A=$T/a
write_ini "$A" "$PORT" "" "threads = 2"
start_ok "the daemon starts" "$A/feed.ini" || finish
pid=$(daemon_pid "$A/feed.ini")
trade 1000001 >"$T/t1"
expect_eq "a trade is acknowledged" \
    "$("$ZSEND" -e "$EP" "$T/t1" | cut -f2)" TRUE
idle_rss=$(rss_kb "$pid")
idle_fds=$(fds "$pid")
note "idle: RSS ${idle_rss} kB, $idle_fds descriptors"

# served N: a fresh trade (ticket N) gets TRUE.
served() {
    trade "$1" >"$T/served_$1"
    [ "$("$ZSEND" -e "$EP" -t 10000 "$T/served_$1" | cut -f2)" == TRUE ]
}

# --- a 64 MiB message: its peer is dropped, the daemon lives on -----------
yes '1,1,1' | head -c $((64 * 1024 * 1024)) >"$T/big"
"$ZSEND" -e "$EP" -t 5000 "$T/big" >"$T/big.out" &
sender=$!
peak=$idle_rss
deadline=$(($(now_ms) + 30000))
while ! process_gone "$sender" && [ "$(now_ms)" -lt "$deadline" ]; do
    r=$(rss_kb "$pid")
    if [ -n "$r" ] && [ "$r" -gt "$peak" ]; then
        peak=$r
    fi
    sleep 0.05
done
reap 10 "$sender"
expect_eq "64 MiB: no reply (the peer is disconnected)" \
    "$(cut -f2 "$T/big.out")" "(no reply)"
rm -f "$T/big"
note "64 MiB: peak RSS while it was sent ${peak} kB"
check "64 MiB: never held in memory (peak +$((peak - idle_rss)) kB)" \
    test "$peak" -lt $((idle_rss + 32 * 1024))
fc -c "$A/feed.ini" status >/dev/null
expect_eq "64 MiB: status still 0" "$?" 0
expect_eq "64 MiB: same pid" "$(daemon_pid "$A/feed.ini")" "$pid"
check "64 MiB: the next client is served" served 1000002
expect_eq "64 MiB: nothing dead-lettered (the message was never read)" \
    "$(cat "$A/dead.jsonl" 2>/dev/null | wc -l)" 0

# --- 10,000 connections opening and closing ---------------------------------
before_fds=$(fds "$pid")
t0=$(now_ms)
out=$("$ZSEND" -e "$EP" -t 10000 -c 8 -R 10000 -b 2000000)
rc=$?
note "$out in $(($(now_ms) - t0)) ms"
expect_eq "10,000 connections: each trade TRUE" "$out" \
    "churn connections=10000 acked=10000 refused=0 noreply=0"
expect_eq "10,000 connections: zsend exits 0" "$rc" 0
expect_eq "10,000 connections: 10,000 exact rows" \
    "$(exact_rows 2000000 10000)" 10000
fds_settled() { [ "$(fds "$pid")" -le $((before_fds + 3)) ]; }
check "10,000 connections: no descriptor leaked ($before_fds before)" \
    wait_until 10 fds_settled
note "descriptors after the churn: $(fds "$pid")"
check "10,000 connections: the daemon is alive" test -d "/proc/$pid"

# --- a client that sends and never reads its reply --------------------------
trade 3000001 >"$T/held"
"$ZSEND" -e "$EP" -H 6000 -c 4 "$T/held" >"$T/held.out" &
holder=$!
t0=$(now_ms)
"$FEED_SEND" --load -e "$EP" --clients 4 --messages 400 --ticket-base 3100000 \
    -t 5000 -r 0 --acked "$T/acked_hold" >"$T/load_hold.out" 2>&1
expect_eq "held: the other clients are all served meanwhile" "$?" 0
took=$(($(now_ms) - t0))
check "held: while the holders still hold ($took ms < 6000)" \
    test "$took" -lt 6000
check "held: the holders are still holding" test -d "/proc/$holder"
expect_eq "held: every acknowledged trade is in the table" \
    "$(bad_acked "$T/acked_hold")" 0
reap 20 "$holder"
expect_eq "held: the never-read trade was committed all the same" \
    "$(exact_rows 3000001 1)" 1
check "held: the daemon is alive" test -d "/proc/$pid"

# --- NUL bytes, invalid UTF-8, 100,000-line messages, multipart -------------
mkdir -p "$T/bad"
n=0
bad() { # BODY-PRINTF-FORMAT EXPECTED-REPLY
    n=$((n + 1))
    # shellcheck disable=SC2059 # the body is the format, on purpose
    printf -- "$1" >"$T/bad/$(printf '%02d' $n)"
    echo "$2" >"$T/bad/$(printf '%02d' $n).want"
}
bad '30000\0001,1,1' 'FALSE line 1: NUL byte'
bad '1,1,1\n2,\0,1' 'FALSE line 2: NUL byte'
bad '\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0' 'FALSE line 1: NUL byte'
bad '\0' 'FALSE line 1: NUL byte'
bad '\xff\xfe,1,1' 'FALSE line 1: ticket is not a number'
bad '1,1,1\n2,1,1\xc3\x28' 'FALSE line 2: volume is not a number'
bad '1,\xc0\xaf,1' 'FALSE line 1: login is not a number'
bad '\xed\xa0\x80,1,1' 'FALSE line 1: ticket is not a number'
bad '1,1,1\xf4\x90\x80\x80' 'FALSE line 1: volume is not a number'
n=$((n + 1))
f=$T/bad/$(printf '%02d' $n)
yes 1 | head -n 100000 >"$f"
echo 'FALSE line 1: expected 3 fields, got 1' >"$f.want"
n=$((n + 1))
f=$T/bad/$(printf '%02d' $n)
yes '' | head -n 100000 >"$f"
echo 'FALSE line 1: empty line' >"$f.want"
n=$((n + 1))
f=$T/bad/$(printf '%02d' $n)
{ trade 4000001; echo; yes 1 | head -n 99999; } >"$f"
echo 'FALSE line 2: expected 3 fields, got 1' >"$f.want"
n=$((n + 1))
f=$T/bad/$(printf '%02d' $n)
{ trades 4000002 29999; echo x; } >"$f"
echo 'FALSE line 30000: expected 3 fields, got 1' >"$f.want"
dl_before=$(cat "$A/dead.jsonl" 2>/dev/null | wc -l)
wrong=0
for f in "$T"/bad/??; do
    got=$("$ZSEND" -e "$EP" -t 10000 "$f" | cut -f2)
    want=$(cat "$f.want")
    if [ "$got" != "$want" ]; then
        wrong=$((wrong + 1))
        note "$(basename "$f"): want '$want', got '$got'"
    fi
done
expect_eq "$n hostile requests each get their FALSE reason" "$wrong" 0
expect_eq "one dead_letter line each" \
    "$(($(wc -l <"$A/dead.jsonl") - dl_before))" "$n"
check "NUL bytes are kept as \\u0000 in the JSON" grep -qF \
    '"reason":"line 1: NUL byte","client":"127.0.0.1","message":"30000\u00001,1,1"' \
    "$A/dead.jsonl"
for f in 05 06 07 08 09; do
    b64=$(base64 -w 0 "$T/bad/$f")
    check "invalid UTF-8 ($f) is kept as message_base64" grep -qF \
        "\"message_base64\":\"$b64\"" "$A/dead.jsonl"
done
expect_eq "none of them wrote a row" "$(sql "SELECT COUNT(*) FROM fee
    WHERE ticket BETWEEN 4000000 AND 4100000 OR ticket IN (1, 2, 30000)")" 0
trades 4100001 30000 >"$T/lines30k"
note "a valid message of 30,000 lines: $(wc -c <"$T/lines30k") bytes"
expect_eq "a valid 30,000-line message is TRUE" \
    "$("$ZSEND" -e "$EP" -t 20000 "$T/lines30k" | cut -f2)" TRUE
expect_eq "with its 30,000 rows" "$(exact_rows 4100001 30000)" 30000

printf '5000001,1,1' >"$T/part1"
printf '5000002,1,1' >"$T/part2"
out=$("$ZSEND" -e "$EP" -m "$T/part1" "$T/part2" | cut -f2)
expect_eq "multipart: refused" "$out" \
    "FALSE multipart requests are not accepted"
check "multipart: dead_letter has parts 2 and the first frame" grep -qF \
    '"reason":"multipart requests are not accepted","client":"127.0.0.1","parts":2,"message":"5000001,1,1"' \
    "$A/dead.jsonl"
expect_eq "multipart: nothing written" \
    "$(sql "SELECT COUNT(*) FROM fee WHERE ticket IN (5000001, 5000002)")" 0

check "after all that: the daemon serves the next client" served 1000003
expect_eq "after all that: same pid" "$(daemon_pid "$A/feed.ini")" "$pid"
rss=$(rss_kb "$pid")
note "after all that: RSS ${rss} kB, $(fds "$pid") descriptors"
fc -c "$A/feed.ini" stop >/dev/null
expect_eq "after all that: a clean stop" "$?" 0

# --- memory under a flood faster than the database (paused) -----------------
QMAX=20000
MP=$(free_port)
M=$T/m
write_ini "$M" "$MP" "ack = receive" "$(printf 'threads = 2\nqueue_max = %s' "$QMAX")"
start_ok "flood: the daemon starts" "$M/feed.ini"
mpid=$(daemon_pid "$M/feed.ini")
trade 6000001 >"$T/m1"
expect_eq "flood: a first trade is acknowledged" \
    "$("$ZSEND" -e "tcp://127.0.0.1:$MP" "$T/m1" | cut -f2)" TRUE
idle_rss=$(rss_kb "$mpid")
mariadb_pause
"$FEED_SEND" --load -e "tcp://127.0.0.1:$MP" --clients 16 \
    --messages 100000000 --lines 100 --duration 4 --ticket-base 10000000 \
    -t 1000 -r 0 --acked "$T/acked_flood" >"$T/load_flood.out" \
    2>"$T/load_flood.err" &
load=$!
max_rss=$idle_rss
deadline=$(($(now_ms) + 40000))
while ! process_gone "$load" && [ "$(now_ms)" -lt "$deadline" ]; do
    r=$(rss_kb "$mpid")
    if [ -n "$r" ] && [ "$r" -gt "$max_rss" ]; then
        max_rss=$r
    fi
    sleep 0.1
done
reap 10 "$load"
sum=$(tail -n 1 "$T/load_flood.out")
note "$sum"
max_queue=$(grep -o ' queue=[0-9]*' "$M/feed.log" | cut -d= -f2 | sort -n |
    tail -n 1)
note "flood: idle RSS ${idle_rss} kB, max RSS ${max_rss} kB," \
    "max queue ${max_queue} records (queue_max $QMAX)"
check "flood: the queue filled up" test "${max_queue:-0}" -ge $((QMAX - 100))
check "flood: the queue never exceeded queue_max + one message" \
    test "${max_queue:-0}" -le $((QMAX + 100))
check "flood: RSS stayed under idle + 64 MiB" \
    test "$max_rss" -lt $((idle_rss + 64 * 1024))
check "flood: the clients were pushed back (timeouts)" \
    test "$(summary_field timeouts "$sum")" -gt 0
expect_eq "flood: no valid trade was answered FALSE" \
    "$(summary_field refused "$sum")" 0
mariadb_resume
acked=$(sort -u "$T/acked_flood" | wc -l)
check "flood: trades were acknowledged ($acked)" test "$acked" -gt 0
all_landed() { [ "$(bad_acked "$T/acked_flood")" -eq 0 ]; }
check "flood: every acknowledged trade lands once the database is back" \
    wait_until 60 all_landed
check "flood: the daemon is alive" test -d "/proc/$mpid"
fc -c "$M/feed.ini" stop >/dev/null
expect_eq "flood: a clean stop" "$?" 0

finish
