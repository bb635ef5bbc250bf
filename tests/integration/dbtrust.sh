#!/usr/bin/env bash
# dbtrust.sh - what mysql_fee believes about its database, end to end: the
# real daemon against a private MariaDB that speaks TLS and refuses plain
# connections (require_secure_transport), with certificates made here.
#
# TLS: verify_identity (the default once ssl_ca is set) books trades; a CA
# that did not sign the server's certificate, a certificate for another
# name, ssl_mode = disabled, a TLS file the run user cannot read, and (the
# server restarted without TLS) required or verify_identity all fail
# `start` at once with the reason; `required` takes any certificate.
# Passwords: a password_file holding blanks and " ;" works; one the group
# can read fails `check` naming FILE:LINE and the key; password_credential
# reads $CREDENTIALS_DIRECTORY. No password ever shows in the log or the
# process title. Every contradiction between the keys is a config error.
# read_timeout: a server that stops answering (SIGSTOP) is a lost
# connection, retried, and the trade commits once it is back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"
. "$SRC_ROOT/tests/lib/tls.sh"

K=$T/tls
if ! tls_make "$K"; then
    fail "test certificates are made with openssl"
    finish
fi
# TLS files are read at each connect, by the run user.
chmod 755 "$K"
if [ "$(id -u)" -eq 0 ]; then
    chown nobody "$K/client-key.pem"
fi

MARIADB_EXTRA_ARGS="--ssl-ca=$K/ca.pem --ssl-cert=$K/server-cert.pem"
MARIADB_EXTRA_ARGS+=" --ssl-key=$K/server-key.pem --require-secure-transport=ON"
start_database
expect_eq "the private MariaDB speaks TLS" \
    "$(sql "SELECT @@have_ssl, @@require_secure_transport")" $'YES\t1'

# A password with every blank and comment character the INI cannot hold.
PW='  p ;w# x  '
sql "CREATE USER 'pw'@'127.0.0.1' IDENTIFIED BY '$PW';
     GRANT ALL ON example.* TO 'pw'@'127.0.0.1';"

# fc_check INI: `feed-core -c INI check`. Under AddressSanitizer, leak
# detection is off for it: mysql_library_init()'s few blocks, allocated
# inside libmariadb, become unreachable when the plugin is unloaded at
# exit, and the leak report would replace check's verdict.
fc_check() {
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        "$FEED_CORE" -c "$1" check
}

# trade DIR TICKET: sends one trade to DIR's daemon; prints the reply.
trade() {
    printf '%s,7,1.5\n' "$2" >"$1/trade.$2"
    "$ZSEND" -e "tcp://127.0.0.1:$(cat "$1/port")" "$1/trade.$2" | cut -f2
}

# daemon DIR SINK-EXTRA: a config in DIR for the private MariaDB.
daemon() {
    local port
    port=$(free_port)
    write_ini "$1" "$port" "" "" "$2"
    echo "$port" >"$1/port"
}

# without_password DIR: drops the password line write_ini wrote.
without_password() {
    sed -i '/^password = /d' "$1/feed.ini"
}

# no_password_shown WHAT DIR PID: the password is in neither DIR's log nor
# the process title of PID (which must be running).
no_password_shown() {
    if [ -z "$3" ] || ! tr '\0' ' ' <"/proc/$3/cmdline" >"$2/cmdline"; then
        fail "$1: the daemon's process title can be read"
        return
    fi
    if grep -qF "p ;w#" "$2/feed.log" "$2/cmdline"; then
        fail "$1: the password is in neither the log nor the process title"
    else
        pass "$1: the password is in neither the log nor the process title"
    fi
}

# start_fails WHAT DIR REGEX: start fails, saying REGEX; the daemon is gone.
start_fails() {
    local out rc t0
    t0=$(now_ms)
    out=$(start_daemon "$2/feed.ini" 2>&1)
    rc=$?
    note "$1: start took $(($(now_ms) - t0)) ms: ${out//$'\n'/ | }"
    expect_eq "$1: start fails" "$rc" 1
    expect_match "$1: start names the reason" "$out" "$3"
    if grep -qiE "retry|retrying" <<<"$out"; then
        fail "$1: start does not retry"
    else
        pass "$1: start does not retry"
    fi
    expect_eq "$1: nothing runs" "$(fc -c "$2/feed.ini" status >/dev/null 2>&1;
        echo $?)" 3
}

