/* SPDX-License-Identifier: MIT
 *
 * internal: what the files of the store (server/store/) share: the
 * store's state, the connections, their statement caches, the helpers
 * that bind, step and read rows, and the entry point of each domain's
 * write executor. Not a published API: only files of the store include it
 * (like sqlite's *Int.h). Statements go through db.h; only db_sqlite.c
 * includes sqlite3.h. Handlers use
 * store.h and the domain headers (store_registry.h, store_auth.h,
 * store_greenai.h).
 *
 * Who owns what:
 *   store.c            store_open/close, generations, change journal,
 *                      the queue of writes (submit, abandon)
 *   writer.c           the writer thread: group commit, heartbeat reaper,
 *                      dispatch of each write to its domain
 *   conn.c             the connections over db.h: struct conn, statement
 *                      caches, error mapping, migrations, reader pool
 *   statements.h/.c    the core statements' SQL
 *   rows.c             bind, step and row helpers
 *   lookup.c           experiment and run lookups
 *   write_tracking.c   experiments, runs, params/metrics/tags, inputs,
 *                      models, heartbeats, purge
 *   write_energy.c     energy samples, derived metrics, zone cover
 *   write_grid.c       grid intensity periods
 *   read_tracking.c    experiment and run reads and searches
 *   read_chunks.c      metric history, chunked reads of streamed replies
 *   read_carbon.c      run carbon, energy samples, grid, schedule stats
 *   read_leaderboard.c leaderboard rows, experiment summaries
 *   registry_sql.h/.c, write_registry.c, read_registry.c
 *                      the Model Registry: its statements, writes, reads
 *   greenai_sql.h/.c, write_greenai.c, read_greenai.c
 *                      Green-AI decisions: statements and the lineage walk,
 *                      writes (phases, the base tag check), reads
 *   auth_sql.h/.c, write_auth.c, read_auth.c
 *                      users, permissions, tokens, sessions
 *   db.h, db.c, db_sqlite.c, db_postgres.c
 *                      the engine-neutral statement API every file above
 *                      goes through, and its two engines
 *
 * A domain file keeps its SQL in its own table and numbers its statements
 * from 0 to STORE_DOMAIN_STMTS - 1; each connection prepares one on first
 * use and keeps it (store_conn_stmt), as store_stmt does with the core
 * statements of statements.h.
 */
#ifndef SERVER_STORE_INTERNAL_H
#define SERVER_STORE_INTERNAL_H

#include "db.h"
#include "filter.h"
#include "statements.h"
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>

/* Statement slots per connection for the domain files. */
#define STORE_DOMAIN_STMTS 146

/* Where each domain file's slots begin: registry 0..47, greenai 48..79,
 * auth 80..127 (STORE_AUTH_STMT_BASE, store_auth.h), whole statements of
 * dialect.h 128..143 (STORE_DIALECT_STMT_BASE: each entry at 128 + its
 * dialect id, read_batch.c asserts they fit), replica.c 144..145
 * (STORE_REPLICA_STMT_BASE). */
#define STORE_GREENAI_STMT_BASE 48
#define STORE_DIALECT_STMT_BASE 128
#define STORE_REPLICA_STMT_BASE 144

/* Slots of replica.c's table of clients' last writes (a collision sends
 * one more client's reads to the primary for a while, never less). */
#define STORE_RYW_SLOTS 4096

#define ZONE_MEMO_SLOTS 64

/*---- the store's state (store.c) ----*/

/* A database connection: the writer's or a reader thread's (conn.c). */
struct conn;

#define SUMMARY_CACHE_SLOTS 4096

struct store {
    char *db_path;
    char *artifact_root;
    bool serve_artifacts;
    int64_t data_version; /* writer only: db_data_version last seen */
    /* PostgreSQL: db_data_version as readers last saw it (store_sync_
     * generations); the writer moves it past its own commits. */
    _Atomic int64_t read_data_version;
    bool durable_full;
    int64_t heartbeat_timeout_ms;
    double default_pue;
    uint64_t serial;

    struct conn *writer;
    pthread_t writer_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct store_write *queue_head, *queue_tail;
    bool stopping;
    atomic_bool abandoned; /* store_abandon: fail queued and new writes */
    int64_t busy_since_ms; /* writer only: its current lock wait began */
    /* writer only: writes and transactions so far (logged at its end) */
    uint64_t writes_done, groups_done;

