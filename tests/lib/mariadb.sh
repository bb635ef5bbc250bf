# mariadb.sh - a private MariaDB server for tests, sourced by test scripts.
#
# Owns one mariadbd process per sourcing shell: its datadir, socket, error
# log and loopback port all live under the folder given to mariadb_start.
# It never reads the system's configuration (--no-defaults) and never
# touches the system's server. Deciding what to test is the caller's.
#
#   mariadb_start DIR   fresh datadir DIR/data (copied from a cached
#                       template), server up, database `example` with the
#                       users 'www'@'localhost' and 'www'@'127.0.0.1'
#                       (password qwer123) and conf/fee.sql loaded
#   mariadb_stop        SIGTERM, wait (SIGKILL after 30 s), reap
#   mariadb_kill9       SIGKILL, wait, reap (a crash; InnoDB recovers)
#   mariadb_restart     start again on the same datadir, socket and port
#   mariadb_sql SQL...  runs SQL (or stdin) as root in `example`; prints rows
#                       tab-separated, without column names
#   mariadb_pause       SIGSTOP: a stalled server (connections hang)
#   mariadb_resume      SIGCONT
#
# Exported after mariadb_start: MARIADB_DIR, MARIADB_SOCKET, MARIADB_PORT,
# MARIADB_PID (empty once stopped).
#
# MARIADB_EXTRA_ARGS, when set by the caller, holds more mariadbd options,
# split on blanks (so no blanks inside one), added to every start and
# restart: e.g. "--ssl-ca=$D/ca.pem --ssl-cert=$D/server-cert.pem
# --ssl-key=$D/server-key.pem --require-secure-transport=ON". The root
# connections of this file go over the unix socket, which the server
# counts as secure. Each function returns 0 or prints the
# reason on stderr and returns 1; all work under set -euo pipefail. The
# caller's EXIT trap should call mariadb_stop, which does nothing when no
# server runs.
#
# The template datadir is built once per cache folder
# ("${FEED_TEST_CACHE:-/tmp/feed-core-test-cache}/mariadb-template") under
# flock, since tests run in parallel, and rebuilt when mariadbd's version
# changes.

MARIADB_DIR=${MARIADB_DIR:-}
MARIADB_SOCKET=${MARIADB_SOCKET:-}
MARIADB_PORT=${MARIADB_PORT:-}
MARIADB_PID=${MARIADB_PID:-}

_MARIADB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Seconds allowed for a start (until ping answers) and for a stop.
_MARIADB_DEADLINE_S=30

_mariadb_err() {
    echo "mariadb: $*" >&2
}

# _mariadb_find NAME...: the first of the programs that exists.
_mariadb_find() {
    local name
    for name in "$@"; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
        if [ -x "/usr/sbin/$name" ]; then
            echo "/usr/sbin/$name"
            return 0
        fi
    done
    _mariadb_err "none of $* is installed (Debian: apt-get install mariadb-server)"
    return 1
}

_mariadb_now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# _mariadb_alive PID: the process exists and is not a zombie.
_mariadb_alive() {
    local state
    [ -n "$1" ] || return 1
    state=$(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null) ||
        return 1
    [ -n "$state" ] && [ "$state" != "Z" ]
}

# _mariadb_reap PID: collects PID's exit status when it is our child (its
# status would otherwise stay a zombie: PID 1 may not reap). Call it only
# once PID has exited.
_mariadb_reap() {
    wait "$1" 2>/dev/null || true
}

# _mariadb_wait_gone PID SECONDS: 0 once PID has exited, 1 on timeout.
_mariadb_wait_gone() {
    local deadline=$(($(_mariadb_now_ms) + $2 * 1000))
    while _mariadb_alive "$1"; do
        if [ "$(_mariadb_now_ms)" -ge "$deadline" ]; then
            return 1
        fi
        sleep 0.05
    done
    return 0
}

# _mariadb_free_port: a loopback TCP port nobody listens on right now.
_mariadb_free_port() {
    local lo port
    # Below the range of outgoing connections: a client's lingering
    # TIME_WAIT on the port would stop the server from binding it.
    lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
    [ "${lo:-0}" -gt 12000 ] || lo=32768
    for _ in $(seq 1 100); do
        port=$((10000 + RANDOM % (lo - 10000)))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    _mariadb_err "no free loopback port found"
    return 1
}

