/* SPDX-License-Identifier: MIT
 *
 * schema: the SQL migrations of schema/, compiled in by
 * tools/embed_schema.sh. Level N moves PRAGMA user_version from N-1 to N.
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

#endif
