-- SPDX-License-Identifier: MIT
-- PostgreSQL dialect of schema/sqlite/009_boards.sql: the same tables, columns,
-- keys and indexes. INTEGER is BIGINT, and text compares bytewise
-- (COLLATE "C") as in SQLite. tests/unit/test_schema_dialects.c checks
-- they agree.
-- 009_boards: the leaderboard keys asked for recently, so that a restarted
-- server can build those boards in the background before anyone asks
-- again (server/lbwarm.c). A key is (experiment, metric, filter, options:
-- direction, cost and upstream as the leaderboard handler spells them);
-- seen_time (ms) is when this server process first served it, and only
-- the newest few rows are kept. No foreign key: a key of an experiment
-- deleted since is skipped at warm-up. (Level 008 is another change's.)
CREATE TABLE leaderboard_keys (
    experiment_id BIGINT NOT NULL,
    metric        TEXT COLLATE "C" NOT NULL,
    filter        TEXT COLLATE "C" NOT NULL,
    options       TEXT COLLATE "C" NOT NULL,
    seen_time     BIGINT NOT NULL,
    PRIMARY KEY (experiment_id, metric, filter, options)
);

CREATE INDEX leaderboard_keys_by_time ON leaderboard_keys (seen_time);
