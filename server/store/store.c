/* SPDX-License-Identifier: MIT
 *
 * store: SQLite behind the store API (see store.h). Sections: connections
 * and prepared statements, migrations, the group-commit writer and the
 * executor of each write kind, then the readers.
 */
#include "store.h"

#include "artifact_store.h"
#include "carbon.h"
#include "filter.h"
#include "internal.h"
#include "log.h"
#include "schema.h"
#include "store_registry.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#define ZONE_MEMO_SLOTS 64

/*---- prepared statements ----*/

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
      "FROM grid_intensity WHERE zone = ?1 AND (?2 IS NULL OR source = ?2) "   \
      "AND (?3 IS NULL OR kind = ?3) AND start_ms >= ?4 - 86400000 "           \
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

/* The chunked reads of streamed replies (store.h): each list in its
 * order from a position the caller keeps. A text key resumes after the
 * last one read with key >= ?2 bound to that key plus a NUL byte (keys
 * hold no NUL), and starts with ''. */
#define FOR_EACH_CHUNK_STMT(X)                                                 \
    X(S_CHUNK_RUN_BY_PK,                                                       \
      "SELECT run_pk, run_id, experiment_id, run_name, user_id, status, "      \
      "start_time, end_time, artifact_uri, lifecycle_stage FROM runs "         \
      "WHERE run_pk = ?")                                                      \
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
      "LIMIT ?2")                                                              \
    X(S_CHUNK_SUMMARIES,                                                       \
      "SELECT e.experiment_id, e.name, count(r.run_pk), "                      \
      "coalesce(sum(r.status = 'RUNNING'), 0), coalesce(sum(en.value), 0), "   \
      "coalesce(sum(co.value), 0), max(e.last_update_time, "                   \
      "coalesce(max(max(r.start_time, coalesce(r.end_time, 0), "               \
      "coalesce(en.timestamp, 0))), 0)) "                                      \
      "FROM experiments AS e "                                                 \
      "LEFT JOIN runs AS r ON r.experiment_id = e.experiment_id "              \
      "AND r.lifecycle_stage = 'active' "                                      \
      "LEFT JOIN latest_metrics AS en ON en.run_pk = r.run_pk "                \
      "AND en.key = 'greentrack.energy_kwh' "                                  \
      "LEFT JOIN latest_metrics AS co ON co.run_pk = r.run_pk "                \
      "AND co.key = 'greentrack.co2_kg' "                                      \
      "WHERE e.lifecycle_stage = 'active' AND e.experiment_id > ?1 "           \
      "GROUP BY e.experiment_id ORDER BY e.experiment_id LIMIT ?2")

#define FOR_EACH_STMT(X)                                                       \
    X(S_PING, "SELECT 1")                                                      \
    X(S_DATA_VERSION, "PRAGMA data_version")                                   \
    X(S_BEGIN, "BEGIN IMMEDIATE")                                              \
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
                    "creation_time, last_update_time) VALUES (?, ?, ?, ?)")    \
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
    X(S_EXP_DEFAULT,                                                           \
      "INSERT OR IGNORE INTO experiments (experiment_id, name, "               \
      "artifact_location, creation_time, last_update_time) "                   \
      "VALUES (0, 'Default', ?, ?, ?)")                                        \
    X(S_RUN_LOOKUP, "SELECT run_pk, experiment_id, lifecycle_stage "           \
                    "FROM runs WHERE run_id = ?")                              \
    X(S_RUN_INSERT,                                                            \
      "INSERT INTO runs (run_id, experiment_id, run_name, user_id, status, "   \
      "start_time, artifact_uri) VALUES (?, ?, ?, ?, 'RUNNING', ?, ?)")        \
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
      "INSERT OR IGNORE INTO metrics (run_pk, key, timestamp, step, value, "   \
      "is_nan) VALUES (?, ?, ?, ?, ?, ?)")                                     \
    X(S_LATEST_UPSERT,                                                         \
      "INSERT INTO latest_metrics (run_pk, key, value, timestamp, step, "      \
      "is_nan) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_pk, key) DO UPDATE " \
      "SET value = excluded.value, timestamp = excluded.timestamp, "           \
      "step = excluded.step, is_nan = excluded.is_nan "                        \
      "WHERE (excluded.step, excluded.timestamp, excluded.value) > "           \
      "(latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)") \
    X(S_DATASET_FIND, "SELECT dataset_pk FROM datasets WHERE "                 \
                      "experiment_id = ? AND name = ? AND digest = ?")         \
    X(S_DATASET_INSERT,                                                        \
      "INSERT INTO datasets (experiment_id, name, digest, source_type, "       \
      "source, schema, profile) VALUES (?, ?, ?, ?, ?, ?, ?)")                 \
    X(S_RUN_INPUT_INSERT,                                                      \
      "INSERT OR IGNORE INTO run_inputs (run_pk, dataset_pk, seq) VALUES "     \
      "(?1, ?2, (SELECT count(*) FROM run_inputs WHERE run_pk = ?1))")         \
    X(S_INPUT_TAG_UPSERT,                                                      \
      "INSERT INTO input_tags (run_pk, dataset_pk, key, value) "               \
      "VALUES (?, ?, ?, ?) ON CONFLICT (run_pk, dataset_pk, key) "             \
      "DO UPDATE SET value = excluded.value")                                  \
    X(S_MODEL_INPUT_INSERT,                                                    \
      "INSERT OR IGNORE INTO run_model_inputs (run_pk, model_id, seq) VALUES " \
      "(?1, ?2, (SELECT count(*) FROM run_model_inputs WHERE run_pk = ?1))")   \
    X(S_HEARTBEAT_UPSERT,                                                      \
      "INSERT INTO run_heartbeats (run_pk, last_ms) VALUES (?, ?) "            \
      "ON CONFLICT (run_pk) DO UPDATE SET last_ms = excluded.last_ms")         \
    X(S_REAP_STALE, "UPDATE runs SET status = 'KILLED', end_time = h.last_ms " \
                    "FROM run_heartbeats AS h WHERE h.run_pk = runs.run_pk "   \
                    "AND runs.status = 'RUNNING' AND h.last_ms < ?")           \
    X(S_ENERGY_UPSERT,                                                         \
      "INSERT OR REPLACE INTO energy_samples (run_pk, start_time, end_time, "  \
      "cpu_j, gpu_j, ram_j, other_j, cpu_method, gpu_method, ram_method, "     \
      "scope, intensity_g_per_kwh, intensity_source, estimated) "              \
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")                     \
    X(S_ENERGY_OLD,                                                            \
      "SELECT cpu_j, gpu_j, ram_j, other_j, intensity_g_per_kwh, estimated "   \
      "FROM energy_samples WHERE run_pk = ? AND start_time = ? AND "           \
      "end_time = ?")                                                          \
    X(S_RUN_ENERGY_ADD,                                                        \
      "INSERT INTO run_energy VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "    \
      "ON CONFLICT (run_pk) DO UPDATE SET cpu_j = cpu_j + excluded.cpu_j, "    \
      "gpu_j = gpu_j + excluded.gpu_j, ram_j = ram_j + excluded.ram_j, "       \
      "other_j = other_j + excluded.other_j, "                                 \
      "plain_j = plain_j + excluded.plain_j, "                                 \
      "measured_j = measured_j + excluded.measured_j, "                        \
      "measured_gj = measured_gj + excluded.measured_gj, "                     \
      "first_start = min(first_start, excluded.first_start), "                 \
      "last_end = max(last_end, excluded.last_end), "                          \
      "samples = samples + excluded.samples, "                                 \
      "estimated = estimated + excluded.estimated")                            \
    X(S_RUN_ENERGY_GET,                                                        \
      "SELECT cpu_j, gpu_j, ram_j, other_j, plain_j, measured_j, "             \
      "measured_gj, first_start, last_end, samples, estimated "                \
      "FROM run_energy WHERE run_pk = ?")                                      \
    X(S_RUN_LOCATION_TAGS,                                                     \
      "SELECT key, value FROM tags WHERE run_pk = ? AND key IN "               \
      "('greentrack.country', 'greentrack.region', "                           \
      "'greentrack.cloud_provider', 'greentrack.cloud_region', "               \
      "'greentrack.pue', 'greentrack.zone')")                                  \
    X(S_RUN_METHODS,                                                           \
      "SELECT group_concat(DISTINCT cpu_method), "                             \
      "group_concat(DISTINCT gpu_method), "                                    \
      "group_concat(DISTINCT ram_method), group_concat(DISTINCT scope), "      \
      "group_concat(DISTINCT intensity_source) "                               \
      "FROM energy_samples WHERE run_pk = ?")                                  \
    X(S_ENERGY_SAMPLES,                                                        \
      "SELECT start_time, end_time, cpu_j, gpu_j, ram_j, other_j, "            \
      "cpu_method, gpu_method, ram_method, scope, intensity_g_per_kwh, "       \
      "intensity_source FROM energy_samples WHERE run_pk = ? "                 \
      "ORDER BY start_time, end_time LIMIT ? OFFSET ?")                        \
    X(S_LATEST_ONE, "SELECT value, is_nan FROM latest_metrics "                \
                    "WHERE run_pk = ? AND key = ?")                            \
    X(S_LATEST_BY_KEY, "SELECT run_pk, value, is_nan FROM latest_metrics "     \
                       "WHERE key = ?")                                        \
    X(S_RUN_ESTIMATED, "SELECT estimated FROM run_energy WHERE run_pk = ?")    \
    X(S_ALL_ESTIMATED, "SELECT run_pk FROM run_energy WHERE estimated > 0")    \
    X(S_LATEST_SET,                                                            \
      "INSERT OR REPLACE INTO latest_metrics (run_pk, key, value, timestamp, " \
      "step, is_nan) VALUES (?, ?, ?, ?, 0, 0)")                               \
    X(S_RUN_BY_ID,                                                             \
      "SELECT run_pk, run_id, experiment_id, run_name, user_id, status, "      \
      "start_time, end_time, artifact_uri, lifecycle_stage FROM runs "         \
      "WHERE run_id = ?")                                                      \
    X(S_RUN_PARAMS, "SELECT key, value FROM params WHERE run_pk = ? "          \
                    "ORDER BY key")                                            \
    X(S_RUN_TAGS, "SELECT key, value FROM tags WHERE run_pk = ? ORDER BY key") \
    X(S_RUN_LATEST, "SELECT key, value, timestamp, step, is_nan "              \
                    "FROM latest_metrics WHERE run_pk = ? ORDER BY key")       \
    X(S_RUN_DATASETS,                                                          \
      "SELECT d.dataset_pk, d.name, d.digest, d.source_type, d.source, "       \
      "d.schema, d.profile FROM run_inputs AS ri JOIN datasets AS d "          \
      "ON d.dataset_pk = ri.dataset_pk WHERE ri.run_pk = ? ORDER BY ri.seq")   \
    X(S_INPUT_TAGS, "SELECT key, value FROM input_tags WHERE run_pk = ? "      \
                    "AND dataset_pk = ? ORDER BY key")                         \
    X(S_RUN_MODEL_INPUTS, "SELECT model_id FROM run_model_inputs "             \
                          "WHERE run_pk = ? ORDER BY seq")                     \
    X(S_HISTORY, "SELECT timestamp, step, value, is_nan FROM metrics "         \
                 "WHERE run_pk = ? AND key = ? "                               \
                 "ORDER BY timestamp, step, value LIMIT ? OFFSET ?")           \
    X(S_HISTORY_BY_STEP,                                                       \
      "SELECT step, timestamp, value, is_nan FROM metrics "                    \
      "WHERE run_pk = ? AND key = ? AND step BETWEEN ? AND ? "                 \
      "ORDER BY step, timestamp, value")                                       \
    FOR_EACH_CHUNK_STMT(X)                                                     \
    FOR_EACH_GRID_STMT(X)

enum stmt_id {
#define STMT_ENUM(id, sql) id,
    FOR_EACH_STMT(STMT_ENUM)
#undef STMT_ENUM
        STMT_COUNT
};

static const char *const stmt_sql[STMT_COUNT] = {
#define STMT_SQL(id, sql) [id] = sql,
    FOR_EACH_STMT(STMT_SQL)
#undef STMT_SQL
};

struct conn {
    sqlite3 *db;
    sqlite3_stmt *stmts[STMT_COUNT];
    struct conn *next; /* in store->readers */
    uint64_t store_serial;
    int64_t last_experiment; /* of the last run_lookup (writer bookkeeping) */
    int64_t touched_run;     /* writer: the run the current write changed,
                                0 none yet, -1 several */
    sqlite3_stmt *domain[STORE_DOMAIN_STMTS]; /* store_conn_stmt's */
};

/* Records that the current write changed run 'pk' (writer only). */
static void note_run(struct conn *c, int64_t pk)
{
    if (c->touched_run == 0)
        c->touched_run = pk;
    else if (c->touched_run != pk)
        c->touched_run = -1;
}

/* Returns the statement, prepared on first use and reset for reuse; NULL
 * (logged) if it cannot be prepared. */
static sqlite3_stmt *stmt(struct conn *c, enum stmt_id id)
{
    sqlite3_stmt *s = c->stmts[id];
    if (s) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return s;
    }
    if (sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                           &s, NULL) != SQLITE_OK) {
        log_error("prepare failed: %s: %s", sqlite3_errmsg(c->db),
                  stmt_sql[id]);
        return NULL;
    }
    c->stmts[id] = s;
    return s;
}

static void conn_close(struct conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(c->stmts[i]);
    for (int i = 0; i < STORE_DOMAIN_STMTS; i++)
        sqlite3_finalize(c->domain[i]);
    sqlite3_close(c->db);
    free(c);
}

struct store {
    char *db_path;
    char *artifact_root;
    bool serve_artifacts;
    int64_t data_version; /* writer only: PRAGMA data_version last seen */
    bool durable_full;
    int64_t heartbeat_timeout_ms;
    double default_pue;
    uint64_t serial;

    struct conn *writer;
    pthread_t writer_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct store_write *queue_head, *queue_tail;
    bool stopping;
    atomic_bool abandoned; /* store_abandon: fail queued and new writes */
    int64_t busy_since_ms; /* writer only: its current lock wait began */

    pthread_mutex_t readers_mu;
    struct conn *readers;

    /* Bumped after each commit that changed an experiment or one of its
     * runs, indexed by experiment id modulo the size (a collision only
     * costs a cache miss); lets readers cache derived views. */
    atomic_uint_fast64_t generations[STORE_GENERATION_SLOTS];

    /* The change journal: which run each of the last commits changed,
     * so a reader holding a view at an older generation can patch it
     * instead of rebuilding it (store_changed_runs). A bump with no
     * entry (or an entry with run_pk -1) tells readers to rebuild. */
    pthread_mutex_t journal_mu;
    struct change {
        int64_t experiment_id;
        uint64_t generation; /* of the slot, after this change */
        int64_t run_pk;      /* 0: no run changed, -1: several or unknown */
    } journal[STORE_JOURNAL_SIZE];
    uint64_t journal_next;

    /* Grid intensity. Writer only: set by executors, acted upon after
     * the commit (commit_group). */
    bool grid_bump_all; /* grid data recomputed runs */
    bool zone_dirty;    /* a zone tag or a zoned run's energy changed */
    /* writer only: the zone cover of recently written zoned runs, so a
     * log-energy adds its samples' cover instead of spreading every
     * sample of the run again; grid_gen invalidates them all */
    uint64_t grid_gen;
    struct zone_memo {
        int64_t run_pk; /* 0: empty */
        uint64_t grid_gen;
        char zone[72];
        struct grid_cover cover;
    } zone_memo[ZONE_MEMO_SLOTS];
    atomic_uint_fast64_t zone_epoch; /* store_grid_zone_epoch */
};

static atomic_uint_fast64_t store_serials;

uint64_t store_experiment_generation(struct store *st, int64_t experiment_id)
{
    return atomic_load(
        &st->generations[(uint64_t)experiment_id % STORE_GENERATION_SLOTS]);
}

static int cmp_i64(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return (a > b) - (a < b);
}

bool store_changed_runs(struct store *st, int64_t experiment_id, uint64_t from,
                        uint64_t to, int64_t **pks, size_t *n)
{
    *pks = NULL;
    *n = 0;
    if (to < from || to - from > STORE_JOURNAL_SIZE)
        return false;
    int64_t *out = malloc((size_t)(to - from + 1) * sizeof(*out));
    if (!out)
        return false;
    uint64_t slot = (uint64_t)experiment_id % STORE_GENERATION_SLOTS;
    uint64_t seen = 0;
    bool ok = true;
    size_t m = 0;
    pthread_mutex_lock(&st->journal_mu);
    uint64_t have = st->journal_next;
    if (have > STORE_JOURNAL_SIZE)
        have = STORE_JOURNAL_SIZE;
    for (uint64_t i = 0; i < have && ok; i++) {
        const struct change *ch = &st->journal[i];
        if ((uint64_t)ch->experiment_id % STORE_GENERATION_SLOTS != slot ||
            ch->generation <= from || ch->generation > to)
            continue;
        seen++;
        if (ch->experiment_id != experiment_id || ch->run_pk == 0)
            continue;
        if (ch->run_pk < 0)
            ok = false;
        else
            out[m++] = ch->run_pk;
    }
    pthread_mutex_unlock(&st->journal_mu);
    /* Every generation step in (from, to] must have its entry; one that
     * has none was overwritten or came from a bulk change. */
    if (!ok || seen != to - from) {
        free(out);
        return false;
    }
    qsort(out, m, sizeof(*out), cmp_i64);
    size_t u = 0;
    for (size_t i = 0; i < m; i++) {
        if (u == 0 || out[u - 1] != out[i])
            out[u++] = out[i];
    }
    if (u == 0) {
        free(out);
        out = NULL;
    }
    *pks = out;
    *n = u;
    return true;
}

int64_t store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum srv_err db_error(struct conn *c, struct errbuf *eb,
                             const char *what)
{
    int code = sqlite3_errcode(c->db);
    log_error("sqlite: %s: %s (%d)", what, sqlite3_errmsg(c->db),
              sqlite3_extended_errcode(c->db));
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return err_set(eb, SRV_E_UNAVAILABLE,
                       "The database is busy; retry the request");
    if (code == SQLITE_NOMEM)
        return err_set(eb, SRV_E_NOMEM, "Out of memory");
    return err_set(eb, SRV_E_INTERNAL, "Internal database error");
}

static int exec_sql(sqlite3 *db, const char *sql)
{
    /* Callers report the failure (sqlite3_errmsg) in their own words. */
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static struct conn *conn_open(const struct store *st, bool create,
                              struct errbuf *eb)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        err_set(eb, SRV_E_NOMEM, "out of memory");
        return NULL;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(st->db_path, &c->db, flags, NULL) != SQLITE_OK) {
        err_set(eb, SRV_E_INTERNAL, "cannot open database %s: %s", st->db_path,
                c->db ? sqlite3_errmsg(c->db) : "out of memory");
        conn_close(c);
        return NULL;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, 5000);
    char pragmas[256];
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA foreign_keys = ON; PRAGMA case_sensitive_like = ON; "
             "PRAGMA synchronous = %s; PRAGMA temp_store = MEMORY; "
             "PRAGMA cache_size = -16000;",
             st->durable_full ? "FULL" : "NORMAL");
    if (exec_sql(c->db, pragmas) != SQLITE_OK) {
        err_set(eb, SRV_E_INTERNAL, "cannot configure database %s: %s",
                st->db_path, sqlite3_errmsg(c->db));
        conn_close(c);
        return NULL;
    }
    c->store_serial = st->serial;
    return c;
}

/*---- migrations ----*/

static int read_user_version(sqlite3 *db)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
    }
    return v;
}

