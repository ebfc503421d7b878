/* SPDX-License-Identifier: MIT
 *
 * store_greenai: the storage of Green-AI decisions (schema/006_phases.sql;
 * the SQL is all in store/greenai_sql.h): run phases, lineage tags and the
 * bulk reads the leaderboard, the hardware view and the experiment
 * summary need. Writes are store_write of kind SW_GREENAI, run by the
 * store's one writer; reads run on the calling thread's read connection.
 *
 * Ownership: a struct greenai_write belongs to the submitter (like the
 * store_write that points to it). Arrays and strings a read returns are
 * the caller's, freed with the matching *_free function.
 */
#ifndef SERVER_STORE_GREENAI_H
#define SERVER_STORE_GREENAI_H

#include "err.h"
#include "greenai.h"
#include "model.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The tags of lineage and hardware (docs/api.md). */
#define GREENAI_TAG_BASE_RUN "greentrack.base_run_id"
#define GREENAI_TAG_BASE_MODEL "greentrack.base_model"
#define GREENAI_TAG_BASE_CO2 "greentrack.base_co2_kg"
#define GREENAI_TAG_BASE_SOURCE "greentrack.base_source"
#define GREENAI_TAG_BUDGET "greentrack.budget_co2_kg"

enum greenai_op { GREENAI_LOG_PHASE };

/* The inputs of one SW_GREENAI write (borrowed strings). */
struct greenai_write {
    enum greenai_op op;
    const char *phase;
    int64_t start_time, end_time;
    bool has_work;
    double work_count;
    const char *work_unit; /* may be NULL */
};

/* One stored phase of a run (strings owned). */
struct run_phase {
    char *phase;
    int64_t start_time, end_time;
    bool has_work;
    double work_count;
    char *work_unit; /* NULL when none */
};

void run_phases_free(struct run_phase *a, size_t n);

/* A run's phases in (start_time, phase) order and all its energy samples
 * (start, end, total joules) in start order; the samples only when
 * 'samples_always' or the run has phases ('*samples' NULL otherwise).
 * RESOURCE_DOES_NOT_EXIST for an unknown run. */
enum srv_err store_greenai_run_phases(struct store *st, const char *run_id,
                                      bool samples_always,
                                      struct run_phase **phases, size_t *n,
                                      struct greenai_sample **samples,
                                      size_t *n_samples, struct errbuf *eb);

/* What a run builds on (runs/carbon's "upstream"). */
struct greenai_upstream {
    bool declared;         /* the run names a base at all */
    char *base_run_id;     /* the first run of the chain; NULL: external */
    char *base_model;      /* greentrack.base_model when declared */
    char *base_source;     /* greentrack.base_source when declared */
    double upstream_co2_g; /* the chain's CO2 plus an external base's */
    int64_t sharing_runs;  /* active runs declaring the same base (>= 1) */
    double amortized_co2_g;
    char (*chain)[RUN_ID_LEN + 1]; /* run ids, the base first */
    size_t n_chain;
    bool truncated; /* a cycle or more than GREENAI_MAX_DEPTH bases */
};

void greenai_upstream_cleanup(struct greenai_upstream *u);

/* The upstream of run 'run_id' (RESOURCE_DOES_NOT_EXIST when unknown). */
enum srv_err store_greenai_upstream(struct store *st, const char *run_id,
                                    struct greenai_upstream *out,
                                    struct errbuf *eb);

/* What a run declares as its base (strings owned; NULL when absent). */
struct greenai_decl {
    char *base_run_id, *base_model, *base_source;
    bool has_co2; /* greentrack.base_co2_kg is a number >= 0 */
    double co2_kg;
};

void greenai_decl_cleanup(struct greenai_decl *d);

/* Whether 'd' declares anything. */
bool greenai_decl_any(const struct greenai_decl *d);

/* Orders declarations: equal ones share one upstream figure. */
int greenai_decl_cmp(const struct greenai_decl *a,
                     const struct greenai_decl *b);

/* A deep copy; false when out of memory ('dst' left empty). */
bool greenai_decl_copy(struct greenai_decl *dst,
                       const struct greenai_decl *src);

struct greenai_run_decl {
    int64_t run_pk;
    struct greenai_decl d;
};

void greenai_run_decls_free(struct greenai_run_decl *a, size_t n);

/* The declarations of the experiment's active runs that declare a base
 * (pks NULL), or of the runs 'pks' (n_pks; any experiment or stage); a
 * run's rows are adjacent, runs in no particular order. */
enum srv_err store_greenai_run_decls(struct store *st, int64_t experiment_id,
                                     const int64_t *pks, size_t n_pks,
                                     struct greenai_run_decl **out, size_t *n,
                                     struct errbuf *eb);

/* The upstream figures of one declaration (runs/carbon's upstream_co2_g
 * and amortized_co2_g for a run declaring 'd'). */
enum srv_err store_greenai_decl_upstream(struct store *st,
                                         const struct greenai_decl *d,
                                         double *upstream_g,
                                         double *amortized_g,
                                         struct errbuf *eb);

/* A run's 'inference' phases: their work units and the joules of the
 * run's samples that overlap them (pro rata). */
struct greenai_inference {
    int64_t run_pk;
    double joules, work;
};

/* Of the experiment's active runs with an inference phase (pks NULL; in
 * run_pk order), or of the runs 'pks' that have one. '*out' is freed
 * with free(). */
enum srv_err store_greenai_inference(struct store *st, int64_t experiment_id,
                                     const int64_t *pks, size_t n_pks,
                                     struct greenai_inference **out, size_t *n,
                                     struct errbuf *eb);

/* '*any': some run of 'pks' is the declared base of a run
 * (greentrack.base_run_id) or the source run of a model version, so it
 * may be in an upstream chain. */
enum srv_err store_greenai_referenced(struct store *st, const int64_t *pks,
                                      size_t n, bool *any, struct errbuf *eb);

/* '*shared': another experiment's id equals 'experiment_id' modulo
 * 'slots' (they share a generation slot, store_experiment_generation). */
enum srv_err store_greenai_slot_shared(struct store *st, int64_t experiment_id,
                                       int64_t slots, bool *shared,
                                       struct errbuf *eb);

/* The hardware tags of an experiment's active runs, in run_pk order
 * (strings owned; NULL when the tag is absent). */
struct greenai_host {
    int64_t run_pk;
    char *cpu, *gpu_model, *gpus;
};

void greenai_hosts_free(struct greenai_host *a, size_t n);

enum srv_err store_greenai_hosts(struct store *st, int64_t experiment_id,
                                 struct greenai_host **out, size_t *n,
                                 struct errbuf *eb);

/* The experiment's greentrack.budget_co2_kg when it is a finite number
 * >= 0 ('*has' false otherwise). */
enum srv_err store_greenai_budget(struct store *st, int64_t experiment_id,
                                  bool *has, double *budget_kg,
                                  struct errbuf *eb);

/* The run ids of an experiment's active runs with energy and a
 * greentrack.cloud_provider or greentrack.zone tag: those that can have
 * an alternative (each freed, then the array). */
enum srv_err store_greenai_alt_run_ids(struct store *st, int64_t experiment_id,
                                       char ***out, size_t *n,
                                       struct errbuf *eb);

#endif
