/* SPDX-License-Identifier: MIT
 *
 * ranking: an experiment's leaderboard, computed. Runs are ranked by
 * metric per kg CO2 and marked when on the Pareto front of metric against
 * CO2; a ranking can be patched with the rows of changed runs instead of
 * built again. Pure computation: no I/O, no store, no locks (the
 * leaderboard handler caches rankings and reads the rows).
 *
 * Scores: for 'maximize', score = metric / kg CO2, highest first; else
 * score = metric x kg CO2, lowest first. CO2 enters the score as at least
 * RANKING_MIN_CO2_KG, so a run with no measurable emissions gets a large
 * finite score, never an infinity or NaN. Runs without the metric (or
 * with a NaN value) or without energy are unscored: they come last, ties
 * and the unscored ordered by start_time DESC, run_id ASC as MLflow.
 */
#ifndef SERVER_RANKING_H
#define SERVER_RANKING_H

#include "model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RANKING_MIN_CO2_KG 1e-6

/* One row's place in a ranking. */
struct ranked {
    const struct leaderboard_row *row;
    bool scored;
    double score;    /* meaningful when 'scored' */
    bool pareto;     /* on the front (scored rows only) */
    int64_t rank;    /* 1-based position; reported only when 'scored' */
    double goodness; /* the metric, negated when lower is better */
};

/* A ranked leaderboard. rows[] is in rank order and ranked[i] describes
 * rows[i]; run names live in one arena ('names'); front[] holds the
 * indices of the scored rows in front order (lower CO2 first, then the
 * better metric), kept so a patch can redo the Pareto sweep without
 * sorting again. Owns all its memory; release with ranking_cleanup. */
struct ranking {
    bool maximize;
    struct leaderboard_row *rows;
    struct ranked *ranked;
    uint32_t *front;
    size_t n, n_front;
    char *names;
};

/* Scores one row ('row' is borrowed by the result). */
struct ranked ranking_score(const struct leaderboard_row *row, bool maximize);

/* Ranks 'rows' (n of them, borrowed: copied with their names) into
 * '*out'. False when out of memory (or more than UINT32_MAX rows), with
 * '*out' left empty. */
bool ranking_build(struct ranking *out, const struct leaderboard_row *rows,
                   size_t n, bool maximize);

/* '*out' becomes 'old' with the runs 'changed' (run_pk values, sorted
 * ascending; n_changed) taken out and 'fresh' (k rows, borrowed: the
 * current rows of those changed runs that still belong) merged in. Only
 * 'fresh' is sorted; the rest keep their order, so this costs two linear
 * passes over 'old' and equals ranking_build over the same rows. False
 * when out of memory, with '*out' left empty. */
bool ranking_patch(struct ranking *out, const struct ranking *old,
                   const int64_t *changed, size_t n_changed,
                   const struct leaderboard_row *fresh, size_t k);

/* Frees what 'r' owns and empties it (NULL-safe; idempotent). */
void ranking_cleanup(struct ranking *r);

#endif
