#!/usr/bin/env bash
# client_feed_send.sh - feed-send's own side against feed_send_echo (which
# answers TRUE, or "FALSE line 1: test" to a body starting with "bad"):
# the command line and every usage error, send mode's output, load mode's
# summary, refusals and --acked file, endpoint lists and their failover.
# The daemon's side is in client_daemon.sh and the pipeline tests.
. "$(dirname "$0")/lib.sh"

FS=$FEED_SEND
PORT=$(free_port)
DEAD=$(free_port)
EP=tcp://127.0.0.1:$PORT
DEAD_EP=tcp://127.0.0.1:$DEAD
"$FEED_SEND_ECHO" "$EP" &
ECHO_PID=$!
trap 'kill "$ECHO_PID" 2>/dev/null; wait "$ECHO_PID"; cleanup' EXIT

# usage_error WHAT ARGS...: feed-send ARGS exits 2 and its first line on
# stderr is "feed-send: WHAT", followed by the synopsis.
usage_error() {
    local what=$1 out rc
    shift
    out=$("$FS" "$@" 2>&1 </dev/null)
    rc=$?
    expect_eq "usage error ($*): exit 2" "$rc" 2
    expect_eq "usage error ($*): says why" "$(head -n 1 <<<"$out")" \
        "feed-send: $what"
    expect_eq "usage error ($*): shows the synopsis" \
        "$(sed -n 2p <<<"$out")" \
        "usage: feed-send [-e ENDPOINT] [-n LINES] [-t TIMEOUT_MS]"
}

# --- the command line -----------------------------------------------------------
out=$("$FS" --help)
expect_eq "--help exits 0" "$?" 0
expect_match "--help explains the CURVE options" "$out" \
    "--server-key FILE  CURVE: the server's public certificate"
usage_error '-n wants a whole number from 1 to 100000, not "0"' -n 0
usage_error '-t wants a whole number from 1 to 86400000, not " 5"' -t " 5"
usage_error '-r wants a whole number from 0 to 1000, not "-1"' -r -1
usage_error '--clients wants a whole number from 1 to 256, not "257"' \
    --load --clients 257
usage_error '--duration wants seconds above 0, up to 604800, not "0"' \
    --load --duration 0
usage_error '--clients needs --load' --clients 2
usage_error '-n is for send mode, not --load' --load -n 2
usage_error '--payload sends no tickets: it takes no --acked' \
    --load --payload x --acked "$T/a"
usage_error '--messages 2 from --ticket-base 18446744073709551615 passes ticket 18446744073709551615' \
    --load --messages 2 --ticket-base 18446744073709551615
usage_error 'CURVE needs both --server-key and --key' --server-key x
usage_error 'CURVE needs both --server-key and --key' --load --key x
usage_error 'no value for -e' -e
usage_error 'unknown option -x' -x
usage_error 'no value for --acked' --load --acked
usage_error '--load takes no value' --load=1
usage_error 'unknown option --frobnicate' --frobnicate
usage_error 'one FILE at most, not 2' a b

# --- send mode --------------------------------------------------------------------
printf '1,2,3\nbad line\n4,5,6\r\n' >"$T/three.csv"
out=$("$FS" -v -e "$EP" "$T/three.csv" 2>"$T/err")
expect_eq "send mode exits 1 when a message is refused" "$?" 1
expect_eq "send mode prints the refusal with its message and lines" "$out" \
    "message 2 (lines 2-2): FALSE line 1: test"
expect_match "-v prints the summary on stderr" "$(cat "$T/err")" \
    '^messages=3 acked=2 refused=1 timeouts=0 seconds=[0-9.]+$'