static enum srv_err migrate(struct conn *c, struct errbuf *eb)
{
    if (exec_sql(c->db, "PRAGMA journal_mode = WAL") != SQLITE_OK)
        return err_set(eb, SRV_E_INTERNAL,
                       "cannot use database %s: %s (is it a SQLite file?)", "",
                       sqlite3_errmsg(c->db));
    int have = read_user_version(c->db);
    int latest = schema_migrations[schema_migration_count - 1].level;
    if (have < 0)
        return err_set(eb, SRV_E_INTERNAL, "cannot read the schema version");
    if (have > latest)
        return err_set(eb, SRV_E_INTERNAL,
                       "database schema version %d is newer than this "
                       "server supports (%d); use a newer greentrack-server",
                       have, latest);
    for (int i = 0; i < schema_migration_count; i++) {
        const struct schema_migration *m = &schema_migrations[i];
        if (m->level <= have)
            continue;
        char setv[64];
        snprintf(setv, sizeof(setv), "PRAGMA user_version = %d", m->level);
        if (exec_sql(c->db, "BEGIN IMMEDIATE") != SQLITE_OK ||
            exec_sql(c->db, m->sql) != SQLITE_OK ||
            exec_sql(c->db, setv) != SQLITE_OK ||
            exec_sql(c->db, "COMMIT") != SQLITE_OK) {
            enum srv_err e =
                err_set(eb, SRV_E_INTERNAL, "migration %s failed: %s", m->name,
                        sqlite3_errmsg(c->db));
            exec_sql(c->db, "ROLLBACK");
            return e;
        }
        log_info("applied migration %s", m->name);
    }
    return SRV_OK;
}

static enum srv_err ensure_default_experiment(struct store *st,
                                              struct errbuf *eb)
{
    char loc[4200];
    if (artifact_experiment_location(loc, sizeof(loc), st->serve_artifacts,
                                     st->artifact_root, 0))
        return err_set(eb, SRV_E_INTERNAL, "artifact root path too long");
    sqlite3_stmt *s = stmt(st->writer, S_EXP_DEFAULT);
    if (!s)
        return db_error(st->writer, eb, "default experiment");
    int64_t now = store_now_ms();
    sqlite3_bind_text(s, 1, loc, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int64(s, 3, now);
    if (sqlite3_step(s) != SQLITE_DONE)
        return db_error(st->writer, eb, "default experiment");
    return SRV_OK;
}

/* Locations the server formed from its root before they were file: URIs
 * (greentrack up to 0.x without the artifact proxy wrote "<root>/<id>")
 * become the URIs it forms now, when it does not serve artifacts: the
 * experiments' "<root>/<id>" and their runs' "<root>/<id>/<run>/artifacts"
 * under the current root. Locations a client chose, and those formed under
 * another root, stay as stored (they name the same folders). */
static enum srv_err relocate_local_locations(struct store *st,
                                             struct errbuf *eb)
{
    if (st->serve_artifacts)
        return SRV_OK;
    char uri[4200], bare[4200];
    if (artifact_file_uri(uri, sizeof(uri) - 1, st->artifact_root) ||
        (size_t)snprintf(bare, sizeof(bare), "%s/", st->artifact_root) >=
            sizeof(bare))
        return err_set(eb, SRV_E_INTERNAL, "artifact root path too long");
    size_t ul = strlen(uri);
    uri[ul] = '/';
    uri[ul + 1] = '\0';
    static const char *const sql[] = {
        "UPDATE experiments SET artifact_location = ?1 || experiment_id "
        "WHERE artifact_location = ?2 || experiment_id",
        "UPDATE runs SET artifact_uri = ?1 || experiment_id || '/' || run_id "
        "|| '/artifacts' WHERE artifact_uri = ?2 || experiment_id || '/' || "
        "run_id || '/artifacts'",
    };
    struct conn *c = st->writer;
    if (exec_sql(c->db, "BEGIN IMMEDIATE") != SQLITE_OK)
        return db_error(c, eb, "relocate");
    for (size_t i = 0; i < sizeof(sql) / sizeof(*sql); i++) {
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2(c->db, sql[i], -1, &s, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(s, 1, uri, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, bare, -1, SQLITE_STATIC);
            rc = sqlite3_step(s);
        }
        sqlite3_finalize(s);
        if (rc != SQLITE_DONE) {
            enum srv_err e = db_error(c, eb, "relocate");
            exec_sql(c->db, "ROLLBACK");
            return e;
        }
        if (sqlite3_changes(c->db) > 0)
            log_info("%d %s given file: URIs", sqlite3_changes(c->db),
                     i ? "run artifact locations" : "experiment locations");
    }
    if (exec_sql(c->db, "COMMIT") != SQLITE_OK) {
        enum srv_err e = db_error(c, eb, "relocate");
        exec_sql(c->db, "ROLLBACK");
        return e;
    }
    return SRV_OK;
}

/*---- write executors (writer thread, inside a transaction) ----*/

static void bind_ref(sqlite3_stmt *s, int i, struct strref r)
{
    sqlite3_bind_text(s, i, r.s, (int)r.len, SQLITE_STATIC);
}

static void bind_str(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

/* Runs a statement that returns no rows. */
static enum srv_err step_done(struct conn *c, sqlite3_stmt *s,
                              struct errbuf *eb, const char *what)
{
    if (!s)
        return db_error(c, eb, what);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return db_error(c, eb, what);
    return SRV_OK;
}

/* Steps a statement that returns one row or none and resets it: '*found'
 * tells whether there was a row, whose column 0 is then in '*v'. */
static enum srv_err step_int64(struct conn *c, sqlite3_stmt *s, int64_t *v,
                               bool *found, struct errbuf *eb, const char *what)
{
    *found = false;
    if (!s)
        return db_error(c, eb, what);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *v = sqlite3_column_int64(s, 0);
        *found = true;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_error(c, eb, what);
    return SRV_OK;
}

struct exp_state {
    bool exists;
    bool deleted;
    char *artifact_location; /* malloc'd */
};

static enum srv_err exp_lookup(struct conn *c, int64_t id,
                               struct exp_state *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = stmt(c, S_EXP_BY_ID);
    if (!s)
        return db_error(c, eb, "experiment lookup");
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->exists = true;
        out->deleted =
            strcmp((const char *)sqlite3_column_text(s, 3), "deleted") == 0;
        const char *loc = (const char *)sqlite3_column_text(s, 2);
        out->artifact_location = strdup(loc ? loc : "");
        sqlite3_reset(s);
        return out->artifact_location ? SRV_OK : SRV_E_NOMEM;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return db_error(c, eb, "experiment lookup");
    return SRV_OK;
}

static enum srv_err no_experiment(struct errbuf *eb, int64_t id)
{
    return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                   "No Experiment with id=%lld exists", (long long)id);
}

struct run_state {
    int64_t run_pk;
    int64_t experiment_id;
    bool deleted;
};

/* Looks a run up; RESOURCE_DOES_NOT_EXIST when missing, and, when
 * 'must_be_active', INVALID_PARAMETER_VALUE for a deleted run. */
static enum srv_err run_lookup(struct conn *c, const char *run_id,
                               bool must_be_active, struct run_state *out,
                               struct errbuf *eb)
{
    sqlite3_stmt *s = stmt(c, S_RUN_LOOKUP);
    if (!s)
        return db_error(c, eb, "run lookup");
    sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            return db_error(c, eb, "run lookup");
        return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                       "Run with id=%s not found", run_id);
    }
    out->run_pk = sqlite3_column_int64(s, 0);
    out->experiment_id = sqlite3_column_int64(s, 1);
    c->last_experiment = out->experiment_id;
    note_run(c, out->run_pk);
    out->deleted =
        strcmp((const char *)sqlite3_column_text(s, 2), "deleted") == 0;
    sqlite3_reset(s);
    if (must_be_active && out->deleted)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "The run %s must be in the 'active' state. Current "
                       "state is deleted.",
                       run_id);
    return SRV_OK;
}

static enum srv_err w_experiment_create(struct conn *c, struct store *st,
                                        struct store_write *w)
{
    sqlite3_stmt *s = stmt(c, S_EXP_BY_NAME);
    if (!s)
        return db_error(c, &w->err, "experiment create");
    sqlite3_bind_text(s, 1, w->name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return err_set(&w->err, SRV_E_RESOURCE_ALREADY_EXISTS,
                       "Experiment(name=%s) already exists. Error: "
                       "the name is taken by an active or deleted "
                       "experiment",
                       w->name);
    if (rc != SQLITE_DONE)
        return db_error(c, &w->err, "experiment create");
    int64_t now = store_now_ms();
    s = stmt(c, S_EXP_INSERT);
    if (!s)
        return db_error(c, &w->err, "experiment create");
    sqlite3_bind_text(s, 1, w->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, w->artifact_location ? w->artifact_location : "",
                      -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_int64(s, 4, now);
    enum srv_err e = step_done(c, s, &w->err, "experiment insert");
    if (e)
        return e;
    w->out_experiment_id = sqlite3_last_insert_rowid(c->db);
    for (size_t i = 0; i < w->n_tags && !e; i++) {
        s = stmt(c, S_EXP_TAG_UPSERT);
        if (!s)
            return db_error(c, &w->err, "experiment tag");
        sqlite3_bind_int64(s, 1, w->out_experiment_id);
        sqlite3_bind_text(s, 2, w->tags[i].key, -1, SQLITE_STATIC);
        bind_ref(s, 3, w->tags[i].value);
        e = step_done(c, s, &w->err, "experiment tag");
    }
    if (e || w->artifact_location)
        return e;
    char loc[4200];
    if (artifact_experiment_location(loc, sizeof(loc), st->serve_artifacts,
                                     st->artifact_root, w->out_experiment_id))
        return err_set(&w->err, SRV_E_INTERNAL, "artifact root path too long");
    s = stmt(c, S_EXP_SET_LOCATION);
    if (!s)
        return db_error(c, &w->err, "experiment create");
    sqlite3_bind_text(s, 1, loc, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, w->out_experiment_id);
    return step_done(c, s, &w->err, "experiment location");
}

static enum srv_err w_experiment_rename(struct conn *c, struct store_write *w)
{
    struct exp_state ex;
    enum srv_err e = exp_lookup(c, w->experiment_id, &ex, &w->err);
    free(ex.artifact_location);
    if (e)
        return e;
    if (!ex.exists)
        return no_experiment(&w->err, w->experiment_id);
    if (ex.deleted)
        return err_set(&w->err, SRV_E_INVALID_STATE,
                       "Cannot rename a non-active experiment.");
    sqlite3_stmt *s = stmt(c, S_EXP_BY_NAME);
    if (!s)
        return db_error(c, &w->err, "experiment rename");
    sqlite3_bind_text(s, 1, w->name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int64_t other = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_reset(s);
    if (rc == SQLITE_ROW && other != w->experiment_id)
        return err_set(&w->err, SRV_E_RESOURCE_ALREADY_EXISTS,
                       "Experiment(name=%s) already exists.", w->name);
    s = stmt(c, S_EXP_RENAME);
    if (!s)
        return db_error(c, &w->err, "experiment rename");
    sqlite3_bind_text(s, 1, w->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, store_now_ms());
    sqlite3_bind_int64(s, 3, w->experiment_id);
    return step_done(c, s, &w->err, "experiment rename");
}

/* Delete or restore an experiment and, as MLflow's SQL store does, its
 * runs. Only a transition is allowed: deleting a deleted experiment or
 * restoring an active one is RESOURCE_DOES_NOT_EXIST. */
static enum srv_err w_experiment_set_stage(struct conn *c,
                                           struct store_write *w, bool delete)
{
    struct exp_state ex;
    enum srv_err e = exp_lookup(c, w->experiment_id, &ex, &w->err);
    free(ex.artifact_location);
    if (e)
        return e;
    if (!ex.exists || ex.deleted != !delete)
        return no_experiment(&w->err, w->experiment_id);
    int64_t now = store_now_ms();
    const char *stage = delete ? "deleted" : "active";
    sqlite3_stmt *s = stmt(c, S_EXP_SET_STAGE);
    if (!s)
        return db_error(c, &w->err, "experiment stage");
    sqlite3_bind_text(s, 1, stage, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int64(s, 3, w->experiment_id);
    if ((e = step_done(c, s, &w->err, "experiment stage")))
        return e;
    s = stmt(c, S_EXP_RUNS_SET_STAGE);
    if (!s)
        return db_error(c, &w->err, "experiment runs stage");
    sqlite3_bind_text(s, 1, stage, -1, SQLITE_STATIC);
    if (delete)
        sqlite3_bind_int64(s, 2, now);
    else
        sqlite3_bind_null(s, 2);
    sqlite3_bind_int64(s, 3, w->experiment_id);
    return step_done(c, s, &w->err, "experiment runs stage");
}

static enum srv_err w_experiment_tag(struct conn *c, struct store_write *w,
                                     bool delete)
{
    struct exp_state ex;
    enum srv_err e = exp_lookup(c, w->experiment_id, &ex, &w->err);
    free(ex.artifact_location);
    if (e)
        return e;
    if (!ex.exists)
        return no_experiment(&w->err, w->experiment_id);
    if (ex.deleted)
        return err_set(&w->err, SRV_E_INVALID_PARAMETER_VALUE,
                       "The experiment %lld must be in the 'active' state. "
                       "Current state is deleted.",
                       (long long)w->experiment_id);
    sqlite3_stmt *s = stmt(c, delete ? S_EXP_TAG_DELETE : S_EXP_TAG_UPSERT);
    if (!s)
        return db_error(c, &w->err, "experiment tag");
    sqlite3_bind_int64(s, 1, w->experiment_id);
    sqlite3_bind_text(s, 2, w->key, -1, SQLITE_STATIC);
    if (!delete)
        sqlite3_bind_text(s, 3, w->value, -1, SQLITE_STATIC);
    if ((e = step_done(c, s, &w->err, "experiment tag")))
        return e;
    if (delete &&sqlite3_changes(c->db) == 0)
        return err_set(&w->err, SRV_E_RESOURCE_DOES_NOT_EXIST,
                       "No tag with name: %s in experiment with id %lld",
                       w->key, (long long)w->experiment_id);
    return SRV_OK;
}

/*---- carbon: per-run totals and the derived greentrack.* metrics ----*/

static char *col_dup(sqlite3_stmt *s, int i);

static enum srv_err grid_row(sqlite3_stmt *s, struct grid_point *p)
{
    memset(p, 0, sizeof(*p));
    p->start_ms = sqlite3_column_int64(s, 0);
    p->end_ms = sqlite3_column_int64(s, 1);
    p->g_per_kwh = sqlite3_column_double(s, 2);
    const char *kind = (const char *)sqlite3_column_text(s, 3);
    p->kind = kind && strcmp(kind, "actual") == 0 ? GRID_ACTUAL : GRID_FORECAST;
    p->fetched_ms = sqlite3_column_int64(s, 4);
    const char *src = (const char *)sqlite3_column_text(s, 5);
    const char *basis = (const char *)sqlite3_column_text(s, 6);
    snprintf(p->source, sizeof(p->source), "%s", src ? src : "");
    snprintf(p->basis, sizeof(p->basis), "%s", basis ? basis : "");
    return SRV_OK;
}

/* Reads the periods of 'zone' overlapping [start_ms, end_ms) with
 * statement S_GRID_POINTS into a new array (caller frees). */
static enum srv_err grid_read(struct conn *c, const char *zone,
                              const char *source, const char *kind,
                              int64_t start_ms, int64_t end_ms, size_t limit,
                              struct grid_point **out, size_t *n,
                              struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s = stmt(c, S_GRID_POINTS);
    if (!s)
        return db_error(c, eb, "grid intensity");
    sqlite3_bind_text(s, 1, zone, -1, SQLITE_TRANSIENT);
    if (source)
        sqlite3_bind_text(s, 2, source, -1, SQLITE_TRANSIENT);
    if (kind)
        sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, start_ms);
    sqlite3_bind_int64(s, 5, end_ms);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)limit);
    struct grid_point *a = NULL;
    size_t cap = 0, m = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (m == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct grid_point *na = realloc(a, nc * sizeof(*a));
            if (!na) {
                sqlite3_reset(s);
                free(a);
                return err_set(eb, SRV_E_NOMEM, "out of memory");
            }
            a = na;
            cap = nc;
        }
        grid_row(s, &a[m++]);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        free(a);
        return db_error(c, eb, "grid intensity");
    }
    *out = a;
    *n = m;
    return SRV_OK;
}

/* Zone accounting: spreads the run's samples that carry no measured
 * intensity over the recorded periods of its zone (actual before
 * forecast; see grid_timeline), in proportion to time overlap, into
 * out->zone_cover. Samples outside every period stay with the static
 * table. */
static enum srv_err zone_cover(struct conn *c, int64_t run_pk,
                               struct run_carbon *out, struct errbuf *eb)
{
    struct grid_point *pts, *tl = NULL;
    size_t n;
    enum srv_err e = grid_read(c, out->zone, NULL, NULL, out->first_start,
                               out->last_end, 1000000, &pts, &n, eb);
    if (e || n == 0)
        return e;
    size_t m = grid_timeline(pts, n, &tl);
    free(pts);
    if (m == (size_t)-1)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    sqlite3_stmt *s = stmt(c, S_PLAIN_SAMPLES);
    if (!s) {
        free(tl);
        return db_error(c, eb, "zone accounting");
    }
    sqlite3_bind_int64(s, 1, run_pk);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        grid_cover_add(&out->zone_cover, tl, m, sqlite3_column_int64(s, 0),
                       sqlite3_column_int64(s, 1), sqlite3_column_double(s, 2));
    sqlite3_reset(s);
    free(tl);
    return rc == SQLITE_DONE ? SRV_OK : db_error(c, eb, "zone accounting");
}

/* Reads run_energy and the location tags of a run into 'out' (zeroed
 * first); out->has_energy is false when the run has no samples. */
static enum srv_err read_run_carbon(struct conn *c, int64_t run_pk,
                                    bool with_zone, struct run_carbon *out,
                                    struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = stmt(c, S_RUN_ENERGY_GET);
    if (!s)
        return db_error(c, eb, "run energy");
    sqlite3_bind_int64(s, 1, run_pk);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->has_energy = true;
        out->cpu_j = sqlite3_column_double(s, 0);
        out->gpu_j = sqlite3_column_double(s, 1);
        out->ram_j = sqlite3_column_double(s, 2);
        out->other_j = sqlite3_column_double(s, 3);
        out->plain_j = sqlite3_column_double(s, 4);
        out->measured_j = sqlite3_column_double(s, 5);
        out->measured_gj = sqlite3_column_double(s, 6);
        out->first_start = sqlite3_column_int64(s, 7);
        out->last_end = sqlite3_column_int64(s, 8);
        out->samples = sqlite3_column_int64(s, 9);
        out->estimated_samples = sqlite3_column_int64(s, 10);
        /* totals kept by adding and subtracting samples: a replaced
         * sample may leave a rounding residue just below zero */
        double *sums[] = {&out->cpu_j,      &out->gpu_j,   &out->ram_j,
                          &out->other_j,    &out->plain_j, &out->measured_j,
                          &out->measured_gj};
        for (size_t i = 0; i < sizeof(sums) / sizeof(*sums); i++) {
            if (*sums[i] < 0)
                *sums[i] = 0;
        }
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_error(c, eb, "run energy");
    s = stmt(c, S_RUN_LOCATION_TAGS);
    if (!s)
        return db_error(c, eb, "run location");
    sqlite3_bind_int64(s, 1, run_pk);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *k =
            (const char *)sqlite3_column_text(s, 0) + sizeof("greentrack.") - 1;
        char **slot = strcmp(k, "country") == 0          ? &out->country
                      : strcmp(k, "region") == 0         ? &out->region
                      : strcmp(k, "cloud_provider") == 0 ? &out->cloud_provider
                      : strcmp(k, "cloud_region") == 0   ? &out->cloud_region
                      : strcmp(k, "zone") == 0           ? &out->zone
                                                         : &out->pue_tag;
        free(*slot);
        *slot = col_dup(s, 1);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        run_carbon_cleanup(out);
        return db_error(c, eb, "run location");
    }
    enum srv_err e = SRV_OK;
    if (with_zone && out->zone && out->has_energy && out->plain_j > 0 &&
        (e = zone_cover(c, run_pk, out, eb)))
        run_carbon_cleanup(out);
    return e;
}

