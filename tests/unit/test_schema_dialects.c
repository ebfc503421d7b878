/* SPDX-License-Identifier: MIT
 *
 * test_schema_dialects: schema/sqlite and schema/postgres describe the same
 * database. Applies each list to a fresh database (a SQLite file, and a
 * PostgreSQL database on GREENTRACK_TEST_PG) through db_migrate, reads the
 * catalogs back and compares tables, columns (name, a type class of
 * integer/float/text, NOT NULL), primary keys, unique constraints and
 * indexes (name, columns with their order, unique, partial). A column or
 * index added to one dialect only fails here.
 */
#include "schema.h"
#include "store/db.h"
#include "test.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct lines {
    char **v;
    size_t n, cap;
};

static void add_line(struct lines *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_line(struct lines *l, const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **nv = realloc(l->v, cap * sizeof(*nv));
        if (!nv)
            return;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n] = strdup(buf);
    if (l->v[l->n])
        l->n++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_lines(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* integer / float / text, from either engine's declared type */
static const char *type_class(const char *declared)
{
    char t[64];
    size_t i = 0;
    for (; declared[i] && i + 1 < sizeof(t); i++)
        t[i] =
            (char)(declared[i] >= 'a' && declared[i] <= 'z' ? declared[i] - 32
                                                            : declared[i]);
    t[i] = '\0';
    if (strstr(t, "INT"))
        return "integer";
    if (strstr(t, "REAL") || strstr(t, "DOUBLE") || strstr(t, "FLOAT") ||
        strstr(t, "NUMERIC"))
        return "float";
    if (strstr(t, "TEXT") || strstr(t, "CHAR"))
        return "text";
    return t[0] ? "other" : "none";
}

/* Runs 'sql' with text parameter 'arg' (may be NULL) and calls 'row' on
 * each row. */
static bool query(struct db *db, const char *sql, const char *arg,
                  void (*row)(struct db_stmt *s, void *ctx), void *ctx)
{
    struct db_stmt *s = db_prepare(db, sql);
    if (!s) {
        fprintf(stderr, "prepare: %s: %s\n", db_errmsg(db), sql);
        return false;
    }
    if (arg)
        db_bind_text(s, 1, arg, -1);
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        row(s, ctx);
    if (rc != DB_DONE)
        fprintf(stderr, "step: %s: %s\n", db_errmsg(db), sql);
    db_finalize(s);
    return rc == DB_DONE;
}

static void collect_name(struct db_stmt *s, void *ctx)
{
    add_line(ctx, "%s", db_column_text(s, 0));
}

struct table_ctx {
    struct lines *out;
    const char *table;
    char pk[400];
};

/* columns: name, declared type, not null, primary-key position */
static void collect_column(struct db_stmt *s, void *ctx)
{
    struct table_ctx *t = ctx;
    bool pk = db_column_int64(s, 3) > 0;
    add_line(t->out, "column %s.%s %s%s", t->table, db_column_text(s, 0),
             type_class(db_column_text(s, 1)),
             db_column_int64(s, 2) || pk ? " not null" : "");
}

static void collect_pk(struct db_stmt *s, void *ctx)
{
    struct table_ctx *t = ctx;
    size_t n = strlen(t->pk);
    snprintf(t->pk + n, sizeof(t->pk) - n, "%s%s", n ? "," : "",
             db_column_text(s, 0));
}

/* indexes: description (kind and name), columns, partial */
static void collect_index(struct db_stmt *s, void *ctx)
{
    struct table_ctx *t = ctx;
    add_line(t->out, "index on %s: %s (%s)%s", t->table, db_column_text(s, 0),
             db_column_text(s, 1), db_column_int64(s, 2) ? " partial" : "");
}

static const char *const sqlite_sql[] = {
    "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE "
    "'sqlite_%' ORDER BY name",
    "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) "
    "ORDER BY cid",
    "SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk",
    "SELECT CASE WHEN l.origin = 'u' THEN 'unique constraint' "
    "WHEN l.\"unique\" THEN 'unique index ' || l.name "
    "ELSE 'index ' || l.name END, "
    "(SELECT group_concat(x.name || CASE WHEN x.\"desc\" THEN ' DESC' "
    "ELSE '' END, ',') FROM (SELECT * FROM pragma_index_xinfo(l.name) "
    "WHERE key = 1 ORDER BY seqno) x), l.partial "
    "FROM pragma_index_list(?1) l WHERE l.origin <> 'pk'",
};

static const char *const postgres_sql[] = {
    "SELECT table_name FROM information_schema.tables WHERE table_schema = "
    "'public' AND table_type = 'BASE TABLE' AND table_name NOT IN "
    "('greentrack_schema', 'greentrack_generation') ORDER BY table_name",
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
    "a.attnotnull::int, coalesce(array_position(i.indkey::int2[], "
    "a.attnum), -1) + 1 FROM pg_attribute a LEFT JOIN pg_index i ON "
    "i.indrelid = a.attrelid AND i.indisprimary WHERE a.attrelid = "
    "?1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
    "i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indrelid = "
    "?1::regclass AND i.indisprimary ORDER BY array_position("
    "i.indkey::int2[], a.attnum)",
    "SELECT CASE WHEN con.contype = 'u' THEN 'unique constraint' "
    "WHEN i.indisunique THEN 'unique index ' || c.relname "
    "ELSE 'index ' || c.relname END, "
    "(SELECT string_agg(pg_get_indexdef(i.indexrelid, k, true) || "
    "CASE WHEN i.indoption[k - 1] & 1 = 1 THEN ' DESC' ELSE '' END, ',' "
    "ORDER BY k) FROM generate_series(1, i.indnkeyatts) k), "
    "(i.indpred IS NOT NULL)::int FROM pg_index i JOIN pg_class c ON "
    "c.oid = i.indexrelid LEFT JOIN pg_constraint con ON con.conindid = "
    "i.indexrelid AND con.contype = 'u' WHERE i.indrelid = ?1::regclass "
    "AND NOT i.indisprimary",
};

/* The catalog of 'db' as sorted lines. */
static void describe(struct db *db, struct lines *out)
{
    const char *const *q =
        db_engine(db) == DB_POSTGRES ? postgres_sql : sqlite_sql;
    struct lines tables = {0};
    CHECK(query(db, q[0], NULL, collect_name, &tables));
    for (size_t i = 0; i < tables.n; i++) {
        struct table_ctx t = {.out = out, .table = tables.v[i]};
        add_line(out, "table %s", t.table);
        CHECK(query(db, q[1], t.table, collect_column, &t));
        CHECK(query(db, q[2], t.table, collect_pk, &t));
        /* a rowid or identity key is a primary key like any other */
        add_line(out, "primary key %s (%s)", t.table, t.pk);
        CHECK(query(db, q[3], t.table, collect_index, &t));
    }
    free_lines(&tables);
    qsort(out->v, out->n, sizeof(*out->v), cmp_str);
}

static struct db *migrated(const char *target,
                           const struct schema_migration *list, int n)
{
    struct errbuf eb;
    struct db_options opt = {.create = true};
    struct db *db = db_open(target, &opt, &eb);
    if (!db) {
        fprintf(stderr, "open %s: %s\n", target, eb.msg);
        return NULL;
    }
    if (db_migrate(db, list, n, &eb) != SRV_OK) {
        fprintf(stderr, "migrate %s: %s\n", target, eb.msg);
        db_close(db);
        return NULL;
    }
    return db;
}

int main(void)
{
    /* the same migrations, by level and name */
    CHECK_EQ_INT(schema_migration_count, schema_pg_migration_count);
    for (int i = 0; i < schema_migration_count && i < schema_pg_migration_count;
         i++) {
        CHECK_EQ_INT(schema_migrations[i].level, schema_pg_migrations[i].level);
        CHECK_EQ_STR(schema_migrations[i].name, schema_pg_migrations[i].name);
    }

    const char *pg = getenv("GREENTRACK_TEST_PG");
    if (!pg || !*pg) {
        fprintf(stderr, "GREENTRACK_TEST_PG is not set: run under make test "
                        "(or set it to a PostgreSQL URL)\n");
        CHECK(!"PostgreSQL available");
        TEST_MAIN_END("test_schema_dialects");
    }
    char dir[] = "/tmp/test_schema.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char file[64];
    snprintf(file, sizeof(file), "%s/s.db", dir);

    /* a fresh PostgreSQL database */
    char name[48], url[600];
    snprintf(name, sizeof(name), "test_schema_%ld", (long)getpid());
    struct errbuf eb;
    struct db *admin = db_open(pg, NULL, &eb);
    CHECK(admin != NULL);
    if (admin) {
        char sql[128];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", name);
        CHECK_EQ_INT(db_exec(admin, sql), DB_OK);
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
        CHECK_EQ_INT(db_exec(admin, sql), DB_OK);
        db_close(admin);
    }
    const char *slash = strrchr(pg, '/');
    snprintf(url, sizeof(url), "%.*s/%s", (int)(slash - pg), pg, name);

    struct db *sq = migrated(file, schema_migrations, schema_migration_count);
    struct db *pq =
        migrated(url, schema_pg_migrations, schema_pg_migration_count);
    CHECK(sq != NULL);
    CHECK(pq != NULL);
    struct lines a = {0}, b = {0};
    if (sq && pq) {
        describe(sq, &a);
        describe(pq, &b);
        CHECK(a.n > 100); /* 26 tables and their columns */
        /* every line of one is in the other */
        size_t i = 0, j = 0;
        while (i < a.n || j < b.n) {
            int c = i == a.n ? 1 : j == b.n ? -1 : strcmp(a.v[i], b.v[j]);
            if (c == 0) {
                i++, j++;
                test_passed++;
            } else if (c < 0) {
                fprintf(stderr, "only in schema/sqlite: %s\n", a.v[i++]);
                test_failed++;
            } else {
                fprintf(stderr, "only in schema/postgres: %s\n", b.v[j++]);
                test_failed++;
            }
        }
        int level = 0;
        CHECK_EQ_INT(db_schema_level(pq, &level), DB_OK);
        CHECK_EQ_INT(level,
                     schema_pg_migrations[schema_pg_migration_count - 1].level);
    }
    free_lines(&a);
    free_lines(&b);
    db_close(sq);
    db_close(pq);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    TEST_MAIN_END("test_schema_dialects");
}
