/* SPDX-License-Identifier: MIT
 *
 * writer: the writer thread. It takes the queued writes (store_submit) in
 * groups, runs each inside its own savepoint of one transaction with the
 * executor of its domain (write_*.c), commits the group, then bumps the
 * generations and the change journal and completes the writes. Between groups
 * it marks runs whose heartbeats stopped as KILLED. On PostgreSQL the
 * transaction's own statements (BEGIN, SAVEPOINT, RELEASE, ROLLBACK TO)
 * are deferred (db_step_deferred): they ride with the next statement that
 * needs an answer, and each write ends with a db_flush, so its failure is
 * known before its savepoint is released or rolled back to.
 */
#include "internal.h"
#include "log.h"
#include "store_registry.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

/* Runs write 'w' with the executor of its domain; what one domain's
 * write implies in another (grants, derived metrics) follows here. */
static enum srv_err exec_write(struct store *st, struct store_write *w)
{
    struct conn *c = st->writer;
    switch (w->kind) {
    case SW_EXPERIMENT_CREATE: {
        enum srv_err e = store_tracking_exec(st, w);
        if (e || w->owner_user_id <= 0)
            return e;
        char id[32];
        snprintf(id, sizeof(id), "%" PRId64, w->out_experiment_id);
        return store_auth_grant_owner(c, false, id, w->owner_user_id, &w->err);
    }
    case SW_EXPERIMENT_RENAME:
    case SW_EXPERIMENT_DELETE:
    case SW_EXPERIMENT_RESTORE:
    case SW_EXPERIMENT_SET_TAG:
    case SW_EXPERIMENT_DELETE_TAG:
    case SW_RUN_CREATE:
    case SW_RUN_UPDATE:
    case SW_RUN_DELETE:
    case SW_RUN_RESTORE:
    case SW_RUN_LOG_INPUTS:
    case SW_RUN_LOG_MODEL:
    case SW_RUN_HEARTBEAT:
    case SW_RUN_PURGE:
        return store_tracking_exec(st, w);
    case SW_RUN_LOG:
    case SW_RUN_DELETE_TAG: {
        enum srv_err e = store_tracking_exec(st, w);
        return e ? e : store_refresh_if_location(st, w);
    }
    case SW_RUN_LOG_ENERGY:
        return store_energy_exec(st, w);
    case SW_GRID_RECORD:
        return store_grid_exec(st, w);
    case SW_REGISTRY: {
        /* --auth: grants follow a renamed model and go with a deleted
         * one; its creator gets MANAGE */
        enum srv_err e = store_registry_exec(c, w);
        if (!e && w->registry->op == REG_MODEL_RENAME)
            e = store_auth_model_moved(c, w->registry->name,
                                       w->registry->new_name, &w->err);
        if (!e && w->registry->op == REG_MODEL_DELETE)
            e = store_auth_model_moved(c, w->registry->name, NULL, &w->err);
        if (e || w->owner_user_id <= 0 || w->registry->op != REG_MODEL_CREATE)
            return e;
        return store_auth_grant_owner(c, true, w->registry->name,
                                      w->owner_user_id, &w->err);
    }
    case SW_GREENAI:
        return store_greenai_exec(c, w);
    case SW_AUTH:
        return store_auth_exec(c, w);
    case SW_BOARD_KEY:
        return store_board_key_exec(c, w);
    case SW_MULTI:
        /* One savepoint covers them all: the first failure undoes every
         * one. Each sub-write reports in its own result and err. */
        for (size_t i = 0; i < w->n_subs; i++) {
            struct store_write *sw = &w->subs[i];
            sw->result = exec_write(st, sw);
            /* what it deferred fails as its own, not the next one's */
            if (sw->result == SRV_OK && db_flush(store_conn_db(c)) != DB_OK)
                sw->result = store_conn_error(c, &sw->err, "write");
            if (sw->result != SRV_OK) {
                w->err = sw->err;
                return sw->result;
            }
        }
        return SRV_OK;
    }
    return err_set(&w->err, SRV_E_INTERNAL, "unknown write");
}

/*---- the writer thread: group commit ----*/

static bool run_simple(struct conn *c, enum stmt_id id)
{
    struct db_stmt *s = store_stmt(c, id);
    if (!s)
        return false;
    int rc = db_step(s);
    db_reset(s);
    return rc == DB_DONE;
}

/* As run_simple, deferred (db_step_deferred): true when queued (SQLite:
 * run). */
