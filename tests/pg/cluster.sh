#!/bin/sh
# SPDX-License-Identifier: MIT
#
# cluster.sh: a private PostgreSQL 15 for the tests, in a temporary
# directory, listening on 127.0.0.1 and a free port with trust
# authentication, holding a database "greentrack". The one place that
# starts and stops it: tests/run_all.sh (make test) runs it once and
# exports the URL as GREENTRACK_TEST_PG; tests/integration/pgtest.py and
# tests/unit/test_db.c use that URL (or start their own through this
# script when run alone).
#
#   sh tests/pg/cluster.sh start      prints two lines: the cluster's
#                                     directory, then its URL
#                                     postgresql://postgres@127.0.0.1:PORT/greentrack
#   sh tests/pg/cluster.sh stop DIR   stops it and removes DIR
#
# As root, the server runs as the "postgres" user (initdb refuses root)
# and DIR is handed to it. PG_BIN overrides /usr/lib/postgresql/15/bin.
# The cluster is for tests: fsync is off (a crash of the machine, not of
# a greentrack server, could lose it; nothing here needs more).
# PG_SERVER_OPTS adds server options after those (a later -c wins), e.g.
# "-c fsync=on" for tests/bench/bench_pg.py.
set -u

bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
# shellcheck source=tests/pg/lib.sh
. "$(dirname "$0")/lib.sh"
die() {
    echo "pg cluster: $*" >&2
    exit 1
}


start() {
    [ -x "$bin/initdb" ] || die "no $bin/initdb (Debian package postgresql-15)"
    dir=$(mktemp -d "${TMPDIR:-/tmp}/greentrack-pg.XXXXXX") ||
        die "cannot make a temporary directory"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "no postgres user (is postgresql-15 installed?)"
        chown postgres "$dir" || die "cannot give $dir to postgres"
    fi
    if ! as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres \
        -E UTF8 --locale=C >"$dir/initdb.log" 2>&1; then
        tail -5 "$dir/initdb.log" >&2
        rm -rf "$dir"
        die "initdb failed"
    fi
    # A port taken between free_port and the server's bind: try again.
    tries=0
    while :; do
        port=$(free_port) || die "cannot find a free port"
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
            -t 60 -o "-p $port -k $dir -c listen_addresses=127.0.0.1 \
-c fsync=off -c full_page_writes=off -c max_connections=300 \
-c shared_buffers=64MB ${PG_SERVER_OPTS:-}" start >/dev/null 2>&1; then
            break
        fi
        tries=$((tries + 1))
        if [ "$tries" -ge 3 ]; then
            tail -5 "$dir/server.log" >&2
            rm -rf "$dir"
            die "the server did not start"
        fi
    done
    if ! as_owner "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres \
        -d postgres -c "CREATE DATABASE greentrack" >/dev/null 2>&1; then
        stop "$dir"
        die "cannot create the database greentrack"
    fi
    echo "$dir"
    echo "postgresql://postgres@127.0.0.1:$port/greentrack"
}

stop() {
    dir=$1
    case $dir in
    */greentrack-pg.*) ;;
    *) die "stop: $dir is not a cluster directory of this script" ;;
    esac
    [ -d "$dir/data" ] &&
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop \
            >/dev/null 2>&1
    rm -rf "$dir"
}

case ${1:-} in
start) start ;;
stop)
    [ $# -eq 2 ] || die "usage: cluster.sh stop DIR"
    stop "$2"
    ;;
*) die "usage: cluster.sh start | stop DIR" ;;
esac
