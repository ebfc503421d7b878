/* SPDX-License-Identifier: MIT
 *
 * dialect: picks an entry's text for a connection's engine (dialect.h).
 */
#include "dialect.h"

const char *dialect_sql(const struct db *db, enum dialect_id id)
{
    return db_engine(db) == DB_POSTGRES ? dialect_postgres_sql[id]
                                        : dialect_sqlite_sql[id];
}
