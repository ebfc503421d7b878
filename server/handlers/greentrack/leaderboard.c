/* SPDX-License-Identifier: MIT
 *
 * leaderboard: GET /api/2.0/greentrack/leaderboard?experiment_id=&metric=
 * [&direction=max|min][&filter=][&max_results=&page_token=]: an
 * experiment's runs ranked by metric per kg CO2, with the Pareto front of
 * metric against CO2 (the scores and the front are computed by
 * ranking.c).
 *
 * Ranking needs every run of the experiment, so a ranked leaderboard is
 * kept in a small cache keyed by (experiment, metric, direction, filter)
 * and the experiment's store generation: pages, CSV downloads and UI
 * refreshes reuse it until a write changes the experiment. After a write,
 * the newest older board of the key is patched with just the runs the
 * store's change journal names, and re-ranked.
 *
 * Green-AI boards (issue 18): cost=training|inference|total changes which
 * CO2 a run is scored by (the inference phase's per 1M work units for
 * inference) and upstream=none|amortized|full adds the CO2 of what a run
 * builds on (store_greenai.h). Such a board is never patched: it is built
 * whole, and one with upstream is keyed by every experiment's generation
 * (a base may live in another experiment).
 */
#include "handlers/handlers.h"
#include "jsonx.h"
#include "log.h"
#include "pager.h"
#include "pagetoken.h"
#include "ranking.h"
#include "render.h"
#include "store_boards.h"
#include "store_greenai.h"
#include "validate.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum lb_cost { COST_TOTAL, COST_TRAINING, COST_INFERENCE };
enum lb_upstream { UP_NONE, UP_AMORTIZED, UP_FULL };

#define NO_DECL UINT32_MAX

/* What a Green-AI board knows of one run, by run_pk: its own figures
 * (what the store reads), its inference phases and declared base, and
 * what the board derived from them (green_adjust). */
struct green_row {
    int64_t run_pk;
    bool has_energy;   /* the run's own */
    double own_co2_kg; /* the run's own, before cost= and upstream= */
    double inf_j, inf_work;
    uint32_t decl; /* index into the board's decls, or NO_DECL */
    /* derived */
    double upstream_g; /* the amount added */
    bool has_inference;
    double inference_g_per_1k;
};

static int green_row_cmp(const void *a, const void *b)
{
    const struct green_row *x = a, *y = b;
    return (x->run_pk > y->run_pk) - (x->run_pk < y->run_pk);
}

static void render_ranked(struct strbuf *sb, const struct ranked *r,
                          int64_t now_ms, const struct green_row *g,
                          enum lb_cost cost)
{
    const struct leaderboard_row *w = r->row;
    render_run_row_open(sb, w->run_id, w->run_name, w->status, w->start_time);
    int64_t end = w->end_time ? w->end_time : now_ms;
    render_num_or_null(sb, "duration_s", end >= w->start_time,
                       (double)(end - w->start_time) / 1000.0);
    render_num_or_null(sb, "metric_value", w->has_metric, w->metric);
    bool has_energy = g ? g->has_energy : w->has_energy;
    /* the CO2 scored, except per work unit: then the run's own */
    double co2_kg = g && cost == COST_INFERENCE ? g->own_co2_kg : w->co2_kg;
    render_num_or_null(sb, "co2_g", has_energy, co2_kg * 1000.0);
    render_num_or_null(sb, "energy_kwh", has_energy, w->energy_kwh);
    if (g) {
        if (g->has_inference)
            render_num_field(sb, "inference_co2_g_per_1k_work",
                             g->inference_g_per_1k, false);
        render_num_field(sb, "upstream_co2_g", g->upstream_g, false);
    }
    render_num_or_null(sb, "score", r->scored, r->score);
    render_key(sb, "pareto", false);
    strbuf_append_str(sb, r->pareto ? "true" : "false");
    render_key(sb, "rank", false);
    if (r->scored)
        strbuf_append_i64(sb, r->rank);
    else
        strbuf_append_str(sb, "null");
    render_key(sb, "estimated", false);
    strbuf_append_str(sb, w->estimated ? "true" : "false");
    render_key(sb, "has_model", false);
    strbuf_append_str(sb, w->has_model ? "true" : "false");
    strbuf_append_char(sb, '}');
}

/*---- the ranked-leaderboard cache ----*/

/* A ranking (ranking.h) of one key at one store generation. Immutable
 * once published. */
struct board {
    int refs; /* the cache's reference plus one per request using it */
    int64_t experiment_id;
    uint64_t generation;
    char *metric;
    char *filter; /* "" for none */
    struct ranking r;
    bool green; /* cost= or upstream= asked: 'extra' is filled */
    enum lb_cost cost;
    enum lb_upstream upstream;
    bool replica; /* read from the replica: 'generation' is the value of
                     its greentrack_generation in the rows' snapshot */
    struct green_row *extra; /* by run_pk */
    size_t n_extra;
    uint64_t exp_gen;           /* the experiment's generation ('generation' is
                                   every experiment's with upstream=) */
    struct greenai_decl *decls; /* distinct, by greenai_decl_cmp */
    double *decl_g;             /* their upstream_g: full or amortized */
    size_t n_decls;
};

