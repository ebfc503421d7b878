-- SPDX-License-Identifier: MIT
-- 009_boards: the leaderboard keys asked for recently, so that a restarted
-- server can build those boards in the background before anyone asks
-- again (server/lbwarm.c). A key is (experiment, metric, filter, options:
-- direction, cost and upstream as the leaderboard handler spells them);
-- seen_time (ms) is when this server process first served it, and only
-- the newest few rows are kept. No foreign key: a key of an experiment
-- deleted since is skipped at warm-up. (Level 008 is another change's.)
CREATE TABLE leaderboard_keys (
    experiment_id INTEGER NOT NULL,
    metric        TEXT NOT NULL,
    filter        TEXT NOT NULL,
    options       TEXT NOT NULL,
    seen_time     INTEGER NOT NULL,
    PRIMARY KEY (experiment_id, metric, filter, options)
) STRICT, WITHOUT ROWID;

CREATE INDEX leaderboard_keys_by_time ON leaderboard_keys (seen_time);
