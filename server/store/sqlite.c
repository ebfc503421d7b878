/* SPDX-License-Identifier: MIT
 *
 * sqlite: the SQLite backend of the store: opening a connection (its
 * PRAGMAs), the statement cache of each connection (store_stmt for the
 * core table of statements.h, store_conn_stmt for the domain files), the
 * mapping of SQLite's errors to the client's, the migrations
 * (user_version), the pool of reader connections (one per thread), the
 * writer's busy handler, the check for writes of other processes
 * (data_version) and store_ping. The only file that knows what a struct
 * conn holds.
 */
#include "internal.h"
#include "log.h"
#include "schema.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

struct conn {
    sqlite3 *db;
    sqlite3_stmt *stmts[STMT_COUNT];
    struct conn *next; /* in store->readers */
    uint64_t store_serial;
    struct store_write_notes notes; /* writer bookkeeping (internal.h) */
    sqlite3_stmt *domain[STORE_DOMAIN_STMTS]; /* store_conn_stmt's */
};

/* Records that the current write changed run 'pk' (writer only). */
void store_conn_note_run(struct conn *c, int64_t pk)
{
    if (c->notes.touched_run == 0)
        c->notes.touched_run = pk;
    else if (c->notes.touched_run != pk)
        c->notes.touched_run = -1;
}

/* Returns the statement, prepared on first use and reset for reuse; NULL
 * (logged) if it cannot be prepared. */
sqlite3_stmt *store_stmt(struct conn *c, enum stmt_id id)
{
    sqlite3_stmt *s = c->stmts[id];
    if (s) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return s;
    }
    if (sqlite3_prepare_v3(c->db, store_stmt_sql[id], -1,
                           SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
        log_error("prepare failed: %s: %s", sqlite3_errmsg(c->db),
                  store_stmt_sql[id]);
        return NULL;
    }
    c->stmts[id] = s;
    return s;
}

void store_conn_close(struct conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(c->stmts[i]);
    for (int i = 0; i < STORE_DOMAIN_STMTS; i++)
        sqlite3_finalize(c->domain[i]);
    sqlite3_close(c->db);
    free(c);
}

enum srv_err store_conn_error(struct conn *c, struct errbuf *eb,
                              const char *what)
{
    int code = sqlite3_errcode(c->db);
    log_error("sqlite: %s: %s (%d)", what, sqlite3_errmsg(c->db),
              sqlite3_extended_errcode(c->db));
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return err_set(eb, SRV_E_UNAVAILABLE,
                       "The database is busy; retry the request");
    if (code == SQLITE_NOMEM)
        return err_set(eb, SRV_E_NOMEM, "Out of memory");
    return err_set(eb, SRV_E_INTERNAL, "Internal database error");
}

int store_exec_sql(sqlite3 *db, const char *sql)
{
    /* Callers report the failure (sqlite3_errmsg) in their own words. */
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

struct conn *store_conn_open(const struct store *st, bool create,
                             struct errbuf *eb)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        err_set(eb, SRV_E_NOMEM, "out of memory");
        return NULL;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(st->db_path, &c->db, flags, NULL) != SQLITE_OK) {
        err_set(eb, SRV_E_INTERNAL, "cannot open database %s: %s", st->db_path,
                c->db ? sqlite3_errmsg(c->db) : "out of memory");
        store_conn_close(c);
        return NULL;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, 5000);
    char pragmas[256];
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA foreign_keys = ON; PRAGMA case_sensitive_like = ON; "
             "PRAGMA synchronous = %s; PRAGMA temp_store = MEMORY; "
             "PRAGMA cache_size = -16000;",
             st->durable_full ? "FULL" : "NORMAL");
    if (store_exec_sql(c->db, pragmas) != SQLITE_OK) {
        err_set(eb, SRV_E_INTERNAL, "cannot configure database %s: %s",
                st->db_path, sqlite3_errmsg(c->db));
        store_conn_close(c);
        return NULL;
    }
    c->store_serial = st->serial;
    return c;
}

/*---- migrations ----*/

static int read_user_version(sqlite3 *db)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
    }
    return v;
}