void run_carbon_cleanup(struct run_carbon *rc)
{
    if (!rc)
        return;
    free(rc->country);
    free(rc->region);
    free(rc->cloud_provider);
    free(rc->cloud_region);
    free(rc->pue_tag);
    free(rc->cpu_methods);
    free(rc->gpu_methods);
    free(rc->ram_methods);
    free(rc->scopes);
    free(rc->intensity_sources);
    free(rc->zone);
    memset(rc, 0, sizeof(*rc));
}

void run_carbon_energy(const struct run_carbon *rc, struct carbon_energy *out)
{
    double zone_j = rc->zone_cover.covered_j;
    out->plain_j = rc->plain_j - zone_j > 0 ? rc->plain_j - zone_j : 0;
    out->measured_j = rc->measured_j + zone_j;
    out->measured_g_per_kwh_j = rc->measured_gj + rc->zone_cover.covered_gj;
}

static bool is_location_tag(const char *key)
{
    static const char *const keys[] = {"greentrack.country",
                                       "greentrack.region",
                                       "greentrack.cloud_provider",
                                       "greentrack.cloud_region",
                                       "greentrack.pue",
                                       "greentrack.zone"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
        if (strcmp(key, keys[i]) == 0)
            return true;
    }
    return false;
}

/* Rewrites the derived latest metrics greentrack.energy_kwh and
 * greentrack.co2_kg of a run from its totals and current location, so
 * search, filters and ordering see CO2 like any metric. */
/* A change to a run's samples without a measured intensity: 'joules'
 * over [start, end) added (sign 1) or removed by a resend (sign -1). */
struct plain_delta {
    int64_t start, end;
    double joules;
    int sign;
};

static void cover_sub(struct grid_cover *acc, const struct grid_cover *x)
{
    acc->covered_j -= x->covered_j;
    acc->covered_gj -= x->covered_gj;
    acc->actual_j -= x->actual_j;
    acc->forecast_j -= x->forecast_j;
    acc->uncovered_j -= x->uncovered_j;
    for (int i = 0; i < GRID_COVER_SOURCES; i++) {
        acc->source_j[i][0] -= x->source_j[i][0];
        acc->source_j[i][1] -= x->source_j[i][1];
    }
}

/* Applies 'd' (n of them) to a memoized cover: the periods they touch are
 * read, the added samples' cover is added and the removed ones' taken
 * away. */
static enum srv_err cover_apply(struct conn *c, const char *zone,
                                struct grid_cover *cover,
                                const struct plain_delta *d, size_t n,
                                struct errbuf *eb)
{
    if (n == 0)
        return SRV_OK;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        lo = d[i].start < lo ? d[i].start : lo;
        hi = d[i].end > hi ? d[i].end : hi;
    }
    struct grid_point *pts, *tl = NULL;
    size_t np;
    enum srv_err e =
        grid_read(c, zone, NULL, NULL, lo, hi, 1000000, &pts, &np, eb);
    if (e)
        return e;
    size_t m = grid_timeline(pts, np, &tl);
    free(pts);
    if (m == (size_t)-1)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    struct grid_cover gone;
    memset(&gone, 0, sizeof(gone));
    for (size_t i = 0; i < n; i++)
        grid_cover_add(d[i].sign > 0 ? cover : &gone, tl, m, d[i].start,
                       d[i].end, d[i].joules);
    for (int i = 0; i < GRID_COVER_SOURCES; i++) {
        if (!cover->basis[i][0] && gone.basis[i][0])
            memcpy(cover->basis[i], gone.basis[i], sizeof(cover->basis[i]));
    }
    cover_sub(cover, &gone);
    free(tl);
    return SRV_OK;
}

/* The zone cover of run 'pk' (writer): the memo plus 'deltas' when the
 * memo is current and deltas are given, else spread from every sample
 * (and memoized). */
static enum srv_err writer_zone_cover(struct store *st, int64_t pk,
                                      struct run_carbon *rc,
                                      const struct plain_delta *deltas,
                                      size_t n_deltas, struct errbuf *eb)
{
    struct zone_memo *z = &st->zone_memo[(uint64_t)pk % ZONE_MEMO_SLOTS];
    enum srv_err e;
    if (deltas && z->run_pk == pk && z->grid_gen == st->grid_gen &&
        strcmp(z->zone, rc->zone) == 0) {
        if ((e = cover_apply(st->writer, rc->zone, &z->cover, deltas, n_deltas,
                             eb))) {
            z->run_pk = 0;
            return e;
        }
        rc->zone_cover = z->cover;
        return SRV_OK;
    }
    z->run_pk = 0;
    memset(&rc->zone_cover, 0, sizeof(rc->zone_cover));
    if (rc->plain_j > 0 && (e = zone_cover(st->writer, pk, rc, eb)))
        return e;
    if (strlen(rc->zone) < sizeof(z->zone)) {
        z->run_pk = pk;
        z->grid_gen = st->grid_gen;
        memcpy(z->zone, rc->zone, strlen(rc->zone) + 1);
        z->cover = rc->zone_cover;
    }
    return SRV_OK;
}

static enum srv_err refresh_derived_delta(struct store *st, int64_t run_pk,
                                          const struct plain_delta *deltas,
                                          size_t n_deltas, struct errbuf *eb)
{
    struct conn *c = st->writer;
    struct run_carbon rc;
    enum srv_err e = read_run_carbon(c, run_pk, false, &rc, eb);
    if (!e && rc.zone && rc.has_energy)
        e = writer_zone_cover(st, run_pk, &rc, deltas, n_deltas, eb);
    if (e || !rc.has_energy) {
        run_carbon_cleanup(&rc);
        return e;
    }
    struct carbon_run_input in = {
        .location = {rc.country, rc.region, rc.cloud_provider, rc.cloud_region},
        .pue_tag = rc.pue_tag,
        .default_pue = st->default_pue,
    };
    run_carbon_energy(&rc, &in.energy);
    if (rc.zone)
        st->zone_dirty = true;
    struct carbon_run_result res;
    carbon_account(&in, &res);
    const struct {
        const char *key;
        double value;
    } derived[] = {{"greentrack.energy_kwh", res.energy_kwh},
                   {"greentrack.co2_kg", res.co2_g / 1000.0}};
    for (size_t i = 0; i < 2 && !e; i++) {
        sqlite3_stmt *s = stmt(c, S_LATEST_SET);
        if (!s) {
            e = db_error(c, eb, "derived metric");
            break;
        }
        sqlite3_bind_int64(s, 1, run_pk);
        sqlite3_bind_text(s, 2, derived[i].key, -1, SQLITE_STATIC);
        sqlite3_bind_double(s, 3, derived[i].value);
        sqlite3_bind_int64(s, 4, rc.last_end);
        e = step_done(c, s, eb, "derived metric");
    }
    run_carbon_cleanup(&rc);
    return e;
}

/* The same after a change that is not a list of samples (a location tag,
 * new grid data): the zone cover is spread from every sample again. */
static enum srv_err refresh_derived_metrics(struct store *st, int64_t run_pk,
                                            struct errbuf *eb)
{
    return refresh_derived_delta(st, run_pk, NULL, 0, eb);
}

static enum srv_err tag_upsert(struct conn *c, int64_t run_pk, const char *key,
                               struct strref value, struct errbuf *eb)
{
    sqlite3_stmt *s = stmt(c, S_TAG_UPSERT);
    if (!s)
        return db_error(c, eb, "tag upsert");
    sqlite3_bind_int64(s, 1, run_pk);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    bind_ref(s, 3, value);
    enum srv_err e = step_done(c, s, eb, "tag upsert");
    if (e || strcmp(key, "mlflow.runName") != 0)
        return e;
    /* The run name and its tag are one value, as in MLflow. */
    s = stmt(c, S_RUN_UPDATE);
    if (!s)
        return db_error(c, eb, "run rename");
    bind_ref(s, 3, value);
    sqlite3_bind_int64(s, 4, run_pk);
    return step_done(c, s, eb, "run rename");
}

static enum srv_err w_run_create(struct conn *c, struct store_write *w)
{
    struct exp_state ex;
    enum srv_err e = exp_lookup(c, w->experiment_id, &ex, &w->err);
    if (e)
        goto out;
    if (!ex.exists) {
        e = no_experiment(&w->err, w->experiment_id);
        goto out;
    }
    if (ex.deleted) {
        e = err_set(&w->err, SRV_E_INVALID_PARAMETER_VALUE,
                    "The experiment %lld must be in the 'active' state. "
                    "Current state is deleted.",
                    (long long)w->experiment_id);
        goto out;
    }
    struct run_state rs;
    struct errbuf ignored;
    e = run_lookup(c, w->run_id, false, &rs, &ignored);
    if (e == SRV_OK) {
        /* A client-chosen id that exists: the retry of a create. */
        if (rs.experiment_id != w->experiment_id)
            e = err_set(&w->err, SRV_E_INVALID_PARAMETER_VALUE,
                        "Run with id=%s already exists in experiment %lld",
                        w->run_id, (long long)rs.experiment_id);
        goto out;
    }
    if (e != SRV_E_RESOURCE_DOES_NOT_EXIST) {
        w->err = ignored;
        goto out;
    }
    char uri[4300];
    if (artifact_run_uri(uri, sizeof(uri), ex.artifact_location, w->run_id)) {
        e = err_set(&w->err, SRV_E_INVALID_PARAMETER_VALUE,
                    "The experiment's artifact location is too long");
        goto out;
    }
    sqlite3_stmt *s = stmt(c, S_RUN_INSERT);
    if (!s) {
        e = db_error(c, &w->err, "run insert");
        goto out;
    }
    sqlite3_bind_text(s, 1, w->run_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, w->experiment_id);
    bind_str(s, 3, w->name ? w->name : "");
    bind_str(s, 4, w->user_id ? w->user_id : "");
    sqlite3_bind_int64(s, 5, w->start_time);
    sqlite3_bind_text(s, 6, uri, -1, SQLITE_TRANSIENT);
    if ((e = step_done(c, s, &w->err, "run insert")))
        goto out;
    int64_t run_pk = sqlite3_last_insert_rowid(c->db);
    note_run(c, run_pk);
    if (w->n_tags)
        e = store_greenai_check_tags(c, w->run_id, w->tags, w->n_tags, &w->err);
    for (size_t i = 0; i < w->n_tags && !e; i++)
        e = tag_upsert(c, run_pk, w->tags[i].key, w->tags[i].value, &w->err);
out:
    free(ex.artifact_location);
    return e;
}

static enum srv_err w_run_update(struct conn *c, struct store_write *w)
{
    struct run_state rs;
    enum srv_err e = run_lookup(c, w->run_id, true, &rs, &w->err);
    if (e)
        return e;
    sqlite3_stmt *s = stmt(c, S_RUN_UPDATE);
    if (!s)
        return db_error(c, &w->err, "run update");
    if (w->has_status)
        sqlite3_bind_text(s, 1, run_status_names[w->status], -1, SQLITE_STATIC);
    if (w->has_end_time)
        sqlite3_bind_int64(s, 2, w->end_time);
    if (w->name)
        sqlite3_bind_text(s, 3, w->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, rs.run_pk);
    if ((e = step_done(c, s, &w->err, "run update")))
        return e;
    if (w->name) {
        struct strref v = {w->name, strlen(w->name)};
        e = tag_upsert(c, rs.run_pk, "mlflow.runName", v, &w->err);
    }
    return e;
}

static enum srv_err w_run_set_stage(struct conn *c, struct store_write *w,
                                    bool delete)
{
    struct run_state rs;
    enum srv_err e = run_lookup(c, w->run_id, false, &rs, &w->err);
    if (e)
        return e;
    sqlite3_stmt *s = stmt(c, S_RUN_SET_STAGE);
    if (!s)
        return db_error(c, &w->err, "run stage");
    sqlite3_bind_text(s, 1, delete ? "deleted" : "active", -1, SQLITE_STATIC);
    if (delete)
        sqlite3_bind_int64(s, 2, store_now_ms());
    sqlite3_bind_int64(s, 3, rs.run_pk);
    return step_done(c, s, &w->err, "run stage");
}

/* Param immutability: the whole request is checked before anything is
 * written, and the message keeps MLflow's wording, which clients match. */
