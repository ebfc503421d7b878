/* SPDX-License-Identifier: MIT
 *
 * db_sqlite: the SQLite engine of db.h. Owns the sqlite3 connection and
 * its statements, the connection PRAGMAs the store relies on, the mapping
 * of SQLite result codes to db.h's error kinds, and the SQLite side of
 * migrations (WAL mode, PRAGMA user_version). Reached only through db.c.
 */
#include "db_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

struct sqlite_db {
    struct db base;
    sqlite3 *h;
    char *path;
    int busy_timeout_ms; /* db_options' */
};

struct sqlite_stmt {
    struct db_stmt base;
    sqlite3_stmt *h;
    bool done;       /* the last step returned SQLITE_DONE */
    int64_t changes; /* sqlite3_changes64 when it did */
};

static sqlite3 *handle(struct db *db)
{
    return ((struct sqlite_db *)db)->h;
}

static struct sqlite_stmt *sq(struct db_stmt *s)
{
    return (struct sqlite_stmt *)s;
}

static const struct sqlite_stmt *csq(const struct db_stmt *s)
{
    return (const struct sqlite_stmt *)s;
}

/* Records SQLite's last error on 'db'; returns DB_ERROR. */
static int fail_sqlite(struct db *db)
{
    sqlite3 *h = handle(db);
    int ext = sqlite3_extended_errcode(h);
    enum db_error_kind kind;
    switch (ext & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        kind = DB_ERR_BUSY;
        break;
    case SQLITE_NOMEM:
        kind = DB_ERR_NOMEM;
        break;
    case SQLITE_CONSTRAINT:
        kind = ext == SQLITE_CONSTRAINT_UNIQUE ||
                       ext == SQLITE_CONSTRAINT_PRIMARYKEY
                   ? DB_ERR_UNIQUE
                   : DB_ERR_OTHER;
        break;
    default:
        kind = DB_ERR_OTHER;
        break;
    }
    return db_fail(db, kind, "%s (sqlite %d)", sqlite3_errmsg(h), ext);
}

/*---- connections ----*/

static void sq_close(struct db *db)
{
    struct sqlite_db *d = (struct sqlite_db *)db;
    sqlite3_close(d->h);
    free(d->path);
    free(d);
}

static int sq_exec(struct db *db, const char *sql)
{
    if (sqlite3_exec(handle(db), sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail_sqlite(db);
    return DB_OK;
}

static int sq_begin_write(struct db *db)
{
    return sq_exec(db, "BEGIN IMMEDIATE");
}

static int sq_last_insert_id(struct db *db, int64_t *id)
{
    *id = sqlite3_last_insert_rowid(handle(db));
    return DB_OK;
}

/* Reads the single integer 'sql' returns into *v. */
static int query_int(struct db *db, const char *sql, int64_t *v)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(handle(db), sql, -1, &s, NULL) != SQLITE_OK)
        return fail_sqlite(db);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int64(s, 0);
    if (rc != SQLITE_ROW) {
        fail_sqlite(db);
        sqlite3_finalize(s);
        return DB_ERROR;
    }
    sqlite3_finalize(s);
    return DB_OK;
}

static int sq_bump_data_version(struct db *db, int64_t *version)
{
    (void)db;
    *version = 0;
    return DB_OK;
}

static int sq_data_version(struct db *db, int64_t *version)
{
    return query_int(db, "PRAGMA data_version", version);
}

static void sq_set_busy_handler(struct db *db, int (*fn)(void *, int),
                                void *arg)
{
    sqlite3_busy_handler(handle(db), fn, arg);
}

static int sq_checkpoint(struct db *db)
{
    if (sqlite3_wal_checkpoint_v2(handle(db), NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                  NULL, NULL) != SQLITE_OK)
        return fail_sqlite(db);
    return DB_OK;
}

/* Switching to WAL needs the file to itself for a moment, and SQLite
 * answers SQLITE_BUSY at once, without the busy handler, while another
 * connection (a server starting beside this one) reads or switches it
 * too; so the switch is retried for as long as the busy timeout. */
static enum srv_err sq_migrate_begin(struct db *db, struct errbuf *eb)
{
    struct sqlite_db *d = (struct sqlite_db *)db;
    int waited_ms = 0, pause_ms = 1;
    while (sq_exec(db, "PRAGMA journal_mode = WAL") != DB_OK) {
        if (db_error_kind(db) != DB_ERR_BUSY || waited_ms >= d->busy_timeout_ms)
            return err_set(eb, SRV_E_INTERNAL,
                           "cannot use database %s: %s (is it a SQLite file?)",
                           d->path, sqlite3_errmsg(handle(db)));
        sqlite3_sleep(pause_ms);
        waited_ms += pause_ms;
        if (pause_ms < 50)
            pause_ms *= 2;
    }
    return SRV_OK;
}

static int sq_schema_level(struct db *db, int *level)
{
    int64_t v;
    if (query_int(db, "PRAGMA user_version", &v) != DB_OK)
        return DB_ERROR;
    *level = (int)v;
    return DB_OK;
}

static int sq_record_level(struct db *db, int level)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", level);
    return sq_exec(db, sql);
}

static void sq_migrate_end(struct db *db)
{
    (void)db;
}

/*---- statements ----*/

