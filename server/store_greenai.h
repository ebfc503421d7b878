/* SPDX-License-Identifier: MIT
 *
 * store_greenai: the storage of Green-AI decisions (schema/006_phases.sql;
 * the SQL is all in store_greenai.c): run phases, lineage tags and the
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
 * (start, end, total joules) in start order. RESOURCE_DOES_NOT_EXIST for
 * an unknown run. */
enum srv_err store_greenai_run_phases(struct store *st, const char *run_id,
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

/* Per active run of an experiment, what the leaderboard's cost= and
 * upstream= need, in run_pk order. */
struct greenai_extra {
    int64_t run_pk;
    bool has_inference;    /* an 'inference' phase with work > 0 */
    double inference_j;    /* joules of the inference phases */
    double inference_work; /* their work units */
    bool has_upstream;
    double upstream_co2_g, amortized_co2_g;
};

/* 'want_inference' / 'want_upstream' choose what is read. '*out' is
 * freed with free(). */
enum srv_err store_greenai_extras(struct store *st, int64_t experiment_id,
                                  bool want_inference, bool want_upstream,
                                  struct greenai_extra **out, size_t *n,
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

/* The run ids of an experiment's active runs (each freed, then the
 * array). */
enum srv_err store_greenai_run_ids(struct store *st, int64_t experiment_id,
                                   char ***out, size_t *n, struct errbuf *eb);

#endif