#define BOARD_CACHE_SIZE H_LEADERBOARD_CACHE_SIZE

static pthread_mutex_t board_mu = PTHREAD_MUTEX_INITIALIZER;
static struct board *board_cache[BOARD_CACHE_SIZE];
static unsigned board_next;

static void board_free(struct board *b)
{
    free(b->metric);
    free(b->filter);
    free(b->extra);
    for (size_t i = 0; i < b->n_decls; i++)
        greenai_decl_cleanup(&b->decls[i]);
    free(b->decls);
    free(b->decl_g);
    ranking_cleanup(&b->r);
    free(b);
}

static void board_release(struct board *b)
{
    pthread_mutex_lock(&board_mu);
    bool last = --b->refs == 0;
    pthread_mutex_unlock(&board_mu);
    if (last)
        board_free(b);
}

/* A board's Green-AI options. */
struct lb_mode {
    bool green;
    enum lb_cost cost;
    enum lb_upstream upstream;
    bool replica; /* board_get sets it: built from the replica */
};

static const struct lb_mode plain_mode = {false, COST_TOTAL, UP_NONE, false};

/* Whether 'b' (may be NULL) ranks this key, at any generation. */
static bool board_is(const struct board *b, int64_t exp_id, const char *metric,
                     const char *filter, bool maximize, const struct lb_mode *m)
{
    return b && b->experiment_id == exp_id && b->r.maximize == maximize &&
           b->green == m->green && b->cost == m->cost &&
           b->upstream == m->upstream && b->replica == m->replica &&
           strcmp(b->metric, metric) == 0 && strcmp(b->filter, filter) == 0;
}

/* A cached board for the key at 'generation', with a reference taken;
 * NULL when there is none. */
static struct board *board_lookup(int64_t exp_id, uint64_t generation,
                                  const char *metric, const char *filter,
                                  bool maximize, const struct lb_mode *m)
{
    struct board *hit = NULL;
    pthread_mutex_lock(&board_mu);
    for (size_t i = 0; i < BOARD_CACHE_SIZE && !hit; i++) {
        struct board *b = board_cache[i];
        if (board_is(b, exp_id, metric, filter, maximize, m) &&
            b->generation == generation) {
            b->refs++;
            hit = b;
        }
    }
    pthread_mutex_unlock(&board_mu);
    return hit;
}

/* The newest cached board for the key at an older generation than
 * 'generation', with a reference taken; NULL when there is none. */
static struct board *board_lookup_older(int64_t exp_id, uint64_t generation,
                                        const char *metric, const char *filter,
                                        bool maximize, const struct lb_mode *m)
{
    struct board *best = NULL;
    pthread_mutex_lock(&board_mu);
    for (size_t i = 0; i < BOARD_CACHE_SIZE; i++) {
        struct board *b = board_cache[i];
        if (board_is(b, exp_id, metric, filter, maximize, m) &&
            b->generation < generation &&
            (!best || b->generation > best->generation))
            best = b;
    }
    if (best)
        best->refs++;
    pthread_mutex_unlock(&board_mu);
    return best;
}

/* Publishes 'b' (which holds the caller's reference) in the cache. */
static void board_publish(struct board *b)
{
    struct board *evicted = NULL;
    pthread_mutex_lock(&board_mu);
    b->refs++;
    unsigned slot = board_next++ % BOARD_CACHE_SIZE;
    evicted = board_cache[slot];
    board_cache[slot] = b;
    bool free_evicted = evicted && --evicted->refs == 0;
    pthread_mutex_unlock(&board_mu);
    if (free_evicted)
        board_free(evicted);
}

/* A new board for the key (one reference, the caller's), no rows yet. */
static struct board *board_new(int64_t exp_id, uint64_t generation,
                               const char *metric, const char *filter,
                               bool maximize, const struct lb_mode *m)
{
    struct board *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->refs = 1;
    b->experiment_id = exp_id;
    b->generation = generation;
    b->r.maximize = maximize;
    b->green = m->green;
    b->cost = m->cost;
    b->upstream = m->upstream;
    b->replica = m->replica;
    b->metric = strdup(metric);
    b->filter = strdup(filter);
    if (!b->metric || !b->filter) {
        board_free(b);
        return NULL;
    }
    return b;
}

/*---- Green-AI boards (cost= and upstream=) ----*/

static const struct green_row *green_row_of(const struct green_row *a, size_t n,
                                            int64_t pk)
{
    struct green_row key = {.run_pk = pk};
    return n ? bsearch(&key, a, n, sizeof(key), green_row_cmp) : NULL;
}

static int inference_cmp(const void *a, const void *b)
{
    const struct greenai_inference *x = a, *y = b;
    return (x->run_pk > y->run_pk) - (x->run_pk < y->run_pk);
}

static int run_decl_cmp(const void *a, const void *b)
{
    const struct greenai_run_decl *x = a, *y = b;
    return (x->run_pk > y->run_pk) - (x->run_pk < y->run_pk);
}