static bool run_deferred(struct conn *c, enum stmt_id id)
{
    struct db_stmt *s = store_stmt(c, id);
    if (!s)
        return false;
    int rc = db_step_deferred(s);
    db_reset(s);
    return rc == DB_OK;
}

/* Which run a successful write changed, for the change journal: the
 * kinds known to change one run report it, experiment-only changes
 * report none, and everything else (imports, experiment stage changes,
 * kinds added later) reports -1, "rebuild", which is always safe. */
static int64_t touched_run_of(const struct store_write *w, int64_t noted)
{
    switch (w->kind) {
    case SW_RUN_CREATE:
    case SW_RUN_UPDATE:
    case SW_RUN_DELETE:
    case SW_RUN_RESTORE:
    case SW_RUN_LOG:
    case SW_RUN_DELETE_TAG:
    case SW_RUN_LOG_INPUTS:
    case SW_RUN_LOG_MODEL:
    case SW_RUN_HEARTBEAT:
    case SW_RUN_LOG_ENERGY:
    case SW_GREENAI:
        return noted > 0 ? noted : -1;
    case SW_EXPERIMENT_CREATE:
    case SW_EXPERIMENT_RENAME:
    case SW_EXPERIMENT_SET_TAG:
    case SW_EXPERIMENT_DELETE_TAG:
        return 0;
    default:
        return -1;
    }
}

/* Executes one group of writes in a single transaction. Each write runs
 * inside its own savepoint, so a failing write leaves no trace while the
 * others commit. Every write is completed only after the COMMIT. */
static void commit_group(struct store *st, struct store_write *head)
{
    struct conn *c = st->writer;
    struct db *db = store_conn_db(c);
    struct store_write_notes *notes = store_conn_notes(c);
    bool began = db_begin_write_deferred(db) == DB_OK;
    /* Inside the transaction, in the BEGIN's round trip: the counter is
     * the last committed value all the same. */
    store_notice_outside_writes(st);
    for (struct store_write *w = head; w; w = w->next) {
        st->writes_done++;
        if (!began) {
            w->result = store_conn_error(c, &w->err, "begin");
            continue;
        }
        if (!run_deferred(c, S_SAVEPOINT)) {
            w->result = store_conn_error(c, &w->err, "savepoint");
            continue;
        }
        notes->last_experiment = -1;
        notes->touched_run = 0;
        w->result = exec_write(st, w);
        /* what the executor deferred: its failure is the write's */
        if (w->result == SRV_OK && db_flush(db) != DB_OK)
            w->result = store_conn_error(c, &w->err, "write");
        if (w->result != SRV_OK) {
            db_flush(db); /* a failed executor may have left some queued */
            run_deferred(c, S_ROLLBACK_TO);
            st->grid_gen++; /* memoized covers may hold what was undone */
        }
        run_deferred(c, S_RELEASE);
        /* The experiment this write changed, for the generations. */
        /* (Grid records bump every experiment when they change runs;
         * the registry, auth and board keys change none.) */
        w->touched_experiment =
            w->result != SRV_OK || w->kind == SW_GRID_RECORD ||
                    w->kind == SW_REGISTRY || w->kind == SW_AUTH ||
                    w->kind == SW_BOARD_KEY
                ? -1
            : w->kind == SW_EXPERIMENT_CREATE ? w->out_experiment_id
            : notes->last_experiment >= 0     ? notes->last_experiment
                                              : w->experiment_id;
        w->touched_run = touched_run_of(w, notes->touched_run);
    }
    /* Last before the commit, in its round trip: the counter's row lock
     * is held to it. */
    int64_t bumped = 0;
    bool committed = began && db_commit_write(db, &bumped) == DB_OK;
    st->groups_done++;
    if (began && !committed) {
        st->grid_gen++; /* memoized covers may hold what was undone */
        struct errbuf eb;
        enum srv_err e = store_conn_error(c, &eb, "commit");
        run_simple(c, S_ROLLBACK);
        for (struct store_write *w = head; w; w = w->next) {
            if (w->result == SRV_OK) {
                w->result = e;
                w->err = eb;
            }
        }
    } else if (committed) {
        store_note_own_commit(st, bumped);
        if (st->db_read)
            store_replica_note_commit(st); /* before anyone is answered */
    }
    pthread_mutex_lock(&st->journal_mu);
    for (struct store_write *w = head; w; w = w->next) {
        if (w->result != SRV_OK || w->touched_experiment < 0)
            continue;
        uint64_t gen =
            atomic_fetch_add(&st->generations[(uint64_t)w->touched_experiment %
                                              STORE_GENERATION_SLOTS],
                             1) +
            1;
        st->journal[st->journal_next++ % STORE_JOURNAL_SIZE] =
            (struct change){w->touched_experiment, gen, w->touched_run};
    }
    pthread_mutex_unlock(&st->journal_mu);
    /* Grid data changed runs of several experiments: every view rebuilds
     * (no journal entry), as after reap_stale_runs. */
    if (st->grid_bump_all) {
        st->grid_bump_all = false;
        for (size_t i = 0; i < STORE_GENERATION_SLOTS; i++)
            atomic_fetch_add(&st->generations[i], 1);
    }
    if (st->zone_dirty) {
        st->zone_dirty = false;
        atomic_fetch_add(&st->zone_epoch, 1);
    }
    struct store_write *next;
    for (struct store_write *w = head; w; w = next) {
        next = w->next; /* 'done' may free w */
        w->next = NULL;
        w->done(w, w->userdata);
    }
}

