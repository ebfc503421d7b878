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
 * refreshes reuse it until a write changes the experiment. After a write,
 * the newest older board of the key is patched with just the runs the
 * store's change journal names, and re-ranked.
 */
#include "handlers/handlers.h"
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

/* Lower CO2 first, then the better metric first: the order the Pareto
 * sweep walks. */
static int front_cmp(const struct ranked *a, const struct ranked *b)
{
    if (a->row->co2_kg != b->row->co2_kg)
        return a->row->co2_kg < b->row->co2_kg ? -1 : 1;
    return a->goodness > b->goodness ? -1 : a->goodness < b->goodness;
}

/* A run is on the front when no other is at least as good on both the
 * metric and CO2 and strictly better on one: walking 'order' (indices of
 * the scored runs in front_cmp order), it is on the front when its metric
 * beats every run before it, or ties the best one exactly. */
static void sweep_pareto(struct ranked *r, const uint32_t *order, size_t m)
{
    double best = 0, best_co2 = 0;
    for (size_t i = 0; i < m; i++) {
        struct ranked *x = &r[order[i]];
        if (i == 0 || x->goodness > best ||
            (x->goodness == best && x->row->co2_kg == best_co2)) {
            x->pareto = true;
            if (i == 0 || x->goodness > best) {
                best = x->goodness;
                best_co2 = x->row->co2_kg;
            }
        }
    }
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

/* A ranked board. rows[] is in rank order and ranked[i] describes
 * rows[i]; run names live in one arena; front[] holds the indices of the
 * scored rows in front_cmp order, kept so a patch can redo the Pareto
 * sweep without sorting again. Immutable once published. */
struct board {
    int refs; /* the cache's reference plus one per request using it */
    int64_t experiment_id;
    uint64_t generation;
    char *metric;
    char *filter; /* "" for none */
    bool maximize;
    struct leaderboard_row *rows;
    struct ranked *ranked;
    uint32_t *front;
    size_t n, n_front;
    char *names;
};

#define BOARD_CACHE_SIZE 8
#define BOARD_MAX_ROWS ((size_t)UINT32_MAX)

static pthread_mutex_t board_mu = PTHREAD_MUTEX_INITIALIZER;
static struct board *board_cache[BOARD_CACHE_SIZE];
static unsigned board_next;

static void board_free(struct board *b)
{
    free(b->metric);
    free(b->filter);
    free(b->rows);
    free(b->ranked);
    free(b->front);
    free(b->names);
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
    return b && b->experiment_id == exp_id && b->maximize == maximize &&
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
    b->maximize = maximize;
    b->metric = strdup(metric);
    b->filter = strdup(filter);
    if (!b->metric || !b->filter) {
        board_free(b);
        return NULL;
    }
    return b;
}

/* Scores one row. */
static struct ranked score_row(struct leaderboard_row *row, bool maximize)
{
    struct ranked r = {.row = row};
    r.scored = row->has_metric && row->has_energy && isfinite(row->metric);
    double kg = fmax(row->co2_kg, MIN_SCORE_CO2_KG);
    r.score = maximize ? row->metric / kg : row->metric * kg;
    r.goodness = maximize ? row->metric : -row->metric;
    if (!isfinite(r.score))
        r.scored = false;
    return r;
}

/* Room for 'n' rows and 'name_bytes' of names in 'b'. */
static bool board_alloc(struct board *b, size_t n, size_t name_bytes)
{
    b->rows = malloc((n ? n : 1) * sizeof(*b->rows));
    b->ranked = malloc((n ? n : 1) * sizeof(*b->ranked));
    b->front = malloc((n ? n : 1) * sizeof(*b->front));
    b->names = malloc(name_bytes ? name_bytes : 1);
    return b->rows && b->ranked && b->front && b->names && n <= BOARD_MAX_ROWS;
}

/* Appends 'src' (scored, not ranked) as the next row of 'b', its name
 * copied into the arena at '*name_at'. */
static void board_append(struct board *b, const struct ranked *src,
                         size_t *name_at)
{
    size_t i = b->n++;
    b->rows[i] = *src->row;
    size_t len = strlen(src->row->run_name) + 1;
    memcpy(b->names + *name_at, src->row->run_name, len);
    b->rows[i].run_name = b->names + *name_at;
    *name_at += len;
    b->ranked[i] = *src;
    b->ranked[i].row = &b->rows[i];
    b->ranked[i].pareto = false;
    b->ranked[i].rank = (int64_t)i + 1;
}

/* What sorting into front order needs, compact so it stays in cache. */
struct front_key {
    double co2;
    double goodness;
    uint32_t idx;
};

static int by_front_key(const void *pa, const void *pb)
{
    const struct front_key *a = pa, *b = pb;
    if (a->co2 != b->co2)
        return a->co2 < b->co2 ? -1 : 1;
    return a->goodness > b->goodness ? -1 : a->goodness < b->goodness;
}

/* Writes into out[] the indices of the scored rows of 'b' among 'idx'
 * (n of them) in front order; returns how many. */
static size_t front_sorted(const struct board *b, const uint32_t *idx, size_t n,
                           uint32_t *out, bool *oom)
{
    struct front_key *k = malloc((n ? n : 1) * sizeof(*k));
    if (!k) {
        *oom = true;
        return 0;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ranked *r = &b->ranked[idx ? idx[i] : i];
        if (r->scored)
            k[m++] = (struct front_key){r->row->co2_kg, r->goodness,
                                        idx ? idx[i] : (uint32_t)i};
    }
    qsort(k, m, sizeof(*k), by_front_key);
    for (size_t i = 0; i < m; i++)
        out[i] = k[i].idx;
    free(k);
    return m;
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
    struct ranked *tmp = NULL;
    enum srv_err e = store_leaderboard_rows(
        st, exp_id, metric, *filter ? filter : NULL, &rows, &n, eb);
    if (e)
        goto out;
    e = SRV_E_NOMEM;
    if (!(tmp = malloc((n ? n : 1) * sizeof(*tmp))))
        goto out;
    size_t name_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        tmp[i] = score_row(&rows[i], maximize);
        name_bytes += strlen(rows[i].run_name) + 1;
    }
    qsort(tmp, n, sizeof(*tmp), maximize ? by_score_max : by_score_min);
    if (!board_alloc(b, n, name_bytes))
        goto out;
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        board_append(b, &tmp[i], &at);
    bool oom = false;
    b->n_front = front_sorted(b, NULL, b->n, b->front, &oom);
    if (oom)
        goto out;
    sweep_pareto(b->ranked, b->front, b->n_front);
    e = SRV_OK;
out:
    free(tmp);
    leaderboard_rows_free(rows, n);
    if (e) {
        board_free(b);
        return e;
    }
    *out = b;
    return SRV_OK;
}