static int decl_ptr_cmp(const void *a, const void *b)
{
    return greenai_decl_cmp(*(const struct greenai_decl *const *)a,
                            *(const struct greenai_decl *const *)b);
}

/* Sets row 'w' (holding the run's own figures) to what board 'b' scores
 * and 'g''s derived fields to what it shows (docs/api.md "Green-AI
 * decisions"):
 *   total:     the run's CO2 + upstream;
 *   training:  the run's CO2 - its inference phases' CO2 + upstream;
 *   inference: kg CO2 per 1M work units of the inference phases (grams
 *              per 1000 units, the same number); a run without inference
 *              work is unscored (listed last). Upstream is not added.
 * A phase's CO2 is its share of the run's energy at the run's own g/kWh
 * (PUE included), as runs/carbon's phases. */
static void green_adjust(const struct board *b, struct green_row *g,
                         struct leaderboard_row *w)
{
    w->has_energy = g->has_energy;
    w->co2_kg = g->own_co2_kg;
    double g_per_kwh =
        w->energy_kwh > 0 ? w->co2_kg * 1000.0 / w->energy_kwh : 0;
    double inf_g = g->inf_j / CARBON_J_PER_KWH * g_per_kwh;
    g->has_inference = g->inf_work > 0;
    g->inference_g_per_1k = g->has_inference ? inf_g / g->inf_work * 1000.0 : 0;
    g->upstream_g =
        g->decl != NO_DECL && b->upstream != UP_NONE ? b->decl_g[g->decl] : 0;
    switch (b->cost) {
    case COST_INFERENCE:
        g->upstream_g = 0;
        if (!g->has_inference)
            w->has_energy = false; /* unscored */
        else
            w->co2_kg = g->inference_g_per_1k;
        break;
    case COST_TRAINING:
        w->co2_kg =
            fmax(0, w->co2_kg - inf_g / 1000.0) + g->upstream_g / 1000.0;
        break;
    case COST_TOTAL:
        w->co2_kg += g->upstream_g / 1000.0;
        break;
    }
}

/* The upstream figure of each of b's decls (full or amortized). */
static enum srv_err decls_values(struct store *st, struct board *b,
                                 struct errbuf *eb)
{
    free(b->decl_g);
    b->decl_g = calloc(b->n_decls ? b->n_decls : 1, sizeof(*b->decl_g));
    if (!b->decl_g)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < b->n_decls; i++) {
        double full, am;
        enum srv_err e =
            store_greenai_decl_upstream(st, &b->decls[i], &full, &am, eb);
        if (e)
            return e;
        b->decl_g[i] = b->upstream == UP_FULL ? full : am;
    }
    return SRV_OK;
}

/* Adds the distinct declarations of 'rd' (nd, any order) to b->decls
 * (kept sorted; existing indices in b->extra are remapped) and sets
 * 'idx[i]' to the index of rd[i]'s. Takes the strings of rd's new ones. */
static enum srv_err decls_merge(struct board *b, struct greenai_run_decl *rd,
                                size_t nd, uint32_t *idx, struct errbuf *eb)
{
    size_t total = b->n_decls + nd;
    struct greenai_decl **p = malloc((total ? total : 1) * sizeof(*p));
    struct greenai_decl *all = calloc(total ? total : 1, sizeof(*all));
    uint32_t *map = malloc((total ? total : 1) * sizeof(*map));
    enum srv_err e = SRV_OK;
    if (!p || !all || !map) {
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < b->n_decls; i++)
        p[i] = &b->decls[i];
    for (size_t i = 0; i < nd; i++)
        p[b->n_decls + i] = &rd[i].d;
    qsort(p, total, sizeof(*p), decl_ptr_cmp);
    size_t k = 0;
    for (size_t i = 0; i < total; i++) {
        if (k == 0 || greenai_decl_cmp(&all[k - 1], p[i]) != 0)
            all[k++] = *p[i]; /* takes its strings */
        else if (p[i] >= b->decls && p[i] < b->decls + b->n_decls) {
            /* an old one equal to a new one kept before it: keep the old
             * strings and drop the new ones */
            greenai_decl_cleanup(&all[k - 1]);
            all[k - 1] = *p[i];
        } else
            greenai_decl_cleanup(p[i]);
        /* where p[i] went */
        size_t at = k - 1;
        if (p[i] >= b->decls && p[i] < b->decls + b->n_decls)
            map[p[i] - b->decls] = (uint32_t)at;
        else
            idx[(struct greenai_run_decl
                     *)((char *)p[i] - offsetof(struct greenai_run_decl, d)) -
                rd] = (uint32_t)at;
    }
    for (size_t i = 0; i < b->n_extra; i++)
        if (b->extra[i].decl != NO_DECL)
            b->extra[i].decl = map[b->extra[i].decl];
    free(b->decls); /* its strings moved into 'all' */
    b->decls = all;
    b->n_decls = k;
    all = NULL;
    /* the new runs' strings now belong to b->decls (or were freed) */
    for (size_t i = 0; i < nd; i++)
        memset(&rd[i].d, 0, sizeof(rd[i].d));
out:
    free(all);
    free(p);
    free(map);
    return e;
}