    pthread_mutex_t readers_mu;
    struct conn *readers;

    /* replica.c: reads from a streaming replica (--db-read); NULL db_read
     * when none. The per-thread replica connections are in 'replicas'
     * (under readers_mu). */
    char *db_read;
    struct conn *replicas;
    atomic_bool replica_down;              /* last open or query failed */
    _Atomic int64_t replica_retry_ms;      /* while down: next try (mono ms) */
    _Atomic uint64_t commit_lsn;           /* the primary's WAL insert position
                                              after the writer's last commit */
    _Atomic uint64_t replayed_lsn;         /* the replica replayed this far */
    _Atomic uint64_t ryw[STORE_RYW_SLOTS]; /* per client hash: the
                                              commit_lsn of its last write */

    /* singleton.c: the advisory locks' connection (PostgreSQL) */
    pthread_mutex_t singleton_mu;
    struct db *singleton_db;
    bool singleton_held[STORE_SINGLETON_COUNT];
    bool singleton_told[STORE_SINGLETON_COUNT]; /* "another holds it" */

    /* Bumped after each commit that changed an experiment or one of its
     * runs, indexed by experiment id modulo the size (a collision only
     * costs a cache miss); lets readers cache derived views. */
    atomic_uint_fast64_t generations[STORE_GENERATION_SLOTS];

    /* The change journal: which run each of the last commits changed,
     * so a reader holding a view at an older generation can patch it
     * instead of rebuilding it (store_changed_runs). A bump with no
     * entry (or an entry with run_pk -1) tells readers to rebuild. */
    pthread_mutex_t journal_mu;
    struct change {
        int64_t experiment_id;
        uint64_t generation; /* of the slot, after this change */
        int64_t run_pk;      /* 0: no run changed, -1: several or unknown */
    } journal[STORE_JOURNAL_SIZE];
    uint64_t journal_next;

    /* Grid intensity. Writer only: set by executors, acted upon after
     * the commit (commit_group). */
    bool grid_bump_all; /* grid data recomputed runs */
    bool zone_dirty;    /* a zone tag or a zoned run's energy changed */
    /* writer only: the zone cover of recently written zoned runs, so a
     * log-energy adds its samples' cover instead of spreading every
     * sample of the run again; grid_gen invalidates them all */
    uint64_t grid_gen;
    struct zone_memo {
        int64_t run_pk; /* 0: empty */
        uint64_t grid_gen;
        char zone[72];
        struct grid_cover cover;
    } zone_memo[ZONE_MEMO_SLOTS];
    atomic_uint_fast64_t zone_epoch; /* store_grid_zone_epoch */

    /* experiments/summary's figures of each experiment, valid while the
     * experiment's generation is the one they were read at (slot:
     * experiment id modulo the size; a collision costs a recomputation),
     * so a summary over all experiments reads only those that changed
     * (store_summaries_chunk) */
    pthread_mutex_t summary_mu;
    struct summary_slot {
        bool set;
        int64_t experiment_id;
        uint64_t generation;
        int64_t runs, running, last_activity;
        double energy_kwh, co2_kg;
    } summaries[SUMMARY_CACHE_SLOTS];
};

/*---- connections (conn.c) ----*/

/* A new connection to st->db_path (created when 'create'), configured;
 * NULL with 'eb' set when it cannot be opened. Close with
 * store_conn_close. */
struct conn *store_conn_open(const struct store *st, bool create,
                             struct errbuf *eb);

/* A new read connection to 'target' (the replica), configured as the
 * store's; NULL with 'eb' set. Close with store_conn_close. */
struct conn *store_conn_open_target(const struct store *st, const char *target,
                                    struct errbuf *eb);

/* Finalizes the connection's statements and closes it; NULL is a no-op. */
void store_conn_close(struct conn *c);

/* Closes the reader connections, checkpoints the WAL into the database
 * file and closes the writer's (store_close, the writer thread ended). */
void store_conns_close(struct store *st);

/* Brings the schema of the writer's connection up to the latest
 * migration (PRAGMA user_version). */
enum srv_err store_migrate(struct conn *c, struct errbuf *eb);

/* Installs the writer connection's busy handler, which waits for a lock
 * held elsewhere but gives up at once after store_abandon. */
void store_writer_busy_handler(struct store *st);

/* Rebuilds what the writer memoized and readers cached when another
 * process wrote to the database since the writer last looked (writer
 * thread, and store_open for the baseline). */
