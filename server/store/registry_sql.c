/* SPDX-License-Identifier: MIT
 *
 * registry_sql: the text of the Model Registry's statements and the
 * helpers both halves of its storage share (registry_sql.h).
 */
#include "registry_sql.h"

static const char *const reg_sql[REG_STMT_COUNT] = {
#define REG_STMT_SQL(id, sql) [id] = sql,
    FOR_EACH_REG_STMT(REG_STMT_SQL)
#undef REG_STMT_SQL
};

_Static_assert(REG_STMT_COUNT <= STORE_DOMAIN_STMTS,
               "raise STORE_DOMAIN_STMTS");

struct db_stmt *store_registry_stmt(struct conn *c, enum reg_stmt id)
{
    return store_conn_stmt(c, (unsigned)id, reg_sql[id]);
}

void store_registry_bind_text(struct db_stmt *s, int i, const char *v)
{
    db_bind_text(s, i, v ? v : "", -1);
}

enum srv_err store_registry_no_model(struct errbuf *eb, const char *name)
{
    return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                   "Registered Model with name=%s not found", name);
}

enum srv_err store_registry_no_version(struct errbuf *eb, const char *name,
                                       int64_t version)
{
    return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                   "Model Version (name=%s, version=%lld) not found", name,
                   (long long)version);
}