static struct db_stmt *sq_prepare(struct db *db, const char *sql)
{
    struct sqlite_stmt *s = calloc(1, sizeof(*s));
    if (!s) {
        db_fail(db, DB_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (sqlite3_prepare_v3(handle(db), sql, -1, SQLITE_PREPARE_PERSISTENT,
                           &s->h, NULL) != SQLITE_OK) {
        fail_sqlite(db);
        free(s);
        return NULL;
    }
    if (!s->h) { /* only a comment or white space */
        db_fail(db, DB_ERR_OTHER, "no statement in the SQL");
        free(s);
        return NULL;
    }
    s->base.db = db;
    s->base.nparams = sqlite3_bind_parameter_count(s->h);
    return &s->base;
}

static void sq_finalize(struct db_stmt *s)
{
    sqlite3_finalize(sq(s)->h);
    free(s);
}

static int bound(struct db_stmt *s, int rc)
{
    return rc == SQLITE_OK ? DB_OK : fail_sqlite(s->db);
}

static int sq_bind_int64(struct db_stmt *s, int i, int64_t v)
{
    return bound(s, sqlite3_bind_int64(sq(s)->h, i, v));
}

static int sq_bind_double(struct db_stmt *s, int i, double v)
{
    return bound(s, sqlite3_bind_double(sq(s)->h, i, v));
}

static int sq_bind_text(struct db_stmt *s, int i, const char *v, int len)
{
    return bound(s, sqlite3_bind_text(sq(s)->h, i, v, len, SQLITE_TRANSIENT));
}

static int sq_bind_null(struct db_stmt *s, int i)
{
    return bound(s, sqlite3_bind_null(sq(s)->h, i));
}

static int sq_step(struct db_stmt *s)
{
    struct sqlite_stmt *q = sq(s);
    int rc = sqlite3_step(q->h);
    if (rc == SQLITE_ROW)
        return DB_ROW;
    if (rc == SQLITE_DONE) {
        q->done = true;
        q->changes =
            sqlite3_stmt_readonly(q->h) ? 0 : sqlite3_changes64(handle(s->db));
        return DB_DONE;
    }
    return fail_sqlite(s->db);
}

static int sq_reset(struct db_stmt *s)
{
    struct sqlite_stmt *q = sq(s);
    sqlite3_reset(q->h);
    sqlite3_clear_bindings(q->h);
    q->done = false;
    return DB_OK;
}

static int64_t sq_changes(const struct db_stmt *s)
{
    return csq(s)->done ? csq(s)->changes : 0;
}

static int sq_column_count(const struct db_stmt *s)
{
    return sqlite3_column_count(csq(s)->h);
}

static enum db_type sq_column_type(const struct db_stmt *s, int col)
{
    switch (sqlite3_column_type(csq(s)->h, col)) {
    case SQLITE_INTEGER:
        return DB_INT;
    case SQLITE_FLOAT:
        return DB_FLOAT;
    case SQLITE_NULL:
        return DB_NULL;
    default: /* SQLITE_TEXT, SQLITE_BLOB */
        return DB_TEXT;
    }
}

static int64_t sq_column_int64(const struct db_stmt *s, int col)
{
    return sqlite3_column_int64(csq(s)->h, col);
}

static double sq_column_double(const struct db_stmt *s, int col)
{
    return sqlite3_column_double(csq(s)->h, col);
}

static const char *sq_column_text(const struct db_stmt *s, int col)
{
    return (const char *)sqlite3_column_text(csq(s)->h, col);
}

static int sq_column_bytes(const struct db_stmt *s, int col)
{
    return sqlite3_column_bytes(csq(s)->h, col);
}

static bool sq_connection_lost(const struct db *db)
{
    (void)db;
    return false;
}

static const struct db_ops sqlite_ops = {
    .close = sq_close,
    .exec = sq_exec,
    .begin_write = sq_begin_write,
    .last_insert_id = sq_last_insert_id,
    .data_version = sq_data_version,
    .bump_data_version = sq_bump_data_version,
    .set_busy_handler = sq_set_busy_handler,
    .checkpoint = sq_checkpoint,
    .connection_lost = sq_connection_lost,
    .migrate_begin = sq_migrate_begin,
    .schema_level = sq_schema_level,
    .record_level = sq_record_level,
    .migrate_end = sq_migrate_end,
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .bind_int64 = sq_bind_int64,
    .bind_double = sq_bind_double,
    .bind_text = sq_bind_text,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .reset = sq_reset,
    .changes = sq_changes,
    .column_count = sq_column_count,
    .column_type = sq_column_type,
    .column_int64 = sq_column_int64,
    .column_double = sq_column_double,
    .column_text = sq_column_text,
    .column_bytes = sq_column_bytes,
};

struct db *db_sqlite_open(const char *path, const struct db_options *opt,
                          struct errbuf *eb)
{
    struct sqlite_db *d = calloc(1, sizeof(*d));
    if (!d || !(d->path = strdup(path))) {
        free(d);
        err_set(eb, SRV_E_NOMEM, "out of memory");
        return NULL;
    }
    d->base.ops = &sqlite_ops;
    d->base.engine = DB_SQLITE;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                (opt->create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &d->h, flags, NULL) != SQLITE_OK) {
        err_set(eb, SRV_E_INTERNAL, "cannot open database %s: %s", path,
                d->h ? sqlite3_errmsg(d->h) : "out of memory");
        sq_close(&d->base);
        return NULL;
    }
    sqlite3_extended_result_codes(d->h, 1);
    d->busy_timeout_ms = opt->busy_timeout_ms;
    if (opt->busy_timeout_ms > 0)
        sqlite3_busy_timeout(d->h, opt->busy_timeout_ms);
    char pragmas[256];
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA foreign_keys = ON; PRAGMA case_sensitive_like = ON; "
             "PRAGMA synchronous = %s; PRAGMA temp_store = MEMORY; "
             "PRAGMA cache_size = -16000;",
             opt->durable_full ? "FULL" : "NORMAL");
    if (sq_exec(&d->base, pragmas) != DB_OK) {
        err_set(eb, SRV_E_INTERNAL, "cannot configure database %s: %s", path,
                sqlite3_errmsg(d->h));
        sq_close(&d->base);
        return NULL;
    }
    return &d->base;
}
