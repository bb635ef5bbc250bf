#!/usr/bin/env bash
# failover.sh - no single point of failure: a private 3-node Galera
# cluster, two feed-core instances (ack = commit) whose sinks list all three
# nodes, and 16 clients sending unique trades to both instances with
# failover. Under load it kills -9 the Galera node every worker is on
# (node 1, the first in the host list), then one feed-core instance.
#
# It passes only if every trade answered TRUE is in the table exactly once
# (with its values, status Y) on both surviving nodes and nothing else is;
# no valid trade was answered FALSE; every client got TRUE for every trade
# (no message ran out of retries); both instances committed again within
# 10 s of the node's death (their workers moved to the next host: clients
# alone could hide a stuck instance by resending to the other one); and
# commits resumed within 10 s of each kill.
#
# How resumption is measured: a sampler counts the rows of `fee` on node 3
# (never killed) every 0.5 s. With ack = commit a TRUE leaves right after
# its commit, so rows appearing is acknowledgements going out; whether the
# replies reached the clients is checked at the end (every message acked).
# After each kill the longest stretch without a new row must end within
# 10 s of the kill. The figures (rows/s before and after, the stall, the
# time until the rate is back to half) are printed as "# figure" lines for
# docs/scaling.md and bench/RESULTS.md.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"
. "$SRC_ROOT/tests/lib/galera.sh"

# Seconds of load; the kills happen at about a quarter and 60 % of it.
LOAD_S=${FAILOVER_LOAD_S:-40}
SAMPLES=$T/rows.log
SAMPLER=""

failover_cleanup() {
    local ini
    if [ -n "$SAMPLER" ]; then
        kill -TERM "$SAMPLER" 2>/dev/null
        wait "$SAMPLER" 2>/dev/null
    fi
    # The daemons first: they are the cluster's clients.
    for ini in "${STARTED_INIS[@]+"${STARTED_INIS[@]}"}"; do
        "$FEED_CORE" -c "$ini" stop >/dev/null 2>&1
    done
    galera_stop >/dev/null 2>&1
    cleanup
}
trap failover_cleanup EXIT

# write_failover_ini DIR PORT: DIR/feed.ini, an instance on 127.0.0.1:PORT
# whose workers fail over along the three nodes.
write_failover_ini() {
    mkdir -p "$1"
    chmod 777 "$1"
    cat >"$1/feed.ini" <<EOF
[core]
pidfile = run/feed.pid
$USER_LINE
log = feed.log
log_level = info
dead_letter = dead.jsonl
plugin_dir = $PLUGIN_DIR
threads = 3
stats_interval = 1
stop_timeout = 10

[source]
plugin = zmq_rep
endpoint = tcp://127.0.0.1:$2
ack = commit

[parser]
plugin = csv_trade

[sink]
plugin = mysql_fee
host = 127.0.0.1:${GALERA_PORT[1]}, 127.0.0.1:${GALERA_PORT[2]}, 127.0.0.1:${GALERA_PORT[3]}
user = www
password = qwer123
database = example
EOF
}

# pause_until MS: lets the load run until the clock reads MS (a moment on
# the load's timeline; nothing to synchronize with).
pause_until() {
    local d=$(($1 - $(now_ms)))
    if [ "$d" -gt 0 ]; then
        sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
    fi
}

# sampler: "MS ROWS" every 0.5 s, rows counted on node 3, until killed
# (or after 300 s at most).
sampler() {
    local end=$(($(now_ms) + 300000)) rows
    while [ "$(now_ms)" -lt "$end" ]; do
        if rows=$(galera_sql 3 "SELECT COUNT(*) FROM fee" 2>/dev/null); then
            echo "$(now_ms) $rows"
        fi
        sleep 0.5
    done
}