static enum srv_err check_params(struct conn *c, struct store_write *w,
                                 int64_t run_pk, bool *skip)
{
    struct strbuf conflicts;
    strbuf_init(&conflicts);
    size_t n_conflicts = 0;
    enum srv_err e = SRV_OK;
    for (size_t i = 0; i < w->n_params; i++) {
        sqlite3_stmt *s = stmt(c, S_PARAM_GET);
        if (!s)
            return db_error(c, &w->err, "param check");
        sqlite3_bind_int64(s, 1, run_pk);
        sqlite3_bind_text(s, 2, w->params[i].key, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        skip[i] = false;
        if (rc == SQLITE_ROW) {
            const char *old = (const char *)sqlite3_column_text(s, 0);
            size_t oldlen = (size_t)sqlite3_column_bytes(s, 0);
            struct strref nv = w->params[i].value;
            if (oldlen == nv.len && memcmp(old, nv.s, nv.len) == 0) {
                skip[i] = true;
            } else if (w->single_param) {
                err_set(&w->err, SRV_E_INVALID_PARAMETER_VALUE,
                        "Changing param values is not allowed. Param with "
                        "key='%s' was already logged with value='%.100s' "
                        "for run ID='%s'. Attempted logging new value "
                        "'%.*s'.",
                        w->params[i].key, old, w->run_id,
                        (int)(nv.len > 100 ? 100 : nv.len), nv.s);
                e = SRV_E_INVALID_PARAMETER_VALUE;
            } else {
                strbuf_printf(&conflicts,
                              "%s{'key': '%s', 'old_value': '%.100s', "
                              "'new_value': '%.*s'}",
                              n_conflicts ? ", " : "", w->params[i].key, old,
                              (int)(nv.len > 100 ? 100 : nv.len), nv.s);
                n_conflicts++;
            }
        } else if (rc != SQLITE_DONE) {
            e = db_error(c, &w->err, "param check");
        }
        sqlite3_reset(s);
        if (e)
            break;
    }
    if (!e && n_conflicts)
        e = err_set(&w->err, SRV_E_INVALID_PARAMETER_VALUE,
                    "Changing param values is not allowed. Params were "
                    "already logged='[%s]' for run ID='%s'.",
                    conflicts.buf ? conflicts.buf : "", w->run_id);
    strbuf_cleanup(&conflicts);
    return e;
}

/* The latest point of each key in this request (greatest step, timestamp,
 * value), so latest_metrics gets one upsert per key, not per point. */
static int latest_cmp(const struct metric_in *a, const struct metric_in *b)
{
    double av = isnan(a->value) ? 0 : a->value;
    double bv = isnan(b->value) ? 0 : b->value;
    if (a->step != b->step)
        return a->step < b->step ? -1 : 1;
    if (a->timestamp != b->timestamp)
        return a->timestamp < b->timestamp ? -1 : 1;
    return av < bv ? -1 : av > bv;
}

static enum srv_err w_run_log(struct conn *c, struct store_write *w)
{
    struct run_state rs;
    enum srv_err e = run_lookup(c, w->run_id, true, &rs, &w->err);
    if (e)
        return e;
    bool skip_small[16];
    bool *skip =
        w->n_params <= 16 ? skip_small : calloc(w->n_params, sizeof(bool));
    if (!skip)
        return err_set(&w->err, SRV_E_NOMEM, "out of memory");
    if ((e = check_params(c, w, rs.run_pk, skip)))
        goto out;
    for (size_t i = 0; i < w->n_params && !e; i++) {
        if (skip[i])
            continue;
        sqlite3_stmt *s = stmt(c, S_PARAM_INSERT);
        if (!s) {
            e = db_error(c, &w->err, "param insert");
            break;
        }
        sqlite3_bind_int64(s, 1, rs.run_pk);
        sqlite3_bind_text(s, 2, w->params[i].key, -1, SQLITE_STATIC);
        bind_ref(s, 3, w->params[i].value);
        e = step_done(c, s, &w->err, "param insert");
    }
    if (e)
        goto out;

    sqlite3_stmt *ins = w->n_metrics ? stmt(c, S_METRIC_INSERT) : NULL;
    if (w->n_metrics && !ins) {
        e = db_error(c, &w->err, "metric insert");
        goto out;
    }
    /* Latest per key: keys in a batch are few, so a linear table works. */
    const struct metric_in *latest_small[32];
    const struct metric_in **latest = latest_small;
    size_t n_latest = 0, cap_latest = 32;
    for (size_t i = 0; i < w->n_metrics; i++) {
        const struct metric_in *m = &w->metrics[i];
        bool nan = isnan(m->value);
        sqlite3_bind_int64(ins, 1, rs.run_pk);
        sqlite3_bind_text(ins, 2, m->key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 3, m->timestamp);
        sqlite3_bind_int64(ins, 4, m->step);
        sqlite3_bind_double(ins, 5, nan ? 0.0 : m->value);
        sqlite3_bind_int(ins, 6, nan);
        int rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (rc != SQLITE_DONE) {
            e = db_error(c, &w->err, "metric insert");
            break;
        }
        size_t k = 0;
        while (k < n_latest && strcmp(latest[k]->key, m->key) != 0)
            k++;
        if (k == n_latest) {
            if (n_latest == cap_latest) {
                size_t ncap = cap_latest * 4;
                const struct metric_in **p =
                    latest == latest_small ? malloc(ncap * sizeof(*p))
                                           : realloc(latest, ncap * sizeof(*p));
                if (!p) {
                    e = err_set(&w->err, SRV_E_NOMEM, "out of memory");
                    break;
                }
                if (latest == latest_small)
                    memcpy(p, latest_small, sizeof(latest_small));
                latest = p;
                cap_latest = ncap;
            }
            latest[n_latest++] = m;
        } else if (latest_cmp(m, latest[k]) > 0) {
            latest[k] = m;
        }
    }
    for (size_t k = 0; k < n_latest && !e; k++) {
        const struct metric_in *m = latest[k];
        bool nan = isnan(m->value);
        sqlite3_stmt *s = stmt(c, S_LATEST_UPSERT);
        if (!s) {
            e = db_error(c, &w->err, "latest metric");
            break;
        }
        sqlite3_bind_int64(s, 1, rs.run_pk);
        sqlite3_bind_text(s, 2, m->key, -1, SQLITE_STATIC);
        sqlite3_bind_double(s, 3, nan ? 0.0 : m->value);
        sqlite3_bind_int64(s, 4, m->timestamp);
        sqlite3_bind_int64(s, 5, m->step);
        sqlite3_bind_int(s, 6, nan);
        e = step_done(c, s, &w->err, "latest metric");
    }
    if (latest != latest_small)
        free(latest);
    if (!e && w->n_tags)
        e = store_greenai_check_tags(c, w->run_id, w->tags, w->n_tags, &w->err);
    for (size_t i = 0; i < w->n_tags && !e; i++)
        e = tag_upsert(c, rs.run_pk, w->tags[i].key, w->tags[i].value, &w->err);
out:
    if (skip != skip_small)
        free(skip);
    return e;
}

static enum srv_err w_run_delete_tag(struct conn *c, struct store_write *w)
{
    struct run_state rs;
    enum srv_err e = run_lookup(c, w->run_id, true, &rs, &w->err);
    if (e)
        return e;
    sqlite3_stmt *s = stmt(c, S_TAG_DELETE);
    if (!s)
        return db_error(c, &w->err, "tag delete");
    sqlite3_bind_int64(s, 1, rs.run_pk);
    sqlite3_bind_text(s, 2, w->key, -1, SQLITE_STATIC);
    if ((e = step_done(c, s, &w->err, "tag delete")))
        return e;
    if (sqlite3_changes(c->db) == 0)
        return err_set(&w->err, SRV_E_RESOURCE_DOES_NOT_EXIST,
                       "No tag with name: %s in run with id %s", w->key,
                       w->run_id);
    return SRV_OK;
}

static enum srv_err dataset_pk_for(struct conn *c, int64_t experiment_id,
                                   const struct dataset_in *d, int64_t *pk,
                                   struct errbuf *eb)
{
    sqlite3_stmt *s = stmt(c, S_DATASET_FIND);
    if (!s)
        return db_error(c, eb, "dataset find");
    sqlite3_bind_int64(s, 1, experiment_id);
    sqlite3_bind_text(s, 2, d->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, d->digest, -1, SQLITE_STATIC);
    bool found;
    enum srv_err e = step_int64(c, s, pk, &found, eb, "dataset find");
    if (e || found)
        return e;
    s = stmt(c, S_DATASET_INSERT);
    if (!s)
        return db_error(c, eb, "dataset insert");
    sqlite3_bind_int64(s, 1, experiment_id);
    bind_str(s, 2, d->name);
    bind_str(s, 3, d->digest);
    bind_str(s, 4, d->source_type);
    bind_str(s, 5, d->source);
    bind_str(s, 6, d->schema);
    bind_str(s, 7, d->profile);
    e = step_done(c, s, eb, "dataset insert");
    if (!e)
        *pk = sqlite3_last_insert_rowid(c->db);
    return e;
}

static enum srv_err w_run_log_inputs(struct conn *c, struct store_write *w)
{
    struct run_state rs;
    enum srv_err e = run_lookup(c, w->run_id, true, &rs, &w->err);
    for (size_t i = 0; i < w->n_datasets && !e; i++) {
        const struct dataset_in *d = &w->datasets[i];
        int64_t pk = 0;
        if ((e = dataset_pk_for(c, rs.experiment_id, d, &pk, &w->err)))
            break;
        sqlite3_stmt *s = stmt(c, S_RUN_INPUT_INSERT);
        if (!s)
            return db_error(c, &w->err, "run input");
        sqlite3_bind_int64(s, 1, rs.run_pk);
        sqlite3_bind_int64(s, 2, pk);
        if ((e = step_done(c, s, &w->err, "run input")))
            break;
        for (size_t t = 0; t < d->n_tags && !e; t++) {
            s = stmt(c, S_INPUT_TAG_UPSERT);
            if (!s)
                return db_error(c, &w->err, "input tag");
            sqlite3_bind_int64(s, 1, rs.run_pk);
            sqlite3_bind_int64(s, 2, pk);
            sqlite3_bind_text(s, 3, d->tags[t].key, -1, SQLITE_STATIC);
            bind_ref(s, 4, d->tags[t].value);
            e = step_done(c, s, &w->err, "input tag");
        }
    }
    for (size_t i = 0; i < w->n_model_ids && !e; i++) {
        sqlite3_stmt *s = stmt(c, S_MODEL_INPUT_INSERT);
        if (!s)
            return db_error(c, &w->err, "model input");
        sqlite3_bind_int64(s, 1, rs.run_pk);
        sqlite3_bind_text(s, 2, w->model_ids[i], -1, SQLITE_STATIC);
        e = step_done(c, s, &w->err, "model input");
    }
    return e;
}

/* log-model appends the model dict to the JSON-array tag
 * mlflow.log-model.history, as MLflow's store does. */
static enum srv_err w_run_log_model(struct conn *c, struct store_write *w)
{
    struct run_state rs;
    enum srv_err e = run_lookup(c, w->run_id, true, &rs, &w->err);
    if (e)
        return e;
    sqlite3_stmt *s = stmt(c, S_TAG_GET);
    if (!s)
        return db_error(c, &w->err, "log model");
    sqlite3_bind_int64(s, 1, rs.run_pk);
    sqlite3_bind_text(s, 2, "mlflow.log-model.history", -1, SQLITE_STATIC);
    cJSON *history = NULL;
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *old = (const char *)sqlite3_column_text(s, 0);
        history = old ? cJSON_Parse(old) : NULL;
        if (history && !cJSON_IsArray(history)) {
            cJSON_Delete(history);
            history = NULL;
        }
    }
    sqlite3_reset(s);
    if (!history)
        history = cJSON_CreateArray();
    cJSON *model = cJSON_Parse(w->model_json);
    char *text = NULL;
    if (!history || !model || !cJSON_AddItemToArray(history, model)) {
        cJSON_Delete(model);
        e = err_set(&w->err, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    text = cJSON_PrintUnformatted(history);
    if (!text) {
        e = err_set(&w->err, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    struct strref v = {text, strlen(text)};
    e = tag_upsert(c, rs.run_pk, "mlflow.log-model.history", v, &w->err);
out:
    cJSON_free(text);
    cJSON_Delete(history);
    return e;
}

/* log-energy: samples replace earlier ones with the same (run, start,
 * end), so resends are harmless; then the run's totals and its derived
 * greentrack.* metrics are brought up to date. */
/* One sample's share of the run_energy totals. */
struct energy_delta {
    double cpu_j, gpu_j, ram_j, other_j, plain_j, measured_j, measured_gj;
    int64_t samples, estimated;
};

static void delta_add(struct energy_delta *d, double sign, double cpu_j,
                      double gpu_j, double ram_j, double other_j,
                      bool has_intensity, double intensity, bool estimated)
{
    double all = cpu_j + gpu_j + ram_j + other_j;
    d->cpu_j += sign * cpu_j;
    d->gpu_j += sign * gpu_j;
    d->ram_j += sign * ram_j;
    d->other_j += sign * other_j;
    if (has_intensity) {
        d->measured_j += sign * all;
        d->measured_gj += sign * all * intensity;
    } else {
        d->plain_j += sign * all;
    }
    d->samples += sign > 0 ? 1 : -1;
    d->estimated += estimated ? (sign > 0 ? 1 : -1) : 0;
}

/* Subtracts from 'd' the sample a resend replaces, if there is one, and
 * records it in 'pd' (*n_pd grows) when it had no measured intensity. */
static enum srv_err delta_old(struct conn *c, int64_t run_pk,
                              const struct energy_sample_in *x,
                              struct energy_delta *d, struct plain_delta *pd,
                              size_t *n_pd, struct errbuf *eb)
{
    sqlite3_stmt *s = stmt(c, S_ENERGY_OLD);
    if (!s)
        return db_error(c, eb, "energy sample");
    sqlite3_bind_int64(s, 1, run_pk);
    sqlite3_bind_int64(s, 2, x->start_time);
    sqlite3_bind_int64(s, 3, x->end_time);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        double j[4];
        for (int k = 0; k < 4; k++)
            j[k] = sqlite3_column_double(s, k);
        bool measured = sqlite3_column_type(s, 4) != SQLITE_NULL;
        delta_add(d, -1, j[0], j[1], j[2], j[3], measured,
                  sqlite3_column_double(s, 4), sqlite3_column_int(s, 5) != 0);
        if (!measured)
            pd[(*n_pd)++] = (struct plain_delta){x->start_time, x->end_time,
                                                 j[0] + j[1] + j[2] + j[3], -1};
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? SRV_OK
               : db_error(c, eb, "energy sample");
}

/* log-energy: samples replace earlier ones with the same (run, start,
 * end), so resends are harmless. The run's totals (run_energy) change by
 * what each sample adds minus what it replaces, so a write costs the same
 * however many samples the run already has; then its derived greentrack.*
 * metrics are brought up to date. */
static enum srv_err w_run_log_energy(struct store *st, struct store_write *w)
{
    struct conn *c = st->writer;
    struct run_state rs;
    struct energy_delta d = {0};
    int64_t first = INT64_MAX, last = INT64_MIN;
    enum srv_err e = run_lookup(c, w->run_id, true, &rs, &w->err);
    if (e)
        return e;
    /* the samples' own changes, for a zoned run's memoized cover */
    size_t n_pd = 0;
    struct plain_delta *pd = malloc((2 * w->n_samples + 1) * sizeof(*pd));
    if (!pd)
        return err_set(&w->err, SRV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < w->n_samples && !e; i++) {
        const struct energy_sample_in *x = &w->samples[i];
        if ((e = delta_old(c, rs.run_pk, x, &d, pd, &n_pd, &w->err)))
            break;
        sqlite3_stmt *s = stmt(c, S_ENERGY_UPSERT);
        if (!s) {
            e = db_error(c, &w->err, "energy sample");
            break;
        }
        sqlite3_bind_int64(s, 1, rs.run_pk);
        sqlite3_bind_int64(s, 2, x->start_time);
        sqlite3_bind_int64(s, 3, x->end_time);
        sqlite3_bind_double(s, 4, x->cpu_j);
        sqlite3_bind_double(s, 5, x->gpu_j);
        sqlite3_bind_double(s, 6, x->ram_j);
        sqlite3_bind_double(s, 7, x->other_j);
        bind_str(s, 8, x->cpu_method);
        bind_str(s, 9, x->gpu_method);
        bind_str(s, 10, x->ram_method);
        bind_str(s, 11, x->scope);
        if (x->has_intensity)
            sqlite3_bind_double(s, 12, x->intensity_g_per_kwh);
        bind_str(s, 13, x->has_intensity ? x->intensity_source : NULL);
        /* Estimated: CPU or GPU energy that no hardware counter measured
         * (the RAM model alone does not make a run estimated). */
        bool cpu_counter = strcmp(x->cpu_method, "rapl") == 0;
        bool gpu_counter = strcmp(x->gpu_method, "nvml-energy") == 0;
        bool estimated =
            (x->cpu_j > 0 && !cpu_counter) || (x->gpu_j > 0 && !gpu_counter);
        sqlite3_bind_int(s, 14, estimated);
        e = step_done(c, s, &w->err, "energy sample");
        delta_add(&d, 1, x->cpu_j, x->gpu_j, x->ram_j, x->other_j,
                  x->has_intensity, x->intensity_g_per_kwh, estimated);
        if (!x->has_intensity)
            pd[n_pd++] = (struct plain_delta){
                x->start_time, x->end_time,
                x->cpu_j + x->gpu_j + x->ram_j + x->other_j, 1};
        if (x->start_time < first)
            first = x->start_time;
        if (x->end_time > last)
            last = x->end_time;
    }
    if (e || w->n_samples == 0) {
        free(pd);
        return e;
    }
    sqlite3_stmt *s = stmt(c, S_RUN_ENERGY_ADD);
    if (!s) {
        free(pd);
        return db_error(c, &w->err, "run energy");
    }
    sqlite3_bind_int64(s, 1, rs.run_pk);
    sqlite3_bind_double(s, 2, d.cpu_j);
    sqlite3_bind_double(s, 3, d.gpu_j);
    sqlite3_bind_double(s, 4, d.ram_j);
    sqlite3_bind_double(s, 5, d.other_j);
    sqlite3_bind_double(s, 6, d.plain_j);
    sqlite3_bind_double(s, 7, d.measured_j);
    sqlite3_bind_double(s, 8, d.measured_gj);
    sqlite3_bind_int64(s, 9, first);
    sqlite3_bind_int64(s, 10, last);
    sqlite3_bind_int64(s, 11, d.samples);
    sqlite3_bind_int64(s, 12, d.estimated);
    if (!(e = step_done(c, s, &w->err, "run energy")))
        e = refresh_derived_delta(st, rs.run_pk, pd, n_pd, &w->err);
    free(pd);
    return e;
}

/* Records fetched grid periods of one zone (all of one source and kind
 * per call site, though any mix works). Each (source, kind) batch
 * replaces the older periods it overlaps, so a provider that moved its
 * period boundaries leaves no stale overlaps behind. The runs tagged with
 * the zone whose energy overlaps a period that changed are recomputed;
 * w->out_count says how many. */
static enum srv_err w_grid_record(struct store *st, struct store_write *w)
{
    struct conn *c = st->writer;
    st->grid_gen++; /* zone covers memoized so far may change */
    enum srv_err e = SRV_OK;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    bool changed = false;
    for (size_t i = 0; i < w->n_grid_points && !e; i++) {
        const struct grid_point *p = &w->grid_points[i];
        const char *kind = grid_kind_name(p->kind);
        sqlite3_stmt *s = stmt(c, S_GRID_GET_ONE);
        if (!s)
            return db_error(c, &w->err, "grid intensity");
        sqlite3_bind_text(s, 1, w->zone, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, p->source, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, p->start_ms);
        int rc = sqlite3_step(s);
        bool same = rc == SQLITE_ROW &&
                    sqlite3_column_double(s, 0) == p->g_per_kwh &&
                    sqlite3_column_int64(s, 1) == p->end_ms;
        sqlite3_reset(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return db_error(c, &w->err, "grid intensity");
        if (!same) {
            changed = true;
            if (p->start_ms < lo)
                lo = p->start_ms;
            if (p->end_ms > hi)
                hi = p->end_ms;
        }
        if (!(s = stmt(c, S_GRID_UPSERT)))
            return db_error(c, &w->err, "grid intensity");
        sqlite3_bind_text(s, 1, w->zone, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, p->source, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, p->basis, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, kind, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, p->start_ms);
        sqlite3_bind_int64(s, 6, p->end_ms);
        sqlite3_bind_double(s, 7, p->g_per_kwh);
        sqlite3_bind_int64(s, 8, p->fetched_ms);
        e = step_done(c, s, &w->err, "grid intensity");
    }
    /* Older periods inside each batch's span that the batch did not
     * repeat (boundaries moved) are dropped. */
    for (size_t i = 0; i < w->n_grid_points && !e; i++) {
        const struct grid_point *p = &w->grid_points[i];
        bool first = true;
        int64_t a = p->start_ms, b = p->end_ms;
        for (size_t j = 0; j < w->n_grid_points; j++) {
            const struct grid_point *q = &w->grid_points[j];
            if (q->kind != p->kind || strcmp(q->source, p->source) != 0)
                continue;
            if (j < i) {
                first = false;
                break;
            }
            if (q->start_ms < a)
                a = q->start_ms;
            if (q->end_ms > b)
                b = q->end_ms;
        }
        if (!first)
            continue;
        sqlite3_stmt *s = stmt(c, S_GRID_PRUNE);
        if (!s)
            return db_error(c, &w->err, "grid intensity");
        sqlite3_bind_text(s, 1, w->zone, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, p->source, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, grid_kind_name(p->kind), -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, a);
        sqlite3_bind_int64(s, 5, b);
        sqlite3_bind_int64(s, 6, p->fetched_ms);
        if ((e = step_done(c, s, &w->err, "grid intensity")))
            break;
        if (sqlite3_changes(c->db) > 0) {
            changed = true;
            lo = a < lo ? a : lo;
            hi = b > hi ? b : hi;
        }
    }
    if (e || !changed)
        return e;
    /* The runs of the zone whose energy overlaps what changed. */
    int64_t *pks = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *s = stmt(c, S_GRID_ZONE_RUNS);
    if (!s)
        return db_error(c, &w->err, "grid intensity");
    sqlite3_bind_text(s, 1, w->zone, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, hi);
    sqlite3_bind_int64(s, 3, lo);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            int64_t *np = realloc(pks, nc * sizeof(*pks));
            if (!np) {
                rc = SQLITE_NOMEM;
                break;
            }
            pks = np;
            cap = nc;
        }
        pks[n++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        free(pks);
        return rc == SQLITE_NOMEM
                   ? err_set(&w->err, SRV_E_NOMEM, "out of memory")
                   : db_error(c, &w->err, "grid intensity");
    }
    for (size_t i = 0; i < n && !e; i++)
        e = refresh_derived_metrics(st, pks[i], &w->err);
    free(pks);
    w->out_count = (int64_t)n;
    if (n > 0)
        st->grid_bump_all = true;
    return e;
}

/* After a write that may have changed a run's location tags. */
static enum srv_err refresh_if_location(struct store *st, struct store_write *w)
{
    bool touched = w->key && is_location_tag(w->key);
    for (size_t i = 0; i < w->n_tags && !touched; i++)
        touched = is_location_tag(w->tags[i].key);
    if (!touched)
        return SRV_OK;
    bool zone = w->key && strcmp(w->key, "greentrack.zone") == 0;
    for (size_t i = 0; i < w->n_tags && !zone; i++)
        zone = strcmp(w->tags[i].key, "greentrack.zone") == 0;
    if (zone)
        st->zone_dirty = true;
    struct run_state rs;
    enum srv_err e = run_lookup(st->writer, w->run_id, false, &rs, &w->err);
    return e ? e : refresh_derived_metrics(st, rs.run_pk, &w->err);
}

/* A heartbeat: the run must exist; its time is the server's clock, so
 * clients with skewed clocks are judged fairly. */
static enum srv_err w_run_heartbeat(struct conn *c, struct store_write *w)
{
    struct run_state rs;
    enum srv_err e = run_lookup(c, w->run_id, false, &rs, &w->err);
    if (e)
        return e;
    sqlite3_stmt *s = stmt(c, S_HEARTBEAT_UPSERT);
    if (!s)
        return db_error(c, &w->err, "heartbeat");
    sqlite3_bind_int64(s, 1, rs.run_pk);
    sqlite3_bind_int64(s, 2, store_now_ms());
    return step_done(c, s, &w->err, "heartbeat");
}

static enum srv_err w_grid_record(struct store *st, struct store_write *w);

/* gc: removes a deleted run and every row that refers to it. A run that
 * was restored since gc listed it (or deleted again, later than
 * 'deleted_before') is left alone: out_count 0. */
static enum srv_err w_run_purge(struct conn *c, struct store_write *w)
{
    static const char *const deletes[] = {
        "DELETE FROM input_tags WHERE run_pk = ?",
        "DELETE FROM run_inputs WHERE run_pk = ?",
        "DELETE FROM run_model_inputs WHERE run_pk = ?",
        "DELETE FROM params WHERE run_pk = ?",
        "DELETE FROM tags WHERE run_pk = ?",
        "DELETE FROM metrics WHERE run_pk = ?",
        "DELETE FROM latest_metrics WHERE run_pk = ?",
        "DELETE FROM run_heartbeats WHERE run_pk = ?",
        "DELETE FROM energy_samples WHERE run_pk = ?",
        "DELETE FROM run_energy WHERE run_pk = ?",
        "DELETE FROM run_phases WHERE run_pk = ?",
        "DELETE FROM runs WHERE run_pk = ?",
    };
    w->out_count = 0;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT run_pk, experiment_id FROM runs "
                           "WHERE run_id = ?1 AND lifecycle_stage = 'deleted' "
                           "AND (?2 < 0 OR deleted_time <= ?2)",
                           -1, &s, NULL) != SQLITE_OK)
        return db_error(c, &w->err, "run purge");
    sqlite3_bind_text(s, 1, w->run_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, w->deleted_before);
    int rc = sqlite3_step(s);
    int64_t pk = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    int64_t experiment_id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 1) : -1;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? SRV_OK : db_error(c, &w->err, "run purge");
    c->last_experiment = experiment_id;
    for (size_t i = 0; i < sizeof(deletes) / sizeof(*deletes); i++) {
        if (sqlite3_prepare_v2(c->db, deletes[i], -1, &s, NULL) != SQLITE_OK)
            return db_error(c, &w->err, "run purge");
        sqlite3_bind_int64(s, 1, pk);
        rc = sqlite3_step(s);
        sqlite3_finalize(s);
        if (rc != SQLITE_DONE)
            return db_error(c, &w->err, "run purge");
    }
    w->out_count = 1;
    return SRV_OK;
}

static enum srv_err exec_write(struct store *st, struct store_write *w)
{
    struct conn *c = st->writer;
    switch (w->kind) {
    case SW_EXPERIMENT_CREATE: {
        enum srv_err e = w_experiment_create(c, st, w);
        if (e || w->owner_user_id <= 0)
            return e;
        char id[32];
        snprintf(id, sizeof(id), "%" PRId64, w->out_experiment_id);
        return store_auth_grant_owner(c, false, id, w->owner_user_id, &w->err);
    }
    case SW_EXPERIMENT_RENAME:
        return w_experiment_rename(c, w);
    case SW_EXPERIMENT_DELETE:
        return w_experiment_set_stage(c, w, true);
    case SW_EXPERIMENT_RESTORE:
        return w_experiment_set_stage(c, w, false);
    case SW_EXPERIMENT_SET_TAG:
        return w_experiment_tag(c, w, false);
    case SW_EXPERIMENT_DELETE_TAG:
        return w_experiment_tag(c, w, true);
    case SW_RUN_CREATE:
        return w_run_create(c, w);
    case SW_RUN_UPDATE:
        return w_run_update(c, w);
    case SW_RUN_DELETE:
        return w_run_set_stage(c, w, true);
    case SW_RUN_RESTORE:
        return w_run_set_stage(c, w, false);
    case SW_RUN_LOG: {
        enum srv_err e = w_run_log(c, w);
        return e ? e : refresh_if_location(st, w);
    }
    case SW_RUN_DELETE_TAG: {
        enum srv_err e = w_run_delete_tag(c, w);
        return e ? e : refresh_if_location(st, w);
    }
    case SW_RUN_LOG_INPUTS:
        return w_run_log_inputs(c, w);
    case SW_RUN_LOG_MODEL:
        return w_run_log_model(c, w);
    case SW_RUN_HEARTBEAT:
        return w_run_heartbeat(c, w);
    case SW_RUN_LOG_ENERGY:
        return w_run_log_energy(st, w);
    case SW_GRID_RECORD:
        return w_grid_record(st, w);
    case SW_RUN_PURGE:
        return w_run_purge(c, w);
    case SW_REGISTRY: {
        /* --auth: grants follow a renamed model and go with a deleted
         * one; its creator gets MANAGE */
        enum srv_err e = store_registry_exec(c, w);
        if (!e && w->registry->op == REG_MODEL_RENAME)
            e = store_auth_model_moved(c, w->registry->name,
                                       w->registry->new_name, &w->err);
        if (!e && w->registry->op == REG_MODEL_DELETE)
            e = store_auth_model_moved(c, w->registry->name, NULL, &w->err);
        if (e || w->owner_user_id <= 0 || w->registry->op != REG_MODEL_CREATE)
            return e;
        return store_auth_grant_owner(c, true, w->registry->name,
                                      w->owner_user_id, &w->err);
    }
    case SW_GREENAI:
        return store_greenai_exec(c, w);
    case SW_AUTH:
        return store_auth_exec(c, w);
    case SW_MULTI:
        /* One savepoint covers them all: the first failure undoes every
         * one. Each sub-write reports in its own result and err. */
        for (size_t i = 0; i < w->n_subs; i++) {
            struct store_write *sw = &w->subs[i];
            sw->result = exec_write(st, sw);
            if (sw->result != SRV_OK) {
                w->err = sw->err;
                return sw->result;
            }
        }
        return SRV_OK;
    }
    return err_set(&w->err, SRV_E_INTERNAL, "unknown write");
}

/*---- the writer thread: group commit ----*/

static bool run_simple(struct conn *c, enum stmt_id id)
{
    sqlite3_stmt *s = stmt(c, id);
    if (!s)
        return false;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE;
}

/* Which run a successful write changed, for the change journal: the
 * kinds known to change one run report it, experiment-only changes
 * report none, and everything else (imports, experiment stage changes,
 * kinds added later) reports -1, "rebuild", which is always safe. */
static int64_t touched_run_of(const struct store_write *w, int64_t noted)
{
    switch (w->kind) {
    case SW_RUN_CREATE:
    case SW_RUN_UPDATE:
    case SW_RUN_DELETE:
    case SW_RUN_RESTORE:
    case SW_RUN_LOG:
    case SW_RUN_DELETE_TAG:
    case SW_RUN_LOG_INPUTS:
    case SW_RUN_LOG_MODEL:
    case SW_RUN_HEARTBEAT:
    case SW_RUN_LOG_ENERGY:
    case SW_GREENAI:
        return noted > 0 ? noted : -1;
    case SW_EXPERIMENT_CREATE:
    case SW_EXPERIMENT_RENAME:
    case SW_EXPERIMENT_SET_TAG:
    case SW_EXPERIMENT_DELETE_TAG:
        return 0;
    default:
        return -1;
    }
}

/* Another process (greentrack-server gc, the sqlite3 shell) committed to
 * the database since the writer last looked: what the writer memoized and
 * readers cached may be stale (a purged run's pk can even be reused), so
 * it all rebuilds. Cheap: a counter read. */
static void notice_outside_writes(struct store *st)
{
    sqlite3_stmt *s = stmt(st->writer, S_DATA_VERSION);
    if (!s)
        return;
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (v == st->data_version)
        return;
    bool first = st->data_version == 0;
    st->data_version = v;
    if (first)
        return;
    st->grid_gen++;
    for (size_t i = 0; i < STORE_GENERATION_SLOTS; i++)
        atomic_fetch_add(&st->generations[i], 1);
}

/* Executes one group of writes in a single transaction. Each write runs
 * inside its own savepoint, so a failing write leaves no trace while the
 * others commit. Every write is completed only after the COMMIT. */
static void commit_group(struct store *st, struct store_write *head)
{
    struct conn *c = st->writer;
    bool began = run_simple(c, S_BEGIN);
    for (struct store_write *w = head; w; w = w->next) {
        if (!began) {
            w->result = db_error(c, &w->err, "begin");
            continue;
        }
        if (!run_simple(c, S_SAVEPOINT)) {
            w->result = db_error(c, &w->err, "savepoint");
            continue;
        }
        c->last_experiment = -1;
        c->touched_run = 0;
        w->result = exec_write(st, w);
        if (w->result != SRV_OK) {
            run_simple(c, S_ROLLBACK_TO);
            st->grid_gen++; /* memoized covers may hold what was undone */
        }
        run_simple(c, S_RELEASE);
        /* The experiment this write changed, for the generations. */
        /* (Grid records bump every experiment when they change runs;
         * the registry changes none.) */
        w->touched_experiment =
            w->result != SRV_OK || w->kind == SW_GRID_RECORD ||
                    w->kind == SW_REGISTRY || w->kind == SW_AUTH
                ? -1
            : w->kind == SW_EXPERIMENT_CREATE ? w->out_experiment_id
            : c->last_experiment >= 0         ? c->last_experiment
                                              : w->experiment_id;
        w->touched_run = touched_run_of(w, c->touched_run);
    }
    if (began && !run_simple(c, S_COMMIT)) {
        st->grid_gen++; /* memoized covers may hold what was undone */
        struct errbuf eb;
        enum srv_err e = db_error(c, &eb, "commit");
        run_simple(c, S_ROLLBACK);
        for (struct store_write *w = head; w; w = w->next) {
            if (w->result == SRV_OK) {
                w->result = e;
                w->err = eb;
            }
        }
    }
    pthread_mutex_lock(&st->journal_mu);
    for (struct store_write *w = head; w; w = w->next) {
        if (w->result != SRV_OK || w->touched_experiment < 0)
            continue;
        uint64_t gen =
            atomic_fetch_add(&st->generations[(uint64_t)w->touched_experiment %
                                              STORE_GENERATION_SLOTS],
                             1) +
            1;
        st->journal[st->journal_next++ % STORE_JOURNAL_SIZE] =
            (struct change){w->touched_experiment, gen, w->touched_run};
    }
    pthread_mutex_unlock(&st->journal_mu);
    /* Grid data changed runs of several experiments: every view rebuilds
     * (no journal entry), as after reap_stale_runs. */
    if (st->grid_bump_all) {
        st->grid_bump_all = false;
        for (size_t i = 0; i < STORE_GENERATION_SLOTS; i++)
            atomic_fetch_add(&st->generations[i], 1);
    }
    if (st->zone_dirty) {
        st->zone_dirty = false;
        atomic_fetch_add(&st->zone_epoch, 1);
    }
    struct store_write *next;
    for (struct store_write *w = head; w; w = next) {
        next = w->next; /* 'done' may free w */
        w->next = NULL;
        w->done(w, w->userdata);
    }
}

/* Marks RUNNING runs whose heartbeats stopped as KILLED (writer thread,
 * its own transaction). */
static void reap_stale_runs(struct store *st)
{
    struct conn *c = st->writer;
    if (!run_simple(c, S_BEGIN))
        return;
    sqlite3_stmt *s = stmt(c, S_REAP_STALE);
    bool ok = false;
    if (s) {
        sqlite3_bind_int64(s, 1, store_now_ms() - st->heartbeat_timeout_ms);
        ok = sqlite3_step(s) == SQLITE_DONE;
        sqlite3_reset(s);
    }
    int killed = ok ? sqlite3_changes(c->db) : 0;
    if (!ok || !run_simple(c, S_COMMIT)) {
        struct errbuf eb;
        db_error(c, &eb, "heartbeat expiry");
        run_simple(c, S_ROLLBACK);
        return;
    }
    if (killed) {
        log_info("marked %d run(s) KILLED: no heartbeat for %lld s", killed,
                 (long long)(st->heartbeat_timeout_ms / 1000));
        for (size_t i = 0; i < STORE_GENERATION_SLOTS; i++)
            atomic_fetch_add(&st->generations[i], 1); /* rare: all views */
    }
}

/* The check runs every timeout/4, at most every 5 s. */
static int64_t reap_interval_ms(const struct store *st)
{
    int64_t ms = st->heartbeat_timeout_ms / 4;
    if (ms > 5000)
        ms = 5000;
    return ms < 50 ? 50 : ms;
}

static void *writer_main(void *arg)
{
    struct store *st = arg;
    /* The first check waits a whole timeout: clients cut off while the
     * server was down get that long to send their next heartbeat. */
    int64_t next_reap = store_now_ms() + st->heartbeat_timeout_ms;
    for (;;) {
        pthread_mutex_lock(&st->mu);
        while (!st->queue_head && !st->stopping) {
            if (!st->heartbeat_timeout_ms) {
                pthread_cond_wait(&st->cv, &st->mu);
                continue;
            }
            if (store_now_ms() >= next_reap)
                break;
            struct timespec until = {(time_t)(next_reap / 1000),
                                     (long)(next_reap % 1000) * 1000000L};
            pthread_cond_timedwait(&st->cv, &st->mu, &until);
        }
        if (!st->queue_head && !st->stopping) {
            pthread_mutex_unlock(&st->mu);
            reap_stale_runs(st);
            next_reap = store_now_ms() + reap_interval_ms(st);
            continue;
        }
        struct store_write *head = st->queue_head;
        st->queue_head = st->queue_tail = NULL;
        bool stop = st->stopping;
        pthread_mutex_unlock(&st->mu);
        if (head) {
            notice_outside_writes(st);
            commit_group(st, head);
        } else if (stop)
            break;
    }
    return NULL;
}

/* How long the writer waits for a database lock held by another
 * connection (another process, or a reader checkpointing) before the
 * write fails with 503; as sqlite3_busy_timeout(5000) did. */
#define WRITER_BUSY_TIMEOUT_MS 5000

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The writer connection's busy handler: sqlite3_busy_timeout's wait, in
 * naps of at most 10 ms so that store_abandon cuts it short. 0 gives up
 * (SQLITE_BUSY), 1 tries again. */
static int writer_busy(void *arg, int count)
{
    struct store *st = arg;
    if (atomic_load(&st->abandoned))
        return 0;
    int64_t now = mono_ms();
    if (count == 0)
        st->busy_since_ms = now;
    else if (now - st->busy_since_ms >= WRITER_BUSY_TIMEOUT_MS)
        return 0;
    long nap_ms = count < 3 ? 1L << count : 10;
    struct timespec nap = {0, nap_ms * 1000000L};
    nanosleep(&nap, NULL);
    return 1;
}

static const char abandoned_msg[] =
    "The server is shutting down and could not commit this write in time; "
    "nothing was written";

/* Completes 'w' with the abandoned failure. */
static void fail_abandoned(struct store_write *w)
{
    w->next = NULL;
    w->result = err_set(&w->err, SRV_E_UNAVAILABLE, "%s", abandoned_msg);
    w->done(w, w->userdata);
}

void store_abandon(struct store *st)
{
    pthread_mutex_lock(&st->mu);
    atomic_store(&st->abandoned, true);
    struct store_write *head = st->queue_head;
    st->queue_head = st->queue_tail = NULL;
    pthread_mutex_unlock(&st->mu);
    struct store_write *next;
    for (struct store_write *w = head; w; w = next) {
        next = w->next; /* 'done' may free w */
        fail_abandoned(w);
    }
}

void store_submit(struct store *st, struct store_write *w)
{
    w->next = NULL;
    w->result = SRV_OK;
    w->err.msg[0] = '\0';
    pthread_mutex_lock(&st->mu);
    if (atomic_load(&st->abandoned)) {
        pthread_mutex_unlock(&st->mu);
        fail_abandoned(w);
        return;
    }
    if (st->queue_tail)
        st->queue_tail->next = w;
    else
        st->queue_head = w;
    st->queue_tail = w;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/*---- open / close ----*/

struct store *store_open(const struct store_config *cfg, struct errbuf *eb)
{
    struct store *st = calloc(1, sizeof(*st));
    if (!st) {
        err_set(eb, SRV_E_NOMEM, "out of memory");
        return NULL;
    }
    st->db_path = strdup(cfg->db_path);
    st->artifact_root = strdup(cfg->artifact_root);
    st->serve_artifacts = cfg->serve_artifacts;
    st->durable_full = cfg->durable_full;
    st->heartbeat_timeout_ms = cfg->heartbeat_timeout_ms;
    st->default_pue = cfg->default_pue >= 1.0 ? cfg->default_pue : 1.0;
    st->serial = atomic_fetch_add(&store_serials, 1) + 1;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    pthread_mutex_init(&st->readers_mu, NULL);
    pthread_mutex_init(&st->journal_mu, NULL);
    if (!st->db_path || !st->artifact_root) {
        err_set(eb, SRV_E_NOMEM, "out of memory");
        goto fail;
    }
    st->writer = conn_open(st, true, eb);
    if (!st->writer)
        goto fail;
    if (migrate(st->writer, eb) != SRV_OK ||
        ensure_default_experiment(st, eb) != SRV_OK ||
        relocate_local_locations(st, eb) != SRV_OK)
        goto fail;
    notice_outside_writes(st); /* the baseline */
    sqlite3_busy_handler(st->writer->db, writer_busy, st);
    if (pthread_create(&st->writer_thread, NULL, writer_main, st) != 0) {
        err_set(eb, SRV_E_INTERNAL, "cannot start the writer thread");
        goto fail;
    }
    return st;
fail:
    conn_close(st->writer);
    free(st->db_path);
    free(st->artifact_root);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->readers_mu);
    pthread_mutex_destroy(&st->journal_mu);
    free(st);
    return NULL;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&st->mu);
    st->stopping = true;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    pthread_join(st->writer_thread, NULL);
    struct conn *r = st->readers;
    while (r) {
        struct conn *next = r->next;
        conn_close(r);
        r = next;
    }
    /* A final checkpoint folds the WAL into the database file. */
    sqlite3_wal_checkpoint_v2(st->writer->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                              NULL, NULL);
    conn_close(st->writer);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->readers_mu);
    pthread_mutex_destroy(&st->journal_mu);
    free(st->db_path);
    free(st->artifact_root);
    free(st);
}