/* Fills g[i] (for the rows 'rows', n) from the store's inference phases
 * and declarations of those runs ('pks' NULL: of the whole experiment),
 * adding new declarations to b->decls. */
static enum srv_err green_rows_read(struct store *st, struct board *b,
                                    const struct leaderboard_row *rows,
                                    size_t n, const int64_t *pks, size_t n_pks,
                                    struct green_row *g, struct errbuf *eb)
{
    struct greenai_inference *inf = NULL;
    struct greenai_run_decl *rd = NULL;
    size_t ni = 0, nd = 0;
    uint32_t *idx = NULL;
    enum srv_err e = store_greenai_inference(st, b->experiment_id, pks, n_pks,
                                             &inf, &ni, eb);
    if (!e && b->upstream != UP_NONE)
        e = store_greenai_run_decls(st, b->experiment_id, pks, n_pks, &rd, &nd,
                                    eb);
    if (e)
        goto out;
    if (ni)
        qsort(inf, ni, sizeof(*inf), inference_cmp);
    if (nd)
        qsort(rd, nd, sizeof(*rd), run_decl_cmp);
    idx = malloc((nd ? nd : 1) * sizeof(*idx));
    if (!idx) {
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    /* drop runs that declare nothing valid */
    size_t kd = 0;
    for (size_t i = 0; i < nd; i++) {
        if (greenai_decl_any(&rd[i].d))
            rd[kd++] = rd[i];
        else
            greenai_decl_cleanup(&rd[i].d);
    }
    nd = kd;
    if ((e = decls_merge(b, rd, nd, idx, eb)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct leaderboard_row *w = &rows[i];
        struct greenai_inference ik = {.run_pk = w->run_pk};
        struct greenai_run_decl dk = {.run_pk = w->run_pk};
        const struct greenai_inference *x =
            ni ? bsearch(&ik, inf, ni, sizeof(ik), inference_cmp) : NULL;
        const struct greenai_run_decl *d =
            nd ? bsearch(&dk, rd, nd, sizeof(dk), run_decl_cmp) : NULL;
        g[i] = (struct green_row){.run_pk = w->run_pk,
                                  .has_energy = w->has_energy,
                                  .own_co2_kg = w->co2_kg,
                                  .inf_j = x ? x->joules : 0,
                                  .inf_work = x ? x->work : 0,
                                  .decl = d ? idx[d - rd] : NO_DECL};
    }
out:
    free(inf);
    greenai_run_decls_free(rd, nd);
    free(idx);
    return e;
}

/* The first build of a Green-AI board: b->extra for 'rows' (the store's,
 * adjusted here in place). */
static enum srv_err green_build(struct store *st, struct board *b,
                                struct leaderboard_row *rows, size_t n,
                                struct errbuf *eb)
{
    b->extra = calloc(n ? n : 1, sizeof(*b->extra));
    if (!b->extra)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    b->n_extra = 0; /* decls_merge remaps none yet */
    enum srv_err e = green_rows_read(st, b, rows, n, NULL, 0, b->extra, eb);
    if (!e && b->upstream != UP_NONE)
        e = decls_values(st, b, eb);
    if (e)
        return e;
    b->n_extra = n;
    for (size_t i = 0; i < n; i++)
        green_adjust(b, &b->extra[i], &rows[i]);
    qsort(b->extra, n, sizeof(*b->extra), green_row_cmp);
    return SRV_OK;
}

static bool pk_in(const int64_t *pks, size_t n, int64_t pk)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pks[mid] < pk)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && pks[lo] == pk;
}

/* Whether no base figure of 'old' can have moved between its
 * generations and ('generation', 'exp_gen'): nothing outside this
 * experiment changed (no other experiment shares its generation slot,
 * and the other slots' sum is the same), the board has no filter (so it
 * holds every active run), and of the changed runs 'pks' (fresh rows
 * 'gf', k) each declares the same base as before (or none, before and
 * now; an active run that declares one stayed active) and none is the
 * base of any run (so none is in a chain). Any doubt: false. */
static bool bases_unchanged(struct store *st, const struct board *old,
                            const struct board *b, uint64_t generation,
                            uint64_t exp_gen, const int64_t *pks, size_t n_pks,
                            const struct green_row *gf, size_t k)
{
    struct errbuf eb;
    bool shared, referenced;
    /* with a filter, a run outside the board may have dropped its base */
    if (*old->filter ||
        generation - exp_gen != old->generation - old->exp_gen ||
        b->n_decls != old->n_decls ||
        store_greenai_slot_shared(st, old->experiment_id,
                                  STORE_GENERATION_SLOTS, &shared,
                                  &eb) != SRV_OK ||
        shared)
        return false;
    /* each changed run declares what it declared, and is active as it
     * was, or declares nothing either way */
    for (size_t i = 0; i < n_pks; i++) {
        const struct green_row *og =
            green_row_of(old->extra, old->n_extra, pks[i]);
        const struct green_row *fg = NULL;
        for (size_t j = 0; j < k && !fg; j++)
            if (gf[j].run_pk == pks[i])
                fg = &gf[j];
        uint32_t od = og ? og->decl : NO_DECL, fd = fg ? fg->decl : NO_DECL;
        if (od == NO_DECL && fd == NO_DECL)
            continue;
        if (od == NO_DECL || fd == NO_DECL ||
            greenai_decl_cmp(&old->decls[od], &b->decls[fd]) != 0)
            return false;
    }
    return store_greenai_referenced(st, pks, n_pks, &referenced, &eb) ==
               SRV_OK &&
           !referenced;
}

