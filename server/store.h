/* SPDX-License-Identifier: MIT
 *
 * store: the only module that talks to SQLite. Writes go through ONE writer
 * thread that runs many queued requests per transaction (group commit) and
 * reports each one only after its transaction committed; reads run on a
 * per-thread read connection, in parallel with the writer (WAL).
 *
 * Ownership: a struct store_write and everything it points to belong to the
 * submitter and must stay valid until its 'done' callback ran; the store
 * copies nothing. Read functions fill caller-provided structs that the
 * caller releases with the model.h cleanup and free functions.
 */
#ifndef SERVER_STORE_H
#define SERVER_STORE_H

#include "carbon.h"
#include "err.h"
#include "grid_math.h"
#include "model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

struct store_config {
    const char *db_path;
    const char *db_read;          /* PostgreSQL streaming replica for searches,
                                     histories and leaderboards; NULL: none */
    const char *artifact_root;    /* absolute; default experiment location */
    bool serve_artifacts;         /* new experiments get mlflow-artifacts:/
                                     locations (artifact_store.h) */
    bool durable_full;            /* synchronous=FULL, else NORMAL */
    int64_t heartbeat_timeout_ms; /* RUNNING runs silent this long become
                                     KILLED; 0 disables the check */
    double default_pue;           /* PUE when a run names none */
};

/* Opens (creating if needed) and migrates the database, creates the Default
 * experiment, and starts the writer. NULL on failure with 'eb' set. */
struct store *store_open(const struct store_config *cfg, struct errbuf *eb);

/* Drains the writer (every submitted write completes), then closes all
 * connections. NULL is a no-op. */
void store_close(struct store *st);

/*---- writes ----*/

/* A string that may be used by length (truncated values). */
struct strref {
    const char *s;
    size_t len;
};

struct kv_ref {
    const char *key;
    struct strref value;
};

struct metric_in {
    const char *key;
    double value; /* may be NAN; infinities already clamped */
    int64_t timestamp;
    int64_t step;
};

/* One energy sample of log-energy (joules, Unix ms). */
struct energy_sample_in {
    int64_t start_time;
    int64_t end_time;
    double cpu_j, gpu_j, ram_j, other_j;
    const char *cpu_method, *gpu_method, *ram_method, *scope;
    bool has_intensity;
    double intensity_g_per_kwh;
    const char *intensity_source; /* may be NULL */
};

struct dataset_in {
    const char *name;
    const char *digest;
    const char *source_type;
    const char *source;
    const char *schema;  /* may be NULL */
    const char *profile; /* may be NULL */
    struct kv_ref *tags;
    size_t n_tags;
};

enum store_write_kind {
    SW_EXPERIMENT_CREATE,
    SW_EXPERIMENT_RENAME,
    SW_EXPERIMENT_DELETE,
    SW_EXPERIMENT_RESTORE,
    SW_EXPERIMENT_SET_TAG,
    SW_EXPERIMENT_DELETE_TAG,
    SW_RUN_CREATE,
    SW_RUN_UPDATE,
    SW_RUN_DELETE,
    SW_RUN_RESTORE,
    SW_RUN_LOG, /* params + metrics + tags: log-batch, log-metric, ... */
    SW_RUN_DELETE_TAG,
    SW_RUN_LOG_INPUTS,
    SW_RUN_LOG_MODEL,
    SW_RUN_HEARTBEAT,
    SW_RUN_LOG_ENERGY,
    SW_GRID_RECORD, /* grid intensity periods of 'zone'; recomputes runs */
    SW_RUN_PURGE,   /* gc: removes deleted run 'run_id' and all its data */
    SW_MULTI,       /* 'subs' in order, all or nothing (imports) */
    SW_REGISTRY,    /* the model registry: 'registry' (store_registry.h) */
    SW_GREENAI,     /* phases: 'greenai' (store_greenai.h) */
    SW_AUTH,        /* users, permissions, tokens: 'auth' (store_auth.h) */
    SW_BOARD_KEY    /* a leaderboard key seen: 'board_key' (store_boards.h) */
};

struct registry_write;
struct greenai_write;
struct auth_write;
struct board_key;

struct store_write {
    enum store_write_kind kind;

