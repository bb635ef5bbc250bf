# lib.sh - shared by the integration tests: a scratch folder, assertions,
# polling with deadlines, and cleanup of everything a test started.
#
# A test sources this file, calls `check`/`expect_*` for each assertion and
# ends with `finish`. Output is TAP: "ok - ..." / "not ok - ..." and the
# plan last, so meson (protocol: 'tap') counts every check.
# Paths come from meson through the environment: FEED_CORE, FEED_SEND,
# ZSEND, NOTIFY_LISTEN, PLUGIN_DIR, TEST_PLUGIN_DIR, SRC_ROOT.

set -u

T=$(mktemp -d "${TMPDIR:-/tmp}/feed-it.XXXXXX")
chmod 755 "$T"
FAILS=0
PASSES=0
STARTED_INIS=()
# The [core] line a test's INI needs to run as whoever runs the test: as
# root, `user` must be written out.
ROOT_USER=""
if [ "$(id -u)" -eq 0 ]; then
    ROOT_USER="user = root"
fi

note() { diag "$*"; }

# diag TEXT: TEXT as TAP diagnostics, every line of it behind '#'.
diag() { printf '%s\n' "$*" | sed 's/^/# /'; }

pass() {
    PASSES=$((PASSES + 1))
    echo "ok - $*"
}

fail() {
    FAILS=$((FAILS + 1))
    echo "not ok - $*"
}

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

# expect_eq DESCRIPTION ACTUAL EXPECTED
expect_eq() {
    if [ "$2" == "$3" ]; then
        pass "$1"
    else
        fail "$1"
        diag "  expected: $3"
        diag "  got:      $2"
    fi
}

# expect_match DESCRIPTION TEXT EXTENDED_REGEX
expect_match() {
    if printf '%s' "$2" | grep -qE -- "$3"; then
        pass "$1"
    else
        fail "$1"
        diag "  expected to match: $3"
        diag "  got: $2"
    fi
}

# wait_until SECONDS COMMAND...: polls every 50 ms; 1 on timeout.
wait_until() {
    local deadline=$(($(date +%s%N) + $1 * 1000000000))
    shift
    until "$@"; do
        if [ "$(date +%s%N)" -ge "$deadline" ]; then
            return 1
        fi
        sleep 0.05
    done
}

# free_port: a loopback TCP port nobody listens on right now, below the
# kernel's range for outgoing connections: a client connection lingering in
# TIME_WAIT on a port (10,000 of them in hostile.sh) would stop a daemon
# from binding it.
free_port() {
    local lo port
    lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
    [ "${lo:-0}" -gt 12000 ] || lo=32768
    for _ in $(seq 1 100); do
        port=$((10000 + RANDOM % (lo - 10000)))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

fc() { "$FEED_CORE" "$@"; }

# start_daemon INI [ARGS...]: `feed-core -c INI start`, remembered for
# cleanup. Prints start's output; returns its exit code.
start_daemon() {
    local ini=$1
    shift
    STARTED_INIS+=("$ini")
    "$FEED_CORE" -c "$ini" "$@" start
}

# test_sink_ini FILE PORT [SINK-EXTRA [CORE-EXTRA [SOURCE-EXTRA]]]: a config
# of the default source and parser with the test sink (records to
# records.txt, no database needed). The EXTRA lines go into their sections;
# INI_THREADS (default 2) and INI_LOG_LEVEL (default info) set those keys.
test_sink_ini() {
    local source="endpoint = tcp://127.0.0.1:$2"
    if [ -n "${5:-}" ]; then
        source+=$'\n'$5
    fi
    mkdir -p "$(dirname "$1")"
    cat >"$1" <<EOF
[core]
pidfile = run/feed.pid
$ROOT_USER
threads = ${INI_THREADS:-2}
log = feed.log
log_level = ${INI_LOG_LEVEL:-info}
dead_letter = dead.jsonl
stats_interval = 0
stop_timeout = 5
plugin_dir = $PLUGIN_DIR
${4:-}

[source]
plugin = zmq_rep
$source

[parser]
plugin = csv_trade

[sink]
plugin = $TEST_PLUGIN_DIR/test_sink.so
path = records.txt
${3:-}
EOF
}

# start_ok WHAT INI: starts the daemon of INI (with $START_WITH, default
# start_daemon) as one assertion; start's output is shown when it fails.
start_ok() {
    local out rc
    out=$("${START_WITH:-start_daemon}" "$2" 2>&1)
    rc=$?
    expect_eq "$1" "$rc" 0
    [ "$rc" -eq 0 ] || note "$out"
    return "$rc"
}

# daemon_pid INI: the pid in the INI's pidfile (empty when none).
daemon_pid() {
    local pidfile
    pidfile=$(sed -n 's/^pidfile *= *//p' "$1")
    case "$pidfile" in
    /*) ;;
    *) pidfile="$(dirname "$1")/$pidfile" ;;
    esac
    head -n 1 "$pidfile" 2>/dev/null
}

# process_gone PID: the process has exited (a zombie counts as gone).
process_gone() {
    local state
    state=$(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
    [ -z "$state" ] || [ "$state" == "Z" ]
}

cleanup() {
    local ini
    for ini in "${STARTED_INIS[@]+"${STARTED_INIS[@]}"}"; do
        "$FEED_CORE" -c "$ini" stop >/dev/null 2>&1
    done
    if declare -F mariadb_stop >/dev/null && [ -n "${MARIADB_PID:-}" ]; then
        mariadb_stop >/dev/null 2>&1
    fi
    if [ -z "${KEEP:-}" ]; then
        rm -rf "$T"
    else
        echo "# kept $T"
    fi
}
trap cleanup EXIT

# skip_all REASON: the whole script does not apply here; TAP says so (a
# plan of 0 with SKIP) and meson counts it as skipped.
skip_all() {
    echo "1..0 # SKIP $*"
    exit 0
}

# finish: the TAP plan (at the end, as TAP allows), a summary, the status.
finish() {
    echo "1..$((PASSES + FAILS))"
    echo "# $PASSES passed, $FAILS failed"
    [ "$FAILS" -eq 0 ]
    exit $?
}