void store_notice_outside_writes(struct store *st);

/* After the writer's commit whose db_bump_data_version returned 'bumped':
 * when nothing else moved the counter since it was last seen, that commit
 * is this server's own, already in the generations, and moves the values
 * seen so that it is not taken for another server's. */
void store_note_own_commit(struct store *st, int64_t bumped);

/* Closes the connection of singleton.c, which releases its locks. */
void store_singletons_close(struct store *st);

/* This thread's read connection, opened on first use; NULL (with 'eb'
 * set) when it cannot be opened. The store keeps it. */
struct conn *store_reader(struct store *st, struct errbuf *eb);

/* This thread's read connection on the primary, whatever the route
 * (auth, the counter of store_sync_generations, store_ping). */
struct conn *store_reader_primary(struct store *st, struct errbuf *eb);

/* This thread's connection to the replica, opened on first use and
 * reopened after it was lost; NULL while the replica is down (logged
 * once by replica.c, retried every few seconds). The store keeps it. */
struct conn *store_replica_conn(struct store *st);

/*---- the replica (replica.c) ----*/

/* store_open with --db-read: tries the replica once, so that the log
 * says at start whether reads go to it (the server starts either way). */
void store_replica_probe(struct store *st);

/* Marks the replica down ('why' logged when it was up) or up again. */
void store_replica_down(struct store *st, const char *why);
void store_replica_up(struct store *st);

/* Whether a replica connection may be tried now (up, or its retry time
 * came). */
bool store_replica_may_try(struct store *st);

/* Writer, after a commit, with --db-read: records the primary's WAL
 * position (pg_current_wal_insert_lsn) in st->commit_lsn. */
void store_replica_note_commit(struct store *st);

/* The connection's db.h handle (the connection keeps it). */
struct db *store_conn_db(struct conn *c);

/* Core statement 'id' (statements.h), prepared on first use and reset
 * with its bindings cleared for reuse; NULL (logged) when it cannot be
 * prepared. The connection keeps it. */
struct db_stmt *store_stmt(struct conn *c, enum stmt_id id);

/* Domain statement 'slot' with text 'sql' (the same for a slot every
 * time), prepared on first use and reset with its bindings cleared for
 * reuse; NULL (logged) when it cannot be prepared. */
struct db_stmt *store_conn_stmt(struct conn *c, unsigned slot, const char *sql);

/* Runs 'sql' (no rows); callers report the failure (db_errmsg) in
 * their own words. Returns DB_OK or DB_ERROR. */
int store_exec_sql(struct db *db, const char *sql);

/* Prepares the one-off statement 'sql' on the connection (caller frees
 * with db_finalize); NULL (logged with 'what') when it cannot be. */
struct db_stmt *store_prepare(struct conn *c, const char *sql,
                              const char *what);

/* Logs the connection's last database error and maps it to the client's
 * error (busy: UNAVAILABLE, else INTERNAL), with 'what' in the log. */
enum srv_err store_conn_error(struct conn *c, struct errbuf *eb,
                              const char *what);

/* What the write being executed changed, kept on the writer's connection
 * for the generations and the change journal (commit_group, writer.c). */
struct store_write_notes {
    int64_t last_experiment; /* of the last store_run_lookup */
    int64_t touched_run;     /* the run the current write changed,
                                0 none yet, -1 several */
};

/* The connection's notes (the connection owns them). */
struct store_write_notes *store_conn_notes(struct conn *c);

/* Records, on the writer, that the current write changed run 'run_pk'
 * (the change journal behind store_changed_runs). */
void store_conn_note_run(struct conn *c, int64_t run_pk);

/*---- binding, stepping and reading rows (rows.c) ----*/

/* Binds 'r' at 'i' (db_bind_text copies it). */
void store_bind_ref(struct db_stmt *s, int i, struct strref r);

/* Binds 'v' at 'i', or NULL when 'v' is NULL. */
void store_bind_str(struct db_stmt *s, int i, const char *v);

/* Binds the parameters of filter fragment 'f' from position '*pos' on. */
void store_bind_frag(struct db_stmt *s, const struct sql_frag *f, int *pos);

/* Steps a statement that returns no rows and resets it; a NULL 's' (it
 * could not be prepared) or a failed step is store_conn_error's. */
enum srv_err store_step_done(struct conn *c, struct db_stmt *s,
                             struct errbuf *eb, const char *what);