/*---- readers ----*/

static _Thread_local struct conn *tls_reader;

/* This thread's read connection for 'st', opened on first use. */
static struct conn *reader(struct store *st, struct errbuf *eb)
{
    struct conn *c = tls_reader;
    if (c && c->store_serial == st->serial)
        return c;
    c = conn_open(st, false, eb);
    if (!c)
        return NULL;
    pthread_mutex_lock(&st->readers_mu);
    c->next = st->readers;
    st->readers = c;
    pthread_mutex_unlock(&st->readers_mu);
    tls_reader = c;
    return c;
}

enum srv_err store_ping(struct store *st)
{
    struct errbuf eb;
    struct conn *c = reader(st, &eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = stmt(c, S_PING);
    if (!s)
        return SRV_E_UNAVAILABLE;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? SRV_OK : SRV_E_UNAVAILABLE;
}

static char *col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    if (!t)
        return NULL;
    size_t n = (size_t)sqlite3_column_bytes(s, i);
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, t, n);
        p[n] = '\0';
    }
    return p;
}

/* Makes room for element 'n' of an array of 'elem'-sized items with
 * '*cap' allocated: returns the (possibly moved) array, or NULL when out
 * of memory, leaving the old array valid. */
static void *grow(void *arr, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return arr;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(arr, ncap * elem);
    if (p)
        *cap = ncap;
    return p;
}

typedef enum srv_err (*row_reader)(sqlite3_stmt *s, void *item,
                                   struct errbuf *eb);

/* Steps a search statement (whose LIMIT asked for max+1 rows) and turns
 * up to 'max' rows into an array of zeroed 'elem'-sized items with
 * 'from_row'; '*more' tells whether a further row exists. Returns the
 * array (with '*n' items, also on error, for the caller to free). */
static void *read_page(struct conn *c, sqlite3_stmt *s, int64_t max,
                       size_t elem, row_reader from_row, size_t *n, bool *more,
                       enum srv_err *e, struct errbuf *eb)
{
    char *arr = NULL;
    size_t cap = 0;
    int rc;
    *n = 0;
    *more = false;
    *e = SRV_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == (size_t)max) {
            *more = true;
            return arr;
        }
        char *p = grow(arr, *n, &cap, elem);
        if (!p) {
            *e = err_set(eb, SRV_E_NOMEM, "out of memory");
            return arr;
        }
        arr = p;
        void *item = arr + *n * elem;
        memset(item, 0, elem);
        (*n)++;
        if ((*e = from_row(s, item, eb)))
            return arr;
    }
    if (rc != SQLITE_DONE)
        *e = db_error(c, eb, "search");
    return arr;
}

/* Reads (key, value) rows of a statement whose first bind is 'id1' and,
 * when n_binds is 2, second is 'id2'. */
static enum srv_err read_kvs(struct conn *c, enum stmt_id id, int64_t id1,
                             int64_t id2, int n_binds, struct kv **out,
                             size_t *n, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s = stmt(c, id);
    if (!s)
        return db_error(c, eb, "read");
    sqlite3_bind_int64(s, 1, id1);
    if (n_binds == 2)
        sqlite3_bind_int64(s, 2, id2);
    return store_read_kvs(c, s, out, n, eb);
}

enum srv_err store_read_kvs(struct conn *c, sqlite3_stmt *s, struct kv **out,
                            size_t *n, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct kv *p = grow(*out, *n, &cap, sizeof(*p));
        if (!p)
            goto nomem;
        *out = p;
        struct kv *e = &(*out)[*n];
        e->key = col_dup(s, 0);
        e->value = col_dup(s, 1);
        (*n)++;
        if (!e->key || !e->value)
            goto nomem;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return db_error(c, eb, "read");
    return SRV_OK;
nomem:
    sqlite3_reset(s);
    return err_set(eb, SRV_E_NOMEM, "out of memory");
}

static enum srv_err exp_from_row(sqlite3_stmt *s, void *item, struct errbuf *eb)
{
    struct experiment *e = item;
    e->experiment_id = sqlite3_column_int64(s, 0);
    e->name = col_dup(s, 1);
    e->artifact_location = col_dup(s, 2);
    e->deleted =
        strcmp((const char *)sqlite3_column_text(s, 3), "deleted") == 0;
    e->creation_time = sqlite3_column_int64(s, 4);
    e->last_update_time = sqlite3_column_int64(s, 5);
    if (!e->name || !e->artifact_location)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    return SRV_OK;
}

static enum srv_err exp_get(struct store *st, enum stmt_id id, int64_t num,
                            const char *name, struct experiment *out,
                            struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = stmt(c, id);
    if (!s)
        return db_error(c, eb, "experiment get");
    if (name)
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 1, num);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            return db_error(c, eb, "experiment get");
        if (name)
            return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                           "Could not find experiment with name '%s'", name);
        return no_experiment(eb, num);
    }
    enum srv_err e = exp_from_row(s, out, eb);
    sqlite3_reset(s);
    if (!e)
        e = read_kvs(c, S_EXP_TAGS, out->experiment_id, 0, 1, &out->tags,
                     &out->n_tags, eb);
    if (e)
        experiment_cleanup(out);
    return e;
}

enum srv_err store_experiment_get(struct store *st, int64_t experiment_id,
                                  struct experiment *out, struct errbuf *eb)
{
    return exp_get(st, S_EXP_BY_ID, experiment_id, NULL, out, eb);
}

enum srv_err store_experiment_get_by_name(struct store *st, const char *name,
                                          struct experiment *out,
                                          struct errbuf *eb)
{
    return exp_get(st, S_EXP_BY_NAME, 0, name, out, eb);
}

