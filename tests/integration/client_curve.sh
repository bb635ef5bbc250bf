#!/usr/bin/env bash
# client_curve.sh - the clients with CURVE: feed-send (--server-key, --key,
# through libfeed-client's certificate loader) and the Python example,
# against a CURVE server made with pyzmq, whose ZAP handler admits only the
# certificates in its clients folder. The certificates are made by pyzmq's
# zmq.auth.create_certificates: the C reader must read what pyzmq writes.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
EXAMPLE=$SRC_ROOT/docs/examples/feed_client.py
K=$T/keys
mkdir -p "$K/clients"

"$PY" - "$K" <<'PY'
import os, shutil, sys
import zmq.auth
k = sys.argv[1]
for name in ("server", "trader-1", "stranger"):
    zmq.auth.create_certificates(k, name)
    os.chmod(os.path.join(k, name + ".key_secret"), 0o600)
shutil.copy(os.path.join(k, "trader-1.key"), os.path.join(k, "clients"))
PY
expect_eq "pyzmq makes the certificates" "$?" 0

PORT=$(free_port)
EP=tcp://127.0.0.1:$PORT
# The server answers TRUE to every request of an admitted client.
"$PY" - "$EP" "$K" <<'PY' &
import os, sys
import zmq, zmq.auth
from zmq.auth.thread import ThreadAuthenticator
ep, k = sys.argv[1], sys.argv[2]
ctx = zmq.Context.instance()
auth = ThreadAuthenticator(ctx)
auth.start()
auth.configure_curve(domain="*", location=os.path.join(k, "clients"))
pub, sec = zmq.auth.load_certificate(os.path.join(k, "server.key_secret"))
s = ctx.socket(zmq.ROUTER)
s.curve_server = True
s.curve_publickey = pub
s.curve_secretkey = sec
s.bind(ep)
while True:
    frames = s.recv_multipart()
    s.send_multipart(frames[:-1] + [b"TRUE"])
PY
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID"; cleanup' EXIT

echo 1,2,3 >"$T/one.csv"
FS=("$FEED_SEND" -e "$EP")

# --- feed-send ---------------------------------------------------------------
out=$("${FS[@]}" -t 10000 --server-key "$K/server.key" \
    --key "$K/trader-1.key_secret" "$T/one.csv" 2>&1)
expect_eq "feed-send with an admitted key is answered" "$?" 0
expect_eq "and prints nothing" "$out" ""
out=$("${FS[@]}" --load --clients 4 --messages 100 \
    --server-key "$K/server.key" --key "$K/trader-1.key_secret")
expect_eq "feed-send --load speaks CURVE too" "$?" 0
expect_match "every message acknowledged" "$out" 'messages=100 acked=100 '
out=$("${FS[@]}" -t 300 -r 0 --server-key "$K/server.key" \
    --key "$K/stranger.key_secret" "$T/one.csv" 2>&1)
expect_eq "a key the server does not know gets no reply" "$out" \
    "message 1 (lines 1-1): no reply after 1 attempt"
out=$("${FS[@]}" -t 300 -r 0 "$T/one.csv" 2>&1)
expect_eq "nor does a client without CURVE" "$out" \
    "message 1 (lines 1-1): no reply after 1 attempt"
out=$("${FS[@]}" --server-key "$K/server.key" --key "$K/trader-1.key" \
    "$T/one.csv" 2>&1)
expect_eq "a public certificate as --key exits 1" "$?" 1
expect_eq "and says it holds no secret key" "$out" \
    "feed-send: $K/trader-1.key: no secret-key in the curve section"
chmod 644 "$K/stranger.key_secret"
out=$("${FS[@]}" --server-key "$K/server.key" \
    --key "$K/stranger.key_secret" "$T/one.csv" 2>&1)
expect_eq "a secret certificate others can read exits 1" "$?" 1
expect_eq "and is refused, named" "$out" \
    "feed-send: $K/stranger.key_secret: secret key is open to group or others (mode 0644); chmod 600 it"
out=$("${FS[@]}" --server-key "$K/none.key" --key "$K/trader-1.key_secret" \
    "$T/one.csv" 2>&1)
expect_eq "a missing server certificate exits 1" "$?" 1
expect_eq "and is named" "$out" \
    "feed-send: cannot read $K/none.key: No such file or directory"

# --- the Python example --------------------------------------------------------
out=$("$PY" "$EXAMPLE" -e "$EP" --server-key "$K/server.key" \
    --key "$K/trader-1.key_secret" "$T/one.csv")
expect_eq "the Python example with an admitted key is answered" "$?" 0
out=$("$PY" "$EXAMPLE" -e "$EP" -t 300 -r 0 --server-key "$K/server.key" \
    --key "$K/server.key" "$T/one.csv" 2>&1)
expect_eq "the Python example refuses a public certificate as --key" "$?" 1
expect_match "and says so" "$out" "server.key holds no secret key"

finish
