#!/usr/bin/env bash
# metrics.sh - watching it run: [core] metrics serves /metrics (Prometheus
# text, counters exactly what was sent, clean for promtool) and /healthz
# (200, then 503 with the reason while the database is frozen or stopped,
# 200 again once it is back); stalls are logged; hostile HTTP clients do
# not hurt ingestion; `feed-core stats` prints the figures; a metrics port
# in use fails `start`; the shipped Prometheus files pass promtool.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

PY=/usr/bin/python3
PROMTOOL=$(command -v promtool || echo /usr/bin/promtool)

# --- the shipped Prometheus files (no daemon needed) ------------------------
out=$("$PROMTOOL" check config "$SRC_ROOT/conf/prometheus.yml" 2>&1)
rc=$?
expect_eq "promtool accepts conf/prometheus.yml" "$rc" 0
[ "$rc" -eq 0 ] || note "$out"
out=$("$PROMTOOL" check rules "$SRC_ROOT/conf/feed-core.rules.yml" 2>&1)
rc=$?
expect_eq "promtool accepts conf/feed-core.rules.yml" "$rc" 0
[ "$rc" -eq 0 ] || note "$out"

start_database

PORT=$(free_port)
MPORT=$(free_port)
EP=tcp://127.0.0.1:$PORT
URL=http://127.0.0.1:$MPORT
A=$T/a
write_ini "$A" "$PORT" "" "metrics = 127.0.0.1:$MPORT
stats_interval = 2"

# --- configuration ----------------------------------------------------------
B=$T/b
write_ini "$B" "$(free_port)" "" "metrics = localhost:9464"
out=$(fc -c "$B/feed.ini" check 2>&1)
expect_match "a metrics address that is not numeric is a config error" \
    "$out" "feed.ini:[0-9]+: \[core\] metrics: not a numeric IPv4 or \[IPv6\] address: \"localhost\"$"
write_ini "$B" "$(free_port)" "" "metrics = 127.0.0.1"
out=$(fc -c "$B/feed.ini" check 2>&1)
expect_match "a metrics address without a port is a config error" \
    "$out" "\[core\] metrics: expected ADDRESS:PORT, such as 127.0.0.1:9464 or \[::1\]:9464$"
write_ini "$B" "$(free_port)" ""
out=$(fc -c "$B/feed.ini" stats 2>&1)
rc=$?
expect_eq "stats without [core] metrics exits 1" "$rc" 1
expect_match "stats without [core] metrics says what it needs" "$out" \
    "^feed-core: stats needs \[core\] metrics = ADDRESS:PORT in .*feed.ini: it reads the running daemon's metrics listener$"
out=$(fc -c "$A/feed.ini" stats 2>&1)
rc=$?
expect_eq "stats of a daemon that is not running exits 3" "$rc" 3
expect_match "stats of a daemon that is not running says so" "$out" \
    "^feed-core: nothing listens on 127.0.0.1:$MPORT: feed-core is not running"

start_ok "the daemon starts with metrics on" "$A/feed.ini" || finish
pid=$(daemon_pid "$A/feed.ini")

# http PATH [CURL-ARGS...]: "STATUS BODY" of a request to the listener.
http() {
    local path=$1
    shift
    curl -s --max-time 5 -w ' %{http_code}' "$@" "$URL$path" | tr '\n' ' '
}
health() { http /healthz; }
healthy() { [ "$(health)" == "ok  200" ]; }
unhealthy() { case "$(health)" in *" 503") return 0 ;; esac; return 1; }
scrape() { curl -s --max-time 5 "$URL/metrics"; }
# metric NAME: the value of one sample of a fresh scrape.
metric() { scrape | awk -v n="$1" '$1 == n { print $2 }'; }

check "/healthz answers 200 ok once started" wait_until 15 healthy
expect_eq "the log says where metrics listen" \
    "$(grep -c "metrics listening on 127.0.0.1:$MPORT" "$A/feed.log")" 1
expect_match "an unknown path answers 404" "$(http /nothing)" " 404$"
expect_match "/ answers 404" "$(http /)" " 404$"
expect_match "POST answers 405" "$(http /metrics -X POST -d x=1)" \
    "^only GET is allowed  405$"