/* Binds the parameters of a filter fragment from position '*pos' on. */
static void bind_frag(sqlite3_stmt *s, const struct sql_frag *f, int *pos)
{
    for (size_t i = 0; i < f->nparams; i++) {
        const struct sqlv *v = &f->params[i];
        int at = (*pos)++;
        switch (v->type) {
        case SQLV_TEXT:
            sqlite3_bind_text(s, at, v->text, -1, SQLITE_STATIC);
            break;
        case SQLV_INT:
            sqlite3_bind_int64(s, at, v->i);
            break;
        case SQLV_REAL:
            sqlite3_bind_double(s, at, v->d);
            break;
        }
    }
}

/* The lifecycle condition of a view, for runs (r) or experiments (e). */
static const char *view_condition(enum view_type view, bool runs)
{
    switch (view) {
    case VIEW_ACTIVE_ONLY:
        return runs ? "r.lifecycle_stage = 'active'"
                    : "e.lifecycle_stage = 'active'";
    case VIEW_DELETED_ONLY:
        return runs ? "r.lifecycle_stage = 'deleted'"
                    : "e.lifecycle_stage = 'deleted'";
    case VIEW_ALL:
    case VIEW_COUNT:
        break;
    }
    return "1";
}

/* Prepares one experiments/search page query selecting 'cols' (of
 * experiments AS e), as runs_search_prepare. */
static enum srv_err experiments_search_prepare(struct conn *c, const char *cols,
                                               const struct search_args *args,
                                               struct search_sql *qp,
                                               sqlite3_stmt **s,
                                               struct errbuf *eb)
{
    *s = NULL;
    enum srv_err e = filter_build_experiments(args->filter, args->order_by,
                                              args->n_order_by, qp, eb);
    if (e)
        return e;
    struct strbuf sql;
    strbuf_init(&sql);
    strbuf_printf(&sql,
                  "SELECT %s FROM experiments AS e%s WHERE %s%s ORDER BY %s "
                  "LIMIT ? OFFSET ?",
                  cols, qp->joins.sql.buf ? qp->joins.sql.buf : "",
                  view_condition(args->view, false),
                  qp->where.sql.buf ? qp->where.sql.buf : "",
                  qp->order.sql.buf ? qp->order.sql.buf : "e.experiment_id");
    if (sql.oom) {
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    if (sqlite3_prepare_v2(c->db, sql.buf, -1, s, NULL) != SQLITE_OK) {
        e = db_error(c, eb, "experiments search");
        goto out;
    }
    int pos = 1;
    bind_frag(*s, &qp->joins, &pos);
    bind_frag(*s, &qp->where, &pos);
    bind_frag(*s, &qp->order, &pos);
    sqlite3_bind_int64(*s, pos++, args->max_results + 1);
    sqlite3_bind_int64(*s, pos++, args->offset);
out:
    strbuf_cleanup(&sql);
    return e;
}

enum srv_err store_experiments_search(struct store *st,
                                      const struct search_args *args,
                                      struct experiment **out, size_t *n,
                                      bool *more, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *more = false;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s;
    struct search_sql q;
    search_sql_init(&q);
    enum srv_err e = experiments_search_prepare(
        c,
        "e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, "
        "e.creation_time, e.last_update_time",
        args, &q, &s, eb);
    if (!e) {
        *out = read_page(c, s, args->max_results, sizeof(**out), exp_from_row,
                         n, more, &e, eb);
        for (size_t i = 0; i < *n && !e; i++)
            e = read_kvs(c, S_EXP_TAGS, (*out)[i].experiment_id, 0, 1,
                         &(*out)[i].tags, &(*out)[i].n_tags, eb);
    }
    sqlite3_finalize(s);
    search_sql_cleanup(&q);
    if (e) {
        experiments_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

static enum srv_err read_ids(struct conn *c, sqlite3_stmt *s, int64_t **out,
                             size_t *n, struct errbuf *eb);

enum srv_err store_experiments_search_ids(struct store *st,
                                          const struct search_args *args,
                                          int64_t **ids, size_t *n,
                                          struct errbuf *eb)
{
    *ids = NULL;
    *n = 0;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s;
    struct search_sql q;
    search_sql_init(&q);
    enum srv_err e =
        experiments_search_prepare(c, "e.experiment_id", args, &q, &s, eb);
    if (!e)
        e = read_ids(c, s, ids, n, eb);
    sqlite3_finalize(s);
    search_sql_cleanup(&q);
    if (e) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return e;
}

/* Columns: run_pk, run_id, experiment_id, run_name, user_id, status,
 * start_time, end_time, artifact_uri, lifecycle_stage. */
static enum srv_err run_from_row(sqlite3_stmt *s, void *item, struct errbuf *eb)
{
    struct run *r = item;
    r->run_pk = sqlite3_column_int64(s, 0);
    const char *id = (const char *)sqlite3_column_text(s, 1);
    snprintf(r->run_id, sizeof(r->run_id), "%s", id ? id : "");
    r->experiment_id = sqlite3_column_int64(s, 2);
    r->run_name = col_dup(s, 3);
    r->user_id = col_dup(s, 4);
    int status = run_status_parse((const char *)sqlite3_column_text(s, 5));
    r->status = status < 0 ? RUN_STATUS_RUNNING : (enum run_status)status;
    r->start_time = sqlite3_column_int64(s, 6);
    r->end_time = sqlite3_column_type(s, 7) == SQLITE_NULL
                      ? 0
                      : sqlite3_column_int64(s, 7);
    r->artifact_uri = col_dup(s, 8);
    r->deleted =
        strcmp((const char *)sqlite3_column_text(s, 9), "deleted") == 0;
    if (!r->run_name || !r->user_id || !r->artifact_uri)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    return SRV_OK;
}

static enum srv_err read_latest(struct conn *c, struct run *r,
                                struct errbuf *eb)
{
    sqlite3_stmt *s = stmt(c, S_RUN_LATEST);
    if (!s)
        return db_error(c, eb, "latest metrics");
    sqlite3_bind_int64(s, 1, r->run_pk);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct metric *p = grow(r->metrics, r->n_metrics, &cap, sizeof(*p));
        if (!p) {
            sqlite3_reset(s);
            return err_set(eb, SRV_E_NOMEM, "out of memory");
        }
        r->metrics = p;
        struct metric *m = &r->metrics[r->n_metrics++];
        memset(m, 0, sizeof(*m));
        m->key = m->key_storage = col_dup(s, 0);
        m->value = sqlite3_column_int(s, 4) ? NAN : sqlite3_column_double(s, 1);
        m->timestamp = sqlite3_column_int64(s, 2);
        m->step = sqlite3_column_int64(s, 3);
        if (!m->key) {
            sqlite3_reset(s);
            return err_set(eb, SRV_E_NOMEM, "out of memory");
        }
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? SRV_OK : db_error(c, eb, "latest metrics");
}

static enum srv_err read_inputs(struct conn *c, struct run *r,
                                struct errbuf *eb)
{
    sqlite3_stmt *s = stmt(c, S_RUN_DATASETS);
    if (!s)
        return db_error(c, eb, "inputs");
    sqlite3_bind_int64(s, 1, r->run_pk);
    size_t cap = 0;
    int64_t pks_small[8];
    int64_t *pks = pks_small;
    enum srv_err e = SRV_OK;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (r->n_inputs == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct dataset_input *p = realloc(r->inputs, ncap * sizeof(*p));
            int64_t *q = pks == pks_small ? malloc(ncap * sizeof(*q))
                                          : realloc(pks, ncap * sizeof(*q));
            if (p)
                r->inputs = p;
            if (!p || !q) {
                e = err_set(eb, SRV_E_NOMEM, "out of memory");
                break;
            }
            if (pks == pks_small)
                memcpy(q, pks_small, sizeof(pks_small));
            pks = q;
            cap = ncap;
        }
        struct dataset_input *d = &r->inputs[r->n_inputs];
        memset(d, 0, sizeof(*d));
        pks[r->n_inputs++] = sqlite3_column_int64(s, 0);
        d->name = col_dup(s, 1);
        d->digest = col_dup(s, 2);
        d->source_type = col_dup(s, 3);
        d->source = col_dup(s, 4);
        d->schema = col_dup(s, 5);
        d->profile = col_dup(s, 6);
    }
    sqlite3_reset(s);
    if (!e && rc != SQLITE_DONE)
        e = db_error(c, eb, "inputs");
    for (size_t i = 0; i < r->n_inputs && !e; i++)
        e = read_kvs(c, S_INPUT_TAGS, r->run_pk, pks[i], 2, &r->inputs[i].tags,
                     &r->inputs[i].n_tags, eb);
    if (pks != pks_small)
        free(pks);
    if (e)
        return e;
    s = stmt(c, S_RUN_MODEL_INPUTS);
    if (!s)
        return db_error(c, eb, "model inputs");
    sqlite3_bind_int64(s, 1, r->run_pk);
    cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        char **p = grow(r->model_inputs, r->n_model_inputs, &cap, sizeof(*p));
        if (!p) {
            sqlite3_reset(s);
            return err_set(eb, SRV_E_NOMEM, "out of memory");
        }
        r->model_inputs = p;
        r->model_inputs[r->n_model_inputs++] = col_dup(s, 0);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? SRV_OK : db_error(c, eb, "model inputs");
}

/* Params, tags, latest metrics and inputs of a run whose info is read. */
static enum srv_err run_fill(struct conn *c, struct run *r, struct errbuf *eb)
{
    enum srv_err e;
    if ((e = read_kvs(c, S_RUN_PARAMS, r->run_pk, 0, 1, &r->params,
                      &r->n_params, eb)) ||
        (e = read_kvs(c, S_RUN_TAGS, r->run_pk, 0, 1, &r->tags, &r->n_tags,
                      eb)) ||
        (e = read_latest(c, r, eb)) || (e = read_inputs(c, r, eb)))
        return e;
    return SRV_OK;
}

enum srv_err store_run_get(struct store *st, const char *run_id,
                           struct run *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = stmt(c, S_RUN_BY_ID);
    if (!s)
        return db_error(c, eb, "run get");
    sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            return db_error(c, eb, "run get");
        return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                       "Run with id=%s not found", run_id);
    }
    enum srv_err e = run_from_row(s, out, eb);
    sqlite3_reset(s);
    if (!e)
        e = run_fill(c, out, eb);
    if (e)
        run_cleanup(out);
    return e;
}

/* Experiment ids up to this many are bound one by one; a longer list is
 * bound as one JSON array (SQLite allows 32766 bound values in all). */
#define SEARCH_INLINE_IDS 100

/* Prepares one runs/search page query selecting 'cols' (of runs AS r):
 * the filter and order compiled by filter.c into 'q' (which the caller
 * initialised and cleans up after the last step: the statement's text
 * values point into it), the experiments, LIMIT max_results + 1 from
 * args->offset. '*s' is NULL when no experiment is given (nothing
 * matches). The caller finalizes '*s'. */
static enum srv_err runs_search_prepare(struct conn *c, const char *cols,
                                        const int64_t *experiment_ids,
                                        size_t n_experiments,
                                        const struct search_args *args,
                                        struct search_sql *qp, sqlite3_stmt **s,
                                        struct errbuf *eb)
{
    *s = NULL;
    enum srv_err e = filter_build_runs(args->filter, args->order_by,
                                       args->n_order_by, qp, eb);
    if (e || n_experiments == 0)
        return e;
    bool json_ids = n_experiments > SEARCH_INLINE_IDS;
    struct strbuf sql, ids;
    strbuf_init(&sql);
    strbuf_init(&ids);
    strbuf_printf(
        &sql, "SELECT %s FROM runs AS r%s WHERE %s AND r.experiment_id IN (",
        cols, qp->joins.sql.buf ? qp->joins.sql.buf : "",
        view_condition(args->view, true));
    if (json_ids) {
        strbuf_append_str(&sql, "SELECT value FROM json_each(?)");
        strbuf_append_char(&ids, '[');
        for (size_t i = 0; i < n_experiments; i++) {
            if (i)
                strbuf_append_char(&ids, ',');
            strbuf_append_i64(&ids, experiment_ids[i]);
        }
        strbuf_append_char(&ids, ']');
    } else {
        for (size_t i = 0; i < n_experiments; i++)
            strbuf_append_str(&sql, i ? ", ?" : "?");
    }
    strbuf_printf(&sql, ")%s ORDER BY %s LIMIT ? OFFSET ?",
                  qp->where.sql.buf ? qp->where.sql.buf : "",
                  qp->order.sql.buf ? qp->order.sql.buf : "r.run_id");
    if (sql.oom || ids.oom) {
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    if (sqlite3_prepare_v2(c->db, sql.buf, -1, s, NULL) != SQLITE_OK) {
        e = db_error(c, eb, "runs search");
        goto out;
    }
    int pos = 1;
    bind_frag(*s, &qp->joins, &pos);
    if (json_ids)
        sqlite3_bind_text(*s, pos++, ids.buf, (int)ids.len, SQLITE_TRANSIENT);
    else
        for (size_t i = 0; i < n_experiments; i++)
            sqlite3_bind_int64(*s, pos++, experiment_ids[i]);
    bind_frag(*s, &qp->where, &pos);
    bind_frag(*s, &qp->order, &pos);
    sqlite3_bind_int64(*s, pos++, args->max_results + 1);
    sqlite3_bind_int64(*s, pos++, args->offset);
out:
    strbuf_cleanup(&sql);
    strbuf_cleanup(&ids);
    return e;
}

enum srv_err store_runs_search(struct store *st, const int64_t *experiment_ids,
                               size_t n_experiments,
                               const struct search_args *args, struct run **out,
                               size_t *n, bool *more, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *more = false;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s;
    struct search_sql q;
    search_sql_init(&q);
    enum srv_err e = runs_search_prepare(
        c,
        "r.run_pk, r.run_id, r.experiment_id, r.run_name, r.user_id, "
        "r.status, r.start_time, r.end_time, r.artifact_uri, "
        "r.lifecycle_stage",
        experiment_ids, n_experiments, args, &q, &s, eb);
    if (!e && s) {
        *out = read_page(c, s, args->max_results, sizeof(**out), run_from_row,
                         n, more, &e, eb);
        for (size_t i = 0; i < *n && !e; i++)
            e = run_fill(c, &(*out)[i], eb);
    }
    sqlite3_finalize(s);
    search_sql_cleanup(&q);
    if (e) {
        runs_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

/* Steps 's' for one int64 column into a new array ('*out', caller frees):
 * every row. */
static enum srv_err read_ids(struct conn *c, sqlite3_stmt *s, int64_t **out,
                             size_t *n, struct errbuf *eb)
{
    size_t cap = 0;
    int rc;
    *out = NULL;
    *n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t *p = grow(*out, *n, &cap, sizeof(*p));
        if (!p)
            return err_set(eb, SRV_E_NOMEM, "out of memory");
        *out = p;
        (*out)[(*n)++] = sqlite3_column_int64(s, 0);
    }
    return rc == SQLITE_DONE ? SRV_OK : db_error(c, eb, "search");
}

enum srv_err store_runs_search_pks(struct store *st,
                                   const int64_t *experiment_ids,
                                   size_t n_experiments,
                                   const struct search_args *args,
                                   int64_t **pks, size_t *n, struct errbuf *eb)
{
    *pks = NULL;
    *n = 0;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s;
    struct search_sql q;
    search_sql_init(&q);
    enum srv_err e = runs_search_prepare(c, "r.run_pk", experiment_ids,
                                         n_experiments, args, &q, &s, eb);
    if (!e && s)
        e = read_ids(c, s, pks, n, eb);
    sqlite3_finalize(s);
    search_sql_cleanup(&q);
    if (e) {
        free(*pks);
        *pks = NULL;
        *n = 0;
    }
    return e;
}

void leaderboard_rows_free(struct leaderboard_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rows[i].run_name);
    free(rows);
}

/* Columns: run_pk, run_id, run_name, status, start_time, end_time,
 * has_model. */
static enum srv_err leaderboard_from_row(sqlite3_stmt *s, void *item,
                                         struct errbuf *eb)
{
    struct leaderboard_row *r = item;
    r->run_pk = sqlite3_column_int64(s, 0);
    snprintf(r->run_id, sizeof(r->run_id), "%s",
             (const char *)sqlite3_column_text(s, 1));
    r->run_name = col_dup(s, 2);
    int status = run_status_parse((const char *)sqlite3_column_text(s, 3));
    r->status = status < 0 ? RUN_STATUS_RUNNING : (enum run_status)status;
    r->start_time = sqlite3_column_int64(s, 4);
    r->end_time = sqlite3_column_type(s, 5) == SQLITE_NULL
                      ? 0
                      : sqlite3_column_int64(s, 5);
    r->has_model = sqlite3_column_int(s, 6) != 0;
    return r->run_name ? SRV_OK : err_set(eb, SRV_E_NOMEM, "out of memory");
}

/* run_pk -> row index, open addressing (run_pk >= 1; 0 marks empty). */
struct pk_index {
    int64_t *keys;
    size_t *rows;
    size_t mask;
};

static bool pk_index_init(struct pk_index *x, const struct leaderboard_row *r,
                          size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    x->keys = calloc(cap, sizeof(*x->keys));
    x->rows = malloc(cap * sizeof(*x->rows));
    x->mask = cap - 1;
    if (!x->keys || !x->rows)
        return false;
    for (size_t i = 0; i < n; i++) {
        size_t h = (size_t)r[i].run_pk * 0x9E3779B97F4A7C15ull & x->mask;
        while (x->keys[h])
            h = (h + 1) & x->mask;
        x->keys[h] = r[i].run_pk;
        x->rows[h] = i;
    }
    return true;
}

static struct leaderboard_row *pk_find(const struct pk_index *x,
                                       struct leaderboard_row *r, int64_t pk)
{
    size_t h = (size_t)pk * 0x9E3779B97F4A7C15ull & x->mask;
    while (x->keys[h]) {
        if (x->keys[h] == pk)
            return &r[x->rows[h]];
        h = (h + 1) & x->mask;
    }
    return NULL;
}

enum lb_field { LB_METRIC, LB_CO2, LB_ENERGY };

static void lb_set(struct leaderboard_row *r, enum lb_field f, double v,
                   bool is_nan)
{
    switch (f) {
    case LB_METRIC:
        r->has_metric = !is_nan;
        r->metric = v;
        break;
    case LB_CO2:
        r->has_energy = true;
        r->co2_kg = v;
        break;
    case LB_ENERGY:
        r->energy_kwh = v;
        break;
    }
}

/* Fills metric, CO2, energy and the estimated flag of the rows. An
 * experiment holding a good share of all runs reads each key in one scan
 * of the (key, ...) index and joins in memory, several times faster than
 * a lookup per run; a small one is looked up run by run. */
static enum srv_err lb_fill(struct conn *c, const char *metric,
                            struct leaderboard_row *rows, size_t n,
                            struct errbuf *eb)
{
    const char *keys[] = {metric, "greentrack.co2_kg", "greentrack.energy_kwh"};
    sqlite3_stmt *s = NULL;
    int64_t total = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT max(run_pk) FROM runs", -1, &s,
                           NULL) != SQLITE_OK)
        return db_error(c, eb, "leaderboard");
    if (sqlite3_step(s) == SQLITE_ROW)
        total = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if ((int64_t)n * 8 < total) {
        for (size_t i = 0; i < n; i++) {
            for (int f = LB_METRIC; f <= LB_ENERGY; f++) {
                sqlite3_stmt *q = stmt(c, S_LATEST_ONE);
                if (!q)
                    return db_error(c, eb, "leaderboard");
                sqlite3_bind_int64(q, 1, rows[i].run_pk);
                sqlite3_bind_text(q, 2, keys[f], -1, SQLITE_STATIC);
                if (sqlite3_step(q) == SQLITE_ROW)
                    lb_set(&rows[i], (enum lb_field)f,
                           sqlite3_column_double(q, 0),
                           sqlite3_column_int(q, 1) != 0);
                sqlite3_reset(q);
            }
            sqlite3_stmt *q = stmt(c, S_RUN_ESTIMATED);
            if (!q)
                return db_error(c, eb, "leaderboard");
            sqlite3_bind_int64(q, 1, rows[i].run_pk);
            if (sqlite3_step(q) == SQLITE_ROW)
                rows[i].estimated = sqlite3_column_int64(q, 0) > 0;
            sqlite3_reset(q);
        }
        return SRV_OK;
    }
    struct pk_index x;
    enum srv_err e = SRV_OK;
    if (!pk_index_init(&x, rows, n)) {
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    for (int f = LB_METRIC; f <= LB_ENERGY && !e; f++) {
        sqlite3_stmt *q = stmt(c, S_LATEST_BY_KEY);
        if (!q) {
            e = db_error(c, eb, "leaderboard");
            break;
        }
        sqlite3_bind_text(q, 1, keys[f], -1, SQLITE_STATIC);
        int rc;
        while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
            struct leaderboard_row *r =
                pk_find(&x, rows, sqlite3_column_int64(q, 0));
            if (r)
                lb_set(r, (enum lb_field)f, sqlite3_column_double(q, 1),
                       sqlite3_column_int(q, 2) != 0);
        }
        sqlite3_reset(q);
        if (rc != SQLITE_DONE)
            e = db_error(c, eb, "leaderboard");
    }
    sqlite3_stmt *q = e ? NULL : stmt(c, S_ALL_ESTIMATED);
    if (!e && !q)
        e = db_error(c, eb, "leaderboard");
    if (q) {
        while (sqlite3_step(q) == SQLITE_ROW) {
            struct leaderboard_row *r =
                pk_find(&x, rows, sqlite3_column_int64(q, 0));
            if (r)
                r->estimated = true;
        }
        sqlite3_reset(q);
    }
