-- SPDX-License-Identifier: MIT
-- 001_tracking: the MLflow tracking model (experiments, runs, params, tags,
-- metrics, inputs). Raw metric history lives in `metrics`; the per-run latest
-- value of each key lives in `latest_metrics`, so search and listing never
-- scan history. Ids visible to clients are text; joins use integer keys.

CREATE TABLE experiments (
    experiment_id     INTEGER PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    artifact_location TEXT NOT NULL,
    lifecycle_stage   TEXT NOT NULL DEFAULT 'active'
                      CHECK (lifecycle_stage IN ('active', 'deleted')),
    creation_time     INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL
) STRICT;

CREATE TABLE experiment_tags (
    experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id),
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (experiment_id, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE runs (
    run_pk          INTEGER PRIMARY KEY,
    run_id          TEXT NOT NULL UNIQUE,
    experiment_id   INTEGER NOT NULL REFERENCES experiments (experiment_id),
    run_name        TEXT NOT NULL DEFAULT '',
    user_id         TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'RUNNING'
                    CHECK (status IN ('RUNNING', 'SCHEDULED', 'FINISHED',
                                      'FAILED', 'KILLED')),
    start_time      INTEGER NOT NULL,
    end_time        INTEGER,
    artifact_uri    TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active'
                    CHECK (lifecycle_stage IN ('active', 'deleted')),
    deleted_time    INTEGER
) STRICT;

CREATE INDEX runs_by_experiment
    ON runs (experiment_id, lifecycle_stage, start_time DESC, run_id);

CREATE TABLE params (
    run_pk INTEGER NOT NULL REFERENCES runs (run_pk),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_pk, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE tags (
    run_pk INTEGER NOT NULL REFERENCES runs (run_pk),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_pk, key)
) STRICT, WITHOUT ROWID;

-- One row per logged point. NaN cannot be stored in a REAL column, so it is
-- value 0 with is_nan 1; an identical (key, timestamp, step, value) point is
-- the same row (MLflow's de-duplication). The key order serves get-history.
CREATE TABLE metrics (
    run_pk    INTEGER NOT NULL REFERENCES runs (run_pk),
    key       TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    value     REAL NOT NULL,
    is_nan    INTEGER NOT NULL,
    PRIMARY KEY (run_pk, key, timestamp, step, value, is_nan)
) STRICT, WITHOUT ROWID;

-- The point with the greatest (step, timestamp, value) per run and key.
CREATE TABLE latest_metrics (
    run_pk    INTEGER NOT NULL REFERENCES runs (run_pk),
    key       TEXT NOT NULL,
    value     REAL NOT NULL,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    is_nan    INTEGER NOT NULL,
    PRIMARY KEY (run_pk, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX latest_metrics_by_key_value
    ON latest_metrics (key, is_nan, value, run_pk);

CREATE TABLE datasets (
    dataset_pk    INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id),
    name          TEXT NOT NULL,
    digest        TEXT NOT NULL,
    source_type   TEXT NOT NULL,
    source        TEXT NOT NULL,
    schema        TEXT,
    profile       TEXT,
    UNIQUE (experiment_id, name, digest)
) STRICT;

CREATE TABLE run_inputs (
    run_pk     INTEGER NOT NULL REFERENCES runs (run_pk),
    dataset_pk INTEGER NOT NULL REFERENCES datasets (dataset_pk),
    seq        INTEGER NOT NULL,
    PRIMARY KEY (run_pk, dataset_pk)
) STRICT, WITHOUT ROWID;

CREATE TABLE input_tags (
    run_pk     INTEGER NOT NULL,
    dataset_pk INTEGER NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (run_pk, dataset_pk, key),
    FOREIGN KEY (run_pk, dataset_pk) REFERENCES run_inputs (run_pk, dataset_pk)
) STRICT, WITHOUT ROWID;

-- MLflow 3.x model inputs of log-inputs ({"model_id": ...}).
CREATE TABLE run_model_inputs (
    run_pk   INTEGER NOT NULL REFERENCES runs (run_pk),
    model_id TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    PRIMARY KEY (run_pk, model_id)
) STRICT, WITHOUT ROWID;
