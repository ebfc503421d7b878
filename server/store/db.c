/* SPDX-License-Identifier: MIT
 *
 * db: the engine-neutral front of db.h. Chooses the engine from the open
 * target, dispatches every call through the engine's operations, keeps
 * the last failure of each connection, runs the migration loop both
 * engines share, and translates the shared SQL dialect's placeholders
 * for PostgreSQL. The store calls it; db_sqlite.c and db_postgres.c
 * implement it.
 */
#include "db_int.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int db_fail(struct db *db, enum db_error_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(db->errmsg, sizeof(db->errmsg), fmt, ap);
    va_end(ap);
    db->err_kind = kind;
    return DB_ERROR;
}

void db_clear_error(struct db *db)
{
    db->err_kind = DB_ERR_NONE;
    db->errmsg[0] = '\0';
}

/*---- connections ----*/

bool db_target_is_postgres(const char *target)
{
    return strncmp(target, "postgresql://", 13) == 0 ||
           strncmp(target, "postgres://", 11) == 0;
}

struct db *db_open(const char *target, const struct db_options *opt,
                   struct errbuf *eb)
{
    static const struct db_options zero;
    if (!opt)
        opt = &zero;
    if (!target || !*target) {
        err_set(eb, SRV_E_INTERNAL, "no database given");
        return NULL;
    }
    if (db_target_is_postgres(target))
        return db_postgres_open(target, opt, eb);
    return db_sqlite_open(target, opt, eb);
}

void db_close(struct db *db)
{
    if (db)
        db->ops->close(db);
}

enum db_engine db_engine(const struct db *db)
{
    return db->engine;
}

const char *db_errmsg(const struct db *db)
{
    return db->errmsg;
}

enum db_error_kind db_error_kind(const struct db *db)
{
    return db->err_kind;
}

int db_exec(struct db *db, const char *sql)
{
    db_clear_error(db);
    return db->ops->exec(db, sql);
}

int db_begin_write(struct db *db)
{
    db_clear_error(db);
    return db->ops->begin_write(db);
}

int db_begin_write_deferred(struct db *db)
{
    db_clear_error(db);
    if (db->ops->begin_write_deferred)
        return db->ops->begin_write_deferred(db);
    return db->ops->begin_write(db);
}

int db_flush(struct db *db)
{
    db_clear_error(db);
    return db->ops->flush ? db->ops->flush(db) : DB_OK;
}

int db_commit_write(struct db *db, int64_t *version)
{
    db_clear_error(db);
    if (db->ops->commit_write)
        return db->ops->commit_write(db, version);
    if (db->ops->bump_data_version(db, version) != DB_OK)
        return DB_ERROR;
    return db->ops->exec(db, "COMMIT");
}

uint64_t db_round_trips(const struct db *db)
{
    return db->round_trips;
}

int db_last_insert_id(struct db *db, int64_t *id)
{
    return db->ops->last_insert_id(db, id);
}

int db_bump_data_version(struct db *db, int64_t *version)
{
    db_clear_error(db);
    return db->ops->bump_data_version(db, version);
}

int db_data_version(struct db *db, int64_t *version)
{
    return db->ops->data_version(db, version);
}

void db_set_busy_handler(struct db *db, int (*fn)(void *arg, int count),
                         void *arg)
{
    db->ops->set_busy_handler(db, fn, arg);
}

bool db_connection_lost(const struct db *db)
{
    return db->ops->connection_lost(db);
}

int db_checkpoint(struct db *db)
{
    return db->ops->checkpoint(db);
}

int db_schema_level(struct db *db, int *level)
{
    return db->ops->schema_level(db, level);
}

/*---- migrations ----*/

/* Applies 'm' in its own transaction unless another connection did since
 * the level was read (SQLite holds no lock across the loop, so the level
 * is read again inside the write transaction). DB_OK, with *applied
 * saying which; DB_ERROR leaves the transaction for the caller to roll
 * back. */
static int apply_migration(struct db *db, const struct schema_migration *m,
                           bool *applied)
{
    int now = -1;
    if (db_begin_write(db) != DB_OK || db->ops->schema_level(db, &now) != DB_OK)
        return DB_ERROR;
    if (now < m->level) {
        if (db_exec(db, m->sql) != DB_OK ||
            db->ops->record_level(db, m->level) != DB_OK)
            return DB_ERROR;
        *applied = true;
    }
    return db_exec(db, "COMMIT");
}

enum srv_err db_migrate(struct db *db, const struct schema_migration *list,
                        int n, struct errbuf *eb)
{
    enum srv_err e = db->ops->migrate_begin(db, eb);
    if (e != SRV_OK)
        return e;
    int have = -1;
    int latest = n > 0 ? list[n - 1].level : 0;
    if (db->ops->schema_level(db, &have) != DB_OK || have < 0) {
        e = err_set(eb, SRV_E_INTERNAL, "cannot read the schema version");
        goto out;
    }
    if (have > latest) {
        e = err_set(eb, SRV_E_INTERNAL,
                    "database schema version %d is newer than this "
                    "server supports (%d); use a newer greentrack-server",
                    have, latest);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const struct schema_migration *m = &list[i];
        if (m->level <= have)
            continue;
        bool applied = false;
        if (apply_migration(db, m, &applied) != DB_OK) {
            e = err_set(eb, SRV_E_INTERNAL, "migration %s failed: %s", m->name,
                        db_errmsg(db));
            db->ops->exec(db, "ROLLBACK");
            goto out;
        }
        if (applied)
            log_info("applied migration %s", m->name);
    }
out:
    db->ops->migrate_end(db);
    return e;
}

/*---- statements ----*/

