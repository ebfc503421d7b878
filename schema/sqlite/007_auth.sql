-- SPDX-License-Identifier: MIT
-- 007_auth: users, permissions, API tokens and browser sessions for
-- --auth (issue 15; specs/mlflow-auth.md). Permissions are keyed as in
-- MLflow's basic-auth app: by experiment id and by registered-model name,
-- without a reference to the resource (a grant may name one that does
-- not exist). Secrets are never stored: passwords as Argon2id strings,
-- tokens and session ids as hashes. Deleting a user deletes its rows.
-- server/store/auth_sql.h holds every statement on these tables.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    pw_changed    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE experiment_permissions (
    experiment_id TEXT NOT NULL,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permission    TEXT NOT NULL,
    PRIMARY KEY (experiment_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX experiment_permissions_by_user
    ON experiment_permissions (user_id);

CREATE TABLE registered_model_permissions (
    name       TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (name, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX registered_model_permissions_by_user
    ON registered_model_permissions (user_id);

CREATE TABLE tokens (
    id                 INTEGER PRIMARY KEY,
    user_id            INTEGER NOT NULL REFERENCES users (id)
                       ON DELETE CASCADE,
    name               TEXT NOT NULL,
    secret_hash        TEXT NOT NULL UNIQUE,
    created            INTEGER NOT NULL,
    expires            INTEGER, -- ms; NULL: never
    last_used          INTEGER,
    revoked            INTEGER NOT NULL DEFAULT 0,
    permission_ceiling TEXT,    -- READ, EDIT, MANAGE; NULL: none
    experiment_id      TEXT     -- NULL: every experiment
) STRICT;

CREATE INDEX tokens_by_user ON tokens (user_id);

CREATE TABLE sessions (
    id_hash   TEXT PRIMARY KEY,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created   INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    expires   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_by_user ON sessions (user_id);
