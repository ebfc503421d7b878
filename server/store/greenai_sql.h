/* SPDX-License-Identifier: MIT
 *
 * greenai_sql: the statements of Green-AI decisions, every one on
 * run_phases and the lineage and hardware tags (an X-macro table,
 * numbered among the connection's domain statements from
 * STORE_GREENAI_STMT_BASE), and the helpers that write_greenai.c and
 * read_greenai.c share.
 */
#ifndef SERVER_STORE_GREENAI_SQL_H
#define SERVER_STORE_GREENAI_SQL_H

#include "internal.h"
#include "registry.h"
#include "store_greenai.h"

#define LINEAGE_KEYS                                                           \
    "('" GREENAI_TAG_BASE_RUN "', '" GREENAI_TAG_BASE_MODEL                    \
    "', '" GREENAI_TAG_BASE_CO2 "', '" GREENAI_TAG_BASE_SOURCE "')"
#define ACTIVE_OF_EXP "r.experiment_id = ?1 AND r.lifecycle_stage = 'active'"
/* joules of sample e inside phase p, pro rata by time overlap; CASE for
 * the scalar min/max and DOUBLE PRECISION (REAL is 4 bytes on
 * PostgreSQL) so both engines read it alike */
#define OVERLAP_J                                                              \
    "(e.cpu_j + e.gpu_j + e.ram_j + e.other_j) * "                             \
    "CAST((CASE WHEN e.end_time < p.end_time THEN e.end_time "                 \
    "ELSE p.end_time END) - (CASE WHEN e.start_time > p.start_time "           \
    "THEN e.start_time ELSE p.start_time END) AS DOUBLE PRECISION) / "         \
    "NULLIF(e.end_time - e.start_time, 0)"

#define FOR_EACH_GREENAI_STMT(X)                                               \
    X(G_RUN_LOOKUP, "SELECT run_pk, experiment_id FROM runs WHERE run_id = ?") \
    X(G_PHASE_UPSERT,                                                          \
      "INSERT INTO run_phases (run_pk, phase, start_time, end_time, "          \
      "work_count, work_unit) VALUES (?, ?, ?, ?, ?, ?) "                      \
      "ON CONFLICT (run_pk, phase, start_time) DO UPDATE SET "                 \
      "end_time = excluded.end_time, work_count = excluded.work_count, "       \
      "work_unit = excluded.work_unit")                                        \
    X(G_PHASES, "SELECT phase, start_time, end_time, work_count, work_unit "   \
                "FROM run_phases WHERE run_pk = ? ORDER BY start_time, phase") \
    X(G_SAMPLES, "SELECT start_time, end_time, "                               \
                 "cpu_j + gpu_j + ram_j + other_j FROM energy_samples "        \
                 "WHERE run_pk = ? ORDER BY start_time, end_time")             \
    X(G_LINEAGE_TAGS, "SELECT key, value FROM tags WHERE run_pk = ? "          \
                      "AND key IN " LINEAGE_KEYS)                              \
    X(G_MODEL_RUN,                                                             \
      "SELECT v.run_id FROM model_versions AS v JOIN registered_models AS m "  \
      "ON m.model_pk = v.model_pk WHERE m.name = ? AND v.version = ? AND "     \
      "v.current_stage != '" REGISTRY_STAGE_DELETED "'")                       \
    X(G_RUN_CO2, "SELECT lm.value FROM latest_metrics AS lm JOIN runs AS r "   \
                 "ON r.run_pk = lm.run_pk WHERE r.run_id = ? "                 \
                 "AND lm.key = 'greentrack.co2_kg'")                           \
    X(G_SHARE_RUN,                                                             \
      "SELECT count(*) FROM tags AS t JOIN runs AS r "                         \
      "ON r.run_pk = t.run_pk WHERE t.key = '" GREENAI_TAG_BASE_RUN            \
      "' AND t.value = ? AND r.lifecycle_stage = 'active'")                    \
    X(G_SHARE_MODEL,                                                           \
      "SELECT count(*) FROM tags AS t JOIN runs AS r "                         \
      "ON r.run_pk = t.run_pk WHERE t.key = '" GREENAI_TAG_BASE_MODEL          \
      "' AND t.value = ? AND r.lifecycle_stage = 'active'")                    \
    X(G_SHARE_SOURCE,                                                          \
      "SELECT count(*) FROM tags AS t JOIN runs AS r "                         \
      "ON r.run_pk = t.run_pk WHERE t.key = '" GREENAI_TAG_BASE_SOURCE         \
      "' AND t.value = ? AND r.lifecycle_stage = 'active'")                    \
    /* one range seek per run: the four keys share the prefix */               \
    X(G_EXP_LINEAGE,                                                           \
      "SELECT r.run_pk, t.key, t.value FROM runs AS r JOIN tags AS t "         \
      "ON t.run_pk = r.run_pk AND t.key >= 'greentrack.base_' AND "            \
      "t.key < 'greentrack.base`' AND t.key IN " LINEAGE_KEYS                  \
      " WHERE " ACTIVE_OF_EXP)                                                 \
    X(G_RUN_LINEAGE, "SELECT run_pk, key, value FROM tags WHERE run_pk = ? "   \
                     "AND key IN " LINEAGE_KEYS)                               \
    X(G_RUN_INFERENCE,                                                         \
      "SELECT max(p.run_pk), sum(coalesce(p.work_count, 0)), sum((SELECT "     \
      "coalesce(sum(" OVERLAP_J "), 0) FROM energy_samples AS e "              \
      "WHERE e.run_pk = p.run_pk AND e.start_time < p.end_time "               \
      "AND e.end_time > p.start_time)) FROM run_phases AS p "                  \
      "WHERE p.run_pk = ? AND p.phase = 'inference'")                          \
    X(G_REFERENCED,                                                            \
      "SELECT 1 FROM runs AS r WHERE r.run_pk = ?1 AND (EXISTS (SELECT 1 "     \
      "FROM tags AS t WHERE t.key = '" GREENAI_TAG_BASE_RUN "' AND "           \
      "t.value = r.run_id) OR EXISTS (SELECT 1 FROM model_versions AS v "      \
      "WHERE v.run_id = r.run_id))")                                           \
    X(G_SLOT_SHARED, "SELECT 1 FROM experiments WHERE experiment_id != ?1 "    \
                     "AND experiment_id % ?2 = ?1 % ?2 LIMIT 1")               \
    X(G_EXP_INFERENCE,                                                         \
      "SELECT p.run_pk, sum(coalesce(p.work_count, 0)), sum((SELECT "          \
      "coalesce(sum(" OVERLAP_J "), 0) FROM energy_samples AS e "              \
      "WHERE e.run_pk = p.run_pk AND e.start_time < p.end_time "               \
      "AND e.end_time > p.start_time)) FROM run_phases AS p JOIN runs AS r "   \
      "ON r.run_pk = p.run_pk WHERE p.phase = 'inference' AND " ACTIVE_OF_EXP  \
      " GROUP BY p.run_pk ORDER BY p.run_pk")                                  \
    X(G_EXP_HOSTS,                                                             \
      "SELECT r.run_pk, t.key, t.value FROM runs AS r JOIN tags AS t "         \
      "ON t.run_pk = r.run_pk AND t.key IN ('greentrack.host.cpu', "           \
      "'greentrack.host.gpu_model', 'greentrack.host.gpus') "                  \
      "WHERE " ACTIVE_OF_EXP " ORDER BY r.run_pk")                             \
    X(G_EXP_BUDGET, "SELECT value FROM experiment_tags WHERE "                 \
                    "experiment_id = ? AND key = '" GREENAI_TAG_BUDGET "'")    \
    /* the runs that can have an alternative: energy and a cloud or zone */    \
    X(G_EXP_RUN_IDS,                                                           \
      "SELECT r.run_id FROM runs AS r WHERE " ACTIVE_OF_EXP                    \
      " AND EXISTS (SELECT 1 FROM run_energy AS e WHERE e.run_pk = "           \
      "r.run_pk) AND EXISTS (SELECT 1 FROM tags AS t WHERE t.run_pk = "        \
      "r.run_pk AND t.key IN ('greentrack.cloud_provider', "                   \
      "'greentrack.zone')) ORDER BY r.run_pk")

