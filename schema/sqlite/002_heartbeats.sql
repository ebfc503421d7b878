-- SPDX-License-Identifier: MIT
-- 002_heartbeats: the last heartbeat of each run whose client sends them
-- (libgreentrack, every 30 s). A RUNNING run whose heartbeats stop for the
-- server's --heartbeat-timeout is marked KILLED, its end time the last
-- heartbeat. Runs that never sent one (plain MLflow clients) have no row
-- and are never touched.
CREATE TABLE run_heartbeats (
    run_pk  INTEGER PRIMARY KEY REFERENCES runs (run_pk),
    last_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX run_heartbeats_by_time ON run_heartbeats (last_ms);
