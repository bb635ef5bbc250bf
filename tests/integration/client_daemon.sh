#!/usr/bin/env bash
# client_daemon.sh - the clients against a real feed-core: libfeed-client
# (client_lib's daemon group), feed-send on an endpoint list whose first
# daemon is dead, and the Python example (docs/examples/feed_client.py):
# failover, a refusal's reason, a timeout. The sink is the test sink (one
# line a record): this test is about the clients, not the database.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
EXAMPLE=$SRC_ROOT/docs/examples/feed_client.py

PORT=$(free_port)
DEAD=$(free_port)
EP=tcp://127.0.0.1:$PORT
DEAD_EP=tcp://127.0.0.1:$DEAD
INI=$T/a/feed.ini
test_sink_ini "$INI" "$PORT"
start_daemon "$INI" >"$T/start.log" 2>&1
expect_eq "the daemon starts" "$?" 0

# records TICKET: how many records of the ticket the sink wrote.
records() { grep -c "	$1	" "$T/a/records.txt" 2>/dev/null; }

# --- libfeed-client ---------------------------------------------------------
"$CLIENT_LIB" daemon "$EP" >"$T/lib.log" 2>&1
expect_eq "libfeed-client fails over to the daemon and copies its reason" \
    "$?" 0
sed 's/^/#   /' "$T/lib.log"
# It sent the trade twice (the replay is a no-op in mysql_fee; the test sink
# records every write): the attempt to the dead endpoint reached no one.
expect_eq "the trade booked after failing over reached the sink twice" \
    "$(records 910001)" 2

# A daemon that takes connections but does not answer (SIGSTOP): the
# client times out after its retries.
pid=$(daemon_pid "$INI")
kill -STOP "$pid"
"$CLIENT_LIB" stopped "$EP" >"$T/lib.log" 2>&1
expect_eq "libfeed-client times out on a daemon that does not answer" "$?" 0
kill -CONT "$pid"
sed 's/^/#   /' "$T/lib.log"

# --- feed-send ----------------------------------------------------------------
printf '910010,7,1.5\n910011,7,2.5\n' >"$T/two.csv"
out=$("$FEED_SEND" -v -t 1000 -e "$DEAD_EP, $EP" "$T/two.csv" 2>&1)
expect_eq "feed-send books every trade past a dead first endpoint" "$?" 0
expect_match "feed-send's summary counts them" "$out" \
    '^messages=2 acked=2 refused=0 timeouts=0 '
expect_eq "each trade is written once" \
    "$(records 910010)$(records 910011)" 11
printf '910012,7,x\n' >"$T/bad.csv"
out=$("$FEED_SEND" -e "$EP" "$T/bad.csv")
expect_eq "feed-send exits 1 on a refusal" "$?" 1
expect_eq "feed-send prints the daemon's reason" "$out" \
    "message 1 (lines 1-1): FALSE line 1: volume is not a number"
out=$("$FEED_SEND" -t 100 -r 2 -e "$DEAD_EP" "$T/bad.csv")
expect_eq "feed-send exits 1 on a timeout" "$?" 1
expect_eq "feed-send says how often it tried" "$out" \
    "message 1 (lines 1-1): no reply after 3 attempts"

# --- the Python example -------------------------------------------------------
printf '910020,7,1.5\n910021,7,x\n' >"$T/py.csv"
out=$("$PY" "$EXAMPLE" -t 1000 -e "$DEAD_EP, $EP" "$T/py.csv")
expect_eq "the Python example exits 1 when a line is refused" "$?" 1
expect_eq "the Python example fails over and prints the reason" "$out" \
    "line 2: FALSE line 1: volume is not a number"
expect_eq "its good trade is written once" "$(records 910020)" 1
out=$(echo 910022,7,1.5 | "$PY" "$EXAMPLE" -e "$EP")
expect_eq "the Python example exits 0 when all is booked" "$?" 0
expect_eq "and prints nothing" "$out" ""
out=$(echo 910023,7,1.5 | "$PY" "$EXAMPLE" -t 100 -r 1 -e "$DEAD_EP")
expect_eq "the Python example exits 1 on a timeout" "$?" 1
expect_eq "the Python example says how often it tried" "$out" \
    "line 1: no reply after 2 attempts"
out=$(echo 1 | "$PY" "$EXAMPLE" --key x 2>&1)
expect_eq "the Python example wants both CURVE files" "$?" 2
expect_match "and says so" "$out" "CURVE needs both --server-key and --key"

finish