struct db_stmt *db_prepare(struct db *db, const char *sql)
{
    db_clear_error(db);
    return db->ops->prepare(db, sql);
}

void db_finalize(struct db_stmt *s)
{
    if (s)
        s->db->ops->finalize(s);
}

struct db *db_stmt_db(const struct db_stmt *s)
{
    return s->db;
}

int db_bind_count(const struct db_stmt *s)
{
    return s->nparams;
}

static int bind_range(struct db_stmt *s, int i)
{
    if (i < 1 || i > s->nparams)
        return db_fail(s->db, DB_ERR_OTHER,
                       "bind index %d out of range (the statement has %d)", i,
                       s->nparams);
    return DB_OK;
}

int db_bind_int64(struct db_stmt *s, int i, int64_t v)
{
    if (bind_range(s, i) != DB_OK)
        return DB_ERROR;
    return s->db->ops->bind_int64(s, i, v);
}

int db_bind_double(struct db_stmt *s, int i, double v)
{
    if (bind_range(s, i) != DB_OK)
        return DB_ERROR;
    return s->db->ops->bind_double(s, i, v);
}

int db_bind_text(struct db_stmt *s, int i, const char *v, int len)
{
    if (bind_range(s, i) != DB_OK)
        return DB_ERROR;
    if (!v)
        return s->db->ops->bind_null(s, i);
    return s->db->ops->bind_text(s, i, v, len);
}

int db_bind_null(struct db_stmt *s, int i)
{
    if (bind_range(s, i) != DB_OK)
        return DB_ERROR;
    return s->db->ops->bind_null(s, i);
}

int db_step(struct db_stmt *s)
{
    db_clear_error(s->db);
    return s->db->ops->step(s);
}

int db_step_deferred(struct db_stmt *s)
{
    db_clear_error(s->db);
    if (s->db->ops->step_deferred)
        return s->db->ops->step_deferred(s);
    return s->db->ops->step(s) == DB_ERROR ? DB_ERROR : DB_OK;
}

int db_reset(struct db_stmt *s)
{
    return s->db->ops->reset(s);
}

int64_t db_changes(const struct db_stmt *s)
{
    return s->db->ops->changes(s);
}

int db_column_count(const struct db_stmt *s)
{
    return s->db->ops->column_count(s);
}

enum db_type db_column_type(const struct db_stmt *s, int col)
{
    return s->db->ops->column_type(s, col);
}

int64_t db_column_int64(const struct db_stmt *s, int col)
{
    return s->db->ops->column_int64(s, col);
}

double db_column_double(const struct db_stmt *s, int col)
{
    return s->db->ops->column_double(s, col);
}

const char *db_column_text(const struct db_stmt *s, int col)
{
    return s->db->ops->column_text(s, col);
}

int db_column_bytes(const struct db_stmt *s, int col)
{
    return s->db->ops->column_bytes(s, col);
}

/*---- the shared dialect's placeholders, for PostgreSQL ----*/

/* SQLite's default SQLITE_MAX_VARIABLE_NUMBER. */
#define DB_MAX_PARAM 32766

/* Copies the quoted run that starts at sql[i] (quote character 'q'; a
 * doubled quote stays inside) to 'out'; returns the index after it. An
 * unterminated run is copied to the end: the server reports it. */
static size_t copy_quoted(const char *sql, size_t i, char q, char *out,
                          size_t *o)
{
    out[(*o)++] = sql[i++];
    while (sql[i]) {
        char c = sql[i++];
        out[(*o)++] = c;
        if (c == q) {
            if (sql[i] != q)
                break;
            out[(*o)++] = sql[i++];
        }
    }
    return i;
}

char *db_sql_to_postgres(const char *sql, int *nparams, struct errbuf *eb)
{
    size_t len = strlen(sql);
    /* '?' (1 byte) becomes at most '$32766' (6 bytes). */
    char *out = malloc(len * 6 + 1);
    if (!out) {
        err_set(eb, SRV_E_NOMEM, "out of memory");
        return NULL;
    }
    size_t i = 0, o = 0;
    int highest = 0;
    while (sql[i]) {
        char c = sql[i];
        if (c == '\'' || c == '"') {
            i = copy_quoted(sql, i, c, out, &o);
        } else if (c == '-' && sql[i + 1] == '-') {
            while (sql[i] && sql[i] != '\n')
                out[o++] = sql[i++];
        } else if (c == '/' && sql[i + 1] == '*') {
            const char *end = strstr(sql + i + 2, "*/");
            size_t stop = end ? (size_t)(end - sql) + 2 : len;
            while (i < stop)
                out[o++] = sql[i++];
        } else if (c == '?') {
            i++;
            long num;
            if (sql[i] >= '0' && sql[i] <= '9') {
                num = 0;
                while (sql[i] >= '0' && sql[i] <= '9') {
                    num = num * 10 + (sql[i++] - '0');
                    if (num > DB_MAX_PARAM)
                        break;
                }
                if (num < 1 || num > DB_MAX_PARAM) {
                    free(out);
                    err_set(eb, SRV_E_INTERNAL,
                            "placeholder ?%ld out of range (1..%d)", num,
                            DB_MAX_PARAM);
                    return NULL;
                }
            } else {
                num = highest + 1;
                if (num > DB_MAX_PARAM) {
                    free(out);
                    err_set(eb, SRV_E_INTERNAL, "more than %d placeholders",
                            DB_MAX_PARAM);
                    return NULL;
                }
            }
            if (num > highest)
                highest = (int)num;
            o += (size_t)snprintf(out + o, 7, "$%ld", num);
        } else {
            out[o++] = sql[i++];
        }
    }
    out[o] = '\0';
    *nparams = highest;
    return out;
}
