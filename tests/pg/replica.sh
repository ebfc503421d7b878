#!/bin/sh
# SPDX-License-Identifier: MIT
#
# replica.sh: a private PostgreSQL 15 primary (tests/pg/cluster.sh) with a
# streaming-replication standby of it, for tests/integration/
# test_replica.py. The standby is a pg_basebackup -R copy of the primary
# (initdb's pg_hba.conf already trusts replication from 127.0.0.1, and
# wal_level is replica by default), with hot_standby on, in DIR/standby,
# listening on 127.0.0.1 and a free port of its own.
#
#   sh tests/pg/replica.sh start              prints three lines: the
#                                             directory, the primary's URL,
#                                             the standby's URL
#   sh tests/pg/replica.sh stop-standby DIR   stops the standby only
#   sh tests/pg/replica.sh start-standby DIR  starts it again (same port)
#   sh tests/pg/replica.sh stop DIR           stops both and removes DIR
set -u

here=$(dirname "$0")
# shellcheck source=tests/pg/lib.sh
. "$here/lib.sh"
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
die() {
    echo "pg replica: $*" >&2
    exit 1
}


start_standby() { # DIR PORT
    as_owner "$bin/pg_ctl" -D "$1/standby" -l "$1/standby.log" -w -t 60 \
        -o "-p $2 -k $1 -c listen_addresses=127.0.0.1 -c hot_standby=on \
-c fsync=off -c full_page_writes=off -c max_connections=300 \
-c shared_buffers=32MB" start >/dev/null 2>&1
}

start() {
    [ -x "$bin/pg_basebackup" ] || die "no $bin/pg_basebackup"
    out=$(sh "$here/cluster.sh" start) || exit 1
    dir=$(echo "$out" | sed -n 1p)
    url=$(echo "$out" | sed -n 2p)
    port=$(echo "$url" | sed 's|.*:\([0-9]*\)/.*|\1|')
    if ! as_owner "$bin/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres \
        -D "$dir/standby" -R -X stream -c fast >"$dir/basebackup.log" 2>&1; then
        tail -5 "$dir/basebackup.log" >&2
        sh "$here/cluster.sh" stop "$dir"
        die "pg_basebackup failed"
    fi
    tries=0
    while :; do
        sport=$(free_port) || die "cannot find a free port"
        start_standby "$dir" "$sport" && break
        tries=$((tries + 1))
        if [ "$tries" -ge 3 ]; then
            tail -5 "$dir/standby.log" >&2
            sh "$here/cluster.sh" stop "$dir"
            die "the standby did not start"
        fi
    done
    echo "$sport" >"$dir/standby.port"
    echo "$dir"
    echo "$url"
    echo "postgresql://postgres@127.0.0.1:$sport/greentrack"
}

check_dir() {
    case $1 in
    */greentrack-pg.*) ;;
    *) die "$1 is not a cluster directory of cluster.sh" ;;
    esac
}

stop_standby() {
    [ -d "$1/standby" ] &&
        as_owner "$bin/pg_ctl" -D "$1/standby" -m immediate -w stop \
            >/dev/null 2>&1
    return 0
}

case ${1:-} in
start) start ;;
stop-standby)
    [ $# -eq 2 ] || die "usage: replica.sh stop-standby DIR"
    check_dir "$2"
    stop_standby "$2"
    ;;
start-standby)
    [ $# -eq 2 ] || die "usage: replica.sh start-standby DIR"
    check_dir "$2"
    start_standby "$2" "$(cat "$2/standby.port")" || die "the standby did not start"
    ;;
stop)
    [ $# -eq 2 ] || die "usage: replica.sh stop DIR"
    check_dir "$2"
    stop_standby "$2"
    sh "$here/cluster.sh" stop "$2"
    ;;
*) die "usage: replica.sh start | stop-standby DIR | start-standby DIR | stop DIR" ;;
esac
