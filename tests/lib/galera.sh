# galera.sh - a private 3-node MariaDB Galera cluster for tests, sourced by
# test scripts.
#
# Owns three mariadbd processes per sourcing shell, all on 127.0.0.1: their
# datadirs, sockets, error logs and ports (SQL, group communication, IST and
# SST receipt) live under the folder given to galera_start. They never read
# the system's configuration (each names a defaults file of its own, which
# also keeps the SST scripts off /etc/mysql) and never touch the system's
# server. Deciding what to test (and what to kill) is the caller's.
#
#   galera_start DIR    node 1 bootstraps a new cluster in DIR/n1 (a datadir
#                       copied from mariadb.sh's cached template), gets the
#                       database `example`, the users 'www'@'localhost' and
#                       'www'@'127.0.0.1' (password qwer123) and conf/fee.sql;
#                       nodes 2 and 3 join it by SST (mariabackup); returns
#                       once all three are Synced in a cluster of 3 (about
#                       25 s: the SST script waits 10 s before each
#                       transfer)
#   galera_kill9 N      SIGKILL node N, wait, reap (a crash)
#   galera_stop         SIGTERM every node still running (SIGKILL after
#                       30 s), wait, reap; does nothing when none runs
#   galera_sql N SQL... runs SQL (or stdin) as root in `example` on node N;
#                       prints rows tab-separated, without column names
#   galera_status N VAR the value of the status variable VAR on node N
#   galera_alive N      node N's process runs
#
# Set after galera_start: GALERA_DIR, and for N in 1..3 GALERA_PORT[N] (SQL),
# GALERA_PID[N] (empty once stopped), GALERA_SOCKET[N]; node N's error log
# is $GALERA_DIR/nN/mariadb.err. Each function returns 0 or prints the reason
# on stderr and returns 1; all work under set -euo pipefail. The caller's
# EXIT trap should call galera_stop.
#
# Failure detection is quick on purpose: evs.suspect_timeout = PT3S (Galera's
# default is PT5S), so a killed node is evicted, and commits on the
# survivors resume, about 4 s after the kill. docs/scaling.md quotes
# figures measured with this setting.

# The helpers shared with the single server: finding programs, process
# checks, the cached template datadir.
. "$(dirname "${BASH_SOURCE[0]}")/mariadb.sh"

GALERA_DIR=${GALERA_DIR:-}
declare -a GALERA_PORT=() GALERA_PID=() GALERA_SOCKET=()
declare -a _GALERA_GCOMM=() _GALERA_IST=() _GALERA_SST=()

_GALERA_PROVIDER=${GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}
# Seconds allowed for a node to answer after it starts (a joiner's SST
# included), for the cluster to settle, and for a stop.
_GALERA_START_S=60
_GALERA_SYNC_S=60
_GALERA_STOP_S=30
# The account the donor's mariabackup logs in with (local socket only).
_GALERA_SST_AUTH=sst:sst-only-for-tests

_galera_err() {
    echo "galera: $*" >&2
}

# _galera_ports N: picks the four ports of node N, each free now and
# distinct from every port already given to a node.
_galera_ports() {
    local n=$1 taken port v

    taken=" ${GALERA_PORT[*]:-} ${_GALERA_GCOMM[*]:-} "
    taken+="${_GALERA_IST[*]:-} ${_GALERA_SST[*]:-} "
    for v in GALERA_PORT _GALERA_GCOMM _GALERA_IST _GALERA_SST; do
        port=$(_mariadb_free_port) || return 1
        while [[ "$taken" == *" $port "* ]]; do
            port=$(_mariadb_free_port) || return 1
        done
        taken+="$port "
        printf -v "${v}[$n]" '%s' "$port"
    done
}

# _galera_provider_options N: the provider options of node N.
_galera_provider_options() {
    local n=$1
    # Inactive (declared dead for good) must not come before suspect;
    # consensus on the new view is bounded by the install timeout.
    printf '%s' "gmcast.listen_addr=tcp://127.0.0.1:${_GALERA_GCOMM[$n]};" \
        "ist.recv_addr=127.0.0.1:${_GALERA_IST[$n]};" \
        "evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;" \
        "evs.install_timeout=PT6S;evs.keepalive_period=PT0.5S;" \
        "evs.inactive_check_period=PT0.5S;" \
        "gcache.size=64M;pc.wait_prim_timeout=PT10S"
}

