/* SPDX-License-Identifier: MIT
 *
 * replica: reads from a PostgreSQL streaming replica (--db-read) with
 * read-your-writes for the client that wrote. After each commit the
 * writer records the primary's WAL insert position; a client's successful
 * write stamps that position into the client's slot of a small table
 * (by a hash of its identity); a later read of that client goes to the
 * replica only once the replica has replayed past the stamp
 * (pg_last_wal_replay_lsn), else to the primary. Also the replica's
 * up/down state, logged once per change. The connections themselves are
 * conn.c's; callers are http.c (the route of each request) and writer.c.
 */
#include "internal.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long a replica that could not be reached is left alone before a
 * reader tries it again. */
#define REPLICA_RETRY_MS 5000

/* A stamp for a write whose WAL position could not be read: its client
 * reads from the primary for REPLICA_UNKNOWN_MS after it. */
#define LSN_UNKNOWN UINT64_MAX
#define REPLICA_UNKNOWN_MS 10000

enum {
    SQ_INSERT_LSN = STORE_REPLICA_STMT_BASE, /* on the writer */
    SQ_REPLAY_LSN                            /* on a replica */
};

static const char sql_insert_lsn[] = "SELECT pg_current_wal_insert_lsn()::text";
/* NULL on a server that is not a standby */
static const char sql_replay_lsn[] = "SELECT pg_last_wal_replay_lsn()::text";

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parses PostgreSQL's text form of a pg_lsn ("16/B374D848"). */
static bool lsn_parse(const char *s, uint64_t *out)
{
    if (!s)
        return false;
    char *end;
    errno = 0;
    unsigned long long hi = strtoull(s, &end, 16);
    if (errno || end == s || *end != '/' || hi > UINT32_MAX)
        return false;
    const char *lo_s = end + 1;
    unsigned long long lo = strtoull(lo_s, &end, 16);
    if (errno || end == lo_s || *end || lo > UINT32_MAX)
        return false;
    *out = (uint64_t)hi << 32 | lo;
    return true;
}

/* Runs one of the statements above on 'c': DB_ROW with the position in
 * *lsn, DB_DONE when it is NULL, DB_ERROR. */
static int read_lsn(struct conn *c, unsigned slot, const char *sql,
                    uint64_t *lsn)
{
    struct db_stmt *s = store_conn_stmt(c, slot, sql);
    if (!s)
        return DB_ERROR;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        const char *t = db_column_text(s, 0);
        if (!t)
            rc = DB_DONE;
        else if (!lsn_parse(t, lsn))
            rc = DB_ERROR;
    } else if (rc == DB_DONE) {
        rc = DB_ERROR; /* one row is always returned */
    }
    db_reset(s);
    return rc;
}

static void atomic_max(_Atomic uint64_t *a, uint64_t v)
{
    uint64_t cur = atomic_load(a);
    while (cur < v && !atomic_compare_exchange_weak(a, &cur, v))
        ;
}

/*---- up and down ----*/

void store_replica_down(struct store *st, const char *why)
{
    atomic_store(&st->replica_retry_ms, mono_ms() + REPLICA_RETRY_MS);
    if (!atomic_exchange(&st->replica_down, true))
        log_warn("read replica unreachable (%s): reads go to the primary "
                 "until it answers again",
                 why);
}

void store_replica_up(struct store *st)
{
    if (atomic_exchange(&st->replica_down, false))
        log_info("read replica reachable again: searches, histories and "
                 "leaderboards read from it");
}

bool store_replica_may_try(struct store *st)
{
    return !atomic_load(&st->replica_down) ||
           mono_ms() >= atomic_load(&st->replica_retry_ms);
}

/*---- read-your-writes ----*/

/* The slot of 'client' (FNV-1a). */
static size_t client_slot(const char *client)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)client; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return (size_t)(h % STORE_RYW_SLOTS);
}

void store_replica_note_commit(struct store *st)
{
    uint64_t lsn;
    if (read_lsn(st->writer, SQ_INSERT_LSN, sql_insert_lsn, &lsn) != DB_ROW) {
        log_warn("cannot read the primary's WAL position: %s",
                 db_errmsg(store_conn_db(st->writer)));
        lsn = LSN_UNKNOWN;
    }
    atomic_store(&st->commit_lsn, lsn);
}

/* A slot holds the WAL position of its clients' last write; a write
 * whose position could not be read is stamped with its time instead,
 * tagged by the top bit (positions never reach it). */
#define UNKNOWN_TAG (UINT64_C(1) << 63)

static bool unknown_pending(uint64_t stamp)
{
    return (stamp & UNKNOWN_TAG) &&
           (uint64_t)mono_ms() - (stamp & ~UNKNOWN_TAG) < REPLICA_UNKNOWN_MS;
}

void store_read_note_write(struct store *st, const char *client)
{
    if (!st->db_read || !client)
        return;
    uint64_t lsn = atomic_load(&st->commit_lsn);
    _Atomic uint64_t *slot = &st->ryw[client_slot(client)];
    if (lsn == LSN_UNKNOWN) {
        atomic_store(slot, UNKNOWN_TAG | (uint64_t)mono_ms());
        return;
    }
    uint64_t cur = atomic_load(slot);
    for (;;) {
        uint64_t next = unknown_pending(cur)               ? cur
                        : (cur & UNKNOWN_TAG) || cur < lsn ? lsn
                                                           : cur;
        if (next == cur || atomic_compare_exchange_weak(slot, &cur, next))
            return;
    }
}

bool store_read_replica_choose(struct store *st, const char *client)
{
    if (!st->db_read || !store_replica_may_try(st))
        return false;
    uint64_t need = client ? atomic_load(&st->ryw[client_slot(client)]) : 0;
    if (need & UNKNOWN_TAG)
        return !unknown_pending(need);
    if (need == 0 || need <= atomic_load(&st->replayed_lsn))
        return true;
    /* This client wrote after the last replay position seen: ask. */
    struct conn *c = store_replica_conn(st);
    if (!c)
        return false;
    uint64_t replayed;
    int rc = read_lsn(c, SQ_REPLAY_LSN, sql_replay_lsn, &replayed);
    if (rc == DB_DONE)
        return true; /* not a standby: nothing to wait for */
    if (rc != DB_ROW) {
        if (db_connection_lost(store_conn_db(c)))
            store_replica_down(st, db_errmsg(store_conn_db(c)));
        return false;
    }
    atomic_max(&st->replayed_lsn, replayed);
    return need <= replayed;
}

bool store_has_replica(const struct store *st)
{
    return st->db_read != NULL;
}

void store_replica_probe(struct store *st)
{
    struct errbuf eb;
    struct conn *c = store_conn_open_target(st, st->db_read, &eb);
    if (!c) {
        store_replica_down(st, eb.msg);
        return;
    }
    uint64_t replayed = 0;
    int rc = read_lsn(c, SQ_REPLAY_LSN, sql_replay_lsn, &replayed);
    if (rc == DB_DONE)
        log_warn("--db-read names a server that is not a standby (not in "
                 "recovery): read-your-writes cannot be checked there");
    else if (rc != DB_ROW)
        log_warn("read replica: cannot read its replay position: %s",
                 db_errmsg(store_conn_db(c)));
    store_conn_close(c);
}