/* Marks RUNNING runs whose heartbeats stopped as KILLED (writer thread,
 * its own transaction). */
static void reap_stale_runs(struct store *st)
{
    struct conn *c = st->writer;
    if (!db_begin_write(store_conn_db(c)) == DB_OK)
        return;
    struct db_stmt *s = store_stmt(c, S_REAP_STALE);
    bool ok = false;
    int killed = 0;
    if (s) {
        db_bind_int64(s, 1, store_now_ms() - st->heartbeat_timeout_ms);
        ok = db_step(s) == DB_DONE;
        killed = ok ? (int)db_changes(s) : 0;
        db_reset(s);
    }
    /* Other servers' caches learn of the runs marked KILLED. */
    int64_t bumped = 0;
    if (ok && killed)
        ok = db_bump_data_version(store_conn_db(c), &bumped) == DB_OK;
    if (!ok || !run_simple(c, S_COMMIT)) {
        struct errbuf eb;
        store_conn_error(c, &eb, "heartbeat expiry");
        run_simple(c, S_ROLLBACK);
        return;
    }
    store_note_own_commit(st, bumped);
    if (killed) {
        log_info("marked %d run(s) KILLED: no heartbeat for %lld s", killed,
                 (long long)(st->heartbeat_timeout_ms / 1000));
        for (size_t i = 0; i < STORE_GENERATION_SLOTS; i++)
            atomic_fetch_add(&st->generations[i], 1); /* rare: all views */
    }
}

/* The check runs every timeout/4, at most every 5 s. */
static int64_t reap_interval_ms(const struct store *st)
{
    int64_t ms = st->heartbeat_timeout_ms / 4;
    if (ms > 5000)
        ms = 5000;
    return ms < 50 ? 50 : ms;
}

void *store_writer_main(void *arg)
{
    struct store *st = arg;
    /* The first check waits a whole timeout: clients cut off while the
     * server was down get that long to send their next heartbeat. */
    int64_t next_reap = store_now_ms() + st->heartbeat_timeout_ms;
    for (;;) {
        pthread_mutex_lock(&st->mu);
        while (!st->queue_head && !st->stopping) {
            if (!st->heartbeat_timeout_ms) {
                pthread_cond_wait(&st->cv, &st->mu);
                continue;
            }
            if (store_now_ms() >= next_reap)
                break;
            struct timespec until = {(time_t)(next_reap / 1000),
                                     (long)(next_reap % 1000) * 1000000L};
            pthread_cond_timedwait(&st->cv, &st->mu, &until);
        }
        if (!st->queue_head && !st->stopping) {
            pthread_mutex_unlock(&st->mu);
            if (store_singleton_held(st, STORE_SINGLETON_REAPER))
                reap_stale_runs(st);
            next_reap = store_now_ms() + reap_interval_ms(st);
            continue;
        }
        struct store_write *head = st->queue_head;
        st->queue_head = st->queue_tail = NULL;
        bool stop = st->stopping;
        pthread_mutex_unlock(&st->mu);
        if (head)
            commit_group(st, head);
        else if (stop)
            break;
    }
    log_info("writer: %" PRIu64 " writes in %" PRIu64 " transactions, %" PRIu64
             " database round trips",
             st->writes_done, st->groups_done,
             db_round_trips(store_conn_db(st->writer)));
    return NULL;
}
