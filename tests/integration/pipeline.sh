#!/usr/bin/env bash
# pipeline.sh - the default pipeline end to end: zmq_rep, csv_trade and
# mysql_fee against a private MariaDB, with real ZeroMQ REQ clients.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

start_database

PORT=$(free_port)
EP=tcp://127.0.0.1:$PORT
A=$T/a
write_ini "$A" "$EP"
out=$(start_daemon "$A/feed.ini" 2>&1)
expect_eq "the daemon starts against the private MariaDB" "$?" 0
note "$out"

# --- 1000 trades from 8 concurrent clients ------------------------------
"$FEED_SEND" --load -e "$EP" --clients 8 --messages 1000 --lines 1 \
    --ticket-base 1000000 --acked "$T/acked8" >"$T/load8.out"
expect_eq "1000 trades from 8 clients are all acknowledged" "$?" 0
expect_eq "1000 tickets acked" "$(sort -u "$T/acked8" | wc -l)" 1000
expect_eq "1000 rows, every value exact, every status Y" \
    "$(sql "SELECT COUNT(*) FROM fee WHERE ticket BETWEEN 1000000 AND 1000999
            AND login = 1000 + ticket % 9000
            AND volume = ticket % 100000 + (ticket % 10000) / 10000
            AND status = 'Y'")" 1000

# --- 100-line messages: LF, CRLF, with and without a final newline -----
lines() { # FIRST COUNT SEPARATOR
    local i
    for i in $(seq "$1" $(($1 + $2 - 1))); do
        printf '%d,%d,%d.%d%b' "$i" $((i % 77)) $((i % 1000)) $((i % 10)) "$3"
    done
}
lines 2000000 100 '\n' >"$T/lf_final"
lines 2000100 100 '\n' | head -c -1 >"$T/lf_bare"
lines 2000200 100 '\r\n' >"$T/crlf_final"
lines 2000300 100 '\r\n' | head -c -2 >"$T/crlf_bare"
out=$("$ZSEND" -e "$EP" "$T/lf_final" "$T/lf_bare" "$T/crlf_final" \
    "$T/crlf_bare" | cut -f2 | sort | uniq -c | tr -s ' ')
expect_eq "LF and CRLF, final newline or not: all TRUE" "$out" " 4 TRUE"
expect_eq "400 rows from the four 100-line messages" \
    "$(sql "SELECT COUNT(*) FROM fee WHERE ticket BETWEEN 2000000 AND 2000399
            AND login = ticket % 77 AND status = 'Y'")" 400

# --- malformed requests: FALSE with a reason, nothing written ----------
mkdir -p "$T/bad"
n=0
bad() { # BODY (printf format) EXPECTED-REPLY
    n=$((n + 1))
    printf -- "$1" >"$T/bad/$(printf '%02d' $n)"
    echo "$2" >"$T/bad/$(printf '%02d' $n).want"
}
bad '' 'FALSE empty message'
bad '\n' 'FALSE line 1: empty line'
bad '3000001,1,1\n\n' 'FALSE line 2: empty line'
bad '3000001,1,1\n\n3000002,1,1' 'FALSE line 2: empty line'
bad '3000001,1' 'FALSE line 1: expected 3 fields, got 2'
bad '3000001,1,1,1' 'FALSE line 1: expected 3 fields, got 4'
bad '3000001' 'FALSE line 1: expected 3 fields, got 1'
bad ',1,1' 'FALSE line 1: ticket is empty'
bad '3000001,,1' 'FALSE line 1: login is empty'
bad '3000001,1,' 'FALSE line 1: volume is empty'
bad ' 3000001,1,1' 'FALSE line 1: ticket is not a number'
bad '3000001 ,1,1' 'FALSE line 1: ticket is not a number'
bad '3000001,1, 1' 'FALSE line 1: volume is not a number'
bad '3000001,1,1 ' 'FALSE line 1: volume is not a number'
bad '3000001,\t1,1' 'FALSE line 1: login is not a number'
bad '+3000001,1,1' 'FALSE line 1: ticket is not a number'
bad '-3000001,1,1' 'FALSE line 1: ticket is not a number'
bad '3000001,-1,1' 'FALSE line 1: login is not a number'
bad '3000001,1,-1' 'FALSE line 1: volume is not a number'
bad '3000001,1,+1' 'FALSE line 1: volume is not a number'
bad '3000001,1,1e5' 'FALSE line 1: volume is not a number'
bad '3000001,1,1E5' 'FALSE line 1: volume is not a number'
bad '0x10,1,1' 'FALSE line 1: ticket is not a number'
bad '3000001,1,0x10' 'FALSE line 1: volume is not a number'
bad '3000001,1,nan' 'FALSE line 1: volume is not a number'
bad '3000001,1,inf' 'FALSE line 1: volume is not a number'
bad '3000001,1,NaN' 'FALSE line 1: volume is not a number'
bad '3000001,1,.5' 'FALSE line 1: volume is not a number'
bad '3000001,1,5.' 'FALSE line 1: volume is not a number'
bad '3000001,1,1..2' 'FALSE line 1: volume is not a number'
bad '3000001,1,1.2.3' 'FALSE line 1: volume is not a number'
bad '3000001,1,1,5' 'FALSE line 1: expected 3 fields, got 4'
bad '3000001,1.5,1' 'FALSE line 1: login is not a number'
bad '30000\0001,1,1' 'FALSE line 1: NUL byte'
bad '3000001,1,1\r' 'FALSE line 1: volume is not a number'
bad '3000001,1,1\r\r\n' 'FALSE line 1: volume is not a number'
bad '18446744073709551616,1,1' 'FALSE line 1: ticket is out of range'
bad '3000001,18446744073709551616,1' 'FALSE line 1: login is out of range'
bad '3000001,1,12345678901234567' \
    'FALSE line 1: volume has more than 16 digits before the point'