/* A Green-AI board at ('generation', 'exp_gen') from 'old' (same key):
 * the runs of this experiment that changed are read again (their rows,
 * phases and declarations); with upstream=, every distinct base's figure
 * is computed again (a base may have changed elsewhere). When no figure
 * of a base moved, the changed rows are merged in (ranking_patch), else
 * every row is adjusted again and ranked (in memory, no SQL). False when
 * the journal cannot tell or there is too much: the caller builds. */
static bool green_patch(struct store *st, const struct board *old,
                        uint64_t generation, uint64_t exp_gen,
                        struct board **out, struct errbuf *eb)
{
    int64_t *pks = NULL;
    size_t n_pks = 0;
    if (exp_gen != old->exp_gen &&
        !store_changed_runs(st, old->experiment_id, old->exp_gen, exp_gen, &pks,
                            &n_pks))
        return false;
    bool ok = false;
    struct leaderboard_row *fresh = NULL, *all = NULL;
    struct green_row *gf = NULL;
    size_t k = 0;
    struct lb_mode m = {true, old->cost, old->upstream, old->replica};
    struct board *b = NULL;
    if (n_pks > 4096 || (n_pks && store_leaderboard_rows_of(
                                      st, old->experiment_id, old->metric,
                                      *old->filter ? old->filter : NULL, pks,
                                      n_pks, &fresh, &k, eb) != SRV_OK))
        goto out;
    b = board_new(old->experiment_id, generation, old->metric, old->filter,
                  old->r.maximize, &m);
    if (!b)
        goto out;
    b->exp_gen = exp_gen;
    /* the old runs that stay, then the fresh ones */
    b->extra = malloc((old->n_extra + k + 1) * sizeof(*b->extra));
    b->decls = calloc(old->n_decls + 1, sizeof(*b->decls));
    gf = calloc(k + 1, sizeof(*gf));
    if (!b->extra || !b->decls || !gf)
        goto out;
    for (size_t i = 0; i < old->n_decls; i++) {
        if (!greenai_decl_copy(&b->decls[i], &old->decls[i]))
            goto out;
        b->n_decls = i + 1;
    }
    for (size_t i = 0; i < old->n_extra; i++)
        if (!pk_in(pks, n_pks, old->extra[i].run_pk))
            b->extra[b->n_extra++] = old->extra[i];
    if (k && green_rows_read(st, b, fresh, k, pks, n_pks, gf, eb) != SRV_OK)
        goto out;
    bool moved = false;
    if (b->upstream != UP_NONE &&
        bases_unchanged(st, old, b, generation, exp_gen, pks, n_pks, gf, k)) {
        /* the same decls (no fresh run declares one): the same figures */
        b->decl_g = malloc((b->n_decls ? b->n_decls : 1) * sizeof(*b->decl_g));
        if (!b->decl_g || b->n_decls != old->n_decls)
            goto out;
        if (b->n_decls)
            memcpy(b->decl_g, old->decl_g, b->n_decls * sizeof(*b->decl_g));
    } else if (b->upstream != UP_NONE) {
        if (decls_values(st, b, eb) != SRV_OK)
            goto out;
        /* compare with the old figures, by declaration */
        for (size_t i = 0; i < b->n_decls && !moved; i++) {
            const struct greenai_decl *key = &b->decls[i];
            size_t lo = 0, hi = old->n_decls;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = greenai_decl_cmp(&old->decls[mid], key);
                if (c < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            moved = lo < old->n_decls &&
                    greenai_decl_cmp(&old->decls[lo], key) == 0 &&
                    old->decl_g[lo] != b->decl_g[i];
        }
    }
    for (size_t i = 0; i < k; i++)
        green_adjust(b, &gf[i], &fresh[i]);
    if (!moved) {
        if (!ranking_patch(&b->r, &old->r, pks, n_pks, fresh, k))
            goto out;
    } else {
        /* every row again: the old ones from their own figures */
        all = malloc((old->r.n + k + 1) * sizeof(*all));
        if (!all)
            goto out;
        size_t n = 0;
        for (size_t i = 0; i < old->r.n; i++) {
            const struct leaderboard_row *w = &old->r.rows[i];
            if (pk_in(pks, n_pks, w->run_pk))
                continue;
            all[n] = *w;
            struct green_row *g = (struct green_row *)green_row_of(
                b->extra, b->n_extra, w->run_pk);
            if (g)
                green_adjust(b, g, &all[n]);
            n++;
        }
        for (size_t i = 0; i < k; i++)
            all[n++] = fresh[i];
        if (!ranking_build(&b->r, all, n, old->r.maximize))
            goto out;
    }
    /* the staying rows are in run_pk order: merge the few fresh ones in,
     * from the back */
    if (k)
        qsort(gf, k, sizeof(*gf), green_row_cmp);
    size_t to = b->n_extra + k, from = b->n_extra, j = k;
    while (j > 0) {
        if (from > 0 && b->extra[from - 1].run_pk > gf[j - 1].run_pk)
            b->extra[--to] = b->extra[--from];
        else
            b->extra[--to] = gf[--j];
    }
    b->n_extra += k;
    *out = b;
    b = NULL;
    ok = true;
out:
    if (b)
        board_free(b);
    free(all);
    free(gf);
    leaderboard_rows_free(fresh, k);
    free(pks);
    return ok;
}

/* Reads and ranks the runs of an experiment into a new board (one
 * reference, the caller's). */
static enum srv_err board_build(struct store *st, int64_t exp_id,
                                uint64_t generation, uint64_t exp_gen,
                                const char *metric, const char *filter,
                                bool maximize, const struct lb_mode *m,
                                struct board **out, struct errbuf *eb)
{
    struct board *b =
        board_new(exp_id, generation, metric, filter, maximize, m);
    if (!b)
        return SRV_E_NOMEM;
    b->exp_gen = exp_gen;
    struct leaderboard_row *rows = NULL;
    size_t n = 0;
    enum srv_err e = store_leaderboard_rows(
        st, exp_id, metric, *filter ? filter : NULL, &rows, &n, eb);
    if (!e && m->green)
        e = green_build(st, b, rows, n, eb);
    if (!e && !ranking_build(&b->r, rows, n, maximize))
        e = SRV_E_NOMEM;
    leaderboard_rows_free(rows, n);
    if (e) {
        board_free(b);
        return e;
    }
    *out = b;
    return SRV_OK;
}

/* A board at 'generation' made from 'old' (same key, older generation):
 * only the runs the store's change journal names are read again and
 * merged in (ranking_patch), so a write to one run of a 100k-run
 * experiment costs a few indexed lookups and two linear passes. False
 * when the journal cannot tell or there is too much to patch: the caller
 * builds from scratch. */
static bool board_patch(struct store *st, const struct board *old,
                        uint64_t generation, struct board **out,
                        struct errbuf *eb)
{
    int64_t *pks;
    size_t n_pks;
    if (!store_changed_runs(st, old->experiment_id, old->generation, generation,
                            &pks, &n_pks))
        return false;
    bool ok = false;
    struct leaderboard_row *fresh = NULL;
    size_t k = 0;
    struct board *b = NULL;
    if (n_pks > 4096 ||
        store_leaderboard_rows_of(st, old->experiment_id, old->metric,
                                  *old->filter ? old->filter : NULL, pks, n_pks,
                                  &fresh, &k, eb) != SRV_OK)
        goto out;
    b = board_new(old->experiment_id, generation, old->metric, old->filter,
                  old->r.maximize, &plain_mode);
    if (!b || !ranking_patch(&b->r, &old->r, pks, n_pks, fresh, k))
        goto out;
    *out = b;
    b = NULL;
    ok = true;
out:
    if (b)
        board_free(b);
    leaderboard_rows_free(fresh, k);
    free(pks);
    return ok;
}

/*---- a page of a board (pager.h's source) ----*/

struct board_src {
    struct board *b; /* one reference */
    size_t next;     /* the next row to take */
    size_t cur;      /* the current row + 1 (0: none yet) */
    int64_t now_ms;
};

static enum srv_err board_src_next(void *p, bool *have, struct errbuf *eb)
{
    (void)eb;
    struct board_src *x = p;
    *have = x->next < x->b->r.n;
    if (*have)
        x->cur = ++x->next;
    return SRV_OK;
}

static enum srv_err board_src_piece(void *p, struct strbuf *out, size_t hint,
                                    bool *complete, struct errbuf *eb)
{
    (void)hint;
    (void)eb;
    struct board_src *x = p;
    const struct ranked *r = &x->b->r.ranked[x->cur - 1];
    const struct green_row *g = NULL;
    if (x->b->green)
        g = green_row_of(x->b->extra, x->b->n_extra, r->row->run_pk);
    render_ranked(out, r, x->now_ms, g, x->b->cost);
    *complete = true;
    return SRV_OK;
}

static void board_src_tail(void *p, struct strbuf *out)
{
    struct board_src *x = p;
    render_key(out, "total", false);
    strbuf_append_i64(out, (int64_t)x->b->r.n);
}

static void board_src_free(void *p)
{
    struct board_src *x = p;
    if (x)
        board_release(x->b);
    free(x);
}

static const struct pager_source board_ops = {
    .next_item = board_src_next,
    .piece = board_src_piece,
    .tail = board_src_tail,
    .free = board_src_free,
};

/* A number that changes after every commit that changed any experiment:
 * the sum of every generation slot (each only grows). An upstream board
 * depends on runs of other experiments (bases, runs sharing them). */
static uint64_t all_generations(struct store *st)
{
    uint64_t sum = 0;
    for (int64_t i = 0; i < STORE_GENERATION_SLOTS; i++)
        sum += store_experiment_generation(st, i);
    return sum;
}

/* The board of the key at the store's current generation, with a
 * reference taken ('*out'): the cached one, else one patched from an older
 * one of the key, else a new build; a new one is published. 'pause' (may
 * be NULL) runs with 'arg' once the generation is read, before any row
 * (the warm-up's test gate). */
static enum srv_err board_get(struct store *st, int64_t exp_id,
                              const char *metric, const char *filter,
                              bool maximize, const struct lb_mode *mode,
                              void (*pause)(void *arg), void *arg,
                              struct board **out, struct errbuf *eb)
{
    /* --db-read, and this client may read from the replica: the board is
     * keyed by the replica's counter, read in the same snapshot as its
     * rows, so it is exactly as new as its key says. Built whole (the
     * change journal follows this server's commits, not the replica's
     * replay). */
    int64_t counter = 0;
    bool on_replica = false;
    enum srv_err e = store_read_snapshot_begin(st, &counter, &on_replica, eb);
    if (e)
        return e;
    if (on_replica) {
        struct lb_mode m = *mode;
        m.replica = true;
        uint64_t rgen = (uint64_t)counter;
        struct board *rb =
            board_lookup(exp_id, rgen, metric, filter, maximize, &m);
        if (!rb) {
            if (pause)
                pause(arg);
            e = board_build(st, exp_id, rgen, rgen, metric, filter, maximize,
                            &m, &rb, eb);
            if (!e)
                board_publish(rb);
        }
        store_read_snapshot_end(st);
        if (e)
            return e;
        *out = rb;
        return SRV_OK;
    }
    /* The generation is read before the rows: a write committed meanwhile
     * makes this board stale at once rather than never. */
    store_sync_generations(st);
    uint64_t exp_gen = store_experiment_generation(st, exp_id);
    uint64_t gen = mode->upstream != UP_NONE ? all_generations(st) : exp_gen;
    struct board *b = board_lookup(exp_id, gen, metric, filter, maximize, mode);
    if (b) {
        *out = b;
        return SRV_OK;
    }
    if (pause)
        pause(arg);
    struct board *old =
        board_lookup_older(exp_id, gen, metric, filter, maximize, mode);
    bool patched =
        old && (mode->green ? green_patch(st, old, gen, exp_gen, &b, eb)
                            : board_patch(st, old, gen, &b, eb));
    if (old)
        board_release(old);
    if (!patched && (e = board_build(st, exp_id, gen, exp_gen, metric, filter,
                                     maximize, mode, &b, eb)))
        return e;
    board_publish(b);
    *out = b;
    return SRV_OK;
}

/*---- the keys served, for the warm-up after a restart ----*/

/* The options part of a key (store_boards.h): "direction=max|min", and
 * for a Green-AI board "&cost=...&upstream=..." (its names below). */
static const char *const cost_names[] = {"total", "training", "inference"};
static const char *const upstream_names[] = {"none", "amortized", "full"};

static void key_options(char *buf, size_t size, bool maximize,
                        const struct lb_mode *m)
{
    if (m->green)
        snprintf(buf, size, "direction=%s&cost=%s&upstream=%s",
                 maximize ? "max" : "min", cost_names[m->cost],
                 upstream_names[m->upstream]);
    else
        snprintf(buf, size, "direction=%s", maximize ? "max" : "min");
}

/* The inverse of key_options; false for anything it does not write. */
static bool key_options_parse(const char *s, bool *maximize, struct lb_mode *m)
{
    char buf[96];
    *m = plain_mode;
    for (int d = 0; d < 2; d++) {
        *maximize = d == 0;
        key_options(buf, sizeof(buf), *maximize, m);
        if (strcmp(buf, s) == 0)
            return true;
        for (int c = COST_TOTAL; c <= COST_INFERENCE; c++) {
            for (int u = UP_NONE; u <= UP_FULL; u++) {
                struct lb_mode g = {true, (enum lb_cost)c, (enum lb_upstream)u,
                                    false};
                key_options(buf, sizeof(buf), *maximize, &g);
                if (strcmp(buf, s) == 0) {
                    *m = g;
                    return true;
                }
            }
        }
    }
    return false;
}

/* The keys this process has recorded (a hash of each; a collision only
 * skips recording a key). Cleared when full, which costs one write per
 * key seen again. */
#define SEEN_KEYS 256

static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t seen_keys[SEEN_KEYS];
static size_t n_seen;

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 0x100000001b3ull;
    return h;
}

