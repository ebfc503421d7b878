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
    RUNS_READ_DIALECT_ENTRIES(JSON_IDS),
    /* domains */
    [D_S_RUN_METHODS] = "SELECT group_concat(DISTINCT cpu_method), "
                        "group_concat(DISTINCT gpu_method), "
                        "group_concat(DISTINCT ram_method), "
                        "group_concat(DISTINCT scope), "
                        "group_concat(DISTINCT intensity_source) "
                        "FROM energy_samples WHERE run_pk = ?1",
};