expect_match "HEAD answers 405" "$(http /healthz -I)" " 405$"
expect_eq "a 405 says Allow: GET" "$(curl -s --max-time 5 -X PUT -o /dev/null \
    -D - "$URL/metrics" | tr -d '\r' | grep -i '^allow:')" "Allow: GET"
expect_match "a query string is ignored" "$(http '/healthz?x=1')" "^ok  200$"
expect_match "/metrics says it is text format 0.0.4" \
    "$(curl -s --max-time 5 -o /dev/null -w '%{content_type}' "$URL/metrics")" \
    "^text/plain; version=0.0.4"

# --- counters are exactly what was sent ------------------------------------
N=20
M=5
files=()
for i in $(seq 1 $N); do
    t=$((500000 + i * 10))
    printf '%d,1,1.5\n%d,2,2\n%d,3,0.25' $t $((t + 1)) $((t + 2)) \
        >"$T/good_$i"
    files+=("$T/good_$i")
done
for i in $(seq 1 $M); do
    printf '%d,1,x' $((600000 + i)) >"$T/bad_$i"
    files+=("$T/bad_$i")
done
"$ZSEND" -e "$EP" -t 20000 "${files[@]}" >"$T/sent.out"
expect_eq "every good message got TRUE" "$(grep -c "	TRUE$" "$T/sent.out")" $N
expect_eq "every bad message got FALSE" \
    "$(grep -c "	FALSE line 1: " "$T/sent.out")" $M
S=$(scrape)
value() { printf '%s\n' "$S" | awk -v n="$1" '$1 == n { print $2 }'; }
expect_eq "feed_messages_received_total counts every request" \
    "$(value feed_messages_received_total)" $((N + M))
expect_eq "feed_messages_accepted_total counts the TRUEs" \
    "$(value feed_messages_accepted_total)" $N
expect_eq "feed_messages_rejected_total counts the FALSEs" \
    "$(value feed_messages_rejected_total)" $M
expect_eq "feed_rows_committed_total counts the rows" \
    "$(value feed_rows_committed_total)" $((3 * N))
expect_eq "the table holds those rows" \
    "$(sql "SELECT COUNT(*) FROM fee WHERE ticket BETWEEN 500000 AND 600000")" \
    $((3 * N))
expect_eq "feed_ack_delay_seconds counts every reply" \
    "$(value feed_ack_delay_seconds_count)" $((N + M))
expect_eq "feed_ack_delay_seconds' +Inf bucket is its count" \
    "$(value 'feed_ack_delay_seconds_bucket{le="+Inf"}')" $((N + M))
commits=$(value feed_commit_duration_seconds_count)
check "feed_commit_duration_seconds counts the transactions" \
    test "${commits:-0}" -ge 1 -a "${commits:-0}" -le $N
expect_eq "feed_sink_retries_total is 0" "$(value feed_sink_retries_total)" 0
expect_eq "feed_dead_letter_errors_total is 0" \
    "$(value feed_dead_letter_errors_total)" 0
expect_eq "feed_peers_refused_total is 0" "$(value feed_peers_refused_total)" 0
expect_eq "feed_workers_connected is 4" "$(value feed_workers_connected)" 4
expect_eq "feed_queue_records is 0" "$(value feed_queue_records)" 0
expect_eq "feed_queue_max_records is queue_max" \
    "$(value feed_queue_max_records)" 100000
expect_eq "feed_healthy is 1" "$(value feed_healthy)" 1
expect_eq "feed_build_info names the version" \
    "$(printf '%s\n' "$S" | grep -c '^feed_build_info{version="[0-9][^"]*"} 1$')" 1
for series in feed_queue_records feed_workers_connected \
    feed_commit_duration_seconds feed_ack_delay_seconds; do
    expect_eq "$series has HELP and TYPE" \
        "$(printf '%s\n' "$S" | grep -c "^# \(HELP\|TYPE\) $series ")" 2
done
out=$(printf '%s\n' "$S" | "$PROMTOOL" check metrics 2>&1)
rc=$?
expect_eq "promtool check metrics exits 0 on a live scrape" "$rc" 0
expect_eq "promtool check metrics reports nothing" "$out" ""