# --- verify_identity: the default once ssl_ca is set ---------------------
A=$T/verify
daemon "$A" "ssl_ca = $K/ca.pem
ssl_cert = $K/client-cert.pem
ssl_key = $K/client-key.pem"
# The server refuses plain connections: a connection made is encrypted.
if start_ok "verify_identity: start succeeds" "$A/feed.ini"; then
    expect_eq "verify_identity: a trade gets TRUE" "$(trade "$A" 7100001)" TRUE
    expect_eq "verify_identity: its row is there, status Y" \
        "$(sql "SELECT login, volume, status FROM fee WHERE ticket = 7100001")" \
        $'7\t1.5000\tY'
fi
fc -c "$A/feed.ini" stop >/dev/null

# --- a CA that did not sign the server's certificate ---------------------
B=$T/wrongca
daemon "$B" "ssl_ca = $K/other-ca.pem"
start_fails "a wrong CA" "$B" "TLS/SSL error|certificate"

# --- plain text against a server that requires TLS -----------------------
C=$T/plain
daemon "$C" "ssl_mode = disabled"
start_fails "ssl_mode = disabled" "$C" "cannot connect to 127.0.0.1:$MARIADB_PORT: "

# --- password_file: blanks and " ;" are part of the password -------------
D=$T/pwfile
daemon "$D" "ssl_ca = $K/ca.pem
password_file = secret/db.pass"
without_password "$D"
sed -i 's/^user = www$/user = pw/' "$D/feed.ini"
mkdir -p "$D/secret"
printf '%s\nsecond line\n' "$PW" >"$D/secret/db.pass"
chmod 600 "$D/secret/db.pass"
out=$(fc_check "$D/feed.ini" 2>&1)
expect_eq "password_file: check passes" "$?" 0
if start_ok "password_file: start succeeds" "$D/feed.ini"; then
    expect_eq "password_file: a trade gets TRUE" "$(trade "$D" 7200001)" TRUE
    expect_eq "password_file: its row is there" \
        "$(sql "SELECT COUNT(*) FROM fee WHERE ticket = 7200001")" 1
    no_password_shown "password_file" "$D" "$(daemon_pid "$D/feed.ini")"
fi
fc -c "$D/feed.ini" stop >/dev/null

# --- a password file the group can read: refused by check and start ------
chmod 640 "$D/secret/db.pass"
line=$(grep -n '^password_file' "$D/feed.ini" | cut -d: -f1)
out=$(fc_check "$D/feed.ini" 2>&1)
expect_eq "a group-readable password_file: check fails" "$?" 1
expect_match "a group-readable password_file: FILE:LINE and the key" "$out" \
    "^$D/feed.ini:$line: \[sink\] password_file: $D/secret/db.pass can be read by group or others \(mode 0640\)"
start_fails "a group-readable password_file" "$D" "password_file: .*can be read by group or others"
chmod 600 "$D/secret/db.pass"

# --- password_credential: systemd's LoadCredential= ----------------------
E=$T/cred
daemon "$E" "ssl_ca = $K/ca.pem
password_credential = db.pass"
without_password "$E"
sed -i 's/^user = www$/user = pw/' "$E/feed.ini"
mkdir -p "$T/credentials"
printf '%s' "$PW" >"$T/credentials/db.pass"
chmod 400 "$T/credentials/db.pass"
line=$(grep -n '^password_credential' "$E/feed.ini" | cut -d: -f1)
out=$(unset CREDENTIALS_DIRECTORY; fc_check "$E/feed.ini" 2>&1)
expect_eq "password_credential without CREDENTIALS_DIRECTORY: check fails" \
    "$?" 1
expect_match "password_credential without CREDENTIALS_DIRECTORY: the reason" \
    "$out" "^$E/feed.ini:$line: \[sink\] password_credential: \\\$CREDENTIALS_DIRECTORY is not set"
if CREDENTIALS_DIRECTORY=$T/credentials start_ok \
    "password_credential: start succeeds" "$E/feed.ini"; then
    expect_eq "password_credential: a trade gets TRUE" \
        "$(trade "$E" 7300001)" TRUE
    expect_eq "password_credential: its row is there" \
        "$(sql "SELECT COUNT(*) FROM fee WHERE ticket = 7300001")" 1
    no_password_shown "password_credential" "$E" "$(daemon_pid "$E/feed.ini")"
fi
fc -c "$E/feed.ini" stop >/dev/null

# --- contradictions are configuration errors, FILE:LINE and the key -----
# bad_config WHAT KEY REASON SINK-EXTRA: check fails naming KEY's line.
bad_config() {
    local dir=$T/bad.$KEY_N out line
    KEY_N=$((KEY_N + 1))
    daemon "$dir" "$4"
    line=$(grep -n "^$2 *=" "$dir/feed.ini" | tail -n 1 | cut -d: -f1)
    out=$(fc_check "$dir/feed.ini" 2>&1)
    expect_eq "$1: check fails" "$?" 1
    expect_eq "$1: the reason, at FILE:LINE" "$out" \
        "$dir/feed.ini:$line: [sink] $2: $3"
}
KEY_N=0
bad_config "password and password_file" password_file \
    "set only one of password, password_file and password_credential" \
    "password_file = $D/secret/db.pass"
