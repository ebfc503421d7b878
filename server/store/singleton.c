/* SPDX-License-Identifier: MIT
 *
 * singleton: background work that one server at a time does when several
 * share a PostgreSQL database (the heartbeat reaper, the grid refresh).
 * Each kind is a session-level advisory lock taken on a connection of its
 * own; the server that holds it keeps it until it exits or its
 * connection breaks, and PostgreSQL releases it then, so another server's
 * next try takes the work over. On SQLite one server owns the file: the
 * work is always this server's.
 */
#include "internal.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>

/* Advisory lock keys: "gtreap" and "gtgrid" in ASCII, apart from
 * DB_MIGRATION_LOCK_KEY. */
static const int64_t singleton_keys[STORE_SINGLETON_COUNT] = {
    [STORE_SINGLETON_REAPER] = INT64_C(0x677472656170),
    [STORE_SINGLETON_GRID] = INT64_C(0x677467726964),
};

static const char *const singleton_names[STORE_SINGLETON_COUNT] = {
    [STORE_SINGLETON_REAPER] = "heartbeat reaper",
    [STORE_SINGLETON_GRID] = "grid refresh",
};

/* Runs 'sql' (one row, one integer column) on the singleton connection. */
static bool query_one(struct db *db, const char *sql, int64_t *v)
{
    struct db_stmt *s = db_prepare(db, sql);
    if (!s)
        return false;
    bool ok = db_step(s) == DB_ROW;
    if (ok)
        *v = db_column_int64(s, 0);
    db_finalize(s);
    return ok;
}

/* Forgets the connection and every lock it held (caller holds the mutex). */
static void drop_connection(struct store *st)
{
    db_close(st->singleton_db);
    st->singleton_db = NULL;
    for (int i = 0; i < STORE_SINGLETON_COUNT; i++)
        st->singleton_held[i] = false;
}

bool store_singleton_held(struct store *st, enum store_singleton which)
{
    if (!db_target_is_postgres(st->db_path))
        return true;
    pthread_mutex_lock(&st->singleton_mu);
    if (!st->singleton_db) {
        struct errbuf eb;
        struct db_options opt = {0};
        st->singleton_db = db_open(st->db_path, &opt, &eb);
        if (!st->singleton_db) {
            log_warn("singleton %s: cannot connect: %s", singleton_names[which],
                     eb.msg);
            pthread_mutex_unlock(&st->singleton_mu);
            return false;
        }
    }
    int64_t v = 0;
    bool held;
    if (st->singleton_held[which]) {
        /* still ours while the session that took it lives */
        held = query_one(st->singleton_db, "SELECT 1", &v);
    } else {
        char sql[96];
        snprintf(sql, sizeof(sql),
                 "SELECT CASE WHEN pg_try_advisory_lock(%" PRId64
                 ") THEN 1 ELSE 0 END",
                 singleton_keys[which]);
        held = query_one(st->singleton_db, sql, &v) && v == 1;
        if (held)
            log_info("singleton %s: this server runs it",
                     singleton_names[which]);
        else if (!st->singleton_told[which])
            log_info("singleton %s: another server holds it",
                     singleton_names[which]);
        st->singleton_told[which] = true;
    }
    if (!held && db_error_kind(st->singleton_db) == DB_ERR_CONNECTION) {
        log_warn("singleton %s: connection lost: %s", singleton_names[which],
                 db_errmsg(st->singleton_db));
        drop_connection(st);
    } else
        st->singleton_held[which] = held;
    pthread_mutex_unlock(&st->singleton_mu);
    return held;
}

void store_singletons_close(struct store *st)
{
    pthread_mutex_lock(&st->singleton_mu);
    drop_connection(st);
    pthread_mutex_unlock(&st->singleton_mu);
}
