/* SPDX-License-Identifier: MIT
 *
 * dialect: the SQL that differs between SQLite and PostgreSQL, by name.
 * Most of the store's SQL is written once in the subset both engines
 * share (INSERT ... ON CONFLICT, RETURNING, row values, coalesce); what
 * cannot be is listed here, and its text for each engine is in one place
 * per engine: dialect_sqlite.c and dialect_postgres.c. Entries are whole
 * statements (D_S_*) or fragments spliced into SQL built at run time
 * (D_F_*); each says what it binds. The lists are by domain so that the
 * domains' files change apart.
 */
#ifndef SERVER_STORE_DIALECT_H
#define SERVER_STORE_DIALECT_H

#include "db.h"

/* Tracking, search, leaderboard (write_tracking.c, read_*.c, filter.c). */
#define FOR_EACH_DIALECT_TRACKING(X)                                           \
    /* a subquery of the integers of a JSON array bound as text (?), one per   \
     * row: runs/search's long experiment id lists (read_tracking.c) and the   \
     * run_pks of the batch reads below */                                     \
    X(D_F_JSON_IDS)                                                            \
    /* a page of runs read per kind in one statement each (read_batch.c,       \
     * the RUNS_READ_* texts of statements.h): ? the run_pks as a JSON array   \
     * (D_F_JSON_IDS); rows by run_pk, then in each run's order */             \
    X(D_S_BATCH_RUNS)                                                          \
    X(D_S_BATCH_PARAMS)                                                        \
    X(D_S_BATCH_TAGS)                                                          \
    X(D_S_BATCH_LATEST)                                                        \
    X(D_S_BATCH_DATASETS)                                                      \
    X(D_S_BATCH_INPUT_TAGS)                                                    \
    X(D_S_BATCH_MODEL_INPUTS)                                                  \
    /* PostgreSQL only: a request's metric points from parallel arrays in      \
     * one statement (?1 run_pk; ?2 keys text[], ?3 timestamps, ?4 steps,      \
     * ?5 values float8[], ?6 is_nan: array literals). SQLite: NULL; its       \
     * prepared per-point insert runs in-process and is the faster there. */   \
    X(D_S_METRICS_FROM_ARRAYS)                                                 \
    /* PostgreSQL only: log-metric's one point in one round trip: the run's    \
     * row as S_RUN_LOOKUP reads it (run_pk, experiment_id, lifecycle_stage;   \
     * none when missing), and, unless it is deleted, the point's insert and   \
     * its latest-metric upsert as S_METRIC_INSERT and S_LATEST_UPSERT do      \
     * them, all on one snapshot. Binds ?1 run_id, ?2 key, ?3 timestamp,       \
     * ?4 step, ?5 value, ?6 is_nan. SQLite: NULL (no round trips there). */   \
    X(D_S_METRIC_LOG_ONE)

/* Energy, grid, carbon, registry, auth, Green-AI. */
#define FOR_EACH_DIALECT_DOMAINS(X)                                            \
    /* a run's distinct energy methods, scopes and intensity sources, each     \
     * list comma-separated; binds ?1 run_pk (read_carbon.c) */                \
    X(D_S_RUN_METHODS)

/* clang-format off */
enum dialect_id {
#define DIALECT_ENUM(id) id,
    FOR_EACH_DIALECT_TRACKING(DIALECT_ENUM)
        FOR_EACH_DIALECT_DOMAINS(DIALECT_ENUM)
#undef DIALECT_ENUM
            DIALECT_COUNT
};
/* clang-format on */

/* The entries that exist for PostgreSQL only (NULL in SQLite's table). */
#define DIALECT_POSTGRES_ONLY(id)                                              \
    ((id) == D_S_METRICS_FROM_ARRAYS || (id) == D_S_METRIC_LOG_ONE)

/* One table per engine, every other entry set (test_db checks it). */
extern const char *const dialect_sqlite_sql[DIALECT_COUNT];
extern const char *const dialect_postgres_sql[DIALECT_COUNT];

/* The text of 'id' for the engine of 'db'; static storage. */
const char *dialect_sql(const struct db *db, enum dialect_id id);

#endif
