-- SPDX-License-Identifier: MIT
-- PostgreSQL dialect of schema/sqlite/006_phases.sql: the same tables, columns,
-- keys and indexes. INTEGER is BIGINT, REAL DOUBLE PRECISION, a rowid
-- key an identity column, and text compares bytewise (COLLATE "C") as
-- in SQLite. tests/unit/test_schema_dialects.c checks they agree.
-- 006_phases: Green-AI decisions (issue 18). A run's phases (train, eval,
-- inference, ...) as time windows [start_time, end_time] (ms) with the
-- work done in each (predictions, tokens): runs/carbon splits the run's
-- energy samples across them pro rata by time overlap at read time.
-- Re-sending the same (run, phase, start_time) replaces the record.
-- Lineage lives in run tags (greentrack.base_run_id, greentrack.base_model,
-- greentrack.base_co2_kg, greentrack.base_source); the partial indexes
-- below find the runs sharing a base.
CREATE TABLE run_phases (
    run_pk     BIGINT NOT NULL REFERENCES runs (run_pk),
    phase      TEXT COLLATE "C" NOT NULL,
    start_time BIGINT NOT NULL,
    end_time   BIGINT NOT NULL,
    work_count DOUBLE PRECISION,
    work_unit  TEXT COLLATE "C",
    PRIMARY KEY (run_pk, phase, start_time)
);

-- the leaderboard's cost=inference reads one phase of many runs
CREATE INDEX run_phases_by_phase ON run_phases (phase, run_pk);

-- sharing_runs: the runs that declare the same base
CREATE INDEX tags_base_run ON tags (value)
    WHERE key = 'greentrack.base_run_id';
CREATE INDEX tags_base_model ON tags (value)
    WHERE key = 'greentrack.base_model';
CREATE INDEX tags_base_source ON tags (value)
    WHERE key = 'greentrack.base_source';
