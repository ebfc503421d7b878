/* SPDX-License-Identifier: MIT
 *
 * statements: the SQL of the store's core prepared statements, one
 * X-macro table (FOR_EACH_STMT) from which enum stmt_id and the text
 * array store_stmt_sql are made, so the SQL read and written by the
 * write_*.c and read_*.c files is in one place. Each connection prepares
 * a statement on first use and keeps it (store_stmt, conn.c). SQL built
 * at run time (searches, filters) stays with its reader. The domain files
 * of the registry, auth and Green-AI keep their own tables.
 */
#ifndef SERVER_STORE_STATEMENTS_H
#define SERVER_STORE_STATEMENTS_H

/* Grid intensity (schema/004_grid.sql). Periods are at most a day long,
 * so "overlaps [a, b)" reads start_ms in [a - 1 day, b) by the index. */
#define FOR_EACH_GRID_STMT(X)                                                  \
    X(S_GRID_GET_ONE, "SELECT g_per_kwh, end_ms, basis FROM grid_intensity "   \
                      "WHERE zone = ? AND source = ? AND kind = ? "            \
                      "AND start_ms = ?")                                      \
    X(S_GRID_UPSERT,                                                           \
      "INSERT INTO grid_intensity (zone, source, basis, kind, start_ms, "      \
      "end_ms, g_per_kwh, fetched_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "        \
      "ON CONFLICT (zone, source, kind, start_ms) DO UPDATE SET "              \
      "basis = excluded.basis, end_ms = excluded.end_ms, "                     \
      "g_per_kwh = excluded.g_per_kwh, fetched_ms = excluded.fetched_ms")      \
    X(S_GRID_PRUNE,                                                            \
      "DELETE FROM grid_intensity WHERE zone = ? AND source = ? AND kind = ? " \
      "AND start_ms >= ? AND start_ms < ? AND fetched_ms < ?")                 \
    X(S_GRID_ZONE_RUNS,                                                        \
      "SELECT t.run_pk FROM tags AS t JOIN run_energy AS e "                   \
      "ON e.run_pk = t.run_pk WHERE t.key = 'greentrack.zone' "                \
      "AND t.value = ? AND e.first_start < ? AND e.last_end > ?")              \
    X(S_GRID_POINTS,                                                           \
      "SELECT start_ms, end_ms, g_per_kwh, kind, fetched_ms, source, basis "   \
      "FROM grid_intensity WHERE zone = ?1 "                                   \
      "AND (CAST(?2 AS TEXT) IS NULL OR source = ?2) "                         \
      "AND (CAST(?3 AS TEXT) IS NULL OR kind = ?3) "                           \
      "AND start_ms >= ?4 - 86400000 "                                         \
      "AND start_ms < ?5 AND end_ms > ?4 "                                     \
      "ORDER BY start_ms, kind, source LIMIT ?6")                              \
    X(S_GRID_ZONES,                                                            \
      "SELECT DISTINCT t.value FROM tags AS t JOIN run_energy AS e "           \
      "ON e.run_pk = t.run_pk WHERE t.key = 'greentrack.zone' "                \
      "AND e.last_end > ? ORDER BY 1")                                         \
    X(S_PLAIN_SAMPLES,                                                         \
      "SELECT start_time, end_time, cpu_j + gpu_j + ram_j + other_j "          \
      "FROM energy_samples WHERE run_pk = ? AND intensity_g_per_kwh IS NULL")  \
    X(S_EXP_TOP_ZONE,                                                          \
      "SELECT t.value, count(*) AS n FROM tags AS t JOIN runs AS r "           \
      "ON r.run_pk = t.run_pk WHERE r.experiment_id = ? "                      \
      "AND r.lifecycle_stage = 'active' AND t.key = 'greentrack.zone' "        \
      "GROUP BY t.value ORDER BY n DESC, t.value LIMIT 1")                     \
    X(S_EXP_DURATIONS,                                                         \
      "SELECT end_time - start_time FROM runs WHERE experiment_id = ? "        \
      "AND lifecycle_stage = 'active' AND status = 'FINISHED' "                \
      "AND end_time > start_time ORDER BY 1")                                  \
    X(S_EXP_ENERGIES,                                                          \
      "SELECT e.cpu_j + e.gpu_j + e.ram_j + e.other_j FROM runs AS r "         \
      "JOIN run_energy AS e ON e.run_pk = r.run_pk "                           \
      "WHERE r.experiment_id = ? AND r.lifecycle_stage = 'active' "            \
      "AND r.status = 'FINISHED' ORDER BY 1")

