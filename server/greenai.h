/* SPDX-License-Identifier: MIT
 *
 * greenai: the pure arithmetic of Green-AI decisions (issue 18, docs/api.md
 * "Green-AI decisions"): a run's energy split across its phases pro rata
 * by time overlap, the upstream chain of bases with cycle detection and a
 * depth limit, medians, the cleanest cloud regions of a provider and the
 * cleanest start of an energy profile over a grid timeline. No I/O; only
 * greenai_chain calls back into its caller. Thread-safe.
 */
#ifndef SERVER_GREENAI_H
#define SERVER_GREENAI_H

#include "grid_math.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The deepest upstream chain followed (bases of bases). */
#define GREENAI_MAX_DEPTH 32

/* How many cleaner cloud regions runs/carbon lists. */
#define GREENAI_ALTERNATIVES 3

/* The window searched for a cleaner start: +-24 h of the actual start. */
#define GREENAI_WINDOW_MS (24LL * 3600 * 1000)

/* One energy sample as far as phases care: [start, end) ms and joules. */
struct greenai_sample {
    int64_t start_ms, end_ms;
    double joules;
};

/* One phase window [start, end] ms. */
struct greenai_span {
    int64_t start_ms, end_ms;
};

/* The joules of each phase: each sample's joules spread evenly over its
 * duration, and phase i gets the part that overlaps it (a zero-length
 * sample counts wholly to phases whose window contains its instant).
 * Phases may overlap each other; then both count the shared energy.
 * out[i] is set for every i < n_phases. */
void greenai_phase_split(const struct greenai_sample *samples, size_t n,
                         const struct greenai_span *phases, size_t n_phases,
                         double *out);

/* The median of 'v' (sorted in place): the middle value, or for an even
 * count the mean of the two middle values; 0 when n == 0. */
double greenai_median(double *v, size_t n);

/* The base of run 'run_id' as the caller's store knows it: '*base' set to
 * a run id (owned by the callee, valid until the next call), or NULL when
 * the run declares none. Returns false when 'run_id' is not a run. */
typedef bool (*greenai_base_fn)(void *ctx, const char *run_id,
                                const char **base);

enum greenai_chain_result {
    GREENAI_CHAIN_OK,
    GREENAI_CHAIN_CYCLE,    /* a run came back */
    GREENAI_CHAIN_TOO_DEEP, /* more than GREENAI_MAX_DEPTH bases */
    GREENAI_CHAIN_UNKNOWN   /* a base that is not a run */
};

/* Follows the bases from 'first' (the base a run declares) with 'fn':
 * fills 'chain' (GREENAI_MAX_DEPTH entries of 'id_size' bytes each, the
 * first being 'first') and '*n'. 'self' (may be NULL) is the run that
 * declares 'first': meeting it is a cycle too. On a cycle, too deep a
 * chain or an unknown base, 'chain' holds the ids followed so far (the
 * last one is the offender for UNKNOWN). An id that does not fit in
 * 'id_size' bytes (at most 128) is UNKNOWN: it cannot be a run id. */
enum greenai_chain_result greenai_chain(const char *self, const char *first,
                                        greenai_base_fn fn, void *ctx,
                                        char *chain, size_t id_size, size_t *n);

/* A cloud region of the static table with its intensity. */
struct greenai_region {
    const char *provider, *region; /* static (carbon_tables.h) */
    double g_per_kwh;
};

/* The up to 'max' cleanest regions of 'provider' (case-insensitive) in
 * the table, cleanest first (ties by region name). Returns how many. */
size_t greenai_cleanest_regions(const char *provider,
                                struct greenai_region *out, size_t max);

/* The cleanest start for an energy profile (the samples, any order) moved
 * as a whole over the timeline 'tl' (grid_timeline's, m pieces): the
 * candidates are the actual start and every start within
 * [actual - window, actual + window] that puts the profile's first start
 * or last end on a period boundary, keeping only those where every
 * sample falls wholly into periods.
 * '*best_start' and '*best_g' (grams per unit of PUE: sum of kWh x
 * g/kWh) are set; ties go to the earliest start. False when no candidate
 * is covered (nothing set). */
bool greenai_best_window(const struct grid_point *tl, size_t m,
                         const struct greenai_sample *samples, size_t n,
                         int64_t actual_start, int64_t window_ms,
                         int64_t *best_start, double *best_g);

#endif