# _galera_cluster_address: every node's group communication port.
_galera_cluster_address() {
    local n sep="" address="gcomm://"
    for n in 1 2 3; do
        address+="${sep}127.0.0.1:${_GALERA_GCOMM[$n]}"
        sep=,
    done
    echo "$address"
}

_galera_admin() {
    mariadb-admin --no-defaults --protocol=socket \
        --socket="${GALERA_SOCKET[$1]}" --user=root --connect-timeout=2 \
        "${@:2}"
}

# _galera_launch N EXTRA...: starts node N and waits until it answers and
# is ready for writes (for a joiner, once its SST is over). Returns 0 when
# up, 2 when a port was taken, 1 on any other failure (the reason is on
# stderr).
_galera_launch() {
    local n=$1 mariadbd dir=$GALERA_DIR/n$1 log offset deadline news
    local user=()
    shift

    mariadbd=$(_mariadb_find mariadbd mysqld) || return 1
    if [ "$(id -u)" -eq 0 ]; then
        user=(--user=root)
    fi
    mkdir -p "$dir/tmp" || return 1
    log=$dir/mariadb.err
    touch "$log"
    # The SST scripts read their settings with my_print_defaults, which
    # reads /etc/mysql unless the server names a defaults file: name one
    # (mariadbd then reads nothing else, as with --no-defaults) that keeps
    # their logs in the datadir, out of syslog.
    cat >"$dir/my.cnf" <<EOF || return 1
[sst]
sst-syslog = -1
sst-log-archive = 0
EOF
    offset=$(($(stat -c %s "$log") + 1))
    # No --innodb-buffer-pool-size: the SST script hands it on to
    # mariadb-backup, which (10.11) refuses it as an unknown variable.
    # stdin/stdout closed: a test harness waiting for our output must not
    # wait for the server too.
    "$mariadbd" --defaults-file="$dir/my.cnf" ${user[@]+"${user[@]}"} \
        --datadir="$dir/data" --tmpdir="$dir/tmp" \
        --socket="${GALERA_SOCKET[$n]}" --pid-file="$dir/mariadb.pid" \
        --log-error="$log" --bind-address=127.0.0.1 \
        --port="${GALERA_PORT[$n]}" \
        --skip-name-resolve --max-connections=200 \
        --innodb-log-file-size=16M --innodb-flush-log-at-trx-commit=1 \
        --binlog-format=ROW --default-storage-engine=InnoDB \
        --innodb-autoinc-lock-mode=2 \
        --wsrep-on=ON --wsrep-provider="$_GALERA_PROVIDER" \
        --wsrep-cluster-name=feed-core-test \
        --wsrep-cluster-address="$(_galera_cluster_address)" \
        --wsrep-node-name="n$n" --wsrep-node-address=127.0.0.1 \
        --wsrep-node-incoming-address="127.0.0.1:${GALERA_PORT[$n]}" \
        --wsrep-provider-options="$(_galera_provider_options "$n")" \
        --wsrep-sst-method=mariabackup --wsrep-sst-auth="$_GALERA_SST_AUTH" \
        --wsrep-sst-receive-address="127.0.0.1:${_GALERA_SST[$n]}" \
        --wsrep-slave-threads=2 "$@" \
        </dev/null >>"$log" 2>&1 &
    # shellcheck disable=SC2128 # $! is a plain variable
    GALERA_PID[n]=$!
    # Still our child (bash reaps it), but no "Killed" job notice on stderr.
    disown "${GALERA_PID[$n]}"
    deadline=$(($(_mariadb_now_ms) + _GALERA_START_S * 1000))
    until _galera_admin "$n" ping >/dev/null 2>&1; do
        if ! _mariadb_alive "${GALERA_PID[$n]}"; then
            _mariadb_reap "${GALERA_PID[$n]}"
            GALERA_PID[n]=""
            news=$(tail -c "+$offset" "$log")
            if grep -qE "Address already in use|Bind on TCP/IP port" \
                <<<"$news"; then
                return 2
            fi
            _galera_err "node $n exited while starting; see $log:"
            tail -n 20 <<<"$news" >&2
            return 1
        fi
        if [ "$(_mariadb_now_ms)" -ge "$deadline" ]; then
            _galera_err "node $n did not answer within ${_GALERA_START_S} s; see $log"
            _galera_stop_node "$n"
            return 1
        fi
        sleep 0.1
    done
    # A node answers before it can take writes (1047 until then).
    until [ "$(galera_status "$n" wsrep_ready 2>/dev/null)" == ON ]; do
        if [ "$(_mariadb_now_ms)" -ge "$deadline" ]; then
            _galera_err "node $n is not ready (wsrep_ready) after ${_GALERA_START_S} s; see $log"
            _galera_stop_node "$n"
            return 1
        fi
        sleep 0.1
    done
    return 0
}

