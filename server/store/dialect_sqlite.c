/* SPDX-License-Identifier: MIT
 *
 * dialect_sqlite: SQLite's text of each entry of dialect.h.
 */
#include "dialect.h"
#include "statements.h"

/* D_F_JSON_IDS, also inside the batch reads. */
#define JSON_IDS "SELECT value FROM json_each(?)"

const char *const dialect_sqlite_sql[DIALECT_COUNT] = {
    /* tracking */
    [D_F_JSON_IDS] = JSON_IDS,
    [D_S_BATCH_RUNS] = RUNS_READ_ROWS(JSON_IDS),
    [D_S_BATCH_PARAMS] = RUNS_READ_PARAMS(JSON_IDS),
    [D_S_BATCH_TAGS] = RUNS_READ_TAGS(JSON_IDS),
    [D_S_BATCH_LATEST] = RUNS_READ_LATEST(JSON_IDS),
    [D_S_BATCH_DATASETS] = RUNS_READ_DATASETS(JSON_IDS),
    [D_S_BATCH_INPUT_TAGS] = RUNS_READ_INPUT_TAGS(JSON_IDS),
    [D_S_BATCH_MODEL_INPUTS] = RUNS_READ_MODEL_INPUTS(JSON_IDS),
    /* domains */
    [D_S_RUN_METHODS] = "SELECT group_concat(DISTINCT cpu_method), "
                        "group_concat(DISTINCT gpu_method), "
                        "group_concat(DISTINCT ram_method), "
                        "group_concat(DISTINCT scope), "
                        "group_concat(DISTINCT intensity_source) "
                        "FROM energy_samples WHERE run_pk = ?1",
};