bad_config "password and password_credential" password_credential \
    "set only one of password, password_file and password_credential" \
    "password_credential = db.pass"
bad_config "ssl_mode = disabled with ssl_ca" ssl_mode \
    "is disabled, but ssl_ca, ssl_cert or ssl_key is set" \
    "ssl_ca = $K/ca.pem
ssl_mode = disabled"
bad_config "verify_identity without ssl_ca" ssl_mode \
    "verify_identity needs ssl_ca (the CA that signed the server's certificate)" \
    "ssl_mode = verify_identity"
bad_config "ssl_cert without ssl_key" ssl_cert \
    "ssl_cert and ssl_key go together" "ssl_cert = $K/client-cert.pem"
bad_config "ssl_key without ssl_cert" ssl_key \
    "ssl_cert and ssl_key go together" "ssl_key = $K/client-key.pem"
bad_config "an unknown ssl_mode" ssl_mode \
    '"on" is not one of disabled, required or verify_identity' \
    "ssl_mode = on"

# --- a TLS file the run user cannot read: start names it at once --------
if [ "$(id -u)" -eq 0 ]; then
    chown root "$K/client-key.pem"
    daemon "$T/unreadable" "ssl_ca = $K/ca.pem
ssl_cert = $K/client-cert.pem
ssl_key = $K/client-key.pem"
    start_fails "an ssl_key the run user cannot read" "$T/unreadable" \
        "cannot read ssl_key $K/client-key.pem: Permission denied \(the run user must be able to\)"
    chown nobody "$K/client-key.pem"
else
    note "not root: the unreadable ssl_key case needs another run user"
fi

# --- a certificate for another name --------------------------------------
MARIADB_EXTRA_ARGS=${MARIADB_EXTRA_ARGS//server-/wrong-name-}
if ! mariadb_restart; then
    fail "MariaDB restarts with a certificate for another name"
    finish
fi
F=$T/wrongname
daemon "$F" "ssl_ca = $K/ca.pem"
start_fails "verify_identity, a certificate for another name" "$F" \
    "cannot connect to 127.0.0.1:$MARIADB_PORT: TLS/SSL error: "
# required encrypts but checks no certificate (documented as such).
G=$T/required
daemon "$G" "ssl_mode = required"
if start_ok "ssl_mode = required: start succeeds" "$G/feed.ini"; then
    expect_eq "ssl_mode = required: a trade gets TRUE" \
        "$(trade "$G" 7400001)" TRUE
fi
fc -c "$G/feed.ini" stop >/dev/null

# --- a server without TLS: no fall back to plain text --------------------
MARIADB_EXTRA_ARGS=""
if ! mariadb_restart; then
    fail "MariaDB restarts without TLS"
    finish
fi
expect_eq "the private MariaDB now has no TLS" "$(sql "SELECT @@have_ssl")" \
    DISABLED
start_fails "ssl_mode = required, a server without TLS" "$G" \
    "connection to 127.0.0.1:$MARIADB_PORT has no TLS cipher although ssl_mode = required; refusing plain text"
start_fails "verify_identity, a server without TLS" "$A" \
    "127.0.0.1:$MARIADB_PORT.*(TLS|SSL)"
H=$T/plainok
daemon "$H" "read_timeout = 1"
if start_ok "ssl_mode unset, no TLS keys: plain text works" "$H/feed.ini"; then
    expect_eq "plain text: a trade gets TRUE" "$(trade "$H" 7500001)" TRUE

    # --- read_timeout: a server that stops answering is a lost connection
    # (the default of 30 s would not show within the deadline below).
    mariadb_pause
    printf '7500002,7,1.5\n' >"$H/trade.7500002"
    "$ZSEND" -t 120000 -e "tcp://127.0.0.1:$(cat "$H/port")" \
        "$H/trade.7500002" >"$H/reply.7500002" &
    zpid=$!
    check "read_timeout = 1: a silent server is a lost connection, retried" \
        wait_until 20 grep -q "failed, retrying: .*Lost connection" "$H/feed.log"
    mariadb_resume
    reap 90 "$zpid"
    expect_eq "read_timeout: the trade gets TRUE once the server is back" \
        "$(cut -f2 "$H/reply.7500002")" TRUE
    expect_eq "read_timeout: one row for it" \
        "$(sql "SELECT COUNT(*) FROM fee WHERE ticket = 7500002")" 1
fi
fc -c "$H/feed.ini" stop >/dev/null

finish
