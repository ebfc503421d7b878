/* SPDX-License-Identifier: MIT
 *
 * db_int: what db.c (the engine-neutral front of db.h) shares with the
 * engines db_sqlite.c and db_postgres.c: the base structs each engine
 * extends, the table of engine operations db.c dispatches through, and
 * the error recorder. Nothing outside server/store/db*.c includes it.
 */
#ifndef SERVER_STORE_DB_INT_H
#define SERVER_STORE_DB_INT_H

#include "db.h"

/* One engine's implementation of db.h; db.c checks arguments common to
 * both and calls these. Contracts are those of the db.h function with the
 * same name. */
struct db_ops {
    void (*close)(struct db *db);
    int (*exec)(struct db *db, const char *sql);
    int (*begin_write)(struct db *db);
    /* NULL: the synchronous one (begin_write, step, nothing to flush,
     * bump then COMMIT) */
    int (*begin_write_deferred)(struct db *db);
    int (*flush)(struct db *db);
    int (*commit_write)(struct db *db, int64_t *version);
    int (*last_insert_id)(struct db *db, int64_t *id);
    int (*data_version)(struct db *db, int64_t *version);
    int (*bump_data_version)(struct db *db, int64_t *version);
    void (*set_busy_handler)(struct db *db, int (*fn)(void *, int), void *arg);
    int (*checkpoint)(struct db *db);
    bool (*connection_lost)(const struct db *db);
    /* db_migrate's engine steps: take what makes the migration exclusive
     * (SQLite: WAL mode; PostgreSQL: the advisory lock and the level
     * table), read the level, record one inside the open transaction,
     * and release (always called after a successful begin). */
    enum srv_err (*migrate_begin)(struct db *db, struct errbuf *eb);
    int (*schema_level)(struct db *db, int *level);
    int (*record_level)(struct db *db, int level);
    void (*migrate_end)(struct db *db);

    struct db_stmt *(*prepare)(struct db *db, const char *sql);
    void (*finalize)(struct db_stmt *s);
    int (*bind_int64)(struct db_stmt *s, int i, int64_t v);
    int (*bind_double)(struct db_stmt *s, int i, double v);
    int (*bind_text)(struct db_stmt *s, int i, const char *v, int len);
    int (*bind_null)(struct db_stmt *s, int i);
    int (*step)(struct db_stmt *s);
    int (*step_deferred)(struct db_stmt *s); /* NULL: step */
    int (*reset)(struct db_stmt *s);
    int64_t (*changes)(const struct db_stmt *s);
    int (*column_count)(const struct db_stmt *s);
    enum db_type (*column_type)(const struct db_stmt *s, int col);
    int64_t (*column_int64)(const struct db_stmt *s, int col);
    double (*column_double)(const struct db_stmt *s, int col);
    const char *(*column_text)(const struct db_stmt *s, int col);
    int (*column_bytes)(const struct db_stmt *s, int col);
};

/* The start of every engine's connection struct. */
struct db {
    const struct db_ops *ops;
    enum db_engine engine;
    enum db_error_kind err_kind;
    char errmsg[512];
    uint64_t round_trips; /* counted by the engine (db_round_trips) */
};

/* The start of every engine's statement struct. */
struct db_stmt {
    struct db *db;
    int nparams; /* highest placeholder number */
};

/* Records a failure on 'db' (kind and message) and returns DB_ERROR. */
int db_fail(struct db *db, enum db_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Forgets the last failure (the start of each statement execution). */
void db_clear_error(struct db *db);

/* The engines' constructors, called by db_open: NULL with 'eb' set on
 * failure; caller frees with db_close. */
struct db *db_sqlite_open(const char *path, const struct db_options *opt,
                          struct errbuf *eb);
struct db *db_postgres_open(const char *uri, const struct db_options *opt,
                            struct errbuf *eb);

#endif
