-- SPDX-License-Identifier: MIT
-- 010_search: latest_metrics carries its run's experiment_id, so that a
-- runs/search within one experiment that filters and orders on a metric
-- walks that experiment's values in order (latest_metrics_by_experiment)
-- instead of every experiment's (latest_metrics_by_key_value, which stays
-- for searches over all experiments). The writer fills it from runs on
-- every upsert; a run never changes experiment (MLflow has no such call),
-- and deleting an experiment changes nothing here.
--
-- SQLite cannot add a NOT NULL column without a default, so the table is
-- rebuilt: one pass over latest_metrics in key order with a primary-key
-- lookup in runs per row, then the two indexes built from the filled table
-- (cheaper than maintaining them row by row).
CREATE TABLE latest_metrics_010 (
    run_pk        INTEGER NOT NULL REFERENCES runs (run_pk),
    key           TEXT NOT NULL,
    value         REAL NOT NULL,
    timestamp     INTEGER NOT NULL,
    step          INTEGER NOT NULL,
    is_nan        INTEGER NOT NULL,
    experiment_id INTEGER NOT NULL,
    PRIMARY KEY (run_pk, key)
) STRICT, WITHOUT ROWID;

INSERT INTO latest_metrics_010
    SELECT m.run_pk, m.key, m.value, m.timestamp, m.step, m.is_nan,
           r.experiment_id
    FROM latest_metrics AS m JOIN runs AS r ON r.run_pk = m.run_pk
    ORDER BY m.run_pk, m.key;

DROP TABLE latest_metrics;
ALTER TABLE latest_metrics_010 RENAME TO latest_metrics;

CREATE INDEX latest_metrics_by_key_value
    ON latest_metrics (key, is_nan, value, run_pk);
CREATE INDEX latest_metrics_by_experiment
    ON latest_metrics (key, experiment_id, is_nan, value, run_pk);