out:
    free(x.keys);
    free(x.rows);
    return e;
}

/* The leaderboard rows of an experiment; with 'pks', only of those runs
 * (one indexed query each, for patching a cached view). */
static enum srv_err leaderboard_rows(struct store *st, int64_t experiment_id,
                                     const char *metric, const char *filter,
                                     const int64_t *pks, size_t n_pks,
                                     struct leaderboard_row **out, size_t *n,
                                     struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct search_sql q;
    search_sql_init(&q);
    enum srv_err e = filter_build_runs(filter, NULL, 0, &q, eb);
    struct conn *c = e ? NULL : reader(st, eb);
    struct strbuf sql;
    strbuf_init(&sql);
    sqlite3_stmt *s = NULL;
    if (e || !c) {
        e = e ? e : SRV_E_UNAVAILABLE;
        goto out;
    }
    strbuf_printf(&sql,
                  "SELECT r.run_pk, r.run_id, r.run_name, r.status, "
                  "r.start_time, r.end_time, EXISTS (SELECT 1 FROM tags "
                  "AS lm WHERE lm.run_pk = r.run_pk AND lm.key = "
                  "'mlflow.log-model.history') FROM runs AS r%s "
                  "WHERE r.lifecycle_stage = 'active' AND "
                  "r.experiment_id = ?%s%s",
                  q.joins.sql.buf ? q.joins.sql.buf : "",
                  q.where.sql.buf ? q.where.sql.buf : "",
                  pks ? " AND r.run_pk = ?" : "");
    if (sql.oom) {
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    if (sqlite3_prepare_v2(c->db, sql.buf, -1, &s, NULL) != SQLITE_OK) {
        e = db_error(c, eb, "leaderboard");
        goto out;
    }
    int pos = 1;
    bind_frag(s, &q.joins, &pos);
    sqlite3_bind_int64(s, pos++, experiment_id);
    bind_frag(s, &q.where, &pos);
    bool more;
    if (!pks) {
        *out = read_page(c, s, INT64_MAX, sizeof(**out), leaderboard_from_row,
                         n, &more, &e, eb);
    } else {
        size_t cap = 0;
        for (size_t i = 0; i < n_pks && !e; i++) {
            sqlite3_bind_int64(s, pos, pks[i]);
            size_t got = 0;
            struct leaderboard_row *one =
                read_page(c, s, 1, sizeof(*one), leaderboard_from_row, &got,
                          &more, &e, eb);
            sqlite3_reset(s);
            if (!e && got) {
                struct leaderboard_row *grown =
                    grow(*out, *n, &cap, sizeof(**out));
                if (!grown) {
                    leaderboard_rows_free(one, got);
                    e = err_set(eb, SRV_E_NOMEM, "out of memory");
                    break;
                }
                *out = grown;
                (*out)[(*n)++] = one[0];
                free(one);
            } else {
                leaderboard_rows_free(one, got);
            }
        }
    }
    if (!e && *n)
        e = lb_fill(c, metric, *out, *n, eb);
out:
    sqlite3_finalize(s);
    strbuf_cleanup(&sql);
    search_sql_cleanup(&q);
    if (e) {
        leaderboard_rows_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

enum srv_err store_leaderboard_rows(struct store *st, int64_t experiment_id,
                                    const char *metric, const char *filter,
                                    struct leaderboard_row **out, size_t *n,
                                    struct errbuf *eb)
{
    return leaderboard_rows(st, experiment_id, metric, filter, NULL, 0, out, n,
                            eb);
}

enum srv_err store_leaderboard_rows_of(struct store *st, int64_t experiment_id,
                                       const char *metric, const char *filter,
                                       const int64_t *pks, size_t n_pks,
                                       struct leaderboard_row **out, size_t *n,
                                       struct errbuf *eb)
{
    if (n_pks == 0) {
        *out = NULL;
        *n = 0;
        return SRV_OK;
    }
    return leaderboard_rows(st, experiment_id, metric, filter, pks, n_pks, out,
                            n, eb);
}

void experiment_summaries_free(struct experiment_summary *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i].name);
    free(a);
}

static enum srv_err summary_from_row(sqlite3_stmt *s, void *item,
                                     struct errbuf *eb)
{
    struct experiment_summary *x = item;
    x->experiment_id = sqlite3_column_int64(s, 0);
    x->name = col_dup(s, 1);
    x->runs = sqlite3_column_int64(s, 2);
    x->running = sqlite3_column_int64(s, 3);
    x->energy_kwh = sqlite3_column_double(s, 4);
    x->co2_kg = sqlite3_column_double(s, 5);
    x->last_activity = sqlite3_column_int64(s, 6);
    return x->name ? SRV_OK : err_set(eb, SRV_E_NOMEM, "out of memory");
}

enum srv_err store_experiment_summaries(struct store *st,
                                        struct experiment_summary **out,
                                        size_t *n, struct errbuf *eb)
{
    static const char sql[] =
        "SELECT e.experiment_id, e.name, count(r.run_pk), "
        "coalesce(sum(r.status = 'RUNNING'), 0), coalesce(sum(en.value), 0), "
        "coalesce(sum(co.value), 0), max(e.last_update_time, "
        "coalesce(max(max(r.start_time, coalesce(r.end_time, 0), "
        "coalesce(en.timestamp, 0))), 0)) "
        "FROM experiments AS e "
        "LEFT JOIN runs AS r ON r.experiment_id = e.experiment_id "
        "AND r.lifecycle_stage = 'active' "
        "LEFT JOIN latest_metrics AS en ON en.run_pk = r.run_pk "
        "AND en.key = 'greentrack.energy_kwh' "
        "LEFT JOIN latest_metrics AS co ON co.run_pk = r.run_pk "
        "AND co.key = 'greentrack.co2_kg' "
        "WHERE e.lifecycle_stage = 'active' "
        "GROUP BY e.experiment_id ORDER BY e.experiment_id";
    *out = NULL;
    *n = 0;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK)
        return db_error(c, eb, "experiment summary");
    enum srv_err e;
    bool more;
    *out = read_page(c, s, INT64_MAX, sizeof(**out), summary_from_row, n, &more,
                     &e, eb);
    sqlite3_finalize(s);
    if (e) {
        experiment_summaries_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

void energy_samples_free(struct energy_sample *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].cpu_method);
        free(a[i].gpu_method);
        free(a[i].ram_method);
        free(a[i].scope);
        free(a[i].intensity_source);
    }
    free(a);
}

static enum srv_err sample_from_row(sqlite3_stmt *s, void *item,
                                    struct errbuf *eb)
{
    struct energy_sample *x = item;
    x->start_time = sqlite3_column_int64(s, 0);
    x->end_time = sqlite3_column_int64(s, 1);
    x->cpu_j = sqlite3_column_double(s, 2);
    x->gpu_j = sqlite3_column_double(s, 3);
    x->ram_j = sqlite3_column_double(s, 4);
    x->other_j = sqlite3_column_double(s, 5);
    x->cpu_method = col_dup(s, 6);
    x->gpu_method = col_dup(s, 7);
    x->ram_method = col_dup(s, 8);
    x->scope = col_dup(s, 9);
    x->has_intensity = sqlite3_column_type(s, 10) != SQLITE_NULL;
    x->intensity_g_per_kwh = sqlite3_column_double(s, 10);
    x->intensity_source = col_dup(s, 11); /* NULL without an intensity */
    if (!x->cpu_method || !x->gpu_method || !x->ram_method || !x->scope)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    return SRV_OK;
}

enum srv_err store_energy_samples(struct store *st, const char *run_id,
                                  int64_t offset, int64_t limit,
                                  struct energy_sample **out, size_t *n,
                                  bool *more, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *more = false;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct run_state rs;
    enum srv_err e = run_lookup(c, run_id, false, &rs, eb);
    if (e)
        return e;
    sqlite3_stmt *s = stmt(c, S_ENERGY_SAMPLES);
    if (!s)
        return db_error(c, eb, "energy samples");
    sqlite3_bind_int64(s, 1, rs.run_pk);
    sqlite3_bind_int64(s, 2, limit + 1);
    sqlite3_bind_int64(s, 3, offset);
    *out =
        read_page(c, s, limit, sizeof(**out), sample_from_row, n, more, &e, eb);
    sqlite3_reset(s);
    if (e) {
        energy_samples_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

static enum srv_err key_from_row(sqlite3_stmt *s, void *item, struct errbuf *eb)
{
    char **k = item;
    *k = col_dup(s, 0);
    return *k ? SRV_OK : err_set(eb, SRV_E_NOMEM, "out of memory");
}

enum srv_err store_experiment_keys(struct store *st, int64_t experiment_id,
                                   enum store_key_kind kind, char ***out,
                                   size_t *n, struct errbuf *eb)
{
    static const char *const sql[] = {
        [STORE_PARAM_KEYS] =
            "SELECT DISTINCT x.key FROM runs AS r JOIN params AS x "
            "ON x.run_pk = r.run_pk WHERE r.experiment_id = ? "
            "AND r.lifecycle_stage = 'active' ORDER BY 1",
        [STORE_METRIC_KEYS] =
            "SELECT DISTINCT x.key FROM runs AS r JOIN latest_metrics AS x "
            "ON x.run_pk = r.run_pk WHERE r.experiment_id = ? "
            "AND r.lifecycle_stage = 'active' ORDER BY 1",
        [STORE_TAG_KEYS] =
            "SELECT DISTINCT x.key FROM runs AS r JOIN tags AS x "
            "ON x.run_pk = r.run_pk WHERE r.experiment_id = ? "
            "AND r.lifecycle_stage = 'active' ORDER BY 1",
    };
    *out = NULL;
    *n = 0;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(c->db, sql[kind], -1, &s, NULL) != SQLITE_OK)
        return db_error(c, eb, "experiment keys");
    sqlite3_bind_int64(s, 1, experiment_id);
    enum srv_err e;
    bool more;
    *out = read_page(c, s, INT64_MAX, sizeof(**out), key_from_row, n, &more, &e,
                     eb);
    sqlite3_finalize(s);
    if (e) {
        for (size_t i = 0; i < *n; i++)
            free((*out)[i]);
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return e;
}

enum srv_err store_dataset_summaries(struct store *st,
                                     const int64_t *experiment_ids,
                                     size_t n_ids, struct dataset_summary **out,
                                     size_t *n, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    if (n_ids == 0)
        return SRV_OK;
    struct strbuf sql;
    strbuf_init(&sql);
    strbuf_append_str(&sql, "SELECT DISTINCT d.experiment_id, d.name, "
                            "d.digest, t.value FROM datasets AS d "
                            "JOIN run_inputs AS i ON i.dataset_pk = "
                            "d.dataset_pk LEFT JOIN input_tags AS t "
                            "ON t.run_pk = i.run_pk AND t.dataset_pk = "
                            "i.dataset_pk AND t.key = 'mlflow.data.context' "
                            "WHERE d.experiment_id IN (");
    for (size_t i = 0; i < n_ids; i++)
        strbuf_append_str(&sql, i ? ",?" : "?");
    strbuf_append_str(&sql, ") ORDER BY 1, 2, 3, 4 LIMIT 1000");
    if (sql.oom) {
        strbuf_cleanup(&sql);
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    }
    struct conn *c = reader(st, eb);
    if (!c) {
        strbuf_cleanup(&sql);
        return SRV_E_UNAVAILABLE;
    }
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql.buf, -1, &s, NULL);
    strbuf_cleanup(&sql);
    if (rc != SQLITE_OK)
        return db_error(c, eb, "dataset summaries");
    for (size_t i = 0; i < n_ids; i++)
        sqlite3_bind_int64(s, (int)i + 1, experiment_ids[i]);
    enum srv_err e = SRV_OK;
    size_t cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct dataset_summary *p = grow(*out, *n, &cap, sizeof(*p));
        if (!p) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
        *out = p;
        struct dataset_summary *d = &p[(*n)++];
        d->experiment_id = sqlite3_column_int64(s, 0);
        d->name = col_dup(s, 1);
        d->digest = col_dup(s, 2);
        d->context =
            sqlite3_column_type(s, 3) == SQLITE_NULL ? NULL : col_dup(s, 3);
        if (!d->name || !d->digest ||
            (sqlite3_column_type(s, 3) != SQLITE_NULL && !d->context)) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
    }
    if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE)
        e = db_error(c, eb, "dataset summaries");
    sqlite3_finalize(s);
    if (e) {
        dataset_summaries_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

void dataset_summaries_free(struct dataset_summary *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        free(a[i].name);
        free(a[i].digest);
        free(a[i].context);
    }
    free(a);
}

/*---- gc ----*/

void deleted_runs_free(struct deleted_run *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].run_id);
        free(a[i].artifact_uri);
    }
    free(a);
}

enum srv_err store_deleted_runs(struct store *st, int64_t deleted_before,
                                struct deleted_run **out, size_t *n,
                                struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT run_id, experiment_id, artifact_uri, "
                           "coalesce(deleted_time, 0) FROM runs "
                           "WHERE lifecycle_stage = 'deleted' "
                           "AND (?1 < 0 OR deleted_time <= ?1) "
                           "ORDER BY deleted_time, run_pk",
                           -1, &s, NULL) != SQLITE_OK)
        return db_error(c, eb, "deleted runs");
    sqlite3_bind_int64(s, 1, deleted_before);
    struct deleted_run *a = NULL;
    size_t cnt = 0, cap = 0;
    enum srv_err e = SRV_OK;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct deleted_run *p = grow(a, cnt, &cap, sizeof(*a));
        if (!p) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
        a = p;
        a[cnt] = (struct deleted_run){
            .run_id = col_dup(s, 0),
            .experiment_id = sqlite3_column_int64(s, 1),
            .artifact_uri = col_dup(s, 2),
            .deleted_time = sqlite3_column_int64(s, 3),
        };
        cnt++;
        if (!a[cnt - 1].run_id || !a[cnt - 1].artifact_uri) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
    }
    if (!e && rc != SQLITE_DONE)
        e = db_error(c, eb, "deleted runs");
    sqlite3_finalize(s);
    if (e) {
        deleted_runs_free(a, cnt);
        return e;
    }
    *out = a;
    *n = cnt;
    return SRV_OK;
}

double store_default_pue(const struct store *st)
{
    return st->default_pue;
}

enum srv_err store_run_carbon(struct store *st, const char *run_id,
                              struct run_carbon *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct run_state rs;
    enum srv_err e = run_lookup(c, run_id, false, &rs, eb);
    if (e || (e = read_run_carbon(c, rs.run_pk, true, out, eb)))
        return e;
    sqlite3_stmt *s = stmt(c, S_RUN_METHODS);
    if (!s) {
        run_carbon_cleanup(out);
        return db_error(c, eb, "energy methods");
    }
    sqlite3_bind_int64(s, 1, rs.run_pk);
    if (sqlite3_step(s) == SQLITE_ROW) {
        out->cpu_methods = col_dup(s, 0);
        out->gpu_methods = col_dup(s, 1);
        out->ram_methods = col_dup(s, 2);
        out->scopes = col_dup(s, 3);
        out->intensity_sources = col_dup(s, 4);
    }
    sqlite3_reset(s);
    return SRV_OK;
}

static enum srv_err run_pk_of(struct conn *c, const char *run_id, int64_t *pk,
                              struct errbuf *eb)
{
    struct run_state rs;
    enum srv_err e = run_lookup(c, run_id, false, &rs, eb);
    if (!e)
        *pk = rs.run_pk;
    return e;
}

static enum srv_err push_metric(struct metric **out, size_t *n, size_t *cap,
                                const char *key, sqlite3_stmt *s, int ts_col,
                                int step_col, int val_col, int nan_col,
                                struct errbuf *eb)
{
    struct metric *p = grow(*out, *n, cap, sizeof(*p));
    if (!p)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    *out = p;
    struct metric *m = &(*out)[(*n)++];
    memset(m, 0, sizeof(*m));
    m->key = key; /* borrowed from the caller, as the store.h contract says */
    m->timestamp = sqlite3_column_int64(s, ts_col);
    m->step = sqlite3_column_int64(s, step_col);
    m->value = sqlite3_column_int(s, nan_col)
                   ? NAN
                   : sqlite3_column_double(s, val_col);
    return SRV_OK;
}