out=$(fc -c "$A/feed.ini" stats 2>&1)
rc=$?
expect_eq "stats exits 0 while the daemon runs" "$rc" 0
printf '%s\n' "$out" | sed 's/^/# /'
expect_match "stats says the daemon is healthy" "$out" \
    "^feed-core [0-9.]+ at 127.0.0.1:$MPORT: healthy"
expect_match "stats prints the accepted count" "$out" \
    "messages accepted +$N"
expect_match "stats prints the rejected count" "$out" \
    "messages rejected +$M"
expect_match "stats prints the rows committed" "$out" \
    "rows committed +$((3 * N))"
expect_match "stats prints the workers" "$out" "workers connected +4 of 4"
expect_match "stats prints the ack delay" "$out" \
    "ack delay +$((N + M)), mean [0-9.]+ [mu]?s, p50 <= "

# --- hostile HTTP clients do not hurt ingestion -----------------------------
# 500 idle connections, a client sending one byte every 100 ms, garbage.
"$PY" - "$MPORT" "$T/hostile.ready" "$T/hostile.stop" >"$T/hostile.out" \
    2>&1 <<'EOF' &
import os, socket, sys, time
port, ready, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
idle = []
for _ in range(500):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    idle.append(s)
for junk in (b"\x00\xff" * 4000, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
             b"FOO BAR BAZ\r\n\r\n", b"GET /metrics HTTP/9.9\r\n\r\n"):
    try:
        g = socket.create_connection(("127.0.0.1", port), timeout=1)
        g.sendall(junk)
        g.close()
    except OSError:
        pass
slow = socket.socket()
slow.settimeout(1)
try:
    slow.connect(("127.0.0.1", port))
except OSError:
    pass
open(ready, "w").close()
request = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
deadline = time.time() + 60
i = 0
while not os.path.exists(stop) and time.time() < deadline:
    try:
        slow.send(request[i % len(request):i % len(request) + 1])
    except OSError:
        pass
    i += 1
    time.sleep(0.1)
print("hostile done")
EOF
hostile=$!
check "the hostile HTTP clients are connected" wait_until 20 test -e \
    "$T/hostile.ready"
files=()
for i in $(seq 1 10); do
    printf '%d,7,7' $((700000 + i)) >"$T/during_$i"
    files+=("$T/during_$i")
done
"$ZSEND" -e "$EP" -t 20000 -c 4 "${files[@]}" >"$T/during.out"
expect_eq "trades sent during the HTTP attack all get TRUE" \
    "$(grep -c "	TRUE$" "$T/during.out")" 40
touch "$T/hostile.stop"
reap 30 "$hostile" >/dev/null
expect_eq "the hostile client ran to its end" "$(cat "$T/hostile.out")" \
    "hostile done"
check "/healthz answers again once they are gone" wait_until 15 healthy
check "the daemon survived them" test -d "/proc/$pid"

# --- the metrics port in use fails start -----------------------------------
C=$T/c
write_ini "$C" "$(free_port)" "" "metrics = 127.0.0.1:$MPORT"
out=$(start_daemon "$C/feed.ini" 2>&1)
rc=$?
expect_eq "start with the metrics port in use exits 1" "$rc" 1
expect_eq "start says the metrics port is in use" "$out" \
    "feed-core: metrics 127.0.0.1:$MPORT: cannot bind: Address already in use"
expect_eq "the first daemon still answers /healthz" "$(health)" "ok  200"

# --- bound before root is dropped: a port below 1024 works ----------------
if [ "$(id -u)" -eq 0 ]; then
    low=""
    for p in $(seq 900 1000); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            low=$p
            break
        fi
    done
    D=$T/d
    write_ini "$D" "$(free_port)" "" "metrics = 127.0.0.1:$low
threads = 1"
    start_ok "a daemon that drops root to nobody starts with metrics on port $low" \
        "$D/feed.ini"
    expect_eq "it answers /healthz on port $low" \
        "$(curl -s --max-time 5 "http://127.0.0.1:$low/healthz")" ok
    expect_eq "it runs as nobody" \
        "$(ps -o user= -p "$(daemon_pid "$D/feed.ini")" | tr -d ' ')" nobody
    fc -c "$D/feed.ini" stop >/dev/null