    /* inputs, borrowed (see the ownership rule above) */
    int64_t experiment_id;
    const char *run_id;
    const char *name;              /* experiment name, new name, run name */
    const char *artifact_location; /* experiment create; NULL = default */
    const char *user_id;
    const char *key;   /* tag key for set/delete tag */
    const char *value; /* experiment tag value */
    int64_t start_time;
    bool has_status, has_end_time;
    enum run_status status;
    int64_t end_time;
    struct kv_ref *tags;
    size_t n_tags;
    struct kv_ref *params;
    size_t n_params;
    struct metric_in *metrics;
    size_t n_metrics;
    struct dataset_in *datasets;
    size_t n_datasets;
    const char **model_ids;
    size_t n_model_ids;
    const char *model_json; /* log-model: one JSON object */
    struct energy_sample_in *samples;
    size_t n_samples;
    struct store_write *subs; /* SW_MULTI */
    size_t n_subs;
    bool single_param;      /* log-parameter's error message wording */
    const char *zone;       /* SW_GRID_RECORD */
    int64_t deleted_before; /* SW_RUN_PURGE: only a run deleted at or before
                               this time (ms); -1: whenever */
    const struct grid_point *grid_points;
    size_t n_grid_points;
    struct registry_write *registry;     /* SW_REGISTRY: inputs and outputs */
    const struct greenai_write *greenai; /* SW_GREENAI: inputs */
    const struct board_key *board_key;   /* SW_BOARD_KEY: inputs */
    int64_t seen_time;                   /* SW_BOARD_KEY: ms */
    struct auth_write *auth;             /* SW_AUTH: inputs and outputs */
    /* SW_EXPERIMENT_CREATE and SW_REGISTRY's model create: when > 0, this
     * user (store_auth.h) gets MANAGE on the new experiment or model in
     * the same transaction */
    int64_t owner_user_id;

    /* outputs, valid in 'done' */
    enum srv_err result;
    struct errbuf err;
    int64_t out_experiment_id;
    int64_t touched_experiment; /* set by the store: what this changed */
    int64_t touched_run;        /* its run_pk; 0 none; -1 several/unknown */
    int64_t out_count;          /* SW_GRID_RECORD: runs recomputed;
                                   SW_RUN_PURGE: 1 purged, 0 skipped (no
                                   longer deleted, or deleted later) */

    /* completion: called once, on the writer thread, after the commit */
    void (*done)(struct store_write *w, void *userdata);
    void *userdata;
    struct store_write *next; /* queue link, owned by the store */
};

#define STORE_GENERATION_SLOTS 1024
#define STORE_JOURNAL_SIZE 8192

/* A counter that changes after every commit that changed experiment
 * 'experiment_id' or one of its runs (and, rarely, another experiment
 * sharing its slot): equal values mean nothing changed in between. */
uint64_t store_experiment_generation(struct store *st, int64_t experiment_id);

/* PostgreSQL: makes the generations above move for commits of other
 * servers on the same database too (one counter read on this thread's
 * read connection); call it before reading them. SQLite: nothing (only
 * this server writes; the writer notices other processes itself). */
void store_sync_generations(struct store *st);

/*---- reads from a replica (--db-read; server/store/replica.c) ----*/

/* The store reads each thread's reads from the primary unless the thread's
 * route says "replica" (store_read_route): then every read of the store
 * but auth's goes to this thread's replica connection, or to the primary
 * while the replica cannot be reached. Read-your-writes: a client whose
 * write committed reads from the primary until the replica has replayed
 * past that commit. 'client' names a client: "u:NAME" for an
 * authenticated user, else "a:ADDRESS". All thread-safe. */

/* Whether --db-read is set. */
bool store_has_replica(const struct store *st);

/* Whether the reads of 'client' may go to the replica now: a replica is
 * set and up, and the client's last write (store_read_note_write) is
 * replayed there (asked of the replica, one round trip, only when the
 * client wrote after the last replay position seen). */
bool store_read_replica_choose(struct store *st, const char *client);

/* After a write of 'client' was committed and before it is answered:
 * the client's reads go to the primary until the replica replays it. */
void store_read_note_write(struct store *st, const char *client);

/* Sets this thread's route (true: the replica); returns the previous
 * one, for the caller to put back. */
bool store_read_route(bool replica);

/* This thread's route. */
bool store_read_route_get(void);

/* Leaderboards: when this thread's route is the replica and it is up,
 * opens a REPEATABLE READ snapshot on the thread's replica connection,
 * reads greentrack_generation in it into '*counter' and sets
 * '*on_replica': every read of the thread until store_read_snapshot_end
 * sees that snapshot, so what is built from them is exactly at that
 * counter. Otherwise '*on_replica' is false and nothing is opened. An
 * error (the replica failed) sets 'eb'. */