/* The latest of a run's start, end and energy times (portable: CASE, not
 * SQLite's scalar max), for S_EXP_SUMMARY. */
#define SUMMARY_LAST_OF_RUN                                                    \
    "CASE WHEN r.start_time >= coalesce(r.end_time, 0) "                       \
    "AND r.start_time >= coalesce(en.timestamp, 0) THEN r.start_time "         \
    "WHEN coalesce(r.end_time, 0) >= coalesce(en.timestamp, 0) "               \
    "THEN coalesce(r.end_time, 0) ELSE coalesce(en.timestamp, 0) END"

/* The chunked reads of streamed replies (store.h): each list in its
 * order from a position the caller keeps. A text key resumes after the
 * last one read with key >= ?2 bound to that key plus the byte 0x01 (keys
 * hold no NUL, so nothing sorts between), and starts with ''. */
#define FOR_EACH_CHUNK_STMT(X)                                                 \
    X(S_CHUNK_PARAMS, "SELECT key, value FROM params WHERE run_pk = ?1 "       \
                      "AND key >= ?2 ORDER BY key")                            \
    X(S_CHUNK_TAGS, "SELECT key, value FROM tags WHERE run_pk = ?1 "           \
                    "AND key >= ?2 ORDER BY key")                              \
    X(S_CHUNK_EXP_TAGS, "SELECT key, value FROM experiment_tags "              \
                        "WHERE experiment_id = ?1 AND key >= ?2 ORDER BY key") \
    X(S_CHUNK_INPUT_TAGS,                                                      \
      "SELECT key, value FROM input_tags WHERE run_pk = ?1 "                   \
      "AND dataset_pk = ?3 AND key >= ?2 ORDER BY key")                        \
    X(S_CHUNK_LATEST,                                                          \
      "SELECT key, value, timestamp, step, is_nan FROM latest_metrics "        \
      "WHERE run_pk = ?1 AND key >= ?2 ORDER BY key")                          \
    X(S_CHUNK_DATASETS,                                                        \
      "SELECT d.dataset_pk, d.name, d.digest, d.source_type, d.source, "       \
      "d.schema, d.profile, ri.seq FROM run_inputs AS ri JOIN datasets AS d "  \
      "ON d.dataset_pk = ri.dataset_pk WHERE ri.run_pk = ?1 AND ri.seq > ?2 "  \
      "ORDER BY ri.seq")                                                       \
    X(S_CHUNK_MODEL_INPUTS,                                                    \
      "SELECT model_id, seq FROM run_model_inputs WHERE run_pk = ?1 "          \
      "AND seq > ?2 ORDER BY seq")                                             \
    X(S_CHUNK_HISTORY_FROM,                                                    \
      "SELECT timestamp, step, value, is_nan FROM metrics "                    \
      "WHERE run_pk = ?1 AND key = ?2 "                                        \
      "ORDER BY timestamp, step, value, is_nan LIMIT ?3 OFFSET ?4")            \
    X(S_CHUNK_HISTORY_AFTER,                                                   \
      "SELECT timestamp, step, value, is_nan FROM metrics "                    \
      "WHERE run_pk = ?1 AND key = ?2 AND (timestamp, step, value, is_nan) > " \
      "(?4, ?5, ?6, ?7) ORDER BY timestamp, step, value, is_nan LIMIT ?3")     \
    X(S_CHUNK_ENERGY_FROM,                                                     \
      "SELECT start_time, end_time, cpu_j, gpu_j, ram_j, other_j, "            \
      "cpu_method, gpu_method, ram_method, scope, intensity_g_per_kwh, "       \
      "intensity_source FROM energy_samples WHERE run_pk = ?1 "                \
      "ORDER BY start_time, end_time LIMIT ?2 OFFSET ?3")                      \
    X(S_CHUNK_ENERGY_AFTER,                                                    \
      "SELECT start_time, end_time, cpu_j, gpu_j, ram_j, other_j, "            \
      "cpu_method, gpu_method, ram_method, scope, intensity_g_per_kwh, "       \
      "intensity_source FROM energy_samples WHERE run_pk = ?1 "                \
      "AND (start_time, end_time) > (?3, ?4) ORDER BY start_time, end_time "   \
      "LIMIT ?2")

