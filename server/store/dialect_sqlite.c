/* SPDX-License-Identifier: MIT
 *
 * dialect_sqlite: SQLite's text of each entry of dialect.h.
 */
#include "dialect.h"

const char *const dialect_sqlite_sql[DIALECT_COUNT] = {
    /* tracking */
    [D_F_MAX2] = "max",
    /* domains */
    [D_F_MIN2] = "min",
};
