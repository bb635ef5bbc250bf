#!/usr/bin/env bash
# mysql_fee.sh - runs test_mysql_fee (the mysql_fee sink, in-process)
# against a private MariaDB started with tests/lib/mariadb.sh.
#
# usage: mysql_fee.sh [TEST_BINARY]   (default: $TEST_MYSQL_FEE)
#
# The server is this script's child, whatever the test does to it: the test
# asks for `kill9`, `stop` and `restart` over two fifos (MARIADB_CTL_IN, one
# command a line; MARIADB_CTL_OUT, "ok" or "fail CMD" a line), and the
# script runs mariadb_kill9 / mariadb_stop / mariadb_restart. A second
# server, for the tests of a host list, is exported as MARIADB2_PORT and
# MARIADB2_SOCKET: a Galera node of its own (bootstrapped, on loopback), so
# that the sink meets wsrep_on = ON, and a test can make it not ready. The EXIT trap stops the servers and the test binary, by
# pid.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/mariadb.sh
. "$here/../lib/mariadb.sh"

TEST_BIN=${1:-${TEST_MYSQL_FEE:-}}
if [ -z "$TEST_BIN" ] || [ ! -x "$TEST_BIN" ]; then
    echo "mysql_fee.sh: no test binary: give its path or set TEST_MYSQL_FEE" >&2
    exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/feed-fee.XXXXXX") || exit 1
BIN_PID=""
M2_DIR="" M2_SOCKET="" M2_PORT="" M2_PID=""

# second CMD...: runs a mariadb_* command on the second server. The
# library keeps one server per shell in its MARIADB_* variables, so they
# are swapped in for the command and back out after it.
second() {
    local dir=$MARIADB_DIR socket=$MARIADB_SOCKET port=$MARIADB_PORT
    local pid=$MARIADB_PID rc=0

    MARIADB_DIR=$M2_DIR MARIADB_SOCKET=$M2_SOCKET MARIADB_PORT=$M2_PORT
    MARIADB_PID=$M2_PID
    "$@" || rc=$?
    M2_DIR=$MARIADB_DIR M2_SOCKET=$MARIADB_SOCKET M2_PORT=$MARIADB_PORT
    M2_PID=$MARIADB_PID
    MARIADB_DIR=$dir MARIADB_SOCKET=$socket MARIADB_PORT=$port
    MARIADB_PID=$pid
    return "$rc"
}

# shellcheck disable=SC2317 # reached through the trap
cleanup() {
    if [ -n "$BIN_PID" ] && kill -0 "$BIN_PID" 2>/dev/null; then
        kill -TERM "$BIN_PID" 2>/dev/null
        wait "$BIN_PID" 2>/dev/null
    fi
    second mariadb_stop
    mariadb_stop
    if [ -z "${KEEP:-}" ]; then
        rm -rf "$T"
    else
        echo "# kept $T"
    fi
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

mariadb_start "$T/db" || exit 1
echo "# mariadb pid $MARIADB_PID port $MARIADB_PORT socket $MARIADB_SOCKET"
second mariadb_start "$T/db2" || exit 1
# Then it is restarted on the same datadir as a Galera node of its own
# (MARIADB_EXTRA_ARGS, for that restart only); its group communication
# listens on a free loopback port (the library's own probe).
GALERA=/usr/lib/galera/libgalera_smm.so
if [ ! -r "$GALERA" ]; then
    echo "mysql_fee.sh: no $GALERA (Debian: apt-get install galera-4)" >&2
    exit 1
fi
gcomm_port=$(_mariadb_free_port) || exit 1
galera_args=(--wsrep-on=ON --wsrep-provider="$GALERA"
    --wsrep-cluster-address=gcomm:// --wsrep-node-address=127.0.0.1
    --wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:$gcomm_port"
    --binlog-format=ROW --innodb-autoinc-lock-mode=2)
MARIADB_EXTRA_ARGS="${galera_args[*]}" second mariadb_restart || exit 1
echo "# second mariadb pid $M2_PID port $M2_PORT socket $M2_SOCKET"
export MARIADB2_PORT=$M2_PORT MARIADB2_SOCKET=$M2_SOCKET

mkfifo "$T/ctl.in" "$T/ctl.out" || exit 1
# Read-write opens never block and never see end-of-file.
exec 3<>"$T/ctl.in" 4<>"$T/ctl.out"
export MARIADB_CTL_IN=$T/ctl.in MARIADB_CTL_OUT=$T/ctl.out
export FEE_SQL=$here/../../conf/fee.sql

# control: runs one command of the test on the server
control() {
    case $1 in
    kill9) mariadb_kill9 ;;
    stop) mariadb_stop ;;
    restart) mariadb_restart ;;
    *) return 1 ;;
    esac
}

"$TEST_BIN" 3<&- 4<&- &
BIN_PID=$!
while kill -0 "$BIN_PID" 2>/dev/null; do
    if read -r -t 0.2 cmd <&3; then
        if control "$cmd"; then
            echo "# server: $cmd done (pid ${MARIADB_PID:-none})"
            echo ok >&4
        else
            echo "fail $cmd" >&4
        fi
    fi
done
wait "$BIN_PID"
rc=$?
BIN_PID=""
exit "$rc"