bad '3000001,1,1.12345' 'FALSE line 1: volume has more than 4 digits after the point'
bad '3000001,1,1\n3000002,x,1' 'FALSE line 2: login is not a number'
bad '3000001,1,1\n3000001,2,1' \
    'FALSE line 2: ticket 3000001 repeats line 1 with other values'
bad '\xff\xfe,1,1' 'FALSE line 1: ticket is not a number'
bad "3000001,1,1\n3000002,1,$(printf '0%.0s' $(seq 1 250))1" \
    'FALSE line 2: line is longer than 256 bytes'
bad '3000001;1;1' 'FALSE line 1: expected 3 fields, got 1'
bad '3000001,1,1\n\r\n' 'FALSE line 2: empty line'
before=$(sql "SELECT COUNT(*) FROM fee")
dl_before=$(wc -l <"$A/dead.jsonl" 2>/dev/null || echo 0)
wrong=0
for f in "$T"/bad/??; do
    got=$("$ZSEND" -e "$EP" "$f" | cut -f2)
    want=$(cat "$f.want")
    if [ "$got" != "$want" ]; then
        wrong=$((wrong + 1))
        note "$(basename "$f"): want '$want', got '$got'"
    fi
done
expect_eq "$n malformed requests each get their FALSE reason" "$wrong" 0
check "the corpus has at least 40 requests" test "$n" -ge 40
expect_eq "the table is unchanged" "$(sql "SELECT COUNT(*) FROM fee")" \
    "$before"
expect_eq "one dead_letter line per refused request" \
    "$(($(wc -l <"$A/dead.jsonl") - dl_before))" "$n"
expect_match "dead_letter keeps the text and the reason" \
    "$(grep -F '"reason":"line 2: login is not a number"' "$A/dead.jsonl")" \
    '"message":"3000001,1,1\\n3000002,x,1"'
expect_match "invalid UTF-8 is kept as base64" \
    "$(grep -F '"message_base64":"//4sMSwx"' "$A/dead.jsonl")" 'time'
out=$("$ZSEND" -e "$EP" "$T/lf_final" | cut -f2)
expect_eq "the daemon still answers after the corpus" "$out" "TRUE"

# --- replays ---------------------------------------------------------------
printf '5000001,10,1.5' >"$T/r1"
printf '0005000001,010,1.5000' >"$T/r2"
printf '5000001,11,1.5' >"$T/r3"
printf '5000001,10,1.6' >"$T/r4"
printf '5000003,1,1\n5000001,99,1' >"$T/r5"
expect_eq "a trade is accepted" "$("$ZSEND" -e "$EP" "$T/r1" | cut -f2)" TRUE
expect_eq "its identical replay is accepted" \
    "$("$ZSEND" -e "$EP" "$T/r1" | cut -f2)" TRUE
expect_eq "a numerically identical replay is accepted" \
    "$("$ZSEND" -e "$EP" "$T/r2" | cut -f2)" TRUE
expect_eq "a replay with another login is refused" \
    "$("$ZSEND" -e "$EP" "$T/r3" | cut -f2)" \
    "FALSE line 1: ticket 5000001 exists with other values"
