#!/usr/bin/env bash
# client_daemon_curve.sh - the clients and a real feed-core with CURVE on:
# certificates made by `feed-core keygen`, the daemon's curve_secret_key
# and curve_clients; feed-send (--server-key, --key), libfeed-client's
# loader under it, and the Python example (pyzmq reading the same files)
# are served; a key not in curve_clients and a client without CURVE get
# no reply, and book nothing. The sink is the test sink.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
EXAMPLE=$SRC_ROOT/docs/examples/feed_client.py
K=$T/a/keys
mkdir -p "$K/clients"
for name in server trader-1 stranger; do
    fc keygen "$name" "$K" >/dev/null
    expect_eq "feed-core keygen $name" "$?" 0
done
cp "$K/trader-1.key" "$K/clients/"

PORT=$(free_port)
EP=tcp://127.0.0.1:$PORT
INI=$T/a/feed.ini
test_sink_ini "$INI" "$PORT" "" "" "$(printf '%s\n%s' \
    "curve_secret_key = keys/server.key_secret" "curve_clients = keys/clients")"
start_daemon "$INI" >"$T/start.log" 2>&1
expect_eq "the daemon starts with CURVE on" "$?" 0

# records TICKET: how many records of the ticket the sink wrote.
records() { grep -c "	$1	" "$T/a/records.txt" 2>/dev/null; }
keys() { echo --server-key "$K/server.key" --key "$K/$1.key_secret"; }

echo 920001,7,1.5 >"$T/one.csv"
# shellcheck disable=SC2046 # keys gives words
out=$("$FEED_SEND" -e "$EP" $(keys trader-1) "$T/one.csv" 2>&1)
expect_eq "feed-send with an allowed key books its trade" "$?" 0
expect_eq "and prints nothing" "$out" ""
expect_eq "the trade is written once" "$(records 920001)" 1

echo 920002,7,1.5 >"$T/two.csv"
# shellcheck disable=SC2046
out=$("$FEED_SEND" -e "$EP" -t 300 -r 0 $(keys stranger) "$T/two.csv" 2>&1)
expect_eq "a key not in curve_clients gets no reply" "$out" \
    "message 1 (lines 1-1): no reply after 1 attempt"
out=$("$FEED_SEND" -e "$EP" -t 300 -r 0 "$T/two.csv" 2>&1)
expect_eq "nor does a client without CURVE" "$out" \
    "message 1 (lines 1-1): no reply after 1 attempt"
expect_eq "neither booked anything" "$(records 920002)" 0

echo 920003,7,1.5 >"$T/py.csv"
# shellcheck disable=SC2046
out=$("$PY" "$EXAMPLE" -e "$EP" $(keys trader-1) "$T/py.csv")
expect_eq "the Python example books with the same certificates" "$?" 0
expect_eq "its trade is written once" "$(records 920003)" 1

finish