enum srv_err store_read_snapshot_begin(struct store *st, int64_t *counter,
                                       bool *on_replica, struct errbuf *eb);

/* Ends the snapshot store_read_snapshot_begin opened. */
void store_read_snapshot_end(struct store *st);

/* Background work that one server at a time does on a shared database. */
enum store_singleton {
    STORE_SINGLETON_REAPER, /* marks runs whose heartbeats stopped KILLED */
    STORE_SINGLETON_GRID,   /* the grid module's background refresh */
    STORE_SINGLETON_COUNT
};

/* Whether this server does 'which' now: always on SQLite; on PostgreSQL
 * when it holds that work's advisory lock, taken here if free (and kept
 * until the server exits: another server's next call then takes it). A
 * database round trip; call it before each round of the work, not per
 * item. Logs when this server takes the work, and once that another
 * server holds it. Thread-safe. */
bool store_singleton_held(struct store *st, enum store_singleton which);

/* The runs of 'experiment_id' that commits changed after generation
 * 'from' up to and including 'to' (values of store_experiment_generation),
 * each once, into '*pks' (caller frees; NULL when none). False when the
 * change journal cannot tell (it no longer reaches back to 'from', or a
 * change touched several runs at once): the caller must rebuild its view
 * from scratch. */
bool store_changed_runs(struct store *st, int64_t experiment_id, uint64_t from,
                        uint64_t to, int64_t **pks, size_t *n);

/* Queues 'w' for the writer. Never blocks on I/O. After store_abandon,
 * 'w' completes at once (its 'done' runs on the calling thread) with
 * SRV_E_UNAVAILABLE. */
void store_submit(struct store *st, struct store_write *w);

/* Shutdown's last resort, when queued writes could not commit in time (a
 * lock held by another process): every write still queued completes now
 * with SRV_E_UNAVAILABLE, its 'done' running on the calling thread; later
 * submissions complete so at once; and the write group the writer is
 * running stops waiting for a lock held elsewhere, so it ends (committed,
 * or failed and rolled back) within moments. A write is thus answered
 * either with its commit or with a failure that left nothing behind.
 * Idempotent; store_close still drains what the writer holds. */
void store_abandon(struct store *st);

/*---- reads (any thread) ----*/

/* SRV_OK when the database answers a trivial query. */
enum srv_err store_ping(struct store *st);

enum srv_err store_experiment_get(struct store *st, int64_t experiment_id,
                                  struct experiment *out, struct errbuf *eb);
enum srv_err store_experiment_get_by_name(struct store *st, const char *name,
                                          struct experiment *out,
                                          struct errbuf *eb);

struct search_args {
    const char *filter;
    const char *const *order_by;
    size_t n_order_by;
    enum view_type view;
    int64_t max_results;
    int64_t offset;
};

/* '*out' is an array the caller frees with experiments_free / runs_free;
 * '*more' tells whether rows exist beyond this page. */
enum srv_err store_experiments_search(struct store *st,
                                      const struct search_args *args,
                                      struct experiment **out, size_t *n,
                                      bool *more, struct errbuf *eb);

enum srv_err store_run_get(struct store *st, const char *run_id,
                           struct run *out, struct errbuf *eb);

enum srv_err store_runs_search(struct store *st, const int64_t *experiment_ids,
                               size_t n_experiments,
                               const struct search_args *args, struct run **out,
                               size_t *n, bool *more, struct errbuf *eb);

/* All points of one metric in (timestamp, step, value) order, from
 * 'offset', at most 'limit' (-1 = all). RESOURCE_DOES_NOT_EXIST for an
 * unknown run. The points' key is 'key' itself (borrowed), so it must
 * outlive '*out'. */
enum srv_err store_metric_history(struct store *st, const char *run_id,
                                  const char *key, int64_t offset,
                                  int64_t limit, struct metric **out, size_t *n,
                                  bool *more, struct errbuf *eb);

/* For each run, the points at up to 'max_results' steps spread evenly over
 * its steps in [start_step, end_step] (all steps when !has_range), always
 * keeping the first and last. metric.run_id points into 'run_ids'. */
enum srv_err store_metric_history_sampled(
    struct store *st, const char *const *run_ids, size_t n_runs,
    const char *key, bool has_range, int64_t start_step, int64_t end_step,
    int64_t max_results, struct metric **out, size_t *n, struct errbuf *eb);