# _mariadb_template: prints the template datadir, building it if needed.
_mariadb_template() {
    local cache=${FEED_TEST_CACHE:-/tmp/feed-core-test-cache}
    local tpl=$cache/mariadb-template
    local install mariadbd version user=()

    install=$(_mariadb_find mariadb-install-db mysql_install_db) || return 1
    mariadbd=$(_mariadb_find mariadbd mysqld) || return 1
    version=$("$mariadbd" --version 2>/dev/null)
    if [ "$(id -u)" -eq 0 ]; then
        user=(--user=root)
    fi
    mkdir -p "$cache" || return 1
    (
        flock -w 300 9 || {
            _mariadb_err "cannot lock $cache/mariadb-template.lock"
            exit 1
        }
        # The version file is written last: its presence means complete.
        if [ -f "$tpl/.version" ] && [ "$(cat "$tpl/.version")" == "$version" ]; then
            exit 0
        fi
        rm -rf "$tpl" "$tpl.new"
        if ! "$install" --no-defaults --auth-root-authentication-method=normal \
            --skip-test-db --skip-name-resolve ${user[@]+"${user[@]}"} \
            --datadir="$tpl.new" --innodb-buffer-pool-size=64M \
            --innodb-log-file-size=16M >"$cache/mariadb-install.log" 2>&1; then
            _mariadb_err "mariadb-install-db failed; see $cache/mariadb-install.log"
            tail -n 20 "$cache/mariadb-install.log" >&2
            rm -rf "$tpl.new"
            exit 1
        fi
        echo "$version" >"$tpl.new/.version" && mv "$tpl.new" "$tpl"
    ) 9>"$cache/mariadb-template.lock" || return 1
    echo "$tpl"
}

# _mariadb_launch EXTRA...: starts mariadbd on MARIADB_DIR and MARIADB_PORT
# and waits until it answers. Returns 0 when up, 2 when the port was taken,
# 1 on any other failure (the reason is on stderr).
_mariadb_launch() {
    local mariadbd log=$MARIADB_DIR/mariadb.err offset deadline news user=()
    local extra=()

    mariadbd=$(_mariadb_find mariadbd mysqld) || return 1
    read -r -a extra <<<"${MARIADB_EXTRA_ARGS:-}"
    if [ "$(id -u)" -eq 0 ]; then
        user=(--user=root)
    fi
    mkdir -p "$MARIADB_DIR/tmp" || return 1
    touch "$log"
    offset=$(($(stat -c %s "$log") + 1))
    # stdin/stdout closed: a test harness waiting for our output must not
    # wait for the server too.
    "$mariadbd" --no-defaults ${user[@]+"${user[@]}"} \
        --datadir="$MARIADB_DIR/data" --tmpdir="$MARIADB_DIR/tmp" \
        --socket="$MARIADB_SOCKET" --pid-file="$MARIADB_DIR/mariadb.pid" \
        --log-error="$log" --bind-address=127.0.0.1 --port="$MARIADB_PORT" \
        --skip-name-resolve --max-connections=200 \
        --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
        --innodb-flush-log-at-trx-commit=1 ${extra[@]+"${extra[@]}"} "$@" \
        </dev/null >>"$log" 2>&1 &
    MARIADB_PID=$!
    export MARIADB_PID
    # Still our child (bash reaps it), but no "Killed" job notice on stderr.
    disown "$MARIADB_PID"
    deadline=$(($(_mariadb_now_ms) + _MARIADB_DEADLINE_S * 1000))
    until _mariadb_admin ping >/dev/null 2>&1; do
        if ! _mariadb_alive "$MARIADB_PID"; then
            _mariadb_reap "$MARIADB_PID"
            MARIADB_PID=""
            # What this start wrote (no pipe into grep -q: pipefail).
            news=$(tail -c "+$offset" "$log")
            if grep -qE "Bind on TCP/IP port|Address already in use" \
                <<<"$news"; then
                return 2
            fi
            _mariadb_err "mariadbd exited while starting; see $log:"
            tail -n 20 <<<"$news" >&2
            return 1
        fi
        if [ "$(_mariadb_now_ms)" -ge "$deadline" ]; then
            _mariadb_err "mariadbd did not answer within ${_MARIADB_DEADLINE_S} s; see $log"
            mariadb_stop
            return 1
        fi
        sleep 0.05
    done
    return 0
}

_mariadb_admin() {
    mariadb-admin --no-defaults --protocol=socket --socket="$MARIADB_SOCKET" \
        --user=root --connect-timeout=2 "$@"
}

