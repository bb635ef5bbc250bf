#!/usr/bin/env bash
# hostlist.sh - the daemon with a `host` list in [sink]: `check` names a
# bad item with FILE:LINE; with a dead first host, `start` succeeds, every
# worker logs its switch to the second host once, and a trade sent is
# answered TRUE and committed there. The sink's failover rules themselves
# are tested in-process by test_mysql_fee.c.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"

start_database

PORT=$(free_port)
DEAD=$(free_port)
A=$T/a
write_ini "$A" "$PORT" "" "threads = 2"
# set_hosts LIST: the [sink] host of A's feed.ini.
set_hosts() {
    sed -i "s/^host = .*/host = $1/" "$A/feed.ini"
}
host_line=$(grep -n "^host = " "$A/feed.ini" | cut -d: -f1)

# --- a bad item is a configuration error naming the file, line and key ---
set_hosts "127.0.0.1:$DEAD, 127.0.0.1:x"
out=$(fc -c "$A/feed.ini" check 2>&1)
expect_eq "check refuses a bad port in the host list" "$?" 1
expect_match "and names the file, the line, the key and the item" "$out" \
    "feed\\.ini:$host_line: \\[sink\\] host: \"127\\.0\\.0\\.1:x\": port \"x\" is not a number"

# --- a dead first host: passed over, once per worker ----------------------
set_hosts "127.0.0.1:$DEAD, 127.0.0.1:$MARIADB_PORT"
out=$(fc -c "$A/feed.ini" check 2>&1)
expect_eq "check takes the list" "$?" 0
start_ok "the daemon starts with a dead first host" "$A/feed.ini" || finish
switch="switched from 127.0.0.1:$DEAD to 127.0.0.1:$MARIADB_PORT after: cannot connect to 127.0.0.1:$DEAD"
expect_eq "each of the 2 workers logged its switch once" \
    "$(grep -cF -- "$switch" "$A/feed.log")" 2
printf '424242,7,1.5' >"$T/trade"
expect_eq "a trade is acknowledged" \
    "$("$ZSEND" -e "tcp://127.0.0.1:$PORT" "$T/trade" | cut -f2)" TRUE
expect_eq "and committed on the second host" \
    "$(sql "SELECT CONCAT_WS(',', login, volume, status) FROM fee WHERE ticket = 424242")" \
    "7,1.5000,Y"
out=$(fc -c "$A/feed.ini" stop 2>&1)
expect_eq "the daemon stops" "$?" 0

finish