/*---- chunked reads (streamed replies, listsrc.c) ----
 *
 * Each reads one chunk of a list in the list's order, from a position the
 * caller keeps, with one statement that is reset before it returns: no
 * read transaction stays open between chunks, so a client slow to read a
 * streamed reply never holds back the WAL. A chunk ends after about
 * 'max_bytes' of text (at least one row) or 'max_rows' rows, or at the end
 * of the list ('*end' set; '*n' may then be 0). Arrays are the caller's,
 * freed with the model.h free functions unless said otherwise. */

/* The run_pks of one runs/search page: at most max_results + 1 (one more
 * tells that a next page exists), from args->offset, in the search's
 * order. A bad filter or order_by is INVALID_PARAMETER_VALUE. */
enum srv_err store_runs_search_pks(struct store *st,
                                   const int64_t *experiment_ids,
                                   size_t n_experiments,
                                   const struct search_args *args,
                                   int64_t **pks, size_t *n, struct errbuf *eb);

/* The same for experiments/search: experiment ids. */
enum srv_err store_experiments_search_ids(struct store *st,
                                          const struct search_args *args,
                                          int64_t **ids, size_t *n,
                                          struct errbuf *eb);

/* One run of store_runs_read: its info, and its lists when 'whole'. */
struct store_run_read {
    struct run run;
    bool found;   /* false: no such run (purged since the search) */
    bool whole;   /* its lists were read (else none is) */
    size_t chars; /* the characters of its lists, as the database counts */
};

/* Runs 'pks[0..n)' into 'out[0..n)' (the caller's array; free the runs
 * with store_runs_read_free): the rows with the size of each run's lists,
 * then each kind of list (latest metrics, params, tags, dataset inputs
 * and their tags, model inputs) with one statement for all the runs whose
 * lists are read, in the order of the chunked reads. Those are the runs
 * of at most 'max_run_chars', in the order of 'pks', while their sum
 * stays within 'max_chars' (SIZE_MAX, SIZE_MAX: all); the others get
 * 'whole' false and no lists, for the chunked reads. */
enum srv_err store_runs_read(struct store *st, const int64_t *pks, size_t n,
                             size_t max_run_chars, size_t max_chars,
                             struct store_run_read *out, struct errbuf *eb);

/* Frees the runs of 'a[0..n)', not the array. */
void store_runs_read_free(struct store_run_read *a, size_t n);

/* The run_pk of 'run_id'; RESOURCE_DOES_NOT_EXIST (MLflow's message)
 * when there is none. */
enum srv_err store_run_pk(struct store *st, const char *run_id, int64_t *pk,
                          struct errbuf *eb);

/* An experiment without its tags. */
enum srv_err store_experiment_info(struct store *st, int64_t experiment_id,
                                   struct experiment *out, struct errbuf *eb);

/* The id of the experiment named 'name' (MLflow's 404 when none). */
enum srv_err store_experiment_id_by_name(struct store *st, const char *name,
                                         int64_t *id, struct errbuf *eb);

enum store_kv_list {
    STORE_KV_PARAMS,          /* owner: run_pk */
    STORE_KV_TAGS,            /* owner: run_pk */
    STORE_KV_EXPERIMENT_TAGS, /* owner: experiment_id */
    STORE_KV_INPUT_TAGS       /* owner: run_pk, and dataset_pk */
};

/* Key/value rows in key order after key 'after' (NULL: from the first). */
enum srv_err store_kv_chunk(struct store *st, enum store_kv_list list,
                            int64_t owner, int64_t dataset_pk,
                            const char *after, size_t max_bytes,
                            struct kv **out, size_t *n, bool *end,
                            struct errbuf *eb);

/* A run's latest metric values in key order after key 'after' (keys
 * owned: key_storage). */
enum srv_err store_latest_chunk(struct store *st, int64_t run_pk,
                                const char *after, size_t max_bytes,
                                struct metric **out, size_t *n, bool *end,
                                struct errbuf *eb);

/* One dataset input of a run (its tags are not read: store_kv_chunk). */
struct store_dataset {
    struct dataset_input in;
    int64_t dataset_pk;
    int64_t seq; /* its place among the run's inputs */
};

void store_datasets_free(struct store_dataset *a, size_t n);

/* A run's dataset inputs with seq > 'after_seq' (-1: from the first). */
enum srv_err store_datasets_chunk(struct store *st, int64_t run_pk,
                                  int64_t after_seq, size_t max_bytes,
                                  struct store_dataset **out, size_t *n,
                                  bool *end, struct errbuf *eb);