out=$("$FS" -q -e "$EP" "$T/three.csv")
expect_eq "-q prints nothing" "$out" ""
out=$(printf '1,2,3\n4,5,6\n' | "$FS" -n 2 -e "$DEAD_EP,$EP" -t 200 -)
expect_eq "send mode fails over from a dead endpoint and books all" "$?" 0
out=$("$FS" -t 100 -r 0 -e "$DEAD_EP" "$T/three.csv")
expect_eq "send mode exits 1 on timeouts" "$?" 1
expect_eq "each message without a reply says so" "$(head -n 1 <<<"$out")" \
    "message 1 (lines 1-1): no reply after 1 attempt"
out=$("$FS" -e "$EP" "$T/none.csv" 2>&1)
expect_eq "a missing file exits 1" "$?" 1
expect_eq "a missing file is named" "$out" \
    "feed-send: cannot read $T/none.csv: No such file or directory"
out=$("$FS" -e "tcp://nowhere" "$T/three.csv" 2>&1)
expect_eq "an endpoint ZeroMQ refuses exits 1" "$?" 1
expect_eq "an endpoint ZeroMQ refuses is named" "$out" \
    "feed-send: cannot connect to tcp://nowhere: Invalid argument"
out=$("$FS" -e "$EP," "$T/three.csv" 2>&1)
expect_eq "an empty endpoint is refused" "$out" \
    "feed-send: invalid endpoint list \"$EP,\": an endpoint is empty"
if [ -w /dev/full ]; then
    "$FS" -e "$EP" "$T/three.csv" >/dev/full 2>"$T/err"
    expect_eq "a stdout that cannot be written exits 1" "$?" 1
    expect_eq "and says so" "$(cat "$T/err")" \
        "feed-send: cannot write stdout: No space left on device"
fi

# --- load mode ----------------------------------------------------------------------
out=$("$FS" --load -e "$EP, $DEAD_EP" --clients 4 --messages 400 --lines 2 \
    --ticket-base 1000 --acked "$T/acked" -t 200)
expect_eq "load mode exits 0 when all is acknowledged" "$?" 0
expect_match "the summary counts every message" "$out" \
    '^clients=4 lines=2 messages=400 acked=400 refused=0 timeouts=0 seconds='
n=$(sort -u "$T/acked" | wc -l)
range=$(sort -n "$T/acked" | sed -n '1p;$p' | tr '\n' ' ')
expect_eq "--acked lists every ticket, once" "$n $(wc -l <"$T/acked")" \
    "800 800"
expect_eq "--acked lists tickets 1000 to 1799" "$range" "1000 1799 "
out=$("$FS" --load -e "$EP" --clients 2 --messages 9 --payload bad 2>"$T/err")
expect_eq "load mode exits 1 on refusals" "$?" 1
expect_match "every refusal is counted" "$out" 'messages=9 acked=0 refused=9 '
expect_eq "the first 5 refusals are shown" "$(cat "$T/err")" \
    "$(printf 'feed-send: refused: FALSE line 1: test\n%.0s' 1 2 3 4 5)"
out=$("$FS" --load -e "$DEAD_EP" --clients 2 --messages 2 -t 100 -r 1)
expect_eq "load mode exits 1 on timeouts" "$?" 1
expect_match "timeouts are counted" "$out" 'acked=0 refused=0 timeouts=2 '
out=$("$FS" --load -e "$EP" --acked "$T/no/such/acked" 2>&1)
expect_eq "an --acked file that cannot be opened exits 1" "$?" 1
expect_eq "and is named" "$out" \
    "feed-send: cannot open $T/no/such/acked: No such file or directory"
if [ -w /dev/full ]; then
    out=$("$FS" --load -e "$EP" --clients 1 --messages 3 --acked /dev/full \
        2>&1 >/dev/null)
    expect_eq "a failed --acked write exits 1" "$?" 1
    expect_eq "and is named" "$out" \
        "feed-send: cannot write /dev/full: No space left on device"
    out=$("$FS" --load -e "$EP" --clients 1 --messages 1 2>&1 >/dev/full)
    expect_eq "a summary that cannot be written exits 1" "$?" 1
    expect_eq "and says so" "$out" \
        "feed-send: cannot write stdout: No space left on device"
fi

finish
