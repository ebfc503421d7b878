/* SPDX-License-Identifier: MIT
 *
 * auth_sql: the text of the auth statements (auth_sql.h).
 */
#include "auth_sql.h"

static const char *const auth_sql[AUTH_STMT_COUNT] = {
#define AUTH_STMT_SQL(id, sql) [id] = sql,
    FOR_EACH_AUTH_STMT(AUTH_STMT_SQL)
#undef AUTH_STMT_SQL
};

_Static_assert(STORE_AUTH_STMT_BASE + AUTH_STMT_COUNT <= STORE_DOMAIN_STMTS,
               "raise STORE_DOMAIN_STMTS");

struct db_stmt *store_auth_stmt(struct conn *c, enum auth_stmt id)
{
    return store_conn_stmt(c, STORE_AUTH_STMT_BASE + (unsigned)id,
                           auth_sql[id]);
}
