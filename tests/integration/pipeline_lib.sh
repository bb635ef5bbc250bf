# pipeline_lib.sh - for the integration tests of the default pipeline
# (zmq_rep, csv_trade, mysql_fee): the private MariaDB, a configuration
# pointing at it, and the checks those tests share. Sourced after lib.sh.

. "$SRC_ROOT/tests/lib/mariadb.sh"

# As root the daemon drops to nobody; its folders must be writable by it.
USER_LINE=""
if [ "$(id -u)" -eq 0 ]; then
    USER_LINE="user = nobody"
fi

# start_database: the private MariaDB under $T/db, or the test ends.
start_database() {
    mariadb_start "$T/db" || {
        fail "the private MariaDB starts"
        finish
    }
    note "mariadbd pid $MARIADB_PID port $MARIADB_PORT"
}

# write_ini DIR ENDPOINT [SOURCE-EXTRA [CORE-EXTRA [SINK-EXTRA]]]: DIR/feed.ini
# for the default pipeline against the private MariaDB. ENDPOINT is a port
# on 127.0.0.1 or an endpoint list. A CORE-EXTRA line setting threads,
# stats_interval or stop_timeout replaces its default (4, 1, 20).
write_ini() {
    local endpoint=$2 core="" line
    case "$endpoint" in
    *://*) ;;
    *) endpoint=tcp://127.0.0.1:$endpoint ;;
    esac
    while IFS= read -r line; do
        if ! printf '%s\n' "${4:-}" | grep -q "^${line%% =*} *="; then
            core+=$line$'\n'
        fi
    done <<<$'threads = 4\nstats_interval = 1\nstop_timeout = 20'
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
$core${4:-}

[source]
plugin = zmq_rep
endpoint = $endpoint
${3:-}

[parser]
plugin = csv_trade

[sink]
plugin = mysql_fee
host = 127.0.0.1
port = $MARIADB_PORT
user = www
password = qwer123
database = example
${5:-}
EOF
}

sql() { mariadb_sql "$@"; }

# rows_over N: the table holds more than N rows.
rows_over() {
    [ "$(mariadb_sql "SELECT COUNT(*) FROM fee")" -gt "$1" ] 2>/dev/null
}

# wait_rows SECONDS N: polls until the table holds more than N rows (a
# load under way has committed that much); 1 on timeout.
wait_rows() {
    wait_until "$1" rows_over "$2"
}

# log_has DIR TEXT: the daemon of DIR has logged TEXT.
log_has() {
    grep -qF -- "$2" "$1/feed.log"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# reap SECONDS PID: waits for a client this test started in the
# background, killing it after SECONDS; returns its exit status.
reap() {
    if ! wait_until "$1" process_gone "$2"; then
        fail "pid $2 ends within $1 s"
        kill -KILL "$2" 2>/dev/null
    fi
    wait "$2"
}

# summary_field NAME SUMMARY: a field of feed-send's summary line.
summary_field() {
    printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# acked_sql FILE: SQL filling the temporary table `acked` with the tickets
# listed in FILE (one per line; the list may be long, so it goes to stdin).
acked_sql() {
    echo "CREATE TEMPORARY TABLE acked (t BIGINT UNSIGNED PRIMARY KEY);"
    sort -u "$1" | awk 'NR % 1000 == 1 { if (NR > 1) print ";";
        printf "INSERT INTO acked VALUES (%s)", $1; next }
        { printf ",(%s)", $1 } END { if (NR) print ";" }'
}

# bad_acked FILE: how many tickets listed in FILE are not in the table
# exactly once, with status Y and the values feed-send sent for them.
bad_acked() {
    {
        acked_sql "$1"
        echo "SELECT COUNT(*) FROM acked a WHERE 1 <> (SELECT COUNT(*)"
        echo "  FROM fee f WHERE f.ticket = a.t AND f.status = 'Y'"
        echo "  AND f.login = 1000 + a.t % 9000"
        echo "  AND f.volume = a.t % 100000 + (a.t % 10000) / 10000);"
    } | mariadb_sql
}

# last_stats DIR: the last stats line of DIR's log.
last_stats() {
    grep -o "stats .*" "$1/feed.log" | tail -n 1
}

# last_stat NAME DIR: one field of the last stats line of DIR's log.
last_stat() {
    last_stats "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