# _galera_start_node N EXTRA...: a fresh datadir for node N, its ports, and
# _galera_launch, with new ports when one was taken meanwhile.
_galera_start_node() {
    local n=$1 tpl rc attempt dir=$GALERA_DIR/n$1
    shift

    GALERA_SOCKET[n]=$dir/mysqld.sock
    # sun_path holds 108 bytes, its NUL included.
    if [ "${#GALERA_SOCKET[$n]}" -ge 108 ]; then
        _galera_err "socket path too long for a unix socket: ${GALERA_SOCKET[$n]}"
        return 1
    fi
    tpl=$(_mariadb_template) || return 1
    mkdir -p "$dir" || return 1
    for attempt in 1 2 3 4 5; do
        # A joiner's datadir is replaced by SST; it starts from the
        # template all the same, so the server can start before it.
        rm -rf "$dir/data"
        cp -a "$tpl" "$dir/data" || return 1
        rm -f "$dir/data/.version"
        # Ports picked before (a joiner's, named in the others' cluster
        # address) are kept, unless one of them was taken.
        if [ "$attempt" -gt 1 ] || [ -z "${GALERA_PORT[n]:-}" ]; then
            _galera_ports "$n" || return 1
        fi
        rc=0
        _galera_launch "$n" "$@" || rc=$?
        [ "$rc" -ne 2 ] && break
        echo "# galera: a port of node $n was taken (attempt $attempt), trying others" >&2
    done
    if [ "$rc" -eq 2 ]; then
        _galera_err "no ports could be bound for node $n; see $dir/mariadb.err"
    fi
    [ "$rc" -eq 0 ]
}

# _galera_setup: on the bootstrap node, the SST account, the database, the
# users and the schema of the tests (replicated to the joiners by SST).
_galera_setup() {
    local sql=$_MARIADB_ROOT/conf/fee.sql

    if [ ! -r "$sql" ]; then
        _galera_err "cannot read $sql"
        return 1
    fi
    mariadb --no-defaults --protocol=socket --socket="${GALERA_SOCKET[1]}" \
        --user=root -N -B <<EOF || { _galera_err "cannot create database example and users"; return 1; }
CREATE USER IF NOT EXISTS '${_GALERA_SST_AUTH%%:*}'@'localhost'
    IDENTIFIED BY '${_GALERA_SST_AUTH#*:}';
GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.*
    TO '${_GALERA_SST_AUTH%%:*}'@'localhost';
CREATE DATABASE IF NOT EXISTS example;
CREATE USER IF NOT EXISTS 'www'@'localhost' IDENTIFIED BY 'qwer123';
CREATE USER IF NOT EXISTS 'www'@'127.0.0.1' IDENTIFIED BY 'qwer123';
GRANT ALL ON example.* TO 'www'@'localhost';
GRANT ALL ON example.* TO 'www'@'127.0.0.1';
EOF
    galera_sql 1 <"$sql" || { _galera_err "cannot load $sql"; return 1; }
}

# _galera_synced: every node runs, sees a cluster of 3 and is Synced.
_galera_synced() {
    local n
    for n in 1 2 3; do
        _mariadb_alive "${GALERA_PID[$n]:-}" || return 1
        [ "$(galera_status "$n" wsrep_cluster_size 2>/dev/null)" == 3 ] ||
            return 1
        [ "$(galera_status "$n" wsrep_local_state_comment 2>/dev/null)" == \
            Synced ] || return 1
    done
}

