/* SPDX-License-Identifier: MIT
 *
 * listsrc: pager sources (pager.h) over the store's lists, each reading
 * its items chunk by chunk (store.h's chunked reads) and writing
 * MLflow's JSON shapes as render.c does: runs (info, latest metrics,
 * params, tags and inputs, each section read in chunks, so one run with
 * a million tags is still sent in pieces), experiments (tags in chunks),
 * metric history points, sampled histories of several runs, energy
 * samples and experiment summaries. Each *_new returns a source's state
 * (NULL when out of memory) to hand to pager_respond with the matching
 * ops; the state takes over nothing but what is said.
 */
#ifndef SERVER_LISTSRC_H
#define SERVER_LISTSRC_H

#include "pager.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Runs by run_pk, in the order of 'pks' (takes the malloc'd array over):
 * runs/search's page and runs/get's one run. A run purged meanwhile is
 * left out. */
extern const struct pager_source listsrc_runs_ops;
void *listsrc_runs_new(struct store *st, int64_t *pks, size_t n);

/* Experiments by id, in the order of 'ids' (taken over). With 'all'
 * (experiments/list): every experiment of 'view' in search order, read
 * 1000 ids at a time. */
extern const struct pager_source listsrc_experiments_ops;
void *listsrc_experiments_new(struct store *st, int64_t *ids, size_t n);
void *listsrc_experiments_all_new(struct store *st, enum view_type view);

/* The points of metric 'key' (copied) of run 'run_pk' from 'offset'. */
extern const struct pager_source listsrc_history_ops;
void *listsrc_history_new(struct store *st, int64_t run_pk, const char *key,
                          int64_t offset);

/* get-history-bulk-interval: each run's sampled points in turn (run ids
 * and key copied), as MetricWithRunId. */
extern const struct pager_source listsrc_sampled_ops;
void *listsrc_sampled_new(struct store *st, const char *const *run_ids,
                          size_t n, const char *key, bool has_range,
                          int64_t start_step, int64_t end_step,
                          int64_t max_per_run);

/* A run's energy samples from 'offset'. */
extern const struct pager_source listsrc_energy_ops;
void *listsrc_energy_new(struct store *st, int64_t run_pk, int64_t offset);

/* The summaries of all active experiments, by id. */
extern const struct pager_source listsrc_summaries_ops;
void *listsrc_summaries_new(struct store *st);
/* ... of those 'keep' (called on the connection's thread, with 'ctx',
 * while the answer streams) says yes to (--auth: what the caller may
 * READ). */
void *listsrc_summaries_new_filtered(struct store *st,
                                     bool (*keep)(void *ctx,
                                                  int64_t experiment_id),
                                     void *ctx);

#endif