enum srv_err store_metric_history(struct store *st, const char *run_id,
                                  const char *key, int64_t offset,
                                  int64_t limit, struct metric **out, size_t *n,
                                  bool *more, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *more = false;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    int64_t pk = 0;
    enum srv_err e = run_pk_of(c, run_id, &pk, eb);
    if (e)
        return e;
    sqlite3_stmt *s = stmt(c, S_HISTORY);
    if (!s)
        return db_error(c, eb, "history");
    sqlite3_bind_int64(s, 1, pk);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, limit < 0 ? -1 : limit + 1);
    sqlite3_bind_int64(s, 4, offset);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (limit >= 0 && *n == (size_t)limit) {
            *more = true;
            break;
        }
        if ((e = push_metric(out, n, &cap, key, s, 0, 1, 2, 3, eb)))
            break;
    }
    sqlite3_reset(s);
    if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE)
        e = db_error(c, eb, "history");
    if (e) {
        metric_array_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

enum srv_err store_metric_history_sampled(
    struct store *st, const char *const *run_ids, size_t n_runs,
    const char *key, bool has_range, int64_t start_step, int64_t end_step,
    int64_t max_results, struct metric **out, size_t *n, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    size_t cap = 0;
    enum srv_err e = SRV_OK;
    for (size_t r = 0; r < n_runs && !e; r++) {
        int64_t pk = 0;
        if ((e = run_pk_of(c, run_ids[r], &pk, eb)))
            break;
        sqlite3_stmt *s = stmt(c, S_HISTORY_BY_STEP);
        if (!s) {
            e = db_error(c, eb, "history");
            break;
        }
        sqlite3_bind_int64(s, 1, pk);
        sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, has_range ? start_step : INT64_MIN);
        sqlite3_bind_int64(s, 4, has_range ? end_step : INT64_MAX);
        /* Read this run's points (ordered by step), then keep those whose
         * step is one of 'max_results' steps spread evenly. */
        size_t first = *n;
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            if ((e = push_metric(out, n, &cap, key, s, 1, 0, 2, 3, eb)))
                break;
            (*out)[*n - 1].run_id = run_ids[r];
        }
        sqlite3_reset(s);
        if (!e && rc != SQLITE_DONE && rc != SQLITE_ROW)
            e = db_error(c, eb, "history");
        if (e)
            break;
        size_t distinct = 0;
        for (size_t i = first; i < *n; i++)
            distinct += i == first || (*out)[i].step != (*out)[i - 1].step;
        if (distinct <= (size_t)max_results)
            continue;
        /* Step index k is kept when it is round(j * (distinct-1) /
         * (max-1)) for some j: the first and last are always kept. */
        size_t keep_to = first, k = 0, j = 0;
        size_t m = (size_t)max_results;
        for (size_t i = first; i < *n; i++) {
            if (i > first && (*out)[i].step != (*out)[i - 1].step)
                k++;
            while (m > 1 && j < m &&
                   (j * (distinct - 1) + (m - 1) / 2) / (m - 1) < k)
                j++;
            bool keep =
                m == 1 ? k == 0
                       : (j < m &&
                          (j * (distinct - 1) + (m - 1) / 2) / (m - 1) == k);
            if (keep)
                (*out)[keep_to++] = (*out)[i];
        }
        *n = keep_to;
    }
    if (e) {
        metric_array_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

/*---- chunked reads (streamed replies) ----*/

/* Binds a text keyset position at 'pos': after 'key' (that key plus a
 * NUL byte, as the statements compare with >=), or '' from the start. */
static void bind_after(sqlite3_stmt *s, int pos, const char *key)
{
    if (key)
        sqlite3_bind_text(s, pos, key, (int)strlen(key) + 1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_text(s, pos, "", 0, SQLITE_STATIC);
}

/* Text bytes of the row's columns [0, cols). */
static size_t row_bytes(sqlite3_stmt *s, int cols)
{
    size_t n = 0;
    for (int i = 0; i < cols; i++)
        n += (size_t)sqlite3_column_bytes(s, i);
    return n;
}

/* After a chunk's rows: resets 's', and '*end' when it had no more rows
 * (rc is the last step's result). */
static enum srv_err chunk_done(struct conn *c, sqlite3_stmt *s, int rc,
                               bool *end, struct errbuf *eb)
{
    sqlite3_reset(s);
    *end = rc == SQLITE_DONE;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return db_error(c, eb, "read");
    return SRV_OK;
}

enum srv_err store_run_pk(struct store *st, const char *run_id, int64_t *pk,
                          struct errbuf *eb)
{
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    return run_pk_of(c, run_id, pk, eb);
}

enum srv_err store_run_info(struct store *st, int64_t run_pk, struct run *out,
                            struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = stmt(c, S_CHUNK_RUN_BY_PK);
    if (!s)
        return db_error(c, eb, "run get");
    sqlite3_bind_int64(s, 1, run_pk);
    int rc = sqlite3_step(s);
    enum srv_err e;
    if (rc == SQLITE_ROW)
        e = run_from_row(s, out, eb);
    else if (rc == SQLITE_DONE)
        e = err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST, "Run not found");
    else
        e = db_error(c, eb, "run get");
    sqlite3_reset(s);
    if (e)
        run_cleanup(out);
    return e;
}

enum srv_err store_experiment_info(struct store *st, int64_t experiment_id,
                                   struct experiment *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = stmt(c, S_EXP_BY_ID);
    if (!s)
        return db_error(c, eb, "experiment get");
    sqlite3_bind_int64(s, 1, experiment_id);
    int rc = sqlite3_step(s);
    enum srv_err e;
    if (rc == SQLITE_ROW)
        e = exp_from_row(s, out, eb);
    else if (rc == SQLITE_DONE)
        e = no_experiment(eb, experiment_id);
    else
        e = db_error(c, eb, "experiment get");
    sqlite3_reset(s);
    if (e)
        experiment_cleanup(out);
    return e;
}

enum srv_err store_experiment_id_by_name(struct store *st, const char *name,
                                         int64_t *id, struct errbuf *eb)
{
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = stmt(c, S_EXP_BY_NAME);
    if (!s)
        return db_error(c, eb, "experiment get");
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    bool found;
    enum srv_err e = step_int64(c, s, id, &found, eb, "experiment get");
    if (!e && !found)
        e = err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                    "Could not find experiment with name '%s'", name);
    return e;
}

/* Fills a chunk's zeroed 'item' from the statement's row and adds the
 * row's weight to '*bytes'; false when out of memory. */
typedef bool (*chunk_row)(sqlite3_stmt *s, void *item, void *ctx,
                          size_t *bytes);

/* Steps 's' into an array of 'elem'-sized items, filled by 'from_row',
 * until the rows read weigh 'max_bytes' (at least one row), then resets
 * 's' and sets '*end' when it had no more rows. Leaves the array (with
 * '*n' items, also on error, for the caller to free) in '*out'. */
static enum srv_err read_chunk(struct conn *c, sqlite3_stmt *s,
                               size_t max_bytes, size_t elem,
                               chunk_row from_row, void *ctx, void **out,
                               size_t *n, bool *end, struct errbuf *eb)
{
    char *arr = NULL;
    size_t cap = 0, bytes = 0;
    int rc = SQLITE_ROW;
    enum srv_err e = SRV_OK;
    while ((*n == 0 || bytes < max_bytes) &&
           (rc = sqlite3_step(s)) == SQLITE_ROW) {
        char *p = grow(arr, *n, &cap, elem);
        if (!p) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
        arr = p;
        void *item = arr + *n * elem;
        memset(item, 0, elem);
        (*n)++;
        if (!from_row(s, item, ctx, &bytes)) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
    }
    *out = arr;
    if (!e)
        e = chunk_done(c, s, rc, end, eb);
    else
        sqlite3_reset(s);
    return e;
}

static bool kv_chunk_row(sqlite3_stmt *s, void *item, void *ctx, size_t *bytes)
{
    (void)ctx;
    struct kv *x = item;
    x->key = col_dup(s, 0);
    x->value = col_dup(s, 1);
    *bytes += row_bytes(s, 2);
    return x->key && x->value;
}

enum srv_err store_kv_chunk(struct store *st, enum store_kv_list list,
                            int64_t owner, int64_t dataset_pk,
                            const char *after, size_t max_bytes,
                            struct kv **out, size_t *n, bool *end,
                            struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *end = true;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    static const enum stmt_id ids[] = {
        [STORE_KV_PARAMS] = S_CHUNK_PARAMS,
        [STORE_KV_TAGS] = S_CHUNK_TAGS,
        [STORE_KV_EXPERIMENT_TAGS] = S_CHUNK_EXP_TAGS,
        [STORE_KV_INPUT_TAGS] = S_CHUNK_INPUT_TAGS,
    };
    sqlite3_stmt *s = stmt(c, ids[list]);
    if (!s)
        return db_error(c, eb, "read");
    sqlite3_bind_int64(s, 1, owner);
    bind_after(s, 2, after);
    if (list == STORE_KV_INPUT_TAGS)
        sqlite3_bind_int64(s, 3, dataset_pk);
    void *arr;
    enum srv_err e = read_chunk(c, s, max_bytes, sizeof(**out), kv_chunk_row,
                                NULL, &arr, n, end, eb);
    *out = arr;
    if (e) {
        kv_array_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

static bool latest_chunk_row(sqlite3_stmt *s, void *item, void *ctx,
                             size_t *bytes)
{
    (void)ctx;
    struct metric *m = item;
    m->key = m->key_storage = col_dup(s, 0);
    m->value = sqlite3_column_int(s, 4) ? NAN : sqlite3_column_double(s, 1);
    m->timestamp = sqlite3_column_int64(s, 2);
    m->step = sqlite3_column_int64(s, 3);
    *bytes += row_bytes(s, 1) + 48;
    return m->key != NULL;
}

enum srv_err store_latest_chunk(struct store *st, int64_t run_pk,
                                const char *after, size_t max_bytes,
                                struct metric **out, size_t *n, bool *end,
                                struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *end = true;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = stmt(c, S_CHUNK_LATEST);
    if (!s)
        return db_error(c, eb, "latest metrics");
    sqlite3_bind_int64(s, 1, run_pk);
    bind_after(s, 2, after);
    void *arr;
    enum srv_err e = read_chunk(c, s, max_bytes, sizeof(**out),
                                latest_chunk_row, NULL, &arr, n, end, eb);
    *out = arr;
    if (e) {
        metric_array_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

void store_datasets_free(struct store_dataset *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct dataset_input *d = &a[i].in;
        free(d->name);
        free(d->digest);
        free(d->source_type);
        free(d->source);
        free(d->schema);
        free(d->profile);
        kv_array_free(d->tags, d->n_tags);
    }
    free(a);
}

static bool dataset_chunk_row(sqlite3_stmt *s, void *item, void *ctx,
                              size_t *bytes)
{
    (void)ctx;
    struct store_dataset *x = item;
    x->dataset_pk = sqlite3_column_int64(s, 0);
    x->in.name = col_dup(s, 1);
    x->in.digest = col_dup(s, 2);
    x->in.source_type = col_dup(s, 3);
    x->in.source = col_dup(s, 4);
    x->in.schema = col_dup(s, 5);
    x->in.profile = col_dup(s, 6);
    x->seq = sqlite3_column_int64(s, 7);
    *bytes += row_bytes(s, 7);
    return x->in.name && x->in.digest && x->in.source_type && x->in.source;
}

enum srv_err store_datasets_chunk(struct store *st, int64_t run_pk,
                                  int64_t after_seq, size_t max_bytes,
                                  struct store_dataset **out, size_t *n,
                                  bool *end, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *end = true;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = stmt(c, S_CHUNK_DATASETS);
    if (!s)
        return db_error(c, eb, "inputs");
    sqlite3_bind_int64(s, 1, run_pk);
    sqlite3_bind_int64(s, 2, after_seq);
    void *arr;
    enum srv_err e = read_chunk(c, s, max_bytes, sizeof(**out),
                                dataset_chunk_row, NULL, &arr, n, end, eb);
    *out = arr;
    if (e) {
        store_datasets_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

/* ctx: the int64_t that takes the last row's sequence number. */
static bool model_input_chunk_row(sqlite3_stmt *s, void *item, void *ctx,
                                  size_t *bytes)
{
    char **id = item;
    if (!(*id = col_dup(s, 0)))
        return false;
    *(int64_t *)ctx = sqlite3_column_int64(s, 1);
    *bytes += row_bytes(s, 1);
    return true;
}

enum srv_err store_model_inputs_chunk(struct store *st, int64_t run_pk,
                                      int64_t after_seq, size_t max_bytes,
                                      char ***ids, size_t *n, int64_t *last_seq,
                                      bool *end, struct errbuf *eb)
{
    *ids = NULL;
    *n = 0;
    *end = true;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = stmt(c, S_CHUNK_MODEL_INPUTS);
    if (!s)
        return db_error(c, eb, "model inputs");
    sqlite3_bind_int64(s, 1, run_pk);
    sqlite3_bind_int64(s, 2, after_seq);
    void *arr;
    enum srv_err e =
        read_chunk(c, s, max_bytes, sizeof(**ids), model_input_chunk_row,
                   last_seq, &arr, n, end, eb);
    *ids = arr;
    if (e) {
        for (size_t i = 0; i < *n; i++)
            free((*ids)[i]);
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return e;
}

enum srv_err store_history_chunk(struct store *st, int64_t run_pk,
                                 const char *key, int64_t offset,
                                 const struct store_point *after,
                                 size_t max_rows, struct metric **out,
                                 size_t *n, bool *end, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *end = true;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s =
        stmt(c, after ? S_CHUNK_HISTORY_AFTER : S_CHUNK_HISTORY_FROM);
    if (!s)
        return db_error(c, eb, "history");
    sqlite3_bind_int64(s, 1, run_pk);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (int64_t)max_rows + 1);
    if (after) {
        sqlite3_bind_int64(s, 4, after->timestamp);
        sqlite3_bind_int64(s, 5, after->step);
        sqlite3_bind_double(s, 6, after->value);
        sqlite3_bind_int(s, 7, after->is_nan);
    } else {
        sqlite3_bind_int64(s, 4, offset);
    }
    size_t cap = 0;
    int rc;
    enum srv_err e = SRV_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == max_rows)
            break;
        if ((e = push_metric(out, n, &cap, key, s, 0, 1, 2, 3, eb)))
            break;
    }
    if (!e)
        e = chunk_done(c, s, rc, end, eb);
    else
        sqlite3_reset(s);
    if (e) {
        metric_array_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

void store_point_of(const struct metric *m, struct store_point *out)
{
    out->timestamp = m->timestamp;
    out->step = m->step;
    out->is_nan = isnan(m->value);
    out->value = out->is_nan ? 0 : m->value;
}

enum srv_err store_energy_chunk(struct store *st, int64_t run_pk,
                                int64_t offset, const int64_t *after,
                                size_t max_rows, struct energy_sample **out,
                                size_t *n, bool *end, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *end = true;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s =
        stmt(c, after ? S_CHUNK_ENERGY_AFTER : S_CHUNK_ENERGY_FROM);
    if (!s)
        return db_error(c, eb, "energy samples");
    sqlite3_bind_int64(s, 1, run_pk);
    sqlite3_bind_int64(s, 2, (int64_t)max_rows + 1);
    if (after) {
        sqlite3_bind_int64(s, 3, after[0]);
        sqlite3_bind_int64(s, 4, after[1]);
    } else {
        sqlite3_bind_int64(s, 3, offset);
    }
    enum srv_err e;
    bool more;
    *out = read_page(c, s, (int64_t)max_rows, sizeof(**out), sample_from_row, n,
                     &more, &e, eb);
    sqlite3_reset(s);
    *end = !more;
    if (e) {
        energy_samples_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

enum srv_err store_summaries_chunk(struct store *st, int64_t after_id,
                                   size_t max_rows,
                                   struct experiment_summary **out, size_t *n,
                                   bool *end, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *end = true;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = stmt(c, S_CHUNK_SUMMARIES);
    if (!s)
        return db_error(c, eb, "experiment summary");
    sqlite3_bind_int64(s, 1, after_id);
    sqlite3_bind_int64(s, 2, (int64_t)max_rows + 1);
    enum srv_err e;
    bool more;
    *out = read_page(c, s, (int64_t)max_rows, sizeof(**out), summary_from_row,
                     n, &more, &e, eb);
    sqlite3_reset(s);
    *end = !more;
    if (e) {
        experiment_summaries_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

/*---- grid intensity ----*/

enum srv_err store_grid_points(struct store *st, const char *zone,
                               const char *source, bool any_kind,
                               enum grid_kind kind, int64_t start_ms,
                               int64_t end_ms, size_t limit,
                               struct grid_point **out, size_t *n,
                               struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    return grid_read(c, zone, source, any_kind ? NULL : grid_kind_name(kind),
                     start_ms, end_ms, limit, out, n, eb);
}

enum srv_err store_grid_zones_in_use(struct store *st, int64_t since_ms,
                                     char ***out, size_t *n, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = stmt(c, S_GRID_ZONES);
    if (!s)
        return db_error(c, eb, "grid zones");
    sqlite3_bind_int64(s, 1, since_ms);
    char **a = NULL;
    size_t m = 0, cap = 0;
    enum srv_err e = SRV_OK;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (m == cap) {
            size_t nc = cap ? cap * 2 : 8;
            char **na = realloc(a, nc * sizeof(*a));
            if (!na) {
                e = err_set(eb, SRV_E_NOMEM, "out of memory");
                break;
            }
            a = na;
            cap = nc;
        }
        if (!(a[m] = col_dup(s, 0))) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
        m++;
    }
    sqlite3_reset(s);
    if (!e && rc != SQLITE_DONE)
        e = db_error(c, eb, "grid zones");
    if (e) {
        for (size_t i = 0; i < m; i++)
            free(a[i]);
        free(a);
        return e;
    }
    *out = a;
    *n = m;
    return SRV_OK;
}

uint64_t store_grid_zone_epoch(struct store *st)
{
    return atomic_load(&st->zone_epoch);
}

void schedule_stats_cleanup(struct schedule_stats *s)
{
    if (!s)
        return;
    free(s->zone);
    memset(s, 0, sizeof(*s));
}

/* The median of the first column of 's' (rows in ascending order). */
static enum srv_err median_of(struct conn *c, sqlite3_stmt *s, double *median,
                              int64_t *count, struct errbuf *eb)
{
    double *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            double *nv = realloc(v, nc * sizeof(*v));
            if (!nv) {
                sqlite3_reset(s);
                free(v);
                return err_set(eb, SRV_E_NOMEM, "out of memory");
            }
            v = nv;
            cap = nc;
        }
        v[n++] = sqlite3_column_double(s, 0);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        free(v);
        return db_error(c, eb, "experiment statistics");
    }
    *count = (int64_t)n;
    *median = n == 0       ? 0
              : n % 2 == 1 ? v[n / 2]
                           : (v[n / 2 - 1] + v[n / 2]) / 2;
    free(v);
    return SRV_OK;
}

enum srv_err store_schedule_stats(struct store *st, int64_t experiment_id,
                                  struct schedule_stats *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct conn *c = reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = stmt(c, S_EXP_TOP_ZONE);
    if (!s)
        return db_error(c, eb, "experiment statistics");
    sqlite3_bind_int64(s, 1, experiment_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && !(out->zone = col_dup(s, 0))) {
        sqlite3_reset(s);
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_error(c, eb, "experiment statistics");
    double median;
    enum srv_err e;
    if (!(s = stmt(c, S_EXP_DURATIONS)))
        e = db_error(c, eb, "experiment statistics");
    else {
        sqlite3_bind_int64(s, 1, experiment_id);
        e = median_of(c, s, &median, &out->finished_runs, eb);
        out->median_duration_ms = (int64_t)ceil(median);
    }
    if (!e && !(s = stmt(c, S_EXP_ENERGIES)))
        e = db_error(c, eb, "experiment statistics");
    else if (!e) {
        sqlite3_bind_int64(s, 1, experiment_id);
        e = median_of(c, s, &median, &out->energy_runs, eb);
        out->median_energy_kwh = median / CARBON_J_PER_KWH;
    }
    if (e)
        schedule_stats_cleanup(out);
    return e;
}

/*---- internals of the domain files (store_int.h) ----*/

struct conn *store_reader(struct store *st, struct errbuf *eb)
{
    return reader(st, eb);
}

sqlite3 *store_conn_db(struct conn *c)
{
    return c->db;
}

sqlite3_stmt *store_conn_stmt(struct conn *c, unsigned slot, const char *sql)
{
    if (slot >= STORE_DOMAIN_STMTS) {
        log_error("statement slot %u out of range: %s", slot, sql);
        return NULL;
    }
    sqlite3_stmt *s = c->domain[slot];
    if (s) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return s;
    }
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
                           NULL) != SQLITE_OK) {
        log_error("prepare failed: %s: %s", sqlite3_errmsg(c->db), sql);
        return NULL;
    }
    c->domain[slot] = s;
    return s;
}

enum srv_err store_conn_error(struct conn *c, struct errbuf *eb,
                              const char *what)
{
    return db_error(c, eb, what);
}

void store_bind_frag(sqlite3_stmt *s, const struct sql_frag *f, int *pos)
{
    bind_frag(s, f, pos);
}

char *store_col_dup(sqlite3_stmt *s, int i)
{
    return col_dup(s, i);
}

void store_conn_note_run(struct conn *c, int64_t run_pk)
{
    note_run(c, run_pk);
}

void *store_grow(void *arr, size_t n, size_t *cap, size_t elem)
{
    return grow(arr, n, cap, elem);
}

enum srv_err store_step_done(struct conn *c, sqlite3_stmt *s, struct errbuf *eb,
                             const char *what)
{
    return step_done(c, s, eb, what);
}

enum srv_err store_step_int64(struct conn *c, sqlite3_stmt *s, int64_t *v,
                              bool *found, struct errbuf *eb, const char *what)
{
    return step_int64(c, s, v, found, eb, what);
}

void *store_read_page(struct conn *c, sqlite3_stmt *s, int64_t max, size_t elem,
                      enum srv_err (*from_row)(sqlite3_stmt *, void *,
                                               struct errbuf *),
                      size_t *n, bool *more, enum srv_err *e, struct errbuf *eb)
{
    return read_page(c, s, max, elem, from_row, n, more, e, eb);
}