# galera_start DIR: a fresh cluster of three in DIR (see the top).
galera_start() {
    local dir=${1:?usage: galera_start DIR} n deadline

    for n in 1 2 3; do
        if _mariadb_alive "${GALERA_PID[$n]:-}"; then
            _galera_err "node $n is already running (pid ${GALERA_PID[$n]})"
            return 1
        fi
    done
    mkdir -p "$dir" || return 1
    GALERA_DIR=$(cd "$dir" && pwd)
    GALERA_PORT=() GALERA_PID=() GALERA_SOCKET=()
    _GALERA_GCOMM=() _GALERA_IST=() _GALERA_SST=()
    if [ ! -r "$_GALERA_PROVIDER" ]; then
        _galera_err "no Galera provider at $_GALERA_PROVIDER (Debian: apt-get install galera-4)"
        return 1
    fi
    _mariadb_find mariabackup >/dev/null || return 1
    _mariadb_find socat >/dev/null || return 1
    # Joiners' ports are picked before the bootstrap, so the cluster
    # address each node is given names all three.
    _galera_ports 2 && _galera_ports 3 || return 1
    _galera_start_node 1 --wsrep-new-cluster || return 1
    _galera_setup || return 1
    for n in 2 3; do
        _galera_start_node "$n" || return 1
    done
    deadline=$(($(_mariadb_now_ms) + _GALERA_SYNC_S * 1000))
    until _galera_synced; do
        if [ "$(_mariadb_now_ms)" -ge "$deadline" ]; then
            _galera_err "the cluster is not 3 Synced nodes after ${_GALERA_SYNC_S} s; see $GALERA_DIR/n*/mariadb.err"
            return 1
        fi
        sleep 0.1
    done
}

# _galera_stop_node N: stops node N if it runs; 0 once it is gone.
_galera_stop_node() {
    local n=$1 pid=${GALERA_PID[$1]:-}

    [ -n "$pid" ] || return 0
    if _mariadb_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        kill -CONT "$pid" 2>/dev/null || true
        if ! _mariadb_wait_gone "$pid" "$_GALERA_STOP_S"; then
            _galera_err "node $n (pid $pid) did not stop within ${_GALERA_STOP_S} s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            _mariadb_wait_gone "$pid" 10 || true
        fi
    fi
    _mariadb_reap "$pid"
    GALERA_PID[n]=""
}

# galera_stop: stops every node still running, the last first (a cluster
# shut down in order needs no recovery).
galera_stop() {
    local n
    for n in 3 2 1; do
        _galera_stop_node "$n"
    done
    return 0
}

# galera_kill9 N: kills node N like a crash would.
galera_kill9() {
    local n=${1:?usage: galera_kill9 N} pid=${GALERA_PID[${1:-0}]:-}

    if [ -z "$pid" ]; then
        _galera_err "node $n does not run"
        return 1
    fi
    kill -KILL "$pid" 2>/dev/null || true
    if ! _mariadb_wait_gone "$pid" 10; then
        _galera_err "node $n (pid $pid) survived SIGKILL"
        return 1
    fi
    _mariadb_reap "$pid"
    GALERA_PID[n]=""
}

# galera_alive N: node N's process runs.
galera_alive() {
    _mariadb_alive "${GALERA_PID[$1]:-}"
}

# galera_sql N [SQL...]: runs the SQL given (else stdin) in `example` on
# node N.
galera_sql() {
    local n=${1:?usage: galera_sql N [SQL...]}
    local cmd=(mariadb --no-defaults --protocol=socket
        --socket="${GALERA_SOCKET[$n]:-}" --user=root -N -B example)
    shift

    if [ "$#" -gt 0 ]; then
        "${cmd[@]}" -e "$*"
    else
        "${cmd[@]}"
    fi
}

# galera_status N VAR: the value of the status variable VAR on node N
# (no database needed: it also works before `example` exists).
galera_status() {
    mariadb --no-defaults --protocol=socket --socket="${GALERA_SOCKET[$1]:-}" \
        --user=root -N -B -e "SHOW GLOBAL STATUS LIKE '$2'" | cut -f2
}