fi

# --- a frozen database: a stall, logged, 503, then back ---------------------
printf '800001,1,1' >"$T/frozen"
mariadb_pause
frozen_at=$(now_ms)
"$ZSEND" -e "$EP" -t 60000 "$T/frozen" >"$T/frozen.out" &
sender=$!
check "/healthz answers 503 within 15 s of the database freezing" \
    wait_until 15 unhealthy
note "503 after $(($(now_ms) - frozen_at)) ms"
expect_match "the 503 says which worker is stuck in which call" "$(health)" \
    "^worker [0-9]+: sink write running for [0-9]+ s on 127.0.0.1:$MARIADB_PORT  503$"
expect_eq "feed_sink_calls_stalled is 1" "$(metric feed_sink_calls_stalled)" 1
expect_eq "feed_healthy is 0" "$(metric feed_healthy)" 0
stall_logged() { grep -qE "warning.*worker [0-9]+: sink write running for 1[0-9] s on 127.0.0.1:$MARIADB_PORT" "$A/feed.log"; }
check "the stall is logged as a warning" wait_until 15 stall_logged
out=$(fc -c "$A/feed.ini" stats 2>&1)
expect_match "stats says why the daemon is unhealthy" "$out" \
    "^feed-core [0-9.]+ at 127.0.0.1:$MPORT: unhealthy: worker [0-9]+: sink write running for [0-9]+ s on 127.0.0.1:$MARIADB_PORT$"
mariadb_resume
back_at=$(now_ms)
check "/healthz answers 200 within 15 s of the database's return" \
    wait_until 15 healthy
note "200 after $(($(now_ms) - back_at)) ms"
reap 60 "$sender"
expect_eq "the trade sent to the frozen database got TRUE" \
    "$(cut -f2 "$T/frozen.out")" TRUE
check "the stall's end is logged with its length" \
    grep -qE "worker [0-9]+: sink write returned after [0-9.]+ s" "$A/feed.log"
S=$(scrape)
slow=$(($(value feed_commit_duration_seconds_count) - \
    $(value 'feed_commit_duration_seconds_bucket{le="10"}')))
expect_eq "the stuck commit counts in the histogram past 10 s" "$slow" 1
stuck_line() {
    grep -o "stats .*" "$A/feed.log" | grep -qE "commit_ms_p99=(1[0-9]|[2-9][0-9])[0-9]{3}$"
}
check "a stats line shows the stuck commit's real duration" \
    wait_until 10 stuck_line

# --- a stopped database: idle workers notice it (their connection checks),
# /healthz says 503 without any traffic, and 200 once it is back -----------
retries_before=$(metric feed_sink_retries_total)
mariadb_stop
check "/healthz answers 503 within 15 s of the database stopping, idle" \
    wait_until 15 unhealthy
expect_match "the 503 says workers are not connected" "$(health)" \
    "^[1-4] of 4 workers not connected  503$"
connected=$(metric feed_workers_connected)
check "feed_workers_connected drops below 4" test "${connected:-4}" -lt 4
printf '800002,1,1' >"$T/stopped"
"$ZSEND" -e "$EP" -t 60000 "$T/stopped" >"$T/stopped.out" &
sender=$!
mariadb_restart || { fail "the database restarts"; finish; }
check "/healthz answers 200 within 15 s of the database's return" \
    wait_until 15 healthy
reap 60 "$sender"
expect_eq "the trade sent to the stopped database got TRUE" \
    "$(cut -f2 "$T/stopped.out")" TRUE
expect_eq "feed_workers_connected is 4 again" \
    "$(metric feed_workers_connected)" 4
retries=$(metric feed_sink_retries_total)
check "feed_sink_retries_total counted the outage" \
    test "${retries:-0}" -gt "${retries_before:-0}"

# --- stopping: the listener goes with the daemon ----------------------------
out=$(fc -c "$A/feed.ini" stop 2>&1)
expect_eq "the daemon stops" "$?" 0
check "nothing listens on the metrics port after stop" \
    test "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$URL/healthz")" == 000

finish