enum greenai_stmt {
#define G_STMT_ENUM(id, sql) id,
    FOR_EACH_GREENAI_STMT(G_STMT_ENUM)
#undef G_STMT_ENUM
        G_STMT_COUNT
};

/* Statement 'id' on connection 'c', prepared on first use and reset for
 * reuse; NULL (logged) when it cannot be prepared (store_conn_stmt). */
struct db_stmt *store_greenai_stmt(struct conn *c, enum greenai_stmt id);

/* Looks a run up by id: false when there is none (or on error). */
bool store_greenai_run_find(struct conn *c, const char *run_id, int64_t *pk,
                            int64_t *experiment_id);

/* RESOURCE_DOES_NOT_EXIST for run 'run_id'. */
enum srv_err store_greenai_no_run(struct errbuf *eb, const char *run_id);

/* A finite number >= 0 in 's' (all of it). */
bool store_greenai_parse_kg(const char *s, double *out);

/*---- the lineage walk, for the writer's tag check and the reads ----*/

/* Adds one (key, value) tag to 'd'; false when out of memory. */
bool store_greenai_decl_add(struct greenai_decl *d, const char *key,
                            const char *value);

/* The lineage declaration of run 'run_pk' into 'out' (free with
 * greenai_decl_cleanup). */
enum srv_err store_greenai_decl_read(struct conn *c, int64_t run_pk,
                                     struct greenai_decl *d, struct errbuf *eb);

/* The run a declaration's base resolves to, into 'buf': its
 * greentrack.base_run_id, else the source run of greentrack.base_model
 * ("name/version") in the registry. False when neither names a run. */
bool store_greenai_decl_base_run(struct conn *c, const struct greenai_decl *d,
                                 char *buf, size_t len);

/* greenai_chain's callback on one connection. */
struct chain_ctx {
    struct conn *c;
    char base[128];
    bool failed; /* a read failed (not just "no such run") */
};

/* greenai_chain's callback ('p' a struct chain_ctx): the base of run
 * 'run_id' into '*base'; false when the run does not exist. */
bool store_greenai_chain_base(void *p, const char *run_id, const char **base);

#endif
