/* SPDX-License-Identifier: MIT
 *
 * schema: the SQL migrations, one list per engine, compiled in by
 * tools/embed_schema.sh: schema_migrations from schema/sqlite/ and
 * schema_pg_migrations from schema/postgres/, with the same levels and
 * names. Level N moves the recorded schema level (SQLite: PRAGMA
 * user_version; PostgreSQL: greentrack_schema.level) from N-1 to N.
 */
#ifndef SERVER_SCHEMA_H
#define SERVER_SCHEMA_H

struct schema_migration {
    int level;
    const char *name;
    const char *sql;
};

extern const struct schema_migration schema_migrations[];
extern const int schema_migration_count;

extern const struct schema_migration schema_pg_migrations[];
extern const int schema_pg_migration_count;

#endif
