/* SPDX-License-Identifier: MIT
 *
 * dialect_sqlite: SQLite's text of each entry of dialect.h.
 */
#include "dialect.h"

/* D_F_JSON_IDS, also inside the batch reads. */
#define JSON_IDS "SELECT value FROM json_each(?)"

const char *const dialect_sqlite_sql[DIALECT_COUNT] = {
    /* tracking */
    [D_F_JSON_IDS] = JSON_IDS,
    [D_S_BATCH_RUNS] = DIALECT_BATCH_RUNS(JSON_IDS),
    [D_S_BATCH_PARAMS] = DIALECT_BATCH_PARAMS(JSON_IDS),
    [D_S_BATCH_TAGS] = DIALECT_BATCH_TAGS(JSON_IDS),
    [D_S_BATCH_LATEST] = DIALECT_BATCH_LATEST(JSON_IDS),
    [D_S_BATCH_DATASETS] = DIALECT_BATCH_DATASETS(JSON_IDS),
    [D_S_BATCH_INPUT_TAGS] = DIALECT_BATCH_INPUT_TAGS(JSON_IDS),
    [D_S_BATCH_MODEL_INPUTS] = DIALECT_BATCH_MODEL_INPUTS(JSON_IDS),
    /* domains */
    [D_S_RUN_METHODS] = "SELECT group_concat(DISTINCT cpu_method), "
                        "group_concat(DISTINCT gpu_method), "
                        "group_concat(DISTINCT ram_method), "
                        "group_concat(DISTINCT scope), "
                        "group_concat(DISTINCT intensity_source) "
                        "FROM energy_samples WHERE run_pk = ?1",
};