/* Records the key in the store (store_board_key_note) the first time this
 * process serves it, so that the next start warms its board. */
static void key_note(struct store *st, int64_t exp_id, const char *metric,
                     const char *filter, bool maximize, const struct lb_mode *m)
{
    char options[96];
    key_options(options, sizeof(options), maximize, m);
    uint64_t h = fnv1a(0xcbf29ce484222325ull, &exp_id, sizeof(exp_id));
    h = fnv1a(h, metric, strlen(metric) + 1);
    h = fnv1a(h, filter, strlen(filter) + 1);
    h = fnv1a(h, options, strlen(options) + 1);
    bool seen = false;
    pthread_mutex_lock(&seen_mu);
    for (size_t i = 0; i < n_seen && !seen; i++)
        seen = seen_keys[i] == h;
    if (!seen) {
        if (n_seen == SEEN_KEYS)
            n_seen = 0;
        seen_keys[n_seen++] = h;
    }
    pthread_mutex_unlock(&seen_mu);
    if (seen)
        return;
    struct board_key k = {exp_id, (char *)metric, (char *)filter, options};
    if (!store_board_key_note(st, &k, store_now_ms()))
        log_warn("could not remember a leaderboard key: out of memory");
}

enum srv_err h_leaderboard_warm(struct store *st, const struct board_key *k,
                                void (*pause)(void *arg), void *arg,
                                struct errbuf *eb)
{
    bool maximize;
    struct lb_mode mode;
    if (!key_options_parse(k->options, &maximize, &mode))
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "unknown leaderboard options '%.64s'", k->options);
    struct experiment x;
    enum srv_err e = store_experiment_get(st, k->experiment_id, &x, eb);
    if (e)
        return e;
    experiment_cleanup(&x);
    struct board *b;
    if ((e = board_get(st, k->experiment_id, k->metric, k->filter, maximize,
                       &mode, pause, arg, &b, eb)))
        return e;
    board_release(b);
    return SRV_OK;
}