static bool pk_listed(const int64_t *pks, size_t n, int64_t pk)
{
    size_t lo = 0, hi = n; /* pks is sorted */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pks[mid] == pk)
            return true;
        if (pks[mid] < pk)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

#define DROPPED UINT32_MAX

/* A board at 'generation' made from 'old' (same key, older generation):
 * only the runs the store's change journal names are read again; the
 * rest keep their order, so the new board is a merge of old and fresh
 * rows in rank order and, likewise, in front order, with no full sort. A
 * write to one run of a 100k-run experiment then costs a few indexed
 * lookups and two linear passes. False when the journal cannot tell or
 * there is too much to patch: the caller builds from scratch. */
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
    struct ranked *fr = NULL;
    uint32_t *newpos = NULL, *fresh_front = NULL;
    struct board *b = NULL;
    if (n_pks > 4096 ||
        store_leaderboard_rows_of(st, old->experiment_id, old->metric,
                                  *old->filter ? old->filter : NULL, pks, n_pks,
                                  &fresh, &k, eb) != SRV_OK)
        goto out;
    size_t name_bytes =
        old->n ? (size_t)(old->rows[old->n - 1].run_name - old->names) +
                     strlen(old->rows[old->n - 1].run_name) + 1
               : 0;
    if (!(fr = malloc((k ? k : 1) * sizeof(*fr))) ||
        !(newpos = malloc((old->n ? old->n : 1) * sizeof(*newpos))) ||
        !(fresh_front = malloc((k ? k : 1) * sizeof(*fresh_front))))
        goto out;
    for (size_t j = 0; j < k; j++) {
        fr[j] = score_row(&fresh[j], old->maximize);
        name_bytes += strlen(fresh[j].run_name) + 1;
    }
    int (*cmp)(const void *, const void *) =
        old->maximize ? by_score_max : by_score_min;
    qsort(fr, k, sizeof(*fr), cmp);
    b = board_new(old->experiment_id, generation, old->metric, old->filter,
                  old->maximize);
    if (!b || !board_alloc(b, old->n + k, name_bytes))
        goto out;
    /* rank order: merge the old rows that did not change with the fresh */
    size_t at = 0, i = 0, j = 0;
    while (i < old->n || j < k) {
        if (i < old->n && pk_listed(pks, n_pks, old->rows[i].run_pk)) {
            newpos[i++] = DROPPED;
            continue;
        }
        if (j == k || (i < old->n && cmp(&old->ranked[i], &fr[j]) <= 0)) {
            newpos[i] = (uint32_t)b->n;
            board_append(b, &old->ranked[i++], &at);
        } else {
            fresh_front[j] = (uint32_t)b->n;
            board_append(b, &fr[j++], &at);
        }
    }
    /* front order: the old order without the dropped, merged with the
     * fresh scored rows sorted on their own */
    bool oom = false;
    size_t m = front_sorted(b, fresh_front, k, fresh_front, &oom);
    if (oom)
        goto out;
    size_t p = 0, q = 0;
    while (p < old->n_front || q < m) {
        uint32_t oi = p < old->n_front ? newpos[old->front[p]] : DROPPED;
        if (p < old->n_front && oi == DROPPED) {
            p++;
            continue;
        }
        if (q == m ||
            (p < old->n_front &&
             front_cmp(&b->ranked[oi], &b->ranked[fresh_front[q]]) <= 0)) {
            b->front[b->n_front++] = oi;
            p++;
        } else {
            b->front[b->n_front++] = fresh_front[q++];
        }
    }
    sweep_pareto(b->ranked, b->front, b->n_front);
    *out = b;
    b = NULL;
    ok = true;
out:
    if (b)
        board_free(b);
    free(fr);
    free(newpos);
    free(fresh_front);
    leaderboard_rows_free(fresh, k);
    free(pks);
    return ok;
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
