/* SPDX-License-Identifier: MIT
 *
 * db: the store's engine-neutral connection and statement API, shaped like
 * SQLite's so that store code reads the same on both engines. One
 * implementation per engine: db_sqlite.c (SQLite 3.40) and db_postgres.c
 * (libpq, PostgreSQL 15). The engine is chosen by the open target: a
 * postgresql:// or postgres:// URI is PostgreSQL, anything else a SQLite
 * file path. Only the store includes this header.
 *
 * SQL given to db_prepare is the shared dialect: SQLite's `?` and `?N`
 * placeholders, in the subset of SQL both engines accept (ON CONFLICT ...
 * DO UPDATE/NOTHING, RETURNING, UPDATE ... FROM, CTEs, window functions).
 * On PostgreSQL the placeholders become $N (a bare `?` is one more than
 * the largest number so far, as SQLite numbers them); string literals,
 * quoted identifiers and comments are left alone, and nothing else is
 * rewritten. SQL that cannot be shared is chosen by the caller with
 * db_engine().
 *
 * Ownership: a struct db is created by db_open and freed by db_close; a
 * struct db_stmt belongs to its connection and is freed by db_finalize
 * (before the connection is closed). Strings passed in are copied or only
 * read during the call; strings returned are borrowed, valid as each
 * function says.
 *
 * Threads: a connection and its statements are used by one thread at a
 * time (as with sqlite3 in NOMUTEX mode and a PGconn). Different
 * connections may be used from different threads at once.
 */
#ifndef SERVER_STORE_DB_H
#define SERVER_STORE_DB_H

#include "err.h"
#include "schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct db_stmt;

enum db_engine { DB_SQLITE, DB_POSTGRES };

/* Storage class of a result column's value in the current row. */
enum db_type { DB_NULL, DB_INT, DB_FLOAT, DB_TEXT };

/* Results of the calls that return an int. DB_OK is 0. */
enum db_rc {
    DB_OK = 0,
    DB_ROW,  /* db_step: a row is ready for the column accessors */
    DB_DONE, /* db_step: the statement has run to completion */
    DB_ERROR /* see db_errmsg and db_error_kind */
};

/* What the last failure on a connection means for the caller; the store
 * maps these to client errors (busy -> 503 with Retry-After, unique ->
 * RESOURCE_ALREADY_EXISTS where the statement means "create"). */
enum db_error_kind {
    DB_ERR_NONE = 0,
    /* Try again later: SQLITE_BUSY/LOCKED; PostgreSQL 40001 serialization
     * failure, 40P01 deadlock, 55P03 lock not available, 57014 statement
     * timeout or cancel. */
    DB_ERR_BUSY,
    /* A UNIQUE or PRIMARY KEY constraint refused a row:
     * SQLITE_CONSTRAINT_UNIQUE/PRIMARYKEY; PostgreSQL 23505. */
    DB_ERR_UNIQUE,
    DB_ERR_NOMEM,
    /* The server connection is gone (PostgreSQL class 08, or libpq lost
     * it); the connection must be reopened. */
    DB_ERR_CONNECTION,
    /* Text the engine will not store or compare: PostgreSQL 22021
     * (invalid UTF-8) and 22P05 (untranslatable character); SQLite
     * stores any bytes. The input's fault, not the server's. */
    DB_ERR_ENCODING,
    DB_ERR_OTHER
};

/* How to open a connection; zeroed means a reader with synchronous
 * NORMAL and no busy wait. */
struct db_options {
    /* SQLite: create the file when missing (the writer does). */
    bool create;
    /* SQLite: PRAGMA synchronous = FULL rather than NORMAL. PostgreSQL
     * leaves synchronous_commit to the operator. */
    bool durable_full;
    /* SQLite: busy timeout; PostgreSQL: lock_timeout. 0: none (SQLite
     * fails at once, PostgreSQL waits). */
    int busy_timeout_ms;
};

/*---- connections ----*/

/* True when 'target' names a PostgreSQL database (postgresql:// or
 * postgres://). */
bool db_target_is_postgres(const char *target);

/* Opens 'target' (a SQLite path or a PostgreSQL URI, passed to
 * PQconnectdb as is) with 'opt' (NULL: all zero). SQLite connections get
 * the PRAGMAs the store relies on: foreign_keys and case_sensitive_like
 * ON, synchronous, temp_store MEMORY, a 16 MB cache, extended result
 * codes. PostgreSQL connections get client_encoding UTF8,
 * extra_float_digits 3 (doubles read back bit for bit) and lock_timeout.
 * Returns the connection (caller frees with db_close), or NULL with 'eb'
 * saying why; the message never contains the URI's password. */
struct db *db_open(const char *target, const struct db_options *opt,
                   struct errbuf *eb);