expect_eq "a replay with another volume is refused" \
    "$("$ZSEND" -e "$EP" "$T/r4" | cut -f2)" \
    "FALSE line 1: ticket 5000001 exists with other values"
expect_eq "a message with one conflicting line is refused whole" \
    "$("$ZSEND" -e "$EP" "$T/r5" | cut -f2)" \
    "FALSE line 2: ticket 5000001 exists with other values"
expect_eq "one row, the first one kept" \
    "$(sql "SELECT COUNT(*), MIN(login), MIN(volume) FROM fee
            WHERE ticket = 5000001")" "$(printf '1\t10\t1.5000')"
expect_eq "nothing of the refused message was written" \
    "$(sql "SELECT COUNT(*) FROM fee WHERE ticket = 5000003")" 0

printf '5000100,7,7.7' >"$T/same16"
out=$("$ZSEND" -e "$EP" -c 16 "$T/same16" | cut -f2 | sort | uniq -c |
    tr -s ' ')
expect_eq "the same trade from 16 clients at once: 16 TRUE" "$out" " 16 TRUE"
expect_eq "and one row" \
    "$(sql "SELECT COUNT(*) FROM fee WHERE ticket = 5000100")" 1

# --- two endpoints -----------------------------------------------------------
fc -c "$A/feed.ini" stop >/dev/null
P1=$(free_port)
P2=$(free_port)
write_ini "$T/two" "tcp://127.0.0.1:$P1, tcp://127.0.0.1:$P2" "" "threads = 3"
start_daemon "$T/two/feed.ini" >/dev/null
expect_eq "two endpoints: the first answers" \
    "$(printf '6000001,1,1' | "$ZSEND" -e "tcp://127.0.0.1:$P1" - | cut -f2)" \
    TRUE
expect_eq "two endpoints: the second answers" \
    "$(printf '6000002,1,1' | "$ZSEND" -e "tcp://127.0.0.1:$P2" - | cut -f2)" \
    TRUE
expect_eq "threads = 3 opens 3 connections" \
    "$(sql "SELECT COUNT(*) FROM information_schema.PROCESSLIST
            WHERE USER = 'www'")" 3
fc -c "$T/two/feed.ini" stop >/dev/null
expect_eq "and closes them on stop" \
    "$(sql "SELECT COUNT(*) FROM information_schema.PROCESSLIST
            WHERE USER = 'www'")" 0

# --- ack = receive, then an immediate stop ----------------------------------
PR=$(free_port)
write_ini "$T/recv" "tcp://127.0.0.1:$PR" "ack = receive"
start_daemon "$T/recv/feed.ini" >/dev/null
"$FEED_SEND" --load -e "tcp://127.0.0.1:$PR" --clients 16 --messages 4000 \
    --lines 5 --ticket-base 7000000 --acked "$T/acked_recv" >/dev/null
fc -c "$T/recv/feed.ini" stop >/dev/null
expect_eq "ack = receive: the stop was clean" "$?" 0
acked=$(sort -u "$T/acked_recv" | wc -l)
check "ack = receive: trades were acknowledged" test "$acked" -gt 0
missing=$(bad_acked "$T/acked_recv")
expect_eq "ack = receive: every acknowledged trade is in the table" \
    "$missing" 0

# --- kill -9 in the middle of a 32-client load, ack = commit ------------
start_daemon "$A/feed.ini" >/dev/null
pid=$(daemon_pid "$A/feed.ini")
"$FEED_SEND" --load -e "$EP" --clients 32 --messages 1000000 --duration 6 \
    --lines 2 --ticket-base 8000000 -t 1000 -r 0 --acked "$T/acked_kill" \
    >/dev/null 2>&1 &
load=$!
wait_until 20 test -s "$T/acked_kill"
# Mid-load: well past the first acknowledgements.
before=$(sql "SELECT COUNT(*) FROM fee")
wait_rows 20 "$((before + 2000))"
kill -9 "$pid"
wait "$load"
acked=$(sort -u "$T/acked_kill" | wc -l)
check "kill -9: trades were acknowledged before the kill" test "$acked" -gt 0
missing=$(bad_acked "$T/acked_kill")
expect_eq "kill -9: every acknowledged trade ($acked) survived" "$missing" 0
out=$(start_daemon "$A/feed.ini")
expect_eq "the daemon starts again after kill -9" "$?" 0
fc -c "$A/feed.ini" stop >/dev/null
grep -q "stats received=" "$A/feed.log"
expect_eq "stats lines are logged" "$?" 0

finish
