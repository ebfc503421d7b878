-- SPDX-License-Identifier: MIT
-- 005_registry: MLflow's Model Registry (specs/mlflow-registry.md):
-- registered models with their tags and aliases, and their numbered
-- versions with tags. Names are what clients see; joins use model_pk, so a
-- rename touches one row. A deleted version stays, stage Deleted_Internal
-- and its source redacted, as in MLflow's SQL store: numbers are never
-- reused (the next one is max(version) + 1 over all of them) and every
-- read leaves such rows out. Deleting a model deletes all its rows.
-- server/store/registry_sql.h holds every statement on these tables.

CREATE TABLE registered_models (
    model_pk               INTEGER PRIMARY KEY,
    name                   TEXT NOT NULL UNIQUE,
    creation_timestamp     INTEGER NOT NULL,
    last_updated_timestamp INTEGER NOT NULL,
    description            TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX registered_models_by_update
    ON registered_models (last_updated_timestamp, name);

CREATE TABLE registered_model_tags (
    model_pk INTEGER NOT NULL REFERENCES registered_models (model_pk),
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_pk, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE model_versions (
    model_pk               INTEGER NOT NULL
                           REFERENCES registered_models (model_pk),
    version                INTEGER NOT NULL,
    creation_timestamp     INTEGER NOT NULL,
    last_updated_timestamp INTEGER NOT NULL,
    description            TEXT, -- NULL: cleared by an update (omitted)
    current_stage          TEXT NOT NULL DEFAULT 'None'
                           CHECK (current_stage IN ('None', 'Staging',
                                  'Production', 'Archived',
                                  'Deleted_Internal')),
    source                 TEXT NOT NULL,
    run_id                 TEXT NOT NULL DEFAULT '',
    run_link               TEXT NOT NULL DEFAULT '',
    status                 TEXT NOT NULL DEFAULT 'READY'
                           CHECK (status IN ('PENDING_REGISTRATION',
                                  'FAILED_REGISTRATION', 'READY')),
    status_message         TEXT,
    PRIMARY KEY (model_pk, version)
) STRICT, WITHOUT ROWID;

-- model-versions/search's default order, and run_id filters and exports
CREATE INDEX model_versions_by_update
    ON model_versions (last_updated_timestamp);
CREATE INDEX model_versions_by_run ON model_versions (run_id);

CREATE TABLE model_version_tags (
    model_pk INTEGER NOT NULL,
    version  INTEGER NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_pk, version, key),
    FOREIGN KEY (model_pk, version)
        REFERENCES model_versions (model_pk, version)
) STRICT, WITHOUT ROWID;

-- One alias names one version of its model; a version may have several.
CREATE TABLE registered_model_aliases (
    model_pk INTEGER NOT NULL REFERENCES registered_models (model_pk),
    alias    TEXT NOT NULL,
    version  INTEGER NOT NULL,
    PRIMARY KEY (model_pk, alias),
    FOREIGN KEY (model_pk, version)
        REFERENCES model_versions (model_pk, version)
) STRICT, WITHOUT ROWID;
