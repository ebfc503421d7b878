/* SPDX-License-Identifier: MIT
 *
 * leaderboard: GET /api/2.0/greentrack/leaderboard (an experiment's runs
 * ranked by metric per kg CO2, with the Pareto front of metric against
 * CO2) and GET /api/2.0/greentrack/experiments/summary (the UI's list).
 *
 * Scores: for direction=max, score = metric / kg CO2, highest first; for
 * min, score = metric x kg CO2, lowest first. CO2 enters the score as at
 * least 1 mg (1e-6 kg), so a run with no measurable emissions gets a large
 * finite score, never an infinity or NaN. Runs without the metric (or with
 * a NaN value) or without energy come last with null score and rank.
 *
 * Ranking needs every run of the experiment, so a ranked leaderboard is
 * kept in a small cache keyed by (experiment, metric, direction, filter)
 * and the experiment's store generation: pages, CSV downloads and UI
 * refreshes reuse it until a write changes the experiment.
 */
#include "handlers.h"
#include "jsonx.h"
#include "pagetoken.h"
#include "render.h"
#include "validate.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SCORE_CO2_KG 1e-6

struct ranked {
    struct leaderboard_row *row;
    bool scored;
    double score;
    bool pareto;
    int64_t rank;
    double goodness; /* the metric, negated when lower is better */
};

/* Scored runs first, by score (best first), then start_time DESC, run_id
 * ASC as MLflow breaks ties; the unscored after them in the same order. */
static int by_score(const void *pa, const void *pb, bool maximize)
{
    const struct ranked *a = pa, *b = pb;
    if (a->scored != b->scored)
        return a->scored ? -1 : 1;
    if (a->scored && a->score != b->score)
        return (a->score > b->score) == maximize ? -1 : 1;
    if (a->row->start_time != b->row->start_time)
        return a->row->start_time > b->row->start_time ? -1 : 1;
    return strcmp(a->row->run_id, b->row->run_id);
}

static int by_score_max(const void *a, const void *b)
{
    return by_score(a, b, true);
}

static int by_score_min(const void *a, const void *b)
{
    return by_score(a, b, false);
}

/* What the Pareto sweep sorts: compact, so the sort stays in cache. */
struct front_key {
    double co2;
    double goodness;
    struct ranked *r;
};

/* Lower CO2 first, then the better metric first. */
static int by_co2(const void *pa, const void *pb)
{
    const struct front_key *a = pa, *b = pb;
    if (a->co2 != b->co2)
        return a->co2 < b->co2 ? -1 : 1;
    return a->goodness > b->goodness ? -1 : a->goodness < b->goodness;
}

/* A run is on the front when no other is at least as good on both the
 * metric and CO2 and strictly better on one. */
static enum srv_err mark_pareto(struct ranked *r, size_t n)
{
    struct front_key *k = malloc((n ? n : 1) * sizeof(*k));
    if (!k)
        return SRV_E_NOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].scored)
            k[m++] = (struct front_key){r[i].row->co2_kg, r[i].goodness, &r[i]};
    }
    qsort(k, m, sizeof(*k), by_co2);
    double best = 0, best_co2 = 0;
    for (size_t i = 0; i < m; i++) {
        if (i == 0 || k[i].goodness > best ||
            (k[i].goodness == best && k[i].co2 == best_co2)) {
            k[i].r->pareto = true;
            if (i == 0 || k[i].goodness > best) {
                best = k[i].goodness;
                best_co2 = k[i].co2;
            }
        }
    }
    free(k);
    return SRV_OK;
}

static void num_or_null(struct strbuf *sb, const char *key, bool has, double v)
{
    render_key(sb, key, false);
    if (has)
        strbuf_append_json_double(sb, v);
    else
        strbuf_append_str(sb, "null");
}

static void render_ranked(struct strbuf *sb, const struct ranked *r,
                          int64_t now_ms)
{
    const struct leaderboard_row *w = r->row;
    strbuf_append_char(sb, '{');
    render_key(sb, "run_id", true);
    strbuf_append_json_str(sb, w->run_id, strlen(w->run_id));
    render_key(sb, "run_name", false);
    strbuf_append_json_str(sb, w->run_name, strlen(w->run_name));
    render_key(sb, "status", false);
    strbuf_append_json_str(sb, run_status_names[w->status],
                           strlen(run_status_names[w->status]));
    render_key(sb, "start_time", false);
    strbuf_append_i64(sb, w->start_time);
    int64_t end = w->end_time ? w->end_time : now_ms;
    num_or_null(sb, "duration_s", end >= w->start_time,
                (double)(end - w->start_time) / 1000.0);
    num_or_null(sb, "metric_value", w->has_metric, w->metric);
    num_or_null(sb, "co2_g", w->has_energy, w->co2_kg * 1000.0);
    num_or_null(sb, "energy_kwh", w->has_energy, w->energy_kwh);
    num_or_null(sb, "score", r->scored, r->score);
    render_key(sb, "pareto", false);
    strbuf_append_str(sb, r->pareto ? "true" : "false");
    render_key(sb, "rank", false);
    if (r->scored)
        strbuf_append_i64(sb, r->rank);
    else
        strbuf_append_str(sb, "null");
    render_key(sb, "estimated", false);
    strbuf_append_str(sb, w->estimated ? "true" : "false");
    strbuf_append_char(sb, '}');
}

/*---- the ranked-leaderboard cache ----*/

