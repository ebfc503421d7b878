/* SPDX-License-Identifier: MIT
 *
 * dialect_postgres: PostgreSQL's text of each entry of dialect.h.
 */
#include "dialect.h"
#include "statements.h"

/* D_F_JSON_IDS, also inside the batch reads. */
#define JSON_IDS                                                               \
    "SELECT CAST(value AS bigint) "                                            \
    "FROM json_array_elements_text(CAST(? AS json))"

const char *const dialect_postgres_sql[DIALECT_COUNT] = {
    /* tracking */
    RUNS_READ_DIALECT_ENTRIES(JSON_IDS),
    [D_S_METRICS_FROM_ARRAYS] =
        "INSERT INTO metrics (run_pk, key, timestamp, step, value, is_nan) "
        "SELECT ?1, k, t, s, v, n FROM unnest(?2::text[], ?3::bigint[], "
        "?4::bigint[], ?5::float8[], ?6::bigint[]) AS p(k, t, s, v, n) "
        "ON CONFLICT DO NOTHING",
    [D_S_METRIC_LOG_ONE] =
        "WITH r AS (SELECT run_pk, experiment_id, lifecycle_stage FROM runs "
        "WHERE run_id = ?1), "
        "m AS (INSERT INTO metrics (run_pk, key, timestamp, step, value, "
        "is_nan) SELECT run_pk, ?2::text, ?3::bigint, ?4::bigint, "
        "?5::float8, ?6::bigint FROM r WHERE lifecycle_stage <> 'deleted' "
        "ON CONFLICT DO NOTHING), "
        "l AS (INSERT INTO latest_metrics (run_pk, key, value, timestamp, "
        "step, is_nan, experiment_id) SELECT run_pk, ?2::text, ?5::float8, "
        "?3::bigint, ?4::bigint, ?6::bigint, experiment_id FROM r "
        "WHERE lifecycle_stage <> 'deleted' "
        "ON CONFLICT (run_pk, key) DO UPDATE "
        "SET value = excluded.value, timestamp = excluded.timestamp, "
        "step = excluded.step, is_nan = excluded.is_nan "
        "WHERE (excluded.step, excluded.timestamp, excluded.value) > "
        "(latest_metrics.step, latest_metrics.timestamp, "
        "latest_metrics.value)) "
        "SELECT run_pk, experiment_id, lifecycle_stage FROM r",
    /* domains */
    [D_S_RUN_METHODS] = "SELECT string_agg(DISTINCT cpu_method, ','), "
                        "string_agg(DISTINCT gpu_method, ','), "
                        "string_agg(DISTINCT ram_method, ','), "
                        "string_agg(DISTINCT scope, ','), "
                        "string_agg(DISTINCT intensity_source, ',') "
                        "FROM energy_samples WHERE run_pk = ?1",
};