/* A run's model inputs (model ids, each freed, then the array) with seq >
 * 'after_seq'; '*last_seq' is set to the last one read. */
enum srv_err store_model_inputs_chunk(struct store *st, int64_t run_pk,
                                      int64_t after_seq, size_t max_bytes,
                                      char ***ids, size_t *n, int64_t *last_seq,
                                      bool *end, struct errbuf *eb);

/* A position in a metric's history: its last point read. */
struct store_point {
    int64_t timestamp, step;
    double value; /* 0 for NaN */
    int is_nan;
};

void store_point_of(const struct metric *m, struct store_point *out);

/* Points of metric 'key' of a run in (timestamp, step, value) order:
 * from 'offset' when 'after' is NULL, else those after 'after'. The
 * points' key is 'key' itself (borrowed). */
enum srv_err store_history_chunk(struct store *st, int64_t run_pk,
                                 const char *key, int64_t offset,
                                 const struct store_point *after,
                                 size_t max_rows, struct metric **out,
                                 size_t *n, bool *end, struct errbuf *eb);

struct energy_sample; /* below */

/* A run's energy samples in (start_time, end_time) order: from 'offset'
 * when 'after' is NULL, else after the sample whose (start_time,
 * end_time) is after[0], after[1]. */
enum srv_err store_energy_chunk(struct store *st, int64_t run_pk,
                                int64_t offset, const int64_t *after,
                                size_t max_rows, struct energy_sample **out,
                                size_t *n, bool *end, struct errbuf *eb);

/* A run's energy totals and what its carbon depends on. Strings are owned
 * (free with run_carbon_cleanup). */
struct run_carbon {
    bool has_energy;
    double cpu_j, gpu_j, ram_j, other_j;
    double plain_j, measured_j, measured_gj;
    int64_t first_start, last_end;
    int64_t samples, estimated_samples;
    char *country, *region, *cloud_provider, *cloud_region, *pue_tag;
    char *cpu_methods, *gpu_methods, *ram_methods, *scopes;
    char *intensity_sources; /* of samples with a measured intensity */
    char *zone;              /* tag greentrack.zone, NULL when none */
    /* With a zone: how the samples without a measured intensity fell
     * into the zone's recorded periods (grid_intensity). */
    struct grid_cover zone_cover;
};

void run_carbon_cleanup(struct run_carbon *rc);

/* The energy split to account 'rc' with (carbon_account): joules that
 * zone accounting covered count as measured, at their periods'
 * intensity; the rest as before. */
void run_carbon_energy(const struct run_carbon *rc, struct carbon_energy *out);

enum srv_err store_run_carbon(struct store *st, const char *run_id,
                              struct run_carbon *out, struct errbuf *eb);

/* struct leaderboard_row is in model.h (ranking.c ranks them). */
void leaderboard_rows_free(struct leaderboard_row *rows, size_t n);

/* Every active run of 'experiment_id' matching 'filter' (MLflow grammar,
 * may be NULL), with the latest value of 'metric' and its energy and CO2.
 * '*out' is freed with leaderboard_rows_free. */
enum srv_err store_leaderboard_rows(struct store *st, int64_t experiment_id,
                                    const char *metric, const char *filter,
                                    struct leaderboard_row **out, size_t *n,
                                    struct errbuf *eb);

/* The same restricted to the runs 'pks' (n_pks of them): the rows of
 * those that are active and match, for patching a ranked view. */
enum srv_err store_leaderboard_rows_of(struct store *st, int64_t experiment_id,
                                       const char *metric, const char *filter,
                                       const int64_t *pks, size_t n_pks,
                                       struct leaderboard_row **out, size_t *n,
                                       struct errbuf *eb);

/* Per active experiment: runs, running runs, total energy and CO2, last
 * activity (ms). */
struct experiment_summary {
    int64_t experiment_id;
    char *name;
    int64_t runs, running;
    double energy_kwh, co2_kg;
    int64_t last_activity;
};

void experiment_summaries_free(struct experiment_summary *a, size_t n);

/* The summaries by chunks: experiments with an id above 'after_id' (-1:
 * from the first), in id order. */
enum srv_err store_summaries_chunk(struct store *st, int64_t after_id,
                                   size_t max_rows,
                                   struct experiment_summary **out, size_t *n,
                                   bool *end, struct errbuf *eb);

/* One stored energy sample (strings owned; free with
 * energy_samples_free). */