/* Closes 'db'; NULL is a no-op. Every statement must be finalized first. */
void db_close(struct db *db);

enum db_engine db_engine(const struct db *db);

/* The last failure's message; borrowed, valid until the next call on
 * 'db' or one of its statements. "" when nothing failed. */
const char *db_errmsg(const struct db *db);

/* The last failure's kind; db_exec, db_begin_write, db_prepare and
 * db_step start by clearing it to DB_ERR_NONE. */
enum db_error_kind db_error_kind(const struct db *db);

/* Runs 'sql' without parameters; it may hold several statements
 * (migrations, BEGIN/COMMIT/SAVEPOINT, SET). Rows are discarded.
 * Returns DB_OK or DB_ERROR. */
int db_exec(struct db *db, const char *sql);

/* Starts the writer's transaction: BEGIN IMMEDIATE on SQLite (takes the
 * write lock now), BEGIN on PostgreSQL. Returns DB_OK or DB_ERROR. Note
 * that a failed statement inside a PostgreSQL transaction aborts it until
 * ROLLBACK (or ROLLBACK TO SAVEPOINT), where SQLite undoes the statement
 * alone: keep a savepoint around anything that may fail. */
int db_begin_write(struct db *db);

/* The id the last INSERT gave a row through a rowid or identity column:
 * sqlite3_last_insert_rowid; lastval() on PostgreSQL (the last value any
 * sequence gave this session). Prefer RETURNING in new SQL. Returns DB_OK
 * and writes *id, or DB_ERROR. */
int db_last_insert_id(struct db *db, int64_t *id);

/* A counter of commits by others. SQLite: PRAGMA data_version, which
 * changes when another connection commits. PostgreSQL: the one row of
 * greentrack_generation (made by db_migrate), which every server's writer
 * raises inside each write transaction (db_bump_data_version); read in
 * the caller's transaction or snapshot, so a value seen covers the rows
 * read after it. It also moves with this connection's own commits there:
 * the caller tells those apart by the values its bumps returned. On
 * success writes *version and returns DB_OK. */
int db_data_version(struct db *db, int64_t *version);

/* PostgreSQL: raises greentrack_generation by one inside the open write
 * transaction (its row lock is held to the commit: call it last) and
 * writes the new value to *version. SQLite: nothing to do (PRAGMA
 * data_version counts other connections' commits by itself); writes 0.
 * DB_OK or DB_ERROR. */
int db_bump_data_version(struct db *db, int64_t *version);

/* Pipelining (PostgreSQL's pipeline mode; SQLite runs everything at
 * once). A deferred call is queued on a PostgreSQL connection and sent
 * with the next call that needs an answer: db_flush, or any synchronous
 * call (db_step, db_exec, db_data_version, ...), which joins the queue,
 * so the whole queue costs one round trip. A failure of a queued
 * statement surfaces at that call, with the failing statement's message
 * and kind (what was queued after it did not run, as in a transaction
 * that failed); the synchronous call then did not run either and reports
 * that failure as its own. After it, the queue is empty and the
 * connection usable (in a transaction, after ROLLBACK TO SAVEPOINT or
 * ROLLBACK, as after any failure). Outside a transaction PostgreSQL runs
 * the calls up to the sync as one implicit transaction, so a failure
 * undoes the queued calls before it too, where SQLite has committed
 * each: defer inside a write transaction. */

/* As db_begin_write, deferred on PostgreSQL. DB_OK, or DB_ERROR when it
 * could not be queued (SQLite: when it failed). */
int db_begin_write_deferred(struct db *db);

/* Sends what is queued on 'db' and waits for it: DB_OK when everything
 * ran, else DB_ERROR with the first failure's message and kind. Nothing
 * queued (and always on SQLite): DB_OK, no round trip. */
int db_flush(struct db *db);

/* Raises the data version (db_bump_data_version, written to *version)
 * and commits the open write transaction, in one round trip on
 * PostgreSQL. DB_OK, or DB_ERROR (the transaction is then left for the
 * caller's ROLLBACK). */
int db_commit_write(struct db *db, int64_t *version);

/* Round trips to the server on 'db' so far (PostgreSQL: each synchronous
 * libpq call and each pipeline sync; SQLite: 0). For tests and the
 * writer's statistics. */
uint64_t db_round_trips(const struct db *db);

/* SQLite: the busy handler (sqlite3_busy_handler; replaces the busy
 * timeout). 'fn' returns nonzero to wait and retry, 0 to fail with
 * DB_ERR_BUSY; it runs on the thread using 'db'. PostgreSQL: no effect
 * (lock waits end with lock_timeout). */
void db_set_busy_handler(struct db *db, int (*fn)(void *arg, int count),
                         void *arg);

/* PostgreSQL: true when the server connection is gone (PQstatus is
 * CONNECTION_BAD, seen once a call on it failed); the connection must
 * be replaced. SQLite: false. */