# recovery KILL_MS END_MS: from the samples between the kill and END_MS (at
# most 20 s later), "stall end first half before after": the longest
# stretch without a new row (ms; one still going on at END_MS counts),
# when it ended (ms after the kill; -1: it had not), when the first new row
# came (-1: none came), when, after the stall, the rate over 1 s was back
# to half the rate of the 5 s before the kill (-1: not before END_MS), and
# the rows/s in the 5 s before the kill and in the 5 s after the stall.
# Samples come every 0.5 s or so: a stretch up to 1 s is no stall, and
# then "after the stall" means after the first new row.
recovery() {
    awk -v k="$1" -v e="$2" '
    { t[NR] = $1; c[NR] = $2 }
    END {
        if (e > k + 20000) { e = k + 20000 }
        b0 = 0; b1 = 0
        for (i = 1; i <= NR; i++) {
            if (t[i] <= k - 5000) { b0 = i }
            if (t[i] <= k) { b1 = i }
        }
        before = (b0 && b1 > b0) ? (c[b1] - c[b0]) * 1000 / (t[b1] - t[b0]) : 0
        last = k; lastc = c[b1]; stall = 0; end = -1; first = -1; ri = 0
        for (i = b1 + 1; i <= NR && t[i] <= e; i++) {
            if (c[i] > lastc) {
                if (first < 0) { first = t[i] - k; fi = i }
                if (t[i] - last > stall || !ri) {
                    if (t[i] - last > stall) { stall = t[i] - last }
                    end = t[i] - k; ri = i
                }
                last = t[i]; lastc = c[i]
            }
        }
        if (i > b1 + 1 && t[i - 1] - last > stall) {
            stall = t[i - 1] - last; end = -1; ri = 0
        } else if (stall <= 1000 && first >= 0) {
            # No stall beyond the sampling: recovery starts at the first row.
            end = first; ri = fi
        }
        after = 0; half = -1
        if (ri) {
            for (i = ri; i <= NR && t[i] <= t[ri] + 5000; i++) { a1 = i }
            if (a1 > ri) { after = (c[a1] - c[ri]) * 1000 / (t[a1] - t[ri]) }
            for (i = ri; i <= NR && t[i] <= e && half < 0; i++) {
                for (j = i - 1; j > 1 && t[i] - t[j] < 1000; j--) { }
                if (t[i] - t[j] >= 1000 &&
                    (c[i] - c[j]) * 1000 / (t[i] - t[j]) >= before / 2) {
                    half = t[i] - k
                }
            }
        }
        printf "%d %d %d %d %d %d\n", stall, end, first, half, before, after
    }' "$SAMPLES"
}

# stats_series DIR: "MS COMMITTED" for each stats line (one a second) in
# the log of the instance in DIR.
stats_series() {
    local ts rest
    grep ' info: stats ' "$1/feed.log" | while read -r ts _ _ _ rest; do
        rest=${rest#*committed=}
        echo "$(date -d "$ts" +%s%3N) ${rest%% *}"
    done
}

# instance_resume DIR KILL_MS: when (ms after the kill) the instance in DIR
# committed again: the first stats line after KILL_MS counts what was
# committed before the kill reached its workers; the first one after it
# with more is the resumption (-1: none). One-second resolution.
instance_resume() {
    stats_series "$1" | awk -v k="$2" '
        $1 >= k && !seen { seen = 1; at = $2; next }
        seen && $2 > at { print $1 - k; found = 1; exit }
        END { if (!found) { print -1 } }'
}

galera_start "$T/galera" || {
    fail "the private Galera cluster starts"
    finish
}
pass "a 3-node Galera cluster is up, every node Synced"
note "galera ports ${GALERA_PORT[*]} pids ${GALERA_PID[*]}"

PA=$(free_port)
PB=$(free_port)
while [ "$PB" == "$PA" ]; do PB=$(free_port); done
A=$T/a
B=$T/b
write_failover_ini "$A" "$PA"
write_failover_ini "$B" "$PB"
start_ok "instance A starts" "$A/feed.ini" || finish
start_ok "instance B starts" "$B/feed.ini" || finish

sampler >"$SAMPLES" 2>/dev/null &
# shellcheck disable=SC2128 # $! is no array
SAMPLER=$!

# committed_on DIR: the instance in DIR has committed rows.
committed_on() {
    local n
    n=$(last_stat committed "$1")
    [ -n "$n" ] && [ "$n" -gt 0 ]
}

# 16 clients in two loads of 8, one listing A first and one B first, so
# both instances get work whichever endpoint of its list a client starts
# with; a client stays with an endpoint while it answers and moves on after
# a timeout. The loads' tickets never meet (bases 10^6 and 10^9).
load_start=$(now_ms)
LOADS=()
for i in 1 2; do
    if [ "$i" -eq 1 ]; then
        eps="tcp://127.0.0.1:$PA,tcp://127.0.0.1:$PB"
    else
        eps="tcp://127.0.0.1:$PB,tcp://127.0.0.1:$PA"
    fi
    "$FEED_SEND" --load -e "$eps" --clients 8 --messages 100000000 \
        --duration "$LOAD_S" --ticket-base $((1000 ** (i + 1))) \
        --acked "$T/acked" -t 2000 -r 30 \
        >"$T/load$i.out" 2>"$T/load$i.err" &
    # shellcheck disable=SC2128 # $! is no array
    LOADS+=($!)
done

check "instance A commits trades" wait_until 30 committed_on "$A"
check "instance B commits trades" wait_until 30 committed_on "$B"
# The kill moments are picked on the load's clock, not synchronized with
# anything: a baseline of a quarter of the load first.
pause_until $((load_start + LOAD_S * 250))
kill_db=$(now_ms)
check "Galera node 1 (every worker's first host) is killed with -9" \
    galera_kill9 1
note "node 1 killed $(((kill_db - load_start) / 1000)) s into the load"

pause_until $((load_start + LOAD_S * 600))
pid_a=$(daemon_pid "$A/feed.ini")
kill_fc=$(now_ms)
kill -KILL "$pid_a"
check "instance A is killed with -9" wait_until 10 process_gone "$pid_a"
note "instance A killed $(((kill_fc - load_start) / 1000)) s into the load"

# loaded I: the checks of load I once it ended; its summary in SUMS[I].
SUMS=()
loaded() {
    local rc=0 sum
    reap $((LOAD_S + 120)) "${LOADS[$1 - 1]}" || rc=$?
    sum=$(tail -n 1 "$T/load$1.out")
    SUMS[$1]=$sum
    note "load $1: $sum"
    expect_eq "load $1: feed-send ends with every message acknowledged" "$rc" 0
    expect_eq "load $1: no valid trade was answered FALSE" \
        "$(summary_field refused "$sum")" 0
    expect_eq "load $1: no message ran out of retries: every trade got TRUE" \
        "$(summary_field timeouts "$sum")" 0
}
loaded 1
loaded 2
kill -TERM "$SAMPLER" 2>/dev/null
wait "$SAMPLER" 2>/dev/null
SAMPLER=""
acked=$(sort -u "$T/acked" | wc -l)
check "trades were acknowledged ($acked)" test "$acked" -gt 0
expect_eq "every acknowledged ticket was listed once" \
    "$(wc -l <"$T/acked")" "$acked"
summed=$(($(summary_field acked "${SUMS[1]}") +
    $(summary_field acked "${SUMS[2]}")))
expect_eq "the acked file lists every acknowledged message" "$acked" "$summed"

out=$(fc -c "$B/feed.ini" stop 2>&1)
rc=$?
expect_eq "instance B stops cleanly" "$rc" 0
[ "$rc" -eq 0 ] || note "$out"

# Every surviving node, read after it applied everything committed before.
for n in 2 3; do
    bad=$({
        echo "SET SESSION wsrep_sync_wait = 1;"
        acked_sql "$T/acked"
        echo "SELECT COUNT(*) FROM acked a WHERE 1 <> (SELECT COUNT(*)"
        echo "  FROM fee f WHERE f.ticket = a.t AND f.status = 'Y'"
        echo "  AND f.login = 1000 + a.t % 9000"
        echo "  AND f.volume = a.t % 100000 + (a.t % 10000) / 10000);"
    } | galera_sql "$n")
    expect_eq "node $n: every acknowledged ticket is there once, exact, status Y" \
        "$bad" 0
    expect_eq "node $n: no row besides the acknowledged ones" \
        "$(galera_sql "$n" "SET SESSION wsrep_sync_wait = 1;
            SELECT COUNT(*) FROM fee")" "$acked"
done
expect_eq "nodes 2 and 3 hold the same rows" \
    "$(galera_sql 2 "SET SESSION wsrep_sync_wait = 1; CHECKSUM TABLE fee" |
        cut -f2)" \
    "$(galera_sql 3 "SET SESSION wsrep_sync_wait = 1; CHECKSUM TABLE fee" |
        cut -f2)"
