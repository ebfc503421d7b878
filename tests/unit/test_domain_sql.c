/* SPDX-License-Identifier: MIT
 *
 * test_domain_sql: every fixed statement of the store's domains (energy
 * and carbon, the grid cache, the Model Registry, auth, Green-AI, and
 * D_S_RUN_METHODS) and the runs' reads per kind (dialect.h's D_S_BATCH_*,
 * statements.h's S_RUN1_*) is valid SQL on both engines, against the
 * schema their migrations build. SQLite compiles a statement at prepare;
 * PostgreSQL only at its first run, so there each one runs once with
 * every parameter NULL inside a transaction that is rolled back: a
 * constraint may refuse the NULLs (class 23), but no error of class 42
 * (syntax, unknown function, type mismatch, ambiguous column, grouping,
 * a parameter whose type cannot be told) may come back. The integration
 * suites check what the statements do; this finds a statement that
 * cannot run at all without a server. PostgreSQL as in test_db:
 * GREENTRACK_TEST_PG, or a private cluster started here.
 */
#include "pg_unit.h"
#include "schema.h"
#include "store/auth_sql.h"
#include "store/db.h"
#include "store/dialect.h"
#include "store/greenai_sql.h"
#include "store/registry_sql.h"
#include "store/statements.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct named_sql {
    const char *name;
    const char *sql;
};

#define NAMED(id, sql) {#id, sql},
static const struct named_sql fixed[] = {
    FOR_EACH_GRID_STMT(NAMED) FOR_EACH_REG_STMT(NAMED) FOR_EACH_AUTH_STMT(NAMED)
        FOR_EACH_GREENAI_STMT(NAMED)};
#undef NAMED

/* The energy and carbon statements of the core table (statements.h). */
#define CORE(id)                                                               \
    {                                                                          \
#id, id                                                                \
    }
static const struct {
    const char *name;
    enum stmt_id id;
} energy[] = {CORE(S_ENERGY_UPSERT),     CORE(S_ENERGY_OLD),
              CORE(S_RUN_ENERGY_ADD),    CORE(S_RUN_ENERGY_GET),
              CORE(S_RUN_LOCATION_TAGS), CORE(S_ENERGY_SAMPLES),
              CORE(S_LATEST_SET)};
/* ... and the one-run reads of read_batch.c. */
static const struct {
    const char *name;
    enum stmt_id id;
} run1[] = {CORE(S_RUN1_ROWS),        CORE(S_RUN1_PARAMS),
            CORE(S_RUN1_TAGS),        CORE(S_RUN1_LATEST),
            CORE(S_RUN1_DATASETS),    CORE(S_RUN1_INPUT_TAGS),
            CORE(S_RUN1_MODEL_INPUTS)};
#undef CORE

/* The batch reads of a page of runs (read_batch.c). */
#define DIALECT(id)                                                            \
    {                                                                          \
#id, id                                                                \
    }
static const struct {
    const char *name;
    enum dialect_id id;
} batch[] = {DIALECT(D_S_BATCH_RUNS),        DIALECT(D_S_BATCH_PARAMS),
             DIALECT(D_S_BATCH_TAGS),        DIALECT(D_S_BATCH_LATEST),
             DIALECT(D_S_BATCH_DATASETS),    DIALECT(D_S_BATCH_INPUT_TAGS),
             DIALECT(D_S_BATCH_MODEL_INPUTS)};
#undef DIALECT

/* Runs 'sql' on 'db' as this file's header says; true when it is valid. */
static bool valid_on(struct db *db, const char *name, const char *sql)
{
    if (db_engine(db) == DB_SQLITE) {
        struct db_stmt *s = db_prepare(db, sql);
        if (!s)
            fprintf(stderr, "SQLite: %s: %s\n", name, db_errmsg(db));
        db_finalize(s);
        return s != NULL;
    }
    if (db_exec(db, "BEGIN") != DB_OK)
        return false;
    struct db_stmt *s = db_prepare(db, sql);
    int rc = s ? db_step(s) : DB_ERROR;
    bool ok = rc != DB_ERROR || !strstr(db_errmsg(db), "(SQLSTATE 42");
    if (!ok)
        fprintf(stderr, "PostgreSQL: %s: %s\n", name, db_errmsg(db));
    db_finalize(s);
    db_exec(db, "ROLLBACK");
    return ok;
}

static void check_engine(const char *target)
{
    struct errbuf eb;
    struct db_options opt = {.create = true};
    struct db *db = db_open(target, &opt, &eb);
    CHECK(db != NULL);
    if (!db)
        return;
    bool pg = db_engine(db) == DB_POSTGRES;
    enum srv_err e =
        pg ? db_migrate(db, schema_pg_migrations, schema_pg_migration_count,
                        &eb)
           : db_migrate(db, schema_migrations, schema_migration_count, &eb);
    CHECK(e == SRV_OK);
    if (e) {
        fprintf(stderr, "migration: %s\n", eb.msg);
        db_close(db);
        return;
    }
    for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
        CHECK(valid_on(db, fixed[i].name, fixed[i].sql));
    for (size_t i = 0; i < sizeof(energy) / sizeof(*energy); i++)
        CHECK(valid_on(db, energy[i].name, store_stmt_sql[energy[i].id]));
    CHECK(valid_on(db, "D_S_RUN_METHODS", dialect_sql(db, D_S_RUN_METHODS)));
    for (size_t i = 0; i < sizeof(run1) / sizeof(*run1); i++)
        CHECK(valid_on(db, run1[i].name, store_stmt_sql[run1[i].id]));
    for (size_t i = 0; i < sizeof(batch) / sizeof(*batch); i++)
        CHECK(valid_on(db, batch[i].name, dialect_sql(db, batch[i].id)));
    db_close(db);
}

int main(void)
{
    char own_dir[512], own_url[512];
    const char *pg =
        pg_unit_url(own_dir, sizeof(own_dir), own_url, sizeof(own_url));
    if (!pg)
        TEST_MAIN_END("test_domain_sql");

    char dir[] = "/tmp/test_domain_sql.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char file[600];
    snprintf(file, sizeof(file), "%s/a.db", dir);
    check_engine(file);

    char name[64], url[600];
    snprintf(name, sizeof(name), "test_domain_sql_%ld", (long)getpid());
    CHECK(pg_unit_fresh_db(pg, name, url, sizeof(url)));
    check_engine(url);

    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    if (*own_dir) {
        pg_unit_stop(own_dir);
    } else {
        struct errbuf eb;
        struct db *admin = db_open(pg, NULL, &eb);
        snprintf(cmd, sizeof(cmd), "DROP DATABASE IF EXISTS %s", name);
        CHECK(admin && db_exec(admin, cmd) == DB_OK);
        db_close(admin);
    }
    TEST_MAIN_END("test_domain_sql");
}
