#!/bin/sh
# SPDX-License-Identifier: MIT
# Entry point of docker/postgres.Dockerfile: creates the cluster on first
# start (empty $PGDATA), then runs PostgreSQL in the foreground. SIGINT
# (the image's stop signal) is PostgreSQL's "fast" shutdown.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set (the password of $POSTGRES_USER)}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    initdb -D "$PGDATA" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    {
        echo "listen_addresses = '*'"
        echo "max_connections = 200"
    } >>"$PGDATA/postgresql.conf"
    echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
    echo "host all all ::/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
    # A local-only server to create the role and the database, then stop.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    psql -v ON_ERROR_STOP=1 -q -U postgres -d postgres \
        -v user="$POSTGRES_USER" -v pw="$POSTGRES_PASSWORD" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"user" LOGIN PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"user";
SQL
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "postgres-entrypoint: created cluster, role $POSTGRES_USER, database $POSTGRES_DB"
fi
exec postgres -D "$PGDATA"
