/* SPDX-License-Identifier: MIT
 *
 * dialect_postgres: PostgreSQL's text of each entry of dialect.h.
 */
#include "dialect.h"

const char *const dialect_postgres_sql[DIALECT_COUNT] = {
    /* tracking */
    [D_F_MAX2] = "greatest",
    /* domains */
    [D_F_MIN2] = "least",
};