# mariadb_start DIR: a fresh server in DIR (see the top of this file).
mariadb_start() {
    local dir=${1:?usage: mariadb_start DIR} tpl rc attempt

    if _mariadb_alive "$MARIADB_PID"; then
        _mariadb_err "a server is already running (pid $MARIADB_PID)"
        return 1
    fi
    mkdir -p "$dir" || return 1
    MARIADB_DIR=$(cd "$dir" && pwd)
    MARIADB_SOCKET=$MARIADB_DIR/mysqld.sock
    export MARIADB_DIR MARIADB_SOCKET
    # sun_path holds 108 bytes, its NUL included.
    if [ "${#MARIADB_SOCKET}" -ge 108 ]; then
        _mariadb_err "socket path too long for a unix socket: $MARIADB_SOCKET"
        return 1
    fi
    if [ -e "$MARIADB_DIR/data" ]; then
        _mariadb_err "$MARIADB_DIR/data exists; use mariadb_restart to reuse it"
        return 1
    fi
    tpl=$(_mariadb_template) || return 1
    cp -a "$tpl" "$MARIADB_DIR/data" || return 1
    rm -f "$MARIADB_DIR/data/.version"
    # Another process may take the port between the probe and the bind.
    for attempt in 1 2 3 4 5; do
        MARIADB_PORT=$(_mariadb_free_port) || return 1
        export MARIADB_PORT
        rc=0
        _mariadb_launch || rc=$?
        [ "$rc" -ne 2 ] && break
        echo "# mariadb: port $MARIADB_PORT was taken (attempt $attempt), trying another" >&2
    done
    if [ "$rc" -eq 2 ]; then
        _mariadb_err "no port could be bound; see $MARIADB_DIR/mariadb.err"
    fi
    if [ "$rc" -ne 0 ]; then
        return 1
    fi
    _mariadb_setup
}

# _mariadb_setup: the database, the users and the schema of the tests.
_mariadb_setup() {
    local sql=$_MARIADB_ROOT/conf/fee.sql

    if [ ! -r "$sql" ]; then
        _mariadb_err "cannot read $sql"
        return 1
    fi
    mariadb --no-defaults --protocol=socket --socket="$MARIADB_SOCKET" \
        --user=root -N -B <<'EOF' || { _mariadb_err "cannot create database example and user www"; return 1; }
CREATE DATABASE IF NOT EXISTS example;
CREATE USER IF NOT EXISTS 'www'@'localhost' IDENTIFIED BY 'qwer123';
CREATE USER IF NOT EXISTS 'www'@'127.0.0.1' IDENTIFIED BY 'qwer123';
GRANT ALL ON example.* TO 'www'@'localhost';
GRANT ALL ON example.* TO 'www'@'127.0.0.1';
EOF
    # shellcheck disable=SC2119 # stdin, on purpose
    mariadb_sql <"$sql" || { _mariadb_err "cannot load $sql"; return 1; }
}

# mariadb_stop: stops the server if one runs; 0 once it is gone.
mariadb_stop() {
    local pid=$MARIADB_PID

    [ -n "$pid" ] || return 0
    if _mariadb_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        # A paused server must run to handle SIGTERM.
        kill -CONT "$pid" 2>/dev/null || true
        if ! _mariadb_wait_gone "$pid" "$_MARIADB_DEADLINE_S"; then
            _mariadb_err "pid $pid did not stop within ${_MARIADB_DEADLINE_S} s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            _mariadb_wait_gone "$pid" 10 || true
        fi
    fi
    _mariadb_reap "$pid"
    MARIADB_PID=""
    return 0
}

# mariadb_kill9: kills the server like a crash would.
mariadb_kill9() {
    local pid=$MARIADB_PID

    if [ -z "$pid" ]; then
        _mariadb_err "no server to kill"
        return 1
    fi
    kill -KILL "$pid" 2>/dev/null || true
    if ! _mariadb_wait_gone "$pid" 10; then
        _mariadb_err "pid $pid survived SIGKILL"
        return 1
    fi
    _mariadb_reap "$pid"
    MARIADB_PID=""
    return 0
}

# mariadb_restart: stops the server if it runs, starts it on the same
# datadir, socket and port.
mariadb_restart() {
    local rc

    if [ -z "$MARIADB_DIR" ] || [ -z "$MARIADB_PORT" ]; then
        _mariadb_err "mariadb_restart before mariadb_start"
        return 1
    fi
    mariadb_stop
    # Wait a little for the port if a client holds on to it.
    rc=0
    _mariadb_launch --port-open-timeout=10 || rc=$?
    if [ "$rc" -eq 2 ]; then
        _mariadb_err "port $MARIADB_PORT is taken; see $MARIADB_DIR/mariadb.err"
    fi
    [ "$rc" -eq 0 ]
}

# mariadb_sql [SQL...]: runs the SQL given (else stdin) in `example`.
# shellcheck disable=SC2120 # callers of this library pass SQL
mariadb_sql() {
    local cmd=(mariadb --no-defaults --protocol=socket
        --socket="$MARIADB_SOCKET" --user=root -N -B example)

    if [ "$#" -gt 0 ]; then
        "${cmd[@]}" -e "$*"
    else
        "${cmd[@]}"
    fi
}

mariadb_pause() {
    if [ -z "$MARIADB_PID" ]; then
        _mariadb_err "no server to pause"
        return 1
    fi
    kill -STOP "$MARIADB_PID"
}

mariadb_resume() {
    if [ -z "$MARIADB_PID" ]; then
        _mariadb_err "no server to resume"
        return 1
    fi
    kill -CONT "$MARIADB_PID"
}
