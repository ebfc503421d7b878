/* SPDX-License-Identifier: MIT
 *
 * conn: the store's connections, over db.h (the engine specifics are in
 * db_sqlite.c and db_postgres.c): opening one, the statement cache of
 * each connection (store_stmt for the core table of statements.h,
 * store_conn_stmt for the domain files), the mapping of database errors
 * to the client's, the migrations, the pool of reader connections (one
 * per thread), the writer's busy handler, the check for writes of other
 * processes (db_data_version), store_ping, and the route of each
 * thread's reads (the primary, or the replica of --db-read: replica.c
 * decides, this file holds the connections). The only file that knows
 * what a struct conn holds.
 */
#include "internal.h"
#include "log.h"
#include "schema.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct conn {
    struct db *db;
    struct db_stmt *stmts[STMT_COUNT];
    struct conn *next; /* in store->readers */
    uint64_t store_serial;
    struct store_write_notes notes; /* writer bookkeeping (internal.h) */
    struct db_stmt *domain[STORE_DOMAIN_STMTS]; /* store_conn_stmt's */
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
struct db_stmt *store_stmt(struct conn *c, enum stmt_id id)
{
    struct db_stmt *s = c->stmts[id];
    if (s) {
        db_reset(s);
        return s;
    }
    s = db_prepare(c->db, store_stmt_sql[id]);
    if (!s) {
        log_error("prepare failed: %s: %s", db_errmsg(c->db),
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
        db_finalize(c->stmts[i]);
    for (int i = 0; i < STORE_DOMAIN_STMTS; i++)
        db_finalize(c->domain[i]);
    db_close(c->db);
    free(c);
}

enum srv_err store_conn_error(struct conn *c, struct errbuf *eb,
                              const char *what)
{
    enum db_error_kind kind = db_error_kind(c->db);
    log_error("database: %s: %s", what, db_errmsg(c->db));
    if (kind == DB_ERR_BUSY || kind == DB_ERR_CONNECTION)
        return err_set(eb, SRV_E_UNAVAILABLE,
                       "The database is busy; retry the request");
    if (kind == DB_ERR_NOMEM)
        return err_set(eb, SRV_E_NOMEM, "Out of memory");
    if (kind == DB_ERR_ENCODING)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid UTF-8 in a string value of the request");
    return err_set(eb, SRV_E_INTERNAL, "Internal database error");
}

int store_exec_sql(struct db *db, const char *sql)
{
    /* Callers report the failure (db_errmsg) in their own words. */
    return db_exec(db, sql);
}

struct db_stmt *store_prepare(struct conn *c, const char *sql, const char *what)
{
    struct db_stmt *s = db_prepare(c->db, sql);
    if (!s)
        log_error("prepare failed: %s: %s: %s", what, db_errmsg(c->db), sql);
    return s;
}

/* A new connection to 'target', configured as the store's. */
static struct conn *conn_open_target(const struct store *st, const char *target,
                                     bool create, struct errbuf *eb)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        err_set(eb, SRV_E_NOMEM, "out of memory");
        return NULL;
    }
    struct db_options opt = {
        .create = create,
        .durable_full = st->durable_full,
        .busy_timeout_ms = 5000,
    };
    c->db = db_open(target, &opt, eb);
    if (!c->db) {
        store_conn_close(c);
        return NULL;
    }
    c->store_serial = st->serial;
    return c;
}

struct conn *store_conn_open(const struct store *st, bool create,
                             struct errbuf *eb)
{
    return conn_open_target(st, st->db_path, create, eb);
}

struct conn *store_conn_open_target(const struct store *st, const char *target,
                                    struct errbuf *eb)
{
    return conn_open_target(st, target, false, eb);
}

/*---- migrations ----*/

enum srv_err store_migrate(struct conn *c, struct errbuf *eb)
{
    if (db_engine(c->db) == DB_POSTGRES)
        return db_migrate(c->db, schema_pg_migrations,
                          schema_pg_migration_count, eb);
    return db_migrate(c->db, schema_migrations, schema_migration_count, eb);
}

/* Another process (greentrack-server gc, the sqlite3 shell) committed to
 * the database since the writer last looked: what the writer memoized and
 * readers cached may be stale (a purged run's pk can even be reused), so
 * it all rebuilds. Cheap: a counter read. */
void store_notice_outside_writes(struct store *st)
{
    int64_t v = 0;
    if (db_data_version(store_conn_db(st->writer), &v) != DB_OK)
        v = 0;
    if (v == st->data_version)
        return;
    bool first = st->data_version == 0;
    st->data_version = v;
    if (first) {
        atomic_store(&st->read_data_version, v);
        return;
    }
    st->grid_gen++;
    for (size_t i = 0; i < STORE_GENERATION_SLOTS; i++)
        atomic_fetch_add(&st->generations[i], 1);
}

void store_note_own_commit(struct store *st, int64_t bumped)
{
    if (bumped <= 0)
        return; /* SQLite: data_version ignores this connection's commits */
    if (st->data_version == bumped - 1)
        st->data_version = bumped;
    int64_t before = bumped - 1;
    atomic_compare_exchange_strong(&st->read_data_version, &before, bumped);
}

/* PostgreSQL: another server's commits reach readers' caches here. The
 * counter is read before the caller reads the generations, and the rows
 * after: rows read are at least as new as the counter seen, so a cache
 * built from them is never older than its generation says. A failed read
 * of the counter counts as a change (rebuild rather than serve stale). */
