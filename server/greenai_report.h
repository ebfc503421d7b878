/* SPDX-License-Identifier: MIT
 *
 * greenai_report: the Green-AI parts of a run's carbon summary
 * (runs/carbon's "phases", "upstream" and "alternatives", docs/api.md
 * "Green-AI decisions") and the experiment-level figures built on them
 * (potential saving). Reads the store; any thread.
 */
#ifndef SERVER_GREENAI_REPORT_H
#define SERVER_GREENAI_REPORT_H

#include "carbon_report.h"
#include "err.h"
#include "greenai.h"
#include "store.h"
#include "strbuf.h"

/* One what-if of a run: a cleaner cloud region or a cleaner start. */
struct greenai_alt {
    bool window;                   /* best_window, else cloud_region */
    const char *provider, *region; /* cloud_region: static */
    double intensity_g_per_kwh;    /* cloud_region: the table's value */
    int64_t start_time;            /* best_window */
    double co2_g, saving_g;
};

#define GREENAI_MAX_ALTS (GREENAI_ALTERNATIVES + 1)

/* The alternatives of run 'run_id' whose figures 'rep' holds (from
 * carbon_report_run): up to GREENAI_ALTERNATIVES regions then the best
 * window, into 'out' (GREENAI_MAX_ALTS entries); '*n' how many. */
enum srv_err greenai_alternatives(struct store *st, const char *run_id,
                                  const struct carbon_report *rep,
                                  struct greenai_alt *out, size_t *n,
                                  struct errbuf *eb);

/* Appends ,"phases":[..],"upstream":{..}|null,"alternatives":[..] for
 * run 'run_id' to 'out' (inside the run's summary object). */
enum srv_err greenai_report_append(struct store *st, const char *run_id,
                                   const struct carbon_report *rep,
                                   struct strbuf *out, struct errbuf *eb);

/* runs/carbon's object for run 'run_id': carbon_report_run's summary
 * (filling '*rep') with the Green-AI fields above inside it. Used by
 * runs/carbon and model-versions/carbon, so both say the same. */
enum srv_err greenai_carbon_run(struct store *st, const char *run_id,
                                struct strbuf *out, struct carbon_report *rep,
                                struct errbuf *eb);

/* The sum over the experiment's active runs of each run's largest
 * saving_g (0 for a run without a positive one). */
enum srv_err greenai_potential_saving(struct store *st, int64_t experiment_id,
                                      double *saving_g, struct errbuf *eb);

/* Appends ,"budget_co2_kg":..,"used_co2_kg":..,"budget_used_fraction":..
 * when experiment 'experiment_id' has the tag greentrack.budget_co2_kg
 * (a number >= 0; the fraction is null for a budget of 0), nothing
 * otherwise. 'used_kg' is the experiment's CO2 (experiments/summary). */
enum srv_err greenai_render_budget(struct store *st, int64_t experiment_id,
                                   double used_kg, struct strbuf *out,
                                   struct errbuf *eb);

#endif