/* As store_step_done, deferred (db_step_deferred): on PostgreSQL queued,
 * its failure reported by the next flush or synchronous statement. */
enum srv_err store_step_deferred(struct conn *c, struct db_stmt *s,
                                 struct errbuf *eb, const char *what);

/* Steps a statement that returns no rows, writes how many rows it
 * inserted, updated or deleted to '*changed' and resets it; a NULL 's'
 * or a failed step is store_conn_error's. */
enum srv_err store_step_changes(struct conn *c, struct db_stmt *s,
                                int64_t *changed, struct errbuf *eb,
                                const char *what);

/* Steps a statement that returns one row or none and resets it: '*found'
 * tells whether there was a row, whose column 0 is then in '*v'. A NULL
 * 's' or a failed step is store_conn_error's. */
enum srv_err store_step_int64(struct conn *c, struct db_stmt *s, int64_t *v,
                              bool *found, struct errbuf *eb, const char *what);

/* A copy of column 'i' (caller frees); NULL for SQL NULL or no memory. */
char *store_col_dup(struct db_stmt *s, int i);

/* Makes room for element 'n' of an array of 'elem'-sized items with
 * '*cap' allocated: returns the (possibly moved) array, or NULL when out
 * of memory, leaving the old array valid. */
void *store_grow(void *arr, size_t n, size_t *cap, size_t elem);

/* Fills the zeroed 'item' from the statement's row. */
typedef enum srv_err (*store_row_reader)(struct db_stmt *s, void *item,
                                         struct errbuf *eb);

/* Steps a search statement (whose LIMIT asked for max+1 rows) and turns
 * up to 'max' rows into an array of zeroed 'elem'-sized items with
 * 'from_row'; '*more' tells whether a further row exists. Returns the
 * array (with '*n' items, also on error, for the caller to free). */
void *store_read_page(struct conn *c, struct db_stmt *s, int64_t max,
                      size_t elem, store_row_reader from_row, size_t *n,
                      bool *more, enum srv_err *e, struct errbuf *eb);

/* Reads the (key, value) rows of 's' (bound, not yet stepped) into a new
 * array (free with kv_array_free). */
enum srv_err store_read_kvs(struct conn *c, struct db_stmt *s, struct kv **out,
                            size_t *n, struct errbuf *eb);

/*---- runs (read_tracking.c, read_batch.c) ----*/

/* Fills the zeroed run 'item' from a row of the columns run_pk, run_id,
 * experiment_id, run_name, user_id, status, start_time, end_time,
 * artifact_uri, lifecycle_stage. */
enum srv_err store_run_from_row(struct db_stmt *s, void *item,
                                struct errbuf *eb);

/* Reads the params, tags, latest metrics and inputs of 'runs[0..n)',
 * whose infos are read, with one statement per kind for all of them. */
enum srv_err store_runs_fill(struct conn *c, struct run *runs, size_t n,
                             struct errbuf *eb);

/*---- lookups (lookup.c) ----*/

/* RESOURCE_DOES_NOT_EXIST for experiment 'id', in MLflow's words. */
enum srv_err store_no_experiment(struct errbuf *eb, int64_t id);

struct run_state {
    int64_t run_pk;
    int64_t experiment_id;
    bool deleted;
};

/* Looks run 'run_id' up into '*out'; RESOURCE_DOES_NOT_EXIST when
 * missing, and, when 'must_be_active', INVALID_PARAMETER_VALUE for a
 * deleted run. Notes the run and its experiment on the connection. */
enum srv_err store_run_lookup(struct conn *c, const char *run_id,
                              bool must_be_active, struct run_state *out,
                              struct errbuf *eb);

/* As store_run_lookup, reading the run's row from 's' (bound, not yet
 * stepped: its first row is run_pk, experiment_id, lifecycle_stage, as
 * S_RUN_LOOKUP's; NULL: a prepare failed), which it steps and resets. */
enum srv_err store_run_lookup_step(struct conn *c, struct db_stmt *s,
                                   const char *run_id, bool must_be_active,
                                   struct run_state *out, struct errbuf *eb);

/*---- write executors (writer thread, inside its transaction) ----*/

/* The experiment and run writes: SW_EXPERIMENT_*, SW_RUN_* but
 * SW_RUN_LOG_ENERGY (write_tracking.c). */
enum srv_err store_tracking_exec(struct store *st, struct store_write *w);