bool db_connection_lost(const struct db *db);

/* SQLite: folds the WAL into the database file (TRUNCATE checkpoint), as
 * the store does at shutdown. PostgreSQL: no effect. Returns DB_OK or
 * DB_ERROR. */
int db_checkpoint(struct db *db);

/* Applies the migrations of 'list' (n entries, ascending levels) whose
 * level is above the database's, each in its own transaction that also
 * records its level: PRAGMA user_version on SQLite (after switching the
 * file to WAL), the one-row table greentrack_schema(level) on
 * PostgreSQL, under pg_advisory_lock(DB_MIGRATION_LOCK_KEY) so servers
 * starting together migrate once. A database at a level newer than the
 * list's last is refused with one line. Returns SRV_OK, or an error with
 * 'eb' saying which migration failed and why. */
enum srv_err db_migrate(struct db *db, const struct schema_migration *list,
                        int n, struct errbuf *eb);

/* The schema level recorded in 'db' (0 for a new database); DB_OK and
 * *level, or DB_ERROR. */
int db_schema_level(struct db *db, int *level);

/* The key of the PostgreSQL advisory lock db_migrate holds ("gtschema"). */
#define DB_MIGRATION_LOCK_KEY INT64_C(0x6774736368656d61)

/*---- statements ----*/

/* Prepares 'sql' (shared dialect, one statement) on 'db'. PostgreSQL
 * prepares lazily, at the first execution, with the parameter types of
 * that execution's binds (int64 -> int8, double -> float8, text and NULL
 * -> left to the server); later executions send text values that the
 * server converts to those types. So on PostgreSQL an error in the SQL
 * itself surfaces at the first db_step, not here. Returns the statement
 * (caller frees with db_finalize), or NULL with db_errmsg set. */
struct db_stmt *db_prepare(struct db *db, const char *sql);

/* Frees 's' (and its PostgreSQL prepared statement); NULL is a no-op. */
void db_finalize(struct db_stmt *s);

/* The connection 's' belongs to (borrowed). */
struct db *db_stmt_db(const struct db_stmt *s);

/* Number of the highest parameter in the statement's SQL. */
int db_bind_count(const struct db_stmt *s);

/* Binders: 'i' is 1-based (as ?1). Values are copied. Text may be given
 * with its length in bytes or -1 for NUL-terminated. A parameter left
 * unbound is NULL. Binding after a db_step without db_reset is an error
 * on PostgreSQL. Each returns DB_OK, or DB_ERROR (index out of range, no
 * memory). Where the engines differ: -0.0 is stored as 0 by both (SQLite
 * folds it in REAL columns, the PostgreSQL engine sends 0); NaN becomes
 * NULL in SQLite and stays NaN in PostgreSQL (keep it out of columns, as
 * the metrics' is_nan does); PostgreSQL refuses text holding a NUL byte
 * (at bind) or invalid UTF-8 (at step, SQLSTATE 22021), which SQLite
 * stores. */
int db_bind_int64(struct db_stmt *s, int i, int64_t v);
int db_bind_double(struct db_stmt *s, int i, double v);
int db_bind_text(struct db_stmt *s, int i, const char *v, int len);
int db_bind_null(struct db_stmt *s, int i);

/* Runs 's' (the first call after prepare or reset executes it) and moves
 * to the next row. Returns DB_ROW, DB_DONE, or DB_ERROR. */
int db_step(struct db_stmt *s);

/* Runs 's', a statement that returns no rows and whose db_changes is
 * not read: on SQLite a plain db_step; on PostgreSQL queued in pipeline
 * mode (see db_flush), its failure reported later. Returns DB_OK (the
 * statement is done: reset it before binding again), or DB_ERROR when it
 * failed at once (SQLite) or could not be queued. */
int db_step_deferred(struct db_stmt *s);

/* Clears the result and every binding, ready to bind and run again.
 * Returns DB_OK (a failure was reported by the db_step that met it). */
int db_reset(struct db_stmt *s);

/* Rows inserted, updated or deleted by the statement's last execution,
 * once db_step has returned DB_DONE (PQcmdTuples; sqlite3_changes). */
int64_t db_changes(const struct db_stmt *s);

/*---- the current row (after db_step returned DB_ROW) ----*/

/* Number of result columns; on PostgreSQL known once the statement has
 * run (0 before the first db_step). */
int db_column_count(const struct db_stmt *s);

/* The value's storage class. PostgreSQL: DB_NULL for NULL, else by the
 * column's type: int2/int4/int8/oid/bool -> DB_INT, float4/float8/
 * numeric -> DB_FLOAT, anything else DB_TEXT. Note sum() of a bigint is
 * numeric there (DB_FLOAT, read exactly by db_column_int64), an integer
 * in SQLite. */