struct board {
    int refs; /* the cache's reference plus one per request using it */
    int64_t experiment_id;
    uint64_t generation;
    char *metric;
    char *filter; /* "" for none */
    bool maximize;
    struct leaderboard_row *rows;
    struct ranked *ranked; /* sorted, ranked, pareto-marked */
    size_t n;
};

#define BOARD_CACHE_SIZE 8

static pthread_mutex_t board_mu = PTHREAD_MUTEX_INITIALIZER;
static struct board *board_cache[BOARD_CACHE_SIZE];
static unsigned board_next;

static void board_free(struct board *b)
{
    free(b->metric);
    free(b->filter);
    free(b->ranked);
    leaderboard_rows_free(b->rows, b->n);
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
        if (b && b->experiment_id == exp_id && b->generation == generation &&
            b->maximize == maximize && strcmp(b->metric, metric) == 0 &&
            strcmp(b->filter, filter) == 0) {
            b->refs++;
            hit = b;
        }
    }
    pthread_mutex_unlock(&board_mu);
    return hit;
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

/* Reads and ranks the runs of an experiment into a new board (one
 * reference, the caller's). */
static enum srv_err board_build(struct store *st, int64_t exp_id,
                                uint64_t generation, const char *metric,
                                const char *filter, bool maximize,
                                struct board **out, struct errbuf *eb)
{
    struct board *b = calloc(1, sizeof(*b));
    if (!b)
        return SRV_E_NOMEM;
    b->refs = 1;
    b->experiment_id = exp_id;
    b->generation = generation;
    b->maximize = maximize;
    b->metric = strdup(metric);
    b->filter = strdup(filter);
    enum srv_err e = b->metric && b->filter ? SRV_OK : SRV_E_NOMEM;
    if (!e)
        e = store_leaderboard_rows(st, exp_id, metric, *filter ? filter : NULL,
                                   &b->rows, &b->n, eb);
    if (!e && !(b->ranked = calloc(b->n ? b->n : 1, sizeof(*b->ranked))))
        e = SRV_E_NOMEM;
    if (e) {
        board_free(b);
        return e;
    }
    struct ranked *r = b->ranked;
    for (size_t i = 0; i < b->n; i++) {
        const struct leaderboard_row *row = &b->rows[i];
        r[i].row = &b->rows[i];
        r[i].scored =
            row->has_metric && row->has_energy && isfinite(row->metric);
        double kg = fmax(row->co2_kg, MIN_SCORE_CO2_KG);
        r[i].score = maximize ? row->metric / kg : row->metric * kg;
        r[i].goodness = maximize ? row->metric : -row->metric;
        if (!isfinite(r[i].score))
            r[i].scored = false;
    }
    if (mark_pareto(r, b->n) != SRV_OK) {
        board_free(b);
        return SRV_E_NOMEM;
    }
    qsort(r, b->n, sizeof(*r), maximize ? by_score_max : by_score_min);
    for (size_t i = 0; i < b->n; i++)
        r[i].rank = (int64_t)i + 1;
    *out = b;
    return SRV_OK;
}

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
        if ((e = board_build(req->app->store, exp_id, gen, metric, filter,
                             maximize, &b, &eb)))
            return h_fail(res, e, &eb);
        board_publish(b);
    }
    const struct ranked *r = b->ranked;
    size_t n = b->n;
    int64_t now = store_now_ms();
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"runs\":[");
    size_t end = (size_t)offset < n ? (size_t)offset : n;
    size_t stop = end + (size_t)max < n ? end + (size_t)max : n;
    for (size_t i = end; i < stop; i++) {
        if (i > end)
            strbuf_append_char(&sb, ',');
        render_ranked(&sb, &r[i], now);
    }
    strbuf_append_char(&sb, ']');
    if (stop < n) {
        render_key(&sb, "next_page_token", false);
        pagetoken_append_json(&sb, (int64_t)stop);
    }
    render_key(&sb, "total", false);
    strbuf_append_i64(&sb, (int64_t)n);
    strbuf_append_char(&sb, '}');
    board_release(b);
    api_ok(res, &sb);
    return H_DONE;
}

enum handler_result h_experiments_summary(struct request *req,
                                          struct response *res)
{
    struct errbuf eb;
    struct experiment_summary *a;
    size_t n;
    enum srv_err e = store_experiment_summaries(req->app->store, &a, &n, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"experiments\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_append_char(&sb, ',');
        strbuf_append_str(&sb, "{\"experiment_id\":\"");
        strbuf_append_i64(&sb, a[i].experiment_id);
        strbuf_append_char(&sb, '"');
        render_key(&sb, "name", false);
        strbuf_append_json_str(&sb, a[i].name, strlen(a[i].name));
        render_key(&sb, "runs", false);
        strbuf_append_i64(&sb, a[i].runs);
        render_key(&sb, "running", false);
        strbuf_append_i64(&sb, a[i].running);
        render_key(&sb, "energy_kwh", false);
        strbuf_append_json_double(&sb, a[i].energy_kwh);
        render_key(&sb, "co2_g", false);
        strbuf_append_json_double(&sb, a[i].co2_kg * 1000.0);
        render_key(&sb, "last_activity", false);
        strbuf_append_i64(&sb, a[i].last_activity);
        strbuf_append_char(&sb, '}');
    }
    strbuf_append_str(&sb, "]}");
    experiment_summaries_free(a, n);
    api_ok(res, &sb);
    return H_DONE;
}
