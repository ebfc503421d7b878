-- SPDX-License-Identifier: MIT
-- PostgreSQL dialect of schema/sqlite/010_search.sql: the same tables,
-- columns, keys and indexes. tests/unit/test_schema_dialects.c checks
-- they agree.
-- 010_search: latest_metrics carries its run's experiment_id, so that a
-- runs/search within one experiment that filters and orders on a metric
-- walks that experiment's values in order (latest_metrics_by_experiment)
-- instead of every experiment's (latest_metrics_by_key_value, which stays
-- for searches over all experiments). The writer fills it from runs on
-- every upsert; a run never changes experiment (MLflow has no such call),
-- and deleting an experiment changes nothing here.
--
-- The column is added, filled by one UPDATE joined to runs, then made
-- NOT NULL; the value index is dropped for the UPDATE (each new row
-- version would otherwise get an entry) and built again after, with the
-- new one.
ALTER TABLE latest_metrics ADD COLUMN experiment_id BIGINT;
DROP INDEX latest_metrics_by_key_value;
UPDATE latest_metrics AS m SET experiment_id = r.experiment_id
    FROM runs AS r WHERE r.run_pk = m.run_pk;
ALTER TABLE latest_metrics ALTER COLUMN experiment_id SET NOT NULL;

CREATE INDEX latest_metrics_by_key_value
    ON latest_metrics (key, is_nan, value, run_pk);
CREATE INDEX latest_metrics_by_experiment
    ON latest_metrics (key, experiment_id, is_nan, value, run_pk);