/* The writes store_open makes on the writer's connection before the
 * writer thread starts: the Default experiment, and the artifact
 * locations of older versions made file: URIs (write_tracking.c). */
enum srv_err store_ensure_default_experiment(struct store *st,
                                             struct errbuf *eb);
enum srv_err store_relocate_local_locations(struct store *st,
                                            struct errbuf *eb);

/* SW_RUN_LOG_ENERGY (write_energy.c). */
enum srv_err store_energy_exec(struct store *st, struct store_write *w);

/* Rewrites the derived metrics of run 'run_pk' after a change that is not
 * a list of samples (a location tag, new grid data) (write_energy.c). */
enum srv_err store_refresh_derived_metrics(struct store *st, int64_t run_pk,
                                           struct errbuf *eb);

/* After a write of run tags or a tag delete: the derived metrics follow
 * a changed location tag (write_energy.c). */
enum srv_err store_refresh_if_location(struct store *st, struct store_write *w);

/* SW_GRID_RECORD (write_grid.c). */
enum srv_err store_grid_exec(struct store *st, struct store_write *w);

/* Runs one write of kind SW_REGISTRY on the writer's connection, inside
 * the writer's transaction (write_registry.c). */
enum srv_err store_registry_exec(struct conn *c, struct store_write *w);

/* Runs one write of kind SW_GREENAI on the writer's connection, inside
 * the writer's transaction (write_greenai.c). */
enum srv_err store_greenai_exec(struct conn *c, struct store_write *w);

/* The writer's check of run tags about to be written to run 'run_id':
 * greentrack.base_run_id must name another run on this server without
 * making a cycle of bases or a chain deeper than GREENAI_MAX_DEPTH, and
 * greentrack.base_co2_kg must be a number >= 0 (INVALID_PARAMETER_VALUE
 * otherwise) (write_greenai.c). */
enum srv_err store_greenai_check_tags(struct conn *c, const char *run_id,
                                      const struct kv_ref *tags, size_t n,
                                      struct errbuf *eb);

/* Runs one write of kind SW_BOARD_KEY on the writer's connection, inside
 * the writer's transaction (boards.c). */
enum srv_err store_board_key_exec(struct conn *c, struct store_write *w);

/* Runs one write of kind SW_AUTH on the writer's connection, inside the
 * writer's transaction (write_auth.c). */
enum srv_err store_auth_exec(struct conn *c, struct store_write *w);

/* Grants user 'user_id' MANAGE on experiment id 'resource' (model name
 * when 'model'), replacing a grant it had: the creator's grant, run by
 * the writer in the creating write's transaction (write_auth.c). */
enum srv_err store_auth_grant_owner(struct conn *c, bool model,
                                    const char *resource, int64_t user_id,
                                    struct errbuf *eb);

/* Moves the grants of registered model 'name' to 'new_name' (a rename),
 * or deletes them when 'new_name' is NULL (a delete): run by the writer
 * in the registry write's transaction (write_auth.c). */
enum srv_err store_auth_model_moved(struct conn *c, const char *name,
                                    const char *new_name, struct errbuf *eb);

/*---- the writer thread (writer.c) ----*/

/* The writer thread's body; 'arg' is the store (store_open starts it). */
void *store_writer_main(void *arg);

/*---- carbon reads the writer shares (read_carbon.c) ----*/

/* Reads the periods of 'zone' overlapping [start_ms, end_ms) (of
 * 'source' and 'kind' when not NULL) into a new array (caller frees). */
enum srv_err store_grid_read(struct conn *c, const char *zone,
                             const char *source, const char *kind,
                             int64_t start_ms, int64_t end_ms, size_t limit,
                             struct grid_point **out, size_t *n,
                             struct errbuf *eb);

/* Spreads the run's samples without a measured intensity over the
 * recorded periods of out->zone into out->zone_cover. */
enum srv_err store_zone_cover(struct conn *c, int64_t run_pk,
                              struct run_carbon *out, struct errbuf *eb);

/* Reads run_energy and the location tags of a run into 'out' (zeroed
 * first; free with run_carbon_cleanup), with its zone cover when
 * 'with_zone'; out->has_energy is false when the run has no samples. */
enum srv_err store_read_run_carbon(struct conn *c, int64_t run_pk,
                                   bool with_zone, struct run_carbon *out,
                                   struct errbuf *eb);

#endif