enum db_type db_column_type(const struct db_stmt *s, int col);

/* The value as an integer (NULL: 0; text: its leading integer; bool:
 * 1/0; float: truncated). */
int64_t db_column_int64(const struct db_stmt *s, int col);

/* The value as a double (NULL: 0; PostgreSQL float8 text, Infinity and
 * NaN included, reads back bit for bit). */
double db_column_double(const struct db_stmt *s, int col);

/* The value as NUL-terminated text, or NULL for a NULL value. Borrowed:
 * valid until the next db_step, db_reset or db_finalize of 's'. Numbers
 * are given as each engine prints them. */
const char *db_column_text(const struct db_stmt *s, int col);

/* Length in bytes of db_column_text's value (0 for NULL). */
int db_column_bytes(const struct db_stmt *s, int col);

/*---- bulk copy (PostgreSQL COPY ... FROM STDIN / TO STDOUT, text format)
 * ----*/

/* For moving whole tables (greentrack-server migrate). PostgreSQL only:
 * on a SQLite connection each call fails with DB_ERROR. While a copy is
 * in progress the connection runs nothing else (no db_exec, no
 * db_step); it ends with db_copy_in_end or db_copy_out_next returning
 * DB_DONE or DB_ERROR. Identifiers are quoted here (PQescapeIdentifier);
 * values travel as COPY's text format, escaped here, never as SQL. */

/* Starts COPY "table" ("cols"[0], ...) FROM STDIN. Returns DB_OK or
 * DB_ERROR. */
int db_copy_in_begin(struct db *db, const char *table, const char *const *cols,
                     int ncols);

/* Appends one field of the current row, in column order. Text is
 * escaped (backslash, tab, newline, carriage return and the other C0
 * controls COPY treats specially) and must hold no NUL byte (PostgreSQL
 * text cannot: DB_ERROR); doubles are written to read back bit for bit
 * (shortest round trip, "-0", "NaN", "Infinity", "-Infinity"); booleans
 * as t/f; NULL as \N. Data is buffered and sent in blocks of about
 * 256 KB. Each returns DB_OK or DB_ERROR. */
int db_copy_put_null(struct db *db);
int db_copy_put_int64(struct db *db, int64_t v);
int db_copy_put_bool(struct db *db, bool v);
int db_copy_put_double(struct db *db, double v);
int db_copy_put_text(struct db *db, const char *v, size_t len);

/* Ends the current row. DB_OK or DB_ERROR. */
int db_copy_end_row(struct db *db);

/* Sends what is buffered and ends the copy; with 'cancel' the server
 * discards the rows and the COPY fails (the transaction around it is
 * then aborted). Returns DB_OK when the server took every row, else
 * DB_ERROR with db_errmsg saying why (a constraint, bad UTF-8, ...). */
int db_copy_in_end(struct db *db, bool cancel);

/* Starts COPY "table" ("cols"[0], ...) TO STDOUT. DB_OK or DB_ERROR. */
int db_copy_out_begin(struct db *db, const char *table, const char *const *cols,
                      int ncols);

/* Reads the next row: DB_ROW with *fields and *lens (borrowed, valid
 * until the next call) holding *nfields unescaped values, a NULL pointer
 * for SQL NULL; DB_DONE after the last row (the copy is over); DB_ERROR.
 * Floats are as PostgreSQL prints them with extra_float_digits 3, which
 * strtod reads back bit for bit. */
int db_copy_out_next(struct db *db, int *nfields, const char *const **fields,
                     const size_t **lens);

/* Appends 'v' to 'out' (at least 2 * len + 1 bytes) in COPY text
 * escaping; returns the number of bytes written (no NUL added), or
 * (size_t)-1 when 'v' holds a NUL byte. Pure; for db_copy_put_text and
 * its tests. */
size_t db_copy_escape(char *out, const char *v, size_t len);

/* Undoes db_copy_escape in place on the field 'v' of length 'len' ("\N"
 * is NULL and not passed here); returns the new length. Pure. */
size_t db_copy_unescape(char *v, size_t len);

/* Writes 'v' as COPY text into 'buf' (32 bytes, NUL-terminated): the
 * shortest decimal that reads back to the same bits, "-0" for negative
 * zero, "NaN", "Infinity", "-Infinity". Returns the length. Pure. */
size_t db_copy_format_double(double v, char *buf);

/*---- shared by the engines (db.c) ----*/

/* Translates the placeholders of 'sql' to PostgreSQL's $N (see the top of
 * this file). Returns a malloc'ed string (caller frees) and writes the
 * highest parameter number to *nparams, or returns NULL with 'eb' set
 * (a ?N out of 1..32766, no memory). */
char *db_sql_to_postgres(const char *sql, int *nparams, struct errbuf *eb);

#endif