struct energy_sample {
    int64_t start_time, end_time;
    double cpu_j, gpu_j, ram_j, other_j;
    char *cpu_method, *gpu_method, *ram_method, *scope;
    bool has_intensity;
    double intensity_g_per_kwh;
    char *intensity_source;
};

void energy_samples_free(struct energy_sample *a, size_t n);

/* A run's samples in start_time order, from 'offset', at most 'limit';
 * '*more' when further samples exist. */
enum srv_err store_energy_samples(struct store *st, const char *run_id,
                                  int64_t offset, int64_t limit,
                                  struct energy_sample **out, size_t *n,
                                  bool *more, struct errbuf *eb);

enum store_key_kind { STORE_PARAM_KEYS, STORE_METRIC_KEYS, STORE_TAG_KEYS };

/* The distinct param, latest-metric or tag keys of an experiment's active
 * runs, sorted. '*out' is an array of owned strings (free each, then the
 * array). */
enum srv_err store_experiment_keys(struct store *st, int64_t experiment_id,
                                   enum store_key_kind kind, char ***out,
                                   size_t *n, struct errbuf *eb);

/*---- grid intensity (schema/004_grid.sql) ----*/

/* The recorded periods of 'zone' that overlap [start_ms, end_ms), in
 * start order; only of 'source' when non-NULL and of 'kind' when
 * 'any_kind' is false. At most 'limit' rows. '*out' is an array the
 * caller frees with free(). */
enum srv_err store_grid_points(struct store *st, const char *zone,
                               const char *source, bool any_kind,
                               enum grid_kind kind, int64_t start_ms,
                               int64_t end_ms, size_t limit,
                               struct grid_point **out, size_t *n,
                               struct errbuf *eb);

/* The distinct greentrack.zone values of runs with energy that ended
 * after 'since_ms'. '*out' is an array of owned strings (free each, then
 * the array). */
enum srv_err store_grid_zones_in_use(struct store *st, int64_t since_ms,
                                     char ***out, size_t *n, struct errbuf *eb);

/* A counter that changes after each commit that set a greentrack.zone tag
 * or logged energy to a run with one: the grid thread looks for new zones
 * only when it moved. */
uint64_t store_grid_zone_epoch(struct store *st);

/* What scheduling learns from an experiment's active runs. */
struct schedule_stats {
    char *zone; /* most common greentrack.zone; NULL when none (owned) */
    int64_t finished_runs;      /* FINISHED runs with an end after start */
    int64_t median_duration_ms; /* of those; 0 when none */
    int64_t energy_runs;        /* FINISHED runs with energy */
    double median_energy_kwh;   /* IT energy of those; 0 when none */
};

void schedule_stats_cleanup(struct schedule_stats *s);

enum srv_err store_schedule_stats(struct store *st, int64_t experiment_id,
                                  struct schedule_stats *out,
                                  struct errbuf *eb);

/* One dataset an experiment's runs logged, with the context its inputs
 * gave it (the mlflow.data.context input tag; NULL when untagged): the
 * UI's experiments/search-datasets. Strings owned. */
struct dataset_summary {
    int64_t experiment_id;
    char *name, *digest, *context;
};

/* The distinct (experiment, name, digest, context) of the datasets logged
 * in 'experiment_ids' (MLflow's _search_datasets), at most 1000, sorted.
 * Free with dataset_summaries_free. */
enum srv_err store_dataset_summaries(struct store *st,
                                     const int64_t *experiment_ids,
                                     size_t n_ids, struct dataset_summary **out,
                                     size_t *n, struct errbuf *eb);

void dataset_summaries_free(struct dataset_summary *a, size_t n);

/*---- gc (greentrack-server gc) ----*/

/* A deleted run (strings owned; free with deleted_runs_free). */
struct deleted_run {
    char *run_id;
    int64_t experiment_id;
    char *artifact_uri;
    int64_t deleted_time; /* ms; 0 when not recorded */
};

void deleted_runs_free(struct deleted_run *a, size_t n);

/* The runs in lifecycle stage deleted, deleted at or before
 * 'deleted_before' (ms; -1: all of them, also those without a recorded
 * time), oldest deletion first. */
enum srv_err store_deleted_runs(struct store *st, int64_t deleted_before,
                                struct deleted_run **out, size_t *n,
                                struct errbuf *eb);

/* The server's default PUE (store_config.default_pue). */
double store_default_pue(const struct store *st);

/* Milliseconds since the Unix epoch. */
int64_t store_now_ms(void);

#endif