check "nothing was dead-lettered" \
    test ! -s "$A/dead.jsonl" -a ! -s "$B/dead.jsonl"

# recovered LABEL KILL_MS: the figures of one kill, and its assertion.
recovered() {
    local stall end first half before after
    read -r stall end first half before after \
        < <(recovery "$2" $((load_start + LOAD_S * 1000)))
    note "figure: $1: rows/s before=$before after=$after;" \
        "ms after the kill: first row $first, longest stall $stall" \
        "(ended at $end), rate back to half at $half"
    check "commits resumed within 10 s after: $1 (longest stall ${stall} ms)" \
        test "$first" -ge 0 -a "$stall" -le 10000
}
# Both instances' workers were on node 1: each must have moved on.
for dir in "$A" "$B"; do
    name=${dir##*/}
    name=${name^^}
    check "instance ${name} logged its workers' switch away from node 1" \
        grep -qE "switch.*from 127\.0\.0\.1:${GALERA_PORT[1]}\b" "$dir/feed.log"
    r=$(instance_resume "$dir" "$kill_db")
    note "figure: Galera node 1 killed: instance ${name} committed again" \
        "$r ms after the kill"
    check "instance ${name} committed again within 10 s after node 1 died ($r ms)" \
        test "$r" -ge 0 -a "$r" -le 10000
done
recovered "Galera node 1 killed" "$kill_db"
recovered "instance A killed" "$kill_fc"
for i in 1 2; do
    note "load $i over the whole run:" \
        "$(summary_field msgs_per_s "${SUMS[i]}") msgs/s," \
        "p50 $(summary_field p50_ms "${SUMS[i]}") ms," \
        "p99 $(summary_field p99_ms "${SUMS[i]}") ms"
done

finish