/* The reads of a page of runs per kind (read_batch.c) around the list
 * of run_pks 'ids' (a string literal): rows by run_pk, then in each run's
 * order. dialect.h's D_S_BATCH_* put an engine's D_F_JSON_IDS there
 * (several runs, bound as one JSON array); the S_RUN1_* below a single ?
 * (one run, bound as an integer: SQLite's json_each costs more than the
 * read of one run's list). RUNS_READ_ROWS ends with the characters of
 * the run's lists (RUNS_READ_LIST_CHARS), so that the caller reads the
 * lists only of runs that fit its memory: PostgreSQL sends a statement's
 * whole result at once. */
#define RUNS_READ_LIST_CHARS                                                   \
    "(SELECT coalesce(sum(length(key) + length(value)), 0) FROM params "       \
    "WHERE run_pk = r.run_pk) + "                                              \
    "(SELECT coalesce(sum(length(key) + length(value)), 0) FROM tags "         \
    "WHERE run_pk = r.run_pk) + "                                              \
    "(SELECT coalesce(sum(length(key) + 48), 0) FROM latest_metrics "          \
    "WHERE run_pk = r.run_pk) + "                                              \
    "(SELECT coalesce(sum(length(d.name) + length(d.digest) + "                \
    "length(d.source_type) + length(d.source) + "                              \
    "coalesce(length(d.schema), 0) + coalesce(length(d.profile), 0)), 0) "     \
    "FROM run_inputs AS ri JOIN datasets AS d "                                \
    "ON d.dataset_pk = ri.dataset_pk WHERE ri.run_pk = r.run_pk) + "           \
    "(SELECT coalesce(sum(length(key) + length(value)), 0) FROM input_tags "   \
    "WHERE run_pk = r.run_pk) + "                                              \
    "(SELECT coalesce(sum(length(model_id)), 0) FROM run_model_inputs "        \
    "WHERE run_pk = r.run_pk)"
#define RUNS_READ_ROWS(ids)                                                    \
    "SELECT r.run_pk, r.run_id, r.experiment_id, r.run_name, r.user_id, "      \
    "r.status, r.start_time, r.end_time, r.artifact_uri, "                     \
    "r.lifecycle_stage, " RUNS_READ_LIST_CHARS                                 \
    " FROM runs AS r WHERE r.run_pk IN (" ids ")"
#define RUNS_READ_PARAMS(ids)                                                  \
    "SELECT run_pk, key, value FROM params WHERE run_pk IN (" ids ") "         \
    "ORDER BY run_pk, key"
#define RUNS_READ_TAGS(ids)                                                    \
    "SELECT run_pk, key, value FROM tags WHERE run_pk IN (" ids ") "           \
    "ORDER BY run_pk, key"
#define RUNS_READ_LATEST(ids)                                                  \
    "SELECT run_pk, key, value, timestamp, step, is_nan FROM latest_metrics "  \
    "WHERE run_pk IN (" ids ") ORDER BY run_pk, key"
#define RUNS_READ_DATASETS(ids)                                                \
    "SELECT ri.run_pk, d.dataset_pk, d.name, d.digest, d.source_type, "        \
    "d.source, d.schema, d.profile FROM run_inputs AS ri JOIN datasets AS d "  \
    "ON d.dataset_pk = ri.dataset_pk WHERE ri.run_pk IN (" ids ") "            \
    "ORDER BY ri.run_pk, ri.seq"
#define RUNS_READ_INPUT_TAGS(ids)                                              \
    "SELECT run_pk, dataset_pk, key, value FROM input_tags "                   \
    "WHERE run_pk IN (" ids ") ORDER BY run_pk, dataset_pk, key"
