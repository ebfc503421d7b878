-- SPDX-License-Identifier: MIT
-- PostgreSQL dialect of schema/sqlite/002_heartbeats.sql: the same tables, columns,
-- keys and indexes. INTEGER is BIGINT, REAL DOUBLE PRECISION, a rowid
-- key an identity column, and text compares bytewise (COLLATE "C") as
-- in SQLite. tests/unit/test_schema_dialects.c checks they agree.
-- 002_heartbeats: the last heartbeat of each run whose client sends them
-- (libgreentrack, every 30 s). A RUNNING run whose heartbeats stop for the
-- server's --heartbeat-timeout is marked KILLED, its end time the last
-- heartbeat. Runs that never sent one (plain MLflow clients) have no row
-- and are never touched.
CREATE TABLE run_heartbeats (
    run_pk  BIGINT PRIMARY KEY REFERENCES runs (run_pk),
    last_ms BIGINT NOT NULL
);

CREATE INDEX run_heartbeats_by_time ON run_heartbeats (last_ms);