enum srv_err h_direction(const char *direction, bool *maximize,
                         struct errbuf *eb)
{
    *maximize = !direction || strcmp(direction, "max") == 0;
    if (direction && !*maximize && strcmp(direction, "min") != 0)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid direction '%.32s': expected 'max' or 'min'",
                       direction);
    return SRV_OK;
}

enum handler_result h_leaderboard(struct request *req, struct response *res)
{
    struct errbuf eb;
    int64_t exp_id, max, offset;
    const char *metric, *direction, *filter, *token, *cost, *upstream;
    enum srv_err e;
    if ((e = h_experiment_id(req->args, "experiment_id", true, &exp_id, &eb)) ||
        (e = jx_str(req->args, "metric", true, &metric, &eb)) ||
        (e = jx_str(req->args, "direction", false, &direction, &eb)) ||
        (e = jx_str(req->args, "cost", false, &cost, &eb)) ||
        (e = jx_str(req->args, "upstream", false, &upstream, &eb)) ||
        (e = jx_str(req->args, "filter", false, &filter, &eb)) ||
        (e = h_max_results(req->args, SEARCH_MAX_RESULTS_DEFAULT,
                           SEARCH_MAX_RESULTS_THRESHOLD, false, &max, &eb)) ||
        (e = jx_str(req->args, "page_token", false, &token, &eb)) ||
        (e = pagetoken_decode(token, &offset, &eb)))
        return h_fail(res, e, &eb);
    bool maximize;
    if ((e = h_direction(direction, &maximize, &eb)))
        return h_fail(res, e, &eb);
    struct lb_mode mode = {cost || upstream, COST_TOTAL, UP_NONE, false};
    if (cost && strcmp(cost, "total") != 0)
        mode.cost = strcmp(cost, "training") == 0    ? COST_TRAINING
                    : strcmp(cost, "inference") == 0 ? COST_INFERENCE
                                                     : (enum lb_cost) - 1;
    if (upstream && strcmp(upstream, "none") != 0)
        mode.upstream = strcmp(upstream, "amortized") == 0 ? UP_AMORTIZED
                        : strcmp(upstream, "full") == 0
                            ? UP_FULL
                            : (enum lb_upstream) - 1;
    if ((int)mode.cost < 0)
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Invalid cost '%.32s': expected 'training', "
                              "'inference' or 'total'",
                              cost),
                      &eb);
    if ((int)mode.upstream < 0)
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Invalid upstream '%.32s': expected 'none', "
                              "'amortized' or 'full'",
                              upstream),
                      &eb);
    struct experiment x;
    if ((e = store_experiment_get(req->app->store, exp_id, &x, &eb)))
        return h_fail(res, e, &eb);
    experiment_cleanup(&x);
    if (!filter)
        filter = "";
    struct board *b;
    if ((e = board_get(req->app->store, exp_id, metric, filter, maximize, &mode,
                       NULL, NULL, &b, &eb)))
        return h_fail(res, e, &eb);
    key_note(req->app->store, exp_id, metric, filter, maximize, &mode);
    /* The page holds a reference to the board while it is sent. */
    struct board_src *src = malloc(sizeof(*src));
    if (!src) {
        board_release(b);
        return h_fail(res, SRV_E_NOMEM, NULL);
    }
    *src =
        (struct board_src){b, (size_t)offset, (size_t)offset, store_now_ms()};
    struct pager_page page = {.list_key = "runs",
                              .keep_empty = true,
                              .max_items = max,
                              .max_bytes = req->app->cfg->max_response_bytes,
                              .offset = offset};
    return pager_respond(res, &page, &board_ops, src);
}