#define RUNS_READ_MODEL_INPUTS(ids)                                            \
    "SELECT run_pk, model_id FROM run_model_inputs WHERE run_pk IN (" ids ") " \
    "ORDER BY run_pk, seq"
/* The batch reads' entries of a dialect table (dialect_*.c), with 'ids'
 * that engine's D_F_JSON_IDS: the same SQL around it on both. */
#define RUNS_READ_DIALECT_ENTRIES(ids)                                         \
    [D_F_JSON_IDS] = ids, [D_S_BATCH_RUNS] = RUNS_READ_ROWS(ids),              \
    [D_S_BATCH_PARAMS] = RUNS_READ_PARAMS(ids),                                \
    [D_S_BATCH_TAGS] = RUNS_READ_TAGS(ids),                                    \
    [D_S_BATCH_LATEST] = RUNS_READ_LATEST(ids),                                \
    [D_S_BATCH_DATASETS] = RUNS_READ_DATASETS(ids),                            \
    [D_S_BATCH_INPUT_TAGS] = RUNS_READ_INPUT_TAGS(ids),                        \
    [D_S_BATCH_MODEL_INPUTS] = RUNS_READ_MODEL_INPUTS(ids)

#define FOR_EACH_STMT(X)                                                       \
    X(S_PING, "SELECT 1")                                                      \
    X(S_COMMIT, "COMMIT")                                                      \
    X(S_ROLLBACK, "ROLLBACK")                                                  \
    X(S_SAVEPOINT, "SAVEPOINT w")                                              \
    X(S_RELEASE, "RELEASE w")                                                  \
    X(S_ROLLBACK_TO, "ROLLBACK TO w")                                          \
    X(S_EXP_BY_ID,                                                             \
      "SELECT experiment_id, name, artifact_location, lifecycle_stage, "       \
      "creation_time, last_update_time FROM experiments "                      \
      "WHERE experiment_id = ?")                                               \
    X(S_EXP_BY_NAME,                                                           \
      "SELECT experiment_id, name, artifact_location, lifecycle_stage, "       \
      "creation_time, last_update_time FROM experiments WHERE name = ?")       \
    X(S_EXP_TAGS, "SELECT key, value FROM experiment_tags "                    \
                  "WHERE experiment_id = ? ORDER BY key")                      \
    X(S_EXP_INSERT, "INSERT INTO experiments (name, artifact_location, "       \
                    "creation_time, last_update_time) VALUES (?, ?, ?, ?) "    \
                    "RETURNING experiment_id")                                 \
    X(S_EXP_SET_LOCATION,                                                      \
      "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?")  \
    X(S_EXP_RENAME, "UPDATE experiments SET name = ?, last_update_time = ? "   \
                    "WHERE experiment_id = ?")                                 \
    X(S_EXP_SET_STAGE, "UPDATE experiments SET lifecycle_stage = ?, "          \
                       "last_update_time = ? WHERE experiment_id = ?")         \
    X(S_EXP_RUNS_SET_STAGE,                                                    \
      "UPDATE runs SET lifecycle_stage = ?1, deleted_time = ?2 "               \
      "WHERE experiment_id = ?3 AND lifecycle_stage != ?1")                    \
    X(S_EXP_TAG_UPSERT,                                                        \
      "INSERT INTO experiment_tags (experiment_id, key, value) "               \
      "VALUES (?, ?, ?) ON CONFLICT (experiment_id, key) "                     \
      "DO UPDATE SET value = excluded.value")                                  \
    X(S_EXP_TAG_DELETE,                                                        \
      "DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?")       \
    X(S_EXP_DEFAULT, "INSERT INTO experiments (experiment_id, name, "          \
                     "artifact_location, creation_time, last_update_time) "    \
                     "VALUES (0, 'Default', ?, ?, ?) ON CONFLICT DO NOTHING")  \
    X(S_RUN_LOOKUP, "SELECT run_pk, experiment_id, lifecycle_stage "           \
                    "FROM runs WHERE run_id = ?")                              \
    X(S_RUN_INSERT,                                                            \
      "INSERT INTO runs (run_id, experiment_id, run_name, user_id, status, "   \
      "start_time, artifact_uri) VALUES (?, ?, ?, ?, 'RUNNING', ?, ?) "        \
      "RETURNING run_pk")                                                      \
    X(S_RUN_UPDATE, "UPDATE runs SET status = coalesce(?1, status), "          \
                    "end_time = coalesce(?2, end_time), "                      \
                    "run_name = coalesce(?3, run_name) WHERE run_pk = ?4")     \
    X(S_RUN_SET_STAGE, "UPDATE runs SET lifecycle_stage = ?, "                 \
                       "deleted_time = ? WHERE run_pk = ?")                    \
    X(S_TAG_UPSERT, "INSERT INTO tags (run_pk, key, value) VALUES (?, ?, ?) "  \
                    "ON CONFLICT (run_pk, key) "                               \
                    "DO UPDATE SET value = excluded.value")                    \
    X(S_TAG_GET, "SELECT value FROM tags WHERE run_pk = ? AND key = ?")        \
    X(S_TAG_DELETE, "DELETE FROM tags WHERE run_pk = ? AND key = ?")           \
    X(S_PARAM_GET, "SELECT value FROM params WHERE run_pk = ? AND key = ?")    \
    X(S_PARAM_INSERT,                                                          \
      "INSERT INTO params (run_pk, key, value) VALUES (?, ?, ?)")              \
    X(S_METRIC_INSERT,                                                         \
      "INSERT INTO metrics (run_pk, key, timestamp, step, value, is_nan) "     \
      "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")                      \
    /* experiment_id: the run's, copied for latest_metrics_by_experiment */    \
    X(S_LATEST_UPSERT,                                                         \
      "INSERT INTO latest_metrics (run_pk, key, value, timestamp, step, "      \
      "is_nan, experiment_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "                \
      "(SELECT experiment_id FROM runs WHERE run_pk = ?1)) "                   \
      "ON CONFLICT (run_pk, key) DO UPDATE "                                   \
      "SET value = excluded.value, timestamp = excluded.timestamp, "           \
      "step = excluded.step, is_nan = excluded.is_nan "                        \
      "WHERE (excluded.step, excluded.timestamp, excluded.value) > "           \
      "(latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)") \
    X(S_DATASET_FIND, "SELECT dataset_pk FROM datasets WHERE "                 \
                      "experiment_id = ? AND name = ? AND digest = ?")         \
    X(S_DATASET_INSERT,                                                        \
      "INSERT INTO datasets (experiment_id, name, digest, source_type, "       \
      "source, schema, profile) VALUES (?, ?, ?, ?, ?, ?, ?) "                 \
      "RETURNING dataset_pk")                                                  \
    X(S_RUN_INPUT_INSERT,                                                      \
      "INSERT INTO run_inputs (run_pk, dataset_pk, seq) VALUES "               \
      "(?1, ?2, (SELECT count(*) FROM run_inputs WHERE run_pk = ?1)) "         \
      "ON CONFLICT DO NOTHING")                                                \
    X(S_INPUT_TAG_UPSERT,                                                      \
      "INSERT INTO input_tags (run_pk, dataset_pk, key, value) "               \
      "VALUES (?, ?, ?, ?) ON CONFLICT (run_pk, dataset_pk, key) "             \
      "DO UPDATE SET value = excluded.value")                                  \
    X(S_MODEL_INPUT_INSERT,                                                    \
      "INSERT INTO run_model_inputs (run_pk, model_id, seq) VALUES "           \
      "(?1, ?2, (SELECT count(*) FROM run_model_inputs WHERE run_pk = ?1)) "   \
      "ON CONFLICT DO NOTHING")                                                \
    X(S_HEARTBEAT_UPSERT,                                                      \
      "INSERT INTO run_heartbeats (run_pk, last_ms) VALUES (?, ?) "            \
      "ON CONFLICT (run_pk) DO UPDATE SET last_ms = excluded.last_ms")         \
    X(S_REAP_STALE, "UPDATE runs SET status = 'KILLED', end_time = h.last_ms " \
                    "FROM run_heartbeats AS h WHERE h.run_pk = runs.run_pk "   \
                    "AND runs.status = 'RUNNING' AND h.last_ms < ?")           \
    X(S_ENERGY_UPSERT,                                                         \
      "INSERT INTO energy_samples (run_pk, start_time, end_time, "             \
      "cpu_j, gpu_j, ram_j, other_j, cpu_method, gpu_method, ram_method, "     \
      "scope, intensity_g_per_kwh, intensity_source, estimated) "              \
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "                     \
      "ON CONFLICT (run_pk, start_time, end_time) DO UPDATE SET "              \
      "cpu_j = excluded.cpu_j, gpu_j = excluded.gpu_j, "                       \
      "ram_j = excluded.ram_j, other_j = excluded.other_j, "                   \
      "cpu_method = excluded.cpu_method, gpu_method = excluded.gpu_method, "   \
      "ram_method = excluded.ram_method, scope = excluded.scope, "             \
      "intensity_g_per_kwh = excluded.intensity_g_per_kwh, "                   \
      "intensity_source = excluded.intensity_source, "                         \
      "estimated = excluded.estimated")                                        \
    X(S_ENERGY_OLD,                                                            \
      "SELECT cpu_j, gpu_j, ram_j, other_j, intensity_g_per_kwh, estimated "   \
      "FROM energy_samples WHERE run_pk = ? AND start_time = ? AND "           \
      "end_time = ?")                                                          \
    /* columns of the row already there are qualified: PostgreSQL finds a      \
     * bare name ambiguous beside excluded's */                                \
    X(S_RUN_ENERGY_ADD,                                                        \
      "INSERT INTO run_energy AS t VALUES "                                    \
      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "                                  \
      "ON CONFLICT (run_pk) DO UPDATE SET cpu_j = t.cpu_j + excluded.cpu_j, "  \
      "gpu_j = t.gpu_j + excluded.gpu_j, ram_j = t.ram_j + excluded.ram_j, "   \
      "other_j = t.other_j + excluded.other_j, "                               \
      "plain_j = t.plain_j + excluded.plain_j, "                               \
      "measured_j = t.measured_j + excluded.measured_j, "                      \
      "measured_gj = t.measured_gj + excluded.measured_gj, "                   \
      "first_start = CASE WHEN excluded.first_start < t.first_start "          \
      "THEN excluded.first_start ELSE t.first_start END, "                     \
      "last_end = CASE WHEN excluded.last_end > t.last_end "                   \
      "THEN excluded.last_end ELSE t.last_end END, "                           \
      "samples = t.samples + excluded.samples, "                               \
      "estimated = t.estimated + excluded.estimated")                          \
    X(S_RUN_ENERGY_GET,                                                        \
      "SELECT cpu_j, gpu_j, ram_j, other_j, plain_j, measured_j, "             \
      "measured_gj, first_start, last_end, samples, estimated "                \
      "FROM run_energy WHERE run_pk = ?")                                      \
    X(S_RUN_LOCATION_TAGS,                                                     \
      "SELECT key, value FROM tags WHERE run_pk = ? AND key IN "               \
      "('greentrack.country', 'greentrack.region', "                           \
      "'greentrack.cloud_provider', 'greentrack.cloud_region', "               \
      "'greentrack.pue', 'greentrack.zone')")                                  \
    X(S_ENERGY_SAMPLES,                                                        \
      "SELECT start_time, end_time, cpu_j, gpu_j, ram_j, other_j, "            \
      "cpu_method, gpu_method, ram_method, scope, intensity_g_per_kwh, "       \
      "intensity_source FROM energy_samples WHERE run_pk = ? "                 \
      "ORDER BY start_time, end_time LIMIT ? OFFSET ?")                        \
    X(S_LATEST_SET,                                                            \
      "INSERT INTO latest_metrics (run_pk, key, value, timestamp, "            \
      "step, is_nan, experiment_id) VALUES (?1, ?2, ?3, ?4, 0, 0, "            \
      "(SELECT experiment_id FROM runs WHERE run_pk = ?1)) "                   \
      "ON CONFLICT (run_pk, key) "                                             \
      "DO UPDATE SET value = excluded.value, "                                 \
      "timestamp = excluded.timestamp, step = 0, is_nan = 0")                  \
    X(S_RUN_BY_ID,                                                             \
      "SELECT run_pk, run_id, experiment_id, run_name, user_id, status, "      \
      "start_time, end_time, artifact_uri, lifecycle_stage FROM runs "         \
      "WHERE run_id = ?")                                                      \
    X(S_RUN1_ROWS, RUNS_READ_ROWS("?"))                                        \
    X(S_RUN1_PARAMS, RUNS_READ_PARAMS("?"))                                    \
    X(S_RUN1_TAGS, RUNS_READ_TAGS("?"))                                        \
    X(S_RUN1_LATEST, RUNS_READ_LATEST("?"))                                    \
    X(S_RUN1_DATASETS, RUNS_READ_DATASETS("?"))                                \
    X(S_RUN1_INPUT_TAGS, RUNS_READ_INPUT_TAGS("?"))                            \
    X(S_RUN1_MODEL_INPUTS, RUNS_READ_MODEL_INPUTS("?"))                        \
    X(S_HISTORY, "SELECT timestamp, step, value, is_nan FROM metrics "         \
                 "WHERE run_pk = ? AND key = ? "                               \
                 "ORDER BY timestamp, step, value LIMIT ? OFFSET ?")           \
    X(S_HISTORY_BY_STEP,                                                       \
      "SELECT step, timestamp, value, is_nan FROM metrics "                    \
      "WHERE run_pk = ? AND key = ? AND step BETWEEN ? AND ? "                 \
      "ORDER BY step, timestamp, value")                                       \
    X(S_BOARD_KEY_UPSERT,                                                      \
      "INSERT INTO leaderboard_keys (experiment_id, metric, filter, "          \
      "options, seen_time) VALUES (?, ?, ?, ?, ?) ON CONFLICT "                \
      "(experiment_id, metric, filter, options) DO UPDATE SET "                \
      "seen_time = excluded.seen_time")                                        \
    X(S_BOARD_KEY_TRIM,                                                        \
      "DELETE FROM leaderboard_keys WHERE seen_time < (SELECT seen_time "      \
      "FROM leaderboard_keys ORDER BY seen_time DESC LIMIT 1 OFFSET ?)")       \
    X(S_BOARD_KEYS_RECENT,                                                     \
      "SELECT experiment_id, metric, filter, options FROM leaderboard_keys "   \
      "ORDER BY seen_time DESC, experiment_id, metric, filter, options "       \
      "LIMIT ?")                                                               \
    /* experiments/summary of active experiment ?1: its runs, running runs,    \
     * energy, CO2 and last activity (its own update or its runs' latest). */  \
    X(S_EXP_SUMMARY,                                                           \
      "SELECT count(r.run_pk), "                                               \
      "coalesce(sum(CASE WHEN r.status = 'RUNNING' THEN 1 ELSE 0 END), 0), "   \
      "coalesce(sum(en.value), 0), coalesce(sum(co.value), 0), "               \
      "CASE WHEN e.last_update_time >= coalesce(max(" SUMMARY_LAST_OF_RUN      \
      "), 0) THEN e.last_update_time ELSE coalesce(max(" SUMMARY_LAST_OF_RUN   \
      "), 0) END "                                                             \
      "FROM experiments AS e "                                                 \
      "LEFT JOIN runs AS r ON r.experiment_id = e.experiment_id "              \
      "AND r.lifecycle_stage = 'active' "                                      \
      "LEFT JOIN latest_metrics AS en ON en.run_pk = r.run_pk "                \
      "AND en.key = 'greentrack.energy_kwh' "                                  \
      "LEFT JOIN latest_metrics AS co ON co.run_pk = r.run_pk "                \
      "AND co.key = 'greentrack.co2_kg' "                                      \
      "WHERE e.experiment_id = ?1 AND e.lifecycle_stage = 'active' "           \
      "GROUP BY e.experiment_id, e.last_update_time")                          \
    FOR_EACH_CHUNK_STMT(X)                                                     \
    FOR_EACH_GRID_STMT(X)

enum stmt_id {
#define STMT_ENUM(id, sql) id,
    FOR_EACH_STMT(STMT_ENUM)
#undef STMT_ENUM
        STMT_COUNT
};

/* The text of each statement, indexed by its id (statements.c). */
extern const char *const store_stmt_sql[STMT_COUNT];

#endif
