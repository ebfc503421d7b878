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
 */
#include "handlers/handlers.h"
#include "jsonx.h"
#include "pager.h"
#include "pagetoken.h"
#include "ranking.h"
#include "render.h"
#include "validate.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void render_ranked(struct strbuf *sb, const struct ranked *r,
                          int64_t now_ms)
{
    const struct leaderboard_row *w = r->row;
    render_run_row_open(sb, w->run_id, w->run_name, w->status, w->start_time);
    int64_t end = w->end_time ? w->end_time : now_ms;
    render_num_or_null(sb, "duration_s", end >= w->start_time,
                       (double)(end - w->start_time) / 1000.0);
    render_num_or_null(sb, "metric_value", w->has_metric, w->metric);
    render_num_or_null(sb, "co2_g", w->has_energy, w->co2_kg * 1000.0);
    render_num_or_null(sb, "energy_kwh", w->has_energy, w->energy_kwh);
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
};

#define BOARD_CACHE_SIZE 8

static pthread_mutex_t board_mu = PTHREAD_MUTEX_INITIALIZER;
static struct board *board_cache[BOARD_CACHE_SIZE];
static unsigned board_next;

static void board_free(struct board *b)
{
    free(b->metric);
    free(b->filter);
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

/* Whether 'b' (may be NULL) ranks this key, at any generation. */
static bool board_is(const struct board *b, int64_t exp_id, const char *metric,
                     const char *filter, bool maximize)
{
    return b && b->experiment_id == exp_id && b->r.maximize == maximize &&
           strcmp(b->metric, metric) == 0 && strcmp(b->filter, filter) == 0;
}

/* A cached board for the key at 'generation', with a reference taken;
 * NULL when there is none. */
static struct board *board_lookup(int64_t exp_id, uint64_t generation,
                                  const char *metric, const char *filter,
                                  bool maximize)
{
    struct board *hit = NULL;
    pthread_mutex_lock(&board_mu);
    for (size_t i = 0; i < BOARD_CACHE_SIZE && !hit; i++) {
        struct board *b = board_cache[i];
        if (board_is(b, exp_id, metric, filter, maximize) &&
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
                                        bool maximize)
{
    struct board *best = NULL;
    pthread_mutex_lock(&board_mu);
    for (size_t i = 0; i < BOARD_CACHE_SIZE; i++) {
        struct board *b = board_cache[i];
        if (board_is(b, exp_id, metric, filter, maximize) &&
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
                               bool maximize)
{
    struct board *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->refs = 1;
    b->experiment_id = exp_id;
    b->generation = generation;
    b->r.maximize = maximize;
    b->metric = strdup(metric);
    b->filter = strdup(filter);
    if (!b->metric || !b->filter) {
        board_free(b);
        return NULL;
    }
    return b;
}

/* Reads and ranks the runs of an experiment into a new board (one
 * reference, the caller's). */
static enum srv_err board_build(struct store *st, int64_t exp_id,
                                uint64_t generation, const char *metric,
                                const char *filter, bool maximize,
                                struct board **out, struct errbuf *eb)
{
    struct board *b = board_new(exp_id, generation, metric, filter, maximize);
    if (!b)
        return SRV_E_NOMEM;
    struct leaderboard_row *rows = NULL;
    size_t n = 0;
    enum srv_err e = store_leaderboard_rows(
        st, exp_id, metric, *filter ? filter : NULL, &rows, &n, eb);
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
                  old->r.maximize);
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
    render_ranked(out, &x->b->r.ranked[x->cur - 1], x->now_ms);
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

enum handler_result h_leaderboard(struct request *req, struct response *res)
{
    struct errbuf eb;
    int64_t exp_id, max, offset;
    const char *metric, *direction, *filter, *token;
    enum srv_err e;
    if ((e = h_experiment_id(req->args, "experiment_id", true, &exp_id, &eb)) ||
        (e = jx_str(req->args, "metric", true, &metric, &eb)) ||
        (e = jx_str(req->args, "direction", false, &direction, &eb)) ||
        (e = jx_str(req->args, "filter", false, &filter, &eb)) ||
        (e = h_max_results(req->args, SEARCH_MAX_RESULTS_DEFAULT,
                           SEARCH_MAX_RESULTS_THRESHOLD, false, &max, &eb)) ||
        (e = jx_str(req->args, "page_token", false, &token, &eb)) ||
        (e = pagetoken_decode(token, &offset, &eb)))
        return h_fail(res, e, &eb);
    bool maximize = !direction || strcmp(direction, "max") == 0;
    if (direction && !maximize && strcmp(direction, "min") != 0)
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Invalid direction '%.32s': expected 'max' or "
                              "'min'",
                              direction),
                      &eb);
    struct experiment x;
    if ((e = store_experiment_get(req->app->store, exp_id, &x, &eb)))
        return h_fail(res, e, &eb);
    experiment_cleanup(&x);
    if (!filter)
        filter = "";
    /* The generation is read before the rows: a write committed meanwhile
     * makes this board stale at once rather than never. */
    uint64_t gen = store_experiment_generation(req->app->store, exp_id);
    struct board *b = board_lookup(exp_id, gen, metric, filter, maximize);
    if (!b) {
        struct board *old =
            board_lookup_older(exp_id, gen, metric, filter, maximize);
        bool patched = old && board_patch(req->app->store, old, gen, &b, &eb);
        if (old)
            board_release(old);
        if (!patched && (e = board_build(req->app->store, exp_id, gen, metric,
                                         filter, maximize, &b, &eb)))
            return h_fail(res, e, &eb);
        board_publish(b);
    }
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