void store_sync_generations(struct store *st)
{
    struct errbuf eb;
    struct conn *c = store_reader_primary(st, &eb);
    if (!c || db_engine(c->db) != DB_POSTGRES)
        return;
    int64_t v = -1;
    if (db_data_version(c->db, &v) != DB_OK)
        v = -1;
    int64_t seen = atomic_load(&st->read_data_version);
    if (v == seen && v >= 0)
        return;
    if (v >= 0 &&
        !atomic_compare_exchange_strong(&st->read_data_version, &seen, v))
        return; /* another thread took this change: it bumps them */
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
    db_set_busy_handler(st->writer->db, writer_busy, st);
}

void store_conns_close(struct store *st)
{
    struct conn *lists[] = {st->readers, st->replicas};
    for (size_t i = 0; i < sizeof(lists) / sizeof(*lists); i++) {
        struct conn *r = lists[i];
        while (r) {
            struct conn *next = r->next;
            store_conn_close(r);
            r = next;
        }
    }
    /* A final checkpoint folds the WAL into the database file. */
    db_checkpoint(st->writer->db);
    store_conn_close(st->writer);
}

/*---- readers ----*/

static _Thread_local struct conn *tls_reader;
static _Thread_local struct conn *tls_replica;
/* store_read_route: this thread's reads go to the replica */
static _Thread_local bool tls_route_replica;

struct conn *store_reader_primary(struct store *st, struct errbuf *eb)
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

/* Unlinks 'c' from st->replicas and closes it. */
static void replica_drop(struct store *st, struct conn *c)
{
    pthread_mutex_lock(&st->readers_mu);
    for (struct conn **p = &st->replicas; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&st->readers_mu);
    store_conn_close(c);
}

struct conn *store_replica_conn(struct store *st)
{
    if (!st->db_read)
        return NULL;
    struct conn *c = tls_replica;
    bool down = atomic_load(&st->replica_down);
    if (c && c->store_serial == st->serial) {
        if (!down && !db_connection_lost(c->db))
            return c;
        /* Lost, or the replica went down (seen by another thread): a
         * connection opened before may be dead too, so it is replaced. */
        tls_replica = NULL;
        replica_drop(st, c);
        if (!down)
            store_replica_down(st, "the connection was lost");
    }
    if (!store_replica_may_try(st))
        return NULL;
    struct errbuf eb;
    c = conn_open_target(st, st->db_read, false, &eb);
    if (!c) {
        store_replica_down(st, eb.msg);
        return NULL;
    }
    store_replica_up(st);
    pthread_mutex_lock(&st->readers_mu);
    c->next = st->replicas;
    st->replicas = c;
    pthread_mutex_unlock(&st->readers_mu);
    tls_replica = c;
    return c;
}

/* This thread's read connection for 'st': the replica's when the
 * thread's route says so and the replica is up, else the primary's. */
struct conn *store_reader(struct store *st, struct errbuf *eb)
{
    if (tls_route_replica && st->db_read) {
        struct conn *c = store_replica_conn(st);
        if (c)
            return c;
    }
    return store_reader_primary(st, eb);
}

bool store_read_route(bool replica)
{
    bool was = tls_route_replica;
    tls_route_replica = replica;
    return was;
}

bool store_read_route_get(void)
{
    return tls_route_replica;
}

enum srv_err store_read_snapshot_begin(struct store *st, int64_t *counter,
                                       bool *on_replica, struct errbuf *eb)
{
    *on_replica = false;
    if (!tls_route_replica || !st->db_read)
        return SRV_OK;
    struct conn *c = store_replica_conn(st);
    if (!c)
        return SRV_OK; /* down: the caller reads the primary */
    int64_t v;
    if (db_exec(c->db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") !=
        DB_OK)
        return store_conn_error(c, eb, "replica snapshot");
    if (db_data_version(c->db, &v) != DB_OK) {
        enum srv_err e = store_conn_error(c, eb, "replica counter");
        db_exec(c->db, "ROLLBACK");
        return e;
    }
    *counter = v;
    *on_replica = true;
    return SRV_OK;
}

void store_read_snapshot_end(struct store *st)
{
    struct conn *c = tls_replica;
    if (c && c->store_serial == st->serial && !db_connection_lost(c->db))
        db_exec(c->db, "ROLLBACK"); /* read only: nothing to keep */
}

enum srv_err store_ping(struct store *st)
{
    struct errbuf eb;
    struct conn *c = store_reader_primary(st, &eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s = store_stmt(c, S_PING);
    if (!s)
        return SRV_E_UNAVAILABLE;
    int rc = db_step(s);
    db_reset(s);
    return rc == DB_ROW ? SRV_OK : SRV_E_UNAVAILABLE;
}

/*---- the domain files' statements ----*/

struct db *store_conn_db(struct conn *c)
{
    return c->db;
}

struct db_stmt *store_conn_stmt(struct conn *c, unsigned slot, const char *sql)
{
    if (slot >= STORE_DOMAIN_STMTS) {
        log_error("statement slot %u out of range: %s", slot, sql);
        return NULL;
    }
    struct db_stmt *s = c->domain[slot];
    if (s) {
        db_reset(s);
        return s;
    }
    s = db_prepare(c->db, sql);
    if (!s) {
        log_error("prepare failed: %s: %s", db_errmsg(c->db), sql);
        return NULL;
    }
    c->domain[slot] = s;
    return s;
}
