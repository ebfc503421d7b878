/* SPDX-License-Identifier: MIT
 *
 * statements: the text array of the core statement table (statements.h).
 */
#include "statements.h"

const char *const store_stmt_sql[STMT_COUNT] = {
#define STMT_SQL(id, sql) [id] = sql,
    FOR_EACH_STMT(STMT_SQL)
#undef STMT_SQL
};