enum srv_err store_migrate(struct conn *c, struct errbuf *eb)
{
    if (store_exec_sql(c->db, "PRAGMA journal_mode = WAL") != SQLITE_OK)
        return err_set(eb, SRV_E_INTERNAL,
                       "cannot use database %s: %s (is it a SQLite file?)", "",
                       sqlite3_errmsg(c->db));
    int have = read_user_version(c->db);
    int latest = schema_migrations[schema_migration_count - 1].level;
    if (have < 0)
        return err_set(eb, SRV_E_INTERNAL, "cannot read the schema version");
    if (have > latest)
        return err_set(eb, SRV_E_INTERNAL,
                       "database schema version %d is newer than this "
                       "server supports (%d); use a newer greentrack-server",
                       have, latest);
    for (int i = 0; i < schema_migration_count; i++) {
        const struct schema_migration *m = &schema_migrations[i];
        if (m->level <= have)
            continue;
        char setv[64];
        snprintf(setv, sizeof(setv), "PRAGMA user_version = %d", m->level);
        if (store_exec_sql(c->db, "BEGIN IMMEDIATE") != SQLITE_OK ||
            store_exec_sql(c->db, m->sql) != SQLITE_OK ||
            store_exec_sql(c->db, setv) != SQLITE_OK ||
            store_exec_sql(c->db, "COMMIT") != SQLITE_OK) {
            enum srv_err e =
                err_set(eb, SRV_E_INTERNAL, "migration %s failed: %s", m->name,
                        sqlite3_errmsg(c->db));
            store_exec_sql(c->db, "ROLLBACK");
            return e;
        }
        log_info("applied migration %s", m->name);
    }
    return SRV_OK;
}

/* Another process (greentrack-server gc, the sqlite3 shell) committed to
 * the database since the writer last looked: what the writer memoized and
 * readers cached may be stale (a purged run's pk can even be reused), so
 * it all rebuilds. Cheap: a counter read. */
void store_notice_outside_writes(struct store *st)
{
    sqlite3_stmt *s = store_stmt(st->writer, S_DATA_VERSION);
    if (!s)
        return;
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (v == st->data_version)
        return;
    bool first = st->data_version == 0;
    st->data_version = v;
    if (first)
        return;
    st->grid_gen++;
    for (size_t i = 0; i < STORE_GENERATION_SLOTS; i++)
        atomic_fetch_add(&st->generations[i], 1);
}

/* How long the writer waits for a database lock held by another
 * connection (another process, or a reader checkpointing) before the
 * write fails with 503; as sqlite3_busy_timeout(5000) did. */
#define WRITER_BUSY_TIMEOUT_MS 5000

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The writer connection's busy handler: sqlite3_busy_timeout's wait, in
 * naps of at most 10 ms so that store_abandon cuts it short. 0 gives up
 * (SQLITE_BUSY), 1 tries again. */
static int writer_busy(void *arg, int count)
{
    struct store *st = arg;
    if (atomic_load(&st->abandoned))
        return 0;
    int64_t now = mono_ms();
    if (count == 0)
        st->busy_since_ms = now;
    else if (now - st->busy_since_ms >= WRITER_BUSY_TIMEOUT_MS)
        return 0;
    long nap_ms = count < 3 ? 1L << count : 10;
    struct timespec nap = {0, nap_ms * 1000000L};
    nanosleep(&nap, NULL);
    return 1;
}

struct store_write_notes *store_conn_notes(struct conn *c)
{
    return &c->notes;
}

void store_writer_busy_handler(struct store *st)
{
    sqlite3_busy_handler(st->writer->db, writer_busy, st);
}

void store_conns_close(struct store *st)
{
    struct conn *r = st->readers;
    while (r) {
        struct conn *next = r->next;
        store_conn_close(r);
        r = next;
    }
    /* A final checkpoint folds the WAL into the database file. */
    sqlite3_wal_checkpoint_v2(st->writer->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                              NULL, NULL);
    store_conn_close(st->writer);
}

/*---- readers ----*/

static _Thread_local struct conn *tls_reader;

/* This thread's read connection for 'st', opened on first use. */
struct conn *store_reader(struct store *st, struct errbuf *eb)
{
    struct conn *c = tls_reader;
    if (c && c->store_serial == st->serial)
        return c;
    c = store_conn_open(st, false, eb);
    if (!c)
        return NULL;
    pthread_mutex_lock(&st->readers_mu);
    c->next = st->readers;
    st->readers = c;
    pthread_mutex_unlock(&st->readers_mu);
    tls_reader = c;
    return c;
}

enum srv_err store_ping(struct store *st)
{
    struct errbuf eb;
    struct conn *c = store_reader(st, &eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = store_stmt(c, S_PING);
    if (!s)
        return SRV_E_UNAVAILABLE;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? SRV_OK : SRV_E_UNAVAILABLE;
}

/*---- the domain files' statements ----*/

sqlite3 *store_conn_db(struct conn *c)
{
    return c->db;
}

sqlite3_stmt *store_conn_stmt(struct conn *c, unsigned slot, const char *sql)
{
    if (slot >= STORE_DOMAIN_STMTS) {
        log_error("statement slot %u out of range: %s", slot, sql);
        return NULL;
    }
    sqlite3_stmt *s = c->domain[slot];
    if (s) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return s;
    }
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
                           NULL) != SQLITE_OK) {
        log_error("prepare failed: %s: %s", sqlite3_errmsg(c->db), sql);
        return NULL;
    }
    c->domain[slot] = s;
    return s;
}
